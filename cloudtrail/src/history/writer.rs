//! Appends to Event history. `append` runs on the request path of every call, so it only
//! formats the line and queues it in memory; a writer thread compresses the queued records into
//! blocks and appends them and their headers, with one `write` per file and segment, every
//! [`FLUSH_EVERY`] or as soon as [`FLUSH_BYTES`] are queued, and deletes segments that aged out.

use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Condvar, Mutex};

use time::{Date, Duration, OffsetDateTime};

use crate::record::{EventCategory, Record};

use super::segments::{Block, Header, Index, Pair, SegMeta, records_path, safe_segment, seg_path};
use super::{FLUSH_BYTES, FLUSH_EVERY, History, HistoryError, RETENTION_DAYS, io};

/// Most open segment files kept for appending.
const MAX_OPEN_FILES: usize = 64;
/// `append` waits for the writer (rather than queue more) beyond this many bytes queued.
const MAX_QUEUED_BYTES: usize = 16 << 20;
/// Record bytes per compressed block: small enough that a lookup inflates little to read one
/// record, large enough for deflate to find what records repeat of each other (CloudTrail JSON
/// shrinks to about a tenth at this size).
const BLOCK_BYTES: usize = 64 << 10;
/// The deflate level of the blocks: libdeflate's fastest, which on CloudTrail records compresses
/// about as well as its default here (the blocks are small and the records alike) for a fraction
/// of the writer's CPU.
const BLOCK_LEVEL: i32 = 1;

/// The index and the queue, under one lock that appends take briefly (memory only).
pub(super) struct Inner {
    pub(super) next_seq: u64,
    pub(super) index: Index,
    pub(super) last_prune: Option<Date>,
    /// Lines not yet written, per segment, in sequence order within each.
    pub(super) queued: BTreeMap<(Pair, Date), Vec<u8>>,
    pub(super) queued_bytes: usize,
    /// Segments older than the retention window, or evicted by the size budget, for the writer
    /// to delete.
    pub(super) dead: Vec<(Pair, Date)>,
    /// Bytes of every segment in the index.
    pub(super) total_bytes: u64,
    /// The most bytes history may hold; the oldest days go first beyond it.
    pub(super) max_bytes: u64,
    /// Set when the `History` is dropped: the writer writes what is left and ends.
    pub(super) stop: bool,
}

/// What the writer owns: the open segment files (headers, records) and its compressor. Held
/// while writing, so batches reach the files in the order they were taken.
pub(super) struct Io {
    open: HashMap<(Pair, Date), (fs::File, fs::File)>,
    compressor: libdeflater::Compressor,
}

/// What the history and its writer thread share.
pub(super) struct Shared {
    pub(super) dir: PathBuf,
    pub(super) inner: Mutex<Inner>,
    /// Wakes the writer (enough queued, or stop) and `append`ers waiting for room.
    pub(super) wake: Condvar,
    io: Mutex<Io>,
}

impl Shared {
    /// Empty shared state over `dir`, with the index found there.
    pub(super) fn new(dir: PathBuf, index: Index, next_seq: u64) -> Shared {
        let total_bytes = index.values().flat_map(|s| s.values()).map(|m| m.bytes).sum();
        Shared {
            dir,
            inner: Mutex::new(Inner {
                next_seq,
                index,
                last_prune: None,
                queued: BTreeMap::new(),
                queued_bytes: 0,
                dead: Vec::new(),
                total_bytes,
                max_bytes: super::DEFAULT_MAX_BYTES,
                stop: false,
            }),
            wake: Condvar::new(),
            io: Mutex::new(Io {
                open: HashMap::new(),
                compressor: libdeflater::Compressor::new(
                    libdeflater::CompressionLvl::new(BLOCK_LEVEL).unwrap_or_default(),
                ),
            }),
        }
    }

