//! Integration tests of the generator: offline files (determinism, validity, digests, stopping),
//! what each preset promises, and live mode against a server that checks every signature.

#![allow(
    clippy::unwrap_used,
    reason = "a test that unwraps, helpers included, fails as a test should"
)]

mod labels;
mod live;
mod offline;
mod presets;
mod workflow;

use std::path::Path;
use std::sync::atomic::AtomicBool;

use generator::live::{EMULATOR_DEFAULT_CONFIG, LiveOptions, parse_identities};
use generator::offline::{OfflineOptions, Summary};
use generator::scenario::Scenario;
use serde_json::Value;
use time::OffsetDateTime;

/// Options for a live run of `scenario` against `endpoint` at `rate` calls a second for
/// `duration`: the emulator's default identities, constant arrivals, no setup phase, real time.
pub fn live_options(
    endpoint: String,
    scenario: Scenario,
    run: (f64, std::time::Duration),
    (concurrency, seed): (usize, u64),
) -> LiveOptions {
    let identities = parse_identities(EMULATOR_DEFAULT_CONFIG).unwrap();
    LiveOptions {
        concurrency,
        seed,
        setup: false,
        ..LiveOptions::new(endpoint, scenario, run, identities)
    }
}

/// Options for a small offline run of `scenario` over `days` days from a Monday.
pub fn options(out: &Path, scenario: &str, days: i64, seed: u64) -> OfflineOptions {
    let start = time::macros::datetime!(2026-01-05 00:00 UTC);
    OfflineOptions {
        out: out.to_path_buf(),
        scenario: Scenario::load(scenario).unwrap(),
        start,
        end: start + time::Duration::days(days),
        accounts: None,
        regions: None,
        events_per_day: None,
        seed,
        bucket: "test-bucket".into(),
        prefix: None,
        threads: 2,
        level: 6,
        digests: None,
        progress: false,
        labels: None,
        shard: None,
    }
}

/// Runs offline mode.
pub fn run(opts: &OfflineOptions) -> Summary {
    generator::offline::run(opts, &AtomicBool::new(false)).unwrap()
}

/// Every file under `dir`, relative path -> bytes, sorted.
pub fn files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out: Vec<_> = cloudtrail::store::files_under(dir)
        .into_iter()
        .map(|p| {
            let rel = p.strip_prefix(dir).unwrap().to_string_lossy().replace('\\', "/");
            (rel, std::fs::read(&p).unwrap())
        })
        .collect();
    out.sort();
    out
}

/// One delivered log file, decoded.
pub struct Log {
    /// Key inside the bucket.
    pub key: String,
    /// The uncompressed body.
    pub body: Vec<u8>,
    /// Its records as JSON.
    pub records: Vec<Value>,
}

/// Every log file of `bucket` under `dir`.
pub fn logs(dir: &Path, bucket: &str) -> Vec<Log> {
    files(&dir.join(bucket))
        .into_iter()
        .filter(|(k, _)| k.contains("/CloudTrail/"))
        .map(|(key, gz)| {
            let body = cloudtrail::logfile::gunzip(&gz).unwrap();
            let v: Value = serde_json::from_slice(&body).unwrap();
            let records = v["Records"].as_array().unwrap().clone();
            Log { key, body, records }
        })
        .collect()
}

/// Every record of a run, in file order.
pub fn all_records(dir: &Path, bucket: &str) -> Vec<Value> {
    logs(dir, bucket).into_iter().flat_map(|l| l.records).collect()
}

/// Parses a record's `eventTime`.
pub fn event_time(r: &Value) -> OffsetDateTime {
    cloudtrail::timefmt::parse_iso_seconds(r["eventTime"].as_str().unwrap()).unwrap()
}
