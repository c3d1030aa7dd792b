//! AWS Signature Version 4, server side: parse, check scope and clock skew, recompute the
//! signature from exactly the headers the client signed. Also a small signer for tests,
//! the benchmark and the generator.

use std::sync::Arc;

use hmac::{Hmac, Mac};
use http::{HeaderMap, Method, Uri};
use sha2::{Digest, Sha256};
use time::{Duration, OffsetDateTime};

use crate::identity::{Identities, Principal};

type HmacSha256 = Hmac<Sha256>;

/// The only algorithm AWS accepts for SigV4.
pub const ALGORITHM: &str = "AWS4-HMAC-SHA256";

/// The hash of an empty payload.
pub const EMPTY_SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/// How far a request's time may be from the server's, either way.
const MAX_SKEW: Duration = Duration::minutes(15);

/// A credential scope: `<key>/<date>/<region>/<service>/aws4_request`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    /// The access key id.
    pub access_key_id: String,
    /// `YYYYMMDD`.
    pub date: String,
    /// The region the client signed for.
    pub region: String,
    /// The signing service name (`personalize`, `cloudtrail`, `s3`).
    pub service: String,
    /// Should be `aws4_request`.
    pub terminator: String,
}

impl Scope {
    fn parse(credential: &str) -> Option<Scope> {
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

/// Why a request failed authentication, each with the code and message AWS uses.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// No `Authorization` header and no presigned query.
    #[error("Request is missing Authentication Token")]
    MissingAuthenticationToken,
    /// The header is malformed or lacks a part.
    #[error("{0}")]
    IncompleteSignature(String),
    /// The signature, its scope or its time is wrong.
    #[error("{0}")]
    InvalidSignature(String),
    /// The access key or session token is unknown.
    #[error("The security token included in the request is invalid.")]
    UnrecognizedClient,
    /// The temporary credentials have expired.
    #[error("The security token included in the request is expired")]
    ExpiredToken,
    /// A presigned URL is past its `X-Amz-Expires`.
    #[error("Request has expired")]
    RequestExpired,
}

impl AuthError {
    /// The AWS JSON error code.
    pub fn code(&self) -> &'static str {
        match self {
            AuthError::MissingAuthenticationToken => "MissingAuthenticationTokenException",
            AuthError::IncompleteSignature(_) => "IncompleteSignatureException",
            AuthError::InvalidSignature(_) | AuthError::RequestExpired => "InvalidSignatureException",
            AuthError::UnrecognizedClient => "UnrecognizedClientException",
            AuthError::ExpiredToken => "ExpiredTokenException",
        }
    }

    fn mismatch() -> Self {
        AuthError::InvalidSignature(
            "The request signature we calculated does not match the signature you provided. Check your \
             AWS Secret Access Key and signing method. Consult the service documentation for details."
                .to_owned(),
        )
    }
}

/// A request that passed verification.
#[derive(Debug, Clone)]
pub struct Verified {
    /// Who signed it.
    pub principal: Arc<Principal>,
    /// The scope it was signed for.
    pub scope: Scope,
}

/// A request that failed; `principal` is set when the access key was known, so the failure
/// can still be recorded against that identity.
#[derive(Debug, Clone)]
pub struct Failure {
    /// What went wrong.
    pub error: AuthError,
    /// The identity of the access key, when it was known.
    pub principal: Option<Arc<Principal>>,
    /// The scope, when it parsed.
    pub scope: Option<Scope>,
}

impl Failure {
    fn bare(error: AuthError) -> Self {
        Failure {
            error,
            principal: None,
            scope: None,
        }
    }
}

/// How to canonicalise the path: S3 signs the path as sent, every other service normalises it
/// and encodes it once more.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathStyle {
    /// Normalise and double-encode (all services but S3).
    Normalized,
    /// Use the path as received (S3).
    S3,
}

/// The parts of a request SigV4 looks at.
#[derive(Debug, Clone, Copy)]
pub struct RequestView<'a> {
    /// The method.
    pub method: &'a Method,
    /// The request target.
    pub uri: &'a Uri,
    /// All headers as received.
    pub headers: &'a HeaderMap,
    /// The received body.
    pub body: &'a [u8],
}

struct Parsed {
    credential: String,
    signed_headers: String,
    signature: String,
    amz_date: Option<String>,
    presigned_expires: Option<i64>,
    security_token: Option<String>,
}

