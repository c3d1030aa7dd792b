//! Reading what a request claims: the `Authorization` header's parameters, the credential scope,
//! and SigV4's date formats. Pure functions of strings, so a fuzzer can call them directly.

use time::OffsetDateTime;

use crate::ALGORITHM;
use crate::error::AuthError;

/// A credential scope: `<key>/<date>/<region>/<service>/<terminator>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    /// The access key id.
    pub access_key_id: String,
    /// `YYYYMMDD`.
    pub date: String,
    /// The Region the client signed for.
    pub region: String,
    /// The signing name of the service (`personalize`, `cloudtrail`, `s3`).
    pub service: String,
    /// Should be `aws4_request`.
    pub terminator: String,
}

impl Scope {
    /// Splits a `Credential` value; `None` unless it has exactly five parts.
    pub fn parse(credential: &str) -> Option<Scope> {
        let mut it = credential.split('/');
        let scope = Scope {
            access_key_id: it.next()?.to_owned(),
            date: it.next()?.to_owned(),
            region: it.next()?.to_owned(),
            service: it.next()?.to_owned(),
            terminator: it.next()?.to_owned(),
        };
        it.next().is_none().then_some(scope)
    }
}

/// The parameters of an `Authorization: AWS4-HMAC-SHA256 ...` header. A parameter given twice
/// keeps its last value; an empty `Credential` or `Signature` counts as missing (an empty
/// `SignedHeaders` does not: it fails later, for want of `host`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Authorization<'a> {
    /// `Credential=`.
    pub credential: Option<&'a str>,
    /// `SignedHeaders=`.
    pub signed_headers: Option<&'a str>,
    /// `Signature=`.
    pub signature: Option<&'a str>,
}

/// Parses an `Authorization` header value. A value that is not SigV4 at all (no `AWS4-` prefix)
/// is, to AWS, no authentication: [`AuthError::MissingAuthenticationToken`].
pub fn parse_authorization(value: &str) -> Result<Authorization<'_>, AuthError> {
    let trimmed = value.trim();
    if !trimmed.starts_with("AWS4-") {
        return Err(AuthError::MissingAuthenticationToken);
    }
    let (algorithm, params) = trimmed.split_once([' ', '\t']).unwrap_or((trimmed, ""));
    if algorithm != ALGORITHM {
        return Err(AuthError::UnsupportedAlgorithm {
            algorithm: algorithm.to_owned(),
            query: false,
        });
    }
    let mut auth = Authorization::default();
    for pair in params.split(',') {
        let pair = pair.trim();
        if pair.is_empty() {
            continue;
        }
        let Some((key, val)) = pair.split_once('=') else {
            return Err(AuthError::MalformedPair {
                pair: pair.to_owned(),
                header: value.to_owned(),
            });
        };
        let val = val.trim();
        match key.trim() {
            "Credential" => auth.credential = Some(val).filter(|v| !v.is_empty()),
            "SignedHeaders" => auth.signed_headers = Some(val),
            "Signature" => auth.signature = Some(val).filter(|v| !v.is_empty()),
            _ => {}
        }
    }
    Ok(auth)
}

/// Parses SigV4's `YYYYMMDDTHHMMSSZ`.
pub fn parse_basic(s: &str) -> Option<OffsetDateTime> {
    let b = s.as_bytes();
    if b.len() != 16 || b.get(8) != Some(&b'T') || b.get(15) != Some(&b'Z') {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<u32> {
        let part = s.get(r)?;
        if part.bytes().all(|c| c.is_ascii_digit()) {
            part.parse().ok()
        } else {
            None
        }
    };
    let date = time::Date::from_calendar_date(
        i32::try_from(num(0..4)?).ok()?,
        time::Month::try_from(u8::try_from(num(4..6)?).ok()?).ok()?,
        u8::try_from(num(6..8)?).ok()?,
    )
    .ok()?;
    let clock = time::Time::from_hms(
        u8::try_from(num(9..11)?).ok()?,
        u8::try_from(num(11..13)?).ok()?,
        u8::try_from(num(13..15)?).ok()?,
    )
    .ok()?;
    Some(date.with_time(clock).assume_utc())
}

/// Formats `YYYYMMDDTHHMMSSZ` (UTC).
pub fn format_basic(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    let format = time::macros::format_description!("[year][month][day]T[hour][minute][second]Z");
    // Years outside 0..=9999 have no four-digit rendering; such a time is never a request's.
    t.format(format).unwrap_or_default()
}

/// An HTTP `Date` (`Sun, 06 Nov 1994 08:49:37 GMT`) as `YYYYMMDDTHHMMSSZ`.
pub fn http_date_to_basic(s: &str) -> Option<String> {
    let format = time::macros::format_description!(
        "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
    );
    let t = time::PrimitiveDateTime::parse(s.trim(), format)
        .ok()?
        .assume_utc();
    Some(format_basic(t))
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn authorization_parameters() {
        let a = parse_authorization(
            "AWS4-HMAC-SHA256 Credential=AKID/20150830/us-east-1/iam/aws4_request,SignedHeaders=host;x-amz-date, Signature=abc",
        )
        .unwrap();
        assert_eq!(a.credential, Some("AKID/20150830/us-east-1/iam/aws4_request"));
        assert_eq!(a.signed_headers, Some("host;x-amz-date"));
        assert_eq!(a.signature, Some("abc"));
        let a = parse_authorization("AWS4-HMAC-SHA256 Credential=, SignedHeaders=, Signature=x, Signature=y")
            .unwrap();
        assert_eq!(
            (a.credential, a.signed_headers, a.signature),
            (None, Some(""), Some("y"))
        );
        assert_eq!(
            parse_authorization("Bearer abc"),
            Err(AuthError::MissingAuthenticationToken)
        );
        assert_eq!(
            parse_authorization("AWS4-HMAC-SHA512 Credential=x")
                .unwrap_err()
                .to_string(),
            "Unsupported AWS 'algorithm': 'AWS4-HMAC-SHA512' (only AWS4-HMAC-SHA256 for now). "
        );
        assert_eq!(
            parse_authorization("AWS4-HMAC-SHA256 Signature=b,  Credential")
                .unwrap_err()
                .to_string(),
            "'Credential' not a valid key=value pair (missing equal-sign) in Authorization header: \
             'AWS4-HMAC-SHA256 Signature=b,  Credential'"
        );
        assert_eq!(
            parse_authorization("AWS4-HMAC-SHA256"),
            Ok(Authorization::default())
        );
    }

    #[test]
    fn scopes() {
        let s = Scope::parse("AKID/20260301/us-west-2/s3/aws4_request").unwrap();
        assert_eq!((s.region.as_str(), s.service.as_str()), ("us-west-2", "s3"));
        assert!(Scope::parse("a/b/c/d").is_none());
        assert!(Scope::parse("a/b/c/d/e/").is_none());
    }

    #[test]
    fn dates() {
        let t = datetime!(2026-03-01 10:00:09 UTC);
        assert_eq!(format_basic(t), "20260301T100009Z");
        assert_eq!(parse_basic("20260301T100009Z"), Some(t));
        assert!(parse_basic("2015-08-30T12:36:00Z").is_none());
        assert!(parse_basic("20261301T100009Z").is_none());
        assert!(parse_basic("2026030+T100009Z").is_none());
        assert_eq!(
            http_date_to_basic("Sun, 06 Nov 1994 08:49:37 GMT").as_deref(),
            Some("19941106T084937Z")
        );
        assert!(http_date_to_basic("yesterday").is_none());
    }
}
