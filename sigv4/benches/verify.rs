//! SigV4 microbenchmark: a full verification of a signed `ListDatasetGroups` call (what the
//! emulator does for every request), a signature from a cached signing key, and a key
//! derivation (a cache miss). Prints nanoseconds per operation, best of five rounds.
//!
//! `cargo bench -p sigv4`; `-- --rounds N` for more rounds.

use std::hint::black_box;
use std::time::Instant;

use http::{HeaderMap, Method, Uri};
use sigv4::{
    AuthError, Credential, Expected, Policy, RequestParts, Scope, Signer, SigningKeyCache, signature,
    signing_key, string_to_sign,
};
use time::macros::datetime;

const KEY: &str = "AKIAIOSFODNN7EXAMPLE";
const SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";

struct Known(SigningKeyCache);

impl Credential for Known {
    fn secret_access_key(&self) -> Option<&str> {
        Some(SECRET)
    }
    fn signing_keys(&self) -> Option<&SigningKeyCache> {
        Some(&self.0)
    }
}

fn per_op(n: u32, mut f: impl FnMut()) -> f64 {
    let start = Instant::now();
    for _ in 0..n {
        f();
    }
    start.elapsed().as_nanos() as f64 / f64::from(n)
}

fn main() {
    let rounds: usize = std::env::args()
        .skip_while(|a| a != "--rounds")
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(5);
    let now = datetime!(2026-03-01 10:00:00 UTC);
    let uri: Uri = "/".parse().expect("uri");
    let mut headers = HeaderMap::new();
    headers.insert("host", "127.0.0.1:4599".parse().expect("host"));
    headers.insert(
        "x-amz-target",
        "AmazonPersonalize.ListDatasetGroups".parse().expect("target"),
    );
    headers.insert(
        "content-type",
        "application/x-amz-json-1.1".parse().expect("content type"),
    );
    headers.insert(
        "user-agent",
        "aws-cli/2.15.0 Python/3.11.6 Linux/6.1 exe/x86_64 command/personalize.list-dataset-groups"
            .parse()
            .expect("user agent"),
    );
    let body = br#"{"maxResults":100}"#;
    Signer::new(KEY, SECRET, "us-east-1", "personalize").sign(&Method::POST, &uri, &mut headers, body, now);
    let parts = RequestParts {
        method: &Method::POST,
        uri: &uri,
        headers: &headers,
        body,
    };
    let known = Known(SigningKeyCache::new());
    let expected = Expected {
        service: "personalize",
        region: &|r| r == "us-east-1",
    };
    let lookup = |scope: &Scope, _: Option<&str>| {
        if scope.access_key_id == KEY {
            Ok(&known)
        } else {
            Err(AuthError::UnknownAccessKey)
        }
    };
    assert!(sigv4::verify(&parts, &Policy::STANDARD, &expected, now, lookup).is_ok());
    let canonical = sigv4::canonical_request(
        &parts,
        "content-type;host;x-amz-date;x-amz-target",
        &sigv4::sha256_hex(body),
        sigv4::PathStyle::Normalized,
        false,
    );

    let n = 200_000;
    let (mut full, mut hit, mut derive) = (f64::MAX, f64::MAX, f64::MAX);
    for _ in 0..rounds {
        full = full.min(per_op(n, || {
            black_box(sigv4::verify(black_box(&parts), &Policy::STANDARD, &expected, now, lookup).is_ok());
        }));
        hit = hit.min(per_op(n, || {
            let key = known.0.get(SECRET, "20260301", "us-east-1", "personalize");
            let sts = string_to_sign(
                "20260301T100000Z",
                "20260301",
                "us-east-1",
                "personalize",
                black_box(&canonical),
            );
            black_box(signature(&key, &sts));
        }));
        derive = derive.min(per_op(n, || {
            black_box(signing_key(
                black_box(SECRET),
                "20260301",
                "us-east-1",
                "personalize",
            ));
        }));
    }
    println!("full verify:                 {full:>6.0} ns/op");
    println!("signature from a cached key: {hit:>6.0} ns/op");
    println!("key derivation (cache miss): {derive:>6.0} ns/op");
}
