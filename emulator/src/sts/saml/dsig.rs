//! Enveloped XML signatures (XML-DSig) as SAML identity providers write them: one reference to
//! the signed element's `ID`, the enveloped-signature and exclusive canonicalisation
//! transforms, SHA-2 digests, and an RSA signature checked with the provider's certificate,
//! never with a key the document carries.

use base64::Engine as _;
use sha2::Digest as _;
use thiserror::Error;

use super::c14n::{EXC_C14N, canonicalize};
use super::xml::Element;

/// The XML-DSig namespace.
pub const DSIG_NS: &str = "http://www.w3.org/2000/09/xmldsig#";
const ENVELOPED: &str = "http://www.w3.org/2000/09/xmldsig#enveloped-signature";
const RSA_SHA1: &str = "http://www.w3.org/2000/09/xmldsig#rsa-sha1";

/// Why a signature does not hold.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum SignatureError {
    /// The element carries no signature of its own.
    #[error("the element is not signed")]
    Unsigned,
    /// The signature is not of the one profile accepted (named in the message).
    #[error("{0}")]
    Unsupported(String),
    /// The digest or the signature value does not match.
    #[error("{0}")]
    Invalid(&'static str),
}

fn unsupported(message: impl Into<String>) -> SignatureError {
    SignatureError::Unsupported(message.into())
}

