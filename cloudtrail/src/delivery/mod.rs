//! The delivery pipeline: records in, spooled durably, batched per (trail, account, Region),
//! written as CloudTrail log files, acknowledged in the spool, and announced to observers.
//!
//! `submit` appends the record to the spool itself, group-committed: submitters arriving together
//! stage their frames under the spool's lock, and one of them writes the group with one `write`
//! outside it (with `fsync`, a shared group-committed `fdatasync` follows), then, back under the
//! lock, hands the group's records to the core task in one message, so the core hears of them in
//! spool order. The core owns the batches: it cuts them on age, size, request or
//! shutdown, and hands cut batches to long-lived worker threads that shuffle, compress and put
//! the file and append the acknowledgement to the spool. When a worker reports back, the core
//! notes the acknowledgement, releases the records' memory budget and tells the observers.
//!
//! The spool lock is taken by every submit on the request path, and a blocked std mutex stalls
//! a whole tokio worker thread; so nothing done under it touches the disk. Frames are written by
//! the group's leader after the lock is dropped, ack frames by the compression workers (behind a
//! lock of their own), and segments found wholly acknowledged are deleted by blocking tasks the
//! core spawns, which a shutdown awaits before it releases the spool.
//!
//! - [`api`]: destinations, the router and observer traits, settings, errors, status.
//! - `budget`: the memory budget `submit` waits on.
//! - `commit`: the request path, group commit into the spool.
//! - `spool`: the spool's files: segments of framed records and their acknowledgements.
//! - `core`: the task that owns the batches and cuts them into files.
//! - `workers`: the threads that compress, put and acknowledge each file.

pub mod api;
mod budget;
mod commit;
mod core;
mod spool;
mod workers;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::oneshot;

use crate::clock::SharedClock;
use crate::logfile::WrittenLog;
use crate::record::Record;
use crate::store::ObjectStore;

use self::core::Cmd;
pub use api::{
    DeliveryConfig, DeliveryError, DeliveryObserver, DeliveryStatus, Destination, Refusal, Router,
    SingleDestination, SpoolFaults, TrailStatus,
};
use budget::Budget;
use commit::{Group, Inner, Interner, SpoolShared};
use spool::Spool;

/// What the handles and the core share: the memory budget, the status snapshot, and whether
/// the spool's last write failed.
struct Shared {
    budget: Budget,
    status: Mutex<DeliveryStatus>,
    /// The error of the last spool write, cleared by the next one that succeeds.
    spool_error: Mutex<Option<String>>,
    /// Whether `spool_error` is set: the write path reads only this.
    spool_failing: AtomicBool,
    faults: Option<Arc<SpoolFaults>>,
    /// Whether the reserve file is there to be given up.
    reserve: AtomicBool,
}

impl Shared {
    fn set_spool_error(&self, e: Option<String>) {
        if e.is_none() && !self.spool_failing.load(Ordering::Relaxed) {
            return;
        }
        let mut slot = self.spool_error.lock().unwrap_or_else(|e| e.into_inner());
        self.spool_failing.store(e.is_some(), Ordering::Relaxed);
        *slot = e;
    }

    /// Deletes the reserve file so that the write that just failed for want of space can be
    /// tried again. Whether there was one to delete.
    fn release_reserve(&self, spool_dir: &std::path::Path) -> bool {
        if !self.reserve.swap(false, Ordering::SeqCst) {
            return false;
        }
        let released = std::fs::remove_file(spool_dir.join(RESERVE_FILE)).is_ok();
        if released && let Some(f) = &self.faults {
            f.freed(RESERVE_BYTES as u64);
        }
        released
    }

