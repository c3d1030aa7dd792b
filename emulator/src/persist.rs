//! Personalize state on disk, so resources survive a restart: a snapshot and a journal of the
//! calls that may have changed state since it, under `<data-dir>/.personalize/`.
//!
//! The journal is appended on the request path once the call's record is in the spool, with one
//! `write` per call (so it survives the process being killed, like the spool): a change whose
//! record was lost in a crash is not replayed. Calls on one store may reach the journal out of
//! order; each carries the store's change number, and replay runs each store's changes in
//! number order, stopping at a gap (a change lost in a crash: what came after it ran on a
//! state that cannot be rebuilt). Compaction switches to a new journal file first and
//! snapshots after, so every change is either in the snapshot or in a journal that is kept.

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use personalize::{Config, Context, Operation, Personalize, Replayed};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;

/// The folder inside the data directory (a name no bucket can have).
pub const PERSONALIZE_DIR: &str = ".personalize";
const SNAPSHOT: &str = "snapshot.json";
/// Journals beyond this size are compacted into the snapshot.
pub(crate) const COMPACT_BYTES: u64 = 64 << 20;

/// Why the state on disk could not be used.
#[derive(Debug, thiserror::Error)]
pub enum PersistError {
    /// Reading or writing the folder failed.
    #[error("Personalize state in {path}: {source}")]
    Io {
        /// The file or folder.
        path: String,
        /// The OS error.
        source: io::Error,
    },
    /// The snapshot does not parse (written by another version, or damaged).
    #[error("{path}: {source}; move it away (or start with --ephemeral) to start empty")]
    Snapshot {
        /// The snapshot file.
        path: String,
        /// Why.
        source: personalize::SnapshotError,
    },
}

/// One journal line.
#[derive(Serialize, Deserialize)]
struct Line<'a> {
    /// Account.
    a: std::borrow::Cow<'a, str>,
    /// Region.
    r: std::borrow::Cow<'a, str>,
    /// The call's time, Unix nanoseconds.
    t: i128,
    /// Operation name.
    o: std::borrow::Cow<'a, str>,
    /// The store's change number.
    s: u64,
    /// The input.
    i: std::borrow::Cow<'a, Value>,
}

struct Current {
    generation: u64,
    file: File,
    bytes: u64,
}

/// The journal file the service appends its changes to, and the compaction that folds it into
/// the snapshot.
pub struct FileJournal {
    dir: PathBuf,
    current: Mutex<Current>,
    /// Set after a failed append, so the error is logged once, not per call.
    failing: AtomicBool,
    /// One compaction at a time.
    compacting: Mutex<()>,
}

impl std::fmt::Debug for FileJournal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileJournal")
            .field("dir", &self.dir)
            .finish_non_exhaustive()
    }
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> PersistError + '_ {
    move |source| PersistError::Io {
        path: path.display().to_string(),
        source,
    }
}

fn journal_path(dir: &Path, generation: u64) -> PathBuf {
    dir.join(format!("journal-{generation:010}.jsonl"))
}

/// The journal file of `generation`, opened for appending (created if missing).
fn open_journal(dir: &Path, generation: u64) -> Result<File, PersistError> {
    let path = journal_path(dir, generation);
    OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .map_err(io_err(&path))
}

/// The journal files in `dir`, oldest first.
fn journals(dir: &Path) -> io::Result<Vec<(u64, PathBuf)>> {
    let mut out = Vec::new();
    for entry in fs::read_dir(dir)? {
        let path = entry?.path();
        let generation = path
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.strip_prefix("journal-"))
            .and_then(|n| n.strip_suffix(".jsonl"))
            .and_then(|n| n.parse::<u64>().ok());
        if let Some(g) = generation {
            out.push((g, path));
        }
    }
    out.sort();
    Ok(out)
}

/// The changes in one journal file; a line that does not parse (torn by a crash) ends it.
fn read_changes(path: &Path, out: &mut Vec<(Context, Operation, Value, u64)>) -> io::Result<()> {
    for line in BufReader::new(File::open(path)?).split(b'\n') {
        let line = line?;
        let Ok(l) = serde_json::from_slice::<Line<'_>>(&line) else {
            break;
        };
        let (Some(op), Ok(now)) = (
            Operation::from_name(&l.o),
            OffsetDateTime::from_unix_timestamp_nanos(l.t),
        ) else {
            continue;
        };
        let ctx = Context {
            account: l.a.into_owned(),
            region: l.r.into_owned(),
            now,
        };
        out.push((ctx, op, l.i.into_owned(), l.s));
    }
    Ok(())
}

