//! Dataset groups, schemas and datasets: lifecycles, validation, quotas, deletion.

use super::*;

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
    assert_eq!(crate::data::items(&h.svc.only_store(), &f.dsg).count(), 0);
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
