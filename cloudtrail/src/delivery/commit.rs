//! Group commit into the spool, the request path of every submit: submitters arriving together
//! stage their frames under the spool lock (memory only), one of them (the leader) writes the
//! group with one `write` per segment outside it, then hands the group's records to the core in
//! spool order and wakes the others. A submitter abandoned while waiting still gets its group
//! written ([`Follower`]'s drop), since its record is already counted as pending.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use time::OffsetDateTime;
use tokio::sync::{Notify, mpsc};

use crate::clock::SharedClock;
use crate::layout::LogDestination;
use crate::record::Record;

use super::Shared;
use super::api::{DeliveryError, Destination, Router};
use super::core::Cmd;
use super::spool::{NewRecord, Spool, write_chunks};

/// The spool and the destination table, shared by submitters (which append) and the core
/// (which acknowledges and seals). Appends happen under this lock, in the order the core hears
/// of them.
pub(super) struct SpoolShared {
    pub(super) spool: Spool,
    pub(super) dests: Interner,
    /// Set on shutdown: nothing more is appended.
    pub(super) closed: bool,
    /// The group the next staged record joins; its frames are what the spool has staged.
    pub(super) open: Arc<Group>,
    /// The open group's records, each with the index of its chunk, for the core once written.
    pub(super) adds: Vec<(usize, Added)>,
    /// Written records the core has not taken yet, in spool order.
    pub(super) inbox: Vec<Added>,
    /// A `Cmd::Drain` is on its way for the inbox: later records need no message of their own.
    pub(super) inbox_signalled: bool,
    /// A submitter is writing a group: others stage and wait for it (group commit).
    pub(super) writing: bool,
}

/// Submitters whose records are written with one `write` by whichever of them leads.
pub(super) struct Group {
    outcome: std::sync::OnceLock<Outcome>,
    /// Submitters of the group still waiting for it (changed under the spool lock).
    members: AtomicUsize,
    /// Woken when the outcome is set, and (one waiter) when the group needs a leader.
    notify: Notify,
}

impl Group {
    pub(super) fn new() -> Arc<Group> {
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
pub(super) struct Added {
    pub(super) ids: Vec<u32>,
    pub(super) seg: u64,
    pub(super) idx: u32,
    pub(super) event_time: i64,
    pub(super) json: Arc<Vec<u8>>,
    /// When the record was accepted: its batch's age counts from here.
    pub(super) accepted: OffsetDateTime,
}

impl Added {
    /// What the record holds of the memory budget: its JSON once per destination.
    pub(super) fn budget(&self) -> usize {
        self.json.len() * self.ids.len()
    }
}

/// What every handle of a pipeline shares: the way to the core, the router, the spool.
pub(super) struct Inner {
    pub(super) tx: mpsc::UnboundedSender<Cmd>,
    pub(super) router: Arc<dyn Router>,
    pub(super) shared: Arc<Shared>,
    pub(super) spool: Arc<Mutex<SpoolShared>>,
    pub(super) spool_dir: PathBuf,
    pub(super) clock: SharedClock,
    /// One `fdatasync` at a time; whoever waits behind it usually finds its record covered.
    pub(super) sync_gate: tokio::sync::Mutex<()>,
}

impl Inner {
    pub(super) fn spool(&self) -> std::sync::MutexGuard<'_, SpoolShared> {
        self.spool.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Writes the open group with one `write` per segment touched (group commit), then hands
    /// its records to the core in spool order and wakes its members. The caller has set
    /// `writing`; records staged meanwhile form the next group, and one of its members is woken
    /// to lead it. Never awaits, so it cannot be abandoned half-way.
    fn lead(&self) {
        while self.lead_one() {}
    }

    /// Writes `chunks[from..]` (through the fault switch, when there is one); errors carry the
    /// index into `chunks`.
    fn write(&self, chunks: &[super::spool::Chunk], from: usize) -> Result<(), (usize, std::io::Error)> {
        let rest = chunks.get(from..).unwrap_or_default();
        if let Some(f) = &self.shared.faults {
            let n = rest.iter().map(|c| c.len() as u64).sum();
            f.write(n).map_err(|e| (from, e))?;
        }
        write_chunks(rest).map_err(|(i, e)| (from + i, e))
    }

    /// Writes one group; returns whether the next one needs this caller to lead it too (all its
    /// members have gone away).
    fn lead_one(&self) -> bool {
        let mut g = self.spool();
        let chunks = g.spool.take_staged();
        let adds = std::mem::take(&mut g.adds);
        let group = std::mem::replace(&mut g.open, Group::new());
        drop(g);
        let mut result = self.write(&chunks, 0);
        let full = match &result {
            Err((i, e)) if e.kind() == std::io::ErrorKind::StorageFull => Some((*i, e.to_string())),
            _ => None,
        };
        if let Some((i, e)) = full
            && self.shared.release_reserve(&self.spool_dir)
        {
            // The reserve is for exactly this: records of calls that were admitted before the
            // disk filled. Admission refuses state changes from now on.
            tracing::warn!("spool full: its reserve is released for the records in flight");
            result = self.write(&chunks, i);
            if result.is_ok() {
                self.shared.set_spool_error(Some(e));
            }
        }
        if let Err((_, e)) = &result {
            // Logged before the lock is taken again: logging is I/O too.
            tracing::error!(error = %e, "spool write failed; records rejected");
            self.shared.set_spool_error(Some(e.to_string()));
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

impl Inner {
    /// Routes the record, stages it, and returns once its group is written (and synced, with
    /// `fsync`). `json` is the record's JSON when the caller already made it.
    pub(super) async fn submit(
        &self,
        record: &Record,
        json: Option<Arc<Vec<u8>>>,
        wait: Option<std::time::Duration>,
    ) -> Result<(), DeliveryError> {
        let mut dests = self.router.route(record);
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
        let budget = &self.shared.budget;
        if !budget.acquire_within(bytes, wait).await {
            return Err(DeliveryError::NoRoom(wait.unwrap_or_default()));
        }
        let event_time = record.event_time.unix_timestamp();
        let spool_err = |source| DeliveryError::Spool {
            path: self.spool_dir.display().to_string(),
            source,
        };
        let staged = {
            let mut guard = self.spool.lock().unwrap_or_else(|e| e.into_inner());
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
                    self.shared.set_spool_error(Some(e.to_string()));
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
            inner: self,
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
            let _gate = self.sync_gate.lock().await;
            if !sync.done() {
                tokio::task::spawn_blocking(move || sync.sync())
                    .await
                    .map_err(|e| spool_err(std::io::Error::other(e.to_string())))?
                    .map_err(spool_err)?;
            }
        }
        Ok(())
    }
}

#[derive(Default)]
/// Destinations by small id, as the spool frames name them.
pub(super) struct Interner {
    pub(super) list: Vec<Destination>,
    ids: HashMap<Destination, u32>,
}

impl Interner {
    /// The id of `d`, given one at first sight.
    pub(super) fn id(&mut self, d: &Destination) -> u32 {
        if let Some(&i) = self.ids.get(d) {
            return i;
        }
        let i = self.list.len() as u32;
        self.list.push(d.clone());
        self.ids.insert(d.clone(), i);
        i
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
