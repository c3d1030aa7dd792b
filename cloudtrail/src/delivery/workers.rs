//! The workers: long-lived threads that turn a cut batch into a log file (shuffled, with the
//! configured duplicates, compressed, put) and acknowledge its records in the spool once the file
//! is visible, off the core and off the spool lock.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{RngExt, SeedableRng};
use time::OffsetDateTime;
use tokio::sync::mpsc;

use crate::logfile::{RawRecord, write_raw};
use crate::store::{ObjectStore, StoreError};

use super::api::Destination;
use super::core::{Done, Entry, Failure};
use super::spool::write_ack;

/// A few long-lived threads for blocking work. Long-lived on purpose: each compression thread
/// keeps its compressor and its multi-megabyte buffers between files, which fresh blocking
/// tasks would pay for in page faults every time.
pub(super) struct Pool {
    tx: std::sync::mpsc::Sender<Box<dyn FnOnce() + Send>>,
}

impl Pool {
    /// `threads` threads named `<name>-<i>`.
    pub(super) fn new(name: &str, threads: usize) -> std::io::Result<Pool> {
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

    /// Runs `task` on the next free thread.
    pub(super) fn run(&self, task: impl FnOnce() + Send + 'static) {
        // The receiving threads live as long as `self`, so the send cannot fail.
        let _ = self.tx.send(Box::new(task));
    }
}

/// What every file of a pipeline shares: where it is put, how it is compressed and salted with
/// duplicates, where its acks go, and who hears the report.
pub(super) struct Writer {
    /// Where files are put.
    pub(super) store: Arc<dyn ObjectStore>,
    /// The compression level.
    pub(super) level: i32,
    /// Chance that a record is written twice.
    pub(super) duplicate_rate: f64,
    /// The spool, for the acks.
    pub(super) spool_dir: PathBuf,
    /// Whether acks are synced.
    pub(super) fsync: bool,
    /// Serialises the workers' ack appends, so ack frames never interleave.
    pub(super) ack_io: Mutex<()>,
    /// The core's inbox of reports.
    pub(super) events: mpsc::UnboundedSender<Done>,
    /// Told before records are acknowledged ([`DeliveryObserver::before_ack`]).
    pub(super) observers: Vec<Arc<dyn super::api::DeliveryObserver>>,
}

/// One file to write: a cut batch and what the core decided for it.
pub(super) struct FileJob {
    /// The destination's id, for the report.
    pub(super) id: u32,
    /// Where the file goes.
    pub(super) dest: Destination,
    /// Its records.
    pub(super) entries: Vec<Entry>,
    /// The time in its key.
    pub(super) delivered_at: OffsetDateTime,
    /// The unique string in its key.
    pub(super) unique: String,
    /// Seeds the shuffle and the duplicates.
    pub(super) seed: u64,
    /// The pipeline's shared parts.
    pub(super) writer: Arc<Writer>,
}

impl FileJob {
    /// Writes the file, acknowledges its records when it is visible, and reports to the core.
    pub(super) fn run(self) {
        let FileJob {
            id,
            dest,
            mut entries,
            delivered_at,
            unique,
            seed,
            writer,
        } = self;
        let dup = writer.duplicate_rate;
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
        // The file's key and its records' places in the spool, written down before the put:
        // should the process die between the put and the acks, the next start finds the file
        // there and writes the acks instead of delivering the records again.
        let key = crate::layout::log_key(&dest.log, delivered_at, &unique);
        let intent = write_intent(&writer.spool_dir, &dest.log.bucket, &key, &entries, &unique);
        // A panicking store must not wedge the pipeline: report it as a failed write.
        let put = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            write_raw(
                &*writer.store,
                &dest.trail,
                &dest.log,
                &raw,
                delivered_at,
                &unique,
                crate::logfile::LogOptions {
                    level: writer.level,
                    hash: true,
                },
            )
        }));
        drop(raw);
        let result = match put {
            Ok(Ok(log)) => Ok(log),
            // The file's own bucket or key can never be written: retrying would hold these
            // records, and every flush and shutdown behind them, forever. They are set aside.
            Ok(Err(e)) if e.is_permanent() => {
                match quarantine(&writer.spool_dir, &dest, &entries, &e, &unique) {
                    Ok(path) => Err(Failure::Quarantined {
                        error: e.to_string(),
                        path,
                    }),
                    Err(q) => Err(Failure::Retry(format!(
                        "{e} (and it could not be quarantined: {q})"
                    ))),
                }
            }
            Ok(Err(e)) => Err(Failure::Retry(e.to_string())),
            Err(_) => Err(Failure::Retry("the object store panicked".to_owned())),
        };
        if !matches!(result, Err(Failure::Retry(_))) {
            // The file is visible (or the batch is quarantined): acknowledge its records here,
            // off the core and off the spool lock. Workers take turns so ack frames never
            // interleave.
            let mut by_seg: BTreeMap<u64, Vec<(u32, u16)>> = BTreeMap::new();
            for e in &entries {
                by_seg.entry(e.seg).or_default().push((e.idx, e.slot));
            }
            // Once acknowledged, the records are gone from the spool at the next start: whatever
            // else keeps them (Event history) writes them out first.
            for o in &writer.observers {
                o.before_ack();
            }
            let _turn = writer.ack_io.lock().unwrap_or_else(|e| e.into_inner());
            for (seg, pairs) in by_seg {
                if let Err(err) = write_ack(&writer.spool_dir, seg, &pairs, writer.fsync) {
                    // Without the ack a restart would write these again.
                    tracing::error!(error = %err, seg, "spool ack failed; records may be delivered twice after a restart");
                }
            }
        }
        if let Some(path) = intent {
            let _ = std::fs::remove_file(path);
        }
        let _ = writer.events.send(Done {
            dest: id,
            entries,
            result,
        });
    }
}

