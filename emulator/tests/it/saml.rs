//! STS `AssumeRoleWithSAML` end to end: responses signed by an independent XML-DSig
//! implementation (the fixtures of `emulator/src/sts/saml/testdata`, made with signxml) give
//! sessions that work at once, forged ones are refused with STS's messages, and every call is
//! recorded as the IAM User Guide's example records it.

use serde_json::{Value, json};
use time::macros::datetime;

use crate::common::*;
use crate::sts::{Issued, xml};

const ASSERTION_SIGNED: &str = include_str!("../../src/sts/saml/testdata/assertion-signed.b64");
const RESPONSE_SIGNED: &str = include_str!("../../src/sts/saml/testdata/response-signed.b64");
const CERT: &str = include_str!("../../src/sts/saml/testdata/idp-cert.pem");

const SAML_ROLE: &str = "arn:aws:iam::123456789012:role/SamlRole";
const PROVIDER: &str = "arn:aws:iam::123456789012:saml-provider/ExampleIdP";
const ISSUER: &str = "https://idp.example.com/saml";

fn metadata(entity_id: &str) -> String {
    let body: String = CERT.lines().filter(|l| !l.starts_with("-----")).collect();
    format!(
        r#"<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="{entity_id}"><md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol"><md:KeyDescriptor use="signing"><ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:X509Data><ds:X509Certificate>{body}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor></md:IDPSSODescriptor></md:EntityDescriptor>"#
    )
}

/// The demo account with the provider `ExampleIdP` (by its metadata), `PemIdP` (by its
/// certificate alone), `ElsewhereIdP` (metadata naming another issuer) and the role
/// `SamlRole` trusting `trust`.
async fn harness(trust: &str) -> Harness {
    let h = Harness::start_with(|f| {
        let extra: emulator::config::AccountConfig = toml::from_str(&format!(
            r#"
            id = "123456789012"
            [[saml_providers]]
            name = "ExampleIdP"
            metadata = '{}'
            [[saml_providers]]
            name = "PemIdP"
            certificate = """{CERT}"""
            [[saml_providers]]
            name = "ElsewhereIdP"
            metadata = '{}'
            [[roles]]
            name = "SamlRole"
            trust = ["{trust}"]
            "#,
            metadata(ISSUER),
            metadata("https://other.example.com/saml"),
        ))
        .unwrap();
        let account = &mut f.accounts[0];
        account.saml_providers = extra.saml_providers;
        account.roles.extend(extra.roles);
    })
    .await;
    // Within the fixtures' five minutes of validity.
    h.clock.set(datetime!(2026-12-01 12:01 UTC));
    h
}

async fn assume(h: &Harness, role: &str, provider: &str, assertion: &str) -> Response {
    h.unsigned_query(
        "AssumeRoleWithSAML",
        &[
            ("RoleArn", role),
            ("PrincipalArn", provider),
            ("SAMLAssertion", assertion.trim()),
        ],
    )
    .await
}

fn error(r: &Response) -> (u16, String, String) {
    let body = String::from_utf8_lossy(&r.body).into_owned();
    (
        r.status.as_u16(),
        xml(&body, "Code").to_owned(),
        xml(&body, "Message").replace("&apos;", "'"),
    )
}

fn forged(b64: &str, from: &str, to: &str) -> String {
    use base64::Engine as _;
    let engine = base64::engine::general_purpose::STANDARD;
    let xml = String::from_utf8(engine.decode(b64.trim()).unwrap()).unwrap();
    assert!(xml.contains(from));
    engine.encode(xml.replacen(from, to, 1))
}

#[tokio::test]
async fn signed_responses_give_sessions_that_work_and_are_recorded_as_aws_records_them() {
    let h = harness(PROVIDER).await;
    let ok = assume(&h, SAML_ROLE, PROVIDER, ASSERTION_SIGNED).await;
    let body = String::from_utf8_lossy(&ok.body).into_owned();
    assert_eq!(ok.status, 200, "{body}");
    let qualifier = sts::name_qualifier(ISSUER, "123456789012", "ExampleIdP");
    for (tag, want) in [
        ("Subject", "alice@example.com"),
        ("SubjectType", "persistent"),
        ("Issuer", ISSUER),
        ("Audience", "https://signin.aws.amazon.com/saml"),
        ("NameQualifier", qualifier.as_str()),
        ("SourceIdentity", "alice"),
        (
            "Arn",
            "arn:aws:sts::123456789012:assumed-role/SamlRole/alice@example.com",
        ),
    ] {
        assert_eq!(xml(&body, tag), want, "{tag}");
    }
    let session = Issued::from(&body);
    let used = h
        .personalize(&session.signer("personalize"), "ListDatasetGroups", "{}")
        .await;
    assert_eq!(used.status, 200);
    // A response signed as a whole is as good, and so is a provider known by its certificate.
    let whole = assume(&h, SAML_ROLE, PROVIDER, RESPONSE_SIGNED).await;
    assert_eq!(whole.status, 200);

    let records = h.flushed_records().await;
    let r = by_request_id(&records, &ok.request_id());
    assert_eq!(
        r["userIdentity"],
        json!({"type": "SAMLUser", "principalId": format!("{qualifier}:alice@example.com"),
               "userName": "alice@example.com", "identityProvider": qualifier})
    );
    assert_eq!(r["eventSource"], "sts.amazonaws.com");
    assert_eq!(r["awsRegion"], "us-east-1");
    let request = &r["requestParameters"];
    assert!(request["sAMLAssertionID"].as_str().unwrap().starts_with('_'));
    let mut shown = request.clone();
    shown.as_object_mut().unwrap().shift_remove("sAMLAssertionID");
    assert_eq!(
        serde_json::to_string(&shown).unwrap(),
        json!({"roleSessionName": "alice@example.com", "principalTags": {"CostCenter": "987654"},
               "sourceIdentity": "alice", "durationSeconds": 3600, "roleArn": SAML_ROLE,
               "principalArn": PROVIDER})
        .to_string()
    );
    assert!(
        !r.to_string().contains(ASSERTION_SIGNED.trim()),
        "the assertion itself is never recorded"
    );
    let response = &r["responseElements"];
    let keys: Vec<&str> = response.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        [
            "credentials",
            "assumedRoleUser",
            "subject",
            "subjectType",
            "issuer",
            "audience",
            "nameQualifier",
            "sourceIdentity"
        ]
    );
    assert!(response["credentials"].get("secretAccessKey").is_none());
    assert_eq!(
        r["resources"],
        json!([
            {"accountId": "123456789012", "type": "AWS::IAM::Role", "ARN": SAML_ROLE},
            {"accountId": "123456789012", "type": "AWS::IAM::SAMLProvider", "ARN": PROVIDER}
        ])
    );
    let u = &by_request_id(&records, &used.request_id())["userIdentity"];
    assert_eq!(u["type"], "AssumedRole");
    assert_eq!(u["sessionContext"]["sourceIdentity"], "alice");
    assert_eq!(
        u["sessionContext"]["attributes"]["creationDate"],
        "2026-12-01T12:01:00Z"
    );
}

