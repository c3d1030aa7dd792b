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

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{RngExt, SeedableRng};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use tokio::sync::{Notify, mpsc, oneshot, watch};

use crate::clock::SharedClock;
use crate::layout::{LogDestination, unique_string};
use crate::logfile::{RawRecord, WrittenLog, write_raw};
use crate::record::Record;
use crate::spool::{NewRecord, Spool, remove_segment, write_ack, write_chunks};
use crate::store::ObjectStore;

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
        }
    }

    fn validate(&self) -> Result<(), DeliveryError> {
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

/// The memory budget: `submit` waits while spooled-but-undelivered JSON exceeds it.
struct Budget {
    used: Mutex<usize>,
    freed: Notify,
    max: usize,
}

impl Budget {
    async fn acquire(&self, n: usize) {
        loop {
            let freed = self.freed.notified();
            tokio::pin!(freed);
            freed.as_mut().enable();
            {
                let mut used = self.used.lock().unwrap_or_else(|e| e.into_inner());
                // An empty pipeline always takes a record, however large.
                if *used == 0 || *used + n <= self.max {
                    *used += n;
                    return;
                }
            }
            freed.await;
        }
    }

    fn force(&self, n: usize) {
        *self.used.lock().unwrap_or_else(|e| e.into_inner()) += n;
    }

    fn release(&self, n: usize) {
        {
            let mut used = self.used.lock().unwrap_or_else(|e| e.into_inner());
            *used = used.saturating_sub(n);
        }
        self.freed.notify_waiters();
    }

    fn used(&self) -> usize {
        *self.used.lock().unwrap_or_else(|e| e.into_inner())
    }
}

struct Shared {
    budget: Budget,
    status: Mutex<DeliveryStatus>,
}

/// The spool and the destination table, shared by submitters (which append) and the core
/// (which acknowledges and seals). Appends happen under this lock, in the order the core hears
/// of them.
struct SpoolShared {
    spool: Spool,
    dests: Interner,
    /// Set on shutdown: nothing more is appended.
    closed: bool,
    /// The group the next staged record joins; its frames are what the spool has staged.
    open: Arc<Group>,
    /// The open group's records, each with the index of its chunk, for the core once written.
    adds: Vec<(usize, Added)>,
    /// Written records the core has not taken yet, in spool order.
    inbox: Vec<Added>,
    /// A `Cmd::Drain` is on its way for the inbox: later records need no message of their own.
    inbox_signalled: bool,
    /// A submitter is writing a group: others stage and wait for it (group commit).
    writing: bool,
}

/// Submitters whose records are written with one `write` by whichever of them leads.
struct Group {
    outcome: std::sync::OnceLock<Outcome>,
    /// Submitters of the group still waiting for it (changed under the spool lock).
    members: AtomicUsize,
    /// Woken when the outcome is set, and (one waiter) when the group needs a leader.
    notify: Notify,
}

impl Group {
    fn new() -> Arc<Group> {
        Arc::new(Group {
            outcome: std::sync::OnceLock::new(),
            members: AtomicUsize::new(0),
            notify: Notify::new(),
        })
    }
}

/// How a group's write went: the chunks before `failed_from` are in the spool.
#[derive(Clone)]
struct Outcome {
    failed_from: usize,
    error: Option<(std::io::ErrorKind, String)>,
}

impl Outcome {
    fn result(&self, chunk: usize) -> std::io::Result<()> {
        match &self.error {
            Some((kind, msg)) if chunk >= self.failed_from => Err(std::io::Error::new(*kind, msg.clone())),
            _ => Ok(()),
        }
    }
}

/// A record now in the spool, on its way to its batches.
struct Added {
    ids: Vec<u32>,
    seg: u64,
    idx: u32,
    event_time: i64,
    json: Arc<Vec<u8>>,
    /// When the record was accepted: its batch's age counts from here.
    accepted: OffsetDateTime,
}

impl Added {
    /// What the record holds of the memory budget: its JSON once per destination.
    fn budget(&self) -> usize {
        self.json.len() * self.ids.len()
    }
}

enum Cmd {
    /// Records just written to the spool wait in the inbox. One message stands for all that
    /// arrive before the core takes them, so a busy core is not woken once per record.
    Drain,
    Flush {
        reply: oneshot::Sender<Result<Vec<WrittenLog>, DeliveryError>>,
    },
    Tick {
        reply: oneshot::Sender<()>,
    },
    Shutdown {
        reply: oneshot::Sender<Result<(), DeliveryError>>,
    },
}

struct Inner {
    tx: mpsc::UnboundedSender<Cmd>,
    router: Arc<dyn Router>,
    shared: Arc<Shared>,
    spool: Arc<Mutex<SpoolShared>>,
    spool_dir: PathBuf,
    clock: SharedClock,
    /// One `fdatasync` at a time; whoever waits behind it usually finds its record covered.
    sync_gate: tokio::sync::Mutex<()>,
}

impl Inner {
    fn spool(&self) -> std::sync::MutexGuard<'_, SpoolShared> {
        self.spool.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Writes the open group with one `write` per segment touched (group commit), then hands
    /// its records to the core in spool order and wakes its members. The caller has set
    /// `writing`; records staged meanwhile form the next group, and one of its members is woken
    /// to lead it. Never awaits, so it cannot be abandoned half-way.
    fn lead(&self) {
        while self.lead_one() {}
    }

    /// Writes one group; returns whether the next one needs this caller to lead it too (all its
    /// members have gone away).
    fn lead_one(&self) -> bool {
        let mut g = self.spool();
        let chunks = g.spool.take_staged();
        let adds = std::mem::take(&mut g.adds);
        let group = std::mem::replace(&mut g.open, Group::new());
        drop(g);
        let result = write_chunks(&chunks);
        if let Err((_, e)) = &result {
            // Logged before the lock is taken again: logging is I/O too.
            tracing::error!(error = %e, "spool write failed; records rejected");
        }
        let mut g = self.spool();
        let failed_from = match &result {
            Ok(()) => usize::MAX,
            Err((i, _)) => *i,
        };
        let (written, failed): (Vec<_>, Vec<_>) = adds.into_iter().partition(|(c, _)| *c < failed_from);
        // Budget taken by records that are not in the spool; their submitters may be gone.
        let mut unspooled = failed.iter().map(|(_, a)| a.budget()).sum::<usize>();
        if !written.is_empty() {
            // Queued under the lock, so the core hears of records in spool order; and the core
            // empties the inbox before any command, so a flush asked for after a submit
            // returned covers its record.
            let now = self.clock.now();
            g.inbox.extend(written.into_iter().map(|(_, mut a)| {
                a.accepted = now;
                a
            }));
            if !g.inbox_signalled {
                g.inbox_signalled = true;
                let _ = self.tx.send(Cmd::Drain);
            }
        }
        let mut error = None;
        if let Err((i, e)) = result {
            g.spool.abandon(chunks.get(i..).unwrap_or_default());
            // Records staged meanwhile may follow the torn frame in its segment, where their
            // indexes would be wrong: they fail too.
            let later = g.spool.take_staged();
            g.spool.abandon(&later);
            unspooled += g.adds.drain(..).map(|(_, a)| a.budget()).sum::<usize>();
            let next = std::mem::replace(&mut g.open, Group::new());
            let _ = next.outcome.set(Outcome {
                failed_from: 0,
                error: Some((e.kind(), e.to_string())),
            });
            next.notify.notify_waiters();
            error = Some((e.kind(), e.to_string()));
        }
        if unspooled > 0 {
            self.shared.budget.release(unspooled);
        }
        let _ = group.outcome.set(Outcome { failed_from, error });
        let orphaned = !g.adds.is_empty() && g.open.members.load(Ordering::Relaxed) == 0;
        if orphaned {
            drop(g);
            group.notify.notify_waiters();
            return true;
        }
        g.writing = false;
        let next = (!g.adds.is_empty()).then(|| g.open.clone());
        drop(g);
        group.notify.notify_waiters();
        if let Some(next) = next {
            next.notify.notify_one();
        }
        false
    }
}

/// A submitter waiting for its group to be written.
struct Follower<'a> {
    inner: &'a Inner,
    group: &'a Arc<Group>,
    /// Still waiting: on drop, make sure the group gets written.
    armed: bool,
}

