//! The typed CloudTrail record (event version 1.11 field set), serialised with AWS's names and presence rules.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::identity::UserIdentity;
use crate::timefmt;

/// A random (version 4) UUID from the thread-local generator (ChaCha, seeded once per thread
/// from the OS). `Uuid::new_v4` asks the kernel for entropy on every call: one system call per
/// record, which showed up at tens of thousands of calls per second.
pub fn random_uuid() -> Uuid {
    use rand::RngExt;
    let bytes: [u8; 16] = rand::rng().random();
    uuid::Builder::from_random_bytes(bytes).into_uuid()
}

/// The event version we emit. 1.11 is the current version; its only new field
/// (`eventContext`) exists only in CloudTrail Lake, so trail files never carry it.
pub const EVENT_VERSION: &str = "1.11";

/// One CloudTrail event record, in the field order AWS writes them.
///
/// Presence rules: `requestParameters` and `responseElements` are always present
/// (JSON `null` when empty), `errorCode` and `errorMessage` only on failure, and every
/// other optional field only when set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Record {
    /// `"1.11"`.
    pub event_version: String,
    /// Who made the call.
    pub user_identity: UserIdentity,
    /// When the request completed, whole seconds, UTC.
    #[serde(with = "event_time")]
    pub event_time: OffsetDateTime,
    /// The service's endpoint name: `cloudtrail.amazonaws.com`, `s3.amazonaws.com`, ...
    pub event_source: String,
    /// The API action.
    pub event_name: String,
    /// The region the call was made to.
    pub aws_region: String,
    /// The caller's address, or a service name for calls made by AWS services.
    #[serde(rename = "sourceIPAddress")]
    pub source_ip_address: String,
    /// The received `User-Agent`, at most 1 KB.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_agent: Option<String>,
    /// The AWS error code, only on failure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_code: Option<String>,
    /// The AWS error message, only on failure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_message: Option<String>,
    /// The request's parameters; `null` when there were none.
    #[serde(default, deserialize_with = "nullable")]
    pub request_parameters: Option<Value>,
    /// The response of a mutating call; `null` for read-only and failed calls.
    #[serde(default, deserialize_with = "nullable")]
    pub response_elements: Option<Value>,
    /// Extra data some services add.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub additional_event_data: Option<Value>,
    /// The service's request id, equal to the `x-amzn-RequestId` response header.
    #[serde(rename = "requestID", default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// A UUID unique to this event (duplicates share it).
    #[serde(rename = "eventID")]
    pub event_id: Uuid,
    /// Whether the operation only reads.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_only: Option<bool>,
    /// The resources the call touched, where the service lists them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resources: Vec<Resource>,
    /// `AwsApiCall` for everything we record.
    pub event_type: EventType,
    /// Only some services' API calls carry it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_version: Option<String>,
    /// `true` for management events, `false` for data events.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub management_event: Option<bool>,
    /// The account that received this copy of the event.
    pub recipient_account_id: String,
    /// Only for `AwsServiceEvent`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_event_details: Option<Value>,
    /// Only when one action is delivered to several accounts.
    #[serde(rename = "sharedEventID", default, skip_serializing_if = "Option::is_none")]
    pub shared_event_id: Option<Uuid>,
    /// Only when the call came through a VPC endpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vpc_endpoint_id: Option<String>,
    /// The account owning that VPC endpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vpc_endpoint_account_id: Option<String>,
    /// `Management` or `Data` for what we record.
    pub event_category: EventCategory,
    /// Only for delayed or updated events.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub addendum: Option<Addendum>,
    /// The string `"true"`, present only when true.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_credential_from_console: Option<String>,
    /// Only for Outposts and Snow device events.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub edge_device_details: Option<Value>,
    /// Present when the call came over TLS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_details: Option<TlsDetails>,
}

/// The kind of event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum EventType {
    /// An API call.
    AwsApiCall,
    /// An event AWS generated itself.
    AwsServiceEvent,
    /// A console action that is not an API call.
    AwsConsoleAction,
    /// A console sign-in.
    AwsConsoleSignIn,
    /// An Insights event.
    AwsCloudTrailInsight,
    /// A network activity event.
    AwsVpceEvent,
}

/// The category of event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum EventCategory {
    /// Control-plane operations.
    Management,
    /// Data-plane operations on a resource (reading or writing its data).
    Data,
    /// VPC endpoint network activity.
    NetworkActivity,
    /// Insights.
    Insight,
}

/// One entry of `resources[]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resource {
    /// The resource ARN (note the upper-case key).
    #[serde(rename = "ARN", default, skip_serializing_if = "Option::is_none")]
    pub arn: Option<String>,
    /// An ARN prefix, used instead of `ARN` by some services.
    #[serde(rename = "ARNPrefix", default, skip_serializing_if = "Option::is_none")]
    pub arn_prefix: Option<String>,
    /// The owning account.
    #[serde(rename = "accountId", default, skip_serializing_if = "Option::is_none")]
    pub account_id: Option<String>,
    /// `AWS::<Service>::<Kind>`, such as `AWS::S3::Object`.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub resource_type: Option<String>,
}