    fn spool_error(&self) -> Option<String> {
        if !self.spool_failing.load(Ordering::Relaxed) {
            return None;
        }
        self.spool_error.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

/// The probe that tells whether a spool that failed can be written again.
const PROBE_FILE: &str = "PROBE";
const PROBE_BYTES: usize = 64 << 10;
/// Space the spool holds back for the records of calls already admitted when the disk fills:
/// a file of zeros, deleted on the first "no space" error and made again once the spool can be
/// written.
const RESERVE_FILE: &str = "RESERVE";
const RESERVE_BYTES: usize = 4 << 20;

/// Makes the reserve file if it is missing.
fn make_reserve(dir: &std::path::Path, faults: Option<&SpoolFaults>) -> std::io::Result<()> {
    let path = dir.join(RESERVE_FILE);
    if std::fs::metadata(&path).is_ok_and(|m| m.len() == RESERVE_BYTES as u64) {
        return Ok(());
    }
    if let Some(f) = faults {
        f.write(RESERVE_BYTES as u64)?;
    }
    std::fs::write(&path, vec![0u8; RESERVE_BYTES]).inspect_err(|_| {
        let _ = std::fs::remove_file(&path);
    })
}

/// A spool segment is sealed once it reaches this size.
const SEGMENT_BYTES: u64 = 64 << 20;

/// The pipeline handle. Cheap to clone; every clone feeds the same pipeline.
#[derive(Clone)]
pub struct Delivery {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Delivery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Delivery")
            .field("status", &self.status())
            .finish()
    }
}

impl Delivery {
    /// Opens the spool, re-queues every record not yet delivered (written right away), and
    /// starts the pipeline on the current tokio runtime.
    pub async fn start(
        config: DeliveryConfig,
        clock: SharedClock,
        store: Arc<dyn ObjectStore>,
        router: Arc<dyn Router>,
        observers: Vec<Arc<dyn DeliveryObserver>>,
    ) -> Result<Delivery, DeliveryError> {
        config.validate()?;
        let shared = Arc::new(Shared {
            budget: Budget::new(config.max_pending_bytes),
            status: Mutex::new(DeliveryStatus::default()),
            spool_error: Mutex::new(None),
            spool_failing: AtomicBool::new(false),
            faults: config.spool_faults.clone(),
            reserve: AtomicBool::new(false),
        });
        let spool_dir = config.spool_dir.clone();
        let fsync = config.fsync;
        let spool_err = |source| DeliveryError::Spool {
            path: spool_dir.display().to_string(),
            source,
        };
        // One pipeline per spool: a second one would interleave segments and acks.
        std::fs::create_dir_all(&spool_dir).map_err(spool_err)?;
        let lock = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(spool_dir.join("LOCK"))
            .map_err(spool_err)?;
        if let Err(e) = lock.try_lock() {
            return Err(spool_err(match e {
                std::fs::TryLockError::WouldBlock => std::io::Error::new(
                    std::io::ErrorKind::ResourceBusy,
                    "the spool is in use by another pipeline",
                ),
                std::fs::TryLockError::Error(e) => e,
            }));
        }
        let dir = spool_dir.clone();
        let intents_store = store.clone();
        let (opened, dests) = tokio::task::spawn_blocking(move || {
            let settled = workers::settle_intents(&dir, &*intents_store);
            if settled > 0 {
                tracing::info!(settled, "files delivered just before a crash were acknowledged");
            }
            let mut dests = Interner::default();
            let r = Spool::open(&dir, fsync, SEGMENT_BYTES, &mut |d| dests.id(d));
            (r, dests)
        })
        .await
        .map_err(|e| spool_err(std::io::Error::other(e.to_string())))?;
        let (spool, replayed) = opened.map_err(spool_err)?;
        if !replayed.is_empty() {
            // A record with several destinations is replayed once per destination, sharing
            // its JSON: observers hear of it once.
            let mut seen = std::collections::HashSet::new();
            let jsons: Vec<&[u8]> = replayed
                .iter()
                .filter(|r| seen.insert(Arc::as_ptr(&r.json)))
                .map(|r| r.json.as_slice())
                .collect();
            for o in &observers {
                o.replayed(&jsons);
            }
        }
        // Best effort: without a reserve, admission still works; only the calls in flight when
        // the disk fills lose their records.
        match make_reserve(&spool_dir, shared.faults.as_deref()) {
            Ok(()) => shared.reserve.store(true, Ordering::SeqCst),
            Err(e) => tracing::warn!(error = %e, "cannot make the spool's reserve"),
        }
        let spool = Arc::new(Mutex::new(SpoolShared {
            spool,
            dests,
            closed: false,
            open: Group::new(),
            adds: Vec::new(),
            inbox: Vec::new(),
            inbox_signalled: false,
            writing: false,
        }));
        let clock_handle = clock.clone();
        let tx = core::spawn(
            config,
            clock,
            store,
            observers,
            shared.clone(),
            spool.clone(),
            lock,
            replayed,
        )
        .map_err(spool_err)?;
        Ok(Delivery {
            inner: Arc::new(Inner {
                tx,
                router,
                shared,
                spool,
                spool_dir,
                clock: clock_handle,
                sync_gate: tokio::sync::Mutex::new(()),
            }),
        })
    }

    /// Routes the record, appends it to the spool and returns once it is there (so it will be
    /// delivered even if the process dies now). Waits while the memory budget is used up.
    pub async fn submit(&self, record: Record) -> Result<(), DeliveryError> {
        self.inner.submit(&record, None, None).await
    }

    /// [`Delivery::submit`] with the record's JSON already made (`record.to_json()`), for
    /// callers that also need the bytes (Event history), so a record is serialised once.
    pub async fn submit_serialized(&self, record: &Record, json: Arc<Vec<u8>>) -> Result<(), DeliveryError> {
        self.inner.submit(record, Some(json), None).await
    }

