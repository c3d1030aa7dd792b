//! STS calls of the plane, shaped by the `sts` crate as the emulator's STS answers and records
//! them: the request as recorded (`sts::request_as_recorded`), the output (`sts::*_output`,
//! the secret key left out by `sts::output_as_recorded`), the role as the resource, and a
//! `sharedEventID` when a service assumes a role.

use cloudtrail::identity;
use cloudtrail::{Resource, UserIdentity};
use rand::RngExt;
use serde_json::{Value, json};

use super::{Ask, PlaneCall, iam_id};
use crate::rng::Rng;
use crate::scenario::IdentityKind;

/// Roles the plane's callers assume: deployment, audit and data roles a Personalize account has.
const ROLES: &[&str] = &[
    "PersonalizeDeployRole",
    "PersonalizeDataPipeline",
    "SecurityAudit",
    "ReadOnlyAccess",
];

/// The web identity provider of `AssumeRoleWithWebIdentity` calls: a CI system's OIDC issuer.
const OIDC_ISSUER: &str = "token.actions.githubusercontent.com";

/// The workforce identity provider of `AssumeRoleWithSAML` calls, as IAM names it and as its
/// assertions name themselves (an Okta-style issuer).
const SAML_PROVIDER: &str = "CorporateIdP";
const SAML_ISSUER: &str = "http://www.okta.com/exk1example2abcd3e4f5";
/// The roles workforce users federate into.
const SAML_ROLES: &[&str] = &["PersonalizeDeveloper", "ReadOnlyAccess"];

/// The assumed-role user of a federated `AssumeRoleWith*` call into `role` as `session`, or
/// `None` once the failing call's `AccessDenied` is set: a federated caller has no IAM identity
/// of its own to name in an authorization message.
fn federated(
    call: &mut PlaneCall,
    fail: bool,
    account: &str,
    (role, session): (&str, &str),
    rng: &mut Rng,
) -> Option<Value> {
    if fail {
        let message = format!("Not authorized to perform sts:{}", call.op.name);
        call.error = Some((Some("AccessDenied".to_owned()), message));
        return None;
    }
    let role_id = iam_id("AROA", rng);
    Some(::sts::assumed_role_user(
        &format!("{role_id}:{session}"),
        &format!("arn:aws:sts::{account}:assumed-role/{role}/{session}"),
    ))
}

