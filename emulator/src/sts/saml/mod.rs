//! SAML 2.0 authentication responses for `AssumeRoleWithSAML`: what a response says, read
//! before the call runs (to know whom to record it against), and whether it holds, checked
//! when it runs: an enveloped signature by the provider's certificate over the assertion or
//! the whole response, the audience, the recipient and the validity window.

use time::OffsetDateTime;

pub mod c14n;
pub mod dsig;
pub mod xml;

use xml::Element;

const PROTOCOL_NS: &str = "urn:oasis:names:tc:SAML:2.0:protocol";
const ASSERTION_NS: &str = "urn:oasis:names:tc:SAML:2.0:assertion";
const SUCCESS: &str = "urn:oasis:names:tc:SAML:2.0:status:Success";
const ATTRIBUTES: &str = "https://aws.amazon.com/SAML/Attributes/";
/// The longest `SAMLAssertion` STS takes (the model's limit), in characters.
pub const MAX_ASSERTION: usize = 100_000;
/// How far an identity provider's clock may run ahead of ours.
const CLOCK_SKEW: time::Duration = time::Duration::minutes(5);

/// Why a response is refused, each as STS answers it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SamlError {
    /// Not base64, not XML, or not a SAML response (`InvalidIdentityToken`).
    Malformed(String),
    /// The signature does not hold (`InvalidIdentityToken`, "Response signature invalid").
    Signature(String),
    /// A rule of the assertion is broken (`InvalidIdentityToken` with this message).
    Invalid(String),
    /// The assertion's time has passed (`ExpiredTokenException`).
    Expired(String),
}

/// What a response says, unchecked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// The response document.
    root: Element,
}

/// What its assertion says.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Assertion {
    /// The assertion's `ID`.
    pub id: String,
    /// Its `Issuer`.
    pub issuer: String,
    /// The `NameID` of its `Subject`.
    pub subject: Option<String>,
    /// The `NameID`'s `Format`.
    pub subject_format: Option<String>,
    /// `Recipient` of the bearer `SubjectConfirmationData`.
    pub recipient: Option<String>,
    /// `NotOnOrAfter` of the bearer `SubjectConfirmationData`.
    pub confirm_until: Option<OffsetDateTime>,
    /// `Conditions`' `NotBefore`.
    pub not_before: Option<OffsetDateTime>,
    /// `Conditions`' `NotOnOrAfter`.
    pub not_on_or_after: Option<OffsetDateTime>,
    /// The `Audience`s of its `AudienceRestriction`s.
    pub audiences: Vec<String>,
    /// The `Role` attribute's pairs, as (role ARN, provider ARN).
    pub roles: Vec<(String, String)>,
    /// What a record shows of it (session name, tags, source identity).
    pub facts: ::sts::SamlRequestFacts,
    /// `SessionNotOnOrAfter` of its `AuthnStatement`: no session outlives it.
    pub session_until: Option<OffsetDateTime>,
}

fn malformed(message: impl Into<String>) -> SamlError {
    SamlError::Malformed(message.into())
}

fn instant(e: &Element, name: &str) -> Result<Option<OffsetDateTime>, SamlError> {
    e.attr(name)
        .map(|v| {
            OffsetDateTime::parse(v.trim(), &time::format_description::well_known::Rfc3339)
                .map_err(|_| malformed(format!("{name} {v:?} is not an xs:dateTime")))
        })
        .transpose()
}

impl Response {
    /// The response a `SAMLAssertion` member carries (base64 of the XML).
    pub fn parse(encoded: &str) -> Result<Response, SamlError> {
        if encoded.len() > MAX_ASSERTION {
            return Err(malformed("the SAML response is longer than STS takes"));
        }
        let bytes = dsig::base64_decode(encoded).ok_or_else(|| malformed("Invalid base64 SAMLResponse"))?;
        let text = String::from_utf8(bytes).map_err(|_| malformed("the SAML response is not UTF-8"))?;
        let root = xml::parse(text.trim_start_matches('\u{feff}'))
            .map_err(|e| malformed(format!("the SAML response is not XML: {e}")))?;
        if !root.is(PROTOCOL_NS, "Response") {
            return Err(malformed("the document is not a SAML 2.0 Response"));
        }
        if root
            .children_named(ASSERTION_NS, "EncryptedAssertion")
            .next()
            .is_some()
        {
            return Err(malformed("encrypted assertions are not accepted"));
        }
        if root
            .descendants()
            .iter()
            .filter(|e| e.is(ASSERTION_NS, "Assertion"))
            .count()
            != 1
        {
            return Err(malformed("the response must carry exactly one Assertion"));
        }
        root.only_child(ASSERTION_NS, "Assertion")
            .ok_or_else(|| malformed("the Assertion must be a child of the Response"))?;
        Ok(Response { root })
    }

