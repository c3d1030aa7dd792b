//! Digest files (log file integrity validation): signed, chained manifests of delivered logs.
//!
//! Every period (an hour on AWS) each validating trail writes, per (account, Region), one
//! digest listing the log files delivered in that window with the SHA-256 of their
//! uncompressed bytes, linked to the previous digest by its signature and hash. The digest
//! is signed with the Region's RSA key over the exact string `aws cloudtrail validate-logs`
//! rebuilds, and the signature travels as S3 user metadata (`signature`,
//! `signature-algorithm`). See docs/cloudtrail-format.md, "Digests and S3 access".
//!
//! Two layers: [`build_digest`] / [`write_digest`] make one digest from explicit inputs (the
//! offline generator calls these directly), and [`Digests`] runs the chains for the live
//! emulator, driven by the injected clock and fed by the delivery pipeline.

use std::collections::{BTreeMap, HashSet};
use std::fs;
use std::io::{self, BufRead, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use time::OffsetDateTime;

use crate::clock::SharedClock;
use crate::keys::{KeyError, KeyPair, KeyRing};
use crate::logfile::{WrittenLog, gzip};
use crate::store::{ObjectMeta, ObjectStore, StoreError};
use crate::timefmt;

/// The only algorithm CloudTrail uses, in the digest and in `x-amz-meta-signature-algorithm`.
pub const SIGNATURE_ALGORITHM: &str = "SHA256withRSA";
/// The hash algorithm named in `logFiles[].hashAlgorithm` and `previousDigestHashAlgorithm`.
pub const HASH_ALGORITHM: &str = "SHA-256";
/// AWS delivers one digest per hour.
pub const DEFAULT_DIGEST_PERIOD: Duration = Duration::from_secs(3600);
/// The shortest period accepted: digest keys carry the end time to the second, so two
/// digests of one chain must end at least a second apart.
pub const MIN_DIGEST_PERIOD: Duration = Duration::from_secs(1);
/// The content type given to digest objects (the same as log files: a raw gzip member).
pub const DIGEST_CONTENT_TYPE: &str = "application/x-gzip";
/// After a long outage, at most this many periods are caught up one by one; a longer gap is
/// covered by a single digest so a restart never writes thousands of empty files.
const MAX_CATCH_UP_PERIODS: u64 = 48;

/// Why a digest could not be made or written.
#[derive(Debug, thiserror::Error)]
pub enum DigestError {
    /// Writing the digest object failed.
    #[error("digest delivery failed: {0}")]
    Store(#[from] StoreError),
    /// The signing key could not be loaded or made.
    #[error("digest signing key unavailable: {0}")]
    Keys(#[from] KeyError),
    /// The chain state could not be read or written.
    #[error("digest chain state I/O error at {path}: {source}")]
    State {
        /// The file involved.
        path: PathBuf,
        /// The OS error.
        source: io::Error,
    },
    /// Not an `arn:<partition>:cloudtrail:<region>:<account>:trail/<name>` ARN.
    #[error("not a trail ARN: {0:?}")]
    BadTrailArn(String),
}

/// Where one chain's digests go: one trail, one (account, Region).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct DigestTarget {
    /// The trail's name (part of the digest file name).
    pub trail_name: String,
    /// The trail's home Region (part of the digest file name).
    pub home_region: String,
    /// The bucket digests (and the trail's logs) go to.
    pub bucket: String,
    /// The trail's `S3KeyPrefix`, without leading or trailing `/`.
    pub prefix: Option<String>,
    /// `o-…` for an organization trail.
    pub org_id: Option<String>,
    /// The account whose logs the digest covers.
    pub account: String,
    /// The Region the digest covers and is delivered from.
    pub region: String,
}

impl DigestTarget {
    /// `[prefix/]AWSLogs/[o-id/]acct/CloudTrail-Digest/region/`.
    pub fn region_folder(&self) -> String {
        let mut s = String::with_capacity(96);
        if let Some(p) = self
            .prefix
            .as_deref()
            .map(|p| p.trim_matches('/'))
            .filter(|p| !p.is_empty())
        {
            s.push_str(p);
            s.push('/');
        }
        s.push_str("AWSLogs/");
        if let Some(o) = self.org_id.as_deref().filter(|o| !o.is_empty()) {
            s.push_str(o);
            s.push('/');
        }
        s.push_str(&self.account);
        s.push_str("/CloudTrail-Digest/");
        s.push_str(&self.region);
        s.push('/');
        s
    }
}

/// The digest key for a window ending at `end`:
/// `[prefix/]AWSLogs/[o-id/]acct/CloudTrail-Digest/region/YYYY/MM/DD/acct_CloudTrail-Digest_region_trail_home_YYYYMMDDTHHMMSSZ.json.gz`.
/// The CLI reads the timestamp back by position (`key[-24:-8]`), so nothing may follow it
/// but `.json.gz`.
pub fn digest_key(target: &DigestTarget, end: OffsetDateTime) -> String {
    let mut s = target.region_folder();
    s.push_str(&timefmt::date_path(end));
    s.push('/');
    s.push_str(&target.account);
    s.push_str("_CloudTrail-Digest_");
    s.push_str(&target.region);
    s.push('_');
    s.push_str(&target.trail_name);
    s.push('_');
    s.push_str(&target.home_region);
    s.push('_');
    s.push_str(&timefmt::compact_seconds(end));
    s.push_str(".json.gz");
    s
}

/// One log file as a digest lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DigestLogFile {
    /// The log's bucket.
    pub bucket: String,
    /// The log's full key.
    pub key: String,
    /// Lower-case hex SHA-256 of the uncompressed log.
    pub sha256_hex: String,
    /// Earliest `eventTime` in the file (unix seconds).
    #[serde(with = "unix")]
    pub oldest_event: OffsetDateTime,
    /// Latest `eventTime` in the file (unix seconds).
    #[serde(with = "unix")]
    pub newest_event: OffsetDateTime,
}

impl From<&WrittenLog> for DigestLogFile {
    fn from(log: &WrittenLog) -> Self {
        DigestLogFile {
            bucket: log.bucket.clone(),
            key: log.key.clone(),
            sha256_hex: log.sha256_hex.clone(),
            oldest_event: log.oldest_event,
            newest_event: log.newest_event,
        }
    }
}

/// What the next digest of a chain needs of the previous one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PreviousDigest {
    /// The previous digest's bucket.
    pub bucket: String,
    /// The previous digest's full key.
    pub key: String,
    /// Its signature, lowercase hex.
    pub signature_hex: String,
    /// SHA-256 of its uncompressed bytes, lowercase hex.
    pub hash_hex: String,
}

