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

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::delivery::Destination;

const FRAME_DEST: u8 = 1;
const FRAME_RECORD: u8 = 2;
/// A frame longer than this is corruption, not a record.
const MAX_FRAME: usize = 256 << 20;

/// CRC-32 (IEEE), slicing by 8 bytes; enough to tell a torn or corrupt frame from a good one,
/// and fast enough (several GB/s) to sit on the submit path.
fn crc32(data: &[u8]) -> u32 {
    const TABLES: [[u32; 256]; 8] = {
        let mut t = [[0u32; 256]; 8];
        let mut i = 0;
        while i < 256 {
            let mut c = i as u32;
            let mut k = 0;
            while k < 8 {
                c = if c & 1 != 0 {
                    0xEDB8_8320 ^ (c >> 1)
                } else {
                    c >> 1
                };
                k += 1;
            }
            t[0][i] = c;
            i += 1;
        }
        let mut i = 0;
        while i < 256 {
            let mut s = 1;
            while s < 8 {
                let prev = t[s - 1][i];
                t[s][i] = (prev >> 8) ^ t[0][(prev & 0xff) as usize];
                s += 1;
            }
            i += 1;
        }
        t
    };
    let mut c = !0u32;
    let mut chunks = data.chunks_exact(8);
    for ch in &mut chunks {
        let lo = u32::from_le_bytes([ch[0], ch[1], ch[2], ch[3]]) ^ c;
        let hi = u32::from_le_bytes([ch[4], ch[5], ch[6], ch[7]]);
        c = TABLES[7][(lo & 0xff) as usize]
            ^ TABLES[6][((lo >> 8) & 0xff) as usize]
            ^ TABLES[5][((lo >> 16) & 0xff) as usize]
            ^ TABLES[4][(lo >> 24) as usize]
            ^ TABLES[3][(hi & 0xff) as usize]
            ^ TABLES[2][((hi >> 8) & 0xff) as usize]
            ^ TABLES[1][((hi >> 16) & 0xff) as usize]
            ^ TABLES[0][(hi >> 24) as usize];
    }
    for &b in chunks.remainder() {
        c = TABLES[0][((c ^ u32::from(b)) & 0xff) as usize] ^ (c >> 8);
    }
    !c
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

/// How far a segment must be synced for one record to survive power loss. Syncs are shared:
/// one `fdatasync` covers every record written before it started (group commit).
#[derive(Clone)]
pub(crate) struct SyncPoint {
    file: Arc<File>,
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
        self.file.sync_data()?;
        self.synced.fetch_max(target, Ordering::AcqRel);
        Ok(())
    }
}

struct Active {
    id: u64,
    file: Arc<File>,
    next_idx: u32,
    bytes: u64,
    dests: HashSet<u32>,
    written: Arc<AtomicU64>,
    synced: Arc<AtomicU64>,
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
    buf: Vec<u8>,
}

