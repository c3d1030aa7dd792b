//! The signer: `Authorization` headers and presigned URLs, as botocore builds them.

use http::{HeaderMap, HeaderValue, Method, Uri};
use time::OffsetDateTime;

use crate::canonical::{
    CanonicalRequest, PathStyle, RequestParts, canonical_request, canonical_uri, encode_query_component,
    sha256_hex, string_to_sign,
};
use crate::keys::{SigningKeyCache, signature};
use crate::parse::format_basic;
use crate::{ALGORITHM, UNSIGNED_PAYLOAD};

/// Credentials that sign requests.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    /// `AKIA…` or `ASIA…`.
    pub access_key_id: String,
    /// The secret access key.
    pub secret_access_key: String,
    /// The session token of temporary credentials.
    pub session_token: Option<String>,
}

impl std::fmt::Debug for Credentials {
    // The secret and the token stay out of logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("access_key_id", &self.access_key_id)
            .field("session_token", &self.session_token.as_ref().map(|_| "…"))
            .finish_non_exhaustive()
    }
}

/// Headers a client never signs: hop-by-hop headers, and ones proxies rewrite.
const UNSIGNED_HEADERS: &[&str] = &[
    "authorization",
    "user-agent",
    "expect",
    "connection",
    "keep-alive",
    "transfer-encoding",
    "x-amzn-trace-id",
];

/// Signs requests for one service in one Region. Derived keys are cached per scope.
#[derive(Debug, Clone)]
pub struct Signer {
    credentials: Credentials,
    region: String,
    service: String,
    keys: SigningKeyCache,
}

impl Signer {
    /// A signer for long-term credentials.
    pub fn new(access_key_id: &str, secret_access_key: &str, region: &str, service: &str) -> Self {
        Self::from_credentials(
            Credentials {
                access_key_id: access_key_id.to_owned(),
                secret_access_key: secret_access_key.to_owned(),
                session_token: None,
            },
            region,
            service,
        )
    }

    /// A signer for any credentials.
    pub fn from_credentials(credentials: Credentials, region: &str, service: &str) -> Self {
        Signer {
            credentials,
            region: region.to_owned(),
            service: service.to_owned(),
            keys: SigningKeyCache::new(),
        }
    }

    /// Adds a session token (sent and signed as `X-Amz-Security-Token`).
    pub fn with_session_token(mut self, token: &str) -> Self {
        self.credentials.session_token = Some(token.to_owned());
        self
    }

    /// The credentials.
    pub fn credentials(&self) -> &Credentials {
        &self.credentials
    }

    /// The Region requests are signed for.
    pub fn region(&self) -> &str {
        &self.region
    }

    fn path_style(&self) -> PathStyle {
        if self.service == "s3" {
            PathStyle::S3
        } else {
            PathStyle::Normalized
        }
    }

    fn credential(&self, region: &str, date: &str) -> String {
        format!(
            "{}/{date}/{region}/{}/aws4_request",
            self.credentials.access_key_id, self.service
        )
    }

    fn sign_canonical(&self, region: &str, amz_date: &str, canonical: &[u8]) -> String {
        let date = amz_date.get(..8).unwrap_or(amz_date);
        let key = self
            .keys
            .get(&self.credentials.secret_access_key, date, region, &self.service);
        signature(
            &key,
            &string_to_sign(amz_date, date, region, &self.service, canonical),
        )
    }

    /// Signs in place, as botocore does: adds `X-Amz-Date`, `X-Amz-Security-Token` (for
    /// temporary credentials), for S3 `X-Amz-Content-SHA256` (unless already set), and
    /// `Authorization`, signing every header present except the ones clients never sign. The
    /// caller must already have set `Host` and every other header it wants signed.
    pub fn sign(
        &self,
        method: &Method,
        uri: &Uri,
        headers: &mut HeaderMap,
        body: &[u8],
        now: OffsetDateTime,
    ) {
        let amz_date = format_basic(now);
        if let Ok(v) = HeaderValue::from_str(&amz_date) {
            headers.insert("x-amz-date", v);
        }
        if let Some(token) = &self.credentials.session_token
            && let Ok(v) = HeaderValue::from_str(token)
        {
            headers.insert("x-amz-security-token", v);
        }
        headers.remove(http::header::AUTHORIZATION);
        let payload_hash = match headers.get("x-amz-content-sha256").and_then(|v| v.to_str().ok()) {
            Some(h) => h.to_owned(),
            None => {
                let hash = sha256_hex(body);
                if self.service == "s3"
                    && let Ok(v) = HeaderValue::from_str(&hash)
                {
                    headers.insert("x-amz-content-sha256", v);
                }
                hash
            }
        };
        let signed_headers = signed_header_names(headers);
        let parts = RequestParts {
            method,
            uri,
            headers,
            body,
        };
        let canonical = canonical_request(&parts, &signed_headers, &payload_hash, self.path_style(), false);
        let sig = self.sign_canonical(&self.region, &amz_date, &canonical);
        let auth = format!(
            "{ALGORITHM} Credential={}, SignedHeaders={signed_headers}, Signature={sig}",
            self.credential(&self.region, amz_date.get(..8).unwrap_or_default()),
        );
        if let Ok(v) = HeaderValue::from_str(&auth) {
            headers.insert(http::header::AUTHORIZATION, v);
        }
    }

