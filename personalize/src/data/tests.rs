//! Behaviour tests of the data side through `Personalize::call`.

use serde_json::{Value, json};

use super::testing::{ACTION_INTERACTIONS, ACTIONS, Harness, INTERACTIONS, ITEMS};
use super::{FilterRequest, filter, records};
use crate::ErrorKind::{self, *};
use crate::Operation::{self, *};
use crate::operation::Family;

fn keys(v: &Value) -> Vec<String> {
    let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
    k.sort();
    k
}

fn sorted(k: &[&str]) -> Vec<String> {
    let mut k: Vec<String> = k.iter().map(|s| s.to_string()).collect();
    k.sort();
    k
}

#[test]
fn every_data_operation_is_implemented() {
    let mut h = Harness::new();
    for op in Operation::ALL
        .iter()
        .copied()
        .filter(|op| op.family() == Family::Data)
    {
        if let Err(e) = h.call(op, json!({})) {
            assert_ne!(e.kind, NotImplemented, "{} is not implemented", op.name());
        }
    }
}

#[test]
fn dataset_group_lifecycle_follows_the_clock() {
    let mut h = Harness::new();
    let out = h.ok(CreateDatasetGroup, json!({"name": "g1", "domain": "ECOMMERCE"}));
    let arn = Harness::arn("dataset-group/g1");
    assert_eq!(out, json!({"datasetGroupArn": arn, "domain": "ECOMMERCE"}));
    let d = h.ok(DescribeDatasetGroup, json!({"datasetGroupArn": arn}))["datasetGroup"].clone();
    assert_eq!(
        keys(&d),
        sorted(&[
            "name",
            "datasetGroupArn",
            "status",
            "creationDateTime",
            "lastUpdatedDateTime",
            "domain"
        ])
    );
    assert_eq!(d["status"], "CREATE PENDING");
    assert_eq!(d["creationDateTime"].as_f64().unwrap(), 1767225600.0);
    h.wait(6);
    let d = h.ok(DescribeDatasetGroup, json!({"datasetGroupArn": arn}))["datasetGroup"].clone();
    assert_eq!(d["status"], "CREATE IN_PROGRESS");
    assert_eq!(d["lastUpdatedDateTime"].as_f64().unwrap(), 1767225605.0);
    h.wait(60);
    let d = h.ok(DescribeDatasetGroup, json!({"datasetGroupArn": arn}))["datasetGroup"].clone();
    assert_eq!(d["status"], "ACTIVE");
    assert_eq!(d["lastUpdatedDateTime"].as_f64().unwrap(), 1767225635.0);

    h.ok(DeleteDatasetGroup, json!({"datasetGroupArn": arn}));
    let d = h.ok(DescribeDatasetGroup, json!({"datasetGroupArn": arn}))["datasetGroup"].clone();
    assert_eq!(d["status"], "DELETE PENDING");
    h.err(DeleteDatasetGroup, json!({"datasetGroupArn": arn}), ResourceInUse);
    // Still there, so the name is taken.
    h.err(CreateDatasetGroup, json!({"name": "g1"}), ResourceAlreadyExists);
    h.wait(16);
    let msg = h.err(
        DescribeDatasetGroup,
        json!({"datasetGroupArn": arn}),
        ResourceNotFound,
    );
    assert_eq!(msg, format!("Resource Arn {arn} does not exist."));
    h.ok(CreateDatasetGroup, json!({"name": "g1"}));
}

#[test]
fn dataset_group_validation() {
    let mut h = Harness::new();
    let role = "arn:aws:iam::123456789012:role/personalize";
    let kms = "arn:aws:kms:us-east-1:123456789012:key/abc";
    let cases: Vec<(Value, ErrorKind, &str)> = vec![
        (
            json!({}),
            InvalidInput,
            "Value null at 'name' failed to satisfy constraint: Member must not be null",
        ),
        (json!({"name": 5}), InvalidInput, "must be a string"),
        (
            json!({"name": "-x"}),
            InvalidInput,
            "regular expression pattern: ^[a-zA-Z0-9][a-zA-Z0-9\\-_]*",
        ),
        (json!({"name": "a".repeat(64)}), InvalidInput, "pattern"),
        (
            json!({"name": "g", "domain": "RETAIL"}),
            InvalidInput,
            "enum value set: [ECOMMERCE, VIDEO_ON_DEMAND]",
        ),
        (
            json!({"name": "g", "roleArn": "arn:aws:iam::1:role/x"}),
            InvalidInput,
            "iam::",
        ),
        (
            json!({"name": "g", "kmsKeyArn": "nope", "roleArn": role}),
            InvalidInput,
            "kms",
        ),
        (
            json!({"name": "g", "kmsKeyArn": kms}),
            InvalidInput,
            "roleArn is required",
        ),
        (
            json!({"name": "g", "tags": [{"tagKey": "k"}]}),
            InvalidInput,
            "tags.1.member.tagValue",
        ),
        (
            json!({"name": "g", "tags": [{"tagKey": "aws:x", "tagValue": "v"}]}),
            InvalidInput,
            "reserved",
        ),
        (
            json!({"name": "g", "tags": [{"tagKey": "a", "tagValue": "1"}, {"tagKey": "a", "tagValue": "2"}]}),
            InvalidInput,
            "more than once",
        ),
        (
            json!({"name": "g", "tags": [{"tagKey": "bad#", "tagValue": "v"}]}),
            InvalidInput,
            "pattern",
        ),
    ];
    for (input, kind, want) in cases {
        let msg = h.err(CreateDatasetGroup, input.clone(), kind);
        assert!(msg.contains(want), "{input}: {msg}");
    }
    let many: Vec<Value> = (0..51)
        .map(|i| json!({"tagKey": format!("k{i}"), "tagValue": "v"}))
        .collect();
    h.err(
        CreateDatasetGroup,
        json!({"name": "g", "tags": many}),
        TooManyTags,
    );
    h.ok(
        CreateDatasetGroup,
        json!({"name": "g", "roleArn": role, "kmsKeyArn": kms}),
    );
    let d = h.ok(
        DescribeDatasetGroup,
        json!({"datasetGroupArn": Harness::arn("dataset-group/g")}),
    );
    assert_eq!(d["datasetGroup"]["kmsKeyArn"], kms);
    let msg = h.err(CreateDatasetGroup, json!({"name": "g"}), ResourceAlreadyExists);
    assert_eq!(
        msg,
        format!(
            "Another resource with Arn {} already exists.",
            Harness::arn("dataset-group/g")
        )
    );
    h.err(
        DescribeDatasetGroup,
        json!({"datasetGroupArn": "arn:aws:s3:::b"}),
        InvalidInput,
    );
    h.err(DescribeDatasetGroup, json!({}), InvalidInput);
}

#[test]
fn dataset_groups_are_capped_at_500() {
    let mut h = Harness::new();
    for i in 0..500 {
        h.ok(CreateDatasetGroup, json!({ "name": format!("g{i}") }));
    }
    h.err(CreateDatasetGroup, json!({"name": "one-more"}), LimitExceeded);
}

