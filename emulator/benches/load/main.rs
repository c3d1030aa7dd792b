//! Load benchmark: signed `ListDatasetGroups` and `CreateSchema` against the real emulator (with
//! recording and delivery on, 1 s flushes) beside a minimal hyper server answering a fixed body,
//! both run as child processes in the same run.
//!
//! Prints closed-loop requests/s with p50/p99, open-loop p50/p99 at a fixed rate (default
//! 10,000 requests/s) over a long run, the emulator's resident memory after it, and for that run
//! a tail attribution: the emulator's threads are sampled every 20 ms (on-CPU and run-queue
//! time from `/proc/<pid>/task/*/schedstat`), so the p99 of requests sent while delivery threads
//! were working can be set beside the p99 of the rest.
//!
//! Closed-loop throughput alternates baseline and emulator slices (ABBA order) within each
//! phase, so both see the same drift in the shared machine's load.
//!
//! `CreateSchema` is measured on successful creates: Personalize allows 500 schemas per
//! (account, Region) (the documented quota), so the emulator runs with a generated identity file
//! that gives every connection its own account, and each connection moves to the next Region
//! after 500 creates. The run prints the fraction that succeeded.
//!
//! `cargo bench -p emulator --bench load -- [--duration 60] [--phase-secs 10] [--rate 10000]
//! [--connections 32] [--timeline FILE] [--only create-schema]` (`--timeline` writes the long
//! run's 20 ms windows as CSV; `--only create-schema` skips the ListDatasetGroups phases, for
//! profiling; `EMULATOR_BIN` runs another build of the emulator instead of this one's).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use emulator::sigv4::{AWS_REGIONS, Signer};
use http::{HeaderMap, Method};
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

#[path = "../common/mod.rs"]
mod common;
mod tail;

use common::*;
use tail::{Sampler, attribute_tail};

/// Calls the emulator answered (measured phases and Region warm-up), to check every one was
/// delivered.
static EMULATOR_CALLS: AtomicU64 = AtomicU64::new(0);
/// Width of a timeline window.
const WINDOW: Duration = Duration::from_millis(20);

#[derive(Debug, Clone)]
struct Options {
    duration: u64,
    phase_secs: u64,
    rate: u64,
    connections: usize,
    timeline: Option<String>,
    /// Runs only the CreateSchema phases (for profiling the emulator under that load).
    only_create_schema: bool,
}

