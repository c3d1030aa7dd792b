//! Trails and their event selectors, persisted in the data directory, and the router that
//! decides which trails (and so which buckets, accounts and Regions) get a record.
//!
//! Everything here is pure state plus one small JSON file: the CloudTrail JSON API in the
//! emulator calls these methods with the caller's account and Region and maps [`TrailError`]
//! to wire errors.

use std::collections::BTreeSet;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::RwLock;

use serde::{Deserialize, Serialize};

use crate::clock::SharedClock;
use crate::delivery::{Destination, Router};
use crate::layout::LogDestination;
use crate::record::{EventCategory, Record};

/// Most trails one account may have in one Region (AWS's quota; a multi-Region trail counts in every Region).
pub const MAX_TRAILS_PER_REGION: usize = 5;
/// Most basic event selectors on one trail.
pub const MAX_EVENT_SELECTORS: usize = 5;
/// Most data resources across a trail's basic selectors.
pub const MAX_DATA_RESOURCES: usize = 250;
/// Most condition values across a trail's advanced selectors.
pub const MAX_ADVANCED_VALUES: usize = 500;
/// Most tags on one trail.
pub const MAX_TAGS: usize = 50;

/// The data-event resource types basic selectors accept (`DataResource.Type` documentation).
pub const BASIC_DATA_RESOURCE_TYPES: &[&str] =
    &["AWS::S3::Object", "AWS::Lambda::Function", "AWS::DynamoDB::Table"];

/// The Personalize data-event resource types, as advanced selectors name them in `resources.type`:
/// Personalize Events calls (`PutEvents`, `PutActionInteractions`) act on an event tracker,
/// `PutItems`/`PutUsers`/`PutActions` on a dataset, and Personalize Runtime calls on a campaign
/// or a recommender.
pub const PERSONALIZE_DATA_RESOURCE_TYPES: &[&str] = &[
    "AWS::Personalize::EventTracker",
    "AWS::Personalize::Dataset",
    "AWS::Personalize::Campaign",
    "AWS::Personalize::Recommender",
];

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

/// Services whose events are global (recorded in us-east-1) and follow `IncludeGlobalServiceEvents`.
const GLOBAL_SOURCES: &[&str] = &[
    "iam.amazonaws.com",
    "sts.amazonaws.com",
    "signin.amazonaws.com",
    "cloudfront.amazonaws.com",
    "route53.amazonaws.com",
];

/// Why a trail operation failed; each variant is the AWS error of the same name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TrailError {
    /// No such trail visible to the caller.
    #[error("{0}")]
    TrailNotFound(String),
    /// A trail of that name already exists.
    #[error("{0}")]
    TrailAlreadyExists(String),
    /// The name breaks the naming rules.
    #[error("{0}")]
    InvalidTrailName(String),
    /// A malformed trail ARN.
    #[error("{0}")]
    CloudTrailArnInvalid(String),
    /// The bucket name breaks S3's naming rules.
    #[error("{0}")]
    InvalidS3BucketName(String),
    /// The key prefix is too long or malformed.
    #[error("{0}")]
    InvalidS3Prefix(String),
    /// The SNS topic name is malformed.
    #[error("{0}")]
    InvalidSnsTopicName(String),
    /// Too many trails in the Region.
    #[error("{0}")]
    MaximumNumberOfTrailsExceeded(String),
    /// The call must be made from the trail's home Region.
    #[error("{0}")]
    InvalidHomeRegion(String),
    /// Bad event selectors.
    #[error("{0}")]
    InvalidEventSelectors(String),
    /// Parameters that cannot go together.
    #[error("{0}")]
    InvalidParameterCombination(String),
    /// A parameter with a bad value.
    #[error("{0}")]
    InvalidParameter(String),
    /// Too many tags.
    #[error("{0}")]
    TagsLimitExceeded(String),
    /// A malformed tag.
    #[error("{0}")]
    InvalidTagParameter(String),
    /// A tagged resource that does not exist.
    #[error("{0}")]
    ResourceNotFound(String),
    /// An organization trail from an account that manages no organization.
    #[error("{0}")]
    OrganizationsNotInUse(String),
    /// An organization trail changed from a member account.
    #[error("{0}")]
    NotOrganizationMasterAccount(String),
    /// A CloudWatch Logs log group ARN that is not one.
    #[error("{0}")]
    InvalidCloudWatchLogsLogGroupArn(String),
    /// A CloudWatch Logs role ARN that is not one.
    #[error("{0}")]
    InvalidCloudWatchLogsRoleArn(String),
    /// The trail state could not be saved.
    #[error("could not save trail state: {0}")]
    Persist(String),
}

impl TrailError {
    /// The AWS error code (`__type`).
    pub fn code(&self) -> &'static str {
        match self {
            TrailError::TrailNotFound(_) => "TrailNotFoundException",
            TrailError::TrailAlreadyExists(_) => "TrailAlreadyExistsException",
            TrailError::InvalidTrailName(_) => "InvalidTrailNameException",
            TrailError::CloudTrailArnInvalid(_) => "CloudTrailARNInvalidException",
            TrailError::InvalidS3BucketName(_) => "InvalidS3BucketNameException",
            TrailError::InvalidS3Prefix(_) => "InvalidS3PrefixException",
            TrailError::InvalidSnsTopicName(_) => "InvalidSnsTopicNameException",
            TrailError::MaximumNumberOfTrailsExceeded(_) => "MaximumNumberOfTrailsExceededException",
            TrailError::InvalidHomeRegion(_) => "InvalidHomeRegionException",
            TrailError::InvalidEventSelectors(_) => "InvalidEventSelectorsException",
            TrailError::InvalidParameterCombination(_) => "InvalidParameterCombinationException",
            TrailError::InvalidParameter(_) => "InvalidParameterException",
            TrailError::TagsLimitExceeded(_) => "TagsLimitExceededException",
            TrailError::InvalidTagParameter(_) => "InvalidTagParameterException",
            TrailError::ResourceNotFound(_) => "ResourceNotFoundException",
            TrailError::OrganizationsNotInUse(_) => "OrganizationsNotInUseException",
            TrailError::NotOrganizationMasterAccount(_) => "NotOrganizationMasterAccountException",
            TrailError::InvalidCloudWatchLogsLogGroupArn(_) => "InvalidCloudWatchLogsLogGroupArnException",
            TrailError::InvalidCloudWatchLogsRoleArn(_) => "InvalidCloudWatchLogsRoleArnException",
            TrailError::Persist(_) => "InternalFailure",
        }
    }

    /// Whether the fault is the server's (HTTP 500) rather than the caller's (HTTP 400).
    pub fn is_server_fault(&self) -> bool {
        matches!(self, TrailError::Persist(_))
    }
}

/// An AWS Organization, as declared in the config, for organization trails.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Organization {
    /// `o-` followed by 10 to 32 lower-case letters or digits.
    pub id: String,
    /// The management account, the only one that may create organization trails.
    pub management_account: String,
    /// The other accounts of the organization.
    #[serde(default)]
    pub member_accounts: Vec<String>,
}

impl Organization {
    fn contains(&self, account: &str) -> bool {
        self.management_account == account || self.member_accounts.iter().any(|a| a == account)
    }
}

/// One tag.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Tag {
    /// 1 to 128 characters.
    pub key: String,
    /// Up to 256 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
}

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

/// Where a trail's files go when not to the emulator's default store.
pub type StoreName = String;