/// Checks the signature `signed` carries as a direct child, made over `signed` itself, against
/// the DER `certificates` (any of them). `all` is every element of the document, to refuse a
/// document in which two elements share the signed `ID`.
pub fn verify_enveloped(
    signed: &Element,
    all: &[&Element],
    certificates: &[Vec<u8>],
) -> Result<(), SignatureError> {
    let mut signatures = signed.children_named(DSIG_NS, "Signature");
    let signature = signatures.next().ok_or(SignatureError::Unsigned)?;
    if signatures.next().is_some() {
        return Err(unsupported("an element carries more than one signature"));
    }
    let id = signed
        .attr("ID")
        .ok_or_else(|| unsupported("the signed element has no ID"))?;
    if all.iter().filter(|e| e.attr("ID") == Some(id)).count() != 1 {
        return Err(unsupported("two elements of the document share the signed ID"));
    }
    let info = signature
        .only_child(DSIG_NS, "SignedInfo")
        .ok_or_else(|| unsupported("the signature has no SignedInfo"))?;
    let method = info
        .only_child(DSIG_NS, "CanonicalizationMethod")
        .ok_or_else(|| unsupported("SignedInfo has no CanonicalizationMethod"))?;
    if method.attr("Algorithm") != Some(EXC_C14N) {
        return Err(unsupported(
            "SignedInfo must be canonicalised with exclusive XML canonicalization",
        ));
    }
    let info_inclusive = inclusive_prefixes(method);
    let signature_method = info
        .only_child(DSIG_NS, "SignatureMethod")
        .and_then(|m| m.attr("Algorithm"))
        .ok_or_else(|| unsupported("SignedInfo has no SignatureMethod"))?;
    let algorithm: &dyn rustls_pki_types::SignatureVerificationAlgorithm = match signature_method {
        "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256" => webpki::ring::RSA_PKCS1_2048_8192_SHA256,
        "http://www.w3.org/2001/04/xmldsig-more#rsa-sha384" => webpki::ring::RSA_PKCS1_2048_8192_SHA384,
        "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512" => webpki::ring::RSA_PKCS1_2048_8192_SHA512,
        RSA_SHA1 => {
            return Err(unsupported(
                "RSA-SHA1 signatures are not accepted; sign with RSA-SHA256",
            ));
        }
        other => return Err(unsupported(format!("signature method {other} is not accepted"))),
    };
    let mut references = info.children_named(DSIG_NS, "Reference");
    let reference = references
        .next()
        .ok_or_else(|| unsupported("SignedInfo has no Reference"))?;
    if references.next().is_some() {
        return Err(unsupported("SignedInfo must have exactly one Reference"));
    }
    if reference.attr("URI") != Some(format!("#{id}").as_str()) {
        return Err(unsupported(
            "the Reference does not name the element that carries the signature",
        ));
    }
    let transforms: Vec<&Element> = reference
        .only_child(DSIG_NS, "Transforms")
        .map(|t| t.children_named(DSIG_NS, "Transform").collect())
        .unwrap_or_default();
    let mut enveloped = false;
    let mut inclusive = None;
    for t in &transforms {
        match t.attr("Algorithm") {
            Some(ENVELOPED) if inclusive.is_none() => enveloped = true,
            Some(EXC_C14N) if inclusive.is_none() => inclusive = Some(inclusive_prefixes(t)),
            _ => {
                return Err(unsupported(
                    "the Reference's transforms must be enveloped-signature and exclusive canonicalization",
                ));
            }
        }
    }
    let (true, Some(inclusive)) = (enveloped, inclusive) else {
        return Err(unsupported(
            "the Reference's transforms must be enveloped-signature and exclusive canonicalization",
        ));
    };
    let digest_method = reference
        .only_child(DSIG_NS, "DigestMethod")
        .and_then(|m| m.attr("Algorithm"))
        .ok_or_else(|| unsupported("the Reference has no DigestMethod"))?;
    let digest_value = reference
        .only_child(DSIG_NS, "DigestValue")
        .map(|d| d.text())
        .and_then(|t| base64_decode(&t))
        .ok_or_else(|| unsupported("the Reference has no base64 DigestValue"))?;
    let canonical = canonicalize(signed, Some(signature), &inclusive);
    let digest = match digest_method {
        "http://www.w3.org/2001/04/xmlenc#sha256" => sha2::Sha256::digest(canonical.as_bytes()).to_vec(),
        "http://www.w3.org/2001/04/xmldsig-more#sha384" => {
            sha2::Sha384::digest(canonical.as_bytes()).to_vec()
        }
        "http://www.w3.org/2001/04/xmlenc#sha512" => sha2::Sha512::digest(canonical.as_bytes()).to_vec(),
        "http://www.w3.org/2000/09/xmldsig#sha1" => {
            return Err(unsupported("SHA-1 digests are not accepted; digest with SHA-256"));
        }
        other => return Err(unsupported(format!("digest method {other} is not accepted"))),
    };
    if digest != digest_value {
        return Err(SignatureError::Invalid(
            "the signed element's digest does not match",
        ));
    }
    let value = signature
        .only_child(DSIG_NS, "SignatureValue")
        .map(|v| v.text())
        .and_then(|t| base64_decode(&t))
        .ok_or_else(|| unsupported("the signature has no base64 SignatureValue"))?;
    let signed_info = canonicalize(info, None, &info_inclusive);
    let valid = certificates.iter().any(|der| {
        let der = rustls_pki_types::CertificateDer::from(der.as_slice());
        webpki::EndEntityCert::try_from(&der).is_ok_and(|cert| {
            cert.verify_signature(algorithm, signed_info.as_bytes(), &value)
                .is_ok()
        })
    });
    if valid {
        Ok(())
    } else {
        Err(SignatureError::Invalid(
            "the signature value does not verify with the provider's certificate",
        ))
    }
}

/// The `PrefixList` of an `InclusiveNamespaces` child of a canonicalisation method.
fn inclusive_prefixes(method: &Element) -> Vec<String> {
    method
        .only_child(EXC_C14N, "InclusiveNamespaces")
        .and_then(|i| i.attr("PrefixList"))
        .map(|l| l.split_ascii_whitespace().map(str::to_owned).collect())
        .unwrap_or_default()
}

/// Base64 as XML-DSig writes it: whitespace anywhere is ignored.
pub fn base64_decode(text: &str) -> Option<Vec<u8>> {
    let compact: String = text.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    base64::engine::general_purpose::STANDARD.decode(compact).ok()
}
