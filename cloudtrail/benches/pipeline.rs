//! Pipeline benchmark: typical ~1 KB records in through `Delivery::submit`, gzip log files out
//! into a temporary directory, with the default settings (level 6). Prints records/s, MB/s and
//! peak RSS, then times the system `gzip -6` on the same uncompressed bytes for comparison.
//!
//! Producers build each record (a clone of a template with a fresh `eventID`) and submit it;
//! what building costs on its own is measured first and printed, so the pipeline's share of the
//! figure is visible. Every record still goes through the spool (one `write` per group of
//! concurrent submitters, before `submit` returns), the batcher, gzip and a file in the store.
//!
//! Run: `cargo bench -p cloudtrail --bench pipeline [-- RECORDS [PRODUCERS]]`
//! (`PIPELINE_BENCH_NO_BASELINE=1` skips the gzip comparison, for profiling.)
//!
//! Latency mode: `cargo bench -p cloudtrail --bench pipeline -- latency [SECONDS [RATE]]` submits
//! at a steady RATE (default 10,000/s) for SECONDS (default 6), so a 10,000-record file is cut,
//! written and acknowledged about once a second, and prints `submit` latency percentiles while a
//! file is being delivered (written, acknowledged, its segment deleted) against the rest of the
//! time, with and without `fsync`. Work done under the spool lock during delivery shows up as a
//! tail during delivery windows; the target is a window p99 under 2 ms and within 2x the rest.

use std::io::Write;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use cloudtrail::SystemClock;
use cloudtrail::delivery::{Delivery, DeliveryConfig, DeliveryObserver, Destination, SingleDestination};
use cloudtrail::identity::UserIdentity;
use cloudtrail::layout::LogDestination;
use cloudtrail::logfile::{WrittenLog, gunzip};
use cloudtrail::record::{Record, TlsDetails};
use cloudtrail::store::LocalDir;
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use serde_json::json;
use time::OffsetDateTime;

const ACCOUNT: &str = "123456789012";

/// Records per second the pipeline must sustain on the 2-core reference machine.
const TARGET: f64 = 150_000.0;

/// A two-worker runtime (the reference machine's cores) and a fresh directory for the spool and
/// the data.
fn setup() -> anyhow::Result<(tokio::runtime::Runtime, tempfile::TempDir, std::path::PathBuf)> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let dir = tempfile::tempdir()?;
    let data = dir.path().join("data");
    Ok((rt, dir, data))
}

/// The pipeline under test: a real clock, a local directory, one trail.
async fn start_pipeline(
    cfg: DeliveryConfig,
    data: &std::path::Path,
    observer: Arc<Count>,
) -> Result<Delivery, cloudtrail::DeliveryError> {
    Delivery::start(
        cfg,
        Arc::new(SystemClock),
        Arc::new(LocalDir::new(data)),
        Arc::new(SingleDestination(Destination {
            trail: format!("arn:aws:cloudtrail:us-east-1:{ACCOUNT}:trail/bench"),
            log: LogDestination {
                bucket: "bench-bucket".into(),
                prefix: None,
                org_id: None,
                account: String::new(),
                region: String::new(),
            },
        })),
        vec![observer],
    )
    .await
}

/// What a producer does per call: a record from a template, with its own `eventID` (a version 4
/// UUID from a fast seeded generator; the OS generator would cost a system call per record).
fn build(template: &Record, rng: &mut StdRng) -> Record {
    let mut r = template.clone();
    r.event_id = uuid::Builder::from_random_bytes(rng.random()).into_uuid();
    r
}

/// CPU time of the calling thread in nanoseconds (`/proc/thread-self/schedstat`), so the
/// measurement does not depend on what else the machine runs.
fn thread_cpu_ns() -> u64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

/// Per-thread CPU seconds of this process, summed by thread name with trailing digits dropped.
fn cpu_by_thread() -> Vec<(String, f64)> {
    let mut out: Vec<(String, f64)> = Vec::new();
    let Ok(rd) = std::fs::read_dir("/proc/self/task") else {
        return out;
    };
    for e in rd.flatten() {
        let Ok(stat) = std::fs::read_to_string(e.path().join("stat")) else {
            continue;
        };
        let Some((head, rest)) = stat.rsplit_once(')') else {
            continue;
        };
        let name = head.split_once('(').map_or("?", |(_, n)| n);
        let name = name
            .trim_end_matches(|c: char| c.is_ascii_digit() || c == '-')
            .to_owned();
        let f: Vec<&str> = rest.split_whitespace().collect();
        let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
        let secs = (ticks(11) + ticks(12)) / 100.0;
        match out.iter_mut().find(|(n, _)| *n == name) {
            Some((_, s)) => *s += secs,
            None => out.push((name, secs)),
        }
    }
    out.sort_by(|a, b| b.1.total_cmp(&a.1));
    out
}

