//! AWS STS without HTTP or state: its operation list, the shapes of its outputs, and what its
//! CloudTrail records show of a call. The emulator's STS service and the generator's STS
//! records are both made from this crate, so the two cannot disagree.
//!
//! Records of STS name members in lower camel case (`roleArn`, `credentials.accessKeyId`); the
//! functions here work on the wire's PascalCase names, and the record rules recase them.

use serde_json::{Map, Value, json};

/// `eventSource` of STS records.
pub const EVENT_SOURCE: &str = "sts.amazonaws.com";
/// The XML namespace of STS responses (API version 2011-06-15).
pub const XMLNS: &str = "https://sts.amazonaws.com/doc/2011-06-15/";

/// The operations of the STS API (botocore's `sts` model), with whether each only reads.
/// CloudTrail records every STS call as read-only: real `AssumeRole` records (a person's, a
/// service's, across accounts) and `AssumeRoleWithWebIdentity` ones carry `"readOnly": true`,
/// since issuing credentials changes no resource; the rest follow them.
pub const OPERATIONS: &[(&str, bool)] = &[
    ("AssumeRole", true),
    ("AssumeRoleWithSAML", true),
    ("AssumeRoleWithWebIdentity", true),
    ("AssumeRoot", true),
    ("DecodeAuthorizationMessage", true),
    ("GetAccessKeyInfo", true),
    ("GetCallerIdentity", true),
    ("GetDelegatedAccessToken", true),
    ("GetFederationToken", true),
    ("GetScopedCredentials", true),
    ("GetSessionToken", true),
    ("GetWebIdentityToken", true),
];

/// Whether `operation` issues credentials: it changes state (the credentials outlive the call),
/// and its record shows what it issued, though CloudTrail writes it as read-only.
pub fn issues_credentials(operation: &str) -> bool {
    matches!(
        operation,
        "AssumeRole"
            | "AssumeRoleWithSAML"
            | "AssumeRoleWithWebIdentity"
            | "AssumeRoot"
            | "GetFederationToken"
            | "GetSessionToken"
            | "GetDelegatedAccessToken"
            | "GetScopedCredentials"
    )
}

/// Members of STS inputs that are integers in the model (the Query protocol sends every value
/// as text; records show these as numbers).
pub const INTEGER_MEMBERS: &[&str] = &["DurationSeconds"];

/// Members of STS records whose values are maps with data keys (tag keys), which keep their
/// case when the record rules recase member names.
pub const DATA_MAPS: &[&str] = &["PrincipalTags"];

/// Members a record never shows: the protocol's own, a one-time MFA code, a bearer token.
const NOT_RECORDED: &[&str] = &[
    "Action",
    "Version",
    "TokenCode",
    "WebIdentityToken",
    "SAMLAssertion",
];

/// Whether `operation` only reads; `None` for a name STS does not have.
pub fn read_only(operation: &str) -> Option<bool> {
    OPERATIONS
        .iter()
        .find(|(n, _)| *n == operation)
        .map(|(_, ro)| *ro)
}

/// A string member of an input.
pub fn str_member<'a>(input: &'a Value, name: &str) -> Option<&'a str> {
    input.get(name).and_then(Value::as_str)
}

/// `Credentials` of an output, `expiration` in epoch seconds (records show it as a date).
pub fn credentials(access_key_id: &str, secret: &str, session_token: &str, expiration: i64) -> Value {
    json!({
        "AccessKeyId": access_key_id,
        "SecretAccessKey": secret,
        "SessionToken": session_token,
        "Expiration": expiration,
    })
}

/// `AssumedRoleUser` of `AssumeRole` and `AssumeRoleWithWebIdentity`.
pub fn assumed_role_user(assumed_role_id: &str, arn: &str) -> Value {
    json!({"AssumedRoleId": assumed_role_id, "Arn": arn})
}

/// `FederatedUser` of `GetFederationToken`.
pub fn federated_user(federated_user_id: &str, arn: &str) -> Value {
    json!({"FederatedUserId": federated_user_id, "Arn": arn})
}

