//! Live mode against a tiny in-test server that verifies every SigV4 signature: what the generator
//! reports sending is exactly what the server saw and answered.

use std::collections::{BTreeMap, HashMap};
use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use generator::live::{self, Arrival, LiveOptions};
use generator::scenario::Scenario;
use http_body_util::{BodyExt, Full};
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;

#[derive(Default, Debug)]
struct Seen {
    total: u64,
    bad_signatures: Vec<String>,
    by_operation: BTreeMap<String, u64>,
    errors: BTreeMap<String, u64>,
    tokens: u64,
}

/// A secret from the test's key table.
struct Known<'a>(&'a str);

impl sigv4::Credential for Known<'_> {
    fn secret_access_key(&self) -> Option<&str> {
        Some(self.0)
    }
}

/// Checks the request's signature against `secrets` (access key -> secret and session token)
/// with the verifier the emulator uses, at the request's own time (this server has no clock of
/// its own to compare it with). `content-type` must be signed too: it says how the body reads.
fn verify(
    req: &http::request::Parts,
    body: &[u8],
    secrets: &HashMap<String, (String, Option<String>)>,
) -> Result<String, String> {
    let auth = req
        .headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .ok_or("no authorization")?;
    let signed = sigv4::parse_authorization(auth)
        .map_err(|e| e.to_string())?
        .signed_headers
        .unwrap_or_default();
    if !signed.split(';').any(|h| h == "content-type") {
        return Err("content-type not signed".into());
    }
    let now = req
        .headers
        .get("x-amz-date")
        .and_then(|v| v.to_str().ok())
        .and_then(sigv4::parse_basic)
        .ok_or("no date header")?;
    let parts = sigv4::RequestParts {
        method: &req.method,
        uri: &req.uri,
        headers: &req.headers,
        body,
    };
    let expected = sigv4::Expected {
        service: "personalize",
        region: &|_| true,
    };
    let lookup = |scope: &sigv4::Scope, token: Option<&str>| {
        let (secret, want) = secrets
            .get(&scope.access_key_id)
            .ok_or(sigv4::AuthError::UnknownAccessKey)?;
        if token != want.as_deref() {
            return Err(sigv4::AuthError::InvalidToken);
        }
        Ok(Known(secret))
    };
    sigv4::verify(&parts, &sigv4::Policy::STANDARD, &expected, now, lookup)
        .map(|v| v.scope.access_key_id)
        .map_err(|r| format!("{}: {}", r.error.code(), r.error))
}

