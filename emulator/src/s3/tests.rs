//! Unit tests of the S3 API: addressing, listing order and pagination, ranges, metadata, errors.

use std::collections::BTreeMap;
use std::sync::Arc;

use cloudtrail::store::{LocalDir, ObjectStore};
use http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use http_body_util::BodyExt;

use super::*;

struct Rig {
    _dir: tempfile::TempDir,
    store: Arc<LocalDir>,
    api: S3Api,
}

fn rig() -> Rig {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(LocalDir::new(dir.path()));
    let mut config = S3Config::default();
    config
        .bucket_regions
        .insert("west-bucket".into(), "us-west-2".into());
    let api = S3Api::new(store.clone(), config);
    Rig {
        _dir: dir,
        store,
        api,
    }
}

struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: String,
}

impl Rig {
    fn put(&self, bucket: &str, key: &str, body: &[u8]) {
        let meta = BTreeMap::from([("signature".to_owned(), "abc123".to_owned())]);
        self.store
            .put(bucket, key, body, "application/x-gzip", &meta)
            .unwrap();
    }

    fn call(&self, method: Method, target: &str, headers: &[(&str, &str)]) -> Answer {
        self.call_as(method, target, headers, true)
    }

    fn call_as(&self, method: Method, target: &str, headers: &[(&str, &str)], auth: bool) -> Answer {
        let uri: Uri = target.parse().unwrap();
        let mut map = HeaderMap::new();
        map.insert("host", HeaderValue::from_static("127.0.0.1:4566"));
        for (k, v) in headers {
            map.insert(
                http::header::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        let resp = self.api.respond(&S3Call {
            method: &method,
            uri: &uri,
            headers: &map,
            authenticated: auth,
            request_id: "REQ123",
        });
        let (parts, body) = resp.into_parts();
        let bytes = futures_lite_block(body);
        Answer {
            status: parts.status,
            headers: parts.headers,
            body: String::from_utf8_lossy(&bytes).into_owned(),
        }
    }
}

fn futures_lite_block(body: crate::seams::ResponseBody) -> Vec<u8> {
    let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    rt.block_on(async { body.collect().await.unwrap().to_bytes().to_vec() })
}

fn tags<'a>(body: &'a str, tag: &str) -> Vec<&'a str> {
    let open = format!("<{tag}>");
    let close = format!("</{tag}>");
    body.match_indices(&open)
        .filter_map(|(i, _)| {
            let rest = &body[i + open.len()..];
            rest.find(&close).map(|j| &rest[..j])
        })
        .collect()
}

fn error_code(a: &Answer) -> &str {
    tags(&a.body, "Code").first().copied().unwrap_or("")
}

