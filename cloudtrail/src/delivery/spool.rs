//! The delivery spool: segment files of framed records, each with an acknowledgement file that
//! says which (record, destination) pairs are already inside a delivered log object.
//!
//! Layout of `<spool>/`:
//! - `seg-<id>.log`: frames `[len u32 LE][crc32 u32 LE][type u8][payload]`. Type 1 defines a
//!   destination (`[dest u32][JSON]`), before the first record of the segment that uses it.
//!   Type 2 is a record (`[eventTime i64][n u16][dest u32 × n][record JSON]`). A record's index is
//!   its position among the segment's record frames.
//! - `seg-<id>.ack`: frames whose payload is a list of `[index u32][slot u16]`, the pairs written to
//!   a log object. Appended after the object is visible, so the only way to deliver a pair twice
//!   is a crash between the object's rename and this append.
//!
//! A segment (and its ack file) is deleted once every pair in it is acknowledged. A torn frame at
//! the end of a file (a crash mid-append) ends the file: nothing after it was ever acknowledged.
//!
//! [`Spool`] itself does no I/O after [`Spool::open`]: it is shared under a lock that request
//! handlers take on every submit, so everything it decides that touches the disk (creating a
//! segment, writing frames, appending acks, deleting acknowledged segments) is handed back to
//! the caller and done outside the lock ([`write_chunks`], [`write_ack`], [`Spool::take_doomed`]
//! with [`remove_segment`]).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use super::api::Destination;

const FRAME_DEST: u8 = 1;
const FRAME_RECORD: u8 = 2;
/// A frame longer than this is corruption, not a record.
const MAX_FRAME: usize = 256 << 20;

/// CRC-32 (IEEE, the gzip polynomial), from libdeflate, which uses carry-less multiplication
/// where the CPU has it: the check sits on the submit path, so it must cost next to nothing.
fn crc32(data: &[u8]) -> u32 {
    libdeflater::crc32(data)
}

fn push_frame(buf: &mut Vec<u8>, kind: u8, parts: &[&[u8]]) {
    let len: usize = 1 + parts.iter().map(|p| p.len()).sum::<usize>();
    let start = buf.len();
    buf.extend_from_slice(&(len as u32).to_le_bytes());
    buf.extend_from_slice(&[0; 4]);
    buf.push(kind);
    for p in parts {
        buf.extend_from_slice(p);
    }
    let crc = crc32(&buf[start + 8..]);
    buf[start + 4..start + 8].copy_from_slice(&crc.to_le_bytes());
}

/// Splits a file into its good frames, stopping at the first torn or corrupt one.
fn frames(data: &[u8]) -> Vec<(u8, &[u8])> {
    let mut out = Vec::new();
    let mut rest = data;
    while rest.len() >= 9 {
        let (Some(lenb), Some(crcb)) = (rest.get(0..4), rest.get(4..8)) else {
            break;
        };
        let len = u32::from_le_bytes([lenb[0], lenb[1], lenb[2], lenb[3]]) as usize;
        let crc = u32::from_le_bytes([crcb[0], crcb[1], crcb[2], crcb[3]]);
        if len == 0 || len > MAX_FRAME {
            break;
        }
        let Some(body) = rest.get(8..8 + len) else { break };
        if crc32(body) != crc {
            break;
        }
        out.push((body[0], &body[1..]));
        rest = &rest[8 + len..];
    }
    out
}

/// One (record, destination) pair waiting for delivery, as read back from the spool.
#[derive(Debug)]
pub(crate) struct Replayed {
    pub(crate) seg: u64,
    pub(crate) idx: u32,
    pub(crate) slot: u16,
    pub(crate) dest: Destination,
    pub(crate) event_time: i64,
    pub(crate) json: Arc<Vec<u8>>,
}

/// One record about to be appended.
pub(crate) struct NewRecord<'a> {
    pub(crate) dests: &'a [u32],
    pub(crate) event_time: i64,
    pub(crate) json: &'a [u8],
}

/// A segment's file, created by its first write (outside the spool lock), not when the spool
/// decides to start the segment.
pub(crate) struct SegFile {
    path: PathBuf,
    file: OnceLock<File>,
}

