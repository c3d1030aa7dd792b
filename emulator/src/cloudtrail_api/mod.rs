//! The CloudTrail JSON API (`com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101`): trails,
//! event selectors, status, tags, public keys and `LookupEvents`, over the pure state in
//! `cloudtrail::trails` and `cloudtrail::history`. Every other operation of the model answers
//! `UnsupportedOperationException`. The server authenticates and records every call (with
//! `eventSource` `cloudtrail.amazonaws.com`); this module only computes answers.

mod input;
pub mod setup;
mod shapes;

use input::{In, required, tags, trail_name};
use shapes::{digest_trail, epoch, epoch_of, iso, selectors_json, trail_json, trail_response};

use std::sync::{Arc, OnceLock};

use base64::Engine as _;
use cloudtrail::delivery::Delivery;
use cloudtrail::digest::Digests;
use cloudtrail::history::{History, HistoryError, LookupRequest, LookupThrottle};
use cloudtrail::keys::KeyRing;
use cloudtrail::trails::{
    AdvancedEventSelector, Caller, EventSelector, Trail, TrailError, TrailSpec, TrailUpdate, Trails,
};
use serde_json::{Map, Value, json};
use time::OffsetDateTime;

use crate::seams::{Answer, CallContext, Fault, OperationInfo, Reply, Service, ServiceError};

pub use setup::{CloudTrailParts, SetupError};

/// The `X-Amz-Target` prefix of CloudTrail.
pub const TARGET_PREFIX: &str = "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101";
/// The record's `eventSource`.
pub const EVENT_SOURCE: &str = cloudtrail::rules::CLOUDTRAIL_EVENT_SOURCE;

/// Every operation of the CloudTrail model (2013-11-01).
pub const ALL_OPERATIONS: &[&str] = &[
    "AddTags",
    "CancelQuery",
    "CreateChannel",
    "CreateDashboard",
    "CreateEventDataStore",
    "CreateTrail",
    "DeleteChannel",
    "DeleteDashboard",
    "DeleteEventDataStore",
    "DeleteResourcePolicy",
    "DeleteTrail",
    "DeregisterOrganizationDelegatedAdmin",
    "DescribeQuery",
    "DescribeTrails",
    "DisableFederation",
    "EnableFederation",
    "GenerateQuery",
    "GetChannel",
    "GetDashboard",
    "GetEventConfiguration",
    "GetEventDataStore",
    "GetEventSelectors",
    "GetImport",
    "GetInsightSelectors",
    "GetQueryResults",
    "GetResourcePolicy",
    "GetTrail",
    "GetTrailStatus",
    "ListChannels",
    "ListDashboards",
    "ListEventDataStores",
    "ListImportFailures",
    "ListImports",
    "ListInsightsData",
    "ListInsightsMetricData",
    "ListPublicKeys",
    "ListQueries",
    "ListTags",
    "ListTrails",
    "LookupEvents",
    "PutEventConfiguration",
    "PutEventSelectors",
    "PutInsightSelectors",
    "PutResourcePolicy",
    "RegisterOrganizationDelegatedAdmin",
    "RemoveTags",
    "RestoreEventDataStore",
    "SearchSampleQueries",
    "StartDashboardRefresh",
    "StartEventDataStoreIngestion",
    "StartImport",
    "StartLogging",
    "StartQuery",
    "StopEventDataStoreIngestion",
    "StopImport",
    "StopLogging",
    "UpdateChannel",
    "UpdateDashboard",
    "UpdateEventDataStore",
    "UpdateTrail",
];

/// The operations this emulator serves; the rest answer `UnsupportedOperationException`.
pub const SERVED_OPERATIONS: &[&str] = &[
    "AddTags",
    "CreateTrail",
    "DeleteTrail",
    "DescribeTrails",
    "GetEventSelectors",
    "GetTrail",
    "GetTrailStatus",
    "ListPublicKeys",
    "ListTags",
    "ListTrails",
    "LookupEvents",
    "PutEventSelectors",
    "RemoveTags",
    "StartLogging",
    "StopLogging",
    "UpdateTrail",
];

