//! Presence rules of the serialised record, for every `userIdentity` constructor and for failures.

use cloudtrail::identity::{SessionIssuer, UserIdentity};
use cloudtrail::{IdentityType, Record};
use serde_json::{Value, json};

use crate::common::*;

fn keys(v: &Value) -> Vec<&str> {
    v.as_object().unwrap().keys().map(String::as_str).collect()
}

fn to_value(r: &Record) -> Value {
    serde_json::from_slice(&r.to_json()).unwrap()
}

/// What every identity with an access key has.
const KEYED: [&str; 5] = ["type", "principalId", "arn", "accountId", "accessKeyId"];

/// [`KEYED`] and one more field.
fn with_key(extra: &'static str) -> Vec<&'static str> {
    let mut v = KEYED.to_vec();
    v.push(extra);
    v
}

fn identities() -> Vec<(UserIdentity, Vec<&'static str>)> {
    let issuer = SessionIssuer {
        issuer_type: IdentityType::IAMUser,
        principal_id: "AIDAJ45Q7YFFAREXAMPLE".into(),
        arn: format!("arn:aws:iam::{ACCOUNT}:user/alice"),
        account_id: ACCOUNT.into(),
        user_name: Some("alice".into()),
    };
    vec![
        (
            UserIdentity::root(ACCOUNT, "AKIAIOSFODNN7EXAMPLE", None),
            KEYED.to_vec(),
        ),
        (
            UserIdentity::root(ACCOUNT, "AKIAIOSFODNN7EXAMPLE", Some("my-alias")),
            with_key("userName"),
        ),
        (
            UserIdentity::iam_user(
                ACCOUNT,
                "/div/",
                "alice",
                "AIDAJ45Q7YFFAREXAMPLE",
                "AKIAIOSFODNN7EXAMPLE",
            ),
            with_key("userName"),
        ),
        (
            UserIdentity::assumed_role(
                ACCOUNT,
                "/",
                "Admin",
                "AROAEXAMPLEEXAMPLE123",
                "sess",
                "ASIAEXAMPLEEXAMPLE12",
                "2026-03-04T05:00:00Z",
                false,
                Some("alice"),
            ),
            with_key("sessionContext"),
        ),
        (
            UserIdentity::federated_user(
                ACCOUNT,
                "bob",
                "ASIAEXAMPLEEXAMPLE12",
                issuer,
                "2026-03-04T05:00:00Z",
                true,
            ),
            with_key("sessionContext"),
        ),
        (
            UserIdentity::aws_account("AIDAEXAMPLEEXAMPLE123", "210987654321"),
            vec!["type", "principalId", "accountId"],
        ),
        (
            UserIdentity::aws_service("personalize.amazonaws.com"),
            vec!["type", "invokedBy"],
        ),
        (
            UserIdentity::identity_center_user(ACCOUNT, "user-1", "d-1234567890", "cred-1"),
            vec!["type", "accountId", "credentialId", "onBehalfOf"],
        ),
        (
            UserIdentity::saml_user("Q1234", "alice@example.com"),
            vec!["type", "principalId", "userName", "identityProvider"],
        ),
        (
            UserIdentity::web_identity_user("accounts.google.com", "app", "u-1"),
            vec!["type", "principalId", "userName", "identityProvider"],
        ),
    ]
}

#[test]
fn every_identity_type_has_exactly_its_fields() {
    for (id, expected) in identities() {
        let mut r = record(1, "us-east-1");
        r.user_identity = id.clone();
        let v = to_value(&r);
        assert_eq!(keys(&v["userIdentity"]), expected, "{:?}", id.identity_type);
        assert_eq!(v["userIdentity"]["type"], id.identity_type.as_str());
        // Always-present top-level fields, whatever the identity.
        for k in [
            "eventVersion",
            "eventTime",
            "eventID",
            "eventType",
            "recipientAccountId",
            "eventCategory",
        ] {
            assert!(v.get(k).is_some(), "{k} missing");
        }
        assert!(v.get("requestParameters").is_some() && v.get("responseElements").is_some());
        // A record survives the round trip through its own JSON.
        let back: Record = serde_json::from_value(v).unwrap();
        assert_eq!(back, r);
    }
}

#[test]
fn session_context_shapes() {
    let (role, _) = identities().swap_remove(3);
    let v = serde_json::to_value(&role).unwrap();
    let sc = &v["sessionContext"];
    assert_eq!(
        keys(sc),
        [
            "sessionIssuer",
            "webIdFederationData",
            "attributes",
            "sourceIdentity"
        ]
    );
    assert_eq!(
        sc["sessionIssuer"],
        json!({"type": "Role", "principalId": "AROAEXAMPLEEXAMPLE123",
               "arn": format!("arn:aws:iam::{ACCOUNT}:role/Admin"), "accountId": ACCOUNT, "userName": "Admin"})
    );
    assert_eq!(
        sc["attributes"],
        json!({"creationDate": "2026-03-04T05:00:00Z", "mfaAuthenticated": "false"})
    );
    assert_eq!(v["principalId"], "AROAEXAMPLEEXAMPLE123:sess");
    assert_eq!(
        v["arn"],
        format!("arn:aws:sts::{ACCOUNT}:assumed-role/Admin/sess")
    );
    let (fed, _) = identities().swap_remove(4);
    let v = serde_json::to_value(&fed).unwrap();
    assert_eq!(v["sessionContext"]["attributes"]["mfaAuthenticated"], "true");
    assert_eq!(v["sessionContext"]["sessionIssuer"]["type"], "IAMUser");
}

#[test]
fn success_and_failure_presence() {
    let ok = record(1, "us-east-1");
    let v = to_value(&ok);
    assert!(v.get("errorCode").is_none() && v.get("errorMessage").is_none());
    assert_eq!(v["readOnly"], json!(false));
    assert_eq!(v["managementEvent"], json!(true));
    assert_eq!(v["eventTime"], "2026-03-04T05:06:08Z");
    assert!(uuid::Uuid::parse_str(v["eventID"].as_str().unwrap()).is_ok());

    // A failed call: the error fields appear, both payloads are present as null.
    let mut failed = record(2, "us-east-1");
    failed.error_code = Some("ResourceNotFoundException".into());
    failed.error_message = Some("Could not find resource".into());
    failed.request_parameters = None;
    failed.response_elements = None;
    let v = to_value(&failed);
    assert_eq!(v["errorCode"], "ResourceNotFoundException");
    assert_eq!(v["errorMessage"], "Could not find resource");
    assert_eq!(v.get("requestParameters"), Some(&Value::Null));
    assert_eq!(v.get("responseElements"), Some(&Value::Null));
    let k = keys(&v);
    // AWS order: errors right after userAgent, before the payloads.
    let pos = |name: &str| k.iter().position(|x| *x == name).unwrap();
    assert!(pos("userAgent") < pos("errorCode") && pos("errorMessage") < pos("requestParameters"));

    // Resources use the upper-case ARN key.
    let mut with_res = record(3, "us-east-1");
    with_res.resources.push(cloudtrail::Resource {
        arn: Some("arn:aws:personalize:us-east-1:123456789012:dataset-group/x".into()),
        arn_prefix: None,
        account_id: Some(ACCOUNT.into()),
        resource_type: Some("AWS::Personalize::DatasetGroup".into()),
    });
    let v = to_value(&with_res);
    assert_eq!(keys(&v["resources"][0]), ["ARN", "accountId", "type"]);
}
