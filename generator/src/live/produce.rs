//! The producer thread: the scenario planned day after day and Region after Region, each call
//! prepared for the wire (Personalize's, and the plane's STS and CloudTrail calls), in order.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use bytes::Bytes;
use tokio::sync::mpsc;

use super::workflow::{self, Started};
use super::{LiveIdentity, Prepared, Produced, coherence, wire};
use crate::labels::{Label, LabelLine};
use crate::plan::{Item, Plan, Shard};
use crate::population::Population;
use crate::scenario::{IdentityKind, Scenario};

/// Produces the scenario's calls, in order, forever (day after day, Region after Region).
#[allow(
    clippy::too_many_arguments,
    reason = "the producer thread takes ownership of each part; a struct would only name them twice"
)]
pub(super) fn produce(
    scenario: Scenario,
    population: Population,
    assigned: Vec<usize>,
    seed: u64,
    live_ids: std::collections::HashMap<String, String>,
    mut coherence: coherence::Coherence,
    tx: mpsc::Sender<Produced>,
    stop: Arc<AtomicBool>,
    ids: Arc<Vec<LiveIdentity>>,
    split: Option<(u32, u32)>,
) {
    // The roles live `AssumeRole` calls ask for: those of the configured role sessions.
    let mut roles: Vec<String> = ids.iter().filter_map(|i| i.role_arn.clone()).collect();
    roles.dedup();
    let mut next_role = 0usize;
    let principals = population.principals.len().max(1);
    let regions = population.regions.len().max(1);
    let day_ms = 86_400_000i64;
    // A fixed Monday, so the weekday curve is the same every run.
    let base = 1_767_571_200_000i64;
    let mut idle_days = 0;
    for d in 0i64.. {
        let mut any = false;
        for r in 0..regions {
            let shard = Shard {
                account: 0,
                region: r,
                start_ms: base + d * day_ms,
                end_ms: base + (d + 1) * day_ms,
            };
            let mut plan = Plan::new(&scenario, &population, seed, shard, true);
            let region = population.regions.get(r).cloned().unwrap_or_default();
            while let Some(item) = plan.next_item() {
                any = true;
                if stop.load(Ordering::Relaxed) {
                    return;
                }
                // Shards split the (Region, principal) pairs; every shard plans everything, so
                // each call is drawn the same way in whichever shard sends it.
                let principal = match &item {
                    Item::Call(e) => e.principal,
                    Item::Plane(e) => e.principal,
                    Item::Workflow(w) => w.principal,
                };
                if let Some((k, n)) = split
                    && (r * principals + principal) % n as usize != k as usize
                {
                    continue;
                }
                let ev = match item {
                    Item::Call(ev) => ev,
                    Item::Plane(ev) => {
                        let identity = assigned.get(ev.principal).copied().unwrap_or(0);
                        let role = roles.get(next_role % roles.len().max(1)).cloned();
                        if let Some(call) = plane_call(*ev, identity, &ids, &region, role) {
                            next_role += 1;
                            if tx.blocking_send(Produced::Call(call, None)).is_err() {
                                return;
                            }
                        }
                        continue;
                    }
                    Item::Workflow(w) => {
                        let identity = assigned.get(w.principal).copied().unwrap_or(0);
                        let started = Produced::Workflow(Box::new(Started {
                            workflow: w,
                            identity,
                            region: region.clone(),
                        }));
                        if tx.blocking_send(started).is_err() {
                            return;
                        }
                        continue;
                    }
                };
                // A read or event that is not a planned mistake may be pointed at what a running
                // workflow made (see `workflow::Runner::adapt`).
                let serve = (ev.op.read_only() || ev.op.name == "PutEvents") && ev.content.error.is_none();
                let planned =
                    ev.content.error.as_ref().and_then(|(code, _)| {
                        crate::scenario::ERROR_CODES.iter().find(|c| **c == code).copied()
                    });
                let mut content = ev.content;
                // The inventory's server-made identifiers (versions, trackers) as the setup found them.
                if !live_ids.is_empty() {
                    workflow::substitute(&mut content.body, &live_ids);
                }
                let mut identity = assigned.get(ev.principal).copied().unwrap_or(0);
                let mut op = ev.op;
                let planned = coherence.adjust(
                    &mut op,
                    r,
                    &mut content.body,
                    content.response.as_ref(),
                    &mut identity,
                    planned,
                );
                let body = serde_json::to_vec(&content.body).unwrap_or_else(|_| b"{}".to_vec());
                let call = Prepared {
                    op: wire::Wire::Personalize(op),
                    identity,
                    region: region.clone(),
                    body: Bytes::from(body),
                    user_agent: ev.user_agent,
                    source_ip: ev.source_ip,
                    label: ev.label,
                };
                // A call now expected to fail (it names what the scenario deleted) is not served.
                let item = if serve && planned.is_none() {
                    Produced::Serve(call)
                } else {
                    Produced::Call(call, planned)
                };
                if tx.blocking_send(item).is_err() {
                    return;
                }
            }
        }
        // A scenario whose every behaviour is quiet on some days still ends: give up after a week of nothing.
        idle_days = if any { 0 } else { idle_days + 1 };
        if idle_days > 7 {
            return;
        }
    }
}

