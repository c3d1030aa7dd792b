//! The `userIdentity` element for every identity type, with AWS's id and ARN formats.

use rand::RngExt;
use serde::{Deserialize, Serialize};

/// `userIdentity.type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub enum IdentityType {
    /// The account's root user.
    Root,
    /// An IAM user.
    IAMUser,
    /// A role session (temporary credentials from AssumeRole).
    AssumedRole,
    /// A role, used as a session issuer.
    Role,
    /// A federated user (GetFederationToken).
    FederatedUser,
    /// Another AWS account.
    AWSAccount,
    /// An AWS service principal.
    AWSService,
    /// An IAM Identity Center user.
    IdentityCenterUser,
    /// A SAML-federated user.
    SAMLUser,
    /// A web-identity-federated user.
    WebIdentityUser,
    /// A directory user.
    Directory,
    /// Unknown to CloudTrail.
    #[default]
    Unknown,
    /// No `type` at all: an AWS service acting on its own (`AwsServiceEvent` records show only
    /// `accountId` and `invokedBy`).
    Unstated,
}

impl IdentityType {
    /// Whether this is [`IdentityType::Unknown`] (left out of an empty session issuer).
    pub fn is_unknown(&self) -> bool {
        *self == IdentityType::Unknown
    }

    /// Whether this is [`IdentityType::Unstated`] (no `type` member).
    pub fn is_unstated(&self) -> bool {
        *self == IdentityType::Unstated
    }

    fn unstated() -> Self {
        IdentityType::Unstated
    }

    /// The wire name (empty for [`IdentityType::Unstated`], which has none).
    pub fn as_str(self) -> &'static str {
        match self {
            IdentityType::Root => "Root",
            IdentityType::IAMUser => "IAMUser",
            IdentityType::AssumedRole => "AssumedRole",
            IdentityType::Role => "Role",
            IdentityType::FederatedUser => "FederatedUser",
            IdentityType::AWSAccount => "AWSAccount",
            IdentityType::AWSService => "AWSService",
            IdentityType::IdentityCenterUser => "IdentityCenterUser",
            IdentityType::SAMLUser => "SAMLUser",
            IdentityType::WebIdentityUser => "WebIdentityUser",
            IdentityType::Directory => "Directory",
            IdentityType::Unknown => "Unknown",
            IdentityType::Unstated => "",
        }
    }
}

/// `userIdentity`, one flat struct with AWS's field order; which fields are set depends on `type`.
/// Build it with the constructors so the presence rules hold.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserIdentity {
    /// The identity type; records of an AWS service acting on its own have none.
    #[serde(
        rename = "type",
        default = "IdentityType::unstated",
        skip_serializing_if = "IdentityType::is_unstated"
    )]
    pub identity_type: IdentityType,
    /// `AIDA…`, `AROA…:<session>`, the account id for root, ...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub principal_id: Option<String>,
    /// The principal's ARN.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arn: Option<String>,
    /// The account owning the principal.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_id: Option<String>,
    /// The key that signed the request (`AKIA…` long-term, `ASIA…` temporary).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_key_id: Option<String>,
    /// The friendly name, where the type has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_name: Option<String>,
    /// For temporary credentials.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_context: Option<SessionContext>,
    /// The service principal that made the call on the caller's behalf.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invoked_by: Option<String>,
    /// SAML namequalifier or web identity issuer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity_provider: Option<String>,
    /// Identity Center bearer-token credential id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential_id: Option<String>,
    /// Identity Center caller.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_behalf_of: Option<OnBehalfOf>,
}

/// `sessionContext`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionContext {
    /// Who issued the session.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_issuer: Option<SessionIssuer>,
    /// Web identity federation data (`{}` when there is none to tell).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub web_id_federation_data: Option<serde_json::Value>,
    /// Creation date and MFA flag.
    pub attributes: SessionAttributes,
    /// The source identity set on the session.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_identity: Option<String>,
}

