//! SigV4 as AWS enforces it, over the wire: the body bound to the signature, `UNSIGNED-PAYLOAD`
//! and presigned URLs only on S3, `host` and every `x-amz-*` header signed, and failures from
//! known keys recorded against them whatever part of the signature they lack.

use std::sync::Arc;

use emulator::sigv4::Signer;
use http::{HeaderMap, HeaderValue, Method, Uri};
use time::Duration;

use crate::common::*;

fn personalize_headers(h: &Harness, operation: &str) -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert("host", h.addr.to_string().parse().unwrap());
    headers.insert(
        "x-amz-target",
        HeaderValue::from_str(&format!("AmazonPersonalize.{operation}")).unwrap(),
    );
    headers.insert(
        "content-type",
        HeaderValue::from_static("application/x-amz-json-1.1"),
    );
    headers
}

fn root() -> Uri {
    "/".parse().unwrap()
}

fn with_authorization(headers: &HeaderMap, edit: impl FnOnce(&str) -> String) -> HeaderMap {
    let mut headers = headers.clone();
    let auth = edit(headers["authorization"].to_str().unwrap());
    headers.insert("authorization", HeaderValue::from_str(&auth).unwrap());
    headers
}

async fn dataset_group_names(h: &Harness) -> Vec<String> {
    let list = h.personalize(&alice(), "ListDatasetGroups", "{}").await;
    let mut names: Vec<String> = list.json()["datasetGroups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["name"].as_str().unwrap().to_owned())
        .collect();
    names.sort();
    names
}

#[tokio::test]
async fn a_captured_request_replayed_with_another_body_is_refused_and_recorded() {
    let h = Harness::start().await;
    let mismatch = "The request signature we calculated does not match the signature you provided. Check your \
                    AWS Secret Access Key and signing method. Consult the service documentation for details.";
    // One client declares the payload hash, one does not: either way the signature covers the body.
    let mut refused = Vec::new();
    for (declare, name) in [(true, "declared"), (false, "plain")] {
        let body = format!(r#"{{"name":"{name}"}}"#);
        let mut headers = personalize_headers(&h, "CreateDatasetGroup");
        if declare {
            headers.insert(
                "x-amz-content-sha256",
                HeaderValue::from_str(&sigv4::sha256_hex(body.as_bytes())).unwrap(),
            );
        }
        alice().sign(&Method::POST, &root(), &mut headers, body.as_bytes(), START);
        let ok = h.send(Method::POST, "/", headers.clone(), body).await;
        assert_eq!(ok.status, 200, "{:?}", ok.body);
        let replay = h
            .send(
                Method::POST,
                "/",
                headers,
                format!(r#"{{"name":"{name}-swapped"}}"#),
            )
            .await;
        replay.assert_error(400, "InvalidSignatureException");
        assert_eq!(replay.message(), mismatch);
        refused.push(replay.request_id());
    }
    assert_eq!(dataset_group_names(&h).await, ["declared", "plain"]);
    let records = h.flushed_records().await;
    for id in refused {
        let r = by_request_id(&records, &id);
        assert_eq!(r["eventName"], "CreateDatasetGroup");
        assert_eq!(r["errorCode"], "InvalidSignatureException");
        assert_eq!(r["userIdentity"]["userName"], "alice");
        assert!(r["responseElements"].is_null());
    }
}

#[tokio::test]
async fn unsigned_payloads_and_presigned_urls_are_refused_outside_s3() {
    let h = Harness::start().await;
    let mut headers = personalize_headers(&h, "CreateDatasetGroup");
    headers.insert(
        "x-amz-content-sha256",
        HeaderValue::from_static("UNSIGNED-PAYLOAD"),
    );
    let body = r#"{"name":"unsigned"}"#;
    alice().sign(&Method::POST, &root(), &mut headers, body.as_bytes(), START);
    let r = h.send(Method::POST, "/", headers.clone(), body).await;
    r.assert_error(400, "InvalidSignatureException");
    let unsigned = r.request_id();
    // REST-JSON answers the same with 403.
    let mut events = HeaderMap::new();
    events.insert("host", h.addr.to_string().parse().unwrap());
    events.insert("content-type", HeaderValue::from_static("application/json"));
    events.insert(
        "x-amz-content-sha256",
        HeaderValue::from_static("UNSIGNED-PAYLOAD"),
    );
    let events_uri: Uri = "/events".parse().unwrap();
    alice().sign(&Method::POST, &events_uri, &mut events, b"{}", START);
    let r = h.send(Method::POST, "/events", events, "{}").await;
    r.assert_error(403, "InvalidSignatureException");

    // A presigned POST: the query is only a query here, so the request is unauthenticated.
    let presigned = alice()
        .presign(
            &Method::POST,
            &root(),
            &personalize_headers(&h, "CreateDatasetGroup"),
            300,
            START,
        )
        .unwrap();
    let r = h
        .send(
            Method::POST,
            &presigned.to_string(),
            personalize_headers(&h, "CreateDatasetGroup"),
            r#"{"name":"presigned"}"#,
        )
        .await;
    r.assert_error(400, "MissingAuthenticationTokenException");
    let anonymous = r.request_id();

    assert!(dataset_group_names(&h).await.is_empty());
    let records = h.flushed_records().await;
    assert_eq!(
        by_request_id(&records, &unsigned)["errorCode"],
        "InvalidSignatureException"
    );
    assert!(records.iter().all(|r| r["requestID"] != anonymous.as_str()));
}

#[tokio::test]
async fn host_the_target_and_the_token_must_be_signed() {
    let h = Harness::start().await;
    assert_eq!(
        h.personalize(&alice(), "CreateDatasetGroup", r#"{"name":"keep"}"#)
            .await
            .status,
        200
    );
    let arn = "arn:aws:personalize:us-east-1:123456789012:dataset-group/keep";
    let delete = format!(r#"{{"datasetGroupArn":"{arn}"}}"#);

    let mut headers = personalize_headers(&h, "DescribeDatasetGroup");
    alice().sign(&Method::POST, &root(), &mut headers, delete.as_bytes(), START);
    let no_host = with_authorization(&headers, |a| a.replace("content-type;host;", "content-type;"));
    let r = h.send(Method::POST, "/", no_host, delete.clone()).await;
    assert_eq!(r.error_type(), "InvalidSignatureException");
    assert_eq!(
        r.message(),
        "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization."
    );

    // Signed as a Describe with the target left out, sent as a Delete.
    let mut headers = personalize_headers(&h, "DescribeDatasetGroup");
    headers.remove("x-amz-target");
    alice().sign(&Method::POST, &root(), &mut headers, delete.as_bytes(), START);
    headers.insert(
        "x-amz-target",
        HeaderValue::from_static("AmazonPersonalize.DeleteDatasetGroup"),
    );
    let r = h.send(Method::POST, "/", headers, delete.clone()).await;
    r.assert_error(400, "InvalidSignatureException");
    assert_eq!(
        r.message(),
        "'X-Amz-Target' must be a 'SignedHeader' in the AWS Authorization."
    );
    let target = r.request_id();
    assert_eq!(dataset_group_names(&h).await, ["keep"]);

    // A session token added after signing.
    let session = Signer::new(SESSION.0, SESSION.1, "us-east-1", "personalize");
    let mut headers = personalize_headers(&h, "ListDatasetGroups");
    session.sign(&Method::POST, &root(), &mut headers, b"{}", START);
    headers.insert("x-amz-security-token", HeaderValue::from_static(SESSION.2));
    let r = h.send(Method::POST, "/", headers, "{}").await;
    assert_eq!(
        r.message(),
        "'X-Amz-Security-Token' must be a 'SignedHeader' in the AWS Authorization."
    );
    let token = r.request_id();

    let records = h.flushed_records().await;
    let r = by_request_id(&records, &target);
    assert_eq!(r["eventName"], "DeleteDatasetGroup");
    assert_eq!(r["errorCode"], "InvalidSignatureException");
    assert_eq!(r["userIdentity"]["userName"], "alice");
    assert_eq!(
        by_request_id(&records, &token)["userIdentity"]["type"],
        "AssumedRole"
    );
}

#[tokio::test]
async fn incomplete_authorization_from_a_known_key_is_recorded_against_it() {
    let h = Harness::start().await;
    let credential = "Credential=AKIAIOSFODNN7EXAMPLE/20260301/eu-west-1/personalize/aws4_request";
    let mut signed = personalize_headers(&h, "ListDatasetGroups");
    Signer::new(ALICE.0, ALICE.1, "eu-west-1", "personalize").sign(
        &Method::POST,
        &root(),
        &mut signed,
        b"{}",
        START,
    );
    let signature = signed["authorization"]
        .to_str()
        .unwrap()
        .rsplit_once("Signature=")
        .unwrap()
        .1
        .to_owned();
    let cases = [
        (
            format!("AWS4-HMAC-SHA256 {credential}, SignedHeaders=content-type;host;x-amz-date;x-amz-target"),
            true,
            "Authorization header requires 'Signature' parameter. ",
        ),
        (
            format!("AWS4-HMAC-SHA256 {credential}, Signature={signature}"),
            true,
            "Authorization header requires 'SignedHeaders' parameter. ",
        ),
        (
            format!(
                "AWS4-HMAC-SHA256 {credential}, SignedHeaders=content-type;host;x-amz-target, Signature={signature}"
            ),
            false,
            "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. ",
        ),
    ];
    let mut ids = Vec::new();
    for (auth, keep_date, missing) in &cases {
        let mut headers = signed.clone();
        headers.insert("authorization", HeaderValue::from_str(auth).unwrap());
        if !keep_date {
            headers.remove("x-amz-date");
        }
        let r = h.send(Method::POST, "/", headers, "{}").await;
        assert_eq!(r.error_type(), "IncompleteSignatureException");
        assert_eq!(r.message(), format!("{missing}Authorization={auth}"));
        ids.push((r.request_id(), r.message()));
    }
    // A credential without its five parts names nobody.
    let mut headers = signed.clone();
    headers.insert(
        "authorization",
        HeaderValue::from_static("AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20260301"),
    );
    let nobody = h.send(Method::POST, "/", headers, "{}").await;
    assert_eq!(nobody.error_type(), "IncompleteSignatureException");

    let records = h.flushed_records().await;
    assert_eq!(records.len(), cases.len(), "{records:#?}");
    for (id, message) in ids {
        let r = by_request_id(&records, &id);
        assert_eq!(r["errorCode"], "IncompleteSignatureException");
        assert_eq!(r["errorMessage"], message.as_str());
        assert_eq!(r["userIdentity"]["userName"], "alice");
        assert_eq!(r["awsRegion"], "eu-west-1");
        assert_eq!(r["eventName"], "ListDatasetGroups");
    }
}

/// An emulator with its real S3 API over the data directory, and one delivered log file.
async fn with_s3_and_a_log_file() -> (Harness, String) {
    let dir = tempfile::tempdir().unwrap();
    let mut file = emulator::config::FileConfig::embedded_default();
    file.server.data_dir = dir.path().to_owned();
    let s3 = emulator::s3::S3Api::from_config(&emulator::Config::new(file.clone()));
    let extensions = emulator::seams::Extensions {
        raw: vec![Arc::new(s3)],
        ..Default::default()
    };
    let h = Harness::start_config(dir, file, extensions).await;
    assert_eq!(
        h.personalize(&alice(), "ListDatasetGroups", "{}").await.status,
        200
    );
    let key = h.flush().await.into_iter().next().unwrap();
    (h, format!("/aws-cloudtrail-logs-123456789012/{key}"))
}

/// The status, `<Code>` and `<Message>` of an S3 error answer.
fn s3_error(r: &Response) -> (u16, String, String) {
    let body = std::str::from_utf8(&r.body).unwrap();
    let element = |name: &str| {
        body.split_once(&format!("<{name}>"))
            .and_then(|(_, rest)| rest.split_once(&format!("</{name}>")))
            .map(|(value, _)| {
                value
                    .replace("&apos;", "'")
                    .replace("&quot;", "\"")
                    .replace("&lt;", "<")
                    .replace("&gt;", ">")
                    .replace("&amp;", "&")
            })
            .unwrap_or_default()
    };
    (r.status.as_u16(), element("Code"), element("Message"))
}

fn expect(status: u16, code: &str, message: &str) -> (u16, String, String) {
    (status, code.to_owned(), message.to_owned())
}

#[tokio::test]
async fn s3_takes_presigned_urls_and_unsigned_payloads_and_checks_declared_hashes() {
    let (h, object) = with_s3_and_a_log_file().await;
    let s3 = Signer::new(ALICE.0, ALICE.1, "us-east-1", "s3");
    let mut host = HeaderMap::new();
    host.insert("host", h.addr.to_string().parse().unwrap());
    let uri: Uri = object.parse().unwrap();

    let url = s3.presign(&Method::GET, &uri, &host, 900, START).unwrap();
    let r = h.send(Method::GET, &url.to_string(), host.clone(), "").await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.body.get(..2), Some(&[0x1f, 0x8b][..]), "a gzip log file");
    h.clock.advance(std::time::Duration::from_secs(901));
    let r = h.send(Method::GET, &url.to_string(), host.clone(), "").await;
    assert_eq!(s3_error(&r), expect(403, "AccessDenied", "Request has expired"));

    let now = h.clock_now();
    let mut unsigned = host.clone();
    unsigned.insert(
        "x-amz-content-sha256",
        HeaderValue::from_static("UNSIGNED-PAYLOAD"),
    );
    s3.sign(&Method::GET, &uri, &mut unsigned, b"", now);
    assert_eq!(h.send(Method::GET, &object, unsigned, "").await.status, 200);

    // The empty body's hash declared and signed, a body sent.
    let mut declared = host.clone();
    s3.sign(&Method::GET, &uri, &mut declared, b"", now);
    let r = h.send(Method::GET, &object, declared.clone(), "not empty").await;
    assert_eq!(
        s3_error(&r),
        expect(
            400,
            "XAmzContentSHA256Mismatch",
            "The provided 'x-amz-content-sha256' header does not match what was computed."
        )
    );

    let mut missing = declared.clone();
    missing.remove("x-amz-content-sha256");
    let r = h.send(Method::GET, &object, missing, "").await;
    assert_eq!(
        s3_error(&r),
        expect(
            400,
            "InvalidRequest",
            "Missing required header for this request: x-amz-content-sha256"
        )
    );

    let mut extra = declared;
    extra.insert("x-amz-checksum-mode", HeaderValue::from_static("ENABLED"));
    let r = h.send(Method::GET, &object, extra, "").await;
    assert_eq!(
        s3_error(&r),
        expect(
            403,
            "AccessDenied",
            "There were headers present in the request which were not signed"
        )
    );

    // Skew is S3's RequestTimeTooSkewed.
    let mut late = host;
    s3.sign(&Method::GET, &uri, &mut late, b"", now - Duration::minutes(20));
    let r = h.send(Method::GET, &object, late, "").await;
    assert_eq!(
        s3_error(&r),
        expect(
            403,
            "RequestTimeTooSkewed",
            "The difference between the request time and the current time is too large."
        )
    );
}

#[tokio::test]
async fn the_s3_api_never_follows_a_link_out_of_the_data_directory() {
    let (h, object) = with_s3_and_a_log_file().await;
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("secret.txt"), "outside the data directory").unwrap();
    let root = h.data_dir().to_owned();
    let bucket = root.join("aws-cloudtrail-logs-123456789012");
    // A link as an object, as a folder and as a whole bucket.
    std::os::unix::fs::symlink(outside.path().join("secret.txt"), bucket.join("secret.txt")).unwrap();
    std::os::unix::fs::symlink(outside.path(), bucket.join("linked")).unwrap();
    std::os::unix::fs::symlink(outside.path(), root.join("linked-bucket")).unwrap();
    let s3 = Signer::new(ALICE.0, ALICE.1, "us-east-1", "s3");
    let get = |path: String| {
        let mut headers = HeaderMap::new();
        headers.insert("host", h.addr.to_string().parse().unwrap());
        s3.sign(
            &Method::GET,
            &path.parse().unwrap(),
            &mut headers,
            b"",
            h.clock_now(),
        );
        let h = &h;
        async move { h.send(Method::GET, &path, headers, "").await }
    };
    for path in [
        "/aws-cloudtrail-logs-123456789012/secret.txt",
        "/aws-cloudtrail-logs-123456789012/linked/secret.txt",
        "/linked-bucket/secret.txt",
    ] {
        let r = get(path.to_owned()).await;
        assert_eq!(r.status, 404, "{path}: {:?}", r.body);
        assert!(!String::from_utf8_lossy(&r.body).contains("outside"), "{path}");
    }
    let listed = get("/aws-cloudtrail-logs-123456789012?list-type=2".to_owned()).await;
    let text = String::from_utf8_lossy(&listed.body).into_owned();
    assert_eq!(listed.status, 200, "{text}");
    assert!(!text.contains("secret.txt"), "{text}");
    let buckets = get("/".to_owned()).await;
    assert!(!String::from_utf8_lossy(&buckets.body).contains("linked-bucket"));
    // The real log file is still served.
    assert_eq!(get(object).await.status, 200);
}
