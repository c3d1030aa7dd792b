//! The worked example of the AWS General Reference ("Examples of the complete Signature Version 4
//! signing process": IAM `ListUsers`, 2015-08-30), through the public API both ways.

use http::{HeaderMap, Method, Uri};
use sigv4::{AuthError, EMPTY_SHA256, Expected, PathStyle, Policy, RequestParts, Scope, Signer};
use time::macros::datetime;

use crate::Secret;

const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
const AUTHORIZATION: &str = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request, \
                             SignedHeaders=content-type;host;x-amz-date, \
                             Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7";

fn request() -> (Uri, HeaderMap) {
    let uri: Uri = "/?Action=ListUsers&Version=2010-05-08".parse().unwrap();
    let mut headers = HeaderMap::new();
    headers.insert("host", "iam.amazonaws.com".parse().unwrap());
    headers.insert(
        "content-type",
        "application/x-www-form-urlencoded; charset=utf-8"
            .parse()
            .unwrap(),
    );
    (uri, headers)
}

#[test]
fn aws_documentation_example() {
    let now = datetime!(2015-08-30 12:36:00 UTC);
    assert_eq!(
        hex::encode(sigv4::signing_key(SECRET, "20150830", "us-east-1", "iam")),
        "c4afb1cc5771d871763a393e44b703571b55cc28424d1a5e86da6ed3c154a4b9"
    );
    let (uri, mut headers) = request();
    Signer::new("AKIDEXAMPLE", SECRET, "us-east-1", "iam").sign(&Method::GET, &uri, &mut headers, b"", now);
    assert_eq!(headers["x-amz-date"], "20150830T123600Z");
    assert_eq!(headers["authorization"], AUTHORIZATION);

    let parts = RequestParts {
        method: &Method::GET,
        uri: &uri,
        headers: &headers,
        body: b"",
    };
    let canonical = sigv4::canonical_request(
        &parts,
        "content-type;host;x-amz-date",
        EMPTY_SHA256,
        PathStyle::Normalized,
        false,
    );
    assert_eq!(
        sigv4::sha256_hex(&canonical),
        "f536975d06c0309214f805bb90ccff089219ecd68b2577efef23edd43b7e1a59"
    );

    let expected = Expected {
        service: "iam",
        region: &|r| r == "us-east-1",
    };
    let lookup = |scope: &Scope, _: Option<&str>| match scope.access_key_id.as_str() {
        "AKIDEXAMPLE" => Ok(Secret(SECRET)),
        _ => Err(AuthError::UnknownAccessKey),
    };
    let v = sigv4::verify(&parts, &Policy::STANDARD, &expected, now, lookup).unwrap();
    assert_eq!(v.scope.access_key_id, "AKIDEXAMPLE");
    let e = sigv4::verify(&parts, &Policy::STANDARD, &expected, now, |_, _| {
        Ok(Secret("not the secret"))
    })
    .unwrap_err();
    assert_eq!(e.error, AuthError::SignatureMismatch);
}
