//! Event selectors: the basic and advanced shapes PutEventSelectors takes, whether a selector
//! takes a record, and the checks PutEventSelectors makes. Which data-event resource types exist
//! is the services' knowledge: the caller hands them in as [`DataResourceTypes`].

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::record::{EventCategory, Record, Resource};

use super::model::TrailError;

/// Most basic event selectors on one trail.
pub const MAX_EVENT_SELECTORS: usize = 5;
/// Most data resources across a trail's basic selectors.
pub const MAX_DATA_RESOURCES: usize = 250;
/// Most condition values across a trail's advanced selectors.
pub const MAX_ADVANCED_VALUES: usize = 500;

/// The data-event resource types basic selectors accept (`DataResource.Type` documentation).
pub const BASIC_DATA_RESOURCE_TYPES: &[&str] =
    &["AWS::S3::Object", "AWS::Lambda::Function", "AWS::DynamoDB::Table"];

/// The data-event resource types advanced selectors may name in `resources.type` besides
/// [`BASIC_DATA_RESOURCE_TYPES`]: the types of the data events the services behind this
/// CloudTrail record (`AWS::<Service>::<Kind>`). The caller that knows the services gives them
/// to the trail registry when it opens it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DataResourceTypes(BTreeSet<String>);

impl DataResourceTypes {
    /// The set of `types`.
    pub fn new<T: Into<String>>(types: impl IntoIterator<Item = T>) -> Self {
        DataResourceTypes(types.into_iter().map(Into::into).collect())
    }

    /// The given types, in order.
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(String::as_str)
    }

    /// Whether an advanced selector may name `t`: a basic type or one of the given ones.
    pub fn accepts(&self, t: &str) -> bool {
        BASIC_DATA_RESOURCE_TYPES.contains(&t) || self.0.contains(t)
    }
}

/// Fields an advanced field selector may name on a trail.
pub const ADVANCED_FIELDS: &[&str] = &[
    "eventCategory",
    "eventSource",
    "eventName",
    "eventType",
    "readOnly",
    "resources.type",
    "resources.ARN",
    "errorCode",
    "sessionCredentialFromConsole",
    "userIdentity.arn",
    "vpcEndpointId",
];

/// Event sources a basic selector may exclude from management events.
pub const EXCLUDABLE_SOURCES: &[&str] = &["kms.amazonaws.com", "rdsdata.amazonaws.com"];

/// One `DataResource` of a basic selector.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DataResource {
    /// `AWS::S3::Object` and the like.
    #[serde(default)]
    pub r#type: Option<String>,
    /// ARNs or ARN prefixes.
    #[serde(default)]
    pub values: Vec<String>,
}

/// A basic event selector, in the wire shape (PascalCase), with AWS's defaults filled in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct EventSelector {
    /// `ReadOnly`, `WriteOnly` or `All` (default).
    #[serde(default = "all")]
    pub read_write_type: String,
    /// Whether management events are selected (default true).
    #[serde(default = "yes")]
    pub include_management_events: bool,
    /// Data resources whose data events are selected.
    #[serde(default)]
    pub data_resources: Vec<DataResource>,
    /// Management event sources left out.
    #[serde(default)]
    pub exclude_management_event_sources: Vec<String>,
}

fn all() -> String {
    "All".to_owned()
}

fn yes() -> bool {
    true
}

impl Default for EventSelector {
    fn default() -> Self {
        EventSelector {
            read_write_type: all(),
            include_management_events: true,
            data_resources: Vec::new(),
            exclude_management_event_sources: Vec::new(),
        }
    }
}

/// One condition of an advanced event selector.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AdvancedFieldSelector {
    /// The record field, e.g. `eventCategory`, `resources.type`.
    pub field: String,
    /// Matches any of these values exactly.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub equals: Option<Vec<String>>,
    /// Matches values starting with any of these.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub starts_with: Option<Vec<String>>,
    /// Matches values ending with any of these.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ends_with: Option<Vec<String>>,
    /// Excludes these values.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_equals: Option<Vec<String>>,
    /// Excludes values starting with any of these.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_starts_with: Option<Vec<String>>,
    /// Excludes values ending with any of these.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_ends_with: Option<Vec<String>>,
}

/// An advanced event selector: all its conditions must hold.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AdvancedEventSelector {
    /// Optional description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The conditions.
    #[serde(default)]
    pub field_selectors: Vec<AdvancedFieldSelector>,
}