    fn assertion_element(&self) -> &Element {
        // `parse` made sure there is exactly one, a child of the root.
        self.root
            .only_child(ASSERTION_NS, "Assertion")
            .unwrap_or(&self.root)
    }

    /// What the assertion says, unchecked.
    pub fn assertion(&self) -> Result<Assertion, SamlError> {
        let a = self.assertion_element();
        let mut out = Assertion {
            id: a.attr("ID").unwrap_or_default().to_owned(),
            issuer: a
                .only_child(ASSERTION_NS, "Issuer")
                .map(|i| i.text().trim().to_owned())
                .ok_or_else(|| malformed("the Assertion has no Issuer"))?,
            ..Assertion::default()
        };
        out.facts.assertion_id = out.id.clone();
        if let Some(subject) = a.only_child(ASSERTION_NS, "Subject") {
            if let Some(name) = subject.only_child(ASSERTION_NS, "NameID") {
                out.subject = Some(name.text().trim().to_owned());
                out.subject_format = name.attr("Format").map(str::to_owned);
            }
            let bearer = subject
                .children_named(ASSERTION_NS, "SubjectConfirmation")
                .find(|c| c.attr("Method") == Some("urn:oasis:names:tc:SAML:2.0:cm:bearer"));
            if let Some(data) = bearer.and_then(|c| c.only_child(ASSERTION_NS, "SubjectConfirmationData")) {
                out.recipient = data.attr("Recipient").map(str::to_owned);
                out.confirm_until = instant(data, "NotOnOrAfter")?;
            }
        }
        if let Some(c) = a.only_child(ASSERTION_NS, "Conditions") {
            out.not_before = instant(c, "NotBefore")?;
            out.not_on_or_after = instant(c, "NotOnOrAfter")?;
            out.audiences = c
                .children_named(ASSERTION_NS, "AudienceRestriction")
                .flat_map(|r| r.children_named(ASSERTION_NS, "Audience"))
                .map(|e| e.text().trim().to_owned())
                .collect();
        }
        for statement in a.children_named(ASSERTION_NS, "AuthnStatement") {
            out.session_until = instant(statement, "SessionNotOnOrAfter")?.or(out.session_until);
        }
        let attributes = a
            .children_named(ASSERTION_NS, "AttributeStatement")
            .flat_map(|s| s.children_named(ASSERTION_NS, "Attribute"));
        for attribute in attributes {
            let Some(name) = attribute.attr("Name").and_then(|n| n.strip_prefix(ATTRIBUTES)) else {
                continue;
            };
            let values: Vec<String> = attribute
                .children_named(ASSERTION_NS, "AttributeValue")
                .map(|v| v.text().trim().to_owned())
                .collect();
            let first = values.first().cloned();
            match name {
                "Role" => out.roles.extend(values.iter().filter_map(|v| role_pair(v))),
                "RoleSessionName" => out.facts.role_session_name = first,
                "SourceIdentity" => out.facts.source_identity = first,
                "TransitiveTagKeys" => out.facts.transitive_tag_keys = values,
                other => {
                    if let (Some(key), Some(value)) = (other.strip_prefix("PrincipalTag:"), first) {
                        out.facts.principal_tags.push((key.to_owned(), value));
                    }
                }
            }
        }
        Ok(out)
    }

    /// Whether the response or its assertion carries a valid signature by one of
    /// `certificates` (DER). Either covers the one assertion the claims are read from.
    pub fn verify(&self, certificates: &[Vec<u8>]) -> Result<(), SamlError> {
        let all = self.root.descendants();
        let assertion = self.assertion_element();
        let on_response = dsig::verify_enveloped(&self.root, &all, certificates);
        let on_assertion = dsig::verify_enveloped(assertion, &all, certificates);
        match (on_response, on_assertion) {
            (Ok(()), Ok(()) | Err(dsig::SignatureError::Unsigned))
            | (Err(dsig::SignatureError::Unsigned), Ok(())) => Ok(()),
            (Err(dsig::SignatureError::Unsigned), Err(dsig::SignatureError::Unsigned)) => {
                Err(SamlError::Signature("the response is not signed".into()))
            }
            (Err(e), _) | (_, Err(e)) => Err(SamlError::Signature(e.to_string())),
        }
    }

