//! Event history (what `LookupEvents` reads): every management event per account and Region
//! for 90 days, independent of trails, on disk so it survives a restart.
//!
//! Storage is one append-only segment file per (account, Region, UTC day of `eventTime`):
//! `<dir>/<account>/<region>/<YYYY-MM-DD>.jsonl`. Each line is a small header (time, sequence
//! number, the eight lookup attributes) and the record's JSON, separated by a tab (JSON never
//! contains a raw tab). Memory holds only an index of segment names and sizes, bounded by
//! days kept × (account, Region) pairs, and a query keeps at most `MaxResults + 1` events:
//! it scans segments newest day first and stops as soon as a page is full.
//!
//! `append` runs on the request path of every call, so it only formats the line (reusing the
//! record JSON the spool already made, see [`History::append_json`]) and queues it in memory.
//! A writer thread appends the queued lines with one `write` per segment, every
//! [`FLUSH_EVERY`] or as soon as [`FLUSH_BYTES`] are queued; `LookupEvents` writes what is queued
//! before it reads, so a lookup still sees every event recorded before it (AWS only promises
//! events within about 5 minutes). The price: a process killed with SIGKILL loses the last
//! fraction of a second of history (never of trail logs, which go through the spool); a
//! graceful stop, which drops the `History`, writes everything.

use std::borrow::Cow;
use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, HashMap};
use std::fs;
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex};

use base64::Engine as _;
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use time::{Date, Duration, OffsetDateTime};

use crate::clock::SharedClock;
use crate::record::{EventCategory, Record};

/// How long events stay in history.
pub const RETENTION_DAYS: i64 = 90;
/// `MaxResults` bounds and default.
pub const MAX_RESULTS: i64 = 50;
/// Most open segment files kept for appending.
const MAX_OPEN_FILES: usize = 64;
/// How much of a segment's tail is read at startup to find its last sequence number.
const TAIL_BYTES: u64 = 1 << 20;
/// Queued lines are written at least this often.
pub const FLUSH_EVERY: std::time::Duration = std::time::Duration::from_millis(500);
/// Queued lines are written as soon as they reach this many bytes.
pub const FLUSH_BYTES: usize = 1 << 20;
/// `append` waits for the writer (rather than queue more) beyond this many bytes queued.
const MAX_QUEUED_BYTES: usize = 16 << 20;

/// The lookup attribute keys, as the API spells them.
pub const ATTRIBUTE_KEYS: &[&str] = &[
    "EventId",
    "EventName",
    "ReadOnly",
    "Username",
    "ResourceType",
    "ResourceName",
    "EventSource",
    "AccessKeyId",
];

/// Why a history operation failed; each variant but `Io` is the AWS error of the same name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HistoryError {
    /// Bad `LookupAttributes`.
    #[error("{0}")]
    InvalidLookupAttributes(String),
    /// `StartTime` after `EndTime`.
    #[error("{0}")]
    InvalidTimeRange(String),
    /// `MaxResults` outside 1 to 50.
    #[error("{0}")]
    InvalidMaxResults(String),
    /// A token that is malformed or belongs to another query.
    #[error("{0}")]
    InvalidNextToken(String),
    /// An `EventCategory` other than `insight`.
    #[error("{0}")]
    InvalidEventCategory(String),
    /// Over the per-account, per-Region request rate.
    #[error("{0}")]
    Throttling(String),
    /// The history files could not be read or written.
    #[error("event history I/O: {0}")]
    Io(String),
}

impl HistoryError {
    /// The AWS error code (`__type`).
    pub fn code(&self) -> &'static str {
        match self {
            HistoryError::InvalidLookupAttributes(_) => "InvalidLookupAttributesException",
            HistoryError::InvalidTimeRange(_) => "InvalidTimeRangeException",
            HistoryError::InvalidMaxResults(_) => "InvalidMaxResultsException",
            HistoryError::InvalidNextToken(_) => "InvalidNextTokenException",
            HistoryError::InvalidEventCategory(_) => "InvalidEventCategoryException",
            HistoryError::Throttling(_) => "ThrottlingException",
            HistoryError::Io(_) => "InternalFailure",
        }
    }

    /// Whether the fault is the server's (HTTP 500).
    pub fn is_server_fault(&self) -> bool {
        matches!(self, HistoryError::Io(_))
    }
}

fn io(e: impl std::fmt::Display) -> HistoryError {
    HistoryError::Io(e.to_string())
}

/// The per-line header: everything a lookup filters or sorts on. Appends borrow the record's
/// strings (no copies on the request path); lookups read owned ones (`Header<'static>`).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Header<'a> {
    /// `eventTime`, epoch seconds.
    t: i64,
    /// Append sequence number, breaks ties within a second (later first).
    s: u64,
    id: Cow<'a, str>,
    n: Cow<'a, str>,
    ro: Cow<'a, str>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    u: Option<String>,
    src: Cow<'a, str>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    ak: Option<Cow<'a, str>>,
    /// `(ResourceType, ResourceName)` pairs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    r: Vec<(Option<String>, Option<String>)>,
}

impl<'a> Header<'a> {
    /// The header of `record`; `id` is where its event ID is formatted.
    fn of(record: &'a Record, id: &'a mut [u8; 36], seq: u64) -> Header<'a> {
        Header {
            t: record.event_time.unix_timestamp(),
            s: seq,
            id: Cow::Borrowed(record.event_id.hyphenated().encode_lower(id)),
            n: Cow::Borrowed(&record.event_name),
            ro: Cow::Borrowed(if record.read_only == Some(true) {
                "true"
            } else {
                "false"
            }),
            u: record.user_identity.lookup_username(),
            src: Cow::Borrowed(&record.event_source),
            ak: record.user_identity.access_key_id.as_deref().map(Cow::Borrowed),
            r: lookup_resources(record),
        }
    }

    fn key(&self) -> (i64, u64) {
        (self.t, self.s)
    }

    fn matches(&self, attr: Option<&(String, String)>) -> bool {
        let Some((k, v)) = attr else { return true };
        match k.as_str() {
            "EventId" => self.id == v.as_str(),
            "EventName" => self.n == v.as_str(),
            "ReadOnly" => self.ro == v.as_str(),
            "Username" => self.u.as_ref() == Some(v),
            "ResourceType" => self.r.iter().any(|(t, _)| t.as_ref() == Some(v)),
            "ResourceName" => self.r.iter().any(|(_, n)| n.as_ref() == Some(v)),
            "EventSource" => self.src == v.as_str(),
            "AccessKeyId" => self.ak.as_deref() == Some(v.as_str()),
            _ => false,
        }
    }
}

