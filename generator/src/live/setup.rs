//! Live mode's setup phase: brings the scenario's inventory to life before the timed run, so the
//! everyday calls find what a real account that already holds resources would have.
//!
//! Only the kinds the scenario's mix and burst calls name are set up (with what they depend on:
//! a campaign needs a trained version, training needs imported interactions, and so on). Each
//! dataset group is set up by its own task, closed-loop: every `Create*` is followed by the
//! matching `Describe*` until the resource is `ACTIVE`, at the real-world poll interval times the
//! scenario's `live_time_scale`. The identifiers the server makes (solution version ARNs, event
//! tracker ARNs and tracking IDs) are collected as a map from the planned identifier to the live
//! one, which the producer applies to every mix call. A resource that already exists (an earlier
//! run with the same seed) is adopted: its `Describe*` (or `List*` for server-named resources)
//! takes the place of the create. Nothing here counts in the run's report but `setup_*`.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tokio::task::JoinSet;
use tokio::time::Instant;

use super::{LiveError, LiveIdentity, Prepared, Sender, Setup, build_request, connect, error_code};
use crate::calls;
use crate::inventory::{Inventory, Res};
use crate::ops::{self, Kind, Verb};
use crate::population::Population;
use crate::scenario::{BehaviourKind, IdentityKind, Scenario};
use sigv4::Signer;

/// The `User-Agent` of setup calls, so their records can be told apart.
pub const SETUP_USER_AGENT: &str = "generator-setup";

/// Real-world seconds the whole setup may take (times `live_time_scale`): the longest chain is
/// imports, a training and a campaign, a few hours at AWS's pace.
const REAL_WORLD_BUDGET_SECS: f64 = 8.0 * 3600.0;

/// The kinds the scenario's mix and burst calls name, with everything they depend on.
pub fn needed_kinds(scenario: &Scenario) -> BTreeSet<Kind> {
    let mut out = BTreeSet::new();
    for b in &scenario.behaviours {
        if b.kind == BehaviourKind::Workflow {
            continue;
        }
        let plans_exists = b.errors.contains_key("ResourceAlreadyExistsException");
        for name in b.ops.keys() {
            let Some(op) = ops::get(name) else { continue };
            match op.verb {
                Verb::Describe | Verb::Delete | Verb::Update => {
                    out.insert(op.kind);
                }
                Verb::List => {
                    if let Some((_, parent)) = calls::list_parent(op.kind) {
                        out.insert(parent);
                    }
                }
                Verb::Tag => out.extend([
                    Kind::DatasetGroup,
                    Kind::Dataset,
                    Kind::Solution,
                    Kind::Campaign,
                    Kind::Filter,
                    Kind::Recommender,
                ]),
                Verb::Get => match op.name {
                    "GetSolutionMetrics" => {
                        out.insert(Kind::SolutionVersion);
                    }
                    "GetRecommendations" => out.extend([Kind::Campaign, Kind::Recommender]),
                    _ => {
                        out.insert(Kind::Campaign);
                    }
                },
                Verb::Put if op.name == "PutEvents" => {
                    out.insert(Kind::EventTracker);
                }
                Verb::Put => {
                    out.insert(Kind::Dataset);
                }
                Verb::Create => {
                    if let Some(member) = calls::target_member(op) {
                        out.insert(kind_of_member(member));
                    }
                    // "Already exists" mistakes reuse an inventory name, which must exist.
                    if plans_exists {
                        out.insert(op.kind);
                    }
                }
            }
        }
    }
    // What each kind needs before it can be created (or, for training, succeed).
    loop {
        let before = out.len();
        let snapshot: Vec<Kind> = out.iter().copied().collect();
        for k in snapshot {
            let deps: &[Kind] = match k {
                Kind::Campaign | Kind::BatchInferenceJob => &[Kind::SolutionVersion],
                Kind::SolutionVersion => &[Kind::Solution, Kind::DatasetImportJob],
                Kind::Recommender => &[Kind::DatasetImportJob],
                Kind::Solution | Kind::DatasetImportJob | Kind::EventTracker | Kind::Filter => {
                    &[Kind::Dataset]
                }
                Kind::Dataset => &[Kind::Schema, Kind::DatasetGroup],
                _ => &[],
            };
            out.extend(deps.iter().copied());
        }
        if out.len() == before {
            break;
        }
    }
    // Built-in and global resources exist already; the rest are not set up.
    out.retain(|k| SUPPORTED.contains(k));
    out
}