/// `sessionContext.sessionIssuer`; every member is left out of the empty one (`{}`) that IAM
/// users' and root's session credentials carry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionIssuer {
    /// `Role`, `IAMUser` or `Root`.
    #[serde(rename = "type", default, skip_serializing_if = "IdentityType::is_unknown")]
    pub issuer_type: IdentityType,
    /// The issuer's unique id.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub principal_id: String,
    /// The issuer's ARN.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub arn: String,
    /// The issuer's account.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub account_id: String,
    /// The role or user name (absent for root without an alias).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_name: Option<String>,
}

impl SessionIssuer {
    /// The empty issuer (`{}`) of session credentials that IAM users and root get from
    /// GetSessionToken or a console sign-in.
    pub fn none() -> Self {
        SessionIssuer {
            issuer_type: IdentityType::Unknown,
            principal_id: String::new(),
            arn: String::new(),
            account_id: String::new(),
            user_name: None,
        }
    }
}

/// `sessionContext.attributes`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionAttributes {
    /// ISO 8601, `YYYY-MM-DDTHH:MM:SSZ`.
    pub creation_date: String,
    /// The string `"true"` or `"false"`, not a boolean.
    pub mfa_authenticated: String,
}

/// `onBehalfOf`, for Identity Center users.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OnBehalfOf {
    /// The Identity Store user id.
    pub user_id: String,
    /// `arn:aws:identitystore::<acct>:identitystore/d-…`.
    pub identity_store_arn: String,
}

fn empty() -> UserIdentity {
    UserIdentity {
        identity_type: IdentityType::Unknown,
        principal_id: None,
        arn: None,
        account_id: None,
        access_key_id: None,
        user_name: None,
        session_context: None,
        invoked_by: None,
        identity_provider: None,
        credential_id: None,
        on_behalf_of: None,
    }
}

impl UserIdentity {
    /// The root user; `alias` becomes `userName` when the account has one.
    pub fn root(account: &str, access_key_id: &str, alias: Option<&str>) -> Self {
        UserIdentity {
            identity_type: IdentityType::Root,
            principal_id: Some(account.to_owned()),
            arn: Some(format!("arn:aws:iam::{account}:root")),
            account_id: Some(account.to_owned()),
            access_key_id: Some(access_key_id.to_owned()),
            user_name: alias.map(str::to_owned),
            ..empty()
        }
    }

    /// An IAM user; `path` is `/` or `/division/`.
    pub fn iam_user(account: &str, path: &str, name: &str, principal_id: &str, access_key_id: &str) -> Self {
        UserIdentity {
            identity_type: IdentityType::IAMUser,
            principal_id: Some(principal_id.to_owned()),
            arn: Some(format!(
                "arn:aws:iam::{account}:user{}{name}",
                normalise_path(path)
            )),
            account_id: Some(account.to_owned()),
            access_key_id: Some(access_key_id.to_owned()),
            user_name: Some(name.to_owned()),
            ..empty()
        }
    }

    /// `self` (an IAM user or root) calling with session credentials (`ASIA…`, from
    /// GetSessionToken or a console sign-in): a `sessionContext` with an empty issuer.
    pub fn with_session(mut self, access_key_id: &str, creation_date: &str, mfa: bool) -> Self {
        self.access_key_id = Some(access_key_id.to_owned());
        self.session_context = Some(SessionContext {
            session_issuer: Some(SessionIssuer::none()),
            web_id_federation_data: Some(serde_json::Value::Object(Default::default())),
            attributes: SessionAttributes {
                creation_date: creation_date.to_owned(),
                mfa_authenticated: mfa.to_string(),
            },
            source_identity: None,
        });
        self
    }

