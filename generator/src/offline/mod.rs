//! Offline mode: CloudTrail log files (and digests) written straight into a bucket directory, on
//! every core, one shard per (account, Region, day), each with its own deterministic stream.
//!
//! [`run_delivering`] sends the same objects (keys, bodies, content type, `x-amz-meta-*`) to an
//! S3-compatible store as well as, or instead of, the directory: uploads run in the background
//! while generation goes on, with a bounded number in flight (`s3_store::S3Uploader`).

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use cloudtrail::digest::{self, DigestLogFile, DigestTarget, PreviousDigest};
use cloudtrail::keys::KeyPair;
use cloudtrail::layout::{self, LogDestination};
use cloudtrail::logfile::{self, RawRecord, WrittenLog};
use cloudtrail::store::ObjectMeta;
use cloudtrail::store::{LocalDir, ObjectStore, PutObject, StoreError};
use cloudtrail::{SystemClock, UserIdentity};
use rand::RngExt;
use s3_store::{S3StoreConfig, S3StoreError, S3Uploader, UploadOptions, UploadStats};
use time::OffsetDateTime;

mod digests;

pub use digests::digest_key;
use digests::write_digests;

use crate::labels::{self, LabelLine};
use crate::plan::{self, Item, Plan, Shard};
use crate::population::Population;
use crate::record;
use crate::scenario::Scenario;

/// CloudTrail publishes roughly every five minutes.
pub const WINDOW_MS: i64 = 300_000;
/// Share of records that miss their window and arrive in the next one.
const LATE_RATE: f64 = 0.004;
/// Share of records that arrive two windows late.
const VERY_LATE_RATE: f64 = 0.001;

/// Why an offline run failed.
#[derive(Debug, thiserror::Error)]
pub enum OfflineError {
    /// Writing an object failed.
    #[error("writing to the bucket directory: {0}")]
    Store(#[from] StoreError),
    /// The options cannot describe a run.
    #[error("{0}")]
    Invalid(String),
    /// A worker thread panicked (a bug).
    #[error("a worker thread panicked")]
    Panicked,
    /// Delivery to the S3-compatible store failed (after bounded retries for transient errors).
    #[error("uploading to the S3-compatible store: {0}")]
    Upload(S3StoreError),
}

// Not `#[from]`: that would also make the store error the `source`, and error reports that
// print the chain would say everything twice.
impl From<S3StoreError> for OfflineError {
    fn from(e: S3StoreError) -> Self {
        OfflineError::Upload(e)
    }
}

/// Upload to an S3-compatible store (AWS S3, MinIO, moto).
#[derive(Debug, Clone)]
pub struct S3Delivery {
    /// Endpoint, Region, credentials, addressing style, per-attempt timeout.
    pub store: S3StoreConfig,
    /// Requests in flight and attempts per request.
    pub upload: UploadOptions,
}

/// Where [`run_delivering`] puts the objects: the local directory `OfflineOptions::out`, an
/// S3-compatible store, or both (the same bytes in both).
#[derive(Debug, Clone)]
pub struct Delivery {
    /// Write into `<out>/<bucket>/<key>`.
    pub local: bool,
    /// Upload to `s3://<bucket>/<key>` at this store.
    pub s3: Option<S3Delivery>,
}

/// Digest files alongside the logs.
pub struct DigestOptions {
    /// Signs every digest.
    pub key: Arc<KeyPair>,
    /// The trail's name, part of the digest file names.
    pub trail_name: String,
}

impl std::fmt::Debug for DigestOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DigestOptions")
            .field("trail_name", &self.trail_name)
            .field("fingerprint", &self.key.fingerprint())
            .finish()
    }
}

