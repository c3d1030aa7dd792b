//! Trails and their event selectors, persisted in the data directory, and the router that
//! decides which trails (and so which buckets, accounts and Regions) get a record.
//!
//! Everything here is pure state plus one small JSON file: the CloudTrail JSON API in the
//! emulator calls the operations with the caller's account and Region and maps [`TrailError`]
//! to wire errors. The crate knows no service: the data-event resource types advanced selectors
//! may name come from the caller as [`DataResourceTypes`].
//!
//! - [`model`]: the trail, CreateTrail and UpdateTrail settings, organizations, tags, errors.
//! - [`selectors`]: basic and advanced event selectors, matching and validation.
//! - [`validate`]: names, trail ARNs, buckets, prefixes, topics, tags.
//! - `registry`: the registry, its state file and the config's declared trails.
//! - `operations`: CreateTrail, UpdateTrail, DeleteTrail, logging, selectors and tags.
//! - `router`: which trails take a record, and where their copies go.

pub mod model;
mod operations;
mod registry;
mod router;
pub mod selectors;
pub mod validate;

#[cfg(test)]
mod tests;

pub use model::{
    Caller, MAX_TAGS, MAX_TRAILS_PER_REGION, Organization, StoreName, Tag, Trail, TrailError, TrailSpec,
    TrailUpdate, trail_arn,
};
pub use registry::Trails;
pub use selectors::{
    ADVANCED_FIELDS, AdvancedEventSelector, AdvancedFieldSelector, BASIC_DATA_RESOURCE_TYPES, DataResource,
    DataResourceTypes, EXCLUDABLE_SOURCES, EventSelector, MAX_ADVANCED_VALUES, MAX_DATA_RESOURCES,
    MAX_EVENT_SELECTORS, Selectors, every_event_selectors, validate_advanced, validate_basic,
};
pub use validate::{TrailRef, validate_trail_name};

/// The trail every fresh emulator has: multi-Region, validation on, every management event and
/// every data event of `data_types`, the account's default bucket.
pub fn default_trail_spec(account: &str, data_types: &DataResourceTypes) -> TrailSpec {
    TrailSpec {
        name: "management-events".to_owned(),
        bucket: format!("aws-cloudtrail-logs-{account}"),
        multi_region: Some(true),
        include_global_service_events: Some(true),
        log_file_validation: Some(true),
        selectors: Some(Selectors::Advanced(every_event_selectors(data_types))),
        ..TrailSpec::default()
    }
}
