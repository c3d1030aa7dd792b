//! The `[[accounts]]` tables: the identities that may sign requests, with their keys, sessions
//! and deny rules. The emulator verifies signatures against them; the generator signs with them.

use serde::Deserialize;

/// One `[[accounts]]` entry.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AccountConfig {
    /// The 12-digit account id.
    pub id: String,
    /// The account alias, which CloudTrail shows as the root user's `userName`.
    pub alias: Option<String>,
    /// The root user's access key, if it has one.
    pub root: Option<RootConfig>,
    /// IAM users.
    pub users: Vec<UserConfig>,
    /// IAM roles and their sessions.
    pub roles: Vec<RoleConfig>,
    /// Federated users (GetFederationToken).
    pub federated_users: Vec<FederatedUserConfig>,
    /// AWS service principals.
    pub services: Vec<ServiceConfig>,
    /// OpenID Connect identity providers whose tokens `AssumeRoleWithWebIdentity` takes.
    pub oidc_providers: Vec<OidcProviderConfig>,
    /// SAML 2.0 identity providers whose responses `AssumeRoleWithSAML` takes.
    pub saml_providers: Vec<SamlProviderConfig>,
}

/// `[[accounts.saml_providers]]`: an IAM SAML identity provider. Its responses must be signed
/// with the key of a certificate in `metadata` (the IdP's metadata document, as uploaded to
/// IAM) or `certificate` (PEM, or the base64 of the metadata's `X509Certificate`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SamlProviderConfig {
    /// The provider's name, as its ARN ends (`arn:aws:iam::<account>:saml-provider/<name>`).
    pub name: String,
    /// The IdP's metadata XML: its signing certificates, and its `entityID`, which assertions
    /// must name as their `Issuer`.
    #[serde(default)]
    pub metadata: Option<String>,
    /// The IdP's signing certificate, when no metadata is given (the issuer is then not checked).
    #[serde(default)]
    pub certificate: Option<String>,
}

/// `[[accounts.oidc_providers]]`: an IAM OIDC identity provider. Its tokens are JWTs signed
/// RS256 with a key of `jwks` (the issuer's published JSON Web Key Set, copied in: the emulator
/// fetches nothing), or HS256 with `hs256_secret` (for tokens a test mints itself).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OidcProviderConfig {
    /// The issuer, without `https://` (`token.actions.githubusercontent.com`), as the IAM
    /// provider's ARN ends and tokens' `iss` claims name it.
    pub url: String,
    /// The client ids (`aud` claims) it accepts.
    pub audiences: Vec<String>,
    /// The issuer's JSON Web Key Set, as JSON text (`{"keys": [{"kty": "RSA", "kid", "n", "e"}]}`).
    #[serde(default)]
    pub jwks: Option<String>,
    /// A shared secret HS256 tokens are signed with.
    #[serde(default)]
    pub hs256_secret: Option<String>,
}

/// One RSA key of a JWKS: its `kid`, and its modulus and exponent, big-endian.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RsaJwk {
    /// `kid`, when the key has one.
    pub kid: Option<String>,
    /// `n`, decoded.
    pub n: Vec<u8>,
    /// `e`, decoded.
    pub e: Vec<u8>,
}

/// The RSA keys of a JWKS document, or why it is not one.
pub fn parse_jwks(text: &str) -> Result<Vec<RsaJwk>, String> {
    use base64::Engine as _;
    let doc: serde_json::Value = serde_json::from_str(text).map_err(|e| format!("jwks is not JSON: {e}"))?;
    let keys = doc
        .get("keys")
        .and_then(serde_json::Value::as_array)
        .ok_or("jwks has no \"keys\" list")?;
    let b64 = |k: &serde_json::Value, member: &str| {
        let s = k.get(member).and_then(serde_json::Value::as_str)?;
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(s.trim_end_matches('='))
            .ok()
    };
    let rsa: Vec<RsaJwk> = keys
        .iter()
        .filter(|k| k.get("kty").and_then(serde_json::Value::as_str) == Some("RSA"))
        .filter_map(|k| {
            Some(RsaJwk {
                kid: k
                    .get("kid")
                    .and_then(serde_json::Value::as_str)
                    .map(str::to_owned),
                n: b64(k, "n")?,
                e: b64(k, "e")?,
            })
        })
        .collect();
    if rsa.is_empty() {
        return Err("jwks has no RSA key with n and e".into());
    }
    Ok(rsa)
}

impl AccountConfig {
    /// Every access key id the account declares.
    pub fn access_key_ids(&self) -> impl Iterator<Item = &str> {
        self.root
            .iter()
            .map(|r| r.access_key_id.as_str())
            .chain(
                self.users
                    .iter()
                    .flat_map(|u| u.keys.iter().map(|k| k.access_key_id.as_str())),
            )
            .chain(
                self.roles
                    .iter()
                    .flat_map(|r| r.sessions.iter().map(|s| s.access_key_id.as_str())),
            )
            .chain(self.federated_users.iter().map(|f| f.access_key_id.as_str()))
            .chain(self.services.iter().map(|s| s.access_key_id.as_str()))
    }
}

/// `[accounts.root]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RootConfig {
    /// The root access key id (`AKIA…`).
    pub access_key_id: String,
    /// Its secret.
    pub secret_access_key: String,
    /// Operation patterns this identity may not call.
    #[serde(default)]
    pub deny: Vec<String>,
}

