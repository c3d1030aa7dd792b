//! Solutions: CreateSolution, DescribeSolution, ListSolutions, UpdateSolution, DeleteSolution.

use serde_json::{Map, Value, json};
use time::OffsetDateTime;

use super::catalog::{self, RecipeType};
use super::{
    Meta, already_exists, durations, in_flight, limits, not_active, not_found, opt_struct, put_opt, ts,
};
use crate::Store;
use crate::common::{Cx, Lifecycle, Members, check_arn, check_enum, check_len, check_name};
use crate::error::{Error, Result};
use crate::resource::one;

/// A solution update (`latestSolutionUpdate`).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub(crate) struct SolutionUpdate {
    /// `solutionUpdateConfig` as sent.
    pub(crate) config: Option<Value>,
    /// `performAutoTraining` after the update.
    pub(crate) perform_auto_training: bool,
    /// `performIncrementalUpdate` after the update.
    pub(crate) perform_incremental_update: bool,
    /// The update lifecycle.
    pub(crate) phase: Lifecycle,
    /// When the update was asked for.
    pub(crate) created: OffsetDateTime,
}

/// A solution.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub(crate) struct Solution {
    /// ARN, name, lifecycle.
    pub(crate) meta: Meta,
    /// The dataset group it trains on.
    pub(crate) dataset_group_arn: String,
    /// The recipe as requested (absent with AutoML).
    pub(crate) recipe_arn: Option<String>,
    /// The recipe the versions train with: the requested one, or AutoML's pick.
    #[serde(with = "crate::common::statics::recipe")]
    pub(crate) effective_recipe: &'static catalog::Recipe,
    /// `performHPO`.
    pub(crate) perform_hpo: bool,
    /// `performAutoML`.
    pub(crate) perform_auto_ml: bool,
    /// `performAutoTraining` (default true).
    pub(crate) perform_auto_training: bool,
    /// `performIncrementalUpdate`.
    pub(crate) perform_incremental_update: bool,
    /// Only interactions of this type train the model.
    pub(crate) event_type: Option<String>,
    /// `solutionConfig` as sent.
    pub(crate) solution_config: Option<Value>,
    /// The last UpdateSolution.
    pub(crate) latest_update: Option<SolutionUpdate>,
}

impl Solution {
    /// Days between automatic trainings: `solutionConfig.autoTrainingConfig.schedulingExpression`
    /// (`rate(N days)`), 7 by default; the latest update's expression wins.
    pub(crate) fn auto_training_days(&self) -> u32 {
        let from = |c: Option<&Value>| {
            c.and_then(|c| c.get("autoTrainingConfig"))
                .and_then(|a| a.get("schedulingExpression"))
                .and_then(Value::as_str)
                .and_then(parse_rate)
        };
        self.latest_update
            .as_ref()
            .and_then(|u| from(u.config.as_ref()))
            .or_else(|| from(self.solution_config.as_ref()))
            .unwrap_or(7)
    }

    pub(crate) fn full(&self, store: &Store, cx: &Cx<'_>) -> Value {
        let mut o = Map::new();
        o.insert("name".into(), json!(self.meta.name));
        o.insert("solutionArn".into(), json!(self.meta.arn));
        o.insert("performHPO".into(), json!(self.perform_hpo));
        o.insert("performAutoML".into(), json!(self.perform_auto_ml));
        o.insert("performAutoTraining".into(), json!(self.perform_auto_training));
        o.insert(
            "performIncrementalUpdate".into(),
            json!(self.perform_incremental_update),
        );
        put_opt(&mut o, "recipeArn", self.recipe_arn.as_ref().map(|r| json!(r)));
        o.insert("datasetGroupArn".into(), json!(self.dataset_group_arn));
        put_opt(&mut o, "eventType", self.event_type.as_ref().map(|e| json!(e)));
        put_opt(&mut o, "solutionConfig", self.solution_config.clone());
        if self.perform_auto_ml {
            o.insert(
                "autoMLResult".into(),
                json!({"bestRecipeArn": self.effective_recipe.arn()}),
            );
        }
        o.insert("status".into(), json!(self.meta.status(cx)));
        o.insert("creationDateTime".into(), ts(self.meta.created));
        o.insert("lastUpdatedDateTime".into(), ts(self.last_updated(cx)));
        let latest = store
            .models
            .versions
            .values()
            .filter(|v| v.solution_arn == self.meta.arn)
            .max_by_key(|v| v.meta.sort_key());
        put_opt(
            &mut o,
            "latestSolutionVersion",
            latest.map(|v| v.summary(store, cx)),
        );
        if let Some(u) = &self.latest_update {
            let mut uo = Map::new();
            put_opt(&mut uo, "solutionUpdateConfig", u.config.clone());
            uo.insert("status".into(), json!(u.phase.status(cx.ctx.now, cx.config)));
            uo.insert("performAutoTraining".into(), json!(u.perform_auto_training));
            uo.insert(
                "performIncrementalUpdate".into(),
                json!(u.perform_incremental_update),
            );
            uo.insert("creationDateTime".into(), ts(u.created));
            uo.insert(
                "lastUpdatedDateTime".into(),
                ts(u.phase.status_since(cx.ctx.now, cx.config)),
            );
            o.insert("latestSolutionUpdate".into(), Value::Object(uo));
        }
        Value::Object(o)
    }

