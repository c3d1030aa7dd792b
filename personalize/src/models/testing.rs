//! Test helpers for the models side: a service at real time scale with a clock the test moves,
//! and shortcuts that build groups with data, solutions and trained versions through the API.

use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::data::testing::{
    ACTION_INTERACTIONS, ACTIONS, INTERACTIONS, ITEMS, T0, ctx_at, dataset_input, failed, group_input,
    succeeded,
};
use crate::error::{Error, ErrorKind, Result};
use crate::{Config, Context, Operation, Personalize};

/// The User-Personalization recipe.
pub(crate) const UP: &str = "arn:aws:personalize:::recipe/aws-user-personalization";

/// Calls kept as a journal keeps them: the call and the store's change number.
pub(crate) type Kept = std::sync::Arc<std::sync::Mutex<Vec<(Context, Operation, Value, u64)>>>;

/// A service with a manual clock.
pub(crate) struct Harness {
    pub(crate) svc: Personalize,
    pub(crate) now: OffsetDateTime,
    /// Tracking ids of the groups' event trackers, by group ARN.
    trackers: Vec<(String, String)>,
    /// When set, every call that may change state is kept here with its change number.
    pub(crate) journal: Option<Kept>,
}

impl Harness {
    /// A fresh service at `T0`, time scale 1.0.
    pub(crate) fn new() -> Harness {
        Harness {
            svc: Personalize::new(Config { time_scale: 1.0 }),
            now: T0,
            trackers: Vec::new(),
            journal: None,
        }
    }

    fn ctx(&self) -> Context {
        ctx_at(self.now)
    }

    /// Moves the clock forward.
    pub(crate) fn advance(&mut self, secs: f64) {
        self.now += time::Duration::seconds_f64(secs);
    }

    /// Calls an operation.
    pub(crate) fn call(&mut self, op: Operation, input: Value) -> Result<Value> {
        let ctx = self.ctx();
        let (out, seq) = self.svc.call_counted(&ctx, op, &input);
        if let (Some(j), Some(seq)) = (&self.journal, seq) {
            j.lock().unwrap().push((ctx, op, input, seq));
        }
        out
    }

    /// Calls and expects success.
    pub(crate) fn ok(&mut self, op: Operation, input: Value) -> Value {
        succeeded(op, &input, self.call(op, input.clone()))
    }

    /// Calls and expects an error of `kind`.
    pub(crate) fn err(&mut self, op: Operation, input: Value, kind: ErrorKind) -> Error {
        failed(op, &input, kind, self.call(op, input.clone()))
    }

    /// An ARN in the test account and region.
    pub(crate) fn arn(&self, kind_id: &str) -> String {
        format!("arn:aws:personalize:us-east-1:123456789012:{kind_id}")
    }

    /// Creates a dataset group without waiting.
    pub(crate) fn group(&mut self, name: &str, domain: Option<&str>) -> String {
        let out = self.ok(Operation::CreateDatasetGroup, group_input(name, domain));
        out["datasetGroupArn"].as_str().unwrap().to_string()
    }

    /// Creates a dataset group and waits until it is ACTIVE.
    pub(crate) fn active_group(&mut self, name: &str, domain: Option<&str>) -> String {
        let arn = self.group(name, domain);
        self.advance(60.0);
        arn
    }

    fn domain_of(&mut self, dsg: &str) -> Option<String> {
        let d = self.ok(Operation::DescribeDatasetGroup, json!({ "datasetGroupArn": dsg }));
        d["datasetGroup"]["domain"].as_str().map(str::to_string)
    }

    /// Creates a dataset of `ty` with `schema` in `dsg` and waits until it is ACTIVE.
    pub(crate) fn dataset(&mut self, dsg: &str, ty: &str, schema: &str) -> String {
        let tag = &dsg[dsg.rfind('/').map_or(0, |i| i + 1)..];
        let mut s = json!({ "name": format!("{tag}-{ty}"), "schema": schema });
        if let Some(d) = self.domain_of(dsg) {
            s["domain"] = json!(d);
        }
        let schema_arn = self.ok(Operation::CreateSchema, s)["schemaArn"].clone();
        let input = dataset_input(
            &format!("{tag}-{ty}"),
            dsg,
            ty,
            schema_arn.as_str().unwrap_or_default(),
        );
        let out = self.ok(Operation::CreateDataset, input);
        self.advance(60.0);
        out["datasetArn"].as_str().unwrap().to_string()
    }