impl Follower<'_> {
    /// Leads the group if it is not written and nobody is writing. Returns whether it did.
    fn take_lead(&self) -> bool {
        {
            let mut g = self.inner.spool();
            // Nobody writing and our group not done means it is still the open group.
            if g.writing || self.group.outcome.get().is_some() {
                return false;
            }
            g.writing = true;
        }
        self.inner.lead();
        true
    }
}

impl Drop for Follower<'_> {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        // Our record is staged and counted as pending: it must reach the file and the core even
        // though nobody waits for the answer any more.
        let mut g = self.inner.spool();
        let left = self.group.members.fetch_sub(1, Ordering::Relaxed) - 1;
        if self.group.outcome.get().is_some() {
            return;
        }
        if !g.writing {
            g.writing = true;
            drop(g);
            self.inner.lead();
        } else if left > 0 {
            // We may have been the member woken to lead next: pass that on. With no member
            // left, the current leader writes the group itself.
            drop(g);
            self.group.notify.notify_one();
        }
    }
}

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
            budget: Budget {
                used: Mutex::new(0),
                freed: Notify::new(),
                max: config.max_pending_bytes,
            },
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
        let (tx, rx) = mpsc::unbounded_channel();
        let (done_tx, done_rx) = mpsc::unbounded_channel();
        let now = clock.now();
        let clock_handle = clock.clone();
        let mut core = Core {
            clock_rx: clock.advanced(),
            clock,
            store,
            observers,
            shared: shared.clone(),
            spool: spool.clone(),
            dests: Vec::new(),
            batches: HashMap::new(),
            deadline: None,
            ready: VecDeque::new(),
            in_flight: 0,
            in_flight_records: 0,
            rng: StdRng::seed_from_u64(rand::random()),
            waiters: Vec::new(),
            events: done_tx,
            lock: Some(lock),
            compressors: Pool::new("ct-compress", config.workers).map_err(spool_err)?,
            inbox: Vec::new(),
            through: std::collections::HashSet::new(),
            interval: config.flush_interval,
            config,
            closing: None,
            ack_io: Arc::new(Mutex::new(())),
            janitors: Vec::new(),
        };
        // Replayed records are overdue: write them as soon as the pipeline runs.
        let overdue = now - core.interval;
        for r in replayed {
            let d = spool.lock().unwrap_or_else(|e| e.into_inner()).dests.id(&r.dest);
            shared.budget.force(r.json.len());
            core.add(
                d,
                Entry {
                    seg: r.seg,
                    idx: r.idx,
                    slot: r.slot,
                    event_time: r.event_time,
                    json: r.json,
                    held: false,
                },
                overdue,
            );
        }
        tokio::spawn(core.run(rx, done_rx));
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
        self.submit_inner(&record, None).await
    }

    /// [`Delivery::submit`] with the record's JSON already made (`record.to_json()`), for
    /// callers that also need the bytes (Event history), so a record is serialised once.
    pub async fn submit_serialized(&self, record: &Record, json: Arc<Vec<u8>>) -> Result<(), DeliveryError> {
        self.submit_inner(record, Some(json)).await
    }

    async fn submit_inner(&self, record: &Record, json: Option<Arc<Vec<u8>>>) -> Result<(), DeliveryError> {
        let mut dests = self.inner.router.route(record);
        if dests.is_empty() {
            return Ok(());
        }
        if dests.len() > 1 {
            // A trail gets one copy, however the router got there.
            dests.sort_unstable();
            dests.dedup();
        }
        // Submitting never has to wait when there is room, so a tight loop of submits would hold
        // its worker thread and starve the pipeline's own task; take part in tokio's budgeting.
        tokio::task::coop::consume_budget().await;
        let json = json.unwrap_or_else(|| Arc::new(record.to_json()));
        let bytes = json.len() * dests.len();
        let budget = &self.inner.shared.budget;
        budget.acquire(bytes).await;
        let event_time = record.event_time.unix_timestamp();
        let spool_err = |source| DeliveryError::Spool {
            path: self.inner.spool_dir.display().to_string(),
            source,
        };
        let staged = {
            let mut guard = self.inner.spool.lock().unwrap_or_else(|e| e.into_inner());
            let shared = &mut *guard;
            if shared.closed {
                drop(guard);
                budget.release(bytes);
                return Err(DeliveryError::Closed);
            }
            let ids: Vec<u32> = dests.iter().map(|d| shared.dests.id(d)).collect();
            let list = &shared.dests.list;
            let dest_of = |i: u32| list.get(i as usize).cloned().unwrap_or_else(empty_destination);
            let new = NewRecord {
                dests: &ids,
                event_time,
                json: &json,
            };
            match shared.spool.stage(&new, &dest_of) {
                Ok((seg, idx, chunk, sync)) => {
                    shared.adds.push((
                        chunk,
                        Added {
                            ids,
                            seg,
                            idx,
                            event_time,
                            json,
                            accepted: OffsetDateTime::UNIX_EPOCH,
                        },
                    ));
                    let first = shared.open.members.fetch_add(1, Ordering::Relaxed) == 0;
                    (shared.open.clone(), chunk, sync, first)
                }
                Err(e) => {
                    drop(guard);
                    tracing::error!(error = %e, "spool write failed; record rejected");
                    budget.release(bytes);
                    return Err(spool_err(e));
                }
            }
        };
        let (group, chunk, sync, first) = staged;
        // Not yet written. The group's first member leads: it writes the group at once unless
        // a previous group is still being written, in which case the records staged meanwhile
        // share the next `write` (it does not wait for company: an uncontended submit costs one
        // `write`, as before, and no extra scheduling round). The others wait until the group
        // is written, or until they are woken to lead it. Should this future be dropped
        // meanwhile, the guard still gets the group written, since its records are already
        // counted as pending in the spool.
        let mut guard = Follower {
            inner: &self.inner,
            group: &group,
            armed: true,
        };
        let mut may_lead = first;
        let outcome = loop {
            let notified = group.notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if let Some(o) = group.outcome.get() {
                break o.clone();
            }
            if may_lead && guard.take_lead() {
                continue;
            }
            notified.await;
            may_lead = true;
        };
        guard.armed = false;
        // (The leader has released a failed record's budget, waiting or not.)
        outcome.result(chunk).map_err(spool_err)?;
        if let Some(sync) = sync
            && !sync.done()
        {
            // Group commit: one sync at a time, each covering every record written before it.
            let _gate = self.inner.sync_gate.lock().await;
            if !sync.done() {
                tokio::task::spawn_blocking(move || sync.sync())
                    .await
                    .map_err(|e| spool_err(std::io::Error::other(e.to_string())))?
                    .map_err(spool_err)?;
            }
        }
        Ok(())
    }

    /// Writes every record accepted so far (late records included, as separate files) and
    /// returns the files written meanwhile. Fails with the delivery error if a write fails; the
    /// records are then kept and retried.
    pub async fn flush(&self) -> Result<Vec<WrittenLog>, DeliveryError> {
        let (reply, rx) = oneshot::channel();
        self.inner
            .tx
            .send(Cmd::Flush { reply })
            .map_err(|_| DeliveryError::Closed)?;
        rx.await.map_err(|_| DeliveryError::Closed)?
    }

    /// Makes the pipeline look at the clock and start whatever is due, then returns (without
    /// waiting for the writes). Lets tests and admin endpoints step a manual clock precisely.
    pub async fn tick(&self) -> Result<(), DeliveryError> {
        let (reply, rx) = oneshot::channel();
        self.inner
            .tx
            .send(Cmd::Tick { reply })
            .map_err(|_| DeliveryError::Closed)?;
        rx.await.map_err(|_| DeliveryError::Closed)
    }

    /// Flushes everything and stops the pipeline. Records whose delivery fails stay in the
    /// spool for the next start, and the error is returned.
    pub async fn shutdown(self) -> Result<(), DeliveryError> {
        let (reply, rx) = oneshot::channel();
        self.inner
            .tx
            .send(Cmd::Shutdown { reply })
            .map_err(|_| DeliveryError::Closed)?;
        rx.await.map_err(|_| DeliveryError::Closed)?
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

#[derive(Default)]
struct Interner {
    list: Vec<Destination>,
    ids: HashMap<Destination, u32>,
}

impl Interner {
    fn id(&mut self, d: &Destination) -> u32 {
        if let Some(&i) = self.ids.get(d) {
            return i;
        }
        let i = self.list.len() as u32;
        self.list.push(d.clone());
        self.ids.insert(d.clone(), i);
        i
    }
}

/// One record copy bound for one destination.
struct Entry {
    seg: u64,
    idx: u32,
    slot: u16,
    event_time: i64,
    json: Arc<Vec<u8>>,
    /// Already held back once by `late_rate`: never held again.
    held: bool,
}

impl Entry {
    fn body_bytes(&self) -> usize {
        self.json.len() + 1
    }
}

/// Size of `{"Records":[]}`.
const BODY_OVERHEAD: usize = 14;

struct Batch {
    entries: Vec<Entry>,
    bytes: usize,
    opened_at: OffsetDateTime,
    retry_at: Option<OffsetDateTime>,
    backoff: Duration,
}

impl Batch {
    /// Empties the batch for a file, leaving it ready for the next records.
    fn take_entries(&mut self) -> Vec<Entry> {
        self.bytes = BODY_OVERHEAD;
        std::mem::take(&mut self.entries)
    }
}

struct Job {
    dest: u32,
    entries: Vec<Entry>,
}

struct Done {
    dest: u32,
    entries: Vec<Entry>,
    result: Result<WrittenLog, String>,
}

struct Waiter {
    high_water: u64,
    logs: Vec<WrittenLog>,
    reply: oneshot::Sender<Result<Vec<WrittenLog>, DeliveryError>>,
}

struct Core {
    config: DeliveryConfig,
    interval: Duration,
    clock: SharedClock,
    clock_rx: Option<watch::Receiver<OffsetDateTime>>,
    store: Arc<dyn ObjectStore>,
    observers: Vec<Arc<dyn DeliveryObserver>>,
    shared: Arc<Shared>,
    spool: Arc<Mutex<SpoolShared>>,
    /// The core's copy of the destination table, filled from the shared one as ids appear.
    dests: Vec<Destination>,
    batches: HashMap<u32, Batch>,
    /// The earliest deadline of any batch with entries (`Some(None)`: no such batch), or `None`
    /// when it must be found again. It may be early (a batch it came from was cut since), never
    /// late, so the loop neither scans every batch on every wake-up nor misses a deadline.
    deadline: Option<Option<OffsetDateTime>>,
    ready: VecDeque<Job>,
    in_flight: usize,
    in_flight_records: usize,
    rng: StdRng,
    waiters: Vec<Waiter>,
    events: mpsc::UnboundedSender<Done>,
    /// Holds the spool's `LOCK` file locked while the pipeline runs.
    lock: Option<std::fs::File>,
    compressors: Pool,
    /// The inbox's previous vector, swapped back in so draining does not allocate.
    inbox: Vec<Added>,
    /// Destinations that received a flush's stragglers since the last look.
    through: std::collections::HashSet<u32>,
    closing: Option<oneshot::Sender<Result<(), DeliveryError>>>,
    /// Serialises the workers' ack appends.
    ack_io: Arc<Mutex<()>>,
    /// Deletions of acknowledged segments still running.
    janitors: Vec<tokio::task::JoinHandle<()>>,
}

/// A few long-lived threads for blocking work. Long-lived on purpose: each compression thread
/// keeps its compressor and its multi-megabyte buffers between files, which fresh blocking
/// tasks would pay for in page faults every time.
struct Pool {
    tx: std::sync::mpsc::Sender<Box<dyn FnOnce() + Send>>,
}

impl Pool {
    fn new(name: &str, threads: usize) -> std::io::Result<Pool> {
        let (tx, rx) = std::sync::mpsc::channel::<Box<dyn FnOnce() + Send>>();
        let rx = Arc::new(Mutex::new(rx));
        for i in 0..threads.max(1) {
            let rx = rx.clone();
            std::thread::Builder::new()
                .name(format!("{name}-{i}"))
                .spawn(move || {
                    loop {
                        // The threads end when the pipeline drops the sender.
                        let task = match rx.lock() {
                            Ok(guard) => guard.recv(),
                            Err(_) => return,
                        };
                        match task {
                            Ok(task) => task(),
                            Err(_) => return,
                        }
                    }
                })?;
        }
        Ok(Pool { tx })
    }

    fn run(&self, task: impl FnOnce() + Send + 'static) {
        // The receiving threads live as long as `self`, so the send cannot fail.
        let _ = self.tx.send(Box::new(task));
    }
}

/// A spool segment is sealed once it reaches this size.
const SEGMENT_BYTES: u64 = 64 << 20;

/// Most commands handled per wake-up before the core looks at its other inputs.
const DRAIN: usize = 4096;

impl Core {
    async fn run(mut self, mut rx: mpsc::UnboundedReceiver<Cmd>, mut events: mpsc::UnboundedReceiver<Done>) {
        loop {
            self.reap();
            self.start_due(false);
            self.relieve_pressure();
            self.dispatch();
            self.publish_status();
            if self.closing.is_some()
                && self.in_flight == 0
                && self.ready.is_empty()
                && self.waiters.is_empty()
            {
                break;
            }
            let deadline = self.next_deadline();
            tokio::select! {
                biased;
                done = events.recv() => {
                    if let Some(done) = done {
                        self.finish(done);
                    }
                }
                // Still read while closing: records written to the spool just before it closed
                // are heard of after the shutdown began, and its flush waits for them.
                cmd = rx.recv() => {
                    let Some(cmd) = cmd else {
                        // Every handle is gone without a shutdown: stop; the spool keeps the rest.
                        break;
                    };
                    self.command(cmd);
                    for _ in 0..DRAIN {
                        match rx.try_recv() {
                            Ok(c) => self.command(c),
                            Err(_) => break,
                        }
                    }
                }
                () = wait_until(&self.clock, &mut self.clock_rx, deadline) => {}
            }
        }
        self.spool().closed = true;
        // A successor must not find segments half-deleted: finish the deletions first.
        self.reap();
        for j in self.janitors.drain(..) {
            let _ = j.await;
        }
        // Let a successor open the spool as soon as we answer.
        self.lock = None;
        // Answer anyone still waiting on the way out.
        for w in self.waiters.drain(..) {
            let _ = w.reply.send(Err(DeliveryError::Closed));
        }
        if let Some(reply) = self.closing.take() {
            let _ = reply.send(Ok(()));
        }
    }

    fn spool(&self) -> std::sync::MutexGuard<'_, SpoolShared> {
        self.spool.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Deletes the segments the spool found wholly acknowledged, on a blocking thread: unlinking
    /// a large file can take milliseconds, which neither the lock nor the core should wait for.
    fn reap(&mut self) {
        self.janitors.retain(|j| !j.is_finished());
        let doomed = self.spool().spool.take_doomed();
        if doomed.is_empty() {
            return;
        }
        let dir = self.config.spool_dir.clone();
        self.janitors.push(tokio::task::spawn_blocking(move || {
            for id in doomed {
                remove_segment(&dir, id);
            }
        }));
    }

    /// The destination behind an interned id.
    fn dest(&mut self, id: u32) -> Option<Destination> {
        let i = id as usize;
        if i >= self.dests.len() {
            let shared = self.spool.lock().unwrap_or_else(|e| e.into_inner());
            let have = self.dests.len();
            self.dests.extend(shared.dests.list.iter().skip(have).cloned());
        }
        self.dests.get(i).cloned()
    }

    /// Takes the records written to the spool since the last look into their batches.
    fn drain_inbox(&mut self) {
        let mut added = std::mem::take(&mut self.inbox);
        {
            let mut shared = self.spool();
            std::mem::swap(&mut added, &mut shared.inbox);
            shared.inbox_signalled = false;
        }
        for a in added.drain(..) {
            // A record appended just before a flush sealed its segment, but heard of after the
            // flush started, must still go out with that flush.
            let through = self.waiters.iter().any(|w| a.seg <= w.high_water);
            for (slot, d) in a.ids.into_iter().enumerate() {
                if through {
                    self.through.insert(d);
                }
                let e = Entry {
                    seg: a.seg,
                    idx: a.idx,
                    slot: slot as u16,
                    event_time: a.event_time,
                    json: a.json.clone(),
                    held: false,
                };
                self.add(d, e, a.accepted);
            }
        }
        // Keep the (now empty) vector's capacity for the next swap, within reason.
        if added.capacity() <= 1 << 16 {
            self.inbox = added;
        }
    }

    fn command(&mut self, cmd: Cmd) {
        // Whatever the command, records already in the spool come first: a flush must see them.
        self.drain_inbox();
        match cmd {
            Cmd::Drain => {}
            Cmd::Tick { reply } => {
                self.start_due(false);
                self.dispatch();
                self.publish_status();
                let _ = reply.send(());
            }
            Cmd::Flush { reply } => self.start_flush(reply),
            Cmd::Shutdown { reply } if self.closing.is_some() => {
                let _ = reply.send(Err(DeliveryError::Closed));
            }
            Cmd::Shutdown { reply } => {
                // Nothing more gets into the spool; what is there is flushed.
                self.spool().closed = true;
                let (tx, rx) = oneshot::channel();
                self.start_flush(tx);
                // The flush's own outcome decides the shutdown's.
                let (ctx, crx) = oneshot::channel::<Result<(), DeliveryError>>();
                self.closing = Some(ctx);
                tokio::spawn(async move {
                    let flushed = rx
                        .await
                        .map_err(|_| DeliveryError::Closed)
                        .and_then(|r| r.map(|_| ()));
                    let _ = crx.await;
                    let _ = reply.send(flushed);
                });
            }
        }
    }

    fn start_flush(&mut self, reply: oneshot::Sender<Result<Vec<WrittenLog>, DeliveryError>>) {
        let high_water = self.spool().spool.seal();
        self.start_due(true);
        self.dispatch();
        self.waiters.push(Waiter {
            high_water,
            logs: Vec::new(),
            reply,
        });
        self.check_waiters();
    }

    /// Adds one record copy to its destination's batch, cutting the batch on size.
    fn add(&mut self, dest: u32, e: Entry, now: OffsetDateTime) {
        let max_records = self.config.max_records;
        let max_bytes = self.config.max_bytes;
        let batch = self.batches.entry(dest).or_insert_with(|| Batch {
            entries: Vec::new(),
            bytes: BODY_OVERHEAD,
            opened_at: now,
            retry_at: None,
            backoff: Duration::ZERO,
        });
        if batch.entries.is_empty() {
            batch.opened_at = now;
        }
        let failing = batch.retry_at.is_some();
        if !failing && !batch.entries.is_empty() && batch.bytes + e.body_bytes() > max_bytes {
            let entries = batch.take_entries();
            batch.opened_at = now;
            self.ready.push_back(Job { dest, entries });
        }
        let Some(batch) = self.batches.get_mut(&dest) else {
            return;
        };
        let opened = batch.entries.is_empty();
        batch.bytes += e.body_bytes();
        batch.entries.push(e);
        if opened {
            let due = batch.retry_at.unwrap_or(batch.opened_at + self.interval);
            if let Some(known) = &mut self.deadline {
                *known = Some(known.map_or(due, |d| d.min(due)));
            }
        }
        if !failing && (batch.entries.len() >= max_records || batch.bytes > max_bytes) {
            let entries = batch.take_entries();
            self.ready.push_back(Job { dest, entries });
        }
    }

    /// Cuts the largest batches early when the memory budget is nearly spent and most of it sits
    /// in batches. With records spread over many (trail, account, Region) batches, none may reach
    /// its size limit before the budget runs out, and every caller would then wait for the age
    /// flush (5 minutes by default). Batches in retry keep their records: that wait is the point.
    fn relieve_pressure(&mut self) {
        let max = self.shared.budget.max;
        if self.shared.budget.used() < max / 4 * 3 {
            return;
        }
        let mut sizes: Vec<(usize, u32)> = self
            .batches
            .iter()
            .filter(|(_, b)| b.retry_at.is_none() && !b.entries.is_empty())
            .map(|(d, b)| (b.bytes, *d))
            .collect();
        let mut held: usize = sizes.iter().map(|s| s.0).sum();
        if held < max / 2 {
            return;
        }
        sizes.sort_unstable_by(|a, b| b.cmp(a));
        for (bytes, d) in sizes {
            if held < max / 4 {
                break;
            }
            if let Some(batch) = self.batches.get_mut(&d) {
                let entries = batch.take_entries();
                self.ready.push_back(Job { dest: d, entries });
            }
            held = held.saturating_sub(bytes);
        }
    }

    /// Cuts every batch that is due (all of them when `force`) into jobs.
    fn start_due(&mut self, force: bool) {
        let now = self.clock.now();
        // Nothing is due before the earliest deadline: skip the scan over every batch.
        if !force && self.through.is_empty() && matches!(self.deadline, Some(d) if d.is_none_or(|d| now < d))
        {
            return;
        }
        // Stragglers of a flush go out now, together, without late holding.
        let mut through: Vec<u32> = self.through.drain().collect();
        through.sort_unstable();
        for d in through {
            if let Some(batch) = self.batches.get_mut(&d)
                && !batch.entries.is_empty()
            {
                let entries = batch.take_entries();
                for chunk in split(entries, self.config.max_records, self.config.max_bytes) {
                    self.ready.push_back(Job {
                        dest: d,
                        entries: chunk,
                    });
                }
            }
        }
        let interval = self.interval;
        let late_rate = self.config.late_rate;
        let mut due: Vec<u32> = self
            .batches
            .iter()
            .filter(|(_, b)| !b.entries.is_empty())
            .filter(|(_, b)| {
                force
                    || match b.retry_at {
                        Some(t) => now >= t,
                        None => now >= b.opened_at + interval,
                    }
            })
            .map(|(d, _)| *d)
            .collect();
        due.sort_unstable();
        let emptied = !due.is_empty();
        for d in due {
            let Some(batch) = self.batches.get_mut(&d) else {
                continue;
            };
            let mut entries = batch.take_entries();
            batch.opened_at = now;
            // Late records: some stay for the next file. On a forced flush they still get their
            // own later file, so a flush leaves nothing behind.
            let mut late = Vec::new();
            if late_rate > 0.0 {
                let (keep, hold): (Vec<Entry>, Vec<Entry>) = entries
                    .into_iter()
                    .partition(|e| e.held || !self.rng.random_bool(late_rate));
                entries = keep;
                late = hold;
                for e in &mut late {
                    e.held = true;
                }
            }
            for chunk in split(entries, self.config.max_records, self.config.max_bytes) {
                self.ready.push_back(Job {
                    dest: d,
                    entries: chunk,
                });
            }
            if force {
                for chunk in split(late, self.config.max_records, self.config.max_bytes) {
                    self.ready.push_back(Job {
                        dest: d,
                        entries: chunk,
                    });
                }
            } else if !late.is_empty()
                && let Some(batch) = self.batches.get_mut(&d)
            {
                batch.bytes += late.iter().map(Entry::body_bytes).sum::<usize>();
                batch.entries.extend(late);
            }
        }
        // An idle batch is indistinguishable from a missing one (`add` reopens either at the
        // next record), so drop it: records spread over many accounts and Regions would
        // otherwise leave thousands of empty batches for every deadline scan to walk.
        // Found again after every scan: a deadline kept from before may be past by now, with
        // the batch it came from cut since, and would make the loop spin.
        self.deadline = None;
        if emptied {
            self.batches
                .retain(|_, b| !b.entries.is_empty() || b.retry_at.is_some() || !b.backoff.is_zero());
        }
    }

    /// Starts queued jobs on free workers.
    fn dispatch(&mut self) {
        while self.in_flight < self.config.workers {
            let Some(job) = self.ready.pop_front() else { break };
            if job.entries.is_empty() {
                continue;
            }
            let Some(dest) = self.dest(job.dest) else {
                continue;
            };
            self.in_flight += 1;
            self.in_flight_records += job.entries.len();
            let delivered_at = self.clock.now();
            let unique = unique_string(&mut self.rng);
            let seed: u64 = self.rng.random();
            let store = self.store.clone();
            let level = self.config.compression_level;
            let dup = self.config.duplicate_rate;
            let events = self.events.clone();
            let ack_io = self.ack_io.clone();
            let (dir, fsync) = (self.config.spool_dir.clone(), self.config.fsync);
            let d = job.dest;
            let mut entries = job.entries;
            self.compressors.run(move || {
                let mut rng = StdRng::seed_from_u64(seed);
                // AWS files are not ordered by time.
                entries.shuffle(&mut rng);
                let mut raw: Vec<RawRecord<'_>> = Vec::with_capacity(entries.len());
                for e in &entries {
                    let r = RawRecord {
                        json: &e.json,
                        event_time: OffsetDateTime::from_unix_timestamp(e.event_time)
                            .unwrap_or(OffsetDateTime::UNIX_EPOCH),
                    };
                    raw.push(r);
                    if dup > 0.0 && rng.random_bool(dup) {
                        let at = rng.random_range(0..=raw.len());
                        raw.insert(at, r);
                    }
                }
                // A panicking store must not wedge the pipeline: report it as a failed write.
                let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    write_raw(
                        &*store,
                        &dest.trail,
                        &dest.log,
                        &raw,
                        delivered_at,
                        &unique,
                        level,
                    )
                    .map_err(|e| e.to_string())
                }))
                .unwrap_or_else(|_| Err("the object store panicked".to_owned()));
                drop(raw);
                if result.is_ok() {
                    // The file is visible: acknowledge its records here, off the core and off
                    // the spool lock. Workers take turns so ack frames never interleave.
                    let mut by_seg: BTreeMap<u64, Vec<(u32, u16)>> = BTreeMap::new();
                    for e in &entries {
                        by_seg.entry(e.seg).or_default().push((e.idx, e.slot));
                    }
                    let _turn = ack_io.lock().unwrap_or_else(|e| e.into_inner());
                    for (seg, pairs) in by_seg {
                        if let Err(err) = write_ack(&dir, seg, &pairs, fsync) {
                            // Without the ack a restart would write these again.
                            tracing::error!(error = %err, seg, "spool ack failed; records may be delivered twice after a restart");
                        }
                    }
                }
                let _ = events.send(Done {
                    dest: d,
                    entries,
                    result,
                });
            });
        }
    }

    /// A worker finished: acknowledge, release and announce, or keep the records for a retry.
    fn finish(&mut self, done: Done) {
        self.in_flight -= 1;
        self.in_flight_records -= done.entries.len();
        let trail = self.dest(done.dest).map(|d| d.trail).unwrap_or_default();
        match done.result {
            Ok(log) => {
                // The worker has written the ack frames; only the counts change here.
                let mut by_seg: BTreeMap<u64, usize> = BTreeMap::new();
                let mut bytes = 0;
                for e in &done.entries {
                    *by_seg.entry(e.seg).or_default() += 1;
                    bytes += e.json.len();
                }
                let mut shared = self.spool();
                for (seg, pairs) in by_seg {
                    shared.spool.acked(seg, pairs);
                }
                drop(shared);
                self.reap();
                self.shared.budget.release(bytes);
                if let Some(b) = self.batches.get_mut(&done.dest) {
                    b.retry_at = None;
                    b.backoff = Duration::ZERO;
                    // Its deadline may now be earlier than the retry it was waiting for.
                    self.deadline = None;
                }
                {
                    let mut st = self.shared.status.lock().unwrap_or_else(|e| e.into_inner());
                    let t = st.trails.entry(trail).or_default();
                    t.last_delivery = Some(log.delivered_at);
                    t.last_error = None;
                    t.delivered_files += 1;
                }
                for o in &self.observers {
                    o.delivered(&log);
                }
                for w in &mut self.waiters {
                    w.logs.push(log.clone());
                }
                self.check_waiters();
            }
            Err(msg) => {
                tracing::warn!(trail, error = %msg, "log delivery failed; will retry");
                let now = self.clock.now();
                let first = self.config.retry_delay;
                let max = self.config.max_retry_delay;
                let batch = self.batches.entry(done.dest).or_insert_with(|| Batch {
                    entries: Vec::new(),
                    bytes: BODY_OVERHEAD,
                    opened_at: now,
                    retry_at: None,
                    backoff: Duration::ZERO,
                });
                batch.backoff = if batch.backoff.is_zero() {
                    first
                } else {
                    (batch.backoff * 2).min(max)
                };
                batch.retry_at = Some(now + batch.backoff);
                self.deadline = None;
                batch.bytes += done.entries.iter().map(Entry::body_bytes).sum::<usize>();
                let mut entries = done.entries;
                entries.append(&mut batch.entries);
                batch.entries = entries;
                {
                    let mut st = self.shared.status.lock().unwrap_or_else(|e| e.into_inner());
                    let t = st.trails.entry(trail.clone()).or_default();
                    t.last_error = Some(msg.clone());
                    t.last_error_at = Some(now);
                }
                for o in &self.observers {
                    o.failed(&trail, &msg);
                }
                for w in self.waiters.drain(..) {
                    let _ = w.reply.send(Err(DeliveryError::Delivery(msg.clone())));
                }
            }
        }
    }

    fn check_waiters(&mut self) {
        let mut i = 0;
        while i < self.waiters.len() {
            if self.spool().spool.pending_up_to(self.waiters[i].high_water) {
                i += 1;
            } else {
                let w = self.waiters.swap_remove(i);
                let _ = w.reply.send(Ok(w.logs));
            }
        }
    }

    fn next_deadline(&mut self) -> Option<OffsetDateTime> {
        if let Some(known) = self.deadline {
            return known;
        }
        let found = self
            .batches
            .values()
            .filter(|b| !b.entries.is_empty())
            .map(|b| b.retry_at.unwrap_or(b.opened_at + self.interval))
            .min();
        self.deadline = Some(found);
        found
    }

    fn publish_status(&self) {
        let mut st = self.shared.status.lock().unwrap_or_else(|e| e.into_inner());
        st.batched_records = self.batches.values().map(|b| b.entries.len()).sum();
        st.in_flight_records =
            self.in_flight_records + self.ready.iter().map(|j| j.entries.len()).sum::<usize>();
    }
}

