//! Who may sign requests: access keys from the configuration, resolved to CloudTrail identities,
//! with per-identity deny rules.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use cloudtrail::identity::SessionIssuer;
use cloudtrail::{IdentityType, UserIdentity};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use crate::config::{AccountConfig, FileConfig};

/// The identity behind one access key.
#[derive(Debug)]
pub struct Principal {
    /// The account the key belongs to (the record's `recipientAccountId`).
    pub account: String,
    /// The `userIdentity` element of records made with this key.
    pub identity: UserIdentity,
    /// The secret that signs requests.
    pub secret: String,
    /// For temporary (`ASIA…`) credentials: the token that must come as `X-Amz-Security-Token`.
    pub session_token: Option<String>,
    /// When temporary credentials stop working.
    pub expiration: Option<OffsetDateTime>,
    /// Operation patterns (`personalize:Delete*`, `CreateSchema`) this identity may not call.
    pub deny: Vec<String>,
    /// A principal made up for an unknown key (`--allow-unknown-keys`); its signature cannot be
    /// checked because the emulator does not know the secret.
    pub generated: bool,
    /// A configured session with no `creation_date`: records show it as renewed at the start
    /// of the call's hour.
    pub renews_hourly: bool,
    /// The signing keys last derived for this secret, by scope.
    pub(crate) signing_key: sigv4::SigningKeyCache,
}

impl Principal {
    /// The ARN AWS names in `AccessDeniedException` messages.
    pub fn arn_for_messages(&self) -> String {
        self.identity
            .arn
            .clone()
            .or_else(|| self.identity.invoked_by.clone())
            .unwrap_or_else(|| format!("arn:aws:iam::{}:root", self.account))
    }

    /// A principal whose secret the emulator does not know: the caller of an unsigned call, as
    /// its input names it, or a user made up for an unknown key.
    pub fn claimed(account: String, identity: UserIdentity) -> Principal {
        Principal {
            account,
            identity,
            secret: String::new(),
            session_token: None,
            expiration: None,
            deny: Vec::new(),
            generated: true,
            renews_hourly: false,
            signing_key: sigv4::SigningKeyCache::new(),
        }
    }

    /// The `userIdentity` of a call made at `now`: a session that renews hourly shows the start
    /// of `now`'s hour as its `creationDate`.
    pub fn identity_at(&self, now: OffsetDateTime) -> UserIdentity {
        let mut identity = self.identity.clone();
        if self.renews_hourly
            && let Some(ctx) = identity.session_context.as_mut()
        {
            let hour = now
                .to_offset(time::UtcOffset::UTC)
                .replace_minute(0)
                .and_then(|t| t.replace_second(0))
                .and_then(|t| t.replace_nanosecond(0))
                .unwrap_or(now);
            ctx.attributes.creation_date = cloudtrail::timefmt::iso_seconds(hour);
        }
        identity
    }

    /// The first deny rule matching `service:Operation`, if any.
    pub fn denies(&self, service: &str, operation: &str) -> Option<&str> {
        self.deny
            .iter()
            .find(|pattern| deny_matches(pattern, service, operation))
            .map(String::as_str)
    }
}

/// Whether a deny pattern covers an action. `service:pattern` matches that service's operations;
/// a bare pattern matches the operation name in any service. Matching ignores case, as IAM does.
pub fn deny_matches(pattern: &str, service: &str, operation: &str) -> bool {
    match pattern.split_once(':') {
        Some((svc, op)) => {
            glob(&svc.to_ascii_lowercase(), &service.to_ascii_lowercase())
                && glob(&op.to_ascii_lowercase(), &operation.to_ascii_lowercase())
        }
        None => glob(&pattern.to_ascii_lowercase(), &operation.to_ascii_lowercase()),
    }
}

