//! Records read back from delivered log files, field by field, for each kind of identity and
//! outcome.

use std::time::Duration;

use emulator::sigv4::Signer;
use http::HeaderMap;
use serde_json::Value;

use crate::common::*;

fn assert_envelope(rec: &Value, name: &str, request_id: &str) {
    assert_eq!(rec["eventVersion"], "1.11");
    assert_eq!(rec["eventSource"], "personalize.amazonaws.com");
    assert_eq!(rec["eventName"], name);
    assert_eq!(rec["eventType"], "AwsApiCall");
    assert_eq!(rec["requestID"], request_id);
    assert!(uuid::Uuid::parse_str(rec["eventID"].as_str().unwrap()).is_ok());
    assert_eq!(rec["recipientAccountId"], "123456789012");
    assert_eq!(rec["sourceIPAddress"], "127.0.0.1");
    assert!(rec.get("tlsDetails").is_none(), "plain HTTP has no tlsDetails");
    assert!(rec.as_object().unwrap().contains_key("requestParameters"));
    assert!(rec.as_object().unwrap().contains_key("responseElements"));
}

#[tokio::test]
async fn management_calls_success_and_failure() {
    let h = Harness::start().await;
    h.clock.advance(Duration::from_secs(7));
    let create = h
        .personalize(&alice(), "CreateDatasetGroup", r#"{"name":"rec-dsg"}"#)
        .await;
    assert_eq!(create.status, 200, "{:?}", create.body);
    let arn = create.json()["datasetGroupArn"].as_str().unwrap().to_owned();
    let describe = h
        .personalize(
            &alice(),
            "DescribeDatasetGroup",
            &format!(r#"{{"datasetGroupArn":"{arn}"}}"#),
        )
        .await;
    assert_eq!(describe.status, 200);
    let list = h.personalize(&alice(), "ListDatasetGroups", "{}").await;
    let dup = h
        .personalize(&alice(), "CreateDatasetGroup", r#"{"name":"rec-dsg"}"#)
        .await;
    assert_eq!(dup.error_type(), "ResourceAlreadyExistsException");

    let records = h.flushed_records().await;
    assert_eq!(records.len(), 4);

    let rec = by_request_id(&records, &create.request_id());
    assert_envelope(rec, "CreateDatasetGroup", &create.request_id());
    assert_eq!(rec["eventTime"], "2026-03-01T10:00:07Z");
    assert_eq!(rec["awsRegion"], "us-east-1");
    assert_eq!(rec["userAgent"], "it-tests/1.0 ua/2.1 os/linux");
    assert_eq!(rec["readOnly"], false);
    assert_eq!(rec["managementEvent"], true);
    assert_eq!(rec["eventCategory"], "Management");
    assert_eq!(rec["requestParameters"], serde_json::json!({"name": "rec-dsg"}));
    assert_eq!(rec["responseElements"]["datasetGroupArn"], arn.as_str());
    assert!(rec.get("errorCode").is_none());
    let uid = &rec["userIdentity"];
    assert_eq!(uid["type"], "IAMUser");
    assert_eq!(uid["principalId"], "AIDAJ45Q7YFFAREXAMPLE");
    assert_eq!(uid["arn"], "arn:aws:iam::123456789012:user/alice");
    assert_eq!(uid["accountId"], "123456789012");
    assert_eq!(uid["accessKeyId"], "AKIAIOSFODNN7EXAMPLE");
    assert_eq!(uid["userName"], "alice");

    let rec = by_request_id(&records, &describe.request_id());
    assert_eq!(rec["readOnly"], true);
    assert!(
        rec["responseElements"].is_null(),
        "read-only calls have null responseElements"
    );
    assert_eq!(rec["requestParameters"]["datasetGroupArn"], arn.as_str());

    let rec = by_request_id(&records, &list.request_id());
    assert!(rec["requestParameters"].is_null(), "an empty request is null");
    assert!(rec["responseElements"].is_null());

    let rec = by_request_id(&records, &dup.request_id());
    assert_eq!(rec["errorCode"], "ResourceAlreadyExistsException");
    assert_eq!(rec["errorMessage"], dup.message().as_str());
    assert!(rec["responseElements"].is_null());
    assert_eq!(rec["readOnly"], false);
}

#[tokio::test]
async fn timestamps_in_response_elements_are_java_dates() {
    let h = Harness::start().await;
    let schema = r#"{\"type\":\"record\",\"name\":\"Interactions\",\"namespace\":\"com.amazonaws.personalize.schema\",\"fields\":[{\"name\":\"USER_ID\",\"type\":\"string\"},{\"name\":\"ITEM_ID\",\"type\":\"string\"},{\"name\":\"TIMESTAMP\",\"type\":\"long\"}],\"version\":\"1.0\"}"#;
    let r = h
        .personalize(
            &alice(),
            "CreateSchema",
            &format!(r#"{{"name":"s1","schema":"{schema}"}}"#),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    // Walk every mutating call's output: any member the model calls a timestamp must be rendered.
    let records = h.flushed_records().await;
    let rec = by_request_id(&records, &r.request_id());
    fn check(v: &Value) {
        match v {
            Value::Object(o) => {
                for (k, v) in o {
                    if personalize::is_timestamp_member(k) {
                        assert!(v.is_string(), "{k} should be a Java date, got {v}");
                    }
                    check(v);
                }
            }
            Value::Array(a) => a.iter().for_each(check),
            _ => {}
        }
    }
    check(&rec["responseElements"]);
    assert!(rec["responseElements"]["schemaArn"].is_string());
}

#[tokio::test]
async fn every_identity_type() {
    let h = Harness::start().await;
    let session = Signer::new(SESSION.0, SESSION.1, "eu-west-1", "personalize").with_session_token(SESSION.2);
    let root = Signer::new(ROOT.0, ROOT.1, "us-east-1", "personalize");
    let fed =
        Signer::new(FEDERATED.0, FEDERATED.1, "us-east-1", "personalize").with_session_token(FEDERATED.2);
    let svc = Signer::new(SERVICE.0, SERVICE.1, "us-east-1", "personalize");
    let ids: Vec<String> = [
        h.personalize(&session, "ListDatasetGroups", "{}").await,
        h.personalize(&root, "ListDatasetGroups", "{}").await,
        h.personalize(&fed, "ListDatasetGroups", "{}").await,
        h.personalize(&svc, "ListDatasetGroups", "{}").await,
    ]
    .iter()
    .map(|r| {
        assert_eq!(r.status, 200, "{:?}", r.body);
        r.request_id()
    })
    .collect();
    let records = h.flushed_records().await;

    let r = by_request_id(&records, &ids[0]);
    assert_eq!(r["awsRegion"], "eu-west-1");
    let u = &r["userIdentity"];
    assert_eq!(u["type"], "AssumedRole");
    assert_eq!(u["principalId"], "AROAIOSFODNN7EXAMPLE1:alice-session");
    assert_eq!(
        u["arn"],
        "arn:aws:sts::123456789012:assumed-role/PersonalizeAdmin/alice-session"
    );
    assert_eq!(u["accessKeyId"], SESSION.0);
    let ctx = &u["sessionContext"];
    assert_eq!(ctx["sessionIssuer"]["type"], "Role");
    assert_eq!(
        ctx["sessionIssuer"]["arn"],
        "arn:aws:iam::123456789012:role/PersonalizeAdmin"
    );
    assert_eq!(ctx["sessionIssuer"]["userName"], "PersonalizeAdmin");
    // A configured session without a creation date shows the start of the call's hour.
    assert_eq!(ctx["attributes"]["creationDate"], "2026-03-01T10:00:00Z");
    assert_eq!(ctx["attributes"]["mfaAuthenticated"], "true");
    assert_eq!(ctx["sourceIdentity"], "alice");

    let u = &by_request_id(&records, &ids[1])["userIdentity"];
    assert_eq!(u["type"], "Root");
    assert_eq!(u["arn"], "arn:aws:iam::123456789012:root");
    assert_eq!(u["principalId"], "123456789012");

    let u = &by_request_id(&records, &ids[2])["userIdentity"];
    assert_eq!(u["type"], "FederatedUser");
    assert_eq!(u["arn"], "arn:aws:sts::123456789012:federated-user/bob");
    assert_eq!(u["sessionContext"]["sessionIssuer"]["type"], "IAMUser");
    assert_eq!(u["sessionContext"]["sessionIssuer"]["userName"], "alice");

    let r = by_request_id(&records, &ids[3]);
    assert_eq!(r["userIdentity"]["type"], "AWSService");
    assert_eq!(r["userIdentity"]["invokedBy"], "personalize.amazonaws.com");
    assert_eq!(r["sourceIPAddress"], "personalize.amazonaws.com");
    assert_eq!(r["userAgent"], "personalize.amazonaws.com");
}

#[tokio::test]
async fn data_events_and_trusted_proxies() {
    let h = Harness::start_with(|f| f.server.trusted_proxies = vec!["127.0.0.1".parse().unwrap()]).await;
    let mut headers = HeaderMap::new();
    headers.insert("content-type", "application/json".parse().unwrap());
    headers.insert("x-forwarded-for", "198.51.100.7, 127.0.0.1".parse().unwrap());
    let campaign = "arn:aws:personalize:us-east-1:123456789012:campaign/none";
    let body = format!(r#"{{"campaignArn":"{campaign}","userId":"u1"}}"#);
    let r = h
        .signed(&alice(), http::Method::POST, "/recommendations", headers, body)
        .await;
    assert_eq!(
        (r.status.as_u16(), r.error_type().as_str()),
        (404, "ResourceNotFoundException"),
        "{:?}",
        r.body
    );
    let records = h.flushed_records().await;
    let rec = by_request_id(&records, &r.request_id());
    assert_eq!(rec["eventName"], "GetRecommendations");
    assert_eq!(rec["eventSource"], "personalize.amazonaws.com");
    assert_eq!(rec["eventCategory"], "Data");
    assert_eq!(rec["managementEvent"], false);
    assert_eq!(rec["readOnly"], true);
    assert_eq!(rec["sourceIPAddress"], "198.51.100.7");
    assert_eq!(rec["errorCode"], "ResourceNotFoundException");
    assert_eq!(rec["resources"][0]["ARN"], campaign);
    assert_eq!(rec["resources"][0]["type"], "AWS::Personalize::Campaign");
    assert_eq!(rec["resources"][0]["accountId"], "123456789012");
}

#[tokio::test]
async fn untrusted_peers_cannot_spoof_their_address() {
    let h = Harness::start().await;
    let mut headers = HeaderMap::new();
    headers.insert(
        "x-amz-target",
        "AmazonPersonalize.ListDatasetGroups".parse().unwrap(),
    );
    headers.insert("content-type", "application/x-amz-json-1.1".parse().unwrap());
    headers.insert("x-forwarded-for", "198.51.100.7".parse().unwrap());
    let r = h.signed(&alice(), http::Method::POST, "/", headers, "{}").await;
    let records = h.flushed_records().await;
    assert_eq!(
        by_request_id(&records, &r.request_id())["sourceIPAddress"],
        "127.0.0.1"
    );
}

#[tokio::test]
async fn sensitive_members_are_hidden() {
    let h = Harness::start().await;
    let r = h
        .personalize(
            &alice(),
            "CreateDatasetGroup",
            r#"{"name":"tagged","tags":[{"tagKey":"team","tagValue":"search"}]}"#,
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let records = h.flushed_records().await;
    let rec = by_request_id(&records, &r.request_id());
    assert_eq!(rec["requestParameters"]["name"], "tagged");
    assert_eq!(
        rec["requestParameters"]["tags"],
        serde_json::json!([{"tagKey": "HIDDEN_DUE_TO_SECURITY_REASONS", "tagValue": "HIDDEN_DUE_TO_SECURITY_REASONS"}])
    );
}

#[tokio::test]
async fn cloudtrail_api_records_use_cloudtrails_member_names_and_defaults() {
    let h = Harness::start().await;
    let ct = Signer::new(ALICE.0, ALICE.1, "us-east-1", "cloudtrail");
    let target = |op: &str| format!("com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.{op}");
    let describe = h.json(&ct, &target("DescribeTrails"), "{}").await;
    assert_eq!(describe.status, 200, "{:?}", describe.body);
    let selectors = h
        .json(
            &ct,
            &target("PutEventSelectors"),
            r#"{"TrailName":"management-events","EventSelectors":[{"ReadWriteType":"All","IncludeManagementEvents":true}]}"#,
        )
        .await;
    assert_eq!(selectors.status, 200, "{:?}", selectors.body);
    let stop = h
        .json(&ct, &target("StopLogging"), r#"{"Name":"management-events"}"#)
        .await;
    assert_eq!(stop.status, 200, "{:?}", stop.body);
    let records = h.flushed_records().await;

    let r = by_request_id(&records, &describe.request_id());
    assert_eq!(
        r["requestParameters"],
        serde_json::json!({"trailNameList": [], "includeShadowTrails": true})
    );
    let r = by_request_id(&records, &selectors.request_id());
    assert_eq!(r["requestParameters"]["trailName"], "management-events");
    assert_eq!(
        r["requestParameters"]["eventSelectors"][0]["readWriteType"],
        "All"
    );
    assert!(r["responseElements"]["trailARN"].is_string(), "{r}");
    assert!(r["responseElements"].get("TrailARN").is_none());
    // The trail StopLogging stops still delivers its record, and nothing after it.
    let after = h.personalize(&alice(), "ListDatasetGroups", "{}").await;
    assert_eq!(after.status, 200);
    let later = h.flushed_records().await;
    assert!(
        later
            .iter()
            .all(|r| r["requestID"] != after.request_id().as_str())
    );
    let r = by_request_id(&records, &stop.request_id());
    assert_eq!(
        r["requestParameters"],
        serde_json::json!({"name": "management-events"})
    );
}

#[tokio::test]
async fn keys_used_by_a_service_on_a_users_behalf_record_invoked_by() {
    let h = Harness::start_with(|f| {
        f.accounts[0].users[0].keys.push(emulator::config::KeyConfig {
            access_key_id: "AKIAIOSFODNN7VIACFN1".into(),
            secret_access_key: "viaCloudFormation/K7MDENG/bPxRfiCYEXAMPLE".into(),
            invoked_by: Some("cloudformation.amazonaws.com".into()),
        });
    })
    .await;
    let via = Signer::new(
        "AKIAIOSFODNN7VIACFN1",
        "viaCloudFormation/K7MDENG/bPxRfiCYEXAMPLE",
        "us-east-1",
        "personalize",
    );
    let r = h.personalize(&via, "ListDatasetGroups", "{}").await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let records = h.flushed_records().await;
    let rec = by_request_id(&records, &r.request_id());
    assert_eq!(rec["userIdentity"]["type"], "IAMUser");
    assert_eq!(rec["userIdentity"]["userName"], "alice");
    assert_eq!(rec["userIdentity"]["invokedBy"], "cloudformation.amazonaws.com");
    assert_eq!(rec["sourceIPAddress"], "cloudformation.amazonaws.com");
    assert_eq!(rec["userAgent"], "cloudformation.amazonaws.com");
}