    pub(super) fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Writes every queued line (one `write` per segment) and deletes expired segments. The
    /// queue is taken under the index lock (memory only); the files are written under the
    /// writer's own lock, which appenders never take.
    pub(super) fn write_queued(&self) -> Result<(), HistoryError> {
        let mut io_state = self.io.lock().unwrap_or_else(|e| e.into_inner());
        let (queued, dead) = {
            let mut inner = self.lock();
            inner.queued_bytes = 0;
            (std::mem::take(&mut inner.queued), std::mem::take(&mut inner.dead))
        };
        self.wake.notify_all();
        for key in dead {
            io_state.open.remove(&key);
            let seg = seg_path(&self.dir, &key.0.0, &key.0.1, key.1);
            let _ = fs::remove_file(records_path(&seg));
            let _ = fs::remove_file(seg);
        }
        let mut first_err = None;
        let mut failed = Vec::new();
        let mut written = Vec::new();
        for (key, buf) in queued {
            match write_segment(&self.dir, &mut io_state, key.clone(), &buf) {
                Ok(n) => written.push((key, buf.len() as u64, n)),
                Err(e) => {
                    tracing::warn!(error = %e, "cannot write event history; kept to try again");
                    first_err.get_or_insert(e);
                    failed.push((key, buf));
                }
            }
        }
        if !written.is_empty() {
            // The index counted the lines as queued; the disk holds them compressed.
            let mut inner = self.lock();
            for ((pair, day), queued, on_disk) in written {
                let Some(meta) = inner.index.get_mut(&pair).and_then(|s| s.get_mut(&day)) else {
                    continue;
                };
                meta.bytes = (meta.bytes + on_disk).saturating_sub(queued);
                inner.total_bytes = (inner.total_bytes + on_disk).saturating_sub(queued);
            }
        }
        if !failed.is_empty() {
            // Kept for the next write, ahead of what was queued since, within half the queue's
            // bound so appends never wait on a disk that stays full; beyond it lines are lost.
            let mut inner = self.lock();
            for (key, buf) in failed {
                if inner.queued_bytes + buf.len() > MAX_QUEUED_BYTES / 2 {
                    tracing::error!(
                        bytes = buf.len(),
                        "event history lines dropped: the disk stays full"
                    );
                    continue;
                }
                inner.queued_bytes += buf.len();
                let slot = inner.queued.entry(key).or_default();
                let newer = std::mem::replace(slot, buf);
                slot.extend_from_slice(&newer);
            }
        }
        first_err.map_or(Ok(()), Err)
    }

    /// The writer thread: writes the queue every [`FLUSH_EVERY`], or sooner when it is large.
    pub(super) fn run_writer(&self) {
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

/// Writes queued lines (header, tab, record JSON) as a segment's headers and compressed record
/// blocks; returns the bytes the two files grew by.
fn write_segment(dir: &Path, io_state: &mut Io, key: (Pair, Date), buf: &[u8]) -> Result<u64, HistoryError> {
    if !io_state.open.contains_key(&key) {
        if io_state.open.len() >= MAX_OPEN_FILES {
            io_state.open.clear();
        }
        let path = seg_path(dir, &key.0.0, &key.0.1, key.1);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).map_err(io)?;
        }
        let open = |p: &Path| {
            fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(p)
                .map_err(io)
        };
        let files = (open(&path)?, open(&records_path(&path))?);
        io_state.open.insert(key.clone(), files);
    }
    let Io { open, compressor } = io_state;
    let (headers_file, records_file) = open.get_mut(&key).ok_or_else(|| io("segment not open"))?;
    let records_at = records_file.metadata().map_err(io)?.len();
    let (headers, blocks) = encode(buf, records_at, compressor);
    // Blocks first, then the header lines that name them, each in one write: a reader sees a
    // header only once its block is there, and a line entirely or not at all (it skips a line
    // without its newline). A write cut short (a full disk) is cut back, so what is written
    // again later does not follow a torn line.
    let cut_back = |f: &mut fs::File, len: u64, e: std::io::Error| {
        let _ = f.set_len(len);
        io(e)
    };
    records_file
        .write_all(&blocks)
        .map_err(|e| cut_back(records_file, records_at, e))?;
    let headers_at = headers_file.metadata().map_err(io)?.len();
    if let Err(e) = headers_file.write_all(&headers) {
        let _ = records_file.set_len(records_at);
        return Err(cut_back(headers_file, headers_at, e));
    }
    Ok((headers.len() + blocks.len()) as u64)
}

