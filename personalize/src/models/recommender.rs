//! Recommenders (domain use cases): Create, Describe, List, Update, Delete, Start and StopRecommender.

use serde_json::{Map, Value, json};
use time::OffsetDateTime;

use super::{
    Meta, already_exists, catalog, durations, in_flight, limits, not_active, not_found, put_opt, ts,
};
use crate::Store;
use crate::common::{Cx, Lifecycle, Members, check_name};
use crate::error::{Error, Result};
use crate::resource::one;

/// A recommender update (`latestRecommenderUpdate`).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub(crate) struct RecommenderUpdate {
    /// The config being applied.
    pub(crate) config: Value,
    /// The update lifecycle.
    pub(crate) phase: Lifecycle,
    /// When the update was asked for.
    pub(crate) created: OffsetDateTime,
}

/// A recommender.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub(crate) struct Recommender {
    /// ARN, name; `meta.phase` is the current transition (create, stop or start).
    pub(crate) meta: Meta,
    /// Its domain dataset group.
    pub(crate) dataset_group_arn: String,
    /// The use case.
    #[serde(with = "crate::common::statics::recipe")]
    pub(crate) recipe: &'static catalog::Recipe,
    /// `recommenderConfig` at creation (with the default request rate filled in).
    pub(crate) config: Value,
    /// Why training fails, decided from the data present at creation.
    pub(crate) failure: Option<String>,
    /// The last UpdateRecommender; its config becomes the recommender's once ACTIVE.
    pub(crate) update: Option<RecommenderUpdate>,
}

impl Recommender {
    /// The config in force at the call time.
    pub(crate) fn config(&self, cx: &Cx<'_>) -> &Value {
        match &self.update {
            Some(u) if u.phase.status(cx.ctx.now, cx.config) == "ACTIVE" => &u.config,
            _ => &self.config,
        }
    }

    fn last_updated(&self, cx: &Cx<'_>) -> OffsetDateTime {
        let t = self.meta.last_updated(cx);
        match &self.update {
            Some(u) if self.meta.delete.is_none() => t.max(u.phase.status_since(cx.ctx.now, cx.config)),
            _ => t,
        }
    }

    fn trained(&self, cx: &Cx<'_>) -> bool {
        self.failure.is_none() && self.create_done(cx) <= cx.ctx.now
    }

    fn create_done(&self, cx: &Cx<'_>) -> OffsetDateTime {
        Lifecycle::create(self.meta.created, durations::RECOMMENDER).finished_at(cx.config)
    }

    pub(crate) fn full(&self, cx: &Cx<'_>) -> Value {
        let status = self.meta.status(cx);
        let mut o = Map::new();
        o.insert("recommenderArn".into(), json!(self.meta.arn));
        o.insert("datasetGroupArn".into(), json!(self.dataset_group_arn));
        o.insert("name".into(), json!(self.meta.name));
        o.insert("recipeArn".into(), json!(self.recipe.arn()));
        o.insert("recommenderConfig".into(), self.config(cx).clone());
        o.insert("creationDateTime".into(), ts(self.meta.created));
        o.insert("lastUpdatedDateTime".into(), ts(self.last_updated(cx)));
        o.insert("status".into(), json!(status));
        if status == "CREATE FAILED" {
            put_opt(&mut o, "failureReason", self.failure.as_ref().map(|f| json!(f)));
        }
        if let Some(u) = &self.update {
            o.insert(
                "latestRecommenderUpdate".into(),
                json!({
                    "recommenderConfig": u.config,
                    "creationDateTime": ts(u.created),
                    "lastUpdatedDateTime": ts(u.phase.status_since(cx.ctx.now, cx.config)),
                    "status": u.phase.status(cx.ctx.now, cx.config),
                }),
            );
        }
        if self.trained(cx) {
            o.insert(
                "modelMetrics".into(),
                super::solution_version::offline_metrics(&self.meta.arn),
            );
        }
        Value::Object(o)
    }

