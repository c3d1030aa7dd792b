//! Sensitive request members, hidden in `requestParameters` as CloudTrail hides them.
//!
//! The Personalize models mark some shapes `sensitive` (event payloads, user ids in events,
//! item and user properties, filter values, filter expressions, tag keys and values). CloudTrail
//! replaces such values with `HIDDEN_DUE_TO_SECURITY_REASONS`; the paths below are those members,
//! read from the botocore models.

use personalize::Operation;
use serde_json::Value;

/// What CloudTrail writes in place of a sensitive value.
pub const HIDDEN: &str = "HIDDEN_DUE_TO_SECURITY_REASONS";

/// Tags appear in every Create call that takes them and in TagResource.
const TAGS: &[&str] = &["tags[].tagKey", "tags[].tagValue"];

/// The sensitive member paths of an operation's request: `a.b` walks members, `a[]` every
/// element of a list, `a{}` every value of a map.
pub fn sensitive_paths(op: Operation) -> &'static [&'static str] {
    match op {
        Operation::PutEvents => &["userId", "eventList[]"],
        Operation::PutUsers => &["users[].properties"],
        Operation::PutItems => &["items[].properties"],
        Operation::PutActions => &["actions[].properties"],
        Operation::PutActionInteractions => &[
            "actionInteractions[].actionId",
            "actionInteractions[].userId",
            "actionInteractions[].properties",
        ],
        Operation::GetRecommendations => &["context{}", "filterValues{}", "promotions[].filterValues{}"],
        Operation::GetPersonalizedRanking => &["context{}", "filterValues{}"],
        Operation::GetActionRecommendations => &["filterValues{}"],
        Operation::CreateFilter => &["filterExpression", "tags[].tagKey", "tags[].tagValue"],
        Operation::UntagResource => &["tagKeys[]"],
        _ => TAGS,
    }
}

/// A copy of `request` with every value at `paths` replaced by [`HIDDEN`].
pub fn redact(request: &Value, paths: &[&str]) -> Value {
    let mut out = request.clone();
    for path in paths {
        let segments: Vec<&str> = path.split('.').collect();
        hide(&mut out, &segments);
    }
    out
}

fn hide(v: &mut Value, segments: &[&str]) {
    let Some((first, rest)) = segments.split_first() else {
        return;
    };
    let Value::Object(obj) = v else { return };
    let (name, kind) = if let Some(n) = first.strip_suffix("[]") {
        (n, Some('['))
    } else if let Some(n) = first.strip_suffix("{}") {
        (n, Some('{'))
    } else {
        (*first, None)
    };
    let Some(member) = obj.get_mut(name) else { return };
    let children: Vec<&mut Value> = match (kind, member) {
        (None, m) => vec![m],
        (Some('['), Value::Array(a)) => a.iter_mut().collect(),
        (Some('{'), Value::Object(o)) => o.values_mut().collect(),
        _ => Vec::new(),
    };
    for child in children {
        if rest.is_empty() {
            if !child.is_null() {
                *child = Value::String(HIDDEN.to_owned());
            }
        } else {
            hide(child, rest);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn hides_nested_members() {
        let req = json!({"trackingId": "t", "userId": "u", "sessionId": "s",
                         "eventList": [{"eventType": "click"}, {"eventType": "buy"}]});
        let r = redact(&req, sensitive_paths(Operation::PutEvents));
        assert_eq!(
            r,
            json!({"trackingId": "t", "userId": HIDDEN, "sessionId": "s", "eventList": [HIDDEN, HIDDEN]})
        );
        let req = json!({"name": "g", "tags": [{"tagKey": "k", "tagValue": "v"}]});
        let r = redact(&req, sensitive_paths(Operation::CreateDatasetGroup));
        assert_eq!(
            r,
            json!({"name": "g", "tags": [{"tagKey": HIDDEN, "tagValue": HIDDEN}]})
        );
        let req = json!({"campaignArn": "a", "filterValues": {"a": "\"x\""}, "promotions": [{"name": "p", "filterValues": {"b": "1"}}]});
        let r = redact(&req, sensitive_paths(Operation::GetRecommendations));
        assert_eq!(r["filterValues"]["a"], HIDDEN);
        assert_eq!(r["promotions"][0]["filterValues"]["b"], HIDDEN);
        assert_eq!(r["promotions"][0]["name"], "p");
        // Members of the wrong type are left alone rather than guessed at.
        let req = json!({"eventList": "not a list"});
        assert_eq!(redact(&req, sensitive_paths(Operation::PutEvents)), req);
    }
}
