//! IAM calls of the plane, as IAM's CloudTrail records show them: global service events in
//! `us-east-1`, member names in lower camel case, dates as Java dates, no secret in a response
//! (`CreateAccessKey` shows the key id, never its secret) and no password in a request.

use rand::RngExt;
use serde_json::{Value, json};

use super::{Ask, PlaneCall, iam_id};
use crate::rng::Rng;
use crate::scenario::IdentityKind;

/// Users and roles an intruder creates to stay: names chosen to look like operations accounts.
pub(super) const PERSISTENCE_USERS: &[&str] =
    &["backup-admin", "svc-monitoring", "support-ops", "ci-deploy-2"];

/// Policies attached to users.
const POLICIES: &[&str] = &[
    "arn:aws:iam::aws:policy/AdministratorAccess",
    "arn:aws:iam::aws:policy/AmazonPersonalizeFullAccess",
    "arn:aws:iam::aws:policy/ReadOnlyAccess",
];

/// A trust policy that lets another account (the intruder's) assume the role.
const FOREIGN_TRUST: &str = "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":{\"AWS\":\"arn:aws:iam::999988887777:root\"},\"Action\":\"sts:AssumeRole\"}]}";

pub(super) fn build(ask: Ask<'_>, rng: &mut Rng) -> PlaneCall {
    let (op, caller, target, now_secs, fail) = (ask.op, ask.caller, ask.target, ask.now_secs, ask.fail);
    let account = target.account;
    let mut call = PlaneCall::new(op);
    let own = (caller.kind == IdentityKind::IAMUser).then_some(caller.name.as_str());
    let user = target
        .user
        .or(own)
        .unwrap_or_else(|| PERSISTENCE_USERS[rng.random_range(0..PERSISTENCE_USERS.len())])
        .to_owned();
    let user_arn = format!("arn:aws:iam::{account}:user/{user}");
    let input: Value = match op.name {
        "ListUsers" | "ListRoles" => json!({}),
        "GetAccountAuthorizationDetails" => {
            json!({"Filter": ["User", "Role", "Group", "LocalManagedPolicy"]})
        }
        "GetUser" | "ListAccessKeys" | "ListAttachedUserPolicies" => json!({"UserName": user}),
        "CreateUser" => {
            call.output = Some(json!({"User": {
                "Path": "/",
                "UserName": user,
                "UserId": iam_id("AIDA", rng),
                "Arn": user_arn,
                "CreateDate": now_secs,
            }}));
            json!({"UserName": user})
        }
        "CreateAccessKey" => {
            call.output = Some(json!({"AccessKey": {
                "UserName": user,
                "AccessKeyId": cloudtrail::identity::access_key_id(false, rng),
                "Status": "Active",
                "CreateDate": now_secs,
            }}));
            json!({"UserName": user})
        }
        "DeleteAccessKey" => json!({
            "UserName": user,
            "AccessKeyId": cloudtrail::identity::access_key_id(false, rng),
        }),
        "CreateLoginProfile" => {
            call.output = Some(json!({"LoginProfile": {
                "UserName": user,
                "CreateDate": now_secs,
                "PasswordResetRequired": false,
            }}));
            json!({"UserName": user, "PasswordResetRequired": false})
        }
        "AttachUserPolicy" => {
            let policy = if target.hostile {
                POLICIES[0]
            } else {
                POLICIES[rng.random_range(0..POLICIES.len())]
            };
            json!({"UserName": user, "PolicyArn": policy})
        }
        "PutUserPolicy" => json!({
            "UserName": user,
            "PolicyName": "inline-personalize",
            "PolicyDocument": "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"personalize:*\",\"Resource\":\"*\"}]}",
        }),
        "CreateRole" | "UpdateAssumeRolePolicy" => {
            let role = "OrganizationAccountSupport";
            if op.name == "CreateRole" {
                call.output = Some(json!({"Role": {
                    "Path": "/",
                    "RoleName": role,
                    "RoleId": iam_id("AROA", rng),
                    "Arn": format!("arn:aws:iam::{account}:role/{role}"),
                    "CreateDate": now_secs,
                    "AssumeRolePolicyDocument": FOREIGN_TRUST,
                }}));
                json!({"RoleName": role, "AssumeRolePolicyDocument": FOREIGN_TRUST})
            } else {
                json!({"RoleName": role, "PolicyDocument": FOREIGN_TRUST})
            }
        }
        _ => json!({}),
    };
    if fail {
        let action = format!("iam:{}", op.name);
        let resource = match op.name {
            "ListUsers" | "ListRoles" | "GetAccountAuthorizationDetails" => {
                format!("arn:aws:iam::{account}:*")
            }
            "CreateRole" | "UpdateAssumeRolePolicy" => {
                format!("arn:aws:iam::{account}:role/OrganizationAccountSupport")
            }
            _ => user_arn,
        };
        call.deny(&caller.arn(account), &action, &resource);
    }
    call.request = Some(input);
    call
}
