//! Dataset import jobs: CreateDatasetImportJob, DescribeDatasetImportJob, ListDatasetImportJobs.
//!
//! When a job reaches `ACTIVE` its rows are loaded into the dataset group's records (see
//! `synth` for where the rows come from). `FULL` replaces the rows earlier bulk imports put
//! in that dataset and keeps the ones that came through the Events API; `INCREMENTAL` adds.

use serde_json::{Map, Value, json};

use super::{Meta, already_exists, durations, not_active, not_found, synth, ts};
use crate::Store;
use crate::common::{Cx, Lifecycle, Members, check_enum, check_name, check_role_arn, check_s3_location};
use crate::error::{Error, Result};

/// Jobs that may be pending or in progress at once per account and region.
pub(crate) const MAX_RUNNING_JOBS: usize = 5;

/// A dataset import job.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub(crate) struct ImportJob {
    /// ARN, job name, lifecycle.
    pub(crate) meta: Meta,
    /// The dataset it loads.
    pub(crate) dataset_arn: String,
    /// `dataSource.dataLocation`.
    pub(crate) data_location: String,
    /// The role.
    pub(crate) role_arn: Option<String>,
    /// `FULL` or `INCREMENTAL`.
    pub(crate) import_mode: String,
    /// `publishAttributionMetricsToS3`.
    pub(crate) publish_attribution_metrics_to_s3: Option<bool>,
    /// Whether the rows were loaded.
    pub(crate) applied: bool,
}

/// The `dataSource` member: an object with `dataLocation`, an S3 location.
pub(crate) fn data_location<'a>(m: &Members<'a>) -> Result<&'a str> {
    let src = m.opt_obj("dataSource")?.ok_or_else(|| {
        Error::invalid(
            "1 validation error detected: Value null at 'dataSource' failed to satisfy constraint: Member must not be null",
        )
    })?;
    let loc = match src.get("dataLocation") {
        Some(Value::String(s)) => s.as_str(),
        Some(Value::Null) | None => {
            return Err(Error::invalid(
                "1 validation error detected: Value null at 'dataSource.dataLocation' failed to satisfy constraint: Member must not be null",
            ));
        }
        Some(_) => {
            return Err(Error::invalid(
                "Value at 'dataSource.dataLocation' must be a string.",
            ));
        }
    };
    check_s3_location("dataSource.dataLocation", loc)?;
    Ok(loc)
}

/// What an import or export job needs before it is made: its dataset `ACTIVE`, its ARN
/// (`kind` and `name`) free among the jobs `taken` looks in, and fewer than the quota of jobs of
/// either kind pending or in progress. Returns the new job's ARN.
pub(crate) fn new_job(
    store: &Store,
    cx: &Cx<'_>,
    dataset_arn: &str,
    (kind, name): (&str, &str),
    taken: fn(&super::State, &str) -> bool,
) -> Result<String> {
    let d = &store.data;
    let dataset = d
        .datasets
        .get(dataset_arn)
        .ok_or_else(|| not_found(dataset_arn))?;
    if !dataset.meta.is_active(cx) {
        return Err(not_active(dataset_arn, dataset.meta.status(cx)));
    }
    let arn = cx.arn(kind, name);
    if taken(d, &arn) {
        return Err(already_exists(&arn));
    }
    let running = d.import_jobs.values().filter(|j| !j.meta.is_active(cx)).count()
        + d.export_jobs.values().filter(|j| !j.meta.is_active(cx)).count();
    if running >= MAX_RUNNING_JOBS {
        return Err(Error::limit(format!(
            "More than {MAX_RUNNING_JOBS} resources with PENDING or IN_PROGRESS status."
        )));
    }
    Ok(arn)
}

