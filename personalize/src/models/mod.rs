//! The models side of Personalize: solutions, solution versions, campaigns, recommenders,
//! batch inference and batch segment jobs, the built-in recipes, algorithms and feature
//! transformations, and the Runtime API.
//!
//! # API for the data side
//!
//! - [`resource_exists`]`(store, arn) -> bool`: whether a models-side resource with this ARN
//!   exists (any status), for the tagging calls.
//! - [`dataset_group_dependents`]`(store, dsg_arn) -> Vec<String>`: the solutions and
//!   recommenders of a dataset group, so `DeleteDatasetGroup` can refuse while any exist.
//!
//! # Lifecycles
//!
//! Statuses derive from [`Lifecycle`]s and the call time (see docs/personalize-behaviour.md,
//! "Models side"); [`advance`] runs at the start of every call (from `Personalize::call`) to purge finished
//! deletes and start automatic training.

mod batch_inference;
mod batch_segment;
mod campaign;
pub(crate) mod catalog;
mod recommender;
mod runtime;
mod scoring;
mod solution;
mod solution_version;

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};
use time::OffsetDateTime;

use crate::common::{Cx, Members, NextChange, check_enum, epoch, list_page};
use crate::error::{Error, ErrorKind, Result};
use crate::{Operation, Store};

pub(crate) use crate::resource::Meta;
pub(crate) use batch_inference::BatchInferenceJob;
pub(crate) use batch_segment::BatchSegmentJob;
pub(crate) use campaign::Campaign;
pub(crate) use recommender::Recommender;
pub(crate) use solution::Solution;
pub(crate) use solution_version::SolutionVersion;

/// Simulated real-world durations in seconds (scaled by `Config::time_scale`).
pub(crate) mod durations {
    /// `CREATE PENDING` of every resource (from `Lifecycle::create`).
    pub(crate) const PENDING: f64 = 5.0;
    /// `CREATE IN_PROGRESS` of a solution or a solution update.
    pub(crate) const SOLUTION: f64 = 10.0;
    /// `CREATE IN_PROGRESS` of a FULL training.
    pub(crate) const TRAINING: f64 = 1200.0;
    /// `CREATE IN_PROGRESS` of a FULL training with HPO (three times longer).
    pub(crate) const TRAINING_HPO: f64 = 3600.0;
    /// `CREATE IN_PROGRESS` of an UPDATE training.
    pub(crate) const TRAINING_UPDATE: f64 = 300.0;
    /// `CREATE IN_PROGRESS` before a training without data fails.
    pub(crate) const TRAINING_FAIL: f64 = 60.0;
    /// `CREATE STOPPING`.
    pub(crate) const STOPPING: f64 = 60.0;
    /// `CREATE IN_PROGRESS` of a campaign or a campaign update.
    pub(crate) const CAMPAIGN: f64 = 300.0;
    /// `CREATE IN_PROGRESS` of a recommender (it trains).
    pub(crate) const RECOMMENDER: f64 = 1800.0;
    /// `STOP IN_PROGRESS` of a recommender.
    pub(crate) const RECOMMENDER_STOP: f64 = 60.0;
    /// `START IN_PROGRESS` of a recommender.
    pub(crate) const RECOMMENDER_START: f64 = 300.0;
    /// `CREATE IN_PROGRESS` of a recommender update.
    pub(crate) const RECOMMENDER_UPDATE: f64 = 300.0;
    /// `CREATE IN_PROGRESS` of a batch inference or batch segment job.
    pub(crate) const BATCH_JOB: f64 = 600.0;
    /// Delay before automatic training makes the first version of a solution (one hour).
    pub(crate) const AUTO_TRAINING_FIRST: f64 = 3600.0;
}

/// Quotas that answer `LimitExceededException`.
pub(crate) mod limits {
    /// Solutions per dataset group.
    pub(crate) const SOLUTIONS_PER_GROUP: usize = 10;
    /// Solution versions pending or in progress per account and region.
    pub(crate) const TRAININGS_IN_FLIGHT: usize = 20;
    /// Campaigns per dataset group.
    pub(crate) const CAMPAIGNS_PER_GROUP: usize = 5;
    /// Recommenders per dataset group.
    pub(crate) const RECOMMENDERS_PER_GROUP: usize = 5;
    /// Batch inference (or batch segment) jobs pending or in progress per account and region.
    pub(crate) const BATCH_JOBS_IN_FLIGHT: usize = 5;
}

