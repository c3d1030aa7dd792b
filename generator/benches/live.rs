//! Live-mode benchmark, two cases in one run:
//!
//! 1. The generator's ceiling: its open-loop sender against a minimal in-process HTTP server that
//!    answers every request `200 {}`, so the figure is the generator's, not a server's.
//! 2. The emulator under the same load: the release `emulator` binary started as a child process on this
//!    machine (recording and delivery on, 1 s flushes), driven at the same rate. After the run
//!    the bench asks the emulator to flush (`POST /_emulator/flush`), reads every delivered log
//!    file back and compares the records with the calls answered, so "the emulator kept up"
//!    means: achieved rate within 1% of offered, the run drained within a second of its end,
//!    and every answered call is in a delivered file.
//!
//! `scripts/live-bench.sh` builds the emulator and runs this; by hand:
//! `cargo build --release -p emulator && cargo bench -p generator --bench live`.
//! Environment: `BENCH_RATE` (default 20000 req/s), `BENCH_SECS` (10), `BENCH_CONCURRENCY`
//! (64), `BENCH_SCENARIO` (`audit-noise`), `BENCH_CASES` (`fixed,emulator`), `EMULATOR_BIN`
//! (default: `emulator` beside this bench's `deps` directory).

use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use bytes::Bytes;
use generator::live::{self, LiveOptions};
use generator::scenario::Scenario;
use generator::stats::Report;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;

fn env<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

struct Settings {
    rate: f64,
    secs: u64,
    concurrency: usize,
    scenario: String,
}

fn options(endpoint: String, s: &Settings, setup: bool) -> Result<LiveOptions, Box<dyn std::error::Error>> {
    let identities = live::parse_identities(live::EMULATOR_DEFAULT_CONFIG)?;
    let run = (s.rate, Duration::from_secs(s.secs));
    Ok(LiveOptions {
        concurrency: s.concurrency,
        setup,
        ..LiveOptions::new(endpoint, Scenario::load(&s.scenario)?, run, identities)
    })
}

/// Offered vs achieved, in percent.
fn shortfall(r: &Report) -> f64 {
    if r.offered_rate > 0.0 {
        (1.0 - r.achieved_rate / r.offered_rate) * 100.0
    } else {
        100.0
    }
}

fn met(ok: bool) -> &'static str {
    if ok { "MET" } else { "NOT MET" }
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

/// A server that answers every request `200 {}` on its own single-threaded runtime and thread.
fn fixed_server() -> Result<SocketAddr, Box<dyn std::error::Error>> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    listener.set_nonblocking(true)?;
    let addr = listener.local_addr()?;
    std::thread::spawn(move || {
        let Ok(rt) = tokio::runtime::Builder::new_current_thread().enable_all().build() else {
            return;
        };
        rt.block_on(async move {
            let Ok(listener) = tokio::net::TcpListener::from_std(listener) else {
                return;
            };
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let _ = stream.set_nodelay(true);
                tokio::spawn(async move {
                    let svc = hyper::service::service_fn(|_req| async {
                        Ok::<_, Infallible>(hyper::Response::new(Full::new(Bytes::from_static(b"{}"))))
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), svc)
                        .await;
                });
            }
        });
    });
    Ok(addr)
}

struct Emulator {
    child: Child,
    addr: SocketAddr,
    data_dir: tempfile::TempDir,
}

impl Drop for Emulator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn emulator_bin() -> Option<PathBuf> {
    if let Ok(p) = std::env::var("EMULATOR_BIN") {
        return Some(PathBuf::from(p));
    }
    // target/release/deps/live-<hash> -> target/release/emulator
    let exe = std::env::current_exe().ok()?;
    let bin = exe.parent()?.parent()?.join("emulator");
    bin.is_file().then_some(bin)
}

