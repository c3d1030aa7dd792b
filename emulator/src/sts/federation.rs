//! Federated role sessions: `AssumeRoleWithWebIdentity` (an OIDC provider's JWT) and
//! `AssumeRoleWithSAML` (an identity provider's signed SAML response), with the messages STS
//! answers when either is refused.

use serde_json::{Value, json};

use super::saml;
use super::web_token;
use super::{
    RoleSession, StsApi, access_denied, check_name, credentials, invalid_token, required, role_duration,
    validation,
};
use crate::seams::{CallContext, ServiceError};
use ::sts::str_member;

/// Identity providers CloudTrail names by domain; any other is named by its IAM provider ARN.
const WELL_KNOWN_PROVIDERS: &[&str] = &[
    "accounts.google.com",
    "graph.facebook.com",
    "www.amazon.com",
    "cognito-identity.amazonaws.com",
];

impl StsApi {
    pub(super) fn assume_role_with_web_identity(
        &self,
        ctx: &CallContext<'_>,
        input: &Value,
    ) -> Result<Value, ServiceError> {
        let role_arn = required(input, "RoleArn")?;
        let session = required(input, "RoleSessionName")?;
        check_name(session, "roleSessionName", 2, 64)?;
        let token = required(input, "WebIdentityToken")?;
        let not_authorized = || access_denied("Not authorized to perform sts:AssumeRoleWithWebIdentity");
        let role = self.identities.role(role_arn).ok_or_else(not_authorized)?;
        let claims = web_token::Claims::parse(token)?;
        let provider = self
            .identities
            .oidc_provider(&role.account, claims.issuer())
            .ok_or_else(|| {
                invalid_token(format!(
                    "No OpenIDConnect provider found in your account for {}",
                    claims.iss
                ))
            })?;
        claims.verify(token, provider, ctx.now)?;
        let provider_arn = provider_arn(&role.account, claims.issuer());
        if !role
            .trust
            .iter()
            .any(|t| *t == provider_arn || t == claims.issuer())
        {
            return Err(not_authorized());
        }
        let secs = role_duration(input, role)?;
        let provider = federated_provider(&role.account, claims.issuer());
        let session = RoleSession {
            name: session,
            mfa: false,
            source_identity: None,
            web_identity: Some(&provider),
        };
        let (issued, assumed) = self.role_session(role, &session, ctx.now, secs);
        Ok(json!({
            "Credentials": credentials(&issued),
            "SubjectFromWebIdentityToken": claims.sub,
            "AssumedRoleUser": assumed,
            "Provider": claims.iss,
            "Audience": claims.aud,
        }))
    }

