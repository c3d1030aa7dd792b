//! Offline benchmark: events per second generating and compressing CloudTrail log files on every
//! core, beside single-threaded `gzip -6` compressing the same uncompressed bytes, in the same run.
//!
//! Two timings of the same run (same seed, byte-identical output): into an in-memory object store
//! (generation + gzip, what the target is about), and into a bucket directory on disk (adds the
//! file system). `cargo bench -p generator --bench offline`; `BENCH_EVENTS_PER_DAY` (default
//! 60000) sets the size: 2 accounts x 2 Regions x 2 days of `audit-noise`; `BENCH_THREADS`
//! (default: one per core) the workers.
//!
//! Then whole processes, as a user runs them: `generator offline` for a week of the
//! `audit-noise` preset into a directory, against `gzip -6` over the same uncompressed bytes,
//! alternating (`BENCH_ROUNDS`, default 3, pairs), each pair's wall-clock ratio and the median
//! (target at least 2.5x), with both processes' CPU time.

use std::io::Write;
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::sync::atomic::AtomicBool;
use std::time::Instant;

use cloudtrail::store::{ObjectMeta, ObjectStore, PutObject, StoreError};
use generator::offline::{OfflineOptions, run, run_with_store};
use generator::scenario::Scenario;

/// Keeps every object in memory.
#[derive(Default)]
struct MemStore {
    objects: Mutex<Vec<Vec<u8>>>,
}

impl ObjectStore for MemStore {
    fn put_object(&self, object: &PutObject<'_>) -> Result<ObjectMeta, StoreError> {
        let PutObject {
            body,
            content_type,
            user_meta,
            ..
        } = *object;
        self.objects
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(body.to_vec());
        Ok(ObjectMeta {
            content_type: content_type.to_owned(),
            user: user_meta.clone(),
            last_modified: time::OffsetDateTime::UNIX_EPOCH,
            size: body.len() as u64,
            etag: String::new(),
        })
    }
}

/// (own user+system, waited-for children's user+system) CPU seconds, from `/proc/self/stat`
/// (clock ticks of 1/100 s); `None` where there is no procfs.
fn cpu_secs() -> Option<(f64, f64)> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let fields: Vec<f64> = stat
        .rsplit_once(')')?
        .1
        .split_whitespace()
        .filter_map(|f| f.parse().ok())
        .collect();
    // After the command name: state is not numeric, so utime is index 10 here.
    let get = |i: usize| fields.get(i).copied();
    Some(((get(10)? + get(11)?) / 100.0, (get(12)? + get(13)?) / 100.0))
}

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
        threads: std::env::var("BENCH_THREADS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(0),
        level: 6,
        digests: None,
        progress: false,
        labels: None,
        shard: None,
    };
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);

    let mem = MemStore::default();
    let cpu0 = cpu_secs();
    let t0 = Instant::now();
    let s = run_with_store(&opts, &mem, &AtomicBool::new(false))?;
    let mem_secs = t0.elapsed().as_secs_f64();
    let cpu1 = cpu_secs();

    let t1 = Instant::now();
    let disk = run(&opts, &AtomicBool::new(false))?;
    let disk_secs = t1.elapsed().as_secs_f64();
    assert_eq!(s, disk, "the two runs must write the same thing");

    // The same uncompressed bytes, concatenated, for gzip.
    let raw_path = dir.path().join("all.json");
    let mut raw = std::fs::File::create(&raw_path)?;
    let mut raw_len = 0usize;
    for gz in mem.objects.lock().unwrap_or_else(|p| p.into_inner()).iter() {
        let body = cloudtrail::logfile::gunzip(gz)?;
        raw_len += body.len();
        raw.write_all(&body)?;
    }
    drop(raw);
    let cpu2 = cpu_secs();
    let t2 = Instant::now();
    let status = Command::new("gzip")
        .args(["-6", "-c"])
        .arg(&raw_path)
        .stdout(Stdio::null())
        .status()?;
    let gzip_secs = t2.elapsed().as_secs_f64();
    let cpu3 = cpu_secs();
    if !status.success() {
        return Err("gzip -6 failed".into());
    }
    let mb = raw_len as f64 / 1e6;
    println!(
        "offline generation: {} events in {} files, {:.1} MB JSON -> {:.1} MB gzip (level 6), {cores} cores",
        s.events,
        s.files,
        mb,
        s.gz_bytes as f64 / 1e6
    );
    println!(
        "  generate + gzip (in memory):       {mem_secs:7.3} s = {:>8.0} events/s, {:6.1} MB/s of JSON",
        s.events as f64 / mem_secs,
        mb / mem_secs
    );
    println!(
        "  generate + gzip + write files:     {disk_secs:7.3} s = {:>8.0} events/s, {:6.1} MB/s of JSON",
        s.events as f64 / disk_secs,
        mb / disk_secs
    );
    println!(
        "  gzip -6 alone (1 thread, same bytes): {gzip_secs:7.3} s = {:6.1} MB/s",
        mb / gzip_secs
    );
    println!(
        "  ratio gzip -6 time / generation time: {:.2}x in memory, {:.2}x writing files",
        gzip_secs / mem_secs,
        gzip_secs / disk_secs
    );
    // Wall-clock ratios depend on how much of the machine the run gets; CPU time does not.
    if let (Some(a), Some(b), Some(c), Some(d)) = (cpu0, cpu1, cpu2, cpu3) {
        let gen_cpu = b.0 - a.0;
        let gzip_cpu = d.1 - c.1;
        println!(
            "  CPU time: generate + gzip {gen_cpu:.2} s, gzip -6 {gzip_cpu:.2} s: {:.2}x less CPU per byte; \
             on {cores} free cores the wall-clock ratio would be about {:.2}x",
            gzip_cpu / gen_cpu.max(1e-9),
            gzip_cpu / gen_cpu.max(1e-9) * cores as f64
        );
    }
    whole_processes(dir.path())
}

