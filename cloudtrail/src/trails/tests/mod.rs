//! Unit tests of the trails module, with their shared fixtures: selectors (matching and
//! validation) in `selectors`, the registry (names, operations, routing, persistence) in
//! `registry`.

mod registry;
mod selectors;

use std::sync::Arc;

use super::*;
use crate::clock::{ManualClock, SharedClock};
use crate::identity::UserIdentity;
use crate::record::{EventCategory, Record, Resource};

const ACCT: &str = "123456789012";
/// A data-event resource type only advanced selectors name, given to the registry by its caller.
const STREAM: &str = "AWS::DynamoDB::Stream";
/// Another given type.
const TOPIC: &str = "AWS::SNS::Topic";

fn types() -> DataResourceTypes {
    DataResourceTypes::new([STREAM, TOPIC])
}

fn at(secs: i64) -> time::OffsetDateTime {
    time::OffsetDateTime::from_unix_timestamp(secs).unwrap_or(time::OffsetDateTime::UNIX_EPOCH)
}

fn clock() -> SharedClock {
    ManualClock::new(at(1_767_225_600))
}

fn caller(region: &str) -> Caller<'_> {
    Caller {
        account: ACCT,
        region,
    }
}

fn rec(account: &str, region: &str, name: &str, read_only: bool) -> Record {
    let mut r = Record::api_call(
        UserIdentity::root(account, "AKIAIOSFODNN7EXAMPLE", None),
        at(1_767_225_600),
        "schemas.amazonaws.com",
        name,
        region,
        "192.0.2.1",
        account,
    );
    r.read_only = Some(read_only);
    r
}

fn data_rec(region: &str, rtype: &str, arn: &str) -> Record {
    let mut r = rec(ACCT, region, "GetRecords", false);
    r.event_category = EventCategory::Data;
    r.management_event = Some(false);
    r.resources = vec![Resource {
        arn: Some(arn.to_owned()),
        arn_prefix: None,
        account_id: Some(ACCT.to_owned()),
        resource_type: Some(rtype.to_owned()),
    }];
    r
}

fn spec(name: &str) -> TrailSpec {
    TrailSpec {
        name: name.into(),
        bucket: "my-bucket".into(),
        ..TrailSpec::default()
    }
}

/// [`spec`] for a multi-Region trail.
fn multi_region(name: &str) -> TrailSpec {
    TrailSpec {
        multi_region: Some(true),
        ..spec(name)
    }
}

fn trails() -> Trails {
    Trails::new(
        None,
        clock(),
        vec![Organization {
            id: "o-exampleorg1".into(),
            management_account: ACCT.into(),
            member_accounts: vec!["111122223333".into()],
        }],
        types(),
    )
}

/// A condition on `field` with no operator yet.
fn on(field: &str) -> AdvancedFieldSelector {
    AdvancedFieldSelector {
        field: field.to_owned(),
        ..Default::default()
    }
}

/// `field` `Equals` `value`.
fn equals(field: &str, value: &str) -> AdvancedFieldSelector {
    AdvancedFieldSelector {
        equals: Some(vec![value.to_owned()]),
        ..on(field)
    }
}

/// An unnamed advanced selector of these conditions.
fn all_of(field_selectors: Vec<AdvancedFieldSelector>) -> AdvancedEventSelector {
    AdvancedEventSelector {
        name: None,
        field_selectors,
    }
}

#[test]
fn sts_calls_to_a_regional_endpoint_are_regional_events() {
    let t = trails();
    for region in ["us-east-1", "eu-west-1"] {
        let no_global = TrailSpec {
            include_global_service_events: Some(false),
            ..spec("no-global")
        };
        t.create(caller(region), no_global).unwrap();
        t.start_logging(caller(region), "no-global").unwrap();
    }
    let sts = |region: &str| {
        let mut r = rec(ACCT, region, "AssumeRole", false);
        r.event_source = "sts.amazonaws.com".into();
        r
    };
    // The global endpoint's events (us-east-1) follow IncludeGlobalServiceEvents; a Regional
    // endpoint's do not, as for any Regional service.
    assert!(super::router::is_global_service_event(&sts("us-east-1")));
    assert!(!super::router::is_global_service_event(&sts("eu-west-1")));
    assert!(t.destinations(&sts("us-east-1")).is_empty());
    assert_eq!(t.destinations(&sts("eu-west-1")).len(), 1);
    let mut iam = rec(ACCT, "us-east-1", "CreateUser", false);
    iam.event_source = "iam.amazonaws.com".into();
    assert!(t.destinations(&iam).is_empty());
}