/// State of the models side within one (account, region).
#[derive(Debug, Default, Clone, serde::Serialize, serde::Deserialize)]
pub(crate) struct State {
    seq: u64,
    pub(crate) solutions: BTreeMap<String, Solution>,
    pub(crate) versions: BTreeMap<String, SolutionVersion>,
    pub(crate) campaigns: BTreeMap<String, Campaign>,
    pub(crate) recommenders: BTreeMap<String, Recommender>,
    pub(crate) batch_inference_jobs: BTreeMap<String, BatchInferenceJob>,
    pub(crate) batch_segment_jobs: BTreeMap<String, BatchSegmentJob>,
}

/// Runs one models-side operation.
pub(crate) fn handle(store: &mut Store, cx: &Cx<'_>, op: Operation, input: &Value) -> Result<Value> {
    // `Personalize::call` already ran both sides' `advance`.
    let m = Members::new(input);
    match op {
        Operation::DescribeRecipe => catalog::describe_recipe(input),
        Operation::ListRecipes => catalog::list_recipes(input),
        Operation::DescribeAlgorithm => catalog::describe_algorithm(input),
        Operation::DescribeFeatureTransformation => catalog::describe_feature_transformation(input),
        Operation::CreateSolution => solution::create(store, cx, &m),
        Operation::UpdateSolution => solution::update(store, cx, &m),
        Operation::DeleteSolution => solution::delete(store, cx, &m),
        Operation::CreateSolutionVersion => solution_version::create(store, cx, &m),
        Operation::ListSolutionVersions => solution_version::list(store, cx, &m),
        Operation::StopSolutionVersionCreation => solution_version::stop(store, cx, &m),
        Operation::GetSolutionMetrics => solution_version::metrics(store, cx, &m),
        Operation::CreateCampaign => campaign::create(store, cx, &m),
        Operation::ListCampaigns => campaign::list(store, cx, &m),
        Operation::UpdateCampaign => campaign::update(store, cx, &m),
        Operation::DeleteCampaign => campaign::delete(store, cx, &m),
        Operation::CreateRecommender => recommender::create(store, cx, &m),
        Operation::UpdateRecommender => recommender::update(store, cx, &m),
        Operation::DeleteRecommender => recommender::delete(store, cx, &m),
        Operation::StartRecommender => recommender::start(store, cx, &m),
        Operation::StopRecommender => recommender::stop(store, cx, &m),
        Operation::CreateBatchInferenceJob => batch_inference::create(store, cx, &m),
        Operation::CreateBatchSegmentJob => batch_segment::create(store, cx, &m),
        Operation::GetRecommendations => runtime::get_recommendations(store, cx, input),
        Operation::GetPersonalizedRanking => runtime::get_personalized_ranking(store, cx, input),
        Operation::GetActionRecommendations => runtime::get_action_recommendations(store, cx, input),
        _ => Err(Error::new(
            ErrorKind::NotImplemented,
            format!("{} is not a models-side operation.", op.name()),
        )),
    }
}

/// Purges finished deletes and runs automatic training. `Personalize::call` runs it at the
/// start of every call (both families), so state only changes inside calls, driven by the
/// call's time, and the data side never sees a finished delete.
pub(crate) fn advance(store: &mut Store, cx: &Cx<'_>) {
    let st = &mut store.models;
    let mut gone: Vec<String> = Vec::new();
    gone.extend(
        st.campaigns
            .values()
            .filter(|c| c.meta.gone(cx))
            .map(|c| c.meta.arn.clone()),
    );
    gone.extend(
        st.recommenders
            .values()
            .filter(|r| r.meta.gone(cx))
            .map(|r| r.meta.arn.clone()),
    );
    let gone_solutions: Vec<String> = st
        .solutions
        .values()
        .filter(|s| s.meta.gone(cx))
        .map(|s| s.meta.arn.clone())
        .collect();
    for arn in &gone {
        st.campaigns.remove(arn);
        st.recommenders.remove(arn);
    }
    for arn in &gone_solutions {
        st.solutions.remove(arn);
        // A solution's versions and their batch jobs go with it.
        let versions: Vec<String> = st
            .versions
            .values()
            .filter(|v| &v.solution_arn == arn)
            .map(|v| v.meta.arn.clone())
            .collect();
        for v in &versions {
            st.versions.remove(v);
            st.batch_inference_jobs
                .retain(|_, j| &j.solution_version_arn != v);
            st.batch_segment_jobs.retain(|_, j| &j.solution_version_arn != v);
        }
        gone.extend(versions);
    }
    gone.extend(gone_solutions);
    for arn in &gone {
        crate::data::forget_tags(store, arn);
    }
    solution_version::auto_train(store, cx);
}