/// The kinds the setup phase creates.
const SUPPORTED: [Kind; 11] = [
    Kind::DatasetGroup,
    Kind::Schema,
    Kind::Dataset,
    Kind::DatasetImportJob,
    Kind::Solution,
    Kind::SolutionVersion,
    Kind::Campaign,
    Kind::BatchInferenceJob,
    Kind::Filter,
    Kind::EventTracker,
    Kind::Recommender,
];

fn kind_of_member(member: &str) -> Kind {
    match member {
        "datasetArn" => Kind::Dataset,
        "solutionArn" => Kind::Solution,
        "solutionVersionArn" => Kind::SolutionVersion,
        "campaignArn" => Kind::Campaign,
        _ => Kind::DatasetGroup,
    }
}

/// The resources of `kind` in dataset group `g`.
fn of<'a>(inv: &'a Inventory, kind: Kind, g: usize) -> impl Iterator<Item = &'a Res> + 'a {
    inv.by_kind
        .get(&kind)
        .into_iter()
        .flatten()
        .filter(move |r| r.group == g)
}

/// How many resources setting up group `g` brings to ACTIVE (schemas count once created).
fn count(inv: &Inventory, g: usize, needs: &BTreeSet<Kind>) -> u64 {
    needs
        .iter()
        .map(|k| match k {
            Kind::DatasetGroup => 1,
            Kind::Schema | Kind::Dataset => 3,
            k => of(inv, *k, g).count() as u64,
        })
        .sum()
}

/// State every group task shares.
struct Cx {
    /// The time requests are signed with.
    clock: cloudtrail::SharedClock,
    authority: String,
    ids: Arc<Vec<LiveIdentity>>,
    who: usize,
    needs: BTreeSet<Kind>,
    /// Live waits are real-world waits times this.
    scale: f64,
    deadline: Instant,
    budget_secs: f64,
    calls: AtomicU64,
    active: AtomicU64,
    adopted: AtomicU64,
}

/// Why a group's setup stopped.
enum Stop {
    /// A wait ran past the deadline.
    Timeout(String),
    /// The endpoint refused something or a resource failed.
    Failed(String),
}

/// One group task's connection.
struct Client {
    cx: Arc<Cx>,
    region: String,
    conn: Option<Sender>,
    signers: Vec<Signer>,
}

/// What a `Create*` found.
enum Created {
    /// Made now; the answer.
    New(Value),
    /// It was there already.
    Existing,
}

impl Client {
    /// One call: (status, error code or "", body).
    async fn call(&mut self, op: &str, body: &Value) -> Result<(u16, String, Value), Stop> {
        let spec = ops::get(op).ok_or_else(|| Stop::Failed(format!("unknown operation {op}")))?;
        let call = Prepared {
            op: super::wire::Wire::Personalize(spec),
            label: None,
            identity: self.cx.who,
            region: self.region.clone(),
            body: Bytes::from(serde_json::to_vec(body).unwrap_or_else(|_| b"{}".to_vec())),
            user_agent: SETUP_USER_AGENT.to_owned(),
            source_ip: "127.0.0.1".to_owned(),
        };
        let host = self
            .cx
            .authority
            .strip_suffix(":80")
            .unwrap_or(&self.cx.authority)
            .to_owned();
        let transport = || Stop::Failed(format!("{op}: no answer from {}", self.cx.authority));
        if self.conn.as_ref().is_none_or(|c| c.is_closed()) {
            self.conn = connect(&self.cx.authority).await;
        }
        let req = build_request(&call, &host, &mut self.signers, &self.cx.ids, self.cx.clock.now())
            .ok_or_else(transport)?;
        let Some(conn) = self.conn.as_mut() else {
            return Err(transport());
        };
        self.cx.calls.fetch_add(1, Ordering::Relaxed);
        let answer = async {
            conn.ready().await?;
            let resp = conn.send_request(req).await?;
            let (parts, body) = resp.into_parts();
            let bytes = body.collect().await?.to_bytes();
            Ok::<_, hyper::Error>((parts, bytes))
        }
        .await;
        let Ok((parts, bytes)) = answer else {
            self.conn = None;
            return Err(transport());
        };
        let status = parts.status.as_u16();
        let code = if status >= 300 {
            error_code(&parts.headers, &bytes)
        } else {
            String::new()
        };
        Ok((
            status,
            code,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        ))
    }

