//! Batch inference jobs (CreateBatchInferenceJob, DescribeBatchInferenceJob,
//! ListBatchInferenceJobs), and the job record shared with batch segment jobs.

use serde_json::{Map, Value, json};

use super::catalog::RecipeType;
use super::{
    Meta, already_exists, check_inference_config, durations, in_flight, limits, not_active, not_found,
    opt_struct, put_opt, ts,
};
use crate::Store;
use crate::common::{Cx, Lifecycle, Members, check_enum, check_name, check_role_arn};
use crate::error::{Error, Result};

/// Which of the two batch job kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) enum Kind {
    /// Batch inference (items or rankings per input line).
    Inference,
    /// Batch segment (users per item or item attribute).
    Segment,
}

impl Kind {
    fn arn_kind(self) -> &'static str {
        match self {
            Kind::Inference => "batch-inference-job",
            Kind::Segment => "batch-segment-job",
        }
    }
    fn arn_member(self) -> &'static str {
        match self {
            Kind::Inference => "batchInferenceJobArn",
            Kind::Segment => "batchSegmentJobArn",
        }
    }
}

/// A batch inference or batch segment job. The emulator has no S3: the job validates its
/// input, runs its lifecycle and becomes ACTIVE, but writes no output file.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub(crate) struct BatchJob {
    /// ARN, job name, lifecycle.
    pub(crate) meta: Meta,
    /// Inference or segment.
    pub(crate) kind: Kind,
    /// The model.
    pub(crate) solution_version_arn: String,
    /// The filter, if any.
    pub(crate) filter_arn: Option<String>,
    /// Results per input line.
    pub(crate) num_results: Option<i64>,
    /// `jobInput` as sent.
    pub(crate) job_input: Value,
    /// `jobOutput` as sent.
    pub(crate) job_output: Value,
    /// The role Personalize assumes for S3.
    pub(crate) role_arn: String,
    /// `batchInferenceJobConfig` as sent.
    pub(crate) config: Option<Value>,
    /// `batchInferenceJobMode` (inference only).
    #[serde(deserialize_with = "crate::common::statics::opt_str")]
    pub(crate) mode: Option<crate::common::statics::Str>,
    /// `themeGenerationConfig` as sent.
    pub(crate) theme: Option<Value>,
}

/// The batch inference job record.
pub(crate) type BatchInferenceJob = BatchJob;

impl BatchJob {
    pub(crate) fn full(&self, cx: &Cx<'_>) -> Value {
        let mut o = Map::new();
        o.insert("jobName".into(), json!(self.meta.name));
        o.insert(self.kind.arn_member().into(), json!(self.meta.arn));
        put_opt(&mut o, "filterArn", self.filter_arn.as_ref().map(|f| json!(f)));
        o.insert("solutionVersionArn".into(), json!(self.solution_version_arn));
        put_opt(&mut o, "numResults", self.num_results.map(|n| json!(n)));
        o.insert("jobInput".into(), self.job_input.clone());
        o.insert("jobOutput".into(), self.job_output.clone());
        if self.kind == Kind::Inference {
            put_opt(&mut o, "batchInferenceJobConfig", self.config.clone());
        }
        o.insert("roleArn".into(), json!(self.role_arn));
        put_opt(&mut o, "batchInferenceJobMode", self.mode.map(|m| json!(m)));
        put_opt(&mut o, "themeGenerationConfig", self.theme.clone());
        o.insert("status".into(), json!(self.meta.status(cx)));
        o.insert("creationDateTime".into(), ts(self.meta.created));
        o.insert("lastUpdatedDateTime".into(), ts(self.meta.last_updated(cx)));
        Value::Object(o)
    }

    pub(crate) fn summary(&self, cx: &Cx<'_>) -> Value {
        let mut o = Map::new();
        o.insert(self.kind.arn_member().into(), json!(self.meta.arn));
        o.insert("jobName".into(), json!(self.meta.name));
        o.insert("status".into(), json!(self.meta.status(cx)));
        o.insert("creationDateTime".into(), ts(self.meta.created));
        o.insert("lastUpdatedDateTime".into(), ts(self.meta.last_updated(cx)));
        o.insert("solutionVersionArn".into(), json!(self.solution_version_arn));
        put_opt(&mut o, "batchInferenceJobMode", self.mode.map(|m| json!(m)));
        Value::Object(o)
    }
}

