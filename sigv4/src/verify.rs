//! The verifier: every check AWS makes on a signed request, in AWS's order, with the caller's
//! key store consulted through a closure so this stays free of I/O and of any identity model.

use std::borrow::Cow;
use std::sync::Arc;

use http::HeaderMap;
use time::{Duration, OffsetDateTime};

use crate::canonical::{PathStyle, RequestParts, canonical_request, query_pairs, sha256_hex, string_to_sign};
use crate::error::{AuthError, MAX_EXPIRES_SECONDS, MAX_SKEW_MINUTES, MissingParts, ScopeMismatch};
use crate::keys::{SigningKeyCache, signature, signing_key};
use crate::parse::{Scope, format_basic, http_date_to_basic, parse_authorization, parse_basic};
use crate::{ALGORITHM, UNSIGNED_PAYLOAD};

/// What a service accepts beyond the rules every service shares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    /// How the path is canonicalised.
    pub path: PathStyle,
    /// Whether query-string (presigned) authentication is accepted. Where it is not, the query
    /// is only a query: a request with no `Authorization` header is unauthenticated.
    pub presigned: bool,
    /// S3's payload rules: header authentication must send `x-amz-content-sha256`, whose value
    /// may be `UNSIGNED-PAYLOAD`, and the signature covers that value (a body that does not
    /// hash to it is refused with `XAmzContentSHA256Mismatch`). Without them the signature
    /// always covers the body's own hash, and an `x-amz-content-sha256` must equal it.
    pub s3_payload: bool,
}

impl Policy {
    /// Every AWS JSON and REST-JSON service: normalised paths, header authentication only, the
    /// body always hashed.
    pub const STANDARD: Policy = Policy {
        path: PathStyle::Normalized,
        presigned: false,
        s3_payload: false,
    };

    /// S3: paths as sent, presigned URLs, `UNSIGNED-PAYLOAD`.
    pub const S3: Policy = Policy {
        path: PathStyle::S3,
        presigned: true,
        s3_payload: true,
    };
}

impl From<PathStyle> for Policy {
    /// The policy of the services that canonicalise paths this way: S3's own, or the standard one.
    fn from(style: PathStyle) -> Self {
        match style {
            PathStyle::S3 => Policy::S3,
            PathStyle::Normalized => Policy::STANDARD,
        }
    }
}

/// What the credential scope must name.
pub struct Expected<'a> {
    /// The signing name of the service the request was routed to.
    pub service: &'a str,
    /// Whether the server serves a Region.
    pub region: &'a dyn Fn(&str) -> bool,
}

/// What the verifier needs of a known access key.
pub trait Credential {
    /// The secret access key; `None` when it is not known, and the signature cannot be checked.
    fn secret_access_key(&self) -> Option<&str>;

    /// A cache of signing keys derived from this secret, if the key store keeps one.
    fn signing_keys(&self) -> Option<&SigningKeyCache> {
        None
    }
}

impl<T: Credential + ?Sized> Credential for Arc<T> {
    fn secret_access_key(&self) -> Option<&str> {
        (**self).secret_access_key()
    }
    fn signing_keys(&self) -> Option<&SigningKeyCache> {
        (**self).signing_keys()
    }
}

impl<T: Credential + ?Sized> Credential for &T {
    fn secret_access_key(&self) -> Option<&str> {
        (**self).secret_access_key()
    }
    fn signing_keys(&self) -> Option<&SigningKeyCache> {
        (**self).signing_keys()
    }
}

/// A request that passed every check.
#[derive(Debug, Clone)]
pub struct Verified<C> {
    /// What the key store returned for the access key.
    pub credential: C,
    /// The scope it was signed for.
    pub scope: Scope,
    /// Whether it was authenticated by its query string.
    pub presigned: bool,
}

/// A request that failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    /// The first check it failed.
    pub error: AuthError,
    /// Its credential scope, whenever the credential had five parts, so the caller can
    /// attribute the failure to the access key it names.
    pub scope: Option<Scope>,
}