#[test]
fn lists_are_newest_first_and_paginate() {
    let mut h = Harness::new();
    for i in 0..5 {
        h.ok(CreateDatasetGroup, json!({ "name": format!("g{i}") }));
        h.wait(1);
    }
    let p1 = h.ok(ListDatasetGroups, json!({"maxResults": 2}));
    let names: Vec<&str> = p1["datasetGroups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["g4", "g3"]);
    assert_eq!(
        keys(&p1["datasetGroups"][0]),
        sorted(&[
            "name",
            "datasetGroupArn",
            "status",
            "creationDateTime",
            "lastUpdatedDateTime"
        ])
    );
    let tok = p1["nextToken"].as_str().unwrap().to_string();
    let p2 = h.ok(ListDatasetGroups, json!({"maxResults": 2, "nextToken": tok}));
    assert_eq!(p2["datasetGroups"][0]["name"], "g2");
    let tok2 = p2["nextToken"].as_str().unwrap().to_string();
    let p3 = h.ok(ListDatasetGroups, json!({"maxResults": 2, "nextToken": tok2}));
    assert_eq!(p3["datasetGroups"].as_array().unwrap().len(), 1);
    assert!(p3.get("nextToken").is_none());
    h.err(ListSchemas, json!({"nextToken": tok}), InvalidNextToken);
    h.err(ListDatasets, json!({"nextToken": tok}), InvalidNextToken);
    h.err(
        ListDatasetGroups,
        json!({"nextToken": "garbage"}),
        InvalidNextToken,
    );
    for bad in [0, 101] {
        let msg = h.err(ListDatasetGroups, json!({"maxResults": bad}), InvalidInput);
        assert!(msg.contains("Member must have value between 1 and 100"));
    }
    assert_eq!(
        h.ok(ListDatasetGroups, json!({}))["datasetGroups"]
            .as_array()
            .unwrap()
            .len(),
        5
    );
}

#[test]
fn schemas() {
    let mut h = Harness::new();
    let arn = h.schema("s1", INTERACTIONS);
    assert_eq!(arn, Harness::arn("schema/s1"));
    let d = h.ok(DescribeSchema, json!({"schemaArn": arn}))["schema"].clone();
    assert_eq!(
        keys(&d),
        sorted(&[
            "name",
            "schemaArn",
            "schema",
            "creationDateTime",
            "lastUpdatedDateTime"
        ])
    );
    assert_eq!(d["schema"], INTERACTIONS);
    h.ok(
        CreateSchema,
        json!({"name": "s2", "schema": ITEMS, "domain": "VIDEO_ON_DEMAND"}),
    );
    let l = h.ok(ListSchemas, json!({}));
    assert_eq!(l["schemas"][0]["name"], "s2");
    assert_eq!(l["schemas"][0]["domain"], "VIDEO_ON_DEMAND");
    assert!(l["schemas"][0].get("schema").is_none());
    h.err(
        CreateSchema,
        json!({"name": "s1", "schema": INTERACTIONS}),
        ResourceAlreadyExists,
    );
    h.err(CreateSchema, json!({"name": "s3", "schema": "{}"}), InvalidInput);
    h.err(CreateSchema, json!({"name": "s3"}), InvalidInput);
    h.err(
        CreateSchema,
        json!({"name": "s3", "schema": ITEMS, "domain": "x"}),
        InvalidInput,
    );
    h.err(
        CreateSchema,
        json!({"name": "s3", "schema": "x".repeat(20001)}),
        InvalidInput,
    );
    let dsg = h.group("g", None);
    let ds = h.dataset(&dsg, "Interactions", &arn);
    let msg = h.err(DeleteSchema, json!({"schemaArn": arn}), ResourceInUse);
    assert!(msg.contains(&ds));
    h.ok(DeleteSchema, json!({"schemaArn": Harness::arn("schema/s2")}));
    h.err(
        DeleteSchema,
        json!({"schemaArn": Harness::arn("schema/s2")}),
        ResourceNotFound,
    );
    h.err(
        DescribeSchema,
        json!({"schemaArn": Harness::arn("schema/s2")}),
        ResourceNotFound,
    );
}

#[test]
fn datasets() {
    let mut h = Harness::new();
    let si = h.schema("si", INTERACTIONS);
    let sit = h.schema("sit", ITEMS);
    let missing_group = Harness::arn("dataset-group/nope");
    let base = |dsg: &str, ty: &str, schema: &str| json!({"name": "d", "datasetGroupArn": dsg, "datasetType": ty, "schemaArn": schema});
    h.err(
        CreateDataset,
        base(&missing_group, "Interactions", &si),
        ResourceNotFound,
    );
    h.ok(CreateDatasetGroup, json!({"name": "g"}));
    let dsg = Harness::arn("dataset-group/g");
    let msg = h.err(CreateDataset, base(&dsg, "Interactions", &si), ResourceInUse);
    assert!(msg.contains("CREATE PENDING"), "{msg}");
    h.wait(60);
    h.err(
        CreateDataset,
        base(&dsg, "Interactions", &Harness::arn("schema/nope")),
        ResourceNotFound,
    );
    h.err(CreateDataset, base(&dsg, "Clicks", &si), InvalidInput);
    h.err(CreateDataset, base(&dsg, "Inter-actions", &si), InvalidInput);
    let msg = h.err(CreateDataset, base(&dsg, "Users", &sit), InvalidInput);
    assert!(msg.contains("USER_ID"), "{msg}");
    let msg = h.err(CreateDataset, base(&dsg, "Interactions", &sit), InvalidInput);
    assert!(msg.contains("USER_ID"), "{msg}");
    let out = h.ok(CreateDataset, base(&dsg, "interactions", &si));
    let arn = Harness::arn("dataset/g/INTERACTIONS");
    assert_eq!(out, json!({"datasetArn": arn}));
    h.err(
        CreateDataset,
        base(&dsg, "INTERACTIONS", &si),
        ResourceAlreadyExists,
    );
    let d = h.ok(DescribeDataset, json!({"datasetArn": arn}))["dataset"].clone();
    assert_eq!(
        keys(&d),
        sorted(&[
            "name",
            "datasetArn",
            "datasetGroupArn",
            "datasetType",
            "schemaArn",
            "status",
            "creationDateTime",
            "lastUpdatedDateTime"
        ])
    );
    assert_eq!(d["datasetType"], "INTERACTIONS");
    assert_eq!(d["status"], "CREATE PENDING");
    // Deleting a group that still has a dataset is refused.
    let msg = h.err(DeleteDatasetGroup, json!({"datasetGroupArn": dsg}), ResourceInUse);
    assert!(msg.contains("datasets"), "{msg}");
    h.err(DeleteDataset, json!({"datasetArn": arn}), ResourceInUse);
    h.wait(60);
    let l = h.ok(ListDatasets, json!({"datasetGroupArn": dsg}));
    assert_eq!(l["datasets"][0]["status"], "ACTIVE");
    assert_eq!(
        keys(&l["datasets"][0]),
        sorted(&[
            "name",
            "datasetArn",
            "datasetType",
            "status",
            "creationDateTime",
            "lastUpdatedDateTime"
        ])
    );
    assert!(
        h.ok(ListDatasets, json!({"datasetGroupArn": missing_group}))["datasets"]
            .as_array()
            .unwrap()
            .is_empty()
    );

    // A domain group needs domain schemas with EVENT_TYPE.
    h.ok(CreateDatasetGroup, json!({"name": "shop", "domain": "ECOMMERCE"}));
    h.wait(60);
    let shop = Harness::arn("dataset-group/shop");
    let msg = h.err(CreateDataset, base(&shop, "Interactions", &si), InvalidInput);
    assert!(msg.contains("domain"), "{msg}");
    let no_event = r#"{"type":"record","name":"Interactions","fields":[{"name":"USER_ID","type":"string"},{"name":"ITEM_ID","type":"string"},{"name":"TIMESTAMP","type":"long"}]}"#;
    h.ok(
        CreateSchema,
        json!({"name": "shop-noev", "schema": no_event, "domain": "ECOMMERCE"}),
    );
    let msg = h.err(
        CreateDataset,
        base(&shop, "Interactions", &Harness::arn("schema/shop-noev")),
        InvalidInput,
    );
    assert!(msg.contains("EVENT_TYPE"), "{msg}");

    // UpdateDataset swaps the schema after a lifecycle.
    let wider = INTERACTIONS.replace(
        r#"{"name":"DEVICE""#,
        r#"{"name":"LOCATION","type":["null","string"]},{"name":"DEVICE""#,
    );
    let s2 = h.schema("si2", &wider);
    h.err(
        UpdateDataset,
        json!({"datasetArn": arn, "schemaArn": sit}),
        InvalidInput,
    );
    h.err(UpdateDataset, json!({"datasetArn": arn}), InvalidInput);
    h.ok(UpdateDataset, json!({"datasetArn": arn, "schemaArn": s2}));
    let d = h.ok(DescribeDataset, json!({"datasetArn": arn}))["dataset"].clone();
    assert_eq!(d["schemaArn"], si);
    assert_eq!(d["latestDatasetUpdate"]["schemaArn"], s2);
    assert_eq!(d["latestDatasetUpdate"]["status"], "CREATE PENDING");
    h.err(
        UpdateDataset,
        json!({"datasetArn": arn, "schemaArn": s2}),
        ResourceInUse,
    );
    h.err(DeleteSchema, json!({"schemaArn": s2}), ResourceInUse);
    h.wait(60);
    let d = h.ok(DescribeDataset, json!({"datasetArn": arn}))["dataset"].clone();
    assert_eq!(d["schemaArn"], s2);
    assert_eq!(d["latestDatasetUpdate"]["status"], "ACTIVE");
    // Narrowing back would drop LOCATION.
    let msg = h.err(
        UpdateDataset,
        json!({"datasetArn": arn, "schemaArn": si}),
        InvalidInput,
    );
    assert!(msg.contains("LOCATION"), "{msg}");

    h.ok(DeleteDataset, json!({"datasetArn": arn}));
    let d = h.ok(DescribeDataset, json!({"datasetArn": arn}))["dataset"].clone();
    assert_eq!(d["status"], "DELETE PENDING");
    h.wait(6);
    let d = h.ok(DescribeDataset, json!({"datasetArn": arn}))["dataset"].clone();
    assert_eq!(d["status"], "DELETE IN_PROGRESS");
    h.err(DeleteDataset, json!({"datasetArn": arn}), ResourceInUse);
    h.wait(10);
    h.err(DescribeDataset, json!({"datasetArn": arn}), ResourceNotFound);
    h.ok(DeleteSchema, json!({"schemaArn": si}));
    h.ok(DeleteDatasetGroup, json!({"datasetGroupArn": dsg}));
}

#[test]
fn import_jobs_load_data_when_active() {
    let mut h = Harness::new();
    let f = h.full_group("g");
    let job = |name: &str, ds: &str, loc: &str, mode: &str| {
        json!({"jobName": name, "datasetArn": ds, "dataSource": {"dataLocation": loc}, "importMode": mode,
               "roleArn": "arn:aws:iam::123456789012:role/p"})
    };
    let out = h.ok(
        CreateDatasetImportJob,
        job("i1", &f.interactions, "s3://bucket/interactions.csv", "FULL"),
    );
    let arn = Harness::arn("dataset-import-job/i1");
    assert_eq!(out, json!({"datasetImportJobArn": arn}));
    h.ok(
        CreateDatasetImportJob,
        job("i2", &f.items, "s3://bucket/items.csv", "FULL"),
    );
    let d = h.ok(DescribeDatasetImportJob, json!({"datasetImportJobArn": arn}))["datasetImportJob"].clone();
    assert_eq!(
        keys(&d),
        sorted(&[
            "jobName",
            "datasetImportJobArn",
            "datasetArn",
            "dataSource",
            "roleArn",
            "status",
            "creationDateTime",
            "lastUpdatedDateTime",
            "importMode"
        ])
    );
    assert_eq!(d["status"], "CREATE PENDING");
    assert!(records(&h.svc.only_store(), &f.dsg).is_none_or(|r| r.interactions.is_empty()));
    // A dataset with a running import cannot be deleted.
    h.err(
        DeleteDataset,
        json!({"datasetArn": f.interactions}),
        ResourceInUse,
    );
    h.wait(400);
    let d = h.ok(DescribeDatasetImportJob, json!({"datasetImportJobArn": arn}))["datasetImportJob"].clone();
    assert_eq!(d["status"], "ACTIVE");
    let store = &h.svc.only_store();
    let r = records(store, &f.dsg).unwrap();
    let n = r.interactions.len();
    assert!((300..=500).contains(&n));
    assert_eq!(r.items.len(), 100);
    assert!(super::dataset_group_has_interactions(store, &f.dsg));
    // INCREMENTAL adds, FULL replaces the bulk rows.
    h.ok(
        CreateDatasetImportJob,
        job("i3", &f.interactions, "s3://bucket/more.csv", "INCREMENTAL"),
    );
    h.wait(400);
    h.tick();
    let m = records(&h.svc.only_store(), &f.dsg).unwrap().interactions.len();
    assert!(m > n);
    h.ok(
        CreateDatasetImportJob,
        job("i4", &f.interactions, "s3://bucket/interactions.csv", "FULL"),
    );
    h.wait(400);
    h.tick();
    assert_eq!(
        records(&h.svc.only_store(), &f.dsg).unwrap().interactions.len(),
        n
    );

    let l = h.ok(ListDatasetImportJobs, json!({"datasetArn": f.interactions}));
    assert_eq!(l["datasetImportJobs"].as_array().unwrap().len(), 3);
    assert_eq!(
        keys(&l["datasetImportJobs"][0]),
        sorted(&[
            "datasetImportJobArn",
            "jobName",
            "status",
            "creationDateTime",
            "lastUpdatedDateTime",
            "importMode"
        ])
    );

    h.err(
        CreateDatasetImportJob,
        job("i1", &f.interactions, "s3://b/x.csv", "FULL"),
        ResourceAlreadyExists,
    );
    h.err(
        CreateDatasetImportJob,
        job("x", &f.interactions, "ftp://b/x.csv", "FULL"),
        InvalidInput,
    );
    h.err(
        CreateDatasetImportJob,
        job("x", &f.interactions, "s3://b/x.csv", "PARTIAL"),
        InvalidInput,
    );
    h.err(
        CreateDatasetImportJob,
        job("x", &Harness::arn("dataset/g/ACTIONS"), "s3://b/x.csv", "FULL"),
        ResourceNotFound,
    );
    h.err(
        CreateDatasetImportJob,
        json!({"jobName": "x", "datasetArn": f.items}),
        InvalidInput,
    );
    h.err(
        CreateDatasetImportJob,
        json!({"jobName": "x", "datasetArn": f.items, "dataSource": {}}),
        InvalidInput,
    );
    // At most 5 jobs pending or in progress.
    for i in 0..5 {
        h.ok(
            CreateDatasetImportJob,
            job(&format!("run{i}"), &f.users, "s3://b/u.csv", "INCREMENTAL"),
        );
    }
    let msg = h.err(
        CreateDatasetImportJob,
        job("run5", &f.users, "s3://b/u.csv", "FULL"),
        LimitExceeded,
    );
    assert_eq!(msg, "More than 5 resources with PENDING or IN_PROGRESS status.");
    h.err(
        DescribeDatasetImportJob,
        json!({"datasetImportJobArn": Harness::arn("dataset-import-job/zz")}),
        ResourceNotFound,
    );
}

#[test]
fn export_jobs() {
    let mut h = Harness::new();
    let f = h.full_group("g");
    let role = "arn:aws:iam::123456789012:role/p";
    let out = h.ok(
        CreateDatasetExportJob,
        json!({"jobName": "e1", "datasetArn": f.items, "roleArn": role, "jobOutput": {"s3DataDestination": {"path": "s3://b/out/"}}}),
    );
    let arn = Harness::arn("dataset-export-job/e1");
    assert_eq!(out["datasetExportJobArn"], arn);
    let d = h.ok(DescribeDatasetExportJob, json!({"datasetExportJobArn": arn}))["datasetExportJob"].clone();
    assert_eq!(d["ingestionMode"], "PUT");
    assert_eq!(d["jobOutput"]["s3DataDestination"]["path"], "s3://b/out/");
    assert_eq!(
        keys(&d),
        sorted(&[
            "jobName",
            "datasetExportJobArn",
            "datasetArn",
            "ingestionMode",
            "roleArn",
            "status",
            "jobOutput",
            "creationDateTime",
            "lastUpdatedDateTime"
        ])
    );
    h.wait(400);
    let l = h.ok(ListDatasetExportJobs, json!({}));
    assert_eq!(l["datasetExportJobs"][0]["status"], "ACTIVE");
    let bad: Vec<Value> = vec![
        json!({"jobName": "e2", "datasetArn": f.items, "roleArn": role}),
        json!({"jobName": "e2", "datasetArn": f.items, "roleArn": role, "jobOutput": {}}),
        json!({"jobName": "e2", "datasetArn": f.items, "roleArn": role, "jobOutput": {"s3DataDestination": {"path": "b/out"}}}),
        json!({"jobName": "e2", "datasetArn": f.items, "roleArn": role, "ingestionMode": "SOME", "jobOutput": {"s3DataDestination": {"path": "s3://b"}}}),
        json!({"jobName": "e2", "datasetArn": f.items, "jobOutput": {"s3DataDestination": {"path": "s3://b"}}}),
    ];
    for b in bad {
        h.err(CreateDatasetExportJob, b, InvalidInput);
    }
    h.err(
        CreateDatasetExportJob,
        json!({"jobName": "e1", "datasetArn": f.items, "roleArn": role, "jobOutput": {"s3DataDestination": {"path": "s3://b"}}}),
        ResourceAlreadyExists,
    );
}

#[test]
fn deletion_jobs_remove_users() {
    let mut h = Harness::new();
    let f = h.full_group("g");
    h.ok(
        CreateDatasetImportJob,
        json!({"jobName": "i", "datasetArn": f.interactions, "dataSource": {"dataLocation": "s3://b/i.csv"}}),
    );
    h.wait(400);
    let role = "arn:aws:iam::123456789012:role/p";
    let out = h.ok(
        CreateDataDeletionJob,
        json!({"jobName": "del", "datasetGroupArn": f.dsg, "roleArn": role, "dataSource": {"dataLocation": "s3://b/users.csv"}}),
    );
    let arn = Harness::arn("data-deletion-job/del");
    assert_eq!(out["dataDeletionJobArn"], arn);
    let d = h.ok(DescribeDataDeletionJob, json!({"dataDeletionJobArn": arn}))["dataDeletionJob"].clone();
    assert_eq!(d["status"], "PENDING");
    assert!(d.get("numDeleted").is_none());
    h.wait(10);
    assert_eq!(
        h.ok(DescribeDataDeletionJob, json!({"dataDeletionJobArn": arn}))["dataDeletionJob"]["status"],
        "IN_PROGRESS"
    );
    h.wait(700);
    let d = h.ok(DescribeDataDeletionJob, json!({"dataDeletionJobArn": arn}))["dataDeletionJob"].clone();
    assert_eq!(d["status"], "COMPLETED");
    let gone = super::synth::deletion_users("s3://b/users.csv");
    let store = &h.svc.only_store();
    let r = records(store, &f.dsg).unwrap();
    assert!(r.interactions.iter().all(|i| !gone.contains(&i.user_id)));
    assert!(d["numDeleted"].as_u64().unwrap() > 0);
    let l = h.ok(ListDataDeletionJobs, json!({"datasetGroupArn": f.dsg}));
    assert_eq!(
        keys(&l["dataDeletionJobs"][0]),
        sorted(&[
            "dataDeletionJobArn",
            "datasetGroupArn",
            "jobName",
            "status",
            "creationDateTime",
            "lastUpdatedDateTime"
        ])
    );
    h.err(
        CreateDataDeletionJob,
        json!({"jobName": "del2", "datasetGroupArn": Harness::arn("dataset-group/x"), "roleArn": role, "dataSource": {"dataLocation": "s3://b/u.csv"}}),
        ResourceNotFound,
    );
    h.err(
        CreateDataDeletionJob,
        json!({"jobName": "del2", "datasetGroupArn": f.dsg, "dataSource": {"dataLocation": "s3://b/u.csv"}}),
        InvalidInput,
    );
}

#[test]
fn event_trackers() {
    let mut h = Harness::new();
    let dsg = h.group("g", None);
    let out = h.ok(CreateEventTracker, json!({"name": "t", "datasetGroupArn": dsg}));
    let arn = out["eventTrackerArn"].as_str().unwrap().to_string();
    let id = arn.rsplit('/').next().unwrap();
    assert!(arn.starts_with(&Harness::arn("event-tracker/")));
    assert!(
        id.len() == 8 && id.bytes().all(|b| b.is_ascii_hexdigit()),
        "{arn}"
    );
    let tid = out["trackingId"].as_str().unwrap();
    assert_eq!(tid.len(), 36);
    assert_eq!(tid.as_bytes()[14], b'4');
    h.err(
        CreateEventTracker,
        json!({"name": "t2", "datasetGroupArn": dsg}),
        ResourceAlreadyExists,
    );
    let d = h.ok(DescribeEventTracker, json!({"eventTrackerArn": arn}))["eventTracker"].clone();
    assert_eq!(d["accountId"], "123456789012");
    assert_eq!(d["trackingId"], tid);
    assert_eq!(
        keys(&d),
        sorted(&[
            "name",
            "eventTrackerArn",
            "accountId",
            "trackingId",
            "datasetGroupArn",
            "status",
            "creationDateTime",
            "lastUpdatedDateTime"
        ])
    );
    let msg = h.err(DeleteDatasetGroup, json!({"datasetGroupArn": dsg}), ResourceInUse);
    assert!(msg.contains("event trackers"));
    h.err(DeleteEventTracker, json!({"eventTrackerArn": arn}), ResourceInUse);
    h.wait(60);
    assert_eq!(
        h.ok(ListEventTrackers, json!({"datasetGroupArn": dsg}))["eventTrackers"][0]["status"],
        "ACTIVE"
    );
    h.ok(DeleteEventTracker, json!({"eventTrackerArn": arn}));
    assert_eq!(
        h.ok(DescribeEventTracker, json!({"eventTrackerArn": arn}))["eventTracker"]["status"],
        "DELETE PENDING"
    );
    h.wait(20);
    h.err(
        DescribeEventTracker,
        json!({"eventTrackerArn": arn}),
        ResourceNotFound,
    );
    h.ok(DeleteDatasetGroup, json!({"datasetGroupArn": dsg}));
    h.err(
        CreateEventTracker,
        json!({"name": "t", "datasetGroupArn": Harness::arn("dataset-group/x")}),
        ResourceNotFound,
    );
}

#[test]
fn filters_validate_against_schemas_and_evaluate_on_data() {
    let mut h = Harness::new();
    let f = h.full_group("g");
    let create =
        |name: &str, expr: &str| json!({"name": name, "datasetGroupArn": f.dsg, "filterExpression": expr});
    let bad: &[(&str, &str)] = &[
        ("EXCLUDE ItemID WHERE Items.COLOR IN (\"red\")", "COLOR is not in"),
        ("EXCLUDE ItemID WHERE Items.IN_STOCK IN (\"True\")", "boolean"),
        ("EXCLUDE ItemID WHERE Items.GENRES < 3", "not numeric"),
        ("EXCLUDE ItemID WHERE Items.GENRES < $X", "not numeric"),
        ("EXCLUDE ItemID WHERE Items.PRICE < \"x\"", "needs a number"),
        (
            "EXCLUDE ItemID WHERE Interactions.DEVICE IN (\"x\")",
            "only test EVENT_TYPE",
        ),
        (
            "EXCLUDE ItemID WHERE Items.GENRES IN (\"x\") AND Interactions.EVENT_TYPE IN (\"x\")",
            "same dataset",
        ),
        (
            "EXCLUDE ItemID WHERE Actions.VALUE IN (\"x\")",
            "cannot filter this kind",
        ),
        ("EXCLUDE ActionID WHERE Actions.VALUE > 1", "no actions dataset"),
        (
            "INCLUDE UserID WHERE Users.AGE > CurrentItem.PRICE",
            "CurrentItem can only",
        ),
        (
            "EXCLUDE ItemID WHERE Items.GENRES IN (\"x\") | EXCLUDE UserID WHERE Users.AGE > 1",
            "same kind of ID",
        ),
        (
            "EXCLUDE ItemID WHERE Items.GENRES IN (\"x\") IF CurrentUser.NOPE = 1",
            "NOPE is not in",
        ),
        ("EXCLUDE ItemID WHERE", "Expected a dataset name"),
    ];
    for (expr, want) in bad {
        let msg = h.err(CreateFilter, create("bad", expr), InvalidInput);
        assert!(msg.contains(want), "{expr}: {msg}");
    }
    h.err(CreateFilter, create("bad", ""), InvalidInput);
    h.err(CreateFilter, create("bad", &"x".repeat(2501)), InvalidInput);

    let exprs = [
        (
            "no-clicked",
            r#"EXCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("click")"#,
        ),
        ("genre", r#"INCLUDE ItemID WHERE Items.GENRES IN ($GENRE)"#),
        ("cheap", r#"INCLUDE ItemID WHERE Items.PRICE <= $PRICE"#),
        (
            "kids",
            r#"EXCLUDE ItemID WHERE Items.GENRES IN ("Horror") IF CurrentUser.AGE < 18"#,
        ),
        (
            "same-genre",
            r#"INCLUDE ItemID WHERE Items.GENRES IN CurrentItem.GENRES"#,
        ),
        (
            "fav-or-comedy",
            r#"INCLUDE ItemID WHERE Items.GENRES IN ("Comedy") | INCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("favorite")"#,
        ),
        ("members", r#"INCLUDE UserID WHERE Users.MEMBERSHIP IN ("gold")"#),
    ];
    for (name, expr) in exprs {
        let out = h.ok(CreateFilter, create(name, expr));
        assert_eq!(out["filterArn"], Harness::arn(&format!("filter/{name}")));
    }
    h.err(CreateFilter, create("genre", exprs[1].1), ResourceAlreadyExists);
    for i in 0..3 {
        h.ok(CreateFilter, create(&format!("extra{i}"), exprs[0].1));
    }
    h.err(CreateFilter, create("eleventh", exprs[0].1), LimitExceeded);
    let d = h.ok(DescribeFilter, json!({"filterArn": Harness::arn("filter/genre")}))["filter"].clone();
    assert_eq!(d["filterExpression"], exprs[1].1);
    assert_eq!(
        keys(&d),
        sorted(&[
            "name",
            "filterArn",
            "creationDateTime",
            "lastUpdatedDateTime",
            "datasetGroupArn",
            "filterExpression",
            "status"
        ])
    );
    let l = h.ok(ListFilters, json!({"datasetGroupArn": f.dsg, "maxResults": 3}));
    assert_eq!(l["Filters"].as_array().unwrap().len(), 3);
    assert!(l["Filters"][0].get("filterExpression").is_none());
    assert!(l.get("nextToken").is_some());

    // Data through the Events API.
    let items = json!([
        {"itemId": "i1", "properties": r#"{"genres": "Comedy|Drama", "price": 5.0}"#},
        {"itemId": "i2", "properties": r#"{"genres": "Horror", "price": 50.0}"#},
        {"itemId": "i3", "properties": r#"{"genres": "Drama", "price": 15.0}"#}
    ]);
    h.ok(PutItems, json!({"datasetArn": f.items, "items": items}));
    h.ok(
        PutUsers,
        json!({"datasetArn": f.users, "users": [{"userId": "kid", "properties": r#"{"age": 10, "membership": "gold"}"#},
                                                {"userId": "adult", "properties": r#"{"age": 40}"#}]}),
    );
    h.ok(
        PutEvents,
        json!({"trackingId": f.tracking_id, "userId": "kid", "sessionId": "s1", "eventList": [
            {"eventType": "CLICK", "itemId": "i3", "sentAt": 1767225700},
            {"eventType": "favorite", "itemId": "i2", "sentAt": 1767225701.5}
        ]}),
    );
    let store = &h.svc.only_store();
    let kept = |name: &str, user: Option<&str>, item: Option<&str>, values: Option<Value>| -> Vec<&str> {
        let flt = filter(store, &Harness::arn(&format!("filter/{name}"))).unwrap();
        let fv = values.as_ref().and_then(|v| v.as_object());
        let req = FilterRequest {
            user_id: user,
            item_id: item,
            filter_values: fv,
        };
        let p = flt.prepare(store, &req).unwrap();
        ["i1", "i2", "i3"].into_iter().filter(|c| p.keeps(c)).collect()
    };
    assert_eq!(kept("no-clicked", Some("kid"), None, None), ["i1", "i2"]);
    assert_eq!(kept("no-clicked", Some("adult"), None, None), ["i1", "i2", "i3"]);
    assert_eq!(
        kept("genre", None, None, Some(json!({"GENRE": "\"Drama\""}))),
        ["i1", "i3"]
    );
    assert_eq!(
        kept(
            "genre",
            None,
            None,
            Some(json!({"GENRE": "\"Horror\",\"Comedy\""}))
        ),
        ["i1", "i2"]
    );
    // A missing parameter value skips the expression.
    assert_eq!(kept("genre", None, None, None), ["i1", "i2", "i3"]);
    assert_eq!(
        kept("cheap", None, None, Some(json!({"PRICE": "15"}))),
        ["i1", "i3"]
    );
    assert_eq!(kept("kids", Some("kid"), None, None), ["i1", "i3"]);
    assert_eq!(kept("kids", Some("adult"), None, None), ["i1", "i2", "i3"]);
    assert_eq!(kept("same-genre", None, Some("i3"), None), ["i1", "i3"]);
    assert_eq!(kept("fav-or-comedy", Some("kid"), None, None), ["i1", "i2"]);
    let flt = filter(store, &Harness::arn("filter/members")).unwrap();
    let p = flt.prepare(store, &FilterRequest::default()).unwrap();
    assert!(p.keeps("kid") && !p.keeps("adult"));
    // Unknown parameters and malformed values are rejected.
    let flt = filter(store, &Harness::arn("filter/genre")).unwrap();
    let bad_fv = json!({"OTHER": "\"x\""});
    let req = FilterRequest {
        filter_values: bad_fv.as_object(),
        ..Default::default()
    };
    assert_eq!(flt.prepare(store, &req).unwrap_err().kind, InvalidInput);
    let bad_fv = json!({"GENRE": "\"x"});
    let req = FilterRequest {
        filter_values: bad_fv.as_object(),
        ..Default::default()
    };
    assert_eq!(flt.prepare(store, &req).unwrap_err().kind, InvalidInput);

    let msg = h.err(
        DeleteDatasetGroup,
        json!({"datasetGroupArn": f.dsg}),
        ResourceInUse,
    );
    assert!(msg.contains("filters"));
    h.ok(DeleteFilter, json!({"filterArn": Harness::arn("filter/genre")}));
    h.err(
        DeleteFilter,
        json!({"filterArn": Harness::arn("filter/genre")}),
        ResourceNotFound,
    );
}

#[test]
fn metric_attributions() {
    let mut h = Harness::new();
    let f = h.full_group("g");
    let role = "arn:aws:iam::123456789012:role/p";
    let metric =
        |name: &str, expr: &str| json!({"eventType": "click", "metricName": name, "expression": expr});
    let create = |name: &str, metrics: Value| {
        json!({"name": name, "datasetGroupArn": f.dsg, "metrics": metrics,
               "metricsOutputConfig": {"roleArn": role, "s3DataDestination": {"path": "s3://b/m/"}}})
    };
    for (metrics, want) in [
        (
            json!([metric("m", "SUM(Items.COLOR)")]),
            "not in the ITEMS schema",
        ),
        (json!([metric("m", "SUM(Items.GENRES)")]), "not numeric"),
        (
            json!([metric("m", "AVG(Items.PRICE)")]),
            "Invalid metric expression",
        ),
        (
            json!([metric("m", "SUM(Actions.VALUE)")]),
            "Invalid metric expression",
        ),
        (
            json!([metric("m", "SAMPLECOUNT()"), metric("m", "SAMPLECOUNT()")]),
            "more than once",
        ),
        (
            json!([{"eventType": "click", "metricName": "m"}]),
            "metrics.1.member.expression",
        ),
    ] {
        let msg = h.err(CreateMetricAttribution, create("ma", metrics), InvalidInput);
        assert!(msg.contains(want), "{msg}");
    }
    let eleven: Vec<Value> = (0..11)
        .map(|i| metric(&format!("m{i}"), "SAMPLECOUNT()"))
        .collect();
    h.err(CreateMetricAttribution, create("ma", json!(eleven)), InvalidInput);
    h.err(
        CreateMetricAttribution,
        json!({"name": "ma", "datasetGroupArn": f.dsg, "metrics": []}),
        InvalidInput,
    );
    h.err(
        CreateMetricAttribution,
        json!({"name": "ma", "datasetGroupArn": f.dsg, "metrics": [], "metricsOutputConfig": {}}),
        InvalidInput,
    );
    let out = h.ok(
        CreateMetricAttribution,
        create(
            "ma",
            json!([
                metric("revenue", "SUM(Items.PRICE)"),
                metric("clicks", "SAMPLECOUNT()")
            ]),
        ),
    );
    let arn = Harness::arn("metric-attribution/ma");
    assert_eq!(out, json!({"metricAttributionArn": arn}));
    h.err(CreateMetricAttribution, create("ma2", json!([])), LimitExceeded);
    let d =
        h.ok(DescribeMetricAttribution, json!({"metricAttributionArn": arn}))["metricAttribution"].clone();
    assert_eq!(
        keys(&d),
        sorted(&[
            "name",
            "metricAttributionArn",
            "datasetGroupArn",
            "metricsOutputConfig",
            "status",
            "creationDateTime",
            "lastUpdatedDateTime"
        ])
    );
    h.err(
        UpdateMetricAttribution,
        json!({"metricAttributionArn": arn}),
        ResourceInUse,
    );
    h.wait(60);
    let l = h.ok(
        ListMetricAttributionMetrics,
        json!({"metricAttributionArn": arn, "maxResults": 1}),
    );
    assert_eq!(l["metrics"], json!([metric("revenue", "SUM(Items.PRICE)")]));
    assert!(l.get("nextToken").is_some());
    h.ok(
        UpdateMetricAttribution,
        json!({"metricAttributionArn": arn, "removeMetrics": ["clicks"], "addMetrics": [metric("views", "SAMPLECOUNT()")]}),
    );
    let l = h.ok(ListMetricAttributionMetrics, json!({"metricAttributionArn": arn}));
    let names: Vec<&str> = l["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["metricName"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["revenue", "views"]);
    h.err(
        UpdateMetricAttribution,
        json!({"metricAttributionArn": arn, "addMetrics": [metric("views", "SAMPLECOUNT()")]}),
        ResourceAlreadyExists,
    );
    h.err(
        UpdateMetricAttribution,
        json!({"metricAttributionArn": arn, "removeMetrics": ["nope"]}),
        InvalidInput,
    );
    h.err(UpdateMetricAttribution, json!({}), InvalidInput);
    h.err(
        UpdateMetricAttribution,
        json!({"metricAttributionArn": Harness::arn("metric-attribution/x")}),
        ResourceNotFound,
    );
    assert_eq!(
        h.ok(ListMetricAttributions, json!({"datasetGroupArn": f.dsg}))["metricAttributions"][0]["name"],
        "ma"
    );
    let msg = h.err(
        DeleteDatasetGroup,
        json!({"datasetGroupArn": f.dsg}),
        ResourceInUse,
    );
    assert!(msg.contains("metric attributions"));
    h.ok(DeleteMetricAttribution, json!({"metricAttributionArn": arn}));
    h.err(
        DescribeMetricAttribution,
        json!({"metricAttributionArn": arn}),
        ResourceNotFound,
    );
}

#[test]
fn tags() {
    let mut h = Harness::new();
    h.ok(
        CreateDatasetGroup,
        json!({"name": "g", "tags": [{"tagKey": "team", "tagValue": "ml"}]}),
    );
    let arn = Harness::arn("dataset-group/g");
    assert_eq!(
        h.ok(ListTagsForResource, json!({"resourceArn": arn})),
        json!({"tags": [{"tagKey": "team", "tagValue": "ml"}]})
    );
    h.ok(TagResource, json!({"resourceArn": arn, "tags": [{"tagKey": "env", "tagValue": "dev"}, {"tagKey": "team", "tagValue": "ai"}]}));
    assert_eq!(
        h.ok(ListTagsForResource, json!({"resourceArn": arn})),
        json!({"tags": [{"tagKey": "team", "tagValue": "ai"}, {"tagKey": "env", "tagValue": "dev"}]})
    );
    h.ok(
        UntagResource,
        json!({"resourceArn": arn, "tagKeys": ["team", "absent"]}),
    );
    assert_eq!(
        h.ok(ListTagsForResource, json!({"resourceArn": arn})),
        json!({"tags": [{"tagKey": "env", "tagValue": "dev"}]})
    );
    let many: Vec<Value> = (0..50)
        .map(|i| json!({"tagKey": format!("k{i}"), "tagValue": "v"}))
        .collect();
    h.err(
        TagResource,
        json!({"resourceArn": arn, "tags": many}),
        TooManyTags,
    );
    let keys51: Vec<String> = (0..51).map(|i| format!("k{i}")).collect();
    h.err(
        UntagResource,
        json!({"resourceArn": arn, "tagKeys": keys51}),
        TooManyTagKeys,
    );
    let missing = Harness::arn("dataset-group/none");
    h.err(
        TagResource,
        json!({"resourceArn": missing, "tags": []}),
        ResourceNotFound,
    );
    h.err(
        UntagResource,
        json!({"resourceArn": missing, "tagKeys": []}),
        ResourceNotFound,
    );
    h.err(
        ListTagsForResource,
        json!({"resourceArn": missing}),
        ResourceNotFound,
    );
    h.err(TagResource, json!({"resourceArn": arn}), InvalidInput);
    h.err(UntagResource, json!({"resourceArn": arn}), InvalidInput);
    h.err(
        UntagResource,
        json!({"resourceArn": arn, "tagKeys": [""]}),
        InvalidInput,
    );
    h.err(ListTagsForResource, json!({"resourceArn": "nope"}), InvalidInput);
    // Tags go with their resource.
    h.wait(60);
    h.ok(DeleteDatasetGroup, json!({"datasetGroupArn": arn}));
    h.wait(60);
    h.err(ListTagsForResource, json!({"resourceArn": arn}), ResourceNotFound);
    h.ok(CreateDatasetGroup, json!({"name": "g"}));
    assert_eq!(
        h.ok(ListTagsForResource, json!({"resourceArn": arn})),
        json!({"tags": []})
    );
}

#[test]
fn events_api() {
    let mut h = Harness::new();
    let f = h.full_group("g");
    let ev = |item: &str| {
        json!({"eventType": "click", "itemId": item, "sentAt": 1767225700, "eventValue": 2.5,
                                 "properties": r#"{"device": "phone"}"#, "impression": ["a", "b"], "recommendationId": "r1"})
    };
    h.ok(PutEvents, json!({"trackingId": f.tracking_id, "sessionId": "s", "userId": "u1", "eventList": [ev("i1"), ev("i2")]}));
    h.ok(
        PutEvents,
        json!({"trackingId": f.tracking_id, "sessionId": "anon", "eventList": [ev("i3")]}),
    );
    let store = &h.svc.only_store();
    let all: Vec<_> = super::interactions(store, &f.dsg).collect();
    assert_eq!(all.len(), 3);
    assert_eq!(all[0].user_id, "u1");
    assert_eq!(all[0].event_value, Some(2.5));
    assert_eq!(all[0].properties["DEVICE"], "phone");
    assert_eq!(all[0].impression, ["a", "b"]);
    assert_eq!(all[2].user_id, "anon");
    let bad: Vec<(Value, &str)> = vec![
        (
            json!({"trackingId": "nope", "sessionId": "s", "eventList": [ev("i1")]}),
            "does not match",
        ),
        (
            json!({"trackingId": f.tracking_id, "eventList": [ev("i1")]}),
            "sessionId",
        ),
        (
            json!({"trackingId": f.tracking_id, "sessionId": "s", "eventList": []}),
            "between 1 and 10",
        ),
        (
            json!({"trackingId": f.tracking_id, "sessionId": "s", "eventList": vec![ev("i"); 11]}),
            "between 1 and 10",
        ),
        (
            json!({"trackingId": f.tracking_id, "sessionId": "s", "eventList": [{"itemId": "i", "sentAt": 1}]}),
            "eventList.1.member.eventType",
        ),
        (
            json!({"trackingId": f.tracking_id, "sessionId": "s", "eventList": [{"eventType": "c", "itemId": "i"}]}),
            "sentAt",
        ),
        (
            json!({"trackingId": f.tracking_id, "sessionId": "s", "eventList": [{"eventType": "c", "sentAt": 1}]}),
            "itemId",
        ),
        (
            json!({"trackingId": f.tracking_id, "sessionId": "s", "eventList": [{"eventType": "c", "itemId": "i", "sentAt": "x"}]}),
            "epoch",
        ),
        (
            json!({"trackingId": f.tracking_id, "sessionId": "s", "eventList": [{"eventType": "c", "itemId": "i", "sentAt": 1, "properties": "{"}]}),
            "JSON",
        ),
        (
            json!({"trackingId": f.tracking_id, "sessionId": "s", "eventList": [{"eventType": "c", "itemId": "i", "sentAt": 1, "properties": r#"{"color": "x"}"#}]}),
            "does not match any field",
        ),
        (
            json!({"trackingId": f.tracking_id, "sessionId": "s", "eventList": [{"eventType": "c", "itemId": "i", "sentAt": 1, "recommendationId": "x".repeat(41)}]}),
            "between 1 and 40",
        ),
        (
            json!({"trackingId": f.tracking_id, "sessionId": "s", "eventList": [{"eventType": "c", "itemId": "i", "sentAt": 1, "metricAttribution": {}}]}),
            "eventAttributionSource",
        ),
    ];
    for (input, want) in bad {
        let msg = h.err(PutEvents, input.clone(), InvalidInput);
        assert!(msg.contains(want), "{input}: {msg}");
    }
    // Nothing of a rejected batch was kept.
    assert_eq!(super::interactions(&h.svc.only_store(), &f.dsg).count(), 3);

    h.ok(PutItems, json!({"datasetArn": f.items, "items": [{"itemId": "i1", "properties": r#"{"GENRES": "Comedy", "price": 3}"#}, {"itemId": "i9"}]}));
    h.ok(
        PutUsers,
        json!({"datasetArn": f.users, "users": [{"userId": "u1", "properties": r#"{"age": 30}"#}]}),
    );
    let store = &h.svc.only_store();
    let items: Vec<_> = super::items(store, &f.dsg).collect();
    assert_eq!(items.len(), 2);
    assert_eq!(items[0].1.properties["PRICE"], 3);
    assert_eq!(
        super::users(store, &f.dsg).next().unwrap().1.properties["AGE"],
        30
    );
    h.err(
        PutItems,
        json!({"datasetArn": Harness::arn("dataset/g/ITEMS2"), "items": [{"itemId": "x"}]}),
        ResourceNotFound,
    );
    h.err(
        PutItems,
        json!({"datasetArn": f.users, "items": [{"itemId": "x"}]}),
        InvalidInput,
    );
    h.err(
        PutItems,
        json!({"datasetArn": f.items, "items": [{"properties": "{}"}]}),
        InvalidInput,
    );
    h.err(
        PutItems,
        json!({"datasetArn": f.items, "items": [{"itemId": "x", "properties": r#"{"price": "cheap"}"#}]}),
        InvalidInput,
    );
    h.err(
        PutItems,
        json!({"datasetArn": f.items, "items": [{"itemId": "x", "properties": r#"{"itemId": "x"}"#}]}),
        InvalidInput,
    );
    h.err(
        PutUsers,
        json!({"datasetArn": f.users, "users": []}),
        InvalidInput,
    );
    h.err(
        PutActions,
        json!({"datasetArn": f.items, "actions": [{"actionId": "a"}]}),
        InvalidInput,
    );

    // Actions and action interactions.
    let sa = h.schema("sa", ACTIONS);
    let sai = h.schema("sai", ACTION_INTERACTIONS);
    let out = h.ok(
        CreateDataset,
        json!({"name": "a", "datasetGroupArn": f.dsg, "datasetType": "Actions", "schemaArn": sa}),
    );
    let actions = out["datasetArn"].as_str().unwrap().to_string();
    assert_eq!(actions, Harness::arn("dataset/g/ACTIONS"));
    h.err(
        PutActions,
        json!({"datasetArn": actions, "actions": [{"actionId": "a1"}]}),
        ResourceInUse,
    );
    let ai = json!({"trackingId": f.tracking_id, "actionInteractions": [
        {"actionId": "a1", "userId": "u1", "sessionId": "s", "timestamp": 1767225700, "eventType": "TAKEN"}]});
    h.err(PutActionInteractions, ai.clone(), ResourceNotFound);
    h.ok(CreateDataset, json!({"name": "ai", "datasetGroupArn": f.dsg, "datasetType": "Action_Interactions", "schemaArn": sai}));
    h.wait(60);
    h.ok(
        PutActions,
        json!({"datasetArn": actions, "actions": [{"actionId": "a1", "properties": r#"{"value": 1.5}"#}]}),
    );
    h.ok(PutActionInteractions, ai);
    let store = &h.svc.only_store();
    assert_eq!(super::actions(store, &f.dsg).count(), 1);
    assert_eq!(
        super::action_interactions(store, &f.dsg)
            .next()
            .unwrap()
            .event_type,
        "TAKEN"
    );
    h.err(
        PutActionInteractions,
        json!({"trackingId": "nope", "actionInteractions": [{"actionId": "a1", "sessionId": "s", "timestamp": 1, "eventType": "TAKEN"}]}),
        ResourceNotFound,
    );
    h.err(
        PutActionInteractions,
        json!({"trackingId": f.tracking_id, "actionInteractions": [{"actionId": "a1", "timestamp": 1, "eventType": "TAKEN"}]}),
        InvalidInput,
    );
    // A deleted tracker no longer accepts events; a tracker still being created is not ACTIVE.
    h.ok(DeleteEventTracker, json!({"eventTrackerArn": f.tracker}));
    h.err(
        PutEvents,
        json!({"trackingId": f.tracking_id, "sessionId": "s", "eventList": [ev("i1")]}),
        InvalidInput,
    );
    h.wait(60);
    let t = h.ok(
        CreateEventTracker,
        json!({"name": "t2", "datasetGroupArn": f.dsg}),
    );
    let tid = t["trackingId"].as_str().unwrap();
    assert_ne!(tid, f.tracking_id);
    let msg = h.err(
        PutEvents,
        json!({"trackingId": tid, "sessionId": "s", "eventList": [ev("i1")]}),
        InvalidInput,
    );
    assert!(msg.contains("not ACTIVE"));
    // The Interactions dataset reports the group's tracking id.
    h.wait(60);
    let d = h.ok(DescribeDataset, json!({"datasetArn": f.interactions}));
    assert_eq!(d["dataset"]["trackingId"], tid);
}

#[test]
fn deleting_a_dataset_forgets_its_records() {
    let mut h = Harness::new();
    let f = h.full_group("g");
    h.ok(
        PutItems,
        json!({"datasetArn": f.items, "items": [{"itemId": "i1"}]}),
    );
    h.ok(DeleteDataset, json!({"datasetArn": f.items}));
    h.wait(60);
    h.tick();
    assert_eq!(super::items(&h.svc.only_store(), &f.dsg).count(), 0);
}

#[test]
fn arn_members_are_validated_then_looked_up() {
    let mut h = Harness::new();
    let cases: &[(Operation, &str, &str)] = &[
        (DescribeDatasetGroup, "datasetGroupArn", "dataset-group/x"),
        (DeleteDatasetGroup, "datasetGroupArn", "dataset-group/x"),
        (DescribeSchema, "schemaArn", "schema/x"),
        (DeleteSchema, "schemaArn", "schema/x"),
        (DescribeDataset, "datasetArn", "dataset/x/ITEMS"),
        (DeleteDataset, "datasetArn", "dataset/x/ITEMS"),
        (
            DescribeDatasetImportJob,
            "datasetImportJobArn",
            "dataset-import-job/x",
        ),
        (
            DescribeDatasetExportJob,
            "datasetExportJobArn",
            "dataset-export-job/x",
        ),
        (
            DescribeDataDeletionJob,
            "dataDeletionJobArn",
            "data-deletion-job/x",
        ),
        (DescribeEventTracker, "eventTrackerArn", "event-tracker/0badf00d"),
        (DeleteEventTracker, "eventTrackerArn", "event-tracker/0badf00d"),
        (DescribeFilter, "filterArn", "filter/x"),
        (DeleteFilter, "filterArn", "filter/x"),
        (
            DescribeMetricAttribution,
            "metricAttributionArn",
            "metric-attribution/x",
        ),
        (
            DeleteMetricAttribution,
            "metricAttributionArn",
            "metric-attribution/x",
        ),
        (ListTagsForResource, "resourceArn", "dataset-group/x"),
    ];
    for (op, member, suffix) in cases {
        let msg = h.err(*op, json!({}), InvalidInput);
        assert!(
            msg.contains(&format!("Value null at '{member}'")),
            "{}: {msg}",
            op.name()
        );
        let msg = h.err(*op, json!({ *member: "arn:aws:s3:::bucket" }), InvalidInput);
        assert!(
            msg.contains("arn:([a-z\\d-]+):personalize:.*:.*:.+"),
            "{}: {msg}",
            op.name()
        );
        h.err(*op, json!({ *member: 7 }), InvalidInput);
        let arn = Harness::arn(suffix);
        let msg = h.err(*op, json!({ *member: arn }), ResourceNotFound);
        assert_eq!(msg, format!("Resource Arn {arn} does not exist."));
    }
    // List filters are validated too, and a filter that names nothing lists nothing.
    let lists: &[(Operation, &str, &str)] = &[
        (ListDatasets, "datasetGroupArn", "datasets"),
        (ListDatasetImportJobs, "datasetArn", "datasetImportJobs"),
        (ListDatasetExportJobs, "datasetArn", "datasetExportJobs"),
        (ListDataDeletionJobs, "datasetGroupArn", "dataDeletionJobs"),
        (ListEventTrackers, "datasetGroupArn", "eventTrackers"),
        (ListFilters, "datasetGroupArn", "Filters"),
        (ListMetricAttributions, "datasetGroupArn", "metricAttributions"),
        (ListMetricAttributionMetrics, "metricAttributionArn", "metrics"),
    ];
    for (op, member, key) in lists {
        h.err(*op, json!({ *member: "nope" }), InvalidInput);
        let out = h.ok(*op, json!({ *member: Harness::arn("dataset-group/x") }));
        assert_eq!(out, json!({ *key: [] }), "{}", op.name());
    }
}

#[test]
fn filters_and_attributions_go_active_with_time() {
    let mut h = Harness::new();
    let f = h.full_group("g");
    h.ok(
        CreateFilter,
        json!({"name": "f", "datasetGroupArn": f.dsg, "filterExpression": "EXCLUDE ItemID WHERE Items.PRICE > 10"}),
    );
    let arn = Harness::arn("filter/f");
    assert_eq!(
        h.ok(DescribeFilter, json!({"filterArn": arn}))["filter"]["status"],
        "CREATE PENDING"
    );
    h.wait(6);
    assert_eq!(
        h.ok(DescribeFilter, json!({"filterArn": arn}))["filter"]["status"],
        "CREATE IN_PROGRESS"
    );
    h.wait(30);
    let d = h.ok(DescribeFilter, json!({"filterArn": arn}))["filter"].clone();
    assert_eq!(d["status"], "ACTIVE");
    assert!(d["lastUpdatedDateTime"].as_f64().unwrap() > d["creationDateTime"].as_f64().unwrap());
    // Filters need an ACTIVE group.
    h.ok(CreateDatasetGroup, json!({"name": "young"}));
    let young = Harness::arn("dataset-group/young");
    h.err(
        CreateFilter,
        json!({"name": "f2", "datasetGroupArn": young, "filterExpression": "EXCLUDE ItemID WHERE Items.PRICE > 10"}),
        ResourceInUse,
    );
    h.err(
        CreateEventTracker,
        json!({"name": "t", "datasetGroupArn": young}),
        ResourceInUse,
    );
}

#[test]
fn models_side_resources_are_taggable_and_block_group_deletes() {
    let mut h = Harness::new();
    let f = h.full_group("g");
    let out = h.ok(
        CreateSolution,
        json!({"name": "sol", "datasetGroupArn": f.dsg, "recipeArn": "arn:aws:personalize:::recipe/aws-user-personalization",
               "tags": [{"tagKey": "a", "tagValue": "1"}]}),
    );
    let sol = out["solutionArn"].as_str().unwrap().to_string();
    assert_eq!(
        h.ok(ListTagsForResource, json!({"resourceArn": sol})),
        json!({"tags": [{"tagKey": "a", "tagValue": "1"}]})
    );
    h.ok(
        TagResource,
        json!({"resourceArn": sol, "tags": [{"tagKey": "b", "tagValue": "2"}]}),
    );
    h.ok(UntagResource, json!({"resourceArn": sol, "tagKeys": ["a"]}));
    assert_eq!(
        h.ok(ListTagsForResource, json!({"resourceArn": sol})),
        json!({"tags": [{"tagKey": "b", "tagValue": "2"}]})
    );
    for arn in [f.interactions, f.items, f.users] {
        h.ok(DeleteDataset, json!({"datasetArn": arn}));
    }
    h.ok(DeleteEventTracker, json!({"eventTrackerArn": f.tracker}));
    h.wait(60);
    let msg = h.err(
        DeleteDatasetGroup,
        json!({"datasetGroupArn": f.dsg}),
        ResourceInUse,
    );
    assert!(msg.contains("solutions or recommenders"), "{msg}");
    h.ok(DeleteSolution, json!({"solutionArn": sol}));
    h.wait(60);
    h.ok(DeleteDatasetGroup, json!({"datasetGroupArn": f.dsg}));
}

#[test]
fn paging_through_a_large_list_returns_every_resource_once_in_order() {
    let mut h = Harness::new();
    // Groups of equal creation times check that ties keep creation order across pages.
    for i in 0..250 {
        h.ok(CreateDatasetGroup, json!({ "name": format!("g{i}") }));
        if i % 3 == 0 {
            h.wait(1);
        }
    }
    let names = |page: &Value| -> Vec<String> {
        page["datasetGroups"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| g["name"].as_str().unwrap().to_string())
            .collect()
    };
    let expected: Vec<String> = (0..250).rev().map(|i| format!("g{i}")).collect();
    let mut got: Vec<String> = Vec::new();
    let mut tokens: Vec<String> = Vec::new();
    let mut body = json!({"maxResults": 7});
    loop {
        let page = h.ok(ListDatasetGroups, body.clone());
        let n = names(&page);
        assert!(n.len() <= 7);
        got.extend(n);
        match page.get("nextToken").and_then(Value::as_str) {
            Some(t) => {
                tokens.push(t.to_string());
                body = json!({"maxResults": 7, "nextToken": t});
            }
            None => break,
        }
    }
    assert_eq!(got, expected);
    assert_eq!(tokens.len(), 250 / 7);
    let mut seen = std::collections::HashSet::new();
    assert!(got.iter().all(|n| seen.insert(n.clone())));
    // Pages of the default size carry the same summaries, byte for byte, as pages of 7.
    let p1 = h.ok(ListDatasetGroups, json!({}));
    let tok = p1["nextToken"].as_str().unwrap().to_string();
    let p2 = h.ok(ListDatasetGroups, json!({"nextToken": tok}));
    let p3 = h.ok(
        ListDatasetGroups,
        json!({"nextToken": p2["nextToken"].as_str().unwrap()}),
    );
    assert!(p3.get("nextToken").is_none());
    let mut all: Vec<Value> = Vec::new();
    for p in [&p1, &p2, &p3] {
        all.extend(p["datasetGroups"].as_array().unwrap().iter().cloned());
    }
    let small: Vec<Value> = {
        let mut out = Vec::new();
        let mut body = json!({"maxResults": 7});
        loop {
            let page = h.ok(ListDatasetGroups, body.clone());
            out.extend(page["datasetGroups"].as_array().unwrap().iter().cloned());
            match page.get("nextToken").and_then(Value::as_str) {
                Some(t) => body = json!({"maxResults": 7, "nextToken": t}),
                None => break,
            }
        }
        out
    };
    assert_eq!(all, small);
    // A token is bound to its query: other operations and other filters reject it.
    let tok = &tokens[3];
    h.err(ListSchemas, json!({"nextToken": tok}), InvalidNextToken);
    h.err(ListDatasets, json!({"nextToken": tok}), InvalidNextToken);
    let arn = "arn:aws:personalize:us-east-1:123456789012:dataset-group/g1";
    h.err(
        ListFilters,
        json!({"datasetGroupArn": arn, "nextToken": tok}),
        InvalidNextToken,
    );
    // The same query (whatever maxResults) accepts it.
    h.ok(ListDatasetGroups, json!({"maxResults": 50, "nextToken": tok}));
}

#[test]
fn read_only_calls_between_scans_still_see_time_driven_changes() {
    // Read-only calls skip the scan for finished deletes until the earliest is due; this
    // checks the skipped scan runs exactly when a delete ends, with only reads in between.
    let mut h = Harness::new();
    let arn = h.ok(CreateDatasetGroup, json!({"name": "g"}))["datasetGroupArn"]
        .as_str()
        .unwrap()
        .to_string();
    h.wait(60);
    h.tick();
    h.ok(DeleteDatasetGroup, json!({"datasetGroupArn": arn}));
    let status = |h: &mut Harness| {
        h.ok(ListDatasetGroups, json!({}))["datasetGroups"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| g["status"].as_str().unwrap().to_string())
            .collect::<Vec<_>>()
    };
    // Dataset groups show only `DELETE PENDING`, for 15 seconds.
    assert_eq!(status(&mut h), ["DELETE PENDING"]);
    h.wait(14);
    assert_eq!(status(&mut h), ["DELETE PENDING"]);
    h.wait(1);
    assert!(status(&mut h).is_empty());
    h.err(
        DescribeDatasetGroup,
        json!({"datasetGroupArn": arn}),
        ResourceNotFound,
    );
    // A new group after a quiet period is listed at once: creating resets the cached deadline.
    h.wait(3600);
    h.tick();
    h.ok(CreateDatasetGroup, json!({"name": "g2"}));
    assert_eq!(status(&mut h), ["CREATE PENDING"]);
}
