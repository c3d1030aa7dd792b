//! SigV4 for the emulator: the `sigv4` crate's verifier over the configured identities. This
//! adds what only the emulator knows: which access keys exist (and their session tokens and
//! expiry), which Regions it serves, and who a failed request is to be recorded against.

use std::sync::Arc;

use time::OffsetDateTime;

use crate::identity::{Identities, Principal};

pub use sigv4::{ALGORITHM, AuthError, Credentials, EMPTY_SHA256, PathStyle, Policy, Scope, Signer};

/// The parts of a request SigV4 looks at.
pub type RequestView<'a> = sigv4::RequestParts<'a>;

/// A request that passed verification.
#[derive(Debug, Clone)]
pub struct Verified {
    /// Who signed it.
    pub principal: Arc<Principal>,
    /// The scope it was signed for.
    pub scope: Scope,
}

/// A request that failed; `principal` is set when its credential names a known access key,
/// so the failure can still be recorded against that identity.
#[derive(Debug, Clone)]
pub struct Failure {
    /// What went wrong.
    pub error: AuthError,
    /// The identity of the access key, when it was known.
    pub principal: Option<Arc<Principal>>,
    /// The scope, when the credential had five parts.
    pub scope: Option<Scope>,
}

impl sigv4::Credential for Principal {
    fn secret_access_key(&self) -> Option<&str> {
        // A generated principal's secret is not known, so its signature cannot be checked.
        (!self.generated).then_some(self.secret.as_str())
    }

    fn signing_keys(&self) -> Option<&sigv4::SigningKeyCache> {
        Some(&self.signing_key)
    }
}

/// The credential scope of a request, read without verifying anything: the router uses its
/// service name to pick S3 or a JSON service.
pub fn peek_scope(uri: &http::Uri, headers: &http::HeaderMap) -> Option<Scope> {
    if let Some(auth) = headers
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    {
        return sigv4::parse_authorization(auth)
            .ok()?
            .credential
            .and_then(Scope::parse);
    }
    sigv4::canonical::query_pairs(uri.query()?)
        .into_iter()
        .find(|(k, _)| k.as_slice() == b"X-Amz-Credential")
        .and_then(|(_, v)| Scope::parse(std::str::from_utf8(&v).ok()?))
}

