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
                for secret in [
                    "secretAccessKey",
                    "SecretAccessKey",
                    "tokenCode",
                    "webIdentityToken",
                    "password\"",
                ] {
                    assert!(!json.contains(secret), "{}: {json}", op.name);
                }
                if fail && op.service != PlaneService::SignIn {
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