/// A digest built and signed, ready to put.
#[derive(Debug, Clone)]
pub struct SignedDigest {
    /// Destination bucket.
    pub bucket: String,
    /// Destination key.
    pub key: String,
    /// Window start.
    pub start: OffsetDateTime,
    /// Window end (the time in the key).
    pub end: OffsetDateTime,
    /// The uncompressed digest JSON: the bytes that are hashed.
    pub json: Vec<u8>,
    /// SHA-256 of `json`, lowercase hex.
    pub hash_hex: String,
    /// The exact string that was signed.
    pub string_to_sign: String,
    /// The signature, lowercase hex (512 characters for RSA-2048).
    pub signature_hex: String,
    /// Fingerprint of the signing key.
    pub fingerprint: String,
    /// How many log files the digest lists.
    pub log_files: usize,
}

impl SignedDigest {
    /// The link the next digest of the chain carries.
    pub fn link(&self) -> PreviousDigest {
        PreviousDigest {
            bucket: self.bucket.clone(),
            key: self.key.clone(),
            signature_hex: self.signature_hex.clone(),
            hash_hex: self.hash_hex.clone(),
        }
    }

    /// The S3 user metadata (`x-amz-meta-…` without the prefix) the digest object carries.
    pub fn user_meta(&self) -> BTreeMap<String, String> {
        BTreeMap::from([
            ("signature".to_owned(), self.signature_hex.clone()),
            ("signature-algorithm".to_owned(), SIGNATURE_ALGORITHM.to_owned()),
        ])
    }
}

/// The string `validate-logs` verifies: end time verbatim, `bucket/key`, the hash of the
/// uncompressed digest, and the previous signature or the literal `null`; no trailing newline.
pub fn string_to_sign(
    digest_end_time: &str,
    bucket: &str,
    key: &str,
    hash_hex: &str,
    previous_signature: Option<&str>,
) -> String {
    format!(
        "{digest_end_time}\n{bucket}/{key}\n{hash_hex}\n{}",
        previous_signature.unwrap_or("null")
    )
}

#[derive(Serialize)]
struct DigestJson<'a> {
    #[serde(rename = "awsAccountId")]
    aws_account_id: &'a str,
    #[serde(rename = "digestStartTime")]
    digest_start_time: String,
    #[serde(rename = "digestEndTime")]
    digest_end_time: String,
    #[serde(rename = "digestS3Bucket")]
    digest_s3_bucket: &'a str,
    #[serde(rename = "digestS3Object")]
    digest_s3_object: &'a str,
    #[serde(rename = "digestPublicKeyFingerprint")]
    digest_public_key_fingerprint: &'a str,
    #[serde(rename = "digestSignatureAlgorithm")]
    digest_signature_algorithm: &'a str,
    #[serde(rename = "newestEventTime")]
    newest_event_time: Option<String>,
    #[serde(rename = "oldestEventTime")]
    oldest_event_time: Option<String>,
    #[serde(rename = "previousDigestS3Bucket")]
    previous_digest_s3_bucket: Option<&'a str>,
    #[serde(rename = "previousDigestS3Object")]
    previous_digest_s3_object: Option<&'a str>,
    #[serde(rename = "previousDigestHashValue")]
    previous_digest_hash_value: Option<&'a str>,
    #[serde(rename = "previousDigestHashAlgorithm")]
    previous_digest_hash_algorithm: Option<&'a str>,
    #[serde(rename = "previousDigestSignature")]
    previous_digest_signature: Option<&'a str>,
    #[serde(rename = "logFiles")]
    log_files: Vec<LogFileJson<'a>>,
}

