//! The canonical request and the string to sign (SigV4 tasks 1 and 2), shared by the signer and
//! the verifier so both build the same bytes.

use http::{HeaderMap, Method, Uri};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode, percent_encode};
use sha2::{Digest, Sha256};

use crate::ALGORITHM;

/// Everything but SigV4's unreserved characters (`A-Z a-z 0-9 - _ . ~`) is percent-encoded.
const UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// The same for paths, whose `/` separators stay as they are.
const PATH: &AsciiSet = &UNRESERVED.remove(b'/');

/// The parts of a received request SigV4 looks at.
#[derive(Debug, Clone, Copy)]
pub struct RequestParts<'a> {
    /// The method.
    pub method: &'a Method,
    /// The request target (path and query).
    pub uri: &'a Uri,
    /// Every header as received.
    pub headers: &'a HeaderMap,
    /// The whole body as received.
    pub body: &'a [u8],
}

/// How the path becomes the canonical URI.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathStyle {
    /// Every service but S3: remove empty, `.` and `..` segments, then percent-encode the
    /// (already encoded) path once more.
    Normalized,
    /// S3: the path exactly as sent.
    S3,
}

/// The canonical URI of a request path.
pub fn canonical_uri(path: &str, style: PathStyle) -> String {
    let path = if path.is_empty() { "/" } else { path };
    match style {
        PathStyle::S3 => path.to_owned(),
        PathStyle::Normalized => {
            let normalized = normalize_path(path);
            percent_encode(normalized.as_bytes(), PATH).to_string()
        }
    }
}

/// RFC 3986 dot-segment removal, with empty segments dropped as botocore and aws-sigv4 drop them;
/// a trailing `/` is kept.
fn normalize_path(path: &str) -> std::borrow::Cow<'_, str> {
    if !path.contains("/.") && !path.contains("//") && path.starts_with('/') {
        return path.into();
    }
    let mut segments: Vec<&str> = Vec::new();
    for segment in path.split('/') {
        match segment {
            "" | "." => {}
            ".." => {
                segments.pop();
            }
            s => segments.push(s),
        }
    }
    let mut out = String::with_capacity(path.len() + 1);
    for s in &segments {
        out.push('/');
        out.push_str(s);
    }
    let trailing = ["/", "/.", "/.."].iter().any(|end| path.ends_with(end));
    if out.is_empty() || trailing {
        out.push('/');
    }
    out.into()
}

/// Decoded `key=value` pairs of a raw query string. `+` is read as a space, as form decoding
/// (and aws-sigv4) reads it; the signature covers the re-encoded form, so `%20` and `+` agree.
pub fn query_pairs(query: &str) -> Vec<(Vec<u8>, Vec<u8>)> {
    let decode = |s: &str| -> Vec<u8> {
        let bytes = s.as_bytes();
        if bytes.contains(&b'+') {
            let spaced: Vec<u8> = bytes.iter().map(|&b| if b == b'+' { b' ' } else { b }).collect();
            percent_decode(&spaced).collect()
        } else {
            percent_decode(bytes).collect()
        }
    };
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode(k), decode(v))
        })
        .collect()
}

/// The canonical query string: every pair decoded, re-encoded, sorted; `X-Amz-Signature` left
/// out for a presigned request.
pub fn canonical_query(query: Option<&str>, presigned: bool) -> String {
    let Some(query) = query.filter(|q| !q.is_empty()) else {
        return String::new();
    };
    let mut encoded: Vec<(String, String)> = query_pairs(query)
        .into_iter()
        .filter(|(k, _)| !(presigned && k.as_slice() == b"X-Amz-Signature"))
        .map(|(k, v)| {
            (
                percent_encode(&k, UNRESERVED).to_string(),
                percent_encode(&v, UNRESERVED).to_string(),
            )
        })
        .collect();
    encoded.sort();
    let mut out = String::with_capacity(query.len() + 8);
    for (i, (k, v)) in encoded.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        out.push_str(k);
        out.push('=');
        out.push_str(v);
    }
    out
}

/// Percent-encodes a query parameter's name or value for a URL the signer builds.
pub(crate) fn encode_query_component(s: &str) -> String {
    percent_encode(s.as_bytes(), UNRESERVED).to_string()
}

/// `trimall`: strip the value and squeeze each run of spaces and tabs into one space, as
/// botocore does.
fn trim_all(value: &[u8], out: &mut Vec<u8>) {
    let start = out.len();
    let mut pending_space = false;
    for &b in value {
        if b == b' ' || b == b'\t' {
            pending_space = out.len() > start;
        } else {
            if pending_space {
                out.push(b' ');
                pending_space = false;
            }
            out.push(b);
        }
    }
}

/// Builds a canonical request piece by piece.
pub(crate) struct CanonicalRequest {
    buf: Vec<u8>,
}

impl CanonicalRequest {
    /// Method, canonical URI and canonical query.
    pub(crate) fn new(method: &str, canonical_uri: &str, canonical_query: &str) -> Self {
        let mut buf = Vec::with_capacity(512);
        buf.extend_from_slice(method.as_bytes());
        buf.push(b'\n');
        buf.extend_from_slice(canonical_uri.as_bytes());
        buf.push(b'\n');
        buf.extend_from_slice(canonical_query.as_bytes());
        buf.push(b'\n');
        CanonicalRequest { buf }
    }

