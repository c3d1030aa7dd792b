//! AWS STS as a [`Service`] over the AWS Query protocol: who the caller is, and temporary
//! credentials (role sessions, session tokens, federation tokens) that work at once against
//! every service served here, expire when they say, and are recorded with the `userIdentity`
//! AWS writes for them.

use cloudtrail::identity::{self, SessionIssuer};
use cloudtrail::{IdentityType, Resource, UserIdentity};
use serde_json::{Value, json};
use time::OffsetDateTime;

mod federation;
pub mod saml;
pub mod store;

use federation::{federated_provider, saml_error, saml_facts};

use crate::identity::{Identities, Principal, Role};
use crate::seams::{
    Answer, CallContext, CallFacts, Claimed, Fault, OperationInfo, Reply, Service, ServiceError,
};

use ::sts::str_member;
pub use ::sts::{EVENT_SOURCE, OPERATIONS, XMLNS};

/// Operations that are listed but not served: their callers get a clear error.
pub const NOT_SERVED: &[&str] = &[
    "AssumeRoot",
    "GetDelegatedAccessToken",
    "GetScopedCredentials",
    "GetWebIdentityToken",
];

/// Operations clients send without a signature: the token in the request proves the caller.
const UNSIGNED: &[&str] = &["AssumeRoleWithWebIdentity", "AssumeRoleWithSAML"];

/// What a new role session is made of besides its role.
struct RoleSession<'a> {
    /// `RoleSessionName`.
    name: &'a str,
    /// Whether MFA was presented.
    mfa: bool,
    /// The source identity it carries.
    source_identity: Option<&'a str>,
    /// The identity provider of a web identity session, as records name it.
    web_identity: Option<&'a str>,
}

/// STS over the emulator's identities.
#[derive(Debug, Clone)]
pub struct StsApi {
    identities: Identities,
}

fn validation(message: impl Into<String>) -> ServiceError {
    ServiceError::client("ValidationError", message)
}

fn access_denied(message: impl Into<String>) -> ServiceError {
    ServiceError::new(Fault::Denied, "AccessDenied", message)
}

fn required<'a>(input: &'a Value, name: &str) -> Result<&'a str, ServiceError> {
    str_member(input, name).ok_or_else(|| {
        validation(format!(
            "1 validation error detected: Value null at '{}' failed to satisfy constraint: Member must not be null",
            cloudtrail::rules::lower_camel(name)
        ))
    })
}

/// `DurationSeconds`, checked against `[min, max]`; `default` when absent.
fn duration(input: &Value, min: i64, max: i64, default: i64, what: &str) -> Result<i64, ServiceError> {
    let Some(raw) = str_member(input, "DurationSeconds") else {
        return Ok(default.min(max));
    };
    let secs: i64 = raw
        .parse()
        .map_err(|_| validation(format!("Value '{raw}' at 'durationSeconds' is not a number")))?;
    if secs < min {
        return Err(validation(format!(
            "1 validation error detected: Value '{secs}' at 'durationSeconds' failed to satisfy constraint: Member \
             must have value greater than or equal to {min}"
        )));
    }
    if secs > max {
        return Err(validation(format!(
            "The requested DurationSeconds exceeds the {what} set for this role."
        )));
    }
    Ok(secs)
}

/// `DurationSeconds` of a federated session of `role`: 900 to its maximum, default 3600.
fn role_duration(input: &Value, role: &Role) -> Result<i64, ServiceError> {
    duration(
        input,
        900,
        i64::from(role.max_session_duration),
        3600,
        "MaxSessionDuration",
    )
}

/// A name STS accepts for a session or federated user: `[\w+=,.@-]`, `min..=max` characters.
fn check_name(value: &str, member: &str, min: usize, max: usize) -> Result<(), ServiceError> {
    let ok_chars = value
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "_+=,.@-".contains(c));
    let len = value.chars().count();
    if !ok_chars || len < min || len > max {
        return Err(validation(format!(
            "1 validation error detected: Value '{value}' at '{member}' failed to satisfy constraint: Member must \
             have length between {min} and {max} and satisfy regular expression pattern: [\\w+=,.@-]*"
        )));
    }
    Ok(())
}

