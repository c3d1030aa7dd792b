//! Test helpers for the data side: a service with a manual clock and canned inputs.

use serde_json::{Value, json};
use time::OffsetDateTime;
use time::macros::datetime;

use super::Meta;
use crate::common::Lifecycle;
use crate::error::{Error, ErrorKind, Result};
use crate::{Config, Context, Operation, Personalize};

/// The start of every test clock.
pub(crate) const T0: OffsetDateTime = datetime!(2026-01-01 00:00:00 UTC);

/// A `Meta` for unit tests that build resources by hand.
pub(crate) fn dummy_meta(name: &str) -> Meta {
    Meta {
        arn: format!("arn:aws:personalize:us-east-1:123456789012:schema/{name}"),
        name: name.to_string(),
        seq: 0,
        created: T0,
        phase: Lifecycle {
            started: T0,
            steps: vec![("ACTIVE", 0.0)],
        },
        delete: None,
        updated: None,
    }
}

/// The test account and Region at `now`.
pub(crate) fn ctx_at(now: OffsetDateTime) -> Context {
    Context {
        account: "123456789012".into(),
        region: "us-east-1".into(),
        now,
    }
}

/// The output of a call that must have succeeded.
pub(crate) fn succeeded(op: Operation, input: &Value, result: Result<Value>) -> Value {
    result.unwrap_or_else(|e| panic!("{} {input} failed: {e}", op.name()))
}

/// The error of a call that must have failed with `kind`.
pub(crate) fn failed(op: Operation, input: &Value, kind: ErrorKind, result: Result<Value>) -> Error {
    match result {
        Ok(v) => panic!("{} {input} succeeded with {v}, expected {kind:?}", op.name()),
        Err(e) => {
            assert_eq!(e.kind, kind, "{} {input}: {}", op.name(), e.message);
            e
        }
    }
}

/// The input of `CreateDatasetGroup` for `name`, in `domain` if given.
pub(crate) fn group_input(name: &str, domain: Option<&str>) -> Value {
    let mut input = json!({ "name": name });
    if let Some(d) = domain {
        input["domain"] = json!(d);
    }
    input
}

/// The input of `CreateDataset` of type `ty` named `name` in `dsg` with `schema`.
pub(crate) fn dataset_input(name: &str, dsg: &str, ty: &str, schema: &str) -> Value {
    json!({ "name": name, "datasetGroupArn": dsg, "datasetType": ty, "schemaArn": schema })
}

/// A service at real time scale (`1.0`) with a clock the test moves.
pub(crate) struct Harness {
    pub(crate) svc: Personalize,
    pub(crate) now: OffsetDateTime,
}

impl Harness {
    /// A fresh service at `T0`.
    pub(crate) fn new() -> Harness {
        Harness {
            svc: Personalize::new(Config { time_scale: 1.0 }),
            now: T0,
        }
    }

    pub(crate) fn ctx(&self) -> Context {
        ctx_at(self.now)
    }

    /// Moves the clock forward.
    pub(crate) fn wait(&mut self, secs: i64) {
        self.now += time::Duration::seconds(secs);
    }

    /// Makes a read-only call so time-driven changes (finished jobs, deletes) are applied.
    pub(crate) fn tick(&mut self) {
        self.ok(Operation::ListDatasetGroups, json!({}));
    }

    pub(crate) fn call(&mut self, op: Operation, input: Value) -> Result<Value> {
        let ctx = self.ctx();
        self.svc.call(&ctx, op, &input)
    }

    pub(crate) fn ok(&mut self, op: Operation, input: Value) -> Value {
        succeeded(op, &input, self.call(op, input.clone()))
    }

    /// Calls and expects an error of `kind`; returns the message.
    pub(crate) fn err(&mut self, op: Operation, input: Value, kind: ErrorKind) -> String {
        failed(op, &input, kind, self.call(op, input.clone())).message
    }

    pub(crate) fn arn(kind_id: &str) -> String {
        format!("arn:aws:personalize:us-east-1:123456789012:{kind_id}")
    }

