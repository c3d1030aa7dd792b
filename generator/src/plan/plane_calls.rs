//! Filling in a plan's calls beyond the Personalize mix: workflow instances for live mode, plane
//! calls, the console sessions that follow a sign-in, and the steps of attack paths, each with
//! its caller, address and client.

use rand::RngExt;

use super::{Event, Item, Plan, Planned, Workflow};
use crate::agents::Agent;
use crate::calls;
use crate::labels::Label;
use crate::plane::attack::StepCall;
use crate::plane::{self, PlaneEvent, PlaneOp};
use crate::population;
use crate::scenario::{AddressMode, IdentityKind};

impl Plan<'_> {
    /// The client `principal` uses in `behaviour`: the behaviour's override, or its own.
    pub(super) fn agent_for(&mut self, behaviour: u16, principal: u32) -> Option<Agent> {
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

    pub(super) fn home_address(&mut self, principal: u32) -> String {
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
    pub(super) fn plane_call(
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

    pub(super) fn console_at(&mut self, p: Planned, behaviour: u16, op: u16) -> Option<PlaneEvent> {
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

    pub(super) fn plane_at(&mut self, p: Planned, behaviour: u16, op: u16) -> Option<PlaneEvent> {
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
    pub(super) fn note_sign_in(&mut self, event: &PlaneEvent) {
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

    pub(super) fn attack_at(&mut self, p: Planned, attack: u32, step: u32) -> Option<Item> {
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

    pub(super) fn workflow(&mut self, p: Planned, w: u32) -> Option<Workflow> {
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
}

/// Whether a plane call of `op` by a principal of `kind` belongs in the shard of Region index
/// `region`: global services' calls only in the first Region, sign-ins only by people who sign
/// in with a password (users and root).
pub(super) fn plane_fits(op: &PlaneOp, region: usize, kind: IdentityKind) -> bool {
    (!op.service.global() || region == 0)
        && (op.name != "ConsoleLogin" || matches!(kind, IdentityKind::IAMUser | IdentityKind::Root))
}