    pub(super) fn assume_role_with_saml(
        &self,
        ctx: &CallContext<'_>,
        input: &Value,
    ) -> Result<Value, ServiceError> {
        let role_arn = required(input, "RoleArn")?;
        let provider_arn = required(input, "PrincipalArn")?;
        let encoded = required(input, "SAMLAssertion")?;
        if encoded.len() < 4 || encoded.len() > saml::MAX_ASSERTION {
            return Err(validation(format!(
                "1 validation error detected: Value at 'sAMLAssertion' failed to satisfy constraint: Member must have \
                 length between 4 and {}",
                saml::MAX_ASSERTION
            )));
        }
        let not_authorized = || access_denied("Not authorized to perform sts:AssumeRoleWithSAML");
        let provider = self.identities.saml_provider(provider_arn).ok_or_else(|| {
            discovery_error(
                "Specified provider doesn't exist",
                "AuthSamlManifestNotFoundException",
            )
        })?;
        let response = saml::Response::parse(encoded).map_err(saml_error)?;
        response.verify(&provider.certificates).map_err(saml_error)?;
        let assertion = response.assertion().map_err(saml_error)?;
        if provider.issuer.as_ref().is_some_and(|i| *i != assertion.issuer) {
            return Err(discovery_error(
                "Failed to assume role: Issuer not present in specified provider",
                "AuthSamlInvalidSamlResponseException",
            ));
        }
        if !response.succeeded() {
            return Err(invalid_token("The SAML response's StatusCode is not Success"));
        }
        assertion.check(ctx.now).map_err(saml_error)?;
        if !assertion
            .roles
            .iter()
            .any(|(r, p)| r == role_arn && p == provider_arn)
        {
            return Err(invalid_token(
                "SAML Assertion doesn't contain the requested Role and Metadata in the attributes",
            ));
        }
        let subject = assertion.subject.clone().ok_or_else(not_authorized)?;
        let session = assertion
            .facts
            .role_session_name
            .as_deref()
            .ok_or_else(|| invalid_token("RoleSessionName is required in AuthnResponse"))?;
        if check_name(session, "roleSessionName", 2, 64).is_err() {
            return Err(invalid_token(
                "RoleSessionName in AuthnResponse must match [a-zA-Z_0-9+=,.@-]{2,64}",
            ));
        }
        let role = self.identities.role(role_arn).ok_or_else(not_authorized)?;
        if !role.trust.iter().any(|t| t == provider_arn) {
            return Err(not_authorized());
        }
        let source_identity = assertion.facts.source_identity.as_deref();
        if let Some(s) = source_identity {
            check_name(s, "sourceIdentity", 2, 64)?;
        }
        let mut secs = role_duration(input, role)?;
        // No session outlives the identity provider's own session.
        if let Some(until) = assertion.session_until {
            secs = secs.min((until - ctx.now).whole_seconds()).max(1);
        }
        let session = RoleSession {
            name: session,
            mfa: false,
            source_identity,
            web_identity: None,
        };
        let (issued, assumed) = self.role_session(role, &session, ctx.now, secs);
        let answer = ::sts::SamlAnswer {
            subject_type: ::sts::subject_type(assertion.subject_format.as_deref()),
            name_qualifier: ::sts::name_qualifier(&assertion.issuer, &provider.account, &provider.name),
            subject,
            issuer: assertion.issuer.clone(),
            audience: assertion.recipient.clone().unwrap_or_default(),
            source_identity: source_identity.map(str::to_owned),
        };
        Ok(::sts::assume_role_with_saml_output(
            credentials(&issued),
            assumed,
            input,
            &answer,
        ))
    }
}

/// An `InvalidIdentityToken` as STS relays it from its SAML back end, which names itself, its
/// own error code and a request id of its own.
pub(super) fn discovery_error(message: &str, code: &str) -> ServiceError {
    invalid_token(format!(
        "{message} (Service: AWSOpenIdDiscoveryService; Status Code: 400; Error Code: {code}; Request ID: {})",
        cloudtrail::record::random_uuid()
    ))
}

/// What STS answers for a SAML response it refuses.
pub(super) fn saml_error(e: saml::SamlError) -> ServiceError {
    match e {
        saml::SamlError::Malformed(m) if m == "Invalid base64 SAMLResponse" => {
            discovery_error(&m, "AuthSamlInvalidSamlResponseException")
        }
        saml::SamlError::Malformed(m) => invalid_token(format!("Invalid SAML response: {m}")),
        // AWS's message is the first sentence; the reason helps whoever set up the provider.
        saml::SamlError::Signature(m) => invalid_token(format!("Response signature invalid ({m})")),
        saml::SamlError::Invalid(m) => invalid_token(m),
        saml::SamlError::Expired(m) => ServiceError::client("ExpiredTokenException", m),
    }
}

/// The record's view of a SAML request: what the assertion says, read without checking it.
pub(super) fn saml_facts(input: &Value) -> Option<::sts::SamlRequestFacts> {
    let response = saml::Response::parse(str_member(input, "SAMLAssertion")?).ok()?;
    response.assertion().ok().map(|a| a.facts)
}

/// `arn:aws:iam::<account>:oidc-provider/<issuer>`.
pub(super) fn provider_arn(account: &str, issuer: &str) -> String {
    format!("arn:aws:iam::{account}:oidc-provider/{issuer}")
}

/// How records name an identity provider: well-known ones by domain, others by ARN.
pub(super) fn federated_provider(account: &str, issuer: &str) -> String {
    if WELL_KNOWN_PROVIDERS.contains(&issuer) {
        issuer.to_owned()
    } else {
        provider_arn(account, issuer)
    }
}