/// What the request claims, read from its `Authorization` header or its query string.
struct Claim<'r> {
    credential: Cow<'r, str>,
    signed_headers: Cow<'r, str>,
    signature: Cow<'r, str>,
    /// The request time as sent (`YYYYMMDDTHHMMSSZ`, or converted from a `Date` header).
    amz_date: Cow<'r, str>,
    /// A presigned URL's `X-Amz-Expires`.
    expires: Option<i64>,
    token: Option<Cow<'r, str>>,
}

fn reject(error: AuthError, credential: Option<&str>) -> Box<Rejection> {
    Box::new(Rejection {
        error,
        scope: credential.and_then(Scope::parse),
    })
}

/// Verifies a request. `lookup` resolves the access key (given the scope and the session token
/// sent, if any) to its credential, or answers why it cannot: [`AuthError::UnknownAccessKey`],
/// [`AuthError::InvalidToken`], [`AuthError::ExpiredToken`].
///
/// The checks run in the order AWS runs them, so a request with several faults gets the error
/// AWS would give: the authentication mechanism, the header's parts, the signed headers, the
/// date, the clock skew, the credential's shape and scope, S3's payload header, the access key,
/// the signature, and S3's payload hash.
pub fn verify<C: Credential>(
    req: &RequestParts<'_>,
    policy: &Policy,
    expected: &Expected<'_>,
    now: OffsetDateTime,
    lookup: impl FnOnce(&Scope, Option<&str>) -> Result<C, AuthError>,
) -> Result<Verified<C>, Box<Rejection>> {
    let lossy;
    let header = match req.headers.get(http::header::AUTHORIZATION) {
        Some(v) => Some(match v.to_str() {
            Ok(s) => s,
            Err(_) => {
                lossy = String::from_utf8_lossy(v.as_bytes()).into_owned();
                lossy.as_str()
            }
        }),
        None => None,
    };
    let query = if policy.presigned {
        req.uri
            .query()
            .map(query_pairs)
            .filter(|pairs| pairs.iter().any(|(k, _)| k.as_slice() == b"X-Amz-Algorithm"))
    } else {
        None
    };
    let claim = match (header, &query) {
        (Some(_), Some(_)) => return Err(reject(AuthError::BothAuthMechanisms, None)),
        (None, None) => return Err(reject(AuthError::MissingAuthenticationToken, None)),
        (Some(h), None) => claim_from_header(h, req.headers)?,
        (None, Some(pairs)) => claim_from_query(pairs)?,
    };
    let presigned = claim.expires.is_some();
    let fail = |error: AuthError| reject(error, Some(&claim.credential));

    let signed: Vec<&str> = claim.signed_headers.split(';').collect();
    if !signed.contains(&"host") {
        return Err(fail(AuthError::HostNotSigned));
    }
    let mut unsigned: Vec<String> = req
        .headers
        .keys()
        .map(http::HeaderName::as_str)
        .filter(|name| name.starts_with("x-amz-") && !signed.contains(name))
        .map(str::to_owned)
        .collect();
    if !unsigned.is_empty() {
        unsigned.sort();
        unsigned.dedup();
        return Err(fail(AuthError::HeadersNotSigned { headers: unsigned }));
    }

    let Some(request_time) = parse_basic(&claim.amz_date) else {
        return Err(fail(AuthError::MalformedDate(claim.amz_date.to_string())));
    };
    check_time(request_time, claim.expires, now).map_err(&fail)?;

    let Some(scope) = Scope::parse(&claim.credential) else {
        return Err(fail(AuthError::MalformedCredential(claim.credential.to_string())));
    };
    let mismatch = ScopeMismatch {
        region: (!(expected.region)(&scope.region)).then(|| scope.region.clone()),
        service: (scope.service != expected.service)
            .then(|| (scope.service.clone(), expected.service.to_owned())),
        terminator: (scope.terminator != "aws4_request").then(|| scope.terminator.clone()),
        date: (claim.amz_date.get(..8) != Some(scope.date.as_str())).then(|| {
            (
                scope.date.clone(),
                claim.amz_date.get(..8).unwrap_or(&claim.amz_date).to_owned(),
                claim.amz_date.to_string(),
            )
        }),
    };
    if mismatch != ScopeMismatch::default() {
        return Err(fail(AuthError::CredentialScope(Box::new(mismatch))));
    }

    let declared = declared_payload(req.headers, policy, presigned).map_err(&fail)?;
    let credential = lookup(&scope, claim.token.as_deref()).map_err(&fail)?;

    // Outside S3 the signature covers the body itself, whatever the request declares.
    let body_hash;
    let payload_hash = if policy.s3_payload {
        declared.as_deref().unwrap_or(UNSIGNED_PAYLOAD)
    } else {
        body_hash = sha256_hex(req.body);
        if declared.as_deref().is_some_and(|d| d != body_hash) {
            return Err(fail(AuthError::SignatureMismatch));
        }
        body_hash.as_str()
    };
    if let Some(secret) = credential.secret_access_key() {
        let canonical = canonical_request(req, &claim.signed_headers, payload_hash, policy.path, presigned);
        let key = match credential.signing_keys() {
            Some(cache) => cache.get(secret, &scope.date, &scope.region, &scope.service),
            None => signing_key(secret, &scope.date, &scope.region, &scope.service),
        };
        let sts = string_to_sign(
            &claim.amz_date,
            &scope.date,
            &scope.region,
            &scope.service,
            &canonical,
        );
        if !constant_time_eq(signature(&key, &sts).as_bytes(), claim.signature.as_bytes()) {
            return Err(fail(AuthError::SignatureMismatch));
        }
    }
    if policy.s3_payload
        && let Some(client) = declared.as_deref().filter(|d| *d != UNSIGNED_PAYLOAD)
    {
        let computed = sha256_hex(req.body);
        if computed != client {
            return Err(fail(AuthError::ContentSha256Mismatch {
                client: client.to_owned(),
                computed,
            }));
        }
    }
    Ok(Verified {
        credential,
        scope,
        presigned,
    })
}