/// MFA from `SerialNumber` and `TokenCode`: both or neither, and a six-digit code.
fn mfa(input: &Value) -> Result<bool, ServiceError> {
    match (str_member(input, "SerialNumber"), str_member(input, "TokenCode")) {
        (None, None) => Ok(false),
        (Some(_), Some(code)) if code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit()) => Ok(true),
        (Some(_), Some(code)) => Err(validation(format!(
            "1 validation error detected: Value '{code}' at 'tokenCode' failed to satisfy constraint: Member must \
             satisfy regular expression pattern: [\\d]*"
        ))),
        _ => Err(access_denied(
            "MultiFactorAuthentication failed: SerialNumber and TokenCode must be given together.",
        )),
    }
}

/// Whether the caller holds temporary credentials (role, federated or session).
fn is_session(p: &Principal) -> bool {
    p.session_token.is_some()
}

/// `Credentials` of an output.
fn credentials(p: &Principal) -> Value {
    ::sts::credentials(
        p.identity.access_key_id.as_deref().unwrap_or_default(),
        &p.secret,
        p.session_token.as_deref().unwrap_or_default(),
        p.expiration.map_or(0, OffsetDateTime::unix_timestamp),
    )
}

impl StsApi {
    /// STS issuing credentials into `identities`.
    pub fn new(identities: Identities) -> Self {
        StsApi { identities }
    }

    fn info(name: &'static str, read_only: bool) -> OperationInfo {
        OperationInfo {
            unsigned: UNSIGNED.contains(&name),
            changes_state: ::sts::issues_credentials(name),
            ..OperationInfo::management(name, read_only)
        }
    }

    /// The caller's principal (the server resolved it from the same key).
    fn caller(&self, ctx: &CallContext<'_>) -> Result<std::sync::Arc<Principal>, ServiceError> {
        ctx.access_key_id
            .and_then(|k| self.identities.lookup(k))
            .ok_or_else(|| {
                ServiceError::client(
                    "InvalidClientTokenId",
                    "The security token included in the request is invalid.",
                )
            })
    }

    fn get_caller_identity(&self, ctx: &CallContext<'_>) -> Result<Value, ServiceError> {
        let id = ctx.identity;
        let user_id = match id.identity_type {
            IdentityType::Root => Some(ctx.account.to_owned()),
            _ => id.principal_id.clone(),
        };
        let arn = id.arn.clone().or_else(|| {
            (id.identity_type == IdentityType::Root).then(|| format!("arn:aws:iam::{}:root", ctx.account))
        });
        match (user_id, arn) {
            (Some(user_id), Some(arn)) => Ok(::sts::caller_identity_output(&user_id, ctx.account, &arn)),
            _ => Err(access_denied(
                "GetCallerIdentity is not available to service principals.",
            )),
        }
    }

    fn new_principal(
        &self,
        account: &str,
        identity: UserIdentity,
        deny: Vec<String>,
        expires: OffsetDateTime,
    ) -> Principal {
        let mut rng = rand::rng();
        Principal {
            account: account.to_owned(),
            identity,
            secret: identity::secret_access_key(&mut rng),
            session_token: Some(identity::session_token(&mut rng)),
            expiration: Some(expires),
            deny,
            generated: false,
            renews_hourly: false,
            signing_key: sigv4::SigningKeyCache::new(),
        }
    }

