//! Registry tests: names and ARNs, CRUD across Regions and the quota, routing, tags, and the
//! state file across restarts.

use super::*;

#[test]
fn names_and_arns() {
    for ok in ["abc", "my-trail", "a.b_c-1", "Trail9"] {
        validate_trail_name(ok).unwrap();
    }
    for bad in [
        "ab",
        "-abc",
        "abc-",
        "a--b",
        "a._b",
        "my trail",
        "192.168.5.4",
        &"x".repeat(129),
    ] {
        assert_eq!(
            validate_trail_name(bad).unwrap_err().code(),
            "InvalidTrailNameException",
            "{bad}"
        );
    }
    assert_eq!(
        TrailRef::parse("arn:aws:cloudtrail:us-east-1:123456789012:trail/trail1").unwrap(),
        TrailRef::Arn {
            region: "us-east-1".into(),
            account: ACCT.into(),
            name: "trail1".into()
        }
    );
    assert_eq!(
        TrailRef::parse("arn:aws:cloudtrail:us-east-1:12:trail/trail1")
            .unwrap_err()
            .code(),
        "CloudTrailARNInvalidException"
    );
    assert_eq!(
        TrailRef::parse("arn:aws:s3:::bucket").unwrap_err().code(),
        "CloudTrailARNInvalidException"
    );
}

