//! The digest chains' state on disk: a snapshot of every chain (previous digest, pending log
//! files), rewritten atomically when chains change, and a journal of log files (and chain starts)
//! appended between snapshots, so a restart, even after `kill -9`, continues every chain.

use std::collections::{BTreeMap, HashSet};
use std::fs;
use std::io::{self, BufRead, Write};
use std::path::Path;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::atomic::{Access, write_atomic};
use crate::layout::DigestTarget;
use crate::timefmt;

use super::DigestError;
use super::chains::DigestTrail;
use super::format::{DigestLogFile, PreviousDigest};

/// One chain: one trail, one (account, Region).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct Chain {
    pub(super) trail: String,
    pub(super) target: DigestTarget,
    pub(super) active: bool,
    #[serde(with = "timefmt::unix_seconds")]
    pub(super) period_start: OffsetDateTime,
    #[serde(with = "timefmt::unix_seconds_opt")]
    pub(super) last_end: Option<OffsetDateTime>,
    pub(super) previous: Option<PreviousDigest>,
    pub(super) pending: Vec<DigestLogFile>,
}

/// One validating trail: its settings, whether its chains run, its digest delivery status.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct TrailState {
    pub(super) spec: DigestTrail,
    pub(super) active: bool,
    #[serde(with = "timefmt::unix_seconds_opt")]
    pub(super) latest_delivery: Option<OffsetDateTime>,
    pub(super) latest_error: Option<String>,
}

/// Everything the snapshot holds.
#[derive(Debug, Default, Serialize, Deserialize)]
pub(super) struct State {
    pub(super) trails: BTreeMap<String, TrailState>,
    pub(super) chains: BTreeMap<String, Chain>,
    /// Journal lines up to this sequence number are already folded into `chains`.
    pub(super) journal_seq: u64,
}

/// A journal line: a log file that joined a chain's pending list, and, for a chain's first
/// file, how the chain started. Journalling the start (instead of rewriting the snapshot) keeps
/// a new chain to one appended line: records spread over many accounts and Regions start many
/// chains, and a snapshot per start rewrote every pending list each time.
#[derive(Debug, Serialize, Deserialize)]
pub(super) struct JournalLine {
    pub(super) seq: u64,
    pub(super) chain: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) start: Option<ChainStart>,
    pub(super) log: DigestLogFile,
}

/// How a chain (re)started: what `Digests::begin_chain` decided, replayed as is.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct ChainStart {
    pub(super) trail: String,
    pub(super) target: DigestTarget,
    #[serde(with = "timefmt::unix_seconds")]
    pub(super) period_start: OffsetDateTime,
}

impl ChainStart {
    /// Makes the chain active from `period_start` with no previous digest, keeping its pending
    /// files and its last end.
    pub(super) fn apply(&self, state: &mut State, id: &str) {
        let chain = state.chains.entry(id.to_owned()).or_insert_with(|| Chain {
            trail: self.trail.clone(),
            target: self.target.clone(),
            active: false,
            period_start: self.period_start,
            last_end: None,
            previous: None,
            pending: Vec::new(),
        });
        chain.target = self.target.clone();
        chain.active = true;
        chain.period_start = self.period_start;
        chain.previous = None;
    }
}

/// The key of a chain in [`State::chains`].
pub(super) fn chain_id(trail: &str, account: &str, region: &str) -> String {
    format!("{trail}|{account}|{region}")
}

/// The snapshot's file name in the state folder.
pub(super) const STATE_FILE: &str = "digest-chains.json";
/// The journal's file name in the state folder.
pub(super) const JOURNAL_FILE: &str = "digest-pending.jsonl";

/// Appends one journal line (one `write`, so a crash tears at most the last line).
pub(super) fn append(dir: &Path, line: &JournalLine) -> Result<(), DigestError> {
    let path = dir.join(JOURNAL_FILE);
    let io = |source| DigestError::State {
        path: path.clone(),
        source,
    };
    let mut bytes = serde_json::to_vec(line).unwrap_or_default();
    bytes.push(b'\n');
    let mut file = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .map_err(io)?;
    file.write_all(&bytes).map_err(io)
}

/// Writes the snapshot (atomically) and empties the journal it now includes.
pub(super) fn save(dir: &Path, state: &State) -> Result<(), DigestError> {
    let path = dir.join(STATE_FILE);
    let bytes = serde_json::to_vec(state).unwrap_or_default();
    write_atomic(&path, &bytes, Access::Default).map_err(|source| DigestError::State { path, source })?;
    let journal = dir.join(JOURNAL_FILE);
    match fs::remove_file(&journal) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(source) => Err(DigestError::State {
            path: journal,
            source,
        }),
    }
}

/// Loads the snapshot and replays journal lines newer than it.
pub(super) fn load(dir: &Path) -> Result<State, DigestError> {
    let path = dir.join(STATE_FILE);
    let mut state: State = match fs::read(&path) {
        Ok(bytes) => match serde_json::from_slice(&bytes) {
            Ok(state) => state,
            Err(e) => {
                // A damaged snapshot must not keep the emulator from starting: keep it aside for
                // inspection and start new chains (validate-logs then reports a gap, not a failure).
                let aside = dir.join(format!("{STATE_FILE}.corrupt"));
                tracing::error!(path = %path.display(), error = %e, aside = %aside.display(),
                    "corrupt digest chain state; starting new chains");
                fs::rename(&path, &aside).map_err(|source| DigestError::State {
                    path: path.clone(),
                    source,
                })?;
                let _ = fs::remove_file(dir.join(JOURNAL_FILE));
                return Ok(State::default());
            }
        },
        Err(e) if e.kind() == io::ErrorKind::NotFound => State::default(),
        Err(source) => return Err(DigestError::State { path, source }),
    };
    let journal = dir.join(JOURNAL_FILE);
    let file = match fs::File::open(&journal) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(state),
        Err(source) => {
            return Err(DigestError::State {
                path: journal,
                source,
            });
        }
    };
    for line in io::BufReader::new(file).lines() {
        let Ok(line) = line else { break };
        // A torn last line (crash mid-append) is skipped: that file was not acknowledged to
        // anyone waiting on the digest.
        let Ok(entry) = serde_json::from_str::<JournalLine>(&line) else {
            continue;
        };
        if entry.seq <= state.journal_seq {
            continue;
        }
        state.journal_seq = entry.seq;
        if let Some(start) = &entry.start {
            start.apply(&mut state, &entry.chain);
        }
        if let Some(chain) = state.chains.get_mut(&entry.chain) {
            let known: HashSet<&str> = chain.pending.iter().map(|l| l.key.as_str()).collect();
            if !known.contains(entry.log.key.as_str()) {
                chain.pending.push(entry.log);
            }
        }
    }
    Ok(state)
}