/// The output of `AssumeRole`.
pub fn assume_role_output(
    credentials: Value,
    assumed_role_user: Value,
    input: &Value,
    source_identity: Option<&str>,
) -> Value {
    let mut out = Map::new();
    out.insert("Credentials".into(), credentials);
    out.insert("AssumedRoleUser".into(), assumed_role_user);
    if let Some(size) = packed_policy_size(input) {
        out.insert("PackedPolicySize".into(), json!(size));
    }
    if let Some(s) = source_identity {
        out.insert("SourceIdentity".into(), json!(s));
    }
    Value::Object(out)
}

/// The output of `GetFederationToken`.
pub fn federation_token_output(credentials: Value, federated_user: Value, input: &Value) -> Value {
    let mut out = Map::new();
    out.insert("Credentials".into(), credentials);
    out.insert("FederatedUser".into(), federated_user);
    if let Some(size) = packed_policy_size(input) {
        out.insert("PackedPolicySize".into(), json!(size));
    }
    Value::Object(out)
}

/// The output of `GetCallerIdentity`.
pub fn caller_identity_output(user_id: &str, account: &str, arn: &str) -> Value {
    json!({"UserId": user_id, "Account": account, "Arn": arn})
}

/// `PackedPolicySize`, a percentage of the packed limit, when a session policy or tags came.
pub fn packed_policy_size(input: &Value) -> Option<u64> {
    let policy = str_member(input, "Policy").map_or(0, str::len);
    let tags = input.get("Tags").map_or(0, |t| t.to_string().len());
    let arns = input.get("PolicyArns").map_or(0, |t| t.to_string().len());
    let total = policy + tags + arns;
    (total > 0).then(|| (total as u64 * 100).div_ceil(2048).max(1))
}

/// The request as the record shows it: the operation's members only (not the protocol's
/// `Action` and `Version`), integers as numbers, never the one-time MFA code or a token.
pub fn request_as_recorded(mut input: Value) -> Value {
    if let Some(o) = input.as_object_mut() {
        // Removing in place keeps the members in the order the client sent them.
        for m in NOT_RECORDED {
            o.shift_remove(*m);
        }
        for m in INTEGER_MEMBERS {
            if let Some(n) = o
                .get(*m)
                .and_then(Value::as_str)
                .and_then(|s| s.parse::<i64>().ok())
            {
                o.insert((*m).to_owned(), json!(n));
            }
        }
    }
    input
}

/// The output as the record shows it: never a secret access key. `None` when it shows the
/// output as it is.
pub fn output_as_recorded(output: &Value) -> Option<Value> {
    let mut v = output.clone();
    let creds = v.get_mut("Credentials").and_then(Value::as_object_mut)?;
    creds.shift_remove("SecretAccessKey");
    Some(v)
}

/// Whether a member of an output holds a timestamp (records show it as a date).
pub fn is_timestamp_member(name: &str) -> bool {
    name == "Expiration"
}

/// The role a call names as its record's resource (`AWS::IAM::Role`): that of the three calls
/// that assume one.
pub fn role_resource<'a>(operation: &str, input: &'a Value) -> Option<&'a str> {
    matches!(
        operation,
        "AssumeRole" | "AssumeRoleWithSAML" | "AssumeRoleWithWebIdentity"
    )
    .then(|| str_member(input, "RoleArn"))
    .flatten()
}

/// The type of [`role_resource`] in `resources[]`.
pub const ROLE_TYPE: &str = "AWS::IAM::Role";
/// The type of an `AssumeRoleWithSAML`'s identity provider (`PrincipalArn`) in `resources[]`.
pub const SAML_PROVIDER_TYPE: &str = "AWS::IAM::SAMLProvider";

