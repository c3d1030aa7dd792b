//! The shapes of the CloudTrail API's answers: trails, selectors and times as the API writes them.

use cloudtrail::digest::DigestTrail;
use cloudtrail::trails::{Selectors, Trail};
use serde_json::{Map, Value, json};
use time::OffsetDateTime;

pub(super) fn epoch(secs: i64) -> Value {
    json!(secs)
}

pub(super) fn epoch_of(t: OffsetDateTime) -> Value {
    json!(t.unix_timestamp())
}

pub(super) fn iso(t: OffsetDateTime) -> String {
    cloudtrail::timefmt::iso_seconds(t)
}

pub(super) fn topic_name(t: &Trail) -> Option<String> {
    t.sns_topic_name.as_deref().map(|s| {
        if s.starts_with("arn:") {
            s.rsplit(':').next().unwrap_or(s).to_owned()
        } else {
            s.to_owned()
        }
    })
}

/// The `Trail` structure (GetTrail, DescribeTrails).
pub(super) fn trail_json(t: &Trail) -> Value {
    let mut m = Map::new();
    m.insert("Name".into(), json!(t.name));
    m.insert("S3BucketName".into(), json!(t.bucket));
    if let Some(p) = &t.prefix {
        m.insert("S3KeyPrefix".into(), json!(p));
    }
    if let Some(n) = topic_name(t) {
        m.insert("SnsTopicName".into(), json!(n));
    }
    if let Some(a) = t.sns_topic_arn() {
        m.insert("SnsTopicARN".into(), json!(a));
    }
    m.insert(
        "IncludeGlobalServiceEvents".into(),
        json!(t.include_global_service_events),
    );
    m.insert("IsMultiRegionTrail".into(), json!(t.multi_region));
    m.insert("HomeRegion".into(), json!(t.home_region));
    m.insert("TrailARN".into(), json!(t.arn()));
    m.insert("LogFileValidationEnabled".into(), json!(t.log_file_validation));
    if let Some(g) = &t.cloud_watch_logs_log_group_arn {
        m.insert("CloudWatchLogsLogGroupArn".into(), json!(g));
    }
    if let Some(r) = &t.cloud_watch_logs_role_arn {
        m.insert("CloudWatchLogsRoleArn".into(), json!(r));
    }
    if let Some(k) = &t.kms_key_id {
        m.insert("KmsKeyId".into(), json!(k));
    }
    m.insert("HasCustomEventSelectors".into(), json!(t.has_custom_selectors));
    m.insert("HasInsightSelectors".into(), json!(false));
    m.insert("IsOrganizationTrail".into(), json!(t.organization.is_some()));
    Value::Object(m)
}

/// The CreateTrail / UpdateTrail response: the trail without HomeRegion and selector flags.
pub(super) fn trail_response(t: &Trail) -> Value {
    let mut v = trail_json(t);
    if let Some(m) = v.as_object_mut() {
        m.remove("HomeRegion");
        m.remove("HasCustomEventSelectors");
        m.remove("HasInsightSelectors");
    }
    v
}

pub(super) fn selectors_json(t: &Trail) -> Value {
    match &t.selectors {
        Selectors::Basic(b) => json!({ "TrailARN": t.arn(), "EventSelectors": b }),
        Selectors::Advanced(a) => json!({ "TrailARN": t.arn(), "AdvancedEventSelectors": a }),
    }
}

pub(super) fn digest_trail(t: &Trail) -> DigestTrail {
    DigestTrail {
        arn: t.arn(),
        bucket: t.bucket.clone(),
        prefix: t.prefix.clone(),
        org_id: t.organization.clone(),
    }
}