fn jobs(store: &Store, kind: Kind) -> &std::collections::BTreeMap<String, BatchJob> {
    match kind {
        Kind::Inference => &store.models.batch_inference_jobs,
        Kind::Segment => &store.models.batch_segment_jobs,
    }
}

/// Creates a batch job of `kind` after validating it as the service does.
pub(crate) fn create_job(store: &mut Store, cx: &Cx<'_>, m: &Members<'_>, kind: Kind) -> Result<Value> {
    let name = m.str("jobName")?;
    check_name("jobName", name)?;
    let version = m.arn("solutionVersionArn")?;
    let (input_member, output_member) = ("jobInput", "jobOutput");
    let job_input = super::check_s3_config(m, input_member, "s3DataSource")?;
    let job_output = super::check_s3_config(m, output_member, "s3DataDestination")?;
    let role = m.str("roleArn")?;
    check_role_arn("roleArn", role)?;
    let filter_arn = m.opt_arn("filterArn")?;
    let num_results = m.opt_i64("numResults")?;
    if let Some(n) = num_results
        && n < 0
    {
        return Err(Error::invalid(format!(
            "1 validation error detected: Value '{n}' at 'numResults' failed to satisfy constraint: Member must have value greater than or equal to 0"
        )));
    }
    let (config, mode, theme) = if kind == Kind::Inference {
        let config = opt_struct(m, "batchInferenceJobConfig")?;
        check_inference_config("batchInferenceJobConfig", config.as_ref())?;
        let mode = match m.opt_str("batchInferenceJobMode")? {
            None => "BATCH_INFERENCE",
            Some(s) => {
                check_enum(
                    "batchInferenceJobMode",
                    s,
                    &["BATCH_INFERENCE", "THEME_GENERATION"],
                )?;
                if s == "THEME_GENERATION" {
                    "THEME_GENERATION"
                } else {
                    "BATCH_INFERENCE"
                }
            }
        };
        let theme = opt_struct(m, "themeGenerationConfig")?;
        if let Some(t) = &theme {
            let item_name = t.get("fieldsForThemeGeneration").and_then(|f| f.get("itemName"));
            if !item_name.is_some_and(Value::is_string) {
                return Err(super::missing(
                    "themeGenerationConfig.fieldsForThemeGeneration.itemName",
                ));
            }
        }
        if mode == "THEME_GENERATION" && theme.is_none() {
            return Err(Error::invalid(
                "themeGenerationConfig is required when batchInferenceJobMode is THEME_GENERATION.",
            ));
        }
        (config, Some(mode), theme)
    } else {
        (None, None, None)
    };
    let tags = crate::data::check_tags(m)?;
    let arn = cx.arn(kind.arn_kind(), name);
    if jobs(store, kind).contains_key(&arn) {
        return Err(already_exists(&arn));
    }
    let v = store
        .models
        .versions
        .get(version)
        .ok_or_else(|| not_found(version))?;
    let status = v.status(cx);
    if status != "ACTIVE" {
        return Err(not_active(version, status));
    }
    let recipe = v.recipe;
    match kind {
        Kind::Segment if recipe.kind != RecipeType::UserSegmentation => {
            return Err(Error::invalid(format!(
                "Batch segment jobs need a solution version trained with a USER_SEGMENTATION recipe; {version} uses {}.",
                recipe.name
            )));
        }
        Kind::Inference if recipe.kind == RecipeType::UserSegmentation => {
            return Err(Error::invalid(format!(
                "Solution versions trained with {} create user segments. Use CreateBatchSegmentJob.",
                recipe.name
            )));
        }
        Kind::Inference if recipe.scoring == super::catalog::Scoring::Trending => {
            return Err(Error::invalid(format!(
                "Batch recommendations are not available for solution versions trained with {}.",
                recipe.name
            )));
        }
        Kind::Inference
            if mode == Some("THEME_GENERATION")
                && !matches!(recipe.name, "aws-similar-items" | "aws-semantic-similarity") =>
        {
            return Err(Error::invalid(format!(
                "THEME_GENERATION needs a solution version trained with aws-similar-items; {version} uses {}.",
                recipe.name
            )));
        }
        _ => {}
    }
    if let Some(f) = filter_arn {
        let filter = crate::data::filter(store, f).ok_or_else(|| not_found(f))?;
        if filter.dataset_group_arn != v.dataset_group_arn {
            return Err(Error::invalid(format!(
                "The filter {f} belongs to another dataset group than the solution version {version}."
            )));
        }
    }
    let running = jobs(store, kind)
        .values()
        .filter(|j| in_flight(j.meta.status(cx)))
        .count();
    if running >= limits::BATCH_JOBS_IN_FLIGHT {
        return Err(Error::limit(format!(
            "More than {} resources with PENDING or IN_PROGRESS status.",
            limits::BATCH_JOBS_IN_FLIGHT
        )));
    }
    let meta = Meta::new(
        &mut store.models.seq,
        cx,
        arn.clone(),
        name,
        Lifecycle::create(cx.ctx.now, durations::BATCH_JOB),
    );
    let job = BatchJob {
        meta,
        kind,
        solution_version_arn: version.to_string(),
        filter_arn: filter_arn.map(str::to_string),
        num_results: match kind {
            // Batch inference answers 25 results per line unless told otherwise.
            Kind::Inference => Some(num_results.unwrap_or(25)),
            Kind::Segment => num_results,
        },
        job_input,
        job_output,
        role_arn: role.to_string(),
        config,
        mode,
        theme,
    };
    match kind {
        Kind::Inference => store.models.batch_inference_jobs.insert(arn.clone(), job),
        Kind::Segment => store.models.batch_segment_jobs.insert(arn.clone(), job),
    };
    crate::data::register_tags(store, &arn, tags);
    Ok(json!({ kind.arn_member(): arn }))
}