/// A typical Personalize write call by an IAM user, about 1 KB of JSON.
fn template(i: usize) -> Record {
    let id = UserIdentity::iam_user(
        ACCOUNT,
        "/",
        &format!("operator-{}", i % 17),
        "AIDAJ45Q7YFFAREXAMPLE",
        "AKIAIOSFODNN7EXAMPLE",
    );
    let region = ["us-east-1", "us-west-2"][i % 2];
    let mut r = Record::api_call(
        id,
        OffsetDateTime::now_utc(),
        "personalize.amazonaws.com",
        "CreateSolution",
        region,
        "203.0.113.10",
        ACCOUNT,
    );
    let dsg = format!(
        "arn:aws:personalize:{region}:{ACCOUNT}:dataset-group/movies-{}",
        i % 50
    );
    r.user_agent = Some("aws-cli/2.15.30 Python/3.11.8 Linux/6.1.0 exe/x86_64.debian.12".into());
    r.request_parameters = Some(json!({
        "name": format!("solution-{i}"),
        "datasetGroupArn": dsg,
        "recipeArn": "arn:aws:personalize:::recipe/aws-user-personalization"
    }));
    r.response_elements = Some(json!({
        "solutionArn": format!("arn:aws:personalize:{region}:{ACCOUNT}:solution/solution-{i}")
    }));
    r.request_id = Some(cloudtrail::random_uuid().to_string());
    r.read_only = Some(false);
    r.tls_details = Some(TlsDetails {
        tls_version: "TLSv1.3".into(),
        cipher_suite: "TLS_AES_128_GCM_SHA256".into(),
        client_provided_host_header: format!("personalize.{region}.amazonaws.com"),
        key_exchange: None,
    });
    r
}

/// Counts what the pipeline delivered.
#[derive(Default)]
struct Count {
    files: AtomicUsize,
    records: AtomicUsize,
    compressed: AtomicUsize,
}

impl DeliveryObserver for Count {
    fn delivered(&self, log: &WrittenLog) {
        self.files.fetch_add(1, Ordering::Relaxed);
        self.records.fetch_add(log.records, Ordering::Relaxed);
        self.compressed.fetch_add(log.compressed_bytes, Ordering::Relaxed);
    }
}

/// CPU seconds (user + system) this process has used, from `/proc/self/stat` (100 Hz ticks).
fn cpu_seconds() -> f64 {
    stat_seconds(11, 12)
}

/// CPU seconds used by children we have waited for (the `gzip` baseline).
fn child_cpu_seconds() -> f64 {
    stat_seconds(13, 14)
}

fn stat_seconds(user: usize, system: usize) -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return 0.0;
    };
    // Fields after the parenthesised command name: state is field 3, utime 14, stime 15.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    (ticks(user) + ticks(system)) / 100.0
}