impl SegFile {
    fn new(path: PathBuf) -> Arc<SegFile> {
        Arc::new(SegFile {
            path,
            file: OnceLock::new(),
        })
    }

    /// The open file, creating it on first use. Writers are serialised by the group commit, so
    /// two never race to create it (and if they did, both handles append to the same file).
    fn get(&self) -> io::Result<&File> {
        if let Some(f) = self.file.get() {
            return Ok(f);
        }
        let f = OpenOptions::new().create(true).append(true).open(&self.path)?;
        let _ = self.file.set(f);
        self.file
            .get()
            .ok_or_else(|| io::Error::other("segment file not open"))
    }
}

/// How far a segment must be synced for one record to survive power loss. Syncs are shared:
/// one `fdatasync` covers every record written before it started (group commit).
#[derive(Clone)]
pub(crate) struct SyncPoint {
    file: Arc<SegFile>,
    written: Arc<AtomicU64>,
    synced: Arc<AtomicU64>,
    upto: u64,
}

impl SyncPoint {
    /// Whether an earlier sync already covered this record.
    pub(crate) fn done(&self) -> bool {
        self.synced.load(Ordering::Acquire) >= self.upto
    }

    /// Syncs the segment, covering everything written so far.
    pub(crate) fn sync(&self) -> io::Result<()> {
        if self.done() {
            return Ok(());
        }
        let target = self.written.load(Ordering::Acquire);
        self.file.get()?.sync_data()?;
        self.synced.fetch_max(target, Ordering::AcqRel);
        Ok(())
    }
}

struct Active {
    id: u64,
    file: Arc<SegFile>,
    next_idx: u32,
    /// Bytes staged for this segment (written or about to be).
    bytes: u64,
    dests: HashSet<u32>,
    /// Bytes actually written, maintained by whoever writes the staged frames.
    written: Arc<AtomicU64>,
    synced: Arc<AtomicU64>,
}

/// Frames staged for one segment, written together by one `write` (group commit).
pub(crate) struct Chunk {
    seg: u64,
    file: Arc<SegFile>,
    written: Arc<AtomicU64>,
    buf: Vec<u8>,
    /// (record, destination) pairs in these frames.
    pairs: u64,
}

impl Chunk {
    /// Bytes of frames in the chunk.
    pub(crate) fn len(&self) -> usize {
        self.buf.len()
    }
}

/// Writes staged chunks in order, each with one `write`. On failure gives the index of the
/// chunk that failed (the ones before it are written) and cuts that segment back to its last
/// whole frame, so nothing half-written is ever followed by later frames.
pub(crate) fn write_chunks(chunks: &[Chunk]) -> Result<(), (usize, io::Error)> {
    for (i, c) in chunks.iter().enumerate() {
        let before = c.written.load(Ordering::Acquire);
        let mut f: &File = c.file.get().map_err(|e| (i, e))?;
        if let Err(e) = f.write_all(&c.buf) {
            let _ = f.set_len(before);
            return Err((i, e));
        }
        c.written.fetch_add(c.buf.len() as u64, Ordering::AcqRel);
    }
    Ok(())
}

/// Per-segment bookkeeping: pairs not yet acknowledged.
#[derive(Debug, Default)]
struct SegState {
    outstanding: u64,
    sealed: bool,
}

pub(crate) struct Spool {
    dir: PathBuf,
    fsync: bool,
    max_segment: u64,
    next_id: u64,
    active: Option<Active>,
    segs: BTreeMap<u64, SegState>,
    /// Frames staged since the last [`Spool::take_staged`], oldest first.
    staged: Vec<Chunk>,
    /// Segments wholly acknowledged (or abandoned), whose files the caller must delete.
    doomed: Vec<u64>,
}

pub(crate) fn seg_path(dir: &Path, id: u64, ext: &str) -> PathBuf {
    dir.join(format!("seg-{id:016x}.{ext}"))
}

fn parse_seg_name(name: &str) -> Option<(u64, &str)> {
    let rest = name.strip_prefix("seg-")?;
    let (id, ext) = rest.split_once('.')?;
    Some((u64::from_str_radix(id, 16).ok()?, ext))
}