pub(super) fn build(ask: Ask<'_>, rng: &mut Rng) -> PlaneCall {
    let (op, caller, target, now_secs, fail) = (ask.op, ask.caller, ask.target, ask.now_secs, ask.fail);
    let account = target.account;
    let mut call = PlaneCall::new(op);
    let caller_arn = caller.arn(account);
    let expiration = |secs: i64| now_secs + secs;
    let creds = |rng: &mut Rng, secs: i64| {
        ::sts::credentials(
            &identity::access_key_id(true, rng),
            &identity::secret_access_key(rng),
            &identity::session_token(rng),
            expiration(secs),
        )
    };
    // What an `AssumeRoleWithSAML` record shows of its assertion.
    let mut saml = None;
    let input = match op.name {
        "GetCallerIdentity" => {
            if fail {
                call.deny(&caller_arn, "sts:GetCallerIdentity", &caller_arn);
            }
            return call;
        }
        "AssumeRole" => {
            let role = ROLES[rng.random_range(0..ROLES.len())];
            let role_arn = format!("arn:aws:iam::{account}:role/{role}");
            let session = match caller.kind {
                IdentityKind::AWSService => rng
                    .random_range(1_000_000_000_000u64..9_999_999_999_999)
                    .to_string(),
                _ => format!("{}-{}", caller.name, rng.random_range(1000..9999)),
            };
            let secs = [900i64, 3600, 3600, 3600, 7200][rng.random_range(0..5)];
            let input = json!({"RoleArn": role_arn, "RoleSessionName": session, "DurationSeconds": secs});
            call.resources = vec![Resource::arn(&role_arn, account, ::sts::ROLE_TYPE)];
            call.shared_event =
                ::sts::shared_with_service("AssumeRole") && caller.kind == IdentityKind::AWSService;
            if fail {
                call.deny(&caller_arn, "sts:AssumeRole", &role_arn);
            } else {
                let role_id = iam_id("AROA", rng);
                let user = ::sts::assumed_role_user(
                    &format!("{role_id}:{session}"),
                    &format!("arn:aws:sts::{account}:assumed-role/{role}/{session}"),
                );
                call.output = Some(::sts::assume_role_output(creds(rng, secs), user, &input, None));
            }
            input
        }
        "GetSessionToken" => {
            let mfa = caller.mfa || rng.random_bool(0.5);
            let mut input = json!({"DurationSeconds": 43_200});
            if mfa {
                input["SerialNumber"] = json!(format!("arn:aws:iam::{account}:mfa/{}", caller.name));
                input["TokenCode"] = json!(format!("{:06}", rng.random_range(0..1_000_000)));
            }
            if fail {
                call.deny(&caller_arn, "sts:GetSessionToken", &caller_arn);
            } else {
                call.output = Some(json!({"Credentials": creds(rng, 43_200)}));
            }
            input
        }
        "GetFederationToken" => {
            let name = format!("{}-fed", caller.name.chars().take(24).collect::<String>());
            let input = json!({
                "Name": name,
                "DurationSeconds": 3600,
                "Policy": "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"personalize:*\",\"Resource\":\"*\"}]}",
            });
            let fed_arn = format!("arn:aws:sts::{account}:federated-user/{name}");
            if fail {
                call.deny(&caller_arn, "sts:GetFederationToken", &fed_arn);
            } else {
                let user = ::sts::federated_user(&format!("{account}:{name}"), &fed_arn);
                call.output = Some(::sts::federation_token_output(creds(rng, 3600), user, &input));
            }
            input
        }
        "AssumeRoleWithWebIdentity" => {
            let role = "GitHubActionsDeploy";
            let role_arn = format!("arn:aws:iam::{account}:role/{role}");
            let session = format!("GitHubActions-{}", rng.random_range(100_000..999_999));
            let sub = "repo:example-org/recommendations:ref:refs/heads/main";
            let provider = format!("arn:aws:iam::{account}:oidc-provider/{OIDC_ISSUER}");
            call.identity = Some(UserIdentity::web_identity_user(
                &provider,
                "sts.amazonaws.com",
                sub,
            ));
            let input = json!({"RoleArn": role_arn, "RoleSessionName": session, "WebIdentityToken": "jwt"});
            if let Some(user) = federated(&mut call, fail, account, (role, &session), rng) {
                call.output = Some(json!({
                    "Credentials": creds(rng, 3600),
                    "SubjectFromWebIdentityToken": sub,
                    "AssumedRoleUser": user,
                    "Provider": provider,
                    "Audience": "sts.amazonaws.com",
                }));
            }
            input
        }
        "AssumeRoleWithSAML" => {
            let role = SAML_ROLES[rng.random_range(0..SAML_ROLES.len())];
            let role_arn = format!("arn:aws:iam::{account}:role/{role}");
            let provider_arn = format!("arn:aws:iam::{account}:saml-provider/{SAML_PROVIDER}");
            let subject = format!("{}@example.com", caller.name);
            let qualifier = ::sts::name_qualifier(SAML_ISSUER, account, SAML_PROVIDER);
            call.identity = Some(UserIdentity::saml_user(&qualifier, &subject));
            let secs = [3600i64, 3600, 28_800, 43_200][rng.random_range(0..4)];
            let input = json!({"RoleArn": role_arn, "PrincipalArn": provider_arn,
                "SAMLAssertion": "PHNhbWxwOlJlc3BvbnNlLz4=", "DurationSeconds": secs});
            let facts = ::sts::SamlRequestFacts {
                assertion_id: format!("id{}", rng.random_range(10u128.pow(25)..10u128.pow(26))),
                role_session_name: Some(subject.clone()),
                ..::sts::SamlRequestFacts::default()
            };
            call.resources = vec![
                Resource::arn(&role_arn, account, ::sts::ROLE_TYPE),
                Resource::arn(&provider_arn, account, ::sts::SAML_PROVIDER_TYPE),
            ];
            if let Some(user) = federated(&mut call, fail, account, (role, &subject), rng) {
                let answer = ::sts::SamlAnswer {
                    subject: subject.clone(),
                    subject_type: ::sts::subject_type(Some(
                        "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified",
                    )),
                    issuer: SAML_ISSUER.to_owned(),
                    audience: "https://signin.aws.amazon.com/saml".to_owned(),
                    name_qualifier: qualifier,
                    source_identity: None,
                };
                call.output = Some(::sts::assume_role_with_saml_output(
                    creds(rng, secs),
                    user,
                    &input,
                    &answer,
                ));
            }
            saml = Some(facts);
            input
        }
        _ => Value::Object(Default::default()),
    };
    if call.resources.is_empty()
        && let Some(arn) = ::sts::role_resource(op.name, &input)
    {
        call.resources = vec![Resource::arn(arn, account, ::sts::ROLE_TYPE)];
    }
    call.sent = Some(input.clone());
    call.request = Some(match &saml {
        Some(facts) => ::sts::saml_request_as_recorded(input, Some(facts)),
        None => ::sts::request_as_recorded(input),
    });
    call.output = call
        .output
        .as_ref()
        .and_then(::sts::output_as_recorded)
        .or(call.output);
    call
}