/// The `(ResourceType, ResourceName)` pairs Event history shows for a record: its `resources`
/// when it has them, otherwise the ARNs named by the top-level members of `requestParameters`
/// and `responseElements` (as Event history lists the resources a management call referenced),
/// typed from the ARN: `arn:aws:personalize:…:dataset-group/x` is `AWS::Personalize::DatasetGroup`.
pub fn lookup_resources(record: &Record) -> Vec<(Option<String>, Option<String>)> {
    if !record.resources.is_empty() {
        return record
            .resources
            .iter()
            .map(|r| {
                (
                    r.resource_type.clone(),
                    r.arn.clone().or_else(|| r.arn_prefix.clone()),
                )
            })
            .collect();
    }
    let mut out: Vec<(Option<String>, Option<String>)> = Vec::new();
    let mut add = |v: &serde_json::Value| {
        if let Some(arn) = v.as_str()
            && let Some(t) = arn_type(arn)
            && !out.iter().any(|(_, n)| n.as_deref() == Some(arn))
        {
            out.push((Some(t), Some(arn.to_owned())));
        }
    };
    for part in [&record.request_parameters, &record.response_elements]
        .into_iter()
        .flatten()
    {
        if let Some(obj) = part.as_object() {
            for v in obj.values() {
                match v {
                    serde_json::Value::Array(items) => items.iter().for_each(&mut add),
                    other => add(other),
                }
            }
        }
    }
    out
}

/// `AWS::<Service>::<Kind>` for `arn:<partition>:<service>:<region>:<account>:<kind>/…`.
fn arn_type(arn: &str) -> Option<String> {
    let mut parts = arn.splitn(6, ':');
    let (Some("arn"), Some(_), Some(service), Some(_), Some(_), Some(resource)) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return None;
    };
    let kind = resource
        .split(['/', ':'])
        .next()
        .filter(|k| !k.is_empty() && resource.len() > k.len())?;
    let service = match service {
        "cloudtrail" => "CloudTrail".to_owned(),
        "iam" => "IAM".to_owned(),
        "s3" => "S3".to_owned(),
        "sns" => "SNS".to_owned(),
        "kms" => "KMS".to_owned(),
        other => capitalise(other),
    };
    let kind: String = kind.split('-').map(capitalise).collect();
    Some(format!("AWS::{service}::{kind}"))
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_ascii_uppercase().to_string() + c.as_str(),
        None => String::new(),
    }
}

/// One event of a `LookupEvents` answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LookupEvent {
    /// `EventId`.
    pub event_id: String,
    /// `EventName`.
    pub event_name: String,
    /// `ReadOnly`, the string `"true"` or `"false"`.
    pub read_only: String,
    /// `AccessKeyId`.
    pub access_key_id: Option<String>,
    /// `EventTime`, epoch seconds.
    pub event_time: i64,
    /// `EventSource`.
    pub event_source: String,
    /// `Username`.
    pub username: Option<String>,
    /// `Resources`: `(ResourceType, ResourceName)`.
    pub resources: Vec<(Option<String>, Option<String>)>,
    /// `CloudTrailEvent`: the record as a JSON string.
    pub cloud_trail_event: String,
}

/// A `LookupEvents` request, typed but not yet validated.
#[derive(Debug, Clone, Default)]
pub struct LookupRequest {
    /// `LookupAttributes` as `(AttributeKey, AttributeValue)`.
    pub attributes: Vec<(String, String)>,
    /// `StartTime`, inclusive.
    pub start: Option<OffsetDateTime>,
    /// `EndTime`, inclusive.
    pub end: Option<OffsetDateTime>,
    /// `EventCategory`.
    pub category: Option<String>,
    /// `MaxResults`.
    pub max_results: Option<i64>,
    /// `NextToken`.
    pub next_token: Option<String>,
}

/// One page of results.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LookupPage {
    /// Newest first.
    pub events: Vec<LookupEvent>,
    /// Present when there are more.
    pub next_token: Option<String>,
}

#[derive(Debug, Serialize, Deserialize)]
struct Token {
    h: String,
    t: i64,
    s: u64,
}

#[derive(Debug, Clone, Copy)]
struct SegMeta {
    bytes: u64,
}

type Pair = (String, String);

struct Inner {
    next_seq: u64,
    index: BTreeMap<Pair, BTreeMap<Date, SegMeta>>,
    last_prune: Option<Date>,
    /// Lines not yet written, per segment, in sequence order within each.
    queued: BTreeMap<(Pair, Date), Vec<u8>>,
    queued_bytes: usize,
    /// Segments older than the retention window, for the writer to delete.
    dead: Vec<(Pair, Date)>,
    /// Set when the `History` is dropped: the writer writes what is left and ends.
    stop: bool,
}

/// What the writer owns: the open segment files. Held while writing, so batches reach the
/// files in the order they were taken.
struct Io {
    open: HashMap<(Pair, Date), fs::File>,
}

struct Shared {
    dir: PathBuf,
    inner: Mutex<Inner>,
    /// Wakes the writer (enough queued, or stop) and `append`ers waiting for room.
    wake: Condvar,
    io: Mutex<Io>,
}

/// The Event history store.
pub struct History {
    clock: SharedClock,
    shared: Arc<Shared>,
    writer: Option<std::thread::JoinHandle<()>>,
}

