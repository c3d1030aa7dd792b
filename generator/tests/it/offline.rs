//! Offline mode: byte-identical repeats, valid CloudTrail files and keys, digests that chain and
//! verify, and a stop that leaves only complete files.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use cloudtrail::record::Record;
use serde_json::Value;

use crate::{all_records, event_time, files, logs, options, run};

#[test]
fn same_seed_gives_identical_bytes_on_any_thread_count() {
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    let c = tempfile::tempdir().unwrap();
    let mut oa = options(a.path(), "audit-noise", 1, 42);
    oa.events_per_day = Some(400);
    let mut ob = options(b.path(), "audit-noise", 1, 42);
    ob.events_per_day = Some(400);
    ob.threads = 1;
    let mut oc = options(c.path(), "audit-noise", 1, 43);
    oc.events_per_day = Some(400);
    let sa = run(&oa);
    let sb = run(&ob);
    run(&oc);
    assert!(sa.events > 1000, "{sa:?}");
    assert_eq!(sa, sb);
    let fa = files(&a.path().join("test-bucket"));
    let fb = files(&b.path().join("test-bucket"));
    let fc = files(&c.path().join("test-bucket"));
    assert_eq!(fa.len(), fb.len());
    assert!(fa == fb, "same seed must give the same keys and bytes");
    assert!(
        fa.iter().map(|f| &f.0).collect::<HashSet<_>>() != fc.iter().map(|f| &f.0).collect::<HashSet<_>>()
    );
    let ids_a: HashSet<String> = all_records(a.path(), "test-bucket")
        .iter()
        .map(|r| r["eventID"].as_str().unwrap().to_owned())
        .collect();
    let ids_c: HashSet<String> = all_records(c.path(), "test-bucket")
        .iter()
        .map(|r| r["eventID"].as_str().unwrap().to_owned())
        .collect();
    assert!(ids_a.is_disjoint(&ids_c));
}

/// The CloudTrail Processing Library's `.+_CloudTrail_[\w\-]+_\d{8}T\d{4}Z_[\w]+\.json\.gz`,
/// written out by hand, plus the folder layout around it.
fn check_key(key: &str) -> (String, String, String) {
    let parts: Vec<&str> = key.split('/').collect();
    assert_eq!(parts.len(), 8, "{key}");
    assert_eq!(parts[0], "AWSLogs");
    let (account, region) = (parts[1], parts[3]);
    assert_eq!(parts[2], "CloudTrail");
    assert!(
        account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit()),
        "{key}"
    );
    let name = parts[7];
    let rest = name
        .strip_prefix(&format!("{account}_CloudTrail_{region}_"))
        .unwrap_or_else(|| panic!("{key}"));
    let rest = rest.strip_suffix(".json.gz").unwrap();
    let (stamp, unique) = rest.split_once('_').unwrap();
    assert_eq!(stamp.len(), 14, "{key}");
    assert!(
        stamp[..8].bytes().all(|b| b.is_ascii_digit())
            && &stamp[8..9] == "T"
            && stamp[9..13].bytes().all(|b| b.is_ascii_digit())
            && stamp.ends_with('Z')
    );
    assert_eq!(unique.len(), 16);
    assert!(unique.bytes().all(|b| b.is_ascii_alphanumeric()));
    assert!(region.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'));
    // The date folders are the delivery date in the file name.
    assert_eq!(
        format!("{}{}{}", parts[4], parts[5], parts[6]),
        &stamp[..8],
        "{key}"
    );
    // CPL takes the account from between the last '/' and the next '_'.
    assert_eq!(name.split('_').next().unwrap(), account);
    (account.to_owned(), region.to_owned(), stamp.to_owned())
}

