//! The pipeline's public face besides the handle: where records go (destinations and the
//! router that picks them), who hears of delivered files, the settings, the errors and the
//! status snapshot.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::layout::LogDestination;
use crate::logfile::WrittenLog;
use crate::record::Record;

/// One trail's copy of the logs for one (account, Region).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Destination {
    /// The trail ARN.
    pub trail: String,
    /// Where its files go.
    pub log: LogDestination,
}

/// Decides which trails receive a record. Called once, at submit time; the answer is spooled
/// with the record, so a restart delivers to the same places.
pub trait Router: Send + Sync + 'static {
    /// The destinations of `record` (none: the record is not logged).
    fn route(&self, record: &Record) -> Vec<Destination>;
}

/// A router that sends everything to one trail and bucket, with the key's account and Region
/// taken from the record (`recipientAccountId`, `awsRegion`), as a multi-Region trail does.
#[derive(Debug, Clone)]
pub struct SingleDestination(pub Destination);

impl Router for SingleDestination {
    fn route(&self, record: &Record) -> Vec<Destination> {
        let mut d = self.0.clone();
        d.log.account.clone_from(&record.recipient_account_id);
        d.log.region.clone_from(&record.aws_region);
        vec![d]
    }
}

/// Hooks for what happens after a file is delivered (digests, notifications) or fails.
pub trait DeliveryObserver: Send + Sync + 'static {
    /// A file is visible in the store and its records are acknowledged in the spool.
    /// Called from the pipeline's task in delivery order; keep it short.
    fn delivered(&self, log: &WrittenLog);
    /// A delivery attempt failed; the records are kept and retried with backoff.
    fn failed(&self, trail: &str, error: &str) {
        let _ = (trail, error);
    }
    /// Records are about to be acknowledged in the spool (their file is delivered): after this
    /// a restart no longer replays them, so anything that keeps records on its own (Event
    /// history) must have written them. Called from a worker thread; may block briefly.
    fn before_ack(&self) {}
    /// At start, the JSON of every record the spool still held (accepted, not yet delivered),
    /// once per record: what a crash may have kept from other observers' reach.
    fn replayed(&self, records: &[&[u8]]) {
        let _ = records;
    }
}

/// Pipeline settings.
#[derive(Debug, Clone)]
pub struct DeliveryConfig {
    /// Where the spool lives. One pipeline per spool directory.
    pub spool_dir: PathBuf,
    /// A batch is written once its oldest record is this old (default 5 minutes, at least 100 ms).
    pub flush_interval: Duration,
    /// A batch is written as soon as it holds this many records.
    pub max_records: usize,
    /// A batch is written before its uncompressed body would exceed this many bytes.
    pub max_bytes: usize,
    /// libdeflate level, 0–12 (default 6, like gzip).
    pub compression_level: i32,
    /// Chance that a record is written twice into its file (same `eventID`). Default 0.
    pub duplicate_rate: f64,
    /// Chance that a record is held back from its batch into the next file. Default 0.
    pub late_rate: f64,
    /// Bytes of record JSON held in memory (spooled but not delivered) before `submit` waits.
    pub max_pending_bytes: usize,
    /// Parallel compress-and-write workers (default: the number of CPUs).
    pub workers: usize,
    /// `fsync` spooled records (group-committed) and acks before relying on them, so they
    /// survive power loss, not only process crashes.
    pub fsync: bool,
    /// First retry delay after a failed delivery; doubles up to `max_retry_delay`.
    pub retry_delay: Duration,
    /// Longest retry delay.
    pub max_retry_delay: Duration,
    /// Makes spool writes fail on demand, as on a full disk (fault-injection tests).
    pub spool_faults: Option<Arc<SpoolFaults>>,
}

/// A switch that makes spool writes fail with "no space left on device" while it is on, as on a
/// full disk: only space the spool frees itself (its reserve) can be written then.
#[derive(Debug, Default)]
pub struct SpoolFaults {
    full: AtomicBool,
    freed: std::sync::atomic::AtomicU64,
}

impl SpoolFaults {
    /// Fills the disk, or frees it.
    pub fn set_full(&self, full: bool) {
        self.freed.store(0, Ordering::SeqCst);
        self.full.store(full, Ordering::SeqCst);
    }