    /// A role session. `role_id` is the role's `AROA…` id; `creation_date` is `YYYY-MM-DDTHH:MM:SSZ`.
    #[allow(
        clippy::too_many_arguments,
        reason = "each argument is one part of the identity CloudTrail writes; a struct would only name them twice"
    )]
    pub fn assumed_role(
        account: &str,
        role_path: &str,
        role_name: &str,
        role_id: &str,
        session_name: &str,
        access_key_id: &str,
        creation_date: &str,
        mfa: bool,
        source_identity: Option<&str>,
    ) -> Self {
        UserIdentity {
            identity_type: IdentityType::AssumedRole,
            principal_id: Some(format!("{role_id}:{session_name}")),
            arn: Some(format!(
                "arn:aws:sts::{account}:assumed-role/{role_name}/{session_name}"
            )),
            account_id: Some(account.to_owned()),
            access_key_id: Some(access_key_id.to_owned()),
            session_context: Some(SessionContext {
                session_issuer: Some(SessionIssuer {
                    issuer_type: IdentityType::Role,
                    principal_id: role_id.to_owned(),
                    arn: format!(
                        "arn:aws:iam::{account}:role{}{role_name}",
                        normalise_path(role_path)
                    ),
                    account_id: account.to_owned(),
                    user_name: Some(role_name.to_owned()),
                }),
                web_id_federation_data: Some(serde_json::Value::Object(Default::default())),
                attributes: SessionAttributes {
                    creation_date: creation_date.to_owned(),
                    mfa_authenticated: mfa.to_string(),
                },
                source_identity: source_identity.map(str::to_owned),
            }),
            ..empty()
        }
    }

    /// A federated user from GetFederationToken, issued by an IAM user.
    pub fn federated_user(
        account: &str,
        name: &str,
        access_key_id: &str,
        issuer: SessionIssuer,
        creation_date: &str,
        mfa: bool,
    ) -> Self {
        UserIdentity {
            identity_type: IdentityType::FederatedUser,
            principal_id: Some(format!("{account}:{name}")),
            arn: Some(format!("arn:aws:sts::{account}:federated-user/{name}")),
            account_id: Some(account.to_owned()),
            access_key_id: Some(access_key_id.to_owned()),
            session_context: Some(SessionContext {
                session_issuer: Some(issuer),
                web_id_federation_data: None,
                attributes: SessionAttributes {
                    creation_date: creation_date.to_owned(),
                    mfa_authenticated: mfa.to_string(),
                },
                source_identity: None,
            }),
            ..empty()
        }
    }

    /// Another account calling in (cross-account).
    pub fn aws_account(principal_id: &str, account: &str) -> Self {
        UserIdentity {
            identity_type: IdentityType::AWSAccount,
            principal_id: Some(principal_id.to_owned()),
            account_id: Some(account.to_owned()),
            ..empty()
        }
    }

    /// An AWS service principal such as `cloudtrail.amazonaws.com`.
    pub fn aws_service(invoked_by: &str) -> Self {
        UserIdentity {
            identity_type: IdentityType::AWSService,
            invoked_by: Some(invoked_by.to_owned()),
            ..empty()
        }
    }

    /// An AWS service acting on its own in `account` (an `AwsServiceEvent`): no type, only the
    /// account and `invokedBy` (`AWS Internal`, or the service's principal).
    pub fn service_event(account: &str, invoked_by: &str) -> Self {
        UserIdentity {
            identity_type: IdentityType::Unstated,
            account_id: Some(account.to_owned()),
            invoked_by: Some(invoked_by.to_owned()),
            ..empty()
        }
    }

    /// An IAM Identity Center user.
    pub fn identity_center_user(
        account: &str,
        user_id: &str,
        identity_store_id: &str,
        credential_id: &str,
    ) -> Self {
        UserIdentity {
            identity_type: IdentityType::IdentityCenterUser,
            account_id: Some(account.to_owned()),
            credential_id: Some(credential_id.to_owned()),
            on_behalf_of: Some(OnBehalfOf {
                user_id: user_id.to_owned(),
                identity_store_arn: format!(
                    "arn:aws:identitystore::{account}:identitystore/{identity_store_id}"
                ),
            }),
            ..empty()
        }
    }

    /// A SAML user (AssumeRoleWithSAML). Like a web identity user it has no `accountId`: the
    /// CloudTrail User Guide's examples and real records name no account for either.
    pub fn saml_user(name_qualifier: &str, subject: &str) -> Self {
        UserIdentity {
            identity_type: IdentityType::SAMLUser,
            principal_id: Some(format!("{name_qualifier}:{subject}")),
            user_name: Some(subject.to_owned()),
            identity_provider: Some(name_qualifier.to_owned()),
            ..empty()
        }
    }

    /// A web identity user (AssumeRoleWithWebIdentity).
    pub fn web_identity_user(issuer: &str, app_id: &str, user_id: &str) -> Self {
        UserIdentity {
            identity_type: IdentityType::WebIdentityUser,
            principal_id: Some(format!("{issuer}:{app_id}:{user_id}")),
            user_name: Some(user_id.to_owned()),
            identity_provider: Some(issuer.to_owned()),
            ..empty()
        }
    }

    /// Sets `invokedBy` (a service acting through this principal's credentials).
    pub fn invoked_by(mut self, service: &str) -> Self {
        self.invoked_by = Some(service.to_owned());
        self
    }

    /// The name LookupEvents reports as `Username`: user name, session name, or root.
    pub fn lookup_username(&self) -> Option<String> {
        match self.identity_type {
            IdentityType::AssumedRole => self
                .arn
                .as_deref()
                .and_then(|a| a.rsplit('/').next())
                .map(str::to_owned),
            IdentityType::Root => Some(self.user_name.clone().unwrap_or_else(|| "root".to_owned())),
            IdentityType::FederatedUser => self
                .arn
                .as_deref()
                .and_then(|a| a.rsplit('/').next())
                .map(str::to_owned),
            IdentityType::AWSService => self.invoked_by.clone(),
            _ => self.user_name.clone(),
        }
    }
}

