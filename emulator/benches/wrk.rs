//! Load benchmark with an external client: `wrk` (one thread, pre-signed requests, so its own
//! cost is small and the same for both sides) drives the emulator (recording, Event history,
//! digests and 1 s flushes on) and a minimal hyper server answering a fixed body, in
//! alternating slices (baseline, emulator, emulator, baseline, ...) so both see the same drift
//! in the shared machine's load.
//!
//! For `ListDatasetGroups`, `CreateSchema` (every request a new schema, spread over accounts and
//! Regions within the 500-per-Region quota) and Personalize Events `PutEvents` (a data event with
//! a body, to an event tracker made before the clock starts) it prints each side's requests/s
//! and CPU per request (the server's from `/proc/<pid>/stat`, wrk's, and the machine's busy
//! time), the throughput ratio and the CPU ratio, against the targets (ratio of throughput at
//! least 0.55, CPU per call at most 2.0x the baseline's), then the emulator's resident memory.
//!
//! `cargo bench -p emulator --bench wrk -- [--secs 5] [--slices 4] [--connections 32]
//! [--only list|create-schema|put-events]`. `wrk` is installed from Debian's packages when
//! missing and the bench runs as root; otherwise it says how. `EMULATOR_BIN` runs another build.

use std::fmt::Write as _;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use emulator::sigv4::AWS_REGIONS;

mod common;
use common::*;

struct Opts {
    secs: u64,
    slices: usize,
    connections: usize,
    only: Option<String>,
}

fn opts() -> Opts {
    Opts {
        secs: arg_or("--secs", 5),
        slices: arg_or("--slices", 4),
        connections: arg_or("--connections", 32),
        only: arg("--only"),
    }
}

/// `wrk`, installed from Debian's packages if missing and allowed.
fn ensure_wrk() -> Result<(), String> {
    let present = || {
        Command::new("wrk")
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok()
    };
    if present() {
        return Ok(());
    }
    let root = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .map(|l| l.split_whitespace().nth(1) == Some("0"))
        })
        .unwrap_or(false);
    if root {
        eprintln!("wrk is missing: installing it with apt-get");
        let _ = Command::new("apt-get").args(["install", "-y", "wrk"]).status();
    }
    if present() {
        Ok(())
    } else {
        Err("wrk is not installed: run `sudo apt-get install wrk` (Debian's package) and try again".into())
    }
}

/// A signed request as raw HTTP/1.1 text.
fn raw_request(
    addr: SocketAddr,
    key: (&str, &str),
    region: &str,
    path: &str,
    target: Option<&str>,
    body: &str,
) -> String {
    let headers = signed_headers(
        addr,
        (key, region),
        (path, target),
        body,
        "emulator-wrk-bench/1.0",
    );
    let mut out = format!("POST {path} HTTP/1.1\r\n");
    for (k, v) in &headers {
        let _ = write!(out, "{}: {}\r\n", k, v.to_str().unwrap_or_default());
    }
    let _ = write!(out, "content-length: {}\r\n\r\n{body}", body.len());
    out
}

/// Sends one raw request on a new connection; the status and body.
fn send(addr: SocketAddr, raw: &str) -> (u16, String) {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.write_all(raw.as_bytes()).expect("send");
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    loop {
        let n = s.read(&mut chunk).unwrap_or(0);
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
        let text = String::from_utf8_lossy(&buf);
        if let Some(end) = text.find("\r\n\r\n") {
            let len = text[..end]
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("content-length:")
                        .map(|v| v.trim().parse::<usize>().unwrap_or(0))
                })
                .unwrap_or(0);
            if buf.len() >= end + 4 + len {
                let status = text.get(9..12).and_then(|c| c.parse().ok()).unwrap_or(0);
                return (status, text[end + 4..end + 4 + len].to_owned());
            }
        }
    }
    (0, String::new())
}

/// A Lua string literal of `s`.
fn lua_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 16);
    out.push('"');
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\r' => out.push_str("\\r"),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A wrk script sending `requests` round-robin.
fn script(requests: &[String]) -> String {
    let mut s = String::from("local reqs = {\n");
    for r in requests {
        s.push_str(&lua_string(r));
        s.push_str(",\n");
    }
    s.push_str("}\nlocal i = 0\nrequest = function()\n  i = i + 1\n  if i > #reqs then i = 1 end\n  return reqs[i]\nend\n");
    s
}

