//! A spool that cannot be written (a full disk, injected): calls that would change state are
//! refused before they run, read-only calls keep answering, and every state change that took
//! effect has its record.

use std::sync::Arc;

use cloudtrail::delivery::SpoolFaults;
use emulator::config::FileConfig;
use emulator::sigv4::Signer;

use crate::common::*;

const CT: &str = "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101";

#[tokio::test]
async fn a_full_disk_refuses_state_changes_before_they_take_effect() {
    let faults = Arc::new(SpoolFaults::default());
    let switch = faults.clone();
    let mut file = FileConfig::embedded_default();
    file.personalize.time_scale = 0.0;
    let h = Harness::start_runtime(tempfile::tempdir().unwrap(), file, move |c| {
        c.spool_faults = Some(switch);
    })
    .await;
    let before = h
        .personalize(&alice(), "CreateDatasetGroup", r#"{"name":"before"}"#)
        .await;
    assert_eq!(before.status, 200);
    let arn = before.json()["datasetGroupArn"].as_str().unwrap().to_owned();

    faults.set_full(true);
    // The disk is not known to be full yet: this call runs, and the spool's reserve keeps its
    // record.
    let first = h
        .personalize(&alice(), "CreateDatasetGroup", r#"{"name":"first"}"#)
        .await;
    assert_eq!(first.status, 200, "{:?}", first.body);
    let schema = r#"{"name":"s","schema":"{\"type\":\"record\",\"name\":\"Interactions\",\"namespace\":\"com.amazonaws.personalize.schema\",\"fields\":[{\"name\":\"USER_ID\",\"type\":\"string\"},{\"name\":\"ITEM_ID\",\"type\":\"string\"},{\"name\":\"TIMESTAMP\",\"type\":\"long\"}],\"version\":\"1.0\"}"}"#;
    let delete = format!(r#"{{"datasetGroupArn":"{arn}"}}"#);
    for (op, body) in [
        ("CreateDatasetGroup", r#"{"name":"during"}"#),
        ("CreateSchema", schema),
        ("DeleteDatasetGroup", delete.as_str()),
    ] {
        let r = h.personalize(&alice(), op, body).await;
        assert_eq!(
            (r.status.as_u16(), r.error_type().as_str()),
            (503, "ServiceUnavailableException"),
            "{op}: {:?}",
            r.body
        );
    }
    // Reads keep answering, and show that nothing changed.
    let listed = h.personalize(&alice(), "ListDatasetGroups", "{}").await;
    assert_eq!(listed.status, 200);
    let names: Vec<_> = listed.json()["datasetGroups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(names, ["first", "before"], "newest first");
    let ct = Signer::new(ALICE.0, ALICE.1, "us-east-1", "cloudtrail");
    let status = h
        .json(
            &ct,
            &format!("{CT}.GetTrailStatus"),
            r#"{"Name":"management-events"}"#,
        )
        .await;
    assert_eq!(status.status, 200, "{:?}", status.body);
    let health = h.health().await;
    assert_eq!(health["delivery"]["refusedChanges"], 3);
    // The space the reserve gave back also holds the records of the refusals and the reads.
    assert_eq!(health["delivery"]["unrecordedCalls"], 0);
    assert!(
        health["delivery"]["spoolError"]
            .as_str()
            .is_some_and(|e| e.contains("No space left")),
        "{health}"
    );

    // Space again: the same call now runs once, as a first attempt would have.
    faults.set_full(false);
    let retried = h
        .personalize(&alice(), "CreateDatasetGroup", r#"{"name":"during"}"#)
        .await;
    assert_eq!(retried.status, 200, "{:?}", retried.body);
    let health = h.health().await;
    assert!(health["delivery"]["spoolError"].is_null(), "{health}");

    // Every state change that took effect is in the logs.
    let records = h.flushed_records().await;
    let created: Vec<_> = records
        .iter()
        .filter(|r| r["eventName"] == "CreateDatasetGroup" && r["errorCode"].is_null())
        .map(|r| r["requestParameters"]["name"].as_str().unwrap().to_owned())
        .collect();
    let mut created = created;
    created.sort();
    assert_eq!(created, ["before", "during", "first"], "{records:#?}");
    let mut refused: Vec<_> = records
        .iter()
        .filter(|r| r["errorCode"] == "ServiceUnavailableException")
        .map(|r| r["eventName"].as_str().unwrap())
        .collect();
    refused.sort_unstable();
    assert_eq!(
        refused,
        ["CreateDatasetGroup", "CreateSchema", "DeleteDatasetGroup"]
    );
}