/// A record of the identity and audit plane, past the envelope `check_record` checked: what
/// every plane record has, its own service's conventions checked in `labels.rs`.
fn check_plane_record(r: &Value, o: &serde_json::Map<String, Value>, account: &str, region: &str) {
    let source = r["eventSource"].as_str().unwrap();
    assert!(
        [
            "sts.amazonaws.com",
            "signin.amazonaws.com",
            "iam.amazonaws.com",
            "cloudtrail.amazonaws.com",
            "s3.amazonaws.com"
        ]
        .contains(&source),
        "{r}"
    );
    if source == "signin.amazonaws.com" {
        assert_eq!(r["eventType"], "AwsConsoleSignIn");
        assert!(!o.contains_key("errorCode"));
    } else {
        assert_eq!(r["eventType"], "AwsApiCall");
        assert_eq!(o.contains_key("errorCode"), o.contains_key("errorMessage"));
    }
    let global = matches!(source, "signin.amazonaws.com" | "iam.amazonaws.com");
    assert_eq!(r["awsRegion"], if global { "us-east-1" } else { region }, "{r}");
    assert_eq!(r["recipientAccountId"], account);
    assert_eq!(r["eventCategory"], "Management");
    assert_eq!(r["managementEvent"], true);
    assert!(r["readOnly"].is_boolean());
    assert!(!r["requestID"].as_str().unwrap().is_empty());
}

fn check_record(r: &Value, account: &str, region: &str, delivered: &str) {
    let o = r.as_object().unwrap();
    let rec: Record = serde_json::from_value(r.clone()).unwrap_or_else(|e| panic!("{e}: {r}"));
    assert_eq!(rec.event_version, "1.11");
    assert!(
        o.contains_key("requestParameters") && o.contains_key("responseElements"),
        "{r}"
    );
    if r["eventSource"] != "personalize.amazonaws.com" {
        return check_plane_record(r, o, account, region);
    }
    assert_eq!(o.contains_key("errorCode"), o.contains_key("errorMessage"));
    let failed = o.contains_key("errorCode");
    let read_only = r["readOnly"].as_bool().unwrap();
    if failed || read_only {
        assert!(r["responseElements"].is_null(), "{r}");
    }
    assert!(r["managementEvent"].is_boolean());
    let name = r["eventName"].as_str().unwrap();
    let data = matches!(
        name,
        "GetRecommendations"
            | "GetPersonalizedRanking"
            | "GetActionRecommendations"
            | "PutEvents"
            | "PutItems"
            | "PutUsers"
    );
    assert_eq!(
        r["eventCategory"],
        if data { "Data" } else { "Management" },
        "{r}"
    );
    assert_eq!(r["managementEvent"], !data);
    assert_eq!(r["eventSource"], "personalize.amazonaws.com");
    assert_eq!(r["eventType"], "AwsApiCall");
    assert_eq!(r["recipientAccountId"], account);
    assert_eq!(r["awsRegion"], region);
    assert!(uuid::Uuid::parse_str(r["requestID"].as_str().unwrap()).is_ok());
    assert_eq!(rec.event_id.get_version_num(), 4);
    // Delivered after the event (the key has minute resolution).
    assert!(
        cloudtrail::timefmt::compact_minutes(event_time(r)).as_str() <= delivered,
        "{r} delivered {delivered}"
    );
    let id = &rec.user_identity;
    match r["userIdentity"]["type"].as_str().unwrap() {
        "IAMUser" => {
            assert!(id.access_key_id.as_deref().unwrap().starts_with("AKIA"));
            assert!(id.principal_id.as_deref().unwrap().starts_with("AIDA"));
            assert!(id.user_name.is_some());
        }
        "Root" => {
            assert_eq!(id.principal_id.as_deref(), Some(account));
            assert_eq!(
                id.arn.as_deref(),
                Some(format!("arn:aws:iam::{account}:root").as_str())
            );
        }
        "AssumedRole" | "FederatedUser" => {
            assert!(id.access_key_id.as_deref().unwrap().starts_with("ASIA"));
            let ctx = &r["userIdentity"]["sessionContext"];
            assert!(ctx["attributes"]["mfaAuthenticated"].is_string());
            let created =
                cloudtrail::timefmt::parse_iso_seconds(ctx["attributes"]["creationDate"].as_str().unwrap())
                    .unwrap();
            assert!(created <= event_time(r));
        }
        "AWSService" => {
            assert_eq!(r["userIdentity"]["invokedBy"], r["sourceIPAddress"]);
            assert!(r.get("tlsDetails").is_none());
        }
        other => panic!("unexpected identity type {other}"),
    }
    if r["userIdentity"]["type"] != "AWSService" {
        assert!(
            r["sourceIPAddress"]
                .as_str()
                .unwrap()
                .parse::<std::net::Ipv4Addr>()
                .is_ok(),
            "{r}"
        );
        assert!(
            r["tlsDetails"]["clientProvidedHostHeader"]
                .as_str()
                .unwrap()
                .ends_with(&format!(".{region}.amazonaws.com"))
        );
    }
    if !failed
        && !read_only
        && let Some(resp) = r["responseElements"].as_object()
    {
        assert!(
            resp.values()
                .any(|v| v.as_str().is_some_and(|s| s.starts_with("arn:aws:personalize:"))),
            "{r}"
        );
    }
}

