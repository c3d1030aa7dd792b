//! Solution versions (trained models): CreateSolutionVersion, DescribeSolutionVersion,
//! ListSolutionVersions, StopSolutionVersionCreation, GetSolutionMetrics, and automatic training.

use serde_json::{Map, Value, json};
use time::OffsetDateTime;

use super::catalog::{self, RecipeType};
use super::{Meta, durations, hex_id, in_flight, limits, not_active, not_found, put_opt, ts};
use crate::Store;
use crate::common::{Cx, Lifecycle, Members, check_enum, check_name};
use crate::error::{Error, Result};
use crate::resource::one;

/// A solution version.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub(crate) struct SolutionVersion {
    /// ARN, optional name (empty when none was given), training lifecycle.
    pub(crate) meta: Meta,
    /// The solution it belongs to.
    pub(crate) solution_arn: String,
    /// The solution's dataset group.
    pub(crate) dataset_group_arn: String,
    /// The recipe it trained with.
    #[serde(with = "crate::common::statics::recipe")]
    pub(crate) recipe: &'static catalog::Recipe,
    /// Copied from the solution at creation.
    pub(crate) perform_hpo: bool,
    /// Copied from the solution at creation.
    pub(crate) perform_auto_ml: bool,
    /// Copied from the solution at creation.
    pub(crate) perform_incremental_update: bool,
    /// Copied from the solution at creation: only interactions of this type train the model.
    pub(crate) event_type: Option<String>,
    /// Copied from the solution at creation.
    pub(crate) solution_config: Option<Value>,
    /// `FULL`, `UPDATE` or `AUTOTRAIN`.
    #[serde(deserialize_with = "crate::common::statics::str")]
    pub(crate) training_mode: crate::common::statics::Str,
    /// `MANUAL` or `AUTOMATIC`.
    #[serde(deserialize_with = "crate::common::statics::str")]
    pub(crate) training_type: crate::common::statics::Str,
    /// Why training fails, decided from the data present at creation.
    pub(crate) failure: Option<String>,
    /// The stop lifecycle, once StopSolutionVersionCreation was called.
    pub(crate) stop: Option<Lifecycle>,
    /// Simulated training seconds (before scaling), for `trainingHours`.
    pub(crate) training_secs: f64,
}

