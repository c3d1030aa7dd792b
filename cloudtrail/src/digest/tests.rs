//! Unit tests of digests: the file's fields and signature, chains by the clock, restarts from
//! the journal, outages, corrupt state.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use sha2::{Digest as _, Sha256};
use time::OffsetDateTime;
use time::macros::datetime;

use super::journal::{JOURNAL_FILE, STATE_FILE};
use super::*;
use crate::clock::{Clock, ManualClock};
use crate::keys::{DEFAULT_KEY_VALIDITY, KeyPair, KeyRing, TEST_KEY_PKCS1_DER, verify_pkcs1_der};
use crate::logfile::{WrittenLog, gunzip};
use crate::store::{LocalDir, ObjectStore as _};

const ARN: &str = "arn:aws:cloudtrail:us-east-1:123456789012:trail/management-events";

fn target() -> DigestTarget {
    crate::layout::documented_digest_target()
}

fn test_key(start: OffsetDateTime) -> KeyPair {
    KeyPair::from_pkcs1_der(TEST_KEY_PKCS1_DER, start, start + DEFAULT_KEY_VALIDITY).unwrap()
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
    // A starting digest of no files: both event times and all five previousDigest* are null.
    for f in &names[7..14] {
        assert!(v[*f].is_null(), "{f}");
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

/// Puts a chain of two hourly digests from `t0`: a starting one with no logs, then one that
/// lists `log` and links the first.
fn two_hours(
    store: &LocalDir,
    target: &DigestTarget,
    key: &KeyPair,
    t0: OffsetDateTime,
    log: DigestLogFile,
) -> [SignedDigest; 2] {
    let hour = Duration::from_secs(3600);
    let first = build_digest(target, t0, t0 + hour, &[], None, key);
    let second = build_digest(target, t0 + hour, t0 + 2 * hour, &[log], Some(&first.link()), key);
    for d in [&first, &second] {
        put_digest(store, d).unwrap();
    }
    [first, second]
}

#[test]
fn chained_digest_lists_logs_and_links_previous() {
    let dir = tempfile::tempdir().unwrap();
    let store = LocalDir::new(dir.path());
    let t0 = datetime!(2026-03-01 10:00:00 UTC);
    let key = test_key(t0);
    let mut tgt = target();
    tgt.bucket = "s3-bucket-name".into();
    let log = DigestLogFile {
        bucket: "s3-bucket-name".into(),
        key: "AWSLogs/111122223333/CloudTrail/us-east-2/2026/03/01/x.json.gz".into(),
        sha256_hex: "ab".repeat(32),
        oldest_event: datetime!(2026-03-01 10:59:00 UTC),
        newest_event: datetime!(2026-03-01 11:05:00 UTC),
    };
    let [first, second] = two_hours(&store, &tgt, &key, t0, log.clone());
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
fn parses_trail_arns() {
    let arn = parse_trail_arn(ARN).unwrap();
    assert_eq!(
        (arn.region.as_str(), arn.account.as_str(), arn.name.as_str()),
        ("us-east-1", "123456789012", "management-events")
    );
    assert!(parse_trail_arn("arn:aws:s3:::bucket").is_err());
    assert!(parse_trail_arn("arn:aws:cloudtrail:us-east-1:1:trail/").is_err());
    assert!(parse_trail_arn("arn:aws:cloudtrail:us-east-1:1:user/x").is_err());
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
    /// [`Rig::digests`] with the trail's chain started.
    fn running(&self, period: Duration) -> Digests {
        let digests = self.digests(period);
        digests.start_chain(&trail()).unwrap();
        digests
    }

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
    let digests = rig.running(Duration::from_secs(3600));
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
        first[0]
            .key
            .ends_with("_CloudTrail-Digest_us-east-1_management-events_us-east-1_20260301T110000Z.json.gz"),
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
    let digests = rig.running(Duration::from_secs(60));
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
        let digests = rig.running(Duration::from_secs(60));
        rig.clock.advance(Duration::from_secs(60));
        first_key = digests.tick()[0].key.clone();
        log = rig.log("us-east-1", "DDDDDDDDDDDDDDDD");
        digests.observe(&log).unwrap();
        // Dropped without a tick: the pending file lives only in the journal.
    }
    let digests = rig.running(Duration::from_secs(60));
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
        let digests = rig.running(Duration::from_secs(60));
        rig.clock.advance(Duration::from_secs(10));
        eu = rig.log("eu-west-1", "EEEEEEEEEEEEEEEE");
        digests.observe(&eu).unwrap();
        // The new chain is one journal line, not a rewritten snapshot.
        let snapshot = std::fs::read_to_string(rig.root.join("state").join(STATE_FILE)).unwrap();
        assert!(!snapshot.contains("eu-west-1"));
        let journal = std::fs::read_to_string(rig.root.join("state").join(JOURNAL_FILE)).unwrap();
        assert!(journal.contains("\"start\""));
    }
    let digests = rig.running(Duration::from_secs(60));
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
    let digests = rig.running(Duration::from_secs(2));
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
    // A chain that started and was saved.
    drop(rig.running(Duration::from_secs(60)));
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
    let digests = rig.running(Duration::from_secs(60));
    rig.clock.advance(Duration::from_secs(30));
    assert_eq!(digests.delete_trail(ARN).unwrap().len(), 1);
    assert!(digests.status(ARN).is_none());
    assert!(digests.next_due().is_none());
}

#[test]
fn delivered_digests_verify_and_tampering_shows() {
    let dir = tempfile::tempdir().unwrap();
    let store = LocalDir::new(dir.path().join("data"));
    let t0 = datetime!(2026-03-01 10:00:00 UTC);
    let clock: crate::clock::SharedClock = ManualClock::new(t0);
    let ring = KeyRing::open(dir.path().join("keys"), clock, DEFAULT_KEY_VALIDITY).unwrap();
    let mut tgt = target();
    tgt.bucket = "s3-bucket-name".into();
    let key = ring.import(&tgt.region, TEST_KEY_PKCS1_DER, t0).unwrap();
    let log_body = br#"{"Records":[]}"#;
    let log_key = "AWSLogs/111122223333/CloudTrail/us-east-2/2026/03/01/x.json.gz";
    store
        .put(
            &tgt.bucket,
            log_key,
            &crate::logfile::gzip(log_body, 6),
            "application/json",
            &Default::default(),
        )
        .unwrap();
    let log = DigestLogFile {
        bucket: tgt.bucket.clone(),
        key: log_key.into(),
        sha256_hex: hex::encode(Sha256::digest(log_body)),
        oldest_event: t0,
        newest_event: t0,
    };
    let [first, second] = two_hours(&store, &tgt, &key, t0, log);
    let fetch = |b: &str, k: &str| store.get(b, k).ok().flatten().map(|(body, _)| body);
    let (gz, meta) = store.get(&tgt.bucket, &second.key).unwrap().unwrap();
    let signature = meta.user.get("signature").map(String::as_str);
    let check = verify_digest(&gz, signature, &tgt.region, &ring, &fetch);
    assert!(check.valid(), "{check:?}");
    assert_eq!(check.previous_valid, Some(true));
    assert_eq!(check.log_files, vec![(log_key.to_owned(), Some(true))]);

    // A changed log file, and a signature that is not the digest's.
    store
        .put(
            &tgt.bucket,
            log_key,
            &crate::logfile::gzip(b"{}", 6),
            "application/json",
            &Default::default(),
        )
        .unwrap();
    let check = verify_digest(&gz, signature, &tgt.region, &ring, &fetch);
    assert_eq!(check.log_files, vec![(log_key.to_owned(), Some(false))]);
    assert!(!check.valid());
    let forged = verify_digest(&gz, Some(&first.signature_hex), &tgt.region, &ring, &fetch);
    assert!(!forged.signature_valid && forged.signature_problem.is_some());
}
