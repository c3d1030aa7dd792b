//! Offline benchmark: events per second generating and writing gzip log files on every core,
//! beside single-threaded `gzip -6` compressing the same uncompressed bytes, in the same run.
//!
//! `cargo bench -p generator --bench offline` (env `BENCH_EVENTS_PER_DAY`, default 60000, sets
//! the size: 2 accounts x 2 Regions x 2 days of `audit-noise`).

use std::io::Write;
use std::process::{Command, Stdio};
use std::sync::atomic::AtomicBool;
use std::time::Instant;

use generator::offline::{OfflineOptions, run};
use generator::scenario::Scenario;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let per_day: u64 = std::env::var("BENCH_EVENTS_PER_DAY")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(60_000);
    let dir = tempfile::tempdir()?;
    let start = time::macros::datetime!(2026-01-05 00:00 UTC);
    let opts = OfflineOptions {
        out: dir.path().to_path_buf(),
        scenario: Scenario::load("audit-noise")?,
        start,
        end: start + time::Duration::days(2),
        accounts: Some(2),
        regions: Some(vec!["us-east-1".into(), "eu-west-1".into()]),
        events_per_day: Some(per_day),
        seed: 1,
        bucket: "bench-bucket".into(),
        prefix: None,
        threads: 0,
        level: 6,
        digests: None,
        progress: false,
    };
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    let t0 = Instant::now();
    let s = run(&opts, &AtomicBool::new(false))?;
    let gen_secs = t0.elapsed().as_secs_f64();

    // The same uncompressed bytes, concatenated, for gzip.
    let raw_path = dir.path().join("all.json");
    let mut raw = std::fs::File::create(&raw_path)?;
    let mut raw_len = 0usize;
    let mut stack = vec![dir.path().join("bench-bucket")];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d)? {
            let p = e?.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.to_string_lossy().ends_with(".json.gz") {
                let body = cloudtrail::logfile::gunzip(&std::fs::read(&p)?)?;
                raw_len += body.len();
                raw.write_all(&body)?;
            }
        }
    }
    drop(raw);
    let t1 = Instant::now();
    let status = Command::new("gzip")
        .args(["-6", "-c"])
        .arg(&raw_path)
        .stdout(Stdio::null())
        .status()?;
    let gzip_secs = t1.elapsed().as_secs_f64();
    if !status.success() {
        return Err("gzip -6 failed".into());
    }
    let mb = raw_len as f64 / 1e6;
    println!(
        "offline generation: {} events, {} files, {:.1} MB JSON -> {:.1} MB gzip, on {cores} cores",
        s.events,
        s.files,
        mb,
        s.gz_bytes as f64 / 1e6
    );
    println!(
        "  generate + gzip + write: {gen_secs:.3} s = {:.0} events/s, {:.1} MB/s of JSON",
        s.events as f64 / gen_secs,
        mb / gen_secs
    );
    println!(
        "  gzip -6 alone (1 thread, same {mb:.1} MB): {gzip_secs:.3} s = {:.1} MB/s",
        mb / gzip_secs
    );
    println!(
        "  ratio (gzip -6 time / generation time): {:.2}x (target >= 2x)",
        gzip_secs / gen_secs
    );
    Ok(())
}