/// Splits queued lines into header lines, preceded by a block line for each block, and the
/// compressed blocks of their records, the first block at `records_at` in the records file.
fn encode(buf: &[u8], records_at: u64, compressor: &mut libdeflater::Compressor) -> (Vec<u8>, Vec<u8>) {
    let mut headers = Vec::with_capacity(buf.len() / 3);
    let mut blocks: Vec<u8> = Vec::with_capacity(buf.len() / 6);
    let mut raw: Vec<u8> = Vec::with_capacity(BLOCK_BYTES + (8 << 10));
    let mut pending: Vec<u8> = Vec::with_capacity(4 << 10);
    let mut seal = |raw: &mut Vec<u8>, pending: &mut Vec<u8>, headers: &mut Vec<u8>, blocks: &mut Vec<u8>| {
        if raw.is_empty() {
            return;
        }
        let start = blocks.len();
        blocks.resize(start + compressor.deflate_compress_bound(raw.len()), 0);
        let z = compressor
            .deflate_compress(raw, blocks.get_mut(start..).unwrap_or_default())
            .unwrap_or(0);
        blocks.truncate(start + z);
        let block = Block {
            b: records_at + start as u64,
            z: u32::try_from(z).unwrap_or(u32::MAX),
            n: u32::try_from(raw.len()).unwrap_or(u32::MAX),
        };
        let _ = serde_json::to_writer(&mut *headers, &block);
        headers.push(b'\n');
        headers.append(pending);
        raw.clear();
    };
    for line in buf.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
        let Some(tab) = line.iter().position(|&b| b == b'\t') else {
            continue;
        };
        let (header, record) = line.split_at(tab);
        pending.extend_from_slice(header);
        pending.push(b'\n');
        raw.extend_from_slice(record.get(1..).unwrap_or_default());
        raw.push(b'\n');
        if raw.len() >= BLOCK_BYTES {
            seal(&mut raw, &mut pending, &mut headers, &mut blocks);
        }
    }
    seal(&mut raw, &mut pending, &mut headers, &mut blocks);
    (headers, blocks)
}

impl History {
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
        inner.total_bytes += added as u64;
        if inner.total_bytes > inner.max_bytes {
            evict_oldest_days(&mut inner, day);
        }
        Ok(true)
    }

    /// Drops segments older than the retention window from the index, at most once per day;
    /// the writer deletes their files.
    pub(super) fn prune(&self, inner: &mut Inner, now: OffsetDateTime) {
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
            drop_segment(inner, pair, day);
        }
    }
}

/// Forgets one segment (the writer deletes its file).
fn drop_segment(inner: &mut Inner, pair: Pair, day: Date) {
    if let Some(segs) = inner.index.get_mut(&pair)
        && let Some(meta) = segs.remove(&day)
    {
        inner.total_bytes = inner.total_bytes.saturating_sub(meta.bytes);
    }
    if let Some(q) = inner.queued.remove(&(pair.clone(), day)) {
        inner.queued_bytes = inner.queued_bytes.saturating_sub(q.len());
    }
    inner.dead.push((pair, day));
}

/// Drops whole days, oldest first and every (account, Region) at once, until history fits its
/// budget again; `current` (the day being appended to) is kept whatever its size, so the
/// newest events are never the ones lost.
fn evict_oldest_days(inner: &mut Inner, current: Date) {
    while inner.total_bytes > inner.max_bytes {
        let oldest = inner
            .index
            .values()
            .filter_map(|segs| segs.keys().next().copied())
            .min();
        let Some(day) = oldest.filter(|d| *d < current) else {
            return;
        };
        let victims: Vec<Pair> = inner
            .index
            .iter()
            .filter(|(_, segs)| segs.contains_key(&day))
            .map(|(pair, _)| pair.clone())
            .collect();
        tracing::warn!(%day, "event history is over its size budget: dropping its oldest day");
        for pair in victims {
            drop_segment(inner, pair, day);
        }
    }
}