fn vm_hwm_kib() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = s.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// Paced submits; latencies split by whether a file was in flight when the submit started.
fn latency_mode(secs: f64, rate: f64, fsync: bool) -> anyhow::Result<()> {
    let (rt, dir, data) = setup()?;
    let mut cfg = DeliveryConfig::new(dir.path().join("spool"));
    cfg.fsync = fsync;
    let templates: Vec<Record> = (0..256).map(template).collect();
    let count = Arc::new(Count::default());
    let observer = count.clone();
    let (window, rest) = rt.block_on(async {
        let delivery = start_pipeline(cfg, &data, observer).await?;
        let total = (secs * rate) as usize;
        let start = Instant::now();
        let mut rng = StdRng::seed_from_u64(3);
        let mut tasks = Vec::with_capacity(total);
        let mut tick = tokio::time::interval(std::time::Duration::from_millis(1));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
        let mut sent = 0usize;
        while sent < total {
            tick.tick().await;
            let due = ((start.elapsed().as_secs_f64() * rate) as usize).min(total);
            while sent < due {
                let r = build(&templates[sent % templates.len()], &mut rng);
                let d = delivery.clone();
                tasks.push(tokio::spawn(async move {
                    let busy = d.status().in_flight_records > 0;
                    let t = Instant::now();
                    d.submit(r).await?;
                    anyhow::Ok((busy, t.elapsed().as_secs_f64() * 1e3))
                }));
                sent += 1;
            }
        }
        let (mut window, mut rest) = (Vec::new(), Vec::new());
        for t in tasks {
            let (busy, ms) = t.await??;
            if busy { window.push(ms) } else { rest.push(ms) }
        }
        delivery.shutdown().await?;
        anyhow::Ok((window, rest))
    })?;
    let files = count.files.load(Ordering::Relaxed);
    let show = |name: &str, v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        println!(
            "latency: fsync={fsync} {name:>16}: {:>6} submits, p50 {:.3} ms, p99 {:.3} ms, p99.9 {:.3} ms, max {:.3} ms",
            v.len(),
            percentile(v, 0.5),
            percentile(v, 0.99),
            percentile(v, 0.999),
            v.last().copied().unwrap_or(0.0)
        );
        percentile(v, 0.99)
    };
    let (mut window, mut rest) = (window, rest);
    println!("latency: {rate:.0} submits/s for {secs} s, fsync={fsync}, {files} files delivered");
    let pw = show("delivery windows", &mut window);
    let pr = show("rest", &mut rest);
    let met = pw < 2.0 && pw <= 2.0 * pr.max(0.05);
    println!(
        "latency: fsync={fsync} window p99 / rest p99 = {:.2}x; {}",
        pw / pr.max(1e-3),
        if fsync {
            // Every submit waits for an fdatasync here: the disk sets the figures, not the lock.
            "informational (each submit waits for a group-committed fdatasync)".to_owned()
        } else {
            format!(
                "target window p99 < 2 ms and <= 2x the rest: {}",
                if met { "met" } else { "NOT met" }
            )
        }
    );
    Ok(())
}

