//! What the emulator's load benchmarks share: the bench accounts and their identity file, the
//! baseline server, free ports, and CPU and memory figures from `/proc`.

#![allow(dead_code, reason = "each bench uses its own part of these")]

use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;

pub(crate) const ALICE: (&str, &str) = ("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY");
pub(crate) const SCHEMA: &str = r#"{\"type\":\"record\",\"name\":\"Interactions\",\"namespace\":\"com.amazonaws.personalize.schema\",\"fields\":[{\"name\":\"USER_ID\",\"type\":\"string\"},{\"name\":\"ITEM_ID\",\"type\":\"string\"},{\"name\":\"TIMESTAMP\",\"type\":\"long\"}],\"version\":\"1.0\"}"#;
/// The Personalize quota: active schemas per (account, Region).
pub(crate) const SCHEMAS_PER_REGION: u64 = 500;
/// Accounts in the generated identity file, one per CreateSchema connection (wrapping).
pub(crate) const BENCH_ACCOUNTS: usize = 64;

/// The headers of a Personalize request to `addr` signed now with `key`: JSON 1.1 with
/// `x-amz-target` when `target` is given, REST-JSON (`path`) otherwise.
pub(crate) fn signed_headers(
    addr: SocketAddr,
    (key, region): ((&str, &str), &str),
    (path, target): (&str, Option<&str>),
    body: &str,
    agent: &'static str,
) -> http::HeaderMap {
    let signer = emulator::sigv4::Signer::new(key.0, key.1, region, "personalize");
    let mut headers = http::HeaderMap::new();
    headers.insert("host", addr.to_string().parse().expect("host"));
    let content_type = match target {
        Some(t) => {
            headers.insert("x-amz-target", t.parse().expect("target"));
            "application/x-amz-json-1.1"
        }
        None => "application/json",
    };
    headers.insert("content-type", http::HeaderValue::from_static(content_type));
    headers.insert("user-agent", http::HeaderValue::from_static(agent));
    let uri: http::Uri = path.parse().expect("uri");
    let now = time::OffsetDateTime::now_utc();
    signer.sign(&http::Method::POST, &uri, &mut headers, body.as_bytes(), now);
    headers
}

/// The value after `--name` on the command line, if given.
pub(crate) fn arg(name: &str) -> Option<String> {
    let mut args = std::env::args().skip_while(|a| a != name);
    args.next()?;
    args.next()
}

/// The value after `--name`, parsed, or `default`.
pub(crate) fn arg_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    arg(name).and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// The machine's load averages, for a line that says how busy it was.
pub(crate) fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

pub(crate) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

