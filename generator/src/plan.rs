//! Turns a scenario into a timeline of calls for one (account, Region, time span): when each call
//! happens and who makes it, then, in time order, what it contains.
//!
//! Planning is cheap (a time, a principal and a task per call) so a whole day fits in memory; the
//! content is drawn afterwards from a second stream in time order, which keeps every shard
//! deterministic no matter which thread runs it.

use std::collections::HashMap;

use rand::RngExt;
use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::agents::Agent;
use crate::calls::{self, Content};
use crate::inventory::{self, Inventory};
use crate::labels::Label;
use crate::ops::{self, Kind, OpSpec};
use crate::plane::attack::{self, AttackStep, StepCall};
use crate::plane::{self, PlaneEvent, PlaneOp};
use crate::population::{self, Population};
use crate::rng::{self, Rng};
use crate::scenario::{AddressMode, AttackPath, BehaviourKind, IdentityKind, Scenario, WorkflowName};

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

    /// The client `principal` uses in `behaviour`: the behaviour's override, or its own.
    fn agent_for(&mut self, behaviour: u16, principal: u32) -> Option<Agent> {
        let b = self.scenario.behaviours.get(behaviour as usize)?;
        match b.user_agent {
            Some(family) => {
                let rng = &mut self.rng;
                Some(
                    self.agents
                        .entry((behaviour, principal))
                        .or_insert_with(|| Agent::new(family, rng))
                        .clone(),
                )
            }
            None => self
                .population
                .principals
                .get(principal as usize)
                .map(|p| p.agent.clone()),
        }
    }

    fn home_address(&mut self, principal: u32) -> String {
        self.population
            .principals
            .get(principal as usize)
            .and_then(|p| {
                p.addresses
                    .get(self.rng.random_range(0..p.addresses.len().max(1)))
            })
            .cloned()
            .unwrap_or_else(|| "203.0.113.10".to_owned())
    }

    /// A plane call: who, from where, with which client.
    #[allow(clippy::too_many_arguments, reason = "the parts of one planned call")]
    fn plane_call(
        &mut self,
        p: Planned,
        behaviour: u16,
        op: &'static PlaneOp,
        source_ip: String,
        user: Option<&str>,
        hostile: bool,
        fail: bool,
        label: Option<Label>,
    ) -> Option<PlaneEvent> {
        let user_agent = if op.name == "ConsoleLogin" {
            plane::browser(&mut self.rng).to_owned()
        } else {
            plane::user_agent(&self.agent_for(behaviour, p.principal)?, op)
        };
        let principal = self.population.principals.get(p.principal as usize)?;
        let target = plane::Target {
            account: &self.inventory.account,
            region: &self.inventory.region,
            trail: &self.trail,
            bucket: &self.bucket,
            user,
            hostile,
        };
        let call = plane::build(
            op,
            principal,
            &target,
            p.time_ms.div_euclid(1000),
            fail,
            &mut self.rng,
        );
        Some(PlaneEvent {
            time_ms: p.time_ms,
            principal: p.principal as usize,
            call,
            source_ip,
            user_agent,
            label,
        })
    }

    fn console_at(&mut self, p: Planned, behaviour: u16, op: u16) -> Option<PlaneEvent> {
        let op = plane::PLANE_OPS.get(op as usize)?;
        let session = self.consoles.get(&p.principal)?.clone();
        let mut event = self.plane_call(
            p,
            behaviour,
            op,
            session.source_ip.clone(),
            None,
            false,
            false,
            None,
        )?;
        let principal = self.population.principals.get(p.principal as usize)?;
        session.apply(&mut event.call, principal, &self.inventory.account);
        event.user_agent = session.user_agent;
        Some(event)
    }

    fn plane_at(&mut self, p: Planned, behaviour: u16, op: u16) -> Option<PlaneEvent> {
        let op = plane::PLANE_OPS.get(op as usize)?;
        let b = self.scenario.behaviours.get(behaviour as usize)?;
        let fail = b.error_rate > 0.0 && self.rng.random_bool(b.error_rate);
        let label = b.label.as_ref().map(|l| Label {
            technique: l.technique.clone(),
            mitre: l.mitre.clone(),
            step: b.name.clone(),
        });
        let source_ip = match b.address {
            AddressMode::Home => self.home_address(p.principal),
            AddressMode::Unusual | AddressMode::Both => population::unusual(&mut self.rng),
        };
        let event = self.plane_call(p, behaviour, op, source_ip, None, false, fail, label)?;
        if op.name == "ConsoleLogin" {
            self.note_sign_in(&event);
        }
        Some(event)
    }

    /// Opens (or, after a failed sign-in, closes) the principal's console session.
    fn note_sign_in(&mut self, event: &PlaneEvent) {
        let principal = event.principal as u32;
        if event.call.error.is_some() {
            self.consoles.remove(&principal);
            return;
        }
        let mfa = event
            .call
            .additional
            .as_ref()
            .is_some_and(|a| a["MFAUsed"] == "Yes");
        let session = plane::ConsoleSession {
            access_key_id: cloudtrail::identity::access_key_id(true, &mut self.rng),
            since: event.time_ms.div_euclid(1000),
            mfa,
            source_ip: event.source_ip.clone(),
            user_agent: event.user_agent.clone(),
        };
        self.consoles.insert(principal, session);
    }

    fn attack_at(&mut self, p: Planned, attack: u32, step: u32) -> Option<Item> {
        let a = self.attacks.get(attack as usize)?;
        let behaviour = a.behaviour;
        let s = a.steps.get(step as usize)?.clone();
        let source_ip = self
            .burst_addresses
            .get(a.address as usize)
            .cloned()
            .unwrap_or_default();
        match s.call {
            StepCall::Plane(op) => self
                .plane_call(
                    p,
                    behaviour,
                    op,
                    source_ip,
                    s.user,
                    s.hostile,
                    false,
                    Some(s.label),
                )
                .map(|e| Item::Plane(Box::new(e))),
            StepCall::Personalize(spec) => {
                let content = calls::build(spec, &self.inventory, &mut self.rng, p.time_ms.div_euclid(1000));
                let user_agent = self.agent_for(behaviour, p.principal)?.render(spec);
                Some(Item::Call(Event {
                    time_ms: p.time_ms,
                    principal: p.principal as usize,
                    op: spec,
                    content,
                    source_ip,
                    user_agent,
                    label: Some(Box::new(s.label)),
                }))
            }
        }
    }

    fn workflow(&mut self, p: Planned, w: u32) -> Option<Workflow> {
        let principal = self.population.principals.get(p.principal as usize)?;
        let (behaviour, steps) = self.scripts.get(w as usize)?.clone();
        let b = self.scenario.behaviours.get(behaviour as usize)?;
        // A script runs from one host.
        let source_ip = principal
            .addresses
            .get(self.rng.random_range(0..principal.addresses.len().max(1)))
            .cloned()
            .unwrap_or_else(|| "203.0.113.10".to_owned());
        let steps = steps
            .into_iter()
            .map(|s| {
                let ua = principal.agent.render(s.op);
                (s, ua)
            })
            .collect();
        Some(Workflow {
            name: b.name.clone(),
            principal: p.principal as usize,
            source_ip,
            steps,
            time_scale: b.live_time_scale,
        })
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
fn ml_pipeline(inv: &Inventory, rng: &mut Rng, traffic: u32) -> Vec<WorkflowStep> {
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
fn auto_training(inv: &Inventory, rng: &mut Rng) -> Vec<WorkflowStep> {
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

/// Whether a plane call of `op` by a principal of `kind` belongs in the shard of Region index
/// `region`: global services' calls only in the first Region, sign-ins only by people who sign
/// in with a password (users and root).
fn plane_fits(op: &PlaneOp, region: usize, kind: IdentityKind) -> bool {
    (!op.service.global() || region == 0)
        && (op.name != "ConsoleLogin" || matches!(kind, IdentityKind::IAMUser | IdentityKind::Root))
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
mod tests {
    use super::*;
    use crate::scenario::PRESETS;

    #[test]
    fn workflow_operations_exist() {
        let inv = Inventory::generate(1, 0, "123456789012", 0, "us-east-1");
        let mut r = rng::derive(1, &[]);
        let script = ml_pipeline(&inv, &mut r, 10);
        let steps = timeline(&script);
        let names: Vec<&str> = steps.iter().map(|s| s.1.name).collect();
        assert_eq!(names[0], "CreateDatasetGroup");
        assert_eq!(*names.last().unwrap(), "DescribeDatasetGroup");
        assert!(steps.windows(2).all(|w| w[0].0 <= w[1].0));
        for n in [
            "CreateSchema",
            "CreateDataset",
            "CreateDatasetImportJob",
            "CreateSolution",
            "CreateSolutionVersion",
            "CreateCampaign",
            "CreateRecommender",
            "GetRecommendations",
            "PutEvents",
            "DeleteDatasetGroup",
        ] {
            assert!(names.contains(&n), "{n}");
        }
    }

    #[test]
    fn polls_expand_offline_and_deletions_end_in_not_found() {
        let inv = Inventory::generate(2, 0, "123456789012", 0, "us-east-1");
        let mut r = rng::derive(2, &[]);
        let script = ml_pipeline(&inv, &mut r, 5);
        let steps = timeline(&script);
        let polls: usize = script
            .iter()
            .map(|s| s.poll.as_ref().map_or(1, |p| p.offline_gaps_ms.len()))
            .sum();
        assert_eq!(steps.len(), polls);
        for s in &script {
            let Some(p) = &s.poll else { continue };
            assert!(s.op.name.starts_with("Describe"));
            assert!(!p.offline_gaps_ms.is_empty() && p.max as usize >= p.offline_gaps_ms.len());
        }
        // Each wait for a deletion ends with the resource gone, and only those fail.
        let gone = script
            .iter()
            .filter(|s| s.poll.as_ref().is_some_and(|p| p.until == Until::Gone))
            .count();
        let failed: Vec<&str> = steps
            .iter()
            .filter(|s| s.2.error.is_some())
            .map(|s| s.1.name)
            .collect();
        assert_eq!(failed.len(), gone);
        assert_eq!(gone, 8);
        assert!(failed.iter().all(|n| n.starts_with("Describe")));
    }

    #[test]
    fn live_plans_start_workflows_instead_of_expanding_them() {
        let s = Scenario::parse("ml-pipeline", PRESETS[1].1).unwrap();
        let pop = Population::generate(&s, 1, &s.population.regions, 3);
        let shard = Shard {
            account: 0,
            region: 0,
            start_ms: 1_767_571_200_000,
            end_ms: 1_767_657_600_000,
        };
        let mut live = Plan::new(&s, &pop, 3, shard, true);
        let mut offline = Plan::new(&s, &pop, 3, shard, false);
        let mut workflows = Vec::new();
        while let Some(item) = live.next_item() {
            if let Item::Workflow(w) = item {
                workflows.push(w);
            }
        }
        assert!(!workflows.is_empty());
        let w = &workflows[0];
        assert_eq!(w.steps[0].0.op.name, "CreateDatasetGroup");
        assert!((w.time_scale - 0.01).abs() < 1e-12);
        assert!(w.steps.iter().all(|(_, ua)| ua.starts_with("Boto3/")));
        // Offline, the same script is expanded into calls: every step of the first instance is
        // there, in order.
        let names: Vec<&str> = std::iter::from_fn(|| offline.next_event())
            .filter(|e| e.user_agent.starts_with("Boto3/"))
            .map(|e| e.op.name)
            .collect();
        let mut pos = 0;
        for (step, _) in &w.steps {
            let i = names[pos..].iter().position(|n| *n == step.op.name).unwrap();
            pos += i + 1;
        }
    }

    #[test]
    fn days_split_at_midnight() {
        let s = time::macros::datetime!(2026-01-01 12:00 UTC);
        let e = time::macros::datetime!(2026-01-03 06:00 UTC);
        let d = days(s, e);
        assert_eq!(d.len(), 3);
        assert_eq!(d[0].1 - d[0].0, 12 * 3_600_000);
        assert_eq!(d[2].1 - d[2].0, 6 * 3_600_000);
    }

    #[test]
    fn plans_repeat() {
        let s = Scenario::parse("demo", PRESETS[0].1).unwrap();
        let pop = Population::generate(&s, 1, &s.population.regions, 3);
        let shard = Shard {
            account: 0,
            region: 0,
            start_ms: 1_767_571_200_000,
            end_ms: 1_767_657_600_000,
        };
        let mut a = Plan::new(&s, &pop, 3, shard, false);
        let mut b = Plan::new(&s, &pop, 3, shard, false);
        assert!(a.len() > 100);
        assert_eq!(a.len(), b.len());
        while let (Some(x), Some(y)) = (a.next_event(), b.next_event()) {
            assert_eq!(
                (x.time_ms, x.op.name, &x.content, &x.source_ip),
                (y.time_ms, y.op.name, &y.content, &y.source_ip)
            );
        }
    }
}
