//! The live digest manager: one chain per (validating trail, account, Region), fed every
//! delivered log file by the pipeline, emitting a signed digest whenever a period ends by the
//! injected clock (empty ones too), a final digest on StopLogging and DeleteTrail.

use std::fs;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::arn::Arn;
use crate::clock::{ClockTimer, SharedClock};
use crate::keys::KeyRing;
use crate::layout::{DigestTarget, log_key_account_region};
use crate::logfile::WrittenLog;
use crate::store::ObjectStore;

use super::DigestError;
use super::format::{DigestLogFile, build_digest, put_digest};
use super::journal::{self, ChainStart, JournalLine, State, TrailState, chain_id};

/// AWS delivers one digest per hour.
pub const DEFAULT_DIGEST_PERIOD: Duration = Duration::from_secs(3600);
/// The shortest period accepted: digest keys carry the end time to the second, so two
/// digests of one chain must end at least a second apart.
pub const MIN_DIGEST_PERIOD: Duration = Duration::from_secs(1);
/// After a long outage, at most this many periods are caught up one by one; a longer gap is
/// covered by a single digest so a restart never writes thousands of empty files.
const MAX_CATCH_UP_PERIODS: u64 = 48;

/// The parts of a trail ARN digests need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrailArn {
    /// The home Region.
    pub region: String,
    /// The owner account.
    pub account: String,
    /// The trail name.
    pub name: String,
}

/// Splits `arn:<partition>:cloudtrail:<region>:<account>:trail/<name>`.
pub fn parse_trail_arn(arn: &str) -> Result<TrailArn, DigestError> {
    let bad = || DigestError::BadTrailArn(arn.to_owned());
    let parts = Arn::parse(arn)
        .filter(|a| a.service == "cloudtrail")
        .ok_or_else(bad)?;
    let name = parts.resource.strip_prefix("trail/").ok_or_else(bad)?;
    let (region, account) = (parts.region, parts.account);
    if region.is_empty() || account.is_empty() || name.is_empty() {
        return Err(bad());
    }
    Ok(TrailArn {
        region: region.to_owned(),
        account: account.to_owned(),
        name: name.to_owned(),
    })
}

/// A validating trail, as the trails layer describes it to [`Digests`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DigestTrail {
    /// `arn:aws:cloudtrail:<home-region>:<account>:trail/<name>`; the same string the delivery
    /// pipeline puts in `WrittenLog::trail`.
    pub arn: String,
    /// The trail's bucket.
    pub bucket: String,
    /// The trail's `S3KeyPrefix`.
    pub prefix: Option<String>,
    /// `o-…` for an organization trail.
    pub org_id: Option<String>,
}

/// One digest the manager wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DigestWritten {
    /// The trail ARN.
    pub trail: String,
    /// Bucket of the digest.
    pub bucket: String,
    /// Key of the digest.
    pub key: String,
    /// Window start.
    pub start: OffsetDateTime,
    /// Window end.
    pub end: OffsetDateTime,
    /// Number of log files listed.
    pub log_files: usize,
    /// Whether it starts a chain (no previous digest).
    pub starting: bool,
}

/// Digest delivery state of one trail, for `GetTrailStatus`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DigestStatus {
    /// `LatestDigestDeliveryTime`.
    pub latest_delivery: Option<OffsetDateTime>,
    /// `LatestDigestDeliveryError`, cleared by the next success.
    pub latest_error: Option<String>,
}

fn whole_seconds(t: OffsetDateTime) -> OffsetDateTime {
    t.replace_nanosecond(0).unwrap_or(t)
}

/// The live digest manager: one chain per (validating trail, account, Region).
///
/// - [`Digests::start_chain`] when a validating trail starts logging (idempotent while active,
///   so calling it for every trail at startup continues persisted chains).
/// - [`Digests::observe`] (or the `DeliveryObserver` impl) for every delivered log file.
/// - [`Digests::tick`] emits every digest whose period has ended by the clock;
///   [`Digests::run`] calls it in a loop.
/// - [`Digests::final_digest`] on StopLogging / validation off, [`Digests::delete_trail`]
///   on DeleteTrail.
///
/// Chain state (previous digest per chain, pending log files) is kept in `state_dir`: a
/// snapshot rewritten atomically after every change of chains, and a journal of log files
/// appended between snapshots, so a restart (even `kill -9`) continues every chain.
pub struct Digests {
    store: Arc<dyn ObjectStore>,
    keys: Arc<KeyRing>,
    clock: SharedClock,
    period: Duration,
    state_dir: PathBuf,
    state: Mutex<State>,
    wake: tokio::sync::Notify,
}

