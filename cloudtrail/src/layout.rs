//! Where CloudTrail puts its objects in a bucket: the exact AWS keys of log files (with their
//! unique string) and of digest files, and the account and Region read back from a log key.

use rand::RngExt;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::timefmt;

/// Where one trail's logs for one (account, Region) land.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct LogDestination {
    /// The trail's S3 bucket.
    pub bucket: String,
    /// The trail's `S3KeyPrefix`, without leading or trailing `/`.
    pub prefix: Option<String>,
    /// `o-…` for an organization trail: inserted after `AWSLogs/`.
    pub org_id: Option<String>,
    /// The account whose events the files hold.
    pub account: String,
    /// The Region where the events were recorded.
    pub region: String,
}

impl LogDestination {
    /// The folder of a day's files: `[prefix/]AWSLogs/[o-id/]acct/CloudTrail/region/YYYY/MM/DD/`.
    pub fn day_folder(&self, day: OffsetDateTime) -> String {
        let mut s = self.region_folder();
        s.push_str(&timefmt::date_path(day));
        s.push('/');
        s
    }

    /// `[prefix/]AWSLogs/[o-id/]acct/CloudTrail/region/`, the folder a consumer lists per Region.
    pub fn region_folder(&self) -> String {
        region_folder(
            self.prefix.as_deref(),
            self.org_id.as_deref(),
            &self.account,
            "CloudTrail",
            &self.region,
        )
    }
}

/// `[prefix/]AWSLogs/[o-id/]acct/<kind>/region/`, where `kind` is `CloudTrail` for log files
/// and `CloudTrail-Digest` for digests. The prefix loses its surrounding slashes.
fn region_folder(
    prefix: Option<&str>,
    org_id: Option<&str>,
    account: &str,
    kind: &str,
    region: &str,
) -> String {
    let mut s = String::with_capacity(96);
    if let Some(p) = prefix.map(|p| p.trim_matches('/')).filter(|p| !p.is_empty()) {
        s.push_str(p);
        s.push('/');
    }
    s.push_str("AWSLogs/");
    if let Some(o) = org_id.filter(|o| !o.is_empty()) {
        s.push_str(o);
        s.push('/');
    }
    s.push_str(account);
    s.push('/');
    s.push_str(kind);
    s.push('/');
    s.push_str(region);
    s.push('/');
    s
}

/// The full object key of a log file delivered at `delivered_at`:
/// `[prefix/]AWSLogs/[o-id/]acct/CloudTrail/region/YYYY/MM/DD/acct_CloudTrail_region_YYYYMMDDTHHmmZ_unique.json.gz`.
/// Both the folders and the name use the delivery time in UTC, as AWS does.
pub fn log_key(dest: &LogDestination, delivered_at: OffsetDateTime, unique: &str) -> String {
    let mut s = dest.day_folder(delivered_at);
    s.push_str(&dest.account);
    s.push_str("_CloudTrail_");
    s.push_str(&dest.region);
    s.push('_');
    s.push_str(&timefmt::compact_minutes(delivered_at));
    s.push('_');
    s.push_str(unique);
    s.push_str(".json.gz");
    s
}

/// The account and Region of a log key `[prefix/]AWSLogs/[o-id/]acct/CloudTrail/region/Y/M/D/file`,
/// read from the end so a prefix cannot confuse it.
pub fn log_key_account_region(key: &str) -> Option<(String, String)> {
    let segs: Vec<&str> = key.split('/').collect();
    let n = segs.len();
    let region = *segs.get(n.checked_sub(5)?)?;
    let service = *segs.get(n.checked_sub(6)?)?;
    let account = *segs.get(n.checked_sub(7)?)?;
    (service == "CloudTrail" && !account.is_empty() && !region.is_empty())
        .then(|| (account.to_owned(), region.to_owned()))
}

/// Where one digest chain's files go: one trail, one (account, Region).
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
        region_folder(
            self.prefix.as_deref(),
            self.org_id.as_deref(),
            &self.account,
            "CloudTrail-Digest",
            &self.region,
        )
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