/// What to generate.
#[derive(Debug)]
pub struct OfflineOptions {
    /// The data directory; files land in `<out>/<bucket>/<key>`.
    pub out: PathBuf,
    /// The scenario.
    pub scenario: Scenario,
    /// First instant (inclusive).
    pub start: OffsetDateTime,
    /// Last instant (exclusive).
    pub end: OffsetDateTime,
    /// Number of accounts (overrides the scenario).
    pub accounts: Option<u32>,
    /// Regions (override the scenario).
    pub regions: Option<Vec<String>>,
    /// Mix calls per account, Region and full day (overrides the scenario).
    pub events_per_day: Option<u64>,
    /// The seed of every random choice.
    pub seed: u64,
    /// Bucket name.
    pub bucket: String,
    /// Optional `S3KeyPrefix`.
    pub prefix: Option<String>,
    /// Worker threads (0 = one per core).
    pub threads: usize,
    /// gzip level (6 = gzip's default).
    pub level: i32,
    /// Digests, when wanted.
    pub digests: Option<DigestOptions>,
    /// Draw a progress bar on stderr (only shown on a terminal).
    pub progress: bool,
    /// Where to write the answer key (JSON Lines), when wanted.
    pub labels: Option<PathBuf>,
    /// `(K, N)`: write only shard K of N (0-based), a deterministic share of the population.
    pub shard: Option<(u32, u32)>,
}

/// What a run wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    /// Records written.
    pub events: u64,
    /// Log files written.
    pub files: u64,
    /// Digest files written.
    pub digests: u64,
    /// Uncompressed JSON bytes.
    pub raw_bytes: u64,
    /// gzip bytes.
    pub gz_bytes: u64,
    /// Whether the stop flag ended the run early (every file written is complete).
    pub interrupted: bool,
    /// Lines written to the answer key.
    pub labels: u64,
}

struct Counters {
    events: AtomicU64,
    files: AtomicU64,
    raw: AtomicU64,
    gz: AtomicU64,
}

/// Generates the run into `opts.out`. `stop` is polled between files (set it from a Ctrl-C handler).
pub fn run(opts: &OfflineOptions, stop: &AtomicBool) -> Result<Summary, OfflineError> {
    if !cloudtrail::store::valid_bucket(&opts.bucket) {
        return Err(OfflineError::Invalid(format!(
            "{:?} is not a valid bucket name",
            opts.bucket
        )));
    }
    // Nothing reads back what a run writes: its puts need not hash the files for ETags.
    let store = LocalDir::new(&opts.out).hashing_puts(false);
    store.create_bucket(&opts.bucket)?;
    run_with_store(opts, &store, stop)
}

/// The local directory, the uploader, or both, as one store: local first, so a file that is
/// uploaded is also on disk when both are asked for.
struct Tee {
    local: Option<LocalDir>,
    s3: Option<Arc<S3Uploader>>,
}

impl ObjectStore for Tee {
    fn put_object(&self, object: &PutObject<'_>) -> Result<ObjectMeta, StoreError> {
        let (bucket, key, body) = (object.bucket, object.key, object.body);
        let (content_type, user_meta) = (object.content_type, object.user_meta);
        let local = match &self.local {
            Some(d) => Some(d.put(bucket, key, body, content_type, user_meta)?),
            None => None,
        };
        let remote = match &self.s3 {
            Some(u) => Some(u.put(bucket, key, body, content_type, user_meta)?),
            None => None,
        };
        local.or(remote).ok_or_else(|| StoreError::Io {
            op: "put",
            path: format!("{bucket}/{key}"),
            source: std::io::Error::other("no destination"),
        })
    }
}