    /// [`Delivery::submit_serialized`], waiting for room in the memory budget at most `wait`
    /// when given ([`DeliveryError::NoRoom`] after it): a backlog that does not drain must not
    /// hang the request path. Only a spent budget waits, so the deadline costs nothing otherwise.
    pub async fn submit_serialized_within(
        &self,
        record: &Record,
        json: Arc<Vec<u8>>,
        wait: Option<std::time::Duration>,
    ) -> Result<(), DeliveryError> {
        self.inner.submit(record, Some(json), wait).await
    }

    /// Writes every record accepted so far (late records included, as separate files) and
    /// returns the files written meanwhile. Fails with the delivery error if a write fails; the
    /// records are then kept and retried.
    pub async fn flush(&self) -> Result<Vec<WrittenLog>, DeliveryError> {
        self.ask(|reply| Cmd::Flush { reply }).await?
    }

    /// Makes the pipeline look at the clock and start whatever is due, then returns (without
    /// waiting for the writes). Lets tests and admin endpoints step a manual clock precisely.
    pub async fn tick(&self) -> Result<(), DeliveryError> {
        self.ask(|reply| Cmd::Tick { reply }).await
    }

    /// Flushes everything and stops the pipeline. Records whose delivery fails stay in the
    /// spool for the next start, and the error is returned.
    pub async fn shutdown(self) -> Result<(), DeliveryError> {
        self.ask(|reply| Cmd::Shutdown { reply }).await?
    }

    /// Sends the core a command and waits for its answer; `Closed` once the core is gone.
    async fn ask<T>(&self, cmd: impl FnOnce(oneshot::Sender<T>) -> Cmd) -> Result<T, DeliveryError> {
        let (reply, rx) = oneshot::channel();
        self.inner
            .tx
            .send(cmd(reply))
            .map_err(|_| DeliveryError::Closed)?;
        rx.await.map_err(|_| DeliveryError::Closed)
    }

    /// Whether a call that changes state may run: only when its record can be accepted, that
    /// is the spool is writable and the memory budget is not spent. After a failed spool write,
    /// a small probe file tells whether the spool can be written again (space freed, say).
    pub async fn admit(&self) -> Result<(), Refusal> {
        let shared = &self.inner.shared;
        let (used, max) = (shared.budget.used(), shared.budget.max);
        if used > 0 && used >= max {
            return Err(Refusal::Backlog(used, max));
        }
        if shared.spool_error().is_none() {
            return Ok(());
        }
        let path = self.inner.spool_dir.join(PROBE_FILE);
        let faults = shared.faults.clone();
        let dir = self.inner.spool_dir.clone();
        let probe = tokio::task::spawn_blocking(move || {
            if let Some(f) = &faults {
                f.write(PROBE_BYTES as u64)?;
            }
            let r = std::fs::write(&path, [0u8; PROBE_BYTES]);
            let _ = std::fs::remove_file(&path);
            r?;
            // Writable again: the reserve comes back before anything else is admitted.
            make_reserve(&dir, faults.as_deref())
        })
        .await
        .map_err(|e| Refusal::SpoolUnwritable(e.to_string()))?;
        match probe {
            Ok(()) => {
                shared.reserve.store(true, Ordering::SeqCst);
                shared.set_spool_error(None);
                Ok(())
            }
            Err(e) => {
                let e = e.to_string();
                shared.set_spool_error(Some(e.clone()));
                Err(Refusal::SpoolUnwritable(e))
            }
        }
    }

    /// The batches set aside because they can never be delivered (their bucket or key is
    /// invalid), as (file, bytes), oldest first. Each file is a CloudTrail log file with the
    /// trail, bucket, account, Region and error beside `Records`.
    pub fn quarantined(&self) -> Vec<(std::path::PathBuf, u64)> {
        let dir = self.inner.spool_dir.join(workers::QUARANTINE_DIR);
        let mut out: Vec<_> = std::fs::read_dir(&dir)
            .into_iter()
            .flatten()
            .filter_map(|e| {
                let e = e.ok()?;
                let m = e.metadata().ok()?;
                (m.is_file() && e.file_name().to_string_lossy().ends_with(".json"))
                    .then(|| (m.modified().ok(), e.path(), m.len()))
            })
            .collect();
        out.sort();
        out.into_iter().map(|(_, p, n)| (p, n)).collect()
    }

    /// Deletes every quarantined batch (an operator has looked at them); returns how many.
    pub fn clear_quarantine(&self) -> std::io::Result<usize> {
        let files = self.quarantined();
        for (path, _) in &files {
            std::fs::remove_file(path)?;
        }
        Ok(files.len())
    }

    /// The error of the last spool write, while the spool is failing.
    pub fn spool_error(&self) -> Option<String> {
        self.inner.shared.spool_error()
    }

    /// Last delivery and error per trail, and what is pending.
    pub fn status(&self) -> DeliveryStatus {
        let mut s = self
            .inner
            .shared
            .status
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        s.pending_bytes = self.inner.shared.budget.used();
        s
    }
}