/// A trail as CloudTrail keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Trail {
    /// The trail name.
    pub name: String,
    /// The owning account.
    pub account: String,
    /// The Region it was created in.
    pub home_region: String,
    /// Destination bucket.
    pub bucket: String,
    /// Key prefix, without surrounding slashes.
    #[serde(default)]
    pub prefix: Option<String>,
    /// SNS topic name or ARN as given.
    #[serde(default)]
    pub sns_topic_name: Option<String>,
    /// Whether global service events are included.
    pub include_global_service_events: bool,
    /// Whether the trail covers every Region.
    pub multi_region: bool,
    /// Whether digest files are produced.
    pub log_file_validation: bool,
    /// The organization id, for an organization trail.
    #[serde(default)]
    pub organization: Option<String>,
    /// KMS key, stored and echoed only.
    #[serde(default)]
    pub kms_key_id: Option<String>,
    /// CloudWatch Logs log group, stored and echoed only.
    #[serde(default)]
    pub cloud_watch_logs_log_group_arn: Option<String>,
    /// CloudWatch Logs role, stored and echoed only.
    #[serde(default)]
    pub cloud_watch_logs_role_arn: Option<String>,
    /// The event selectors.
    #[serde(default)]
    pub selectors: Selectors,
    /// Whether PutEventSelectors was ever called.
    #[serde(default)]
    pub has_custom_selectors: bool,
    /// Tags.
    #[serde(default)]
    pub tags: Vec<Tag>,
    /// Whether the trail is logging.
    pub logging: bool,
    /// When logging last started (epoch seconds).
    #[serde(default)]
    pub start_logging_time: Option<i64>,
    /// When logging last stopped (epoch seconds).
    #[serde(default)]
    pub stop_logging_time: Option<i64>,
    /// Named object store for delivery (`None`: the emulator's default).
    #[serde(default)]
    pub store: Option<StoreName>,
    /// Declared in the config file rather than created through the API.
    #[serde(default)]
    pub declared: bool,
}

impl Trail {
    /// `arn:aws:cloudtrail:<home region>:<account>:trail/<name>`.
    pub fn arn(&self) -> String {
        trail_arn(&self.home_region, &self.account, &self.name)
    }

    /// The SNS topic ARN, when a topic is attached (a name becomes a topic in the home Region).
    pub fn sns_topic_arn(&self) -> Option<String> {
        let t = self.sns_topic_name.as_deref()?;
        if t.starts_with("arn:") {
            Some(t.to_owned())
        } else {
            Some(format!("arn:aws:sns:{}:{}:{t}", self.home_region, self.account))
        }
    }

    /// Whether a caller in (`account`, `region`) sees this trail (home Region or shadow trail).
    pub fn visible_in(&self, account: &str, region: &str, orgs: &[Organization]) -> bool {
        (self.multi_region || self.home_region == region) && self.covers_account(account, orgs)
    }

    fn covers_account(&self, account: &str, orgs: &[Organization]) -> bool {
        self.account == account
            || self
                .organization
                .as_deref()
                .is_some_and(|id| orgs.iter().any(|o| o.id == id && o.contains(account)))
    }

    /// Whether the trail's selectors (and Region and account scope) take `record`.
    pub fn takes(&self, record: &Record, orgs: &[Organization]) -> bool {
        self.logging
            && (self.multi_region || record.aws_region == self.home_region)
            && self.covers_account(&record.recipient_account_id, orgs)
            && (self.include_global_service_events || !GLOBAL_SOURCES.contains(&record.event_source.as_str()))
            && self.selectors.select(record)
    }

    /// Where the trail puts `record`'s file.
    pub fn destination(&self, record: &Record) -> LogDestination {
        LogDestination {
            bucket: self.bucket.clone(),
            prefix: self.prefix.clone(),
            org_id: self.organization.clone(),
            account: record.recipient_account_id.clone(),
            region: record.aws_region.clone(),
        }
    }
}

/// `arn:aws:cloudtrail:<region>:<account>:trail/<name>`.
pub fn trail_arn(region: &str, account: &str, name: &str) -> String {
    format!("arn:aws:cloudtrail:{region}:{account}:trail/{name}")
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
        let on = |r: Option<&crate::record::Resource>| {
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

/// Checks advanced selectors as PutEventSelectors does for a trail.
pub fn validate_advanced(selectors: &[AdvancedEventSelector]) -> Result<(), TrailError> {
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
                if !BASIC_DATA_RESOURCE_TYPES.contains(&t.as_str())
                    && !PERSONALIZE_DATA_RESOURCE_TYPES.contains(&t.as_str())
                {
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

/// Checks a trail name as CloudTrail does.
pub fn validate_trail_name(name: &str) -> Result<(), TrailError> {
    let bad = |m: String| Err(TrailError::InvalidTrailName(m));
    if name.len() < 3 {
        return bad(format!(
            "Trail name too short. Minimum allowed length: 3 characters. Specified name length: {} characters.",
            name.len()
        ));
    }
    if name.len() > 128 {
        return bad(format!(
            "Trail name too long. Maximum allowed length: 128 characters. Specified name length: {} characters.",
            name.len()
        ));
    }
    let bytes = name.as_bytes();
    let ok_char = |b: u8| b.is_ascii_alphanumeric() || b == b'.' || b == b'_' || b == b'-';
    let punct = |b: u8| b == b'.' || b == b'_' || b == b'-';
    if !bytes.iter().all(|&b| ok_char(b))
        || bytes.first().is_some_and(|&b| !b.is_ascii_alphanumeric())
        || bytes.last().is_some_and(|&b| !b.is_ascii_alphanumeric())
        || bytes
            .windows(2)
            .any(|w| matches!(w, [a, b] if punct(*a) && punct(*b)))
        || name.split('.').count() == 4 && name.split('.').all(|p| p.parse::<u8>().is_ok())
    {
        return bad(format!(
            "Trail name {name} is invalid. Trail names must start and end with a letter or number, contain only letters, numbers, periods (.), underscores (_) and dashes (-), not have adjacent periods, underscores or dashes, and not look like an IP address."
        ));
    }
    Ok(())
}

/// How a caller names a trail: by name, or by ARN.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TrailRef {
    /// A bare name.
    Name(String),
    /// A full ARN.
    Arn {
        /// Home Region.
        region: String,
        /// Owning account.
        account: String,
        /// Name.
        name: String,
    },
}

impl TrailRef {
    /// Parses a `Name` parameter: an ARN when it starts with `arn:`, else a name.
    pub fn parse(s: &str) -> Result<TrailRef, TrailError> {
        if !s.starts_with("arn:") {
            validate_trail_name(s)?;
            return Ok(TrailRef::Name(s.to_owned()));
        }
        let invalid = || TrailError::CloudTrailArnInvalid(format!("Invalid trail ARN: {s}"));
        let parts: Vec<&str> = s.splitn(6, ':').collect();
        let [_, partition, service, region, account, resource] = parts.as_slice() else {
            return Err(invalid());
        };
        let name = resource.strip_prefix("trail/").ok_or_else(invalid)?;
        if !partition.starts_with("aws")
            || *service != "cloudtrail"
            || region.is_empty()
            || account.len() != 12
            || !account.bytes().all(|b| b.is_ascii_digit())
            || validate_trail_name(name).is_err()
        {
            return Err(invalid());
        }
        Ok(TrailRef::Arn {
            region: (*region).to_owned(),
            account: (*account).to_owned(),
            name: name.to_owned(),
        })
    }

    fn name(&self) -> &str {
        match self {
            TrailRef::Name(n) => n,
            TrailRef::Arn { name, .. } => name,
        }
    }
}

/// The settings of CreateTrail (and of a trail declared in the config).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrailSpec {
    /// Trail name.
    pub name: String,
    /// Bucket.
    pub bucket: String,
    /// Key prefix.
    #[serde(default)]
    pub prefix: Option<String>,
    /// SNS topic name or ARN.
    #[serde(default)]
    pub sns_topic_name: Option<String>,
    /// Default true.
    #[serde(default)]
    pub include_global_service_events: Option<bool>,
    /// Default false.
    #[serde(default)]
    pub multi_region: Option<bool>,
    /// Default false.
    #[serde(default)]
    pub log_file_validation: Option<bool>,
    /// Default false.
    #[serde(default)]
    pub organization_trail: Option<bool>,
    /// Stored only.
    #[serde(default)]
    pub kms_key_id: Option<String>,
    /// Stored only.
    #[serde(default)]
    pub cloud_watch_logs_log_group_arn: Option<String>,
    /// Stored only.
    #[serde(default)]
    pub cloud_watch_logs_role_arn: Option<String>,
    /// Tags.
    #[serde(default)]
    pub tags: Vec<Tag>,
    /// Named object store (emulator extension, config only).
    #[serde(default)]
    pub store: Option<StoreName>,
    /// Event selectors to start with (config only); `None`: AWS's default.
    #[serde(default)]
    pub selectors: Option<Selectors>,
}

/// The settings of UpdateTrail: only what is `Some` changes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrailUpdate {
    /// New bucket.
    pub bucket: Option<String>,
    /// New prefix (empty string removes it).
    pub prefix: Option<String>,
    /// New topic (empty string removes it).
    pub sns_topic_name: Option<String>,
    /// New flag.
    pub include_global_service_events: Option<bool>,
    /// New flag.
    pub multi_region: Option<bool>,
    /// New flag.
    pub log_file_validation: Option<bool>,
    /// New flag.
    pub organization_trail: Option<bool>,
    /// New KMS key (empty string removes it).
    pub kms_key_id: Option<String>,
    /// New log group (empty string removes it).
    pub cloud_watch_logs_log_group_arn: Option<String>,
    /// New role (empty string removes it).
    pub cloud_watch_logs_role_arn: Option<String>,
}

/// Who is calling: the account and Region of the request.
#[derive(Debug, Clone, Copy)]
pub struct Caller<'a> {
    /// The caller's account.
    pub account: &'a str,
    /// The Region the call was made to.
    pub region: &'a str,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct State {
    #[serde(default)]
    trails: Vec<Trail>,
    /// Declared trails deleted through the API, so a restart does not bring them back.
    #[serde(default)]
    deleted_declared: BTreeSet<String>,
}