impl std::fmt::Debug for Digests {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Digests")
            .field("period", &self.period)
            .field("state_dir", &self.state_dir)
            .finish_non_exhaustive()
    }
}

impl Digests {
    /// Opens the manager, loading any chain state in `state_dir` (created if missing).
    /// `period` is clamped to at least [`MIN_DIGEST_PERIOD`] and rounded to whole seconds.
    pub fn open(
        store: Arc<dyn ObjectStore>,
        keys: Arc<KeyRing>,
        clock: SharedClock,
        state_dir: impl Into<PathBuf>,
        period: Duration,
    ) -> Result<Self, DigestError> {
        let state_dir = state_dir.into();
        fs::create_dir_all(&state_dir).map_err(|source| DigestError::State {
            path: state_dir.clone(),
            source,
        })?;
        let state = journal::load(&state_dir)?;
        let period = Duration::from_secs(period.as_secs().max(MIN_DIGEST_PERIOD.as_secs()));
        Ok(Digests {
            store,
            keys,
            clock,
            period,
            state_dir,
            state: Mutex::new(state),
            wake: tokio::sync::Notify::new(),
        })
    }

    /// The digest period in use.
    pub fn period(&self) -> Duration {
        self.period
    }

    /// The key ring digests are signed with (also what `ListPublicKeys` serves).
    pub fn keys(&self) -> &Arc<KeyRing> {
        &self.keys
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A validating trail started logging (or had validation turned on). Starts a new chain
    /// for the trail's home Region with a starting digest unless one is already running, in
    /// which case only the trail's bucket, prefix and organization are updated for future
    /// digests. Other Regions' chains start when their first log file is delivered.
    pub fn start_chain(&self, trail: &DigestTrail) -> Result<(), DigestError> {
        let arn = parse_trail_arn(&trail.arn)?;
        // Make the Region's key now, outside the state lock: generation is slow.
        self.keys.current(&arn.region)?;
        let now = whole_seconds(self.clock.now());
        let mut state = self.lock();
        let was_active = state.trails.get(&trail.arn).is_some_and(|t| t.active);
        let entry = state
            .trails
            .entry(trail.arn.clone())
            .or_insert_with(|| TrailState {
                spec: trail.clone(),
                active: false,
                latest_delivery: None,
                latest_error: None,
            });
        entry.spec = trail.clone();
        entry.active = true;
        for chain in state.chains.values_mut().filter(|c| c.trail == trail.arn) {
            chain.target.bucket = trail.bucket.clone();
            chain.target.prefix = trail.prefix.clone();
            chain.target.org_id = trail.org_id.clone();
        }
        let home = chain_id(&trail.arn, &arn.account, &arn.region);
        let home_running = state.chains.get(&home).is_some_and(|c| c.active);
        if !was_active || !home_running {
            self.begin_chain(&mut state, trail, &arn.account, &arn.region, now);
        }
        journal::save(&self.state_dir, &state)?;
        drop(state);
        self.wake.notify_one();
        Ok(())
    }

    /// (Re)starts the chain of `(trail, account, region)` at `now` with no previous digest.
    fn begin_chain(
        &self,
        state: &mut State,
        trail: &DigestTrail,
        account: &str,
        region: &str,
        now: OffsetDateTime,
    ) -> Option<ChainStart> {
        let arn = parse_trail_arn(&trail.arn).ok()?;
        let id = chain_id(&trail.arn, account, region);
        let target = DigestTarget {
            trail_name: arn.name,
            home_region: arn.region,
            bucket: trail.bucket.clone(),
            prefix: trail.prefix.clone(),
            org_id: trail.org_id.clone(),
            account: account.to_owned(),
            region: region.to_owned(),
        };
        // A new chain never ends where the old one did: keys carry the end time to the second.
        let last_end = state.chains.get(&id).and_then(|c| c.last_end);
        let start = ChainStart {
            trail: trail.arn.clone(),
            target,
            period_start: last_end.map_or(now, |e| e.max(now)),
        };
        start.apply(state, &id);
        Some(start)
    }

    /// Records a delivered log file in its chain's pending list. Files of trails that are not
    /// validating (or not logging) are ignored, as they never get digests on AWS either.
    pub fn observe(&self, log: &WrittenLog) -> Result<(), DigestError> {
        let Some((account, region)) = log_key_account_region(&log.key) else {
            tracing::warn!(key = %log.key, "log key without account and Region; not digested");
            return Ok(());
        };
        let validating = self.lock().trails.get(&log.trail).is_some_and(|t| t.active);
        if !validating {
            return Ok(());
        }
        // A Region's first file may need its key made: do it before taking the state lock, so
        // the slow key generation never holds up digests of other chains.
        self.keys.current(&region)?;
        let now = whole_seconds(self.clock.now());
        let mut state = self.lock();
        let Some(trail) = state
            .trails
            .get(&log.trail)
            .filter(|t| t.active)
            .map(|t| t.spec.clone())
        else {
            return Ok(());
        };
        let id = chain_id(&log.trail, &account, &region);
        let start = if state.chains.get(&id).is_some_and(|c| c.active) {
            None
        } else {
            self.begin_chain(&mut state, &trail, &account, &region, now)
        };
        let started = start.is_some();
        let entry = DigestLogFile::from(log);
        if let Some(chain) = state.chains.get_mut(&id) {
            chain.pending.push(entry.clone());
        }
        state.journal_seq += 1;
        let line = JournalLine {
            seq: state.journal_seq,
            chain: id,
            start,
            log: entry,
        };
        journal::append(&self.state_dir, &line)?;
        drop(state);
        if started {
            self.wake.notify_one();
        }
        Ok(())
    }

    /// Emits every digest whose period has ended by the clock, including empty ones. A chain
    /// whose digest cannot be written keeps its pending files and retries on the next tick;
    /// the error is kept for `GetTrailStatus`.
    pub fn tick(&self) -> Vec<DigestWritten> {
        let now = whole_seconds(self.clock.now());
        let period = time::Duration::try_from(self.period).unwrap_or(time::Duration::HOUR);
        let mut state = self.lock();
        let mut written = Vec::new();
        let ids: Vec<String> = state
            .chains
            .iter()
            .filter(|(_, c)| c.active && c.period_start + period <= now)
            .map(|(id, _)| id.clone())
            .collect();
        for id in ids {
            while let Some(chain) = state.chains.get(&id) {
                let due = chain.period_start + period;
                if due > now {
                    break;
                }
                let behind = ((now - chain.period_start).whole_seconds() / period.whole_seconds().max(1))
                    .max(1) as u64;
                let end = if behind > MAX_CATCH_UP_PERIODS {
                    chain.period_start
                        + time::Duration::seconds(period.whole_seconds().saturating_mul(behind as i64))
                } else {
                    due
                };
                match self.emit(&mut state, &id, end, now) {
                    Ok(Some(w)) => written.push(w),
                    Ok(None) => break,
                    Err(e) => {
                        tracing::warn!(chain = %id, error = %e, "digest delivery failed");
                        break;
                    }
                }
            }
        }
        if !written.is_empty()
            && let Err(e) = journal::save(&self.state_dir, &state)
        {
            tracing::warn!(error = %e, "could not save digest chain state");
        }
        written
    }

    /// Writes the digest of chain `id` ending at `end`, advancing the chain.
    fn emit(
        &self,
        state: &mut State,
        id: &str,
        end: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Result<Option<DigestWritten>, DigestError> {
        let Some(chain) = state.chains.get(id) else {
            return Ok(None);
        };
        let trail = chain.trail.clone();
        let result = self
            .keys
            .current(&chain.target.region)
            .map_err(DigestError::from)
            .and_then(|key| {
                let (start, logs, previous) = (chain.period_start, &chain.pending, chain.previous.as_ref());
                let digest = build_digest(&chain.target, start, end, logs, previous, &key);
                put_digest(self.store.as_ref(), &digest).map_err(DigestError::from)?;
                Ok(digest)
            });
        let status = state.trails.get_mut(&trail);
        match result {
            Ok(digest) => {
                if let Some(t) = status {
                    t.latest_delivery = Some(now);
                    t.latest_error = None;
                }
                let Some(chain) = state.chains.get_mut(id) else {
                    return Ok(None);
                };
                let written = DigestWritten {
                    trail,
                    bucket: digest.bucket.clone(),
                    key: digest.key.clone(),
                    start: chain.period_start,
                    end,
                    log_files: digest.log_files,
                    starting: chain.previous.is_none(),
                };
                chain.previous = Some(digest.link());
                chain.period_start = end;
                chain.last_end = Some(end);
                chain.pending.clear();
                Ok(Some(written))
            }
            Err(e) => {
                if let Some(t) = status {
                    t.latest_error = Some(e.to_string());
                }
                Err(e)
            }
        }
    }

    /// StopLogging (or validation turned off): writes a final digest for every running chain
    /// of the trail, covering the files delivered since the last digest, and stops the chains.
    /// The next [`Digests::start_chain`] starts new chains with starting digests.
    pub fn final_digest(&self, trail_arn: &str) -> Result<Vec<DigestWritten>, DigestError> {
        let now = whole_seconds(self.clock.now());
        let mut state = self.lock();
        let ids: Vec<String> = state
            .chains
            .iter()
            .filter(|(_, c)| c.trail == trail_arn && c.active)
            .map(|(id, _)| id.clone())
            .collect();
        let mut written = Vec::new();
        let mut first_error = None;
        for id in ids {
            let Some(chain) = state.chains.get(&id) else {
                continue;
            };
            // The final digest must end after the previous one, to the second.
            let end = now.max(chain.period_start + time::Duration::SECOND);
            match self.emit(&mut state, &id, end, now) {
                Ok(Some(w)) => written.push(w),
                Ok(None) => {}
                Err(e) => {
                    first_error.get_or_insert(e);
                    continue;
                }
            }
            if let Some(chain) = state.chains.get_mut(&id) {
                chain.active = false;
            }
        }
        if first_error.is_none()
            && let Some(t) = state.trails.get_mut(trail_arn)
        {
            t.active = false;
        }
        journal::save(&self.state_dir, &state)?;
        match first_error {
            Some(e) => Err(e),
            None => Ok(written),
        }
    }

    /// DeleteTrail: the final digest, then the trail and its chains are forgotten.
    pub fn delete_trail(&self, trail_arn: &str) -> Result<Vec<DigestWritten>, DigestError> {
        let written = self.final_digest(trail_arn)?;
        let mut state = self.lock();
        state.trails.remove(trail_arn);
        state.chains.retain(|_, c| c.trail != trail_arn);
        journal::save(&self.state_dir, &state)?;
        Ok(written)
    }

    /// Digest delivery status of a trail (`None` if it never validated).
    pub fn status(&self, trail_arn: &str) -> Option<DigestStatus> {
        let state = self.lock();
        state.trails.get(trail_arn).map(|t| DigestStatus {
            latest_delivery: t.latest_delivery,
            latest_error: t.latest_error.clone(),
        })
    }

    /// When the next digest is due, if any chain is running.
    pub fn next_due(&self) -> Option<OffsetDateTime> {
        let period = time::Duration::try_from(self.period).unwrap_or(time::Duration::HOUR);
        let state = self.lock();
        state
            .chains
            .values()
            .filter(|c| c.active)
            .map(|c| c.period_start + period)
            .min()
    }

    /// Runs [`Digests::tick`] whenever a digest falls due until `shutdown` completes. With a
    /// manual clock it wakes on every advance instead of sleeping.
    pub async fn run(self: Arc<Self>, shutdown: impl std::future::Future<Output = ()>) {
        tokio::pin!(shutdown);
        let mut timer = ClockTimer::new(self.clock.clone());
        loop {
            let me = self.clone();
            if let Err(e) = tokio::task::spawn_blocking(move || me.tick()).await {
                tracing::warn!(error = %e, "digest tick panicked");
            }
            let now = self.clock.now();
            let due = self
                .next_due()
                .map_or(now + Duration::from_secs(3600), |due| due.max(now))
                // Wake a little after the boundary rather than before it.
                + Duration::from_millis(20);
            tokio::select! {
                () = &mut shutdown => return,
                () = self.wake.notified() => {}
                () = timer.wait_until(Some(due)) => {}
            }
        }
    }
}

impl crate::delivery::DeliveryObserver for Digests {
    fn delivered(&self, log: &WrittenLog) {
        if let Err(e) = self.observe(log) {
            tracing::warn!(key = %log.key, error = %e, "could not record log file for its digest");
        }
    }
}
