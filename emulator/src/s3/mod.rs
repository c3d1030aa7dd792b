//! A read-only S3 API over the data directory, so `aws s3 ls/sync/cp` and
//! `aws cloudtrail validate-logs` read the delivered logs and digests as they would in a bucket.
//!
//! Served operations: ListBuckets, HeadBucket, GetBucketLocation, ListObjects (v1) and
//! ListObjectsV2, GetObject and HeadObject (user metadata as `x-amz-meta-*`, single byte
//! ranges, `If-Match`/`If-None-Match`, `response-*` overrides). Every write answers
//! `AccessDenied`; unserved read sub-resources answer `NotImplemented`. Requests are
//! path-style (`/bucket/key`) or virtual-hosted (`bucket.localhost:port`, or any
//! `<existing-bucket>.<host>`). The server verifies SigV4 before handing a request here;
//! anonymous requests are denied like on a private bucket. S3 reads are data events, which
//! trails do not select by default, so they are not recorded (docs/cloudtrail-format.md,
//! "Digests and S3 access").

mod list;
mod response;
pub(crate) mod xml;

pub(crate) use response::call_error_response;
use response::{RangeSpec, common_headers, error_response, header_value, parse_range};

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::Arc;

use bytes::Bytes;
use cloudtrail::store::{LocalDir, ObjectMeta, StoreError};
use http::header::{HeaderName, HeaderValue};
use http::{HeaderMap, Method, StatusCode, Uri};
use sha2::{Digest as _, Sha256};

use crate::protocol::{CallError, http_date};
use crate::seams::{BoxFuture, HttpResponse, RawRequest, RawService};
use list::{ListParams, list_keys};
use xml::{DECL, NS, element, escape, iso_millis, percent_decode, url_encode};

/// How the S3 API describes buckets.
#[derive(Debug, Clone)]
pub struct S3Config {
    /// The Region every bucket is in unless `bucket_regions` says otherwise (`us-east-1`
    /// answers an empty `LocationConstraint`, as S3 does).
    pub default_region: String,
    /// Per-bucket Regions.
    pub bucket_regions: BTreeMap<String, String>,
    /// The account shown as owner of every bucket and object.
    pub owner_account: String,
}

impl Default for S3Config {
    fn default() -> Self {
        S3Config {
            default_region: "us-east-1".to_owned(),
            bucket_regions: BTreeMap::new(),
            owner_account: "123456789012".to_owned(),
        }
    }
}

/// The request as the S3 API sees it.
#[derive(Debug, Clone, Copy)]
pub struct S3Call<'a> {
    /// The method.
    pub method: &'a Method,
    /// The request target (path and query).
    pub uri: &'a Uri,
    /// The headers (`Host` decides virtual-hosted addressing).
    pub headers: &'a HeaderMap,
    /// Whether a verified signer made the request.
    pub authenticated: bool,
    /// The `x-amz-request-id` to answer with.
    pub request_id: &'a str,
}

/// The S3 API. Cheap to clone.
#[derive(Debug, Clone)]
pub struct S3Api {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    store: Arc<LocalDir>,
    config: S3Config,
    owner_id: String,
}

/// An S3 error: code, HTTP status, message and the extra elements S3 adds.
struct S3Error {
    status: StatusCode,
    code: &'static str,
    message: String,
    extra: Vec<(&'static str, String)>,
}

impl S3Error {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        S3Error {
            status,
            code,
            message: message.into(),
            extra: Vec::new(),
        }
    }

    fn with(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.extra.push((name, value.into()));
        self
    }

    fn access_denied() -> Self {
        S3Error::new(StatusCode::FORBIDDEN, "AccessDenied", "Access Denied")
    }

    fn no_such_bucket(bucket: &str) -> Self {
        S3Error::new(
            StatusCode::NOT_FOUND,
            "NoSuchBucket",
            "The specified bucket does not exist",
        )
        .with("BucketName", bucket)
    }

    fn no_such_key(key: &str) -> Self {
        S3Error::new(
            StatusCode::NOT_FOUND,
            "NoSuchKey",
            "The specified key does not exist.",
        )
        .with("Key", key)
    }

    fn invalid_argument(message: &str, name: &str, value: &str) -> Self {
        S3Error::new(StatusCode::BAD_REQUEST, "InvalidArgument", message)
            .with("ArgumentName", name)
            .with("ArgumentValue", value)
    }

