//! Filters, metric attributions and tags.

use super::*;

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