const TIMESTAMP_MEMBERS: &[&str] = &[
    "CreatedTimestamp",
    "CreationTime",
    "EndEventTime",
    "EndTime",
    "EventTime",
    "LastUpdatedTime",
    "LatestCloudWatchLogsDeliveryTime",
    "LatestDeliveryTime",
    "LatestDigestDeliveryTime",
    "LatestIngestionAttemptTime",
    "LatestIngestionSuccessTime",
    "LatestNotificationTime",
    "StartEventTime",
    "StartLoggingTime",
    "StartTime",
    "StopLoggingTime",
    "UpdatedTimestamp",
    "ValidityEndTime",
    "ValidityStartTime",
];

/// Page size of `ListTrails`.
const LIST_TRAILS_PAGE: usize = 50;

/// The CloudTrail service plugged into the server.
pub struct CloudTrailApi {
    trails: Arc<Trails>,
    history: Arc<History>,
    throttle: LookupThrottle,
    keys: Arc<KeyRing>,
    digests: Arc<Digests>,
    notifier: Arc<setup::Notifier>,
    delivery: OnceLock<Delivery>,
    stop: Arc<tokio::sync::Notify>,
}

impl std::fmt::Debug for CloudTrailApi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CloudTrailApi").finish_non_exhaustive()
    }
}

impl Drop for CloudTrailApi {
    fn drop(&mut self) {
        // Stops the digest loop started with the service.
        self.stop.notify_one();
    }
}

fn trail_err(e: TrailError) -> ServiceError {
    let fault = if e.is_server_fault() {
        Fault::Server
    } else {
        Fault::Client
    };
    ServiceError::new(fault, e.code(), e.to_string())
}

fn history_err(e: HistoryError) -> ServiceError {
    let fault = if e.is_server_fault() {
        Fault::Server
    } else {
        Fault::Client
    };
    ServiceError::new(fault, e.code(), e.to_string())
}

impl CloudTrailApi {
    /// The delivery pipeline, once started (GetTrailStatus reads its per-trail status).
    pub fn attach_delivery(&self, delivery: Delivery) {
        let _ = self.delivery.set(delivery);
    }

    /// Starts or refreshes the digest chain of a logging, validating trail; closes it otherwise.
    fn sync_digests(&self, before: Option<&Trail>, after: &Trail) {
        let was = before.is_some_and(|b| b.logging && b.log_file_validation);
        let is = after.logging && after.log_file_validation;
        let result = if is {
            self.digests.start_chain(&digest_trail(after)).map(|_| ())
        } else if was {
            self.digests.final_digest(&after.arn()).map(|_| ())
        } else {
            Ok(())
        };
        if let Err(e) = result {
            tracing::warn!(trail = %after.arn(), error = %e, "digest chain update failed");
        }
    }

    fn create_trail(&self, caller: Caller<'_>, input: &In<'_>) -> Result<Value, ServiceError> {
        let spec = TrailSpec {
            name: trail_name(input, "Name")?,
            bucket: required(input.str("S3BucketName")?, || {
                TrailError::InvalidS3BucketName("S3BucketName is required.".to_owned())
            })?
            .to_owned(),
            prefix: input.str("S3KeyPrefix")?.map(str::to_owned),
            sns_topic_name: input.str("SnsTopicName")?.map(str::to_owned),
            include_global_service_events: input.bool("IncludeGlobalServiceEvents")?,
            multi_region: input.bool("IsMultiRegionTrail")?,
            log_file_validation: input.bool("EnableLogFileValidation")?,
            organization_trail: input.bool("IsOrganizationTrail")?,
            kms_key_id: input.str("KmsKeyId")?.map(str::to_owned),
            cloud_watch_logs_log_group_arn: input.str("CloudWatchLogsLogGroupArn")?.map(str::to_owned),
            cloud_watch_logs_role_arn: input.str("CloudWatchLogsRoleArn")?.map(str::to_owned),
            tags: tags(input, "TagsList")?,
            store: None,
            selectors: None,
        };
        let trail = self.trails.create(caller, spec).map_err(trail_err)?;
        if trail.sns_topic_name.is_some() {
            self.notifier.validation_message(&trail);
        }
        Ok(trail_response(&trail))
    }