    fn not_implemented() -> Self {
        S3Error::new(
            StatusCode::NOT_IMPLEMENTED,
            "NotImplemented",
            "A header you provided implies functionality that is not implemented",
        )
    }

    fn internal(e: &StoreError) -> Self {
        tracing::warn!(error = %e, "S3 read failed");
        S3Error::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "InternalError",
            "We encountered an internal error. Please try again.",
        )
    }
}

/// Sub-resources of a bucket or object that this read-only API does not serve.
const UNSERVED_SUBRESOURCES: &[&str] = &[
    "accelerate",
    "acl",
    "analytics",
    "attributes",
    "cors",
    "encryption",
    "intelligent-tiering",
    "inventory",
    "legal-hold",
    "lifecycle",
    "logging",
    "metrics",
    "notification",
    "object-lock",
    "ownershipControls",
    "partNumber",
    "policy",
    "policyStatus",
    "publicAccessBlock",
    "replication",
    "requestPayment",
    "restore",
    "retention",
    "select",
    "tagging",
    "torrent",
    "uploadId",
    "uploads",
    "versionId",
    "versioning",
    "versions",
    "website",
];

/// Most keys one listing returns, as S3.
const MAX_KEYS: usize = 1000;

impl S3Api {
    /// An S3 API over `store`.
    pub fn new(store: Arc<LocalDir>, config: S3Config) -> Self {
        let owner_id = hex::encode(Sha256::digest(
            format!("canonical-user:{}", config.owner_account).as_bytes(),
        ));
        S3Api {
            inner: Arc::new(Inner {
                store,
                config,
                owner_id,
            }),
        }
    }

    /// The S3 API over a configuration's data directory, every bucket in `us-east-1`, owned by
    /// the configuration's first account.
    pub fn from_config(config: &crate::config::Config) -> Self {
        let store = Arc::new(LocalDir::with_clock(
            config.file.server.data_dir.clone(),
            config.clock.clone(),
        ));
        let mut s3 = S3Config::default();
        if let Some(account) = config.file.accounts.first() {
            s3.owner_account = account.id.clone();
        }
        S3Api::new(store, s3)
    }

    /// Answers one request. Synchronous (file reads): async callers use `spawn_blocking`.
    pub fn respond(&self, call: &S3Call<'_>) -> HttpResponse {
        let head = call.method == Method::HEAD;
        match self.inner.route(call) {
            Ok(resp) => resp,
            Err(e) => error_response(&e, call.request_id, head),
        }
    }
}

impl RawService for S3Api {
    fn signing_name(&self) -> &'static str {
        "s3"
    }

    fn path_style(&self) -> crate::sigv4::PathStyle {
        crate::sigv4::PathStyle::S3
    }

    fn refuse(&self, error: &crate::protocol::CallError, resource: &str, request_id: &str) -> HttpResponse {
        call_error_response(error, resource, request_id)
    }

    fn handle(&self, request: RawRequest) -> BoxFuture<'_, HttpResponse> {
        let api = self.clone();
        Box::pin(async move {
            let request_id = request.request_id.clone();
            let head = request.parts.method == Method::HEAD;
            let answer = tokio::task::spawn_blocking(move || {
                api.respond(&S3Call {
                    method: &request.parts.method,
                    uri: &request.parts.uri,
                    headers: &request.parts.headers,
                    authenticated: request.caller.is_some(),
                    request_id: &request.request_id,
                })
            })
            .await;
            answer.unwrap_or_else(|_| {
                error_response(
                    &S3Error::new(
                        StatusCode::INTERNAL_SERVER_ERROR,
                        "InternalError",
                        "We encountered an internal error. Please try again.",
                    ),
                    &request_id,
                    head,
                )
            })
        })
    }
}

/// The query string as decoded name/value pairs (a bare `?location` has an empty value).
fn query_pairs(uri: &Uri) -> Result<BTreeMap<String, String>, S3Error> {
    let mut out = BTreeMap::new();
    for part in uri.query().unwrap_or("").split('&').filter(|p| !p.is_empty()) {
        let (name, value) = part.split_once('=').unwrap_or((part, ""));
        let bad = || {
            S3Error::new(
                StatusCode::BAD_REQUEST,
                "InvalidArgument",
                "The query string is not valid URL encoding",
            )
        };
        out.insert(
            percent_decode(name, true).ok_or_else(bad)?,
            percent_decode(value, true).ok_or_else(bad)?,
        );
    }
    Ok(out)
}

