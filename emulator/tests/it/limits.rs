//! Overload, limits and shutdown: ThrottlingException instead of queueing, body limit, header
//! timeout, connection limit, and graceful shutdown that drains and flushes.

use std::time::Duration;

use http::{HeaderMap, Method};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use std::sync::Arc;

use emulator::config::FileConfig;
use emulator::seams::Extensions;
use emulator::sigv4::Signer;
use emulator::testing::{GATE_SIGNING_NAME, GATE_TARGET_PREFIX, Gate};

use crate::common::*;

/// A signed ListDatasetGroups whose body is sent only in part: the server holds it in flight.
async fn start_partial_request(h: &Harness, body: &str, sent: usize) -> TcpStream {
    let mut headers = HeaderMap::new();
    headers.insert("host", h.addr.to_string().parse().unwrap());
    headers.insert(
        "x-amz-target",
        "AmazonPersonalize.ListDatasetGroups".parse().unwrap(),
    );
    headers.insert("content-type", "application/x-amz-json-1.1".parse().unwrap());
    headers.insert("content-length", body.len().to_string().parse().unwrap());
    alice().sign(
        &Method::POST,
        &"/".parse().unwrap(),
        &mut headers,
        body.as_bytes(),
        h.clock_now(),
    );
    let mut raw = String::from("POST / HTTP/1.1\r\n");
    for (k, v) in &headers {
        raw.push_str(&format!("{k}: {}\r\n", v.to_str().unwrap()));
    }
    raw.push_str("\r\n");
    raw.push_str(&body[..sent]);
    let mut stream = TcpStream::connect(h.addr).await.unwrap();
    stream.write_all(raw.as_bytes()).await.unwrap();
    stream
}

async fn read_response(stream: &mut TcpStream) -> String {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let n = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut chunk))
            .await
            .unwrap()
            .unwrap();
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
        let text = String::from_utf8_lossy(&buf);
        if let Some(end) = text.find("\r\n\r\n") {
            let len: usize = text[..end]
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("content-length: ")
                        .map(|v| v.trim().parse().unwrap())
                })
                .unwrap_or(0);
            if buf.len() >= end + 4 + len {
                break;
            }
        }
    }
    String::from_utf8_lossy(&buf).into_owned()
}

/// A harness with the test gate served beside Personalize.
async fn with_gate(edit: impl FnOnce(&mut FileConfig)) -> (Harness, Arc<Gate>) {
    let dir = tempfile::tempdir().unwrap();
    let mut file = FileConfig::embedded_default();
    file.personalize.time_scale = 0.0;
    edit(&mut file);
    let gate = Gate::new();
    let extensions = Extensions {
        services: vec![gate.clone()],
        ..Default::default()
    };
    (Harness::start_config(dir, file, extensions).await, gate)
}

/// Starts a `Hold` call, which stays in flight until the gate is released.
fn hold(h: &Harness) -> tokio::task::JoinHandle<Response> {
    let addr = h.addr;
    let now = h.clock_now();
    tokio::spawn(async move {
        let signer = Signer::new(ALICE.0, ALICE.1, "us-east-1", GATE_SIGNING_NAME);
        let mut headers = HeaderMap::new();
        headers.insert("host", addr.to_string().parse().unwrap());
        headers.insert(
            "x-amz-target",
            format!("{GATE_TARGET_PREFIX}.Hold").parse().unwrap(),
        );
        headers.insert("content-type", "application/x-amz-json-1.1".parse().unwrap());
        signer.sign(&Method::POST, &"/".parse().unwrap(), &mut headers, b"{}", now);
        send_to(addr, Method::POST, "/", headers, bytes::Bytes::from_static(b"{}")).await
    })
}

