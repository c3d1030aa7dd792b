//! aws-sigv4, the signer inside the AWS SDK for Rust, signs; our verifier must accept what it
//! signs, and our signer must produce the same signature for the same request.

use std::time::{Duration, SystemTime};

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{
    PayloadChecksumKind, PercentEncodingMode, SignableBody, SignableRequest, SignatureLocation,
    SigningSettings, UriPathNormalizationMode, sign,
};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::identity::Identity;
use http::{HeaderMap, HeaderValue, Method, Uri};
use sigv4::{AuthError, Policy, Signer};

use crate::*;

/// The request aws-sigv4 sees and the one we see are the same `http::Request`.
struct Req {
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Vec<u8>,
}

impl Req {
    fn new(method: Method, uri: &str, headers: &[(&str, &str)], body: &[u8]) -> Req {
        let mut map = HeaderMap::new();
        map.insert("host", HeaderValue::from_static("127.0.0.1:4599"));
        for (k, v) in headers {
            map.append(
                http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        Req {
            method,
            uri: uri.parse().unwrap(),
            headers: map,
            body: body.to_vec(),
        }
    }

    fn check(&self, policy: Policy, service: &str) -> Result<Verified<Secret>, Box<Rejection>> {
        check(
            &self.method,
            &self.uri,
            &self.headers,
            &self.body,
            policy,
            service,
            NOW,
        )
    }

    fn authorization(&self) -> &str {
        self.headers["authorization"].to_str().unwrap()
    }
}

fn s3_settings() -> SigningSettings {
    let mut s = SigningSettings::default();
    s.percent_encoding_mode = PercentEncodingMode::Single;
    s.uri_path_normalization_mode = UriPathNormalizationMode::Disabled;
    s.payload_checksum_kind = PayloadChecksumKind::XAmzSha256;
    s
}

/// Signs with aws-sigv4, as the SDK would.
fn aws_sign(
    req: &Req,
    token: Option<&str>,
    service: &str,
    settings: SigningSettings,
    body: SignableBody<'_>,
) -> Req {
    let key = if token.is_some() { TEMP_KEY } else { KEY };
    let identity: Identity = Credentials::new(key, SECRET, token.map(str::to_owned), None, "oracle").into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region("us-east-1")
        .name(service)
        .time(SystemTime::from(NOW))
        .settings(settings)
        .build()
        .unwrap()
        .into();
    let pairs: Vec<(String, String)> = req
        .headers
        .iter()
        .map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap().to_owned()))
        .collect();
    let signable = SignableRequest::new(
        req.method.as_str(),
        req.uri.to_string(),
        pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())),
        body,
    )
    .unwrap();
    let (instructions, _) = sign(signable, &params).unwrap().into_parts();
    let mut out = http::Request::new(());
    *out.method_mut() = req.method.clone();
    *out.uri_mut() = req.uri.clone();
    *out.headers_mut() = req.headers.clone();
    instructions.apply_to_request_http1x(&mut out);
    let (parts, ()) = out.into_parts();
    Req {
        method: parts.method,
        uri: parts.uri,
        headers: parts.headers,
        body: req.body.clone(),
    }
}

/// Our signer, for the temporary key when there is a token.
fn our_signer(token: Option<&str>, service: &str) -> Signer {
    match token {
        Some(t) => Signer::new(TEMP_KEY, SECRET, "us-east-1", service).with_session_token(t),
        None => Signer::new(KEY, SECRET, "us-east-1", service),
    }
}

/// Signs with our signer.
fn our_sign(req: &Req, token: Option<&str>, service: &str) -> Req {
    let signer = our_signer(token, service);
    let mut headers = req.headers.clone();
    signer.sign(&req.method, &req.uri, &mut headers, &req.body, NOW);
    Req {
        method: req.method.clone(),
        uri: req.uri.clone(),
        headers,
        body: req.body.clone(),
    }
}

/// Both signers on one request: the same `Authorization`, and our verifier accepts it.
fn agree(req: &Req, token: Option<&str>, service: &str, settings: SigningSettings, policy: Policy) -> Req {
    let theirs = aws_sign(req, token, service, settings, SignableBody::Bytes(&req.body));
    let ours = our_sign(req, token, service);
    assert_eq!(ours.authorization(), theirs.authorization());
    for signed in [&theirs, &ours] {
        let v = signed.check(policy, service).unwrap();
        assert_eq!(v.scope.region, "us-east-1");
        assert!(!v.presigned);
    }
    theirs
}

/// [`agree`] for a Personalize call, signed as every JSON service is.
fn agree_json(req: &Req, token: Option<&str>) -> Req {
    agree(
        req,
        token,
        "personalize",
        SigningSettings::default(),
        Policy::STANDARD,
    )
}

fn json_call() -> Req {
    Req::new(
        Method::POST,
        "/",
        &[
            ("content-type", "application/x-amz-json-1.1"),
            ("x-amz-target", "AmazonPersonalize.ListDatasetGroups"),
        ],
        br#"{"maxResults":5}"#,
    )
}

#[test]
fn header_signing_of_a_json_call() {
    let signed = agree_json(&json_call(), None);
    assert!(
        signed
            .authorization()
            .contains("SignedHeaders=content-type;host;x-amz-date;x-amz-target,")
    );
}

#[test]
fn session_tokens_are_signed_and_checked() {
    let signed = agree_json(&json_call(), Some(TOKEN));
    assert_eq!(signed.headers["x-amz-security-token"], TOKEN);
    assert!(signed.authorization().contains(";x-amz-security-token;"));
    let mut wrong = signed;
    wrong
        .headers
        .insert("x-amz-security-token", HeaderValue::from_static("another"));
    assert_eq!(
        error_of(wrong.check(Policy::STANDARD, "personalize")),
        AuthError::InvalidToken
    );
}