/// The host the client addressed, without the port.
fn request_host(call: &S3Call<'_>) -> Option<String> {
    let raw = call
        .headers
        .get(http::header::HOST)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .or_else(|| call.uri.host().map(str::to_owned))?;
    let host = if let Some(rest) = raw.strip_prefix('[') {
        // [v6]:port
        rest.split(']').next().unwrap_or(rest).to_owned()
    } else {
        raw.rsplit_once(':')
            .filter(|(_, port)| port.bytes().all(|b| b.is_ascii_digit()))
            .map_or(raw.as_str(), |(h, _)| h)
            .to_owned()
    };
    Some(host.to_ascii_lowercase())
}

impl Inner {
    fn bucket_exists(&self, bucket: &str) -> bool {
        cloudtrail::store::valid_bucket(bucket)
            && std::fs::symlink_metadata(self.store.root().join(bucket)).is_ok_and(|m| m.is_dir())
    }

    /// The bucket named by a virtual-hosted `Host`, if the request is virtual-hosted.
    fn virtual_host_bucket(&self, host: &str) -> Option<String> {
        if host.parse::<IpAddr>().is_ok() {
            return None;
        }
        if let Some(bucket) = host.strip_suffix(".localhost") {
            return Some(bucket.to_owned());
        }
        // Any other domain: the longest existing bucket the host starts with.
        let mut best: Option<String> = None;
        for (bucket, _) in self.store.buckets().unwrap_or_default() {
            if host.len() > bucket.len() + 1
                && host.starts_with(&bucket)
                && host.as_bytes().get(bucket.len()) == Some(&b'.')
                && best.as_ref().is_none_or(|b| b.len() < bucket.len())
            {
                best = Some(bucket);
            }
        }
        best
    }

    /// Splits the request into bucket and key (both decoded; empty when absent).
    fn address(&self, call: &S3Call<'_>) -> Result<(Option<String>, Option<String>), S3Error> {
        let path = call.uri.path();
        let decoded = percent_decode(path, false).ok_or_else(|| {
            S3Error::new(
                StatusCode::BAD_REQUEST,
                "InvalidURI",
                "Couldn't parse the specified URI.",
            )
        })?;
        let rest = decoded.strip_prefix('/').unwrap_or(&decoded);
        if let Some(bucket) = request_host(call).and_then(|h| self.virtual_host_bucket(&h)) {
            let key = (!rest.is_empty()).then(|| rest.to_owned());
            return Ok((Some(bucket), key));
        }
        if rest.is_empty() {
            return Ok((None, None));
        }
        match rest.split_once('/') {
            Some((bucket, key)) => Ok((Some(bucket.to_owned()), (!key.is_empty()).then(|| key.to_owned()))),
            None => Ok((Some(rest.to_owned()), None)),
        }
    }

    fn route(&self, call: &S3Call<'_>) -> Result<HttpResponse, S3Error> {
        if !call.authenticated {
            return Err(S3Error::access_denied());
        }
        let head = *call.method == Method::HEAD;
        if *call.method != Method::GET && !head {
            // The data directory is CloudTrail's bucket: nobody else writes to it.
            return Err(S3Error::access_denied());
        }
        let query = query_pairs(call.uri)?;
        let (bucket, key) = self.address(call)?;
        let Some(bucket) = bucket else {
            return self.list_buckets(call, head);
        };
        if !self.bucket_exists(&bucket) {
            return Err(S3Error::no_such_bucket(&bucket));
        }
        if let Some(name) = query.keys().find(|k| UNSERVED_SUBRESOURCES.contains(&k.as_str())) {
            tracing::debug!(subresource = %name, "unserved S3 sub-resource");
            return Err(S3Error::not_implemented());
        }
        match key {
            None if head => Ok(self
                .ok(call, StatusCode::OK, Vec::new(), Bytes::new())
                .map(|mut r| {
                    r.headers_mut().insert(
                        HeaderName::from_static("x-amz-bucket-region"),
                        header_value(&self.region_of(&bucket)),
                    );
                    r
                })?),
            None if query.contains_key("location") => self.bucket_location(call, &bucket),
            None if query.get("list-type").map(String::as_str) == Some("2") => {
                self.list_objects(call, &bucket, &query, true)
            }
            None if query.contains_key("list-type") => Err(S3Error::invalid_argument(
                "Invalid List Type specified",
                "list-type",
                query.get("list-type").map_or("", String::as_str),
            )),
            None => self.list_objects(call, &bucket, &query, false),
            Some(key) => self.get_object(call, &bucket, &key, &query, head),
        }
    }

