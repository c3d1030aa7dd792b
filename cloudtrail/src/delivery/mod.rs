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

use std::sync::{Arc, Mutex};

use tokio::sync::oneshot;

use crate::clock::SharedClock;
use crate::logfile::WrittenLog;
use crate::record::Record;
use crate::store::ObjectStore;

use self::core::Cmd;
pub use api::{
    DeliveryConfig, DeliveryError, DeliveryObserver, DeliveryStatus, Destination, Router, SingleDestination,
    TrailStatus,
};
use budget::Budget;
use commit::{Group, Inner, Interner, SpoolShared};
use spool::Spool;

/// What the handles and the core share: the memory budget and the status snapshot.
struct Shared {
    budget: Budget,
    status: Mutex<DeliveryStatus>,
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
        let (opened, dests) = tokio::task::spawn_blocking(move || {
            let mut dests = Interner::default();
            let r = Spool::open(&dir, fsync, SEGMENT_BYTES, &mut |d| dests.id(d));
            (r, dests)
        })
        .await
        .map_err(|e| spool_err(std::io::Error::other(e.to_string())))?;
        let (spool, replayed) = opened.map_err(spool_err)?;
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
        self.inner.submit(&record, None).await
    }

    /// [`Delivery::submit`] with the record's JSON already made (`record.to_json()`), for
    /// callers that also need the bytes (Event history), so a record is serialised once.
    pub async fn submit_serialized(&self, record: &Record, json: Arc<Vec<u8>>) -> Result<(), DeliveryError> {
        self.inner.submit(record, Some(json)).await
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