    fn update_trail(&self, caller: Caller<'_>, input: &In<'_>) -> Result<Value, ServiceError> {
        let name = trail_name(input, "Name")?;
        let before = self.trails.get(caller, &name).map_err(trail_err)?;
        let update = TrailUpdate {
            bucket: input.str("S3BucketName")?.map(str::to_owned),
            prefix: input.str("S3KeyPrefix")?.map(str::to_owned),
            sns_topic_name: input.str("SnsTopicName")?.map(str::to_owned),
            include_global_service_events: input.bool("IncludeGlobalServiceEvents")?,
            multi_region: input.bool("IsMultiRegionTrail")?,
            log_file_validation: input.bool("EnableLogFileValidation")?,
            organization_trail: input.bool("IsOrganizationTrail")?,
            kms_key_id: input.str("KmsKeyId")?.map(str::to_owned),
            cloud_watch_logs_log_group_arn: input.str("CloudWatchLogsLogGroupArn")?.map(str::to_owned),
            cloud_watch_logs_role_arn: input.str("CloudWatchLogsRoleArn")?.map(str::to_owned),
        };
        let after = self.trails.update(caller, &name, update).map_err(trail_err)?;
        if after.sns_topic_name.is_some() && after.sns_topic_arn() != before.sns_topic_arn() {
            self.notifier.validation_message(&after);
        }
        let moved = after.bucket != before.bucket
            || after.prefix != before.prefix
            || after.organization != before.organization;
        if moved || after.log_file_validation != before.log_file_validation {
            self.sync_digests(Some(&before), &after);
        }
        Ok(trail_response(&after))
    }

    fn delete_trail(&self, caller: Caller<'_>, input: &In<'_>) -> Result<Value, ServiceError> {
        let name = trail_name(input, "Name")?;
        let removed = self.trails.delete(caller, &name).map_err(trail_err)?;
        if let Err(e) = self.digests.delete_trail(&removed.arn()) {
            tracing::warn!(trail = %removed.arn(), error = %e, "final digest on DeleteTrail failed");
        }
        Ok(json!({}))
    }

    fn get_trail(&self, caller: Caller<'_>, input: &In<'_>) -> Result<Value, ServiceError> {
        let name = trail_name(input, "Name")?;
        let t = self.trails.get(caller, &name).map_err(trail_err)?;
        Ok(json!({ "Trail": trail_json(&t) }))
    }

    fn describe_trails(&self, caller: Caller<'_>, input: &In<'_>) -> Result<Value, ServiceError> {
        let names = input.strings("trailNameList")?;
        let shadow = input.bool("includeShadowTrails")?.unwrap_or(true);
        let list = self
            .trails
            .describe(caller, names.as_deref(), shadow)
            .map_err(trail_err)?;
        Ok(json!({ "trailList": list.iter().map(trail_json).collect::<Vec<_>>() }))
    }

    fn list_trails(&self, caller: Caller<'_>, input: &In<'_>) -> Result<Value, ServiceError> {
        let all = self.trails.list(caller);
        let start = match input.str("NextToken")? {
            None => 0,
            Some(tok) => {
                let arn = base64::engine::general_purpose::URL_SAFE_NO_PAD
                    .decode(tok)
                    .ok()
                    .and_then(|b| String::from_utf8(b).ok())
                    .ok_or_else(|| ServiceError::client("InvalidTokenException", "Invalid NextToken."))?;
                all.iter().position(|t| t.arn() > arn).unwrap_or(all.len())
            }
        };
        let page: Vec<&Trail> = all.iter().skip(start).take(LIST_TRAILS_PAGE).collect();
        let mut out = json!({
            "Trails": page.iter().map(|t| json!({"TrailARN": t.arn(), "Name": t.name, "HomeRegion": t.home_region})).collect::<Vec<_>>()
        });
        if start + page.len() < all.len()
            && let (Some(last), Some(m)) = (page.last(), out.as_object_mut())
        {
            m.insert(
                "NextToken".into(),
                json!(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(last.arn())),
            );
        }
        Ok(out)
    }