    fn region_of(&self, bucket: &str) -> String {
        self.config
            .bucket_regions
            .get(bucket)
            .unwrap_or(&self.config.default_region)
            .clone()
    }

    fn ok(
        &self,
        call: &S3Call<'_>,
        status: StatusCode,
        headers: Vec<(HeaderName, HeaderValue)>,
        body: Bytes,
    ) -> Result<HttpResponse, S3Error> {
        let mut resp = http::Response::new(crate::seams::full_body(body));
        *resp.status_mut() = status;
        let h = resp.headers_mut();
        common_headers(h, call.request_id);
        for (name, value) in headers {
            h.insert(name, value);
        }
        Ok(resp)
    }

    fn xml(&self, call: &S3Call<'_>, body: String, head: bool) -> Result<HttpResponse, S3Error> {
        let len = body.len();
        let mut resp = self.ok(
            call,
            StatusCode::OK,
            vec![(
                http::header::CONTENT_TYPE,
                HeaderValue::from_static("application/xml"),
            )],
            if head { Bytes::new() } else { Bytes::from(body) },
        )?;
        resp.headers_mut()
            .insert(http::header::CONTENT_LENGTH, HeaderValue::from(len));
        Ok(resp)
    }

    fn owner_xml(&self, out: &mut String) {
        out.push_str("<Owner>");
        element(out, "ID", &self.owner_id);
        element(out, "DisplayName", &self.config.owner_account);
        out.push_str("</Owner>");
    }

    fn list_buckets(&self, call: &S3Call<'_>, head: bool) -> Result<HttpResponse, S3Error> {
        let buckets = self.store.buckets().map_err(|e| S3Error::internal(&e))?;
        let mut out = String::from(DECL);
        out.push_str(&format!("<ListAllMyBucketsResult xmlns=\"{NS}\">"));
        self.owner_xml(&mut out);
        out.push_str("<Buckets>");
        for (name, created) in buckets {
            out.push_str("<Bucket>");
            element(&mut out, "Name", &name);
            element(&mut out, "CreationDate", &iso_millis(created));
            out.push_str("</Bucket>");
        }
        out.push_str("</Buckets></ListAllMyBucketsResult>");
        self.xml(call, out, head)
    }

    fn bucket_location(&self, call: &S3Call<'_>, bucket: &str) -> Result<HttpResponse, S3Error> {
        let region = self.region_of(bucket);
        let mut out = String::from(DECL);
        if region == "us-east-1" {
            // S3 answers an empty constraint for us-east-1; clients map it back.
            out.push_str(&format!("<LocationConstraint xmlns=\"{NS}\"/>"));
        } else {
            out.push_str(&format!(
                "<LocationConstraint xmlns=\"{NS}\">{}</LocationConstraint>",
                escape(&region)
            ));
        }
        self.xml(call, out, false)
    }

