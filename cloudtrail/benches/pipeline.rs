//! Pipeline benchmark: typical ~1 KB records in through `Delivery::submit`, gzip log files out
//! into a temporary directory, with the default settings (level 6). Prints records/s, MB/s and
//! peak RSS, then times the system `gzip -6` on the same uncompressed bytes for comparison.
//!
//! Run: `cargo bench -p cloudtrail --bench pipeline [-- RECORDS [PRODUCERS]]`
//! (`PIPELINE_BENCH_NO_BASELINE=1` skips the gzip comparison, for profiling.)

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
use serde_json::json;
use time::OffsetDateTime;

const ACCOUNT: &str = "123456789012";

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
    r.request_id = Some(uuid::Uuid::new_v4().to_string());
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

fn main() -> anyhow::Result<()> {
    // `cargo bench` passes `--bench`; positional numbers are ours.
    let nums: Vec<usize> = std::env::args().skip(1).filter_map(|a| a.parse().ok()).collect();
    let total = nums.first().copied().unwrap_or(600_000);
    let producers = nums.get(1).copied().unwrap_or(4).max(1);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let dir = tempfile::tempdir()?;
    let data = dir.path().join("data");
    let cfg = DeliveryConfig::new(dir.path().join("spool"));
    let level = cfg.compression_level;
    let templates: Vec<Record> = (0..256).map(template).collect();
    let json_len: usize = templates.iter().map(|r| r.to_json().len()).sum::<usize>() / templates.len();

    let count = Arc::new(Count::default());
    let observer = count.clone();
    let (elapsed, cpu, files, compressed) = rt.block_on(async {
        let delivery = Delivery::start(
            cfg,
            Arc::new(SystemClock),
            Arc::new(LocalDir::new(&data)),
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
        .await?;
        let templates = Arc::new(templates);
        let cpu0 = cpu_seconds();
        let start = Instant::now();
        let mut tasks = Vec::new();
        for p in 0..producers {
            let d = delivery.clone();
            let templates = templates.clone();
            tasks.push(tokio::spawn(async move {
                let mut i = p;
                while i < total {
                    // What the emulator does per call: build a record, submit it.
                    let mut r = templates[i % templates.len()].clone();
                    r.event_id = uuid::Uuid::new_v4();
                    d.submit(r).await?;
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
        delivery.shutdown().await?;
        let compressed = count.compressed.load(Ordering::Relaxed);
        let records = count.records.load(Ordering::Relaxed);
        anyhow::ensure!(records == total, "delivered {records} of {total} records");
        anyhow::Ok((elapsed, cpu, count.files.load(Ordering::Relaxed), compressed))
    })?;
    let hwm = vm_hwm_kib().unwrap_or(0);

    if std::env::var_os("PIPELINE_BENCH_NO_BASELINE").is_some() {
        println!(
            "pipeline: {total} records in {:.3} s, {:.0} records/s",
            elapsed.as_secs_f64(),
            total as f64 / elapsed.as_secs_f64()
        );
        return Ok(());
    }
    // The same uncompressed bytes, for gzip.
    let mut raw = Vec::new();
    let mut stack = vec![data.clone()];
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
    let mb = raw.len() as f64 / 1e6;
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
        compressed as f64 / raw.len() as f64
    );
    println!("pipeline: peak RSS (VmHWM) {:.1} MiB", hwm as f64 / 1024.0);
    // On a shared machine the wall-clock rate depends on what else runs; CPU time does not.
    println!(
        "pipeline: {:.2} CPU-s ({:.2} cores busy on average), {:.1} us CPU per record, {:.0} records per CPU-second",
        cpu,
        cpu / secs,
        cpu * 1e6 / total as f64,
        total as f64 / cpu
    );

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