fn options() -> Options {
    Options {
        duration: arg_or("--duration", 60),
        phase_secs: arg_or("--phase-secs", 10),
        rate: arg_or("--rate", 10_000),
        connections: arg_or("--connections", 32),
        timeline: arg("--timeline"),
        only_create_schema: arg("--only").as_deref() == Some("create-schema"),
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Op {
    ListDatasetGroups,
    CreateSchema,
}

struct Target {
    name: &'static str,
    addr: SocketAddr,
    pid: u32,
}

fn request(addr: SocketAddr, op: Op, phase: u64, conn: usize, i: u64) -> http::Request<Full<Bytes>> {
    let ((key, secret), target, body, region) = match op {
        Op::ListDatasetGroups => (
            bench_key(0),
            "AmazonPersonalize.ListDatasetGroups",
            "{}".to_owned(),
            "us-east-1",
        ),
        Op::CreateSchema => {
            // Each connection has an account of its own and fills one Region (500 schemas, the
            // quota) before moving to the next, so every create can succeed.
            let block = usize::try_from(i / SCHEMAS_PER_REGION).unwrap_or(0);
            let region = AWS_REGIONS[(conn + block) % AWS_REGIONS.len()];
            let body = format!(r#"{{"name":"bench-{phase}-{conn}-{i}","schema":"{SCHEMA}"}}"#);
            (
                bench_key(conn % BENCH_ACCOUNTS),
                "AmazonPersonalize.CreateSchema",
                body,
                region,
            )
        }
    };
    let key = (key.as_str(), secret.as_str());
    let headers = signed_headers(
        addr,
        (key, region),
        ("/", Some(target)),
        &body,
        "emulator-load-bench/1.0",
    );
    let uri: http::Uri = "/".parse().expect("uri");
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
    for region in AWS_REGIONS {
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
        if sender.send_request(req).await.is_ok() {
            EMULATOR_CALLS.fetch_add(1, Ordering::Relaxed);
        }
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
    /// Answers with a 2xx status.
    ok: u64,
    /// Error answers by `X-Amzn-ErrorType` (transport failures as `transport`).
    errors: BTreeMap<String, u64>,
    elapsed: Duration,
    latencies_us: Vec<u32>,
    /// (microseconds from the phase start to the send, latency in microseconds), send order.
    samples: Vec<(u32, u32)>,
    /// CPU time while this side's slices ran (closed loop only): the whole machine's, to tell a
    /// server short of CPU from one that leaves the machine idle while it waits, and the
    /// client's and the server's, to show what one request costs each.
    cpu: Cpu,
}

/// Cumulative CPU time, in nanoseconds.
#[derive(Clone, Copy, Default)]
struct Cpu {
    machine: u64,
    client: u64,
    server: u64,
}

impl Cpu {
    fn now(server_pid: u32) -> Cpu {
        Cpu {
            machine: machine_busy_ns(),
            client: process_cpu_ns("self"),
            server: process_cpu_ns(&server_pid.to_string()),
        }
    }

    fn since(self, start: Cpu) -> Cpu {
        Cpu {
            machine: self.machine.saturating_sub(start.machine),
            client: self.client.saturating_sub(start.client),
            server: self.server.saturating_sub(start.server),
        }
    }

    fn add(&mut self, other: Cpu) {
        self.machine += other.machine;
        self.client += other.client;
        self.server += other.server;
    }
}

fn percentile(sorted: &[u32], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    f64::from(sorted[idx.min(sorted.len() - 1)]) / 1000.0
}

impl Stats {
    fn percentile(&self, p: f64) -> f64 {
        percentile(&self.latencies_us, p)
    }
    fn rps(&self) -> f64 {
        self.requests as f64 / self.elapsed.as_secs_f64()
    }
    fn ok_rps(&self) -> f64 {
        self.ok as f64 / self.elapsed.as_secs_f64()
    }
    fn error_count(&self) -> u64 {
        self.errors.values().sum()
    }
}

/// Runs `connections` keep-alive connections for `secs`. With `rate`, each connection sends on a
/// fixed schedule (open loop); without, as fast as responses come back (closed loop).
async fn drive(addr: SocketAddr, op: Op, connections: usize, secs: u64, rate: Option<u64>) -> Stats {
    drive_for(addr, op, connections, Duration::from_secs(secs), rate).await
}

/// [`drive`] for any length of time.
async fn drive_for(
    addr: SocketAddr,
    op: Op,
    connections: usize,
    length: Duration,
    rate: Option<u64>,
) -> Stats {
    // Every phase names its schemas apart, so no CreateSchema collides with an earlier one.
    static PHASE: AtomicU64 = AtomicU64::new(0);
    let phase = PHASE.fetch_add(1, Ordering::Relaxed);
    let deadline = Instant::now() + length;
    let start = Instant::now();
    let mut tasks = Vec::new();
    for conn in 0..connections {
        tasks.push(tokio::spawn(async move {
            let stream = TcpStream::connect(addr).await.expect("connect");
            let _ = stream.set_nodelay(true);
            let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
                .await
                .expect("handshake");
            tokio::spawn(connection);
            let mut samples = Vec::with_capacity(1 << 16);
            let mut ok = 0u64;
            let mut errors: BTreeMap<String, u64> = BTreeMap::new();
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
                        if resp.status().is_success() {
                            ok += 1;
                        } else {
                            let code = resp
                                .headers()
                                .get("x-amzn-errortype")
                                .and_then(|v| v.to_str().ok())
                                .unwrap_or("unknown")
                                .to_owned();
                            *errors.entry(code).or_default() += 1;
                        }
                        let _ = resp.into_body().collect().await;
                    }
                    Err(_) => {
                        *errors.entry("transport".to_owned()).or_default() += 1;
                        break;
                    }
                }
                let at = u32::try_from(sent.duration_since(start).as_micros()).unwrap_or(u32::MAX);
                samples.push((at, u32::try_from(sent.elapsed().as_micros()).unwrap_or(u32::MAX)));
            }
            (samples, ok, errors)
        }));
    }
    let mut samples = Vec::new();
    let mut ok = 0;
    let mut errors: BTreeMap<String, u64> = BTreeMap::new();
    for t in tasks {
        let (s, o, e) = t.await.expect("client task");
        samples.extend(s);
        ok += o;
        for (k, v) in e {
            *errors.entry(k).or_default() += v;
        }
    }
    let elapsed = start.elapsed();
    samples.sort_unstable();
    let mut latencies_us: Vec<u32> = samples.iter().map(|s| s.1).collect();
    latencies_us.sort_unstable();
    Stats {
        requests: latencies_us.len() as u64,
        ok,
        errors,
        elapsed,
        latencies_us,
        samples,
        cpu: Cpu::default(),
    }
}

impl Stats {
    /// Adds another slice of the same measurement (its samples keep their own time base).
    fn absorb(&mut self, other: Stats) {
        self.requests += other.requests;
        self.ok += other.ok;
        for (k, v) in other.errors {
            *self.errors.entry(k).or_default() += v;
        }
        self.elapsed += other.elapsed;
        self.latencies_us.extend(other.latencies_us);
        self.latencies_us.sort_unstable();
        self.samples.extend(other.samples);
        self.cpu.add(other.cpu);
    }
}

/// Closed-loop throughput of both servers, in alternating slices (baseline, emulator, emulator,
/// baseline, ...) that add up to `secs` each. The machine is shared, so its load drifts; slices
/// interleaved this way see the same drift on both sides, where two back-to-back phases did
/// not (a baseline phase alone varied from 47,000 to 83,000 requests/s between runs).
/// `before_emulator` runs before each emulator slice, outside the measured time.
async fn compare<F, Fut>(
    base: &Target,
    emu: &Target,
    op: Op,
    connections: usize,
    secs: u64,
    before_emulator: F,
) -> (Stats, Stats)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let slices = (secs / 2).max(1) * 2;
    let slice = Duration::from_secs(secs).div_f64(slices as f64);
    let mut b: Option<Stats> = None;
    let mut e: Option<Stats> = None;
    for i in 0..slices {
        // ABBA order: neither side always goes first.
        let emulator_turn = matches!(i % 4, 1 | 2);
        if emulator_turn {
            before_emulator().await;
            let cpu = Cpu::now(emu.pid);
            let mut s = drive_for(emu.addr, op, connections, slice, None).await;
            s.cpu = Cpu::now(emu.pid).since(cpu);
            EMULATOR_CALLS.fetch_add(s.requests, Ordering::Relaxed);
            match e.as_mut() {
                Some(acc) => acc.absorb(s),
                None => e = Some(s),
            }
        } else {
            let cpu = Cpu::now(base.pid);
            let mut s = drive_for(base.addr, op, connections, slice, None).await;
            s.cpu = Cpu::now(base.pid).since(cpu);
            match b.as_mut() {
                Some(acc) => acc.absorb(s),
                None => b = Some(s),
            }
        }
    }
    (b.expect("a baseline slice"), e.expect("an emulator slice"))
}

