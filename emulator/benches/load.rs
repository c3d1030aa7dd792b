//! Load benchmark: signed `ListDatasetGroups` and `CreateSchema` against the real emulator (with
//! recording and delivery on) beside a minimal hyper server answering a fixed body, both run as
//! child processes in the same run.
//!
//! Prints closed-loop requests/s with p50/p99, open-loop p50/p99 at a fixed rate (default
//! 10,000 requests/s), and the emulator's resident memory after the long open-loop run.
//!
//! `cargo bench -p emulator --bench load -- [--duration 60] [--phase-secs 10] [--rate 10000]
//! [--connections 32]`

use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use emulator::sigv4::Signer;
use http::{HeaderMap, Method};
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

const ALICE: (&str, &str) = ("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY");
const SCHEMA: &str = r#"{\"type\":\"record\",\"name\":\"Interactions\",\"namespace\":\"com.amazonaws.personalize.schema\",\"fields\":[{\"name\":\"USER_ID\",\"type\":\"string\"},{\"name\":\"ITEM_ID\",\"type\":\"string\"},{\"name\":\"TIMESTAMP\",\"type\":\"long\"}],\"version\":\"1.0\"}"#;
/// CreateSchema calls per connection before it moves on to another Region.
const SCHEMAS_PER_REGION: u64 = 100;

#[derive(Debug, Clone)]
struct Options {
    duration: u64,
    phase_secs: u64,
    rate: u64,
    connections: usize,
}

fn options() -> Options {
    let mut o = Options {
        duration: 60,
        phase_secs: 10,
        rate: 10_000,
        connections: 32,
    };
    let args: Vec<String> = std::env::args().collect();
    let value = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .and_then(|v| v.parse::<u64>().ok())
    };
    if let Some(v) = value("--duration") {
        o.duration = v;
    }
    if let Some(v) = value("--phase-secs") {
        o.phase_secs = v;
    }
    if let Some(v) = value("--rate") {
        o.rate = v;
    }
    if let Some(v) = value("--connections") {
        o.connections = v as usize;
    }
    o
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Op {
    ListDatasetGroups,
    CreateSchema,
}

