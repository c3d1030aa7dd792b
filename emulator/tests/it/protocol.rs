//! Routing and the wire protocols: every AWS JSON 1.1 and REST-JSON error case.

use http::{HeaderMap, Method};

use crate::common::{Harness, alice};

#[tokio::test]
async fn json_success_has_request_id_and_content_type() {
    let h = Harness::start().await;
    let r = h.personalize(&alice(), "ListDatasetGroups", "{}").await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.headers["content-type"], "application/x-amz-json-1.1");
    assert!(uuid::Uuid::parse_str(&r.request_id()).is_ok());
    assert!(r.json().is_object());
}

#[tokio::test]
async fn unknown_missing_and_foreign_targets() {
    let h = Harness::start().await;
    let r = h.personalize(&alice(), "ListDatasetGroupz", "{}").await;
    r.assert_error(400, "UnknownOperationException");
    assert_eq!(r.headers["x-amzn-errortype"], "UnknownOperationException");
    assert!(!r.request_id().is_empty());

    let r = h.json(&alice(), "DynamoDB_20120810.ListTables", "{}").await;
    assert_eq!(r.error_type(), "UnknownOperationException");

    // The CloudTrail API is plugged in: its targets must be signed for `cloudtrail`, not `personalize`.
    let r = h
        .json(
            &alice(),
            "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.DescribeTrails",
            "{}",
        )
        .await;
    assert_eq!(r.error_type(), "InvalidSignatureException");

    let mut headers = HeaderMap::new();
    headers.insert("content-type", "application/x-amz-json-1.1".parse().unwrap());
    let r = h.signed(&alice(), Method::POST, "/", headers, "{}").await;
    r.assert_error(400, "UnknownOperationException");
    assert!(r.message().contains("X-Amz-Target"));
}

#[tokio::test]
async fn wrong_method_and_path() {
    let h = Harness::start().await;
    let mut headers = HeaderMap::new();
    headers.insert(
        "x-amz-target",
        "AmazonPersonalize.ListDatasetGroups".parse().unwrap(),
    );
    let r = h.signed(&alice(), Method::GET, "/", headers.clone(), "").await;
    r.assert_error(405, "MethodNotAllowedException");
    let r = h
        .signed(&alice(), Method::POST, "/v1/things", headers, "{}")
        .await;
    r.assert_error(404, "UnknownOperationException");
    let r = h
        .signed(&alice(), Method::GET, "/recommendations", HeaderMap::new(), "")
        .await;
    r.assert_error(405, "MethodNotAllowedException");
    assert_eq!(r.headers["content-type"], "application/json");
}

#[tokio::test]
async fn content_types() {
    let h = Harness::start().await;
    for (ct, ok) in [
        ("application/x-amz-json-1.1", true),
        ("application/x-amz-json-1.1; charset=utf-8", true),
        ("application/json", true),
        ("text/plain", false),
        ("application/xml", false),
    ] {
        let mut headers = HeaderMap::new();
        headers.insert(
            "x-amz-target",
            "AmazonPersonalize.ListDatasetGroups".parse().unwrap(),
        );
        headers.insert("content-type", ct.parse().unwrap());
        let r = h.signed(&alice(), Method::POST, "/", headers, "{}").await;
        if ok {
            assert_eq!(r.status, 200, "{ct}: {:?}", r.body);
        } else {
            assert_eq!(
                (r.status.as_u16(), r.error_type().as_str()),
                (415, "UnsupportedMediaTypeException"),
                "{ct}"
            );
        }
    }
    let mut headers = HeaderMap::new();
    headers.insert("content-type", "text/plain".parse().unwrap());
    let r = h.signed(&alice(), Method::POST, "/events", headers, "{}").await;
    r.assert_error(415, "UnsupportedMediaTypeException");
}

