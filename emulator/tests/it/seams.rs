//! The extension points: an AWS JSON 1.1 service plugged in by target prefix is authenticated
//! with its own signing name, deny-checked and recorded with its event source; S3-scoped requests
//! reach the S3 handler with the verified caller; taps see every record.

use std::sync::{Arc, Mutex};

use cloudtrail::Record;
use emulator::config::FileConfig;
use emulator::seams::{
    Answer, BoxFuture, CallContext, Extensions, HttpResponse, OperationInfo, RawRequest, RawService,
    RecordTap, Reply, Service, ServiceError,
};
use emulator::sigv4::Signer;
use http::{HeaderMap, Method};
use serde_json::{Value, json};

use crate::common::*;

struct Echo;

impl Service for Echo {
    fn target_prefixes(&self) -> &'static [&'static str] {
        &["com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101"]
    }
    fn signing_name(&self) -> &'static str {
        "cloudtrail"
    }
    fn event_source(&self) -> &'static str {
        "cloudtrail.amazonaws.com"
    }
    fn by_target(&self, name: &str) -> Option<OperationInfo> {
        match name {
            "CreateTrail" => Some(OperationInfo::management("CreateTrail", false)),
            "StopLogging" => Some(OperationInfo::management("StopLogging", false)),
            _ => None,
        }
    }
    fn call<'a>(&'a self, ctx: &'a CallContext<'a>, operation: OperationInfo, input: &'a Value) -> Reply<'a> {
        Box::pin(async move {
            Answer::from(match input.get("Name").and_then(Value::as_str) {
                Some(name) => Ok(
                    json!({"Name": name, "Account": ctx.account, "Op": operation.name, "CreatedAt": 1541397961}),
                ),
                None => Err(ServiceError::client(
                    "InvalidTrailNameException",
                    "Trail name is required.",
                )),
            })
        })
    }
    fn is_timestamp_member(&self, name: &str) -> bool {
        name == "CreatedAt"
    }
}

struct FakeS3;

impl RawService for FakeS3 {
    fn signing_name(&self) -> &'static str {
        "s3"
    }

    fn path_style(&self) -> emulator::sigv4::PathStyle {
        emulator::sigv4::PathStyle::S3
    }

    /// Refusals in the shape of S3's errors, from the server's own reason.
    fn refuse(
        &self,
        error: &emulator::protocol::CallError,
        _resource: &str,
        _request_id: &str,
    ) -> HttpResponse {
        let (status, code) = match error {
            emulator::protocol::CallError::Auth(a) => (a.s3().status, a.s3().code),
            _ => (http::StatusCode::INTERNAL_SERVER_ERROR, "InternalError"),
        };
        let mut r = http::Response::new(emulator::seams::full_body(format!(
            "<Error><Code>{code}</Code></Error>"
        )));
        *r.status_mut() = status;
        r
    }

    fn handle(&self, request: RawRequest) -> BoxFuture<'_, HttpResponse> {
        Box::pin(async move {
            let caller = request
                .caller
                .map(|c| format!("{}|{}", c.account, c.region))
                .unwrap_or_default();
            let body = format!("{} {} {caller}", request.parts.method, request.parts.uri.path());
            http::Response::new(emulator::seams::full_body(body))
        })
    }
}

#[derive(Default)]
struct Tap(Mutex<Vec<String>>);

impl RecordTap for Tap {
    fn record(&self, r: &Record) {
        self.0.lock().unwrap().push(r.event_name.clone());
    }
}

async fn harness(tap: Arc<Tap>) -> Harness {
    let dir = tempfile::tempdir().unwrap();
    let mut file = FileConfig::embedded_default();
    file.accounts[0].users[1]
        .deny
        .push("cloudtrail:StopLogging".to_owned());
    let extensions = Extensions {
        services: vec![Arc::new(Echo)],
        raw: vec![Arc::new(FakeS3)],
        taps: vec![tap],
    };
    Harness::start_config(dir, file, extensions).await
}

const CT: &str = "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101";