    /// The tracking id of the group's event tracker, made (and waited for) on first use.
    pub(crate) fn tracking_id(&mut self, dsg: &str) -> String {
        if let Some((_, t)) = self.trackers.iter().find(|(g, _)| g == dsg) {
            return t.clone();
        }
        let tag = &dsg[dsg.rfind('/').map_or(0, |i| i + 1)..];
        let t = self.ok(
            Operation::CreateEventTracker,
            json!({ "name": format!("{tag}-tracker"), "datasetGroupArn": dsg }),
        );
        self.advance(60.0);
        let id = t["trackingId"].as_str().unwrap().to_string();
        self.trackers.push((dsg.to_string(), id.clone()));
        id
    }

    /// Records `(user, item, event type)` interactions, one second apart, through PutEvents.
    pub(crate) fn events(&mut self, dsg: &str, events: &[(&str, &str, &str)]) {
        let tracking = self.tracking_id(dsg);
        for (user, item, ty) in events {
            let sent = crate::common::epoch(self.now);
            self.ok(
                Operation::PutEvents,
                json!({ "trackingId": tracking, "userId": user, "sessionId": format!("s-{user}"),
                        "eventList": [{ "eventType": ty, "itemId": item, "sentAt": sent }] }),
            );
            self.advance(1.0);
        }
    }

    /// Creates an Interactions dataset in `dsg` and records `(user, item)` clicks.
    pub(crate) fn with_interactions(&mut self, dsg: &str, pairs: &[(&str, &str)]) {
        self.dataset(dsg, "Interactions", INTERACTIONS);
        let evs: Vec<(&str, &str, &str)> = pairs.iter().map(|(u, i)| (*u, *i, "click")).collect();
        self.events(dsg, &evs);
    }

    /// Creates an Items dataset in `dsg` and puts `(item, genre)` rows.
    pub(crate) fn with_items(&mut self, dsg: &str, items: &[(&str, &str)]) {
        let ds = self.dataset(dsg, "Items", ITEMS);
        for chunk in items.chunks(10) {
            let list: Vec<Value> = chunk
                .iter()
                .map(|(id, genre)| json!({ "itemId": id, "properties": json!({ "genres": genre }).to_string() }))
                .collect();
            self.ok(Operation::PutItems, json!({ "datasetArn": ds, "items": list }));
        }
    }

    /// Creates Actions and Action interactions datasets and records `(user, action, type)`.
    pub(crate) fn with_actions(&mut self, dsg: &str, actions: &[&str], interactions: &[(&str, &str, &str)]) {
        let ds = self.dataset(dsg, "Actions", ACTIONS);
        self.dataset(dsg, "Action_Interactions", ACTION_INTERACTIONS);
        let list: Vec<Value> = actions.iter().map(|a| json!({ "actionId": a })).collect();
        self.ok(
            Operation::PutActions,
            json!({ "datasetArn": ds, "actions": list }),
        );
        let tracking = self.tracking_id(dsg);
        for (user, action, ty) in interactions {
            let ts = crate::common::epoch(self.now);
            self.ok(
                Operation::PutActionInteractions,
                json!({ "trackingId": tracking, "actionInteractions": [
                    { "actionId": action, "userId": user, "sessionId": "s", "timestamp": ts, "eventType": ty }
                ]}),
            );
            self.advance(1.0);
        }
    }

    /// Creates a solution (automatic training off) and waits until it is ACTIVE.
    pub(crate) fn active_solution(&mut self, name: &str, dsg: &str, recipe: &str) -> String {
        let out = self.ok(
            Operation::CreateSolution,
            json!({ "name": name, "datasetGroupArn": dsg, "recipeArn": recipe, "performAutoTraining": false }),
        );
        self.advance(30.0);
        out["solutionArn"].as_str().unwrap().to_string()
    }

    /// Trains a FULL version of `solution` and waits until it is done.
    pub(crate) fn trained_version(&mut self, solution: &str) -> String {
        let out = self.ok(
            Operation::CreateSolutionVersion,
            json!({ "solutionArn": solution }),
        );
        self.advance(1300.0);
        out["solutionVersionArn"].as_str().unwrap().to_string()
    }

    /// An ACTIVE campaign on a freshly trained version of a new `recipe` solution.
    pub(crate) fn campaign(&mut self, name: &str, dsg: &str, recipe: &str, config: Option<Value>) -> String {
        let sol = self.active_solution(name, dsg, recipe);
        let v = self.trained_version(&sol);
        let mut input = json!({ "name": name, "solutionVersionArn": v });
        if let Some(c) = config {
            input["campaignConfig"] = c;
        }
        let out = self.ok(Operation::CreateCampaign, input);
        self.advance(310.0);
        out["campaignArn"].as_str().unwrap().to_string()
    }
}

impl Harness {
    /// A copy of the store of the test account and region (empty if nothing was called yet).
    pub(crate) fn svc_store(&mut self) -> crate::Store {
        self.svc
            .store("123456789012", "us-east-1")
            .lock()
            .unwrap()
            .clone()
    }
}