pub(crate) fn wait_ready(addr: SocketAddr) {
    for _ in 0..500 {
        if std::net::TcpStream::connect(addr).is_ok() {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("server at {addr} did not start");
}

pub(crate) fn rss_kib(pid: u32) -> (u64, u64) {
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

/// The bench's signing key for account `n` (0 is the demo account's alice).
pub(crate) fn bench_key(n: usize) -> (String, String) {
    if n == 0 {
        return (ALICE.0.to_owned(), ALICE.1.to_owned());
    }
    (
        format!("AKIABENCH{n:011}"),
        format!("benchSecretKey/{n:06}/K7MDENG/bPxRfiCYEXAMPLE"),
    )
}

/// The bench accounts' ids (after the demo account's).
pub(crate) fn bench_account(n: usize) -> String {
    format!("{:012}", 100_000_000_000u64 + n as u64)
}

/// The configuration: the demo account with alice, plus `BENCH_ACCOUNTS - 1` accounts with one
/// IAM user each, all in one organization whose organization trail logs every call of every
/// account (like the built-in trail, which covers the demo account only), so every record is
/// delivered to a log file.
pub(crate) fn identity_file() -> String {
    let members: Vec<String> = (1..BENCH_ACCOUNTS)
        .map(|n| format!("\"{}\"", bench_account(n)))
        .collect();
    let mut s = format!(
        "[[organizations]]\nid = \"o-loadbench01\"\nmanagement_account = \"123456789012\"\n\
         member_accounts = [{}]\n\n[[trails]]\nname = \"management-events\"\n\
         account = \"123456789012\"\norganization = true\n\n",
        members.join(", ")
    );
    s.push_str("[[accounts]]\nid = \"123456789012\"\n\n[[accounts.users]]\nname = \"alice\"\npath = \"/\"\n");
    s.push_str(&format!(
        "keys = [{{ access_key_id = \"{}\", secret_access_key = \"{}\" }}]\n",
        ALICE.0, ALICE.1
    ));
    for n in 1..BENCH_ACCOUNTS {
        let (key, secret) = bench_key(n);
        s.push_str(&format!(
            "\n[[accounts]]\nid = \"{}\"\n\n[[accounts.users]]\nname = \"bench\"\npath = \"/\"\n\
             keys = [{{ access_key_id = \"{key}\", secret_access_key = \"{secret}\" }}]\n",
            bench_account(n)
        ));
    }
    s
}

/// The baseline: a hyper server that reads the body and answers a fixed JSON body.
pub(crate) fn serve_baseline(port: u16) {
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

/// User and system time of a process (`/proc/<pid>/stat` fields 14 and 15, in 10 ms ticks).
pub(crate) fn process_cpu_ns(pid: &str) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // The command name (field 2) may hold spaces; the fields after it are plain numbers.
    let after = stat.rsplit_once(") ").map_or("", |(_, rest)| rest);
    let ticks: u64 = after
        .split_whitespace()
        .skip(11)
        .take(2)
        .map(|v| v.parse::<u64>().unwrap_or(0))
        .sum();
    ticks * 10_000_000
}

/// Busy time of all CPUs since boot, in nanoseconds: `/proc/stat`'s first line (user nice system
/// idle iowait irq softirq steal, in USER_HZ ticks of 10 ms) less idle and iowait.
pub(crate) fn machine_busy_ns() -> u64 {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let Some(line) = stat.lines().next() else {
        return 0;
    };
    let busy: u64 = line
        .split_whitespace()
        .skip(1)
        .take(8)
        .enumerate()
        .filter(|(i, _)| *i != 3 && *i != 4)
        .map(|(_, x)| x.parse::<u64>().unwrap_or(0))
        .sum();
    busy * 10_000_000
}

pub(crate) struct Children(pub Vec<Child>);

impl Drop for Children {
    fn drop(&mut self) {
        for c in &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Serves as the baseline when this bench was started with `--baseline-server PORT` (the bench
/// re-runs itself for that), and says whether it did.
pub(crate) fn run_as_baseline() -> bool {
    let args: Vec<String> = std::env::args().collect();
    let Some(i) = args.iter().position(|a| a == "--baseline-server") else {
        return false;
    };
    let port = args
        .get(i + 1)
        .and_then(|p| p.parse().ok())
        .expect("--baseline-server PORT");
    serve_baseline(port);
    true
}

/// The two servers a load bench compares, each a child process on a free port and ready.
pub(crate) struct Servers {
    pub(crate) base: SocketAddr,
    pub(crate) base_pid: u32,
    pub(crate) emu: SocketAddr,
    pub(crate) emu_pid: u32,
    _children: Children,
}

/// Starts the baseline (this bench, re-run) and the emulator (`EMULATOR_BIN`, to compare
/// another build against the same baseline, or this build's) with the bench accounts'
/// identity file, 1 s flushes and the `extra` flags, keeping its files under `dir`.
pub(crate) fn start_servers(dir: &Path, extra: &[&str]) -> Servers {
    let config = dir.join("bench-identities.toml");
    std::fs::write(&config, identity_file()).expect("write the identity file");
    let (base_port, emu_port) = (free_port(), free_port());
    let baseline = Command::new(std::env::current_exe().expect("current exe"))
        .args(["--baseline-server", &base_port.to_string()])
        .spawn()
        .expect("spawn baseline");
    let emulator_bin =
        std::env::var("EMULATOR_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_emulator").to_owned());
    let emulator = Command::new(&emulator_bin)
        .args(["--bind", &format!("127.0.0.1:{emu_port}")])
        .args(extra)
        .arg("--data-dir")
        .arg(dir.join("trail-data"))
        .arg("--config")
        .arg(&config)
        .args(["--flush-interval", "1s"])
        .env("EMULATOR_LOG", "warn")
        .stdout(Stdio::null())
        .spawn()
        .expect("spawn emulator");
    let servers = Servers {
        base: SocketAddr::from(([127, 0, 0, 1], base_port)),
        base_pid: baseline.id(),
        emu: SocketAddr::from(([127, 0, 0, 1], emu_port)),
        emu_pid: emulator.id(),
        _children: Children(vec![baseline, emulator]),
    };
    wait_ready(servers.base);
    wait_ready(servers.emu);
    servers
}
