//! Event history (what `LookupEvents` reads): every management event per account and Region
//! for 90 days, independent of trails, on disk so it survives a restart.
//!
//! Storage is one append-only segment per (account, Region, UTC day of `eventTime`):
//! `<dir>/<account>/<region>/<YYYY-MM-DD>.jsonl` holds a small header line per event (time,
//! sequence number, the eight lookup attributes), and `<YYYY-MM-DD>.records` the records in
//! raw deflate blocks that the header file names (see `segments`). Memory holds only an index
//! of segment names and sizes, bounded by days kept × (account, Region) pairs, and a query
//! keeps at most `MaxResults + 1` events: it scans segments newest day first and stops as soon
//! as a page is full.
//!
//! `append` runs on the request path of every call, so it only formats the line (reusing the
//! record JSON the spool already made, see [`History::append_json`]) and queues it in memory.
//! A writer thread compresses the queued records and appends blocks and headers with one
//! `write` per file, every [`FLUSH_EVERY`] or as soon as [`FLUSH_BYTES`] are queued;
//! `LookupEvents` writes what is queued before it reads, so a lookup still sees every event
//! recorded before it (AWS only promises
//! events within about 5 minutes). The price: a process killed with SIGKILL loses the last
//! fraction of a second of history (never of trail logs, which go through the spool); a
//! graceful stop, which drops the `History`, writes everything.
//!
//! - `segments`: the line and file formats, the index rebuilt at start-up.
//! - `writer`: appends, the queue and the writer thread, retention.
//! - `query`: `LookupEvents`.
//! - `throttle`: the `LookupEvents` rate limit.

mod query;
mod segments;
mod throttle;
mod writer;

#[cfg(test)]
mod tests;

use std::path::PathBuf;
use std::sync::Arc;

use time::OffsetDateTime;

use crate::clock::SharedClock;

pub use segments::lookup_resources;
pub use throttle::LookupThrottle;
use writer::{Inner, Shared};

/// How long events stay in history.
pub const RETENTION_DAYS: i64 = 90;
/// The default size budget of Event history on disk; beyond it the oldest days go first.
pub const DEFAULT_MAX_BYTES: u64 = 2 << 30;
/// How far back from the end of a day's segment [`History::reconcile`] looks for events.
pub const RECONCILE_TAIL: u64 = 64 << 20;
/// `MaxResults` bounds and default.
pub const MAX_RESULTS: i64 = 50;
/// Queued lines are written at least this often.
pub const FLUSH_EVERY: std::time::Duration = std::time::Duration::from_millis(500);
/// Queued lines are written as soon as they reach this many bytes.
pub const FLUSH_BYTES: usize = 1 << 20;

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

impl std::fmt::Debug for History {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("History")
            .field("dir", &self.shared.dir)
            .finish_non_exhaustive()
    }
}

impl History {
    /// Opens (or creates) the history under `dir`, rebuilding the index from the file names.
    /// A line torn by a crash is sealed with a newline so later appends stay parseable.
    pub fn open(dir: impl Into<PathBuf>, clock: SharedClock) -> Result<Self, HistoryError> {
        let mut history = History::open_idle(dir, clock)?;
        let w = history.shared.clone();
        let writer = std::thread::Builder::new()
            .name("ct-history".into())
            .spawn(move || w.run_writer())
            .map_err(io)?;
        history.writer = Some(writer);
        Ok(history)
    }

    /// [`History::open`] without the writer thread: queued lines are written only by a
    /// lookup, [`History::flush`] or the drop, so tests see exactly when that happens.
    fn open_idle(dir: impl Into<PathBuf>, clock: SharedClock) -> Result<Self, HistoryError> {
        let dir = dir.into();
        let (index, max_seq) = segments::scan(&dir)?;
        Ok(History {
            clock,
            shared: Arc::new(Shared::new(dir, index, max_seq + 1)),
            writer: None,
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.shared.lock()
    }

    /// Writes every queued line now (lookups do this themselves; for shutdown and tests).
    pub fn flush(&self) -> Result<(), HistoryError> {
        self.shared.write_queued()
    }

    /// Adds the records of `jsons` that history does not hold yet (by `eventID`, looking at
    /// what is queued and at the last [`RECONCILE_TAIL`] bytes of each day's segment): after a
    /// crash, the spool's undelivered records bring back the lines the writer had not written.
    /// Returns how many were added.
    pub fn reconcile(&self, jsons: &[&[u8]]) -> usize {
        let _ = self.flush();
        let mut known: std::collections::HashMap<
            (String, String, time::Date),
            std::collections::HashSet<String>,
        > = std::collections::HashMap::new();
        let mut added = 0;
        for json in jsons {
            let Ok(record) = serde_json::from_slice::<crate::record::Record>(json) else {
                continue;
            };
            let key = (
                record.recipient_account_id.clone(),
                record.aws_region.clone(),
                record.event_time.date(),
            );
            let ids = known.entry(key.clone()).or_insert_with(|| {
                if !segments::safe_segment(&key.0, 12) || !segments::safe_segment(&key.1, 32) {
                    return Default::default();
                }
                segments::tail_event_ids(
                    &segments::seg_path(&self.shared.dir, &key.0, &key.1, key.2),
                    RECONCILE_TAIL,
                )
            });
            let id = record.event_id.to_string();
            if ids.contains(&id) {
                continue;
            }
            if let Ok(true) = self.append_json(&record, json) {
                ids.insert(id);
                added += 1;
            }
        }
        added
    }

    /// Sets the size budget: history holds at most `max_bytes` (whole days are dropped, oldest
    /// first, beyond it; the current day is always kept).
    pub fn set_max_bytes(&self, max_bytes: u64) {
        let mut inner = self.lock();
        inner.max_bytes = max_bytes;
    }

    /// Bytes of history on disk (queued lines included), over every account and Region.
    pub fn total_bytes(&self) -> u64 {
        self.lock().total_bytes
    }

    /// How many bytes of history are on disk for (account, Region) (for tests and status).
    pub fn bytes(&self, account: &str, region: &str) -> u64 {
        let inner = self.lock();
        inner
            .index
            .get(&(account.to_owned(), region.to_owned()))
            .map_or(0, |s| s.values().map(|m| m.bytes).sum())
    }
}
