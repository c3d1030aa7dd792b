//! The core: one task that owns the batches. It takes records from the spool's inbox into a
//! batch per (trail, account, Region), cuts batches on age (by the injected clock), size,
//! memory pressure, request or shutdown, hands cut files to the workers, and on their report
//! notes the acknowledgement, releases the memory budget, retries with backoff and tells the
//! observers.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use time::OffsetDateTime;
use tokio::sync::{mpsc, oneshot};

use crate::clock::{ClockTimer, SharedClock};
use crate::layout::unique_string;
use crate::logfile::WrittenLog;
use crate::store::ObjectStore;

use super::Shared;
use super::api::{DeliveryConfig, DeliveryError, DeliveryObserver, Destination};
use super::commit::{Added, SpoolShared};
use super::spool::{Replayed, remove_segment};
use super::workers::{FileJob, Pool, Writer};

mod batches;

use batches::{BODY_OVERHEAD, Batch};

/// What the handles ask of the core.
pub(super) enum Cmd {
    /// Records just written to the spool wait in the inbox. One message stands for all that
    /// arrive before the core takes them, so a busy core is not woken once per record.
    Drain,
    /// `Delivery::flush`.
    Flush {
        reply: oneshot::Sender<Result<Vec<WrittenLog>, DeliveryError>>,
    },
    /// `Delivery::tick`.
    Tick { reply: oneshot::Sender<()> },
    /// `Delivery::shutdown`.
    Shutdown {
        reply: oneshot::Sender<Result<(), DeliveryError>>,
    },
}

/// One record copy bound for one destination.
pub(super) struct Entry {
    /// The spool segment holding the record.
    pub(super) seg: u64,
    /// The record's index in its segment.
    pub(super) idx: u32,
    /// Which of the record's destinations this copy is for (what its ack names).
    pub(super) slot: u16,
    /// `eventTime`, epoch seconds.
    pub(super) event_time: i64,
    /// The record's JSON, shared by its copies.
    pub(super) json: Arc<Vec<u8>>,
    /// Already held back once by `late_rate`: never held again.
    pub(super) held: bool,
}

impl Entry {
    /// What the copy adds to its file's body: its JSON and a comma.
    pub(super) fn body_bytes(&self) -> usize {
        self.json.len() + 1
    }
}

/// A cut file on its way to a worker.
struct Job {
    dest: u32,
    entries: Vec<Entry>,
}

/// A worker's report on one file.
pub(super) struct Done {
    pub(super) dest: u32,
    pub(super) entries: Vec<Entry>,
    pub(super) result: Result<WrittenLog, Failure>,
}

/// Why a file was not delivered.
pub(super) enum Failure {
    /// A failure that may pass (the store is down, the disk full): the records are retried.
    Retry(String),
    /// The batch can never be delivered as it is (its bucket or key is invalid): its records
    /// were written to a quarantine file and acknowledged.
    Quarantined {
        /// The store's error.
        error: String,
        /// The quarantine file.
        path: String,
    },
}

/// A flush waiting for every record spooled before it to be delivered.
struct Waiter {
    high_water: u64,
    logs: Vec<WrittenLog>,
    reply: oneshot::Sender<Result<Vec<WrittenLog>, DeliveryError>>,
}

/// The core's state; see the module documentation.
struct Core {
    config: DeliveryConfig,
    interval: Duration,
    clock: SharedClock,
    timer: ClockTimer,
    writer: Arc<Writer>,
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
    /// Holds the spool's `LOCK` file locked while the pipeline runs.
    lock: Option<std::fs::File>,
    compressors: Pool,
    /// The inbox's previous vector, swapped back in so draining does not allocate.
    inbox: Vec<Added>,
    /// Destinations that received a flush's stragglers since the last look.
    through: HashSet<u32>,
    closing: Option<oneshot::Sender<Result<(), DeliveryError>>>,
    /// Deletions of acknowledged segments still running.
    janitors: Vec<tokio::task::JoinHandle<()>>,
}