/// When the next change [`advance`] makes is due, as seen right after it ran: every delete in
/// progress and every automatic training. A solution that trains automatically but is not
/// `ACTIVE` yet is checked again when its current lifecycle ends.
pub(crate) fn next_change(store: &Store, cx: &Cx<'_>) -> NextChange {
    let st = &store.models;
    let now = cx.ctx.now;
    let mut next = NextChange::Never;
    let deletes = st
        .campaigns
        .values()
        .map(|c| &c.meta)
        .chain(st.recommenders.values().map(|r| &r.meta))
        .chain(st.solutions.values().map(|s| &s.meta))
        .filter_map(|m| m.delete.as_ref());
    for d in deletes {
        next = next.with(d.finished_at(cx.config), now);
    }
    for s in st.solutions.values() {
        if !s.perform_auto_training || s.meta.delete.is_some() {
            continue;
        }
        if let Some(at) = solution_version::auto_training_at(store, s, cx) {
            next = next.with(at, now);
        } else if s.meta.status(cx) != "ACTIVE" {
            let ends = s.meta.phase.finished_at(cx.config);
            if ends > now {
                next = next.with(ends, now);
            }
        }
    }
    next
}

// ---------------------------------------------------------------------------------------------
// API for the data side.
// ---------------------------------------------------------------------------------------------

/// Whether a models-side resource with this ARN exists (any status).
pub(crate) fn resource_exists(store: &Store, arn: &str) -> bool {
    let st = &store.models;
    st.solutions.contains_key(arn)
        || st.versions.contains_key(arn)
        || st.campaigns.contains_key(arn)
        || st.recommenders.contains_key(arn)
        || st.batch_inference_jobs.contains_key(arn)
        || st.batch_segment_jobs.contains_key(arn)
}