#[test]
fn every_file_and_record_is_valid_cloudtrail() {
    for scenario in ["demo", "ml-pipeline", "audit-noise", "suspicious"] {
        let dir = tempfile::tempdir().unwrap();
        let mut o = options(dir.path(), scenario, 1, 7);
        o.events_per_day = Some(300);
        o.accounts = Some(1);
        let s = run(&o);
        let logs = logs(dir.path(), "test-bucket");
        assert_eq!(logs.len() as u64, s.files);
        assert!(s.events > 0, "{scenario}");
        let mut windows: BTreeMap<(String, String, String), usize> = BTreeMap::new();
        for log in &logs {
            assert!(log.body.starts_with(br#"{"Records":["#), "{scenario}");
            let (account, region, stamp) = check_key(&log.key);
            for r in &log.records {
                check_record(r, &account, &region, &stamp);
            }
            *windows.entry((account, region, stamp)).or_default() += 1;
        }
        assert_eq!(logs.iter().map(|l| l.records.len() as u64).sum::<u64>(), s.events);
        // About one file per five-minute window per (account, Region): never two in a minute.
        assert!(windows.values().all(|n| *n == 1), "{scenario}: {windows:?}");
        // Nothing but log objects under AWSLogs/, and no temporary files left behind.
        assert!(
            files(&dir.path().join("test-bucket"))
                .iter()
                .all(|(k, _)| k.ends_with(".json.gz"))
        );
    }
}

#[test]
fn records_are_delivered_in_five_minute_windows_with_a_few_late() {
    let dir = tempfile::tempdir().unwrap();
    let mut o = options(dir.path(), "audit-noise", 1, 9);
    o.events_per_day = Some(2000);
    o.accounts = Some(1);
    o.regions = Some(vec!["us-east-1".into()]);
    run(&o);
    let (mut on_time, mut late) = (0, 0);
    for log in logs(dir.path(), "test-bucket") {
        let (_, _, stamp) = check_key(&log.key);
        let delivered = time::PrimitiveDateTime::parse(
            &stamp,
            time::macros::format_description!("[year][month][day]T[hour][minute]Z"),
        )
        .unwrap()
        .assume_utc();
        for r in &log.records {
            let lag = (delivered - event_time(r)).whole_minutes();
            assert!((0..=16).contains(&lag), "lag {lag} min");
            if lag <= 10 { on_time += 1 } else { late += 1 }
        }
    }
    assert!(late > 0 && late * 50 < on_time, "on time {on_time}, late {late}");
}

#[test]
fn digests_chain_and_verify() {
    let dir = tempfile::tempdir().unwrap();
    let mut o = options(dir.path(), "demo", 1, 11);
    let start = o.start;
    o.end = start + time::Duration::hours(5);
    o.events_per_day = Some(2000);
    let key = generator::offline::digest_key(None, dir.path(), o.start, o.end).unwrap();
    let public = key.info().value_der_pkcs1.clone();
    o.digests = Some(generator::offline::DigestOptions {
        key: Arc::new(key),
        trail_name: "gen".into(),
    });
    let s = run(&o);
    assert!(s.digests >= 5, "{s:?}");
    assert_eq!(
        std::fs::read(dir.path().join(".generator/digest-public-key.der")).unwrap(),
        public
    );
    let store = cloudtrail::store::LocalDir::new(dir.path());
    let mut hashes: BTreeMap<String, String> = BTreeMap::new();
    for log in logs(dir.path(), "test-bucket") {
        hashes.insert(log.key.clone(), sigv4::sha256_hex(&log.body));
    }
    let mut digests: Vec<(String, Vec<u8>)> = files(&dir.path().join("test-bucket"))
        .into_iter()
        .filter(|(k, _)| k.contains("/CloudTrail-Digest/"))
        .collect();
    digests.sort_by(|a, b| a.0[a.0.len() - 24..].cmp(&b.0[b.0.len() - 24..]));
    assert_eq!(digests.len() as u64, s.digests);
    let mut listed = HashSet::new();
    let mut previous_sig: Option<String> = None;
    for (k, gz) in &digests {
        let json = cloudtrail::logfile::gunzip(gz).unwrap();
        let d: Value = serde_json::from_slice(&json).unwrap();
        assert_eq!(
            d["previousDigestSignature"].as_str().map(str::to_owned),
            previous_sig,
            "{k}"
        );
        for f in d["logFiles"].as_array().unwrap() {
            let key = f["s3Object"].as_str().unwrap();
            assert_eq!(
                hashes.get(key).map(String::as_str),
                f["hashValue"].as_str(),
                "{key}"
            );
            assert!(listed.insert(key.to_owned()), "{key} listed twice");
        }
        let meta = store.head("test-bucket", k).unwrap().unwrap();
        let sig = meta.user.get("signature").unwrap().clone();
        let to_sign = cloudtrail::digest::string_to_sign(
            d["digestEndTime"].as_str().unwrap(),
            "test-bucket",
            k,
            &sigv4::sha256_hex(&json),
            previous_sig.as_deref(),
        );
        assert!(
            cloudtrail::keys::verify_pkcs1_der(&public, to_sign.as_bytes(), &hex::decode(&sig).unwrap()),
            "{k}"
        );
        previous_sig = Some(sig);
    }
    assert_eq!(
        listed.len(),
        hashes.len(),
        "every log file is in exactly one digest"
    );
}

#[test]
fn stopping_leaves_only_complete_files() {
    let dir = tempfile::tempdir().unwrap();
    // Far more than can be written before the stop: the run must end early and promptly.
    let mut o = options(dir.path(), "audit-noise", 3, 5);
    o.events_per_day = Some(50_000);
    let stop = Arc::new(AtomicBool::new(false));
    let s2 = stop.clone();
    let t = std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_millis(300));
        s2.store(true, Ordering::Relaxed);
    });
    let started = std::time::Instant::now();
    let s = generator::offline::run(&o, &stop).unwrap();
    t.join().unwrap();
    assert!(s.interrupted);
    assert!(
        started.elapsed() < std::time::Duration::from_secs(20),
        "stopped promptly"
    );
    let logs = logs(dir.path(), "test-bucket");
    assert_eq!(logs.len() as u64, s.files);
    assert!(
        !dir.path().join(".s3tmp").exists()
            || std::fs::read_dir(dir.path().join(".s3tmp"))
                .unwrap()
                .next()
                .is_none()
    );
    // A stop before starting writes nothing.
    let empty = tempfile::tempdir().unwrap();
    let o = options(empty.path(), "demo", 1, 5);
    let s = generator::offline::run(&o, &AtomicBool::new(true)).unwrap();
    assert_eq!((s.files, s.interrupted), (0, true));
}

#[test]
fn bad_options_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let mut o = options(dir.path(), "demo", 1, 1);
    o.end = o.start;
    assert!(generator::offline::run(&o, &AtomicBool::new(false)).is_err());
    let mut o = options(dir.path(), "demo", 1, 1);
    o.bucket = "Bad_Bucket".into();
    assert!(generator::offline::run(&o, &AtomicBool::new(false)).is_err());
    let mut o = options(dir.path(), "demo", 1, 1);
    o.regions = Some(vec!["nowhere".into()]);
    assert!(generator::offline::run(&o, &AtomicBool::new(false)).is_err());
}
