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

use tokio::task::JoinSet;
use tokio::time::Instant;

use super::{LiveError, LiveIdentity, Setup};
use crate::calls;
use crate::inventory::{Inventory, Res};
use crate::ops::{self, Kind, Verb};
use crate::population::Population;
use crate::scenario::{BehaviourKind, IdentityKind, Scenario};

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
                Verb::Tag => out.extend(Kind::TAGGABLE),
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

mod client;
mod group;

use client::Client;

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
                tasks.spawn(group::group(client, inv.clone(), g));
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