/// An IAM path as ARNs write it: `/` or `/division/`.
pub fn normalise_path(path: &str) -> String {
    let trimmed = path.trim_matches('/');
    if trimmed.is_empty() {
        "/".to_owned()
    } else {
        format!("/{trimmed}/")
    }
}

/// The alphabet of IAM unique ids and access key ids after the prefix.
const ID_ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/// A 21-character IAM unique id such as `AIDA…` (user) or `AROA…` (role).
pub fn unique_id(prefix: &str, rng: &mut impl rand::Rng) -> String {
    let mut s = String::with_capacity(21);
    s.push_str(prefix);
    while s.len() < 21 {
        s.push(char::from(ID_ALPHABET[rng.random_range(0..ID_ALPHABET.len())]));
    }
    s
}

const BASE64_ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// A 40-character secret access key.
pub fn secret_access_key(rng: &mut impl rand::Rng) -> String {
    (0..40)
        .map(|_| char::from(BASE64_ALPHABET[rng.random_range(0..BASE64_ALPHABET.len())]))
        .collect()
}

/// A session token of the length and opening real STS tokens have (`IQoJb3JpZ2luX2Vj` is the
/// base64 of their fixed header).
pub fn session_token(rng: &mut impl rand::Rng) -> String {
    let mut s = String::from("IQoJb3JpZ2luX2VjE");
    while s.len() < 360 {
        s.push(char::from(
            BASE64_ALPHABET[rng.random_range(0..BASE64_ALPHABET.len())],
        ));
    }
    s
}

/// A 20-character access key id: `AKIA…` long-term or `ASIA…` temporary.
pub fn access_key_id(temporary: bool, rng: &mut impl rand::Rng) -> String {
    let mut s = String::with_capacity(20);
    s.push_str(if temporary { "ASIA" } else { "AKIA" });
    while s.len() < 20 {
        s.push(char::from(ID_ALPHABET[rng.random_range(0..ID_ALPHABET.len())]));
    }
    s
}
