//! The rules AWS enforces beyond the signature itself, each with its error, and the order in
//! which a request with several faults meets them.

use http::{HeaderMap, HeaderValue, Method, Uri};
use sigv4::{AuthError, MissingParts, Policy, ScopeMismatch, Signer};
use time::Duration;

use crate::*;

fn signer(service: &str) -> Signer {
    Signer::new(KEY, SECRET, "us-east-1", service)
}

fn json_headers() -> HeaderMap {
    let mut h = HeaderMap::new();
    h.insert("host", HeaderValue::from_static("127.0.0.1:4599"));
    h.insert(
        "content-type",
        HeaderValue::from_static("application/x-amz-json-1.1"),
    );
    h.insert(
        "x-amz-target",
        HeaderValue::from_static("AmazonPersonalize.ListDatasetGroups"),
    );
    h
}

fn root() -> Uri {
    "/".parse().unwrap()
}

/// A Personalize call signed by `signer`, after `before` has adjusted its headers.
fn signed_json(signer: &Signer, before: impl FnOnce(&mut HeaderMap)) -> HeaderMap {
    let mut h = json_headers();
    before(&mut h);
    signer.sign(&Method::POST, &root(), &mut h, b"{}", NOW);
    h
}

fn json_check(h: &HeaderMap) -> Result<Verified<Secret>, Box<Rejection>> {
    check(
        &Method::POST,
        &root(),
        h,
        b"{}",
        Policy::STANDARD,
        "personalize",
        NOW,
    )
}

fn with_authorization(h: &HeaderMap, value: &str) -> HeaderMap {
    let mut h = h.clone();
    h.insert("authorization", HeaderValue::from_str(value).unwrap());
    h
}

#[test]
fn no_or_foreign_authentication() {
    let mut h = json_headers();
    assert_eq!(error_of(json_check(&h)), AuthError::MissingAuthenticationToken);
    h.insert("authorization", HeaderValue::from_static("Bearer abc"));
    assert_eq!(error_of(json_check(&h)), AuthError::MissingAuthenticationToken);
    h.insert(
        "authorization",
        HeaderValue::from_static("AWS4-HMAC-SHA512 Credential=x"),
    );
    assert_eq!(
        error_of(json_check(&h)).to_string(),
        "Unsupported AWS 'algorithm': 'AWS4-HMAC-SHA512' (only AWS4-HMAC-SHA256 for now). "
    );

    // S3 refuses a request that authenticates both ways; elsewhere the query is only a query.
    let uri: Uri = "/bucket?X-Amz-Algorithm=AWS4-HMAC-SHA256".parse().unwrap();
    let mut h = HeaderMap::new();
    h.insert("host", HeaderValue::from_static("127.0.0.1:4599"));
    signer("s3").sign(&Method::GET, &uri, &mut h, b"", NOW);
    assert_eq!(
        error_of(check(&Method::GET, &uri, &h, b"", Policy::S3, "s3", NOW)),
        AuthError::BothAuthMechanisms
    );
    let mut h = json_headers();
    signer("personalize").sign(&Method::POST, &uri, &mut h, b"{}", NOW);
    assert!(
        check(
            &Method::POST,
            &uri,
            &h,
            b"{}",
            Policy::STANDARD,
            "personalize",
            NOW
        )
        .is_ok()
    );
}

#[test]
fn an_incomplete_header_keeps_its_scope() {
    let credential = "AKIAIOSFODNN7EXAMPLE/20260301/us-east-1/personalize/aws4_request";
    let h = with_authorization(
        &json_headers(),
        &format!("AWS4-HMAC-SHA256 Credential={credential}"),
    );
    let r = json_check(&h).unwrap_err();
    assert_eq!(
        r.error,
        AuthError::IncompleteHeader {
            missing: MissingParts {
                credential: false,
                signature: true,
                signed_headers: true,
                date: true,
            },
            header: format!("AWS4-HMAC-SHA256 Credential={credential}"),
        }
    );
    assert_eq!(r.scope.unwrap().access_key_id, KEY);

    let h = with_authorization(
        &json_headers(),
        "AWS4-HMAC-SHA256 SignedHeaders=host, Signature=00",
    );
    let r = json_check(&h).unwrap_err();
    assert!(r.error.to_string().starts_with(
        "Authorization header requires 'Credential' parameter. Authorization header requires existence of \
         either a 'X-Amz-Date' or a 'Date' header. Authorization="
    ));
    assert!(r.scope.is_none());
}

