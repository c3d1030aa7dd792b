//! The Events API (PutEvents, PutItems, PutUsers, PutActions, PutActionInteractions).

use super::*;

#[test]
fn events_api() {
    let mut h = Harness::new();
    let f = h.full_group("g");
    let ev = |item: &str| {
        json!({"eventType": "click", "itemId": item, "sentAt": 1767225700, "eventValue": 2.5,
                                 "properties": r#"{"device": "phone"}"#, "impression": ["a", "b"], "recommendationId": "r1"})
    };
    h.ok(PutEvents, json!({"trackingId": f.tracking_id, "sessionId": "s", "userId": "u1", "eventList": [ev("i1"), ev("i2")]}));
    h.ok(
        PutEvents,
        json!({"trackingId": f.tracking_id, "sessionId": "anon", "eventList": [ev("i3")]}),
    );
    let store = &h.svc.only_store();
    let all: Vec<_> = crate::data::interactions(store, &f.dsg).collect();
    assert_eq!(all.len(), 3);
    assert_eq!(all[0].user_id, "u1");
    assert_eq!(all[0].event_value, Some(2.5));
    assert_eq!(all[0].properties["DEVICE"], "phone");
    assert_eq!(all[0].impression, ["a", "b"]);
    assert_eq!(all[2].user_id, "anon");
    let bad: Vec<(Value, &str)> = vec![
        (
            json!({"trackingId": "nope", "sessionId": "s", "eventList": [ev("i1")]}),
            "does not match",
        ),
        (
            json!({"trackingId": f.tracking_id, "eventList": [ev("i1")]}),
            "sessionId",
        ),
        (
            json!({"trackingId": f.tracking_id, "sessionId": "s", "eventList": []}),
            "between 1 and 10",
        ),
        (
            json!({"trackingId": f.tracking_id, "sessionId": "s", "eventList": vec![ev("i"); 11]}),
            "between 1 and 10",
        ),
        (
            json!({"trackingId": f.tracking_id, "sessionId": "s", "eventList": [{"itemId": "i", "sentAt": 1}]}),
            "eventList.1.member.eventType",
        ),
        (
            json!({"trackingId": f.tracking_id, "sessionId": "s", "eventList": [{"eventType": "c", "itemId": "i"}]}),
            "sentAt",
        ),
        (
            json!({"trackingId": f.tracking_id, "sessionId": "s", "eventList": [{"eventType": "c", "sentAt": 1}]}),
            "itemId",
        ),
        (
            json!({"trackingId": f.tracking_id, "sessionId": "s", "eventList": [{"eventType": "c", "itemId": "i", "sentAt": "x"}]}),
            "epoch",
        ),
        (
            json!({"trackingId": f.tracking_id, "sessionId": "s", "eventList": [{"eventType": "c", "itemId": "i", "sentAt": 1, "properties": "{"}]}),
            "JSON",
        ),
        (
            json!({"trackingId": f.tracking_id, "sessionId": "s", "eventList": [{"eventType": "c", "itemId": "i", "sentAt": 1, "properties": r#"{"color": "x"}"#}]}),
            "does not match any field",
        ),
        (
            json!({"trackingId": f.tracking_id, "sessionId": "s", "eventList": [{"eventType": "c", "itemId": "i", "sentAt": 1, "recommendationId": "x".repeat(41)}]}),
            "between 1 and 40",
        ),
        (
            json!({"trackingId": f.tracking_id, "sessionId": "s", "eventList": [{"eventType": "c", "itemId": "i", "sentAt": 1, "metricAttribution": {}}]}),
            "eventAttributionSource",
        ),
    ];
    for (input, want) in bad {
        let msg = h.err(PutEvents, input.clone(), InvalidInput);
        assert!(msg.contains(want), "{input}: {msg}");
    }
    // Nothing of a rejected batch was kept.
    assert_eq!(crate::data::interactions(&h.svc.only_store(), &f.dsg).count(), 3);

    h.ok(PutItems, json!({"datasetArn": f.items, "items": [{"itemId": "i1", "properties": r#"{"GENRES": "Comedy", "price": 3}"#}, {"itemId": "i9"}]}));
    h.ok(
        PutUsers,
        json!({"datasetArn": f.users, "users": [{"userId": "u1", "properties": r#"{"age": 30}"#}]}),
    );
    let store = &h.svc.only_store();
    let items: Vec<_> = crate::data::items(store, &f.dsg).collect();
    assert_eq!(items.len(), 2);
    assert_eq!(items[0].1.properties["PRICE"], 3);
    assert_eq!(
        crate::data::users(store, &f.dsg).next().unwrap().1.properties["AGE"],
        30
    );
    h.err(
        PutItems,
        json!({"datasetArn": Harness::arn("dataset/g/ITEMS2"), "items": [{"itemId": "x"}]}),
        ResourceNotFound,
    );
    h.err(
        PutItems,
        json!({"datasetArn": f.users, "items": [{"itemId": "x"}]}),
        InvalidInput,
    );
    h.err(
        PutItems,
        json!({"datasetArn": f.items, "items": [{"properties": "{}"}]}),
        InvalidInput,
    );
    h.err(
        PutItems,
        json!({"datasetArn": f.items, "items": [{"itemId": "x", "properties": r#"{"price": "cheap"}"#}]}),
        InvalidInput,
    );
    h.err(
        PutItems,
        json!({"datasetArn": f.items, "items": [{"itemId": "x", "properties": r#"{"itemId": "x"}"#}]}),
        InvalidInput,
    );
    h.err(
        PutUsers,
        json!({"datasetArn": f.users, "users": []}),
        InvalidInput,
    );
    h.err(
        PutActions,
        json!({"datasetArn": f.items, "actions": [{"actionId": "a"}]}),
        InvalidInput,
    );

    // Actions and action interactions.
    let sa = h.schema("sa", ACTIONS);
    let sai = h.schema("sai", ACTION_INTERACTIONS);
    let out = h.ok(
        CreateDataset,
        json!({"name": "a", "datasetGroupArn": f.dsg, "datasetType": "Actions", "schemaArn": sa}),
    );
    let actions = out["datasetArn"].as_str().unwrap().to_string();
    assert_eq!(actions, Harness::arn("dataset/g/ACTIONS"));
    h.err(
        PutActions,
        json!({"datasetArn": actions, "actions": [{"actionId": "a1"}]}),
        ResourceInUse,
    );
    let ai = json!({"trackingId": f.tracking_id, "actionInteractions": [
        {"actionId": "a1", "userId": "u1", "sessionId": "s", "timestamp": 1767225700, "eventType": "TAKEN"}]});
    h.err(PutActionInteractions, ai.clone(), ResourceNotFound);
    h.ok(CreateDataset, json!({"name": "ai", "datasetGroupArn": f.dsg, "datasetType": "Action_Interactions", "schemaArn": sai}));
    h.wait(60);
    h.ok(
        PutActions,
        json!({"datasetArn": actions, "actions": [{"actionId": "a1", "properties": r#"{"value": 1.5}"#}]}),
    );
    h.ok(PutActionInteractions, ai);
    let store = &h.svc.only_store();
    assert_eq!(crate::data::actions(store, &f.dsg).count(), 1);
    assert_eq!(
        crate::data::action_interactions(store, &f.dsg)
            .next()
            .unwrap()
            .event_type,
        "TAKEN"
    );
    h.err(
        PutActionInteractions,
        json!({"trackingId": "nope", "actionInteractions": [{"actionId": "a1", "sessionId": "s", "timestamp": 1, "eventType": "TAKEN"}]}),
        ResourceNotFound,
    );
    h.err(
        PutActionInteractions,
        json!({"trackingId": f.tracking_id, "actionInteractions": [{"actionId": "a1", "timestamp": 1, "eventType": "TAKEN"}]}),
        InvalidInput,
    );
    // A deleted tracker no longer accepts events; a tracker still being created is not ACTIVE.
    h.ok(DeleteEventTracker, json!({"eventTrackerArn": f.tracker}));
    h.err(
        PutEvents,
        json!({"trackingId": f.tracking_id, "sessionId": "s", "eventList": [ev("i1")]}),
        InvalidInput,
    );
    h.wait(60);
    let t = h.ok(
        CreateEventTracker,
        json!({"name": "t2", "datasetGroupArn": f.dsg}),
    );
    let tid = t["trackingId"].as_str().unwrap();
    assert_ne!(tid, f.tracking_id);
    let msg = h.err(
        PutEvents,
        json!({"trackingId": tid, "sessionId": "s", "eventList": [ev("i1")]}),
        InvalidInput,
    );
    assert!(msg.contains("not ACTIVE"));
    // The Interactions dataset reports the group's tracking id.
    h.wait(60);
    let d = h.ok(DescribeDataset, json!({"datasetArn": f.interactions}));
    assert_eq!(d["dataset"]["trackingId"], tid);
}