/// A plane call as live mode sends it, signed as `identity`; `None` for one it does not send:
/// a service the emulator does not serve, a planned failure (a client cannot make the server
/// deny it), session tokens asked for with session credentials, and role sessions when no
/// configured role may be assumed (`role` is the one to ask for).
fn plane_call(
    ev: crate::plane::PlaneEvent,
    identity: usize,
    ids: &[LiveIdentity],
    region: &str,
    role: Option<String>,
) -> Option<Prepared> {
    let op = ev.call.op;
    if !wire::served(op) || ev.call.error.is_some() {
        return None;
    }
    let id = ids.get(identity)?;
    let long_term = matches!(id.kind, IdentityKind::IAMUser | IdentityKind::Root);
    let mut request = ev.call.wire_request().cloned();
    match op.name {
        "GetSessionToken" | "GetFederationToken" if !long_term => return None,
        "AssumeRole" => {
            if id.kind == IdentityKind::Root {
                return None;
            }
            let req = request.as_mut()?;
            req["RoleArn"] = serde_json::Value::String(role?);
            // Role chaining allows an hour at most, and so do the roles of the default config.
            req["DurationSeconds"] = serde_json::json!(900);
        }
        _ => {}
    }
    Some(Prepared {
        op: wire::Wire::Plane(op),
        identity,
        region: region.to_owned(),
        body: wire::plane_body(op, request.as_ref()),
        user_agent: ev.user_agent,
        source_ip: ev.source_ip,
        label: ev.label.map(Box::new),
    })
}

/// The answer key's line for a labelled call the server answered: named by the `requestID` it
/// answered with (the server assigns the eventID), stamped with the time it was answered.
pub(super) fn label_line(
    call: &Prepared,
    label: Label,
    headers: &http::HeaderMap,
    ids: &[LiveIdentity],
    now: time::OffsetDateTime,
) -> LabelLine {
    let id = ids.get(call.identity);
    let source = match call.op {
        wire::Wire::Personalize(_) => crate::record::EVENT_SOURCE,
        wire::Wire::Plane(op) => op.service.event_source(),
    };
    LabelLine {
        event_id: String::new(),
        request_id: headers
            .get("x-amzn-requestid")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
        event_time: cloudtrail::timefmt::iso_seconds(now),
        event_name: call.op.name().to_owned(),
        event_source: source.to_owned(),
        account: id.map(|i| i.account.clone()).unwrap_or_default(),
        region: call.region.clone(),
        technique: label.technique,
        mitre: label.mitre,
        step: label.step,
        actor: id.map(|i| i.arn.clone()).unwrap_or_default(),
    }
}
