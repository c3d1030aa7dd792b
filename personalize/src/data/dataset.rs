//! Datasets: CreateDataset, DescribeDataset, ListDatasets, UpdateDataset, DeleteDataset, and the
//! schema requirements of each dataset type.

use serde_json::{Map, Value, json};

use super::schema::{Field, INTERACTION_COLUMNS, Schema};
use super::{Meta, already_exists, durations, not_active, not_found, ts};
use crate::Store;
use crate::common::{Cx, Lifecycle, Members, check_len, check_name};
use crate::error::{Error, Result};

/// The five dataset types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
pub(crate) enum DatasetType {
    /// Item interactions.
    Interactions,
    /// Items.
    Items,
    /// Users.
    Users,
    /// Actions.
    Actions,
    /// Action interactions.
    ActionInteractions,
}

impl DatasetType {
    /// Parses `datasetType` case-insensitively, as the service does.
    pub(crate) fn parse(s: &str) -> Option<DatasetType> {
        Some(match s.to_ascii_uppercase().as_str() {
            "INTERACTIONS" => DatasetType::Interactions,
            "ITEMS" => DatasetType::Items,
            "USERS" => DatasetType::Users,
            "ACTIONS" => DatasetType::Actions,
            "ACTION_INTERACTIONS" => DatasetType::ActionInteractions,
            _ => return None,
        })
    }

    /// The upper-case form used in ARNs and returned as `datasetType`.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            DatasetType::Interactions => "INTERACTIONS",
            DatasetType::Items => "ITEMS",
            DatasetType::Users => "USERS",
            DatasetType::Actions => "ACTIONS",
            DatasetType::ActionInteractions => "ACTION_INTERACTIONS",
        }
    }
}

/// A pending or finished schema replacement (UpdateDataset).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub(crate) struct DatasetUpdate {
    /// The new schema.
    pub(crate) schema_arn: String,
    /// Its lifecycle; the new schema takes effect when it is `ACTIVE`.
    pub(crate) lifecycle: Lifecycle,
}

/// A dataset.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub(crate) struct Dataset {
    /// ARN (`dataset/<group name>/<TYPE>`), name, lifecycle.
    pub(crate) meta: Meta,
    /// The owning group.
    pub(crate) dataset_group_arn: String,
    /// The type.
    pub(crate) dataset_type: DatasetType,
    /// The schema given at creation.
    pub(crate) schema_arn: String,
    /// The latest UpdateDataset, if any.
    pub(crate) update: Option<DatasetUpdate>,
}

impl Dataset {
    /// The schema in effect at the call time.
    pub(crate) fn current_schema_arn(&self, cx: &Cx<'_>) -> &str {
        match &self.update {
            Some(u) if u.lifecycle.finished_at(cx.config) <= cx.ctx.now => &u.schema_arn,
            _ => &self.schema_arn,
        }
    }

    /// Whether the dataset refers to `schema_arn` (now or through a pending update).
    pub(crate) fn uses_schema(&self, schema_arn: &str) -> bool {
        self.schema_arn == schema_arn || self.update.as_ref().is_some_and(|u| u.schema_arn == schema_arn)
    }

    pub(crate) fn full(&self, store: &Store, cx: &Cx<'_>) -> Value {
        let mut o = Map::new();
        o.insert("name".into(), json!(self.meta.name));
        o.insert("datasetArn".into(), json!(self.meta.arn));
        o.insert("datasetGroupArn".into(), json!(self.dataset_group_arn));
        o.insert("datasetType".into(), json!(self.dataset_type.as_str()));
        o.insert("schemaArn".into(), json!(self.current_schema_arn(cx)));
        o.insert("status".into(), json!(self.meta.status(cx)));
        o.insert("creationDateTime".into(), ts(self.meta.created));
        let mut last = self.meta.last_updated(cx);
        if let Some(u) = &self.update {
            let since = u.lifecycle.status_since(cx.ctx.now, cx.config);
            if since > last {
                last = since;
            }
            o.insert(
                "latestDatasetUpdate".into(),
                json!({
                    "schemaArn": u.schema_arn,
                    "status": u.lifecycle.status(cx.ctx.now, cx.config),
                    "creationDateTime": ts(u.lifecycle.started),
                    "lastUpdatedDateTime": ts(since),
                }),
            );
        }
        o.insert("lastUpdatedDateTime".into(), ts(last));
        if self.dataset_type == DatasetType::Interactions
            && let Some(t) = store
                .data
                .event_trackers
                .values()
                .find(|t| t.dataset_group_arn == self.dataset_group_arn)
        {
            o.insert("trackingId".into(), json!(t.tracking_id));
        }
        Value::Object(o)
    }