fn start_emulator(bin: &Path) -> Result<Emulator, Box<dyn std::error::Error>> {
    let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let data_dir = tempfile::tempdir()?;
    let child = Command::new(bin)
        .args(["--bind", &addr.to_string()])
        .arg("--data-dir")
        .arg(data_dir.path())
        .args(["--flush-interval", "1s"])
        .env("EMULATOR_LOG", "warn")
        .stdout(Stdio::null())
        .spawn()?;
    let emulator = Emulator {
        child,
        addr,
        data_dir,
    };
    for _ in 0..500 {
        if std::net::TcpStream::connect(addr).is_ok() {
            return Ok(emulator);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Err(format!("the emulator at {addr} did not start").into())
}

/// `POST /_emulator/flush`: returns once every record accepted so far is in a delivered file.
async fn flush(addr: SocketAddr) -> Result<(), Box<dyn std::error::Error>> {
    let stream = tokio::net::TcpStream::connect(addr).await?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(conn);
    let req = http::Request::post("/_emulator/flush")
        .header("host", addr.to_string())
        .body(Full::new(Bytes::new()))?;
    let resp = sender.send_request(req).await?;
    let status = resp.status();
    let body = resp.into_body().collect().await?.to_bytes();
    if !status.is_success() {
        return Err(format!("flush answered {status}: {}", String::from_utf8_lossy(&body)).into());
    }
    Ok(())
}

/// Records in the delivered CloudTrail log files under `dir` (digest files left out).
fn delivered_records(dir: &Path) -> usize {
    let logs = cloudtrail::logfile::log_files_under(dir);
    logs.iter().map(|p| cloudtrail::logfile::records_in(p)).sum()
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let s = Settings {
        rate: env("BENCH_RATE", 20_000.0),
        secs: env("BENCH_SECS", 10),
        concurrency: env("BENCH_CONCURRENCY", 64),
        scenario: env("BENCH_SCENARIO", "audit-noise".to_owned()),
    };
    let cases: String = env("BENCH_CASES", "fixed,emulator".to_owned());
    let mut verdicts = Vec::new();
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;

    if cases.contains("fixed") {
        let addr = fixed_server()?;
        let report = rt.block_on(live::run(
            options(format!("http://{addr}"), &s, false)?,
            std::future::pending(),
        ))?;
        println!(
            "== case 1: generator ceiling, {} scenario at {} req/s against a fixed-response server on this machine",
            s.scenario, s.rate
        );
        print!("{}", report.text());
        verdicts.push(format!(
            "generator ceiling: achieved {:.0} of {:.0} req/s offered ({:.2}% short; target within 1%): {}",
            report.achieved_rate,
            report.offered_rate,
            shortfall(&report),
            met(shortfall(&report) <= 1.0)
        ));
    }

    if cases.contains("emulator") {
        match emulator_bin() {
            None => {
                println!(
                    "== case 2 skipped: no emulator binary (run scripts/live-bench.sh, or \
                     `cargo build --release -p emulator` first, or set EMULATOR_BIN)"
                );
                verdicts.push("emulator case: NOT RUN (no emulator binary)".to_owned());
            }
            Some(bin) => {
                let emu = start_emulator(&bin)?;
                let endpoint = format!("http://{}", emu.addr);
                let report = rt.block_on(live::run(options(endpoint, &s, true)?, std::future::pending()))?;
                let flushed_at = Instant::now();
                rt.block_on(flush(emu.addr))?;
                let flush_ms = flushed_at.elapsed().as_millis();
                let delivered = delivered_records(emu.data_dir.path());
                // Every answered call is recorded; a transport failure may or may not have been.
                let answered = report.completed + report.setup_calls;
                let drained = report.elapsed_secs <= report.duration_secs + 1.0;
                let recorded = delivered as u64 >= answered;
                let short = shortfall(&report);
                println!(
                    "== case 2: {} scenario at {} req/s against the release emulator ({}) on this machine",
                    s.scenario,
                    s.rate,
                    bin.display()
                );
                print!("{}", report.text());
                println!(
                    "recorded {delivered} records in delivered log files for {answered} answered calls \
                     ({} in the run, {} in setup); final flush took {flush_ms} ms",
                    report.completed, report.setup_calls
                );
                verdicts.push(format!(
                    "emulator: achieved {:.0} of {:.0} req/s offered ({short:.2}% short; target within 1%), \
                     drained {} (last answer {:.2} s after a {:.0} s schedule), all calls recorded {}: {}",
                    report.achieved_rate,
                    report.offered_rate,
                    if drained { "yes" } else { "no" },
                    report.elapsed_secs,
                    report.duration_secs,
                    if recorded { "yes" } else { "no" },
                    met(short <= 1.0 && drained && recorded && report.transport_errors == 0)
                ));
            }
        }
    }
    println!("summary (load average: {}):", load_average());
    for v in &verdicts {
        println!("  {v}");
    }
    Ok(())
}