/// Generates the run into the local directory, an S3-compatible store, or both. The store is
/// checked (`HeadBucket`) before anything is generated, so a wrong endpoint, bucket or key
/// fails at once; digests are written only after every log file they cover is uploaded; on a
/// stop (Ctrl-C) the files already generated are still uploaded, and nothing partial is ever
/// stored. Returns what was uploaded beside the summary.
pub fn run_delivering(
    opts: &OfflineOptions,
    delivery: &Delivery,
    stop: &AtomicBool,
) -> Result<(Summary, Option<UploadStats>), OfflineError> {
    if !delivery.local && delivery.s3.is_none() {
        return Err(OfflineError::Invalid(
            "nowhere to deliver: give a local directory, an S3-compatible store, or both".into(),
        ));
    }
    if !cloudtrail::store::valid_bucket(&opts.bucket) {
        return Err(OfflineError::Invalid(format!(
            "{:?} is not a valid bucket name",
            opts.bucket
        )));
    }
    let uploader = match &delivery.s3 {
        Some(s) => {
            let u = S3Uploader::start(&s.store, s.upload, Arc::new(SystemClock))?;
            u.check_bucket(&opts.bucket)?;
            Some(Arc::new(u))
        }
        None => None,
    };
    let local = if delivery.local {
        let d = LocalDir::new(&opts.out).hashing_puts(false);
        d.create_bucket(&opts.bucket)?;
        Some(d)
    } else {
        None
    };
    let tee = Tee {
        local,
        s3: uploader.clone(),
    };
    let barrier = || match &uploader {
        Some(u) => u.flush().map(|_| ()).map_err(OfflineError::from),
        None => Ok(()),
    };
    let result = generate(opts, &tee, stop, &barrier);
    let Some(u) = uploader else {
        return result.map(|s| (s, None));
    };
    // Upload what is queued (also after a stop), then prefer the store's own error: a failed
    // upload also fails the put that noticed it, with a less direct message.
    let finished = u.finish();
    match (result, finished) {
        (_, Err(e)) => Err(e.into()),
        (Err(e), Ok(_)) => Err(e),
        (Ok(s), Ok(stats)) => Ok((s, Some(stats))),
    }
}

/// Generates the run into any object store (`opts.out` is then only where a generated digest
/// key is written). The benchmark uses an in-memory store to time generation and compression
/// without the file system.
pub fn run_with_store(
    opts: &OfflineOptions,
    store: &dyn ObjectStore,
    stop: &AtomicBool,
) -> Result<Summary, OfflineError> {
    generate(opts, store, stop, &|| Ok(()))
}

