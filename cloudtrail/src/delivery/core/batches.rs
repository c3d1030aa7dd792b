//! Batching: one open batch per destination (trail, account, Region), cut into files on
//! size as records arrive, on age by the clock, early under memory pressure, and all at once on
//! a flush; late records held back into the next file.

use std::time::Duration;

use rand::RngExt;
use time::OffsetDateTime;

use super::{Core, Entry, Job};

/// Size of `{"Records":[]}`.
pub(super) const BODY_OVERHEAD: usize = 14;

/// The records waiting for one destination's next file.
pub(super) struct Batch {
    pub(super) entries: Vec<Entry>,
    /// Body bytes the entries make, `{"Records":[]}` included.
    pub(super) bytes: usize,
    /// When the first of the entries arrived: the file is due `flush_interval` later.
    pub(super) opened_at: OffsetDateTime,
    /// Set after a failed write: the entries wait for this instead.
    pub(super) retry_at: Option<OffsetDateTime>,
    /// The last retry delay (zero: no failure).
    pub(super) backoff: Duration,
}

impl Batch {
    /// Empties the batch for a file, leaving it ready for the next records.
    fn take_entries(&mut self) -> Vec<Entry> {
        self.bytes = BODY_OVERHEAD;
        std::mem::take(&mut self.entries)
    }
}

impl Core {
    /// Adds one record copy to its destination's batch, cutting the batch on size.
    pub(super) fn add(&mut self, dest: u32, e: Entry, now: OffsetDateTime) {
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
    pub(super) fn relieve_pressure(&mut self) {
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
    pub(super) fn start_due(&mut self, force: bool) {
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

    pub(super) fn next_deadline(&mut self) -> Option<OffsetDateTime> {
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

#[cfg(test)]
mod tests {
    use std::sync::Arc;

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
}