async fn serve(
    listener: tokio::net::TcpListener,
    seen: Arc<Mutex<Seen>>,
    secrets: Arc<HashMap<String, (String, Option<String>)>>,
) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            return;
        };
        let (seen, secrets) = (seen.clone(), secrets.clone());
        tokio::spawn(async move {
            let svc = hyper::service::service_fn(move |req: Request<hyper::body::Incoming>| {
                let (seen, secrets) = (seen.clone(), secrets.clone());
                async move {
                    let (parts, body) = req.into_parts();
                    let body = body.collect().await.map(|b| b.to_bytes()).unwrap_or_default();
                    let op = match parts.headers.get("x-amz-target").and_then(|v| v.to_str().ok()) {
                        Some(t) => t.strip_prefix("AmazonPersonalize.").unwrap_or("?").to_owned(),
                        None => parts.uri.path().to_owned(),
                    };
                    let verdict = verify(&parts, &body, &secrets);
                    let mut s = seen.lock().unwrap();
                    s.total += 1;
                    if parts.headers.contains_key("x-amz-security-token") {
                        s.tokens += 1;
                    }
                    *s.by_operation.entry(op.clone()).or_default() += 1;
                    let resp = match verdict {
                        Err(e) => {
                            s.bad_signatures.push(e);
                            Response::builder().status(400).body(Full::new(Bytes::from_static(
                                br#"{"__type":"InvalidSignatureException","message":"bad"}"#,
                            )))
                        }
                        // Answer every Describe with a modelled error, everything else with success.
                        Ok(_) if op.starts_with("Describe") => {
                            *s.errors.entry("ResourceNotFoundException".into()).or_default() += 1;
                            Response::builder()
                                .status(400)
                                .header("x-amzn-errortype", "ResourceNotFoundException")
                                .body(Full::new(Bytes::from_static(br#"{"__type":"com.amazonaws.personalize#ResourceNotFoundException","message":"nope"}"#)))
                        }
                        Ok(_) => Response::builder()
                            .status(200)
                            .body(Full::new(Bytes::from_static(b"{}"))),
                    };
                    Ok::<_, Infallible>(resp.unwrap())
                }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), svc)
                .await;
        });
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_calls_are_signed_and_counted_exactly() {
    let ids = live::parse_identities(live::EMULATOR_DEFAULT_CONFIG).unwrap();
    let secrets: HashMap<String, (String, Option<String>)> = ids
        .iter()
        .map(|i| {
            (
                i.credentials.access_key_id.clone(),
                (
                    i.credentials.secret_access_key.clone(),
                    i.credentials.session_token.clone(),
                ),
            )
        })
        .collect();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let seen = Arc::new(Mutex::new(Seen::default()));
    let server = tokio::spawn(serve(listener, seen.clone(), Arc::new(secrets)));

    let scenario = Scenario::load("demo").unwrap();
    let opts = LiveOptions {
        arrival: Arrival::Poisson,
        identities: ids,
        regions: Some(vec!["us-east-1".into(), "eu-west-1".into()]),
        ..crate::live_options(
            format!("http://{addr}"),
            scenario,
            (400.0, Duration::from_secs(1)),
            (8, 3),
        )
    };
    let report = live::run(opts.clone(), std::future::pending()).await.unwrap();
    let seen_total = seen.lock().unwrap().total;
    // The setup phase waits for what it creates to become ACTIVE: a server that never finds
    // anything stops it with an error that says how to go on, before any timed call.
    let err = live::run(
        LiveOptions {
            setup: true,
            duration: Duration::from_millis(100),
            ..opts
        },
        std::future::pending(),
    )
    .await
    .unwrap_err();
    let msg = err.to_string();
    assert!(msg.starts_with("setup: ") && msg.contains("--no-setup"), "{msg}");
    server.abort();
    let seen = seen.lock().unwrap();
    assert!(seen.by_operation.get("CreateDatasetGroup").copied().unwrap_or(0) >= 1);
    assert!(seen.total > seen_total);
    assert_eq!(seen_total, report.sent);
    assert!(
        seen.bad_signatures.is_empty(),
        "{:?}",
        &seen.bad_signatures[..seen.bad_signatures.len().min(5)]
    );
    assert!(report.scheduled > 300, "{report:?}");
    assert_eq!(report.sent, report.scheduled);
    assert_eq!(report.completed, report.sent);
    assert_eq!(report.transport_errors, 0);
    assert_eq!(report.by_status.values().sum::<u64>(), report.sent);
    // The server answered every Describe with ResourceNotFoundException: the report counts
    // exactly those as failures.
    let described = report
        .by_operation
        .keys()
        .filter(|k| k.starts_with("Describe"))
        .count();
    assert_eq!(described, 0, "Describe calls never succeed here");
    let failed = report
        .by_error
        .get("ResourceNotFoundException")
        .copied()
        .unwrap_or(0);
    assert!(failed > 0);
    assert_eq!(report.by_status.get(&400).copied().unwrap_or(0), failed);
    assert_eq!(
        report.by_status.get(&200).copied().unwrap_or(0),
        report.by_operation.values().sum::<u64>()
    );
    assert!(seen.tokens > 0, "role sessions send their token");
    assert!(report.latency_ms.p50 > 0.0 && report.latency_ms.max >= report.latency_ms.p99);
    assert!(report.text().contains("achieved"));
    let json = serde_json::to_value(&report).unwrap();
    assert!(json["latency_ms"]["p999"].is_number());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_endpoint_is_reported_not_fatal() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let demo = || Scenario::load("demo").unwrap();
    let (rate, duration) = (50.0, Duration::from_millis(200));
    let opts = crate::live_options(format!("http://{addr}"), demo(), (rate, duration), (2, 1));
    let report = live::run(opts, std::future::pending()).await.unwrap();
    assert_eq!(report.completed, 0);
    assert_eq!(report.transport_errors, report.scheduled);
    let bad = crate::live_options(
        "https://example.com".into(),
        demo(),
        (1.0, Duration::from_secs(1)),
        (1, 1),
    );
    assert!(live::run(bad, std::future::pending()).await.is_err());
}