fn empty_destination() -> Destination {
    Destination {
        trail: String::new(),
        log: LogDestination {
            bucket: String::new(),
            prefix: None,
            org_id: None,
            account: String::new(),
            region: String::new(),
        },
    }
}

/// Splits entries into files that respect the record and byte limits.
fn split(entries: Vec<Entry>, max_records: usize, max_bytes: usize) -> Vec<Vec<Entry>> {
    let mut out = Vec::new();
    let mut cur = Vec::new();
    let mut bytes = BODY_OVERHEAD;
    for e in entries {
        if !cur.is_empty() && (cur.len() >= max_records || bytes + e.body_bytes() > max_bytes) {
            out.push(std::mem::take(&mut cur));
            bytes = BODY_OVERHEAD;
        }
        bytes += e.body_bytes();
        cur.push(e);
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// Resolves at `deadline` by the injected clock: a manual clock wakes us when it moves, a real
/// one through a timer.
async fn wait_until(
    clock: &SharedClock,
    rx: &mut Option<watch::Receiver<OffsetDateTime>>,
    deadline: Option<OffsetDateTime>,
) {
    if let Some(r) = rx {
        if r.changed().await.is_err() {
            // The manual clock is gone; time stands still.
            *rx = None;
            std::future::pending::<()>().await;
        }
        return;
    }
    match deadline {
        None => std::future::pending().await,
        Some(d) => {
            let left = d - clock.now();
            if left.is_positive() {
                tokio::time::sleep(left.try_into().unwrap_or(Duration::from_secs(1))).await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(len: usize) -> Entry {
        Entry {
            seg: 1,
            idx: 0,
            slot: 0,
            event_time: 0,
            json: Arc::new(vec![b'x'; len]),
            held: false,
        }
    }

    #[test]
    fn split_respects_both_limits() {
        let sizes: Vec<usize> = split((0..10).map(|_| entry(9)).collect(), 4, 1000)
            .iter()
            .map(Vec::len)
            .collect();
        assert_eq!(sizes, [4, 4, 2]);
        // Each entry costs 10 body bytes; 14 + 3 * 10 = 44 fits in 45, a fourth does not.
        let sizes: Vec<usize> = split((0..7).map(|_| entry(9)).collect(), 100, 45)
            .iter()
            .map(Vec::len)
            .collect();
        assert_eq!(sizes, [3, 3, 1]);
        // An entry larger than the limit still goes out, alone.
        assert_eq!(split(vec![entry(500), entry(1)], 100, 45).len(), 2);
    }

    #[tokio::test]
    async fn budget_waits_and_always_admits_into_an_empty_pipeline() {
        let b = Arc::new(Budget {
            used: Mutex::new(0),
            freed: Notify::new(),
            max: 100,
        });
        b.acquire(1000).await;
        assert_eq!(b.used(), 1000);
        let waiter = {
            let b = b.clone();
            tokio::spawn(async move { b.acquire(10).await })
        };
        tokio::task::yield_now().await;
        assert!(!waiter.is_finished());
        b.release(1000);
        waiter.await.unwrap();
        assert_eq!(b.used(), 10);
    }

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