/// The folder of the spool where undeliverable batches are set aside.
pub(super) const QUARANTINE_DIR: &str = "quarantine";

/// Writes a batch that can never be delivered to `<spool>/quarantine/<unique>.json`: its trail,
/// bucket, error and records, as a CloudTrail log file with three more members. Returns the
/// file's path.
fn quarantine(
    spool_dir: &std::path::Path,
    dest: &Destination,
    entries: &[Entry],
    error: &StoreError,
    unique: &str,
) -> std::io::Result<String> {
    let dir = spool_dir.join(QUARANTINE_DIR);
    std::fs::create_dir_all(&dir)?;
    let mut body = Vec::with_capacity(entries.iter().map(|e| e.json.len() + 1).sum::<usize>() + 256);
    let head = serde_json::json!({
        "trail": dest.trail,
        "bucket": dest.log.bucket,
        "account": dest.log.account,
        "region": dest.log.region,
        "error": error.to_string(),
    })
    .to_string();
    body.extend_from_slice(head.strip_suffix('}').unwrap_or(&head).as_bytes());
    body.extend_from_slice(b",\"Records\":[");
    for (i, e) in entries.iter().enumerate() {
        if i > 0 {
            body.push(b',');
        }
        body.extend_from_slice(&e.json);
    }
    body.extend_from_slice(b"]}");
    let path = dir.join(format!("{unique}.json"));
    crate::atomic::write_atomic(&path, &body, crate::atomic::Access::Default)?;
    tracing::error!(trail = %dest.trail, error = %error, path = %path.display(), records = entries.len(),
        "a batch that can never be delivered was quarantined");
    Ok(path.display().to_string())
}

/// The folder of the spool where each file being put notes its key and its records' places.
pub(super) const INTENT_DIR: &str = "intents";

/// What an intent file holds.
#[derive(serde::Serialize, serde::Deserialize)]
pub(super) struct Intent {
    pub(super) bucket: String,
    pub(super) key: String,
    /// (segment, record index, destination slot) of every record in the file.
    pub(super) pairs: Vec<(u64, u32, u16)>,
}

/// Notes a put about to happen; `None` if the note cannot be written (the put goes ahead: a
/// crash before its acks would then deliver the file twice, as without intents).
fn write_intent(
    spool_dir: &std::path::Path,
    bucket: &str,
    key: &str,
    entries: &[Entry],
    unique: &str,
) -> Option<PathBuf> {
    let intent = Intent {
        bucket: bucket.to_owned(),
        key: key.to_owned(),
        pairs: entries.iter().map(|e| (e.seg, e.idx, e.slot)).collect(),
    };
    let dir = spool_dir.join(INTENT_DIR);
    std::fs::create_dir_all(&dir).ok()?;
    let path = dir.join(format!("{unique}.json"));
    let body = serde_json::to_vec(&intent).ok()?;
    std::fs::write(&path, body).ok()?;
    Some(path)
}

/// At start, before the spool is read: for every intent whose file is in the store, writes the
/// acks the crash prevented; then forgets every intent. Returns how many files were settled.
pub(super) fn settle_intents(spool_dir: &std::path::Path, store: &dyn ObjectStore) -> usize {
    let dir = spool_dir.join(INTENT_DIR);
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return 0;
    };
    let mut settled = 0;
    for entry in entries.flatten() {
        let path = entry.path();
        let intent = std::fs::read(&path)
            .ok()
            .and_then(|b| serde_json::from_slice::<Intent>(&b).ok());
        if let Some(intent) = intent
            && store.exists(&intent.bucket, &intent.key) == Some(true)
        {
            let mut by_seg: BTreeMap<u64, Vec<(u32, u16)>> = BTreeMap::new();
            for (seg, idx, slot) in intent.pairs {
                by_seg.entry(seg).or_default().push((idx, slot));
            }
            let mut ok = true;
            for (seg, pairs) in by_seg {
                // A segment already gone was wholly acknowledged: an ack file without it would
                // outlive it, and could be taken for a later segment's of the same number.
                if super::spool::seg_path(spool_dir, seg, "log").exists() {
                    ok &= write_ack(spool_dir, seg, &pairs, true).is_ok();
                }
            }
            if !ok {
                // Keep the intent for the next start rather than deliver the file twice.
                continue;
            }
            settled += 1;
        }
        let _ = std::fs::remove_file(&path);
    }
    settled
}
