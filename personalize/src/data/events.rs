//! The Events API (PutEvents, PutUsers, PutItems, PutActions, PutActionInteractions) and the
//! per-dataset-group records it and import jobs fill, which the Runtime recommends from.
//!
//! Choices: PutEvents records an interaction for `userId`, or for `sessionId` when the user is
//! anonymous, and needs `itemId` because the Interactions schema's ITEM_ID cannot be null.
//! Property keys may be camelCase (`numberOfRatings`) as the API documents; they are matched
//! to schema columns ignoring case and underscores and stored under the column name, and an
//! unknown key is an `InvalidInputException`. A group keeps at most
//! [`MAX_INTERACTIONS`] item interactions and as many action interactions; the oldest go first.

use std::collections::{BTreeMap, VecDeque};

use serde_json::{Map, Value, json};

use super::event_tracker::by_tracking_id;
use super::schema::{Schema, normalise};
use super::synth::Rows;
use super::{DatasetType, dataset_schema, not_found};
use crate::Store;
use crate::common::{Cx, Members};
use crate::error::{Error, Result};

/// Item (and action) interactions kept per dataset group.
pub(crate) const MAX_INTERACTIONS: usize = 100_000;

/// A user, item or action.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub(crate) struct Entity {
    /// Metadata by schema column name (`GENRES`, `PRICE`).
    pub(crate) properties: Map<String, Value>,
    /// Whether it came from a bulk import (rather than the Events API).
    pub(crate) bulk: bool,
}

/// One item interaction.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub(crate) struct Interaction {
    /// The user (or the session id for an anonymous user).
    pub(crate) user_id: String,
    /// The item.
    pub(crate) item_id: String,
    /// The session, for events that came through PutEvents.
    pub(crate) session_id: Option<String>,
    /// The event type (`click`, `purchase`, ...).
    pub(crate) event_type: String,
    /// The event value, if any.
    pub(crate) event_value: Option<f64>,
    /// When it happened, epoch seconds.
    pub(crate) timestamp: f64,
    /// Items shown alongside (`impression`).
    pub(crate) impression: Vec<String>,
    /// The recommendation it answers, if any.
    pub(crate) recommendation_id: Option<String>,
    /// Other columns.
    pub(crate) properties: Map<String, Value>,
    /// Whether it came from a bulk import.
    pub(crate) bulk: bool,
}

/// One action interaction.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub(crate) struct ActionInteraction {
    /// The user, if known.
    pub(crate) user_id: Option<String>,
    /// The action.
    pub(crate) action_id: String,
    /// The session.
    pub(crate) session_id: Option<String>,
    /// `TAKEN`, `NOT_TAKEN`, `VIEWED` or a custom type.
    pub(crate) event_type: String,
    /// When it happened, epoch seconds.
    pub(crate) timestamp: f64,
    /// Other columns.
    pub(crate) properties: Map<String, Value>,
    /// Whether it came from a bulk import.
    pub(crate) bulk: bool,
}

/// Everything seen for one dataset group.
#[derive(Debug, Default, Clone, serde::Serialize, serde::Deserialize)]
pub(crate) struct Records {
    /// Users by id.
    pub(crate) users: BTreeMap<String, Entity>,
    /// Items by id.
    pub(crate) items: BTreeMap<String, Entity>,
    /// Actions by id.
    pub(crate) actions: BTreeMap<String, Entity>,
    /// Item interactions, oldest first.
    pub(crate) interactions: VecDeque<Interaction>,
    /// Action interactions, oldest first.
    pub(crate) action_interactions: VecDeque<ActionInteraction>,
}

impl Records {
    /// Forgets everything of one dataset type (the dataset was deleted).
    pub(crate) fn clear_type(&mut self, ty: DatasetType) {
        match ty {
            DatasetType::Users => self.users.clear(),
            DatasetType::Items => self.items.clear(),
            DatasetType::Actions => self.actions.clear(),
            DatasetType::Interactions => self.interactions.clear(),
            DatasetType::ActionInteractions => self.action_interactions.clear(),
        }
    }