#[test]
fn host_and_every_amz_header_must_be_signed() {
    let h = signed_json(&signer("personalize"), |_| {});
    let auth = h["authorization"].to_str().unwrap().to_owned();

    let without_host = auth.replace("content-type;host;", "content-type;");
    assert_eq!(
        error_of(json_check(&with_authorization(&h, &without_host))),
        AuthError::HostNotSigned
    );
    let without_target = auth.replace(";x-amz-target", "");
    let e = error_of(json_check(&with_authorization(&h, &without_target)));
    assert_eq!(
        e.to_string(),
        "'X-Amz-Target' must be a 'SignedHeader' in the AWS Authorization."
    );
    let without_date = auth.replace(";x-amz-date", "");
    assert_eq!(
        error_of(json_check(&with_authorization(&h, &without_date))),
        AuthError::HeadersNotSigned {
            headers: vec!["x-amz-date".into()]
        }
    );

    // Headers added after signing.
    for name in ["x-amz-security-token", "x-amz-content-sha256", "x-amz-target"] {
        let mut h = signed_json(&signer("personalize"), |h| {
            h.remove("x-amz-target");
        });
        h.insert(name, HeaderValue::from_static("added"));
        assert_eq!(
            error_of(json_check(&h)),
            AuthError::HeadersNotSigned {
                headers: vec![name.to_owned()]
            },
            "{name}"
        );
    }
}

#[test]
fn a_date_header_may_stand_in_for_x_amz_date() {
    let mut h = json_headers();
    h.insert("date", HeaderValue::from_static("Sun, 01 Mar 2026 10:00:00 GMT"));
    let signed = "content-type;date;host;x-amz-target";
    let parts = RequestParts {
        method: &Method::POST,
        uri: &root(),
        headers: &h,
        body: b"{}",
    };
    let canonical = sigv4::canonical_request(
        &parts,
        signed,
        &sigv4::sha256_hex(b"{}"),
        sigv4::PathStyle::Normalized,
        false,
    );
    let key = sigv4::signing_key(SECRET, "20260301", "us-east-1", "personalize");
    let sts = sigv4::string_to_sign(
        "20260301T100000Z",
        "20260301",
        "us-east-1",
        "personalize",
        &canonical,
    );
    let auth = format!(
        "AWS4-HMAC-SHA256 Credential={KEY}/20260301/us-east-1/personalize/aws4_request, SignedHeaders={signed}, \
         Signature={}",
        sigv4::signature(&key, &sts)
    );
    let h = with_authorization(&h, &auth);
    assert!(json_check(&h).is_ok());
    let mut garbled = h.clone();
    garbled.insert("date", HeaderValue::from_static("yesterday"));
    assert_eq!(
        error_of(json_check(&garbled)),
        AuthError::MalformedDate("yesterday".into())
    );
}

#[test]
fn outside_s3_the_body_is_always_what_is_signed() {
    let s = signer("personalize");
    let h = signed_json(&s, |h| {
        h.insert(
            "x-amz-content-sha256",
            HeaderValue::from_static("UNSIGNED-PAYLOAD"),
        );
    });
    assert_eq!(error_of(json_check(&h)), AuthError::SignatureMismatch);
    let h = signed_json(&s, |h| {
        h.insert(
            "x-amz-content-sha256",
            HeaderValue::from_str(&sigv4::sha256_hex(b"{}")).unwrap(),
        );
    });
    assert!(json_check(&h).is_ok());
    // The declared hash signed, another body sent.
    assert_eq!(
        error_of(check(
            &Method::POST,
            &root(),
            &h,
            b"{\"a\":1}",
            Policy::STANDARD,
            "personalize",
            NOW
        )),
        AuthError::SignatureMismatch
    );
}

