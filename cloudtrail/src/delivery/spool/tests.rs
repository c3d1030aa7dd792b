//! Unit tests of the spool: staging without I/O, replay of what was not acknowledged, torn
//! tails, the CRC.

use std::fs::{self, OpenOptions};
use std::io::Write;

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

fn ack(s: &mut Spool, seg: u64, pairs: &[(u32, u16)]) {
    write_ack(&s.dir.clone(), seg, pairs, s.fsync).unwrap();
    s.acked(seg, pairs.len());
    reap(s);
}

fn reap(s: &mut Spool) {
    for id in s.take_doomed() {
        remove_segment(&s.dir.clone(), id);
    }
}

fn append(s: &mut Spool, records: &[NewRecord<'_>], dest_of: &dyn Fn(u32) -> Destination) -> Vec<(u64, u32)> {
    records
        .iter()
        .map(|r| {
            let (seg, idx, _) = s.append(r, dest_of).unwrap();
            (seg, idx)
        })
        .collect()
}

#[test]
fn the_spool_itself_touches_no_files() {
    let dir = tempfile::tempdir().unwrap();
    let table = [dest("a")];
    let dest_of = |i: u32| table[i as usize].clone();
    let (mut s, _) = Spool::open(dir.path(), true, 1 << 20, &mut |_| 0).unwrap();
    let log = seg_path(dir.path(), 1, "log");
    let new = NewRecord {
        dests: &[0],
        event_time: 1,
        json: b"{}",
    };
    // Staging under the lock creates nothing; the first write creates the segment.
    let (seg, idx, _, sync) = s.stage(&new, &dest_of).unwrap();
    assert_eq!((seg, idx), (1, 0));
    assert!(!log.exists());
    let chunks = s.take_staged();
    write_chunks(&chunks).unwrap();
    assert!(log.exists());
    sync.unwrap().sync().unwrap();
    // Acknowledging and sealing only count; the files go when the caller reaps them.
    write_ack(dir.path(), 1, &[(0, 0)], true).unwrap();
    s.acked(1, 1);
    assert_eq!(s.seal(), 1);
    assert!(log.exists() && seg_path(dir.path(), 1, "ack").exists());
    assert_eq!(s.take_doomed(), [1]);
    remove_segment(dir.path(), 1);
    assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0);
    // A restart finds nothing to replay.
    let (_, r) = Spool::open(dir.path(), false, 1 << 20, &mut |_| 0).unwrap();
    assert!(r.is_empty());
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
        ack(&mut s, 1, &[(0, 1), (1, 0)]);
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
    ack(&mut s, 1, &[(0, 0)]);
    assert!(!seg.exists());
    assert!(!s.pending_up_to(1));
    assert!(s.pending_up_to(2));
    ack(&mut s, 2, &[(0, 0)]);
    s.seal();
    reap(&mut s);
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
    ack(&mut s, 3, &[(0, 0)]);
    s.seal();
    reap(&mut s);
    assert!(!s.pending_up_to(3));
    assert!(!s.pending_up_to(2));
    assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0);
}