    /// Waits `real_secs` real-world seconds times the scale; a timeout past the deadline.
    async fn pause(&self, real_secs: f64, what: &str) -> Result<(), Stop> {
        let d = Duration::from_secs_f64((real_secs * self.cx.scale).clamp(0.02, 60.0));
        if Instant::now() + d > self.cx.deadline {
            return Err(Stop::Timeout(what.to_owned()));
        }
        tokio::time::sleep(d).await;
        Ok(())
    }

    /// A `Create*`: `ResourceAlreadyExistsException` adopts, `LimitExceededException` (too many
    /// in flight) waits and tries again.
    async fn create(&mut self, op: &str, body: Value) -> Result<Created, Stop> {
        loop {
            let (status, code, answer) = self.call(op, &body).await?;
            match (status, code.as_str()) {
                (s, _) if s < 300 => return Ok(Created::New(answer)),
                (_, "ResourceAlreadyExistsException") => {
                    self.cx.adopted.fetch_add(1, Ordering::Relaxed);
                    return Ok(Created::Existing);
                }
                (_, "LimitExceededException") => self.pause(30.0, op).await?,
                _ => {
                    let message = answer
                        .get("message")
                        .or_else(|| answer.get("Message"))
                        .and_then(Value::as_str)
                        .unwrap_or_default();
                    return Err(Stop::Failed(format!("{op}: {code} ({status}) {message}")));
                }
            }
        }
    }

    /// `Describe*` every `every` real-world seconds until `arn` is ACTIVE; its description.
    async fn active(&mut self, describe: &str, member: &str, arn: &str, every: f64) -> Result<Value, Stop> {
        let noun = member.strip_suffix("Arn").unwrap_or(member);
        loop {
            let (status, code, answer) = self.call(describe, &json!({ member: arn })).await?;
            if status >= 300 {
                return Err(Stop::Failed(format!("{describe} {arn}: {code} ({status})")));
            }
            let res = answer.get(noun).cloned().unwrap_or(Value::Null);
            let s = res.get("status").and_then(Value::as_str).unwrap_or_default();
            if s == "ACTIVE" {
                self.cx.active.fetch_add(1, Ordering::Relaxed);
                return Ok(res);
            }
            // An earlier run's mix stopped it: start it again.
            if s == "INACTIVE" && member == "recommenderArn" {
                let (status, code, _) = self.call("StartRecommender", &json!({ member: arn })).await?;
                if status >= 300 {
                    return Err(Stop::Failed(format!("StartRecommender {arn}: {code} ({status})")));
                }
                self.pause(every, &format!("{arn} (status {s})")).await?;
                continue;
            }
            if s.ends_with("FAILED") || s.ends_with("STOPPED") || s == "INACTIVE" || s.starts_with("DELETE") {
                let why = res
                    .get("failureReason")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                return Err(Stop::Failed(format!("{arn} is {s} {why}")));
            }
            self.pause(every, &format!("{arn} (status {s})")).await?;
        }
    }

    /// A resource named by the caller: created (or adopted), then waited for.
    async fn ensure(&mut self, create: &str, body: Value, arn: &str, every: f64) -> Result<(), Stop> {
        let spec = ops::get(create).ok_or_else(|| Stop::Failed(format!("unknown operation {create}")))?;
        let member = spec.kind.arn_member();
        let arn = match self.create(create, body).await? {
            Created::New(answer) => answer
                .get(member)
                .and_then(Value::as_str)
                .unwrap_or(arn)
                .to_owned(),
            Created::Existing => arn.to_owned(),
        };
        let describe = create.replacen("Create", "Describe", 1);
        self.active(&describe, member, &arn, every).await.map(|_| ())
    }
}