/// The run; `before_digests` is called between the last log file and the first digest.
fn generate(
    opts: &OfflineOptions,
    store: &dyn ObjectStore,
    stop: &AtomicBool,
    before_digests: &dyn Fn() -> Result<(), OfflineError>,
) -> Result<Summary, OfflineError> {
    if opts.end <= opts.start {
        return Err(OfflineError::Invalid("--end must be after --start".into()));
    }
    if !cloudtrail::store::valid_bucket(&opts.bucket) {
        return Err(OfflineError::Invalid(format!(
            "{:?} is not a valid bucket name",
            opts.bucket
        )));
    }
    let mut scenario = opts.scenario.clone();
    if let Some(n) = opts.events_per_day {
        if n > crate::scenario::MAX_EVENTS_PER_DAY {
            return Err(OfflineError::Invalid(format!(
                "--events-per-day must be at most {}",
                crate::scenario::MAX_EVENTS_PER_DAY
            )));
        }
        scenario.events_per_day = n;
    }
    let regions = opts
        .regions
        .clone()
        .unwrap_or_else(|| scenario.population.regions.clone());
    if regions.is_empty() || !regions.iter().all(|r| crate::scenario::valid_region(r)) {
        return Err(OfflineError::Invalid(format!("bad region list {regions:?}")));
    }
    let accounts = opts.accounts.unwrap_or(scenario.population.accounts);
    if accounts == 0 || accounts > 10_000 {
        return Err(OfflineError::Invalid("--accounts must be 1..=10000".into()));
    }
    let population = Population::generate(&scenario, accounts, &regions, opts.seed);
    let days = plan::days(opts.start, opts.end);
    if let Some((k, n)) = opts.shard
        && (n == 0 || k >= n)
    {
        return Err(OfflineError::Invalid(format!(
            "--shard {k}/{n}: K must be below N"
        )));
    }
    let mut shards = Vec::new();
    for a in 0..population.accounts.len() {
        for r in 0..regions.len() {
            if !in_shard(opts.shard, a, r, population.accounts.len(), regions.len()) {
                continue;
            }
            for (s, e) in &days {
                shards.push(Shard {
                    account: a,
                    region: r,
                    start_ms: *s,
                    end_ms: *e,
                });
            }
        }
    }
    let threads = if opts.threads == 0 {
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
    } else {
        opts.threads
    }
    .min(shards.len().max(1));

    let estimate = (scenario.events_per_day as f64 * (opts.end - opts.start).as_seconds_f64() / 86_400.0
        * (population.accounts.len() * regions.len()) as f64
        * 0.8) as u64;
    let bar = progress_bar(opts.progress, estimate);
    let counters = Counters {
        events: AtomicU64::new(0),
        files: AtomicU64::new(0),
        raw: AtomicU64::new(0),
        gz: AtomicU64::new(0),
    };
    let next = AtomicUsize::new(0);
    let written: Mutex<Vec<WrittenLog>> = Mutex::new(Vec::new());
    let failure: Mutex<Option<OfflineError>> = Mutex::new(None);
    let label_lines: Mutex<Vec<LabelLine>> = Mutex::new(Vec::new());
    let ctx = ShardCtx {
        scenario: &scenario,
        population: &population,
        opts,
        store,
        counters: &counters,
        stop,
        labels: opts.labels.is_some().then_some(&label_lines),
    };
    let panicked = std::thread::scope(|scope| {
        // The progress bar's ticker sleeps on a channel nobody sends on: dropping the sender
        // when the workers are done wakes it at once, so the run never waits out a tick.
        let (finished, tick) = std::sync::mpsc::channel::<()>();
        let (bar, counters) = (&bar, &counters);
        let ticker = scope.spawn(move || {
            while let Err(std::sync::mpsc::RecvTimeoutError::Timeout) =
                tick.recv_timeout(Duration::from_millis(100))
            {
                bar.set_position(counters.events.load(Ordering::Relaxed));
            }
        });
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    let mut mine = Vec::new();
                    loop {
                        if stop.load(Ordering::Relaxed) {
                            break;
                        }
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(shard) = shards.get(i) else { break };
                        match ctx.run_shard(*shard) {
                            Ok(mut logs) => mine.append(&mut logs),
                            Err(e) => {
                                *failure.lock().unwrap_or_else(|p| p.into_inner()) = Some(e);
                                stop.store(true, Ordering::Relaxed);
                                break;
                            }
                        }
                    }
                    written
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .append(&mut mine);
                })
            })
            .collect();
        let panicked = workers
            .into_iter()
            .map(|w| w.join().is_err())
            .fold(false, |a, b| a | b);
        drop(finished);
        let _ = ticker.join();
        panicked
    });
    bar.set_position(counters.events.load(Ordering::Relaxed));
    bar.finish_and_clear();
    if panicked {
        return Err(OfflineError::Panicked);
    }
    if let Some(e) = failure.into_inner().unwrap_or_else(|p| p.into_inner()) {
        return Err(e);
    }
    let interrupted = stop.load(Ordering::Relaxed);
    let mut summary = Summary {
        events: counters.events.load(Ordering::Relaxed),
        files: counters.files.load(Ordering::Relaxed),
        digests: 0,
        raw_bytes: counters.raw.load(Ordering::Relaxed),
        gz_bytes: counters.gz.load(Ordering::Relaxed),
        interrupted,
        labels: 0,
    };
    if let Some(path) = &opts.labels {
        let lines = label_lines.into_inner().unwrap_or_else(|p| p.into_inner());
        summary.labels = lines.len() as u64;
        std::fs::write(path, labels::to_jsonl(lines))
            .map_err(|e| OfflineError::Invalid(format!("writing the labels to {}: {e}", path.display())))?;
    }
    if let (Some(d), false) = (&opts.digests, interrupted) {
        // A digest must never point at a log file that did not make it to the store.
        before_digests()?;
        let logs = written.into_inner().unwrap_or_else(|p| p.into_inner());
        summary.digests = write_digests(opts, d, &population, &regions, logs, store, threads)?;
    }
    Ok(summary)
}