/// Every trail of every account, with persistence and the routing decision.
pub struct Trails {
    state: RwLock<State>,
    path: Option<PathBuf>,
    clock: SharedClock,
    orgs: Vec<Organization>,
}

impl std::fmt::Debug for Trails {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Trails")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

fn check_bucket(bucket: &str) -> Result<(), TrailError> {
    if crate::store::valid_bucket(bucket) {
        Ok(())
    } else {
        Err(TrailError::InvalidS3BucketName(format!(
            "Bucket name is not valid: {bucket}"
        )))
    }
}

fn check_prefix(prefix: &str) -> Result<(), TrailError> {
    if prefix.len() > 200
        || prefix.contains("//")
        || prefix.contains('\0')
        || prefix.split('/').any(|s| s == "." || s == "..")
    {
        Err(TrailError::InvalidS3Prefix(format!(
            "Prefix is not valid: {prefix}"
        )))
    } else {
        Ok(())
    }
}

fn check_topic(topic: &str) -> Result<(), TrailError> {
    let name = if topic.starts_with("arn:") {
        topic.rsplit(':').next().unwrap_or_default()
    } else {
        topic
    };
    if name.is_empty()
        || name.len() > 256
        || !name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        Err(TrailError::InvalidSnsTopicName(format!(
            "SNS topic name is not valid: {topic}"
        )))
    } else {
        Ok(())
    }
}

fn check_tags(tags: &[Tag]) -> Result<(), TrailError> {
    for t in tags {
        if t.key.is_empty() || t.key.chars().count() > 128 || t.key.starts_with("aws:") {
            return Err(TrailError::InvalidTagParameter(format!(
                "Tag key is not valid: {}",
                t.key
            )));
        }
        if t.value.as_deref().is_some_and(|v| v.chars().count() > 256) {
            return Err(TrailError::InvalidTagParameter(format!(
                "Tag value for key {} is too long.",
                t.key
            )));
        }
    }
    Ok(())
}

fn check_cloudwatch(group: Option<&str>, role: Option<&str>) -> Result<(), TrailError> {
    match (group, role) {
        (Some(g), _) if !g.starts_with("arn:aws:logs:") => Err(TrailError::InvalidCloudWatchLogsLogGroupArn(
            format!("Invalid CloudWatch Logs log group ARN: {g}"),
        )),
        (_, Some(r)) if !r.starts_with("arn:aws:iam::") => Err(TrailError::InvalidCloudWatchLogsRoleArn(
            format!("Invalid CloudWatch Logs role ARN: {r}"),
        )),
        (Some(_), None) | (None, Some(_)) => Err(TrailError::InvalidParameterCombination(
            "You must specify both a CloudWatch Logs log group ARN and a role ARN.".to_owned(),
        )),
        _ => Ok(()),
    }
}

fn non_empty(s: Option<String>) -> Option<String> {
    s.filter(|s| !s.is_empty())
}

fn normalise_prefix(p: Option<String>) -> Option<String> {
    non_empty(p.map(|p| p.trim_matches('/').to_owned()))
}

impl Trails {
    /// An empty registry; `path` is the state file (`None`: memory only).
    pub fn new(path: Option<PathBuf>, clock: SharedClock, orgs: Vec<Organization>) -> Self {
        Trails {
            state: RwLock::new(State::default()),
            path,
            clock,
            orgs,
        }
    }