fn print_row(label: &str, target: &str, s: &Stats) {
    let errors = if s.errors.is_empty() {
        "0 errors".to_owned()
    } else {
        let by: Vec<String> = s.errors.iter().map(|(k, v)| format!("{k} {v}")).collect();
        format!("errors: {}", by.join(", "))
    };
    let busy = if s.cpu.machine > 0 {
        let per_request = |ns: u64| ns as f64 / 1000.0 / s.requests.max(1) as f64;
        format!(
            "; machine busy {:.0}% of {} cores; CPU per request: server {:.1} us, client {:.1} us",
            100.0 * s.cpu.machine as f64 / (s.elapsed.as_nanos() as f64 * cores() as f64),
            cores(),
            per_request(s.cpu.server),
            per_request(s.cpu.client),
        )
    } else {
        String::new()
    };
    println!(
        "{label:<40} {target:<9} {:>7.0} req/s  p50 {:>6.3} ms  p99 {:>6.3} ms  ({} requests, {errors}{busy})",
        s.rps(),
        s.percentile(0.50),
        s.percentile(0.99),
        s.requests,
    );
}

fn met(ok: bool) -> &'static str {
    if ok { "MET" } else { "NOT MET" }
}

fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

fn main() {
    if run_as_baseline() {
        return;
    }
    let o = options();
    let data_dir = tempfile::tempdir().expect("tempdir");
    let servers = start_servers(data_dir.path(), &[]);
    println!(
        "emulator pid {}, baseline pid {}",
        servers.emu_pid, servers.base_pid
    );
    let base = Target {
        name: "baseline",
        addr: servers.base,
        pid: servers.base_pid,
    };
    let emu = Target {
        name: "emulator",
        addr: servers.emu,
        pid: servers.emu_pid,
    };

    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let mut verdicts: Vec<String> = Vec::new();
    rt.block_on(async {
        println!(
            "load benchmark: {} connections closed loop for {} s per phase; open loop at {} req/s; long run {} s",
            o.connections, o.phase_secs, o.rate, o.duration
        );
        let open_conns = 64;
        if !o.only_create_schema {
            let (b, e) = compare(
                &base,
                &emu,
                Op::ListDatasetGroups,
                o.connections,
                o.phase_secs,
                || async {},
            )
            .await;
            print_row("closed loop ListDatasetGroups", base.name, &b);
            print_row("closed loop ListDatasetGroups", emu.name, &e);
            let ratio = e.ok_rps() / b.rps();
            verdicts.push(format!(
                "ListDatasetGroups throughput: emulator {:.0}/s vs baseline {:.0}/s = {ratio:.2} (target >= 0.50): {}",
                e.ok_rps(),
                b.rps(),
                met(ratio >= 0.5)
            ));

            let b = drive(base.addr, Op::ListDatasetGroups, open_conns, o.phase_secs, Some(o.rate)).await;
            print_row(&format!("open loop {} req/s ListDatasetGroups", o.rate), base.name, &b);
            let sampler = Sampler::start(servers.emu_pid, Instant::now());
            let e = drive(emu.addr, Op::ListDatasetGroups, open_conns, o.duration, Some(o.rate)).await;
            EMULATOR_CALLS.fetch_add(e.requests, Ordering::Relaxed);
            let samples = sampler.finish();
            print_row(&format!("open loop {} req/s ListDatasetGroups", o.rate), emu.name, &e);
            attribute_tail(&e, &samples, o.timeline.as_deref());
            let p99 = e.percentile(0.99);
            verdicts.push(format!(
                "p99 at {} req/s over {} s: {p99:.3} ms (baseline {:.3} ms; target < 2 ms): {}",
                o.rate,
                o.duration,
                b.percentile(0.99),
                met(p99 < 2.0 && e.error_count() == 0)
            ));
            let (rss, peak) = rss_kib(servers.emu_pid);
            verdicts.push(format!(
                "emulator resident memory after the {} s run: {:.1} MiB (peak {:.1} MiB; target < 64 MB = 61.0 MiB): {}",
                o.duration,
                rss as f64 / 1024.0,
                peak as f64 / 1024.0,
                met((rss as f64) * 1024.0 < 64e6)
            ));

        }
        warm_regions(emu.addr).await;
        // Each emulator slice starts from empty Personalize state (log files stay), so its
        // connections fill the same Regions again without meeting the schema quota.
        let (b, e) = compare(
            &base,
            &emu,
            Op::CreateSchema,
            o.connections,
            o.phase_secs,
            || reset(emu.addr),
        )
        .await;
        print_row("closed loop CreateSchema", base.name, &b);
        print_row("closed loop CreateSchema", emu.name, &e);
        let ratio = e.ok_rps() / b.rps();
        verdicts.push(format!(
            "CreateSchema throughput (successful creates): emulator {:.0}/s vs baseline {:.0}/s = {ratio:.2} \
             (target >= 0.50; {:.1}% of calls succeeded): {}",
            e.ok_rps(),
            b.rps(),
            100.0 * e.ok as f64 / e.requests.max(1) as f64,
            met(ratio >= 0.5)
        ));
        reset(emu.addr).await;
        let e = drive(emu.addr, Op::CreateSchema, open_conns, o.phase_secs, Some(o.rate)).await;
        EMULATOR_CALLS.fetch_add(e.requests, Ordering::Relaxed);
        print_row(&format!("open loop {} req/s CreateSchema", o.rate), emu.name, &e);
        println!(
            "  ({:.1}% of the open-loop creates succeeded)",
            100.0 * e.ok as f64 / e.requests.max(1) as f64
        );
        admin(emu.addr, "/_emulator/flush").await;
    });
    let (files, records) = delivered(data_dir.path());
    println!(
        "delivered: {records} records in {files} log files for {} calls the emulator answered{}",
        EMULATOR_CALLS.load(Ordering::Relaxed),
        if records as u64 >= EMULATOR_CALLS.load(Ordering::Relaxed) {
            ""
        } else {
            " (RECORDS MISSING)"
        }
    );
    println!("summary (load average: {}):", load_average());
    for v in &verdicts {
        println!("  {v}");
    }
}

/// (log files, records in them) under `dir`, digest files left out.
fn delivered(dir: &std::path::Path) -> (usize, usize) {
    let logs = cloudtrail::logfile::log_files_under(dir);
    let records = logs.iter().map(|p| cloudtrail::logfile::records_in(p)).sum();
    (logs.len(), records)
}