    fn last_updated(&self, cx: &Cx<'_>) -> OffsetDateTime {
        let t = self.meta.last_updated(cx);
        match &self.latest_update {
            Some(u) if u.created > t && self.meta.delete.is_none() => u.created,
            _ => t,
        }
    }

    pub(crate) fn summary(&self, cx: &Cx<'_>) -> Value {
        let mut o = Map::new();
        o.insert("name".into(), json!(self.meta.name));
        o.insert("solutionArn".into(), json!(self.meta.arn));
        o.insert("status".into(), json!(self.meta.status(cx)));
        o.insert("creationDateTime".into(), ts(self.meta.created));
        o.insert("lastUpdatedDateTime".into(), ts(self.last_updated(cx)));
        o.insert("recipeArn".into(), json!(self.effective_recipe.arn()));
        Value::Object(o)
    }
}

/// `rate(N day)` / `rate(N days)` -> N (at least 1).
fn parse_rate(s: &str) -> Option<u32> {
    let inner = s.strip_prefix("rate(")?.strip_suffix(')')?;
    let num = inner
        .strip_suffix(" days")
        .or_else(|| inner.strip_suffix(" day"))?;
    if num.is_empty() || !num.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    num.parse::<u32>().ok().filter(|n| *n >= 1)
}

/// Validates `autoTrainingConfig` inside `member`.
fn check_auto_training(member: &str, c: &Value) -> Result<()> {
    if let Some(expr) = c
        .get("autoTrainingConfig")
        .and_then(|a| a.get("schedulingExpression"))
    {
        let expr = expr.as_str().unwrap_or_default();
        let member = format!("{member}.autoTrainingConfig.schedulingExpression");
        check_len(&member, expr, 1, 16)?;
        if parse_rate(expr).is_none() {
            return Err(Error::invalid(format!(
                "1 validation error detected: Value '{expr}' at '{member}' failed to satisfy constraint: Member must satisfy regular expression pattern: rate\\(\\d+ days?\\)"
            )));
        }
    }
    Ok(())
}

/// Validates `eventsConfig` inside `member`.
fn check_events_config(member: &str, c: &Value) -> Result<()> {
    let Some(list) = c.get("eventsConfig").and_then(|e| e.get("eventParametersList")) else {
        return Ok(());
    };
    let Some(list) = list.as_array() else {
        return Err(Error::invalid(format!(
            "Value at '{member}.eventsConfig.eventParametersList' must be a list."
        )));
    };
    if list.len() > 10 {
        return Err(Error::invalid(format!(
            "1 validation error detected: Value at '{member}.eventsConfig.eventParametersList' failed to satisfy constraint: Member must have length less than or equal to 10"
        )));
    }
    for p in list {
        if let Some(w) = p.get("weight").filter(|w| !w.is_null()) {
            match w.as_f64() {
                Some(x) if (0.0..=1.0).contains(&x) => {}
                _ => {
                    return Err(Error::invalid(format!(
                        "1 validation error detected: Value at '{member}.eventsConfig.eventParametersList.member.weight' failed to satisfy constraint: Member must have value between 0 and 1"
                    )));
                }
            }
        }
    }
    Ok(())
}

