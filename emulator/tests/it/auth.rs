//! SigV4 over the wire: every failure answers AWS's error, and failures with a known identity
//! are recorded.

use std::time::Duration;

use emulator::sigv4::Signer;
use http::{HeaderMap, Method};

use crate::common::*;

fn list_headers() -> HeaderMap {
    let mut h = HeaderMap::new();
    h.insert(
        "x-amz-target",
        "AmazonPersonalize.ListDatasetGroups".parse().unwrap(),
    );
    h.insert("content-type", "application/x-amz-json-1.1".parse().unwrap());
    h
}

#[tokio::test]
async fn missing_and_incomplete_signatures() {
    let h = Harness::start().await;
    let r = h.send(Method::POST, "/", list_headers(), "{}").await;
    r.assert_error(400, "MissingAuthenticationTokenException");
    assert_eq!(r.message(), "Request is missing Authentication Token");

    let mut headers = list_headers();
    headers.insert(
        "authorization",
        "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20260301/us-east-1/personalize/aws4_request"
            .parse()
            .unwrap(),
    );
    headers.insert("x-amz-date", "20260301T100000Z".parse().unwrap());
    let r = h.send(Method::POST, "/", headers, "{}").await;
    assert_eq!(r.error_type(), "IncompleteSignatureException");
    assert!(
        r.message()
            .contains("Authorization header requires 'Signature' parameter.")
    );

    let mut headers = list_headers();
    headers.insert("authorization", "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20260301/us-east-1/personalize/aws4_request, SignedHeaders=host, Signature=00".parse().unwrap());
    let r = h.send(Method::POST, "/", headers, "{}").await;
    assert_eq!(r.error_type(), "IncompleteSignatureException");
    assert!(r.message().contains("'X-Amz-Date' or a 'Date' header"));

    let mut headers = list_headers();
    headers.insert("authorization", "AWS4-HMAC-SHA512 Credential=x".parse().unwrap());
    let r = h.send(Method::POST, "/", headers, "{}").await;
    assert_eq!(r.error_type(), "IncompleteSignatureException");
    assert_eq!(
        r.message(),
        "Unsupported AWS 'algorithm': 'AWS4-HMAC-SHA512' (only AWS4-HMAC-SHA256 for now). "
    );

    // On REST-JSON the same failure is a 403.
    let r = h.send(Method::POST, "/events", HeaderMap::new(), "{}").await;
    r.assert_error(403, "MissingAuthenticationTokenException");
    assert_eq!(
        r.headers["x-amzn-errortype"],
        "MissingAuthenticationTokenException"
    );
}

#[tokio::test]
async fn unknown_key_wrong_secret_scope_and_skew() {
    let h = Harness::start().await;
    let stranger = Signer::new("AKIANOTCONFIGURED000", "x", "us-east-1", "personalize");
    let r = h.personalize(&stranger, "ListDatasetGroups", "{}").await;
    r.assert_error(400, "UnrecognizedClientException");
    assert_eq!(
        r.message(),
        "The security token included in the request is invalid."
    );

    let wrong_secret = Signer::new(ALICE.0, "not-the-secret", "us-east-1", "personalize");
    let bad_sig = h.personalize(&wrong_secret, "ListDatasetGroups", "{}").await;
    bad_sig.assert_error(400, "InvalidSignatureException");
    assert!(
        bad_sig
            .message()
            .starts_with("The request signature we calculated does not match")
    );

    let wrong_service = Signer::new(ALICE.0, ALICE.1, "us-east-1", "cloudtrail");
    let r = h.personalize(&wrong_service, "ListDatasetGroups", "{}").await;
    assert_eq!(r.error_type(), "InvalidSignatureException");
    assert_eq!(
        r.message(),
        "Credential should be scoped to correct service: 'personalize'. "
    );

    // Sign at START, then let the server's clock run 20 minutes ahead.
    let mut headers = list_headers();
    headers.insert("host", h.addr.to_string().parse().unwrap());
    alice().sign(&Method::POST, &"/".parse().unwrap(), &mut headers, b"{}", START);
    h.clock.advance(Duration::from_secs(20 * 60));
    let expired = h.send(Method::POST, "/", headers, "{}").await;
    assert_eq!(expired.error_type(), "InvalidSignatureException");
    assert_eq!(
        expired.message(),
        "Signature expired: 20260301T100000Z is now earlier than 20260301T100500Z (20260301T102000Z - 15 min.)"
    );

    // Failures with a known key are recorded against it; the unknown key is not.
    let records = h.flushed_records().await;
    assert_eq!(records.len(), 3, "{records:#?}");
    let r = by_request_id(&records, &bad_sig.request_id());
    assert_eq!(r["errorCode"], "InvalidSignatureException");
    assert_eq!(r["userIdentity"]["userName"], "alice");
    assert_eq!(r["eventName"], "ListDatasetGroups");
    let r = by_request_id(&records, &expired.request_id());
    assert!(
        r["errorMessage"]
            .as_str()
            .unwrap()
            .starts_with("Signature expired")
    );
}

