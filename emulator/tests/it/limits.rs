//! Overload, limits and shutdown: ThrottlingException instead of queueing, body limit, header
//! timeout, connection limit, and graceful shutdown that drains and flushes.

use std::time::Duration;

use http::{HeaderMap, Method};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

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

async fn in_flight(h: &Harness) -> u64 {
    let r = h
        .send(Method::GET, "/_emulator/health", HeaderMap::new(), "")
        .await;
    r.json()["inFlight"].as_u64().unwrap()
}

async fn wait_in_flight(h: &Harness, n: u64) {
    for _ in 0..500 {
        if in_flight(h).await == n {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("in-flight count never reached {n}");
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

#[tokio::test]
async fn overload_answers_throttling_and_is_recorded() {
    let h = Harness::start_with(|f| f.server.max_in_flight = 1).await;
    let body = r#"{"maxResults": 10}"#;
    let mut slow = start_partial_request(&h, body, 5).await;
    wait_in_flight(&h, 1).await;

    let throttled = h.personalize(&alice(), "ListDatasetGroups", "{}").await;
    assert_eq!(
        (throttled.status.as_u16(), throttled.error_type().as_str()),
        (400, "ThrottlingException")
    );
    assert_eq!(throttled.message(), "Rate exceeded");
    let r = h.rest(&alice(), "/events", "{}").await;
    assert_eq!(
        (r.status.as_u16(), r.error_type().as_str()),
        (429, "ThrottlingException")
    );

    // The held request completes normally once its body arrives.
    slow.write_all(&body.as_bytes()[5..]).await.unwrap();
    let resp = read_response(&mut slow).await;
    assert!(resp.starts_with("HTTP/1.1 200"), "{resp}");
    wait_in_flight(&h, 0).await;
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
async fn body_limit() {
    let h = Harness::start_with(|f| f.server.max_body_bytes = 1024).await;
    let big = format!(r#"{{"name":"{}"}}"#, "x".repeat(2000));
    let r = h.personalize(&alice(), "CreateDatasetGroup", &big).await;
    assert_eq!(
        (r.status.as_u16(), r.error_type().as_str()),
        (413, "RequestEntityTooLargeException")
    );
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
    wait_in_flight(&h, 1).await;

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