#[derive(Serialize)]
struct LogFileJson<'a> {
    #[serde(rename = "s3Bucket")]
    s3_bucket: &'a str,
    #[serde(rename = "s3Object")]
    s3_object: &'a str,
    #[serde(rename = "hashValue")]
    hash_value: &'a str,
    #[serde(rename = "hashAlgorithm")]
    hash_algorithm: &'a str,
    #[serde(rename = "newestEventTime")]
    newest_event_time: String,
    #[serde(rename = "oldestEventTime")]
    oldest_event_time: String,
}

/// Builds and signs one digest covering `[start, end]` for `target`. `previous` is `None`
/// for a starting digest (all five `previousDigest*` fields `null`). Times are rendered to
/// the second, as AWS does.
pub fn build_digest(
    target: &DigestTarget,
    start: OffsetDateTime,
    end: OffsetDateTime,
    logs: &[DigestLogFile],
    previous: Option<&PreviousDigest>,
    key: &KeyPair,
) -> SignedDigest {
    let digest_key = digest_key(target, end);
    let end_str = timefmt::iso_seconds(end);
    let doc = DigestJson {
        aws_account_id: &target.account,
        digest_start_time: timefmt::iso_seconds(start),
        digest_end_time: end_str.clone(),
        digest_s3_bucket: &target.bucket,
        digest_s3_object: &digest_key,
        digest_public_key_fingerprint: key.fingerprint(),
        digest_signature_algorithm: SIGNATURE_ALGORITHM,
        newest_event_time: logs
            .iter()
            .map(|l| l.newest_event)
            .max()
            .map(timefmt::iso_seconds),
        oldest_event_time: logs
            .iter()
            .map(|l| l.oldest_event)
            .min()
            .map(timefmt::iso_seconds),
        previous_digest_s3_bucket: previous.map(|p| p.bucket.as_str()),
        previous_digest_s3_object: previous.map(|p| p.key.as_str()),
        previous_digest_hash_value: previous.map(|p| p.hash_hex.as_str()),
        previous_digest_hash_algorithm: previous.map(|_| HASH_ALGORITHM),
        previous_digest_signature: previous.map(|p| p.signature_hex.as_str()),
        log_files: logs
            .iter()
            .map(|l| LogFileJson {
                s3_bucket: &l.bucket,
                s3_object: &l.key,
                hash_value: &l.sha256_hex,
                hash_algorithm: HASH_ALGORITHM,
                newest_event_time: timefmt::iso_seconds(l.newest_event),
                oldest_event_time: timefmt::iso_seconds(l.oldest_event),
            })
            .collect(),
    };
    // Serialising plain strings and options cannot fail.
    let json = serde_json::to_vec(&doc).unwrap_or_default();
    let hash_hex = hex::encode(Sha256::digest(&json));
    let to_sign = string_to_sign(
        &end_str,
        &target.bucket,
        &digest_key,
        &hash_hex,
        previous.map(|p| p.signature_hex.as_str()),
    );
    let signature_hex = hex::encode(key.sign(to_sign.as_bytes()));
    SignedDigest {
        bucket: target.bucket.clone(),
        key: digest_key,
        start,
        end,
        json,
        hash_hex,
        string_to_sign: to_sign,
        signature_hex,
        fingerprint: key.fingerprint().to_owned(),
        log_files: logs.len(),
    }
}

/// Puts a signed digest: gzip of the JSON, with the signature as user metadata.
pub fn put_digest(store: &dyn ObjectStore, digest: &SignedDigest) -> Result<ObjectMeta, StoreError> {
    store.put(
        &digest.bucket,
        &digest.key,
        &gzip(&digest.json, 6),
        DIGEST_CONTENT_TYPE,
        &digest.user_meta(),
    )
}

/// Builds, signs and puts one digest: the synchronous path for the offline generator.
/// Feed the returned digest's [`SignedDigest::link`] into the next call to continue the chain.
pub fn write_digest(
    store: &dyn ObjectStore,
    target: &DigestTarget,
    start: OffsetDateTime,
    end: OffsetDateTime,
    logs: &[DigestLogFile],
    previous: Option<&PreviousDigest>,
    key: &KeyPair,
) -> Result<SignedDigest, StoreError> {
    let digest = build_digest(target, start, end, logs, previous, key);
    put_digest(store, &digest)?;
    Ok(digest)
}

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
    let mut parts = arn.splitn(6, ':');
    let (Some("arn"), Some(_), Some("cloudtrail"), Some(region), Some(account), Some(resource)) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return Err(bad());
    };
    let name = resource.strip_prefix("trail/").ok_or_else(bad)?;
    if region.is_empty() || account.is_empty() || name.is_empty() {
        return Err(bad());
    }
    Ok(TrailArn {
        region: region.to_owned(),
        account: account.to_owned(),
        name: name.to_owned(),
    })
}