/// What an `AssumeRoleWithSAML` record shows of the assertion, which it never shows whole.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SamlRequestFacts {
    /// The assertion's `ID`.
    pub assertion_id: String,
    /// Its `RoleSessionName` attribute.
    pub role_session_name: Option<String>,
    /// Its `PrincipalTag:<key>` attributes, in document order.
    pub principal_tags: Vec<(String, String)>,
    /// Its `TransitiveTagKeys` values.
    pub transitive_tag_keys: Vec<String>,
    /// Its `SourceIdentity` attribute.
    pub source_identity: Option<String>,
}

/// The request of an `AssumeRoleWithSAML` as its record shows it: the assertion by its ID and
/// what it says of the session, then `DurationSeconds` (3600 when the caller left it out, as
/// the session lasts), `RoleArn`, `PrincipalArn` and any session policy. Without `facts` (an
/// assertion that does not parse) the request is shown without the assertion.
pub fn saml_request_as_recorded(input: Value, facts: Option<&SamlRequestFacts>) -> Value {
    let mut shown = request_as_recorded(input);
    let Some(o) = shown.as_object_mut() else {
        return shown;
    };
    let mut out = Map::new();
    if let Some(f) = facts {
        // CloudTrail spells this member so; the record rules leave a lower-case start alone.
        out.insert("sAMLAssertionID".into(), json!(f.assertion_id));
        if let Some(n) = &f.role_session_name {
            out.insert("RoleSessionName".into(), json!(n));
        }
        if !f.principal_tags.is_empty() {
            let tags: Map<String, Value> = f
                .principal_tags
                .iter()
                .map(|(k, v)| (k.clone(), json!(v)))
                .collect();
            out.insert("PrincipalTags".into(), Value::Object(tags));
        }
        if !f.transitive_tag_keys.is_empty() {
            out.insert("TransitiveTagKeys".into(), json!(f.transitive_tag_keys));
        }
        if let Some(s) = &f.source_identity {
            out.insert("SourceIdentity".into(), json!(s));
        }
    }
    let duration = o.shift_remove("DurationSeconds").unwrap_or(json!(3600));
    out.insert("DurationSeconds".into(), duration);
    for m in ["RoleArn", "PrincipalArn"] {
        if let Some(v) = o.shift_remove(m) {
            out.insert(m.into(), v);
        }
    }
    out.extend(std::mem::take(o));
    Value::Object(out)
}

/// `NameQualifier` of an `AssumeRoleWithSAML`: Base64(SHA-1(issuer, account, `/`, provider
/// name)), as the STS API Reference defines it. Records name the `SAMLUser` by it.
pub fn name_qualifier(issuer: &str, account: &str, provider_name: &str) -> String {
    use base64::Engine as _;
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY);
    ctx.update(issuer.as_bytes());
    ctx.update(account.as_bytes());
    ctx.update(b"/");
    ctx.update(provider_name.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(ctx.finish())
}

/// `SubjectType` of an `AssumeRoleWithSAML`: the `NameID` format without the SAML name-id
/// prefix (`transient`, `persistent`, `unspecified`), any other format as it is.
pub fn subject_type(format: Option<&str>) -> String {
    let Some(f) = format else {
        return "unspecified".to_owned();
    };
    [
        "urn:oasis:names:tc:SAML:2.0:nameid-format:",
        "urn:oasis:names:tc:SAML:1.1:nameid-format:",
    ]
    .iter()
    .find_map(|p| f.strip_prefix(p))
    .unwrap_or(f)
    .to_owned()
}

/// What an `AssumeRoleWithSAML` answers besides the session itself.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SamlAnswer {
    /// The `NameID`.
    pub subject: String,
    /// [`subject_type`].
    pub subject_type: String,
    /// The assertion's `Issuer`.
    pub issuer: String,
    /// The `Recipient` of its `SubjectConfirmationData`.
    pub audience: String,
    /// [`name_qualifier`].
    pub name_qualifier: String,
    /// Its `SourceIdentity` attribute.
    pub source_identity: Option<String>,
}