#[test]
fn normalised_paths_are_double_encoded() {
    let req = Req::new(
        Method::POST,
        "/a/./b/../recommendations%20x//y",
        &[("content-type", "application/json")],
        b"{}",
    );
    let signed = agree_json(&req, None);
    // The same request canonicalised as S3 would be another request.
    assert_eq!(
        error_of(signed.check(Policy::S3, "personalize")),
        AuthError::MissingContentSha256
    );
}

#[test]
fn s3_paths_are_signed_as_sent() {
    let req = Req::new(
        Method::GET,
        "/aws-cloudtrail-logs/AWSLogs/./my%20key/a%2Bb",
        &[],
        b"",
    );
    let signed = agree(&req, None, "s3", s3_settings(), Policy::S3);
    assert!(signed.headers.contains_key("x-amz-content-sha256"));
    // Canonicalised as the JSON services do, the path is another one.
    assert_eq!(
        error_of(signed.check(Policy::STANDARD, "s3")),
        AuthError::SignatureMismatch
    );
}

#[test]
fn queries_with_reserved_characters() {
    let req = Req::new(
        Method::GET,
        "/bucket?list-type=2&prefix=AWSLogs%2F123456789012%2F&delimiter=%2F&marker=%E2%82%AC%20x\
         &odd=%21%2A%27%28%29%3B%3A%40%26%3D%2B%24%2C&empty=&tilde=~._-&a=2&a=1",
        &[],
        b"",
    );
    agree(&req, None, "s3", s3_settings(), Policy::S3);
    agree(
        &req,
        None,
        "cloudtrail",
        SigningSettings::default(),
        Policy::STANDARD,
    );
}

#[test]
fn repeated_headers_and_extra_whitespace() {
    let req = Req::new(
        Method::POST,
        "/",
        &[
            ("content-type", "application/x-amz-json-1.1"),
            ("x-amz-target", "AmazonPersonalize.ListDatasetGroups"),
            ("x-custom", "  first   value  "),
            ("x-custom", "second"),
            ("x-amz-meta-note", "a  b    c"),
        ],
        b"{}",
    );
    let signed = agree_json(&req, None);
    assert!(
        signed
            .authorization()
            .contains(";x-amz-meta-note;x-amz-target;x-custom,")
    );
}

#[test]
fn presigned_urls() {
    for token in [None, Some(TOKEN)] {
        let req = Req::new(
            Method::GET,
            "/aws-cloudtrail-logs/AWSLogs/key%20one.json.gz",
            &[],
            b"",
        );
        let mut settings = s3_settings();
        settings.signature_location = SignatureLocation::QueryParams;
        settings.expires_in = Some(Duration::from_secs(900));
        let theirs = aws_sign(&req, token, "s3", settings, SignableBody::UnsignedPayload);
        assert!(!theirs.headers.contains_key("authorization"));
        let at = |now| {
            check(
                &theirs.method,
                &theirs.uri,
                &theirs.headers,
                b"",
                Policy::S3,
                "s3",
                now,
            )
        };
        let v = at(NOW + time::Duration::seconds(899)).unwrap();
        assert!(v.presigned);
        assert_eq!(
            error_of(at(NOW + time::Duration::seconds(901))),
            AuthError::RequestExpired
        );
        // Query-string authentication is S3's alone.
        assert_eq!(
            error_of(check(
                &theirs.method,
                &theirs.uri,
                &theirs.headers,
                b"",
                Policy::STANDARD,
                "s3",
                NOW
            )),
            AuthError::MissingAuthenticationToken
        );

        let ours = our_signer(token, "s3")
            .presign(&req.method, &req.uri, &req.headers, 900, NOW)
            .unwrap();
        let signature = |uri: &Uri| {
            uri.query()
                .unwrap()
                .split('&')
                .find_map(|p| p.strip_prefix("X-Amz-Signature="))
                .unwrap()
                .to_owned()
        };
        assert_eq!(signature(&ours), signature(&theirs.uri));
    }
}

#[test]
fn a_signed_request_cannot_be_altered() {
    let signed = agree_json(&json_call(), None);
    let mut other_body = Req { ..signed };
    other_body.body = br#"{"maxResults":6}"#.to_vec();
    assert_eq!(
        error_of(other_body.check(Policy::STANDARD, "personalize")),
        AuthError::SignatureMismatch
    );
    let mut other_target = Req { ..other_body };
    other_target.body = br#"{"maxResults":5}"#.to_vec();
    assert!(other_target.check(Policy::STANDARD, "personalize").is_ok());
    other_target.headers.insert(
        "x-amz-target",
        HeaderValue::from_static("AmazonPersonalize.DeleteDatasetGroup"),
    );
    assert_eq!(
        error_of(other_target.check(Policy::STANDARD, "personalize")),
        AuthError::SignatureMismatch
    );

    // S3 signs the declared hash; a body that does not hash to it is refused as such.
    let put = Req::new(Method::PUT, "/bucket/key", &[], b"the original");
    let signed = agree(&put, None, "s3", s3_settings(), Policy::S3);
    let swapped = Req {
        body: b"the other one".to_vec(),
        ..signed
    };
    let AuthError::ContentSha256Mismatch { client, computed } = error_of(swapped.check(Policy::S3, "s3"))
    else {
        panic!("not a payload mismatch");
    };
    assert_eq!(client, sigv4::sha256_hex(b"the original"));
    assert_eq!(computed, sigv4::sha256_hex(b"the other one"));
}