fn header_str<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

fn claim_from_header<'r>(value: &'r str, headers: &'r HeaderMap) -> Result<Claim<'r>, Box<Rejection>> {
    let auth = parse_authorization(value).map_err(|e| reject(e, None))?;
    let amz_date = match headers.get("x-amz-date") {
        Some(d) => Some(String::from_utf8_lossy(d.as_bytes())),
        None => headers.get(http::header::DATE).map(|d| {
            let raw = String::from_utf8_lossy(d.as_bytes());
            // An unreadable `Date` is reported as sent, by the date-format check.
            http_date_to_basic(&raw).map_or(raw, Cow::Owned)
        }),
    };
    let missing = MissingParts {
        credential: auth.credential.is_none(),
        signature: auth.signature.is_none(),
        signed_headers: auth.signed_headers.is_none(),
        date: amz_date.is_none(),
    };
    let (Some(credential), Some(signature), Some(signed_headers), Some(amz_date)) =
        (auth.credential, auth.signature, auth.signed_headers, amz_date)
    else {
        return Err(reject(
            AuthError::IncompleteHeader {
                missing,
                header: value.to_owned(),
            },
            auth.credential,
        ));
    };
    Ok(Claim {
        credential: credential.into(),
        signed_headers: signed_headers.into(),
        signature: signature.into(),
        amz_date,
        expires: None,
        token: header_str(headers, "x-amz-security-token").map(Cow::Borrowed),
    })
}

fn claim_from_query(pairs: &[(Vec<u8>, Vec<u8>)]) -> Result<Claim<'static>, Box<Rejection>> {
    // The first value of each parameter counts.
    let get = |name: &str| {
        pairs
            .iter()
            .find(|(k, _)| k.as_slice() == name.as_bytes())
            .map(|(_, v)| String::from_utf8_lossy(v).into_owned())
    };
    let algorithm = get("X-Amz-Algorithm").unwrap_or_default();
    let credential = get("X-Amz-Credential");
    if algorithm != ALGORITHM {
        return Err(reject(
            AuthError::UnsupportedAlgorithm {
                algorithm,
                query: true,
            },
            credential.as_deref(),
        ));
    }
    let missing: Vec<&'static str> = [
        "X-Amz-Credential",
        "X-Amz-Signature",
        "X-Amz-SignedHeaders",
        "X-Amz-Date",
        "X-Amz-Expires",
    ]
    .into_iter()
    .filter(|name| get(name).is_none())
    .collect();
    let (Some(cred), Some(signature), Some(signed_headers), Some(amz_date), Some(expires)) = (
        credential.clone(),
        get("X-Amz-Signature"),
        get("X-Amz-SignedHeaders"),
        get("X-Amz-Date"),
        get("X-Amz-Expires"),
    ) else {
        return Err(reject(
            AuthError::IncompleteQuery { missing },
            credential.as_deref(),
        ));
    };
    let expires = parse_expires(&expires).map_err(|e| reject(e, Some(&cred)))?;
    Ok(Claim {
        credential: cred.into(),
        signed_headers: signed_headers.into(),
        signature: signature.into(),
        amz_date: amz_date.into(),
        expires: Some(expires),
        token: get("X-Amz-Security-Token").map(Cow::Owned),
    })
}