/// The credential scope of a request, read without verifying anything: the router uses its
/// service name to pick S3 or a JSON service.
pub fn peek_scope(uri: &Uri, headers: &HeaderMap) -> Option<Scope> {
    if let Some(auth) = headers
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    {
        let params = auth.split_once(' ')?.1;
        let credential = auth_params(params)
            .into_iter()
            .find(|(k, _)| *k == "Credential")
            .map(|(_, v)| v)?;
        return Scope::parse(credential);
    }
    let query = uri.query()?;
    query_pairs(query)
        .into_iter()
        .find(|(k, _)| k == "X-Amz-Credential")
        .and_then(|(_, v)| Scope::parse(&v))
}

fn auth_params(params: &str) -> Vec<(&str, &str)> {
    params
        .split(',')
        .filter_map(|part| part.trim().split_once('='))
        .map(|(k, v)| (k.trim(), v.trim()))
        .collect()
}

fn header_str<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

fn parse_request(req: &RequestView<'_>) -> Result<Parsed, AuthError> {
    if let Some(auth) = req.headers.get(http::header::AUTHORIZATION) {
        let auth = auth
            .to_str()
            .map_err(|_| AuthError::IncompleteSignature("Authorization header is not valid ASCII".into()))?;
        let (algorithm, params) = auth.split_once(' ').unwrap_or((auth, ""));
        if algorithm != ALGORITHM {
            return Err(AuthError::IncompleteSignature(format!(
                "Unsupported AWS 'algorithm': '{algorithm}'"
            )));
        }
        let params = auth_params(params);
        let get = |name: &str| {
            params
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).to_owned())
        };
        let (credential, signed_headers, signature) =
            (get("Credential"), get("SignedHeaders"), get("Signature"));
        let mut missing = String::new();
        for (name, value) in [
            ("Credential", &credential),
            ("Signature", &signature),
            ("SignedHeaders", &signed_headers),
        ] {
            if value.is_none() {
                missing.push_str(&format!("Authorization header requires '{name}' parameter. "));
            }
        }
        let (Some(credential), Some(signed_headers), Some(signature)) =
            (credential, signed_headers, signature)
        else {
            return Err(AuthError::IncompleteSignature(format!(
                "{missing}Authorization={auth}"
            )));
        };
        let amz_date = match header_str(req.headers, "x-amz-date") {
            Some(d) => Some(d.to_owned()),
            None => {
                header_str(req.headers, "date").map(|d| rfc1123_to_basic(d).unwrap_or_else(|| d.to_owned()))
            }
        };
        if amz_date.is_none() {
            return Err(AuthError::IncompleteSignature(format!(
                "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. \
                 Authorization={auth}"
            )));
        }
        return Ok(Parsed {
            credential,
            signed_headers,
            signature,
            amz_date,
            presigned_expires: None,
            security_token: header_str(req.headers, "x-amz-security-token").map(str::to_owned),
        });
    }
    // A presigned URL carries the same parts in the query string.
    let pairs = req.uri.query().map(query_pairs).unwrap_or_default();
    let get = |name: &str| pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
    let Some(algorithm) = get("X-Amz-Algorithm") else {
        return Err(AuthError::MissingAuthenticationToken);
    };
    if algorithm != ALGORITHM {
        return Err(AuthError::IncompleteSignature(format!(
            "Unsupported AWS 'algorithm': '{algorithm}'"
        )));
    }
    let mut missing = Vec::new();
    for name in [
        "X-Amz-Credential",
        "X-Amz-Signature",
        "X-Amz-SignedHeaders",
        "X-Amz-Date",
    ] {
        if get(name).is_none() {
            missing.push(format!("'{name}'"));
        }
    }
    if !missing.is_empty() {
        return Err(AuthError::IncompleteSignature(format!(
            "AWS query-string parameters must include {}. Re-examine the query-string parameters.",
            missing.join(", ")
        )));
    }
    Ok(Parsed {
        credential: get("X-Amz-Credential").unwrap_or_default(),
        signed_headers: get("X-Amz-SignedHeaders").unwrap_or_default(),
        signature: get("X-Amz-Signature").unwrap_or_default(),
        amz_date: get("X-Amz-Date"),
        presigned_expires: Some(
            get("X-Amz-Expires")
                .and_then(|e| e.parse().ok())
                .unwrap_or(604_800),
        ),
        security_token: get("X-Amz-Security-Token"),
    })
}

