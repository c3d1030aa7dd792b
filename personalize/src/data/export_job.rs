//! Dataset export jobs: CreateDatasetExportJob, DescribeDatasetExportJob, ListDatasetExportJobs.
//!
//! There is no S3 to write to; the job goes through its lifecycle and reports the destination.

use serde_json::{Map, Value, json};

use super::import_job::new_job;
use super::{Meta, durations, ts};
use crate::Store;
use crate::common::{Cx, Lifecycle, Members, check_enum, check_name, check_role_arn, check_s3_data_config};
use crate::error::{Error, Result};

/// A dataset export job.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub(crate) struct ExportJob {
    /// ARN, job name, lifecycle.
    pub(crate) meta: Meta,
    /// The dataset exported.
    pub(crate) dataset_arn: String,
    /// `BULK`, `PUT` or `ALL`.
    pub(crate) ingestion_mode: String,
    /// The role.
    pub(crate) role_arn: String,
    /// `jobOutput` as given (validated).
    pub(crate) job_output: Value,
}

impl ExportJob {
    pub(crate) fn full(&self, cx: &Cx<'_>) -> Value {
        let mut o = Map::new();
        o.insert("jobName".into(), json!(self.meta.name));
        o.insert("datasetExportJobArn".into(), json!(self.meta.arn));
        o.insert("datasetArn".into(), json!(self.dataset_arn));
        o.insert("ingestionMode".into(), json!(self.ingestion_mode));
        o.insert("roleArn".into(), json!(self.role_arn));
        o.insert("status".into(), json!(self.meta.status(cx)));
        o.insert("jobOutput".into(), self.job_output.clone());
        o.insert("creationDateTime".into(), ts(self.meta.created));
        o.insert("lastUpdatedDateTime".into(), ts(self.meta.last_updated(cx)));
        Value::Object(o)
    }

    pub(crate) fn summary(&self, cx: &Cx<'_>) -> Value {
        json!({
            "datasetExportJobArn": self.meta.arn,
            "jobName": self.meta.name,
            "status": self.meta.status(cx),
            "creationDateTime": ts(self.meta.created),
            "lastUpdatedDateTime": ts(self.meta.last_updated(cx)),
        })
    }
}

/// Validates a `jobOutput`-style member holding `s3DataDestination`.
pub(crate) fn job_output(m: &Members<'_>, member: &str) -> Result<Value> {
    let o = m.opt_obj(member)?.ok_or_else(|| {
        Error::invalid(format!(
            "1 validation error detected: Value null at '{member}' failed to satisfy constraint: Member must not be null"
        ))
    })?;
    let dest = o.get("s3DataDestination").filter(|v| !v.is_null()).ok_or_else(|| {
        Error::invalid(format!(
            "1 validation error detected: Value null at '{member}.s3DataDestination' failed to satisfy constraint: Member must not be null"
        ))
    })?;
    check_s3_data_config(&format!("{member}.s3DataDestination"), dest)?;
    Ok(json!({ "s3DataDestination": dest }))
}

pub(super) fn create(store: &mut Store, cx: &Cx<'_>, m: &Members<'_>) -> Result<Value> {
    let name = m.str("jobName")?;
    check_name("jobName", name)?;
    let dataset_arn = m.arn("datasetArn")?;
    let mode = m.opt_str("ingestionMode")?.unwrap_or("PUT");
    check_enum("ingestionMode", mode, &["BULK", "PUT", "ALL"])?;
    let role = m.str("roleArn")?;
    check_role_arn("roleArn", role)?;
    let output = job_output(m, "jobOutput")?;
    let tags = super::check_tags(m)?;
    let arn = new_job(store, cx, dataset_arn, ("dataset-export-job", name), |d, a| {
        d.export_jobs.contains_key(a)
    })?;
    let lc = Lifecycle::create(cx.ctx.now, durations::IMPORT);
    let meta = Meta::new(&mut store.data.seq, cx, arn.clone(), name, lc);
    store.data.export_jobs.insert(
        arn.clone(),
        ExportJob {
            meta,
            dataset_arn: dataset_arn.to_string(),
            ingestion_mode: mode.to_string(),
            role_arn: role.to_string(),
            job_output: output,
        },
    );
    super::register_tags(store, &arn, tags);
    Ok(json!({ "datasetExportJobArn": arn }))
}