impl Drop for History {
    fn drop(&mut self) {
        self.shared.lock().stop = true;
        self.shared.wake.notify_all();
        match self.writer.take() {
            Some(w) => {
                let _ = w.join();
            }
            None => {
                let _ = self.shared.write_queued();
            }
        }
    }
}

fn seg_path(dir: &Path, account: &str, region: &str, day: Date) -> PathBuf {
    dir.join(account)
        .join(region)
        .join(format!("{}.jsonl", day_name(day)))
}

impl Shared {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Writes every queued line (one `write` per segment) and deletes expired segments. The
    /// queue is taken under the index lock (memory only); the files are written under the
    /// writer's own lock, which appenders never take.
    fn write_queued(&self) -> Result<(), HistoryError> {
        let mut io_state = self.io.lock().unwrap_or_else(|e| e.into_inner());
        let (queued, dead) = {
            let mut inner = self.lock();
            inner.queued_bytes = 0;
            (std::mem::take(&mut inner.queued), std::mem::take(&mut inner.dead))
        };
        self.wake.notify_all();
        for key in dead {
            io_state.open.remove(&key);
            let _ = fs::remove_file(seg_path(&self.dir, &key.0.0, &key.0.1, key.1));
        }
        let mut first_err = None;
        for (key, buf) in queued {
            if let Err(e) = write_segment(&self.dir, &mut io_state, key, &buf) {
                tracing::warn!(error = %e, "cannot write event history");
                first_err.get_or_insert(e);
            }
        }
        first_err.map_or(Ok(()), Err)
    }

    /// The writer thread: writes the queue every [`FLUSH_EVERY`], or sooner when it is large.
    fn run_writer(&self) {
        loop {
            let stop = {
                let inner = self.lock();
                let (inner, _) = self
                    .wake
                    .wait_timeout_while(inner, FLUSH_EVERY, |i| !i.stop && i.queued_bytes < FLUSH_BYTES)
                    .unwrap_or_else(|e| e.into_inner());
                inner.stop
            };
            let _ = self.write_queued();
            if stop {
                return;
            }
        }
    }
}

fn write_segment(dir: &Path, io_state: &mut Io, key: (Pair, Date), buf: &[u8]) -> Result<(), HistoryError> {
    if !io_state.open.contains_key(&key) {
        if io_state.open.len() >= MAX_OPEN_FILES {
            io_state.open.clear();
        }
        let path = seg_path(dir, &key.0.0, &key.0.1, key.1);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).map_err(io)?;
        }
        let f = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(io)?;
        io_state.open.insert(key.clone(), f);
    }
    let f = io_state
        .open
        .get_mut(&key)
        .ok_or_else(|| io("segment not open"))?;
    // Whole lines in one write: a reader sees a line entirely or not at all (it skips a
    // line without its newline).
    f.write_all(buf).map_err(io)
}

impl std::fmt::Debug for History {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("History")
            .field("dir", &self.shared.dir)
            .finish_non_exhaustive()
    }
}

