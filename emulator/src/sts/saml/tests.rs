//! SAML responses signed by an independent implementation (signxml and lxml, through
//! `client-tests/python/saml_idp.py`), verified here, and the same responses tampered with.
//!
//! The fixtures in `testdata/` were made with
//! `python client-tests/python/saml_idp.py response DIR https://idp.example.com/saml
//! arn:aws:iam::123456789012:role/SamlRole arn:aws:iam::123456789012:saml-provider/ExampleIdP
//! 2026-12-01T12:00:00Z assertion|response`; `other-cert.pem` is another key pair's certificate.

use base64::Engine as _;
use time::macros::datetime;

use super::*;

const ASSERTION_SIGNED: &str = include_str!("testdata/assertion-signed.b64");
const RESPONSE_SIGNED: &str = include_str!("testdata/response-signed.b64");
const CERT: &str = include_str!("testdata/idp-cert.pem");
const OTHER_CERT: &str = include_str!("testdata/other-cert.pem");

fn cert() -> Vec<Vec<u8>> {
    certificates(CERT).unwrap()
}

fn decoded(b64: &str) -> String {
    String::from_utf8(dsig::base64_decode(b64).unwrap()).unwrap()
}

fn encoded(xml: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(xml)
}

#[test]
fn signatures_made_by_signxml_verify_on_the_assertion_and_on_the_response() {
    for fixture in [ASSERTION_SIGNED, RESPONSE_SIGNED] {
        let r = Response::parse(fixture).unwrap();
        r.verify(&cert()).unwrap();
        assert!(r.succeeded());
        let a = r.assertion().unwrap();
        assert_eq!(a.issuer, "https://idp.example.com/saml");
        assert_eq!(a.subject.as_deref(), Some("alice@example.com"));
        assert_eq!(
            a.roles,
            vec![(
                "arn:aws:iam::123456789012:role/SamlRole".to_owned(),
                "arn:aws:iam::123456789012:saml-provider/ExampleIdP".to_owned()
            )]
        );
        assert_eq!(a.facts.role_session_name.as_deref(), Some("alice@example.com"));
        assert_eq!(a.facts.source_identity.as_deref(), Some("alice"));
        assert_eq!(
            a.facts.principal_tags,
            vec![("CostCenter".to_owned(), "987654".to_owned())]
        );
        assert!(a.facts.assertion_id.starts_with('_'));
        a.check(datetime!(2026-12-01 12:01 UTC)).unwrap();
    }
}

#[test]
fn another_certificate_does_not_verify() {
    let other = certificates(OTHER_CERT).unwrap();
    for fixture in [ASSERTION_SIGNED, RESPONSE_SIGNED] {
        let e = Response::parse(fixture).unwrap().verify(&other).unwrap_err();
        assert!(matches!(e, SamlError::Signature(_)), "{e:?}");
    }
}

#[test]
fn a_changed_claim_breaks_the_signature() {
    for fixture in [ASSERTION_SIGNED, RESPONSE_SIGNED] {
        let xml = decoded(fixture);
        for (from, to) in [
            (
                ">alice@example.com</saml:NameID>",
                ">mallory@example.com</saml:NameID>",
            ),
            ("SamlRole,", "AdminRole,"),
            (
                "NotOnOrAfter=\"2026-12-01T12:05:00Z\" Recipient",
                "NotOnOrAfter=\"2027-12-01T12:05:00Z\" Recipient",
            ),
        ] {
            assert!(xml.contains(from), "{from}");
            let forged = encoded(&xml.replacen(from, to, 1));
            let e = Response::parse(&forged).unwrap().verify(&cert()).unwrap_err();
            assert!(matches!(e, SamlError::Signature(_)), "{from}: {e:?}");
        }
    }
}

#[test]
fn a_response_signed_over_the_response_covers_its_status_and_issuer() {
    let xml = decoded(RESPONSE_SIGNED);
    let forged = encoded(&xml.replacen("status:Success", "status:Requester", 1));
    assert!(Response::parse(&forged).unwrap().verify(&cert()).is_err());
}

