//! Selector tests: basic and advanced matching, PutEventSelectors' checks, the data-event
//! resource types a caller hands in.

use super::*;

#[test]
fn basic_selectors_split_read_and_write() {
    let w = EventSelector {
        read_write_type: "WriteOnly".into(),
        ..EventSelector::default()
    };
    assert!(w.select(&rec(ACCT, "us-east-1", "CreateSchema", false)));
    assert!(!w.select(&rec(ACCT, "us-east-1", "ListSchemas", true)));
    let r = EventSelector {
        read_write_type: "ReadOnly".into(),
        ..EventSelector::default()
    };
    assert!(r.select(&rec(ACCT, "us-east-1", "ListSchemas", true)));
    assert!(!r.select(&rec(ACCT, "us-east-1", "CreateSchema", false)));
    let none = EventSelector {
        include_management_events: false,
        ..EventSelector::default()
    };
    assert!(!none.select(&rec(ACCT, "us-east-1", "ListSchemas", true)));
    // Default selectors take no data events.
    assert!(!Selectors::default().select(&data_rec("us-east-1", STREAM, "arn:x")));
    let kms = EventSelector {
        exclude_management_event_sources: vec!["kms.amazonaws.com".into()],
        ..EventSelector::default()
    };
    let mut k = rec(ACCT, "us-east-1", "Decrypt", true);
    k.event_source = "kms.amazonaws.com".into();
    assert!(!kms.select(&k));
}

#[test]
fn advanced_selectors_pick_data_events_by_resource() {
    let stream = "arn:aws:dynamodb:us-east-1:123456789012:table/t/stream/2026-01-01T00:00:00.000";
    let sel = AdvancedEventSelector {
        name: Some("events".into()),
        field_selectors: vec![
            equals("eventCategory", "Data"),
            equals("resources.type", STREAM),
            AdvancedFieldSelector {
                starts_with: Some(vec!["arn:aws:dynamodb:us-east-1:".into()]),
                ..on("resources.ARN")
            },
            AdvancedFieldSelector {
                not_equals: Some(vec!["GetShardIterator".into()]),
                ..on("eventName")
            },
        ],
    };
    validate_advanced(std::slice::from_ref(&sel), &types()).unwrap();
    assert!(sel.select(&data_rec("us-east-1", STREAM, stream)));
    assert!(!sel.select(&data_rec(
        "us-east-1",
        TOPIC,
        "arn:aws:sns:us-east-1:111122223333:topic"
    )));
    assert!(!sel.select(&data_rec(
        "us-east-1",
        STREAM,
        "arn:aws:dynamodb:eu-west-1:111122223333:table/t/stream/x"
    )));
    let mut shards = data_rec("us-east-1", STREAM, stream);
    shards.event_name = "GetShardIterator".into();
    assert!(!sel.select(&shards));
    assert!(!sel.select(&rec(ACCT, "us-east-1", "CreateSchema", false)));

    let mgmt_writes = all_of(vec![
        equals("eventCategory", "Management"),
        equals("readOnly", "false"),
    ]);
    validate_advanced(std::slice::from_ref(&mgmt_writes), &types()).unwrap();
    assert!(mgmt_writes.select(&rec(ACCT, "us-east-1", "CreateSchema", false)));
    assert!(!mgmt_writes.select(&rec(ACCT, "us-east-1", "ListSchemas", true)));
}

#[test]
fn selector_validation() {
    let bad_field = all_of(vec![equals("eventCategory", "Data"), equals("nope", "x")]);
    assert_eq!(
        validate_advanced(&[bad_field], &types()).unwrap_err().code(),
        "InvalidEventSelectorsException"
    );
    let no_type = all_of(vec![equals("eventCategory", "Data")]);
    assert!(validate_advanced(&[no_type], &types()).is_err());
    let no_cat = all_of(vec![equals("readOnly", "true")]);
    assert!(validate_advanced(&[no_cat], &types()).is_err());
    let starts_on_type = all_of(vec![
        equals("eventCategory", "Data"),
        AdvancedFieldSelector {
            starts_with: Some(vec!["AWS::".into()]),
            ..on("resources.type")
        },
    ]);
    assert!(validate_advanced(&[starts_on_type], &types()).is_err());
    assert!(validate_basic(&vec![EventSelector::default(); 6]).is_err());
    assert!(
        validate_basic(&[EventSelector {
            read_write_type: "Sometimes".into(),
            ..Default::default()
        }])
        .is_err()
    );
    assert!(
        validate_basic(&[EventSelector {
            data_resources: vec![DataResource {
                r#type: Some(STREAM.into()),
                values: vec!["arn:aws:dynamodb".into()]
            }],
            ..Default::default()
        }])
        .is_err()
    );
    validate_basic(&[EventSelector {
        data_resources: vec![DataResource {
            r#type: Some("AWS::S3::Object".into()),
            values: vec!["arn:aws:s3".into()],
        }],
        ..Default::default()
    }])
    .unwrap();
}

#[test]
fn data_selectors_name_only_basic_types_and_the_types_the_caller_gave() {
    let data = |t: &str| all_of(vec![equals("eventCategory", "Data"), equals("resources.type", t)]);
    for t in [STREAM, TOPIC, "AWS::S3::Object", "AWS::Lambda::Function"] {
        validate_advanced(&[data(t)], &types()).unwrap();
    }
    assert_eq!(
        validate_advanced(&[data("AWS::Nothing::Here")], &types())
            .unwrap_err()
            .code(),
        "InvalidEventSelectorsException"
    );
    // A registry given no types takes only the basic ones.
    let none = DataResourceTypes::default();
    assert!(validate_advanced(&[data(STREAM)], &none).is_err());
    validate_advanced(&[data("AWS::DynamoDB::Table")], &none).unwrap();
    let t = Trails::new(None, clock(), vec![], none);
    t.create(caller("us-east-1"), spec("trail1")).unwrap();
    assert_eq!(
        t.put_event_selectors(caller("us-east-1"), "trail1", None, Some(vec![data(STREAM)]))
            .unwrap_err()
            .code(),
        "InvalidEventSelectorsException"
    );
}

#[test]
fn every_event_selectors_cover_management_and_each_given_type() {
    let sel = every_event_selectors(&types());
    validate_advanced(&sel, &types()).unwrap();
    assert_eq!(sel.len(), 3);
    let stream = "arn:aws:dynamodb:us-east-1:123456789012:table/t/stream/s";
    let all = Selectors::Advanced(sel);
    assert!(all.select(&rec(ACCT, "us-east-1", "CreateSchema", false)));
    assert!(all.select(&data_rec("us-east-1", STREAM, stream)));
    assert!(all.select(&data_rec("us-east-1", TOPIC, "arn:aws:sns:us-east-1:1:t")));
    assert!(!all.select(&data_rec("us-east-1", "AWS::S3::Object", "arn:aws:s3:::b/k")));
    let spec = default_trail_spec(ACCT, &types());
    assert_eq!(spec.selectors, Some(all));
    assert_eq!(spec.bucket, "aws-cloudtrail-logs-123456789012");
}