    fn get_trail_status(&self, caller: Caller<'_>, input: &In<'_>) -> Result<Value, ServiceError> {
        let name = trail_name(input, "Name")?;
        let t = self.trails.status_of(caller, &name).map_err(trail_err)?;
        let arn = t.arn();
        let mut m = Map::new();
        m.insert("IsLogging".into(), json!(t.logging));
        let delivery = self
            .delivery
            .get()
            .and_then(|d| d.status().trails.get(&arn).cloned());
        if let Some(d) = &delivery {
            if let Some(e) = &d.last_error {
                m.insert("LatestDeliveryError".into(), json!(e));
            }
            if let Some(at) = d.last_delivery {
                m.insert("LatestDeliveryTime".into(), epoch_of(at));
            }
            let attempt = match (d.last_delivery, d.last_error_at) {
                (Some(a), Some(b)) => Some(a.max(b)),
                (a, b) => a.or(b),
            };
            if let Some(at) = attempt {
                m.insert("LatestDeliveryAttemptTime".into(), json!(iso(at)));
                let ok = d
                    .last_delivery
                    .filter(|s| d.last_error_at.is_none_or(|e| *s >= e));
                m.insert(
                    "LatestDeliveryAttemptSucceeded".into(),
                    json!(ok.map(iso).unwrap_or_default()),
                );
            }
        }
        let notif = self.notifier.status(&arn);
        if let Some(n) = &notif {
            if let Some(e) = &n.error {
                m.insert("LatestNotificationError".into(), json!(e));
            }
            if let Some(at) = n.succeeded {
                m.insert("LatestNotificationTime".into(), epoch_of(at));
            }
            m.insert("LatestNotificationAttemptTime".into(), json!(iso(n.attempted)));
            m.insert(
                "LatestNotificationAttemptSucceeded".into(),
                json!(n.succeeded.map(iso).unwrap_or_default()),
            );
        }
        if let Some(s) = t.start_logging_time {
            m.insert("StartLoggingTime".into(), epoch(s));
            if let Ok(at) = OffsetDateTime::from_unix_timestamp(s) {
                m.insert("TimeLoggingStarted".into(), json!(iso(at)));
            }
        }
        if let Some(s) = t.stop_logging_time {
            m.insert("StopLoggingTime".into(), epoch(s));
            if let Ok(at) = OffsetDateTime::from_unix_timestamp(s) {
                m.insert("TimeLoggingStopped".into(), json!(iso(at)));
            }
        }
        if let Some(ds) = self.digests.status(&arn) {
            if let Some(at) = ds.latest_delivery {
                m.insert("LatestDigestDeliveryTime".into(), epoch_of(at));
            }
            if let Some(e) = ds.latest_error {
                m.insert("LatestDigestDeliveryError".into(), json!(e));
            }
        }
        Ok(Value::Object(m))
    }

    fn start_logging(&self, caller: Caller<'_>, input: &In<'_>) -> Result<Value, ServiceError> {
        let name = trail_name(input, "Name")?;
        let (t, was_stopped) = self.trails.start_logging(caller, &name).map_err(trail_err)?;
        if was_stopped && t.log_file_validation {
            self.sync_digests(None, &t);
        }
        Ok(json!({}))
    }

