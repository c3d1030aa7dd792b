//! Live mode's workflow instances: each runs its script closed-loop, the way an engineer's
//! script runs against AWS, while the rest of the traffic stays open-loop.
//!
//! An instance sends step N+1 only once step N's answer is known. It polls a Describe call until
//! the resource is `ACTIVE` (or gone, after a delete), at the script's interval times the
//! behaviour's `live_time_scale`, giving up after the script's bound. It takes the identifiers
//! the server made (a solution version's ARN, an event tracker's ARN and tracking ID) from the
//! responses and uses them in later steps. A step that fails, a resource that fails or a poll
//! that runs out stops the instance, as a script without retries would stop.
//!
//! Instances do not send on their own clock: each call waits for a slot of the open-loop
//! schedule. The dispatcher gives a slot to a waiting workflow step first and to the next mix
//! call otherwise, so `--rate` bounds all calls together, and latency is measured from the
//! slot's intended time like every other call.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::BodyExt;
use serde_json::Value;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinSet;
use tokio::time::Instant;

use super::{LiveIdentity, Prepared, Sender, Shared, WorkerStats, build_request, connect, error_code};
use crate::calls;
use crate::plan::{Until, Workflow, WorkflowStep};
use sigv4::Signer;

/// Workflow instances that may run at once; a start beyond this is skipped (and logged), so a
/// slow endpoint cannot pile up scripts without end.
pub(super) const MAX_RUNNING: usize = 4;

/// A workflow instance the producer planned, with who runs it and where.
pub(super) struct Started {
    /// The script.
    pub(super) workflow: Workflow,
    /// The live identity that signs its calls.
    pub(super) identity: usize,
    /// Its Region.
    pub(super) region: String,
}

/// The request members a mix call may have pointed at a workflow's live resource.
const SERVED: [&str; 6] = [
    "campaignArn",
    "recommenderArn",
    "solutionVersionArn",
    "solutionArn",
    "datasetImportJobArn",
    "trackingId",
];

/// What running instances made and found ACTIVE: per member of [`SERVED`], (value, instance).
#[derive(Default)]
struct Serving {
    by_member: HashMap<&'static str, Vec<(String, u64)>>,
}

impl Serving {
    fn add(&mut self, member: &str, value: &str, instance: u64) {
        if let Some(m) = SERVED.iter().find(|m| **m == member) {
            let list = self.by_member.entry(m).or_default();
            if !list.iter().any(|(v, _)| v == value) {
                list.push((value.to_owned(), instance));
            }
        }
    }

    fn forget(&mut self, instance: u64) {
        for list in self.by_member.values_mut() {
            list.retain(|(_, i)| *i != instance);
        }
    }
}