/// Account ids and Region names become path segments: accept only their real shapes.
fn safe_segment(s: &str, max: usize) -> bool {
    !s.is_empty()
        && s.len() <= max
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

fn day_name(d: Date) -> String {
    format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
}

fn parse_day(name: &str) -> Option<Date> {
    let stem = name.strip_suffix(".jsonl")?;
    let mut it = stem.splitn(3, '-');
    let y: i32 = it.next()?.parse().ok()?;
    let m: u8 = it.next()?.parse().ok()?;
    let d: u8 = it.next()?.parse().ok()?;
    Date::from_calendar_date(y, time::Month::try_from(m).ok()?, d).ok()
}

fn split_line(line: &[u8]) -> Option<(Header<'static>, &[u8])> {
    let tab = line.iter().position(|&b| b == b'\t')?;
    let (h, rest) = line.split_at(tab);
    let header: Header<'static> = serde_json::from_slice(h).ok()?;
    let body = rest.get(1..)?;
    let body = body.strip_suffix(b"\n").unwrap_or(body);
    Some((header, body))
}

/// The sequence number on the last complete line of a segment (0 when none).
fn last_seq(path: &Path) -> std::io::Result<u64> {
    let mut f = fs::File::open(path)?;
    let len = f.metadata()?.len();
    let from = len.saturating_sub(TAIL_BYTES);
    f.seek(SeekFrom::Start(from))?;
    let mut tail = Vec::new();
    f.read_to_end(&mut tail)?;
    let mut best = 0;
    for line in tail.split(|&b| b == b'\n') {
        if let Some((h, _)) = split_line(line) {
            best = best.max(h.s);
        }
    }
    if best == 0 && from > 0 {
        // A line longer than the tail window: read the whole file.
        for line in BufReader::new(fs::File::open(path)?).split(b'\n') {
            if let Some((h, _)) = split_line(&line?) {
                best = best.max(h.s);
            }
        }
    }
    Ok(best)
}

impl History {
    /// Opens (or creates) the history under `dir`, rebuilding the index from the file names.
    /// A line torn by a crash is sealed with a newline so later appends stay parseable.
    pub fn open(dir: impl Into<PathBuf>, clock: SharedClock) -> Result<Self, HistoryError> {
        let dir = dir.into();
        fs::create_dir_all(&dir).map_err(io)?;
        let mut index: BTreeMap<Pair, BTreeMap<Date, SegMeta>> = BTreeMap::new();
        let mut max_seq = 0u64;
        for acct in fs::read_dir(&dir).map_err(io)? {
            let acct = acct.map_err(io)?;
            let Ok(account) = acct.file_name().into_string() else {
                continue;
            };
            if !acct.path().is_dir() || !safe_segment(&account, 12) {
                continue;
            }
            for reg in fs::read_dir(acct.path()).map_err(io)? {
                let reg = reg.map_err(io)?;
                let Ok(region) = reg.file_name().into_string() else {
                    continue;
                };
                if !reg.path().is_dir() || !safe_segment(&region, 32) {
                    continue;
                }
                for seg in fs::read_dir(reg.path()).map_err(io)? {
                    let seg = seg.map_err(io)?;
                    let Some(day) = seg.file_name().to_str().and_then(parse_day) else {
                        continue;
                    };
                    let path = seg.path();
                    let mut bytes = seg.metadata().map_err(io)?.len();
                    if bytes > 0 && !ends_with_newline(&path).map_err(io)? {
                        let mut f = fs::OpenOptions::new().append(true).open(&path).map_err(io)?;
                        f.write_all(b"\n").map_err(io)?;
                        bytes += 1;
                    }
                    max_seq = max_seq.max(last_seq(&path).map_err(io)?);
                    index
                        .entry((account.clone(), region.clone()))
                        .or_default()
                        .insert(day, SegMeta { bytes });
                }
            }
        }
        let shared = Arc::new(Shared {
            dir,
            inner: Mutex::new(Inner {
                next_seq: max_seq + 1,
                index,
                last_prune: None,
                queued: BTreeMap::new(),
                queued_bytes: 0,
                dead: Vec::new(),
                stop: false,
            }),
            wake: Condvar::new(),
            io: Mutex::new(Io { open: HashMap::new() }),
        });
        let w = shared.clone();
        let writer = std::thread::Builder::new()
            .name("ct-history".into())
            .spawn(move || w.run_writer())
            .map_err(io)?;
        Ok(History {
            clock,
            shared,
            writer: Some(writer),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.shared.lock()
    }

    /// Writes every queued line now (lookups do this themselves; for shutdown and tests).
    pub fn flush(&self) -> Result<(), HistoryError> {
        self.shared.write_queued()
    }

    /// Adds a record if it is a management event newer than the retention window. Returns
    /// whether it was kept. Serialises the record; [`History::append_json`] reuses JSON
    /// already made.
    pub fn append(&self, record: &Record) -> Result<bool, HistoryError> {
        if record.event_category != EventCategory::Management {
            return Ok(false);
        }
        self.append_json(record, &record.to_json())
    }

    /// [`History::append`] with the record's JSON (`record.to_json()`) given, as the spool
    /// made it. Memory only: the line is queued for the writer thread.
    pub fn append_json(&self, record: &Record, json: &[u8]) -> Result<bool, HistoryError> {
        if record.event_category != EventCategory::Management {
            return Ok(false);
        }
        let account = record.recipient_account_id.as_str();
        let region = record.aws_region.as_str();
        if !safe_segment(account, 12) || !safe_segment(region, 32) {
            return Ok(false);
        }
        let now = self.clock.now();
        if record.event_time < now - Duration::days(RETENTION_DAYS) {
            return Ok(false);
        }
        let day = record.event_time.date();
        // The header is built before the lock; its sequence number is patched in under it.
        let mut id = [0u8; 36];
        let mut header = Header::of(record, &mut id, 0);
        let pair = (account.to_owned(), region.to_owned());
        let key = (pair.clone(), day);
        let mut inner = self.lock();
        // A full queue means the writer cannot keep up: wait for it rather than grow.
        while inner.queued_bytes >= MAX_QUEUED_BYTES && !inner.stop {
            self.shared.wake.notify_all();
            inner = self
                .shared
                .wake
                .wait_timeout(inner, FLUSH_EVERY)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
        self.prune(&mut inner, now);
        header.s = inner.next_seq;
        inner.next_seq += 1;
        // The writer takes whole buffers, so each starts empty: start it at a size that holds
        // a burst without a string of reallocations (copies) as it grows.
        let buf = inner
            .queued
            .entry(key)
            .or_insert_with(|| Vec::with_capacity(16 << 10));
        let start = buf.len();
        serde_json::to_writer(&mut *buf, &header).map_err(io)?;
        buf.push(b'\t');
        buf.extend_from_slice(json);
        buf.push(b'\n');
        let added = buf.len() - start;
        inner.queued_bytes += added;
        if inner.queued_bytes >= FLUSH_BYTES {
            self.shared.wake.notify_all();
        }
        let meta = inner
            .index
            .entry(pair)
            .or_default()
            .entry(day)
            .or_insert(SegMeta { bytes: 0 });
        meta.bytes += added as u64;
        Ok(true)
    }

    /// Drops segments older than the retention window from the index, at most once per day;
    /// the writer deletes their files.
    fn prune(&self, inner: &mut Inner, now: OffsetDateTime) {
        let today = now.date();
        if inner.last_prune == Some(today) {
            return;
        }
        inner.last_prune = Some(today);
        // A segment is wholly out of the window once its day ends before `now - 90 days`.
        let cutoff = (now - Duration::days(RETENTION_DAYS)).date();
        let mut dead = Vec::new();
        for (pair, segs) in &inner.index {
            for day in segs.keys().filter(|d| **d < cutoff) {
                dead.push((pair.clone(), *day));
            }
        }
        for (pair, day) in dead {
            if let Some(segs) = inner.index.get_mut(&pair) {
                segs.remove(&day);
            }
            inner.queued.remove(&(pair.clone(), day));
            inner.dead.push((pair, day));
        }
    }

    /// How many bytes of history are on disk for (account, Region) (for tests and status).
    pub fn bytes(&self, account: &str, region: &str) -> u64 {
        let inner = self.lock();
        inner
            .index
            .get(&(account.to_owned(), region.to_owned()))
            .map_or(0, |s| s.values().map(|m| m.bytes).sum())
    }

    /// `LookupEvents` for the caller's account and Region.
    pub fn lookup(
        &self,
        account: &str,
        region: &str,
        req: &LookupRequest,
    ) -> Result<LookupPage, HistoryError> {
        let max = req.max_results.unwrap_or(MAX_RESULTS);
        if !(1..=MAX_RESULTS).contains(&max) {
            return Err(HistoryError::InvalidMaxResults(format!(
                "Value {max} for MaxResults is invalid. It must be between 1 and {MAX_RESULTS}."
            )));
        }
        let max = usize::try_from(max).unwrap_or(50);
        if req.attributes.len() > 1 {
            return Err(HistoryError::InvalidLookupAttributes(
                "You can specify only one lookup attribute.".to_owned(),
            ));
        }
        let attr = req.attributes.first();
        if let Some((k, v)) = attr {
            if !ATTRIBUTE_KEYS.contains(&k.as_str()) {
                return Err(HistoryError::InvalidLookupAttributes(format!(
                    "Lookup attribute key {k} is not valid. Valid keys are {}.",
                    ATTRIBUTE_KEYS.join(", ")
                )));
            }
            if v.is_empty() || v.chars().count() > 2000 {
                return Err(HistoryError::InvalidLookupAttributes(
                    "Lookup attribute values must be 1 to 2000 characters.".to_owned(),
                ));
            }
        }
        match req.category.as_deref() {
            None => {}
            Some("insight") => {
                if let Some((k, _)) = attr
                    && !["EventId", "EventName", "EventSource"].contains(&k.as_str())
                {
                    return Err(HistoryError::InvalidLookupAttributes(format!(
                        "Lookup attribute key {k} is not supported for Insights events."
                    )));
                }
            }
            Some(other) => {
                return Err(HistoryError::InvalidEventCategory(format!(
                    "Event category {other} is not valid. The only valid value is insight."
                )));
            }
        }
        if let (Some(s), Some(e)) = (req.start, req.end)
            && s > e
        {
            return Err(HistoryError::InvalidTimeRange(
                "Start time must be before end time.".to_owned(),
            ));
        }
        let hash = query_hash(account, region, req);
        let cursor = match &req.next_token {
            None => None,
            Some(tok) => {
                let bad = || HistoryError::InvalidNextToken("Invalid NextToken.".to_owned());
                let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
                    .decode(tok)
                    .map_err(|_| bad())?;
                let t: Token = serde_json::from_slice(&raw).map_err(|_| bad())?;
                if t.h != hash {
                    return Err(HistoryError::InvalidNextToken(
                        "The NextToken does not belong to this query: repeat the call with the same parameters.".to_owned(),
                    ));
                }
                Some((t.t, t.s))
            }
        };
        // The emulator records no Insights events, so an insight lookup is always empty.
        if req.category.is_some() || !safe_segment(account, 12) || !safe_segment(region, 32) {
            return Ok(LookupPage::default());
        }
        let now = self.clock.now();
        let floor = (now - Duration::days(RETENTION_DAYS)).unix_timestamp();
        let lo = req.start.map_or(floor, |s| s.unix_timestamp().max(floor));
        let hi = req.end.map_or(i64::MAX, |e| e.unix_timestamp());
        // Whatever is queued becomes visible first (and expired segments go).
        {
            let mut inner = self.lock();
            self.prune(&mut inner, now);
        }
        self.shared.write_queued()?;
        let days: Vec<Date> = {
            let inner = self.lock();
            inner
                .index
                .get(&(account.to_owned(), region.to_owned()))
                .map(|s| s.keys().rev().copied().collect())
                .unwrap_or_default()
        };
        let want = max + 1;
        let needle: Option<Vec<u8>> = attr.and_then(|(_, v)| {
            serde_json::to_vec(v)
                .ok()
                .map(|q| q.get(1..q.len().saturating_sub(1)).unwrap_or_default().to_vec())
        });
        // A min-heap of the best `want` keys seen so far (largest keys are the newest events).
        let mut heap: BinaryHeap<Reverse<Hit>> = BinaryHeap::new();
        for day in days {
            let day_lo = day.midnight().assume_utc().unix_timestamp();
            let day_hi = day_lo + 86_399;
            if day_lo > hi || day_hi < lo || cursor.is_some_and(|c| day_lo > c.0) {
                continue;
            }
            if heap.len() >= want {
                break;
            }
            let path = seg_path(&self.shared.dir, account, region, day);
            let f = match fs::File::open(&path) {
                Ok(f) => f,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(io(e)),
            };
            let mut reader = BufReader::new(f);
            let mut line = Vec::new();
            loop {
                line.clear();
                let n = reader.read_until(b'\n', &mut line).map_err(io)?;
                if n == 0 {
                    break;
                }
                if line.last() != Some(&b'\n') {
                    // Being appended right now: not there yet.
                    break;
                }
                // Cheap reject before parsing: the attribute value, as JSON writes it, must
                // appear in the header.
                if let Some(needle) = &needle {
                    let header = line.split(|&b| b == b'\t').next().unwrap_or_default();
                    if !contains(header, needle) {
                        continue;
                    }
                }
                let Some((h, body)) = split_line(&line) else {
                    continue;
                };
                let k = h.key();
                if h.t < lo || h.t > hi || cursor.is_some_and(|c| k >= c) || !h.matches(attr) {
                    continue;
                }
                if heap.len() < want {
                    heap.push(Reverse(Hit {
                        k,
                        h,
                        body: body.to_vec(),
                    }));
                } else if heap.peek().is_some_and(|Reverse(min)| k > min.k) {
                    heap.pop();
                    heap.push(Reverse(Hit {
                        k,
                        h,
                        body: body.to_vec(),
                    }));
                }
            }
        }
        let mut items: Vec<Hit> = heap.into_iter().map(|Reverse(x)| x).collect();
        items.sort_by_key(|b| Reverse(b.k));
        let more = items.len() > max;
        items.truncate(max);
        let next_token = if more {
            items.last().map(|hit| {
                let tok = Token {
                    h: hash.clone(),
                    t: hit.k.0,
                    s: hit.k.1,
                };
                base64::engine::general_purpose::URL_SAFE_NO_PAD
                    .encode(serde_json::to_vec(&tok).unwrap_or_default())
            })
        } else {
            None
        };
        let events = items
            .into_iter()
            .map(|Hit { h, body, .. }| LookupEvent {
                event_id: h.id.into_owned(),
                event_name: h.n.into_owned(),
                read_only: h.ro.into_owned(),
                access_key_id: h.ak.map(Cow::into_owned),
                event_time: h.t,
                event_source: h.src.into_owned(),
                username: h.u,
                resources: h.r,
                cloud_trail_event: String::from_utf8_lossy(&body).into_owned(),
            })
            .collect();
        Ok(LookupPage { events, next_token })
    }
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    needle.is_empty() || hay.windows(needle.len()).any(|w| w == needle)
}

/// A candidate event of a lookup, ordered by its (time, sequence) key only.
struct Hit {
    k: (i64, u64),
    h: Header<'static>,
    body: Vec<u8>,
}

impl PartialEq for Hit {
    fn eq(&self, other: &Self) -> bool {
        self.k == other.k
    }
}

impl Eq for Hit {}

impl PartialOrd for Hit {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Hit {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.k.cmp(&other.k)
    }
}

fn ends_with_newline(path: &Path) -> std::io::Result<bool> {
    let mut f = fs::File::open(path)?;
    let len = f.metadata()?.len();
    if len == 0 {
        return Ok(true);
    }
    f.seek(SeekFrom::Start(len - 1))?;
    let mut b = [0u8; 1];
    f.read_exact(&mut b)?;
    Ok(b[0] == b'\n')
}

/// Binds a token to everything that defines the result set (not `MaxResults`, which may change
/// between pages).
fn query_hash(account: &str, region: &str, req: &LookupRequest) -> String {
    let mut h = Sha256::new();
    let mut field = |s: &str| {
        h.update((s.len() as u64).to_be_bytes());
        h.update(s.as_bytes());
    };
    field(account);
    field(region);
    for (k, v) in &req.attributes {
        field(k);
        field(v);
    }
    field(
        &req.start
            .map(|t| t.unix_timestamp().to_string())
            .unwrap_or_default(),
    );
    field(
        &req.end
            .map(|t| t.unix_timestamp().to_string())
            .unwrap_or_default(),
    );
    field(req.category.as_deref().unwrap_or_default());
    hex::encode(h.finalize().get(..16).unwrap_or_default())
}

/// The `LookupEvents` rate limit: a token bucket per (account, Region), `rate` requests per
/// second with a burst of `rate` (AWS documents 2 per second per account per Region).
pub struct LookupThrottle {
    rate: f64,
    clock: SharedClock,
    buckets: Mutex<HashMap<Pair, (f64, OffsetDateTime)>>,
}

impl std::fmt::Debug for LookupThrottle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LookupThrottle")
            .field("rate", &self.rate)
            .finish_non_exhaustive()
    }
}

/// Most (account, Region) buckets remembered; full buckets are forgotten beyond it.
const MAX_BUCKETS: usize = 10_000;

impl LookupThrottle {
    /// `rate` requests per second; 0 or less disables throttling.
    pub fn new(rate: f64, clock: SharedClock) -> Self {
        LookupThrottle {
            rate,
            clock,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one request's token, or answers `ThrottlingException`.
    pub fn check(&self, account: &str, region: &str) -> Result<(), HistoryError> {
        if self.rate <= 0.0 || !self.rate.is_finite() {
            return Ok(());
        }
        let now = self.clock.now();
        let mut b = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        if b.len() >= MAX_BUCKETS {
            let rate = self.rate;
            b.retain(|_, (tokens, at)| *tokens + (now - *at).as_seconds_f64() * rate < rate);
        }
        let (tokens, at) = b
            .entry((account.to_owned(), region.to_owned()))
            .or_insert((self.rate, now));
        let elapsed = (now - *at).as_seconds_f64().max(0.0);
        *tokens = (*tokens + elapsed * self.rate).min(self.rate);
        *at = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            Ok(())
        } else {
            Err(HistoryError::Throttling("Rate exceeded".to_owned()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::{Clock, ManualClock};
    use crate::identity::UserIdentity;
    use crate::record::Resource;
    use std::sync::Arc;
    use time::macros::datetime;

    const ACCT: &str = "123456789012";

    fn rec(t: OffsetDateTime, name: &str, ro: bool, user: &str) -> Record {
        let ident = UserIdentity::iam_user(
            ACCT,
            "/",
            user,
            "AIDAEXAMPLE",
            &format!("AKIA{}", user.to_uppercase()),
        );
        let mut r = Record::api_call(
            ident,
            t,
            "personalize.amazonaws.com",
            name,
            "us-east-1",
            "192.0.2.1",
            ACCT,
        );
        r.read_only = Some(ro);
        r
    }

    fn setup() -> (tempfile::TempDir, Arc<ManualClock>, History) {
        let dir = tempfile::tempdir().unwrap();
        let clock = ManualClock::new(datetime!(2026-03-10 12:00:00 UTC));
        let h = History::open(dir.path().join("history"), clock.clone()).unwrap();
        (dir, clock, h)
    }

    fn all(h: &History, req: LookupRequest) -> Vec<LookupEvent> {
        let mut out = Vec::new();
        let mut req = req;
        loop {
            let page = h.lookup(ACCT, "us-east-1", &req).unwrap();
            out.extend(page.events);
            match page.next_token {
                Some(t) => req.next_token = Some(t),
                None => return out,
            }
        }
    }

    #[test]
    fn newest_first_across_pages_and_days_with_each_attribute() {
        let (_d, _clock, h) = setup();
        let base = datetime!(2026-03-08 23:59:58 UTC);
        let mut recs = Vec::new();
        for i in 0..37i64 {
            let mut r = rec(
                base + Duration::seconds(i / 3),
                if i % 2 == 0 { "CreateSchema" } else { "ListSchemas" },
                i % 2 == 1,
                if i % 5 == 0 { "bob" } else { "alice" },
            );
            if i % 4 == 0 {
                r.resources = vec![Resource {
                    arn: Some(format!("arn:aws:personalize:us-east-1:{ACCT}:schema/s{i}")),
                    arn_prefix: None,
                    account_id: Some(ACCT.into()),
                    resource_type: Some("AWS::Personalize::Schema".into()),
                }];
            }
            assert!(h.append(&r).unwrap());
            recs.push(r);
        }
        // Data events are never in history.
        let mut d = rec(base, "PutEvents", false, "alice");
        d.event_category = EventCategory::Data;
        assert!(!h.append(&d).unwrap());

        let expect = |f: &dyn Fn(&Record) -> bool| -> Vec<String> {
            let mut v: Vec<&Record> = recs.iter().filter(|r| f(r)).collect();
            // Newest first; equal seconds: appended later first.
            v.reverse();
            v.sort_by_key(|b| std::cmp::Reverse(b.event_time));
            v.into_iter().map(|r| r.event_id.to_string()).collect()
        };
        let got = |k: &str, v: &str, max: i64| -> Vec<String> {
            all(
                &h,
                LookupRequest {
                    attributes: vec![(k.into(), v.into())],
                    max_results: Some(max),
                    ..Default::default()
                },
            )
            .into_iter()
            .map(|e| e.event_id)
            .collect()
        };
        let everything: Vec<String> = all(
            &h,
            LookupRequest {
                max_results: Some(4),
                ..Default::default()
            },
        )
        .into_iter()
        .map(|e| e.event_id)
        .collect();
        assert_eq!(everything, expect(&|_| true));
        assert_eq!(
            got("EventName", "CreateSchema", 5),
            expect(&|r| r.event_name == "CreateSchema")
        );
        assert_eq!(got("ReadOnly", "true", 3), expect(&|r| r.read_only == Some(true)));
        assert_eq!(
            got("Username", "bob", 2),
            expect(&|r| r.user_identity.user_name.as_deref() == Some("bob"))
        );
        assert_eq!(
            got("AccessKeyId", "AKIABOB", 50),
            expect(&|r| r.user_identity.user_name.as_deref() == Some("bob"))
        );
        assert_eq!(got("EventSource", "personalize.amazonaws.com", 7).len(), 37);
        assert_eq!(
            got("ResourceType", "AWS::Personalize::Schema", 2),
            expect(&|r| !r.resources.is_empty())
        );
        let one = recs[8].resources[0].arn.clone().unwrap();
        assert_eq!(got("ResourceName", &one, 1), vec![recs[8].event_id.to_string()]);
        assert_eq!(
            got("EventId", &recs[3].event_id.to_string(), 50),
            vec![recs[3].event_id.to_string()]
        );
        assert!(got("EventName", "Nope", 50).is_empty());
        // The record round-trips as CloudTrailEvent.
        let e = all(
            &h,
            LookupRequest {
                attributes: vec![("EventId".into(), recs[3].event_id.to_string())],
                ..Default::default()
            },
        );
        let back: Record = serde_json::from_str(&e[0].cloud_trail_event).unwrap();
        assert_eq!(back, recs[3]);
        assert_eq!(e[0].read_only, "true");
        // Time bounds are inclusive.
        let t0 = base + Duration::seconds(2);
        let t1 = base + Duration::seconds(4);
        let bounded = all(
            &h,
            LookupRequest {
                start: Some(t0),
                end: Some(t1),
                ..Default::default()
            },
        );
        assert_eq!(bounded.len(), 9);
        assert!(
            bounded
                .iter()
                .all(|e| (t0.unix_timestamp()..=t1.unix_timestamp()).contains(&e.event_time))
        );
    }

    #[test]
    fn validation_and_tokens_bound_to_their_query() {
        let (_d, _clock, h) = setup();
        for i in 0..5 {
            h.append(&rec(
                datetime!(2026-03-10 10:00:00 UTC) + Duration::seconds(i),
                "CreateSchema",
                false,
                "alice",
            ))
            .unwrap();
        }
        let err = |r: LookupRequest| h.lookup(ACCT, "us-east-1", &r).unwrap_err().code();
        assert_eq!(
            err(LookupRequest {
                max_results: Some(0),
                ..Default::default()
            }),
            "InvalidMaxResultsException"
        );
        assert_eq!(
            err(LookupRequest {
                max_results: Some(51),
                ..Default::default()
            }),
            "InvalidMaxResultsException"
        );
        assert_eq!(
            err(LookupRequest {
                attributes: vec![("EventName".into(), "a".into()), ("EventName".into(), "b".into())],
                ..Default::default()
            }),
            "InvalidLookupAttributesException"
        );
        assert_eq!(
            err(LookupRequest {
                attributes: vec![("Bogus".into(), "a".into())],
                ..Default::default()
            }),
            "InvalidLookupAttributesException"
        );
        assert_eq!(
            err(LookupRequest {
                attributes: vec![("EventName".into(), String::new())],
                ..Default::default()
            }),
            "InvalidLookupAttributesException"
        );
        assert_eq!(
            err(LookupRequest {
                category: Some("management".into()),
                ..Default::default()
            }),
            "InvalidEventCategoryException"
        );
        assert_eq!(
            err(LookupRequest {
                start: Some(datetime!(2026-03-10 11:00:00 UTC)),
                end: Some(datetime!(2026-03-10 10:00:00 UTC)),
                ..Default::default()
            }),
            "InvalidTimeRangeException"
        );
        assert_eq!(
            err(LookupRequest {
                next_token: Some("garbage!".into()),
                ..Default::default()
            }),
            "InvalidNextTokenException"
        );
        let page = h
            .lookup(
                ACCT,
                "us-east-1",
                &LookupRequest {
                    max_results: Some(2),
                    ..Default::default()
                },
            )
            .unwrap();
        let tok = page.next_token.unwrap();
        // Same query, other MaxResults: fine. Other attribute: rejected.
        h.lookup(
            ACCT,
            "us-east-1",
            &LookupRequest {
                max_results: Some(1),
                next_token: Some(tok.clone()),
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(
            err(LookupRequest {
                attributes: vec![("EventName".into(), "CreateSchema".into())],
                next_token: Some(tok.clone()),
                ..Default::default()
            }),
            "InvalidNextTokenException"
        );
        assert_eq!(
            h.lookup(
                ACCT,
                "eu-west-1",
                &LookupRequest {
                    next_token: Some(tok),
                    ..Default::default()
                }
            )
            .unwrap_err()
            .code(),
            "InvalidNextTokenException"
        );
        // Insights: valid, and empty.
        let p = h
            .lookup(
                ACCT,
                "us-east-1",
                &LookupRequest {
                    category: Some("insight".into()),
                    ..Default::default()
                },
            )
            .unwrap();
        assert!(p.events.is_empty() && p.next_token.is_none());
        // Other Regions and accounts see nothing.
        assert!(
            h.lookup(ACCT, "eu-west-1", &LookupRequest::default())
                .unwrap()
                .events
                .is_empty()
        );
        assert!(
            h.lookup("111122223333", "us-east-1", &LookupRequest::default())
                .unwrap()
                .events
                .is_empty()
        );
    }

    #[test]
    fn survives_restart_and_ages_out_after_ninety_days() {
        let dir = tempfile::tempdir().unwrap();
        let clock = ManualClock::new(datetime!(2026-03-10 12:00:00 UTC));
        let path = dir.path().join("h");
        let first: Vec<String> = {
            let h = History::open(&path, clock.clone()).unwrap();
            (0..3)
                .map(|i| {
                    let r = rec(
                        datetime!(2026-03-10 11:00:00 UTC),
                        &format!("Op{i}"),
                        false,
                        "alice",
                    );
                    h.append(&r).unwrap();
                    r.event_id.to_string()
                })
                .collect()
        };
        // Simulate a crash mid-write: a torn line at the end of the segment.
        let seg = path.join(ACCT).join("us-east-1").join("2026-03-10.jsonl");
        fs::OpenOptions::new()
            .append(true)
            .open(&seg)
            .unwrap()
            .write_all(b"{\"t\":17")
            .unwrap();
        let h = History::open(&path, clock.clone()).unwrap();
        let r = rec(datetime!(2026-03-10 11:00:00 UTC), "After", false, "alice");
        h.append(&r).unwrap();
        let ids: Vec<String> = all(&h, LookupRequest::default())
            .into_iter()
            .map(|e| e.event_id)
            .collect();
        // Same second: the one appended after the restart is newest.
        assert_eq!(
            ids,
            [
                r.event_id.to_string(),
                first[2].clone(),
                first[1].clone(),
                first[0].clone()
            ]
        );
        clock.advance(std::time::Duration::from_secs(91 * 86_400));
        assert!(all(&h, LookupRequest::default()).is_empty());
        // An append on a new day prunes the old segment.
        h.append(&rec(clock.now(), "Late", false, "alice")).unwrap();
        h.flush().unwrap();
        assert!(!seg.exists());
        assert_eq!(all(&h, LookupRequest::default()).len(), 1);
    }

    #[test]
    fn appends_are_queued_and_a_lookup_sees_them() {
        let (_d, clock, h) = setup();
        let r = rec(clock.now(), "Queued", false, "alice");
        let json = r.to_json();
        assert!(h.append_json(&r, &json).unwrap());
        // Queued, not written: the request path did no file I/O.
        let seg_dir = h.shared.dir.join(ACCT).join("us-east-1");
        let on_disk = |d: &Path| -> u64 {
            fs::read_dir(d)
                .map(|rd| rd.map(|e| e.unwrap().metadata().unwrap().len()).sum())
                .unwrap_or(0)
        };
        let queued = h.lock().queued_bytes;
        if queued > 0 {
            assert_eq!(on_disk(&seg_dir), 0);
        }
        let got = all(&h, LookupRequest::default());
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].event_id, r.event_id.to_string());
        assert_eq!(got[0].cloud_trail_event.as_bytes(), json.as_slice());
        assert_eq!(on_disk(&seg_dir), h.bytes(ACCT, "us-east-1"));
    }

    #[test]
    fn resources_come_from_the_arns_a_call_names() {
        let mut r = rec(
            datetime!(2026-03-10 10:00:00 UTC),
            "CreateDataset",
            false,
            "alice",
        );
        r.request_parameters = Some(serde_json::json!({
            "name": "ds",
            "datasetGroupArn": "arn:aws:personalize:us-east-1:123456789012:dataset-group/g",
            "schemaArn": "arn:aws:personalize:us-east-1:123456789012:schema/s",
            "bogus": "arn:nothing",
        }));
        r.response_elements = Some(
            serde_json::json!({"datasetArn": "arn:aws:personalize:us-east-1:123456789012:dataset/g/INTERACTIONS"}),
        );
        let got = lookup_resources(&r);
        let types: Vec<&str> = got.iter().filter_map(|(t, _)| t.as_deref()).collect();
        assert_eq!(
            types,
            [
                "AWS::Personalize::DatasetGroup",
                "AWS::Personalize::Schema",
                "AWS::Personalize::Dataset"
            ]
        );
        assert_eq!(
            arn_type("arn:aws:cloudtrail:us-east-1:123456789012:trail/t").as_deref(),
            Some("AWS::CloudTrail::Trail")
        );
        assert_eq!(
            arn_type("arn:aws:personalize:::recipe/aws-user-personalization").as_deref(),
            Some("AWS::Personalize::Recipe")
        );
        assert_eq!(arn_type("not an arn"), None);
    }

    #[test]
    fn throttle_two_per_second() {
        let clock = ManualClock::new(datetime!(2026-03-10 12:00:00 UTC));
        let t = LookupThrottle::new(2.0, clock.clone());
        t.check(ACCT, "us-east-1").unwrap();
        t.check(ACCT, "us-east-1").unwrap();
        assert_eq!(
            t.check(ACCT, "us-east-1").unwrap_err().code(),
            "ThrottlingException"
        );
        // Other Regions have their own budget.
        t.check(ACCT, "eu-west-1").unwrap();
        clock.advance(std::time::Duration::from_millis(500));
        t.check(ACCT, "us-east-1").unwrap();
        assert!(t.check(ACCT, "us-east-1").is_err());
        clock.advance(std::time::Duration::from_secs(10));
        t.check(ACCT, "us-east-1").unwrap();
        t.check(ACCT, "us-east-1").unwrap();
        assert!(t.check(ACCT, "us-east-1").is_err());
        let off = LookupThrottle::new(0.0, clock);
        for _ in 0..100 {
            off.check(ACCT, "us-east-1").unwrap();
        }
    }
}