#[test]
fn crud_regions_and_quota() {
    let t = trails();
    let east = caller("us-east-1");
    let west = caller("us-west-2");
    let created = t.create(east, spec("trail1")).unwrap();
    assert!(!created.logging);
    assert_eq!(
        created.arn(),
        "arn:aws:cloudtrail:us-east-1:123456789012:trail/trail1"
    );
    assert_eq!(
        t.create(east, spec("trail1")).unwrap_err().code(),
        "TrailAlreadyExistsException"
    );
    // The same name in another Region is another trail, but not once one of them is multi-Region.
    t.create(west, spec("trail1")).unwrap();
    let multi = multi_region("trail1");
    assert_eq!(
        t.create(caller("eu-west-1"), multi).unwrap_err().code(),
        "TrailAlreadyExistsException"
    );
    let to_multi = TrailUpdate {
        multi_region: Some(true),
        ..Default::default()
    };
    assert_eq!(
        t.update(east, "trail1", to_multi).unwrap_err().code(),
        "TrailAlreadyExistsException"
    );
    assert!(!t.get(east, "trail1").unwrap().multi_region);
    assert_eq!(t.get(west, "trail1").unwrap().home_region, "us-west-2");
    assert_eq!(
        t.get(caller("eu-west-1"), "trail1").unwrap_err().code(),
        "TrailNotFoundException"
    );
    // A multi-Region trail shows as a shadow trail elsewhere, but is changed only from home.
    t.create(east, multi_region("all")).unwrap();
    assert_eq!(
        t.get(caller("eu-west-1"), "all").unwrap().home_region,
        "us-east-1"
    );
    assert_eq!(t.describe(caller("eu-west-1"), None, true).unwrap().len(), 1);
    assert_eq!(t.describe(caller("eu-west-1"), None, false).unwrap().len(), 0);
    assert_eq!(
        t.start_logging(caller("eu-west-1"), "all").unwrap_err().code(),
        "InvalidHomeRegionException"
    );
    assert_eq!(t.list(east).len(), 3);
    for i in 0..3 {
        t.create(east, spec(&format!("more{i}"))).unwrap();
    }
    assert_eq!(
        t.create(east, spec("sixth")).unwrap_err().code(),
        "MaximumNumberOfTrailsExceededException"
    );
    let u = t
        .update(
            east,
            "trail1",
            TrailUpdate {
                prefix: Some("/p/q/".into()),
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!(u.prefix.as_deref(), Some("p/q"));
    t.delete(east, "arn:aws:cloudtrail:us-east-1:123456789012:trail/trail1")
        .unwrap();
    assert_eq!(
        t.get(east, "trail1").unwrap_err().code(),
        "TrailNotFoundException"
    );
    assert_eq!(
        t.create(
            east,
            TrailSpec {
                bucket: "Bad_Bucket".into(),
                ..spec("zz1")
            }
        )
        .unwrap_err()
        .code(),
        "InvalidS3BucketNameException"
    );
}

#[test]
fn routing_by_region_account_organization_and_logging() {
    let t = trails();
    let east = caller("us-east-1");
    t.create(east, multi_region("all")).unwrap();
    t.create(
        east,
        TrailSpec {
            bucket: "single-bucket".into(),
            ..spec("single")
        },
    )
    .unwrap();
    t.create(
        east,
        TrailSpec {
            bucket: "org-bucket".into(),
            organization_trail: Some(true),
            multi_region: Some(true),
            ..spec("org")
        },
    )
    .unwrap();
    let r_east = rec(ACCT, "us-east-1", "CreateSchema", false);
    let r_west = rec(ACCT, "us-west-2", "CreateSchema", false);
    let r_member = rec("111122223333", "us-west-2", "CreateSchema", false);
    let r_stranger = rec("999999999999", "us-east-1", "CreateSchema", false);
    // Nothing logs before StartLogging.
    assert!(t.destinations(&r_east).is_empty());
    for n in ["all", "single", "org"] {
        t.start_logging(east, n).unwrap();
    }
    let names = |r: &Record| {
        let mut v: Vec<String> = t
            .destinations(r)
            .into_iter()
            .filter_map(|d| d.trail.rsplit('/').next().map(str::to_owned))
            .collect();
        v.sort();
        v
    };
    assert_eq!(names(&r_east), ["all", "org", "single"]);
    assert_eq!(names(&r_west), ["all", "org"]);
    assert_eq!(names(&r_member), ["org"]);
    assert!(names(&r_stranger).is_empty());
    let d = t.destinations(&r_member).into_iter().next().unwrap().log;
    assert_eq!(d.org_id.as_deref(), Some("o-exampleorg1"));
    assert_eq!(d.account, "111122223333");
    assert_eq!(d.region, "us-west-2");
    assert_eq!(d.bucket, "org-bucket");
    t.stop_logging(east, "all").unwrap();
    assert_eq!(names(&r_west), ["org"]);
    // Member accounts cannot create organization trails, accounts outside any organization neither.
    let member = Caller {
        account: "111122223333",
        region: "us-east-1",
    };
    assert_eq!(
        t.create(
            member,
            TrailSpec {
                organization_trail: Some(true),
                ..spec("org2")
            }
        )
        .unwrap_err()
        .code(),
        "NotOrganizationMasterAccountException"
    );
    let stranger = Caller {
        account: "999999999999",
        region: "us-east-1",
    };
    assert_eq!(
        t.create(
            stranger,
            TrailSpec {
                organization_trail: Some(true),
                ..spec("org3")
            }
        )
        .unwrap_err()
        .code(),
        "OrganizationsNotInUseException"
    );
    // Data events need a selector asking for them.
    let stream = "arn:aws:dynamodb:us-east-1:123456789012:table/t/stream/2026-01-01T00:00:00.000";
    assert_eq!(
        names(&data_rec("us-east-1", STREAM, stream)),
        Vec::<String>::new()
    );
    let data = all_of(vec![
        equals("eventCategory", "Data"),
        equals("resources.type", STREAM),
    ]);
    let got = t
        .put_event_selectors(east, "single", None, Some(vec![data]))
        .unwrap();
    assert!(got.has_custom_selectors);
    assert_eq!(names(&data_rec("us-east-1", STREAM, stream)), ["single"]);
    // The trail now has data selectors only: management events no longer reach it.
    assert_eq!(names(&r_east), ["org"]);
}

#[test]
fn tags() {
    let t = trails();
    let east = caller("us-east-1");
    let arn = t.create(east, spec("trail1")).unwrap().arn();
    t.add_tags(
        east,
        &arn,
        &[
            Tag {
                key: "a".into(),
                value: Some("1".into()),
            },
            Tag {
                key: "b".into(),
                value: None,
            },
        ],
    )
    .unwrap();
    t.add_tags(
        east,
        &arn,
        &[Tag {
            key: "a".into(),
            value: Some("2".into()),
        }],
    )
    .unwrap();
    t.remove_tags(
        east,
        &arn,
        &[Tag {
            key: "b".into(),
            value: None,
        }],
    )
    .unwrap();
    assert_eq!(
        t.list_tags(east, std::slice::from_ref(&arn)).unwrap(),
        vec![(
            arn.clone(),
            vec![Tag {
                key: "a".into(),
                value: Some("2".into())
            }]
        )]
    );
    assert_eq!(
        t.add_tags(east, "trail1", &[]).unwrap_err().code(),
        "CloudTrailARNInvalidException"
    );
    assert_eq!(
        t.list_tags(
            east,
            &["arn:aws:cloudtrail:us-east-1:123456789012:trail/none".into()]
        )
        .unwrap_err()
        .code(),
        "ResourceNotFoundException"
    );
    let many: Vec<Tag> = (0..51)
        .map(|i| Tag {
            key: format!("k{i}"),
            value: None,
        })
        .collect();
    assert_eq!(
        t.add_tags(east, &arn, &many).unwrap_err().code(),
        "TagsLimitExceededException"
    );
}

#[test]
fn state_survives_reopen_and_declared_trails_stay_deleted() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("trails.json");
    let declared = || {
        vec![(
            ACCT.to_owned(),
            "us-east-1".to_owned(),
            default_trail_spec(ACCT, &types()),
        )]
    };
    let clock: SharedClock = Arc::new(crate::clock::SystemClock);
    let t = Trails::open(Some(path.clone()), clock.clone(), vec![], types(), declared()).unwrap();
    let east = caller("us-east-1");
    let d = t.get(east, "management-events").unwrap();
    assert!(d.logging && d.multi_region && d.log_file_validation && d.declared);
    t.create(east, spec("api-made")).unwrap();
    drop(t);
    let mut moved = declared();
    moved[0].2.bucket = "moved-bucket".into();
    let t = Trails::open(Some(path.clone()), clock.clone(), vec![], types(), moved).unwrap();
    assert_eq!(t.list(east).len(), 2);
    assert_eq!(t.get(east, "management-events").unwrap().bucket, "moved-bucket");
    t.stop_logging(east, "management-events").unwrap();
    drop(t);
    let t = Trails::open(Some(path.clone()), clock.clone(), vec![], types(), declared()).unwrap();
    let d = t.get(east, "management-events").unwrap();
    assert!(!d.logging, "a stop through the API survives a restart");
    assert_eq!(d.bucket, "aws-cloudtrail-logs-123456789012");
    t.delete(east, "management-events").unwrap();
    drop(t);
    let t = Trails::open(Some(path), clock, vec![], types(), declared()).unwrap();
    assert_eq!(
        t.list(east).into_iter().map(|t| t.name).collect::<Vec<_>>(),
        ["api-made"]
    );
}