/// Most commands handled per wake-up before the core looks at its other inputs.
const DRAIN: usize = 4096;

/// Starts the core on the current runtime with the records replayed from the spool (written as
/// soon as it runs), and returns the way to command it.
#[allow(
    clippy::too_many_arguments,
    reason = "each argument is a part the core owns from here on; a struct of them would only name them twice"
)]
pub(super) fn spawn(
    config: DeliveryConfig,
    clock: SharedClock,
    store: Arc<dyn ObjectStore>,
    observers: Vec<Arc<dyn DeliveryObserver>>,
    shared: Arc<Shared>,
    spool: Arc<Mutex<SpoolShared>>,
    lock: std::fs::File,
    replayed: Vec<Replayed>,
) -> std::io::Result<mpsc::UnboundedSender<Cmd>> {
    let (tx, rx) = mpsc::unbounded_channel();
    let (done_tx, done_rx) = mpsc::unbounded_channel();
    let now = clock.now();
    let mut core = Core {
        timer: ClockTimer::new(clock.clone()),
        clock,
        writer: Arc::new(Writer {
            store,
            level: config.compression_level,
            duplicate_rate: config.duplicate_rate,
            spool_dir: config.spool_dir.clone(),
            fsync: config.fsync,
            ack_io: Mutex::new(()),
            events: done_tx,
            observers: observers.clone(),
        }),
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
        lock: Some(lock),
        compressors: Pool::new("ct-compress", config.workers)?,
        inbox: Vec::new(),
        through: HashSet::new(),
        interval: config.flush_interval,
        config,
        closing: None,
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
    Ok(tx)
}

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
                () = self.timer.wait_until(deadline) => {}
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
            let file = FileJob {
                id: job.dest,
                dest,
                entries: job.entries,
                delivered_at: self.clock.now(),
                unique: unique_string(&mut self.rng),
                seed: self.rng.random(),
                writer: self.writer.clone(),
            };
            self.compressors.run(move || file.run());
        }
    }

    /// The worker acknowledged these records (delivered or quarantined): forget them.
    fn settle(&mut self, dest: u32, entries: &[Entry]) {
        // The worker has written the ack frames; only the counts change here.
        let mut by_seg: BTreeMap<u64, usize> = BTreeMap::new();
        let mut bytes = 0;
        for e in entries {
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
        if let Some(b) = self.batches.get_mut(&dest) {
            b.retry_at = None;
            b.backoff = Duration::ZERO;
            // Its deadline may now be earlier than the retry it was waiting for.
            self.deadline = None;
        }
    }

    /// A worker finished: acknowledge, release and announce, or keep the records for a retry.
    fn finish(&mut self, done: Done) {
        self.in_flight -= 1;
        self.in_flight_records -= done.entries.len();
        let trail = self.dest(done.dest).map(|d| d.trail).unwrap_or_default();
        match done.result {
            Ok(log) => {
                self.settle(done.dest, &done.entries);
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
            Err(Failure::Quarantined { error, path }) => {
                self.settle(done.dest, &done.entries);
                let msg = format!("{error} (the batch was quarantined in {path})");
                {
                    let mut st = self.shared.status.lock().unwrap_or_else(|e| e.into_inner());
                    let t = st.trails.entry(trail.clone()).or_default();
                    t.last_error = Some(msg.clone());
                    t.last_error_at = Some(self.clock.now());
                    t.quarantined_files += 1;
                }
                for o in &self.observers {
                    o.failed(&trail, &msg);
                }
                self.check_waiters();
            }
            Err(Failure::Retry(msg)) => {
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

    fn publish_status(&self) {
        let mut st = self.shared.status.lock().unwrap_or_else(|e| e.into_inner());
        st.batched_records = self.batches.values().map(|b| b.entries.len()).sum();
        st.in_flight_records =
            self.in_flight_records + self.ready.iter().map(|j| j.entries.len()).sum::<usize>();
    }
}