/// Sets up one dataset group of `inv`; the planned-to-live identifier pairs it learned.
async fn group(mut c: Client, inv: Arc<Inventory>, g: usize) -> Result<Vec<(String, String)>, Stop> {
    let needs = c.cx.needs.clone();
    let has = |k: Kind| needs.contains(&k);
    let mut learned = Vec::new();
    let name = inv.groups.get(g).cloned().unwrap_or_default();
    let dsg = inv.group_arn(g);
    // A group with a recommender is an e-commerce domain group, and so are its schemas.
    let recommenders: Vec<Res> = if has(Kind::Recommender) {
        of(&inv, Kind::Recommender, g).cloned().collect()
    } else {
        Vec::new()
    };
    let domain = (!recommenders.is_empty()).then_some("ECOMMERCE");
    let with_domain = |mut v: Value| {
        if let (Some(d), Some(m)) = (domain, v.as_object_mut()) {
            m.insert("domain".to_owned(), json!(d));
        }
        v
    };
    c.ensure(
        "CreateDatasetGroup",
        with_domain(json!({ "name": name })),
        &dsg,
        10.0,
    )
    .await?;
    let types = [
        ("Interactions", "interactions", "INTERACTIONS"),
        ("Items", "items", "ITEMS"),
        ("Users", "users", "USERS"),
    ];
    if has(Kind::Schema) || has(Kind::Dataset) {
        for (t, lower, _) in types {
            let schema = format!("{name}-{lower}-schema");
            c.create(
                "CreateSchema",
                with_domain(json!({ "name": schema, "schema": calls::avro_schema(t) })),
            )
            .await?;
            c.cx.active.fetch_add(1, Ordering::Relaxed);
        }
    }
    if has(Kind::Dataset) {
        for (t, lower, upper) in types {
            let schema = crate::inventory::arn(
                &inv.region,
                &inv.account,
                Kind::Schema,
                &format!("{name}-{lower}-schema"),
            );
            let arn = crate::inventory::arn(
                &inv.region,
                &inv.account,
                Kind::Dataset,
                &format!("{name}/{upper}"),
            );
            c.ensure(
                "CreateDataset",
                json!({ "name": format!("{name}-{lower}"), "schemaArn": schema, "datasetGroupArn": dsg, "datasetType": t }),
                &arn,
                8.0,
            )
            .await?;
        }
    }
    if has(Kind::DatasetImportJob) {
        // Interactions first: training and recommenders need them.
        for (_, lower, upper) in types {
            for job in
                of(&inv, Kind::DatasetImportJob, g).filter(|j| j.name.contains(&format!("-{lower}-import-")))
            {
                let dataset = crate::inventory::arn(
                    &inv.region,
                    &inv.account,
                    Kind::Dataset,
                    &format!("{name}/{upper}"),
                );
                let body = json!({
                    "jobName": job.name,
                    "datasetArn": dataset,
                    "dataSource": {"dataLocation": format!("s3://personalize-{}-{}/{name}/{lower}.csv", inv.account, inv.region)},
                    "roleArn": role(&inv),
                    "importMode": "FULL",
                });
                c.ensure("CreateDatasetImportJob", body, &job.arn, 60.0).await?;
            }
        }
    }
    // Recommenders train beside the solutions; they are waited for last.
    let mut pending_recommenders = Vec::new();
    for r in &recommenders {
        let body = json!({ "name": r.name, "datasetGroupArn": dsg, "recipeArn": "arn:aws:personalize:::recipe/aws-ecomm-recommended-for-you" });
        let arn = match c.create("CreateRecommender", body).await? {
            Created::New(a) => a
                .get("recommenderArn")
                .and_then(Value::as_str)
                .unwrap_or(&r.arn)
                .to_owned(),
            Created::Existing => r.arn.clone(),
        };
        pending_recommenders.push(arn);
    }
    if has(Kind::Solution) {
        let solutions: Vec<Res> = of(&inv, Kind::Solution, g).cloned().collect();
        for sol in &solutions {
            let recipe = format!("arn:aws:personalize:::recipe/aws-{}", Inventory::recipe_of(sol));
            c.ensure(
                "CreateSolution",
                json!({ "name": sol.name, "datasetGroupArn": dsg, "recipeArn": recipe }),
                &sol.arn,
                10.0,
            )
            .await?;
        }
        if has(Kind::SolutionVersion) {
            versions(&mut c, &inv, g, &solutions, &mut learned).await?;
        }
    }
    let live = |planned: &str, learned: &[(String, String)]| {
        learned
            .iter()
            .find(|(p, _)| p == planned)
            .map(|(_, l)| l.clone())
            .unwrap_or_else(|| planned.to_owned())
    };
    if has(Kind::Campaign) {
        for camp in of(&inv, Kind::Campaign, g) {
            let sol = camp.name.strip_suffix("-campaign").unwrap_or(&camp.name);
            let Some(version) =
                of(&inv, Kind::SolutionVersion, g).find(|v| v.arn.contains(&format!("/{sol}/")))
            else {
                continue;
            };
            let body = json!({ "name": camp.name, "solutionVersionArn": live(&version.arn, &learned), "minProvisionedTPS": 1 });
            c.ensure("CreateCampaign", body, &camp.arn, 45.0).await?;
        }
    }
    if has(Kind::BatchInferenceJob) {
        for job in of(&inv, Kind::BatchInferenceJob, g) {
            let Some(sol) = job.name.rsplit_once("-batch-").map(|(s, _)| s) else {
                continue;
            };
            let Some(version) =
                of(&inv, Kind::SolutionVersion, g).find(|v| v.arn.contains(&format!("/{sol}/")))
            else {
                continue;
            };
            let s3 = format!("s3://personalize-{}-{}", inv.account, inv.region);
            let body = json!({
                "jobName": job.name,
                "solutionVersionArn": live(&version.arn, &learned),
                "jobInput": {"s3DataSource": {"path": format!("{s3}/batch/input.json")}},
                "jobOutput": {"s3DataDestination": {"path": format!("{s3}/batch/output/")}},
                "roleArn": role(&inv),
            });
            c.ensure("CreateBatchInferenceJob", body, &job.arn, 60.0).await?;
        }
    }
    if has(Kind::Filter) {
        for f in of(&inv, Kind::Filter, g) {
            let body = json!({ "name": f.name, "datasetGroupArn": dsg, "filterExpression": "EXCLUDE ItemID WHERE Interactions.EVENT_TYPE IN (\"purchase\")" });
            c.ensure("CreateFilter", body, &f.arn, 20.0).await?;
        }
    }
    if has(Kind::EventTracker) {
        let trackers: Vec<(usize, &Res)> = inv
            .by_kind
            .get(&Kind::EventTracker)
            .into_iter()
            .flatten()
            .enumerate()
            .filter(|(_, r)| r.group == g)
            .collect();
        for (i, t) in trackers {
            tracker(&mut c, &inv, &dsg, i, t, &mut learned).await?;
        }
    }
    for arn in pending_recommenders {
        c.active("DescribeRecommender", "recommenderArn", &arn, 60.0)
            .await?;
    }
    Ok(learned)
}