impl Resource {
    /// A resource named by its ARN, in `account`, of type `resource_type`.
    pub fn arn(arn: &str, account: &str, resource_type: &str) -> Self {
        Resource {
            arn: Some(arn.to_owned()),
            arn_prefix: None,
            account_id: Some(account.to_owned()),
            resource_type: Some(resource_type.to_owned()),
        }
    }
}

/// `tlsDetails`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TlsDetails {
    /// `TLSv1.2`, `TLSv1.3`.
    pub tls_version: String,
    /// The negotiated suite, IANA or OpenSSL name as AWS prints it.
    pub cipher_suite: String,
    /// The `Host` header the client sent.
    pub client_provided_host_header: String,
    /// The key exchange group, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_exchange: Option<String>,
}

/// `addendum`, for delayed or updated events.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Addendum {
    /// `DELIVERY_DELAY`, `UPDATED_DATA` or `SERVICE_OUTAGE`.
    pub reason: String,
    /// Only with `UPDATED_DATA`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_fields: Option<String>,
    /// Only with `UPDATED_DATA`.
    #[serde(
        rename = "originalRequestID",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub original_request_id: Option<String>,
    /// Only with `UPDATED_DATA`.
    #[serde(rename = "originalEventID", default, skip_serializing_if = "Option::is_none")]
    pub original_event_id: Option<String>,
}

impl Record {
    /// A record for an API call with the fields every record has; the caller fills in the rest.
    pub fn api_call(
        user_identity: UserIdentity,
        event_time: OffsetDateTime,
        event_source: impl Into<String>,
        event_name: impl Into<String>,
        aws_region: impl Into<String>,
        source_ip_address: impl Into<String>,
        recipient_account_id: impl Into<String>,
    ) -> Self {
        Record {
            event_version: EVENT_VERSION.to_owned(),
            user_identity,
            event_time: event_time.replace_nanosecond(0).unwrap_or(event_time),
            event_source: event_source.into(),
            event_name: event_name.into(),
            aws_region: aws_region.into(),
            source_ip_address: source_ip_address.into(),
            user_agent: None,
            error_code: None,
            error_message: None,
            request_parameters: None,
            response_elements: None,
            additional_event_data: None,
            request_id: None,
            event_id: random_uuid(),
            read_only: None,
            resources: Vec::new(),
            event_type: EventType::AwsApiCall,
            api_version: None,
            management_event: Some(true),
            recipient_account_id: recipient_account_id.into(),
            service_event_details: None,
            shared_event_id: None,
            vpc_endpoint_id: None,
            vpc_endpoint_account_id: None,
            event_category: EventCategory::Management,
            addendum: None,
            session_credential_from_console: None,
            edge_device_details: None,
            tls_details: None,
        }
    }

    /// Serialises the record as one line of JSON.
    pub fn to_json(&self) -> Vec<u8> {
        // Serialise into a per-thread scratch buffer and copy out exactly the bytes: one
        // allocation of the right size per record instead of a guess, growth and a shrink.
        let scratch = JSON_SCRATCH.try_with(|cell| {
            let mut buf = cell.try_borrow_mut().ok()?;
            buf.clear();
            let out = self.write_json(&mut buf).then(|| buf.as_slice().to_vec());
            // Keep the buffer for the next record, but not a freak record's worth of memory.
            if buf.capacity() > 1 << 20 {
                *buf = Vec::new();
            }
            out
        });
        match scratch {
            Ok(Some(out)) => out,
            // Re-entered or during thread teardown: a buffer of its own.
            _ => {
                let mut out = Vec::with_capacity(2048);
                if !self.write_json(&mut out) {
                    out.clear();
                }
                out
            }
        }
    }

    /// Appends the record's JSON to `out`; false if serialisation failed (it cannot for a struct
    /// of strings, numbers and `Value`s).
    fn write_json(&self, out: &mut Vec<u8>) -> bool {
        serde_json::to_writer(out, self).is_ok()
    }
}

thread_local! {
    /// Reused by [`Record::to_json`] on each thread.
    static JSON_SCRATCH: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Keeps `null` distinct from "absent" on the way in, so a record round-trips.
fn nullable<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
    let v = Value::deserialize(d)?;
    Ok(if v.is_null() { None } else { Some(v) })
}

mod event_time {
    use super::*;

    pub(super) fn serialize<S: Serializer>(t: &OffsetDateTime, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&timefmt::iso_seconds(*t))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<OffsetDateTime, D::Error> {
        let s = String::deserialize(d)?;
        timefmt::parse_iso_seconds(&s)
            .ok_or_else(|| serde::de::Error::custom(format!("eventTime {s:?} is not YYYY-MM-DDTHH:MM:SSZ")))
    }
}