/// Wall-clock seconds and the child's CPU seconds (user + system) of one process.
fn timed(cmd: &mut Command) -> Result<(f64, f64), Box<dyn std::error::Error>> {
    let before = cpu_secs().map_or(0.0, |c| c.1);
    let t = Instant::now();
    let status = cmd.stdout(Stdio::null()).stderr(Stdio::null()).status()?;
    let secs = t.elapsed().as_secs_f64();
    if !status.success() {
        return Err(format!("{cmd:?} failed").into());
    }
    Ok((secs, cpu_secs().map_or(0.0, |c| c.1) - before))
}

/// `generator offline` for a week of `audit-noise` beside `gzip -6` of its bytes, alternating.
/// Every run writes into a new folder, and none is removed before the last round: on ext4,
/// creating files in the minutes after thousands were deleted costs several times the system
/// time (the inode allocator checks each recently freed inode), which would measure the last
/// round's clean-up rather than the generator.
fn whole_processes(tmp: &std::path::Path) -> Result<(), Box<dyn std::error::Error>> {
    let rounds: usize = std::env::var("BENCH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3);
    let generate = |out: &std::path::Path| {
        let mut c = Command::new(env!("CARGO_BIN_EXE_generator"));
        c.args([
            "offline",
            "--scenario",
            "audit-noise",
            "--start",
            "2026-01-05",
            "--end",
            "2026-01-12",
            "--quiet",
        ])
        .arg("--out")
        .arg(out);
        c
    };
    // The uncompressed bytes of one run, for gzip.
    let first = tmp.join("week-0");
    timed(&mut generate(&first))?;
    let raw_path = tmp.join("week.json");
    let mut raw = std::fs::File::create(&raw_path)?;
    let mut raw_len = 0usize;
    let mut todo = vec![first.clone()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d)?.flatten() {
            let p = e.path();
            if p.is_dir() {
                todo.push(p);
            } else if p.to_string_lossy().ends_with(".json.gz") {
                let body = cloudtrail::logfile::gunzip(&std::fs::read(&p)?)?;
                raw_len += body.len();
                raw.write_all(&body)?;
            }
        }
    }
    drop(raw);
    println!(
        "whole processes: `generator offline --scenario audit-noise` for a week ({:.1} MB JSON) vs `gzip -6` of the same bytes",
        raw_len as f64 / 1e6
    );
    let mut ratios = Vec::new();
    for i in 1..=rounds {
        let out = tmp.join(format!("week-{i}"));
        let (gen_secs, gen_cpu) = timed(&mut generate(&out))?;
        let (gzip_secs, gzip_cpu) = timed(Command::new("gzip").args(["-6", "-c"]).arg(&raw_path))?;
        let ratio = gzip_secs / gen_secs;
        ratios.push(ratio);
        println!(
            "  round {i}: generator {gen_secs:.3} s ({gen_cpu:.2} s CPU), gzip -6 {gzip_secs:.3} s ({gzip_cpu:.2} s CPU): {ratio:.2}x"
        );
    }
    ratios.sort_by(f64::total_cmp);
    let median = ratios.get(ratios.len() / 2).copied().unwrap_or(0.0);
    println!("  median wall-clock ratio gzip -6 / generator: {median:.2}x (target >= 2.5x)");
    Ok(())
}
