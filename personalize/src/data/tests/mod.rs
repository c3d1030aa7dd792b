//! Behaviour tests of the data side through `Personalize::call`: what spans every resource here,
//! the rest by topic in the modules below.

mod events;
mod filters;
mod groups;
mod jobs;

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