    /// StopLogging takes effect once its own record is routed: the trail it stops still
    /// delivers that record, as on AWS, where detections look for it in the trail's files.
    fn stop_logging(&self, ctx: &CallContext<'_>, input: &Value) -> Answer {
        let caller = Caller {
            account: ctx.account,
            region: ctx.region,
        };
        let checked = trail_name(&In::new(input), "Name").and_then(|name| {
            self.trails
                .check_mutable(caller, &name)
                .map(|()| name)
                .map_err(trail_err)
        });
        let name = match checked {
            Ok(name) => name,
            Err(e) => return Answer::from(Err(e)),
        };
        let (trails, digests) = (Arc::clone(&self.trails), Arc::clone(&self.digests));
        let (account, region) = (ctx.account.to_owned(), ctx.region.to_owned());
        let stop = move || {
            let caller = Caller {
                account: &account,
                region: &region,
            };
            match trails.stop_logging(caller, &name) {
                Ok((t, true)) if t.log_file_validation => {
                    if let Err(e) = digests.final_digest(&t.arn()) {
                        tracing::warn!(trail = %t.arn(), error = %e, "final digest on StopLogging failed");
                    }
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(trail = %name, error = %e, "StopLogging after its record failed"),
            }
        };
        Answer {
            result: Ok(json!({})),
            after_record: Some(Box::new(stop)),
            sharing: crate::seams::Sharing::default(),
        }
    }

    fn put_event_selectors(&self, caller: Caller<'_>, input: &In<'_>) -> Result<Value, ServiceError> {
        let name = trail_name(input, "TrailName")?;
        let basic: Option<Vec<EventSelector>> = input.typed("EventSelectors", "list of event selectors")?;
        let advanced: Option<Vec<AdvancedEventSelector>> =
            input.typed("AdvancedEventSelectors", "list of advanced event selectors")?;
        let t = self
            .trails
            .put_event_selectors(caller, &name, basic, advanced)
            .map_err(trail_err)?;
        Ok(selectors_json(&t))
    }

    fn get_event_selectors(&self, caller: Caller<'_>, input: &In<'_>) -> Result<Value, ServiceError> {
        let name = trail_name(input, "TrailName")?;
        let t = self.trails.get(caller, &name).map_err(trail_err)?;
        Ok(selectors_json(&t))
    }

    fn add_tags(&self, caller: Caller<'_>, input: &In<'_>, remove: bool) -> Result<Value, ServiceError> {
        let arn = required(input.str("ResourceId")?, || {
            TrailError::CloudTrailArnInvalid("ResourceId is required.".to_owned())
        })?;
        let list = tags(input, "TagsList")?;
        if remove {
            self.trails.remove_tags(caller, arn, &list).map_err(trail_err)?;
        } else {
            self.trails.add_tags(caller, arn, &list).map_err(trail_err)?;
        }
        Ok(json!({}))
    }

    fn list_tags(&self, caller: Caller<'_>, input: &In<'_>) -> Result<Value, ServiceError> {
        let arns = input.strings("ResourceIdList")?.unwrap_or_default();
        let tags = self.trails.list_tags(caller, &arns).map_err(trail_err)?;
        Ok(json!({
            "ResourceTagList": tags.into_iter().map(|(arn, tags)| json!({"ResourceId": arn, "TagsList": tags})).collect::<Vec<_>>()
        }))
    }

    fn list_public_keys(&self, ctx: &CallContext<'_>, input: &In<'_>) -> Result<Value, ServiceError> {
        if input.str("NextToken")?.is_some() {
            return Err(ServiceError::client(
                "InvalidTokenException",
                "Invalid NextToken: this API returns one page.",
            ));
        }
        let start = input.time("StartTime")?.unwrap_or(ctx.now);
        let end = input.time("EndTime")?.unwrap_or(ctx.now);
        if start > end {
            return Err(ServiceError::client(
                "InvalidTimeRangeException",
                "Start time must be before end time.",
            ));
        }
        let keys = self
            .keys
            .list_public_keys(ctx.region, start, end)
            .map_err(|e| ServiceError::server("InternalFailure", e.to_string()))?;
        Ok(json!({
            "PublicKeyList": keys.iter().map(|k| json!({
                "Value": base64::engine::general_purpose::STANDARD.encode(&k.value_der_pkcs1),
                "ValidityStartTime": epoch_of(k.validity_start),
                "ValidityEndTime": epoch_of(k.validity_end),
                "Fingerprint": k.fingerprint_md5_hex,
            })).collect::<Vec<_>>()
        }))
    }

    fn lookup_events(&self, ctx: &CallContext<'_>, input: &In<'_>) -> Result<Value, ServiceError> {
        self.throttle
            .check(ctx.account, ctx.region)
            .map_err(history_err)?;
        let mut attributes = Vec::new();
        for a in input
            .list("LookupAttributes")?
            .map(Vec::as_slice)
            .unwrap_or_default()
        {
            let m = In::new(a);
            let (Some(k), Some(v)) = (m.str("AttributeKey")?, m.str("AttributeValue")?) else {
                return Err(history_err(HistoryError::InvalidLookupAttributes(
                    "Each lookup attribute needs an AttributeKey and an AttributeValue.".to_owned(),
                )));
            };
            attributes.push((k.to_owned(), v.to_owned()));
        }
        let req = LookupRequest {
            attributes,
            start: input.time("StartTime")?,
            end: input.time("EndTime")?,
            category: input.str("EventCategory")?.map(str::to_owned),
            max_results: input.int("MaxResults")?,
            next_token: input.str("NextToken")?.map(str::to_owned),
        };
        let page = self
            .history
            .lookup(ctx.account, ctx.region, &req)
            .map_err(history_err)?;
        let events: Vec<Value> = page
            .events
            .into_iter()
            .map(|e| {
                let mut m = Map::new();
                m.insert("EventId".into(), json!(e.event_id));
                m.insert("EventName".into(), json!(e.event_name));
                m.insert("ReadOnly".into(), json!(e.read_only));
                if let Some(k) = e.access_key_id {
                    m.insert("AccessKeyId".into(), json!(k));
                }
                m.insert("EventTime".into(), epoch(e.event_time));
                m.insert("EventSource".into(), json!(e.event_source));
                if let Some(u) = e.username {
                    m.insert("Username".into(), json!(u));
                }
                let resources: Vec<Value> = e
                    .resources
                    .into_iter()
                    .map(|(t, n)| {
                        let mut r = Map::new();
                        if let Some(t) = t {
                            r.insert("ResourceType".into(), json!(t));
                        }
                        if let Some(n) = n {
                            r.insert("ResourceName".into(), json!(n));
                        }
                        Value::Object(r)
                    })
                    .collect();
                m.insert("Resources".into(), Value::Array(resources));
                m.insert("CloudTrailEvent".into(), json!(e.cloud_trail_event));
                Value::Object(m)
            })
            .collect();
        let mut out = Map::new();
        out.insert("Events".into(), Value::Array(events));
        if let Some(t) = page.next_token {
            out.insert("NextToken".into(), json!(t));
        }
        Ok(Value::Object(out))
    }

    fn dispatch(&self, ctx: &CallContext<'_>, op: &str, input: &Value) -> Result<Value, ServiceError> {
        let caller = Caller {
            account: ctx.account,
            region: ctx.region,
        };
        let input = In::new(input);
        match op {
            "CreateTrail" => self.create_trail(caller, &input),
            "UpdateTrail" => self.update_trail(caller, &input),
            "DeleteTrail" => self.delete_trail(caller, &input),
            "GetTrail" => self.get_trail(caller, &input),
            "DescribeTrails" => self.describe_trails(caller, &input),
            "ListTrails" => self.list_trails(caller, &input),
            "GetTrailStatus" => self.get_trail_status(caller, &input),
            "StartLogging" => self.start_logging(caller, &input),
            "PutEventSelectors" => self.put_event_selectors(caller, &input),
            "GetEventSelectors" => self.get_event_selectors(caller, &input),
            "AddTags" => self.add_tags(caller, &input, false),
            "RemoveTags" => self.add_tags(caller, &input, true),
            "ListTags" => self.list_tags(caller, &input),
            "ListPublicKeys" => self.list_public_keys(ctx, &input),
            "LookupEvents" => self.lookup_events(ctx, &input),
            other => Err(ServiceError::client(
                "UnsupportedOperationException",
                format!("{other} is not implemented by this emulator."),
            )),
        }
    }
}

/// The console's Trails view reads the same code the API runs.
impl crate::seams::TrailsView for CloudTrailApi {
    fn overview(&self, account: &str, region: &str) -> Result<Vec<Value>, ServiceError> {
        let caller = Caller { account, region };
        let list = self.trails.describe(caller, None, true).map_err(trail_err)?;
        list.iter()
            .map(|t| {
                let by_arn = json!({"Name": t.arn(), "TrailName": t.arn()});
                let named = In::new(&by_arn);
                Ok(json!({
                    "trail": trail_json(t),
                    "status": self.get_trail_status(caller, &named)?,
                    "selectors": self.get_event_selectors(caller, &named)?,
                    "bucket": t.bucket,
                    "prefix": t.prefix,
                    "store": t.store,
                }))
            })
            .collect()
    }
}

impl Service for CloudTrailApi {
    fn target_prefixes(&self) -> &'static [&'static str] {
        // The Smithy-based SDKs send the bare shape name.
        &[TARGET_PREFIX, "CloudTrail_20131101"]
    }