/// FNV-1a, so the same planned resource maps to the same live one.
fn fnv(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// A request for one slot of the schedule: the dispatcher answers with the slot's intended time.
type SlotRequest = oneshot::Sender<Instant>;

/// The running workflow instances of a live run.
pub(super) struct Runner {
    shared: Arc<Shared>,
    ids: Arc<Vec<LiveIdentity>>,
    authority: String,
    slots_tx: mpsc::UnboundedSender<SlotRequest>,
    slots_rx: mpsc::UnboundedReceiver<SlotRequest>,
    done_tx: watch::Sender<bool>,
    tasks: JoinSet<WorkerStats>,
    reaped: Vec<WorkerStats>,
    skipped: u64,
    serving: Arc<Mutex<Serving>>,
    started: u64,
}

impl Runner {
    /// No instance yet.
    pub(super) fn new(shared: Arc<Shared>, ids: Arc<Vec<LiveIdentity>>, authority: String) -> Runner {
        let (slots_tx, slots_rx) = mpsc::unbounded_channel();
        let (done_tx, _) = watch::channel(false);
        Runner {
            shared,
            ids,
            authority,
            slots_tx,
            slots_rx,
            done_tx,
            tasks: JoinSet::new(),
            reaped: Vec::new(),
            skipped: 0,
            serving: Arc::default(),
            started: 0,
        }
    }

    /// Gives the slot at `intended` to a workflow step waiting for one, if any.
    pub(super) fn grant(&mut self, intended: Instant) -> bool {
        while let Ok(request) = self.slots_rx.try_recv() {
            if request.send(intended).is_ok() {
                return true;
            }
        }
        false
    }

    /// Points a mix read or event at a live resource of a running instance, when it names a
    /// resource of a kind some instance has ACTIVE.
    pub(super) fn adapt(&self, mut call: Prepared) -> Prepared {
        let serving = self.serving.lock().unwrap_or_else(|e| e.into_inner());
        if serving.by_member.values().all(Vec::is_empty) {
            return call;
        }
        let Ok(mut v) = serde_json::from_slice::<Value>(&call.body) else {
            return call;
        };
        let Some(m) = v.as_object_mut() else {
            return call;
        };
        // The workflows deploy a user-personalization campaign and a "recommended for you"
        // recommender: ranking, action and related-item requests do not fit them.
        let fits = match call.op.name() {
            "GetPersonalizedRanking" | "GetActionRecommendations" => false,
            "GetRecommendations" => m.contains_key("userId"),
            _ => true,
        };
        if !fits {
            return call;
        }
        let mut changed = false;
        for (member, list) in &serving.by_member {
            if list.is_empty() {
                continue;
            }
            if let Some(Value::String(x)) = m.get_mut(*member) {
                let i = (fnv(x) % list.len() as u64) as usize;
                if let Some((live, _)) = list.get(i) {
                    x.clone_from(live);
                    changed = true;
                }
            }
        }
        if changed && let Ok(body) = serde_json::to_vec(&v) {
            call.body = Bytes::from(body);
        }
        call
    }

    /// How many instances are running.
    pub(super) fn running(&mut self) -> usize {
        while self.reap_one() {}
        self.tasks.len()
    }

    /// Starts an instance, unless [`MAX_RUNNING`] already run.
    pub(super) fn start(&mut self, started: Started) {
        // Finished instances do not count.
        while self.reap_one() {}
        if self.tasks.len() >= MAX_RUNNING {
            self.skipped += 1;
            tracing::debug!(
                workflow = started.workflow.name,
                "workflow start skipped: {MAX_RUNNING} instances already running"
            );
            return;
        }
        self.started += 1;
        let instance = Instance {
            id: self.started,
            serving: self.serving.clone(),
            tracking_id: None,
            shared: self.shared.clone(),
            ids: self.ids.clone(),
            authority: self.authority.clone(),
            slots: self.slots_tx.clone(),
            done: self.done_tx.subscribe(),
            stats: WorkerStats::default(),
            conn: None,
            signers: Vec::new(),
        };
        self.tasks.spawn(instance.run(started));
    }

    /// Moves one finished instance's statistics aside; whether one had finished.
    fn reap_one(&mut self) -> bool {
        match self.tasks.try_join_next() {
            Some(Ok(stats)) => {
                self.reaped.push(stats);
                true
            }
            Some(Err(_)) => true,
            None => false,
        }
    }

    /// Ends the run: instances waiting for a slot or pausing stop, calls in flight finish.
    /// Returns every instance's statistics, merged.
    pub(super) async fn finish(mut self) -> WorkerStats {
        let _ = self.done_tx.send(true);
        drop(self.slots_rx);
        let mut total = WorkerStats::default();
        for s in self.reaped.drain(..) {
            merge(&mut total, s);
        }
        while let Some(r) = self.tasks.join_next().await {
            if let Ok(s) = r {
                merge(&mut total, s);
            }
        }
        if self.skipped > 0 {
            tracing::info!(skipped = self.skipped, "workflow starts skipped in all");
        }
        total
    }
}

/// Adds `s` into `total`.
pub(super) fn merge(total: &mut WorkerStats, s: WorkerStats) {
    total.latency.merge(&s.latency);
    for (k, v) in s.by_status {
        *total.by_status.entry(k).or_default() += v;
    }
    for (k, v) in s.by_error {
        *total.by_error.entry(k).or_default() += v;
    }
    for (k, v) in s.by_operation {
        *total.by_operation.entry(k).or_default() += v;
    }
    for (k, v) in s.expected_errors {
        *total.expected_errors.entry(k).or_default() += v;
    }
    total.transport_errors += s.transport_errors;
    total.last_done = total.last_done.max(s.last_done);
}

/// How a step's call ended.
enum Answer {
    /// The HTTP status and the body as JSON (`Null` when it is not JSON).
    Http(u16, String, Value),
    /// The run is over (or the connection failed): the instance stops.
    Stop,
}

struct Instance {
    id: u64,
    serving: Arc<Mutex<Serving>>,
    /// The tracking ID the service issued, once known.
    tracking_id: Option<String>,
    shared: Arc<Shared>,
    ids: Arc<Vec<LiveIdentity>>,
    authority: String,
    slots: mpsc::UnboundedSender<SlotRequest>,
    done: watch::Receiver<bool>,
    stats: WorkerStats,
    conn: Option<Sender>,
    signers: Vec<Signer>,
}

impl Instance {
    async fn run(mut self, started: Started) -> WorkerStats {
        let Started {
            workflow,
            identity,
            region,
        } = started;
        self.signers = super::wire::signers(&self.ids);
        // Planned identifiers -> the ones the server made.
        let mut learned: HashMap<String, String> = HashMap::new();
        let scale = workflow.time_scale;
        let total = workflow.steps.len();
        for (i, (step, ua)) in workflow.steps.iter().enumerate() {
            if !self.pause(step.delay_ms as f64 * scale).await {
                return self.end();
            }
            if step.op.name.starts_with("Delete") {
                // Clean-up starts: the mix stops using what is about to go.
                self.forget();
            }
            let outcome = self
                .step(
                    step,
                    ua,
                    identity,
                    &region,
                    &workflow.source_ip,
                    scale,
                    &mut learned,
                )
                .await;
            match outcome {
                Ok(()) => {}
                Err(None) => return self.end(),
                Err(Some(why)) => {
                    tracing::info!(
                        workflow = workflow.name,
                        step = i,
                        operation = step.op.name,
                        "workflow stopped: {why}"
                    );
                    return self.end();
                }
            }
        }
        tracing::info!(workflow = workflow.name, steps = total, "workflow finished");
        self.end()
    }

    fn forget(&self) {
        self.serving
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .forget(self.id);
    }

    fn end(self) -> WorkerStats {
        self.forget();
        self.stats
    }

    /// Runs one step: a call, or Describe calls until the resource is ready.
    /// `Err(None)` when the run ended, `Err(Some(why))` when the script stops.
    #[allow(
        clippy::too_many_arguments,
        reason = "one step of one workflow: each argument is a different part of it"
    )]
    async fn step(
        &mut self,
        step: &WorkflowStep,
        ua: &str,
        identity: usize,
        region: &str,
        source_ip: &str,
        scale: f64,
        learned: &mut HashMap<String, String>,
    ) -> Result<(), Option<String>> {
        let mut body = step.content.body.clone();
        substitute(&mut body, learned);
        let Some(poll) = &step.poll else {
            let (status, code, answer) = self.call(step, &body, ua, identity, region, source_ip).await?;
            if status >= 300 {
                return Err(Some(format!("{code} ({status})")));
            }
            learn(step.content.response.as_ref(), &answer, learned);
            if let Some(t) = answer.get("trackingId").and_then(Value::as_str) {
                self.tracking_id = Some(t.to_owned());
            }
            return Ok(());
        };
        let member = step.op.kind.arn_member();
        let noun = member.strip_suffix("Arn").unwrap_or(member);
        let mut last = String::new();
        for _ in 0..poll.max {
            // Each poll comes one interval after the previous call.
            if !self.pause(poll.every_secs * 1000.0 * scale).await {
                return Err(None);
            }
            let (status, code, answer) = self.call(step, &body, ua, identity, region, source_ip).await?;
            match poll.until {
                Until::Gone if status >= 300 && code == "ResourceNotFoundException" => {
                    // The script waits for exactly this answer.
                    *self.stats.expected_errors.entry(code).or_default() += 1;
                    return Ok(());
                }
                Until::Gone if status < 300 => {}
                Until::Active if status < 300 => {
                    let s = answer
                        .get(noun)
                        .and_then(|r| r.get("status"))
                        .and_then(Value::as_str)
                        .unwrap_or_default();
                    if s == "ACTIVE" {
                        self.serve(member, &body);
                        return Ok(());
                    }
                    if s.ends_with("FAILED") || s.ends_with("STOPPED") || s == "INACTIVE" {
                        let reason = answer
                            .get(noun)
                            .and_then(|r| r.get("failureReason"))
                            .and_then(Value::as_str)
                            .unwrap_or_default();
                        return Err(Some(format!("status {s}: {reason}")));
                    }
                    last = s.to_owned();
                }
                _ => return Err(Some(format!("{code} ({status})"))),
            }
        }
        Err(Some(format!(
            "gave up after {} polls (last status {last:?})",
            poll.max
        )))
    }

    /// Offers an ACTIVE resource to the mix calls.
    fn serve(&self, member: &str, body: &Value) {
        let mut serving = self.serving.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(arn) = body.get(member).and_then(Value::as_str) {
            serving.add(member, arn, self.id);
        }
        if member == "eventTrackerArn"
            && let Some(t) = &self.tracking_id
        {
            serving.add("trackingId", t, self.id);
        }
    }

    /// Waits `ms` milliseconds; false when the run ended meanwhile.
    async fn pause(&mut self, ms: f64) -> bool {
        if *self.done.borrow() {
            return false;
        }
        if !(ms.is_finite() && ms > 0.0) {
            return true;
        }
        let d = Duration::from_secs_f64((ms / 1000.0).min(86_400.0));
        tokio::select! {
            _ = tokio::time::sleep(d) => true,
            _ = self.done.changed() => false,
        }
    }

    /// Sends one call in the next slot it is given and records it like every other call.
    /// Returns (HTTP status, error code or "", body).
    async fn call(
        &mut self,
        step: &WorkflowStep,
        body: &Value,
        ua: &str,
        identity: usize,
        region: &str,
        source_ip: &str,
    ) -> Result<(u16, String, Value), Option<String>> {
        let mut body = body.clone();
        if step.op.name == "PutEvents" {
            calls::stamp_sent_at(&mut body, self.shared.clock.now().unix_timestamp());
        }
        let call = Prepared {
            op: super::wire::Wire::Personalize(step.op),
            label: None,
            identity,
            region: region.to_owned(),
            body: Bytes::from(serde_json::to_vec(&body).unwrap_or_else(|_| b"{}".to_vec())),
            user_agent: ua.to_owned(),
            source_ip: source_ip.to_owned(),
        };
        let (tx, rx) = oneshot::channel();
        if self.slots.send(tx).is_err() {
            return Err(None);
        }
        let intended = tokio::select! {
            r = rx => r.map_err(|_| None)?,
            _ = self.done.changed() => return Err(None),
        };
        match self.exchange(&call, intended).await {
            Answer::Http(status, code, v) => Ok((status, code, v)),
            Answer::Stop => Err(Some("transport error".to_owned())),
        }
    }

    async fn exchange(&mut self, call: &Prepared, intended: Instant) -> Answer {
        let host = self
            .authority
            .strip_suffix(":80")
            .unwrap_or(&self.authority)
            .to_owned();
        if self.conn.as_ref().is_none_or(|c| c.is_closed()) {
            self.conn = connect(&self.authority).await;
        }
        let req = build_request(call, &host, &mut self.signers, &self.ids, self.shared.clock.now());
        let (Some(sender), Some(req)) = (self.conn.as_mut(), req) else {
            self.failed();
            return Answer::Stop;
        };
        if sender.ready().await.is_err() {
            self.conn = None;
            self.failed();
            return Answer::Stop;
        }
        self.shared.sent.fetch_add(1, Ordering::Relaxed);
        let result = async {
            let resp = sender.send_request(req).await?;
            let (parts, body) = resp.into_parts();
            let bytes: Bytes = body.collect().await?.to_bytes();
            Ok::<_, hyper::Error>((parts, bytes))
        }
        .await;
        let done = Instant::now();
        let Ok((parts, bytes)) = result else {
            self.conn = None;
            self.failed();
            return Answer::Stop;
        };
        let micros = done
            .saturating_duration_since(intended)
            .as_micros()
            .min(u128::from(u64::MAX)) as u64;
        self.stats.latency.record(micros);
        let status = parts.status.as_u16();
        *self.stats.by_status.entry(status).or_default() += 1;
        let code = if status >= 400 {
            let code = error_code(&parts.headers, &bytes);
            *self.stats.by_error.entry(code.clone()).or_default() += 1;
            code
        } else {
            *self
                .stats
                .by_operation
                .entry(call.op.name().to_owned())
                .or_default() += 1;
            String::new()
        };
        self.stats.last_done = Some(done);
        self.shared.completed.fetch_add(1, Ordering::Relaxed);
        Answer::Http(
            status,
            code,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        )
    }

    fn failed(&mut self) {
        self.stats.transport_errors += 1;
        self.shared.failed.fetch_add(1, Ordering::Relaxed);
    }
}