/// `X-Amz-Expires`: whole seconds, from zero to a week.
fn parse_expires(value: &str) -> Result<i64, AuthError> {
    let invalid = |message| AuthError::InvalidExpires { message };
    if value.starts_with('-') && value.len() > 1 && value[1..].bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid("X-Amz-Expires must be non-negative"));
    }
    if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid("X-Amz-Expires should be a number"));
    }
    match value.parse::<i64>() {
        Ok(secs) if secs <= MAX_EXPIRES_SECONDS => Ok(secs),
        _ => Err(invalid(
            "X-Amz-Expires must be less than a week (in seconds) that is 604800",
        )),
    }
}

/// Header requests must fall within the skew window; presigned ones between their date (less
/// the window) and their expiry.
fn check_time(request: OffsetDateTime, expires: Option<i64>, now: OffsetDateTime) -> Result<(), AuthError> {
    let skew = Duration::minutes(MAX_SKEW_MINUTES);
    if let Some(expires) = expires {
        if request > now + skew {
            return Err(AuthError::RequestNotYetValid);
        }
        if now > request + Duration::seconds(expires) {
            return Err(AuthError::RequestExpired);
        }
        return Ok(());
    }
    if request < now - skew {
        return Err(AuthError::SignatureExpired {
            request: format_basic(request),
            earliest: format_basic(now - skew),
            now: format_basic(now),
        });
    }
    if request > now + skew {
        return Err(AuthError::SignatureNotYetCurrent {
            request: format_basic(request),
            latest: format_basic(now + skew),
            now: format_basic(now),
        });
    }
    Ok(())
}

/// The `x-amz-content-sha256` a request declares. Under S3's rules it is required with header
/// authentication and must be a hash or `UNSIGNED-PAYLOAD`; elsewhere it is optional and only
/// compared with the body later.
fn declared_payload(
    headers: &HeaderMap,
    policy: &Policy,
    presigned: bool,
) -> Result<Option<String>, AuthError> {
    let Some(value) = headers.get("x-amz-content-sha256") else {
        return if policy.s3_payload && !presigned {
            Err(AuthError::MissingContentSha256)
        } else {
            Ok(None)
        };
    };
    let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
    if !policy.s3_payload {
        return Ok(Some(value));
    }
    if value == UNSIGNED_PAYLOAD || is_sha256_hex(&value) {
        Ok(Some(value))
    } else if value.starts_with("STREAMING-") {
        Err(AuthError::StreamingNotImplemented)
    } else {
        Err(AuthError::InvalidContentSha256(value))
    }
}

fn is_sha256_hex(s: &str) -> bool {
    s.len() == 64
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// Compares without stopping at the first difference, so the time taken does not tell how
/// much of a guessed signature was right.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expires_values() {
        assert_eq!(parse_expires("0"), Ok(0));
        assert_eq!(parse_expires("604800"), Ok(604_800));
        for (v, m) in [
            ("-5", "X-Amz-Expires must be non-negative"),
            ("", "X-Amz-Expires should be a number"),
            ("1e3", "X-Amz-Expires should be a number"),
            ("-", "X-Amz-Expires should be a number"),
            (
                "604801",
                "X-Amz-Expires must be less than a week (in seconds) that is 604800",
            ),
            (
                "99999999999999999999999",
                "X-Amz-Expires must be less than a week (in seconds) that is 604800",
            ),
        ] {
            assert_eq!(
                parse_expires(v),
                Err(AuthError::InvalidExpires { message: m }),
                "{v}"
            );
        }
    }

    #[test]
    fn equality_in_constant_time() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
    }
}