/// The solutions and recommenders of a dataset group (also while being deleted).
pub(crate) fn dataset_group_dependents(store: &Store, dsg_arn: &str) -> Vec<String> {
    let st = &store.models;
    st.solutions
        .values()
        .filter(|s| s.dataset_group_arn == dsg_arn)
        .map(|s| s.meta.arn.clone())
        .chain(
            st.recommenders
                .values()
                .filter(|r| r.dataset_group_arn == dsg_arn)
                .map(|r| r.meta.arn.clone()),
        )
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Shared helpers.
// ---------------------------------------------------------------------------------------------

/// A timestamp as the API returns it.
fn ts(t: OffsetDateTime) -> Value {
    json!(epoch(t))
}

/// `InvalidInputException` for an enum member.
pub(crate) fn enum_error(member: &str, value: &str, allowed: &[&str]) -> Error {
    match check_enum(member, value, allowed) {
        Err(e) => e,
        Ok(()) => Error::invalid(format!("Invalid value for {member}.")),
    }
}

/// Checks a `domain` member.
pub(crate) fn check_domain(d: &str) -> Result<()> {
    check_enum("domain", d, &["ECOMMERCE", "VIDEO_ON_DEMAND"])
}

/// `ResourceNotFoundException` for an ARN, as the service words it.
fn not_found(arn: &str) -> Error {
    crate::data::not_found(arn)
}

/// `ResourceAlreadyExistsException` for an ARN, as the service words it.
fn already_exists(arn: &str) -> Error {
    crate::data::already_exists(arn)
}

/// `ResourceInUseException` when a resource is not `ACTIVE`.
fn not_active(arn: &str, status: &str) -> Error {
    crate::data::not_active(arn, status)
}

/// Whether a status is still moving towards its end (`PENDING` or `IN_PROGRESS`).
fn in_flight(status: &str) -> bool {
    status.contains("PENDING") || status.contains("IN_PROGRESS")
}

/// Inserts `v` under `k` when present.
fn put_opt(o: &mut Map<String, Value>, k: &str, v: Option<Value>) {
    if let Some(v) = v {
        o.insert(k.to_string(), v);
    }
}

/// Reads an optional structure member as JSON, checking that it is an object.
fn opt_struct(m: &Members<'_>, name: &str) -> Result<Option<Value>> {
    Ok(m.opt_obj(name)?.map(|o| Value::Object(o.clone())))
}

/// Validates a `HyperParameters`-style map (string to string, at most 100 entries,
/// keys up to 256 and values up to 1000 characters).
fn check_param_map(member: &str, v: Option<&Value>) -> Result<()> {
    let Some(v) = v else { return Ok(()) };
    let Some(o) = v.as_object() else {
        return Err(Error::invalid(format!("Value at '{member}' must be a map.")));
    };
    if o.len() > 100 {
        return Err(Error::invalid(format!(
            "1 validation error detected: Value at '{member}' failed to satisfy constraint: Member must have length less than or equal to 100"
        )));
    }
    for (k, val) in o {
        let Some(s) = val.as_str() else {
            return Err(Error::invalid(format!(
                "Value at '{member}.{k}' must be a string."
            )));
        };
        crate::common::check_len(&format!("{member}.{k}"), s, 0, 1000)?;
        crate::common::check_len(member, k, 0, 256)?;
    }
    Ok(())
}

/// Reads an optional `minProvisionedTPS`-style member (`TransactionsPerSecond`, at least 1).
fn opt_tps(m: &Members<'_>, member: &str) -> Result<Option<i64>> {
    match m.opt_i64(member)? {
        Some(n) if n < 1 => Err(Error::invalid(format!(
            "1 validation error detected: Value '{n}' at '{member}' failed to satisfy constraint: Member must have value greater than or equal to 1"
        ))),
        other => Ok(other),
    }
}

/// Validates a `CampaignConfig` / `BatchInferenceJobConfig` shape.
fn check_inference_config(member: &str, c: Option<&Value>) -> Result<()> {
    let Some(c) = c else { return Ok(()) };
    check_param_map(
        &format!("{member}.itemExplorationConfig"),
        c.get("itemExplorationConfig"),
    )?;
    for flag in [
        "enableMetadataWithRecommendations",
        "syncWithLatestSolutionVersion",
    ] {
        if let Some(v) = c.get(flag)
            && !v.is_null()
            && !v.is_boolean()
        {
            return Err(Error::invalid(format!(
                "Value at '{member}.{flag}' must be a boolean."
            )));
        }
    }
    if let Some(r) = c.get("rankingInfluence").filter(|v| !v.is_null()) {
        let Some(o) = r.as_object() else {
            return Err(Error::invalid(format!(
                "Value at '{member}.rankingInfluence' must be a map."
            )));
        };
        for (k, w) in o {
            check_enum(
                &format!("{member}.rankingInfluence"),
                k,
                &["POPULARITY", "FRESHNESS"],
            )?;
            match w.as_f64() {
                Some(x) if (0.0..=1.0).contains(&x) => {}
                _ => {
                    return Err(Error::invalid(format!(
                        "1 validation error detected: Value at '{member}.rankingInfluence.{k}' failed to satisfy constraint: Member must have value between 0 and 1"
                    )));
                }
            }
        }
    }
    Ok(())
}

/// The validation error for a missing required member, as `Members::str` words it.
pub(crate) fn missing(member: &str) -> Error {
    Error::invalid(format!(
        "1 validation error detected: Value null at '{member}' failed to satisfy constraint: Member must not be null"
    ))
}

/// Validates an S3 data config (`{path*, kmsKeyArn}`) inside `outer` (`jobInput.s3DataSource`).
fn check_s3_config(m: &Members<'_>, outer: &str, inner: &str) -> Result<Value> {
    let o = m.opt_obj(outer)?.ok_or_else(|| missing(outer))?;
    let wrapped = Value::Object(o.clone());
    let mm = Members::new(&wrapped);
    let s3 = mm
        .opt_obj(inner)?
        .ok_or_else(|| missing(&format!("{outer}.{inner}")))?;
    let s3v = Value::Object(s3.clone());
    let sm = Members::new(&s3v);
    let path = sm
        .opt_str("path")?
        .ok_or_else(|| missing(&format!("{outer}.{inner}.path")))?;
    crate::common::check_s3_location(&format!("{outer}.{inner}.path"), path)?;
    if let Some(k) = sm.opt_str("kmsKeyArn")? {
        crate::common::check_kms_key_arn(&format!("{outer}.{inner}.kmsKeyArn"), k)?;
    }
    Ok(wrapped)
}

/// A short deterministic hex id from the parts.
fn hex_id(parts: &[&str], len: usize) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    for p in parts {
        h.update(p.as_bytes());
        h.update(b"|");
    }
    let mut s = hex::encode(h.finalize());
    s.truncate(len);
    s
}