    /// A presigned URL for `uri`, valid for `expires_secs` from `now`, signing `headers` (which
    /// must hold `Host`) and an unsigned payload, as S3 clients presign.
    pub fn presign(
        &self,
        method: &Method,
        uri: &Uri,
        headers: &HeaderMap,
        expires_secs: u32,
        now: OffsetDateTime,
    ) -> Result<Uri, http::Error> {
        let amz_date = format_basic(now);
        let signed_headers = signed_header_names(headers);
        let mut query = uri.query().map(str::to_owned).unwrap_or_default();
        let mut add = |k: &str, v: &str| {
            if !query.is_empty() {
                query.push('&');
            }
            query.push_str(k);
            query.push('=');
            query.push_str(&encode_query_component(v));
        };
        add("X-Amz-Algorithm", ALGORITHM);
        add(
            "X-Amz-Credential",
            &self.credential(&self.region, amz_date.get(..8).unwrap_or_default()),
        );
        add("X-Amz-Date", &amz_date);
        add("X-Amz-Expires", &expires_secs.to_string());
        if let Some(token) = &self.credentials.session_token {
            add("X-Amz-Security-Token", token);
        }
        add("X-Amz-SignedHeaders", &signed_headers);
        let with_query = |query: &str| -> Result<Uri, http::Error> {
            let mut parts = uri.clone().into_parts();
            parts.path_and_query = Some(format!("{}?{query}", uri.path()).parse()?);
            Ok(Uri::from_parts(parts)?)
        };
        let unsigned = with_query(&query)?;
        let parts = RequestParts {
            method,
            uri: &unsigned,
            headers,
            body: &[],
        };
        let canonical = canonical_request(&parts, &signed_headers, UNSIGNED_PAYLOAD, self.path_style(), true);
        let sig = self.sign_canonical(&self.region, &amz_date, &canonical);
        query.push_str("&X-Amz-Signature=");
        query.push_str(&sig);
        with_query(&query)
    }

    /// The `Authorization` value for a request the caller assembles itself, with no query:
    /// `headers` are every header to sign, lower-case names sorted, `x-amz-date` among them
    /// and equal to `amz_date`. `region` is the scope's Region (not necessarily the signer's
    /// own: one signer serves an identity's calls in every Region, a key cached for each).
    pub fn authorization(
        &self,
        region: &str,
        amz_date: &str,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> String {
        let mut signed_headers = String::with_capacity(headers.len() * 16);
        for (i, (name, _)) in headers.iter().enumerate() {
            if i > 0 {
                signed_headers.push(';');
            }
            signed_headers.push_str(name);
        }
        let mut canonical = CanonicalRequest::new(method, &canonical_uri(path, self.path_style()), "");
        for (name, value) in headers {
            canonical.header(name, [value.as_bytes()]);
        }
        let canonical = canonical.finish(&signed_headers, &sha256_hex(body));
        let sig = self.sign_canonical(region, amz_date, &canonical);
        format!(
            "{ALGORITHM} Credential={}, SignedHeaders={signed_headers}, Signature={sig}",
            self.credential(region, amz_date.get(..8).unwrap_or(amz_date)),
        )
    }
}

/// Every header present but the never-signed ones, `;`-separated and sorted.
fn signed_header_names(headers: &HeaderMap) -> String {
    let mut names: Vec<&str> = headers
        .keys()
        .map(http::HeaderName::as_str)
        .filter(|k| !UNSIGNED_HEADERS.contains(k))
        .collect();
    names.sort_unstable();
    names.dedup();
    names.join(";")
}
