//! Turns a scenario into a timeline of calls for one (account, Region, time span): when each call
//! happens and who makes it, then, in time order, what it contains.
//!
//! Planning is cheap (a time, a principal and a task per call) so a whole day fits in memory; the
//! content is drawn afterwards from a second stream in time order, which keeps every shard
//! deterministic no matter which thread runs it.

use std::collections::HashMap;

use rand::RngExt;

use time::OffsetDateTime;

mod plane_calls;
mod workflows;

use plane_calls::plane_fits;

pub use workflows::{Poll, Until, Workflow, WorkflowStep, timeline};
use workflows::{auto_training, ml_pipeline};

use crate::agents::Agent;
use crate::calls::{self, Content};
use crate::inventory::Inventory;
use crate::labels::Label;
use crate::ops::{self, OpSpec};
use crate::plane::attack::{self, AttackStep};
use crate::plane::{self, PlaneEvent};
use crate::population::{self, Population};
use crate::rng::{self, Rng};
use crate::scenario::{AddressMode, AttackPath, BehaviourKind, Scenario, WorkflowName};

/// A span of one (account, Region) to generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// Account index.
    pub account: usize,
    /// Region index.
    pub region: usize,
    /// Start, unix milliseconds (inclusive).
    pub start_ms: i64,
    /// End, unix milliseconds (exclusive).
    pub end_ms: i64,
}

/// One call, ready to record or send.
#[derive(Debug, Clone)]
pub struct Event {
    /// When it completed, unix milliseconds.
    pub time_ms: i64,
    /// Index into the population's principals.
    pub principal: usize,
    /// The operation.
    pub op: &'static OpSpec,
    /// Request, response, error.
    pub content: Content,
    /// The caller's address.
    pub source_ip: String,
    /// The caller's `User-Agent`.
    pub user_agent: String,
    /// What the answer key says of it (boxed: nearly every call has none).
    pub label: Option<Box<Label>>,
}

#[derive(Debug, Clone, Copy)]
enum Addr {
    Home,
    /// An unusual address drawn per call.
    Fresh,
    /// The unusual address of a burst.
    Burst(u32),
}

#[derive(Debug, Clone, Copy)]
enum Task {
    Mix {
        behaviour: u16,
        op: u16,
        addr: Addr,
    },
    Step {
        workflow: u32,
        step: u32,
    },
    /// Live mode: a workflow instance starts here and then runs closed-loop.
    Start {
        workflow: u32,
    },
    /// A plane call of a `plane` behaviour.
    Plane {
        behaviour: u16,
        op: u16,
    },
    /// A step of an attack path.
    Attack {
        attack: u32,
        step: u32,
    },
    /// A read in the console session the principal's last sign-in opened (none if it failed).
    Console {
        behaviour: u16,
        op: u16,
    },
}

/// One instance of an attack path: its behaviour, its steps and the address it runs from.
struct Attack {
    behaviour: u16,
    steps: Vec<AttackStep>,
    address: u32,
}

#[derive(Debug, Clone, Copy)]
struct Planned {
    time_ms: i64,
    principal: u32,
    task: Task,
}

/// A shard's planned calls and what is needed to fill them in.
pub struct Plan<'a> {
    scenario: &'a Scenario,
    population: &'a Population,
    inventory: Inventory,
    items: Vec<Planned>,
    steps: Vec<Vec<(&'static OpSpec, Content)>>,
    /// Live mode: each workflow instance's script and its behaviour.
    scripts: Vec<(u16, Vec<WorkflowStep>)>,
    burst_addresses: Vec<String>,
    /// Behaviour-wide user-agent overrides, per (behaviour, principal).
    agents: HashMap<(u16, u32), Agent>,
    /// Per behaviour: (op indexes, weights).
    mixes: Vec<(Vec<usize>, Vec<f64>)>,
    /// Per behaviour: (error codes, weights).
    errors: Vec<(Vec<String>, Vec<f64>)>,
    /// Per behaviour: (plane op indexes, weights).
    plane_mixes: Vec<(Vec<usize>, Vec<f64>)>,
    attacks: Vec<Attack>,
    /// The console session of each principal's last successful sign-in.
    consoles: HashMap<u32, plane::ConsoleSession>,
    /// The account's trail and its bucket, as plane calls name them.
    trail: String,
    bucket: String,
    rng: Rng,
    live: bool,
    next: usize,
}

