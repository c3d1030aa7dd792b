//! Which request members the Personalize models mark `sensitive`, so recorders can hide them.
//!
//! The paths are read from the botocore models: `a.b` walks members, `a[]` every element of a
//! list, `a{}` every value of a map.

use crate::Operation;

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_payloads_tags_and_filters_are_sensitive() {
        assert_eq!(sensitive_paths(Operation::PutEvents), ["userId", "eventList[]"]);
        assert!(sensitive_paths(Operation::CreateFilter).contains(&"filterExpression"));
        assert_eq!(sensitive_paths(Operation::CreateDatasetGroup), TAGS);
        assert_eq!(sensitive_paths(Operation::UntagResource), ["tagKeys[]"]);
    }
}
