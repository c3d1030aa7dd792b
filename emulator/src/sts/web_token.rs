//! OIDC ID tokens (JWTs) for `AssumeRoleWithWebIdentity`: their claims, read before the call
//! runs (to know whom to record it against) and checked when it runs.

use base64::Engine as _;
use serde_json::Value;
use time::OffsetDateTime;

use super::invalid_token;
use crate::identity::OidcProvider;
use crate::seams::ServiceError;

/// What a token says.
#[derive(Debug, Clone)]
pub(super) struct Claims {
    /// `iss`, as written.
    pub(super) iss: String,
    /// `sub`.
    pub(super) sub: String,
    /// `aud` (the first, when it is a list).
    pub(super) aud: String,
    /// `exp`.
    exp: Option<i64>,
    /// `alg` of the header.
    alg: String,
    /// `kid` of the header.
    kid: Option<String>,
}

fn part(token: &str, i: usize) -> Option<&str> {
    let mut parts = token.split('.');
    let p = parts.nth(i)?;
    (token.split('.').count() == 3).then_some(p)
}

fn decode_json(s: &str) -> Option<Value> {
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(s.trim_end_matches('='))
        .ok()?;
    serde_json::from_slice(&bytes).ok()
}

impl Claims {
    /// The claims of `token`, unchecked.
    pub(super) fn parse(token: &str) -> Result<Claims, ServiceError> {
        let bad = || invalid_token("Couldn't parse the web identity token: it is not a JWT.");
        let header = part(token, 0).and_then(decode_json).ok_or_else(bad)?;
        let body = part(token, 1).and_then(decode_json).ok_or_else(bad)?;
        let text = |k: &str| body.get(k).and_then(Value::as_str).map(str::to_owned);
        let aud = match body.get("aud") {
            Some(Value::Array(a)) => a.first().and_then(Value::as_str).map(str::to_owned),
            Some(Value::String(s)) => Some(s.clone()),
            _ => None,
        };
        Ok(Claims {
            iss: text("iss").ok_or_else(bad)?,
            sub: text("sub").ok_or_else(bad)?,
            aud: aud.ok_or_else(bad)?,
            exp: body.get("exp").and_then(Value::as_i64),
            alg: header
                .get("alg")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned(),
            kid: header.get("kid").and_then(Value::as_str).map(str::to_owned),
        })
    }

    /// The issuer without `https://`, as IAM providers are named.
    pub(super) fn issuer(&self) -> &str {
        self.iss.trim_start_matches("https://").trim_end_matches('/')
    }

    /// Checks the signature (HS256 with the provider's secret), the audience and expiry.
    pub(super) fn verify(
        &self,
        token: &str,
        provider: &OidcProvider,
        now: OffsetDateTime,
    ) -> Result<(), ServiceError> {
        let (signed, signature) = token
            .rsplit_once('.')
            .ok_or_else(|| invalid_token("The token has no signature."))?;
        let signature = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(signature.trim_end_matches('='))
            .map_err(|_| invalid_token("The token's signature is not base64url."))?;
        let valid = match self.alg.as_str() {
            "RS256" => provider
                .keys
                .iter()
                .filter(|k| self.kid.is_none() || k.kid == self.kid)
                .any(|k| cloudtrail::keys::verify_rsa_components(&k.n, &k.e, signed.as_bytes(), &signature)),
            "HS256" => provider
                .secret
                .as_ref()
                .is_some_and(|s| sigv4::hmac_sha256_matches(s.as_bytes(), signed.as_bytes(), &signature)),
            other => {
                return Err(invalid_token(format!(
                    "The token is signed with {other}; the emulator checks RS256 and HS256 tokens."
                )));
            }
        };
        if !valid {
            return Err(invalid_token("The web identity token's signature is not valid."));
        }
        if !provider.audiences.contains(&self.aud) {
            return Err(invalid_token("Incorrect token audience"));
        }
        match self.exp {
            Some(exp) if now.unix_timestamp() < exp => Ok(()),
            Some(_) => Err(ServiceError::client(
                "ExpiredTokenException",
                "Token expired: the web identity token's exp is in the past.",
            )),
            None => Err(invalid_token("The web identity token has no exp claim.")),
        }
    }
}
