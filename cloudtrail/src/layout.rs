//! Where CloudTrail puts a log file in a bucket: the exact AWS object key and its unique string.

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
        s.push_str("/CloudTrail/");
        s.push_str(&self.region);
        s.push('/');
        s
    }
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

const ALPHANUMERIC: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/// A 16-character unique string, uniform over `[A-Za-z0-9]` like every documented example.
pub fn unique_string(rng: &mut impl rand::Rng) -> String {
    (0..16)
        .map(|_| char::from(ALPHANUMERIC[rng.random_range(0..ALPHANUMERIC.len())]))
        .collect()
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