impl SolutionVersion {
    /// The status at the call time.
    pub(crate) fn status(&self, cx: &Cx<'_>) -> &'static str {
        match &self.stop {
            Some(s) => s.status(cx.ctx.now, cx.config),
            None => self.meta.status(cx),
        }
    }

    fn last_updated(&self, cx: &Cx<'_>) -> OffsetDateTime {
        match &self.stop {
            Some(s) => s.status_since(cx.ctx.now, cx.config),
            None => self.meta.last_updated(cx),
        }
    }

    fn failure_reason(&self, cx: &Cx<'_>) -> Option<&str> {
        (self.status(cx) == "CREATE FAILED")
            .then_some(self.failure.as_deref())
            .flatten()
    }

    /// `SolutionVersionSummary`.
    pub(crate) fn summary(&self, _store: &Store, cx: &Cx<'_>) -> Value {
        let mut o = Map::new();
        o.insert("solutionVersionArn".into(), json!(self.meta.arn));
        o.insert("status".into(), json!(self.status(cx)));
        o.insert("trainingMode".into(), json!(self.training_mode));
        o.insert("trainingType".into(), json!(self.training_type));
        o.insert("creationDateTime".into(), ts(self.meta.created));
        o.insert("lastUpdatedDateTime".into(), ts(self.last_updated(cx)));
        put_opt(&mut o, "failureReason", self.failure_reason(cx).map(|f| json!(f)));
        Value::Object(o)
    }

    pub(crate) fn full(&self, cx: &Cx<'_>) -> Value {
        let status = self.status(cx);
        let mut o = Map::new();
        if !self.meta.name.is_empty() {
            o.insert("name".into(), json!(self.meta.name));
        }
        o.insert("solutionVersionArn".into(), json!(self.meta.arn));
        o.insert("solutionArn".into(), json!(self.solution_arn));
        o.insert("performHPO".into(), json!(self.perform_hpo));
        o.insert("performAutoML".into(), json!(self.perform_auto_ml));
        o.insert(
            "performIncrementalUpdate".into(),
            json!(self.perform_incremental_update),
        );
        o.insert("recipeArn".into(), json!(self.recipe.arn()));
        put_opt(&mut o, "eventType", self.event_type.as_ref().map(|e| json!(e)));
        o.insert("datasetGroupArn".into(), json!(self.dataset_group_arn));
        put_opt(&mut o, "solutionConfig", self.solution_config.clone());
        if status == "ACTIVE" {
            // Billed hours: the simulated training time, rounded to 3 decimals.
            o.insert(
                "trainingHours".into(),
                json!((self.training_secs / 3600.0 * 1000.0).round() / 1000.0),
            );
        }
        o.insert("trainingMode".into(), json!(self.training_mode));
        if status == "ACTIVE" && self.perform_hpo {
            let params = self
                .solution_config
                .as_ref()
                .and_then(|c| c.get("algorithmHyperParameters"))
                .cloned()
                .unwrap_or_else(|| json!({}));
            o.insert(
                "tunedHPOParams".into(),
                json!({ "algorithmHyperParameters": params }),
            );
        }
        o.insert("status".into(), json!(status));
        put_opt(&mut o, "failureReason", self.failure_reason(cx).map(|f| json!(f)));
        o.insert("creationDateTime".into(), ts(self.meta.created));
        o.insert("lastUpdatedDateTime".into(), ts(self.last_updated(cx)));
        o.insert("trainingType".into(), json!(self.training_type));
        Value::Object(o)
    }
}

/// Why training on this group's current data would fail, if it would.
fn training_failure(store: &Store, dsg_arn: &str, recipe: &catalog::Recipe) -> Option<String> {
    if recipe.kind == RecipeType::PersonalizedActions {
        if crate::data::actions(store, dsg_arn).next().is_none() {
            return Some(format!(
                "Insufficient data for training: the dataset group {dsg_arn} has no actions. Import actions into an Actions dataset before training with {}.",
                recipe.name
            ));
        }
        return None;
    }
    if !crate::data::dataset_group_has_interactions(store, dsg_arn) {
        return Some(format!(
            "Insufficient data for training: the dataset group {dsg_arn} has no interactions. Import interactions into an Interactions dataset or record events before training a solution version."
        ));
    }
    None
}

/// Creates a version of `solution_arn` (already validated), starting at `at`.
fn insert(
    store: &mut Store,
    cx: &Cx<'_>,
    solution_arn: &str,
    name: Option<&str>,
    mode: &'static str,
    training_type: &'static str,
    at: OffsetDateTime,
) -> Option<String> {
    let s = store.models.solutions.get(solution_arn)?.clone();
    let seq = store.models.seq + 1;
    let id = hex_id(
        &[
            solution_arn,
            &seq.to_string(),
            &crate::common::epoch(at).to_string(),
        ],
        8,
    );
    let arn = cx.arn("solution", &format!("{}/{id}", s.meta.name));
    let failure = training_failure(store, &s.dataset_group_arn, s.effective_recipe);
    let training_secs = match (mode, s.perform_hpo) {
        ("UPDATE", _) => durations::TRAINING_UPDATE,
        (_, true) => durations::TRAINING_HPO,
        _ => durations::TRAINING,
    };
    let phase = Lifecycle {
        started: at,
        steps: match failure {
            Some(_) => vec![
                ("CREATE PENDING", durations::PENDING),
                ("CREATE IN_PROGRESS", durations::TRAINING_FAIL),
                ("CREATE FAILED", 0.0),
            ],
            None => vec![
                ("CREATE PENDING", durations::PENDING),
                ("CREATE IN_PROGRESS", training_secs),
                ("ACTIVE", 0.0),
            ],
        },
    };
    let mut meta = Meta::new(&mut store.models.seq, cx, arn.clone(), name.unwrap_or(""), phase);
    meta.created = at;
    store.models.versions.insert(
        arn.clone(),
        SolutionVersion {
            meta,
            solution_arn: solution_arn.to_string(),
            dataset_group_arn: s.dataset_group_arn.clone(),
            recipe: s.effective_recipe,
            perform_hpo: s.perform_hpo,
            perform_auto_ml: s.perform_auto_ml,
            perform_incremental_update: s.perform_incremental_update,
            event_type: s.event_type.clone(),
            solution_config: s.solution_config.clone(),
            training_mode: mode,
            training_type,
            failure,
            stop: None,
            training_secs,
        },
    );
    Some(arn)
}

fn trainings_in_flight(store: &Store, cx: &Cx<'_>) -> usize {
    store
        .models
        .versions
        .values()
        .filter(|v| in_flight(v.status(cx)))
        .count()
}

/// `CreateSolutionVersion`.
pub(crate) fn create(store: &mut Store, cx: &Cx<'_>, m: &Members<'_>) -> Result<Value> {
    let solution_arn = m.arn("solutionArn")?;
    let name = m.opt_str("name")?;
    if let Some(n) = name {
        check_name("name", n)?;
    }
    let mode = match m.opt_str("trainingMode")? {
        None => "FULL",
        Some(t) => {
            check_enum("trainingMode", t, &["FULL", "UPDATE", "AUTOTRAIN"])?;
            match t {
                "UPDATE" => "UPDATE",
                "AUTOTRAIN" => {
                    return Err(Error::invalid(
                        "trainingMode AUTOTRAIN is used by automatic training and cannot be requested. Use FULL or UPDATE.",
                    ));
                }
                _ => "FULL",
            }
        }
    };
    let tags = crate::data::check_tags(m)?;
    let s = store
        .models
        .solutions
        .get(solution_arn)
        .ok_or_else(|| not_found(solution_arn))?;
    let status = s.meta.status(cx);
    if status != "ACTIVE" {
        return Err(not_active(solution_arn, status));
    }
    if let Some(n) = name
        && store
            .models
            .versions
            .values()
            .any(|v| v.solution_arn == solution_arn && v.meta.name == n)
    {
        return Err(Error::already_exists(format!(
            "A solution version named {n} already exists for solution {solution_arn}."
        )));
    }
    if mode == "UPDATE" {
        if !s.effective_recipe.incremental {
            return Err(Error::invalid(format!(
                "trainingMode UPDATE is not supported for recipe {}. Use FULL.",
                s.effective_recipe.arn()
            )));
        }
        let has_full = store.models.versions.values().any(|v| {
            v.solution_arn == solution_arn && v.training_mode != "UPDATE" && v.status(cx) == "ACTIVE"
        });
        if !has_full {
            return Err(Error::invalid(format!(
                "trainingMode UPDATE needs an ACTIVE solution version trained with FULL for solution {solution_arn}."
            )));
        }
    }
    if trainings_in_flight(store, cx) >= limits::TRAININGS_IN_FLIGHT {
        return Err(Error::limit(format!(
            "More than {} resources with PENDING or IN_PROGRESS status.",
            limits::TRAININGS_IN_FLIGHT
        )));
    }
    let arn = insert(store, cx, solution_arn, name, mode, "MANUAL", cx.ctx.now)
        .ok_or_else(|| not_found(solution_arn))?;
    crate::data::register_tags(store, &arn, tags);
    Ok(json!({ "solutionVersionArn": arn }))
}

/// Automatic training: an ACTIVE solution with `performAutoTraining` gets its first
/// automatic version one hour after it became ACTIVE, then one every `rate(N days)`
/// (7 by default), each created at its due time. At most one per solution per call.
pub(crate) fn auto_train(store: &mut Store, cx: &Cx<'_>) {
    let mut due: Vec<(String, OffsetDateTime)> = Vec::new();
    for s in store.models.solutions.values() {
        if let Some(at) = auto_training_at(store, s, cx)
            && at <= cx.ctx.now
        {
            due.push((s.meta.arn.clone(), at));
        }
    }
    for (arn, at) in due {
        // Automatic versions carry no tags, so the new ARN is not needed here.
        let _ = insert(store, cx, &arn, None, "AUTOTRAIN", "AUTOMATIC", at);
    }
}

/// When a solution's next automatic training is due, if it trains automatically and is
/// `ACTIVE` now: an hour after it became `ACTIVE` for the first one, then every
/// `schedulingExpression` days after the last automatic version.
pub(crate) fn auto_training_at(store: &Store, s: &super::Solution, cx: &Cx<'_>) -> Option<OffsetDateTime> {
    let scale = cx.config.time_scale;
    if !s.perform_auto_training || s.meta.delete.is_some() || s.meta.status(cx) != "ACTIVE" {
        return None;
    }
    let last_auto = store
        .models
        .versions
        .values()
        .filter(|v| v.solution_arn == s.meta.arn && v.training_type == "AUTOMATIC")
        .map(|v| v.meta.created)
        .max();
    match last_auto {
        None => Some(
            s.meta.phase.finished_at(cx.config)
                + time::Duration::seconds_f64(durations::AUTO_TRAINING_FIRST * scale),
        ),
        Some(l) => {
            let gap = f64::from(s.auto_training_days()) * 86_400.0 * scale;
            (gap > 0.0).then(|| l + time::Duration::seconds_f64(gap))
        }
    }
}

/// `ListSolutionVersions`, optionally for one solution (which must exist).
pub(crate) fn list(store: &Store, cx: &Cx<'_>, m: &Members<'_>) -> Result<Value> {
    if let Some(s) = m.opt_arn("solutionArn")?
        && !store.models.solutions.contains_key(s)
    {
        return Err(not_found(s));
    }
    crate::resource::list(
        m,
        ("ListSolutionVersions", "solutionVersions"),
        store.models.versions.values(),
        Some(("solutionArn", |v, s| v.solution_arn == s)),
        |v| v.summary(store, cx),
    )
}

/// `StopSolutionVersionCreation`: `CREATE PENDING` stops at once, `CREATE IN_PROGRESS` goes
/// through `CREATE STOPPING` to `CREATE STOPPED`; any other status is `ResourceInUseException`.
pub(crate) fn stop(store: &mut Store, cx: &Cx<'_>, m: &Members<'_>) -> Result<Value> {
    let arn = one(&store.models.versions, m, "solutionVersionArn")?
        .meta
        .arn
        .clone();
    let Some(v) = store.models.versions.get_mut(&arn) else {
        return Err(not_found(&arn));
    };
    let status = v.status(cx);
    let steps = match status {
        "CREATE PENDING" => vec![("CREATE STOPPED", 0.0)],
        "CREATE IN_PROGRESS" => vec![("CREATE STOPPING", durations::STOPPING), ("CREATE STOPPED", 0.0)],
        _ => {
            return Err(Error::in_use(format!(
                "The solution version {arn} cannot be stopped in status {status}. Only CREATE PENDING or CREATE IN_PROGRESS solution versions can be stopped."
            )));
        }
    };
    v.stop = Some(Lifecycle {
        started: cx.ctx.now,
        steps,
    });
    Ok(json!({}))
}

/// `GetSolutionMetrics`: deterministic, plausible offline metrics for an ACTIVE version.
pub(crate) fn metrics(store: &Store, cx: &Cx<'_>, m: &Members<'_>) -> Result<Value> {
    let v = one(&store.models.versions, m, "solutionVersionArn")?;
    let status = v.status(cx);
    if status != "ACTIVE" {
        return Err(not_active(&v.meta.arn, status));
    }
    Ok(json!({ "solutionVersionArn": v.meta.arn, "metrics": offline_metrics(&v.meta.arn) }))
}

/// Deterministic, plausible offline metrics for a trained model, derived from its ARN.
pub(crate) fn offline_metrics(arn: &str) -> Value {
    // Four fractions in [0, 1) from the ARN.
    let h = hex_id(&[arn, "metrics"], 16);
    let u: Vec<f64> = (0..4)
        .map(|i| {
            let part = h.get(i * 4..i * 4 + 4).unwrap_or("0");
            f64::from(u16::from_str_radix(part, 16).unwrap_or(0)) / 65536.0
        })
        .collect();
    let at = |i: usize| u.get(i).copied().unwrap_or(0.5);
    let r4 = |x: f64| (x * 10_000.0).round() / 10_000.0;
    let ndcg5 = 0.05 + 0.25 * at(2);
    let p5 = 0.02 + 0.08 * at(3);
    json!({
        "coverage": r4(0.05 + 0.5 * at(0)),
        "mean_reciprocal_rank_at_25": r4(0.05 + 0.2 * at(1)),
        "normalized_discounted_cumulative_gain_at_5": r4(ndcg5),
        "normalized_discounted_cumulative_gain_at_10": r4(ndcg5 * 1.12),
        "normalized_discounted_cumulative_gain_at_25": r4(ndcg5 * 1.25),
        "precision_at_5": r4(p5),
        "precision_at_10": r4(p5 * 0.85),
        "precision_at_25": r4(p5 * 0.6),
    })
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use crate::ErrorKind;
    use crate::Operation::*;
    use serde_json::json;

    #[test]
    fn training_lifecycle_and_metrics() {
        let mut h = Harness::new();
        let dsg = h.active_group("g", None);
        h.with_interactions(&dsg, &[("u1", "a"), ("u1", "b"), ("u2", "a")]);
        let sol = h.active_solution("s", &dsg, UP);
        let v = h.ok(CreateSolutionVersion, json!({"solutionArn": sol, "name": "v1"}));
        let v = v["solutionVersionArn"].as_str().unwrap().to_string();
        let (prefix, id) = v.rsplit_once('/').unwrap();
        assert_eq!(prefix, "arn:aws:personalize:us-east-1:123456789012:solution/s");
        assert!(id.len() == 8 && id.bytes().all(|b| b.is_ascii_hexdigit()));
        let d = h.ok(DescribeSolutionVersion, json!({"solutionVersionArn": v}));
        assert_eq!(d["solutionVersion"]["status"], "CREATE PENDING");
        assert_eq!(d["solutionVersion"]["trainingMode"], "FULL");
        assert_eq!(d["solutionVersion"]["trainingType"], "MANUAL");
        assert_eq!(d["solutionVersion"]["name"], "v1");
        assert!(d["solutionVersion"].get("trainingHours").is_none());
        h.err(
            GetSolutionMetrics,
            json!({"solutionVersionArn": v}),
            ErrorKind::ResourceInUse,
        );
        h.advance(10.0);
        assert_eq!(
            h.ok(DescribeSolutionVersion, json!({"solutionVersionArn": v}))["solutionVersion"]["status"],
            "CREATE IN_PROGRESS"
        );
        h.advance(1200.0);
        let d = h.ok(DescribeSolutionVersion, json!({"solutionVersionArn": v}));
        assert_eq!(d["solutionVersion"]["status"], "ACTIVE");
        assert_eq!(d["solutionVersion"]["trainingHours"], 0.333);
        let m1 = h.ok(GetSolutionMetrics, json!({"solutionVersionArn": v}));
        let m2 = h.ok(GetSolutionMetrics, json!({"solutionVersionArn": v}));
        assert_eq!(m1, m2);
        let p5 = m1["metrics"]["precision_at_5"].as_f64().unwrap();
        assert!(p5 > 0.0 && p5 < 1.0);
        let s = h.ok(DescribeSolution, json!({"solutionArn": sol}));
        assert_eq!(
            s["solution"]["latestSolutionVersion"]["solutionVersionArn"],
            v.as_str()
        );
        // UPDATE training now allowed for User-Personalization.
        let u = h.ok(
            CreateSolutionVersion,
            json!({"solutionArn": sol, "trainingMode": "UPDATE"}),
        );
        assert_ne!(u["solutionVersionArn"], v.as_str());
        let l = h.ok(ListSolutionVersions, json!({"solutionArn": sol, "maxResults": 1}));
        assert_eq!(l["solutionVersions"][0]["trainingMode"], "UPDATE");
        let l2 = h.ok(
            ListSolutionVersions,
            json!({"solutionArn": sol, "maxResults": 1, "nextToken": l["nextToken"]}),
        );
        assert_eq!(l2["solutionVersions"][0]["solutionVersionArn"], v.as_str());
        assert!(l2.get("nextToken").is_none());
        h.err(
            ListSolutionVersions,
            json!({"nextToken": l["nextToken"]}),
            ErrorKind::InvalidNextToken,
        );
    }

    #[test]
    fn training_without_interactions_fails() {
        let mut h = Harness::new();
        let dsg = h.active_group("g", None);
        let sol = h.active_solution("s", &dsg, UP);
        let v = h.ok(CreateSolutionVersion, json!({"solutionArn": sol}))["solutionVersionArn"].clone();
        h.advance(100.0);
        let d = h.ok(DescribeSolutionVersion, json!({"solutionVersionArn": v}));
        assert_eq!(d["solutionVersion"]["status"], "CREATE FAILED");
        assert!(
            d["solutionVersion"]["failureReason"]
                .as_str()
                .unwrap()
                .contains("no interactions")
        );
        let l = h.ok(ListSolutionVersions, json!({}));
        assert_eq!(l["solutionVersions"][0]["status"], "CREATE FAILED");
        assert!(l["solutionVersions"][0]["failureReason"].is_string());
    }

    #[test]
    fn errors() {
        let mut h = Harness::new();
        let dsg = h.active_group("g", None);
        h.with_interactions(&dsg, &[("u1", "a")]);
        let sol = h.active_solution("s", &dsg, "arn:aws:personalize:::recipe/aws-sims");
        h.err(CreateSolutionVersion, json!({}), ErrorKind::InvalidInput);
        h.err(
            CreateSolutionVersion,
            json!({"solutionArn": "x"}),
            ErrorKind::InvalidInput,
        );
        h.err(
            CreateSolutionVersion,
            json!({"solutionArn": format!("{sol}x")}),
            ErrorKind::ResourceNotFound,
        );
        h.err(
            CreateSolutionVersion,
            json!({"solutionArn": sol, "trainingMode": "PARTIAL"}),
            ErrorKind::InvalidInput,
        );
        h.err(
            CreateSolutionVersion,
            json!({"solutionArn": sol, "trainingMode": "AUTOTRAIN"}),
            ErrorKind::InvalidInput,
        );
        h.err(
            CreateSolutionVersion,
            json!({"solutionArn": sol, "trainingMode": "UPDATE"}),
            ErrorKind::InvalidInput,
        );
        h.err(
            CreateSolutionVersion,
            json!({"solutionArn": sol, "name": "bad name"}),
            ErrorKind::InvalidInput,
        );
        h.ok(CreateSolutionVersion, json!({"solutionArn": sol, "name": "v"}));
        h.err(
            CreateSolutionVersion,
            json!({"solutionArn": sol, "name": "v"}),
            ErrorKind::ResourceAlreadyExists,
        );
        h.err(
            DescribeSolutionVersion,
            json!({"solutionVersionArn": format!("{sol}/00000000")}),
            ErrorKind::ResourceNotFound,
        );
        h.err(
            GetSolutionMetrics,
            json!({"solutionVersionArn": format!("{sol}/00000000")}),
            ErrorKind::ResourceNotFound,
        );
        h.err(
            ListSolutionVersions,
            json!({"solutionArn": format!("{sol}x")}),
            ErrorKind::ResourceNotFound,
        );
        h.err(
            ListSolutionVersions,
            json!({"maxResults": 101}),
            ErrorKind::InvalidInput,
        );
        // Pending solutions cannot train.
        let pending = h.ok(
            CreateSolution,
            json!({"name": "p", "datasetGroupArn": dsg, "recipeArn": UP}),
        )["solutionArn"]
            .clone();
        h.err(
            CreateSolutionVersion,
            json!({"solutionArn": pending}),
            ErrorKind::ResourceInUse,
        );
        // The in-flight quota.
        for _ in 1..20 {
            h.ok(CreateSolutionVersion, json!({"solutionArn": sol}));
        }
        h.err(
            CreateSolutionVersion,
            json!({"solutionArn": sol}),
            ErrorKind::LimitExceeded,
        );
        // Deleting a solution with a training in progress.
        h.err(
            DeleteSolution,
            json!({"solutionArn": sol}),
            ErrorKind::ResourceInUse,
        );
    }

    #[test]
    fn stop_lifecycle() {
        let mut h = Harness::new();
        let dsg = h.active_group("g", None);
        h.with_interactions(&dsg, &[("u1", "a")]);
        let sol = h.active_solution("s", &dsg, UP);
        let a = h.ok(CreateSolutionVersion, json!({"solutionArn": sol}))["solutionVersionArn"].clone();
        h.ok(StopSolutionVersionCreation, json!({"solutionVersionArn": a}));
        assert_eq!(
            h.ok(DescribeSolutionVersion, json!({"solutionVersionArn": a}))["solutionVersion"]["status"],
            "CREATE STOPPED"
        );
        let b = h.ok(CreateSolutionVersion, json!({"solutionArn": sol}))["solutionVersionArn"].clone();
        h.advance(30.0);
        h.ok(StopSolutionVersionCreation, json!({"solutionVersionArn": b}));
        assert_eq!(
            h.ok(DescribeSolutionVersion, json!({"solutionVersionArn": b}))["solutionVersion"]["status"],
            "CREATE STOPPING"
        );
        h.err(
            StopSolutionVersionCreation,
            json!({"solutionVersionArn": b}),
            ErrorKind::ResourceInUse,
        );
        h.advance(61.0);
        assert_eq!(
            h.ok(DescribeSolutionVersion, json!({"solutionVersionArn": b}))["solutionVersion"]["status"],
            "CREATE STOPPED"
        );
        h.err(
            StopSolutionVersionCreation,
            json!({"solutionVersionArn": a}),
            ErrorKind::ResourceInUse,
        );
        h.err(
            GetSolutionMetrics,
            json!({"solutionVersionArn": a}),
            ErrorKind::ResourceInUse,
        );
    }

    #[test]
    fn automatic_training() {
        let mut h = Harness::new();
        let dsg = h.active_group("g", None);
        h.with_interactions(&dsg, &[("u1", "a")]);
        let sol = h.ok(
            CreateSolution,
            json!({"name": "s", "datasetGroupArn": dsg, "recipeArn": UP,
            "solutionConfig": {"autoTrainingConfig": {"schedulingExpression": "rate(2 days)"}}}),
        )["solutionArn"]
            .clone();
        h.advance(3000.0);
        assert_eq!(
            h.ok(ListSolutionVersions, json!({"solutionArn": sol}))["solutionVersions"]
                .as_array()
                .unwrap()
                .len(),
            0
        );
        h.advance(700.0);
        let l = h.ok(ListSolutionVersions, json!({"solutionArn": sol}));
        assert_eq!(l["solutionVersions"][0]["trainingType"], "AUTOMATIC");
        assert_eq!(l["solutionVersions"][0]["trainingMode"], "AUTOTRAIN");
        h.advance(2.0 * 86_400.0);
        let l = h.ok(ListSolutionVersions, json!({"solutionArn": sol}));
        assert_eq!(l["solutionVersions"].as_array().unwrap().len(), 2);
        // Disabled auto training stops the schedule.
        h.ok(
            UpdateSolution,
            json!({"solutionArn": sol, "performAutoTraining": false}),
        );
        h.advance(10.0 * 86_400.0);
        let l = h.ok(ListSolutionVersions, json!({"solutionArn": sol}));
        assert_eq!(l["solutionVersions"].as_array().unwrap().len(), 2);
    }
}