    pub(crate) fn summary(&self, cx: &Cx<'_>) -> Value {
        json!({
            "name": self.meta.name,
            "recommenderArn": self.meta.arn,
            "datasetGroupArn": self.dataset_group_arn,
            "recipeArn": self.recipe.arn(),
            "recommenderConfig": self.config(cx),
            "status": self.meta.status(cx),
            "creationDateTime": ts(self.meta.created),
            "lastUpdatedDateTime": ts(self.last_updated(cx)),
        })
    }
}

/// Validates a `RecommenderConfig` and fills in `minRecommendationRequestsPerSecond` (1).
fn check_config(m: &Members<'_>, required: bool) -> Result<Value> {
    let c = match m.opt_obj("recommenderConfig")? {
        Some(c) => c.clone(),
        None if required => {
            m.str("recommenderConfig")?;
            Map::new()
        }
        None => Map::new(),
    };
    let wrapped = Value::Object(c);
    let cm = Members::new(&wrapped);
    super::check_param_map(
        "recommenderConfig.itemExplorationConfig",
        cm.raw("itemExplorationConfig"),
    )?;
    let rps = super::opt_tps(&cm, "minRecommendationRequestsPerSecond").map_err(|e| {
        Error::invalid(
            e.message
                .replace("'minRecommendation", "'recommenderConfig.minRecommendation"),
        )
    })?;
    cm.opt_bool("enableMetadataWithRecommendations")?;
    cm.opt_obj("trainingDataConfig")?;
    let mut out = wrapped.as_object().cloned().unwrap_or_default();
    out.insert(
        "minRecommendationRequestsPerSecond".into(),
        json!(rps.unwrap_or(1)),
    );
    Ok(Value::Object(out))
}

/// `CreateRecommender`: a domain recipe on a dataset group of the same domain.
pub(crate) fn create(store: &mut Store, cx: &Cx<'_>, m: &Members<'_>) -> Result<Value> {
    let name = m.str("name")?;
    check_name("name", name)?;
    let dsg_arn = m.arn("datasetGroupArn")?;
    let recipe_arn = m.arn("recipeArn")?;
    let config = check_config(m, false)?;
    let tags = crate::data::check_tags(m)?;
    let recipe = catalog::recipe(recipe_arn).ok_or_else(|| not_found(recipe_arn))?;
    let Some(recipe_domain) = recipe.domain else {
        return Err(Error::invalid(format!(
            "The recipe {recipe_arn} is not a recommender use case. Use CreateSolution for custom recipes."
        )));
    };
    let group = crate::data::dataset_group_is_active(store, cx, dsg_arn)?;
    match group.domain.as_deref() {
        Some(d) if d == recipe_domain => {}
        Some(d) => {
            return Err(Error::invalid(format!(
                "The recipe {recipe_arn} belongs to the {recipe_domain} domain, but the dataset group {dsg_arn} is a {d} dataset group."
            )));
        }
        None => {
            return Err(Error::invalid(format!(
                "The dataset group {dsg_arn} is not a Domain dataset group. Recommenders need a Domain dataset group."
            )));
        }
    }
    let arn = cx.arn("recommender", name);
    if store.models.recommenders.contains_key(&arn) {
        return Err(already_exists(&arn));
    }
    let in_group = store
        .models
        .recommenders
        .values()
        .filter(|r| r.dataset_group_arn == dsg_arn)
        .count();
    if in_group >= limits::RECOMMENDERS_PER_GROUP {
        return Err(Error::limit(format!(
            "The dataset group {dsg_arn} already has {in_group} recommenders, the maximum allowed."
        )));
    }
    let failure = (!crate::data::dataset_group_has_interactions(store, dsg_arn)).then(|| {
        format!(
            "Insufficient data for training: the dataset group {dsg_arn} has no interactions. Import interactions or record events before creating a recommender."
        )
    });
    let phase = Lifecycle {
        started: cx.ctx.now,
        steps: match failure {
            Some(_) => vec![
                ("CREATE PENDING", durations::PENDING),
                ("CREATE IN_PROGRESS", durations::TRAINING_FAIL),
                ("CREATE FAILED", 0.0),
            ],
            None => vec![
                ("CREATE PENDING", durations::PENDING),
                ("CREATE IN_PROGRESS", durations::RECOMMENDER),
                ("ACTIVE", 0.0),
            ],
        },
    };
    let meta = Meta::new(&mut store.models.seq, cx, arn.clone(), name, phase);
    store.models.recommenders.insert(
        arn.clone(),
        Recommender {
            meta,
            dataset_group_arn: dsg_arn.to_string(),
            recipe,
            config,
            failure,
            update: None,
        },
    );
    crate::data::register_tags(store, &arn, tags);
    Ok(json!({ "recommenderArn": arn }))
}