    /// Loads the state file (if any), then adds every declared trail that is neither already
    /// there nor deleted through the API. Declared trails start logging.
    pub fn open(
        path: Option<PathBuf>,
        clock: SharedClock,
        orgs: Vec<Organization>,
        declared: Vec<(String, String, TrailSpec)>,
    ) -> Result<Self, TrailError> {
        let t = Trails::new(path, clock, orgs);
        if let Some(p) = &t.path {
            match fs::read(p) {
                Ok(bytes) => {
                    let st: State = serde_json::from_slice(&bytes)
                        .map_err(|e| TrailError::Persist(format!("{}: {e}", p.display())))?;
                    *t.write() = st;
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(TrailError::Persist(format!("{}: {e}", p.display()))),
            }
        }
        for (account, region, spec) in declared {
            let arn = trail_arn(&region, &account, &spec.name);
            let caller = Caller {
                account: &account,
                region: &region,
            };
            if t.read().deleted_declared.contains(&arn) {
                continue;
            }
            let mut trail = t.build(caller, spec)?;
            {
                // Already there: the config's settings win, what the API changed at run time
                // (logging, selectors, tags) is kept.
                let mut st = t.write();
                if let Some(existing) = st.trails.iter_mut().find(|x| x.arn() == arn) {
                    if existing.declared {
                        existing.bucket = trail.bucket;
                        existing.prefix = trail.prefix;
                        existing.sns_topic_name = trail.sns_topic_name;
                        existing.include_global_service_events = trail.include_global_service_events;
                        existing.multi_region = trail.multi_region;
                        existing.log_file_validation = trail.log_file_validation;
                        existing.organization = trail.organization;
                        existing.store = trail.store;
                    }
                    continue;
                }
            }
            trail.declared = true;
            trail.logging = true;
            trail.start_logging_time = Some(t.clock.now().unix_timestamp());
            t.insert(caller, trail)?;
        }
        t.save()?;
        Ok(t)
    }

    /// The organizations known to the emulator.
    pub fn organizations(&self) -> &[Organization] {
        &self.orgs
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, State> {
        self.state.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, State> {
        self.state.write().unwrap_or_else(|e| e.into_inner())
    }

    fn save(&self) -> Result<(), TrailError> {
        let Some(path) = &self.path else { return Ok(()) };
        let bytes = {
            let st = self.read();
            serde_json::to_vec_pretty(&*st).map_err(|e| TrailError::Persist(e.to_string()))?
        };
        write_atomic(path, &bytes).map_err(|e| TrailError::Persist(format!("{}: {e}", path.display())))
    }

    fn now(&self) -> i64 {
        self.clock.now().unix_timestamp()
    }

    fn build(&self, caller: Caller<'_>, spec: TrailSpec) -> Result<Trail, TrailError> {
        validate_trail_name(&spec.name)?;
        check_bucket(&spec.bucket)?;
        if let Some(p) = &spec.prefix {
            check_prefix(p)?;
        }
        if let Some(t) = spec.sns_topic_name.as_deref().filter(|t| !t.is_empty()) {
            check_topic(t)?;
        }
        check_cloudwatch(
            spec.cloud_watch_logs_log_group_arn
                .as_deref()
                .filter(|s| !s.is_empty()),
            spec.cloud_watch_logs_role_arn
                .as_deref()
                .filter(|s| !s.is_empty()),
        )?;
        check_tags(&spec.tags)?;
        match &spec.selectors {
            Some(Selectors::Basic(b)) => validate_basic(b)?,
            Some(Selectors::Advanced(a)) => validate_advanced(a)?,
            None => {}
        }
        if spec.tags.len() > MAX_TAGS {
            return Err(TrailError::TagsLimitExceeded(format!(
                "A trail can have at most {MAX_TAGS} tags."
            )));
        }
        let multi_region = spec.multi_region.unwrap_or(false);
        let include_global = spec.include_global_service_events.unwrap_or(true);
        if multi_region && !include_global {
            return Err(TrailError::InvalidParameterCombination(
                "Multi-Region trail must include global service events.".to_owned(),
            ));
        }
        let organization = if spec.organization_trail.unwrap_or(false) {
            Some(self.org_of_manager(caller.account)?)
        } else {
            None
        };
        Ok(Trail {
            name: spec.name,
            account: caller.account.to_owned(),
            home_region: caller.region.to_owned(),
            bucket: spec.bucket,
            prefix: normalise_prefix(spec.prefix),
            sns_topic_name: non_empty(spec.sns_topic_name),
            include_global_service_events: include_global,
            multi_region,
            log_file_validation: spec.log_file_validation.unwrap_or(false),
            organization,
            kms_key_id: non_empty(spec.kms_key_id),
            cloud_watch_logs_log_group_arn: non_empty(spec.cloud_watch_logs_log_group_arn),
            cloud_watch_logs_role_arn: non_empty(spec.cloud_watch_logs_role_arn),
            has_custom_selectors: spec.selectors.is_some(),
            selectors: spec.selectors.unwrap_or_default(),
            tags: spec.tags,
            logging: false,
            start_logging_time: None,
            stop_logging_time: None,
            store: spec.store,
            declared: false,
        })
    }

    fn org_of_manager(&self, account: &str) -> Result<String, TrailError> {
        if let Some(o) = self.orgs.iter().find(|o| o.management_account == account) {
            return Ok(o.id.clone());
        }
        if self.orgs.iter().any(|o| o.contains(account)) {
            return Err(TrailError::NotOrganizationMasterAccount(format!(
                "The request was rejected because account {account} is not the management account of an organization."
            )));
        }
        Err(TrailError::OrganizationsNotInUse(format!(
            "This request is only valid for accounts that are part of an organization in AWS Organizations. Account {account} is not."
        )))
    }

    /// Inserts a built trail after the uniqueness and quota checks.
    fn insert(&self, caller: Caller<'_>, trail: Trail) -> Result<Trail, TrailError> {
        let mut st = self.write();
        let clash = st.trails.iter().any(|t| {
            t.account == trail.account
                && t.name == trail.name
                && (t.home_region == trail.home_region || t.multi_region || trail.multi_region)
        });
        if clash {
            return Err(TrailError::TrailAlreadyExists(format!(
                "Trail {} already exists for customer: {}",
                trail.name, caller.account
            )));
        }
        let regions_to_check: Vec<String> = if trail.multi_region {
            let mut r: BTreeSet<String> = st
                .trails
                .iter()
                .filter(|t| t.account == trail.account)
                .map(|t| t.home_region.clone())
                .collect();
            r.insert(trail.home_region.clone());
            r.into_iter().collect()
        } else {
            vec![trail.home_region.clone()]
        };
        for region in regions_to_check {
            let n = st
                .trails
                .iter()
                .filter(|t| t.account == trail.account && (t.home_region == region || t.multi_region))
                .count();
            if n >= MAX_TRAILS_PER_REGION {
                return Err(TrailError::MaximumNumberOfTrailsExceeded(format!(
                    "User: {} already has {MAX_TRAILS_PER_REGION} trails in {region}.",
                    caller.account
                )));
            }
        }
        st.deleted_declared.remove(&trail.arn());
        st.trails.push(trail.clone());
        Ok(trail)
    }

    /// CreateTrail: the new trail is not logging until StartLogging, as on AWS.
    pub fn create(&self, caller: Caller<'_>, spec: TrailSpec) -> Result<Trail, TrailError> {
        let trail = self.build(caller, spec)?;
        let trail = self.insert(caller, trail)?;
        self.save()?;
        Ok(trail)
    }

    fn not_found(caller: Caller<'_>, r: &str) -> TrailError {
        TrailError::TrailNotFound(format!("Unknown trail: {r} for the user: {}", caller.account))
    }

    /// Finds the index of the trail a caller names, as visible from the caller's Region.
    fn find(&self, st: &State, caller: Caller<'_>, name: &str) -> Result<usize, TrailError> {
        let r = TrailRef::parse(name)?;
        let idx = st.trails.iter().position(|t| match &r {
            TrailRef::Name(n) => &t.name == n && t.visible_in(caller.account, caller.region, &self.orgs),
            TrailRef::Arn {
                region,
                account,
                name,
            } => {
                &t.name == name
                    && &t.home_region == region
                    && &t.account == account
                    && t.visible_in(caller.account, caller.region, &self.orgs)
            }
        });
        idx.ok_or_else(|| Self::not_found(caller, r.name()))
    }

    /// Finds a trail the caller may change: owned by the caller and called from its home Region.
    fn find_mut(&self, st: &State, caller: Caller<'_>, name: &str) -> Result<usize, TrailError> {
        let i = self.find(st, caller, name)?;
        let t = st.trails.get(i).ok_or_else(|| Self::not_found(caller, name))?;
        if t.account != caller.account {
            return Err(TrailError::NotOrganizationMasterAccount(format!(
                "The request was rejected because account {} is not the management account of the organization that owns trail {}.",
                caller.account,
                t.arn()
            )));
        }
        if t.home_region != caller.region {
            return Err(TrailError::InvalidHomeRegion(format!(
                "This operation must be called from the trail's home Region, {}.",
                t.home_region
            )));
        }
        Ok(i)
    }

    fn mutate<R>(
        &self,
        caller: Caller<'_>,
        name: &str,
        f: impl FnOnce(&mut Trail, &[Organization]) -> Result<R, TrailError>,
    ) -> Result<R, TrailError> {
        let out = {
            let mut st = self.write();
            let i = self.find_mut(&st, caller, name)?;
            let t = st
                .trails
                .get_mut(i)
                .ok_or_else(|| Self::not_found(caller, name))?;
            let mut copy = t.clone();
            let out = f(&mut copy, &self.orgs)?;
            *t = copy;
            out
        };
        self.save()?;
        Ok(out)
    }

    /// GetTrail.
    pub fn get(&self, caller: Caller<'_>, name: &str) -> Result<Trail, TrailError> {
        let st = self.read();
        let i = self.find(&st, caller, name)?;
        st.trails
            .get(i)
            .cloned()
            .ok_or_else(|| Self::not_found(caller, name))
    }

    /// UpdateTrail.
    pub fn update(&self, caller: Caller<'_>, name: &str, u: TrailUpdate) -> Result<Trail, TrailError> {
        if let Some(b) = &u.bucket {
            check_bucket(b)?;
        }
        if let Some(p) = &u.prefix {
            check_prefix(p)?;
        }
        if let Some(t) = u.sns_topic_name.as_deref().filter(|t| !t.is_empty()) {
            check_topic(t)?;
        }
        let org = match u.organization_trail {
            Some(true) => Some(Some(self.org_of_manager(caller.account)?)),
            Some(false) => Some(None),
            None => None,
        };
        let result = {
            let mut st = self.write();
            let i = self.find_mut(&st, caller, name)?;
            let current = st
                .trails
                .get(i)
                .cloned()
                .ok_or_else(|| Self::not_found(caller, name))?;
            let mut t = current.clone();
            if let Some(b) = u.bucket {
                t.bucket = b;
            }
            if let Some(p) = u.prefix {
                t.prefix = normalise_prefix(Some(p));
            }
            if let Some(s) = u.sns_topic_name {
                t.sns_topic_name = non_empty(Some(s));
            }
            if let Some(g) = u.include_global_service_events {
                t.include_global_service_events = g;
            }
            if let Some(m) = u.multi_region {
                t.multi_region = m;
            }
            if let Some(v) = u.log_file_validation {
                t.log_file_validation = v;
            }
            if let Some(o) = org {
                t.organization = o;
            }
            if let Some(k) = u.kms_key_id {
                t.kms_key_id = non_empty(Some(k));
            }
            if let Some(g) = u.cloud_watch_logs_log_group_arn {
                t.cloud_watch_logs_log_group_arn = non_empty(Some(g));
            }
            if let Some(r) = u.cloud_watch_logs_role_arn {
                t.cloud_watch_logs_role_arn = non_empty(Some(r));
            }
            if t.multi_region && !t.include_global_service_events {
                return Err(TrailError::InvalidParameterCombination(
                    "Multi-Region trail must include global service events.".to_owned(),
                ));
            }
            check_cloudwatch(
                t.cloud_watch_logs_log_group_arn.as_deref(),
                t.cloud_watch_logs_role_arn.as_deref(),
            )?;
            if t.multi_region && !current.multi_region {
                // Becoming multi-Region: the name must be free in every other Region of the account.
                if st
                    .trails
                    .iter()
                    .enumerate()
                    .any(|(j, o)| j != i && o.account == t.account && o.name == t.name)
                {
                    return Err(TrailError::TrailAlreadyExists(format!(
                        "Trail {} already exists in another Region for customer: {}",
                        t.name, caller.account
                    )));
                }
            }
            if let Some(slot) = st.trails.get_mut(i) {
                *slot = t.clone();
            }
            t
        };
        self.save()?;
        Ok(result)
    }

    /// DeleteTrail; returns the deleted trail (so the caller can close its digest chain).
    pub fn delete(&self, caller: Caller<'_>, name: &str) -> Result<Trail, TrailError> {
        let removed = {
            let mut st = self.write();
            let i = self.find_mut(&st, caller, name)?;
            let t = st.trails.remove(i);
            if t.declared {
                st.deleted_declared.insert(t.arn());
            }
            t
        };
        self.save()?;
        Ok(removed)
    }

    /// DescribeTrails: the named trails (names or ARNs; unknown names are skipped, as AWS
    /// does), or every trail visible in the caller's Region. Shadow trails (multi-Region
    /// trails homed elsewhere) are included when `include_shadow` is true.
    pub fn describe(
        &self,
        caller: Caller<'_>,
        names: Option<&[String]>,
        include_shadow: bool,
    ) -> Result<Vec<Trail>, TrailError> {
        let st = self.read();
        let visible = |t: &Trail| {
            t.visible_in(caller.account, caller.region, &self.orgs)
                && (include_shadow || t.home_region == caller.region)
        };
        let mut out: Vec<Trail> = match names.filter(|n| !n.is_empty()) {
            None => st.trails.iter().filter(|t| visible(t)).cloned().collect(),
            Some(names) => {
                let mut out = Vec::new();
                for n in names {
                    let r = TrailRef::parse(n)?;
                    for t in st.trails.iter().filter(|t| visible(t)) {
                        let hit = match &r {
                            TrailRef::Name(name) => &t.name == name,
                            TrailRef::Arn {
                                region,
                                account,
                                name,
                            } => &t.name == name && &t.home_region == region && &t.account == account,
                        };
                        if hit && !out.iter().any(|o: &Trail| o.arn() == t.arn()) {
                            out.push(t.clone());
                        }
                    }
                }
                out
            }
        };
        out.sort_by_key(Trail::arn);
        Ok(out)
    }

    /// ListTrails: every trail of the account in every Region (and organization trails it is in).
    pub fn list(&self, caller: Caller<'_>) -> Vec<Trail> {
        let st = self.read();
        let mut out: Vec<Trail> = st
            .trails
            .iter()
            .filter(|t| t.covers_account(caller.account, &self.orgs))
            .cloned()
            .collect();
        out.sort_by_key(Trail::arn);
        out
    }

    /// GetTrailStatus's trail lookup (shadow trails included).
    pub fn status_of(&self, caller: Caller<'_>, name: &str) -> Result<Trail, TrailError> {
        self.get(caller, name)
    }

    /// StartLogging. Returns the trail and whether it was stopped before.
    pub fn start_logging(&self, caller: Caller<'_>, name: &str) -> Result<(Trail, bool), TrailError> {
        let now = self.now();
        self.mutate(caller, name, |t, _| {
            let was_stopped = !t.logging;
            if was_stopped {
                t.logging = true;
                t.start_logging_time = Some(now);
            }
            Ok((t.clone(), was_stopped))
        })
    }

    /// StopLogging. Returns the trail and whether it was logging before.
    pub fn stop_logging(&self, caller: Caller<'_>, name: &str) -> Result<(Trail, bool), TrailError> {
        let now = self.now();
        self.mutate(caller, name, |t, _| {
            let was_logging = t.logging;
            if was_logging {
                t.logging = false;
                t.stop_logging_time = Some(now);
            }
            Ok((t.clone(), was_logging))
        })
    }

    /// PutEventSelectors: exactly one of `basic` and `advanced`.
    pub fn put_event_selectors(
        &self,
        caller: Caller<'_>,
        name: &str,
        basic: Option<Vec<EventSelector>>,
        advanced: Option<Vec<AdvancedEventSelector>>,
    ) -> Result<Trail, TrailError> {
        let selectors = match (basic, advanced) {
            (Some(_), Some(_)) => {
                return Err(TrailError::InvalidParameterCombination(
                    "You can use either EventSelectors or AdvancedEventSelectors, but not both.".to_owned(),
                ));
            }
            (None, None) => {
                return Err(TrailError::InvalidParameterCombination(
                    "You must specify either EventSelectors or AdvancedEventSelectors.".to_owned(),
                ));
            }
            (Some(b), None) => {
                validate_basic(&b)?;
                Selectors::Basic(b)
            }
            (None, Some(a)) => {
                validate_advanced(&a)?;
                Selectors::Advanced(a)
            }
        };
        self.mutate(caller, name, |t, _| {
            t.selectors = selectors;
            t.has_custom_selectors = true;
            Ok(t.clone())
        })
    }

    fn find_by_arn_for_tags(&self, st: &State, caller: Caller<'_>, arn: &str) -> Result<usize, TrailError> {
        let r = TrailRef::parse(arn)
            .map_err(|_| TrailError::CloudTrailArnInvalid(format!("Invalid trail ARN: {arn}")))?;
        let TrailRef::Arn {
            region,
            account,
            name,
        } = r
        else {
            return Err(TrailError::CloudTrailArnInvalid(format!(
                "Resource ID must be a trail ARN: {arn}"
            )));
        };
        st.trails
            .iter()
            .position(|t| {
                t.name == name
                    && t.home_region == region
                    && t.account == account
                    && t.covers_account(caller.account, &self.orgs)
            })
            .ok_or_else(|| TrailError::ResourceNotFound(format!("Resource {arn} does not exist.")))
    }

    /// AddTags: adds or overwrites tags on a trail named by ARN.
    pub fn add_tags(&self, caller: Caller<'_>, arn: &str, tags: &[Tag]) -> Result<(), TrailError> {
        check_tags(tags)?;
        {
            let mut st = self.write();
            let i = self.find_by_arn_for_tags(&st, caller, arn)?;
            let t = st
                .trails
                .get_mut(i)
                .ok_or_else(|| TrailError::ResourceNotFound(arn.to_owned()))?;
            if t.home_region != caller.region {
                return Err(TrailError::InvalidHomeRegion(format!(
                    "This operation must be called from the trail's home Region, {}.",
                    t.home_region
                )));
            }
            let mut merged = t.tags.clone();
            for tag in tags {
                match merged.iter_mut().find(|x| x.key == tag.key) {
                    Some(x) => x.value = tag.value.clone(),
                    None => merged.push(tag.clone()),
                }
            }
            if merged.len() > MAX_TAGS {
                return Err(TrailError::TagsLimitExceeded(format!(
                    "The number of tags on {arn} would exceed the limit of {MAX_TAGS}."
                )));
            }
            t.tags = merged;
        }
        self.save()
    }

    /// RemoveTags: removes the tags with these keys (and, when given, these values).
    pub fn remove_tags(&self, caller: Caller<'_>, arn: &str, tags: &[Tag]) -> Result<(), TrailError> {
        check_tags(tags)?;
        {
            let mut st = self.write();
            let i = self.find_by_arn_for_tags(&st, caller, arn)?;
            let t = st
                .trails
                .get_mut(i)
                .ok_or_else(|| TrailError::ResourceNotFound(arn.to_owned()))?;
            if t.home_region != caller.region {
                return Err(TrailError::InvalidHomeRegion(format!(
                    "This operation must be called from the trail's home Region, {}.",
                    t.home_region
                )));
            }
            t.tags.retain(|x| {
                !tags
                    .iter()
                    .any(|r| r.key == x.key && (r.value.is_none() || r.value == x.value))
            });
        }
        self.save()
    }

    /// ListTags: the tags of each trail ARN, in the order asked.
    pub fn list_tags(
        &self,
        caller: Caller<'_>,
        arns: &[String],
    ) -> Result<Vec<(String, Vec<Tag>)>, TrailError> {
        let st = self.read();
        let mut out = Vec::with_capacity(arns.len());
        for arn in arns {
            let i = self.find_by_arn_for_tags(&st, caller, arn)?;
            out.push((
                arn.clone(),
                st.trails.get(i).map(|t| t.tags.clone()).unwrap_or_default(),
            ));
        }
        Ok(out)
    }

    /// Every trail, for observers (digests, notifications, status).
    pub fn snapshot(&self) -> Vec<Trail> {
        self.read().trails.clone()
    }

    /// The trail with this ARN, if it exists.
    pub fn by_arn(&self, arn: &str) -> Option<Trail> {
        self.read().trails.iter().find(|t| t.arn() == arn).cloned()
    }

    /// The object store named for a bucket by the first trail delivering to it.
    pub fn store_for_bucket(&self, bucket: &str) -> Option<StoreName> {
        self.read()
            .trails
            .iter()
            .find(|t| t.bucket == bucket && t.store.is_some())
            .and_then(|t| t.store.clone())
    }

    /// The routing decision: every logging trail that takes `record`, with where its file goes.
    pub fn destinations(&self, record: &Record) -> Vec<Destination> {
        let st = self.read();
        st.trails
            .iter()
            .filter(|t| t.takes(record, &self.orgs))
            .map(|t| Destination {
                trail: t.arn(),
                log: t.destination(record),
            })
            .collect()
    }
}

impl Router for Trails {
    fn route(&self, record: &Record) -> Vec<Destination> {
        self.destinations(record)
    }
}

/// Writes a small file atomically (temporary file beside it, then rename).
fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir)?;
    }
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    {
        let mut f = fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
    }
    fs::rename(&tmp, path)
}