/// Validates a `SolutionConfig`.
fn check_solution_config(c: &Value) -> Result<()> {
    let member = "solutionConfig";
    if let Some(t) = c.get("eventValueThreshold").and_then(Value::as_str) {
        check_len("solutionConfig.eventValueThreshold", t, 0, 256)?;
    }
    super::check_param_map(
        "solutionConfig.algorithmHyperParameters",
        c.get("algorithmHyperParameters"),
    )?;
    super::check_param_map(
        "solutionConfig.featureTransformationParameters",
        c.get("featureTransformationParameters"),
    )?;
    if let Some(s) = c
        .get("optimizationObjective")
        .and_then(|o| o.get("objectiveSensitivity"))
        .and_then(Value::as_str)
    {
        check_enum(
            "solutionConfig.optimizationObjective.objectiveSensitivity",
            s,
            &["LOW", "MEDIUM", "HIGH", "OFF"],
        )?;
    }
    if let Some(list) = c
        .get("autoMLConfig")
        .and_then(|a| a.get("recipeList"))
        .and_then(Value::as_array)
    {
        for r in list {
            let r = r.as_str().unwrap_or_default();
            check_arn("solutionConfig.autoMLConfig.recipeList.member", r)?;
            if catalog::recipe(r).is_none() {
                return Err(not_found(r));
            }
        }
    }
    check_auto_training(member, c)?;
    check_events_config(member, c)
}

/// `CreateSolution`.
pub(crate) fn create(store: &mut Store, cx: &Cx<'_>, m: &Members<'_>) -> Result<Value> {
    let name = m.str("name")?;
    check_name("name", name)?;
    let dsg_arn = m.arn("datasetGroupArn")?;
    let recipe_arn = m.opt_arn("recipeArn")?;
    let perform_hpo = m.opt_bool("performHPO")?.unwrap_or(false);
    let perform_auto_ml = m.opt_bool("performAutoML")?.unwrap_or(false);
    let perform_auto_training = m.opt_bool("performAutoTraining")?.unwrap_or(true);
    let perform_incremental_update = m.opt_bool("performIncrementalUpdate")?.unwrap_or(false);
    let event_type = m.opt_str("eventType")?;
    if let Some(e) = event_type {
        check_len("eventType", e, 0, 256)?;
    }
    let solution_config = opt_struct(m, "solutionConfig")?;
    if let Some(c) = &solution_config {
        check_solution_config(c)?;
    }
    let tags = crate::data::check_tags(m)?;

    let effective = match (recipe_arn, perform_auto_ml) {
        (Some(_), true) => {
            return Err(Error::invalid(
                "recipeArn must not be specified when performAutoML is true.",
            ));
        }
        (None, false) => {
            return Err(Error::invalid(
                "recipeArn is required when performAutoML is false.",
            ));
        }
        (Some(r), false) => catalog::recipe(r).ok_or_else(|| not_found(r))?,
        (None, true) => {
            // AutoML picks the first recipe of autoMLConfig.recipeList, or User-Personalization.
            let first = solution_config
                .as_ref()
                .and_then(|c| c.get("autoMLConfig"))
                .and_then(|a| a.get("recipeList"))
                .and_then(Value::as_array)
                .and_then(|l| l.first())
                .and_then(Value::as_str)
                .unwrap_or("arn:aws:personalize:::recipe/aws-user-personalization");
            catalog::recipe(first).ok_or_else(|| not_found(first))?
        }
    };
    if effective.domain.is_some() {
        return Err(Error::invalid(format!(
            "The recipe {} is a recommender use case. Use CreateRecommender to create a recommender with it.",
            effective.arn()
        )));
    }
    let group = crate::data::dataset_group_is_active(store, cx, dsg_arn)?;
    if group.domain.is_some() && effective.kind == RecipeType::PersonalizedActions {
        return Err(Error::invalid(format!(
            "The recipe {} cannot be used in a Domain dataset group.",
            effective.arn()
        )));
    }
    let arn = cx.arn("solution", name);
    if store.models.solutions.contains_key(&arn) {
        return Err(already_exists(&arn));
    }
    let in_group = store
        .models
        .solutions
        .values()
        .filter(|s| s.dataset_group_arn == dsg_arn)
        .count();
    if in_group >= limits::SOLUTIONS_PER_GROUP {
        return Err(Error::limit(format!(
            "The dataset group {dsg_arn} already has {in_group} solutions, the maximum allowed."
        )));
    }
    let meta = Meta::new(
        &mut store.models.seq,
        cx,
        arn.clone(),
        name,
        Lifecycle::create(cx.ctx.now, durations::SOLUTION),
    );
    store.models.solutions.insert(
        arn.clone(),
        Solution {
            meta,
            dataset_group_arn: dsg_arn.to_string(),
            recipe_arn: recipe_arn.map(str::to_string),
            effective_recipe: effective,
            perform_hpo,
            perform_auto_ml,
            perform_auto_training,
            perform_incremental_update,
            event_type: event_type.map(str::to_string),
            solution_config,
            latest_update: None,
        },
    );
    crate::data::register_tags(store, &arn, tags);
    Ok(json!({ "solutionArn": arn }))
}