    /// Whether the response reports success.
    pub fn succeeded(&self) -> bool {
        self.root
            .only_child(PROTOCOL_NS, "Status")
            .and_then(|s| s.only_child(PROTOCOL_NS, "StatusCode"))
            .and_then(|c| c.attr("Value"))
            == Some(SUCCESS)
    }
}

/// The DER certificates of a provider's configured `certificate`: PEM (one or more
/// `CERTIFICATE` blocks) or the bare base64 of an IdP metadata's `X509Certificate`; or, when
/// the text is an IdP metadata document, its signing certificates. `None` when it names none.
pub fn certificates(text: &str) -> Option<Vec<Vec<u8>>> {
    let text = text.trim();
    if text.starts_with('<') {
        let root = xml::parse(text).ok()?;
        let found: Vec<Vec<u8>> = root
            .descendants()
            .into_iter()
            .filter(|e| e.is("urn:oasis:names:tc:SAML:2.0:metadata", "KeyDescriptor"))
            .filter(|k| k.attr("use").is_none_or(|u| u == "signing"))
            .flat_map(|k| k.descendants())
            .filter(|e| e.is(dsig::DSIG_NS, "X509Certificate"))
            .filter_map(|c| dsig::base64_decode(&c.text()))
            .collect();
        return (!found.is_empty()).then_some(found);
    }
    if !text.contains("-----BEGIN") {
        return dsig::base64_decode(text).map(|d| vec![d]);
    }
    let mut out = Vec::new();
    for block in text.split("-----BEGIN CERTIFICATE-----").skip(1) {
        let body = block.split("-----END CERTIFICATE-----").next()?;
        out.push(dsig::base64_decode(body)?);
    }
    (!out.is_empty()).then_some(out)
}

/// Whether `der` is an X.509 certificate the signature check can take a key from.
pub fn is_certificate(der: &[u8]) -> bool {
    let der = rustls_pki_types::CertificateDer::from(der);
    webpki::EndEntityCert::try_from(&der).is_ok()
}

/// The `entityID` of an IdP metadata document: the issuer its assertions name.
pub fn metadata_entity_id(text: &str) -> Option<String> {
    let root = xml::parse(text.trim()).ok()?;
    root.descendants()
        .into_iter()
        .find(|e| e.is("urn:oasis:names:tc:SAML:2.0:metadata", "EntityDescriptor"))
        .and_then(|e| e.attr("entityID"))
        .map(str::to_owned)
}

/// A `Role` attribute value: a role ARN and a SAML provider ARN, comma-separated, in either
/// order.
fn role_pair(value: &str) -> Option<(String, String)> {
    let (a, b) = value.split_once(',')?;
    let (a, b) = (a.trim(), b.trim());
    let is_provider = |s: &str| s.contains(":saml-provider/");
    match (is_provider(a), is_provider(b)) {
        (false, true) => Some((a.to_owned(), b.to_owned())),
        (true, false) => Some((b.to_owned(), a.to_owned())),
        _ => None,
    }
}

/// The audiences AWS sign-in answers to.
fn aws_audience(audience: &str) -> bool {
    audience == "urn:amazon:webservices"
        || audience
            .strip_prefix("https://")
            .and_then(|r| r.strip_suffix("signin.aws.amazon.com/saml"))
            .is_some_and(|region| region.is_empty() || region.ends_with('.'))
}

impl Assertion {
    /// The rules STS applies to an assertion at `now`, signature apart.
    pub fn check(&self, now: OffsetDateTime) -> Result<(), SamlError> {
        let (Some(recipient), Some(until)) = (&self.recipient, self.confirm_until) else {
            // AWS's own wording, misspelling included.
            return Err(SamlError::Invalid(
                "Responses must contain SubjectConfirmatonData with a Recipient and NotOnOrAfter".into(),
            ));
        };
        if !aws_audience(recipient) {
            return Err(SamlError::Invalid(format!(
                "The SubjectConfirmationData's Recipient {recipient} is not AWS sign-in"
            )));
        }
        if !self.audiences.iter().any(|a| aws_audience(a)) {
            return Err(SamlError::Invalid(
                "Audience restriction not met: AWS sign-in is not an Audience".into(),
            ));
        }
        if self.not_before.is_some_and(|t| now + CLOCK_SKEW < t) {
            return Err(SamlError::Invalid(
                "The assertion is not yet valid (Conditions NotBefore)".into(),
            ));
        }
        if until <= now || self.not_on_or_after.is_some_and(|t| t <= now) {
            return Err(SamlError::Expired(
                "The SAML assertion has expired (NotOnOrAfter)".into(),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