impl Spool {
    /// Opens (creating) the spool directory and reads back everything not yet delivered.
    pub(crate) fn open(
        dir: &Path,
        fsync: bool,
        max_segment: u64,
        intern: &mut dyn FnMut(&Destination) -> u32,
    ) -> io::Result<(Spool, Vec<Replayed>)> {
        fs::create_dir_all(dir)?;
        let mut logs = Vec::new();
        let mut acks = HashSet::new();
        for entry in fs::read_dir(dir)? {
            let entry = entry?;
            let Ok(name) = entry.file_name().into_string() else {
                continue;
            };
            match parse_seg_name(&name) {
                Some((id, "log")) => logs.push(id),
                Some((id, "ack")) => {
                    acks.insert(id);
                }
                _ => {}
            }
        }
        logs.sort_unstable();
        let mut spool = Spool {
            dir: dir.to_owned(),
            fsync,
            max_segment,
            next_id: logs.last().map_or(1, |l| l + 1),
            active: None,
            segs: BTreeMap::new(),
            staged: Vec::new(),
            doomed: Vec::new(),
        };
        // An ack file whose segment is gone belongs to a segment deleted just before a crash.
        for id in acks.iter().filter(|id| !logs.contains(id)) {
            let _ = fs::remove_file(seg_path(dir, *id, "ack"));
        }
        let mut replayed = Vec::new();
        for id in logs {
            let data = match fs::read(seg_path(dir, id, "log")) {
                Ok(d) => d,
                // Deleted by a predecessor's janitor after we listed the directory.
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(e) => return Err(e),
            };
            let done: HashSet<(u32, u16)> = match fs::read(seg_path(dir, id, "ack")) {
                Ok(a) => frames(&a)
                    .into_iter()
                    .flat_map(|(_, p)| {
                        p.chunks_exact(6).map(|c| {
                            (
                                u32::from_le_bytes([c[0], c[1], c[2], c[3]]),
                                u16::from_le_bytes([c[4], c[5]]),
                            )
                        })
                    })
                    .collect(),
                Err(e) if e.kind() == io::ErrorKind::NotFound => HashSet::new(),
                Err(e) => return Err(e),
            };
            let mut file_dests: HashMap<u32, Destination> = HashMap::new();
            let mut idx = 0u32;
            let mut outstanding = 0u64;
            for (kind, p) in frames(&data) {
                match kind {
                    FRAME_DEST if p.len() >= 4 => {
                        let fid = u32::from_le_bytes([p[0], p[1], p[2], p[3]]);
                        if let Ok(d) = serde_json::from_slice::<Destination>(&p[4..]) {
                            file_dests.insert(fid, d);
                        }
                    }
                    FRAME_RECORD if p.len() >= 10 => {
                        let mut t = [0u8; 8];
                        t.copy_from_slice(&p[0..8]);
                        let event_time = i64::from_le_bytes(t);
                        let n = usize::from(u16::from_le_bytes([p[8], p[9]]));
                        let ids_end = 10 + 4 * n;
                        if let Some(ids) = p.get(10..ids_end) {
                            let json = Arc::new(p[ids_end..].to_vec());
                            for (slot, c) in ids.chunks_exact(4).enumerate() {
                                let slot = slot as u16;
                                if done.contains(&(idx, slot)) {
                                    continue;
                                }
                                let fid = u32::from_le_bytes([c[0], c[1], c[2], c[3]]);
                                if let Some(dest) = file_dests.get(&fid) {
                                    intern(dest);
                                    outstanding += 1;
                                    replayed.push(Replayed {
                                        seg: id,
                                        idx,
                                        slot,
                                        dest: dest.clone(),
                                        event_time,
                                        json: json.clone(),
                                    });
                                }
                            }
                        }
                        idx += 1;
                    }
                    _ => {}
                }
            }
            if outstanding == 0 {
                remove_segment(dir, id);
            } else {
                spool.segs.insert(
                    id,
                    SegState {
                        outstanding,
                        sealed: true,
                    },
                );
            }
        }
        Ok((spool, replayed))
    }

