//! Object keys against the patterns real consumers use, taken literally from their sources.

use cloudtrail::layout::{LogDestination, log_key, unique_string};
use regex::Regex;
use time::macros::datetime;

use crate::common::*;

/// CPL `SourceIdentifier.CT_LOGFILE_PATTERN` as in the reference (section 1.1), used with `matches()`.
const CPL: &str = r".+_CloudTrail_[\w\-]+_\d{8}T\d{4}Z_[\w]+\.json\.gz";
/// The same constant in CPL's current source (`.*\d+_CloudTrail_…`).
const CPL_HEAD: &str = r".*\d+_CloudTrail_[\w\-]+_\d{8}T\d{4}Z_[\w]+\.json\.gz";
/// trailscraper `LogFile.has_valid_filename`, applied with `re.match` to the file name.
const TRAILSCRAPER: &str = r"[0-9]+_CloudTrail_[a-z0-9-]+_[0-9TZ]+_[a-zA-Z0-9]+\.json\.gz";

fn full(p: &str) -> Regex {
    Regex::new(&format!("^(?:{p})$")).unwrap()
}

/// What CPL and trailscraper take from a key, checked the way they take it.
fn check(key: &str, account: &str, region: &str, stamp: &str) {
    assert!(full(CPL).is_match(key), "CPL rejects {key}");
    assert!(full(CPL_HEAD).is_match(key), "CPL (HEAD) rejects {key}");
    let file = key.rsplit('/').next().unwrap();
    assert!(
        Regex::new(&format!("^(?:{TRAILSCRAPER})"))
            .unwrap()
            .is_match(file),
        "trailscraper rejects {file}"
    );
    // CPL: account = text between the last '/' and the next '_'.
    assert_eq!(file.split('_').next().unwrap(), account);
    // trailscraper: timestamp = 4th '_' field, YYYYMMDD at [0..8], HH at [9..11], mm at [11..13].
    let dstr = file.split('_').nth(3).unwrap();
    assert_eq!(dstr, stamp);
    assert_eq!(file.split('_').nth(2).unwrap(), region);
}

#[test]
fn keys_match_cpl_and_trailscraper() {
    let mut rng = rand::rng();
    for (prefix, org, region) in [
        (None, None, "us-east-1"),
        (Some("a/b-c"), None, "eu-west-2"),
        (None, Some("o-abcdefghij"), "ap-southeast-1"),
        (Some("logs"), Some("o-0123456789abcdef"), "us-gov-west-1"),
    ] {
        let dest = LogDestination {
            bucket: "b".into(),
            prefix: prefix.map(Into::into),
            org_id: org.map(Into::into),
            account: "111122223333".into(),
            region: region.into(),
        };
        let t = datetime!(2026-12-31 23:59:59.999 UTC);
        let key = log_key(&dest, t, &unique_string(&mut rng));
        check(&key, "111122223333", region, "20261231T2359Z");
        let expect_dir = format!(
            "{}AWSLogs/{}111122223333/CloudTrail/{region}/2026/12/31/",
            prefix.map(|p| format!("{p}/")).unwrap_or_default(),
            org.map(|o| format!("{o}/")).unwrap_or_default()
        );
        assert!(key.starts_with(&expect_dir), "{key}");
    }
}

#[tokio::test]
async fn delivered_keys_use_the_delivery_time() {
    let mut rig = rig(|_| {}).await;
    // The events are from T0; the file is delivered a day and 7 minutes later.
    rig.delivery.submit(record(1, "eu-central-1")).await.unwrap();
    rig.clock.advance(std::time::Duration::from_secs(86_400 + 420));
    let log = rig.next_log().await;
    assert_eq!(
        log.delivered_at,
        T0 + std::time::Duration::from_secs(86_400 + 420)
    );
    check(&log.key, ACCOUNT, "eu-central-1", "20260305T0513Z");
    assert!(
        log.key
            .starts_with("pfx/AWSLogs/123456789012/CloudTrail/eu-central-1/2026/03/05/123456789012_CloudTrail_eu-central-1_20260305T0513Z_"),
        "{}",
        log.key
    );
    assert!(rig.data().join(BUCKET).join(&log.key).is_file());
}