/// A trail's selectors: basic or advanced, never both.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Selectors {
    /// `EventSelectors`.
    Basic(Vec<EventSelector>),
    /// `AdvancedEventSelectors`.
    Advanced(Vec<AdvancedEventSelector>),
}

impl Default for Selectors {
    /// What a new trail logs: every read and write management event, no data events.
    fn default() -> Self {
        Selectors::Basic(vec![EventSelector::default()])
    }
}

fn is_management(record: &Record) -> bool {
    record.event_category == EventCategory::Management
}

fn is_read_only(record: &Record) -> bool {
    record.read_only == Some(true)
}

impl Selectors {
    /// Whether any selector takes `record`.
    pub fn select(&self, record: &Record) -> bool {
        match self {
            Selectors::Basic(sel) => sel.iter().any(|s| s.select(record)),
            Selectors::Advanced(sel) => sel.iter().any(|s| s.select(record)),
        }
    }
}

impl EventSelector {
    /// Whether this basic selector takes `record`.
    pub fn select(&self, record: &Record) -> bool {
        let rw_ok = match self.read_write_type.as_str() {
            "ReadOnly" => is_read_only(record),
            "WriteOnly" => !is_read_only(record),
            _ => true,
        };
        if !rw_ok {
            return false;
        }
        if is_management(record) {
            self.include_management_events
                && !self
                    .exclude_management_event_sources
                    .contains(&record.event_source)
        } else if record.event_category == EventCategory::Data {
            self.data_resources.iter().any(|dr| {
                record.resources.iter().any(|r| {
                    r.resource_type.is_some()
                        && r.resource_type == dr.r#type
                        && r.arn
                            .as_deref()
                            .is_some_and(|arn| dr.values.iter().any(|v| arn.starts_with(v.as_str())))
                })
            })
        } else {
            false
        }
    }
}

impl AdvancedFieldSelector {
    fn positive(&self) -> bool {
        [&self.equals, &self.starts_with, &self.ends_with]
            .iter()
            .any(|o| o.as_ref().is_some_and(|v| !v.is_empty()))
    }

    /// Whether `value` (absent when the record lacks the field) satisfies this condition: any
    /// positive operator matches (when there is one) and no negative operator does.
    pub fn matches(&self, value: Option<&str>) -> bool {
        let any = |o: &Option<Vec<String>>, f: &dyn Fn(&str, &str) -> bool| {
            value.is_some_and(|v| o.as_deref().unwrap_or_default().iter().any(|x| f(v, x)))
        };
        let eq = |v: &str, x: &str| v == x;
        let sw = |v: &str, x: &str| v.starts_with(x);
        let ew = |v: &str, x: &str| v.ends_with(x);
        let pos_ok = !self.positive()
            || any(&self.equals, &eq)
            || any(&self.starts_with, &sw)
            || any(&self.ends_with, &ew);
        let neg_hit =
            any(&self.not_equals, &eq) || any(&self.not_starts_with, &sw) || any(&self.not_ends_with, &ew);
        pos_ok && !neg_hit
    }

    fn value_count(&self) -> usize {
        [
            &self.equals,
            &self.starts_with,
            &self.ends_with,
            &self.not_equals,
            &self.not_starts_with,
            &self.not_ends_with,
        ]
        .iter()
        .map(|o| o.as_ref().map_or(0, Vec::len))
        .sum()
    }

    fn only_equals(&self) -> bool {
        self.starts_with.is_none()
            && self.ends_with.is_none()
            && self.not_equals.is_none()
            && self.not_starts_with.is_none()
            && self.not_ends_with.is_none()
    }
}

fn record_field<'a>(record: &'a Record, field: &str) -> Option<std::borrow::Cow<'a, str>> {
    use std::borrow::Cow;
    match field {
        "eventCategory" => Some(Cow::Borrowed(match record.event_category {
            EventCategory::Management => "Management",
            EventCategory::Data => "Data",
            EventCategory::NetworkActivity => "NetworkActivity",
            EventCategory::Insight => "Insight",
        })),
        "eventSource" => Some(Cow::Borrowed(record.event_source.as_str())),
        "eventName" => Some(Cow::Borrowed(record.event_name.as_str())),
        "eventType" => serde_json::to_value(record.event_type)
            .ok()
            .and_then(|v| v.as_str().map(|s| Cow::Owned(s.to_owned()))),
        "readOnly" => Some(Cow::Borrowed(if is_read_only(record) { "true" } else { "false" })),
        "errorCode" => record.error_code.as_deref().map(Cow::Borrowed),
        "sessionCredentialFromConsole" => record
            .session_credential_from_console
            .as_deref()
            .map(Cow::Borrowed),
        "userIdentity.arn" => record.user_identity.arn.as_deref().map(Cow::Borrowed),
        "vpcEndpointId" => record.vpc_endpoint_id.as_deref().map(Cow::Borrowed),
        _ => None,
    }
}