/// `UpdateRecommender`: a new config through `latestRecommenderUpdate`.
pub(crate) fn update(store: &mut Store, cx: &Cx<'_>, m: &Members<'_>) -> Result<Value> {
    let arn = one(&store.models.recommenders, m, "recommenderArn")?
        .meta
        .arn
        .clone();
    let config = check_config(m, true)?;
    let Some(r) = store.models.recommenders.get_mut(&arn) else {
        return Err(not_found(&arn));
    };
    let status = r.meta.status(cx);
    if status != "ACTIVE" {
        return Err(not_active(&arn, status));
    }
    if let Some(u) = &r.update {
        let st = u.phase.status(cx.ctx.now, cx.config);
        if in_flight(st) {
            return Err(Error::in_use(format!(
                "The recommender {arn} has an update in progress. Current update status: {st}."
            )));
        }
        r.config = u.config.clone();
    }
    r.update = Some(RecommenderUpdate {
        config,
        phase: Lifecycle::create(cx.ctx.now, durations::RECOMMENDER_UPDATE),
        created: cx.ctx.now,
    });
    Ok(json!({ "recommenderArn": arn }))
}

/// What `StopRecommender` and `StartRecommender` each move a recommender from, the statuses it
/// then passes through (pending, in progress, done), and how long it stays in progress.
type Transition = (&'static str, [&'static str; 3], f64);

/// `StopRecommender`: from ACTIVE to INACTIVE.
const STOP: Transition = (
    "ACTIVE",
    ["STOP PENDING", "STOP IN_PROGRESS", "INACTIVE"],
    durations::RECOMMENDER_STOP,
);

/// `StartRecommender`: from INACTIVE to ACTIVE.
const START: Transition = (
    "INACTIVE",
    ["START PENDING", "START IN_PROGRESS", "ACTIVE"],
    durations::RECOMMENDER_START,
);

/// Moves a recommender through a [`Transition`], if it is in the status the transition starts from.
fn transition(store: &mut Store, cx: &Cx<'_>, m: &Members<'_>, t: Transition) -> Result<Value> {
    let (from, [pending, in_progress, done], seconds) = t;
    let arn = one(&store.models.recommenders, m, "recommenderArn")?
        .meta
        .arn
        .clone();
    let Some(r) = store.models.recommenders.get_mut(&arn) else {
        return Err(not_found(&arn));
    };
    let status = r.meta.status(cx);
    if status != from {
        return Err(Error::in_use(format!(
            "The recommender {arn} must be in {from} state to perform this operation. Current status: {status}."
        )));
    }
    r.meta.phase = Lifecycle {
        started: cx.ctx.now,
        steps: vec![(pending, durations::PENDING), (in_progress, seconds), (done, 0.0)],
    };
    Ok(json!({ "recommenderArn": arn }))
}

/// `StopRecommender`.
pub(crate) fn stop(store: &mut Store, cx: &Cx<'_>, m: &Members<'_>) -> Result<Value> {
    transition(store, cx, m, STOP)
}

/// `StartRecommender`.
pub(crate) fn start(store: &mut Store, cx: &Cx<'_>, m: &Members<'_>) -> Result<Value> {
    transition(store, cx, m, START)
}