    /// Forgets what earlier bulk imports put in one dataset type (a FULL import replaces it).
    pub(crate) fn clear_bulk(&mut self, ty: DatasetType) {
        match ty {
            DatasetType::Users => self.users.retain(|_, e| !e.bulk),
            DatasetType::Items => self.items.retain(|_, e| !e.bulk),
            DatasetType::Actions => self.actions.retain(|_, e| !e.bulk),
            DatasetType::Interactions => self.interactions.retain(|i| !i.bulk),
            DatasetType::ActionInteractions => self.action_interactions.retain(|i| !i.bulk),
        }
    }

    /// Adds imported rows.
    pub(crate) fn load(&mut self, ty: DatasetType, rows: Rows) {
        let map = match ty {
            DatasetType::Users => Some(&mut self.users),
            DatasetType::Items => Some(&mut self.items),
            DatasetType::Actions => Some(&mut self.actions),
            _ => None,
        };
        if let Some(map) = map {
            map.extend(rows.entities);
        }
        for i in rows.interactions {
            self.push_interaction(i);
        }
        for i in rows.action_interactions {
            self.push_action_interaction(i);
        }
    }

    fn push_interaction(&mut self, i: Interaction) {
        if self.interactions.len() >= MAX_INTERACTIONS {
            self.interactions.pop_front();
        }
        self.interactions.push_back(i);
    }

    fn push_action_interaction(&mut self, i: ActionInteraction) {
        if self.action_interactions.len() >= MAX_INTERACTIONS {
            self.action_interactions.pop_front();
        }
        self.action_interactions.push_back(i);
    }

    /// Removes users and everything they did; returns the number of rows removed.
    pub(crate) fn delete_users(&mut self, users: &[String]) -> u64 {
        let before = self.users.len() + self.interactions.len() + self.action_interactions.len();
        self.users.retain(|u, _| !users.contains(u));
        self.interactions.retain(|i| !users.contains(&i.user_id));
        self.action_interactions
            .retain(|i| i.user_id.as_ref().is_none_or(|u| !users.contains(u)));
        let after = self.users.len() + self.interactions.len() + self.action_interactions.len();
        (before - after) as u64
    }
}

// ---------------------------------------------------------------------------------------------
// Input helpers
// ---------------------------------------------------------------------------------------------

fn null_error(path: &str) -> Error {
    Error::invalid(format!(
        "1 validation error detected: Value null at '{path}' failed to satisfy constraint: Member must not be null"
    ))
}

/// A string member of a nested structure with its length bounds.
fn nested_str<'a>(
    o: &'a Map<String, Value>,
    path: &str,
    name: &str,
    min: usize,
    max: usize,
) -> Result<Option<&'a str>> {
    let full = format!("{path}.{name}");
    match o.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => {
            let n = s.chars().count();
            if n < min || n > max {
                return Err(Error::invalid(format!(
                    "1 validation error detected: Value at '{full}' failed to satisfy constraint: Member must have length between {min} and {max}"
                )));
            }
            Ok(Some(s))
        }
        Some(_) => Err(Error::invalid(format!("Value at '{full}' must be a string."))),
    }
}

fn required_str<'a>(
    o: &'a Map<String, Value>,
    path: &str,
    name: &str,
    min: usize,
    max: usize,
) -> Result<&'a str> {
    nested_str(o, path, name, min, max)?.ok_or_else(|| null_error(&format!("{path}.{name}")))
}

/// A required top-level string member with its length bounds.
fn top_str<'a>(m: &Members<'a>, name: &str, min: usize, max: usize) -> Result<&'a str> {
    let s = m.str(name)?;
    let n = s.chars().count();
    if n < min || n > max {
        return Err(Error::invalid(format!(
            "1 validation error detected: Value at '{name}' failed to satisfy constraint: Member must have length between {min} and {max}"
        )));
    }
    Ok(s)
}

/// A required list member of 1 to `max` structures.
fn top_list<'a>(m: &Members<'a>, name: &str, max: usize) -> Result<&'a Vec<Value>> {
    let l = m.opt_list(name)?.ok_or_else(|| null_error(name))?;
    if l.is_empty() || l.len() > max {
        return Err(Error::invalid(format!(
            "1 validation error detected: Value at '{name}' failed to satisfy constraint: Member must have length between 1 and {max}"
        )));
    }
    Ok(l)
}

