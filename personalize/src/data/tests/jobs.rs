//! Data jobs and event trackers: imports, exports, deletions.

use super::*;

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
    assert!(crate::data::dataset_group_has_interactions(store, &f.dsg));
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
    let gone = crate::data::synth::deletion_users("s3://b/users.csv");
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
