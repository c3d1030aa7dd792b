//! CloudTrail's way of hiding sensitive request members: the value becomes `HIDDEN_DUE_TO_SECURITY_REASONS`.
//!
//! Which members are sensitive is the service's knowledge, handed in by the caller as paths; this
//! module only walks the paths and hides what it finds.

use serde_json::Value;

/// What CloudTrail writes in place of a sensitive value.
pub const HIDDEN: &str = "HIDDEN_DUE_TO_SECURITY_REASONS";

/// `request` with every value at `paths` replaced by [`HIDDEN`]. It takes the request by value:
/// the recorder moves it into the record, so the common case (nothing sensitive) copies nothing.
pub fn redact(mut request: Value, paths: &[&str]) -> Value {
    for path in paths {
        let segments: Vec<&str> = path.split('.').collect();
        hide(&mut request, &segments);
    }
    request
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
        let r = redact(req.clone(), &["userId", "eventList[]"]);
        assert_eq!(
            r,
            json!({"trackingId": "t", "userId": HIDDEN, "sessionId": "s", "eventList": [HIDDEN, HIDDEN]})
        );
        let req = json!({"name": "g", "tags": [{"tagKey": "k", "tagValue": "v"}]});
        let r = redact(req.clone(), &["tags[].tagKey", "tags[].tagValue"]);
        assert_eq!(
            r,
            json!({"name": "g", "tags": [{"tagKey": HIDDEN, "tagValue": HIDDEN}]})
        );
        let req = json!({"campaignArn": "a", "filterValues": {"a": "\"x\""}, "promotions": [{"name": "p", "filterValues": {"b": "1"}}]});
        let r = redact(
            req.clone(),
            &["context{}", "filterValues{}", "promotions[].filterValues{}"],
        );
        assert_eq!(r["filterValues"]["a"], HIDDEN);
        assert_eq!(r["promotions"][0]["filterValues"]["b"], HIDDEN);
        assert_eq!(r["promotions"][0]["name"], "p");
        // Members of the wrong type are left alone rather than guessed at.
        let req = json!({"eventList": "not a list"});
        assert_eq!(redact(req.clone(), &["userId", "eventList[]"]), req);
    }
}