impl AdvancedEventSelector {
    /// Whether every condition holds; the `resources.*` conditions must hold on one same resource.
    pub fn select(&self, record: &Record) -> bool {
        let (res, other): (Vec<_>, Vec<_>) = self
            .field_selectors
            .iter()
            .partition(|f| f.field.starts_with("resources."));
        if !other
            .iter()
            .all(|f| f.matches(record_field(record, &f.field).as_deref()))
        {
            return false;
        }
        if res.is_empty() {
            return true;
        }
        let on = |r: Option<&Resource>| {
            res.iter().all(|f| {
                let v = r.and_then(|r| {
                    if f.field == "resources.type" {
                        r.resource_type.as_deref()
                    } else {
                        r.arn.as_deref()
                    }
                });
                f.matches(v)
            })
        };
        if record.resources.is_empty() {
            on(None)
        } else {
            record.resources.iter().any(|r| on(Some(r)))
        }
    }
}

fn invalid_selectors(msg: impl Into<String>) -> TrailError {
    TrailError::InvalidEventSelectors(msg.into())
}

/// Checks basic selectors as PutEventSelectors does.
pub fn validate_basic(selectors: &[EventSelector]) -> Result<(), TrailError> {
    if selectors.len() > MAX_EVENT_SELECTORS {
        return Err(invalid_selectors(format!(
            "You have exceeded the maximum number of event selectors ({MAX_EVENT_SELECTORS}) allowed for a trail."
        )));
    }
    let mut resources = 0usize;
    for s in selectors {
        if !["ReadOnly", "WriteOnly", "All"].contains(&s.read_write_type.as_str()) {
            return Err(invalid_selectors(format!(
                "Value {} for ReadWriteType is invalid. Valid values are ReadOnly, WriteOnly, All.",
                s.read_write_type
            )));
        }
        for src in &s.exclude_management_event_sources {
            if !EXCLUDABLE_SOURCES.contains(&src.as_str()) {
                return Err(invalid_selectors(format!(
                    "Value {src} for ExcludeManagementEventSources is invalid. Valid values are kms.amazonaws.com, rdsdata.amazonaws.com."
                )));
            }
        }
        for dr in &s.data_resources {
            let t = dr.r#type.as_deref().unwrap_or_default();
            if !BASIC_DATA_RESOURCE_TYPES.contains(&t) {
                return Err(invalid_selectors(format!(
                    "Value {t} for DataResources.Type is invalid. Basic event selectors support AWS::S3::Object, AWS::Lambda::Function and AWS::DynamoDB::Table; use advanced event selectors for other resource types."
                )));
            }
            if dr.values.iter().any(|v| v.is_empty() || !v.starts_with("arn:")) {
                return Err(invalid_selectors(format!(
                    "Invalid DataResources.Values for type {t}: values must be ARNs or ARN prefixes."
                )));
            }
            resources += dr.values.len();
        }
    }
    if resources > MAX_DATA_RESOURCES {
        return Err(invalid_selectors(format!(
            "You have exceeded the maximum number of data resources ({MAX_DATA_RESOURCES}) allowed for a trail."
        )));
    }
    Ok(())
}