    /// Stages one record: frames it into the active segment's next write, giving its
    /// (segment, index), the position of its chunk among those staged, and, when syncing is on,
    /// the point the caller must sync to before telling anyone the record is safe. The record
    /// is in the spool only once [`write_chunks`] has written the chunks [`Spool::take_staged`]
    /// hands out; until then the caller must not acknowledge it.
    pub(crate) fn stage(
        &mut self,
        r: &NewRecord<'_>,
        dest_of: &dyn Fn(u32) -> Destination,
    ) -> io::Result<(u64, u32, usize, Option<SyncPoint>)> {
        if self.active.as_ref().is_some_and(|a| a.bytes >= self.max_segment) {
            self.seal();
        }
        if self.active.is_none() {
            let id = self.next_id;
            // Created by the first write, outside the lock.
            let file = SegFile::new(seg_path(&self.dir, id, "log"));
            self.next_id += 1;
            self.active = Some(Active {
                id,
                file,
                next_idx: 0,
                bytes: 0,
                dests: HashSet::new(),
                written: Arc::new(AtomicU64::new(0)),
                synced: Arc::new(AtomicU64::new(0)),
            });
            self.segs.insert(id, SegState::default());
        }
        let Some(active) = self.active.as_mut() else {
            return Err(io::Error::other("no active segment"));
        };
        if self.staged.last().is_none_or(|c| c.seg != active.id) {
            self.staged.push(Chunk {
                seg: active.id,
                file: active.file.clone(),
                written: active.written.clone(),
                buf: Vec::with_capacity(4096),
                pairs: 0,
            });
        }
        let chunk_index = self.staged.len() - 1;
        let Some(chunk) = self.staged.last_mut() else {
            return Err(io::Error::other("no staged chunk"));
        };
        let buf = &mut chunk.buf;
        let start = buf.len();
        for &d in r.dests {
            if active.dests.insert(d) {
                let json = serde_json::to_vec(&dest_of(d)).unwrap_or_default();
                push_frame(buf, FRAME_DEST, &[&d.to_le_bytes(), &json]);
            }
        }
        // Almost every record has one destination: no allocation for the id list then.
        let mut small = [0u8; 16];
        let big: Vec<u8>;
        let ids: &[u8] = if r.dests.len() <= 4 {
            for (slot, d) in small.chunks_exact_mut(4).zip(r.dests) {
                slot.copy_from_slice(&d.to_le_bytes());
            }
            small.get(..r.dests.len() * 4).unwrap_or_default()
        } else {
            big = r.dests.iter().flat_map(|d| d.to_le_bytes()).collect();
            &big
        };
        let n = (r.dests.len() as u16).to_le_bytes();
        push_frame(buf, FRAME_RECORD, &[&r.event_time.to_le_bytes(), &n, ids, r.json]);
        chunk.pairs += r.dests.len() as u64;
        let pos = (active.id, active.next_idx);
        active.next_idx += 1;
        active.bytes += (buf.len() - start) as u64;
        if let Some(s) = self.segs.get_mut(&active.id) {
            s.outstanding += r.dests.len() as u64;
        }
        let sync = self.fsync.then(|| SyncPoint {
            file: active.file.clone(),
            written: active.written.clone(),
            synced: active.synced.clone(),
            upto: active.bytes,
        });
        Ok((pos.0, pos.1, chunk_index, sync))
    }

    /// Hands out everything staged, for one writer to write with [`write_chunks`].
    pub(crate) fn take_staged(&mut self) -> Vec<Chunk> {
        std::mem::take(&mut self.staged)
    }

    /// These chunks were not written (or not wholly): their records are not in the spool.
    /// Their segments take no more frames, since later frames would get the wrong indexes.
    pub(crate) fn abandon(&mut self, chunks: &[Chunk]) {
        for c in chunks {
            if let Some(s) = self.segs.get_mut(&c.seg) {
                s.outstanding = s.outstanding.saturating_sub(c.pairs);
            }
            if self.active.as_ref().is_some_and(|a| a.id == c.seg) {
                self.seal();
            } else {
                self.collect(c.seg);
            }
        }
    }