/// `DeleteRecommender`: refused while a transition is in progress.
pub(crate) fn delete(store: &mut Store, cx: &Cx<'_>, m: &Members<'_>) -> Result<Value> {
    let arn = one(&store.models.recommenders, m, "recommenderArn")?
        .meta
        .arn
        .clone();
    let Some(r) = store.models.recommenders.get_mut(&arn) else {
        return Err(not_found(&arn));
    };
    let status = r.meta.status(cx);
    if r.meta.delete.is_some() || in_flight(status) {
        return Err(Error::in_use(format!(
            "The recommender {arn} cannot be deleted in status {status}."
        )));
    }
    r.meta.start_delete(cx);
    Ok(json!({}))
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use crate::ErrorKind;
    use crate::Operation::*;
    use serde_json::json;

    const RFY: &str = "arn:aws:personalize:::recipe/aws-ecomm-recommended-for-you";

    #[test]
    fn lifecycle_stop_start_update_delete() {
        let mut h = Harness::new();
        let dsg = h.active_group("g", Some("ECOMMERCE"));
        h.with_interactions(&dsg, &[("u1", "a"), ("u2", "a")]);
        let r = h.ok(
            CreateRecommender,
            json!({"name": "r", "datasetGroupArn": dsg, "recipeArn": RFY}),
        );
        let r = r["recommenderArn"].as_str().unwrap().to_string();
        assert_eq!(r, "arn:aws:personalize:us-east-1:123456789012:recommender/r");
        let d = h.ok(DescribeRecommender, json!({"recommenderArn": r}));
        assert_eq!(d["recommender"]["status"], "CREATE PENDING");
        assert_eq!(
            d["recommender"]["recommenderConfig"]["minRecommendationRequestsPerSecond"],
            1
        );
        assert!(d["recommender"].get("modelMetrics").is_none());
        h.err(
            StopRecommender,
            json!({"recommenderArn": r}),
            ErrorKind::ResourceInUse,
        );
        h.err(
            DeleteRecommender,
            json!({"recommenderArn": r}),
            ErrorKind::ResourceInUse,
        );
        h.advance(1810.0);
        let d = h.ok(DescribeRecommender, json!({"recommenderArn": r}));
        assert_eq!(d["recommender"]["status"], "ACTIVE");
        assert!(d["recommender"]["modelMetrics"]["coverage"].is_number());
        h.err(
            StartRecommender,
            json!({"recommenderArn": r}),
            ErrorKind::ResourceInUse,
        );
        assert_eq!(
            h.ok(StopRecommender, json!({"recommenderArn": r}))["recommenderArn"],
            r.as_str()
        );
        assert_eq!(
            h.ok(DescribeRecommender, json!({"recommenderArn": r}))["recommender"]["status"],
            "STOP PENDING"
        );
        h.advance(10.0);
        assert_eq!(
            h.ok(DescribeRecommender, json!({"recommenderArn": r}))["recommender"]["status"],
            "STOP IN_PROGRESS"
        );
        h.advance(60.0);
        assert_eq!(
            h.ok(DescribeRecommender, json!({"recommenderArn": r}))["recommender"]["status"],
            "INACTIVE"
        );
        h.ok(StartRecommender, json!({"recommenderArn": r}));
        assert_eq!(
            h.ok(DescribeRecommender, json!({"recommenderArn": r}))["recommender"]["status"],
            "START PENDING"
        );
        h.advance(10.0);
        assert_eq!(
            h.ok(DescribeRecommender, json!({"recommenderArn": r}))["recommender"]["status"],
            "START IN_PROGRESS"
        );
        h.advance(300.0);
        assert_eq!(
            h.ok(DescribeRecommender, json!({"recommenderArn": r}))["recommender"]["status"],
            "ACTIVE"
        );
        h.err(
            UpdateRecommender,
            json!({"recommenderArn": r}),
            ErrorKind::InvalidInput,
        );
        h.err(
            UpdateRecommender,
            json!({"recommenderArn": r, "recommenderConfig": {"minRecommendationRequestsPerSecond": 0}}),
            ErrorKind::InvalidInput,
        );
        h.ok(
            UpdateRecommender,
            json!({"recommenderArn": r, "recommenderConfig": {"minRecommendationRequestsPerSecond": 3}}),
        );
        h.err(
            UpdateRecommender,
            json!({"recommenderArn": r, "recommenderConfig": {}}),
            ErrorKind::ResourceInUse,
        );
        let d = h.ok(DescribeRecommender, json!({"recommenderArn": r}));
        assert_eq!(
            d["recommender"]["latestRecommenderUpdate"]["status"],
            "CREATE PENDING"
        );
        assert_eq!(
            d["recommender"]["recommenderConfig"]["minRecommendationRequestsPerSecond"],
            1
        );
        h.advance(400.0);
        let l = h.ok(ListRecommenders, json!({"datasetGroupArn": dsg}));
        assert_eq!(
            l["recommenders"][0]["recommenderConfig"]["minRecommendationRequestsPerSecond"],
            3
        );
        assert_eq!(l["recommenders"][0]["recipeArn"], RFY);
        h.ok(DeleteRecommender, json!({"recommenderArn": r}));
        assert_eq!(
            h.ok(DescribeRecommender, json!({"recommenderArn": r}))["recommender"]["status"],
            "DELETE PENDING"
        );
        h.advance(20.0);
        h.err(
            DescribeRecommender,
            json!({"recommenderArn": r}),
            ErrorKind::ResourceNotFound,
        );
    }

    #[test]
    fn create_errors_and_failure() {
        let mut h = Harness::new();
        let custom = h.active_group("custom", None);
        let vod = h.active_group("vod", Some("VIDEO_ON_DEMAND"));
        let ecomm = h.active_group("ecomm", Some("ECOMMERCE"));
        h.err(
            CreateRecommender,
            json!({"name": "r", "datasetGroupArn": ecomm}),
            ErrorKind::InvalidInput,
        );
        h.err(
            CreateRecommender,
            json!({"name": "r", "datasetGroupArn": ecomm, "recipeArn": UP}),
            ErrorKind::InvalidInput,
        );
        h.err(
            CreateRecommender,
            json!({"name": "r", "datasetGroupArn": custom, "recipeArn": RFY}),
            ErrorKind::InvalidInput,
        );
        h.err(
            CreateRecommender,
            json!({"name": "r", "datasetGroupArn": vod, "recipeArn": RFY}),
            ErrorKind::InvalidInput,
        );
        h.err(CreateRecommender, json!({"name": "r", "datasetGroupArn": ecomm, "recipeArn": "arn:aws:personalize:::recipe/aws-ecomm-nope"}), ErrorKind::ResourceNotFound);
        h.err(
            CreateRecommender,
            json!({"name": "r", "datasetGroupArn": format!("{ecomm}x"), "recipeArn": RFY}),
            ErrorKind::ResourceNotFound,
        );
        h.err(CreateRecommender, json!({"name": "r", "datasetGroupArn": ecomm, "recipeArn": RFY, "recommenderConfig": {"minRecommendationRequestsPerSecond": -1}}), ErrorKind::InvalidInput);
        let r = h.ok(
            CreateRecommender,
            json!({"name": "r", "datasetGroupArn": ecomm, "recipeArn": RFY}),
        )["recommenderArn"]
            .clone();
        h.err(
            CreateRecommender,
            json!({"name": "r", "datasetGroupArn": ecomm, "recipeArn": RFY}),
            ErrorKind::ResourceAlreadyExists,
        );
        for i in 1..5 {
            h.ok(
                CreateRecommender,
                json!({"name": format!("r{i}"), "datasetGroupArn": ecomm, "recipeArn": RFY}),
            );
        }
        h.err(
            CreateRecommender,
            json!({"name": "r5", "datasetGroupArn": ecomm, "recipeArn": RFY}),
            ErrorKind::LimitExceeded,
        );
        h.advance(100.0);
        let d = h.ok(DescribeRecommender, json!({"recommenderArn": r}));
        assert_eq!(d["recommender"]["status"], "CREATE FAILED");
        assert!(
            d["recommender"]["failureReason"]
                .as_str()
                .unwrap()
                .contains("no interactions")
        );
        h.err(
            StopRecommender,
            json!({"recommenderArn": r}),
            ErrorKind::ResourceInUse,
        );
        h.ok(DeleteRecommender, json!({"recommenderArn": r}));
        h.err(
            DescribeRecommender,
            json!({"recommenderArn": "nope"}),
            ErrorKind::InvalidInput,
        );
    }
}