/// Verifies a request for the service whose signing name is `expected_service`, under that
/// service's rules (a [`Policy`], or the [`PathStyle`] that stands for S3's rules or everyone
/// else's).
pub fn verify(
    req: &RequestView<'_>,
    identities: &Identities,
    regions: &Regions,
    expected_service: &str,
    rules: impl Into<Policy>,
    now: OffsetDateTime,
) -> Result<Verified, Box<Failure>> {
    let valid_region = |r: &str| regions.contains(r);
    let expected = sigv4::Expected {
        service: expected_service,
        region: &valid_region,
    };
    let lookup = |scope: &Scope, token: Option<&str>| {
        let principal = identities
            .lookup(&scope.access_key_id)
            .ok_or(AuthError::UnknownAccessKey)?;
        match (&principal.session_token, token) {
            (Some(expected), Some(sent)) if expected == sent => {}
            (None, None) => {}
            // A generated principal has no token to compare with.
            (None, Some(_)) if principal.generated => {}
            _ => return Err(AuthError::InvalidToken),
        }
        if principal.expiration.is_some_and(|exp| now >= exp) {
            return Err(AuthError::ExpiredToken);
        }
        Ok(principal)
    };
    match sigv4::verify(req, &rules.into(), &expected, now, lookup) {
        Ok(v) => Ok(Verified {
            principal: v.credential,
            scope: v.scope,
        }),
        Err(rejection) => {
            let sigv4::Rejection { error, scope } = *rejection;
            // Every failure whose credential names a known key is that key's, whichever check
            // it failed (an unknown key has nobody to be recorded against).
            // A scope a client made up (a Region AWS does not have, a malformed date, key or
            // service) is never recorded: its Region would become a bucket prefix, an Event
            // history directory and a digest signing key.
            let principal = match error {
                AuthError::UnknownAccessKey => None,
                _ => scope
                    .as_ref()
                    .filter(|s| well_formed_scope(s, regions))
                    .and_then(|s| identities.lookup(&s.access_key_id)),
            };
            Err(Box::new(Failure {
                error,
                principal,
                scope,
            }))
        }
    }
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

/// The Regions a credential scope may name: [`AWS_REGIONS`] and the ones the configuration adds
/// (`server.extra_regions`, for a Region newer than this build).
#[derive(Debug, Clone, Default)]
pub struct Regions {
    extra: Vec<String>,
}

impl Regions {
    /// AWS's Regions and `extra`, each of which must pass [`Regions::valid_name`].
    pub fn new(extra: &[String]) -> Regions {
        Regions {
            extra: extra.iter().filter(|r| Self::valid_name(r)).cloned().collect(),
        }
    }

    /// Every Region a scope may name: AWS's, then the extra ones.
    pub fn all(&self) -> Vec<String> {
        AWS_REGIONS
            .iter()
            .map(|r| (*r).to_owned())
            .chain(self.extra.iter().cloned())
            .collect()
    }

    /// Whether a scope may name `region`.
    pub fn contains(&self, region: &str) -> bool {
        AWS_REGIONS.contains(&region) || self.extra.iter().any(|r| r == region)
    }

    /// Whether `name` has the shape of a Region name (`xx-name-1`): lower-case letters, digits
    /// and inner dashes, at most 32 characters, so it is safe as a path segment and a key.
    pub fn valid_name(name: &str) -> bool {
        (4..=32).contains(&name.len())
            && name.contains('-')
            && !name.starts_with('-')
            && !name.ends_with('-')
            && !name.contains("--")
            && name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    }
}

/// The largest request body kept in the record of a refused authentication; a larger one is
/// recorded without `requestParameters`, so unauthenticated bytes cannot fill the spool.
pub const REFUSED_BODY_LIMIT: usize = 16 * 1024;

/// Whether every part of a scope a record or a path could use is known to be well-formed: an
/// AWS Region, a service name, a `YYYYMMDD` date and an access key id of AWS's shape.
fn well_formed_scope(scope: &Scope, regions: &Regions) -> bool {
    let key = &scope.access_key_id;
    let service = &scope.service;
    regions.contains(&scope.region)
        && (1..=64).contains(&service.len())
        && service
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && scope.date.len() == 8
        && scope.date.bytes().all(|b| b.is_ascii_digit())
        && (16..=128).contains(&key.len())
        && key.bytes().all(|b| b.is_ascii_alphanumeric())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::FileConfig;
    use http::{HeaderMap, Method, Uri};
    use time::Duration;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2026-03-01 10:00:00 UTC);
    const ALICE: (&str, &str) = ("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY");

    fn signed(signer: &Signer) -> (Uri, HeaderMap) {
        let uri: Uri = "/".parse().unwrap();
        let mut headers = HeaderMap::new();
        headers.insert("host", "localhost:4599".parse().unwrap());
        headers.insert(
            "x-amz-target",
            "AmazonPersonalize.ListDatasetGroups".parse().unwrap(),
        );
        headers.insert("content-type", "application/x-amz-json-1.1".parse().unwrap());
        signer.sign(&Method::POST, &uri, &mut headers, b"{}", NOW);
        (uri, headers)
    }

    fn check(
        ids: &Identities,
        uri: &Uri,
        headers: &HeaderMap,
        now: OffsetDateTime,
    ) -> Result<Verified, Box<Failure>> {
        let view = RequestView {
            method: &Method::POST,
            uri,
            headers,
            body: b"{}",
        };
        verify(
            &view,
            ids,
            &Regions::default(),
            "personalize",
            PathStyle::Normalized,
            now,
        )
    }

    fn ids() -> Identities {
        Identities::from_config(&FileConfig::embedded_default())
    }

    #[test]
    fn one_key_in_several_regions_keeps_a_signing_key_per_scope() {
        let ids = ids();
        let regions = AWS_REGIONS.get(..sigv4::SigningKeyCache::CAPACITY + 2).unwrap();
        // Alternating Regions, then more Regions than the cache holds: every call verifies,
        // and a wrong secret still fails after its scope's key was cached.
        for region in regions
            .iter()
            .chain(regions.iter().rev())
            .chain(["us-east-1"].iter())
        {
            let (uri, headers) = signed(&Signer::new(ALICE.0, ALICE.1, region, "personalize"));
            let ok = check(&ids, &uri, &headers, NOW).unwrap();
            assert_eq!(ok.scope.region, *region);
            assert!(ok.principal.signing_key.len() <= sigv4::SigningKeyCache::CAPACITY);
        }
        let (uri, headers) = signed(&Signer::new(
            ALICE.0,
            "not-the-secret",
            "us-east-1",
            "personalize",
        ));
        let err = check(&ids, &uri, &headers, NOW).unwrap_err();
        assert_eq!(err.error, AuthError::SignatureMismatch);
        assert_eq!(err.error.code(), "InvalidSignatureException");
    }

    #[test]
    fn failures_are_attributed_to_known_keys() {
        let ids = ids();
        // Skewed.
        let (uri, headers) = signed(&Signer::new(ALICE.0, ALICE.1, "us-east-1", "personalize"));
        let err = check(&ids, &uri, &headers, NOW + Duration::minutes(16)).unwrap_err();
        assert!(err.error.to_string().starts_with("Signature expired:"));
        assert_eq!(
            err.principal.unwrap().identity.user_name.as_deref(),
            Some("alice")
        );
        // No signature at all, but a credential naming alice's key.
        let mut h = headers.clone();
        h.insert(
            "authorization",
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20260301/us-east-1/personalize/aws4_request"
                .parse()
                .unwrap(),
        );
        let err = check(&ids, &uri, &h, NOW).unwrap_err();
        assert_eq!(err.error.code(), "IncompleteSignatureException");
        assert!(err.principal.is_some());
        assert_eq!(err.scope.unwrap().region, "us-east-1");
        // An unknown key is nobody's.
        let (uri, h) = signed(&Signer::new(
            "AKIANOTCONFIGURED000",
            "x",
            "us-east-1",
            "personalize",
        ));
        let err = check(&ids, &uri, &h, NOW).unwrap_err();
        assert_eq!(err.error, AuthError::UnknownAccessKey);
        assert!(err.principal.is_none());
        // A Region AWS does not have.
        let (uri, h) = signed(&Signer::new(ALICE.0, ALICE.1, "moon-base-1", "personalize"));
        assert_eq!(
            check(&ids, &uri, &h, NOW).unwrap_err().error.to_string(),
            "Credential should be scoped to a valid region, not 'moon-base-1'. "
        );
    }

    #[test]
    fn session_tokens_and_expiry() {
        let ids = ids();
        let session = Signer::new(
            "ASIAIOSFODNN7EXAMPLE",
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY",
            "eu-west-1",
            "personalize",
        );
        let (uri, h) = signed(&session);
        let err = check(&ids, &uri, &h, NOW).unwrap_err();
        assert_eq!(err.error, AuthError::InvalidToken);
        assert_eq!(err.error.code(), "UnrecognizedClientException");
        assert!(err.principal.is_some());
        let good = session.with_session_token("IQoJb3JpZ2luX2VjEXAMPLESESSIONTOKENFORTHEPERSONALIZEEMULATOR");
        let (uri, h) = signed(&good);
        assert_eq!(check(&ids, &uri, &h, NOW).unwrap().scope.region, "eu-west-1");
        // A long-term key with a token it does not have.
        let (uri, h) =
            signed(&Signer::new(ALICE.0, ALICE.1, "us-east-1", "personalize").with_session_token("x"));
        assert_eq!(
            check(&ids, &uri, &h, NOW).unwrap_err().error,
            AuthError::InvalidToken
        );

        // Session `stale-session` of the default configuration, expired in 2020.
        let (key, secret) = (
            "ASIAIOSFODNN7EXPIRED",
            "expiredSecretKey/K7MDENG/bPxRfiCYEXAMPLEKEY",
        );
        let stale = Signer::new(key, secret, "us-east-1", "personalize")
            .with_session_token("IQoJb3JpZ2luX2VjEXAMPLEEXPIREDSESSIONTOKEN");
        let (uri, h) = signed(&stale);
        assert_eq!(
            check(&ids, &uri, &h, NOW).unwrap_err().error,
            AuthError::ExpiredToken
        );
    }

    #[test]
    fn routing_reads_the_scope_without_verifying() {
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
        let presigned: Uri = "/b/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKID%2F20150830%2Feu-west-1%2Fs3%2Faws4_request"
            .parse()
            .unwrap();
        assert_eq!(
            peek_scope(&presigned, &HeaderMap::new()).unwrap().region,
            "eu-west-1"
        );
        assert!(peek_scope(&"/".parse().unwrap(), &HeaderMap::new()).is_none());
    }
}