#[test]
fn unsigned_wrapped_and_encrypted_responses_are_refused() {
    let xml = decoded(ASSERTION_SIGNED);
    // Without its signature.
    let start = xml.find("<ds:Signature").unwrap();
    let end = xml.find("</ds:Signature>").unwrap() + "</ds:Signature>".len();
    let unsigned = format!("{}{}", &xml[..start], &xml[end..]);
    let e = Response::parse(&encoded(&unsigned))
        .unwrap()
        .verify(&cert())
        .unwrap_err();
    assert_eq!(e, SamlError::Signature("the response is not signed".into()));
    // A second, forged assertion beside the signed one (signature wrapping).
    let a_start = xml.find("<saml:Assertion").unwrap();
    let forged_assertion = unsigned[a_start..unsigned.find("</saml:Assertion>").unwrap() + 17]
        .replace("alice@example.com", "mallory@example.com");
    let wrapped = xml.replacen(
        "<saml:Assertion",
        &format!("{forged_assertion}<saml:Assertion"),
        1,
    );
    assert!(matches!(
        Response::parse(&encoded(&wrapped)),
        Err(SamlError::Malformed(_))
    ));
    // The forged assertion hidden inside the signed one's extensions.
    let nested = xml.replacen("<saml:Subject>", &format!("{forged_assertion}<saml:Subject>"), 1);
    assert!(Response::parse(&encoded(&nested)).is_err());
    let encrypted = xml.replacen("<saml:Assertion ", "<saml:EncryptedAssertion ", 1);
    assert!(Response::parse(&encoded(&encrypted)).is_err());
    assert_eq!(
        Response::parse("not base64!").unwrap_err(),
        SamlError::Malformed("Invalid base64 SAMLResponse".into())
    );
    assert!(
        Response::parse(&encoded(
            "<!DOCTYPE r [<!ENTITY e SYSTEM \"file:///etc/passwd\">]><r>&e;</r>"
        ))
        .is_err()
    );
}

#[test]
fn time_audience_and_recipient_are_checked() {
    let a = Response::parse(ASSERTION_SIGNED).unwrap().assertion().unwrap();
    assert!(matches!(
        a.check(datetime!(2026-12-01 12:05 UTC)),
        Err(SamlError::Expired(_))
    ));
    // Within the clock skew the assertion is already valid; before it, not yet.
    a.check(datetime!(2026-12-01 11:57 UTC)).unwrap();
    assert!(matches!(
        a.check(datetime!(2026-12-01 11:50 UTC)),
        Err(SamlError::Invalid(_))
    ));
    let mut other = a.clone();
    other.audiences = vec!["https://example.com/app".into()];
    assert!(matches!(
        other.check(datetime!(2026-12-01 12:01 UTC)),
        Err(SamlError::Invalid(_))
    ));
    let mut regional = a.clone();
    regional.recipient = Some("https://eu-west-1.signin.aws.amazon.com/saml".into());
    regional.check(datetime!(2026-12-01 12:01 UTC)).unwrap();
    let mut no_recipient = a;
    no_recipient.recipient = None;
    assert!(
        matches!(no_recipient.check(datetime!(2026-12-01 12:01 UTC)), Err(SamlError::Invalid(m)) if m.contains("SubjectConfirmatonData"))
    );
}

#[test]
fn certificates_come_from_pem_base64_or_metadata() {
    let der = cert();
    let body: String = CERT.lines().filter(|l| !l.starts_with("-----")).collect();
    assert_eq!(certificates(&body).unwrap(), der);
    let metadata = format!(
        r#"<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="https://idp.example.com/saml"><md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol"><md:KeyDescriptor use="signing"><ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:X509Data><ds:X509Certificate>{body}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor></md:IDPSSODescriptor></md:EntityDescriptor>"#
    );
    assert_eq!(certificates(&metadata).unwrap(), der);
    assert_eq!(
        metadata_entity_id(&metadata).as_deref(),
        Some("https://idp.example.com/saml")
    );
    assert_eq!(
        certificates("-----BEGIN CERTIFICATE-----\n!!\n-----END CERTIFICATE-----"),
        None
    );
}