#[test]
fn s3_payload_declarations() {
    let uri: Uri = "/bucket/key".parse().unwrap();
    let get = |before: &dyn Fn(&mut HeaderMap), body: &[u8]| {
        let mut h = HeaderMap::new();
        h.insert("host", HeaderValue::from_static("127.0.0.1:4599"));
        before(&mut h);
        signer("s3").sign(&Method::GET, &uri, &mut h, b"", NOW);
        check(&Method::GET, &uri, &h, body, Policy::S3, "s3", NOW)
    };
    assert!(get(&|_| {}, b"").is_ok());
    let unsigned = |h: &mut HeaderMap| {
        h.insert(
            "x-amz-content-sha256",
            HeaderValue::from_static("UNSIGNED-PAYLOAD"),
        );
    };
    assert!(get(&unsigned, b"any body at all").is_ok());
    assert!(matches!(
        error_of(get(&|_| {}, b"a body the empty hash does not cover")),
        AuthError::ContentSha256Mismatch { .. }
    ));
    for (value, error) in [
        ("abc", AuthError::InvalidContentSha256("abc".into())),
        (
            "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
            AuthError::StreamingNotImplemented,
        ),
    ] {
        let set = |h: &mut HeaderMap| {
            h.insert("x-amz-content-sha256", HeaderValue::from_static(value));
        };
        assert_eq!(error_of(get(&set, b"")), error);
    }
    let mut h = HeaderMap::new();
    h.insert("host", HeaderValue::from_static("127.0.0.1:4599"));
    signer("s3").sign(&Method::GET, &uri, &mut h, b"", NOW);
    h.remove("x-amz-content-sha256");
    let e = error_of(check(&Method::GET, &uri, &h, b"", Policy::S3, "s3", NOW));
    assert_eq!(e, AuthError::MissingContentSha256);
    assert_eq!(e.s3().code, "InvalidRequest");
}

#[test]
fn presigned_query_errors() {
    let q = |query: &str| {
        let uri: Uri = format!("/bucket/key?{query}").parse().unwrap();
        let mut h = HeaderMap::new();
        h.insert("host", HeaderValue::from_static("127.0.0.1:4599"));
        error_of(check(&Method::GET, &uri, &h, b"", Policy::S3, "s3", NOW))
    };
    assert_eq!(
        q("X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Date=20260301T100000Z"),
        AuthError::IncompleteQuery {
            missing: vec![
                "X-Amz-Credential",
                "X-Amz-Signature",
                "X-Amz-SignedHeaders",
                "X-Amz-Expires"
            ]
        }
    );
    assert_eq!(
        q("X-Amz-Algorithm=AWS4-HMAC-SHA1").s3().message,
        "X-Amz-Algorithm only supports \"AWS4-HMAC-SHA256\""
    );
    let all = |expires: &str, date: &str| {
        format!(
            "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential={KEY}%2F20260301%2Fus-east-1%2Fs3%2Faws4_request\
             &X-Amz-Date={date}&X-Amz-Expires={expires}&X-Amz-SignedHeaders=host&X-Amz-Signature=00"
        )
    };
    assert_eq!(
        q(&all("-1", "20260301T100000Z")).to_string(),
        "X-Amz-Expires must be non-negative"
    );
    assert_eq!(q(&all("60", "20260301T101600Z")), AuthError::RequestNotYetValid);
    assert_eq!(q(&all("60", "20260301T100000Z")), AuthError::SignatureMismatch);
}

