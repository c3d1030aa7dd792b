//! The few UTC time renderings CloudTrail uses, written by hand because they sit on the hot path,
//! and the epoch-number forms the crate's state files keep times in.

use time::{Date, Month, OffsetDateTime};

fn two(out: &mut String, n: u8) {
    out.push(char::from(b'0' + n / 10));
    out.push(char::from(b'0' + n % 10));
}

fn four(out: &mut String, n: i32) {
    let n = n.clamp(0, 9999) as u32;
    for d in [1000, 100, 10, 1] {
        out.push(char::from(b'0' + ((n / d) % 10) as u8));
    }
}

/// `YYYY-MM-DDTHH:MM:SSZ`, the record's `eventTime` and the digest times.
pub fn iso_seconds(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    let mut s = String::with_capacity(20);
    four(&mut s, t.year());
    s.push('-');
    two(&mut s, u8::from(t.month()));
    s.push('-');
    two(&mut s, t.day());
    s.push('T');
    two(&mut s, t.hour());
    s.push(':');
    two(&mut s, t.minute());
    s.push(':');
    two(&mut s, t.second());
    s.push('Z');
    s
}

/// `YYYY-MM-DDTHH:MM:SS.sssZ`, SNS's `Timestamp`.
pub fn iso_millis(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    let mut s = iso_seconds(t);
    s.pop();
    s.push('.');
    let ms = t.millisecond();
    s.push(char::from(b'0' + (ms / 100) as u8));
    two(&mut s, (ms % 100) as u8);
    s.push('Z');
    s
}

/// `YYYY-MM-DD`, the name of an Event history segment.
pub fn iso_date(d: Date) -> String {
    let mut s = String::with_capacity(10);
    four(&mut s, d.year());
    s.push('-');
    two(&mut s, u8::from(d.month()));
    s.push('-');
    two(&mut s, d.day());
    s
}

/// Parses `YYYY-MM-DD`.
pub fn parse_iso_date(s: &str) -> Option<Date> {
    let mut it = s.splitn(3, '-');
    let y: i32 = it.next()?.parse().ok()?;
    let m: u8 = it.next()?.parse().ok()?;
    let d: u8 = it.next()?.parse().ok()?;
    Date::from_calendar_date(y, Month::try_from(m).ok()?, d).ok()
}

/// `YYYYMMDDTHHmmZ`, the delivery time in a log file's name.
pub fn compact_minutes(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    let mut s = String::with_capacity(14);
    four(&mut s, t.year());
    two(&mut s, u8::from(t.month()));
    two(&mut s, t.day());
    s.push('T');
    two(&mut s, t.hour());
    two(&mut s, t.minute());
    s.push('Z');
    s
}

/// `YYYYMMDDTHHmmssZ`, the digest end time in a digest file's name (and SigV4's `X-Amz-Date`).
pub fn compact_seconds(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    let mut s = compact_minutes(t);
    s.pop();
    two(&mut s, t.second());
    s.push('Z');
    s
}

/// `YYYY/MM/DD`, the date folders of a key.
pub fn date_path(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    let mut s = String::with_capacity(10);
    four(&mut s, t.year());
    s.push('/');
    two(&mut s, u8::from(t.month()));
    s.push('/');
    two(&mut s, t.day());
    s
}

/// Java's default `Date` rendering as CloudTrail shows it inside `responseElements`:
/// `Nov 5, 2018 6:06:01 AM` (pattern `MMM d, yyyy h:mm:ss a`, UTC).
pub fn java_date(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    let month = match t.month() {
        Month::January => "Jan",
        Month::February => "Feb",
        Month::March => "Mar",
        Month::April => "Apr",
        Month::May => "May",
        Month::June => "Jun",
        Month::July => "Jul",
        Month::August => "Aug",
        Month::September => "Sep",
        Month::October => "Oct",
        Month::November => "Nov",
        Month::December => "Dec",
    };
    let (hour12, ampm) = match t.hour() {
        0 => (12, "AM"),
        h @ 1..=11 => (h, "AM"),
        12 => (12, "PM"),
        h => (h - 12, "PM"),
    };
    format!(
        "{month} {}, {} {hour12}:{:02}:{:02} {ampm}",
        t.day(),
        t.year(),
        t.minute(),
        t.second()
    )
}