#[tokio::test]
async fn forged_expired_and_mismatched_responses_are_refused_and_recorded() {
    let h = harness(PROVIDER).await;
    let mallory = forged(
        ASSERTION_SIGNED,
        ">alice@example.com</saml:NameID>",
        ">mallory@example.com</saml:NameID>",
    );
    let cases: Vec<(Response, (u16, &str, &str))> = vec![
        (
            assume(&h, SAML_ROLE, PROVIDER, &mallory).await,
            (400, "InvalidIdentityToken", "Response signature invalid"),
        ),
        (
            assume(
                &h,
                SAML_ROLE,
                "arn:aws:iam::123456789012:saml-provider/Nobody",
                ASSERTION_SIGNED,
            )
            .await,
            (400, "InvalidIdentityToken", "Specified provider doesn't exist"),
        ),
        (
            assume(
                &h,
                SAML_ROLE,
                "arn:aws:iam::123456789012:saml-provider/ElsewhereIdP",
                ASSERTION_SIGNED,
            )
            .await,
            (
                400,
                "InvalidIdentityToken",
                "Failed to assume role: Issuer not present in specified provider",
            ),
        ),
        (
            assume(
                &h,
                "arn:aws:iam::123456789012:role/PersonalizeAdmin",
                PROVIDER,
                ASSERTION_SIGNED,
            )
            .await,
            (
                400,
                "InvalidIdentityToken",
                "SAML Assertion doesn't contain the requested Role and Metadata in the attributes",
            ),
        ),
        (
            assume(&h, SAML_ROLE, PROVIDER, "bm90IFhNTA==").await,
            (400, "InvalidIdentityToken", "Invalid SAML response"),
        ),
    ];
    for (r, (status, code, message)) in &cases {
        let (s, c, m) = error(r);
        assert_eq!((s, c.as_str()), (*status, *code), "{m}");
        assert!(m.starts_with(message), "{m}");
    }
    h.clock.set(datetime!(2026-12-01 12:05 UTC));
    let late = assume(&h, SAML_ROLE, PROVIDER, ASSERTION_SIGNED).await;
    assert_eq!(error(&late).1, "ExpiredTokenException");

    let records = h.flushed_records().await;
    let refused = by_request_id(&records, &cases[0].0.request_id());
    assert_eq!(refused["errorCode"], "InvalidIdentityToken");
    assert_eq!(refused["userIdentity"]["type"], "SAMLUser");
    assert_eq!(refused["userIdentity"]["userName"], "mallory@example.com");
    assert!(refused.get("responseElements").is_none_or(Value::is_null));
    let expired = by_request_id(&records, &late.request_id());
    assert_eq!(expired["errorCode"], "ExpiredTokenException");
    // A response that is not XML names nobody: nothing to record it against.
    assert!(
        records
            .iter()
            .all(|r| r["requestID"] != cases[4].0.request_id().as_str())
    );
}

#[tokio::test]
async fn a_role_that_does_not_trust_the_provider_refuses_it() {
    let h = harness("arn:aws:iam::123456789012:saml-provider/PemIdP").await;
    let r = assume(&h, SAML_ROLE, PROVIDER, ASSERTION_SIGNED).await;
    assert_eq!(
        error(&r),
        (
            403,
            "AccessDenied".to_owned(),
            "Not authorized to perform sts:AssumeRoleWithSAML".to_owned()
        )
    );
    let records = h.flushed_records().await;
    let refused = by_request_id(&records, &r.request_id());
    assert_eq!(refused["errorCode"], "AccessDenied");
    assert_eq!(refused["userIdentity"]["type"], "SAMLUser");
}