    fn assume_role(&self, ctx: &CallContext<'_>, input: &Value) -> Result<Value, ServiceError> {
        let caller = self.caller(ctx)?;
        let role_arn = required(input, "RoleArn")?;
        let session = required(input, "RoleSessionName")?;
        check_name(session, "roleSessionName", 2, 64)?;
        let not_authorized = || {
            access_denied(format!(
                "User: {} is not authorized to perform: sts:AssumeRole on resource: {role_arn}",
                caller.arn_for_messages()
            ))
        };
        if caller.identity.identity_type == IdentityType::Root {
            return Err(access_denied("Roles may not be assumed by root accounts."));
        }
        let role: &Role = self.identities.role(role_arn).ok_or_else(not_authorized)?;
        if !role.trusts(&caller) {
            return Err(not_authorized());
        }
        // Role chaining (a role session assuming a role) is limited to one hour.
        let chained = caller.identity.identity_type == IdentityType::AssumedRole;
        let max = if chained {
            3600
        } else {
            i64::from(role.max_session_duration)
        };
        let what = if chained {
            "1 hour session limit for roles assumed by role chaining"
        } else {
            "MaxSessionDuration"
        };
        let secs = duration(input, 900, max, 3600, what)?;
        let mfa = mfa(input)?;
        // A source identity, once set, stays with every session chained from it.
        let inherited = caller
            .identity
            .session_context
            .as_ref()
            .and_then(|c| c.source_identity.clone());
        let requested = str_member(input, "SourceIdentity");
        if let Some(s) = requested {
            check_name(s, "sourceIdentity", 2, 64)?;
        }
        let source_identity = match (inherited, requested) {
            (Some(had), Some(asked)) if had != asked => {
                return Err(access_denied(format!(
                    "User: {} is not authorized to perform: sts:SetSourceIdentity on resource: {role_arn}: the \
                     source identity of a chained session cannot change",
                    caller.arn_for_messages()
                )));
            }
            (Some(had), _) => Some(had),
            (None, asked) => asked.map(str::to_owned),
        };
        let session = RoleSession {
            name: session,
            mfa,
            source_identity: source_identity.as_deref(),
            web_identity: None,
        };
        let (issued, assumed) = self.role_session(role, &session, ctx.now, secs);
        Ok(::sts::assume_role_output(
            credentials(&issued),
            assumed,
            input,
            source_identity.as_deref(),
        ))
    }

    /// A new session of `role`, issued at `now` for `secs` seconds, with its `AssumedRoleUser`.
    fn role_session(
        &self,
        role: &Role,
        session: &RoleSession<'_>,
        now: OffsetDateTime,
        secs: i64,
    ) -> (std::sync::Arc<Principal>, Value) {
        let key = identity::access_key_id(true, &mut rand::rng());
        let mut identity = UserIdentity::assumed_role(
            &role.account,
            &role.path,
            &role.name,
            &role.role_id,
            session.name,
            &key,
            &cloudtrail::timefmt::iso_seconds(now),
            session.mfa,
            session.source_identity,
        );
        if let (Some(provider), Some(ctx)) = (session.web_identity, identity.session_context.as_mut()) {
            ctx.web_id_federation_data = Some(json!({"federatedProvider": provider, "attributes": {}}));
        }
        let assumed = ::sts::assumed_role_user(
            identity.principal_id.as_deref().unwrap_or_default(),
            identity.arn.as_deref().unwrap_or_default(),
        );
        let principal = self.new_principal(
            &role.account,
            identity,
            role.deny.clone(),
            now + time::Duration::seconds(secs),
        );
        (self.identities.issue(principal, now), assumed)
    }

    /// The caller for GetSessionToken and GetFederationToken: an IAM user or root with
    /// long-term keys.
    fn long_term_caller(
        &self,
        ctx: &CallContext<'_>,
        operation: &str,
    ) -> Result<std::sync::Arc<Principal>, ServiceError> {
        let caller = self.caller(ctx)?;
        let kind = caller.identity.identity_type;
        if is_session(&caller) || !matches!(kind, IdentityType::IAMUser | IdentityType::Root) {
            return Err(access_denied(format!(
                "Cannot call {operation} with session credentials"
            )));
        }
        Ok(caller)
    }