/// Parses `YYYY-MM-DDTHH:MM:SSZ`.
pub fn parse_iso_seconds(s: &str) -> Option<OffsetDateTime> {
    let b = s.as_bytes();
    if b.len() != 20
        || b[4] != b'-'
        || b[7] != b'-'
        || b[10] != b'T'
        || b[13] != b':'
        || b[16] != b':'
        || b[19] != b'Z'
    {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<u32> { s.get(r)?.parse().ok() };
    let date = time::Date::from_calendar_date(
        num(0..4)? as i32,
        Month::try_from(num(5..7)? as u8).ok()?,
        num(8..10)? as u8,
    )
    .ok()?;
    let clock = time::Time::from_hms(num(11..13)? as u8, num(14..16)? as u8, num(17..19)? as u8).ok()?;
    Some(date.with_time(clock).assume_utc())
}

/// Serde for a time kept as whole epoch seconds (`#[serde(with = "timefmt::unix_seconds")]`).
pub(crate) mod unix_seconds {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};
    use time::OffsetDateTime;

    pub(crate) fn serialize<S: Serializer>(t: &OffsetDateTime, s: S) -> Result<S::Ok, S::Error> {
        t.unix_timestamp().serialize(s)
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<OffsetDateTime, D::Error> {
        from_secs(i64::deserialize(d)?)
    }

    /// The time `secs` after the epoch, or the decoder's error for one out of range.
    pub(super) fn from_secs<E: serde::de::Error>(secs: i64) -> Result<OffsetDateTime, E> {
        OffsetDateTime::from_unix_timestamp(secs).map_err(E::custom)
    }
}

/// [`unix_seconds`] for an optional time (`null` when absent).
pub(crate) mod unix_seconds_opt {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};
    use time::OffsetDateTime;

    pub(crate) fn serialize<S: Serializer>(t: &Option<OffsetDateTime>, s: S) -> Result<S::Ok, S::Error> {
        t.map(OffsetDateTime::unix_timestamp).serialize(s)
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<OffsetDateTime>, D::Error> {
        Option::<i64>::deserialize(d)?
            .map(super::unix_seconds::from_secs)
            .transpose()
    }
}

/// Serde for a time kept as epoch milliseconds, S3's precision.
pub(crate) mod unix_millis {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};
    use time::OffsetDateTime;

    pub(crate) fn serialize<S: Serializer>(t: &OffsetDateTime, s: S) -> Result<S::Ok, S::Error> {
        ((t.unix_timestamp_nanos() / 1_000_000) as i64).serialize(s)
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<OffsetDateTime, D::Error> {
        let ms = i64::deserialize(d)?;
        OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
            .map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn renders_every_form() {
        let t = datetime!(2018-11-05 06:06:01 UTC);
        assert_eq!(iso_seconds(t), "2018-11-05T06:06:01Z");
        assert_eq!(compact_minutes(t), "20181105T0606Z");
        assert_eq!(compact_seconds(t), "20181105T060601Z");
        assert_eq!(date_path(t), "2018/11/05");
        assert_eq!(java_date(t), "Nov 5, 2018 6:06:01 AM");
        assert_eq!(
            java_date(datetime!(2020-01-01 00:00:09 UTC)),
            "Jan 1, 2020 12:00:09 AM"
        );
        assert_eq!(
            java_date(datetime!(2020-01-01 12:30:00 UTC)),
            "Jan 1, 2020 12:30:00 PM"
        );
        assert_eq!(
            java_date(datetime!(2020-01-01 23:30:00 UTC)),
            "Jan 1, 2020 11:30:00 PM"
        );
        assert_eq!(
            iso_millis(datetime!(2026-01-02 03:04:05.678 UTC)),
            "2026-01-02T03:04:05.678Z"
        );
        assert_eq!(
            iso_millis(datetime!(2026-01-02 03:04:05.009 UTC)),
            "2026-01-02T03:04:05.009Z"
        );
        assert_eq!(iso_date(t.date()), "2018-11-05");
        assert_eq!(parse_iso_date("2018-11-05"), Some(t.date()));
        assert_eq!(parse_iso_date("2018-13-05"), None);
        assert_eq!(parse_iso_seconds("2018-11-05T06:06:01Z"), Some(t));
        // The state files' epoch forms round-trip, and reject times out of range.
        #[derive(serde::Serialize, serde::Deserialize, PartialEq, Debug)]
        struct Times {
            #[serde(with = "unix_seconds")]
            a: OffsetDateTime,
            #[serde(with = "unix_seconds_opt")]
            b: Option<OffsetDateTime>,
            #[serde(with = "unix_millis")]
            c: OffsetDateTime,
        }
        let times = Times {
            a: t,
            b: None,
            c: datetime!(2018-11-05 06:06:01.123 UTC),
        };
        let json = serde_json::to_string(&times).unwrap();
        assert_eq!(json, r#"{"a":1541397961,"b":null,"c":1541397961123}"#);
        assert_eq!(serde_json::from_str::<Times>(&json).unwrap(), times);
        assert!(serde_json::from_str::<Times>(r#"{"a":1e30,"b":null,"c":0}"#).is_err());
        assert!(serde_json::from_str::<Times>(r#"{"a":0,"b":99999999999999,"c":0}"#).is_err());
        assert_eq!(parse_iso_seconds("2018-11-05T06:06:01"), None);
    }
}