/// Verifies a request. `expected_service` is the signing name the routed service requires.
pub fn verify(
    req: &RequestView<'_>,
    identities: &Identities,
    expected_service: &str,
    path_style: PathStyle,
    now: OffsetDateTime,
) -> Result<Verified, Box<Failure>> {
    let parsed = parse_request(req).map_err(|e| Box::new(Failure::bare(e)))?;
    let Some(scope) = Scope::parse(&parsed.credential) else {
        return Err(Box::new(Failure::bare(AuthError::IncompleteSignature(format!(
            "Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, \
             got '{}'",
            parsed.credential
        )))));
    };
    // Once the key is known every later failure can be recorded against its identity.
    let known = identities.lookup(&scope.access_key_id);
    let fail = |error: AuthError, principal: Option<Arc<Principal>>| {
        Box::new(Failure {
            error,
            principal,
            scope: Some(scope.clone()),
        })
    };
    let amz_date = parsed.amz_date.clone().unwrap_or_default();
    let Some(request_time) = parse_basic(&amz_date) else {
        return Err(fail(
            AuthError::IncompleteSignature(format!(
                "Date must be in ISO-8601 'basic format'. Got '{amz_date}'. See http://en.wikipedia.org/wiki/ISO_8601"
            )),
            known.clone(),
        ));
    };
    if scope.terminator != "aws4_request" {
        return Err(fail(
            AuthError::InvalidSignature(format!(
                "Credential should be scoped with a valid terminator: 'aws4_request', not '{}'. ",
                scope.terminator
            )),
            known.clone(),
        ));
    }
    if scope.service != expected_service {
        return Err(fail(
            AuthError::InvalidSignature(format!(
                "Credential should be scoped to correct service: '{expected_service}'. "
            )),
            known.clone(),
        ));
    }
    if !valid_region(&scope.region) {
        return Err(fail(
            AuthError::InvalidSignature(format!(
                "Credential should be scoped to a valid region, not '{}'. ",
                scope.region
            )),
            known.clone(),
        ));
    }
    if amz_date.get(..8) != Some(scope.date.as_str()) {
        return Err(fail(
            AuthError::InvalidSignature(format!(
                "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: \
                 '{}' != '{}', from '{amz_date}'.",
                scope.date,
                amz_date.get(..8).unwrap_or(&amz_date)
            )),
            known.clone(),
        ));
    }
    let Some(principal) = known.clone() else {
        return Err(fail(AuthError::UnrecognizedClient, None));
    };
    match (&principal.session_token, &parsed.security_token) {
        (Some(expected), Some(sent)) if expected == sent => {}
        (None, None) => {}
        // A generated principal has no token to compare with.
        (None, Some(_)) if principal.generated => {}
        _ => return Err(fail(AuthError::UnrecognizedClient, known)),
    }
    if principal.expiration.is_some_and(|exp| now >= exp) {
        return Err(fail(AuthError::ExpiredToken, known));
    }
    if let Some(expires) = parsed.presigned_expires {
        if now > request_time + Duration::seconds(expires) {
            return Err(fail(AuthError::RequestExpired, known));
        }
    } else if request_time < now - MAX_SKEW {
        return Err(fail(
            AuthError::InvalidSignature(format!(
                "Signature expired: {amz_date} is now earlier than {} ({} - 15 min.)",
                basic(now - MAX_SKEW),
                basic(now)
            )),
            known,
        ));
    } else if request_time > now + MAX_SKEW {
        return Err(fail(
            AuthError::InvalidSignature(format!(
                "Signature not yet current: {amz_date} is still later than {} ({} + 15 min.)",
                basic(now + MAX_SKEW),
                basic(now)
            )),
            known,
        ));
    }
    if !principal.generated {
        let payload_hash = if parsed.presigned_expires.is_some() {
            "UNSIGNED-PAYLOAD".to_owned()
        } else {
            match header_str(req.headers, "x-amz-content-sha256") {
                Some(h) => h.to_owned(),
                None => hex_lower(&Sha256::digest(req.body)),
            }
        };
        let canonical = canonical_request(
            req,
            &parsed.signed_headers,
            &payload_hash,
            path_style,
            parsed.presigned_expires.is_some(),
        );
        let expected = cached_signature(&principal, &scope, &amz_date, &canonical);
        if !constant_time_eq(expected.as_bytes(), parsed.signature.as_bytes()) {
            return Err(fail(AuthError::mismatch(), known));
        }
    }
    Ok(Verified { principal, scope })
}

/// Signing keys kept per principal (the scopes it used last).
const CACHED_KEYS: usize = 8;