const ALPHANUMERIC: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/// A 16-character unique string, uniform over `[A-Za-z0-9]` like every documented example.
pub fn unique_string(rng: &mut impl rand::Rng) -> String {
    (0..16)
        .map(|_| char::from(ALPHANUMERIC[rng.random_range(0..ALPHANUMERIC.len())]))
        .collect()
}

/// The digest target of AWS's documented digest key example, for tests.
#[cfg(test)]
pub(crate) fn documented_digest_target() -> DigestTarget {
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

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn dest(prefix: Option<&str>, org: Option<&str>) -> LogDestination {
        LogDestination {
            bucket: "b".into(),
            prefix: prefix.map(Into::into),
            org_id: org.map(Into::into),
            account: "111122223333".into(),
            region: "us-east-2".into(),
        }
    }

    #[test]
    fn matches_the_documented_example() {
        let t = datetime!(2015-08-01 02:10:59 UTC);
        assert_eq!(
            log_key(&dest(None, None), t, "Mu0KsOhtH1ar15ZZ"),
            "AWSLogs/111122223333/CloudTrail/us-east-2/2015/08/01/111122223333_CloudTrail_us-east-2_20150801T0210Z_Mu0KsOhtH1ar15ZZ.json.gz"
        );
        assert_eq!(
            log_key(
                &dest(Some("/logs/a/"), Some("o-exampleorg1")),
                t,
                "Mu0KsOhtH1ar15ZZ"
            ),
            "logs/a/AWSLogs/o-exampleorg1/111122223333/CloudTrail/us-east-2/2015/08/01/111122223333_CloudTrail_us-east-2_20150801T0210Z_Mu0KsOhtH1ar15ZZ.json.gz"
        );
        assert_eq!(
            log_key(&dest(Some(""), None), t, "x"),
            log_key(&dest(None, None), t, "x")
        );
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
    fn digest_key_matches_documented_example_and_cli_parsing() {
        let end = datetime!(2015-08-17 15:01:31 UTC);
        let key = digest_key(&documented_digest_target(), end);
        assert_eq!(
            key,
            "AWSLogs/111122223333/CloudTrail-Digest/us-east-2/2015/08/17/111122223333_CloudTrail-Digest_us-east-2_your-trail-name_us-east-2_20150817T150131Z.json.gz"
        );
        // validate-logs reads the time by position: key[-24:-8].
        assert_eq!(&key[key.len() - 24..key.len() - 8], "20150817T150131Z");
        assert!(cli_regex_matches(&key, "", &documented_digest_target()));
        let mut t = documented_digest_target();
        t.prefix = Some("/my/prefix/".into());
        t.org_id = Some("o-exampleorg1".into());
        let key = digest_key(&t, end);
        assert!(key.starts_with("my/prefix/AWSLogs/o-exampleorg1/111122223333/CloudTrail-Digest/"));
        assert_eq!(&key[key.len() - 24..key.len() - 8], "20150817T150131Z");
    }

    #[test]
    fn account_and_region_come_back_from_a_log_key() {
        assert_eq!(
            log_key_account_region(
                "p/AWSLogs/o-abcdefghij/111122223333/CloudTrail/eu-west-1/2026/01/01/f.json.gz"
            ),
            Some(("111122223333".into(), "eu-west-1".into()))
        );
        let t = datetime!(2015-08-01 02:10:59 UTC);
        assert_eq!(
            log_key_account_region(&log_key(&dest(Some("a/b"), None), t, "x")),
            Some(("111122223333".into(), "us-east-2".into()))
        );
        assert_eq!(log_key_account_region("a/b"), None);
    }

    #[test]
    fn unique_strings_are_sixteen_alphanumerics() {
        let mut rng = rand::rng();
        for _ in 0..1000 {
            let u = unique_string(&mut rng);
            assert_eq!(u.len(), 16);
            assert!(u.bytes().all(|b| b.is_ascii_alphanumeric()), "{u}");
        }
    }
}