/// The account and Region of a log key `[prefix/]AWSLogs/[o-id/]acct/CloudTrail/region/Y/M/D/file`,
/// read from the end so a prefix cannot confuse it.
fn log_key_account_region(key: &str) -> Option<(String, String)> {
    let segs: Vec<&str> = key.split('/').collect();
    let n = segs.len();
    let region = *segs.get(n.checked_sub(5)?)?;
    let service = *segs.get(n.checked_sub(6)?)?;
    let account = *segs.get(n.checked_sub(7)?)?;
    (service == "CloudTrail" && !account.is_empty() && !region.is_empty())
        .then(|| (account.to_owned(), region.to_owned()))
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

mod unix {
    use serde::{Deserialize, Deserializer, Serializer};
    use time::OffsetDateTime;

    pub(super) fn serialize<S: Serializer>(t: &OffsetDateTime, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_i64(t.unix_timestamp())
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<OffsetDateTime, D::Error> {
        let secs = i64::deserialize(d)?;
        OffsetDateTime::from_unix_timestamp(secs).map_err(serde::de::Error::custom)
    }
}

mod unix_opt {
    use serde::{Deserialize, Deserializer, Serializer};
    use time::OffsetDateTime;

    pub(super) fn serialize<S: Serializer>(t: &Option<OffsetDateTime>, s: S) -> Result<S::Ok, S::Error> {
        match t {
            Some(t) => s.serialize_some(&t.unix_timestamp()),
            None => s.serialize_none(),
        }
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<OffsetDateTime>, D::Error> {
        Option::<i64>::deserialize(d)?
            .map(|secs| OffsetDateTime::from_unix_timestamp(secs).map_err(serde::de::Error::custom))
            .transpose()
    }
}

/// One chain: one trail, one (account, Region).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Chain {
    trail: String,
    target: DigestTarget,
    active: bool,
    #[serde(with = "unix")]
    period_start: OffsetDateTime,
    #[serde(with = "unix_opt")]
    last_end: Option<OffsetDateTime>,
    previous: Option<PreviousDigest>,
    pending: Vec<DigestLogFile>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct TrailState {
    spec: DigestTrail,
    active: bool,
    #[serde(with = "unix_opt")]
    latest_delivery: Option<OffsetDateTime>,
    latest_error: Option<String>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct State {
    trails: BTreeMap<String, TrailState>,
    chains: BTreeMap<String, Chain>,
    /// Journal lines up to this sequence number are already folded into `chains`.
    journal_seq: u64,
}

/// A journal line: a log file that joined a chain's pending list, and, for a chain's first
/// file, how the chain started. Journalling the start (instead of rewriting the snapshot) keeps
/// a new chain to one appended line: records spread over many accounts and Regions start many
/// chains, and a snapshot per start rewrote every pending list each time.
#[derive(Debug, Serialize, Deserialize)]
struct JournalLine {
    seq: u64,
    chain: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    start: Option<ChainStart>,
    log: DigestLogFile,
}

/// How a chain (re)started: what [`Digests::begin_chain`] decided, replayed as is.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct ChainStart {
    trail: String,
    target: DigestTarget,
    #[serde(with = "unix")]
    period_start: OffsetDateTime,
}

impl ChainStart {
    /// Makes the chain active from `period_start` with no previous digest, keeping its pending
    /// files and its last end.
    fn apply(&self, state: &mut State, id: &str) {
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

fn chain_id(trail: &str, account: &str, region: &str) -> String {
    format!("{trail}|{account}|{region}")
}

fn whole_seconds(t: OffsetDateTime) -> OffsetDateTime {
    t.replace_nanosecond(0).unwrap_or(t)
}

const STATE_FILE: &str = "digest-chains.json";
const JOURNAL_FILE: &str = "digest-pending.jsonl";

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
        let state = load_state(&state_dir)?;
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
        self.save(&mut state)?;
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
        self.append_journal(&line)?;
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
            && let Err(e) = self.save(&mut state)
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
                write_digest(
                    self.store.as_ref(),
                    &chain.target,
                    chain.period_start,
                    end,
                    &chain.pending,
                    chain.previous.as_ref(),
                    &key,
                )
                .map_err(DigestError::from)
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
        self.save(&mut state)?;
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
        self.save(&mut state)?;
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
        let mut advanced = self.clock.advanced();
        loop {
            let me = self.clone();
            if let Err(e) = tokio::task::spawn_blocking(move || me.tick()).await {
                tracing::warn!(error = %e, "digest tick panicked");
            }
            let wait = self
                .next_due()
                .map(|due| {
                    let left = due - self.clock.now();
                    Duration::try_from(left).unwrap_or(Duration::ZERO)
                })
                .unwrap_or(Duration::from_secs(3600))
                // Wake a little after the boundary rather than before it.
                .saturating_add(Duration::from_millis(20));
            match advanced.as_mut() {
                Some(rx) => {
                    tokio::select! {
                        () = &mut shutdown => return,
                        () = self.wake.notified() => {}
                        changed = rx.changed() => {
                            if changed.is_err() {
                                return;
                            }
                        }
                    }
                }
                None => {
                    tokio::select! {
                        () = &mut shutdown => return,
                        () = self.wake.notified() => {}
                        () = tokio::time::sleep(wait) => {}
                    }
                }
            }
        }
    }

    fn append_journal(&self, line: &JournalLine) -> Result<(), DigestError> {
        let path = self.state_dir.join(JOURNAL_FILE);
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
    fn save(&self, state: &mut State) -> Result<(), DigestError> {
        let path = self.state_dir.join(STATE_FILE);
        let tmp = self.state_dir.join(format!(".{STATE_FILE}.tmp"));
        let io = |p: &Path| {
            let p = p.to_path_buf();
            move |source| DigestError::State { path: p, source }
        };
        let bytes = serde_json::to_vec(&*state).unwrap_or_default();
        fs::write(&tmp, &bytes).map_err(io(&tmp))?;
        fs::rename(&tmp, &path).map_err(io(&path))?;
        let journal = self.state_dir.join(JOURNAL_FILE);
        match fs::remove_file(&journal) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(io(&journal)(e)),
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

/// Loads the snapshot and replays journal lines newer than it.
fn load_state(dir: &Path) -> Result<State, DigestError> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::{Clock, ManualClock};
    use crate::keys::{DEFAULT_KEY_VALIDITY, TEST_KEY_PKCS1_DER, verify_pkcs1_der};
    use crate::logfile::gunzip;
    use crate::store::LocalDir;
    use time::macros::datetime;

    const ARN: &str = "arn:aws:cloudtrail:us-east-1:123456789012:trail/management-events";

    fn target() -> DigestTarget {
        DigestTarget {
            trail_name: "your-trail-name".into(),
            home_region: "us-east-2".into(),
            bucket: "S3-bucket-name".into(),
            prefix: None,
            org_id: None,
            account: "111122223333".into(),
            region: "us-east-2".into(),
        }
    }

    fn test_key(start: OffsetDateTime) -> KeyPair {
        KeyPair::from_pkcs1_der(TEST_KEY_PKCS1_DER, start, start + DEFAULT_KEY_VALIDITY).unwrap()
    }

    /// The CLI's `_create_digest_key_regex` for a standard digest.
    fn cli_regex_matches(key: &str, prefix: &str, t: &DigestTarget) -> bool {
        let head = format!("{prefix}AWSLogs/{}/CloudTrail-Digest/{}/", t.account, t.region);
        let Some(rest) = key.strip_prefix(&head) else {
            return false;
        };
        let parts: Vec<&str> = rest.splitn(4, '/').collect();
        if parts.len() != 4 || !parts[..3].iter().all(|p| p.bytes().all(|b| b.is_ascii_digit())) {
            return false;
        }
        let name = format!(
            "{}_CloudTrail-Digest_{}_{}_{}_",
            t.account, t.region, t.trail_name, t.home_region
        );
        parts[3].starts_with(&name) && parts[3].ends_with(".json.gz") && parts[3].len() > name.len() + 8
    }

    #[test]
    fn key_matches_documented_example_and_cli_parsing() {
        let end = datetime!(2015-08-17 15:01:31 UTC);
        let key = digest_key(&target(), end);
        assert_eq!(
            key,
            "AWSLogs/111122223333/CloudTrail-Digest/us-east-2/2015/08/17/111122223333_CloudTrail-Digest_us-east-2_your-trail-name_us-east-2_20150817T150131Z.json.gz"
        );
        // validate-logs reads the time by position: key[-24:-8].
        assert_eq!(&key[key.len() - 24..key.len() - 8], "20150817T150131Z");
        assert!(cli_regex_matches(&key, "", &target()));
        let mut t = target();
        t.prefix = Some("/my/prefix/".into());
        t.org_id = Some("o-exampleorg1".into());
        let key = digest_key(&t, end);
        assert!(key.starts_with("my/prefix/AWSLogs/o-exampleorg1/111122223333/CloudTrail-Digest/"));
        assert_eq!(&key[key.len() - 24..key.len() - 8], "20150817T150131Z");
    }

    #[test]
    fn starting_digest_fields_and_signature() {
        let start = datetime!(2015-08-17 14:01:31 UTC);
        let end = datetime!(2015-08-17 15:01:31 UTC);
        let key = test_key(start);
        let d = build_digest(&target(), start, end, &[], None, &key);
        let v: serde_json::Value = serde_json::from_slice(&d.json).unwrap();
        let names: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(
            names,
            [
                "awsAccountId",
                "digestStartTime",
                "digestEndTime",
                "digestS3Bucket",
                "digestS3Object",
                "digestPublicKeyFingerprint",
                "digestSignatureAlgorithm",
                "newestEventTime",
                "oldestEventTime",
                "previousDigestS3Bucket",
                "previousDigestS3Object",
                "previousDigestHashValue",
                "previousDigestHashAlgorithm",
                "previousDigestSignature",
                "logFiles"
            ]
        );
        assert_eq!(v["awsAccountId"], "111122223333");
        assert_eq!(v["digestStartTime"], "2015-08-17T14:01:31Z");
        assert_eq!(v["digestEndTime"], "2015-08-17T15:01:31Z");
        assert_eq!(v["digestS3Object"], d.key.as_str());
        assert_eq!(v["digestPublicKeyFingerprint"], key.fingerprint());
        assert_eq!(v["digestSignatureAlgorithm"], "SHA256withRSA");
        for f in [
            "newestEventTime",
            "oldestEventTime",
            "previousDigestS3Bucket",
            "previousDigestS3Object",
            "previousDigestHashValue",
            "previousDigestHashAlgorithm",
            "previousDigestSignature",
        ] {
            assert!(v[f].is_null(), "{f}");
        }
        assert_eq!(v["logFiles"], serde_json::json!([]));
        // The exact string the CLI rebuilds, verified with the public key it gets from ListPublicKeys.
        let expected = format!(
            "2015-08-17T15:01:31Z\nS3-bucket-name/{}\n{}\nnull",
            d.key,
            hex::encode(Sha256::digest(&d.json))
        );
        assert_eq!(d.string_to_sign, expected);
        let sig = hex::decode(&d.signature_hex).unwrap();
        assert_eq!(d.signature_hex.len(), 512);
        assert!(verify_pkcs1_der(
            &key.info().value_der_pkcs1,
            expected.as_bytes(),
            &sig
        ));
        assert!(!verify_pkcs1_der(
            &key.info().value_der_pkcs1,
            expected.replace("null", "nul1").as_bytes(),
            &sig
        ));
    }

    #[test]
    fn chained_digest_lists_logs_and_links_previous() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalDir::new(dir.path());
        let t0 = datetime!(2026-03-01 10:00:00 UTC);
        let key = test_key(t0);
        let mut tgt = target();
        tgt.bucket = "s3-bucket-name".into();
        let first = write_digest(&store, &tgt, t0, t0 + Duration::from_secs(3600), &[], None, &key).unwrap();
        let log = DigestLogFile {
            bucket: "s3-bucket-name".into(),
            key: "AWSLogs/111122223333/CloudTrail/us-east-2/2026/03/01/x.json.gz".into(),
            sha256_hex: "ab".repeat(32),
            oldest_event: datetime!(2026-03-01 10:59:00 UTC),
            newest_event: datetime!(2026-03-01 11:05:00 UTC),
        };
        let t1 = t0 + Duration::from_secs(3600);
        let second = write_digest(
            &store,
            &tgt,
            t1,
            t1 + Duration::from_secs(3600),
            std::slice::from_ref(&log),
            Some(&first.link()),
            &key,
        )
        .unwrap();
        let v: serde_json::Value = serde_json::from_slice(&second.json).unwrap();
        assert_eq!(v["previousDigestS3Bucket"], "s3-bucket-name");
        assert_eq!(v["previousDigestS3Object"], first.key.as_str());
        assert_eq!(v["previousDigestHashAlgorithm"], "SHA-256");
        assert_eq!(v["previousDigestSignature"], first.signature_hex.as_str());
        assert_eq!(v["newestEventTime"], "2026-03-01T11:05:00Z");
        assert_eq!(v["oldestEventTime"], "2026-03-01T10:59:00Z");
        assert_eq!(
            v["logFiles"],
            serde_json::json!([{
                "s3Bucket": "s3-bucket-name",
                "s3Object": log.key,
                "hashValue": log.sha256_hex,
                "hashAlgorithm": "SHA-256",
                "newestEventTime": "2026-03-01T11:05:00Z",
                "oldestEventTime": "2026-03-01T10:59:00Z"
            }])
        );
        // The previous hash is over the first digest's uncompressed bytes as stored.
        let (gz, meta) = store.get("s3-bucket-name", &first.key).unwrap().unwrap();
        let raw = gunzip(&gz).unwrap();
        assert_eq!(v["previousDigestHashValue"], hex::encode(Sha256::digest(&raw)));
        assert_eq!(meta.user["signature"], first.signature_hex);
        assert_eq!(meta.user["signature-algorithm"], "SHA256withRSA");
        assert!(
            second
                .string_to_sign
                .ends_with(&format!("\n{}", first.signature_hex))
        );
    }

    #[test]
    fn parses_arns_and_log_keys() {
        let arn = parse_trail_arn(ARN).unwrap();
        assert_eq!(
            (arn.region.as_str(), arn.account.as_str(), arn.name.as_str()),
            ("us-east-1", "123456789012", "management-events")
        );
        assert!(parse_trail_arn("arn:aws:s3:::bucket").is_err());
        assert!(parse_trail_arn("arn:aws:cloudtrail:us-east-1:1:trail/").is_err());
        assert_eq!(
            log_key_account_region(
                "p/AWSLogs/o-abcdefghij/111122223333/CloudTrail/eu-west-1/2026/01/01/f.json.gz"
            ),
            Some(("111122223333".into(), "eu-west-1".into()))
        );
        assert_eq!(log_key_account_region("a/b"), None);
    }

    struct Rig {
        _dir: tempfile::TempDir,
        root: PathBuf,
        clock: Arc<ManualClock>,
        store: Arc<LocalDir>,
        keys: Arc<KeyRing>,
    }

    fn rig() -> Rig {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().to_path_buf();
        let t0 = datetime!(2026-03-01 10:00:00.250 UTC);
        let clock = ManualClock::new(t0);
        let store = Arc::new(LocalDir::with_clock(root.join("data"), clock.clone()));
        let keys = Arc::new(KeyRing::open(root.join("keys"), clock.clone(), DEFAULT_KEY_VALIDITY).unwrap());
        for region in ["us-east-1", "eu-west-1"] {
            keys.import(region, TEST_KEY_PKCS1_DER, datetime!(2026-03-01 00:00:00 UTC))
                .unwrap();
        }
        Rig {
            _dir: dir,
            root,
            clock,
            store,
            keys,
        }
    }

    impl Rig {
        fn digests(&self, period: Duration) -> Digests {
            Digests::open(
                self.store.clone(),
                self.keys.clone(),
                self.clock.clone(),
                self.root.join("state"),
                period,
            )
            .unwrap()
        }

        fn log(&self, region: &str, unique: &str) -> WrittenLog {
            let now = self.clock.now();
            let dest = crate::layout::LogDestination {
                bucket: "trail-bucket".into(),
                prefix: Some("pfx".into()),
                org_id: None,
                account: "123456789012".into(),
                region: region.into(),
            };
            crate::logfile::write_log(self.store.as_ref(), ARN, &dest, &[], now, unique, 6).unwrap()
        }

        /// Reads a digest the way validate-logs does and checks its signature.
        fn read(&self, key: &str) -> serde_json::Value {
            let (gz, meta) = self.store.get("trail-bucket", key).unwrap().unwrap();
            let raw = gunzip(&gz).unwrap();
            let v: serde_json::Value = serde_json::from_slice(&raw).unwrap();
            let prev = v["previousDigestSignature"].as_str().unwrap_or("null");
            let to_sign = format!(
                "{}\n{}/{}\n{}\n{}",
                v["digestEndTime"].as_str().unwrap(),
                v["digestS3Bucket"].as_str().unwrap(),
                v["digestS3Object"].as_str().unwrap(),
                hex::encode(Sha256::digest(&raw)),
                prev
            );
            let pk = self
                .keys
                .by_fingerprint("us-east-1", v["digestPublicKeyFingerprint"].as_str().unwrap())
                .unwrap();
            assert!(pk.verify(to_sign.as_bytes(), &hex::decode(&meta.user["signature"]).unwrap()));
            assert_eq!(v["digestS3Object"], key);
            v
        }
    }

    fn trail() -> DigestTrail {
        DigestTrail {
            arn: ARN.into(),
            bucket: "trail-bucket".into(),
            prefix: Some("pfx".into()),
            org_id: None,
        }
    }

    #[test]
    fn periodic_chain_with_empty_digests_and_final_digest() {
        let rig = rig();
        let digests = rig.digests(Duration::from_secs(3600));
        digests.start_chain(&trail()).unwrap();
        // Nothing is due before the period ends.
        rig.clock.advance(Duration::from_secs(1800));
        assert!(digests.tick().is_empty());
        let log = rig.log("us-east-1", "AAAAAAAAAAAAAAAA");
        digests.observe(&log).unwrap();
        rig.clock.advance(Duration::from_secs(1800));
        let first = digests.tick();
        assert_eq!(first.len(), 1);
        assert!(first[0].starting);
        assert_eq!(first[0].log_files, 1);
        assert!(
            first[0].key.ends_with(
                "_CloudTrail-Digest_us-east-1_management-events_us-east-1_20260301T110000Z.json.gz"
            ),
            "{}",
            first[0].key
        );
        let v1 = rig.read(&first[0].key);
        assert_eq!(v1["digestStartTime"], "2026-03-01T10:00:00Z");
        assert_eq!(v1["logFiles"][0]["s3Object"], log.key.as_str());
        assert_eq!(v1["logFiles"][0]["hashValue"], log.sha256_hex.as_str());
        assert!(v1["previousDigestSignature"].is_null());
        // Two idle hours: two empty digests, chained.
        rig.clock.advance(Duration::from_secs(7200));
        let idle = digests.tick();
        assert_eq!(idle.len(), 2);
        let v2 = rig.read(&idle[0].key);
        let v3 = rig.read(&idle[1].key);
        assert_eq!(v2["logFiles"], serde_json::json!([]));
        assert!(v2["newestEventTime"].is_null());
        assert_eq!(v2["previousDigestS3Object"], first[0].key.as_str());
        assert_eq!(v3["previousDigestS3Object"], idle[0].key.as_str());
        assert_eq!(v3["digestStartTime"], v2["digestEndTime"]);
        // StopLogging: final digest now, then nothing more.
        rig.clock.advance(Duration::from_secs(600));
        let fin = digests.final_digest(ARN).unwrap();
        assert_eq!(fin.len(), 1);
        let v4 = rig.read(&fin[0].key);
        assert_eq!(v4["digestEndTime"], "2026-03-01T13:10:00Z");
        assert_eq!(v4["previousDigestS3Object"], idle[1].key.as_str());
        rig.clock.advance(Duration::from_secs(7200));
        assert!(digests.tick().is_empty());
        assert_eq!(
            digests.status(ARN).unwrap().latest_delivery,
            Some(datetime!(2026-03-01 13:10:00 UTC))
        );
        // StartLogging again: a new starting digest.
        digests.start_chain(&trail()).unwrap();
        rig.clock.advance(Duration::from_secs(3600));
        let restarted = digests.tick();
        assert_eq!(restarted.len(), 1);
        assert!(restarted[0].starting);
        assert!(rig.read(&restarted[0].key)["previousDigestS3Object"].is_null());
    }

    #[test]
    fn other_regions_start_their_own_chain_and_ignored_trails_are_skipped() {
        let rig = rig();
        let digests = rig.digests(Duration::from_secs(60));
        digests.start_chain(&trail()).unwrap();
        let eu = rig.log("eu-west-1", "BBBBBBBBBBBBBBBB");
        digests.observe(&eu).unwrap();
        let mut other = rig.log("us-east-1", "CCCCCCCCCCCCCCCC");
        other.trail = "arn:aws:cloudtrail:us-east-1:123456789012:trail/not-validating".into();
        digests.observe(&other).unwrap();
        rig.clock.advance(Duration::from_secs(60));
        let out = digests.tick();
        assert_eq!(out.len(), 2);
        let eu_digest = out
            .iter()
            .find(|d| d.key.contains("/CloudTrail-Digest/eu-west-1/"))
            .unwrap();
        assert!(
            eu_digest
                .key
                .contains("_CloudTrail-Digest_eu-west-1_management-events_us-east-1_")
        );
        assert_eq!(eu_digest.log_files, 1);
        let us = out
            .iter()
            .find(|d| d.key.contains("/CloudTrail-Digest/us-east-1/"))
            .unwrap();
        assert_eq!(us.log_files, 0);
    }

    #[test]
    fn restart_continues_the_chain_and_keeps_pending_logs() {
        let rig = rig();
        let first_key;
        let log;
        {
            let digests = rig.digests(Duration::from_secs(60));
            digests.start_chain(&trail()).unwrap();
            rig.clock.advance(Duration::from_secs(60));
            first_key = digests.tick()[0].key.clone();
            log = rig.log("us-east-1", "DDDDDDDDDDDDDDDD");
            digests.observe(&log).unwrap();
            // Dropped without a tick: the pending file lives only in the journal.
        }
        let digests = rig.digests(Duration::from_secs(60));
        digests.start_chain(&trail()).unwrap();
        rig.clock.advance(Duration::from_secs(60));
        let out = digests.tick();
        assert_eq!(out.len(), 1);
        assert!(!out[0].starting);
        let v = rig.read(&out[0].key);
        assert_eq!(v["previousDigestS3Object"], first_key.as_str());
        assert_eq!(v["logFiles"][0]["s3Object"], log.key.as_str());
    }

    #[test]
    fn a_chain_started_by_its_first_log_file_survives_a_restart_from_the_journal() {
        let rig = rig();
        let eu;
        {
            let digests = rig.digests(Duration::from_secs(60));
            digests.start_chain(&trail()).unwrap();
            rig.clock.advance(Duration::from_secs(10));
            eu = rig.log("eu-west-1", "EEEEEEEEEEEEEEEE");
            digests.observe(&eu).unwrap();
            // The new chain is one journal line, not a rewritten snapshot.
            let snapshot = std::fs::read_to_string(rig.root.join("state").join(STATE_FILE)).unwrap();
            assert!(!snapshot.contains("eu-west-1"));
            let journal = std::fs::read_to_string(rig.root.join("state").join(JOURNAL_FILE)).unwrap();
            assert!(journal.contains("\"start\""));
        }
        let digests = rig.digests(Duration::from_secs(60));
        digests.start_chain(&trail()).unwrap();
        rig.clock.advance(Duration::from_secs(60));
        let out = digests.tick();
        let eu_digest = out
            .iter()
            .find(|d| d.key.contains("/CloudTrail-Digest/eu-west-1/"))
            .unwrap();
        assert!(eu_digest.starting);
        assert_eq!(eu_digest.log_files, 1);
        assert_eq!(eu_digest.start, datetime!(2026-03-01 10:00:10 UTC));
        assert_eq!(
            rig.read(&eu_digest.key)["logFiles"][0]["s3Object"],
            eu.key.as_str()
        );
    }

    #[test]
    fn long_outage_is_covered_by_one_digest_and_final_digest_never_reuses_a_key() {
        let rig = rig();
        let digests = rig.digests(Duration::from_secs(2));
        digests.start_chain(&trail()).unwrap();
        rig.clock.advance(Duration::from_secs(3600));
        let out = digests.tick();
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].end - out[0].start, time::Duration::seconds(3600));
        // A final digest right at a boundary still ends a second later.
        let fin = digests.final_digest(ARN).unwrap();
        assert_eq!(fin.len(), 1);
        assert_ne!(fin[0].key, out[0].key);
        assert_eq!(fin[0].end - out[0].end, time::Duration::SECOND);
        // Restarting immediately begins after that end, so its first key is new too.
        digests.start_chain(&trail()).unwrap();
        rig.clock.advance(Duration::from_secs(3));
        let again = digests.tick();
        assert!(again.iter().all(|d| d.key != fin[0].key && d.start >= fin[0].end));
    }

    #[test]
    fn corrupt_state_starts_new_chains_instead_of_failing() {
        let rig = rig();
        {
            let digests = rig.digests(Duration::from_secs(60));
            digests.start_chain(&trail()).unwrap();
        }
        let state = rig.root.join("state");
        std::fs::write(state.join(STATE_FILE), b"{not json").unwrap();
        let digests = rig.digests(Duration::from_secs(60));
        assert!(state.join(format!("{STATE_FILE}.corrupt")).exists());
        digests.start_chain(&trail()).unwrap();
        rig.clock.advance(Duration::from_secs(60));
        let out = digests.tick();
        assert_eq!(out.len(), 1);
        assert!(out[0].starting);
    }

    #[test]
    fn delete_trail_writes_final_digest_and_forgets() {
        let rig = rig();
        let digests = rig.digests(Duration::from_secs(60));
        digests.start_chain(&trail()).unwrap();
        rig.clock.advance(Duration::from_secs(30));
        assert_eq!(digests.delete_trail(ARN).unwrap().len(), 1);
        assert!(digests.status(ARN).is_none());
        assert!(digests.next_due().is_none());
    }
}