/// The output of `AssumeRoleWithSAML`.
pub fn assume_role_with_saml_output(
    credentials: Value,
    assumed_role_user: Value,
    input: &Value,
    answer: &SamlAnswer,
) -> Value {
    let mut shown = assume_role_output(credentials, assumed_role_user, input, None);
    let Some(out) = shown.as_object_mut() else {
        return shown;
    };
    out.insert("Subject".into(), json!(answer.subject));
    out.insert("SubjectType".into(), json!(answer.subject_type));
    out.insert("Issuer".into(), json!(answer.issuer));
    out.insert("Audience".into(), json!(answer.audience));
    out.insert("NameQualifier".into(), json!(answer.name_qualifier));
    if let Some(s) = &answer.source_identity {
        out.insert("SourceIdentity".into(), json!(s));
    }
    shown
}

/// Whether a call's records carry a `sharedEventID` when a service makes it: a service's
/// `AssumeRole` is recorded in the account of the role and of the service's caller alike.
pub fn shared_with_service(operation: &str) -> bool {
    operation == "AssumeRole"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_model_operation_is_listed_once_in_order() {
        let names: Vec<&str> = OPERATIONS.iter().map(|(n, _)| *n).collect();
        let mut sorted = names.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(names, sorted);
    }

    #[test]
    fn saml_records_name_the_assertion_by_its_id() {
        let input = json!({"Action": "AssumeRoleWithSAML", "Version": "2011-06-15",
            "RoleArn": "arn:aws:iam::1:role/r", "PrincipalArn": "arn:aws:iam::1:saml-provider/p",
            "SAMLAssertion": "PHNhbWw+"});
        let facts = SamlRequestFacts {
            assertion_id: "_a1".into(),
            role_session_name: Some("alice@example.com".into()),
            principal_tags: vec![("CostCenter".into(), "987654".into())],
            ..SamlRequestFacts::default()
        };
        let shown = saml_request_as_recorded(input, Some(&facts));
        assert_eq!(
            serde_json::to_string(&shown).unwrap(),
            r#"{"sAMLAssertionID":"_a1","RoleSessionName":"alice@example.com","PrincipalTags":{"CostCenter":"987654"},"DurationSeconds":3600,"RoleArn":"arn:aws:iam::1:role/r","PrincipalArn":"arn:aws:iam::1:saml-provider/p"}"#
        );
    }

    #[test]
    fn name_qualifiers_and_subject_types_follow_the_api_reference() {
        // SHA-1 of "https://example.com/saml" "123456789012" "/MySAMLIdP", base64.
        assert_eq!(
            name_qualifier("https://example.com/saml", "123456789012", "MySAMLIdP"),
            "1uAJanUnBc2XeUkHURMht+xam2c="
        );
        assert_eq!(
            subject_type(Some("urn:oasis:names:tc:SAML:2.0:nameid-format:transient")),
            "transient"
        );
        assert_eq!(
            subject_type(Some("urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified")),
            "unspecified"
        );
        assert_eq!(subject_type(Some("urn:example:custom")), "urn:example:custom");
    }

    #[test]
    fn packed_policy_size_is_a_percentage() {
        assert_eq!(packed_policy_size(&json!({})), None);
        assert_eq!(packed_policy_size(&json!({"Policy": "x".repeat(1024)})), Some(50));
    }

    #[test]
    fn records_show_neither_secrets_nor_protocol_members() {
        let input = json!({"Action": "AssumeRole", "Version": "2011-06-15", "RoleArn": "r",
            "DurationSeconds": "900", "TokenCode": "123456"});
        assert_eq!(
            request_as_recorded(input),
            json!({"RoleArn": "r", "DurationSeconds": 900})
        );
        let out = assume_role_output(
            credentials("ASIA", "secret", "token", 1),
            assumed_role_user("AROA:s", "arn"),
            &json!({}),
            None,
        );
        let shown = output_as_recorded(&out).unwrap();
        assert!(shown["Credentials"].get("SecretAccessKey").is_none());
        assert_eq!(shown["Credentials"]["AccessKeyId"], "ASIA");
    }
}