#[tokio::test]
async fn malformed_json_is_a_serialization_exception() {
    let h = Harness::start().await;
    for body in ["{\"name\":", "[]", "\"x\"", "{} {}", "nul"] {
        let r = h.personalize(&alice(), "CreateDatasetGroup", body).await;
        assert_eq!(r.status, 400, "{body}");
        assert_eq!(
            r.error_type(),
            "com.amazon.coral.service#SerializationException",
            "{body}"
        );
        assert_eq!(r.headers["x-amzn-errortype"], "SerializationException");
    }
    let r = h.rest(&alice(), "/events", "{oops").await;
    assert_eq!(
        (r.status.as_u16(), r.headers["x-amzn-errortype"].to_str().unwrap()),
        (400, "SerializationException")
    );
}

#[tokio::test]
async fn service_errors_and_rest_statuses() {
    let h = Harness::start().await;
    // Control plane: every modelled error is HTTP 400.
    let r = h
        .personalize(
            &alice(),
            "DescribeDatasetGroup",
            r#"{"datasetGroupArn":"arn:aws:personalize:us-east-1:123456789012:dataset-group/nope"}"#,
        )
        .await;
    r.assert_error(400, "ResourceNotFoundException");
    assert_eq!(r.headers["x-amzn-errortype"], "ResourceNotFoundException");

    // REST-JSON: InvalidInput is 400, ResourceNotFound is 404.
    let r = h.rest(&alice(), "/users", "{}").await;
    r.assert_error(400, "InvalidInputException");
    let r = h
        .rest(
            &alice(),
            "/users",
            r#"{"datasetArn":"arn:aws:personalize:us-east-1:123456789012:dataset/nope/USERS","users":[{"userId":"u1"}]}"#,
        )
        .await;
    assert_eq!(
        (r.status.as_u16(), r.error_type().as_str()),
        (404, "ResourceNotFoundException"),
        "{:?}",
        r.body
    );
    assert_eq!(r.headers["content-type"], "application/json");
}

#[tokio::test]
async fn rest_success() {
    let h = Harness::start().await;
    let r = h
        .personalize(&alice(), "CreateDatasetGroup", r#"{"name":"rest-dsg"}"#)
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let dsg = r.json()["datasetGroupArn"].as_str().unwrap().to_owned();
    let schema = r#"{\"type\":\"record\",\"name\":\"Interactions\",\"namespace\":\"com.amazonaws.personalize.schema\",\"fields\":[{\"name\":\"USER_ID\",\"type\":\"string\"},{\"name\":\"ITEM_ID\",\"type\":\"string\"},{\"name\":\"TIMESTAMP\",\"type\":\"long\"}],\"version\":\"1.0\"}"#;
    let r = h
        .personalize(
            &alice(),
            "CreateSchema",
            &format!(r#"{{"name":"rest-s","schema":"{schema}"}}"#),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let schema_arn = r.json()["schemaArn"].as_str().unwrap().to_owned();
    let r = h
        .personalize(
            &alice(),
            "CreateDataset",
            &format!(r#"{{"name":"rest-i","schemaArn":"{schema_arn}","datasetGroupArn":"{dsg}","datasetType":"Interactions"}}"#),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let r = h
        .personalize(
            &alice(),
            "CreateEventTracker",
            &format!(r#"{{"name":"t","datasetGroupArn":"{dsg}"}}"#),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let tracking = r.json()["trackingId"].as_str().unwrap().to_owned();
    let body = format!(
        r#"{{"trackingId":"{tracking}","sessionId":"s1","userId":"u1","eventList":[{{"eventType":"click","itemId":"i1","sentAt":1772359200}}]}}"#
    );
    let r = h.rest(&alice(), "/events", &body).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.headers["content-type"], "application/json");
    let tracker_arn = h.personalize(&alice(), "ListEventTrackers", "{}").await.json()["eventTrackers"][0]
        ["eventTrackerArn"]
        .as_str()
        .unwrap()
        .to_owned();
    // The record names the event tracker the tracking id stands for.
    let records = h.flushed_records().await;
    let put = crate::common::by_request_id(&records, &r.request_id());
    assert_eq!(
        put["resources"],
        serde_json::json!([{"ARN": tracker_arn, "accountId": "123456789012", "type": "AWS::Personalize::EventTracker"}])
    );
}