/// Checks advanced selectors as PutEventSelectors does for a trail; data selectors may name a
/// basic resource type or one of `data_types`.
pub fn validate_advanced(
    selectors: &[AdvancedEventSelector],
    data_types: &DataResourceTypes,
) -> Result<(), TrailError> {
    let mut values = 0usize;
    for s in selectors {
        if s.name.as_deref().is_some_and(|n| n.len() > 1000) {
            return Err(invalid_selectors(
                "Advanced event selector names can be at most 1000 characters.",
            ));
        }
        if s.field_selectors.is_empty() {
            return Err(invalid_selectors(
                "Each advanced event selector must have at least one field selector.",
            ));
        }
        let mut seen = BTreeSet::new();
        for f in &s.field_selectors {
            if !ADVANCED_FIELDS.contains(&f.field.as_str()) {
                return Err(invalid_selectors(format!(
                    "Field {} is not valid for trails.",
                    f.field
                )));
            }
            if !seen.insert(f.field.as_str()) {
                return Err(invalid_selectors(format!(
                    "Field {} appears more than once in one advanced event selector.",
                    f.field
                )));
            }
            if f.value_count() == 0 {
                return Err(invalid_selectors(format!(
                    "Field {} must have at least one operator with a value.",
                    f.field
                )));
            }
            let all_vals = [
                &f.equals,
                &f.starts_with,
                &f.ends_with,
                &f.not_equals,
                &f.not_starts_with,
                &f.not_ends_with,
            ];
            if all_vals
                .iter()
                .flat_map(|o| o.iter().flatten())
                .any(|v| v.is_empty() || v.len() > 2048)
            {
                return Err(invalid_selectors(format!(
                    "Values for field {} must be 1 to 2048 characters.",
                    f.field
                )));
            }
            values += f.value_count();
            match f.field.as_str() {
                "eventCategory" | "readOnly" | "resources.type" if !f.only_equals() => {
                    return Err(invalid_selectors(format!(
                        "Field {} can only use the Equals operator.",
                        f.field
                    )));
                }
                "readOnly" if f.equals.iter().flatten().any(|v| v != "true" && v != "false") => {
                    return Err(invalid_selectors("Field readOnly can only be true or false."));
                }
                _ => {}
            }
        }
        let category = s.field_selectors.iter().find(|f| f.field == "eventCategory");
        let Some(cat) = category.and_then(|c| c.equals.as_deref()) else {
            return Err(invalid_selectors(
                "Each advanced event selector must have an eventCategory field with the Equals operator.",
            ));
        };
        let [cat] = cat else {
            return Err(invalid_selectors("Field eventCategory takes exactly one value."));
        };
        match cat.as_str() {
            "Management" => {
                if let Some(f) = s
                    .field_selectors
                    .iter()
                    .find(|f| !["eventCategory", "readOnly", "eventSource"].contains(&f.field.as_str()))
                {
                    return Err(invalid_selectors(format!(
                        "Field {} is not valid for management events. Use eventCategory, readOnly and eventSource.",
                        f.field
                    )));
                }
            }
            "Data" => {
                let Some(types) = s
                    .field_selectors
                    .iter()
                    .find(|f| f.field == "resources.type")
                    .and_then(|f| f.equals.as_deref())
                else {
                    return Err(invalid_selectors(
                        "Data event selectors must have a resources.type field.",
                    ));
                };
                let [t] = types else {
                    return Err(invalid_selectors("Field resources.type takes exactly one value."));
                };
                if !data_types.accepts(t) {
                    return Err(invalid_selectors(format!(
                        "Value {t} for field resources.type is not a supported data event resource type."
                    )));
                }
            }
            "NetworkActivity" => {}
            other => {
                return Err(invalid_selectors(format!(
                    "Value {other} for field eventCategory is invalid for trails. Valid values are Management, Data and NetworkActivity."
                )));
            }
        }
    }
    if values > MAX_ADVANCED_VALUES {
        return Err(invalid_selectors(format!(
            "You have exceeded the maximum number of values ({MAX_ADVANCED_VALUES}) allowed for advanced event selectors on a trail."
        )));
    }
    Ok(())
}

/// Advanced selectors for every management event and every data event of `types`: what a trail
/// that should log every call a server answers selects.
pub fn every_event_selectors(types: &DataResourceTypes) -> Vec<AdvancedEventSelector> {
    let eq = |field: &str, value: &str| AdvancedFieldSelector {
        field: field.to_owned(),
        equals: Some(vec![value.to_owned()]),
        ..AdvancedFieldSelector::default()
    };
    let mut out = vec![AdvancedEventSelector {
        name: Some("Management events".to_owned()),
        field_selectors: vec![eq("eventCategory", "Management")],
    }];
    for t in types.iter() {
        out.push(AdvancedEventSelector {
            name: Some(format!("Data events: {t}")),
            field_selectors: vec![eq("eventCategory", "Data"), eq("resources.type", t)],
        });
    }
    out
}