#[test]
fn scope_mismatches_are_reported_together() {
    let uri = root();
    let nowhere = Signer::new(KEY, SECRET, "Moon", "cloudtrail");
    let mut h = json_headers();
    nowhere.sign(&Method::POST, &uri, &mut h, b"{}", NOW);
    // The scope's date no longer matches the request's.
    let auth = h["authorization"]
        .to_str()
        .unwrap()
        .replace("/20260301/", "/20260302/");
    let e = error_of(json_check(&with_authorization(&h, &auth)));
    assert_eq!(
        e,
        AuthError::CredentialScope(Box::new(ScopeMismatch {
            region: Some("Moon".into()),
            service: Some(("cloudtrail".into(), "personalize".into())),
            terminator: None,
            date: Some(("20260302".into(), "20260301".into(), "20260301T100000Z".into())),
        }))
    );
    assert_eq!(e.code(), "InvalidSignatureException");
}

#[test]
fn faults_are_reported_in_aws_order() {
    // Wrong service and wrong secret: the scope is checked first.
    let h = signed_json(
        &Signer::new(KEY, "not-the-secret", "us-east-1", "cloudtrail"),
        |_| {},
    );
    assert!(matches!(error_of(json_check(&h)), AuthError::CredentialScope(_)));
    // Skewed and wrongly scoped: the time is checked first.
    let late = check(
        &Method::POST,
        &root(),
        &h,
        b"{}",
        Policy::STANDARD,
        "personalize",
        NOW + Duration::minutes(16),
    );
    assert_eq!(
        error_of(late).to_string(),
        "Signature expired: 20260301T100000Z is now earlier than 20260301T100100Z (20260301T101600Z - 15 min.)"
    );
    // An unknown key with a malformed credential: the credential's shape first.
    let stranger = signed_json(
        &Signer::new("AKIANOTCONFIGURED000", "x", "us-east-1", "personalize"),
        |_| {},
    );
    assert_eq!(error_of(json_check(&stranger)), AuthError::UnknownAccessKey);
    let auth = stranger["authorization"]
        .to_str()
        .unwrap()
        .replace("/aws4_request", "");
    assert!(matches!(
        error_of(json_check(&with_authorization(&stranger, &auth))),
        AuthError::MalformedCredential(_)
    ));
    // Unsigned host and a garbled date: the signed headers first.
    let mut h = signed_json(&signer("personalize"), |_| {});
    h.insert("x-amz-date", HeaderValue::from_static("yesterday"));
    let auth = h["authorization"]
        .to_str()
        .unwrap()
        .replace("content-type;host;", "content-type;");
    assert_eq!(
        error_of(json_check(&with_authorization(&h, &auth))),
        AuthError::HostNotSigned
    );
    // A temporary key without its token, signed with the wrong secret: the key store answers
    // before the signature is compared.
    let h = signed_json(
        &Signer::new(TEMP_KEY, "wrong", "us-east-1", "personalize"),
        |_| {},
    );
    assert_eq!(error_of(json_check(&h)), AuthError::InvalidToken);
}

#[test]
fn the_signer_caches_a_key_per_region() {
    // One signer serving an identity's calls in several Regions.
    let s = signer("personalize");
    for region in ["us-east-1", "eu-west-1", "us-east-1", "ap-south-1"] {
        let amz_date = sigv4::format_basic(NOW);
        let headers = [
            ("content-type", "application/x-amz-json-1.1"),
            ("host", "127.0.0.1:4599"),
            ("x-amz-date", amz_date.as_str()),
            ("x-amz-target", "AmazonPersonalize.ListDatasetGroups"),
        ];
        let auth = s.authorization(region, &amz_date, "POST", "/", &headers, b"{}");
        let mut h = json_headers();
        h.insert("x-amz-date", HeaderValue::from_str(&amz_date).unwrap());
        let h = with_authorization(&h, &auth);
        assert_eq!(json_check(&h).unwrap().scope.region, region);
    }
}
