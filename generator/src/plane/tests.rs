//! Unit tests of the plane: every operation builds, by every kind of caller, a record of its
//! service's shape, and what a record never shows stays out of it.

use super::*;
use crate::population::Population;
use crate::scenario::Scenario;

#[test]
fn every_operation_records_by_every_caller_without_secrets() {
    let scenario = Scenario::load("audit-noise").unwrap();
    let population = Population::generate(&scenario, 1, &["us-west-2".to_owned()], 3);
    let account = population.accounts[0].clone();
    let mut rng = rng::derive(1, &[2]);
    for op in PLANE_OPS {
        for principal in &population.principals {
            for fail in [false, true] {
                let target = Target {
                    account: &account,
                    region: "us-west-2",
                    trail: "main",
                    bucket: "trail-bucket",
                    user: None,
                    hostile: false,
                };
                let call = build(op, principal, &target, 1_767_600_000, fail, &mut rng);
                let event = PlaneEvent {
                    time_ms: 1_767_600_000_000,
                    principal: 0,
                    call,
                    source_ip: "198.51.100.7".to_owned(),
                    user_agent: "aws-cli/2.22.0".to_owned(),
                    label: None,
                };
                let identity = principal.user_identity(&account, None);
                let r = to_record(&event, identity, &account, "us-west-2", "trail-bucket", &mut rng);
                let json = String::from_utf8(r.to_json()).unwrap();
                assert_eq!(r.event_source, op.service.event_source());
                assert_eq!(
                    r.aws_region,
                    if op.service.global() {
                        "us-east-1"
                    } else {
                        "us-west-2"
                    }
                );
                assert_eq!(r.read_only, Some(op.read_only));
                if op.service == PlaneService::Sts {
                    // One definition: the sts crate's, which the emulator's STS records with.
                    assert_eq!(Some(op.read_only), ::sts::read_only(op.name), "{}", op.name);
                }
                for secret in [
                    "secretAccessKey",
                    "SecretAccessKey",
                    "tokenCode",
                    "webIdentityToken",
                    "password\"",
                ] {
                    assert!(!json.contains(secret), "{}: {json}", op.name);
                }
                if fail && !matches!(op.service, PlaneService::SignIn | PlaneService::Kms) {
                    assert_eq!(r.error_code.as_deref(), Some("AccessDenied"), "{}", op.name);
                    assert!(r.response_elements.is_none(), "{}", op.name);
                }
                if op.service == PlaneService::Iam || op.service == PlaneService::Sts {
                    // Lower camel case at every depth of the request.
                    if let Some(req) = r.request_parameters.as_ref().and_then(|v| v.as_object()) {
                        assert!(
                            req.keys()
                                .all(|k| k.starts_with(|c: char| c.is_ascii_lowercase())),
                            "{json}"
                        );
                    }
                }
            }
        }
    }
}

#[test]
fn a_key_rotation_is_a_service_event_without_type_or_request() {
    let scenario = Scenario::load("audit-noise").unwrap();
    let population = Population::generate(&scenario, 1, &["eu-west-1".to_owned()], 3);
    let account = population.accounts[0].clone();
    let mut rng = rng::derive(1, &[3]);
    let target = Target {
        account: &account,
        region: "eu-west-1",
        trail: "main",
        bucket: "b",
        user: None,
        hostile: false,
    };
    let op = get("RotateKey").unwrap();
    let principal = &population.principals[0];
    let event = |rng: &mut Rng| PlaneEvent {
        time_ms: 1_767_600_000_000,
        principal: 0,
        call: build(op, principal, &target, 1_767_600_000, false, rng),
        source_ip: "198.51.100.7".to_owned(),
        user_agent: "x".to_owned(),
        label: None,
    };
    let e = event(&mut rng);
    let r = to_record(
        &e,
        principal.user_identity(&account, None),
        &account,
        "eu-west-1",
        "b",
        &mut rng,
    );
    let v: Value = serde_json::from_slice(&r.to_json()).unwrap();
    assert_eq!(v["eventType"], "AwsServiceEvent");
    assert_eq!(
        v["userIdentity"],
        serde_json::json!({"accountId": account, "invokedBy": "AWS Internal"})
    );
    assert_eq!(v["sourceIPAddress"], "AWS Internal");
    assert!(v.get("requestID").is_none() && v.get("tlsDetails").is_none());
    assert!(v["requestParameters"].is_null() && v["responseElements"].is_null());
    let key = v["serviceEventDetails"]["keyId"].as_str().unwrap().to_owned();
    assert!(v["resources"][0]["ARN"].as_str().unwrap().ends_with(&key));
    // The same key every time.
    let again = to_record(
        &event(&mut rng),
        principal.user_identity(&account, None),
        &account,
        "eu-west-1",
        "b",
        &mut rng,
    );
    assert_eq!(again.service_event_details, r.service_event_details);
    // And it reads back as a record.
    let back: cloudtrail::Record = serde_json::from_value(v).unwrap();
    assert_eq!(
        back.user_identity.identity_type,
        cloudtrail::IdentityType::Unstated
    );
}