/// Time-of-day weights per minute of the shard, for drawing call times.
struct Curve {
    start_ms: i64,
    cumulative: Vec<f64>,
}

impl Curve {
    fn new(s: &Scenario, start_ms: i64, end_ms: i64) -> Curve {
        let a = &s.activity;
        let mut cumulative = Vec::new();
        let mut total = 0.0;
        let mut t = start_ms;
        while t < end_ms {
            let local = t / 1000 + i64::from(a.utc_offset_hours) * 3600;
            let hour = local.rem_euclid(86_400) / 3600;
            let day = (local.div_euclid(86_400) + 3).rem_euclid(7); // 1970-01-01 was a Thursday.
            let w = a.hours.get(hour as usize).copied().unwrap_or(0.0)
                * a.weekdays.get(day as usize).copied().unwrap_or(0.0);
            let frac = ((end_ms - t).min(60_000)) as f64 / 60_000.0;
            total += w * frac;
            cumulative.push(total);
            t += 60_000;
        }
        Curve { start_ms, cumulative }
    }

    /// The expected share of a full average day's activity this span holds.
    fn mass(&self, s: &Scenario) -> f64 {
        let mean_hour: f64 = s.activity.hours.iter().sum::<f64>() / 24.0;
        let total = self.cumulative.last().copied().unwrap_or(0.0);
        if mean_hour <= 0.0 {
            0.0
        } else {
            total / (mean_hour * 1440.0)
        }
    }

    fn sample(&self, rng: &mut Rng, end_ms: i64) -> i64 {
        let total = self.cumulative.last().copied().unwrap_or(0.0);
        if total <= 0.0 {
            return self.start_ms;
        }
        let x = rng.random::<f64>() * total;
        let i = self.cumulative.partition_point(|c| *c <= x);
        let t = self.start_ms + i as i64 * 60_000 + rng.random_range(0..60_000);
        t.min(end_ms - 1)
    }
}