    /// One `name:values` line; repeated headers are joined with `,`, each value trimmed.
    pub(crate) fn header<'v>(&mut self, name: &str, values: impl IntoIterator<Item = &'v [u8]>) {
        self.buf.extend_from_slice(name.as_bytes());
        self.buf.push(b':');
        for (i, value) in values.into_iter().enumerate() {
            if i > 0 {
                self.buf.push(b',');
            }
            trim_all(value, &mut self.buf);
        }
        self.buf.push(b'\n');
    }

    /// The lines for `signed_headers` (`;`-separated, in that order) with their received values.
    /// HTTP/2 carries the host in `:authority`, which hyper puts in the URI.
    pub(crate) fn headers_from(&mut self, signed_headers: &str, headers: &HeaderMap, uri: &Uri) {
        for name in signed_headers.split(';') {
            let mut values = headers.get_all(name).iter().map(|v| v.as_bytes()).peekable();
            if values.peek().is_none()
                && name == "host"
                && let Some(authority) = uri.authority()
            {
                self.header(name, [authority.as_str().as_bytes()]);
            } else {
                self.header(name, values);
            }
        }
    }

    /// The signed-headers line and the payload hash; the finished canonical request.
    pub(crate) fn finish(mut self, signed_headers: &str, payload_hash: &str) -> Vec<u8> {
        self.buf.push(b'\n');
        self.buf.extend_from_slice(signed_headers.as_bytes());
        self.buf.push(b'\n');
        self.buf.extend_from_slice(payload_hash.as_bytes());
        self.buf
    }
}

/// The canonical request of a received (or about to be sent) request, from the headers
/// `signed_headers` names and the given payload hash. With `presigned`, the query's
/// `X-Amz-Signature` is left out.
pub fn canonical_request(
    req: &RequestParts<'_>,
    signed_headers: &str,
    payload_hash: &str,
    style: PathStyle,
    presigned: bool,
) -> Vec<u8> {
    let mut canonical = CanonicalRequest::new(
        req.method.as_str(),
        &canonical_uri(req.uri.path(), style),
        &canonical_query(req.uri.query(), presigned),
    );
    canonical.headers_from(signed_headers, req.headers, req.uri);
    canonical.finish(signed_headers, payload_hash)
}

/// The string to sign for a canonical request signed at `amz_date` in a scope.
pub fn string_to_sign(amz_date: &str, date: &str, region: &str, service: &str, canonical: &[u8]) -> String {
    let hash = sha256_hex(canonical);
    let mut out =
        String::with_capacity(ALGORITHM.len() + amz_date.len() + region.len() + service.len() + 100);
    for part in [
        ALGORITHM,
        "\n",
        amz_date,
        "\n",
        date,
        "/",
        region,
        "/",
        service,
        "/aws4_request\n",
        &hash,
    ] {
        out.push_str(part);
    }
    out
}

/// Lower-case hex SHA-256, as SigV4 writes payload and canonical-request hashes.
pub fn sha256_hex(data: &[u8]) -> String {
    hex_lower(&Sha256::digest(data))
}

/// Lower-case hex into a buffer of exactly twice the input, the only size
/// `hex::encode_to_slice` accepts (so neither fallback below is ever taken).
pub(crate) fn hex_lower(bytes: &[u8]) -> String {
    let mut out = vec![0; bytes.len() * 2];
    if hex::encode_to_slice(bytes, &mut out).is_err() {
        return hex::encode(bytes);
    }
    String::from_utf8(out).unwrap_or_else(|_| hex::encode(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths() {
        assert_eq!(canonical_uri("/a/./b/../c d", PathStyle::Normalized), "/a/c%20d");
        assert_eq!(canonical_uri("/my%20key", PathStyle::Normalized), "/my%2520key");
        assert_eq!(canonical_uri("/my%20key", PathStyle::S3), "/my%20key");
        assert_eq!(canonical_uri("", PathStyle::Normalized), "/");
        assert_eq!(canonical_uri("//a//b/", PathStyle::Normalized), "/a/b/");
        assert_eq!(canonical_uri("/a/..", PathStyle::Normalized), "/");
        assert_eq!(canonical_uri("/a/b/.", PathStyle::Normalized), "/a/b/");
        assert_eq!(canonical_uri("/../x", PathStyle::Normalized), "/x");
        assert_eq!(canonical_uri("//a/./b", PathStyle::S3), "//a/./b");
    }

    #[test]
    fn queries() {
        assert_eq!(canonical_query(Some("b=2&a=1&a=0&c"), false), "a=0&a=1&b=2&c=");
        assert_eq!(canonical_query(Some("prefix=a%2Fb c"), false), "prefix=a%2Fb%20c");
        assert_eq!(canonical_query(Some("q=a+b&r=%7e"), false), "q=a%20b&r=~");
        assert_eq!(
            canonical_query(Some("X-Amz-Signature=abc&X-Amz-Date=1"), true),
            "X-Amz-Date=1"
        );
        assert_eq!(canonical_query(Some(""), false), "");
        assert_eq!(canonical_query(Some("%zz=%"), false), "%25zz=%25");
    }

    #[test]
    fn header_values_are_trimmed_and_joined() {
        let mut c = CanonicalRequest::new("GET", "/", "");
        c.header(
            "x",
            [b"  a   b \t c ".as_slice(), b"d".as_slice(), b"   ".as_slice()],
        );
        assert_eq!(c.finish("x", "h"), b"GET\n/\n\nx:a b c,d,\n\nx\nh");
    }

    #[test]
    fn hex_matches_the_hex_crate() {
        let all: Vec<u8> = (0..=255).collect();
        assert_eq!(hex_lower(&all), hex::encode(&all));
    }
}