#[tokio::test]
async fn json_service_is_served_authenticated_and_recorded() {
    let tap = Arc::new(Tap::default());
    let h = harness(tap.clone()).await;
    let ct = Signer::new(ALICE.0, ALICE.1, "eu-central-1", "cloudtrail");
    let ok = h
        .json(&ct, &format!("{CT}.CreateTrail"), r#"{"Name":"t1"}"#)
        .await;
    assert_eq!(ok.status, 200, "{:?}", ok.body);
    assert_eq!(ok.json()["Account"], "123456789012");
    let bad = h.json(&ct, &format!("{CT}.CreateTrail"), "{}").await;
    bad.assert_error(400, "InvalidTrailNameException");
    let unknown = h.json(&ct, &format!("{CT}.DescribeTrails"), "{}").await;
    assert_eq!(unknown.error_type(), "UnknownOperationException");
    // Signed for personalize: the scope must name the routed service.
    let wrong = h
        .json(&alice(), &format!("{CT}.CreateTrail"), r#"{"Name":"t2"}"#)
        .await;
    assert_eq!(
        wrong.message(),
        "Credential should be scoped to correct service: 'cloudtrail'. "
    );
    let intern = Signer::new(INTERN.0, INTERN.1, "us-east-1", "cloudtrail");
    let denied = h
        .json(&intern, &format!("{CT}.StopLogging"), r#"{"Name":"t1"}"#)
        .await;
    assert_eq!(denied.error_type(), "AccessDeniedException");
    assert!(
        denied
            .message()
            .contains("cloudtrail:StopLogging on resource: arn:aws:cloudtrail:us-east-1:123456789012:*")
    );

    let records = h.flushed_records().await;
    let rec = by_request_id(&records, &ok.request_id());
    assert_eq!(rec["eventSource"], "cloudtrail.amazonaws.com");
    assert_eq!(rec["eventName"], "CreateTrail");
    assert_eq!(rec["awsRegion"], "eu-central-1");
    assert_eq!(rec["eventCategory"], "Management");
    assert_eq!(rec["responseElements"]["CreatedAt"], "Nov 5, 2018 6:06:01 AM");
    assert_eq!(
        by_request_id(&records, &bad.request_id())["errorCode"],
        "InvalidTrailNameException"
    );
    assert_eq!(
        by_request_id(&records, &denied.request_id())["errorCode"],
        "AccessDenied"
    );
    assert_eq!(
        by_request_id(&records, &wrong.request_id())["errorCode"],
        "InvalidSignatureException"
    );
    let mut seen = tap.0.lock().unwrap().clone();
    seen.sort();
    assert_eq!(seen, ["CreateTrail", "CreateTrail", "CreateTrail", "StopLogging"]);
}

#[tokio::test]
async fn s3_scoped_requests_reach_the_s3_handler() {
    let h = harness(Arc::default()).await;
    let s3 = Signer::new(ALICE.0, ALICE.1, "us-west-2", "s3");
    let mut headers = HeaderMap::new();
    headers.insert(
        "x-amz-content-sha256",
        emulator::sigv4::EMPTY_SHA256.parse().unwrap(),
    );
    let r = h
        .signed(
            &s3,
            Method::GET,
            "/aws-cloudtrail-logs-123456789012?list-type=2&prefix=AWSLogs%2F",
            headers,
            "",
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(
        std::str::from_utf8(&r.body).unwrap(),
        "GET /aws-cloudtrail-logs-123456789012 123456789012|us-west-2"
    );
    // A bad S3 signature is answered in S3's XML.
    let wrong = Signer::new(ALICE.0, "nope", "us-west-2", "s3");
    let r = h.signed(&wrong, Method::GET, "/b/k", HeaderMap::new(), "").await;
    assert_eq!(r.status, 403);
    assert!(
        std::str::from_utf8(&r.body)
            .unwrap()
            .contains("<Code>SignatureDoesNotMatch</Code>")
    );
}

#[tokio::test]
async fn without_an_s3_handler_s3_answers_not_implemented() {
    let h = Harness::start().await;
    let s3 = Signer::new(ALICE.0, ALICE.1, "us-east-1", "s3");
    let r = h.signed(&s3, Method::GET, "/", HeaderMap::new(), "").await;
    assert_eq!(r.status, 501);
    assert!(
        std::str::from_utf8(&r.body)
            .unwrap()
            .contains("<Code>NotImplemented</Code>")
    );
}
