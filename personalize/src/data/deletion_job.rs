//! Data deletion jobs: CreateDataDeletionJob, DescribeDataDeletionJob, ListDataDeletionJobs.
//!
//! The CSV of user ids the job names cannot be read (no S3), so like import jobs the ids come
//! from the location string (`synth::deletion_users`). When the job reaches `COMPLETED`, those
//! users and all their interactions leave the group's records, and `numDeleted` counts the
//! rows removed.

use serde_json::{Map, Value, json};

use super::import_job::data_location;
use super::{Meta, already_exists, durations, synth, ts};
use crate::Store;
use crate::common::{Cx, Lifecycle, Members, check_name, check_role_arn};
use crate::error::Result;

/// A data deletion job.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub(crate) struct DeletionJob {
    /// ARN, job name, lifecycle (`PENDING`, `IN_PROGRESS`, `COMPLETED`).
    pub(crate) meta: Meta,
    /// The group whose users are deleted.
    pub(crate) dataset_group_arn: String,
    /// `dataSource.dataLocation`.
    pub(crate) data_location: String,
    /// The role.
    pub(crate) role_arn: String,
    /// Rows removed, once completed.
    pub(crate) num_deleted: Option<u64>,
}

impl DeletionJob {
    pub(crate) fn full(&self, cx: &Cx<'_>) -> Value {
        let mut o = Map::new();
        o.insert("jobName".into(), json!(self.meta.name));
        o.insert("dataDeletionJobArn".into(), json!(self.meta.arn));
        o.insert("datasetGroupArn".into(), json!(self.dataset_group_arn));
        o.insert("dataSource".into(), json!({ "dataLocation": self.data_location }));
        o.insert("roleArn".into(), json!(self.role_arn));
        o.insert("status".into(), json!(self.meta.status(cx)));
        if let Some(n) = self.num_deleted {
            o.insert("numDeleted".into(), json!(n));
        }
        o.insert("creationDateTime".into(), ts(self.meta.created));
        o.insert("lastUpdatedDateTime".into(), ts(self.meta.last_updated(cx)));
        Value::Object(o)
    }

    pub(crate) fn summary(&self, cx: &Cx<'_>) -> Value {
        json!({
            "dataDeletionJobArn": self.meta.arn,
            "datasetGroupArn": self.dataset_group_arn,
            "jobName": self.meta.name,
            "status": self.meta.status(cx),
            "creationDateTime": ts(self.meta.created),
            "lastUpdatedDateTime": ts(self.meta.last_updated(cx)),
        })
    }
}

pub(super) fn create(store: &mut Store, cx: &Cx<'_>, m: &Members<'_>) -> Result<Value> {
    let name = m.str("jobName")?;
    check_name("jobName", name)?;
    let dsg = m.arn("datasetGroupArn")?;
    let location = data_location(m)?;
    let role = m.str("roleArn")?;
    check_role_arn("roleArn", role)?;
    let tags = super::check_tags(m)?;
    super::dataset_group_is_active(store, cx, dsg)?;
    let arn = cx.arn("data-deletion-job", name);
    if store.data.deletion_jobs.contains_key(&arn) {
        return Err(already_exists(&arn));
    }
    let lc = Lifecycle {
        started: cx.ctx.now,
        steps: vec![
            ("PENDING", durations::PENDING),
            ("IN_PROGRESS", durations::DELETION),
            ("COMPLETED", 0.0),
        ],
    };
    let meta = Meta::new(&mut store.data.seq, cx, arn.clone(), name, lc);
    store.data.deletion_jobs.insert(
        arn.clone(),
        DeletionJob {
            meta,
            dataset_group_arn: dsg.to_string(),
            data_location: location.to_string(),
            role_arn: role.to_string(),
            num_deleted: None,
        },
    );
    super::register_tags(store, &arn, tags);
    Ok(json!({ "dataDeletionJobArn": arn }))
}

/// Deletes the users of every job that has completed since the last call.
pub(super) fn apply_finished(st: &mut super::State, cx: &Cx<'_>) {
    for job in st.deletion_jobs.values_mut() {
        if job.num_deleted.is_some() || !job.meta.is_active(cx) {
            continue;
        }
        let users = synth::deletion_users(&job.data_location);
        let removed = st
            .records
            .get_mut(&job.dataset_group_arn)
            .map_or(0, |r| r.delete_users(&users));
        job.num_deleted = Some(removed);
    }
}