    fn get_session_token(&self, ctx: &CallContext<'_>, input: &Value) -> Result<Value, ServiceError> {
        let caller = self.long_term_caller(ctx, "GetSessionToken")?;
        let root = caller.identity.identity_type == IdentityType::Root;
        let (max, default) = if root { (3600, 3600) } else { (129_600, 43_200) };
        let secs = duration(input, 900, max, default, "maximum session duration")?;
        let mfa = mfa(input)?;
        let now = ctx.now;
        let key = identity::access_key_id(true, &mut rand::rng());
        let identity =
            caller
                .identity
                .clone()
                .with_session(&key, &cloudtrail::timefmt::iso_seconds(now), mfa);
        let principal = self.new_principal(
            &caller.account,
            identity,
            caller.deny.clone(),
            now + time::Duration::seconds(secs),
        );
        let issued = self.identities.issue(principal, now);
        Ok(json!({ "Credentials": credentials(&issued) }))
    }

    fn get_federation_token(&self, ctx: &CallContext<'_>, input: &Value) -> Result<Value, ServiceError> {
        let caller = self.long_term_caller(ctx, "GetFederationToken")?;
        let name = required(input, "Name")?;
        check_name(name, "name", 2, 32)?;
        let root = caller.identity.identity_type == IdentityType::Root;
        let (max, default) = if root { (3600, 3600) } else { (129_600, 43_200) };
        let secs = duration(input, 900, max, default, "maximum session duration")?;
        let now = ctx.now;
        let account = caller.account.clone();
        let issuer = SessionIssuer {
            issuer_type: caller.identity.identity_type,
            principal_id: caller
                .identity
                .principal_id
                .clone()
                .unwrap_or_else(|| account.clone()),
            arn: caller.arn_for_messages(),
            account_id: account.clone(),
            user_name: caller.identity.user_name.clone(),
        };
        let key = identity::access_key_id(true, &mut rand::rng());
        let identity = UserIdentity::federated_user(
            &account,
            name,
            &key,
            issuer,
            &cloudtrail::timefmt::iso_seconds(now),
            false,
        );
        let user = ::sts::federated_user(
            identity.principal_id.as_deref().unwrap_or_default(),
            identity.arn.as_deref().unwrap_or_default(),
        );
        let principal = self.new_principal(
            &account,
            identity,
            caller.deny.clone(),
            now + time::Duration::seconds(secs),
        );
        let issued = self.identities.issue(principal, now);
        Ok(::sts::federation_token_output(credentials(&issued), user, input))
    }

    fn get_access_key_info(&self, input: &Value) -> Result<Value, ServiceError> {
        let key = required(input, "AccessKeyId")?;
        if key.len() < 16 || key.len() > 128 || !key.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(validation(format!(
                "1 validation error detected: Value '{key}' at 'accessKeyId' failed to satisfy constraint: Member must \
                 satisfy regular expression pattern: [\\w]*"
            )));
        }
        let account = match self.identities.lookup(key).filter(|p| !p.generated) {
            Some(p) => p.account.clone(),
            None => account_of_key(key).ok_or_else(|| {
                validation(format!(
                    "The access key ID {key} is not in a format that names an account."
                ))
            })?,
        };
        Ok(json!({ "Account": account }))
    }

    /// Who else records a call: a role in another account records its `AssumeRole` too, and a
    /// service's `AssumeRole` carries a `sharedEventID`, as AWS writes them.
    fn sharing(&self, ctx: &CallContext<'_>, name: &str, input: &Value) -> crate::seams::Sharing {
        let role_account = (name == "AssumeRole")
            .then(|| str_member(input, "RoleArn"))
            .flatten()
            .and_then(|arn| self.identities.role(arn))
            .map(|r| r.account.clone());
        crate::seams::Sharing {
            also_recorded_in: role_account.into_iter().filter(|a| a != ctx.account).collect(),
            shared_event_id: ::sts::shared_with_service(name)
                && ctx.identity.identity_type == IdentityType::AWSService,
        }
    }

    fn dispatch(&self, ctx: &CallContext<'_>, name: &str, input: &Value) -> Result<Value, ServiceError> {
        match name {
            "GetCallerIdentity" => self.get_caller_identity(ctx),
            "AssumeRole" => self.assume_role(ctx, input),
            "GetSessionToken" => self.get_session_token(ctx, input),
            "GetFederationToken" => self.get_federation_token(ctx, input),
            "GetAccessKeyInfo" => self.get_access_key_info(input),
            "AssumeRoleWithWebIdentity" => self.assume_role_with_web_identity(ctx, input),
            "AssumeRoleWithSAML" => self.assume_role_with_saml(ctx, input),
            // No call here answers with an encoded authorization message, so none can be decoded.
            "DecodeAuthorizationMessage" => {
                required(input, "EncodedMessage")?;
                Err(ServiceError::client(
                    "InvalidAuthorizationMessageException",
                    "The message is not an encoded authorization message issued by this endpoint.",
                ))
            }
            other => Err(not_served(other)),
        }
    }
}