/// Replaces every string of `v` that is a planned identifier with the one the server made.
pub(super) fn substitute(v: &mut Value, learned: &HashMap<String, String>) {
    if learned.is_empty() {
        return;
    }
    match v {
        Value::String(s) => {
            if let Some(n) = learned.get(s.as_str()) {
                *s = n.clone();
            }
        }
        Value::Array(a) => a.iter_mut().for_each(|x| substitute(x, learned)),
        Value::Object(m) => m.values_mut().for_each(|x| substitute(x, learned)),
        _ => {}
    }
}

/// Notes the identifiers a response named where the plan had guessed others.
fn learn(planned: Option<&Value>, actual: &Value, learned: &mut HashMap<String, String>) {
    let (Some(Value::Object(planned)), Value::Object(actual)) = (planned, actual) else {
        return;
    };
    for (k, p) in planned {
        if let (Some(p), Some(a)) = (p.as_str(), actual.get(k).and_then(Value::as_str))
            && p != a
        {
            learned.insert(p.to_owned(), a.to_owned());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn learned_identifiers_replace_planned_ones() {
        let mut learned = HashMap::new();
        learn(
            Some(&json!({"eventTrackerArn": "arn:planned", "trackingId": "t-planned"})),
            &json!({"eventTrackerArn": "arn:real", "trackingId": "t-real"}),
            &mut learned,
        );
        learn(
            Some(&json!({"datasetGroupArn": "arn:same"})),
            &json!({"datasetGroupArn": "arn:same"}),
            &mut learned,
        );
        assert_eq!(learned.len(), 2);
        let mut body =
            json!({"trackingId": "t-planned", "eventList": [{"itemId": "t-planned"}], "x": "arn:same"});
        substitute(&mut body, &learned);
        assert_eq!(
            body,
            json!({"trackingId": "t-real", "eventList": [{"itemId": "t-real"}], "x": "arn:same"})
        );
    }
}
