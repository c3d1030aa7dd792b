//! The data side of Personalize: dataset groups, schemas, datasets, import/export/deletion jobs,
//! event trackers, filters, metric attributions, tags, and the Events API.
//!
//! # Read API for the models side
//!
//! The models side (`crate::models`) reads data-side state only through these functions and
//! the `pub(crate)` fields of the returned types. All of them see resources that exist,
//! including ones whose delete is still in progress (check [`Meta::status`] when that matters).
//!
//! - [`dataset_group`]`(store, arn) -> Option<&DatasetGroup>`: name, domain, role and KMS key,
//!   status via `group.meta.status(cx)`.
//! - [`dataset_group_is_active`]`(store, cx, arn) -> Result<&DatasetGroup>`: the usual
//!   precondition of a create call: `ResourceNotFoundException` if missing,
//!   `ResourceInUseException` if not `ACTIVE`, with AWS-style messages.
//! - [`datasets_of`]`(store, dsg_arn)`: the group's datasets with their type
//!   ([`DatasetType`]) and effective schema ([`dataset_schema`]).
//! - [`dataset_group_has_interactions`]`(store, dsg_arn) -> bool`: whether the group has an
//!   Interactions dataset holding at least one interaction.
//! - [`records`]`(store, dsg_arn) -> Option<&Records>` and the shortcuts [`interactions`],
//!   [`items`], [`users`], [`actions`], [`action_interactions`]: everything the emulator has
//!   seen for a group through Put* calls and completed import jobs. Properties are parsed JSON
//!   objects keyed by schema column name in upper snake case (`GENRES`, `PRICE`).
//! - [`filter`]`(store, arn) -> Option<&Filter>`; [`Filter::prepare`] binds a filter to a
//!   request (user, current item, `filterValues`) and answers `keeps(candidate_id)`.
//! - [`check_tags`]`(m) -> Result<Vec<Tag>>` validates a Create call's `tags` member before any
//!   state changes, then [`register_tags`]`(store, arn, tags)` stores them and
//!   [`forget_tags`]`(store, arn)` drops them when the resource goes away.
//! - [`resource_exists`]`(store, arn) -> bool` for data-side ARNs. Tagging calls also need the
//!   models side's ARNs: it provides `crate::models::resource_exists(store, arn) -> bool`, and
//!   `crate::models::dataset_group_dependents(store, dsg_arn) -> Vec<String>` (ARNs of
//!   solutions and recommenders in the group) so `DeleteDatasetGroup` can refuse while they exist.
//!
//! # Lifecycles and deletes
//!
//! Statuses derive from [`Lifecycle`]s and the call time, so nothing runs in the background.
//! Dataset groups, datasets and event trackers, whose model documents `DELETE PENDING` (and
//! `DELETE IN_PROGRESS`), go through a short delete lifecycle and disappear when it ends;
//! schemas, filters and metric attributions disappear at once. [`advance`] runs at the start of
//! every call to purge finished deletes and apply finished import and deletion jobs; after a
//! scan, [`next_change`] says when the next one is due, and calls that only read skip the scan
//! until then (see `Personalize::call`).

mod dataset;
mod dataset_group;
mod deletion_job;
mod event_tracker;
mod events;
mod export_job;
mod filter;
mod import_job;
mod metric_attribution;
mod schema;
mod synth;
mod tags;

use std::collections::{BTreeMap, HashMap};

use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use crate::common::{Cx, Members, NextChange, epoch};
use crate::error::{Error, ErrorKind, Result};
use crate::{Operation, Store};

pub(crate) use crate::resource::Meta;
pub(crate) use dataset::{Dataset, DatasetType, dataset_schema};
pub(crate) use dataset_group::DatasetGroup;
pub(crate) use deletion_job::DeletionJob;
pub(crate) use event_tracker::EventTracker;
pub(crate) use event_tracker::by_tracking_id as event_tracker_by_tracking_id;
pub(crate) use events::{ActionInteraction, Entity, Interaction, Records};
pub(crate) use export_job::ExportJob;
pub(crate) use filter::{Filter, FilterRequest, PreparedFilter, Target as FilterTarget};
pub(crate) use import_job::ImportJob;
pub(crate) use metric_attribution::MetricAttribution;
pub(crate) use schema::{Schema, full as schema_full, summary as schema_summary};
pub(crate) use tags::{Tag, check_tags, forget_tags, register_tags};

