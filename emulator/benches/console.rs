//! Console benchmark: the first page of Event history, over HTTP from an in-process emulator,
//! with a million events in history, beside the same `History::lookup` called directly (the
//! baseline: the query the console and LookupEvents share), in the same run.
//!
//! `cargo bench -p emulator --bench console` (`CONSOLE_EVENTS=N` to change the size, default
//! 1,000,000; `CONSOLE_ROUNDS=N` timed requests per query, default 7).

use std::time::{Duration, Instant};

use bytes::Bytes;
use cloudtrail::clock::{ManualClock, SharedClock};
use cloudtrail::history::{History, LookupRequest};
use cloudtrail::{Record, UserIdentity};
use http_body_util::{BodyExt, Empty};
use hyper_util::rt::TokioIo;
use time::macros::datetime;

fn record(i: u64, start: time::OffsetDateTime) -> Record {
    let users = ["alice", "bob", "carol", "dave"];
    let user = users[(i % 4) as usize];
    let ident = UserIdentity::iam_user("123456789012", "/", user, "AIDAEXAMPLE", "AKIAIOSFODNN7EXAMPLE");
    let name = if i.is_multiple_of(10) {
        "CreateSchema"
    } else {
        "ListDatasetGroups"
    };
    // Three days of events.
    let t = start + time::Duration::milliseconds((i * 250) as i64);
    let mut r = Record::api_call(
        ident,
        t,
        "personalize.amazonaws.com",
        name,
        "us-east-1",
        "192.0.2.1",
        "123456789012",
    );
    r.read_only = Some(!i.is_multiple_of(10));
    r.request_id = Some(format!("req-{i}"));
    r
}

async fn get(addr: std::net::SocketAddr, path: &str) -> (u16, Bytes) {
    let stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .expect("handshake");
    tokio::spawn(conn);
    let req = http::Request::builder()
        .uri(path)
        .header("host", addr.to_string())
        .body(Empty::<Bytes>::new())
        .expect("request");
    let resp = sender.send_request(req).await.expect("response");
    let status = resp.status().as_u16();
    (status, resp.into_body().collect().await.expect("body").to_bytes())
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let n: u64 = std::env::var("CONSOLE_EVENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let rounds: usize = std::env::var("CONSOLE_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(7);
    let start = datetime!(2026-03-08 00:00:00 UTC);
    let now = start + time::Duration::days(4);
    let clock = ManualClock::new(now);
    let shared: SharedClock = clock.clone();
    let dir = tempfile::tempdir().expect("temp dir");
    let history_dir = dir.path().join(".cloudtrail").join("history");

    let filled = Instant::now();
    {
        let history = History::open(&history_dir, shared.clone()).expect("open history");
        for i in 0..n {
            history.append(&record(i, start)).expect("append");
        }
        history.flush().expect("flush");
    }
    let fill = filled.elapsed();

    // Baseline: the lookup itself, in this process, before the server holds the history.
    let queries: [(&str, LookupRequest, &str); 2] = [
        ("first page", LookupRequest::default(), "/console/api/events"),
        (
            "EventName page",
            LookupRequest {
                attributes: vec![("EventName".into(), "CreateSchema".into())],
                ..Default::default()
            },
            "/console/api/events?key=EventName&value=CreateSchema",
        ),
    ];
    let mut direct = Vec::new();
    {
        let history = History::open(&history_dir, shared.clone()).expect("open history");
        for (_, req, _) in &queries {
            let times: Vec<Duration> = (0..rounds)
                .map(|_| {
                    let t = Instant::now();
                    let page = history.lookup("123456789012", "us-east-1", req).expect("lookup");
                    assert_eq!(page.events.len(), 50);
                    t.elapsed()
                })
                .collect();
            direct.push(median(times));
        }
    }

    let mut file = emulator::config::FileConfig::embedded_default();
    file.server.data_dir = dir.path().to_owned();
    file.server.tls = false;
    let config = emulator::Config::new(file).with_clock(shared.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(emulator::run(listener, config, async move {
        let _ = rx.await;
    }));
    // The first answer after start, then warm ones.
    let mut console = Vec::new();
    let mut first_answer = Duration::ZERO;
    for (i, (_, _, path)) in queries.iter().enumerate() {
        let mut times = Vec::new();
        for round in 0..=rounds {
            let t = Instant::now();
            let (status, body) = get(addr, path).await;
            let d = t.elapsed();
            assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
            let v: serde_json::Value = serde_json::from_slice(&body).expect("json");
            assert_eq!(v["events"].as_array().map(Vec::len), Some(50));
            if round == 0 {
                if i == 0 {
                    first_answer = d;
                }
            } else {
                times.push(d);
            }
        }
        console.push(median(times));
    }
    let _ = tx.send(());
    let _ = server.await;

    println!(
        "console benchmark: {n} events in Event history (filled in {fill:.1?}), {rounds} timed requests per query"
    );
    println!("first answer after start: {first_answer:?}");
    for (i, (name, _, _)) in queries.iter().enumerate() {
        println!(
            "{name:<15} console over HTTP {:>10.1?}   History::lookup alone {:>10.1?}   ratio {:.2}",
            console[i],
            direct[i],
            console[i].as_secs_f64() / direct[i].as_secs_f64()
        );
    }
    let target = Duration::from_millis(200);
    println!(
        "target: first page under {target:?} with {n} events: {}",
        if console[0] < target { "met" } else { "NOT met" }
    );
}