async fn wait_health(h: &Harness, member: &str, n: u64) {
    for _ in 0..500 {
        if h.health().await[member].as_u64() == Some(n) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("{member} never reached {n}");
}

#[tokio::test]
async fn overload_answers_throttling_and_is_recorded() {
    let (h, gate) = with_gate(|f| f.server.max_in_flight = 1).await;
    let held = hold(&h);
    wait_health(&h, "inFlight", 1).await;
    assert_eq!(gate.entered(), 1);

    let throttled = h.personalize(&alice(), "ListDatasetGroups", "{}").await;
    throttled.assert_error(400, "ThrottlingException");
    assert_eq!(throttled.message(), "Rate exceeded");
    let r = h.rest(&alice(), "/events", "{}").await;
    r.assert_error(429, "ThrottlingException");

    // The held call completes normally once it is let through.
    gate.release(1);
    assert_eq!(held.await.unwrap().status, 200);
    wait_health(&h, "inFlight", 0).await;
    let ok = h.personalize(&alice(), "ListDatasetGroups", "{}").await;
    assert_eq!(ok.status, 200);

    let records = h.flushed_records().await;
    assert_eq!(
        by_request_id(&records, &throttled.request_id())["errorCode"],
        "ThrottlingException"
    );
    assert_eq!(records.len(), 4);
}

#[tokio::test]
async fn slow_uploads_hold_no_slot_until_they_are_authenticated() {
    let h = Harness::start_with(|f| f.server.max_in_flight = 1).await;
    // Bodies trickling in, signed or not, are not in flight: nothing has been authenticated.
    let body = r#"{"maxResults": 10}"#;
    let mut slow = Vec::new();
    for _ in 0..3 {
        slow.push(start_partial_request(&h, body, 5).await);
    }
    let mut unsigned = TcpStream::connect(h.addr).await.unwrap();
    unsigned
        .write_all(
            b"POST / HTTP/1.1\r\nHost: x\r\nX-Amz-Target: AmazonPersonalize.ListDatasetGroups\r\n\
              Content-Length: 100\r\n\r\n{\"max",
        )
        .await
        .unwrap();
    wait_health(&h, "receivingBodies", 4).await;
    assert_eq!(h.health().await["inFlight"], 0);
    for _ in 0..5 {
        let r = h.personalize(&alice(), "ListDatasetGroups", "{}").await;
        assert_eq!(r.status, 200, "{:?}", r.body);
    }
    for mut s in slow {
        s.write_all(&body.as_bytes()[5..]).await.unwrap();
        let resp = read_response(&mut s).await;
        assert!(resp.starts_with("HTTP/1.1 200"), "{resp}");
    }
}

#[tokio::test]
async fn body_limit() {
    let h = Harness::start_with(|f| f.server.max_body_bytes = 1024).await;
    let big = format!(r#"{{"name":"{}"}}"#, "x".repeat(2000));
    let r = h.personalize(&alice(), "CreateDatasetGroup", &big).await;
    r.assert_error(413, "RequestEntityTooLargeException");
    let r = h.personalize(&alice(), "ListDatasetGroups", "{}").await;
    assert_eq!(r.status, 200);
}

#[tokio::test]
async fn slow_headers_are_cut_off() {
    let h = Harness::start_with(|f| f.server.header_read_timeout = Duration::from_millis(200)).await;
    let mut stream = TcpStream::connect(h.addr).await.unwrap();
    stream.write_all(b"POST / HTTP/1.1\r\nHost: x\r\n").await.unwrap();
    // The server closes the connection (possibly after a 408) instead of waiting forever.
    let mut buf = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut buf)).await;
    assert!(read.is_ok(), "connection still open");
}

