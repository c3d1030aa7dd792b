//! Amazon Personalize as a pure state machine: no HTTP, no CloudTrail, no I/O, injected time.
//!
//! The protocol layer decodes a request into an [`Operation`] and a JSON input (member names
//! as in the API model), calls [`Personalize::call`] with a [`Context`], and encodes the
//! returned JSON or [`Error`]. Timestamps in outputs are epoch seconds (JSON numbers); the
//! members that hold them are listed by [`is_timestamp_member`].
//!
//! # Layout
//! - [`operation`]: every operation of the three APIs, generated from the botocore models.
//! - [`error`]: the errors, by AWS name.
//! - [`sensitive`]: the request members the models mark `sensitive`.
//! - `common`: validation, ARNs, pagination tokens and status lifecycles shared by all resources.
//! - `data`: dataset groups, schemas, datasets, jobs on data, event trackers, filters,
//!   metric attributions, tags, and the Events API.
//! - `models`: solutions, versions, campaigns, recommenders, batch jobs, the built-in
//!   recipes, algorithms and feature transformations, and the Runtime API.

pub mod audit;
pub mod common;
pub(crate) mod data;
pub mod error;
pub(crate) mod models;
pub mod operation;
pub(crate) mod resource;
pub mod sensitive;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};

use serde_json::Value;
use time::OffsetDateTime;

pub use error::{Error, ErrorKind, Result};
pub use operation::{Api, Operation};
pub use sensitive::sensitive_paths;

use operation::Family;

/// Who is calling, where, and when.
#[derive(Debug, Clone)]
pub struct Context {
    /// The caller's account (resources live per account and region).
    pub account: String,
    /// The region from the request's credential scope.
    pub region: String,
    /// The time of the call, from the injected clock.
    pub now: OffsetDateTime,
}

/// Behaviour knobs.
#[derive(Debug, Clone)]
pub struct Config {
    /// Multiplies every simulated duration (status lifecycles, training). `0.01` makes a
    /// ten-minute training take six seconds; `0.0` makes everything become ACTIVE at once.
    pub time_scale: f64,
}

impl Default for Config {
    fn default() -> Self {
        Config { time_scale: 0.01 }
    }
}

/// All state of one (account, region).
#[derive(Debug, Default, Clone, serde::Serialize, serde::Deserialize)]
pub struct Store {
    /// The data side.
    pub(crate) data: data::State,
    /// The model side.
    pub(crate) models: models::State,
    /// When `advance` next has something to do, while known (a cache, not state).
    #[serde(skip)]
    pub(crate) next_change: common::NextChange,
    /// How many calls that may change state this store has run: the sequence number of the
    /// last [`Change`] a journal saw for it.
    #[serde(default)]
    pub(crate) changes: u64,
}

/// What [`Personalize::replay`] did with a change from a journal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Replayed {
    /// The change ran.
    Applied,
    /// The store already holds it (a snapshot taken after it).
    Held,
    /// An earlier change of the store is missing: this one cannot be run on the right state.
    Gap,
}

/// The stores of one account, by Region.
type AccountStores = HashMap<String, Arc<Mutex<Store>>>;

/// The whole service: one [`Store`] per (account, region), each behind its own lock.
///
/// Stores never refer to each other, so calls in different (account, Region) pairs run in
/// parallel; only finding (or creating) the store takes the shared map's lock, briefly.
#[derive(Debug, Default)]
pub struct Personalize {
    config: Config,
    stores: RwLock<HashMap<String, AccountStores>>,
}

/// Why a snapshot could not be read.
#[derive(Debug, thiserror::Error)]
#[error("unreadable Personalize snapshot: {0}")]
pub struct SnapshotError(String);

impl Personalize {
    /// An empty service.
    pub fn new(config: Config) -> Self {
        Personalize {
            config,
            stores: RwLock::new(HashMap::new()),
        }
    }