#[cfg(test)]
pub(crate) mod testing;

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::testing::Harness;
    use crate::operation::Family;
    use crate::{ErrorKind, Operation};

    fn state(p: &crate::Personalize) -> serde_json::Value {
        serde_json::from_slice(&p.snapshot()).unwrap()
    }

    #[test]
    fn a_snapshot_and_the_journal_after_it_rebuild_the_state_exactly() {
        // Every call through a recording harness, as the emulator's journal keeps them.
        let kept = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let mut h = Harness::new();
        h.journal = Some(kept.clone());
        let dsg = h.active_group("g", None);
        h.with_interactions(&dsg, &[("u1", "i1"), ("u1", "i2"), ("u2", "i1")]);
        let solution = h.active_solution("s", &dsg, super::testing::UP);
        let middle = h.svc.snapshot();
        let changes_before = kept.lock().unwrap().len();
        let version = h.trained_version(&solution);
        let campaign = h.ok(
            Operation::CreateCampaign,
            json!({"name": "c", "solutionVersionArn": version}),
        );
        h.err(
            Operation::CreateCampaign,
            json!({"name": "c", "solutionVersionArn": version}),
            ErrorKind::ResourceAlreadyExists,
        );
        h.advance(3600.0);
        h.ok(
            Operation::DeleteCampaign,
            json!({"campaignArn": campaign["campaignArn"]}),
        );
        h.advance(3600.0);
        h.ok(Operation::ListSolutions, json!({}));
        let expected = state(&h.svc);
        let changes: Vec<(crate::Context, Operation, serde_json::Value, u64)> = kept.lock().unwrap().clone();
        // Every change again, from nothing.
        let fresh = crate::Personalize::new(crate::Config { time_scale: 1.0 });
        for (ctx, op, input, seq) in &changes {
            assert_eq!(fresh.replay(ctx, *op, input, *seq), crate::Replayed::Applied);
        }
        // The snapshot taken midway, then the whole journal (what it holds is skipped).
        let restored = crate::Personalize::restore(crate::Config { time_scale: 1.0 }, &middle).unwrap();
        let mut held = 0;
        for (ctx, op, input, seq) in &changes {
            match restored.replay(ctx, *op, input, *seq) {
                crate::Replayed::Held => held += 1,
                r => assert_eq!(r, crate::Replayed::Applied),
            }
        }
        assert_eq!(held, changes_before);
        // A change whose predecessor is missing is not run on the wrong state.
        let (ctx, op, input, seq) = changes.last().unwrap();
        let gap = crate::Personalize::new(crate::Config { time_scale: 1.0 });
        assert_eq!(gap.replay(ctx, *op, input, *seq), crate::Replayed::Gap);
        // A read at the same time applies the same time effects to all three.
        let read = |p: &crate::Personalize| {
            let ctx = crate::Context {
                account: "123456789012".into(),
                region: "us-east-1".into(),
                now: h.now,
            };
            p.call(&ctx, Operation::ListSolutions, &json!({})).unwrap()
        };
        assert_eq!(read(&fresh), read(&h.svc));
        assert_eq!(read(&restored), read(&h.svc));
        assert_eq!(state(&fresh), expected);
        assert_eq!(state(&restored), expected);
        assert!(changes_before < changes.len());
    }

    #[test]
    fn every_models_operation_is_implemented() {
        let mut h = Harness::new();
        for op in Operation::ALL
            .iter()
            .copied()
            .filter(|op| op.family() == Family::Models)
        {
            if let Err(e) = h.call(op, json!({})) {
                assert_ne!(
                    e.kind,
                    ErrorKind::NotImplemented,
                    "{} is not implemented",
                    op.name()
                );
            }
        }
    }

    #[test]
    fn dependents_and_existence_for_the_data_side() {
        let mut h = Harness::new();
        let dsg = h.active_group("g", None);
        let sol = h.active_solution("s", &dsg, super::testing::UP);
        let store = &h.svc_store();
        assert!(super::resource_exists(store, &sol));
        assert_eq!(super::dataset_group_dependents(store, &dsg), vec![sol.clone()]);
        h.err(
            Operation::DeleteDatasetGroup,
            json!({"datasetGroupArn": dsg}),
            ErrorKind::ResourceInUse,
        );
        h.ok(Operation::DeleteSolution, json!({"solutionArn": sol}));
        h.advance(30.0);
        // A data-side call alone sees the finished delete.
        h.ok(Operation::DeleteDatasetGroup, json!({"datasetGroupArn": dsg}));
        assert!(!super::resource_exists(&h.svc_store(), &sol));
    }
}
