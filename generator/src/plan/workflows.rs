//! Workflow scripts: the full Personalize pipeline and the service's automatic retraining, as
//! steps with think times and polls, and their offline timelines.

use rand::RngExt;
use serde_json::{Value, json};

use crate::calls::{self, Content};
use crate::inventory::{self, Inventory};
use crate::ops::{self, Kind, OpSpec};
use crate::rng::{self, Rng};

/// A workflow instance as live mode runs it: one principal, from one address, step after step.
#[derive(Debug, Clone)]
pub struct Workflow {
    /// The behaviour's name, for logs.
    pub name: String,
    /// Index into the population's principals.
    pub principal: usize,
    /// The address the script runs from.
    pub source_ip: String,
    /// The steps, each with the user agent that sends it.
    pub steps: Vec<(WorkflowStep, String)>,
    /// Live waits are the real-world waits times this (the behaviour's `live_time_scale`).
    pub time_scale: f64,
}

/// What a polling step waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Until {
    /// The resource's `status` is `ACTIVE`. A status ending in `FAILED` or `STOPPED` ends the
    /// workflow, as a careful script would stop there.
    Active,
    /// The resource is gone: the Describe call answers `ResourceNotFoundException`.
    Gone,
}

/// A Describe call repeated until the resource reaches a state.
#[derive(Debug, Clone, PartialEq)]
pub struct Poll {
    /// The state waited for.
    pub until: Until,
    /// Real-world seconds between polls.
    pub every_secs: f64,
    /// The script gives up after this many polls.
    pub max: u32,
    /// Offline: the gap in milliseconds before each recorded poll; the last one finds the
    /// resource in the state waited for.
    pub offline_gaps_ms: Vec<i64>,
}

/// One step of a workflow script.
#[derive(Debug, Clone, PartialEq)]
pub struct WorkflowStep {
    /// Real-world think time before the step, milliseconds.
    pub delay_ms: i64,
    /// The operation.
    pub op: &'static OpSpec,
    /// The call as planned. Identifiers the server makes (a solution version's ARN, an event
    /// tracker's ARN and tracking ID) are the planned ones; live mode replaces them in later
    /// steps with the ones the responses named.
    pub content: Content,
    /// `Some` when the step is a Describe call repeated until the resource is ready or gone.
    pub poll: Option<Poll>,
}

/// The offline timeline of a script: `(offset ms, operation, content)`, polls expanded into the
/// Describe calls a run makes, in the same order live mode sends them.
pub fn timeline(steps: &[WorkflowStep]) -> Vec<(i64, &'static OpSpec, Content)> {
    let mut out = Vec::new();
    let mut t = 0i64;
    for s in steps {
        t += s.delay_ms;
        let Some(p) = &s.poll else {
            out.push((t, s.op, s.content.clone()));
            continue;
        };
        let n = p.offline_gaps_ms.len();
        for (i, gap) in p.offline_gaps_ms.iter().enumerate() {
            t += gap;
            let mut c = s.content.clone();
            if p.until == Until::Gone && i + 1 == n {
                let arn = c
                    .body
                    .get(s.op.kind.arn_member())
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned();
                c.error = Some((
                    "ResourceNotFoundException".to_owned(),
                    format!("Resource Arn {arn} does not exist."),
                ));
            }
            out.push((t, s.op, c));
        }
    }
    out
}

fn op(name: &str) -> &'static OpSpec {
    // Workflow steps name operations from the fixed table; a typo is caught by the unit tests.
    ops::get(name).unwrap_or(&ops::OPS[0])
}

fn ok(body: Value, response: Option<Value>) -> Content {
    Content {
        body,
        response,
        error: None,
        tracker_arn: None,
    }
}

struct Script<'r> {
    rng: &'r mut Rng,
    pending_ms: i64,
    steps: Vec<WorkflowStep>,
}

impl Script<'_> {
    fn wait(&mut self, min_s: f64, max_s: f64) {
        self.pending_ms += (self.rng.random_range(min_s..max_s) * 1000.0) as i64;
    }

    fn call(&mut self, name: &str, content: Content) {
        let delay_ms = std::mem::take(&mut self.pending_ms);
        self.steps.push(WorkflowStep {
            delay_ms,
            op: op(name),
            content,
            poll: None,
        });
    }

    /// Describe calls every `every` seconds until the resource is `until`, giving up after
    /// `timeout` seconds; offline records `offline` of them (with jitter).
    fn poll(&mut self, name: &str, arn: &str, until: Until, offline: (u32, u32), every: f64, timeout: f64) {
        let spec = op(name);
        let n = self.rng.random_range(offline.0..=offline.1).max(1);
        let gaps = (0..n)
            .map(|_| (self.rng.random_range(every * 0.8..every * 1.2) * 1000.0) as i64)
            .collect();
        let delay_ms = std::mem::take(&mut self.pending_ms);
        self.steps.push(WorkflowStep {
            delay_ms,
            op: spec,
            content: ok(json!({ spec.kind.arn_member(): arn }), None),
            poll: Some(Poll {
                until,
                every_secs: every,
                max: (timeout / every).ceil().max(1.0) as u32,
                offline_gaps_ms: gaps,
            }),
        });
    }
}