/// `[[accounts.users]]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserConfig {
    /// The user name.
    pub name: String,
    /// The IAM path, `/` by default.
    #[serde(default = "slash")]
    pub path: String,
    /// The `AIDA…` unique id; derived from the name when absent.
    #[serde(default)]
    pub principal_id: Option<String>,
    /// Long-term access keys.
    #[serde(default)]
    pub keys: Vec<KeyConfig>,
    /// Operation patterns this user may not call.
    #[serde(default)]
    pub deny: Vec<String>,
}

/// An access key pair.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyConfig {
    /// The access key id.
    pub access_key_id: String,
    /// Its secret.
    pub secret_access_key: String,
    /// A service calling with this key on the user's behalf (`AWS Internal`,
    /// `cloudformation.amazonaws.com`): records get `invokedBy`.
    #[serde(default)]
    pub invoked_by: Option<String>,
}

/// `[[accounts.roles]]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoleConfig {
    /// The role name.
    pub name: String,
    /// The IAM path.
    #[serde(default = "slash")]
    pub path: String,
    /// The `AROA…` unique id; derived from the name when absent.
    #[serde(default)]
    pub role_id: Option<String>,
    /// Active sessions of this role.
    #[serde(default)]
    pub sessions: Vec<SessionConfig>,
    /// Operation patterns every session of this role may not call.
    #[serde(default)]
    pub deny: Vec<String>,
    /// Who may assume the role through STS (its trust policy's principals): account ids, `*`,
    /// IAM user or role ARNs, or service principals (`lambda.amazonaws.com`). When absent, any
    /// principal of the role's own account.
    #[serde(default)]
    pub trust: Option<Vec<String>>,
    /// The longest session STS issues for the role, in seconds (AWS: 3600 unless raised, at most
    /// 43200).
    #[serde(default = "one_hour")]
    pub max_session_duration: u32,
}

fn one_hour() -> u32 {
    3600
}

/// `[[accounts.roles.sessions]]`: temporary credentials from AssumeRole.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SessionConfig {
    /// The role session name.
    pub name: String,
    /// The temporary key id (`ASIA…`).
    pub access_key_id: String,
    /// Its secret.
    pub secret_access_key: String,
    /// The session token the client must send as `X-Amz-Security-Token`.
    pub session_token: String,
    /// When the session was issued, `YYYY-MM-DDTHH:MM:SSZ`. When absent, records show the
    /// session as renewed at the start of the call's hour, as SDKs renew role credentials.
    #[serde(default)]
    pub creation_date: Option<String>,
    /// When it expires; never when absent.
    #[serde(default)]
    pub expiration: Option<String>,
    /// Whether the session was created with MFA.
    #[serde(default)]
    pub mfa_authenticated: bool,
    /// The source identity set on the session.
    #[serde(default)]
    pub source_identity: Option<String>,
    /// A service acting through this session (`invokedBy`).
    #[serde(default)]
    pub invoked_by: Option<String>,
    /// Operation patterns this session may not call (added to the role's).
    #[serde(default)]
    pub deny: Vec<String>,
}

/// `[[accounts.federated_users]]`: temporary credentials from GetFederationToken.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FederatedUserConfig {
    /// The federated user name.
    pub name: String,
    /// The IAM user (of the same account) that called GetFederationToken.
    pub issuer_user: String,
    /// The temporary key id (`ASIA…`).
    pub access_key_id: String,
    /// Its secret.
    pub secret_access_key: String,
    /// The session token.
    pub session_token: String,
    /// When the token was issued; when absent, the start of the call's hour (as for sessions).
    #[serde(default)]
    pub creation_date: Option<String>,
    /// When it expires; never when absent.
    #[serde(default)]
    pub expiration: Option<String>,
    /// Whether MFA was used.
    #[serde(default)]
    pub mfa_authenticated: bool,
    /// Operation patterns this identity may not call.
    #[serde(default)]
    pub deny: Vec<String>,
}

/// `[[accounts.services]]`: an AWS service principal calling in the account.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceConfig {
    /// The service principal, e.g. `personalize.amazonaws.com`.
    pub principal: String,
    /// The key the emulator accepts for it.
    pub access_key_id: String,
    /// Its secret.
    pub secret_access_key: String,
    /// Operation patterns this identity may not call.
    #[serde(default)]
    pub deny: Vec<String>,
}

fn slash() -> String {
    "/".to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jwks_give_their_rsa_keys() {
        let keys = parse_jwks(
            r#"{"keys": [{"kty": "RSA", "kid": "a", "n": "AQAB", "e": "AQAB"},
                         {"kty": "EC", "kid": "b", "x": "1", "y": "2"},
                         {"kty": "RSA", "n": "AQAB"}]}"#,
        )
        .unwrap();
        assert_eq!(
            keys,
            vec![RsaJwk {
                kid: Some("a".into()),
                n: vec![1, 0, 1],
                e: vec![1, 0, 1],
            }]
        );
        assert!(parse_jwks("{}").is_err());
        assert!(parse_jwks(r#"{"keys": [{"kty": "EC"}]}"#).is_err());
        assert!(parse_jwks("not json").is_err());
    }
}
