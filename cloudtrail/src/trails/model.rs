//! The trail model: a trail as CloudTrail keeps it, the settings of CreateTrail and UpdateTrail,
//! organizations, tags, the caller, and the errors of every trail operation.

use serde::{Deserialize, Serialize};

use super::selectors::Selectors;

/// Most trails one account may have in one Region (AWS's quota; a multi-Region trail counts in every Region).
pub const MAX_TRAILS_PER_REGION: usize = 5;
/// Most tags on one trail.
pub const MAX_TAGS: usize = 50;

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
    pub(super) fn contains(&self, account: &str) -> bool {
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

    /// Whether the trail logs `account`'s events: its own, or a member's of its organization.
    pub(super) fn covers_account(&self, account: &str, orgs: &[Organization]) -> bool {
        self.account == account
            || self
                .organization
                .as_deref()
                .is_some_and(|id| orgs.iter().any(|o| o.id == id && o.contains(account)))
    }
}

/// `arn:aws:cloudtrail:<region>:<account>:trail/<name>`.
pub fn trail_arn(region: &str, account: &str, name: &str) -> String {
    format!("arn:aws:cloudtrail:{region}:{account}:trail/{name}")
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