impl ImportJob {
    pub(crate) fn full(&self, cx: &Cx<'_>) -> Value {
        let mut o = Map::new();
        o.insert("jobName".into(), json!(self.meta.name));
        o.insert("datasetImportJobArn".into(), json!(self.meta.arn));
        o.insert("datasetArn".into(), json!(self.dataset_arn));
        o.insert("dataSource".into(), json!({ "dataLocation": self.data_location }));
        if let Some(r) = &self.role_arn {
            o.insert("roleArn".into(), json!(r));
        }
        o.insert("status".into(), json!(self.meta.status(cx)));
        o.insert("creationDateTime".into(), ts(self.meta.created));
        o.insert("lastUpdatedDateTime".into(), ts(self.meta.last_updated(cx)));
        o.insert("importMode".into(), json!(self.import_mode));
        if let Some(p) = self.publish_attribution_metrics_to_s3 {
            o.insert("publishAttributionMetricsToS3".into(), json!(p));
        }
        Value::Object(o)
    }

    pub(crate) fn summary(&self, cx: &Cx<'_>) -> Value {
        json!({
            "datasetImportJobArn": self.meta.arn,
            "jobName": self.meta.name,
            "status": self.meta.status(cx),
            "creationDateTime": ts(self.meta.created),
            "lastUpdatedDateTime": ts(self.meta.last_updated(cx)),
            "importMode": self.import_mode,
        })
    }
}

pub(super) fn create(store: &mut Store, cx: &Cx<'_>, m: &Members<'_>) -> Result<Value> {
    let name = m.str("jobName")?;
    check_name("jobName", name)?;
    let dataset_arn = m.arn("datasetArn")?;
    let location = data_location(m)?;
    let role = m.opt_str("roleArn")?;
    if let Some(r) = role {
        check_role_arn("roleArn", r)?;
    }
    let mode = m.opt_str("importMode")?.unwrap_or("FULL");
    check_enum("importMode", mode, &["FULL", "INCREMENTAL"])?;
    let publish = m.opt_bool("publishAttributionMetricsToS3")?;
    let tags = super::check_tags(m)?;
    let arn = new_job(store, cx, dataset_arn, ("dataset-import-job", name), |d, a| {
        d.import_jobs.contains_key(a)
    })?;
    let lc = Lifecycle::create(cx.ctx.now, durations::IMPORT);
    let meta = Meta::new(&mut store.data.seq, cx, arn.clone(), name, lc);
    store.data.import_jobs.insert(
        arn.clone(),
        ImportJob {
            meta,
            dataset_arn: dataset_arn.to_string(),
            data_location: location.to_string(),
            role_arn: role.map(str::to_string),
            import_mode: mode.to_string(),
            publish_attribution_metrics_to_s3: publish,
            applied: false,
        },
    );
    super::register_tags(store, &arn, tags);
    Ok(json!({ "datasetImportJobArn": arn }))
}

/// Loads the rows of every job that has reached `ACTIVE` since the last call, oldest first.
pub(super) fn apply_finished(st: &mut super::State, cx: &Cx<'_>) {
    let mut due: Vec<(u64, String)> = st
        .import_jobs
        .values()
        .filter(|j| !j.applied && j.meta.is_active(cx))
        .map(|j| (j.meta.seq, j.meta.arn.clone()))
        .collect();
    due.sort();
    for (_, arn) in due {
        let Some(job) = st.import_jobs.get_mut(&arn) else {
            continue;
        };
        job.applied = true;
        let job = job.clone();
        let Some(ds) = st.datasets.get(&job.dataset_arn) else {
            continue;
        };
        if ds.meta.deleting() {
            continue;
        }
        let Some(schema) = st.schemas.get(ds.current_schema_arn(cx)) else {
            continue;
        };
        let domain = st
            .dataset_groups
            .get(&ds.dataset_group_arn)
            .and_then(|g| g.domain.clone());
        let rows = synth::rows(&job.data_location, ds.dataset_type, schema, domain.as_deref());
        let ty = ds.dataset_type;
        let records = st.records.entry(ds.dataset_group_arn.clone()).or_default();
        if job.import_mode == "FULL" {
            records.clear_bulk(ty);
        }
        records.load(ty, rows);
    }
}