/// Simulated real-world durations in seconds (scaled by `Config::time_scale`).
pub(crate) mod durations {
    /// `CREATE PENDING` of every resource (from `Lifecycle::create`).
    pub(crate) const PENDING: f64 = 5.0;
    /// `CREATE IN_PROGRESS` of a dataset group.
    pub(crate) const DATASET_GROUP: f64 = 30.0;
    /// `CREATE IN_PROGRESS` of a dataset or a dataset update.
    pub(crate) const DATASET: f64 = 20.0;
    /// `CREATE IN_PROGRESS` of an event tracker.
    pub(crate) const EVENT_TRACKER: f64 = 20.0;
    /// `CREATE IN_PROGRESS` of a filter or metric attribution.
    pub(crate) const FILTER: f64 = 20.0;
    /// `CREATE IN_PROGRESS` of an import or export job.
    pub(crate) const IMPORT: f64 = 300.0;
    /// `IN_PROGRESS` of a data deletion job.
    pub(crate) const DELETION: f64 = 600.0;
}

/// State of the data side within one (account, region).
#[derive(Debug, Default, Clone, serde::Serialize, serde::Deserialize)]
pub(crate) struct State {
    seq: u64,
    pub(crate) dataset_groups: BTreeMap<String, DatasetGroup>,
    /// Hashed, not ordered: CreateSchema checks the ARN among up to 500 that share a long
    /// prefix, and lists order by creation (`Meta::sort_key`), never by ARN.
    pub(crate) schemas: HashMap<String, Schema>,
    pub(crate) datasets: BTreeMap<String, Dataset>,
    pub(crate) import_jobs: BTreeMap<String, ImportJob>,
    pub(crate) export_jobs: BTreeMap<String, ExportJob>,
    pub(crate) deletion_jobs: BTreeMap<String, DeletionJob>,
    pub(crate) event_trackers: BTreeMap<String, EventTracker>,
    pub(crate) filters: BTreeMap<String, Filter>,
    pub(crate) metric_attributions: BTreeMap<String, MetricAttribution>,
    /// Tags of every taggable resource of both families, by ARN, in insertion order.
    pub(crate) tags: BTreeMap<String, Vec<Tag>>,
    /// Users, items, actions and interactions, by dataset group ARN.
    pub(crate) records: BTreeMap<String, Records>,
}

/// A deterministic hex id of `len` characters for a new resource (event tracker ids, UUIDs).
fn hex_id(cx: &Cx<'_>, seq: u64, salt: &str, len: usize) -> String {
    let digest = Sha256::digest(format!("{}|{}|{seq}|{salt}", cx.ctx.account, cx.ctx.region).as_bytes());
    let mut s = hex::encode(digest);
    s.truncate(len);
    s
}

/// A deterministic version-4-shaped UUID (tracking ids).
fn uuid(cx: &Cx<'_>, seq: u64, salt: &str) -> String {
    let h = hex_id(cx, seq, salt, 32);
    let (a, rest) = h.split_at(8);
    let (b, rest) = rest.split_at(4);
    let (c, rest) = rest.split_at(4);
    let (d, e) = rest.split_at(4);
    let c = format!("4{}", c.get(1..).unwrap_or_default());
    let d = format!("a{}", d.get(1..).unwrap_or_default());
    format!("{a}-{b}-{c}-{d}-{e}")
}

/// `ResourceNotFoundException` for an ARN, as the service words it.
pub(crate) fn not_found(arn: &str) -> Error {
    Error::not_found(format!("Resource Arn {arn} does not exist."))
}

/// `ResourceAlreadyExistsException` for an ARN, as the service words it.
pub(crate) fn already_exists(arn: &str) -> Error {
    Error::already_exists(format!("Another resource with Arn {arn} already exists."))
}

/// `ResourceInUseException` when a resource is not `ACTIVE`.
pub(crate) fn not_active(arn: &str, status: &str) -> Error {
    Error::in_use(format!(
        "The resource {arn} must be in ACTIVE state to perform this operation. Current status: {status}."
    ))
}

/// A timestamp as the API returns it.
fn ts(t: OffsetDateTime) -> Value {
    json!(epoch(t))
}