struct Target {
    name: &'static str,
    addr: SocketAddr,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

fn wait_ready(addr: SocketAddr) {
    for _ in 0..500 {
        if std::net::TcpStream::connect(addr).is_ok() {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("server at {addr} did not start");
}

fn rss_kib(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// The baseline: a hyper server that reads the body and answers a fixed JSON body.
fn serve_baseline(port: u16) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
            .await
            .expect("bind");
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let _ = stream.set_nodelay(true);
            tokio::spawn(async move {
                let service =
                    hyper::service::service_fn(|req: http::Request<hyper::body::Incoming>| async move {
                        let _ = req.into_body().collect().await;
                        let mut resp =
                            http::Response::new(Full::new(Bytes::from_static(b"{\"datasetGroups\":[]}")));
                        resp.headers_mut().insert(
                            "content-type",
                            http::HeaderValue::from_static("application/x-amz-json-1.1"),
                        );
                        resp.headers_mut().insert(
                            "x-amzn-requestid",
                            http::HeaderValue::from_static("00000000-0000-4000-8000-000000000000"),
                        );
                        Ok::<_, std::convert::Infallible>(resp)
                    });
                let _ = hyper_util::server::conn::auto::Builder::new(hyper_util::rt::TokioExecutor::new())
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
}

fn request(addr: SocketAddr, op: Op, phase: u64, conn: usize, i: u64) -> http::Request<Full<Bytes>> {
    let (target, body, region) = match op {
        Op::ListDatasetGroups => (
            "AmazonPersonalize.ListDatasetGroups",
            "{}".to_owned(),
            "us-east-1".to_owned(),
        ),
        Op::CreateSchema => {
            // Personalize allows 500 schemas per (account, Region): connections spread over the
            // real Regions (made-up ones are refused), and the state is reset before each phase.
            let block = usize::try_from(i / SCHEMAS_PER_REGION).unwrap_or(0);
            let region =
                emulator::sigv4::AWS_REGIONS[(conn + block * 7) % emulator::sigv4::AWS_REGIONS.len()];
            let body = format!(r#"{{"name":"bench-{phase}-{conn}-{i}","schema":"{SCHEMA}"}}"#);
            ("AmazonPersonalize.CreateSchema", body, region.to_owned())
        }
    };
    let signer = Signer::new(ALICE.0, ALICE.1, &region, "personalize");
    let mut headers = HeaderMap::new();
    headers.insert("host", addr.to_string().parse().expect("host"));
    headers.insert("x-amz-target", http::HeaderValue::from_static(target));
    headers.insert(
        "content-type",
        http::HeaderValue::from_static("application/x-amz-json-1.1"),
    );
    headers.insert(
        "user-agent",
        http::HeaderValue::from_static("emulator-load-bench/1.0"),
    );
    let uri: http::Uri = "/".parse().expect("uri");
    signer.sign(
        &Method::POST,
        &uri,
        &mut headers,
        body.as_bytes(),
        time::OffsetDateTime::now_utc(),
    );
    let mut req = http::Request::new(Full::new(Bytes::from(body)));
    *req.method_mut() = Method::POST;
    *req.uri_mut() = uri;
    *req.headers_mut() = headers;
    req
}

/// One signed call per Region, then a flush: the CloudTrail side creates a Region's signing key
/// (RSA-2048) when the Region's first log file is delivered. That is a one-time cost per Region,
/// paid here rather than inside a measured phase.
async fn warm_regions(addr: SocketAddr) {
    for region in emulator::sigv4::AWS_REGIONS {
        let Ok(stream) = TcpStream::connect(addr).await else {
            return;
        };
        let Ok((mut sender, conn)) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await else {
            return;
        };
        tokio::spawn(conn);
        let signer = Signer::new(ALICE.0, ALICE.1, region, "personalize");
        let mut headers = HeaderMap::new();
        headers.insert("host", addr.to_string().parse().expect("host"));
        headers.insert(
            "x-amz-target",
            http::HeaderValue::from_static("AmazonPersonalize.ListDatasetGroups"),
        );
        headers.insert(
            "content-type",
            http::HeaderValue::from_static("application/x-amz-json-1.1"),
        );
        let uri: http::Uri = "/".parse().expect("uri");
        signer.sign(
            &Method::POST,
            &uri,
            &mut headers,
            b"{}",
            time::OffsetDateTime::now_utc(),
        );
        let mut req = http::Request::new(Full::new(Bytes::from_static(b"{}")));
        *req.method_mut() = Method::POST;
        *req.uri_mut() = uri;
        *req.headers_mut() = headers;
        let _ = sender.send_request(req).await;
    }
    admin(addr, "/_emulator/flush").await;
}

/// `POST /_emulator/reset`: forget Personalize state (log files stay).
async fn reset(addr: SocketAddr) {
    admin(addr, "/_emulator/reset").await;
}

async fn admin(addr: SocketAddr, path: &str) {
    let Ok(stream) = TcpStream::connect(addr).await else {
        return;
    };
    let Ok((mut sender, conn)) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await else {
        return;
    };
    tokio::spawn(conn);
    let req = http::Request::post(path)
        .header("host", addr.to_string())
        .body(Full::new(Bytes::new()))
        .expect("request");
    let _ = sender.send_request(req).await;
}

struct Stats {
    requests: u64,
    errors: u64,
    elapsed: Duration,
    latencies_us: Vec<u32>,
}

impl Stats {
    fn percentile(&self, p: f64) -> f64 {
        if self.latencies_us.is_empty() {
            return f64::NAN;
        }
        let idx = ((self.latencies_us.len() as f64 - 1.0) * p).round() as usize;
        f64::from(self.latencies_us[idx.min(self.latencies_us.len() - 1)]) / 1000.0
    }
    fn rps(&self) -> f64 {
        self.requests as f64 / self.elapsed.as_secs_f64()
    }
}

/// Runs `connections` keep-alive connections for `secs`. With `rate`, each connection sends on a
/// fixed schedule (open loop); without, as fast as responses come back (closed loop).
async fn drive(addr: SocketAddr, op: Op, connections: usize, secs: u64, rate: Option<u64>) -> Stats {
    // Every phase names its schemas apart, so no CreateSchema collides with an earlier one.
    static PHASE: AtomicU64 = AtomicU64::new(0);
    let phase = PHASE.fetch_add(1, Ordering::Relaxed);
    let errors = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + Duration::from_secs(secs);
    let start = Instant::now();
    let mut tasks = Vec::new();
    for conn in 0..connections {
        let errors = errors.clone();
        tasks.push(tokio::spawn(async move {
            let stream = TcpStream::connect(addr).await.expect("connect");
            let _ = stream.set_nodelay(true);
            let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
                .await
                .expect("handshake");
            tokio::spawn(connection);
            let mut latencies = Vec::with_capacity(1 << 16);
            let mut ticker = rate.map(|r| {
                let period = Duration::from_secs_f64(connections as f64 / r as f64);
                // Spread the connections' schedules over one period.
                let offset = period.mul_f64(conn as f64 / connections as f64);
                tokio::time::interval_at(tokio::time::Instant::now() + offset, period)
            });
            let mut i = 0u64;
            while Instant::now() < deadline {
                if let Some(t) = ticker.as_mut() {
                    t.tick().await;
                }
                let req = request(addr, op, phase, conn, i);
                i += 1;
                let sent = Instant::now();
                match sender.send_request(req).await {
                    Ok(resp) => {
                        let ok = resp.status().is_success();
                        let _ = resp.into_body().collect().await;
                        if !ok {
                            errors.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                    Err(_) => {
                        errors.fetch_add(1, Ordering::Relaxed);
                        break;
                    }
                }
                latencies.push(u32::try_from(sent.elapsed().as_micros()).unwrap_or(u32::MAX));
            }
            latencies
        }));
    }
    let mut latencies_us = Vec::new();
    for t in tasks {
        latencies_us.extend(t.await.expect("client task"));
    }
    let elapsed = start.elapsed();
    latencies_us.sort_unstable();
    Stats {
        requests: latencies_us.len() as u64,
        errors: errors.load(Ordering::Relaxed),
        elapsed,
        latencies_us,
    }
}

fn print_row(label: &str, target: &str, s: &Stats) {
    println!(
        "{label:<34} {target:<10} {:>10.0} req/s  p50 {:>7.3} ms  p99 {:>7.3} ms  ({} requests, {} errors)",
        s.rps(),
        s.percentile(0.50),
        s.percentile(0.99),
        s.requests,
        s.errors
    );
}

struct Children(Vec<Child>);

impl Drop for Children {
    fn drop(&mut self) {
        for c in &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--baseline-server") {
        let port = args
            .get(i + 1)
            .and_then(|p| p.parse().ok())
            .expect("--baseline-server PORT");
        serve_baseline(port);
        return;
    }
    let o = options();
    let data_dir = tempfile::tempdir().expect("tempdir");
    let (base_port, emu_port) = (free_port(), free_port());
    let baseline = Command::new(std::env::current_exe().expect("current exe"))
        .args(["--baseline-server", &base_port.to_string()])
        .spawn()
        .expect("spawn baseline");
    let emulator = Command::new(env!("CARGO_BIN_EXE_emulator"))
        .args(["--bind", &format!("127.0.0.1:{emu_port}")])
        .arg("--data-dir")
        .arg(data_dir.path())
        .args(["--flush-interval", "1s"])
        .env("EMULATOR_LOG", "warn")
        .stdout(Stdio::null())
        .spawn()
        .expect("spawn emulator");
    let emulator_pid = emulator.id();
    println!("emulator pid {emulator_pid}, baseline pid {}", baseline.id());
    let _children = Children(vec![baseline, emulator]);
    let base = Target {
        name: "baseline",
        addr: SocketAddr::from(([127, 0, 0, 1], base_port)),
    };
    let emu = Target {
        name: "emulator",
        addr: SocketAddr::from(([127, 0, 0, 1], emu_port)),
    };
    wait_ready(base.addr);
    wait_ready(emu.addr);

    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        println!(
            "load benchmark: {} connections closed loop for {} s per phase; open loop at {} req/s; long run {} s",
            o.connections, o.phase_secs, o.rate, o.duration
        );
        let open_conns = 64;
        let mut ratios = Vec::new();
        let b = drive(base.addr, Op::ListDatasetGroups, o.connections, o.phase_secs, None).await;
        let e = drive(emu.addr, Op::ListDatasetGroups, o.connections, o.phase_secs, None).await;
        print_row("closed loop ListDatasetGroups", base.name, &b);
        print_row("closed loop ListDatasetGroups", emu.name, &e);
        ratios.push((Op::ListDatasetGroups, e.rps() / b.rps()));

        let b = drive(base.addr, Op::ListDatasetGroups, open_conns, o.phase_secs, Some(o.rate)).await;
        print_row(&format!("open loop {} req/s ListDatasetGroups", o.rate), base.name, &b);
        let e = drive(emu.addr, Op::ListDatasetGroups, open_conns, o.duration, Some(o.rate)).await;
        print_row(&format!("open loop {} req/s ListDatasetGroups", o.rate), emu.name, &e);
        println!(
            "p99 at {} req/s over {} s: {:.3} ms (target < 2 ms)",
            o.rate,
            o.duration,
            e.percentile(0.99)
        );
        let (rss, peak) = rss_kib(emulator_pid);
        println!(
            "emulator resident memory after the {} s run: {:.1} MiB (peak {:.1} MiB; target < 100 MB)",
            o.duration,
            rss as f64 / 1024.0,
            peak as f64 / 1024.0
        );

        let b = drive(base.addr, Op::CreateSchema, o.connections, o.phase_secs, None).await;
        warm_regions(emu.addr).await;
        reset(emu.addr).await;
        let e = drive(emu.addr, Op::CreateSchema, o.connections, o.phase_secs, None).await;
        print_row("closed loop CreateSchema", base.name, &b);
        print_row("closed loop CreateSchema", emu.name, &e);
        ratios.push((Op::CreateSchema, e.rps() / b.rps()));
        reset(emu.addr).await;
        let e = drive(emu.addr, Op::CreateSchema, open_conns, o.phase_secs, Some(o.rate)).await;
        print_row(&format!("open loop {} req/s CreateSchema", o.rate), emu.name, &e);
        println!(
            "(CreateSchema errors are LimitExceededException once a (account, Region) holds 500 schemas; \
             they are recorded and delivered like successes)"
        );
        for (op, r) in &ratios {
            println!("throughput ratio emulator/baseline {op:?}: {r:.2} (target >= 0.50)");
        }
    });
    let files = walk_count(data_dir.path());
    println!("log files delivered during the run: {files}");
}

fn walk_count(dir: &std::path::Path) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| {
            let p = e.path();
            if p.is_dir() {
                walk_count(&p)
            } else {
                usize::from(p.to_string_lossy().ends_with(".json.gz"))
            }
        })
        .sum()
}