fn role(inv: &Inventory) -> String {
    format!(
        "arn:aws:iam::{}:role/service-role/AmazonPersonalize-ExecutionRole",
        inv.account
    )
}

/// Trains the inventory's versions of `solutions`, reusing versions an earlier run left.
async fn versions(
    c: &mut Client,
    inv: &Inventory,
    g: usize,
    solutions: &[Res],
    learned: &mut Vec<(String, String)>,
) -> Result<(), Stop> {
    let mut waiting = Vec::new();
    for sol in solutions {
        let planned: Vec<&Res> = of(inv, Kind::SolutionVersion, g)
            .filter(|v| v.arn.contains(&format!("/{}/", sol.name)))
            .collect();
        let (status, code, answer) = c
            .call("ListSolutionVersions", &json!({ "solutionArn": sol.arn }))
            .await?;
        if status >= 300 {
            return Err(Stop::Failed(format!("ListSolutionVersions {}: {code}", sol.arn)));
        }
        let mut existing: Vec<String> = answer
            .get("solutionVersions")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter(|v| {
                v.get("status").and_then(Value::as_str).is_some_and(|s| {
                    !(s.ends_with("FAILED") || s.ends_with("STOPPED") || s.starts_with("DELETE"))
                })
            })
            .filter_map(|v| {
                v.get("solutionVersionArn")
                    .and_then(Value::as_str)
                    .map(str::to_owned)
            })
            .collect();
        existing.sort();
        for (i, v) in planned.iter().enumerate() {
            let arn = match existing.get(i) {
                Some(e) => {
                    c.cx.adopted.fetch_add(1, Ordering::Relaxed);
                    e.clone()
                }
                None => match c
                    .create(
                        "CreateSolutionVersion",
                        json!({ "solutionArn": sol.arn, "trainingMode": "FULL" }),
                    )
                    .await?
                {
                    Created::New(a) => a
                        .get("solutionVersionArn")
                        .and_then(Value::as_str)
                        .unwrap_or(&v.arn)
                        .to_owned(),
                    Created::Existing => v.arn.clone(),
                },
            };
            learned.push((v.arn.clone(), arn.clone()));
            waiting.push(arn);
        }
    }
    for arn in waiting {
        c.active("DescribeSolutionVersion", "solutionVersionArn", &arn, 90.0)
            .await?;
    }
    Ok(())
}