/// Whether (account, Region) belongs to shard `K/N`. With at least N accounts the shards split
/// the accounts; otherwise they split (account, Region) pairs. Either way each pair is whole in
/// one shard, so its log files and digest chain are the single run's.
pub fn in_shard(
    shard: Option<(u32, u32)>,
    account: usize,
    region: usize,
    accounts: usize,
    regions: usize,
) -> bool {
    let Some((k, n)) = shard else { return true };
    let (k, n) = (k as usize, n.max(1) as usize);
    if accounts >= n {
        account % n == k
    } else {
        (account * regions + region) % n == k
    }
}

fn progress_bar(show: bool, estimate: u64) -> indicatif::ProgressBar {
    use std::io::IsTerminal;
    if !show || !std::io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(estimate.max(1));
    let style = indicatif::ProgressStyle::with_template(
        "{elapsed_precise} [{wide_bar}] {human_pos}/~{human_len} events  {per_sec}  ETA {eta}",
    );
    if let Ok(style) = style {
        bar.set_style(style.progress_chars("=> "));
    }
    bar
}

struct ShardCtx<'a> {
    scenario: &'a Scenario,
    population: &'a Population,
    opts: &'a OfflineOptions,
    store: &'a dyn ObjectStore,
    counters: &'a Counters,
    stop: &'a AtomicBool,
    /// The answer key being gathered, when asked for.
    labels: Option<&'a Mutex<Vec<LabelLine>>>,
}

/// Records waiting for their delivery window: (event time, JSON).
type Pending = BTreeMap<i64, Vec<(OffsetDateTime, Vec<u8>)>>;