/// What an operation of the model that is not served answers (docs/compatibility.md).
fn not_served(operation: &str) -> ServiceError {
    ServiceError::client(
        "InvalidAction",
        format!("{operation} is not served by this emulator (docs/compatibility.md)."),
    )
}

fn invalid_token(message: impl Into<String>) -> ServiceError {
    ServiceError::client("InvalidIdentityToken", message)
}

/// OIDC ID tokens (JWTs): their claims, read before and checked when the call runs.
mod web_token;

/// The account an `AKIA`/`ASIA` key id names, decoded as AWS encodes it in keys issued since
/// 2019: the 40 bits after the prefix, base32, shifted right by 7.
pub fn account_of_key(key: &str) -> Option<String> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let body = key.get(4..14)?;
    let mut bits: u64 = 0;
    for b in body.bytes() {
        let v = ALPHABET.iter().position(|&a| a == b)?;
        bits = (bits << 5) | v as u64;
    }
    // Ten base32 digits are 50 bits; the account is in the first 48 (six bytes), masked.
    let six_bytes = bits >> 2;
    let account = (six_bytes & 0x7fff_ffff_ff80) >> 7;
    Some(format!("{account:012}"))
}

impl Service for StsApi {
    fn signing_name(&self) -> &'static str {
        "sts"
    }

    fn event_source(&self) -> &'static str {
        EVENT_SOURCE
    }

    fn query_namespace(&self) -> Option<&'static str> {
        Some(XMLNS)
    }

    fn by_action(&self, action: &str) -> Option<OperationInfo> {
        OPERATIONS
            .iter()
            .find(|(n, _)| *n == action)
            .map(|&(n, read_only)| Self::info(n, read_only))
    }

    fn call<'a>(&'a self, ctx: &'a CallContext<'a>, operation: OperationInfo, input: &'a Value) -> Reply<'a> {
        // The operations in NOT_SERVED have no arm in `dispatch`, which answers them `not_served`.
        let mut answer = Answer::from(self.dispatch(ctx, operation.name, input));
        answer.sharing = self.sharing(ctx, operation.name, input);
        Box::pin(std::future::ready(answer))
    }

    fn member_case(&self) -> cloudtrail::rules::MemberCase {
        cloudtrail::rules::MemberCase::LowerCamel(::sts::DATA_MAPS)
    }

    /// The web identity the token claims, or the SAML user the response names, in the account
    /// of the role it asks for (one the emulator knows: a record's account becomes a log file
    /// path).
    fn unsigned_caller(&self, operation: OperationInfo, input: &Value) -> Result<Claimed, ServiceError> {
        let account = str_member(input, "RoleArn")
            .and_then(|arn| arn.split(':').nth(4))
            .filter(|a| self.identities.knows_account(a))
            .ok_or_else(|| access_denied(format!("Not authorized to perform sts:{}", operation.name)))?;
        if operation.name == "AssumeRoleWithSAML" {
            let response = saml::Response::parse(str_member(input, "SAMLAssertion").unwrap_or_default())
                .map_err(saml_error)?;
            let assertion = response.assertion().map_err(saml_error)?;
            let provider = str_member(input, "PrincipalArn")
                .and_then(|arn| arn.rsplit_once(":saml-provider/"))
                .map_or("", |(_, name)| name);
            let qualifier = ::sts::name_qualifier(&assertion.issuer, account, provider);
            return Ok(Claimed {
                account: account.to_owned(),
                identity: UserIdentity::saml_user(
                    &qualifier,
                    assertion.subject.as_deref().unwrap_or_default(),
                ),
            });
        }
        if operation.name != "AssumeRoleWithWebIdentity" {
            return Err(not_served(operation.name));
        }
        let claims = web_token::Claims::parse(str_member(input, "WebIdentityToken").unwrap_or_default())?;
        Ok(Claimed {
            account: account.to_owned(),
            identity: UserIdentity::web_identity_user(
                &federated_provider(account, claims.issuer()),
                &claims.aud,
                &claims.sub,
            ),
        })
    }

    /// The record shows what `::sts::request_as_recorded` keeps.
    fn redact(&self, operation: OperationInfo, input: Value) -> Value {
        if operation.name == "AssumeRoleWithSAML" {
            let facts = saml_facts(&input);
            return ::sts::saml_request_as_recorded(input, facts.as_ref());
        }
        ::sts::request_as_recorded(input)
    }

    /// CloudTrail never shows a secret access key.
    fn output_as_recorded(&self, _operation: OperationInfo, output: &Value) -> Option<Value> {
        ::sts::output_as_recorded(output)
    }

    fn resources(&self, call: CallFacts<'_>) -> Vec<Resource> {
        let (op, input) = (call.op, call.input);
        let mut out: Vec<Resource> = input
            .and_then(|i| ::sts::role_resource(op.name, i))
            .and_then(|arn| {
                self.identities
                    .role(arn)
                    .map(|r| Resource::arn(arn, &r.account, ::sts::ROLE_TYPE))
            })
            .into_iter()
            .collect();
        if op.name == "AssumeRoleWithSAML"
            && let Some(p) = input
                .and_then(|i| str_member(i, "PrincipalArn"))
                .and_then(|arn| self.identities.saml_provider(arn))
        {
            let arn = format!("arn:aws:iam::{}:saml-provider/{}", p.account, p.name);
            out.push(Resource::arn(&arn, &p.account, ::sts::SAML_PROVIDER_TYPE));
        }
        out
    }

    fn denied_resource(&self, call: CallFacts<'_>) -> Option<String> {
        let (input, account) = (call.input, call.account);
        match call.op.name {
            "AssumeRole" => input.and_then(|i| str_member(i, "RoleArn")).map(str::to_owned),
            "GetFederationToken" => input
                .and_then(|i| str_member(i, "Name"))
                .map(|n| format!("arn:aws:sts::{account}:federated-user/{n}")),
            _ => Some(format!("arn:aws:sts::{account}:*")),
        }
    }

    fn is_timestamp_member(&self, name: &str) -> bool {
        ::sts::is_timestamp_member(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn access_keys_name_their_account() {
        // The published example of the encoding (key ids issued since 2019).
        assert_eq!(
            account_of_key("ASIAQNZGKIQY56JQ7WML").as_deref(),
            Some("029608264753")
        );
        assert_eq!(account_of_key("AKIA"), None);
        assert_eq!(account_of_key("AKIA0000000000000000"), None);
    }

    #[test]
    fn every_model_operation_is_listed_once() {
        let names: Vec<&str> = OPERATIONS.iter().map(|(n, _)| *n).collect();
        let mut sorted = names.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(names, sorted);
        assert!(NOT_SERVED.iter().all(|n| names.contains(n)));
    }

    #[test]
    fn compatibility_table_matches_the_code() {
        let rows = crate::testing::compatibility_rows("sts-operations");
        let want: Vec<(String, String)> = OPERATIONS
            .iter()
            .map(|(op, _)| {
                let state = if NOT_SERVED.contains(op) {
                    "not implemented"
                } else {
                    "implemented"
                };
                ((*op).to_owned(), state.to_owned())
            })
            .collect();
        assert_eq!(rows, want);
    }
}