/// The group's event tracker: created, or the one the group has; its ARN and tracking ID.
async fn tracker(
    c: &mut Client,
    inv: &Inventory,
    dsg: &str,
    i: usize,
    t: &Res,
    learned: &mut Vec<(String, String)>,
) -> Result<(), Stop> {
    let arn = match c
        .create(
            "CreateEventTracker",
            json!({ "name": t.name, "datasetGroupArn": dsg }),
        )
        .await?
    {
        Created::New(a) => a
            .get("eventTrackerArn")
            .and_then(Value::as_str)
            .map(str::to_owned),
        Created::Existing => {
            let (_, _, list) = c
                .call("ListEventTrackers", &json!({ "datasetGroupArn": dsg }))
                .await?;
            list.get("eventTrackers")
                .and_then(Value::as_array)
                .and_then(|l| l.first())
                .and_then(|e| e.get("eventTrackerArn"))
                .and_then(Value::as_str)
                .map(str::to_owned)
        }
    };
    let Some(arn) = arn else {
        return Err(Stop::Failed(format!("no event tracker found for {dsg}")));
    };
    let described = c
        .active("DescribeEventTracker", "eventTrackerArn", &arn, 15.0)
        .await?;
    learned.push((t.arn.clone(), arn));
    if let (Some(planned), Some(live)) = (
        inv.tracking_ids.get(i),
        described.get("trackingId").and_then(Value::as_str),
    ) {
        learned.push((planned.clone(), live.to_owned()));
    }
    Ok(())
}

/// What the setup phase did, and the planned-to-live identifier map for the mix calls.
pub(super) struct Done {
    pub(super) setup: Setup,
    pub(super) live_ids: HashMap<String, String>,
}