#[test]
fn list_buckets_and_location() {
    let r = rig();
    r.put("trail-bucket", "a", b"1");
    r.put("west-bucket", "a", b"1");
    let a = r.call(Method::GET, "/", &[]);
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(tags(&a.body, "Name"), ["trail-bucket", "west-bucket"]);
    assert!(
        a.body
            .contains("<ListAllMyBucketsResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">")
    );
    assert_eq!(a.headers["x-amz-request-id"], "REQ123");
    let loc = r.call(Method::GET, "/trail-bucket?location", &[]);
    assert!(
        loc.body
            .ends_with("<LocationConstraint xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"/>"),
        "{}",
        loc.body
    );
    let loc = r.call(Method::GET, "/west-bucket?location=", &[]);
    assert!(loc.body.contains(">us-west-2</LocationConstraint>"));
    let head = r.call(Method::HEAD, "/west-bucket", &[]);
    assert_eq!(head.status, StatusCode::OK);
    assert_eq!(head.headers["x-amz-bucket-region"], "us-west-2");
}

#[test]
fn list_v1_is_sorted_and_pages_with_marker() {
    let r = rig();
    for k in ["b/2", "a/1", "b/10", "c", "b/1", "a/0"] {
        r.put("trail-bucket", k, k.as_bytes());
    }
    let a = r.call(Method::GET, "/trail-bucket", &[]);
    assert_eq!(tags(&a.body, "Key"), ["a/0", "a/1", "b/1", "b/10", "b/2", "c"]);
    assert_eq!(tags(&a.body, "IsTruncated"), ["false"]);
    assert_eq!(tags(&a.body, "MaxKeys"), ["1000"]);
    assert_eq!(tags(&a.body, "StorageClass").len(), 6);
    assert_eq!(tags(&a.body, "ID").len(), 6, "v1 lists owners");
    // Pages of two, continued from the last key (no delimiter: no NextMarker, as S3).
    let p1 = r.call(Method::GET, "/trail-bucket?max-keys=2", &[]);
    assert_eq!(tags(&p1.body, "Key"), ["a/0", "a/1"]);
    assert_eq!(tags(&p1.body, "IsTruncated"), ["true"]);
    assert!(tags(&p1.body, "NextMarker").is_empty());
    let p2 = r.call(Method::GET, "/trail-bucket?max-keys=2&marker=a%2F1", &[]);
    assert_eq!(tags(&p2.body, "Key"), ["b/1", "b/10"]);
    assert_eq!(tags(&p2.body, "Marker"), ["a/1"]);
    let p3 = r.call(Method::GET, "/trail-bucket?max-keys=2&marker=b/10", &[]);
    assert_eq!(tags(&p3.body, "Key"), ["b/2", "c"]);
    assert_eq!(tags(&p3.body, "IsTruncated"), ["false"]);
    // A marker that is not a key still starts after it.
    let p = r.call(Method::GET, "/trail-bucket?prefix=b/&marker=b/0", &[]);
    assert_eq!(tags(&p.body, "Key"), ["b/1", "b/10", "b/2"]);
    // Exactly max-keys left is not truncated.
    let p = r.call(Method::GET, "/trail-bucket?max-keys=6", &[]);
    assert_eq!(tags(&p.body, "IsTruncated"), ["false"]);
}

#[test]
fn delimiter_rolls_up_common_prefixes_and_next_marker() {
    let r = rig();
    for k in ["AWSLogs/1/x", "AWSLogs/2/y", "AWSLogs/2/z", "top", "zz/1"] {
        r.put("trail-bucket", k, b"x");
    }
    let a = r.call(Method::GET, "/trail-bucket?delimiter=/", &[]);
    assert_eq!(tags(&a.body, "Key"), ["top"]);
    let prefixes: Vec<&str> = tags(&a.body, "CommonPrefixes")
        .iter()
        .map(|c| c.trim_start_matches("<Prefix>").trim_end_matches("</Prefix>"))
        .collect();
    assert_eq!(prefixes, ["AWSLogs/", "zz/"]);
    let a = r.call(
        Method::GET,
        "/trail-bucket?delimiter=/&prefix=AWSLogs/&max-keys=1",
        &[],
    );
    assert!(
        a.body
            .contains("<CommonPrefixes><Prefix>AWSLogs/1/</Prefix></CommonPrefixes>")
    );
    assert_eq!(tags(&a.body, "IsTruncated"), ["true"]);
    assert_eq!(tags(&a.body, "NextMarker"), ["AWSLogs/1/"]);
    let b = r.call(
        Method::GET,
        "/trail-bucket?delimiter=/&prefix=AWSLogs/&max-keys=1&marker=AWSLogs/1/",
        &[],
    );
    assert!(
        b.body
            .contains("<CommonPrefixes><Prefix>AWSLogs/2/</Prefix></CommonPrefixes>")
    );
    assert_eq!(tags(&b.body, "IsTruncated"), ["false"]);
}

#[test]
fn list_v2_continuation_start_after_and_key_count() {
    let r = rig();
    for i in 0..5 {
        r.put("trail-bucket", &format!("k{i}"), b"x");
    }
    let a = r.call(Method::GET, "/trail-bucket?list-type=2&max-keys=2", &[]);
    assert_eq!(tags(&a.body, "Key"), ["k0", "k1"]);
    assert_eq!(tags(&a.body, "KeyCount"), ["2"]);
    assert!(
        tags(&a.body, "ID").is_empty(),
        "v2 omits owners unless fetch-owner"
    );
    let token = tags(&a.body, "NextContinuationToken")[0].to_owned();
    let b = r.call(
        Method::GET,
        &format!(
            "/trail-bucket?list-type=2&max-keys=2&continuation-token={}",
            xml::url_encode(&token)
        ),
        &[],
    );
    assert_eq!(tags(&b.body, "Key"), ["k2", "k3"]);
    assert_eq!(tags(&b.body, "ContinuationToken"), [token.as_str()]);
    let c = r.call(
        Method::GET,
        "/trail-bucket?list-type=2&start-after=k3&fetch-owner=true",
        &[],
    );
    assert_eq!(tags(&c.body, "Key"), ["k4"]);
    assert_eq!(tags(&c.body, "StartAfter"), ["k3"]);
    assert_eq!(tags(&c.body, "ID").len(), 1);
    assert!(tags(&c.body, "NextContinuationToken").is_empty());
    let bad = r.call(
        Method::GET,
        "/trail-bucket?list-type=2&continuation-token=nope",
        &[],
    );
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert_eq!(error_code(&bad), "InvalidArgument");
    let bad = r.call(Method::GET, "/trail-bucket?max-keys=-1", &[]);
    assert_eq!(error_code(&bad), "InvalidArgument");
}

#[test]
fn url_encoding_type_encodes_keys() {
    let r = rig();
    r.put("trail-bucket", "dir/a b+c.json", b"x");
    let a = r.call(Method::GET, "/trail-bucket?encoding-type=url&prefix=dir%2F", &[]);
    assert_eq!(tags(&a.body, "Key"), ["dir/a%20b%2Bc.json"]);
    assert_eq!(tags(&a.body, "EncodingType"), ["url"]);
    let got = r.call(Method::GET, "/trail-bucket/dir/a%20b+c.json", &[]);
    assert_eq!(got.status, StatusCode::OK);
}

#[test]
fn get_and_head_object_with_metadata_and_ranges() {
    let r = rig();
    r.put("trail-bucket", "AWSLogs/f.json.gz", b"0123456789");
    let a = r.call(Method::GET, "/trail-bucket/AWSLogs/f.json.gz", &[]);
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.body, "0123456789");
    assert_eq!(a.headers["content-type"], "application/x-gzip");
    assert_eq!(a.headers["content-length"], "10");
    assert_eq!(a.headers["etag"], "\"781e5e245d69b566979b86e28d23f2c7\"");
    assert_eq!(a.headers["x-amz-meta-signature"], "abc123");
    assert!(a.headers["last-modified"].to_str().unwrap().ends_with(" GMT"));
    let h = r.call(Method::HEAD, "/trail-bucket/AWSLogs/f.json.gz", &[]);
    assert_eq!(h.status, StatusCode::OK);
    assert_eq!(h.body, "");
    assert_eq!(h.headers["content-length"], "10");
    assert_eq!(h.headers["x-amz-meta-signature"], "abc123");
    for (range, body, content_range) in [
        ("bytes=2-4", "234", "bytes 2-4/10"),
        ("bytes=7-", "789", "bytes 7-9/10"),
        ("bytes=-3", "789", "bytes 7-9/10"),
        ("bytes=8-100", "89", "bytes 8-9/10"),
    ] {
        let a = r.call(
            Method::GET,
            "/trail-bucket/AWSLogs/f.json.gz",
            &[("range", range)],
        );
        assert_eq!(a.status, StatusCode::PARTIAL_CONTENT, "{range}");
        assert_eq!(a.body, body, "{range}");
        assert_eq!(a.headers["content-range"], content_range);
        assert_eq!(a.headers["content-length"], body.len().to_string().as_str());
    }
    let bad = r.call(
        Method::GET,
        "/trail-bucket/AWSLogs/f.json.gz",
        &[("range", "bytes=10-")],
    );
    assert_eq!(bad.status, StatusCode::RANGE_NOT_SATISFIABLE);
    assert_eq!(error_code(&bad), "InvalidRange");
    assert_eq!(tags(&bad.body, "ActualObjectSize"), ["10"]);
    // Ranges S3 cannot serve are ignored: the whole object.
    let whole = r.call(
        Method::GET,
        "/trail-bucket/AWSLogs/f.json.gz",
        &[("range", "bytes=0-1,4-5")],
    );
    assert_eq!(whole.status, StatusCode::OK);
    assert_eq!(whole.body, "0123456789");
    // Conditional requests.
    let etag = "\"781e5e245d69b566979b86e28d23f2c7\"";
    let nm = r.call(
        Method::GET,
        "/trail-bucket/AWSLogs/f.json.gz",
        &[("if-none-match", etag)],
    );
    assert_eq!(nm.status, StatusCode::NOT_MODIFIED);
    let pf = r.call(
        Method::GET,
        "/trail-bucket/AWSLogs/f.json.gz",
        &[("if-match", "\"other\"")],
    );
    assert_eq!(pf.status, StatusCode::PRECONDITION_FAILED);
}

#[test]
fn errors_are_s3_xml() {
    let r = rig();
    r.put("trail-bucket", "k", b"x");
    let a = r.call(Method::GET, "/trail-bucket/missing", &[]);
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    assert_eq!(error_code(&a), "NoSuchKey");
    assert_eq!(tags(&a.body, "Key"), ["missing"]);
    assert_eq!(tags(&a.body, "RequestId"), ["REQ123"]);
    assert_eq!(a.headers["content-type"], "application/xml");
    let a = r.call(Method::GET, "/trail-bucket/../../etc/passwd", &[]);
    assert_eq!(error_code(&a), "NoSuchKey");
    let a = r.call(Method::GET, "/no-such-bucket?list-type=2", &[]);
    assert_eq!(error_code(&a), "NoSuchBucket");
    assert_eq!(tags(&a.body, "BucketName"), ["no-such-bucket"]);
    let a = r.call(Method::GET, "/no-such-bucket/k", &[]);
    assert_eq!(error_code(&a), "NoSuchBucket");
    let h = r.call(Method::HEAD, "/trail-bucket/missing", &[]);
    assert_eq!(h.status, StatusCode::NOT_FOUND);
    assert_eq!(h.body, "");
    for m in [Method::PUT, Method::POST, Method::DELETE, Method::PATCH] {
        let a = r.call(m.clone(), "/trail-bucket/k", &[]);
        assert_eq!(a.status, StatusCode::FORBIDDEN, "{m}");
        assert_eq!(error_code(&a), "AccessDenied");
    }
    assert_eq!(
        r.call(Method::PUT, "/new-bucket", &[]).status,
        StatusCode::FORBIDDEN
    );
    let anon = r.call_as(Method::GET, "/trail-bucket/k", &[], false);
    assert_eq!(error_code(&anon), "AccessDenied");
    let ni = r.call(Method::GET, "/trail-bucket?acl", &[]);
    assert_eq!(ni.status, StatusCode::NOT_IMPLEMENTED);
    assert_eq!(error_code(&ni), "NotImplemented");
    // The object really is still there and unchanged.
    assert_eq!(r.call(Method::GET, "/trail-bucket/k", &[]).body, "x");
}

#[test]
fn virtual_hosted_addressing() {
    let r = rig();
    r.put("trail-bucket", "AWSLogs/k", b"v");
    r.put("my.dotted.bucket", "k2", b"w");
    let a = r.call(
        Method::GET,
        "/AWSLogs/k",
        &[("host", "trail-bucket.localhost:4566")],
    );
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.body, "v");
    let l = r.call(
        Method::GET,
        "/?list-type=2",
        &[("host", "trail-bucket.localhost:4566")],
    );
    assert_eq!(tags(&l.body, "Key"), ["AWSLogs/k"]);
    let d = r.call(
        Method::GET,
        "/k2",
        &[("host", "my.dotted.bucket.emulator.internal:4566")],
    );
    assert_eq!(d.body, "w");
    let n = r.call(Method::GET, "/", &[("host", "nope.localhost:4566")]);
    assert_eq!(error_code(&n), "NoSuchBucket");
    // Plain hosts and IPs are path-style.
    let p = r.call(
        Method::GET,
        "/trail-bucket/AWSLogs/k",
        &[("host", "localhost:4566")],
    );
    assert_eq!(p.body, "v");
}