    fn list_objects(
        &self,
        call: &S3Call<'_>,
        bucket: &str,
        query: &BTreeMap<String, String>,
        v2: bool,
    ) -> Result<HttpResponse, S3Error> {
        let max_keys = match query.get("max-keys") {
            None => MAX_KEYS,
            Some(v) => match v.parse::<i64>() {
                Ok(n) if n >= 0 => usize::try_from(n).unwrap_or(MAX_KEYS).min(MAX_KEYS),
                _ => {
                    return Err(S3Error::invalid_argument(
                        "Provided max-keys not an integer or within integer range",
                        "max-keys",
                        v,
                    ));
                }
            },
        };
        let encode = match query.get("encoding-type").map(String::as_str) {
            None => false,
            Some("url") => true,
            Some(other) => {
                return Err(S3Error::invalid_argument(
                    "Invalid Encoding Method specified in Request",
                    "encoding-type",
                    other,
                ));
            }
        };
        let enc = |s: &str| if encode { url_encode(s) } else { s.to_owned() };
        let prefix = query.get("prefix").cloned().unwrap_or_default();
        let delimiter = query.get("delimiter").filter(|d| !d.is_empty()).cloned();
        let token = query.get("continuation-token");
        let start_after = query.get("start-after").filter(|s| !s.is_empty());
        let marker = query.get("marker").filter(|s| !s.is_empty());
        let start = if v2 {
            match token {
                Some(t) => Some(list::decode_token(t).ok_or_else(|| {
                    S3Error::invalid_argument(
                        "The continuation token provided is incorrect",
                        "continuation-token",
                        t,
                    )
                })?),
                None => start_after.cloned(),
            }
        } else {
            marker.cloned()
        };
        let listing = list_keys(
            &self.store,
            bucket,
            &ListParams {
                prefix: &prefix,
                delimiter: delimiter.as_deref(),
                start: start.as_deref(),
                max_keys,
            },
        )
        .map_err(|e| S3Error::internal(&e))?
        .ok_or_else(|| S3Error::no_such_bucket(bucket))?;

        let mut out = String::from(DECL);
        out.push_str(&format!("<ListBucketResult xmlns=\"{NS}\">"));
        element(&mut out, "Name", bucket);
        element(&mut out, "Prefix", &enc(&prefix));
        if v2 {
            if let Some(t) = token {
                element(&mut out, "ContinuationToken", t);
            }
            if let Some(s) = start_after {
                element(&mut out, "StartAfter", &enc(s));
            }
            element(
                &mut out,
                "KeyCount",
                &(listing.contents.len() + listing.common_prefixes.len()).to_string(),
            );
        } else {
            element(&mut out, "Marker", &enc(marker.map_or("", String::as_str)));
        }
        element(&mut out, "MaxKeys", &max_keys.to_string());
        if let Some(d) = &delimiter {
            element(&mut out, "Delimiter", &enc(d));
        }
        element(
            &mut out,
            "IsTruncated",
            if listing.truncated { "true" } else { "false" },
        );
        if listing.truncated
            && let Some(last) = &listing.last
        {
            if v2 {
                element(&mut out, "NextContinuationToken", &list::encode_token(last));
            } else if delimiter.is_some() {
                // S3 sends NextMarker only with a delimiter; clients otherwise continue
                // from the last key.
                element(&mut out, "NextMarker", &enc(last));
            }
        }
        let fetch_owner = !v2 || query.get("fetch-owner").map(String::as_str) == Some("true");
        for (key, meta) in &listing.contents {
            out.push_str("<Contents>");
            element(&mut out, "Key", &enc(key));
            element(&mut out, "LastModified", &iso_millis(meta.last_modified));
            element(&mut out, "ETag", &format!("\"{}\"", meta.etag));
            element(&mut out, "Size", &meta.size.to_string());
            if fetch_owner {
                self.owner_xml(&mut out);
            }
            element(&mut out, "StorageClass", "STANDARD");
            out.push_str("</Contents>");
        }
        for p in &listing.common_prefixes {
            out.push_str("<CommonPrefixes>");
            element(&mut out, "Prefix", &enc(p));
            out.push_str("</CommonPrefixes>");
        }
        if encode {
            element(&mut out, "EncodingType", "url");
        }
        out.push_str("</ListBucketResult>");
        self.xml(call, out, false)
    }