/// What one wrk slice did.
#[derive(Default, Clone, Copy)]
struct Slice {
    requests: u64,
    non_2xx: u64,
    secs: f64,
    server_ns: u64,
    client_ns: u64,
    machine_ns: u64,
}

impl Slice {
    fn add(&mut self, o: Slice) {
        self.requests += o.requests;
        self.non_2xx += o.non_2xx;
        self.secs += o.secs;
        self.server_ns += o.server_ns;
        self.client_ns += o.client_ns;
        self.machine_ns += o.machine_ns;
    }

    fn rps(&self) -> f64 {
        self.requests as f64 / self.secs.max(1e-9)
    }

    fn per_request_us(&self, ns: u64) -> f64 {
        ns as f64 / 1000.0 / self.requests.max(1) as f64
    }
}

/// Runs wrk against `addr` for `secs` with `script`, measuring `server_pid`'s CPU.
fn run_wrk(
    addr: SocketAddr,
    script_path: &std::path::Path,
    connections: usize,
    secs: u64,
    server_pid: u32,
) -> Slice {
    let server0 = process_cpu_ns(&server_pid.to_string());
    let machine0 = machine_busy_ns();
    let t0 = Instant::now();
    let child = Command::new("wrk")
        .args([
            "-t1",
            &format!("-c{connections}"),
            &format!("-d{secs}s"),
            "--timeout",
            "10s",
        ])
        .arg("-s")
        .arg(script_path)
        .arg(format!("http://{addr}/"))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn wrk");
    // wrk's own CPU, read until it exits (10 ms resolution).
    let pid = child.id().to_string();
    let watcher = std::thread::spawn(move || {
        let mut last = 0;
        loop {
            let ns = process_cpu_ns(&pid);
            if ns == 0 && last > 0 {
                return last;
            }
            if std::fs::metadata(format!("/proc/{pid}/stat")).is_err() {
                return last;
            }
            last = last.max(ns);
            std::thread::sleep(Duration::from_millis(20));
        }
    });
    let out = child.wait_with_output().expect("wrk output");
    let secs_run = t0.elapsed().as_secs_f64();
    let client_ns = watcher.join().unwrap_or(0);
    let text = String::from_utf8_lossy(&out.stdout);
    let number_before = |marker: &str| {
        text.lines()
            .find(|l| l.contains(marker))
            .and_then(|l| l.split_whitespace().find_map(|w| w.parse::<u64>().ok()))
            .unwrap_or(0)
    };
    let requests = number_before(" requests in ");
    let non_2xx = text
        .lines()
        .find(|l| l.contains("Non-2xx"))
        .and_then(|l| l.rsplit(':').next())
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    let _ = secs_run;
    Slice {
        requests,
        non_2xx,
        secs: secs as f64,
        server_ns: process_cpu_ns(&server_pid.to_string()).saturating_sub(server0),
        client_ns,
        machine_ns: machine_busy_ns().saturating_sub(machine0),
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Op {
    List,
    CreateSchema,
    PutEvents,
}

impl Op {
    fn name(self) -> &'static str {
        match self {
            Op::List => "ListDatasetGroups",
            Op::CreateSchema => "CreateSchema",
            Op::PutEvents => "PutEvents",
        }
    }
}

/// Makes a dataset group, an Interactions schema and dataset, and an event tracker; the
/// tracker's tracking id once it is ACTIVE.
fn event_tracker(addr: SocketAddr) -> String {
    let call = |target: &str, body: &str| {
        send(
            addr,
            &raw_request(
                addr,
                ALICE,
                "us-east-1",
                "/",
                Some(&format!("AmazonPersonalize.{target}")),
                body,
            ),
        )
    };
    let (_, dsg) = call("CreateDatasetGroup", r#"{"name":"wrk-bench"}"#);
    let dsg: serde_json::Value = serde_json::from_str(&dsg).unwrap_or_default();
    let dsg = dsg["datasetGroupArn"]
        .as_str()
        .unwrap_or("arn:aws:personalize:us-east-1:123456789012:dataset-group/wrk-bench")
        .to_owned();
    for _ in 0..600 {
        let (_, d) = call(
            "DescribeDatasetGroup",
            &format!(r#"{{"datasetGroupArn":"{dsg}"}}"#),
        );
        if d.contains("\"ACTIVE\"") {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let (_, schema) = call(
        "CreateSchema",
        &format!(r#"{{"name":"wrk-interactions","schema":"{SCHEMA}"}}"#),
    );
    let schema: serde_json::Value = serde_json::from_str(&schema).unwrap_or_default();
    let schema = schema["schemaArn"].as_str().unwrap_or_default().to_owned();
    let (_, dataset) = call(
        "CreateDataset",
        &format!(
            r#"{{"name":"wrk-interactions","datasetType":"Interactions","datasetGroupArn":"{dsg}","schemaArn":"{schema}"}}"#
        ),
    );
    let dataset: serde_json::Value = serde_json::from_str(&dataset).unwrap_or_default();
    let dataset = dataset["datasetArn"].as_str().unwrap_or_default().to_owned();
    for _ in 0..600 {
        let (_, d) = call("DescribeDataset", &format!(r#"{{"datasetArn":"{dataset}"}}"#));
        if d.contains("\"ACTIVE\"") {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let (_, tracker) = call(
        "CreateEventTracker",
        &format!(r#"{{"name":"wrk-tracker","datasetGroupArn":"{dsg}"}}"#),
    );
    let tracker: serde_json::Value = serde_json::from_str(&tracker).unwrap_or_default();
    let arn = tracker["eventTrackerArn"].as_str().unwrap_or_default().to_owned();
    let id = tracker["trackingId"].as_str().unwrap_or_default().to_owned();
    for _ in 0..600 {
        let (_, d) = call(
            "DescribeEventTracker",
            &format!(r#"{{"eventTrackerArn":"{arn}"}}"#),
        );
        if d.contains("\"ACTIVE\"") {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    id
}

/// The requests of one slice of `op` against `addr`; `slice` makes CreateSchema's names new.
fn requests(op: Op, addr: SocketAddr, slice: usize, pool: usize, tracking_id: &str) -> Vec<String> {
    match op {
        Op::List => vec![raw_request(
            addr,
            ALICE,
            "us-east-1",
            "/",
            Some("AmazonPersonalize.ListDatasetGroups"),
            "{}",
        )],
        Op::PutEvents => {
            let now = time::OffsetDateTime::now_utc().unix_timestamp();
            (0..64)
                .map(|i| {
                    let body = format!(
                        r#"{{"trackingId":"{tracking_id}","userId":"user-{i}","sessionId":"session-{i}","eventList":[{{"eventType":"click","itemId":"item-{i}","sentAt":{now}}}]}}"#
                    );
                    raw_request(addr, ALICE, "us-east-1", "/events", None, &body)
                })
                .collect()
        }
        Op::CreateSchema => (0..pool)
            .map(|i| {
                // (account, Region) after (account, Region), 450 schemas in each (the quota is
                // 500), as a few busy accounts would: each slice starts on pairs of its own.
                let pair = ((slice * pool + i) / 450) % (BENCH_ACCOUNTS * AWS_REGIONS.len());
                let (account, region) = (pair % BENCH_ACCOUNTS, AWS_REGIONS[pair / BENCH_ACCOUNTS]);
                let (key, secret) = bench_key(account);
                let body = format!(r#"{{"name":"wrk-{slice}-{i}","schema":"{SCHEMA}"}}"#);
                raw_request(
                    addr,
                    (&key, &secret),
                    region,
                    "/",
                    Some("AmazonPersonalize.CreateSchema"),
                    &body,
                )
            })
            .collect(),
    }
}

fn main() {
    if run_as_baseline() {
        return;
    }
    let o = opts();
    if let Err(e) = ensure_wrk() {
        eprintln!("{e}");
        std::process::exit(1);
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let servers = start_servers(dir.path(), &["--no-tls"]);
    let (base, base_pid, emu, emu_pid) = (servers.base, servers.base_pid, servers.emu, servers.emu_pid);
    println!(
        "wrk benchmark: wrk -t1 -c{} over {} slices of {} s per side (ABBA), {} cores; emulator pid {emu_pid}, baseline pid {base_pid}",
        o.connections,
        o.slices,
        o.secs,
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    let ops: Vec<Op> = [Op::List, Op::CreateSchema, Op::PutEvents]
        .into_iter()
        .filter(|op| {
            o.only.as_deref().is_none_or(|only| match only {
                "list" => *op == Op::List,
                "create-schema" => *op == Op::CreateSchema,
                "put-events" => *op == Op::PutEvents,
                _ => true,
            })
        })
        .collect();
    // One call in every (account, Region) and a flush: a Region's first log file makes its
    // signing key (RSA-2048) and its folders, a one-time cost paid here, not in a slice.
    for pair in 0..BENCH_ACCOUNTS * AWS_REGIONS.len() {
        let (account, region) = (pair % BENCH_ACCOUNTS, AWS_REGIONS[pair / BENCH_ACCOUNTS]);
        let (key, secret) = bench_key(account);
        send(
            emu,
            &raw_request(
                emu,
                (&key, &secret),
                region,
                "/",
                Some("AmazonPersonalize.ListDatasetGroups"),
                "{}",
            ),
        );
    }
    let (status, _) = send(
        emu,
        &format!("POST /_emulator/flush HTTP/1.1\r\nhost: {emu}\r\ncontent-length: 0\r\n\r\n"),
    );
    println!(
        "warmed {} (account, Region) pairs; flush answered {status}",
        BENCH_ACCOUNTS * AWS_REGIONS.len()
    );
    let tracking_id = if ops.contains(&Op::PutEvents) {
        event_tracker(emu)
    } else {
        String::new()
    };
    for op in ops {
        let mut totals = [Slice::default(), Slice::default()];
        for slice in 0..o.slices * 2 {
            // ABBA: baseline first in even pairs, emulator first in odd ones.
            let emulator_turn = (slice % 4 == 1) || (slice % 4 == 2);
            let (addr, pid, side) = if emulator_turn {
                (emu, emu_pid, 1)
            } else {
                (base, base_pid, 0)
            };
            // Enough distinct creates for the slice at 40,000/s; the baseline cycles through them.
            let pool = (o.secs as usize * 40_000).min(BENCH_ACCOUNTS * AWS_REGIONS.len() * 450);
            let reqs = requests(op, addr, slice, pool, &tracking_id);
            if slice < 2 && op != Op::CreateSchema {
                // A request that the server refuses measures the refusal: say so.
                let (status, body) = send(addr, &reqs[0]);
                if status >= 300 {
                    println!("  warning: {} answered {status}: {body}", op.name());
                }
            }
            let path = dir.path().join(format!("{}-{slice}.lua", op.name()));
            std::fs::write(&path, script(&reqs)).expect("script");
            let s = run_wrk(addr, &path, o.connections, o.secs, pid);
            totals[side].add(s);
        }
        let [b, e] = totals;
        println!("{}:", op.name());
        for (name, s) in [("baseline", &b), ("emulator", &e)] {
            println!(
                "  {name:<9} {:>9.0} req/s  server CPU {:>6.1} us/req  wrk CPU {:>5.1} us/req  machine busy {:>6.1} us/req  non-2xx {}",
                s.rps(),
                s.per_request_us(s.server_ns),
                s.per_request_us(s.client_ns),
                s.per_request_us(s.machine_ns),
                s.non_2xx
            );
        }
        let ratio = e.rps() / b.rps().max(1e-9);
        let cpu = e.per_request_us(e.server_ns) / b.per_request_us(b.server_ns).max(1e-9);
        println!(
            "  throughput ratio {ratio:.2} (target >= 0.55: {}); server CPU per call {cpu:.2}x the baseline's (target <= 2.0x: {})",
            if ratio >= 0.55 { "met" } else { "NOT met" },
            if cpu <= 2.0 { "met" } else { "NOT met" }
        );
    }
    let (rss, hwm) = rss_kib(emu_pid);
    println!(
        "emulator RSS {:.1} MiB (peak {:.1} MiB)",
        rss as f64 / 1024.0,
        hwm as f64 / 1024.0
    );
}