/// `UpdateSolution`: auto training and events config; the update has its own lifecycle.
pub(crate) fn update(store: &mut Store, cx: &Cx<'_>, m: &Members<'_>) -> Result<Value> {
    let arn = one(&store.models.solutions, m, "solutionArn")?.meta.arn.clone();
    let auto = m.opt_bool("performAutoTraining")?;
    let incremental = m.opt_bool("performIncrementalUpdate")?;
    let config = opt_struct(m, "solutionUpdateConfig")?;
    if let Some(c) = &config {
        check_auto_training("solutionUpdateConfig", c)?;
        check_events_config("solutionUpdateConfig", c)?;
    }
    let Some(s) = store.models.solutions.get_mut(&arn) else {
        return Err(not_found(&arn));
    };
    let status = s.meta.status(cx);
    if status != "ACTIVE" {
        return Err(not_active(&arn, status));
    }
    if let Some(u) = &s.latest_update {
        let st = u.phase.status(cx.ctx.now, cx.config);
        if in_flight(st) {
            return Err(Error::in_use(format!(
                "The solution {arn} has an update in progress. Current update status: {st}."
            )));
        }
    }
    if let Some(a) = auto {
        s.perform_auto_training = a;
    }
    if let Some(i) = incremental {
        s.perform_incremental_update = i;
    }
    s.latest_update = Some(SolutionUpdate {
        config,
        perform_auto_training: s.perform_auto_training,
        perform_incremental_update: s.perform_incremental_update,
        phase: Lifecycle::create(cx.ctx.now, durations::SOLUTION),
        created: cx.ctx.now,
    });
    Ok(json!({ "solutionArn": arn }))
}