    fn get_object(
        &self,
        call: &S3Call<'_>,
        bucket: &str,
        key: &str,
        query: &BTreeMap<String, String>,
        head: bool,
    ) -> Result<HttpResponse, S3Error> {
        let found = if head {
            match self.store.head(bucket, key) {
                Ok(m) => m.map(|m| (Vec::new(), m)),
                Err(StoreError::InvalidKey(_)) => None,
                Err(e) => return Err(S3Error::internal(&e)),
            }
        } else {
            match self.store.get(bucket, key) {
                Ok(found) => found,
                Err(StoreError::InvalidKey(_)) => None,
                Err(e) => return Err(S3Error::internal(&e)),
            }
        };
        let Some((body, meta)) = found else {
            return Err(S3Error::no_such_key(key));
        };
        let etag = format!("\"{}\"", meta.etag);
        if let Some(r) = self.preconditions(call, &etag, &meta)? {
            return Ok(r);
        }
        // The body as read decides the length: a file changed by hand after it was put has
        // stale metadata, and a wrong Content-Length would break the connection.
        let size = if head { meta.size } else { body.len() as u64 };
        let (status, range) = match call
            .headers
            .get(http::header::RANGE)
            .and_then(|v| v.to_str().ok())
        {
            None => (StatusCode::OK, None),
            Some(spec) => match parse_range(spec, size) {
                RangeSpec::Whole => (StatusCode::OK, None),
                RangeSpec::Bytes(a, b) => (StatusCode::PARTIAL_CONTENT, Some((a, b, spec))),
                RangeSpec::Unsatisfiable => {
                    return Err(S3Error::new(
                        StatusCode::RANGE_NOT_SATISFIABLE,
                        "InvalidRange",
                        "The requested range is not satisfiable",
                    )
                    .with("RangeRequested", spec)
                    .with("ActualObjectSize", size.to_string()));
                }
            },
        };
        let (body, length) = match range {
            Some((a, b, _)) => {
                let slice = if head {
                    Vec::new()
                } else {
                    usize::try_from(a)
                        .ok()
                        .zip(usize::try_from(b).ok())
                        .and_then(|(a, b)| body.get(a..=b))
                        .map(<[u8]>::to_vec)
                        .unwrap_or_default()
                };
                (slice, b - a + 1)
            }
            None => (body, size),
        };
        let mut headers = vec![
            (
                http::header::CONTENT_TYPE,
                header_value(query.get("response-content-type").unwrap_or(&meta.content_type)),
            ),
            (http::header::CONTENT_LENGTH, HeaderValue::from(length)),
            (http::header::ETAG, header_value(&etag)),
            (
                http::header::LAST_MODIFIED,
                header_value(&http_date(meta.last_modified)),
            ),
            (http::header::ACCEPT_RANGES, HeaderValue::from_static("bytes")),
        ];
        if let Some((a, b, _)) = range {
            headers.push((
                http::header::CONTENT_RANGE,
                header_value(&format!("bytes {a}-{b}/{size}")),
            ));
        }
        for (param, header) in [
            ("response-cache-control", http::header::CACHE_CONTROL),
            ("response-content-disposition", http::header::CONTENT_DISPOSITION),
            ("response-content-encoding", http::header::CONTENT_ENCODING),
            ("response-content-language", http::header::CONTENT_LANGUAGE),
            ("response-expires", http::header::EXPIRES),
        ] {
            if let Some(v) = query.get(param) {
                headers.push((header, header_value(v)));
            }
        }
        for (name, value) in &meta.user {
            if let Ok(name) = HeaderName::from_bytes(format!("x-amz-meta-{name}").as_bytes()) {
                headers.push((name, header_value(value)));
            }
        }
        let body = if head { Bytes::new() } else { Bytes::from(body) };
        self.ok(call, status, headers, body)
    }

    /// `If-Match` / `If-None-Match` against the ETag (the forms SDKs send).
    fn preconditions(
        &self,
        call: &S3Call<'_>,
        etag: &str,
        meta: &ObjectMeta,
    ) -> Result<Option<HttpResponse>, S3Error> {
        let matches = |v: &str| {
            v.split(',')
                .map(str::trim)
                .any(|t| t == "*" || t == etag || t.trim_matches('"') == meta.etag)
        };
        if let Some(v) = call
            .headers
            .get(http::header::IF_MATCH)
            .and_then(|v| v.to_str().ok())
            && !matches(v)
        {
            return Err(S3Error::new(
                StatusCode::PRECONDITION_FAILED,
                "PreconditionFailed",
                "At least one of the pre-conditions you specified did not hold",
            )
            .with("Condition", "If-Match"));
        }
        if let Some(v) = call
            .headers
            .get(http::header::IF_NONE_MATCH)
            .and_then(|v| v.to_str().ok())
            && matches(v)
        {
            return self
                .ok(
                    call,
                    StatusCode::NOT_MODIFIED,
                    vec![
                        (http::header::ETAG, header_value(etag)),
                        (
                            http::header::LAST_MODIFIED,
                            header_value(&http_date(meta.last_modified)),
                        ),
                    ],
                    Bytes::new(),
                )
                .map(Some);
        }
        Ok(None)
    }
}

#[cfg(test)]
mod tests;
