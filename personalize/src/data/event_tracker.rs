//! Event trackers: CreateEventTracker, DescribeEventTracker, ListEventTrackers, DeleteEventTracker.
//!
//! The ARN carries an 8-hex id (`event-tracker/d2e0162e`) as real trackers do, and the
//! tracking id is a UUID; both are derived deterministically from the call sequence.

use serde_json::{Value, json};

use super::{Meta, durations, hex_id, not_found, ts, uuid};
use crate::Store;
use crate::common::{Cx, Lifecycle, Members, check_name};
use crate::error::{Error, Result};

/// An event tracker.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub(crate) struct EventTracker {
    /// ARN, name, lifecycle.
    pub(crate) meta: Meta,
    /// The owning group.
    pub(crate) dataset_group_arn: String,
    /// The id PutEvents and PutActionInteractions send.
    pub(crate) tracking_id: String,
    /// The owning account.
    pub(crate) account_id: String,
}

impl EventTracker {
    pub(crate) fn full(&self, cx: &Cx<'_>) -> Value {
        json!({
            "name": self.meta.name,
            "eventTrackerArn": self.meta.arn,
            "accountId": self.account_id,
            "trackingId": self.tracking_id,
            "datasetGroupArn": self.dataset_group_arn,
            "status": self.meta.status(cx),
            "creationDateTime": ts(self.meta.created),
            "lastUpdatedDateTime": ts(self.meta.last_updated(cx)),
        })
    }

    pub(crate) fn summary(&self, cx: &Cx<'_>) -> Value {
        json!({
            "name": self.meta.name,
            "eventTrackerArn": self.meta.arn,
            "status": self.meta.status(cx),
            "creationDateTime": ts(self.meta.created),
            "lastUpdatedDateTime": ts(self.meta.last_updated(cx)),
        })
    }
}

/// The tracker with this tracking id.
pub(crate) fn by_tracking_id<'a>(store: &'a Store, tracking_id: &str) -> Option<&'a EventTracker> {
    store
        .data
        .event_trackers
        .values()
        .find(|t| t.tracking_id == tracking_id)
}

pub(super) fn create(store: &mut Store, cx: &Cx<'_>, m: &Members<'_>) -> Result<Value> {
    let name = m.str("name")?;
    check_name("name", name)?;
    let dsg = m.arn("datasetGroupArn")?;
    let tags = super::check_tags(m)?;
    super::dataset_group_is_active(store, cx, dsg)?;
    if let Some(t) = store
        .data
        .event_trackers
        .values()
        .find(|t| t.dataset_group_arn == dsg)
    {
        return Err(Error::already_exists(format!(
            "Dataset group {dsg} already has event tracker {}. A dataset group can have only one event tracker.",
            t.meta.arn
        )));
    }
    let seq = store.data.seq + 1;
    // Eight hex digits can collide; derive another id until it is free.
    let mut salt = name.to_string();
    let mut arn = cx.arn("event-tracker", &hex_id(cx, seq, &salt, 8));
    while store.data.event_trackers.contains_key(&arn) {
        salt.push('+');
        arn = cx.arn("event-tracker", &hex_id(cx, seq, &salt, 8));
    }
    let tracking_id = uuid(cx, seq, "tracking");
    let lc = Lifecycle::create(cx.ctx.now, durations::EVENT_TRACKER);
    let meta = Meta::new(&mut store.data.seq, cx, arn.clone(), name, lc);
    store.data.event_trackers.insert(
        arn.clone(),
        EventTracker {
            meta,
            dataset_group_arn: dsg.to_string(),
            tracking_id: tracking_id.clone(),
            account_id: cx.ctx.account.clone(),
        },
    );
    super::register_tags(store, &arn, tags);
    Ok(json!({ "eventTrackerArn": arn, "trackingId": tracking_id }))
}

pub(super) fn delete(store: &mut Store, cx: &Cx<'_>, m: &Members<'_>) -> Result<Value> {
    let arn = m.arn("eventTrackerArn")?;
    let t = store
        .data
        .event_trackers
        .get_mut(arn)
        .ok_or_else(|| not_found(arn))?;
    if t.meta.deleting() {
        return Err(Error::in_use(format!(
            "Event tracker {arn} is already being deleted."
        )));
    }
    if !t.meta.is_active(cx) {
        return Err(super::not_active(arn, t.meta.status(cx)));
    }
    t.meta.start_delete(cx);
    Ok(json!({}))
}