/// `DeleteSolution`: refused while campaigns use its versions or a version is training.
pub(crate) fn delete(store: &mut Store, cx: &Cx<'_>, m: &Members<'_>) -> Result<Value> {
    let s = one(&store.models.solutions, m, "solutionArn")?;
    let arn = s.meta.arn.clone();
    if s.meta.delete.is_some() {
        return Err(not_active(&arn, s.meta.status(cx)));
    }
    let st = &store.models;
    let versions: Vec<&super::SolutionVersion> =
        st.versions.values().filter(|v| v.solution_arn == arn).collect();
    if let Some(c) = st
        .campaigns
        .values()
        .find(|c| versions.iter().any(|v| c.uses_version(&v.meta.arn)))
    {
        return Err(Error::in_use(format!(
            "Solution {arn} is in use by campaign {}. Delete the campaign first.",
            c.meta.arn
        )));
    }
    if let Some(v) = versions.iter().find(|v| in_flight(v.status(cx))) {
        return Err(Error::in_use(format!(
            "Solution {arn} has a solution version in progress: {} ({}).",
            v.meta.arn,
            v.status(cx)
        )));
    }
    if let Some(s) = store.models.solutions.get_mut(&arn) {
        s.meta.start_delete(cx);
    }
    Ok(json!({}))
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use crate::ErrorKind;
    use crate::Operation::*;
    use serde_json::json;

    #[test]
    fn create_describe_list_lifecycle() {
        let mut h = Harness::new();
        let dsg = h.active_group("g1", None);
        let arn = h.ok(CreateSolution, json!({"name": "s1", "datasetGroupArn": dsg, "recipeArn": UP, "tags": [{"tagKey": "k", "tagValue": "v"}]}));
        let arn = arn["solutionArn"].as_str().unwrap().to_string();
        assert_eq!(arn, "arn:aws:personalize:us-east-1:123456789012:solution/s1");
        let d = h.ok(DescribeSolution, json!({"solutionArn": arn}));
        assert_eq!(d["solution"]["status"], "CREATE PENDING");
        assert_eq!(d["solution"]["performAutoTraining"], true);
        assert_eq!(d["solution"]["recipeArn"], UP);
        h.advance(6.0);
        assert_eq!(
            h.ok(DescribeSolution, json!({"solutionArn": arn}))["solution"]["status"],
            "CREATE IN_PROGRESS"
        );
        h.advance(20.0);
        let d = h.ok(DescribeSolution, json!({"solutionArn": arn}));
        assert_eq!(d["solution"]["status"], "ACTIVE");
        assert!(d["solution"]["lastUpdatedDateTime"].as_f64() > d["solution"]["creationDateTime"].as_f64());
        let l = h.ok(ListSolutions, json!({"datasetGroupArn": dsg}));
        assert_eq!(l["solutions"][0]["solutionArn"], arn.as_str());
        assert_eq!(l["solutions"][0]["recipeArn"], UP);
        let l = h.ok(
            ListSolutions,
            json!({"datasetGroupArn": "arn:aws:personalize:us-east-1:123456789012:dataset-group/other"}),
        );
        assert_eq!(l["solutions"].as_array().unwrap().len(), 0);
        let t = h.ok(crate::Operation::ListTagsForResource, json!({"resourceArn": arn}));
        assert_eq!(t["tags"][0]["tagKey"], "k");
    }

    #[test]
    fn create_errors() {
        let mut h = Harness::new();
        let dsg = h.active_group("g1", None);
        h.err(
            CreateSolution,
            json!({"datasetGroupArn": dsg, "recipeArn": UP}),
            ErrorKind::InvalidInput,
        );
        h.err(CreateSolution, json!({"name": "s1"}), ErrorKind::InvalidInput);
        h.err(
            CreateSolution,
            json!({"name": "-s", "datasetGroupArn": dsg, "recipeArn": UP}),
            ErrorKind::InvalidInput,
        );
        h.err(
            CreateSolution,
            json!({"name": "s", "datasetGroupArn": "bad", "recipeArn": UP}),
            ErrorKind::InvalidInput,
        );
        h.err(
            CreateSolution,
            json!({"name": "s", "datasetGroupArn": dsg}),
            ErrorKind::InvalidInput,
        );
        h.err(
            CreateSolution,
            json!({"name": "s", "datasetGroupArn": dsg, "recipeArn": UP, "performAutoML": true}),
            ErrorKind::InvalidInput,
        );
        h.err(
            CreateSolution,
            json!({"name": "s", "datasetGroupArn": dsg, "recipeArn": "arn:aws:personalize:::recipe/nope"}),
            ErrorKind::ResourceNotFound,
        );
        h.err(CreateSolution, json!({"name": "s", "datasetGroupArn": dsg, "recipeArn": "arn:aws:personalize:::recipe/aws-vod-top-picks"}), ErrorKind::InvalidInput);
        h.err(
            CreateSolution,
            json!({"name": "s", "datasetGroupArn": format!("{dsg}x"), "recipeArn": UP}),
            ErrorKind::ResourceNotFound,
        );
        h.err(CreateSolution, json!({"name": "s", "datasetGroupArn": dsg, "recipeArn": UP, "solutionConfig": {"autoTrainingConfig": {"schedulingExpression": "rate(1 week)"}}}), ErrorKind::InvalidInput);
        h.err(CreateSolution, json!({"name": "s", "datasetGroupArn": dsg, "recipeArn": UP, "solutionConfig": {"optimizationObjective": {"objectiveSensitivity": "MAX"}}}), ErrorKind::InvalidInput);
        h.err(
            CreateSolution,
            json!({"name": "s", "datasetGroupArn": dsg, "recipeArn": UP, "performHPO": "yes"}),
            ErrorKind::InvalidInput,
        );
        let pending = h.group("g2", None);
        h.err(
            CreateSolution,
            json!({"name": "s", "datasetGroupArn": pending, "recipeArn": UP}),
            ErrorKind::ResourceInUse,
        );
        h.ok(
            CreateSolution,
            json!({"name": "s", "datasetGroupArn": dsg, "recipeArn": UP}),
        );
        h.err(
            CreateSolution,
            json!({"name": "s", "datasetGroupArn": dsg, "recipeArn": UP}),
            ErrorKind::ResourceAlreadyExists,
        );
        for i in 1..10 {
            h.ok(
                CreateSolution,
                json!({"name": format!("s{i}"), "datasetGroupArn": dsg, "recipeArn": UP}),
            );
        }
        h.err(
            CreateSolution,
            json!({"name": "s10", "datasetGroupArn": dsg, "recipeArn": UP}),
            ErrorKind::LimitExceeded,
        );
    }

    #[test]
    fn automl_picks_a_recipe() {
        let mut h = Harness::new();
        let dsg = h.active_group("g1", None);
        let a = h.ok(
            CreateSolution,
            json!({"name": "s", "datasetGroupArn": dsg, "performAutoML": true,
            "solutionConfig": {"autoMLConfig": {"recipeList": ["arn:aws:personalize:::recipe/aws-hrnn"]}}}),
        );
        let d = h.ok(DescribeSolution, json!({"solutionArn": a["solutionArn"]}));
        assert_eq!(
            d["solution"]["autoMLResult"]["bestRecipeArn"],
            "arn:aws:personalize:::recipe/aws-hrnn"
        );
        assert!(d["solution"].get("recipeArn").is_none());
    }

    #[test]
    fn update_and_delete() {
        let mut h = Harness::new();
        let dsg = h.active_group("g1", None);
        let arn = h.ok(
            CreateSolution,
            json!({"name": "s", "datasetGroupArn": dsg, "recipeArn": UP}),
        )["solutionArn"]
            .clone();
        h.err(
            UpdateSolution,
            json!({"solutionArn": arn, "performAutoTraining": false}),
            ErrorKind::ResourceInUse,
        );
        h.advance(100.0);
        h.err(UpdateSolution, json!({"solutionArn": arn, "solutionUpdateConfig": {"autoTrainingConfig": {"schedulingExpression": "daily"}}}), ErrorKind::InvalidInput);
        h.ok(UpdateSolution, json!({"solutionArn": arn, "performAutoTraining": false, "solutionUpdateConfig": {"autoTrainingConfig": {"schedulingExpression": "rate(3 days)"}}}));
        h.err(
            UpdateSolution,
            json!({"solutionArn": arn}),
            ErrorKind::ResourceInUse,
        );
        let d = h.ok(DescribeSolution, json!({"solutionArn": arn}));
        assert_eq!(d["solution"]["performAutoTraining"], false);
        assert_eq!(d["solution"]["latestSolutionUpdate"]["status"], "CREATE PENDING");
        assert_eq!(
            d["solution"]["latestSolutionUpdate"]["solutionUpdateConfig"]["autoTrainingConfig"]["schedulingExpression"],
            "rate(3 days)"
        );
        h.err(
            DeleteSolution,
            json!({"solutionArn": format!("{}x", arn.as_str().unwrap())}),
            ErrorKind::ResourceNotFound,
        );
        h.ok(DeleteSolution, json!({"solutionArn": arn}));
        assert_eq!(
            h.ok(DescribeSolution, json!({"solutionArn": arn}))["solution"]["status"],
            "DELETE PENDING"
        );
        h.err(
            DeleteSolution,
            json!({"solutionArn": arn}),
            ErrorKind::ResourceInUse,
        );
        h.advance(100.0);
        h.err(
            DescribeSolution,
            json!({"solutionArn": arn}),
            ErrorKind::ResourceNotFound,
        );
    }

    #[test]
    fn rate_parsing() {
        assert_eq!(super::parse_rate("rate(7 days)"), Some(7));
        assert_eq!(super::parse_rate("rate(1 day)"), Some(1));
        assert_eq!(super::parse_rate("rate(0 days)"), None);
        assert_eq!(super::parse_rate("rate(x days)"), None);
    }
}