/// Replays every change, each store's in change-number order; returns (run, dropped after a
/// gap).
fn replay(service: &Personalize, mut changes: Vec<(Context, Operation, Value, u64)>) -> (usize, usize) {
    changes.sort_by(|a, b| (&a.0.account, &a.0.region, a.3).cmp(&(&b.0.account, &b.0.region, b.3)));
    let (mut run, mut dropped) = (0, 0);
    let mut broken: Option<(String, String)> = None;
    for (ctx, op, input, seq) in changes {
        if broken
            .as_ref()
            .is_some_and(|(a, r)| *a == ctx.account && *r == ctx.region)
        {
            dropped += 1;
            continue;
        }
        match service.replay(&ctx, op, &input, seq) {
            Replayed::Applied => run += 1,
            Replayed::Held => {}
            Replayed::Gap => {
                dropped += 1;
                broken = Some((ctx.account.clone(), ctx.region.clone()));
            }
        }
    }
    (run, dropped)
}

/// Opens the state in `dir` (created if missing): the snapshot, then every journal replayed
/// over it, then a fresh journal that the returned service appends to, and, when the journals held
/// changes, a compaction that folds them into the snapshot.
pub fn open(dir: &Path, config: Config) -> Result<(Personalize, Arc<FileJournal>), PersistError> {
    fs::create_dir_all(dir).map_err(io_err(dir))?;
    let snapshot = dir.join(SNAPSHOT);
    let restored = match fs::read(&snapshot) {
        Ok(bytes) => {
            Personalize::restore(config.clone(), &bytes).map_err(|source| PersistError::Snapshot {
                path: snapshot.display().to_string(),
                source,
            })?
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => Personalize::new(config.clone()),
        Err(e) => return Err(io_err(&snapshot)(e)),
    };
    let old = journals(dir).map_err(io_err(dir))?;
    let mut changes = Vec::new();
    for (_, path) in &old {
        read_changes(path, &mut changes).map_err(io_err(path))?;
    }
    let had_changes = !changes.is_empty();
    let (replayed, dropped) = replay(&restored, changes);
    if dropped > 0 {
        tracing::warn!(
            dropped,
            "Personalize changes after one lost in a crash cannot be replayed; their records are in the logs"
        );
    }
    let generation = old.last().map_or(1, |(g, _)| g + 1);
    let file = open_journal(dir, generation)?;
    let journal = Arc::new(FileJournal {
        dir: dir.to_owned(),
        current: Mutex::new(Current {
            generation,
            file,
            bytes: 0,
        }),
        failing: AtomicBool::new(false),
        compacting: Mutex::new(()),
    });
    // Changes left by the last run are folded in now. After a clean shutdown the old journal is
    // empty and the snapshot already holds the state: the empty file only goes.
    if had_changes {
        journal.compact(&restored)?;
    } else {
        for (_, path) in &old {
            fs::remove_file(path).map_err(io_err(path))?;
        }
    }
    if replayed > 0 {
        tracing::info!(replayed, dir = %dir.display(), "Personalize state restored");
    }
    Ok((restored, journal))
}

impl FileJournal {
    /// Bytes appended to the current journal file.
    pub fn bytes(&self) -> u64 {
        self.current.lock().unwrap_or_else(|e| e.into_inner()).bytes
    }

    /// Folds the journal into a new snapshot: switches to a new journal file, writes the
    /// service's snapshot (atomically), and deletes the journals it covers.
    pub fn compact(&self, service: &Personalize) -> Result<(), PersistError> {
        let _one = self.compacting.lock().unwrap_or_else(|e| e.into_inner());
        let next = {
            let mut cur = self.current.lock().unwrap_or_else(|e| e.into_inner());
            let generation = cur.generation + 1;
            *cur = Current {
                generation,
                file: open_journal(&self.dir, generation)?,
                bytes: 0,
            };
            generation
        };
        // Every change in the older journals ran before the switch, so the snapshot holds it.
        let snapshot = self.dir.join(SNAPSHOT);
        cloudtrail::write_file_atomic(&snapshot, &service.snapshot()).map_err(io_err(&snapshot))?;
        for (g, path) in journals(&self.dir).map_err(io_err(&self.dir))? {
            if g < next {
                fs::remove_file(&path).map_err(io_err(&path))?;
            }
        }
        Ok(())
    }
}

impl FileJournal {
    /// Keeps one change: the call as it ran and the store's change number
    /// ([`Personalize::call_counted`]).
    pub fn append(&self, ctx: &Context, op: Operation, input: &Value, seq: u64) {
        let line = Line {
            a: ctx.account.as_str().into(),
            r: ctx.region.as_str().into(),
            t: ctx.now.unix_timestamp_nanos(),
            o: op.name().into(),
            s: seq,
            i: std::borrow::Cow::Borrowed(input),
        };
        let mut buf = match serde_json::to_vec(&line) {
            Ok(b) => b,
            Err(_) => return,
        };
        buf.push(b'\n');
        let mut cur = self.current.lock().unwrap_or_else(|e| e.into_inner());
        match cur.file.write_all(&buf) {
            Ok(()) => {
                cur.bytes += buf.len() as u64;
                if self.failing.swap(false, Ordering::Relaxed) {
                    tracing::info!("the Personalize journal is written again");
                }
            }
            Err(e) => {
                if !self.failing.swap(true, Ordering::Relaxed) {
                    tracing::error!(error = %e, "cannot append to the Personalize journal; changes may not survive a restart");
                }
            }
        }
    }
}