fn timestamp(o: &Map<String, Value>, path: &str, name: &str) -> Result<f64> {
    match o.get(name) {
        Some(Value::Number(n)) => n
            .as_f64()
            .filter(|f| f.is_finite())
            .ok_or_else(|| Error::invalid(format!("Value at '{path}.{name}' must be a timestamp."))),
        None | Some(Value::Null) => Err(null_error(&format!("{path}.{name}"))),
        Some(_) => Err(Error::invalid(format!(
            "Value at '{path}.{name}' must be a timestamp in epoch seconds."
        ))),
    }
}

fn impression(o: &Map<String, Value>, path: &str) -> Result<Vec<String>> {
    match o.get("impression") {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(a)) => {
            if a.is_empty() || a.len() > 25 {
                return Err(Error::invalid(format!(
                    "1 validation error detected: Value at '{path}.impression' failed to satisfy constraint: Member must have length between 1 and 25"
                )));
            }
            a.iter()
                .enumerate()
                .map(|(i, v)| match v.as_str() {
                    Some(s) if !s.is_empty() && s.chars().count() <= 256 => Ok(s.to_string()),
                    _ => Err(Error::invalid(format!(
                        "Value at '{path}.impression.{}.member' must be a string of 1 to 256 characters.",
                        i + 1
                    ))),
                })
                .collect()
        }
        Some(_) => Err(Error::invalid(format!(
            "Value at '{path}.impression' must be a list."
        ))),
    }
}

/// Parses a `properties` JSON string and maps its keys to schema columns, skipping `skip`.
fn properties(raw: Option<&str>, path: &str, schema: &Schema, skip: &[&str]) -> Result<Map<String, Value>> {
    let Some(raw) = raw else {
        return Ok(Map::new());
    };
    let v: Value = serde_json::from_str(raw).map_err(|_| {
        Error::invalid(format!(
            "Value at '{path}.properties' is not a valid JSON object string."
        ))
    })?;
    let Value::Object(o) = v else {
        return Err(Error::invalid(format!(
            "Value at '{path}.properties' must be a JSON object."
        )));
    };
    let mut out = Map::new();
    for (k, v) in o {
        let want = normalise(&k);
        let field = schema
            .fields
            .iter()
            .find(|f| normalise(&f.name) == want && !skip.iter().any(|s| f.name.eq_ignore_ascii_case(s)))
            .ok_or_else(|| {
                Error::invalid(format!(
                    "Property {k} in '{path}.properties' does not match any field of the dataset schema."
                ))
            })?;
        let type_ok = match &v {
            Value::Null => field.nullable(),
            Value::String(_) => field.has_type("string"),
            Value::Number(_) => field.is_numeric(),
            Value::Bool(_) => field.has_type("boolean"),
            _ => false,
        };
        if !type_ok {
            return Err(Error::invalid(format!(
                "Property {k} in '{path}.properties' does not match the type of field {}.",
                field.name
            )));
        }
        out.insert(field.name.clone(), v);
    }
    Ok(out)
}

/// The schema of the group's dataset of type `ty`, if the group has one.
fn group_schema<'a>(store: &'a Store, cx: &Cx<'_>, dsg: &str, ty: DatasetType) -> Option<&'a Schema> {
    super::datasets_of(store, dsg)
        .find(|d| d.dataset_type == ty && !d.meta.deleting())
        .and_then(|d| dataset_schema(store, cx, d))
}

// ---------------------------------------------------------------------------------------------
// Operations
// ---------------------------------------------------------------------------------------------