#[tokio::test]
async fn connection_limit_holds_extra_connections_back() {
    let h = Harness::start_with(|f| f.server.max_connections = 1).await;
    // One keep-alive connection that has been served holds the only slot.
    let stream = TcpStream::connect(h.addr).await.unwrap();
    let (mut first, conn) = hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
        .await
        .unwrap();
    let first_conn = tokio::spawn(conn);
    let req = http::Request::get("/_emulator/health")
        .header("host", h.addr.to_string())
        .body(http_body_util::Full::new(bytes::Bytes::new()))
        .unwrap();
    assert_eq!(first.send_request(req).await.unwrap().status(), 200);
    // A second connection waits in the backlog: no answer while the first is open.
    let addr = h.addr;
    let second = tokio::spawn(async move {
        send_to(
            addr,
            Method::GET,
            "/_emulator/health",
            HeaderMap::new(),
            bytes::Bytes::new(),
        )
        .await
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!second.is_finished());
    drop(first);
    first_conn.await.unwrap().unwrap();
    let r = second.await.unwrap();
    assert_eq!(r.status, 200);
}

#[tokio::test]
async fn graceful_shutdown_drains_in_flight_calls_and_flushes() {
    let mut h = Harness::start().await;
    let done = h
        .personalize(&alice(), "CreateDatasetGroup", r#"{"name":"before-shutdown"}"#)
        .await;
    assert_eq!(done.status, 200);
    let body = r#"{"maxResults": 5}"#;
    let mut slow = start_partial_request(&h, body, 3).await;
    wait_health(&h, "receivingBodies", 1).await;

    let addr = h.addr;
    let stop = tokio::spawn(async move {
        let r = h.stop().await;
        (h, r)
    });
    // Shutdown waits for the in-flight call, which still completes.
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(!stop.is_finished());
    slow.write_all(&body.as_bytes()[3..]).await.unwrap();
    let resp = read_response(&mut slow).await;
    assert!(resp.starts_with("HTTP/1.1 200"), "{resp}");
    drop(slow);
    let (h, result) = stop.await.unwrap();
    result.unwrap();
    // No longer accepting.
    assert!(TcpStream::connect(addr).await.is_err());
    // Both calls were flushed to files without an explicit flush.
    let records = h.records();
    assert_eq!(records.len(), 2, "{records:#?}");
    by_request_id(&records, &done.request_id());
    assert!(
        records
            .iter()
            .any(|r| r["eventName"] == "ListDatasetGroups" && r["requestParameters"]["maxResults"] == 5)
    );
}

/// Waits for the server to close `stream`; whether it answered first does not matter.
async fn closed_within(stream: &mut TcpStream, limit: Duration) -> bool {
    let mut buf = Vec::new();
    tokio::time::timeout(limit, stream.read_to_end(&mut buf))
        .await
        .is_ok()
}

#[tokio::test]
async fn connections_that_send_nothing_are_closed() {
    let h = Harness::start_with(|f| {
        f.server.first_byte_timeout = Duration::from_millis(200);
        f.server.header_read_timeout = Duration::from_millis(300);
    })
    .await;
    let mut silent = TcpStream::connect(h.addr).await.unwrap();
    assert!(
        closed_within(&mut silent, Duration::from_secs(10)).await,
        "silent connection kept"
    );
    // A first byte that could begin the HTTP/2 preface, then nothing.
    let mut stalled = TcpStream::connect(h.addr).await.unwrap();
    stalled.write_all(b"P").await.unwrap();
    assert!(
        closed_within(&mut stalled, Duration::from_secs(10)).await,
        "stalled preface kept"
    );
    // Past the version bytes, hyper's header deadline takes over.
    let mut slow = TcpStream::connect(h.addr).await.unwrap();
    slow.write_all(b"GET /_emulator/he").await.unwrap();
    assert!(
        closed_within(&mut slow, Duration::from_secs(10)).await,
        "slow header kept"
    );
    let ok = h.get("/_emulator/health").await;
    assert_eq!(ok.status, 200);
}

#[tokio::test]
async fn one_address_cannot_take_every_connection() {
    let h = Harness::start_with(|f| {
        f.server.max_connections = 8;
        f.server.max_connections_per_ip = 4;
        f.server.first_byte_timeout = Duration::from_secs(600);
    })
    .await;
    // Another loopback address opens twice its share and sends nothing.
    let mut held = Vec::new();
    for _ in 0..8 {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.bind("127.0.0.2:0".parse().unwrap()).unwrap();
        held.push(socket.connect(h.addr).await.unwrap());
    }
    // The connections beyond its share are closed at once; the rest stay open.
    let mut refused = 0;
    for s in &mut held {
        if closed_within(s, Duration::from_millis(300)).await {
            refused += 1;
        }
    }
    assert_eq!(refused, 4);
    // Every other client is still answered at once.
    for _ in 0..3 {
        let r = tokio::time::timeout(
            Duration::from_secs(1),
            h.personalize(&alice(), "ListDatasetGroups", "{}"),
        )
        .await
        .expect("a legitimate call waited behind silent connections");
        assert_eq!(r.status, 200);
    }
}