#[test]
fn range_parser_edge_cases() {
    assert_eq!(parse_range("bytes=0-0", 1), RangeSpec::Bytes(0, 0));
    assert_eq!(parse_range("bytes=-5", 3), RangeSpec::Bytes(0, 2));
    assert_eq!(parse_range("bytes=-0", 3), RangeSpec::Unsatisfiable);
    assert_eq!(parse_range("bytes=0-", 0), RangeSpec::Unsatisfiable);
    assert_eq!(parse_range("bytes=5-2", 10), RangeSpec::Whole);
    assert_eq!(parse_range("items=0-1", 10), RangeSpec::Whole);
    assert_eq!(parse_range("bytes=x-1", 10), RangeSpec::Whole);
}

#[test]
fn a_file_changed_by_hand_is_served_as_it_is_now() {
    let r = rig();
    r.put("trail-bucket", "AWSLogs/f", b"short");
    std::fs::write(r.store.object_path("trail-bucket", "AWSLogs/f"), b"a longer body").unwrap();
    let a = r.call(Method::GET, "/trail-bucket/AWSLogs/f", &[]);
    assert_eq!(a.body, "a longer body");
    assert_eq!(a.headers["content-length"], "13");
    let p = r.call(Method::GET, "/trail-bucket/AWSLogs/f", &[("range", "bytes=-4")]);
    assert_eq!(p.body, "body");
    assert_eq!(p.headers["content-range"], "bytes 9-12/13");
}