pub(super) fn put_events(store: &mut Store, cx: &Cx<'_>, m: &Members<'_>) -> Result<Value> {
    let tracking_id = top_str(m, "trackingId", 1, 256)?;
    let session_id = top_str(m, "sessionId", 1, 256)?;
    let user_id = match m.opt_str("userId")? {
        Some(u) if u.is_empty() || u.chars().count() > 256 => {
            return Err(Error::invalid(
                "1 validation error detected: Value at 'userId' failed to satisfy constraint: Member must have length between 1 and 256",
            ));
        }
        u => u,
    };
    let list = top_list(m, "eventList", 10)?;
    // PutEvents models only InvalidInputException, so tracker problems are reported as such.
    let tracker = by_tracking_id(store, tracking_id).ok_or_else(|| {
        Error::invalid(format!(
            "Tracking ID {tracking_id} does not match any event tracker."
        ))
    })?;
    if !tracker.meta.is_active(cx) {
        return Err(Error::invalid(format!(
            "The event tracker for tracking ID {tracking_id} is not ACTIVE (status {}).",
            tracker.meta.status(cx)
        )));
    }
    let dsg = tracker.dataset_group_arn.clone();
    let schema = group_schema(store, cx, &dsg, DatasetType::Interactions).ok_or_else(|| {
        Error::invalid(format!(
            "Dataset group {dsg} has no ACTIVE Interactions dataset to record events in."
        ))
    })?;
    let user = user_id.unwrap_or(session_id);
    let mut new = Vec::with_capacity(list.len());
    for (i, e) in list.iter().enumerate() {
        let path = format!("eventList.{}.member", i + 1);
        let o = e
            .as_object()
            .ok_or_else(|| Error::invalid(format!("Value at '{path}' must be a structure.")))?;
        let event_type = required_str(o, &path, "eventType", 1, 256)?;
        let sent_at = timestamp(o, &path, "sentAt")?;
        nested_str(o, &path, "eventId", 1, 256)?;
        let item_id = nested_str(o, &path, "itemId", 1, 256)?.ok_or_else(|| {
            Error::invalid(format!(
                "Value null at '{path}.itemId': the Interactions schema requires ITEM_ID."
            ))
        })?;
        let event_value = match o.get("eventValue") {
            None | Some(Value::Null) => None,
            Some(Value::Number(n)) => n.as_f64(),
            Some(_) => {
                return Err(Error::invalid(format!(
                    "Value at '{path}.eventValue' must be a number."
                )));
            }
        };
        let recommendation_id = nested_str(o, &path, "recommendationId", 1, 40)?;
        let imp = impression(o, &path)?;
        if let Some(ma) = o.get("metricAttribution").filter(|v| !v.is_null()) {
            let ma = ma.as_object().ok_or_else(|| {
                Error::invalid(format!(
                    "Value at '{path}.metricAttribution' must be a structure."
                ))
            })?;
            let mpath = format!("{path}.metricAttribution");
            let src = required_str(ma, &mpath, "eventAttributionSource", 1, 1024)?;
            if src.trim().is_empty() || !src.chars().all(|c| (' '..='~').contains(&c)) {
                return Err(Error::invalid(format!(
                    "Value at '{mpath}.eventAttributionSource' must be printable ASCII and not blank."
                )));
            }
        }
        let props = properties(
            nested_str(o, &path, "properties", 1, 1024)?,
            &path,
            schema,
            &["USER_ID", "ITEM_ID", "TIMESTAMP", "EVENT_TYPE", "EVENT_VALUE"],
        )?;
        new.push(Interaction {
            user_id: user.to_string(),
            item_id: item_id.to_string(),
            session_id: Some(session_id.to_string()),
            event_type: event_type.to_string(),
            event_value,
            timestamp: sent_at,
            impression: imp,
            recommendation_id: recommendation_id.map(str::to_string),
            properties: props,
            bulk: false,
        });
    }
    let records = store.data.records.entry(dsg).or_default();
    for i in new {
        records.push_interaction(i);
    }
    Ok(json!({}))
}