    pub(crate) fn summary(&self, cx: &Cx<'_>) -> Value {
        json!({
            "name": self.meta.name,
            "datasetArn": self.meta.arn,
            "datasetType": self.dataset_type.as_str(),
            "status": self.meta.status(cx),
            "creationDateTime": ts(self.meta.created),
            "lastUpdatedDateTime": ts(self.meta.last_updated(cx)),
        })
    }
}

/// The schema in effect for a dataset.
pub(crate) fn dataset_schema<'a>(store: &'a Store, cx: &Cx<'_>, dataset: &Dataset) -> Option<&'a Schema> {
    store.data.schemas.get(dataset.current_schema_arn(cx))
}

fn schema_error(detail: impl std::fmt::Display) -> Error {
    Error::invalid(format!("The schema is not valid for this dataset type. {detail}"))
}

/// Checks that a schema suits a dataset type (and the group's domain), as the dataset-type
/// pages of the developer guide require.
pub(crate) fn check_schema_for_type(schema: &Schema, ty: DatasetType, domain: Option<&str>) -> Result<()> {
    let need = |name: &str, ty_name: &str| -> Result<&Field> {
        let f = schema
            .field(name)
            .ok_or_else(|| schema_error(format!("The required field {name} is missing.")))?;
        if !f.has_type(ty_name) {
            return Err(schema_error(format!(
                "The field {name} must be of type {ty_name}."
            )));
        }
        Ok(f)
    };
    let not_null = |f: &Field| -> Result<()> {
        if f.nullable() {
            return Err(schema_error(format!("The field {} cannot be null.", f.name)));
        }
        Ok(())
    };
    let metadata = |reserved: &[&str]| -> usize {
        schema
            .fields
            .iter()
            .filter(|f| !reserved.iter().any(|r| f.name.eq_ignore_ascii_case(r)))
            .count()
    };
    // An Items, Users or Actions schema needs a metadata field besides its key, and may have
    // at most `max`.
    let some_metadata = |key: &str, kind: &str, max: Option<usize>| -> Result<()> {
        let extra = metadata(&[key]);
        if extra == 0 {
            return Err(schema_error(format!(
                "{kind} schema needs at least one metadata field."
            )));
        }
        match max {
            Some(max) if extra > max => Err(schema_error(format!(
                "{kind} schema can have at most {max} metadata fields; it has {extra}."
            ))),
            _ => Ok(()),
        }
    };
    match ty {
        DatasetType::Interactions => {
            not_null(need("USER_ID", "string")?)?;
            not_null(need("ITEM_ID", "string")?)?;
            not_null(need("TIMESTAMP", "long")?)?;
            if domain.is_some() {
                need("EVENT_TYPE", "string")?;
            } else if let Some(f) = schema.field("EVENT_TYPE")
                && !f.has_type("string")
            {
                return Err(schema_error("The field EVENT_TYPE must be of type string."));
            }
            if let Some(f) = schema.field("EVENT_VALUE")
                && !(f.has_type("float") || f.has_type("double") || f.has_type("int") || f.has_type("long"))
            {
                return Err(schema_error("The field EVENT_VALUE must be numeric."));
            }
            let extra = metadata(INTERACTION_COLUMNS);
            if extra > 5 {
                return Err(schema_error(format!(
                    "An Interactions schema can have at most 5 metadata fields besides the reserved ones; it has {extra}."
                )));
            }
        }
        DatasetType::Items => {
            not_null(need("ITEM_ID", "string")?)?;
            if let Some(f) = schema.field("CREATION_TIMESTAMP")
                && !f.has_type("long")
            {
                return Err(schema_error("The field CREATION_TIMESTAMP must be of type long."));
            }
            some_metadata("ITEM_ID", "An Items", Some(50))?;
        }
        DatasetType::Users => {
            not_null(need("USER_ID", "string")?)?;
            some_metadata("USER_ID", "A Users", Some(25))?;
        }
        DatasetType::Actions => {
            not_null(need("ACTION_ID", "string")?)?;
            some_metadata("ACTION_ID", "An Actions", None)?;
        }
        DatasetType::ActionInteractions => {
            not_null(need("USER_ID", "string")?)?;
            not_null(need("ACTION_ID", "string")?)?;
            not_null(need("TIMESTAMP", "long")?)?;
            not_null(need("EVENT_TYPE", "string")?)?;
        }
    }
    Ok(())
}

fn check_domain(schema: &Schema, group_domain: Option<&str>) -> Result<()> {
    if schema.domain.as_deref() != group_domain {
        return Err(Error::invalid(format!(
            "The schema domain ({}) does not match the dataset group domain ({}).",
            schema.domain.as_deref().unwrap_or("none"),
            group_domain.unwrap_or("none")
        )));
    }
    Ok(())
}