    /// Creates a dataset group and waits for it to be ACTIVE.
    pub(crate) fn group(&mut self, name: &str, domain: Option<&str>) -> String {
        let out = self.ok(Operation::CreateDatasetGroup, group_input(name, domain));
        self.wait(60);
        out["datasetGroupArn"].as_str().unwrap().to_string()
    }

    pub(crate) fn schema(&mut self, name: &str, text: &str) -> String {
        let out = self.ok(Operation::CreateSchema, json!({ "name": name, "schema": text }));
        out["schemaArn"].as_str().unwrap().to_string()
    }

    /// Creates a dataset and waits for it to be ACTIVE.
    pub(crate) fn dataset(&mut self, dsg: &str, ty: &str, schema: &str) -> String {
        let out = self.ok(
            Operation::CreateDataset,
            dataset_input(&format!("ds-{ty}"), dsg, ty, schema),
        );
        self.wait(60);
        out["datasetArn"].as_str().unwrap().to_string()
    }

    /// A group with Interactions, Items and Users datasets (custom schemas) and a tracker.
    pub(crate) fn full_group(&mut self, name: &str) -> Full {
        let dsg = self.group(name, None);
        let si = self.schema(&format!("{name}-i"), INTERACTIONS);
        let sit = self.schema(&format!("{name}-it"), ITEMS);
        let su = self.schema(&format!("{name}-u"), USERS);
        let interactions = self.dataset(&dsg, "Interactions", &si);
        let items = self.dataset(&dsg, "Items", &sit);
        let users = self.dataset(&dsg, "Users", &su);
        let t = self.ok(
            Operation::CreateEventTracker,
            json!({ "name": format!("{name}-t"), "datasetGroupArn": dsg }),
        );
        self.wait(60);
        Full {
            dsg,
            interactions,
            items,
            users,
            tracker: t["eventTrackerArn"].as_str().unwrap().to_string(),
            tracking_id: t["trackingId"].as_str().unwrap().to_string(),
        }
    }
}

/// What [`Harness::full_group`] made.
pub(crate) struct Full {
    pub(crate) dsg: String,
    pub(crate) interactions: String,
    pub(crate) items: String,
    pub(crate) users: String,
    pub(crate) tracker: String,
    pub(crate) tracking_id: String,
}

/// A custom Interactions schema.
pub(crate) const INTERACTIONS: &str = r#"{"type":"record","name":"Interactions","namespace":"com.amazonaws.personalize.schema","fields":[{"name":"USER_ID","type":"string"},{"name":"ITEM_ID","type":"string"},{"name":"TIMESTAMP","type":"long"},{"name":"EVENT_TYPE","type":"string"},{"name":"EVENT_VALUE","type":["null","float"]},{"name":"DEVICE","type":["null","string"],"categorical":true}],"version":"1.0"}"#;
/// A custom Items schema.
pub(crate) const ITEMS: &str = r#"{"type":"record","name":"Items","namespace":"com.amazonaws.personalize.schema","fields":[{"name":"ITEM_ID","type":"string"},{"name":"GENRES","type":["null","string"],"categorical":true},{"name":"PRICE","type":["null","float"]},{"name":"IN_STOCK","type":["null","boolean"]}],"version":"1.0"}"#;
/// A custom Users schema.
pub(crate) const USERS: &str = r#"{"type":"record","name":"Users","namespace":"com.amazonaws.personalize.schema","fields":[{"name":"USER_ID","type":"string"},{"name":"AGE","type":["null","int"]},{"name":"MEMBERSHIP","type":["null","string"],"categorical":true}],"version":"1.0"}"#;
/// An Actions schema.
pub(crate) const ACTIONS: &str = r#"{"type":"record","name":"Actions","namespace":"com.amazonaws.personalize.schema","fields":[{"name":"ACTION_ID","type":"string"},{"name":"VALUE","type":["null","float"]}],"version":"1.0"}"#;
/// An Action interactions schema.
pub(crate) const ACTION_INTERACTIONS: &str = r#"{"type":"record","name":"ActionInteractions","namespace":"com.amazonaws.personalize.schema","fields":[{"name":"USER_ID","type":"string"},{"name":"ACTION_ID","type":"string"},{"name":"TIMESTAMP","type":"long"},{"name":"EVENT_TYPE","type":"string"}],"version":"1.0"}"#;