    /// The whole state as JSON (each store read under its own lock, with its change number,
    /// so replaying a journal over it skips the changes it already holds).
    pub fn snapshot(&self) -> Vec<u8> {
        let stores: Vec<(String, String, Arc<Mutex<Store>>)> = {
            let all = self.stores.read().unwrap_or_else(|e| e.into_inner());
            all.iter()
                .flat_map(|(account, regions)| {
                    regions
                        .iter()
                        .map(move |(region, s)| (account.clone(), region.clone(), s.clone()))
                })
                .collect()
        };
        let mut out = b"[".to_vec();
        for (i, (account, region, store)) in stores.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            let store = store.lock().unwrap_or_else(|e| e.into_inner());
            // Serialising maps with string keys and plain data cannot fail.
            let _ = serde_json::to_writer(&mut out, &(account, region, &*store));
        }
        out.push(b']');
        out
    }

    /// A service holding the state of a [`Personalize::snapshot`].
    pub fn restore(config: Config, snapshot: &[u8]) -> std::result::Result<Self, SnapshotError> {
        let stores: Vec<(String, String, Store)> =
            serde_json::from_slice(snapshot).map_err(|e| SnapshotError(e.to_string()))?;
        let p = Personalize::new(config);
        {
            let mut all = p.stores.write().unwrap_or_else(|e| e.into_inner());
            for (account, region, store) in stores {
                all.entry(account)
                    .or_default()
                    .insert(region, Arc::new(Mutex::new(store)));
            }
        }
        Ok(p)
    }

    /// Runs a change again from a journal: the store's next change (`seq` one past the
    /// store's count), which [`Personalize::call_counted`] numbered when it first ran. Replaying
    /// every change of a store in order, at its time, rebuilds the state exactly: the state
    /// machine is deterministic.
    pub fn replay(&self, ctx: &Context, op: Operation, input: &Value, seq: u64) -> Replayed {
        let store = self.store(&ctx.account, &ctx.region);
        let mut store = store.lock().unwrap_or_else(|e| e.into_inner());
        if seq <= store.changes {
            return Replayed::Held;
        }
        if seq > store.changes + 1 {
            return Replayed::Gap;
        }
        let _ = self.run(&mut store, ctx, op, input);
        Replayed::Applied
    }

    /// Forgets every resource (the admin reset). A call already running finishes on the
    /// store it found, which is then dropped.
    pub fn reset(&self) {
        self.stores.write().unwrap_or_else(|e| e.into_inner()).clear();
    }

    /// The ARN of the event tracker whose tracking id is `tracking_id` in `(account, region)`:
    /// the resource a `PutEvents` or `PutActionInteractions` record names.
    pub fn event_tracker_arn(&self, account: &str, region: &str, tracking_id: &str) -> Option<String> {
        let store = self
            .stores
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(account)?
            .get(region)?
            .clone();
        let store = store.lock().unwrap_or_else(|e| e.into_inner());
        data::event_tracker_by_tracking_id(&store, tracking_id).map(|t| t.meta.arn.clone())
    }

    /// The store of `(account, region)`, created empty on first use.
    fn store(&self, account: &str, region: &str) -> Arc<Mutex<Store>> {
        let found = self
            .stores
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(account)
            .and_then(|regions| regions.get(region))
            .cloned();
        if let Some(store) = found {
            return store;
        }
        let mut stores = self.stores.write().unwrap_or_else(|e| e.into_inner());
        stores
            .entry(account.to_owned())
            .or_default()
            .entry(region.to_owned())
            .or_default()
            .clone()
    }

    /// A copy of the only store, for tests that look inside.
    #[cfg(test)]
    pub(crate) fn only_store(&self) -> Store {
        let stores = self.stores.read().unwrap_or_else(|e| e.into_inner());
        let mut all = stores.values().flat_map(|regions| regions.values());
        let store = all.next().expect("a store");
        assert!(all.next().is_none(), "more than one store");
        store.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Runs one operation. `input` is the request body as JSON (an object; `{}` when empty).
    pub fn call(&self, ctx: &Context, op: Operation, input: &Value) -> Result<Value> {
        self.call_counted(ctx, op, input).0
    }

    /// [`Personalize::call`], and the store's change number when the operation may change
    /// state: what a journal keeps beside the call to replay it later.
    pub fn call_counted(&self, ctx: &Context, op: Operation, input: &Value) -> (Result<Value>, Option<u64>) {
        let store = self.store(&ctx.account, &ctx.region);
        let mut store = store.lock().unwrap_or_else(|e| e.into_inner());
        let before = store.changes;
        let out = self.run(&mut store, ctx, op, input);
        let seq = (store.changes > before).then_some(store.changes);
        (out, seq)
    }

    fn run(&self, store: &mut Store, ctx: &Context, op: Operation, input: &Value) -> Result<Value> {
        let input = match input {
            Value::Object(_) => input,
            Value::Null => &Value::Object(Default::default()),
            _ => return Err(Error::invalid("The request body must be a JSON object.")),
        };
        let cx = common::Cx {
            ctx,
            config: &self.config,
        };
        // Time effects (finished deletes and jobs, automatic training) apply before every call.
        // Scanning for them is skipped until the earliest pending one is due, which is only
        // known while no call changed the store since the last scan.
        if !store.next_change.quiet_at(ctx.now) {
            models::advance(store, &cx);
            data::advance(store, &cx);
            store.next_change = models::next_change(store, &cx).and(data::next_change(store, &cx));
        }
        let out = match resource::read(store, &cx, op, &common::Members::new(input)) {
            Some(answer) => answer,
            None if op.family() == Family::Data => data::handle(store, &cx, op, input),
            None => models::handle(store, &cx, op, input),
        };
        if !op.read_only() {
            store.next_change = common::NextChange::Unknown;
            store.changes += 1;
        }
        out
    }
}

/// Whether an output member holds a timestamp (epoch seconds in the API; CloudTrail renders
/// these as Java dates inside `responseElements`).
pub fn is_timestamp_member(name: &str) -> bool {
    matches!(
        name,
        "creationDateTime"
            | "lastUpdatedDateTime"
            | "lastUpdateDateTime"
            | "trainingStartTime"
            | "trainingEndTime"
    ) || name.ends_with("DateTime")
}