impl<'a> Plan<'a> {
    /// Plans `shard`. `live` leaves out failures a client cannot provoke (throttling) and
    /// automatic training.
    pub fn new(
        scenario: &'a Scenario,
        population: &'a Population,
        seed: u64,
        shard: Shard,
        live: bool,
    ) -> Plan<'a> {
        let account = population
            .accounts
            .get(shard.account)
            .cloned()
            .unwrap_or_default();
        let region = population.regions.get(shard.region).cloned().unwrap_or_default();
        let inventory = Inventory::generate(seed, shard.account, &account, shard.region, &region);
        let path = [shard.account as u64, shard.region as u64, shard.start_ms as u64];
        let mut prng = rng::derive(seed, &[0x706c616e, path[0], path[1], path[2]]);
        let content_rng = rng::derive(seed, &[0x636f6e74, path[0], path[1], path[2]]);
        let curve = Curve::new(scenario, shard.start_ms, shard.end_ms);
        let mass = curve.mass(scenario);
        let mut plan = Plan {
            scenario,
            population,
            inventory,
            items: Vec::new(),
            steps: Vec::new(),
            scripts: Vec::new(),
            burst_addresses: Vec::new(),
            agents: HashMap::new(),
            mixes: Vec::new(),
            errors: Vec::new(),
            plane_mixes: Vec::new(),
            attacks: Vec::new(),
            consoles: HashMap::new(),
            trail: "management-events".to_owned(),
            bucket: format!("aws-cloudtrail-logs-{account}"),
            rng: content_rng,
            live,
            next: 0,
        };
        for b in &scenario.behaviours {
            let (idx, w): (Vec<usize>, Vec<f64>) = b
                .ops
                .iter()
                .filter_map(|(name, w)| ops::index(name).map(|i| (i, *w)))
                .unzip();
            plan.mixes.push((idx, w));
            let (idx, w): (Vec<usize>, Vec<f64>) = b
                .ops
                .iter()
                .filter_map(|(name, w)| plane::index(name).map(|i| (i, *w)))
                .unzip();
            plan.plane_mixes.push((idx, w));
            let (codes, w): (Vec<String>, Vec<f64>) = b
                .errors
                .iter()
                // Throttling cannot be provoked by a client; a denial can, by signing as an
                // identity whose deny rules refuse the call (see `live/coherence.rs`).
                .filter(|(c, _)| !(live && c.as_str() == "ThrottlingException"))
                .map(|(c, w)| (c.clone(), *w))
                .unzip();
            plan.errors.push((codes, w));
        }
        let mix_total: f64 = scenario
            .behaviours
            .iter()
            .filter(|b| b.kind == BehaviourKind::Mix)
            .map(|b| b.share)
            .sum();
        for (bi, b) in scenario.behaviours.iter().enumerate() {
            let members = population.members(shard.account, &b.who);
            if members.is_empty() {
                continue;
            }
            let bi16 = bi as u16;
            match b.kind {
                BehaviourKind::Mix => {
                    if mix_total <= 0.0 {
                        continue;
                    }
                    let n = rng::round_random(
                        &mut prng,
                        scenario.events_per_day as f64 * b.share / mix_total * mass,
                    );
                    let addr = if b.address == AddressMode::Home {
                        Addr::Home
                    } else {
                        Addr::Fresh
                    };
                    for _ in 0..n {
                        let Some(op) = rng::weighted(&mut prng, &plan.mixes[bi].1)
                            .and_then(|i| plan.mixes[bi].0.get(i).copied())
                        else {
                            continue;
                        };
                        let p = members[prng.random_range(0..members.len())];
                        plan.items.push(Planned {
                            time_ms: curve.sample(&mut prng, shard.end_ms),
                            principal: p as u32,
                            task: Task::Mix {
                                behaviour: bi16,
                                op: op as u16,
                                addr,
                            },
                        });
                    }
                }
                BehaviourKind::Burst => {
                    let n = rng::round_random(&mut prng, b.per_day * mass);
                    for _ in 0..n {
                        let p = members[prng.random_range(0..members.len())];
                        let mut t = curve.sample(&mut prng, shard.end_ms);
                        let calls = prng.random_range(b.calls[0]..=b.calls[1]);
                        let burst = plan.burst_addresses.len() as u32;
                        plan.burst_addresses.push(population::unusual(&mut prng));
                        for i in 0..calls {
                            if t >= shard.end_ms {
                                break;
                            }
                            let Some(op) = rng::weighted(&mut prng, &plan.mixes[bi].1)
                                .and_then(|i| plan.mixes[bi].0.get(i).copied())
                            else {
                                continue;
                            };
                            let addr = match b.address {
                                AddressMode::Home => Addr::Home,
                                AddressMode::Unusual => Addr::Burst(burst),
                                AddressMode::Both if i % 2 == 0 => Addr::Home,
                                AddressMode::Both => Addr::Burst(burst),
                            };
                            plan.items.push(Planned {
                                time_ms: t,
                                principal: p as u32,
                                task: Task::Mix {
                                    behaviour: bi16,
                                    op: op as u16,
                                    addr,
                                },
                            });
                            t += (b.interval_secs * 1000.0 * prng.random_range(0.5..1.5)) as i64;
                        }
                    }
                }
                BehaviourKind::Plane => {
                    let n = rng::round_random(&mut prng, b.per_day * mass);
                    for _ in 0..n {
                        let Some(op) = rng::weighted(&mut prng, &plan.plane_mixes[bi].1)
                            .and_then(|i| plan.plane_mixes[bi].0.get(i).copied())
                        else {
                            continue;
                        };
                        let p = members[prng.random_range(0..members.len())];
                        let time_ms = curve.sample(&mut prng, shard.end_ms);
                        if !plane_fits(&plane::PLANE_OPS[op], shard.region, population.principals[p].kind) {
                            continue;
                        }
                        plan.items.push(Planned {
                            time_ms,
                            principal: p as u32,
                            task: Task::Plane {
                                behaviour: bi16,
                                op: op as u16,
                            },
                        });
                        // A sign-in is followed by a few looks around the console.
                        if plane::PLANE_OPS[op].name == "ConsoleLogin" {
                            let mut t = time_ms;
                            for _ in 0..prng.random_range(1..=4) {
                                t += prng.random_range(5_000..300_000);
                                let read =
                                    plane::CONSOLE_READS[prng.random_range(0..plane::CONSOLE_READS.len())];
                                let (Some(read), true) = (plane::index(read), t < shard.end_ms) else {
                                    continue;
                                };
                                plan.items.push(Planned {
                                    time_ms: t,
                                    principal: p as u32,
                                    task: Task::Console {
                                        behaviour: bi16,
                                        op: read as u16,
                                    },
                                });
                            }
                        }
                    }
                }
                BehaviourKind::Attack => {
                    let n = rng::round_random(&mut prng, b.per_day * mass);
                    for _ in 0..n {
                        let p = members[prng.random_range(0..members.len())];
                        let steps = match b.path {
                            Some(AttackPath::LeakedKey) | None => attack::leaked_key(&mut prng),
                        };
                        let address = plan.burst_addresses.len() as u32;
                        plan.burst_addresses.push(population::unusual(&mut prng));
                        // The intruder works in the first Region, where global events are
                        // recorded too.
                        if shard.region != 0 {
                            continue;
                        }
                        let span = steps.last().map_or(0, |s| s.offset_ms);
                        let start = curve
                            .sample(&mut prng, shard.end_ms)
                            .min(shard.end_ms - 1 - span)
                            .max(shard.start_ms);
                        let a = plan.attacks.len() as u32;
                        for (i, s) in steps.iter().enumerate() {
                            let time_ms = (start + s.offset_ms).min(shard.end_ms - 1);
                            plan.items.push(Planned {
                                time_ms,
                                principal: p as u32,
                                task: Task::Attack {
                                    attack: a,
                                    step: i as u32,
                                },
                            });
                        }
                        plan.attacks.push(Attack {
                            behaviour: bi16,
                            steps,
                            address,
                        });
                    }
                }
                BehaviourKind::Workflow => {
                    let n = rng::round_random(&mut prng, b.per_day * mass);
                    for _ in 0..n {
                        let p = members[prng.random_range(0..members.len())];
                        let steps = match b.workflow {
                            Some(WorkflowName::MlPipeline) => {
                                ml_pipeline(&plan.inventory, &mut prng, b.traffic)
                            }
                            Some(WorkflowName::AutoTraining) | None => {
                                auto_training(&plan.inventory, &mut prng)
                            }
                        };
                        if live && b.workflow != Some(WorkflowName::MlPipeline) {
                            // Automatic training is the service's own doing (the emulator retrains
                            // solutions with `performAutoTraining` itself): a client cannot send it.
                            continue;
                        }
                        if live {
                            // Live mode runs the script closed-loop: only its start is planned.
                            let w = plan.scripts.len() as u32;
                            plan.items.push(Planned {
                                time_ms: curve.sample(&mut prng, shard.end_ms),
                                principal: p as u32,
                                task: Task::Start { workflow: w },
                            });
                            plan.scripts.push((bi16, steps));
                            continue;
                        }
                        let steps = timeline(&steps);
                        let span = steps.last().map(|s| s.0).unwrap_or(0);
                        let available = shard.end_ms - shard.start_ms - 1;
                        // Squeeze a workflow that is longer than the span; start it early enough to end inside.
                        let scale = if span > available && span > 0 {
                            available as f64 / span as f64
                        } else {
                            1.0
                        };
                        let scaled = (span as f64 * scale) as i64;
                        let start = curve
                            .sample(&mut prng, shard.end_ms)
                            .min(shard.end_ms - 1 - scaled)
                            .max(shard.start_ms);
                        let w = plan.steps.len() as u32;
                        let mut list = Vec::with_capacity(steps.len());
                        for (i, (offset, op, content)) in steps.into_iter().enumerate() {
                            plan.items.push(Planned {
                                time_ms: start + (offset as f64 * scale) as i64,
                                principal: p as u32,
                                task: Task::Step {
                                    workflow: w,
                                    step: i as u32,
                                },
                            });
                            list.push((op, content));
                        }
                        plan.steps.push(list);
                    }
                }
            }
        }
        // Stable: calls at the same millisecond keep their planned order (workflow steps).
        plan.items.sort_by_key(|p| p.time_ms);
        plan
    }

    /// How many calls the shard holds.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether the shard holds no call.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// The account and Region of this shard.
    pub fn inventory(&self) -> &Inventory {
        &self.inventory
    }

    /// The time of the `i`-th call.
    pub fn time_ms(&self, i: usize) -> Option<i64> {
        self.items.get(i).map(|p| p.time_ms)
    }

    /// The content stream, for the caller's own per-call draws (ids) in call order.
    pub fn rng(&mut self) -> &mut Rng {
        &mut self.rng
    }

    /// Fills in the next call, in time order.
    pub fn next_event(&mut self) -> Option<Event> {
        loop {
            match self.next_item()? {
                Item::Call(e) => return Some(e),
                Item::Workflow(_) | Item::Plane(_) => continue,
            }
        }
    }

    /// Fills in the next item, in time order: a call, or (live mode) a workflow instance to run.
    pub fn next_item(&mut self) -> Option<Item> {
        // A planned call that turns out not to happen (a console read after a failed sign-in)
        // gives way to the next.
        loop {
            let p = *self.items.get(self.next)?;
            self.next += 1;
            if let Some(item) = self.item_at(p) {
                return Some(item);
            }
        }
    }

    fn item_at(&mut self, p: Planned) -> Option<Item> {
        match p.task {
            Task::Console { behaviour, op } => self
                .console_at(p, behaviour, op)
                .map(|e| Item::Plane(Box::new(e))),
            Task::Start { workflow } => self.workflow(p, workflow).map(Item::Workflow),
            Task::Plane { behaviour, op } => {
                self.plane_at(p, behaviour, op).map(|e| Item::Plane(Box::new(e)))
            }
            Task::Attack { attack, step } => self.attack_at(p, attack, step),
            Task::Mix { .. } | Task::Step { .. } => self.call_at(p).map(Item::Call),
        }
    }

    /// Names the account's trail and its bucket in plane calls (by default `management-events`
    /// and `aws-cloudtrail-logs-<account>`).
    pub fn with_trail(mut self, trail: &str, bucket: &str) -> Self {
        trail.clone_into(&mut self.trail);
        bucket.clone_into(&mut self.bucket);
        self
    }

    fn call_at(&mut self, p: Planned) -> Option<Event> {
        let principal = self.population.principals.get(p.principal as usize)?;
        let now_secs = p.time_ms.div_euclid(1000);
        let (op, content, addr, behaviour) = match p.task {
            Task::Mix { behaviour, op, addr } => {
                let spec = ops::OPS.get(op as usize)?;
                let mut content = calls::build(spec, &self.inventory, &mut self.rng, now_secs);
                let b = self.scenario.behaviours.get(behaviour as usize)?;
                if b.error_rate > 0.0 && self.rng.random_bool(b.error_rate) {
                    let (codes, weights) = &self.errors[behaviour as usize];
                    let applicable: Vec<f64> = codes
                        .iter()
                        .zip(weights)
                        .map(|(c, w)| if calls::error_applies(spec, c) { *w } else { 0.0 })
                        .collect();
                    if let Some(i) = rng::weighted(&mut self.rng, &applicable) {
                        let caller = principal.arn(&self.inventory.account);
                        calls::fail(
                            spec,
                            &self.inventory,
                            &mut content,
                            &codes[i],
                            &caller,
                            &mut self.rng,
                        );
                    }
                }
                (spec, content, addr, Some(behaviour))
            }
            Task::Step { workflow, step } => {
                let (spec, mut content) = self.steps.get(workflow as usize)?.get(step as usize)?.clone();
                if spec.name == "PutEvents" {
                    calls::stamp_sent_at(&mut content.body, now_secs);
                }
                (spec, content, Addr::Home, None)
            }
            Task::Start { .. } | Task::Plane { .. } | Task::Attack { .. } | Task::Console { .. } => {
                return None;
            }
        };
        let source_ip = match addr {
            Addr::Home => principal
                .addresses
                .get(self.rng.random_range(0..principal.addresses.len().max(1)))
                .cloned()
                .unwrap_or_else(|| "203.0.113.10".to_owned()),
            Addr::Fresh => population::unusual(&mut self.rng),
            Addr::Burst(i) => self.burst_addresses.get(i as usize).cloned().unwrap_or_default(),
        };
        let override_family = behaviour
            .and_then(|b| self.scenario.behaviours.get(b as usize))
            .and_then(|b| b.user_agent);
        let user_agent = match (override_family, behaviour) {
            (Some(family), Some(b)) => {
                let key = (b, p.principal);
                let rng = &mut self.rng;
                self.agents
                    .entry(key)
                    .or_insert_with(|| Agent::new(family, rng))
                    .render(op)
            }
            _ => principal.agent.render(op),
        };
        let label = behaviour
            .and_then(|b| self.scenario.behaviours.get(b as usize))
            .and_then(|b| {
                b.label.as_ref().map(|l| {
                    Box::new(Label {
                        technique: l.technique.clone(),
                        mitre: l.mitre.clone(),
                        step: b.name.clone(),
                    })
                })
            });
        Some(Event {
            time_ms: p.time_ms,
            principal: p.principal as usize,
            op,
            content,
            source_ip,
            user_agent,
            label,
        })
    }

    /// Whether this plan was made for live mode.
    pub fn live(&self) -> bool {
        self.live
    }
}

/// One item of a plan.
#[derive(Debug, Clone)]
#[allow(
    clippy::large_enum_variant,
    reason = "calls are nearly every item: boxing them would allocate once per call"
)]
pub enum Item {
    /// A call to send when its turn comes.
    Call(Event),
    /// A workflow instance that starts here and then runs closed-loop.
    Workflow(Workflow),
    /// A call of the identity and audit plane (offline only).
    Plane(Box<PlaneEvent>),
}

/// Splits `[start, end)` at UTC midnights.
pub fn days(start: OffsetDateTime, end: OffsetDateTime) -> Vec<(i64, i64)> {
    let (s, e) = (
        (start.unix_timestamp_nanos() / 1_000_000) as i64,
        (end.unix_timestamp_nanos() / 1_000_000) as i64,
    );
    let mut out = Vec::new();
    let mut t = s;
    while t < e {
        let next = (t.div_euclid(86_400_000) + 1) * 86_400_000;
        out.push((t, next.min(e)));
        t = next;
    }
    out
}

#[cfg(test)]
mod tests;