/// Sets up every Region's inventory, dataset groups in parallel; an error when a resource fails
/// or the bound runs out.
pub(super) async fn run(
    scenario: &Scenario,
    population: &Population,
    seed: u64,
    authority: &str,
    ids: &[LiveIdentity],
    progress: bool,
    clock: &cloudtrail::SharedClock,
) -> Result<Done, LiveError> {
    let started = Instant::now();
    let needs = needed_kinds(scenario);
    let scale = scenario
        .behaviours
        .iter()
        .map(|b| b.live_time_scale)
        .fold(0.0f64, f64::max);
    let scale = if scale > 0.0 { scale } else { 0.01 };
    let budget_secs = (REAL_WORLD_BUDGET_SECS * scale).max(30.0);
    let who = ids
        .iter()
        .position(|i| i.kind == IdentityKind::IAMUser)
        .unwrap_or(0);
    let cx = Arc::new(Cx {
        authority: authority.to_owned(),
        ids: Arc::new(ids.to_vec()),
        clock: clock.clone(),
        who,
        needs,
        scale,
        deadline: started + Duration::from_secs_f64(budget_secs),
        budget_secs,
        calls: AtomicU64::new(0),
        active: AtomicU64::new(0),
        adopted: AtomicU64::new(0),
    });
    let account = population.accounts.first().cloned().unwrap_or_default();
    let mut tasks = JoinSet::new();
    let mut total = 0u64;
    if !cx.needs.is_empty() {
        for (r, region) in population.regions.iter().enumerate() {
            let inv = Arc::new(Inventory::generate(seed, 0, &account, r, region));
            for g in 0..inv.groups.len() {
                total += count(&inv, g, &cx.needs);
                let client = Client {
                    cx: cx.clone(),
                    region: region.clone(),
                    conn: None,
                    signers: super::wire::signers(ids),
                };
                tasks.spawn(group(client, inv.clone(), g));
            }
        }
    }
    let ticker = progress.then(|| {
        let cx = cx.clone();
        tokio::spawn(async move {
            use std::io::Write;
            let mut tick = tokio::time::interval(Duration::from_millis(500));
            loop {
                tick.tick().await;
                eprint!(
                    "\rsetting up inventory: {}/{total} ACTIVE ({} calls, {:.0} s)   ",
                    cx.active.load(Ordering::Relaxed),
                    cx.calls.load(Ordering::Relaxed),
                    started.elapsed().as_secs_f64()
                );
                let _ = std::io::stderr().flush();
            }
        })
    });
    let mut live_ids = HashMap::new();
    let mut failure = None;
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok(Ok(pairs)) => live_ids.extend(pairs),
            Ok(Err(stop)) => {
                failure.get_or_insert(stop);
            }
            Err(e) => {
                failure.get_or_insert(Stop::Failed(format!("a setup task ended: {e}")));
            }
        }
        if failure.is_some() {
            tasks.abort_all();
        }
    }
    if let Some(t) = ticker {
        t.abort();
        eprintln!();
    }
    match failure {
        Some(Stop::Timeout(what)) => Err(LiveError::Setup(format!(
            "{what} was not ACTIVE after {:.0} s ({} real-world hours times live_time_scale {scale}). The endpoint's lifecycles are slower than the scenario's live_time_scale assumes: raise live_time_scale in the scenario (1 against AWS's pace), lower the endpoint's time_scale, or run with --no-setup",
            cx.budget_secs,
            REAL_WORLD_BUDGET_SECS / 3600.0
        ))),
        Some(Stop::Failed(why)) => Err(LiveError::Setup(format!(
            "{why}. Run with --no-setup to skip the setup phase"
        ))),
        None => Ok(Done {
            setup: Setup {
                calls: cx.calls.load(Ordering::Relaxed),
                present: cx.active.load(Ordering::Relaxed),
                adopted: cx.adopted.load(Ordering::Relaxed),
                secs: started.elapsed().as_secs_f64(),
            },
            live_ids,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::PRESETS;

    #[test]
    fn setup_covers_what_the_mix_names_and_its_dependencies() {
        let load = |i: usize| {
            let (name, text) = PRESETS[i];
            Scenario::parse(name, text).unwrap()
        };
        let ml = needed_kinds(&load(1));
        for k in [
            Kind::Campaign,
            Kind::SolutionVersion,
            Kind::Solution,
            Kind::DatasetImportJob,
            Kind::Dataset,
            Kind::DatasetGroup,
            Kind::EventTracker,
            Kind::Recommender,
        ] {
            assert!(ml.contains(&k), "{k:?}");
        }
        // The ml-pipeline mix names no filter nor batch job: none is made.
        assert!(!ml.contains(&Kind::Filter));
        assert!(!ml.contains(&Kind::BatchInferenceJob));
        for (i, _) in PRESETS.iter().enumerate() {
            assert!(needed_kinds(&load(i)).contains(&Kind::DatasetGroup));
        }
    }
}
