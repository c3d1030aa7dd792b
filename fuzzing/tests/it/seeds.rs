//! Writes the signed seed requests of the `sigv4` and `s3_request` corpora. Run by hand when the
//! request form changes: `cargo test -p fuzzing --test it -- --ignored write_signed_seeds`.

use emulator::sigv4::Signer;
use http::{HeaderMap, Method, Uri};

const ALICE: (&str, &str) = ("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY");

fn text(method: &Method, uri: &Uri, headers: &HeaderMap, body: &[u8]) -> Vec<u8> {
    let mut out = format!("{method} {uri}\n").into_bytes();
    for (k, v) in headers {
        out.extend_from_slice(format!("{k}: ").as_bytes());
        out.extend_from_slice(v.as_bytes());
        out.push(b'\n');
    }
    out.push(b'\n');
    out.extend_from_slice(body);
    out
}

#[test]
#[ignore = "writes the seed files"]
fn write_signed_seeds() {
    let now = time::macros::datetime!(2026-03-01 10:00:00 UTC);
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus");
    let p = Signer::new(ALICE.0, ALICE.1, "us-east-1", "personalize");
    let mut h = HeaderMap::new();
    h.insert("host", "127.0.0.1:4599".parse().unwrap());
    h.insert(
        "x-amz-target",
        "AmazonPersonalize.ListDatasetGroups".parse().unwrap(),
    );
    h.insert("content-type", "application/x-amz-json-1.1".parse().unwrap());
    let uri: Uri = "/".parse().unwrap();
    p.sign(&Method::POST, &uri, &mut h, b"{}", now);
    std::fs::write(
        dir.join("sigv4/signed-list-dataset-groups"),
        text(&Method::POST, &uri, &h, b"{}"),
    )
    .unwrap();
    let s3 = Signer::new(ALICE.0, ALICE.1, "us-east-1", "s3");
    let object: Uri =
        "/aws-cloudtrail-logs-123456789012/AWSLogs/123456789012/CloudTrail/us-east-1/2026/03/01/log.json.gz"
            .parse()
            .unwrap();
    let mut host = HeaderMap::new();
    host.insert("host", "127.0.0.1:4599".parse().unwrap());
    let url = s3.presign(&Method::GET, &object, &host, 900, now).unwrap();
    std::fs::write(
        dir.join("sigv4/presigned-get-object"),
        text(&Method::GET, &url, &host, b""),
    )
    .unwrap();
    let mut signed = host.clone();
    signed.insert("range", "bytes=2-5".parse().unwrap());
    s3.sign(&Method::GET, &object, &mut signed, b"", now);
    for d in ["sigv4", "s3_request"] {
        std::fs::write(
            dir.join(d).join("signed-ranged-get-object"),
            text(&Method::GET, &object, &signed, b""),
        )
        .unwrap();
    }
}