/// Purges finished deletes and applies finished import and deletion jobs. Runs at the start of
/// every call (both families) so state only changes inside calls, driven by the call's time.
pub(crate) fn advance(store: &mut Store, cx: &Cx<'_>) {
    import_job::apply_finished(&mut store.data, cx);
    deletion_job::apply_finished(&mut store.data, cx);
    let st = &mut store.data;
    let gone_datasets: Vec<String> = st
        .datasets
        .values()
        .filter(|d| d.meta.gone(cx))
        .map(|d| d.meta.arn.clone())
        .collect();
    for arn in gone_datasets {
        if let Some(d) = st.datasets.remove(&arn) {
            if let Some(r) = st.records.get_mut(&d.dataset_group_arn) {
                r.clear_type(d.dataset_type);
            }
            // Jobs on a deleted dataset go with it, and so do their tags.
            let mut jobs: Vec<String> = Vec::new();
            jobs.extend(
                st.import_jobs
                    .values()
                    .filter(|j| j.dataset_arn == arn)
                    .map(|j| j.meta.arn.clone()),
            );
            jobs.extend(
                st.export_jobs
                    .values()
                    .filter(|j| j.dataset_arn == arn)
                    .map(|j| j.meta.arn.clone()),
            );
            for j in &jobs {
                st.import_jobs.remove(j);
                st.export_jobs.remove(j);
                st.tags.remove(j);
            }
            st.tags.remove(&arn);
        }
    }
    let gone_trackers: Vec<String> = st
        .event_trackers
        .values()
        .filter(|t| t.meta.gone(cx))
        .map(|t| t.meta.arn.clone())
        .collect();
    for arn in gone_trackers {
        st.event_trackers.remove(&arn);
        st.tags.remove(&arn);
    }
    let gone_groups: Vec<String> = st
        .dataset_groups
        .values()
        .filter(|g| g.meta.gone(cx))
        .map(|g| g.meta.arn.clone())
        .collect();
    for arn in gone_groups {
        st.dataset_groups.remove(&arn);
        st.records.remove(&arn);
        let jobs: Vec<String> = st
            .deletion_jobs
            .values()
            .filter(|j| j.dataset_group_arn == arn)
            .map(|j| j.meta.arn.clone())
            .collect();
        for j in &jobs {
            st.deletion_jobs.remove(j);
            st.tags.remove(j);
        }
        st.tags.remove(&arn);
    }
}

/// When the next change [`advance`] makes is due, as seen right after it ran: every
/// unapplied import or deletion job's end and every delete in progress.
pub(crate) fn next_change(store: &Store, cx: &Cx<'_>) -> NextChange {
    let st = &store.data;
    let now = cx.ctx.now;
    let mut next = NextChange::Never;
    let jobs = st
        .import_jobs
        .values()
        .filter(|j| !j.applied)
        .map(|j| &j.meta)
        .chain(
            st.deletion_jobs
                .values()
                .filter(|j| j.num_deleted.is_none())
                .map(|j| &j.meta),
        );
    for meta in jobs {
        next = next.with(meta.phase.finished_at(cx.config), now);
    }
    let deletes = st
        .datasets
        .values()
        .map(|d| &d.meta)
        .chain(st.event_trackers.values().map(|t| &t.meta))
        .chain(st.dataset_groups.values().map(|g| &g.meta))
        .filter_map(|m| m.delete.as_ref());
    for d in deletes {
        next = next.with(d.finished_at(cx.config), now);
    }
    next
}

/// Runs one data-side operation (after `Personalize::call` ran both sides' `advance`).
pub(crate) fn handle(store: &mut Store, cx: &Cx<'_>, op: Operation, input: &Value) -> Result<Value> {
    let m = Members::new(input);
    match op {
        Operation::CreateDatasetGroup => dataset_group::create(store, cx, &m),
        Operation::DeleteDatasetGroup => dataset_group::delete(store, cx, &m),
        Operation::CreateSchema => schema::create(store, cx, &m),
        Operation::DeleteSchema => schema::delete(store, cx, &m),
        Operation::CreateDataset => dataset::create(store, cx, &m),
        Operation::UpdateDataset => dataset::update(store, cx, &m),
        Operation::DeleteDataset => dataset::delete(store, cx, &m),
        Operation::CreateDatasetImportJob => import_job::create(store, cx, &m),
        Operation::CreateDatasetExportJob => export_job::create(store, cx, &m),
        Operation::CreateDataDeletionJob => deletion_job::create(store, cx, &m),
        Operation::CreateEventTracker => event_tracker::create(store, cx, &m),
        Operation::DeleteEventTracker => event_tracker::delete(store, cx, &m),
        Operation::CreateFilter => filter::create(store, cx, &m),
        Operation::DeleteFilter => filter::delete(store, &m),
        Operation::CreateMetricAttribution => metric_attribution::create(store, cx, &m),
        Operation::ListMetricAttributionMetrics => metric_attribution::list_metrics(store, &m),
        Operation::UpdateMetricAttribution => metric_attribution::update(store, cx, &m),
        Operation::DeleteMetricAttribution => metric_attribution::delete(store, &m),
        Operation::TagResource => tags::tag_resource(store, &m),
        Operation::UntagResource => tags::untag_resource(store, &m),
        Operation::ListTagsForResource => tags::list_tags(store, &m),
        Operation::PutEvents => events::put_events(store, cx, &m),
        Operation::PutUsers => events::put_entities(store, cx, &m, DatasetType::Users),
        Operation::PutItems => events::put_entities(store, cx, &m, DatasetType::Items),
        Operation::PutActions => events::put_entities(store, cx, &m, DatasetType::Actions),
        Operation::PutActionInteractions => events::put_action_interactions(store, cx, &m),
        _ => Err(Error::new(
            ErrorKind::NotImplemented,
            format!("{} is not a data-side operation.", op.name()),
        )),
    }
}