impl ShardCtx<'_> {
    fn run_shard(&self, shard: Shard) -> Result<Vec<WrittenLog>, OfflineError> {
        let account = self
            .population
            .accounts
            .get(shard.account)
            .cloned()
            .unwrap_or_default();
        let region = self
            .population
            .regions
            .get(shard.region)
            .cloned()
            .unwrap_or_default();
        let dest = LogDestination {
            bucket: self.opts.bucket.clone(),
            prefix: self.opts.prefix.clone(),
            org_id: None,
            account: account.clone(),
            region: region.clone(),
        };
        let trail_name = self
            .opts
            .digests
            .as_ref()
            .map(|d| d.trail_name.as_str())
            .unwrap_or("generator");
        let trail = format!(
            "arn:aws:cloudtrail:{}:{account}:trail/{trail_name}",
            self.population.regions.first().cloned().unwrap_or_default(),
        );
        let mut plan = Plan::new(self.scenario, self.population, self.opts.seed, shard, false)
            .with_trail(trail_name, &self.opts.bucket);
        let mut labelled: Vec<LabelLine> = Vec::new();
        let last_window = (shard.end_ms - 1).div_euclid(WINDOW_MS);
        let mut pending: Pending = BTreeMap::new();
        let mut identities: HashMap<(usize, i64), UserIdentity> = HashMap::new();
        let mut written = Vec::new();
        let salt = self.opts.seed ^ 0x5e55_1011;
        while let Some(item) = plan.next_item() {
            let (time_ms, principal_index) = match &item {
                Item::Call(e) => (e.time_ms, e.principal),
                Item::Plane(e) => (e.time_ms, e.principal),
                Item::Workflow(_) => continue,
            };
            if self.stop.load(Ordering::Relaxed) {
                // Stopping: what is written is complete; drop the rest of the shard.
                return Ok(written.into_iter().flatten().collect());
            }
            let window = time_ms.div_euclid(WINDOW_MS);
            // Every window before this one is complete: deliver it.
            while let Some((&w, _)) = pending.first_key_value() {
                if w >= window {
                    break;
                }
                let Some((w, records)) = pending.pop_first() else {
                    break;
                };
                written.push(self.deliver(&mut plan, &dest, &trail, w, records)?);
            }
            let hour = time_ms.div_euclid(3_600_000);
            let Some(principal) = self.population.principals.get(principal_index) else {
                continue;
            };
            let identity = identities
                .entry((principal_index, hour))
                .or_insert_with(|| {
                    let start = OffsetDateTime::from_unix_timestamp(hour * 3600)
                        .unwrap_or(OffsetDateTime::UNIX_EPOCH);
                    principal.user_identity(&account, Some((start, salt ^ principal_index as u64)))
                })
                .clone();
            let (rec, label) = match item {
                Item::Call(event) => (
                    record::to_record(&event, identity, &account, &region, plan.rng()),
                    event.label.map(|l| *l),
                ),
                Item::Plane(event) => (
                    crate::plane::to_record(
                        &event,
                        identity,
                        &account,
                        &region,
                        &self.opts.bucket,
                        plan.rng(),
                    ),
                    event.label,
                ),
                Item::Workflow(_) => continue,
            };
            if let (Some(label), Some(_)) = (label, self.labels) {
                labelled.push(LabelLine {
                    event_id: rec.event_id.to_string(),
                    request_id: rec.request_id.clone(),
                    event_time: cloudtrail::timefmt::iso_seconds(rec.event_time),
                    event_name: rec.event_name.clone(),
                    event_source: rec.event_source.clone(),
                    account: rec.recipient_account_id.clone(),
                    region: rec.aws_region.clone(),
                    technique: label.technique,
                    mitre: label.mitre,
                    step: label.step,
                    actor: principal.arn(&account),
                });
            }
            let x: f64 = plan.rng().random();
            let delay = if x < VERY_LATE_RATE {
                2
            } else if x < VERY_LATE_RATE + LATE_RATE {
                1
            } else {
                0
            };
            let target = (window + delay).min(last_window);
            pending
                .entry(target)
                .or_default()
                .push((rec.event_time, rec.to_json()));
        }
        while let Some((w, records)) = pending.pop_first() {
            written.push(self.deliver(&mut plan, &dest, &trail, w, records)?);
        }
        if let Some(all) = self.labels {
            all.lock()
                .unwrap_or_else(|p| p.into_inner())
                .append(&mut labelled);
        }
        Ok(written.into_iter().flatten().collect())
    }

    fn deliver(
        &self,
        plan: &mut Plan<'_>,
        dest: &LogDestination,
        trail: &str,
        window: i64,
        records: Vec<(OffsetDateTime, Vec<u8>)>,
    ) -> Result<Option<WrittenLog>, OfflineError> {
        // Draw the delivery details even when stopping, so what is written never depends on timing.
        let rng = plan.rng();
        let delay_ms = rng.random_range(30_000..270_000);
        let unique = layout::unique_string(rng);
        if records.is_empty() || self.stop.load(Ordering::Relaxed) {
            return Ok(None);
        }
        let delivered_ms = (window + 1) * WINDOW_MS + delay_ms;
        let delivered_at =
            OffsetDateTime::from_unix_timestamp(delivered_ms / 1000).unwrap_or(OffsetDateTime::UNIX_EPOCH);
        let raw: Vec<RawRecord<'_>> = records
            .iter()
            .map(|(t, j)| RawRecord {
                json: j,
                event_time: *t,
            })
            .collect();
        let log = logfile::write_raw(
            self.store,
            trail,
            dest,
            &raw,
            delivered_at,
            &unique,
            logfile::LogOptions {
                level: self.opts.level,
                hash: self.opts.digests.is_some(),
            },
        )?;
        let raw_len: usize = records.iter().map(|r| r.1.len() + 1).sum::<usize>() + 13;
        self.counters
            .events
            .fetch_add(records.len() as u64, Ordering::Relaxed);
        self.counters.files.fetch_add(1, Ordering::Relaxed);
        self.counters.raw.fetch_add(raw_len as u64, Ordering::Relaxed);
        self.counters
            .gz
            .fetch_add(log.compressed_bytes as u64, Ordering::Relaxed);
        Ok(Some(log))
    }
}

/// How long ago `t` was, for reports.
pub fn elapsed(t: Instant) -> f64 {
    t.elapsed().as_secs_f64()
}