    fn signing_name(&self) -> &'static str {
        "cloudtrail"
    }

    fn event_source(&self) -> &'static str {
        EVENT_SOURCE
    }

    fn by_target(&self, name: &str) -> Option<OperationInfo> {
        let name = *ALL_OPERATIONS.iter().find(|o| **o == name)?;
        Some(OperationInfo::management(
            name,
            cloudtrail::rules::reads_by_name(name),
        ))
    }

    fn call<'a>(&'a self, ctx: &'a CallContext<'a>, operation: OperationInfo, input: &'a Value) -> Reply<'a> {
        // Trail changes write one small file; the work is short enough for the request task.
        let answer = match operation.name {
            "StopLogging" => self.stop_logging(ctx, input),
            name => Answer::from(self.dispatch(ctx, name, input)),
        };
        Box::pin(std::future::ready(answer))
    }

    fn is_timestamp_member(&self, name: &str) -> bool {
        TIMESTAMP_MEMBERS.contains(&name)
    }

    fn member_case(&self) -> cloudtrail::rules::MemberCase {
        cloudtrail::rules::MemberCase::LowerCamel(&[])
    }

    /// CloudTrail records `DescribeTrails` with the defaults the caller left out.
    fn redact(&self, operation: OperationInfo, input: Value) -> Value {
        cloudtrail::rules::cloudtrail_api_request(operation.name, input)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn served_operations_are_model_operations_and_read_only_follows_the_verb() {
        for op in SERVED_OPERATIONS {
            assert!(ALL_OPERATIONS.contains(op), "{op}");
        }
        let mut sorted = ALL_OPERATIONS.to_vec();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), ALL_OPERATIONS.len());
    }

    /// `docs/compatibility.md`'s CloudTrail table has one row per model operation, and its
    /// state column says what the code does.
    #[test]
    fn compatibility_table_matches_the_code() {
        let rows: BTreeMap<String, String> = crate::testing::compatibility_rows("cloudtrail-operations")
            .into_iter()
            .collect();
        let mut problems = Vec::new();
        for op in ALL_OPERATIONS {
            let want = if SERVED_OPERATIONS.contains(op) {
                "implemented"
            } else {
                "not implemented"
            };
            match rows.get(*op) {
                None => problems.push(format!("{op} has no row")),
                Some(state) if state != want => {
                    problems.push(format!("{op}: table says {state}, code says {want}"))
                }
                Some(_) => {}
            }
        }
        for op in rows.keys() {
            if !ALL_OPERATIONS.contains(&op.as_str()) {
                problems.push(format!("{op} is not a CloudTrail operation"));
            }
        }
        assert!(problems.is_empty(), "{}", problems.join("\n"));
    }
}