fn main() -> anyhow::Result<()> {
    if std::env::args().any(|a| a == "latency") {
        let nums: Vec<f64> = std::env::args().skip(1).filter_map(|a| a.parse().ok()).collect();
        let secs = nums.first().copied().unwrap_or(6.0);
        let rate = nums.get(1).copied().unwrap_or(10_000.0);
        latency_mode(secs, rate, false)?;
        return latency_mode(secs, rate, true);
    }
    // `cargo bench` passes `--bench`; positional numbers are ours.
    let nums: Vec<usize> = std::env::args().skip(1).filter_map(|a| a.parse().ok()).collect();
    let total = nums.first().copied().unwrap_or(600_000);
    let producers = nums.get(1).copied().unwrap_or(4).max(1);
    let (rt, dir, data) = setup()?;
    let cfg = DeliveryConfig::new(dir.path().join("spool"));
    let level = cfg.compression_level;
    let templates: Vec<Record> = (0..256).map(template).collect();
    let json_len: usize = templates.iter().map(|r| r.to_json().len()).sum::<usize>() / templates.len();

    // Building records alone, on one thread: part of the producers' work, not the pipeline's.
    let build_n = total.min(100_000);
    let mut rng = StdRng::seed_from_u64(7);
    let t = thread_cpu_ns();
    for i in 0..build_n {
        std::hint::black_box(build(&templates[i % templates.len()], &mut rng));
    }
    let build_us = (thread_cpu_ns() - t) as f64 / 1e3 / build_n as f64;
    let threads0 = cpu_by_thread();

    let count = Arc::new(Count::default());
    let observer = count.clone();
    let (elapsed, cpu, files, compressed, threads) = rt.block_on(async {
        let delivery = start_pipeline(cfg, &data, observer).await?;
        let templates = Arc::new(templates);
        let cpu0 = cpu_seconds();
        let start = Instant::now();
        let mut tasks = Vec::new();
        for p in 0..producers {
            let d = delivery.clone();
            let templates = templates.clone();
            tasks.push(tokio::spawn(async move {
                let mut i = p;
                let mut rng = StdRng::seed_from_u64(p as u64);
                while i < total {
                    // What the emulator does per call: build a record, submit it.
                    d.submit(build(&templates[i % templates.len()], &mut rng)).await?;
                    i += producers;
                }
                anyhow::Ok(())
            }));
        }
        for t in tasks {
            t.await??;
        }
        delivery.flush().await?;
        let elapsed = start.elapsed();
        let cpu = cpu_seconds() - cpu0;
        // Before shutdown, while the compression threads still exist.
        let threads = cpu_by_thread();
        delivery.shutdown().await?;
        let compressed = count.compressed.load(Ordering::Relaxed);
        let records = count.records.load(Ordering::Relaxed);
        anyhow::ensure!(records == total, "delivered {records} of {total} records");
        anyhow::Ok((
            elapsed,
            cpu,
            count.files.load(Ordering::Relaxed),
            compressed,
            threads,
        ))
    })?;
    let hwm = vm_hwm_kib().unwrap_or(0);
    let threads: Vec<(String, f64)> = threads
        .into_iter()
        .map(|(n, s)| {
            let before = threads0.iter().find(|(m, _)| *m == n).map_or(0.0, |(_, b)| *b);
            (n, s - before)
        })
        .filter(|(_, s)| *s >= 0.01)
        .collect();

    let no_baseline = std::env::var_os("PIPELINE_BENCH_NO_BASELINE").is_some();
    // The same uncompressed bytes, for gzip.
    let mut raw = Vec::new();
    let mut stack = vec![data.clone()];
    if no_baseline {
        stack.clear();
    }
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d)? {
            let p = e?.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "gz") {
                raw.extend(gunzip(&std::fs::read(&p)?)?);
            }
        }
    }
    // Without the baseline the files are not read back: the body size is close to this.
    let raw_len = if no_baseline {
        total * (json_len + 1)
    } else {
        raw.len()
    };
    let mb = raw_len as f64 / 1e6;
    let secs = elapsed.as_secs_f64();
    println!(
        "pipeline: {total} records (~{json_len} B JSON each), {producers} producers, level {level}, 2 worker threads"
    );
    println!(
        "pipeline: {:.3} s, {:.0} records/s, {:.1} MB/s uncompressed, {files} files, {:.1} MB -> {:.1} MB gzip (ratio {:.3})",
        secs,
        total as f64 / secs,
        mb / secs,
        mb,
        compressed as f64 / 1e6,
        compressed as f64 / raw_len as f64
    );
    println!("pipeline: peak RSS (VmHWM) {:.1} MiB", hwm as f64 / 1024.0);
    let rate = total as f64 / secs;
    println!(
        "pipeline: target {TARGET:.0} records/s: {} ({:.2}x the target)",
        if rate >= TARGET { "met" } else { "NOT met" },
        rate / TARGET
    );
    // On a shared machine the wall-clock rate depends on what else runs; CPU time does not.
    println!(
        "pipeline: {:.2} CPU-s ({:.2} cores busy on average), {:.1} us CPU per record, {:.0} records per CPU-second",
        cpu,
        cpu / secs,
        cpu * 1e6 / total as f64,
        total as f64 / cpu
    );
    let split: Vec<String> = threads.iter().map(|(n, s)| format!("{n} {s:.2}")).collect();
    println!("pipeline: CPU-s by thread: {}", split.join(", "));
    println!(
        "pipeline: building a record alone (template clone + eventID) costs {build_us:.2} us CPU: \
         {:.0}% of the CPU per record above is the producers' own work",
        100.0 * build_us / (cpu * 1e6 / total as f64)
    );

    if no_baseline {
        return Ok(());
    }
    let raw_path = dir.path().join("all.json");
    std::fs::write(&raw_path, &raw)?;
    drop(raw);
    let input = std::fs::File::open(&raw_path)?;
    let child0 = child_cpu_seconds();
    let t = Instant::now();
    let out = Command::new("gzip")
        .arg("-6")
        .arg("-c")
        .stdin(input)
        .stdout(Stdio::piped())
        .output();
    let gz_time = t.elapsed();
    let gz_cpu = child_cpu_seconds() - child0;
    match out {
        Ok(o) if o.status.success() => {
            let g = gz_time.as_secs_f64();
            println!(
                "gzip -6:  {:.3} s, {:.1} MB/s, {:.1} MB -> {:.1} MB (ratio {:.3})",
                g,
                mb / g,
                mb,
                o.stdout.len() as f64 / 1e6,
                o.stdout.len() as f64 / (mb * 1e6)
            );
            println!("gzip -6:  {gz_cpu:.2} CPU-s");
            println!(
                "pipeline / gzip -6: wall time {:.2}x, CPU time {:.2}x (the pipeline also serialises, spools, hashes, shuffles and writes)",
                secs / g,
                cpu / gz_cpu.max(0.01)
            );
        }
        Ok(o) => println!("gzip -6 failed: {}", String::from_utf8_lossy(&o.stderr)),
        Err(e) => println!("gzip not available: {e}"),
    }
    std::io::stdout().flush()?;
    Ok(())
}