    /// A write of `n` bytes: refused while the disk is full, unless space the spool freed covers
    /// it.
    pub(super) fn write(&self, n: u64) -> std::io::Result<()> {
        if !self.full.load(Ordering::SeqCst) {
            return Ok(());
        }
        let covered = self
            .freed
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |f| f.checked_sub(n))
            .is_ok();
        if covered {
            return Ok(());
        }
        Err(std::io::Error::new(
            std::io::ErrorKind::StorageFull,
            "No space left on device (injected)",
        ))
    }

    /// The spool deleted a file of `n` bytes.
    pub(super) fn freed(&self, n: u64) {
        if self.full.load(Ordering::SeqCst) {
            self.freed.fetch_add(n, Ordering::SeqCst);
        }
    }
}

/// Why a call that would change state must not run now: its record could not be accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// The spool cannot be written (a full disk, say).
    #[error("the spool cannot be written: {0}")]
    SpoolUnwritable(String),
    /// Records waiting for delivery fill the memory budget.
    #[error("{0} bytes of records wait for delivery, the budget is {1}")]
    Backlog(usize, usize),
}

impl DeliveryConfig {
    /// The defaults, spooling into `spool_dir`.
    pub fn new(spool_dir: impl Into<PathBuf>) -> Self {
        DeliveryConfig {
            spool_dir: spool_dir.into(),
            flush_interval: Duration::from_secs(300),
            max_records: 10_000,
            max_bytes: 32 << 20,
            compression_level: 6,
            duplicate_rate: 0.0,
            late_rate: 0.0,
            max_pending_bytes: 64 << 20,
            workers: std::thread::available_parallelism().map_or(2, |n| n.get()),
            fsync: false,
            retry_delay: Duration::from_secs(1),
            max_retry_delay: Duration::from_secs(300),
            spool_faults: None,
        }
    }

    /// Whether the settings can run a pipeline.
    pub(super) fn validate(&self) -> Result<(), DeliveryError> {
        let bad = |m: &str| Err(DeliveryError::Config(m.to_owned()));
        if self.flush_interval < Duration::from_millis(100) {
            return bad("flush_interval must be at least 100 ms");
        }
        if self.max_records == 0 || self.max_bytes == 0 || self.max_pending_bytes == 0 || self.workers == 0 {
            return bad("max_records, max_bytes, max_pending_bytes and workers must be positive");
        }
        if !(0.0..=1.0).contains(&self.duplicate_rate) || !(0.0..1.0).contains(&self.late_rate) {
            return bad("duplicate_rate must be in [0, 1] and late_rate in [0, 1)");
        }
        Ok(())
    }
}

/// Why the pipeline said no.
#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
    /// The spool could not be read or written; the record was not accepted.
    #[error("spool {path}: {source}")]
    Spool {
        /// The spool directory.
        path: String,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// Writing a log file failed; the records are kept and retried.
    #[error("log delivery failed: {0}")]
    Delivery(String),
    /// The pipeline has shut down.
    #[error("the delivery pipeline is shut down")]
    Closed,
    /// The memory budget stayed spent for as long as the submitter would wait.
    #[error("no room for the record within {0:?}: the delivery backlog does not drain")]
    NoRoom(std::time::Duration),
    /// The configuration is unusable.
    #[error("invalid delivery configuration: {0}")]
    Config(String),
}

/// Per-trail delivery state.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrailStatus {
    /// When the last file was delivered.
    pub last_delivery: Option<OffsetDateTime>,
    /// The last delivery error, cleared by the next success.
    pub last_error: Option<String>,
    /// When that error happened.
    pub last_error_at: Option<OffsetDateTime>,
    /// Files delivered since start.
    pub delivered_files: u64,
    /// Batches set aside since start because they can never be delivered.
    pub quarantined_files: u64,
}

/// A snapshot of the pipeline.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeliveryStatus {
    /// Record copies waiting in open batches.
    pub batched_records: usize,
    /// Record copies cut into files being written or queued for a worker.
    pub in_flight_records: usize,
    /// Bytes of record JSON in memory (the backpressure budget in use).
    pub pending_bytes: usize,
    /// Per trail ARN.
    pub trails: BTreeMap<String, TrailStatus>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_limits() {
        let mut c = DeliveryConfig::new("/tmp/x");
        assert!(c.validate().is_ok());
        c.late_rate = 1.0;
        assert!(c.validate().is_err());
        c.late_rate = 0.0;
        c.max_records = 0;
        assert!(c.validate().is_err());
    }
}