/// The trail every fresh emulator has: multi-Region, validation on, the demo account's events.
pub fn default_trail_spec(account: &str) -> TrailSpec {
    TrailSpec {
        name: "management-events".to_owned(),
        bucket: format!("aws-cloudtrail-logs-{account}"),
        multi_region: Some(true),
        include_global_service_events: Some(true),
        log_file_validation: Some(true),
        selectors: Some(Selectors::Advanced(every_call_selectors())),
        ..TrailSpec::default()
    }
}

/// Advanced selectors for every management event and every Personalize data event: what the
/// emulator's built-in trail logs, so every call it serves ends up in a log file.
pub fn every_call_selectors() -> Vec<AdvancedEventSelector> {
    let eq = |field: &str, value: &str| AdvancedFieldSelector {
        field: field.to_owned(),
        equals: Some(vec![value.to_owned()]),
        ..AdvancedFieldSelector::default()
    };
    let mut out = vec![AdvancedEventSelector {
        name: Some("Management events".to_owned()),
        field_selectors: vec![eq("eventCategory", "Management")],
    }];
    for t in PERSONALIZE_DATA_RESOURCE_TYPES {
        out.push(AdvancedEventSelector {
            name: Some(format!("Data events: {t}")),
            field_selectors: vec![eq("eventCategory", "Data"), eq("resources.type", t)],
        });
    }
    out
}