#[tokio::test]
async fn session_tokens() {
    let h = Harness::start().await;
    let no_token = Signer::new(SESSION.0, SESSION.1, "us-west-2", "personalize");
    let r = h.personalize(&no_token, "ListDatasetGroups", "{}").await;
    assert_eq!(r.error_type(), "UnrecognizedClientException");
    let wrong_token = no_token.clone().with_session_token("not-the-token");
    let r = h.personalize(&wrong_token, "ListDatasetGroups", "{}").await;
    assert_eq!(r.error_type(), "UnrecognizedClientException");
    let ok = no_token.with_session_token(SESSION.2);
    let r = h.personalize(&ok, "ListDatasetGroups", "{}").await;
    assert_eq!(r.status, 200, "{:?}", r.body);

    let stale = Signer::new(EXPIRED.0, EXPIRED.1, "us-east-1", "personalize").with_session_token(EXPIRED.2);
    let r = h.personalize(&stale, "ListDatasetGroups", "{}").await;
    r.assert_error(400, "ExpiredTokenException");
    assert_eq!(
        r.message(),
        "The security token included in the request is expired"
    );
    let rid = r.request_id();
    let records = h.flushed_records().await;
    let rec = by_request_id(&records, &rid);
    assert_eq!(rec["errorCode"], "ExpiredTokenException");
    assert_eq!(rec["userIdentity"]["type"], "AssumedRole");
}

#[tokio::test]
async fn unknown_keys_allowed() {
    let h = Harness::start_with(|f| f.server.allow_unknown_keys = true).await;
    let stranger = Signer::new("AKIANOTCONFIGURED000", "whatever", "ap-south-1", "personalize");
    let r = h.personalize(&stranger, "ListDatasetGroups", "{}").await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let records = h.flushed_records().await;
    let rec = by_request_id(&records, &r.request_id());
    assert_eq!(rec["userIdentity"]["type"], "IAMUser");
    assert_eq!(rec["userIdentity"]["accessKeyId"], "AKIANOTCONFIGURED000");
    assert_eq!(rec["awsRegion"], "ap-south-1");
}

#[tokio::test]
async fn deny_rules_answer_access_denied_and_are_recorded() {
    let h = Harness::start().await;
    let intern = Signer::new(INTERN.0, INTERN.1, "us-east-1", "personalize");
    let r = h
        .personalize(&intern, "CreateDatasetGroup", r#"{"name":"forbidden"}"#)
        .await;
    r.assert_error(400, "AccessDeniedException");
    assert_eq!(
        r.message(),
        "User: arn:aws:iam::123456789012:user/trainees/intern is not authorized to perform: \
         personalize:CreateDatasetGroup on resource: arn:aws:personalize:us-east-1:123456789012:dataset-group/forbidden \
         with an explicit deny in an identity-based policy"
    );
    let denied = r.request_id();
    let r = h.personalize(&intern, "ListDatasetGroups", "{}").await;
    assert_eq!(r.status, 200);
    let r = h.rest(&intern, "/users", "{}").await;
    assert_eq!(r.status, 400, "PutUsers is not denied: {:?}", r.body);

    let records = h.flushed_records().await;
    let rec = by_request_id(&records, &denied);
    // The SDK gets AccessDeniedException; CloudTrail records it as AccessDenied.
    assert_eq!(rec["errorCode"], "AccessDenied");
    assert_eq!(rec["requestParameters"]["name"], "forbidden");
    assert!(rec["responseElements"].is_null());
    // Nothing was created.
    let list = h.personalize(&alice(), "ListDatasetGroups", "{}").await;
    assert_eq!(
        list.json()["datasetGroups"].as_array().map(Vec::len).unwrap_or(0),
        0
    );
}

#[tokio::test]
async fn made_up_regions_are_refused_and_never_recorded() {
    let h = Harness::start().await;
    let big = format!("{{\"name\":\"{}\"}}", "x".repeat(64 * 1024));
    for region in ["moon-base-1", "..", "", &"r".repeat(300)] {
        // A known key with a wrong secret: refused for the Region before anything else.
        let bad = Signer::new(ALICE.0, "not-the-secret", region, "personalize");
        let r = h.personalize(&bad, "CreateDatasetGroup", &big).await;
        assert_eq!(r.status.as_u16(), 400, "{region:?}");
    }
    // A refused call in a real Region is recorded, but its oversized body is not kept.
    let wrong = Signer::new(ALICE.0, "not-the-secret", "eu-west-1", "personalize");
    let refused = h.personalize(&wrong, "CreateDatasetGroup", &big).await;
    assert_eq!(refused.error_type(), "InvalidSignatureException");
    let records = h.flushed_records().await;
    assert_eq!(records.len(), 1, "{records:#?}");
    let r = by_request_id(&records, &refused.request_id());
    assert_eq!(r["awsRegion"], "eu-west-1");
    assert!(r["requestParameters"].is_null(), "{r:#?}");
    assert!(serde_json::to_string(r).unwrap().len() < 8 * 1024);
    // Nothing on disk names a made-up Region: no bucket prefix, history folder or signing key.
    let mut stack = vec![h.data_dir().to_owned()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            assert!(
                !name.contains("moon-base") && !name.starts_with("rrrr"),
                "{}",
                path.display()
            );
            if path.is_dir() {
                stack.push(path);
            }
        }
    }
}

#[tokio::test]
async fn a_configured_region_is_served_and_recorded() {
    let h = Harness::start_with(|f| f.server.extra_regions = vec!["xx-newregion-1".into()]).await;
    let signer = Signer::new(ALICE.0, ALICE.1, "xx-newregion-1", "personalize");
    let r = h.personalize(&signer, "ListDatasetGroups", "{}").await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let other = Signer::new(ALICE.0, ALICE.1, "xx-other-1", "personalize");
    let refused = h.personalize(&other, "ListDatasetGroups", "{}").await;
    assert_eq!(
        refused.message(),
        "Credential should be scoped to a valid region, not 'xx-other-1'. "
    );
    let records = h.flushed_records().await;
    assert_eq!(records.len(), 1, "{records:#?}");
    assert_eq!(records[0]["awsRegion"], "xx-newregion-1");
}