fn seg_path(dir: &Path, id: u64, ext: &str) -> PathBuf {
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
            buf: Vec::new(),
        };
        // An ack file whose segment is gone belongs to a segment deleted just before a crash.
        for id in acks.iter().filter(|id| !logs.contains(id)) {
            let _ = fs::remove_file(seg_path(dir, *id, "ack"));
        }
        let mut replayed = Vec::new();
        for id in logs {
            let data = fs::read(seg_path(dir, id, "log"))?;
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
                spool.remove_files(id);
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

    fn remove_files(&self, id: u64) {
        // The segment goes first: an ack file without its segment is harmless and cleaned up.
        let _ = fs::remove_file(seg_path(&self.dir, id, "log"));
        let _ = fs::remove_file(seg_path(&self.dir, id, "ack"));
    }

    /// Appends one record with a single `write`, so it is in the OS page cache (and survives a
    /// crash of this process) when this returns. Gives its (segment, index) and, when syncing is
    /// on, the point the caller must sync to before telling anyone the record is safe.
    pub(crate) fn append(
        &mut self,
        r: &NewRecord<'_>,
        dest_of: &dyn Fn(u32) -> Destination,
    ) -> io::Result<(u64, u32, Option<SyncPoint>)> {
        if self.active.as_ref().is_some_and(|a| a.bytes >= self.max_segment) {
            self.seal();
        }
        if self.active.is_none() {
            let id = self.next_id;
            let file = OpenOptions::new()
                .create(true)
                .append(true)
                .open(seg_path(&self.dir, id, "log"))?;
            self.next_id += 1;
            self.active = Some(Active {
                id,
                file: Arc::new(file),
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
        let buf = &mut self.buf;
        buf.clear();
        for &d in r.dests {
            if active.dests.insert(d) {
                let json = serde_json::to_vec(&dest_of(d)).unwrap_or_default();
                push_frame(buf, FRAME_DEST, &[&d.to_le_bytes(), &json]);
            }
        }
        let mut ids = Vec::with_capacity(r.dests.len() * 4);
        for d in r.dests {
            ids.extend_from_slice(&d.to_le_bytes());
        }
        let n = (r.dests.len() as u16).to_le_bytes();
        push_frame(
            buf,
            FRAME_RECORD,
            &[&r.event_time.to_le_bytes(), &n, &ids, r.json],
        );
        let mut f: &File = &active.file;
        if let Err(e) = f.write_all(buf) {
            // Part of the frame may be on disk; never append after a possibly torn frame.
            self.seal();
            return Err(e);
        }
        let pos = (active.id, active.next_idx);
        active.next_idx += 1;
        active.bytes += buf.len() as u64;
        active.written.store(active.bytes, Ordering::Release);
        if let Some(s) = self.segs.get_mut(&active.id) {
            s.outstanding += r.dests.len() as u64;
        }
        let sync = self.fsync.then(|| SyncPoint {
            file: active.file.clone(),
            written: active.written.clone(),
            synced: active.synced.clone(),
            upto: active.bytes,
        });
        Ok((pos.0, pos.1, sync))
    }

    /// Stops appending to the active segment. Returns the highest segment id that exists.
    pub(crate) fn seal(&mut self) -> u64 {
        if let Some(a) = self.active.take() {
            if self.fsync {
                // Whoever still waits on a sync of this segment finds it done.
                if a.file.sync_data().is_ok() {
                    a.synced.fetch_max(a.bytes, Ordering::AcqRel);
                }
            }
            if let Some(s) = self.segs.get_mut(&a.id) {
                s.sealed = true;
            }
            self.collect(a.id);
        }
        self.next_id - 1
    }

    /// Records that these pairs of segment `seg` are inside a visible log object.
    pub(crate) fn ack(&mut self, seg: u64, pairs: &[(u32, u16)]) -> io::Result<()> {
        let mut payload = Vec::with_capacity(pairs.len() * 6);
        for (i, s) in pairs {
            payload.extend_from_slice(&i.to_le_bytes());
            payload.extend_from_slice(&s.to_le_bytes());
        }
        let mut buf = Vec::with_capacity(payload.len() + 9);
        push_frame(&mut buf, 3, &[&payload]);
        let path = seg_path(&self.dir, seg, "ack");
        let mut f = OpenOptions::new().create(true).append(true).open(&path)?;
        f.write_all(&buf)?;
        if self.fsync {
            f.sync_data()?;
        }
        if let Some(s) = self.segs.get_mut(&seg) {
            s.outstanding = s.outstanding.saturating_sub(pairs.len() as u64);
        }
        self.collect(seg);
        Ok(())
    }

    fn collect(&mut self, seg: u64) {
        if self
            .segs
            .get(&seg)
            .is_some_and(|s| s.sealed && s.outstanding == 0)
        {
            self.segs.remove(&seg);
            self.remove_files(seg);
        }
    }

    /// Whether any pair in a segment up to `hw` still waits for delivery.
    pub(crate) fn pending_up_to(&self, hw: u64) -> bool {
        self.segs.range(..=hw).any(|(_, s)| s.outstanding > 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layout::LogDestination;

    fn dest(trail: &str) -> Destination {
        Destination {
            trail: trail.into(),
            log: LogDestination {
                bucket: "b".into(),
                prefix: None,
                org_id: None,
                account: "123456789012".into(),
                region: "us-east-1".into(),
            },
        }
    }

    fn append(
        s: &mut Spool,
        records: &[NewRecord<'_>],
        dest_of: &dyn Fn(u32) -> Destination,
    ) -> Vec<(u64, u32)> {
        records
            .iter()
            .map(|r| {
                let (seg, idx, _) = s.append(r, dest_of).unwrap();
                (seg, idx)
            })
            .collect()
    }

    #[test]
    fn crc_matches_the_standard_check_value() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        assert_eq!(crc32(b""), 0);
        assert_eq!(crc32(b"The quick brown fox jumps over the lazy dog"), 0x414F_A339);
    }

    #[test]
    fn replays_unacked_pairs_and_ignores_torn_tails() {
        let dir = tempfile::tempdir().unwrap();
        let table = [dest("a"), dest("b")];
        let dest_of = |i: u32| table[i as usize].clone();
        {
            let (mut s, r) = Spool::open(dir.path(), false, 1 << 20, &mut |_| 0).unwrap();
            assert!(r.is_empty());
            let ids = append(
                &mut s,
                &[
                    NewRecord {
                        dests: &[0, 1],
                        event_time: 5,
                        json: b"{\"x\":1}",
                    },
                    NewRecord {
                        dests: &[1],
                        event_time: 6,
                        json: b"{\"x\":2}",
                    },
                ],
                &dest_of,
            );
            assert_eq!(ids, [(1, 0), (1, 1)]);
            s.ack(1, &[(0, 1), (1, 0)]).unwrap();
            assert!(s.pending_up_to(1));
        }
        // A torn frame at the end (crash mid-append).
        let seg = seg_path(dir.path(), 1, "log");
        let mut f = OpenOptions::new().append(true).open(&seg).unwrap();
        f.write_all(&[40, 0, 0, 0, 1, 2]).unwrap();
        drop(f);
        let (mut s, r) = Spool::open(dir.path(), false, 1 << 20, &mut |_| 0).unwrap();
        assert_eq!(r.len(), 1);
        assert_eq!((r[0].seg, r[0].idx, r[0].slot), (1, 0, 0));
        assert_eq!(r[0].dest, dest("a"));
        assert_eq!(r[0].json.as_slice(), b"{\"x\":1}");
        assert_eq!(r[0].event_time, 5);
        // New writes go to a new segment; acking the last pair deletes the old one.
        let ids = append(
            &mut s,
            &[NewRecord {
                dests: &[0],
                event_time: 7,
                json: b"{}",
            }],
            &dest_of,
        );
        assert_eq!(ids, [(2, 0)]);
        s.ack(1, &[(0, 0)]).unwrap();
        assert!(!seg.exists());
        assert!(!s.pending_up_to(1));
        assert!(s.pending_up_to(2));
        s.ack(2, &[(0, 0)]).unwrap();
        s.seal();
        // With syncing on, a record comes with the point to sync to.
        s.fsync = true;
        let (_, _, sync) = s
            .append(
                &NewRecord {
                    dests: &[0],
                    event_time: 8,
                    json: b"{}",
                },
                &dest_of,
            )
            .unwrap();
        let sync = sync.unwrap();
        assert!(!sync.done());
        sync.sync().unwrap();
        assert!(sync.done());
        s.ack(3, &[(0, 0)]).unwrap();
        s.seal();
        assert!(!s.pending_up_to(3));
        assert!(!s.pending_up_to(2));
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0);
    }
}
