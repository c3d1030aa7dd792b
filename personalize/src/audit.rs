//! What a record of a Personalize call shows that only the service knows, for everyone who
//! writes such records (the emulator's recorder and the generator): the event source, and the
//! resources its data events name. Which members are sensitive is in [`crate::sensitive`], which
//! members are timestamps in [`crate::is_timestamp_member`].

/// `eventSource` of every Personalize call (control plane, Runtime and Events alike).
pub const EVENT_SOURCE: &str = "personalize.amazonaws.com";

/// The request members whose ARN a data event lists in `resources`, with the resource type it
/// is listed under: Runtime calls name a campaign or a recommender, `PutItems`, `PutUsers` and
/// `PutActions` a dataset.
pub const DATA_EVENT_RESOURCES: &[(&str, &str)] = &[
    ("campaignArn", "AWS::Personalize::Campaign"),
    ("recommenderArn", "AWS::Personalize::Recommender"),
    ("datasetArn", "AWS::Personalize::Dataset"),
];

/// The type of the event tracker `PutEvents` and `PutActionInteractions` act on (named by its
/// tracking id, not an ARN, so selectors match it by type).
pub const EVENT_TRACKER_TYPE: &str = "AWS::Personalize::EventTracker";

/// Every data-event resource type, as advanced event selectors name them in `resources.type`.
pub const DATA_RESOURCE_TYPES: &[&str] = &[
    EVENT_TRACKER_TYPE,
    "AWS::Personalize::Dataset",
    "AWS::Personalize::Campaign",
    "AWS::Personalize::Recommender",
];

/// The ARNs of `DATA_EVENT_RESOURCES` members that `input` names, with their resource types.
pub fn data_event_resources(input: &serde_json::Value) -> impl Iterator<Item = (&str, &'static str)> {
    DATA_EVENT_RESOURCES.iter().filter_map(move |(member, ty)| {
        let arn = input.get(*member)?.as_str()?;
        arn.starts_with("arn:").then_some((arn, *ty))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_events_name_the_arns_they_carry() {
        let input = serde_json::json!({"campaignArn": "arn:aws:personalize:us-east-1:1:campaign/c", "datasetArn": "x"});
        let found: Vec<_> = data_event_resources(&input).collect();
        assert_eq!(
            found,
            [(
                "arn:aws:personalize:us-east-1:1:campaign/c",
                "AWS::Personalize::Campaign"
            )]
        );
        for (_, ty) in DATA_EVENT_RESOURCES {
            assert!(DATA_RESOURCE_TYPES.contains(ty));
        }
    }
}
