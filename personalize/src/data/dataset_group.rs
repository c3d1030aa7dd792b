//! Dataset groups: CreateDatasetGroup, DescribeDatasetGroup, ListDatasetGroups, DeleteDatasetGroup.

use serde_json::{Map, Value, json};

use super::{Meta, already_exists, durations, not_found, ts};
use crate::Store;
use crate::common::{Cx, Lifecycle, Members, check_enum, check_kms_key_arn, check_name, check_role_arn};
use crate::error::{Error, Result};

/// Dataset groups per account and region (the service quota).
pub(crate) const MAX_DATASET_GROUPS: usize = 500;

/// The domains a dataset group or schema can have.
pub(crate) const DOMAINS: &[&str] = &["ECOMMERCE", "VIDEO_ON_DEMAND"];

/// A dataset group.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub(crate) struct DatasetGroup {
    /// ARN, name, lifecycle.
    pub(crate) meta: Meta,
    /// `ECOMMERCE` or `VIDEO_ON_DEMAND` for a Domain dataset group.
    pub(crate) domain: Option<String>,
    /// The role for the KMS key.
    pub(crate) role_arn: Option<String>,
    /// The KMS key.
    pub(crate) kms_key_arn: Option<String>,
}

impl DatasetGroup {
    /// The group name.
    pub(crate) fn name(&self) -> &str {
        &self.meta.name
    }

    pub(crate) fn full(&self, cx: &Cx<'_>) -> Value {
        let mut o = Map::new();
        o.insert("name".into(), json!(self.meta.name));
        o.insert("datasetGroupArn".into(), json!(self.meta.arn));
        o.insert("status".into(), json!(self.meta.status(cx)));
        if let Some(r) = &self.role_arn {
            o.insert("roleArn".into(), json!(r));
        }
        if let Some(k) = &self.kms_key_arn {
            o.insert("kmsKeyArn".into(), json!(k));
        }
        o.insert("creationDateTime".into(), ts(self.meta.created));
        o.insert("lastUpdatedDateTime".into(), ts(self.meta.last_updated(cx)));
        if let Some(d) = &self.domain {
            o.insert("domain".into(), json!(d));
        }
        Value::Object(o)
    }

    pub(crate) fn summary(&self, cx: &Cx<'_>) -> Value {
        let mut o = Map::new();
        o.insert("name".into(), json!(self.meta.name));
        o.insert("datasetGroupArn".into(), json!(self.meta.arn));
        o.insert("status".into(), json!(self.meta.status(cx)));
        o.insert("creationDateTime".into(), ts(self.meta.created));
        o.insert("lastUpdatedDateTime".into(), ts(self.meta.last_updated(cx)));
        if let Some(d) = &self.domain {
            o.insert("domain".into(), json!(d));
        }
        Value::Object(o)
    }
}

pub(super) fn create(store: &mut Store, cx: &Cx<'_>, m: &Members<'_>) -> Result<Value> {
    let name = m.str("name")?;
    check_name("name", name)?;
    let role_arn = m.opt_str("roleArn")?;
    if let Some(r) = role_arn {
        check_role_arn("roleArn", r)?;
    }
    let kms = m.opt_str("kmsKeyArn")?;
    if let Some(k) = kms {
        check_kms_key_arn("kmsKeyArn", k)?;
    }
    if kms.is_some() && role_arn.is_none() {
        return Err(Error::invalid(
            "A roleArn is required when you specify a kmsKeyArn.",
        ));
    }
    let domain = m.opt_str("domain")?;
    if let Some(d) = domain {
        check_enum("domain", d, DOMAINS)?;
    }
    let tags = super::check_tags(m)?;
    let arn = cx.arn("dataset-group", name);
    if store.data.dataset_groups.contains_key(&arn) {
        return Err(already_exists(&arn));
    }
    if store.data.dataset_groups.len() >= MAX_DATASET_GROUPS {
        return Err(Error::limit(format!(
            "You have reached the limit of {MAX_DATASET_GROUPS} dataset groups in this region."
        )));
    }
    let create = Lifecycle::create(cx.ctx.now, durations::DATASET_GROUP);
    let meta = Meta::new(&mut store.data.seq, cx, arn.clone(), name, create);
    store.data.dataset_groups.insert(
        arn.clone(),
        DatasetGroup {
            meta,
            domain: domain.map(str::to_string),
            role_arn: role_arn.map(str::to_string),
            kms_key_arn: kms.map(str::to_string),
        },
    );
    super::register_tags(store, &arn, tags);
    let mut out = Map::new();
    out.insert("datasetGroupArn".into(), json!(arn));
    if let Some(d) = domain {
        out.insert("domain".into(), json!(d));
    }
    Ok(Value::Object(out))
}

pub(super) fn delete(store: &mut Store, cx: &Cx<'_>, m: &Members<'_>) -> Result<Value> {
    let arn = m.arn("datasetGroupArn")?;
    let g = store.data.dataset_groups.get(arn).ok_or_else(|| not_found(arn))?;
    if g.meta.deleting() {
        return Err(Error::in_use(format!(
            "Dataset group {arn} is already being deleted."
        )));
    }
    if !g.meta.is_active(cx) {
        return Err(super::not_active(arn, g.meta.status(cx)));
    }
    let d = &store.data;
    let mut blockers: Vec<&str> = Vec::new();
    if d.datasets.values().any(|x| x.dataset_group_arn == arn) {
        blockers.push("datasets");
    }
    if d.event_trackers.values().any(|x| x.dataset_group_arn == arn) {
        blockers.push("event trackers");
    }
    if d.filters.values().any(|x| x.dataset_group_arn == arn) {
        blockers.push("filters");
    }
    if d.metric_attributions.values().any(|x| x.dataset_group_arn == arn) {
        blockers.push("metric attributions");
    }
    if !crate::models::dataset_group_dependents(store, arn).is_empty() {
        blockers.push("solutions or recommenders");
    }
    if !blockers.is_empty() {
        return Err(Error::in_use(format!(
            "Cannot delete dataset group {arn} because it still has {}. Delete them first.",
            blockers.join(", ")
        )));
    }
    if let Some(g) = store.data.dataset_groups.get_mut(arn) {
        // The model documents only `DELETE PENDING` for dataset groups.
        g.meta.delete = Some(Lifecycle {
            started: cx.ctx.now,
            steps: vec![
                ("DELETE PENDING", crate::resource::DELETE_TOTAL),
                ("DELETED", 0.0),
            ],
        });
    }
    Ok(json!({}))
}