/// `*` matches any run of characters and `?` any single character.
fn glob(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        match p.get(pi) {
            Some('*') => {
                star = Some((pi, ti));
                pi += 1;
            }
            Some(&c) if c == '?' || Some(&c) == t.get(ti) => {
                pi += 1;
                ti += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    pi = sp + 1;
                    ti = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    p.get(pi..).is_some_and(|rest| rest.iter().all(|&c| c == '*'))
}

/// Access key id to principal: the configured keys, and the temporary credentials STS issued.
#[derive(Debug, Clone, Default)]
pub struct Identities {
    by_key: Arc<HashMap<String, Arc<Principal>>>,
    /// The account unknown keys are mapped into, when `allow_unknown_keys` is on.
    unknown_key_account: Option<String>,
    /// Credentials issued while running (shared by every clone).
    issued: Arc<Issued>,
    /// The configured roles, by ARN, that STS issues sessions for.
    roles: Arc<HashMap<String, Role>>,
    /// The configured IAM users, by ARN.
    users: Arc<HashMap<String, User>>,
    /// OIDC identity providers, by account and issuer (without `https://`).
    oidc: Arc<HashMap<(String, String), OidcProvider>>,
    /// SAML identity providers, by ARN.
    saml: Arc<HashMap<String, SamlProvider>>,
}

/// A configured SAML identity provider.
#[derive(Debug, Clone)]
pub struct SamlProvider {
    /// Its account.
    pub account: String,
    /// Its name.
    pub name: String,
    /// The DER certificates its responses may be signed with.
    pub certificates: Vec<Vec<u8>>,
    /// The issuer its metadata names, which assertions must name; `None`: not checked.
    pub issuer: Option<String>,
}

/// A configured OIDC identity provider.
#[derive(Debug, Clone)]
pub struct OidcProvider {
    /// The client ids it accepts.
    pub audiences: Vec<String>,
    /// The RSA keys RS256 tokens are checked with.
    pub keys: Vec<shared_config::accounts::RsaJwk>,
    /// The secret HS256 tokens are checked with.
    pub secret: Option<String>,
}

/// A configured role, as STS needs it.
#[derive(Debug, Clone)]
pub struct Role {
    /// Its account.
    pub account: String,
    /// Its name.
    pub name: String,
    /// Its IAM path.
    pub path: String,
    /// Its `AROA…` id.
    pub role_id: String,
    /// What its sessions may not call.
    pub deny: Vec<String>,
    /// Who may assume it; empty: any principal of its own account.
    pub trust: Vec<String>,
    /// The longest session, in seconds.
    pub max_session_duration: u32,
}

impl Role {
    /// `arn:aws:iam::<account>:role<path><name>`.
    pub fn arn(&self) -> String {
        format!("arn:aws:iam::{}:role{}{}", self.account, self.path, self.name)
    }

    /// Whether the role's trust lets `caller` assume it.
    pub fn trusts(&self, caller: &Principal) -> bool {
        if self.trust.is_empty() {
            return caller.account == self.account;
        }
        let identity = &caller.identity;
        let issuer = identity
            .session_context
            .as_ref()
            .and_then(|c| c.session_issuer.as_ref())
            .map(|i| i.arn.as_str());
        self.trust.iter().any(|t| {
            t == "*"
                || *t == caller.account
                || *t == format!("arn:aws:iam::{}:root", caller.account)
                || identity.arn.as_deref() == Some(t.as_str())
                || issuer == Some(t.as_str())
                || identity.invoked_by.as_deref() == Some(t.as_str())
        })
    }
}

/// A configured IAM user, as STS needs it.
#[derive(Debug, Clone)]
pub struct User {
    /// Its account.
    pub account: String,
    /// What the user may not call (their session credentials inherit it).
    pub deny: Vec<String>,
}

/// How many issued credentials are kept at most; beyond it the ones that expire first go.
const MAX_ISSUED: usize = 100_000;

/// Temporary credentials STS issued, by access key id, and the file that keeps them across a
/// restart (none: they end with the process, as with `--ephemeral`).
#[derive(Debug, Default)]
struct Issued {
    by_key: RwLock<HashMap<String, Arc<Principal>>>,
    store: std::sync::OnceLock<crate::sts::store::CredentialStore>,
}

impl Identities {
    /// Builds the table from the `[[accounts]]` of a configuration.
    pub fn from_config(file: &FileConfig) -> Self {
        let mut by_key = HashMap::new();
        let mut roles = HashMap::new();
        let mut users = HashMap::new();
        let mut oidc = HashMap::new();
        let mut saml = HashMap::new();
        for account in &file.accounts {
            add_account(&mut by_key, account);
            for p in &account.saml_providers {
                let text = p
                    .metadata
                    .as_deref()
                    .or(p.certificate.as_deref())
                    .unwrap_or_default();
                saml.insert(
                    format!("arn:aws:iam::{}:saml-provider/{}", account.id, p.name),
                    SamlProvider {
                        account: account.id.clone(),
                        name: p.name.clone(),
                        // The configuration check refuses a provider without a certificate.
                        certificates: crate::sts::saml::certificates(text).unwrap_or_default(),
                        issuer: p
                            .metadata
                            .as_deref()
                            .and_then(crate::sts::saml::metadata_entity_id),
                    },
                );
            }
            for p in &account.oidc_providers {
                let url = p
                    .url
                    .trim_start_matches("https://")
                    .trim_end_matches('/')
                    .to_owned();
                oidc.insert(
                    (account.id.clone(), url),
                    OidcProvider {
                        audiences: p.audiences.clone(),
                        // The configuration check refuses a JWKS that does not parse.
                        keys: p
                            .jwks
                            .as_deref()
                            .and_then(|j| shared_config::accounts::parse_jwks(j).ok())
                            .unwrap_or_default(),
                        secret: p.hs256_secret.clone(),
                    },
                );
            }
            for r in &account.roles {
                let role = Role {
                    account: account.id.clone(),
                    name: r.name.clone(),
                    path: cloudtrail::identity::normalise_path(&r.path),
                    role_id: r
                        .role_id
                        .clone()
                        .unwrap_or_else(|| derived_id("AROA", &format!("{}/role/{}", account.id, r.name))),
                    deny: r.deny.clone(),
                    trust: r.trust.clone().unwrap_or_default(),
                    max_session_duration: r.max_session_duration,
                };
                roles.insert(role.arn(), role);
            }
            for u in &account.users {
                let arn = format!(
                    "arn:aws:iam::{}:user{}{}",
                    account.id,
                    cloudtrail::identity::normalise_path(&u.path),
                    u.name
                );
                users.insert(
                    arn,
                    User {
                        account: account.id.clone(),
                        deny: u.deny.clone(),
                    },
                );
            }
        }
        let unknown_key_account = file.server.allow_unknown_keys.then(|| {
            file.accounts
                .first()
                .map(|a| a.id.clone())
                .unwrap_or_else(|| "123456789012".to_owned())
        });
        Identities {
            by_key: Arc::new(by_key),
            unknown_key_account,
            issued: Arc::default(),
            roles: Arc::new(roles),
            users: Arc::new(users),
            oidc: Arc::new(oidc),
            saml: Arc::new(saml),
        }
    }

    /// The SAML provider whose ARN is `arn`.
    pub fn saml_provider(&self, arn: &str) -> Option<&SamlProvider> {
        self.saml.get(arn)
    }

    /// The OIDC provider of `account` whose issuer is `url` (without `https://`).
    pub fn oidc_provider(&self, account: &str, url: &str) -> Option<&OidcProvider> {
        self.oidc.get(&(account.to_owned(), url.to_owned()))
    }

    /// The configured role with this ARN.
    pub fn role(&self, arn: &str) -> Option<&Role> {
        self.roles.get(arn)
    }

    /// The configured IAM user with this ARN.
    pub fn user(&self, arn: &str) -> Option<&User> {
        self.users.get(arn)
    }

    /// The configured accounts, sorted.
    pub fn accounts(&self) -> Vec<String> {
        let mut all: Vec<String> = self
            .by_key
            .values()
            .map(|p| p.account.clone())
            .chain(self.roles.values().map(|r| r.account.clone()))
            .collect();
        all.sort();
        all.dedup();
        all
    }

    /// Whether `account` is one of the configured accounts.
    pub fn knows_account(&self, account: &str) -> bool {
        self.by_key.values().any(|p| p.account == account)
            || self.roles.values().any(|r| r.account == account)
    }

    /// Keeps issued credentials in `store` from now on, and makes usable again the ones it held
    /// (`loaded`) that were still valid.
    pub fn keep_issued_in(
        &self,
        store: crate::sts::store::CredentialStore,
        loaded: Vec<Principal>,
        now: OffsetDateTime,
    ) {
        for p in loaded {
            self.insert_issued(p, now);
        }
        let _ = self.issued.store.set(store);
    }

    /// Makes temporary credentials usable at once (and keeps them in the store, when there is
    /// one). At most `MAX_ISSUED` (100,000) are kept: when full,
    /// expired ones are dropped first, then the ones closest to expiring.
    pub fn issue(&self, principal: Principal, now: OffsetDateTime) -> Arc<Principal> {
        if let Some(store) = self.issued.store.get() {
            store.append(&principal);
        }
        self.insert_issued(principal, now)
    }

    fn insert_issued(&self, principal: Principal, now: OffsetDateTime) -> Arc<Principal> {
        let principal = Arc::new(principal);
        let key = principal.identity.access_key_id.clone().unwrap_or_default();
        let mut map = self
            .issued
            .by_key
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if map.len() >= MAX_ISSUED {
            map.retain(|_, p| p.expiration.is_none_or(|e| e > now));
            while map.len() >= MAX_ISSUED {
                let Some(first) = map
                    .iter()
                    .min_by_key(|(_, p)| p.expiration)
                    .map(|(k, _)| k.clone())
                else {
                    break;
                };
                map.remove(&first);
            }
        }
        map.insert(key, principal.clone());
        principal
    }

    /// The principal holding `access_key_id`: a configured one, one STS issued, or a generated
    /// IAM user when unknown keys are allowed.
    pub fn lookup(&self, access_key_id: &str) -> Option<Arc<Principal>> {
        if let Some(p) = self.by_key.get(access_key_id) {
            return Some(p.clone());
        }
        if let Some(p) = self
            .issued
            .by_key
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(access_key_id)
        {
            return Some(p.clone());
        }
        let account = self.unknown_key_account.as_deref()?;
        let suffix: String = access_key_id
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .rev()
            .take(8)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect::<String>()
            .to_ascii_lowercase();
        let name = format!("emulator-generated-{suffix}");
        let principal_id = derived_id("AIDA", &format!("{account}/{access_key_id}"));
        // Its secret is unknown, as for a caller an unsigned call claims.
        Some(Arc::new(Principal::claimed(
            account.to_owned(),
            UserIdentity::iam_user(account, "/", &name, &principal_id, access_key_id),
        )))
    }

    /// How many keys are configured.
    pub fn len(&self) -> usize {
        self.by_key.len()
    }

    /// Whether no key is configured.
    pub fn is_empty(&self) -> bool {
        self.by_key.is_empty()
    }
}

/// The `creationDate` held by a session that renews hourly; [`Principal::identity_at`] replaces it.
const HOURLY_PLACEHOLDER: &str = "1970-01-01T00:00:00Z";

fn add_account(by_key: &mut HashMap<String, Arc<Principal>>, account: &AccountConfig) {
    let id = account.id.as_str();
    let mut insert = |key: &str, p: Principal| {
        by_key.insert(key.to_owned(), Arc::new(p));
    };
    if let Some(root) = &account.root {
        insert(
            &root.access_key_id,
            Principal {
                account: id.to_owned(),
                identity: UserIdentity::root(id, &root.access_key_id, account.alias.as_deref()),
                secret: root.secret_access_key.clone(),
                session_token: None,
                expiration: None,
                deny: root.deny.clone(),
                generated: false,
                renews_hourly: false,
                signing_key: sigv4::SigningKeyCache::new(),
            },
        );
    }
    for user in &account.users {
        let principal_id = user
            .principal_id
            .clone()
            .unwrap_or_else(|| derived_id("AIDA", &format!("{id}/user/{}", user.name)));
        for key in &user.keys {
            let mut identity =
                UserIdentity::iam_user(id, &user.path, &user.name, &principal_id, &key.access_key_id);
            if let Some(service) = &key.invoked_by {
                identity = identity.invoked_by(service);
            }
            insert(
                &key.access_key_id,
                Principal {
                    account: id.to_owned(),
                    identity,
                    secret: key.secret_access_key.clone(),
                    session_token: None,
                    expiration: None,
                    deny: user.deny.clone(),
                    generated: false,
                    renews_hourly: false,
                    signing_key: sigv4::SigningKeyCache::new(),
                },
            );
        }
    }
    for role in &account.roles {
        let role_id = role
            .role_id
            .clone()
            .unwrap_or_else(|| derived_id("AROA", &format!("{id}/role/{}", role.name)));
        for s in &role.sessions {
            let mut identity = UserIdentity::assumed_role(
                id,
                &role.path,
                &role.name,
                &role_id,
                &s.name,
                &s.access_key_id,
                s.creation_date.as_deref().unwrap_or(HOURLY_PLACEHOLDER),
                s.mfa_authenticated,
                s.source_identity.as_deref(),
            );
            if let Some(service) = &s.invoked_by {
                identity = identity.invoked_by(service);
            }
            insert(
                &s.access_key_id,
                Principal {
                    account: id.to_owned(),
                    identity,
                    secret: s.secret_access_key.clone(),
                    session_token: Some(s.session_token.clone()),
                    expiration: s
                        .expiration
                        .as_deref()
                        .and_then(cloudtrail::timefmt::parse_iso_seconds),
                    deny: role.deny.iter().chain(&s.deny).cloned().collect(),
                    generated: false,
                    renews_hourly: s.creation_date.is_none(),
                    signing_key: sigv4::SigningKeyCache::new(),
                },
            );
        }
    }
    for fed in &account.federated_users {
        // The config check guarantees the issuer exists; fall back to a derived id regardless.
        let issuer = account.users.iter().find(|u| u.name == fed.issuer_user);
        let issuer_path = issuer.map(|u| u.path.as_str()).unwrap_or("/");
        let issuer_id = issuer
            .and_then(|u| u.principal_id.clone())
            .unwrap_or_else(|| derived_id("AIDA", &format!("{id}/user/{}", fed.issuer_user)));
        let issuer_arn = UserIdentity::iam_user(id, issuer_path, &fed.issuer_user, &issuer_id, "")
            .arn
            .unwrap_or_default();
        let session_issuer = SessionIssuer {
            issuer_type: IdentityType::IAMUser,
            principal_id: issuer_id,
            arn: issuer_arn,
            account_id: id.to_owned(),
            user_name: Some(fed.issuer_user.clone()),
        };
        insert(
            &fed.access_key_id,
            Principal {
                account: id.to_owned(),
                identity: UserIdentity::federated_user(
                    id,
                    &fed.name,
                    &fed.access_key_id,
                    session_issuer,
                    fed.creation_date.as_deref().unwrap_or(HOURLY_PLACEHOLDER),
                    fed.mfa_authenticated,
                ),
                secret: fed.secret_access_key.clone(),
                session_token: Some(fed.session_token.clone()),
                expiration: fed
                    .expiration
                    .as_deref()
                    .and_then(cloudtrail::timefmt::parse_iso_seconds),
                deny: fed.deny.clone(),
                generated: false,
                renews_hourly: fed.creation_date.is_none(),
                signing_key: sigv4::SigningKeyCache::new(),
            },
        );
    }
    for svc in &account.services {
        insert(
            &svc.access_key_id,
            Principal {
                account: id.to_owned(),
                identity: UserIdentity::aws_service(&svc.principal),
                secret: svc.secret_access_key.clone(),
                session_token: None,
                expiration: None,
                deny: svc.deny.clone(),
                generated: false,
                renews_hourly: false,
                signing_key: sigv4::SigningKeyCache::new(),
            },
        );
    }
}

/// A stable 21-character IAM unique id (`AIDA…`, `AROA…`) derived from a seed, so restarts
/// and generated users keep their ids.
pub fn derived_id(prefix: &str, seed: &str) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let digest = Sha256::digest(seed.as_bytes());
    let mut s = String::with_capacity(21);
    s.push_str(prefix);
    for b in digest.iter() {
        if s.len() >= 21 {
            break;
        }
        s.push(char::from(ALPHABET[usize::from(*b) % ALPHABET.len()]));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        assert!(glob("delete*", "deletedataset"));
        assert!(glob("*", ""));
        assert!(glob("list*s", "listschemas"));
        assert!(!glob("list*s", "listschema"));
        assert!(glob("describe?ataset", "describedataset"));
        assert!(glob("*data*", "createdatasetgroup"));
        assert!(!glob("create", "createschema"));
        assert!(deny_matches("personalize:Delete*", "personalize", "DeleteSchema"));
        assert!(!deny_matches("cloudtrail:Delete*", "personalize", "DeleteSchema"));
        assert!(deny_matches("CreateSchema", "personalize", "CreateSchema"));
        assert!(deny_matches("*:*", "cloudtrail", "StopLogging"));
    }

    #[test]
    fn default_config_identities() {
        let ids = Identities::from_config(&FileConfig::embedded_default());
        let alice = ids.lookup("AKIAIOSFODNN7EXAMPLE").unwrap();
        assert_eq!(alice.identity.identity_type, IdentityType::IAMUser);
        assert_eq!(
            alice.identity.arn.as_deref(),
            Some("arn:aws:iam::123456789012:user/alice")
        );
        let session = ids.lookup("ASIAIOSFODNN7EXAMPLE").unwrap();
        assert_eq!(session.identity.identity_type, IdentityType::AssumedRole);
        assert!(session.session_token.is_some());
        let ctx = session.identity.session_context.as_ref().unwrap();
        assert_eq!(ctx.attributes.mfa_authenticated, "true");
        assert_eq!(ctx.source_identity.as_deref(), Some("alice"));
        let fed = ids.lookup("ASIAIOSFODNN7FEDUSER").unwrap();
        assert_eq!(fed.identity.identity_type, IdentityType::FederatedUser);
        assert_eq!(
            fed.identity
                .session_context
                .as_ref()
                .unwrap()
                .session_issuer
                .as_ref()
                .unwrap()
                .arn,
            "arn:aws:iam::123456789012:user/alice"
        );
        let svc = ids.lookup("AKIAIOSFODNN7SERVICE").unwrap();
        assert_eq!(
            svc.identity.invoked_by.as_deref(),
            Some("personalize.amazonaws.com")
        );
        let root = ids.lookup("AKIAI44QH8DHBEXAMPLE").unwrap();
        assert_eq!(root.identity.identity_type, IdentityType::Root);
        let intern = ids.lookup("AKIAIOSFODNN7INTERN1").unwrap();
        assert!(intern.denies("personalize", "DeleteDataset").is_some());
        assert!(intern.denies("personalize", "ListDatasets").is_none());
        assert!(ids.lookup("AKIANOTCONFIGURED000").is_none());
    }

    #[test]
    fn sessions_without_a_creation_date_show_the_start_of_the_calls_hour() {
        let ids = Identities::from_config(&FileConfig::embedded_default());
        let now = time::macros::datetime!(2026-12-03 14:37:12 UTC);
        for key in ["ASIAIOSFODNN7EXAMPLE", "ASIAIOSFODNN7FEDUSER"] {
            let identity = ids.lookup(key).unwrap().identity_at(now);
            let ctx = identity.session_context.unwrap();
            assert_eq!(ctx.attributes.creation_date, "2026-12-03T14:00:00Z", "{key}");
        }
        let stale = ids.lookup("ASIAIOSFODNN7EXPIRED").unwrap().identity_at(now);
        assert_eq!(
            stale.session_context.unwrap().attributes.creation_date,
            "2020-01-01T00:00:00Z"
        );
    }

    #[test]
    fn unknown_keys_become_stable_generated_users() {
        let mut file = FileConfig::embedded_default();
        file.server.allow_unknown_keys = true;
        let ids = Identities::from_config(&file);
        let a = ids.lookup("AKIAUNKNOWNKEY123456").unwrap();
        let b = ids.lookup("AKIAUNKNOWNKEY123456").unwrap();
        assert!(a.generated);
        assert_eq!(a.identity, b.identity);
        assert_eq!(a.identity.principal_id.as_ref().unwrap().len(), 21);
        assert_eq!(a.account, "123456789012");
    }
}