fn cached_signature(principal: &Principal, scope: &Scope, amz_date: &str, canonical: &[u8]) -> String {
    // Compared piece by piece, so a hit (nearly every call) allocates nothing.
    let same_scope = |cached: &str| {
        let mut it = cached.splitn(3, '/');
        it.next() == Some(scope.date.as_str())
            && it.next() == Some(scope.region.as_str())
            && it.next() == Some(scope.service.as_str())
    };
    let mut cache = principal.signing_key.lock().unwrap_or_else(|e| e.into_inner());
    let key = match cache.iter().find(|(cached, _)| same_scope(cached)) {
        Some((_, key)) => *key,
        None => {
            let key = signing_key(&principal.secret, &scope.date, &scope.region, &scope.service);
            if cache.len() >= CACHED_KEYS {
                cache.remove(0);
            }
            let id = format!("{}/{}/{}", scope.date, scope.region, scope.service);
            cache.push((id, key));
            key
        }
    };
    drop(cache);
    hex_lower(&hmac(&key, string_to_sign(scope, amz_date, canonical).as_bytes()))
}

/// Lower-case hex, as SigV4 writes hashes and signatures. `hex::encode` collects a character
/// at a time through an iterator; this runs three times on every call's path.
fn hex_lower(bytes: &[u8]) -> String {
    let mut out = vec![0; bytes.len() * 2];
    // The output is exactly twice the input, the only length `encode_to_slice` accepts.
    if hex::encode_to_slice(bytes, &mut out).is_err() {
        return hex::encode(bytes);
    }
    String::from_utf8(out).unwrap_or_else(|_| hex::encode(bytes))
}

/// The AWS Regions a credential scope may name. A made-up region is refused as AWS refuses a
/// scope that does not match the endpoint: state, keys and digests exist per Region, so a
/// client must not be able to create them without bound.
pub const AWS_REGIONS: &[&str] = &[
    "us-east-1",
    "us-east-2",
    "us-west-1",
    "us-west-2",
    "af-south-1",
    "ap-east-1",
    "ap-east-2",
    "ap-south-1",
    "ap-south-2",
    "ap-southeast-1",
    "ap-southeast-2",
    "ap-southeast-3",
    "ap-southeast-4",
    "ap-southeast-5",
    "ap-southeast-6",
    "ap-southeast-7",
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-northeast-3",
    "ca-central-1",
    "ca-west-1",
    "eu-central-1",
    "eu-central-2",
    "eu-west-1",
    "eu-west-2",
    "eu-west-3",
    "eu-south-1",
    "eu-south-2",
    "eu-north-1",
    "il-central-1",
    "me-south-1",
    "me-central-1",
    "mx-central-1",
    "sa-east-1",
    "us-gov-east-1",
    "us-gov-west-1",
    "cn-north-1",
    "cn-northwest-1",
    "eusc-de-east-1",
];

fn valid_region(region: &str) -> bool {
    AWS_REGIONS.contains(&region)
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// `YYYYMMDDTHHMMSSZ`.
fn parse_basic(s: &str) -> Option<OffsetDateTime> {
    let b = s.as_bytes();
    if b.len() != 16 || b.get(8) != Some(&b'T') || b.get(15) != Some(&b'Z') {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<u32> {
        let part = s.get(r)?;
        part.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| part.parse().ok())?
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

fn basic(t: OffsetDateTime) -> String {
    cloudtrail::timefmt::compact_seconds(t)
}

/// `Sun, 06 Nov 1994 08:49:37 GMT` to `19941106T084937Z`.
fn rfc1123_to_basic(s: &str) -> Option<String> {
    let format = time::macros::format_description!(
        "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
    );
    let t = time::PrimitiveDateTime::parse(s.trim(), format)
        .ok()?
        .assume_utc();
    Some(basic(t))
}

fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~')
}

/// Percent-encodes everything but the unreserved characters (and `/` when `keep_slash`).
fn uri_encode(input: &[u8], keep_slash: bool, out: &mut String) {
    for &b in input {
        if is_unreserved(b) || (keep_slash && b == b'/') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
}

fn percent_decode(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| char::from(c).to_digit(16);
        match (
            b.get(i),
            b.get(i + 1).copied().and_then(hex),
            b.get(i + 2).copied().and_then(hex),
        ) {
            (Some(b'%'), Some(h), Some(l)) => {
                out.push(u8::try_from(h * 16 + l).unwrap_or(b'?'));
                i += 3;
            }
            (Some(&c), _, _) => {
                out.push(c);
                i += 1;
            }
            (None, _, _) => break,
        }
    }
    out
}

/// Decoded `key=value` pairs of a raw query string, `+` kept literal as SigV4 requires.
fn query_pairs(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (
                String::from_utf8_lossy(&percent_decode(k)).into_owned(),
                String::from_utf8_lossy(&percent_decode(v)).into_owned(),
            )
        })
        .collect()
}