// ---------------------------------------------------------------------------------------------
// Read API for the models side (see the module documentation).
// ---------------------------------------------------------------------------------------------

/// The dataset group with this ARN, if it exists (also while it is being deleted).
pub(crate) fn dataset_group<'a>(store: &'a Store, arn: &str) -> Option<&'a DatasetGroup> {
    store.data.dataset_groups.get(arn)
}

/// The dataset group, required to exist and be `ACTIVE` (the precondition of create calls).
pub(crate) fn dataset_group_is_active<'a>(
    store: &'a Store,
    cx: &Cx<'_>,
    arn: &str,
) -> Result<&'a DatasetGroup> {
    let g = dataset_group(store, arn).ok_or_else(|| not_found(arn))?;
    if !g.meta.is_active(cx) {
        return Err(not_active(arn, g.meta.status(cx)));
    }
    Ok(g)
}

/// The datasets of a group.
pub(crate) fn datasets_of<'a>(store: &'a Store, dsg_arn: &'a str) -> impl Iterator<Item = &'a Dataset> + 'a {
    store
        .data
        .datasets
        .values()
        .filter(move |d| d.dataset_group_arn == dsg_arn)
}

/// Whether the group has an Interactions dataset with at least one interaction in it.
pub(crate) fn dataset_group_has_interactions(store: &Store, dsg_arn: &str) -> bool {
    datasets_of(store, dsg_arn).any(|d| d.dataset_type == DatasetType::Interactions)
        && records(store, dsg_arn).is_some_and(|r| !r.interactions.is_empty())
}

/// Everything seen for a group (Put* calls and completed imports).
pub(crate) fn records<'a>(store: &'a Store, dsg_arn: &str) -> Option<&'a Records> {
    store.data.records.get(dsg_arn)
}

/// The item interactions of a group, oldest first.
pub(crate) fn interactions<'a>(
    store: &'a Store,
    dsg_arn: &str,
) -> impl Iterator<Item = &'a Interaction> + 'a {
    records(store, dsg_arn)
        .into_iter()
        .flat_map(|r| r.interactions.iter())
}

/// The action interactions of a group, oldest first.
pub(crate) fn action_interactions<'a>(
    store: &'a Store,
    dsg_arn: &str,
) -> impl Iterator<Item = &'a ActionInteraction> + 'a {
    records(store, dsg_arn)
        .into_iter()
        .flat_map(|r| r.action_interactions.iter())
}

/// The items of a group, by id.
pub(crate) fn items<'a>(
    store: &'a Store,
    dsg_arn: &str,
) -> impl Iterator<Item = (&'a String, &'a Entity)> + 'a {
    records(store, dsg_arn).into_iter().flat_map(|r| r.items.iter())
}

/// The users of a group, by id.
#[cfg_attr(
    not(test),
    allow(
        dead_code,
        reason = "part of the read API; the models side does not rank by user metadata, so only tests call it"
    )
)]
pub(crate) fn users<'a>(
    store: &'a Store,
    dsg_arn: &str,
) -> impl Iterator<Item = (&'a String, &'a Entity)> + 'a {
    records(store, dsg_arn).into_iter().flat_map(|r| r.users.iter())
}

/// The actions of a group, by id.
pub(crate) fn actions<'a>(
    store: &'a Store,
    dsg_arn: &str,
) -> impl Iterator<Item = (&'a String, &'a Entity)> + 'a {
    records(store, dsg_arn).into_iter().flat_map(|r| r.actions.iter())
}

/// The filter with this ARN.
pub(crate) fn filter<'a>(store: &'a Store, arn: &str) -> Option<&'a Filter> {
    store.data.filters.get(arn)
}

/// Whether a data-side resource with this ARN exists (any status).
pub(crate) fn resource_exists(store: &Store, arn: &str) -> bool {
    let d = &store.data;
    d.dataset_groups.contains_key(arn)
        || d.datasets.contains_key(arn)
        || d.schemas.contains_key(arn)
        || d.import_jobs.contains_key(arn)
        || d.export_jobs.contains_key(arn)
        || d.deletion_jobs.contains_key(arn)
        || d.event_trackers.contains_key(arn)
        || d.filters.contains_key(arn)
        || d.metric_attributions.contains_key(arn)
}

#[cfg(test)]
pub(crate) mod testing;

#[cfg(test)]
mod tests;
