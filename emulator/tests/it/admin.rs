//! `/_emulator/*`: health, flush (keys listed, records readable), reset (state, not logs), and
//! webhook notifications for delivered files.

use std::convert::Infallible;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http::{HeaderMap, Method};
use http_body_util::{BodyExt, Full};
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;

use crate::common::*;

#[tokio::test]
async fn health_and_unknown_admin_paths() {
    let h = Harness::start().await;
    let r = h.get("/_emulator/health").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["status"], "ok");
    assert_eq!(r.json()["now"], "2026-03-01T10:00:00Z");
    let r = h
        .send(Method::POST, "/_emulator/health", HeaderMap::new(), "")
        .await;
    assert_eq!(r.status, 405);
    let r = h.get("/_emulator/nope").await;
    assert_eq!(r.status, 404);
    let r = h.get("/_emulator/flush").await;
    assert_eq!(r.status, 405);
}

#[tokio::test]
async fn flush_lists_keys_and_every_accepted_record_is_in_them() {
    let h = Harness::start().await;
    let mut ids = Vec::new();
    for i in 0..25 {
        let r = h
            .personalize(&alice(), "CreateDatasetGroup", &format!(r#"{{"name":"g{i}"}}"#))
            .await;
        assert_eq!(r.status, 200, "{:?}", r.body);
        ids.push(r.request_id());
    }
    let keys = h.flush().await;
    assert!(!keys.is_empty());
    for key in &keys {
        assert!(
            key.starts_with(
                "AWSLogs/123456789012/CloudTrail/us-east-1/2026/03/01/123456789012_CloudTrail_us-east-1_"
            ),
            "{key}"
        );
        assert!(
            h.data_dir()
                .join("aws-cloudtrail-logs-123456789012")
                .join(key)
                .is_file(),
            "{key}"
        );
    }
    let records = h.records();
    for id in &ids {
        by_request_id(&records, id);
    }
    // A second flush with nothing new writes nothing.
    assert!(h.flush().await.is_empty());
}

#[tokio::test]
async fn reset_forgets_state_but_keeps_logs() {
    let h = Harness::start().await;
    let r = h
        .personalize(&alice(), "CreateDatasetGroup", r#"{"name":"keep-me"}"#)
        .await;
    assert_eq!(r.status, 200);
    h.flush().await;
    let r = h
        .send(Method::POST, "/_emulator/reset", HeaderMap::new(), "")
        .await;
    assert_eq!(
        (r.status.as_u16(), r.json()["reset"].as_bool()),
        (200, Some(true))
    );
    let list = h.personalize(&alice(), "ListDatasetGroups", "{}").await;
    assert_eq!(
        list.json()["datasetGroups"].as_array().map(Vec::len).unwrap_or(0),
        0
    );
    // The same name is free again, and the earlier record is still on disk.
    let r = h
        .personalize(&alice(), "CreateDatasetGroup", r#"{"name":"keep-me"}"#)
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let records = h.flushed_records().await;
    assert_eq!(
        records
            .iter()
            .filter(|r| r["eventName"] == "CreateDatasetGroup")
            .count(),
        2
    );
}

#[tokio::test]
async fn delivered_files_are_posted_to_webhooks() {
    let received: Arc<Mutex<Vec<(HeaderMap, String)>>> = Arc::default();
    let hook = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let hook_addr = hook.local_addr().unwrap();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<()>();
    {
        let received = received.clone();
        tokio::spawn(async move {
            loop {
                let (stream, _) = hook.accept().await.unwrap();
                let received = received.clone();
                let tx = tx.clone();
                tokio::spawn(hyper::server::conn::http1::Builder::new().serve_connection(
                    TokioIo::new(stream),
                    service_fn(move |req: http::Request<hyper::body::Incoming>| {
                        let received = received.clone();
                        let tx = tx.clone();
                        async move {
                            let headers = req.headers().clone();
                            let body = req.into_body().collect().await.unwrap().to_bytes();
                            received
                                .lock()
                                .unwrap()
                                .push((headers, String::from_utf8_lossy(&body).into_owned()));
                            let _ = tx.send(());
                            Ok::<_, Infallible>(http::Response::new(Full::new(Bytes::new())))
                        }
                    }),
                ));
            }
        });
    }
    let h = Harness::start_with(|f| f.notifications.webhooks = vec![format!("http://{hook_addr}/sns")]).await;
    let r = h.personalize(&alice(), "ListDatasetGroups", "{}").await;
    assert_eq!(r.status, 200);
    let keys = h.flush().await;
    assert_eq!(keys.len(), 1);
    rx.recv().await.unwrap();
    let got = received.lock().unwrap().clone();
    assert_eq!(got.len(), 1);
    let (headers, body) = &got[0];
    assert_eq!(headers["x-amz-sns-message-type"], "Notification");
    let envelope: serde_json::Value = serde_json::from_str(body).unwrap();
    assert_eq!(envelope["Type"], "Notification");
    let message: serde_json::Value = serde_json::from_str(envelope["Message"].as_str().unwrap()).unwrap();
    assert_eq!(message["s3Bucket"], "aws-cloudtrail-logs-123456789012");
    assert_eq!(message["s3ObjectKey"][0], keys[0].as_str());
    // The notifications log has the same line.
    let log = std::fs::read_to_string(h.data_dir().join("notifications.log")).unwrap();
    assert_eq!(log.lines().count(), 1);
}

#[tokio::test]
async fn web_pages_and_rebound_names_cannot_reach_the_admin_endpoints() {
    let h = Harness::start().await;
    let made = h
        .personalize(&alice(), "CreateDatasetGroup", r#"{"name":"kept"}"#)
        .await;
    assert_eq!(made.status, 200);
    // A page on another site posts a "simple" cross-origin request, as a form or fetch would.
    let mut cross = HeaderMap::new();
    cross.insert("origin", "http://evil.example".parse().unwrap());
    cross.insert("content-type", "text/plain".parse().unwrap());
    let r = h.send(Method::POST, "/_emulator/reset", cross, "").await;
    assert_eq!(r.status, 403, "{:?}", r.body);
    // A DNS-rebinding page reaches the port under its own host name.
    let mut rebound = HeaderMap::new();
    rebound.insert("host", "evil.example:4599".parse().unwrap());
    let r = h.send(Method::GET, "/_emulator/health", rebound, "").await;
    assert_eq!(r.status, 403);
    assert!(
        String::from_utf8_lossy(&r.body).contains("admin_hosts"),
        "{:?}",
        r.body
    );
    // Nothing was reset.
    let listed = h.personalize(&alice(), "ListDatasetGroups", "{}").await;
    assert_eq!(listed.json()["datasetGroups"].as_array().map(Vec::len), Some(1));
    // The emulator's own pages (same origin) still work.
    let mut same = HeaderMap::new();
    same.insert("origin", format!("http://{}", h.addr).parse().unwrap());
    let r = h.send(Method::POST, "/_emulator/flush", same, "").await;
    assert_eq!(r.status, 200, "{:?}", r.body);
}

#[tokio::test]
async fn the_quarantine_can_be_listed_and_cleared() {
    let h = Harness::start().await;
    let spool = h.data_dir().join(".spool/quarantine");
    std::fs::create_dir_all(&spool).unwrap();
    std::fs::write(spool.join("batch.json"), r#"{"trail":"t","Records":[]}"#).unwrap();
    let listed = h.get("/_emulator/quarantine").await.json();
    let files = listed["quarantined"].as_array().unwrap();
    assert_eq!(files.len(), 1, "{listed}");
    assert!(files[0]["file"].as_str().unwrap().ends_with("batch.json"));
    let cleared = h
        .send(Method::POST, "/_emulator/quarantine/clear", HeaderMap::new(), "")
        .await;
    assert_eq!(cleared.json()["cleared"], 1);
    assert!(!spool.join("batch.json").exists());
}