fn canonical_uri(path: &str, style: PathStyle) -> String {
    let path = if path.is_empty() { "/" } else { path };
    match style {
        PathStyle::S3 => path.to_owned(),
        PathStyle::Normalized => {
            let mut segments: Vec<&str> = Vec::new();
            for seg in path.split('/').skip(1) {
                match seg {
                    "." => {}
                    ".." => {
                        segments.pop();
                    }
                    s => segments.push(s),
                }
            }
            let normalized = format!("/{}", segments.join("/"));
            let mut out = String::with_capacity(normalized.len());
            uri_encode(normalized.as_bytes(), true, &mut out);
            out
        }
    }
}

fn canonical_query(query: Option<&str>, presigned: bool) -> String {
    let mut pairs = query.map(query_pairs).unwrap_or_default();
    if presigned {
        pairs.retain(|(k, _)| k != "X-Amz-Signature");
    }
    let mut encoded: Vec<(String, String)> = pairs
        .into_iter()
        .map(|(k, v)| {
            let (mut ek, mut ev) = (String::new(), String::new());
            uri_encode(k.as_bytes(), false, &mut ek);
            uri_encode(v.as_bytes(), false, &mut ev);
            (ek, ev)
        })
        .collect();
    encoded.sort();
    encoded
        .into_iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

/// `trimall`: strip, and squeeze runs of spaces into one.
fn trim_all(value: &[u8], out: &mut Vec<u8>) {
    let mut prev_space = false;
    let start = out.len();
    for &b in value {
        let space = b == b' ' || b == b'\t';
        if space {
            if !prev_space && out.len() > start {
                out.push(b' ');
            }
        } else {
            out.push(b);
        }
        prev_space = space;
    }
    while out.len() > start && out.last() == Some(&b' ') {
        out.pop();
    }
}

fn canonical_request(
    req: &RequestView<'_>,
    signed_headers: &str,
    payload_hash: &str,
    style: PathStyle,
    presigned: bool,
) -> Vec<u8> {
    let mut out = Vec::with_capacity(512);
    out.extend_from_slice(req.method.as_str().as_bytes());
    out.push(b'\n');
    out.extend_from_slice(canonical_uri(req.uri.path(), style).as_bytes());
    out.push(b'\n');
    out.extend_from_slice(canonical_query(req.uri.query(), presigned).as_bytes());
    out.push(b'\n');
    for name in signed_headers.split(';') {
        out.extend_from_slice(name.as_bytes());
        out.push(b':');
        let mut first = true;
        for value in req.headers.get_all(name) {
            if !first {
                out.push(b',');
            }
            first = false;
            trim_all(value.as_bytes(), &mut out);
        }
        // HTTP/2 carries the host in :authority; hyper exposes it in the URI.
        if first
            && name == "host"
            && let Some(authority) = req.uri.authority()
        {
            out.extend_from_slice(authority.as_str().as_bytes());
        }
        out.push(b'\n');
    }
    out.push(b'\n');
    out.extend_from_slice(signed_headers.as_bytes());
    out.push(b'\n');
    out.extend_from_slice(payload_hash.as_bytes());
    out
}

fn hmac(key: &[u8], data: &[u8]) -> [u8; 32] {
    // HMAC accepts keys of any length, so this never fails.
    let mut mac = <HmacSha256 as Mac>::new_from_slice(key).unwrap_or_else(|_| {
        <HmacSha256 as Mac>::new_from_slice(&[]).unwrap_or_else(|_| unreachable!("HMAC takes any key"))
    });
    mac.update(data);
    mac.finalize().into_bytes().into()
}

/// The signing key for a scope.
pub fn signing_key(secret: &str, date: &str, region: &str, service: &str) -> [u8; 32] {
    let k_date = hmac(format!("AWS4{secret}").as_bytes(), date.as_bytes());
    let k_region = hmac(&k_date, region.as_bytes());
    let k_service = hmac(&k_region, service.as_bytes());
    hmac(&k_service, b"aws4_request")
}

fn string_to_sign(scope: &Scope, amz_date: &str, canonical: &[u8]) -> String {
    let hash = hex_lower(&Sha256::digest(canonical));
    let mut out = String::with_capacity(160);
    for part in [
        ALGORITHM,
        "\n",
        amz_date,
        "\n",
        &scope.date,
        "/",
        &scope.region,
        "/",
        &scope.service,
        "/",
        &scope.terminator,
        "\n",
        &hash,
    ] {
        out.push_str(part);
    }
    out
}

fn signature(secret: &str, scope: &Scope, amz_date: &str, canonical: &[u8]) -> String {
    let key = signing_key(secret, &scope.date, &scope.region, &scope.service);
    hex_lower(&hmac(&key, string_to_sign(scope, amz_date, canonical).as_bytes()))
}

/// A client-side signer, as botocore signs: every header present except the ones it never signs.
#[derive(Debug, Clone)]
pub struct Signer {
    /// The access key id.
    pub access_key_id: String,
    /// Its secret.
    pub secret_access_key: String,
    /// The session token of temporary credentials.
    pub session_token: Option<String>,
    /// The region to sign for.
    pub region: String,
    /// The signing service name.
    pub service: String,
}

impl Signer {
    /// A signer for long-term credentials.
    pub fn new(access_key_id: &str, secret_access_key: &str, region: &str, service: &str) -> Self {
        Signer {
            access_key_id: access_key_id.to_owned(),
            secret_access_key: secret_access_key.to_owned(),
            session_token: None,
            region: region.to_owned(),
            service: service.to_owned(),
        }
    }

    /// Adds a session token (sent and signed as `X-Amz-Security-Token`).
    pub fn with_session_token(mut self, token: &str) -> Self {
        self.session_token = Some(token.to_owned());
        self
    }

    /// Adds `X-Amz-Date`, `X-Amz-Security-Token` and `Authorization` to `headers`. The caller
    /// must already have set `Host` (and every other header it wants signed).
    pub fn sign(
        &self,
        method: &Method,
        uri: &Uri,
        headers: &mut HeaderMap,
        body: &[u8],
        now: OffsetDateTime,
    ) {
        let amz_date = basic(now);
        if let Ok(v) = http::HeaderValue::from_str(&amz_date) {
            headers.insert("x-amz-date", v);
        }
        if let Some(token) = &self.session_token
            && let Ok(v) = http::HeaderValue::from_str(token)
        {
            headers.insert("x-amz-security-token", v);
        }
        headers.remove(http::header::AUTHORIZATION);
        let mut names: Vec<String> = headers
            .keys()
            .map(|k| k.as_str().to_owned())
            .filter(|k| {
                !matches!(
                    k.as_str(),
                    "user-agent"
                        | "expect"
                        | "connection"
                        | "keep-alive"
                        | "transfer-encoding"
                        | "x-amzn-trace-id"
                )
            })
            .collect();
        names.sort();
        names.dedup();
        let signed_headers = names.join(";");
        let scope = Scope {
            access_key_id: self.access_key_id.clone(),
            date: amz_date.get(..8).unwrap_or_default().to_owned(),
            region: self.region.clone(),
            service: self.service.clone(),
            terminator: "aws4_request".to_owned(),
        };
        let view = RequestView {
            method,
            uri,
            headers,
            body,
        };
        let payload_hash = match header_str(headers, "x-amz-content-sha256") {
            Some(h) => h.to_owned(),
            None => hex::encode(Sha256::digest(body)),
        };
        let style = if self.service == "s3" {
            PathStyle::S3
        } else {
            PathStyle::Normalized
        };
        let canonical = canonical_request(&view, &signed_headers, &payload_hash, style, false);
        let sig = signature(&self.secret_access_key, &scope, &amz_date, &canonical);
        let auth = format!(
            "{ALGORITHM} Credential={}/{}/{}/{}/aws4_request, SignedHeaders={signed_headers}, Signature={sig}",
            self.access_key_id, scope.date, self.region, self.service
        );
        if let Ok(v) = http::HeaderValue::from_str(&auth) {
            headers.insert(http::header::AUTHORIZATION, v);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::FileConfig;
    use time::macros::datetime;

    #[test]
    fn hex_lower_matches_the_hex_crate() {
        let all: Vec<u8> = (0..=255).collect();
        assert_eq!(hex_lower(&all), hex::encode(&all));
    }

    /// The worked example of the AWS General Reference ("Examples of the complete Signature
    /// Version 4 signing process": IAM ListUsers, 2015-08-30).
    #[test]
    fn aws_documentation_vector() {
        let secret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
        assert_eq!(
            hex::encode(signing_key(secret, "20150830", "us-east-1", "iam")),
            "c4afb1cc5771d871763a393e44b703571b55cc28424d1a5e86da6ed3c154a4b9"
        );
        let uri: Uri = "/?Action=ListUsers&Version=2010-05-08".parse().unwrap();
        let mut headers = HeaderMap::new();
        headers.insert("host", "iam.amazonaws.com".parse().unwrap());
        headers.insert(
            "content-type",
            "application/x-www-form-urlencoded; charset=utf-8"
                .parse()
                .unwrap(),
        );
        headers.insert("x-amz-date", "20150830T123600Z".parse().unwrap());
        let view = RequestView {
            method: &Method::GET,
            uri: &uri,
            headers: &headers,
            body: b"",
        };
        let canonical = canonical_request(
            &view,
            "content-type;host;x-amz-date",
            EMPTY_SHA256,
            PathStyle::Normalized,
            false,
        );
        assert_eq!(
            hex::encode(Sha256::digest(&canonical)),
            "f536975d06c0309214f805bb90ccff089219ecd68b2577efef23edd43b7e1a59"
        );
        let scope = Scope::parse("AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request").unwrap();
        assert_eq!(
            signature(secret, &scope, "20150830T123600Z", &canonical),
            "5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7"
        );
    }

    fn signed(signer: &Signer, now: OffsetDateTime) -> (Uri, HeaderMap, Vec<u8>) {
        let uri: Uri = "/".parse().unwrap();
        let mut headers = HeaderMap::new();
        headers.insert("host", "localhost:4599".parse().unwrap());
        headers.insert(
            "x-amz-target",
            "AmazonPersonalize.ListDatasetGroups".parse().unwrap(),
        );
        headers.insert("content-type", "application/x-amz-json-1.1".parse().unwrap());
        headers.insert("user-agent", "test".parse().unwrap());
        let body = b"{}".to_vec();
        signer.sign(&Method::POST, &uri, &mut headers, &body, now);
        (uri, headers, body)
    }

    fn check(
        uri: &Uri,
        headers: &HeaderMap,
        body: &[u8],
        now: OffsetDateTime,
    ) -> Result<Verified, Box<Failure>> {
        let ids = Identities::from_config(&FileConfig::embedded_default());
        let view = RequestView {
            method: &Method::POST,
            uri,
            headers,
            body,
        };
        verify(&view, &ids, "personalize", PathStyle::Normalized, now)
    }

    const ALICE: (&str, &str) = ("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY");

    #[test]
    fn one_key_in_several_regions_keeps_a_signing_key_per_scope() {
        let now = datetime!(2026-03-01 10:00:00 UTC);
        let ids = Identities::from_config(&FileConfig::embedded_default());
        let regions = AWS_REGIONS.get(..CACHED_KEYS + 2).unwrap();
        // Alternating Regions, then more Regions than the cache holds: every call verifies,
        // and a wrong secret still fails after its scope's key was cached.
        for region in regions
            .iter()
            .chain(regions.iter().rev())
            .chain(["us-east-1"].iter())
        {
            let (uri, headers, body) = signed(&Signer::new(ALICE.0, ALICE.1, region, "personalize"), now);
            let view = RequestView {
                method: &Method::POST,
                uri: &uri,
                headers: &headers,
                body: &body,
            };
            let ok = verify(&view, &ids, "personalize", PathStyle::Normalized, now).unwrap();
            assert_eq!(ok.scope.region, *region);
            assert!(ok.principal.signing_key.lock().unwrap().len() <= CACHED_KEYS);
        }
        let wrong = Signer::new(ALICE.0, "not-the-secret", "us-east-1", "personalize");
        let (uri, headers, body) = signed(&wrong, now);
        let view = RequestView {
            method: &Method::POST,
            uri: &uri,
            headers: &headers,
            body: &body,
        };
        let err = verify(&view, &ids, "personalize", PathStyle::Normalized, now).unwrap_err();
        assert_eq!(err.error.code(), "InvalidSignatureException");
    }

    #[test]
    fn signer_and_verifier_agree_and_each_failure_has_its_error() {
        let now = datetime!(2026-03-01 10:00:00 UTC);
        let alice = Signer::new(ALICE.0, ALICE.1, "us-east-1", "personalize");
        let (uri, headers, body) = signed(&alice, now);
        let ok = check(&uri, &headers, &body, now).unwrap();
        assert_eq!(ok.scope.region, "us-east-1");

        // Tampered body.
        let err = check(&uri, &headers, b"{\"a\":1}", now).unwrap_err();
        assert_eq!(err.error.code(), "InvalidSignatureException");
        assert!(err.principal.is_some());

        // Skew both ways.
        let err = check(&uri, &headers, &body, now + Duration::minutes(16)).unwrap_err();
        assert!(
            err.error
                .to_string()
                .starts_with("Signature expired: 20260301T100000Z is now earlier than")
        );
        let err = check(&uri, &headers, &body, now - Duration::minutes(16)).unwrap_err();
        assert!(err.error.to_string().starts_with("Signature not yet current:"));
        assert!(check(&uri, &headers, &body, now + Duration::minutes(14)).is_ok());

        // Missing header.
        let mut h = headers.clone();
        h.remove("authorization");
        assert_eq!(
            check(&uri, &h, &body, now).unwrap_err().error,
            AuthError::MissingAuthenticationToken
        );

        // Incomplete header.
        let mut h = headers.clone();
        h.insert(
            "authorization",
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20260301/us-east-1/personalize/aws4_request"
                .parse()
                .unwrap(),
        );
        let err = check(&uri, &h, &body, now).unwrap_err();
        assert_eq!(err.error.code(), "IncompleteSignatureException");
        assert!(err.error.to_string().contains("requires 'Signature' parameter"));

        // Unknown key.
        let mallory = Signer::new("AKIANOTCONFIGURED000", "x", "us-east-1", "personalize");
        let (uri2, h2, b2) = signed(&mallory, now);
        let err = check(&uri2, &h2, &b2, now).unwrap_err();
        assert_eq!(err.error, AuthError::UnrecognizedClient);
        assert!(err.principal.is_none());

        // A region AWS does not have.
        let nowhere = Signer::new(ALICE.0, ALICE.1, "moon-base-1", "personalize");
        let (uri4, h4, b4) = signed(&nowhere, now);
        assert_eq!(
            check(&uri4, &h4, &b4, now).unwrap_err().error.to_string(),
            "Credential should be scoped to a valid region, not 'moon-base-1'. "
        );

        // Wrong service in the scope.
        let wrong = Signer::new(ALICE.0, ALICE.1, "us-east-1", "cloudtrail");
        let (uri3, h3, b3) = signed(&wrong, now);
        let err = check(&uri3, &h3, &b3, now).unwrap_err();
        assert_eq!(
            err.error.to_string(),
            "Credential should be scoped to correct service: 'personalize'. "
        );
    }

    #[test]
    fn session_tokens_and_expiry() {
        let now = datetime!(2026-03-01 10:00:00 UTC);
        let session = Signer::new(
            "ASIAIOSFODNN7EXAMPLE",
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY",
            "eu-west-1",
            "personalize",
        );
        let (uri, h, b) = signed(&session, now);
        let err = check(&uri, &h, &b, now).unwrap_err();
        assert_eq!(err.error, AuthError::UnrecognizedClient);
        assert!(err.principal.is_some());
        let good = session.with_session_token("IQoJb3JpZ2luX2VjEXAMPLESESSIONTOKENFORTHEPERSONALIZEEMULATOR");
        let (uri, h, b) = signed(&good, now);
        assert_eq!(check(&uri, &h, &b, now).unwrap().scope.region, "eu-west-1");

        let stale = Signer::new(
            "ASIAIOSFODNN7EXPIRED",
            "expiredSecretKey/K7MDENG/bPxRfiCYEXAMPLEKEY",
            "us-east-1",
            "personalize",
        )
        .with_session_token("IQoJb3JpZ2luX2VjEXAMPLEEXPIREDSESSIONTOKEN");
        let (uri, h, b) = signed(&stale, now);
        assert_eq!(
            check(&uri, &h, &b, now).unwrap_err().error,
            AuthError::ExpiredToken
        );
    }

    #[test]
    fn canonical_pieces() {
        assert_eq!(canonical_uri("/a/./b/../c d", PathStyle::Normalized), "/a/c%20d");
        assert_eq!(canonical_uri("/my%20key", PathStyle::Normalized), "/my%2520key");
        assert_eq!(canonical_uri("/my%20key", PathStyle::S3), "/my%20key");
        assert_eq!(canonical_query(Some("b=2&a=1&a=0&c"), false), "a=0&a=1&b=2&c=");
        assert_eq!(canonical_query(Some("prefix=a%2Fb c"), false), "prefix=a%2Fb%20c");
        let mut out = Vec::new();
        trim_all(b"  a   b  c ", &mut out);
        assert_eq!(out, b"a b c");
        assert_eq!(
            rfc1123_to_basic("Sun, 06 Nov 1994 08:49:37 GMT").unwrap(),
            "19941106T084937Z"
        );
        assert!(parse_basic("2015-08-30T12:36:00Z").is_none());
        let mut headers = HeaderMap::new();
        headers.insert(
            "authorization",
            "AWS4-HMAC-SHA256 Credential=AKID/20150830/us-west-2/s3/aws4_request, SignedHeaders=host, Signature=x"
                .parse()
                .unwrap(),
        );
        let scope = peek_scope(&"/".parse().unwrap(), &headers).unwrap();
        assert_eq!(
            (scope.region.as_str(), scope.service.as_str()),
            ("us-west-2", "s3")
        );
    }
}