    /// Stages and writes one record at once (tests drive the spool this way).
    #[cfg(test)]
    pub(crate) fn append(
        &mut self,
        r: &NewRecord<'_>,
        dest_of: &dyn Fn(u32) -> Destination,
    ) -> io::Result<(u64, u32, Option<SyncPoint>)> {
        let (seg, idx, _, sync) = self.stage(r, dest_of)?;
        let chunks = self.take_staged();
        if let Err((i, e)) = write_chunks(&chunks) {
            self.abandon(chunks.get(i..).unwrap_or_default());
            return Err(e);
        }
        Ok((seg, idx, sync))
    }

    /// Stops appending to the active segment. Returns the highest segment id that exists.
    /// Memory only: submitters still waiting on a sync of the segment sync it themselves
    /// through their [`SyncPoint`], which keeps the file open.
    pub(crate) fn seal(&mut self) -> u64 {
        if let Some(a) = self.active.take() {
            if let Some(s) = self.segs.get_mut(&a.id) {
                s.sealed = true;
            }
            self.collect(a.id);
        }
        self.next_id - 1
    }

    /// Notes that `pairs` pairs of segment `seg` are acknowledged: their ack frame is already
    /// written by [`write_ack`]. A segment left with nothing outstanding joins the doomed.
    /// The active segment too: once everything in it is delivered it is sealed and goes, so
    /// delivered records do not wait on disk for the segment to fill.
    pub(crate) fn acked(&mut self, seg: u64, pairs: usize) {
        let mut drained = false;
        if let Some(s) = self.segs.get_mut(&seg) {
            s.outstanding = s.outstanding.saturating_sub(pairs as u64);
            drained = s.outstanding == 0;
        }
        if drained && self.active.as_ref().is_some_and(|a| a.id == seg) {
            self.seal();
        } else {
            self.collect(seg);
        }
    }

    fn collect(&mut self, seg: u64) {
        if self
            .segs
            .get(&seg)
            .is_some_and(|s| s.sealed && s.outstanding == 0)
        {
            self.segs.remove(&seg);
            self.doomed.push(seg);
        }
    }

    /// Segments whose files may now go, for the caller to delete with [`remove_segment`]
    /// outside the lock. Every pair in them is in a delivered file and acknowledged.
    pub(crate) fn take_doomed(&mut self) -> Vec<u64> {
        std::mem::take(&mut self.doomed)
    }

    /// Whether any pair in a segment up to `hw` still waits for delivery.
    pub(crate) fn pending_up_to(&self, hw: u64) -> bool {
        self.segs.range(..=hw).any(|(_, s)| s.outstanding > 0)
    }
}

/// Appends an ack frame for these (record, slot) pairs of segment `seg`, synced when `fsync`.
/// Called after their log object is visible and before [`Spool::acked`]; callers that may run
/// at once must serialise their calls, so frames never interleave.
pub(crate) fn write_ack(dir: &Path, seg: u64, pairs: &[(u32, u16)], fsync: bool) -> io::Result<()> {
    let mut payload = Vec::with_capacity(pairs.len() * 6);
    for (i, s) in pairs {
        payload.extend_from_slice(&i.to_le_bytes());
        payload.extend_from_slice(&s.to_le_bytes());
    }
    let mut buf = Vec::with_capacity(payload.len() + 9);
    push_frame(&mut buf, 3, &[&payload]);
    let mut f = OpenOptions::new()
        .create(true)
        .append(true)
        .open(seg_path(dir, seg, "ack"))?;
    f.write_all(&buf)?;
    if fsync {
        f.sync_data()?;
    }
    Ok(())
}

/// Deletes a doomed segment's files. The segment goes first: an ack file without its segment
/// is harmless and cleaned up at the next start.
pub(crate) fn remove_segment(dir: &Path, id: u64) {
    let _ = fs::remove_file(seg_path(dir, id, "log"));
    let _ = fs::remove_file(seg_path(dir, id, "ack"));
}

#[cfg(test)]
mod tests;