pub(super) fn put_entities(
    store: &mut Store,
    cx: &Cx<'_>,
    m: &Members<'_>,
    ty: DatasetType,
) -> Result<Value> {
    let (list_name, id_name, max_props, kind) = match ty {
        DatasetType::Users => ("users", "userId", 24000, "Users"),
        DatasetType::Items => ("items", "itemId", 32000, "Items"),
        _ => ("actions", "actionId", 32000, "Actions"),
    };
    let dataset_arn = m.arn("datasetArn")?;
    let list = top_list(m, list_name, 10)?;
    let ds = store
        .data
        .datasets
        .get(dataset_arn)
        .ok_or_else(|| not_found(dataset_arn))?;
    if ds.dataset_type != ty {
        return Err(Error::invalid(format!(
            "Dataset {dataset_arn} is not an {kind} dataset.",
        )));
    }
    if !ds.meta.is_active(cx) {
        return Err(super::not_active(dataset_arn, ds.meta.status(cx)));
    }
    let schema = dataset_schema(store, cx, ds).ok_or_else(|| not_found(&ds.schema_arn))?;
    let id_column = match ty {
        DatasetType::Users => "USER_ID",
        DatasetType::Items => "ITEM_ID",
        _ => "ACTION_ID",
    };
    let mut new = Vec::with_capacity(list.len());
    for (i, e) in list.iter().enumerate() {
        let path = format!("{list_name}.{}.member", i + 1);
        let o = e
            .as_object()
            .ok_or_else(|| Error::invalid(format!("Value at '{path}' must be a structure.")))?;
        let id = required_str(o, &path, id_name, 1, 256)?;
        let props = properties(
            nested_str(o, &path, "properties", 1, max_props)?,
            &path,
            schema,
            &[id_column],
        )?;
        new.push((
            id.to_string(),
            Entity {
                properties: props,
                bulk: false,
            },
        ));
    }
    let dsg = ds.dataset_group_arn.clone();
    let records = store.data.records.entry(dsg).or_default();
    let map = match ty {
        DatasetType::Users => &mut records.users,
        DatasetType::Items => &mut records.items,
        _ => &mut records.actions,
    };
    map.extend(new);
    Ok(json!({}))
}

pub(super) fn put_action_interactions(store: &mut Store, cx: &Cx<'_>, m: &Members<'_>) -> Result<Value> {
    let tracking_id = top_str(m, "trackingId", 1, 256)?;
    let list = top_list(m, "actionInteractions", 10)?;
    let tracker = by_tracking_id(store, tracking_id).ok_or_else(|| {
        Error::not_found(format!(
            "Tracking ID {tracking_id} does not match any event tracker."
        ))
    })?;
    if !tracker.meta.is_active(cx) {
        return Err(Error::in_use(format!(
            "The event tracker for tracking ID {tracking_id} is not ACTIVE (status {}).",
            tracker.meta.status(cx)
        )));
    }
    let dsg = tracker.dataset_group_arn.clone();
    let schema = group_schema(store, cx, &dsg, DatasetType::ActionInteractions).ok_or_else(|| {
        Error::not_found(format!(
            "Dataset group {dsg} has no ACTIVE Action interactions dataset to record action interactions in."
        ))
    })?;
    let mut new = Vec::with_capacity(list.len());
    for (i, e) in list.iter().enumerate() {
        let path = format!("actionInteractions.{}.member", i + 1);
        let o = e
            .as_object()
            .ok_or_else(|| Error::invalid(format!("Value at '{path}' must be a structure.")))?;
        let action_id = required_str(o, &path, "actionId", 1, 256)?;
        let user_id = nested_str(o, &path, "userId", 1, 256)?;
        let session_id = required_str(o, &path, "sessionId", 1, 256)?;
        let ts = timestamp(o, &path, "timestamp")?;
        let event_type = required_str(o, &path, "eventType", 1, 256)?;
        nested_str(o, &path, "eventId", 1, 256)?;
        nested_str(o, &path, "recommendationId", 1, 40)?;
        impression(o, &path)?;
        let props = properties(
            nested_str(o, &path, "properties", 1, 1024)?,
            &path,
            schema,
            &["USER_ID", "ACTION_ID", "TIMESTAMP", "EVENT_TYPE"],
        )?;
        new.push(ActionInteraction {
            user_id: user_id.map(str::to_string),
            action_id: action_id.to_string(),
            session_id: Some(session_id.to_string()),
            event_type: event_type.to_string(),
            timestamp: ts,
            properties: props,
            bulk: false,
        });
    }
    let records = store.data.records.entry(dsg).or_default();
    for i in new {
        records.push_action_interaction(i);
    }
    Ok(json!({}))
}