fn parse_type(m: &Members<'_>) -> Result<DatasetType> {
    let t = m.str("datasetType")?;
    check_len("datasetType", t, 0, 256)?;
    let pattern_ok = !t.is_empty() && t.bytes().all(|b| b.is_ascii_alphabetic() || b == b'_');
    if !pattern_ok {
        return Err(Error::invalid(format!(
            "1 validation error detected: Value '{t}' at 'datasetType' failed to satisfy constraint: Member must satisfy regular expression pattern: ^[A-Za-z_]+$"
        )));
    }
    DatasetType::parse(t).ok_or_else(|| {
        Error::invalid(format!(
            "Invalid dataset type: {t}. Valid types are Interactions, Items, Users, Actions and Action_Interactions."
        ))
    })
}

pub(super) fn create(store: &mut Store, cx: &Cx<'_>, m: &Members<'_>) -> Result<Value> {
    let name = m.str("name")?;
    check_name("name", name)?;
    let schema_arn = m.arn("schemaArn")?;
    let dsg_arn = m.arn("datasetGroupArn")?;
    let ty = parse_type(m)?;
    let tags = super::check_tags(m)?;
    let group = super::dataset_group_is_active(store, cx, dsg_arn)?;
    let schema = store
        .data
        .schemas
        .get(schema_arn)
        .ok_or_else(|| not_found(schema_arn))?;
    let arn = cx.arn("dataset", &format!("{}/{}", group.name(), ty.as_str()));
    if store.data.datasets.contains_key(&arn) {
        return Err(already_exists(&arn));
    }
    check_domain(schema, group.domain.as_deref())?;
    check_schema_for_type(schema, ty, group.domain.as_deref())?;
    let lc = Lifecycle::create(cx.ctx.now, durations::DATASET);
    let meta = Meta::new(&mut store.data.seq, cx, arn.clone(), name, lc);
    store.data.datasets.insert(
        arn.clone(),
        Dataset {
            meta,
            dataset_group_arn: dsg_arn.to_string(),
            dataset_type: ty,
            schema_arn: schema_arn.to_string(),
            update: None,
        },
    );
    super::register_tags(store, &arn, tags);
    Ok(json!({ "datasetArn": arn }))
}

pub(super) fn update(store: &mut Store, cx: &Cx<'_>, m: &Members<'_>) -> Result<Value> {
    let arn = m.arn("datasetArn")?;
    let schema_arn = m.arn("schemaArn")?;
    let d = store.data.datasets.get(arn).ok_or_else(|| not_found(arn))?;
    let new = store
        .data
        .schemas
        .get(schema_arn)
        .ok_or_else(|| not_found(schema_arn))?;
    if !d.meta.is_active(cx) {
        return Err(not_active(arn, d.meta.status(cx)));
    }
    if let Some(u) = &d.update
        && u.lifecycle.finished_at(cx.config) > cx.ctx.now
    {
        return Err(Error::in_use(format!(
            "Dataset {arn} has an update in progress. Wait for it to finish."
        )));
    }
    let group_domain = store
        .data
        .dataset_groups
        .get(&d.dataset_group_arn)
        .and_then(|g| g.domain.clone());
    check_domain(new, group_domain.as_deref())?;
    check_schema_for_type(new, d.dataset_type, group_domain.as_deref())?;
    if let Some(old) = store.data.schemas.get(d.current_schema_arn(cx)) {
        for f in &old.fields {
            match new.field(&f.name) {
                Some(nf) if nf.types == f.types => {}
                _ => {
                    return Err(Error::invalid(format!(
                        "The new schema must keep every field of the current schema with the same type; field {} is missing or changed.",
                        f.name
                    )));
                }
            }
        }
    }
    let current = d.current_schema_arn(cx).to_string();
    if let Some(d) = store.data.datasets.get_mut(arn) {
        d.schema_arn = current;
        d.update = Some(DatasetUpdate {
            schema_arn: schema_arn.to_string(),
            lifecycle: Lifecycle::create(cx.ctx.now, durations::DATASET),
        });
    }
    Ok(json!({ "datasetArn": arn }))
}

pub(super) fn delete(store: &mut Store, cx: &Cx<'_>, m: &Members<'_>) -> Result<Value> {
    let arn = m.arn("datasetArn")?;
    let d = store.data.datasets.get(arn).ok_or_else(|| not_found(arn))?;
    if d.meta.deleting() {
        return Err(Error::in_use(format!("Dataset {arn} is already being deleted.")));
    }
    if !d.meta.is_active(cx) {
        return Err(not_active(arn, d.meta.status(cx)));
    }
    if let Some(j) = store
        .data
        .import_jobs
        .values()
        .find(|j| j.dataset_arn == arn && !j.meta.is_active(cx))
    {
        return Err(Error::in_use(format!(
            "Cannot delete dataset {arn} while dataset import job {} is {}.",
            j.meta.arn,
            j.meta.status(cx)
        )));
    }
    if let Some(d) = store.data.datasets.get_mut(arn) {
        d.meta.start_delete(cx);
    }
    Ok(json!({}))
}