#[cfg(test)]
fn at(secs: i64) -> time::OffsetDateTime {
    time::OffsetDateTime::from_unix_timestamp(secs).unwrap_or(time::OffsetDateTime::UNIX_EPOCH)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;
    use crate::identity::UserIdentity;
    use crate::record::Resource;
    use std::sync::Arc;

    const ACCT: &str = "123456789012";

    fn clock() -> SharedClock {
        ManualClock::new(at(1_767_225_600))
    }

    fn caller(region: &str) -> Caller<'_> {
        Caller {
            account: ACCT,
            region,
        }
    }

    fn rec(account: &str, region: &str, name: &str, read_only: bool) -> Record {
        let mut r = Record::api_call(
            UserIdentity::root(account, "AKIAIOSFODNN7EXAMPLE", None),
            at(1_767_225_600),
            "personalize.amazonaws.com",
            name,
            region,
            "192.0.2.1",
            account,
        );
        r.read_only = Some(read_only);
        r
    }

    fn data_rec(region: &str, rtype: &str, arn: &str) -> Record {
        let mut r = rec(ACCT, region, "PutEvents", false);
        r.event_category = EventCategory::Data;
        r.management_event = Some(false);
        r.resources = vec![Resource {
            arn: Some(arn.to_owned()),
            arn_prefix: None,
            account_id: Some(ACCT.to_owned()),
            resource_type: Some(rtype.to_owned()),
        }];
        r
    }

    fn spec(name: &str) -> TrailSpec {
        TrailSpec {
            name: name.into(),
            bucket: "my-bucket".into(),
            ..TrailSpec::default()
        }
    }

    fn trails() -> Trails {
        Trails::new(
            None,
            clock(),
            vec![Organization {
                id: "o-exampleorg1".into(),
                management_account: ACCT.into(),
                member_accounts: vec!["111122223333".into()],
            }],
        )
    }

    #[test]
    fn basic_selectors_split_read_and_write() {
        let w = EventSelector {
            read_write_type: "WriteOnly".into(),
            ..EventSelector::default()
        };
        assert!(w.select(&rec(ACCT, "us-east-1", "CreateSchema", false)));
        assert!(!w.select(&rec(ACCT, "us-east-1", "ListSchemas", true)));
        let r = EventSelector {
            read_write_type: "ReadOnly".into(),
            ..EventSelector::default()
        };
        assert!(r.select(&rec(ACCT, "us-east-1", "ListSchemas", true)));
        assert!(!r.select(&rec(ACCT, "us-east-1", "CreateSchema", false)));
        let none = EventSelector {
            include_management_events: false,
            ..EventSelector::default()
        };
        assert!(!none.select(&rec(ACCT, "us-east-1", "ListSchemas", true)));
        // Default selectors take no data events.
        assert!(!Selectors::default().select(&data_rec(
            "us-east-1",
            "AWS::Personalize::EventTracker",
            "arn:x"
        )));
        let kms = EventSelector {
            exclude_management_event_sources: vec!["kms.amazonaws.com".into()],
            ..EventSelector::default()
        };
        let mut k = rec(ACCT, "us-east-1", "Decrypt", true);
        k.event_source = "kms.amazonaws.com".into();
        assert!(!kms.select(&k));
    }

    #[test]
    fn advanced_selectors_pick_personalize_data_events() {
        let tracker = "arn:aws:personalize:us-east-1:123456789012:event-tracker/abc";
        let sel = AdvancedEventSelector {
            name: Some("events".into()),
            field_selectors: vec![
                AdvancedFieldSelector {
                    field: "eventCategory".into(),
                    equals: Some(vec!["Data".into()]),
                    ..Default::default()
                },
                AdvancedFieldSelector {
                    field: "resources.type".into(),
                    equals: Some(vec!["AWS::Personalize::EventTracker".into()]),
                    ..Default::default()
                },
                AdvancedFieldSelector {
                    field: "resources.ARN".into(),
                    starts_with: Some(vec!["arn:aws:personalize:us-east-1:".into()]),
                    ..Default::default()
                },
                AdvancedFieldSelector {
                    field: "eventName".into(),
                    not_equals: Some(vec!["PutItems".into()]),
                    ..Default::default()
                },
            ],
        };
        validate_advanced(std::slice::from_ref(&sel)).unwrap();
        assert!(sel.select(&data_rec("us-east-1", "AWS::Personalize::EventTracker", tracker)));
        assert!(!sel.select(&data_rec(
            "us-east-1",
            "AWS::Personalize::Campaign",
            "arn:aws:personalize:us-east-1:1:campaign/c"
        )));
        assert!(!sel.select(&data_rec(
            "us-east-1",
            "AWS::Personalize::EventTracker",
            "arn:aws:personalize:eu-west-1:1:event-tracker/x"
        )));
        let mut items = data_rec("us-east-1", "AWS::Personalize::EventTracker", tracker);
        items.event_name = "PutItems".into();
        assert!(!sel.select(&items));
        assert!(!sel.select(&rec(ACCT, "us-east-1", "CreateSchema", false)));

        let mgmt_writes = AdvancedEventSelector {
            name: None,
            field_selectors: vec![
                AdvancedFieldSelector {
                    field: "eventCategory".into(),
                    equals: Some(vec!["Management".into()]),
                    ..Default::default()
                },
                AdvancedFieldSelector {
                    field: "readOnly".into(),
                    equals: Some(vec!["false".into()]),
                    ..Default::default()
                },
            ],
        };
        validate_advanced(std::slice::from_ref(&mgmt_writes)).unwrap();
        assert!(mgmt_writes.select(&rec(ACCT, "us-east-1", "CreateSchema", false)));
        assert!(!mgmt_writes.select(&rec(ACCT, "us-east-1", "ListSchemas", true)));
    }

    #[test]
    fn selector_validation() {
        let bad_field = AdvancedEventSelector {
            name: None,
            field_selectors: vec![
                AdvancedFieldSelector {
                    field: "eventCategory".into(),
                    equals: Some(vec!["Data".into()]),
                    ..Default::default()
                },
                AdvancedFieldSelector {
                    field: "nope".into(),
                    equals: Some(vec!["x".into()]),
                    ..Default::default()
                },
            ],
        };
        assert_eq!(
            validate_advanced(&[bad_field]).unwrap_err().code(),
            "InvalidEventSelectorsException"
        );
        let no_type = AdvancedEventSelector {
            name: None,
            field_selectors: vec![AdvancedFieldSelector {
                field: "eventCategory".into(),
                equals: Some(vec!["Data".into()]),
                ..Default::default()
            }],
        };
        assert!(validate_advanced(&[no_type]).is_err());
        let no_cat = AdvancedEventSelector {
            name: None,
            field_selectors: vec![AdvancedFieldSelector {
                field: "readOnly".into(),
                equals: Some(vec!["true".into()]),
                ..Default::default()
            }],
        };
        assert!(validate_advanced(&[no_cat]).is_err());
        let starts_on_type = AdvancedEventSelector {
            name: None,
            field_selectors: vec![
                AdvancedFieldSelector {
                    field: "eventCategory".into(),
                    equals: Some(vec!["Data".into()]),
                    ..Default::default()
                },
                AdvancedFieldSelector {
                    field: "resources.type".into(),
                    starts_with: Some(vec!["AWS::".into()]),
                    ..Default::default()
                },
            ],
        };
        assert!(validate_advanced(&[starts_on_type]).is_err());
        assert!(validate_basic(&vec![EventSelector::default(); 6]).is_err());
        assert!(
            validate_basic(&[EventSelector {
                read_write_type: "Sometimes".into(),
                ..Default::default()
            }])
            .is_err()
        );
        assert!(
            validate_basic(&[EventSelector {
                data_resources: vec![DataResource {
                    r#type: Some("AWS::Personalize::Dataset".into()),
                    values: vec!["arn:aws:personalize".into()]
                }],
                ..Default::default()
            }])
            .is_err()
        );
        validate_basic(&[EventSelector {
            data_resources: vec![DataResource {
                r#type: Some("AWS::S3::Object".into()),
                values: vec!["arn:aws:s3".into()],
            }],
            ..Default::default()
        }])
        .unwrap();
    }

    #[test]
    fn names_and_arns() {
        for ok in ["abc", "my-trail", "a.b_c-1", "Trail9"] {
            validate_trail_name(ok).unwrap();
        }
        for bad in [
            "ab",
            "-abc",
            "abc-",
            "a--b",
            "a._b",
            "my trail",
            "192.168.5.4",
            &"x".repeat(129),
        ] {
            assert_eq!(
                validate_trail_name(bad).unwrap_err().code(),
                "InvalidTrailNameException",
                "{bad}"
            );
        }
        assert_eq!(
            TrailRef::parse("arn:aws:cloudtrail:us-east-1:123456789012:trail/trail1").unwrap(),
            TrailRef::Arn {
                region: "us-east-1".into(),
                account: ACCT.into(),
                name: "trail1".into()
            }
        );
        assert_eq!(
            TrailRef::parse("arn:aws:cloudtrail:us-east-1:12:trail/trail1")
                .unwrap_err()
                .code(),
            "CloudTrailARNInvalidException"
        );
        assert_eq!(
            TrailRef::parse("arn:aws:s3:::bucket").unwrap_err().code(),
            "CloudTrailARNInvalidException"
        );
    }

    #[test]
    fn crud_regions_and_quota() {
        let t = trails();
        let east = caller("us-east-1");
        let west = caller("us-west-2");
        let created = t.create(east, spec("trail1")).unwrap();
        assert!(!created.logging);
        assert_eq!(
            created.arn(),
            "arn:aws:cloudtrail:us-east-1:123456789012:trail/trail1"
        );
        assert_eq!(
            t.create(east, spec("trail1")).unwrap_err().code(),
            "TrailAlreadyExistsException"
        );
        // The same name in another Region is another trail, but not once one of them is multi-Region.
        t.create(west, spec("trail1")).unwrap();
        let multi = TrailSpec {
            multi_region: Some(true),
            ..spec("trail1")
        };
        assert_eq!(
            t.create(caller("eu-west-1"), multi).unwrap_err().code(),
            "TrailAlreadyExistsException"
        );
        assert_eq!(t.get(west, "trail1").unwrap().home_region, "us-west-2");
        assert_eq!(
            t.get(caller("eu-west-1"), "trail1").unwrap_err().code(),
            "TrailNotFoundException"
        );
        // A multi-Region trail shows as a shadow trail elsewhere, but is changed only from home.
        t.create(
            east,
            TrailSpec {
                multi_region: Some(true),
                ..spec("all")
            },
        )
        .unwrap();
        assert_eq!(
            t.get(caller("eu-west-1"), "all").unwrap().home_region,
            "us-east-1"
        );
        assert_eq!(t.describe(caller("eu-west-1"), None, true).unwrap().len(), 1);
        assert_eq!(t.describe(caller("eu-west-1"), None, false).unwrap().len(), 0);
        assert_eq!(
            t.start_logging(caller("eu-west-1"), "all").unwrap_err().code(),
            "InvalidHomeRegionException"
        );
        assert_eq!(t.list(east).len(), 3);
        for i in 0..3 {
            t.create(east, spec(&format!("more{i}"))).unwrap();
        }
        assert_eq!(
            t.create(east, spec("sixth")).unwrap_err().code(),
            "MaximumNumberOfTrailsExceededException"
        );
        let u = t
            .update(
                east,
                "trail1",
                TrailUpdate {
                    prefix: Some("/p/q/".into()),
                    ..Default::default()
                },
            )
            .unwrap();
        assert_eq!(u.prefix.as_deref(), Some("p/q"));
        t.delete(east, "arn:aws:cloudtrail:us-east-1:123456789012:trail/trail1")
            .unwrap();
        assert_eq!(
            t.get(east, "trail1").unwrap_err().code(),
            "TrailNotFoundException"
        );
        assert_eq!(
            t.create(
                east,
                TrailSpec {
                    bucket: "Bad_Bucket".into(),
                    ..spec("zz1")
                }
            )
            .unwrap_err()
            .code(),
            "InvalidS3BucketNameException"
        );
    }

    #[test]
    fn routing_by_region_account_organization_and_logging() {
        let t = trails();
        let east = caller("us-east-1");
        t.create(
            east,
            TrailSpec {
                multi_region: Some(true),
                ..spec("all")
            },
        )
        .unwrap();
        t.create(
            east,
            TrailSpec {
                bucket: "single-bucket".into(),
                ..spec("single")
            },
        )
        .unwrap();
        t.create(
            east,
            TrailSpec {
                bucket: "org-bucket".into(),
                organization_trail: Some(true),
                multi_region: Some(true),
                ..spec("org")
            },
        )
        .unwrap();
        let r_east = rec(ACCT, "us-east-1", "CreateSchema", false);
        let r_west = rec(ACCT, "us-west-2", "CreateSchema", false);
        let r_member = rec("111122223333", "us-west-2", "CreateSchema", false);
        let r_stranger = rec("999999999999", "us-east-1", "CreateSchema", false);
        // Nothing logs before StartLogging.
        assert!(t.destinations(&r_east).is_empty());
        for n in ["all", "single", "org"] {
            t.start_logging(east, n).unwrap();
        }
        let names = |r: &Record| {
            let mut v: Vec<String> = t
                .destinations(r)
                .into_iter()
                .filter_map(|d| d.trail.rsplit('/').next().map(str::to_owned))
                .collect();
            v.sort();
            v
        };
        assert_eq!(names(&r_east), ["all", "org", "single"]);
        assert_eq!(names(&r_west), ["all", "org"]);
        assert_eq!(names(&r_member), ["org"]);
        assert!(names(&r_stranger).is_empty());
        let d = t.destinations(&r_member).into_iter().next().unwrap().log;
        assert_eq!(d.org_id.as_deref(), Some("o-exampleorg1"));
        assert_eq!(d.account, "111122223333");
        assert_eq!(d.region, "us-west-2");
        assert_eq!(d.bucket, "org-bucket");
        t.stop_logging(east, "all").unwrap();
        assert_eq!(names(&r_west), ["org"]);
        // Member accounts cannot create organization trails, accounts outside any organization neither.
        let member = Caller {
            account: "111122223333",
            region: "us-east-1",
        };
        assert_eq!(
            t.create(
                member,
                TrailSpec {
                    organization_trail: Some(true),
                    ..spec("org2")
                }
            )
            .unwrap_err()
            .code(),
            "NotOrganizationMasterAccountException"
        );
        let stranger = Caller {
            account: "999999999999",
            region: "us-east-1",
        };
        assert_eq!(
            t.create(
                stranger,
                TrailSpec {
                    organization_trail: Some(true),
                    ..spec("org3")
                }
            )
            .unwrap_err()
            .code(),
            "OrganizationsNotInUseException"
        );
        // Data events need a selector asking for them.
        let tracker = "arn:aws:personalize:us-east-1:123456789012:event-tracker/abc";
        assert_eq!(
            names(&data_rec("us-east-1", "AWS::Personalize::EventTracker", tracker)),
            Vec::<String>::new()
        );
        let data = AdvancedEventSelector {
            name: None,
            field_selectors: vec![
                AdvancedFieldSelector {
                    field: "eventCategory".into(),
                    equals: Some(vec!["Data".into()]),
                    ..Default::default()
                },
                AdvancedFieldSelector {
                    field: "resources.type".into(),
                    equals: Some(vec!["AWS::Personalize::EventTracker".into()]),
                    ..Default::default()
                },
            ],
        };
        let got = t
            .put_event_selectors(east, "single", None, Some(vec![data]))
            .unwrap();
        assert!(got.has_custom_selectors);
        assert_eq!(
            names(&data_rec("us-east-1", "AWS::Personalize::EventTracker", tracker)),
            ["single"]
        );
        // The trail now has data selectors only: management events no longer reach it.
        assert_eq!(names(&r_east), ["org"]);
    }

    #[test]
    fn tags() {
        let t = trails();
        let east = caller("us-east-1");
        let arn = t.create(east, spec("trail1")).unwrap().arn();
        t.add_tags(
            east,
            &arn,
            &[
                Tag {
                    key: "a".into(),
                    value: Some("1".into()),
                },
                Tag {
                    key: "b".into(),
                    value: None,
                },
            ],
        )
        .unwrap();
        t.add_tags(
            east,
            &arn,
            &[Tag {
                key: "a".into(),
                value: Some("2".into()),
            }],
        )
        .unwrap();
        t.remove_tags(
            east,
            &arn,
            &[Tag {
                key: "b".into(),
                value: None,
            }],
        )
        .unwrap();
        assert_eq!(
            t.list_tags(east, std::slice::from_ref(&arn)).unwrap(),
            vec![(
                arn.clone(),
                vec![Tag {
                    key: "a".into(),
                    value: Some("2".into())
                }]
            )]
        );
        assert_eq!(
            t.add_tags(east, "trail1", &[]).unwrap_err().code(),
            "CloudTrailARNInvalidException"
        );
        assert_eq!(
            t.list_tags(
                east,
                &["arn:aws:cloudtrail:us-east-1:123456789012:trail/none".into()]
            )
            .unwrap_err()
            .code(),
            "ResourceNotFoundException"
        );
        let many: Vec<Tag> = (0..51)
            .map(|i| Tag {
                key: format!("k{i}"),
                value: None,
            })
            .collect();
        assert_eq!(
            t.add_tags(east, &arn, &many).unwrap_err().code(),
            "TagsLimitExceededException"
        );
    }

    #[test]
    fn state_survives_reopen_and_declared_trails_stay_deleted() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("trails.json");
        let declared = || vec![(ACCT.to_owned(), "us-east-1".to_owned(), default_trail_spec(ACCT))];
        let clock: SharedClock = Arc::new(crate::clock::SystemClock);
        let t = Trails::open(Some(path.clone()), clock.clone(), vec![], declared()).unwrap();
        let east = caller("us-east-1");
        let d = t.get(east, "management-events").unwrap();
        assert!(d.logging && d.multi_region && d.log_file_validation && d.declared);
        t.create(east, spec("api-made")).unwrap();
        drop(t);
        let mut moved = declared();
        moved[0].2.bucket = "moved-bucket".into();
        let t = Trails::open(Some(path.clone()), clock.clone(), vec![], moved).unwrap();
        assert_eq!(t.list(east).len(), 2);
        assert_eq!(t.get(east, "management-events").unwrap().bucket, "moved-bucket");
        t.stop_logging(east, "management-events").unwrap();
        drop(t);
        let t = Trails::open(Some(path.clone()), clock.clone(), vec![], declared()).unwrap();
        let d = t.get(east, "management-events").unwrap();
        assert!(!d.logging, "a stop through the API survives a restart");
        assert_eq!(d.bucket, "aws-cloudtrail-logs-123456789012");
        t.delete(east, "management-events").unwrap();
        drop(t);
        let t = Trails::open(Some(path), clock, vec![], declared()).unwrap();
        assert_eq!(
            t.list(east).into_iter().map(|t| t.name).collect::<Vec<_>>(),
            ["api-made"]
        );
    }
}
