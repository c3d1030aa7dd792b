//! Unit tests of call contents: every operation builds, and every applicable error fails it.

use super::*;
use crate::ops::OPS;
use cloudtrail::redact::HIDDEN;

#[test]
fn every_operation_builds_and_every_applicable_error_fails_it() {
    let inv = Inventory::generate(3, 0, "123456789012", 0, "us-east-1");
    let mut rng = rng::derive(3, &[]);
    for op in OPS {
        let c = build(op, &inv, &mut rng, 1_700_000_000);
        assert!(c.body.is_object(), "{}", op.name);
        if op.read_only() {
            assert!(c.response.is_none(), "{}", op.name);
        }
        for code in crate::scenario::ERROR_CODES {
            if error_applies(op, code) {
                let mut f = c.clone();
                fail(
                    op,
                    &inv,
                    &mut f,
                    code,
                    "arn:aws:iam::123456789012:user/x",
                    &mut rng,
                );
                let (got, msg) = f.error.clone().unwrap();
                assert_eq!(&got, code);
                assert!(!msg.is_empty());
                assert!(f.response.is_none());
            }
        }
    }
}

#[test]
fn sensitive_members_are_hidden() {
    let inv = Inventory::generate(3, 0, "123456789012", 0, "us-east-1");
    let mut rng = rng::derive(4, &[]);
    let op = crate::ops::get("PutEvents").unwrap();
    let c = build(op, &inv, &mut rng, 1_700_000_000);
    let rp = request_parameters(op, &c.body).unwrap();
    assert_eq!(rp["eventList"][0], HIDDEN);
    assert!(rp["trackingId"].is_string());
    assert_ne!(c.body["eventList"], HIDDEN);
    let op = crate::ops::get("ListDatasetGroups").unwrap();
    assert_eq!(request_parameters(op, &json!({})), None);
}