/// The full workflow as a careful engineer scripts it: build, train, deploy, serve `traffic`
/// calls, clean up, each step after the previous one's answer, waiting for every resource to be
/// ACTIVE before using it and for every deletion to finish before deleting what it depended on.
pub(super) fn ml_pipeline(inv: &Inventory, rng: &mut Rng, traffic: u32) -> Vec<WorkflowStep> {
    use Until::{Active, Gone};
    let base = format!("{}-{}", inventory::base_name(rng), rng.random_range(1000..10_000));
    let (region, account) = (inv.region.clone(), inv.account.clone());
    let arn = |k: Kind, id: &str| inventory::arn(&region, &account, k, id);
    let role = format!("arn:aws:iam::{account}:role/service-role/AmazonPersonalize-ExecutionRole");
    let dsg = arn(Kind::DatasetGroup, &base);
    let mut s = Script {
        rng,
        pending_ms: 0,
        steps: Vec::new(),
    };

    s.call(
        "CreateDatasetGroup",
        ok(
            json!({"name": base, "domain": "ECOMMERCE"}),
            Some(json!({"datasetGroupArn": dsg, "domain": "ECOMMERCE"})),
        ),
    );
    s.poll("DescribeDatasetGroup", &dsg, Active, (2, 4), 10.0, 900.0);

    let mut datasets = Vec::new();
    let mut schemas = Vec::new();
    for t in ["Interactions", "Items", "Users"] {
        s.wait(2.0, 8.0);
        let schema_name = format!("{base}-{}", t.to_ascii_lowercase());
        let schema_arn = arn(Kind::Schema, &schema_name);
        s.call(
            "CreateSchema",
            ok(
                json!({"name": schema_name, "schema": calls::avro_schema(t), "domain": "ECOMMERCE"}),
                Some(json!({"schemaArn": schema_arn})),
            ),
        );
        s.wait(2.0, 6.0);
        let ds_arn = arn(Kind::Dataset, &format!("{base}/{}", t.to_ascii_uppercase()));
        s.call(
            "CreateDataset",
            ok(
                json!({"name": format!("{base}-{}", t.to_ascii_lowercase()), "schemaArn": schema_arn, "datasetGroupArn": dsg, "datasetType": t}),
                Some(json!({"datasetArn": ds_arn})),
            ),
        );
        s.poll("DescribeDataset", &ds_arn, Active, (1, 3), 8.0, 900.0);
        schemas.push(schema_arn);
        datasets.push((t, ds_arn));
    }
    // One import at a time: at most five may run per account and Region.
    for (t, ds_arn) in &datasets {
        s.wait(5.0, 20.0);
        let job = format!("{base}-{}-import", t.to_ascii_lowercase());
        let job_arn = arn(Kind::DatasetImportJob, &job);
        s.call(
            "CreateDatasetImportJob",
            ok(
                json!({"jobName": job, "datasetArn": ds_arn, "dataSource": {"dataLocation": format!("s3://personalize-{account}-{region}/{base}/{}.csv", t.to_ascii_lowercase())}, "roleArn": role, "importMode": "FULL"}),
                Some(json!({"datasetImportJobArn": job_arn})),
            ),
        );
        s.poll(
            "DescribeDatasetImportJob",
            &job_arn,
            Active,
            (6, 15),
            60.0,
            7200.0,
        );
    }

    // The domain recommender trains while the custom solution does; it is waited for later.
    s.wait(5.0, 20.0);
    let rec_arn = arn(Kind::Recommender, &format!("{base}-recommended-for-you"));
    s.call(
        "CreateRecommender",
        ok(
            json!({"name": format!("{base}-recommended-for-you"), "datasetGroupArn": dsg, "recipeArn": "arn:aws:personalize:::recipe/aws-ecomm-recommended-for-you"}),
            Some(json!({"recommenderArn": rec_arn})),
        ),
    );

    s.wait(10.0, 60.0);
    let sol = format!("{base}-user-personalization");
    let sol_arn = arn(Kind::Solution, &sol);
    s.call(
        "CreateSolution",
        ok(
            json!({"name": sol, "datasetGroupArn": dsg, "recipeArn": "arn:aws:personalize:::recipe/aws-user-personalization-v2", "performAutoTraining": false}),
            Some(json!({"solutionArn": sol_arn})),
        ),
    );
    s.poll("DescribeSolution", &sol_arn, Active, (1, 3), 10.0, 900.0);
    s.wait(5.0, 20.0);
    // The version's ARN is the server's: live mode takes it from the response.
    let sv_arn = arn(Kind::SolutionVersion, &format!("{sol}/{}", rng::hex(s.rng, 8)));
    s.call(
        "CreateSolutionVersion",
        ok(
            json!({"solutionArn": sol_arn, "trainingMode": "FULL"}),
            Some(json!({"solutionVersionArn": sv_arn})),
        ),
    );
    s.poll(
        "DescribeSolutionVersion",
        &sv_arn,
        Active,
        (30, 69),
        90.0,
        6.0 * 3600.0,
    );
    s.wait(5.0, 30.0);
    s.call(
        "GetSolutionMetrics",
        ok(json!({"solutionVersionArn": sv_arn}), None),
    );

    s.wait(10.0, 60.0);
    let camp_arn = arn(Kind::Campaign, &format!("{base}-campaign"));
    s.call(
        "CreateCampaign",
        ok(
            json!({"name": format!("{base}-campaign"), "solutionVersionArn": sv_arn, "minProvisionedTPS": 1}),
            Some(json!({"campaignArn": camp_arn})),
        ),
    );
    s.poll("DescribeCampaign", &camp_arn, Active, (8, 19), 45.0, 3600.0);

    s.wait(5.0, 20.0);
    // The tracker's ARN and tracking ID are the server's, too.
    let tracker_arn = arn(Kind::EventTracker, &rng::hex(s.rng, 8));
    let tracking_id = rng::uuid(s.rng).to_string();
    s.call(
        "CreateEventTracker",
        ok(
            json!({"name": format!("{base}-tracker"), "datasetGroupArn": dsg}),
            Some(json!({"eventTrackerArn": tracker_arn, "trackingId": tracking_id})),
        ),
    );
    s.poll("DescribeEventTracker", &tracker_arn, Active, (1, 3), 15.0, 900.0);
    s.wait(2.0, 10.0);
    s.poll(
        "DescribeRecommender",
        &rec_arn,
        Active,
        (1, 3),
        60.0,
        4.0 * 3600.0,
    );

    for _ in 0..traffic {
        s.wait(0.5, 6.0);
        if s.rng.random_bool(0.55) {
            let target = if s.rng.random_bool(0.7) {
                ("campaignArn", &camp_arn)
            } else {
                ("recommenderArn", &rec_arn)
            };
            let user = format!("user-{}", s.rng.random_range(1..250_000));
            s.call(
                "GetRecommendations",
                ok(
                    json!({ target.0: target.1, "userId": user, "numResults": 25 }),
                    None,
                ),
            );
        } else {
            // `sentAt` is stamped when the call is placed in time (offline) or sent (live).
            let body = calls::put_events(&tracking_id, s.rng, 0);
            let content = Content {
                tracker_arn: Some(tracker_arn.clone()),
                ..ok(body, None)
            };
            s.call("PutEvents", content);
        }
    }

    // Clean-up in dependency order: what serves and tracks first, then the solution (once its
    // campaign is gone), the datasets, the schemas they used, and last the dataset group.
    s.wait(60.0, 600.0);
    s.call("DeleteCampaign", ok(json!({"campaignArn": camp_arn}), None));
    s.wait(1.0, 5.0);
    s.call("DeleteRecommender", ok(json!({"recommenderArn": rec_arn}), None));
    s.wait(1.0, 5.0);
    s.call(
        "DeleteEventTracker",
        ok(json!({"eventTrackerArn": tracker_arn}), None),
    );
    s.poll("DescribeCampaign", &camp_arn, Gone, (2, 4), 30.0, 1800.0);
    s.poll("DescribeRecommender", &rec_arn, Gone, (1, 3), 30.0, 1800.0);
    s.poll("DescribeEventTracker", &tracker_arn, Gone, (1, 2), 15.0, 900.0);
    s.wait(1.0, 5.0);
    s.call("DeleteSolution", ok(json!({"solutionArn": sol_arn}), None));
    s.poll("DescribeSolution", &sol_arn, Gone, (1, 3), 15.0, 900.0);
    for (_, ds_arn) in &datasets {
        s.wait(1.0, 5.0);
        s.call("DeleteDataset", ok(json!({"datasetArn": ds_arn}), None));
    }
    for (_, ds_arn) in &datasets {
        s.poll("DescribeDataset", ds_arn, Gone, (1, 3), 15.0, 900.0);
    }
    for schema in &schemas {
        s.wait(1.0, 3.0);
        s.call("DeleteSchema", ok(json!({"schemaArn": schema}), None));
    }
    s.wait(1.0, 5.0);
    s.call("DeleteDatasetGroup", ok(json!({"datasetGroupArn": dsg}), None));
    s.poll("DescribeDatasetGroup", &dsg, Gone, (1, 3), 20.0, 900.0);
    s.steps
}

/// The service retraining a solution on its own schedule.
pub(super) fn auto_training(inv: &Inventory, rng: &mut Rng) -> Vec<WorkflowStep> {
    let sol = inv
        .pick(Kind::Solution, rng)
        .map(|r| r.name.clone())
        .unwrap_or_else(|| "default".to_owned());
    let sol_arn = inventory::arn(&inv.region, &inv.account, Kind::Solution, &sol);
    let sv = inventory::arn(
        &inv.region,
        &inv.account,
        Kind::SolutionVersion,
        &format!("{sol}/{}", rng::hex(rng, 8)),
    );
    vec![WorkflowStep {
        delay_ms: 0,
        op: op("CreateSolutionVersion"),
        content: ok(
            json!({"solutionArn": sol_arn, "trainingMode": "AUTOTRAIN"}),
            Some(json!({"solutionVersionArn": sv})),
        ),
        poll: None,
    }]
}