/// `CreateBatchInferenceJob`.
pub(crate) fn create(store: &mut Store, cx: &Cx<'_>, m: &Members<'_>) -> Result<Value> {
    create_job(store, cx, m, Kind::Inference)
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use crate::ErrorKind;
    use crate::Operation::*;
    use serde_json::{Value, json};

    pub(crate) fn body(name: &str, version: &Value) -> Value {
        json!({"jobName": name, "solutionVersionArn": version,
            "jobInput": {"s3DataSource": {"path": "s3://bucket/in.json"}},
            "jobOutput": {"s3DataDestination": {"path": "s3://bucket/out/"}},
            "roleArn": "arn:aws:iam::123456789012:role/PersonalizeRole"})
    }

    #[test]
    fn lifecycle_and_listing() {
        let mut h = Harness::new();
        let dsg = h.active_group("g", None);
        h.with_interactions(&dsg, &[("u1", "a")]);
        let sol = h.active_solution("s", &dsg, UP);
        let v = json!(h.trained_version(&sol));
        let a = h.ok(CreateBatchInferenceJob, body("j1", &v))["batchInferenceJobArn"].clone();
        assert_eq!(
            a,
            "arn:aws:personalize:us-east-1:123456789012:batch-inference-job/j1"
        );
        let d = h.ok(DescribeBatchInferenceJob, json!({"batchInferenceJobArn": a}));
        assert_eq!(d["batchInferenceJob"]["status"], "CREATE PENDING");
        assert_eq!(d["batchInferenceJob"]["numResults"], 25);
        assert_eq!(d["batchInferenceJob"]["batchInferenceJobMode"], "BATCH_INFERENCE");
        assert_eq!(
            d["batchInferenceJob"]["jobInput"]["s3DataSource"]["path"],
            "s3://bucket/in.json"
        );
        h.advance(700.0);
        assert_eq!(
            h.ok(DescribeBatchInferenceJob, json!({"batchInferenceJobArn": a}))["batchInferenceJob"]["status"],
            "ACTIVE"
        );
        h.ok(CreateBatchInferenceJob, body("j2", &v));
        let l = h.ok(
            ListBatchInferenceJobs,
            json!({"solutionVersionArn": v, "maxResults": 1}),
        );
        assert_eq!(l["batchInferenceJobs"][0]["jobName"], "j2");
        assert!(l["nextToken"].is_string());
        let l = h.ok(
            ListBatchInferenceJobs,
            json!({"solutionVersionArn": "arn:aws:personalize:us-east-1:123456789012:solution/x/00000000"}),
        );
        assert_eq!(l["batchInferenceJobs"].as_array().unwrap().len(), 0);
    }

    #[test]
    fn errors() {
        let mut h = Harness::new();
        let dsg = h.active_group("g", None);
        h.with_interactions(&dsg, &[("u1", "a")]);
        let sol = h.active_solution("s", &dsg, UP);
        let v = json!(h.trained_version(&sol));
        let mut b = body("j", &v);
        b.as_object_mut().unwrap().remove("roleArn");
        h.err(CreateBatchInferenceJob, b, ErrorKind::InvalidInput);
        let mut b = body("j", &v);
        b["roleArn"] = json!("arn:aws:iam::123:role/x");
        h.err(CreateBatchInferenceJob, b, ErrorKind::InvalidInput);
        let mut b = body("j", &v);
        b["jobInput"] = json!({"s3DataSource": {"path": "ftp://x"}});
        h.err(CreateBatchInferenceJob, b, ErrorKind::InvalidInput);
        let mut b = body("j", &v);
        b["jobOutput"] = json!({});
        h.err(CreateBatchInferenceJob, b, ErrorKind::InvalidInput);
        let mut b = body("j", &v);
        b["batchInferenceJobMode"] = json!("FAST");
        h.err(CreateBatchInferenceJob, b, ErrorKind::InvalidInput);
        let mut b = body("j", &v);
        b["batchInferenceJobMode"] = json!("THEME_GENERATION");
        h.err(CreateBatchInferenceJob, b, ErrorKind::InvalidInput);
        let mut b = body("j", &v);
        b["filterArn"] = json!(h.arn("filter/none"));
        h.err(CreateBatchInferenceJob, b, ErrorKind::ResourceNotFound);
        h.err(
            CreateBatchInferenceJob,
            body("j", &json!(format!("{sol}/00000000"))),
            ErrorKind::ResourceNotFound,
        );
        let pending = h.ok(CreateSolutionVersion, json!({"solutionArn": sol}))["solutionVersionArn"].clone();
        h.err(
            CreateBatchInferenceJob,
            body("j", &pending),
            ErrorKind::ResourceInUse,
        );
        for i in 0..5 {
            h.ok(CreateBatchInferenceJob, body(&format!("j{i}"), &v));
        }
        h.err(
            CreateBatchInferenceJob,
            body("j0", &v),
            ErrorKind::ResourceAlreadyExists,
        );
        h.err(CreateBatchInferenceJob, body("j5", &v), ErrorKind::LimitExceeded);
        h.err(
            DescribeBatchInferenceJob,
            json!({"batchInferenceJobArn": h.arn("batch-inference-job/zz")}),
            ErrorKind::ResourceNotFound,
        );
        h.err(DescribeBatchInferenceJob, json!({}), ErrorKind::InvalidInput);
        let seg = h.active_solution("seg", &dsg, "arn:aws:personalize:::recipe/aws-item-affinity");
        let sv = json!(h.trained_version(&seg));
        h.err(CreateBatchInferenceJob, body("k", &sv), ErrorKind::InvalidInput);
        let sim = h.active_solution("sim", &dsg, "arn:aws:personalize:::recipe/aws-similar-items");
        let simv = json!(h.trained_version(&sim));
        let mut b = body("theme", &simv);
        b["batchInferenceJobMode"] = json!("THEME_GENERATION");
        b["themeGenerationConfig"] = json!({"fieldsForThemeGeneration": {}});
        h.err(CreateBatchInferenceJob, b.clone(), ErrorKind::InvalidInput);
        b["themeGenerationConfig"] = json!({"fieldsForThemeGeneration": {"itemName": "TITLE"}});
        let t = h.ok(CreateBatchInferenceJob, b)["batchInferenceJobArn"].clone();
        let d = h.ok(DescribeBatchInferenceJob, json!({"batchInferenceJobArn": t}));
        assert_eq!(
            d["batchInferenceJob"]["batchInferenceJobMode"],
            "THEME_GENERATION"
        );
        assert_eq!(
            d["batchInferenceJob"]["themeGenerationConfig"]["fieldsForThemeGeneration"]["itemName"],
            "TITLE"
        );
        let mut b = body("theme2", &v);
        b["batchInferenceJobMode"] = json!("THEME_GENERATION");
        b["themeGenerationConfig"] = json!({"fieldsForThemeGeneration": {"itemName": "TITLE"}});
        h.err(CreateBatchInferenceJob, b, ErrorKind::InvalidInput);
        let tr = h.active_solution("tr", &dsg, "arn:aws:personalize:::recipe/aws-trending-now");
        let tv = json!(h.trained_version(&tr));
        h.err(CreateBatchInferenceJob, body("k", &tv), ErrorKind::InvalidInput);
    }
}
