//! The crate against the outside world: aws-sigv4 (the AWS SDK for Rust's signer) as an oracle
//! for our verifier and our signer, the AWS documentation's worked example, and the rules AWS
//! enforces, each with its error.

#![allow(
    clippy::unwrap_used,
    reason = "a test that unwraps, helpers included, fails as a test should"
)]

mod one_sigv4;
mod oracle;
mod rules;
mod vectors;

use http::{HeaderMap, Method, Uri};
use sigv4::{AuthError, Credential, Expected, Policy, Rejection, RequestParts, Scope, Verified};
use time::OffsetDateTime;
use time::macros::datetime;

/// The instant every request here is signed at.
pub(crate) const NOW: OffsetDateTime = datetime!(2026-03-01 10:00:00 UTC);

pub(crate) const KEY: &str = "AKIAIOSFODNN7EXAMPLE";
pub(crate) const SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
pub(crate) const TEMP_KEY: &str = "ASIAIOSFODNN7EXAMPLE";
pub(crate) const TOKEN: &str = "IQoJb3JpZ2luX2VjEXAMPLESESSIONTOKEN";

/// A key store with one long-term key and one temporary key (which needs [`TOKEN`]).
#[derive(Debug)]
pub(crate) struct Secret(&'static str);

impl Credential for Secret {
    fn secret_access_key(&self) -> Option<&str> {
        Some(self.0)
    }
}

pub(crate) fn lookup(scope: &Scope, token: Option<&str>) -> Result<Secret, AuthError> {
    match (scope.access_key_id.as_str(), token) {
        (KEY, None) => Ok(Secret(SECRET)),
        (TEMP_KEY, Some(TOKEN)) => Ok(Secret(SECRET)),
        (KEY | TEMP_KEY, _) => Err(AuthError::InvalidToken),
        _ => Err(AuthError::UnknownAccessKey),
    }
}

pub(crate) fn any_region(r: &str) -> bool {
    r.len() > 2
        && r.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// Runs the verifier on a request at `now`.
pub(crate) fn check(
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
    policy: Policy,
    service: &str,
    now: OffsetDateTime,
) -> Result<Verified<Secret>, Box<Rejection>> {
    let parts = RequestParts {
        method,
        uri,
        headers,
        body,
    };
    let expected = Expected {
        service,
        region: &any_region,
    };
    sigv4::verify(&parts, &policy, &expected, now, lookup)
}

/// The error of a request that must fail.
pub(crate) fn error_of(r: Result<Verified<Secret>, Box<Rejection>>) -> AuthError {
    match r {
        Ok(v) => panic!("verified, scope {:?}", v.scope),
        Err(e) => e.error,
    }
}
