//! The CloudTrail API with aws-sdk-cloudtrail and the AWS CLI: trail CRUD, status, selectors,
//! tags, public keys, routing (StopLogging, single-Region trails), Event history through
//! `lookup-events` with every attribute key across pages, throttling, and delivery to a real
//! S3-compatible server (moto).

mod lookup;
mod s3_delivery;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use aws_sdk_cloudtrail::types::{
    AdvancedEventSelector, AdvancedFieldSelector, EventSelector, LookupAttribute, LookupAttributeKey,
    ReadWriteType, Tag,
};
use aws_smithy_async::time::TimeSource;
use client_tests::python::{Moto, Venv};
use client_tests::{ACCOUNT, ALICE, Creds, Emulator, Options, ROOT, SESSION};
use cloudtrail::{Clock, ManualClock};
use emulator::config::FileConfig;
use serde_json::Value;

#[derive(Debug, Clone)]
struct EmulatorTime(Arc<ManualClock>);

impl TimeSource for EmulatorTime {
    fn now(&self) -> SystemTime {
        SystemTime::from(self.0.now())
    }
}

/// An aws-sdk-cloudtrail client for the emulator, one attempt per call.
pub(crate) fn cloudtrail(emu: &Emulator, creds: Creds, region: &str) -> aws_sdk_cloudtrail::Client {
    cloudtrail_at(emu.endpoint(), emu.clock(), creds, region)
}

/// An aws-sdk-cloudtrail client for any endpoint signing with `clock`.
fn cloudtrail_at(
    endpoint: &str,
    clock: &Arc<ManualClock>,
    creds: Creds,
    region: &str,
) -> aws_sdk_cloudtrail::Client {
    use aws_sdk_cloudtrail::config::{BehaviorVersion, Region, retry::RetryConfig};
    let conf = aws_sdk_cloudtrail::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(region.to_owned()))
        .credentials_provider(creds.sdk())
        .endpoint_url(endpoint)
        .http_client(aws_smithy_http_client::Builder::new().build_http())
        .time_source(EmulatorTime(clock.clone()))
        .retry_config(RetryConfig::disabled())
        .build();
    aws_sdk_cloudtrail::Client::from_conf(conf)
}

/// Adds TOML tables (`[cloudtrail]`, `[[trails]]`, `[object_stores.x]`) to the file config.
fn with_toml(file: &mut FileConfig, toml: &str) {
    let extra = FileConfig::parse(toml).expect("test TOML parses").extra;
    file.extra.extend(extra);
}

fn code<E: aws_sdk_cloudtrail::error::ProvideErrorMetadata>(e: &E) -> String {
    e.code().unwrap_or_default().to_owned()
}

fn sdk_code<E, R>(r: Result<impl Sized, aws_sdk_cloudtrail::error::SdkError<E, R>>) -> String
where
    E: aws_sdk_cloudtrail::error::ProvideErrorMetadata + std::fmt::Debug,
    R: std::fmt::Debug,
{
    match r {
        Ok(_) => "no error".to_owned(),
        Err(e) => e.as_service_error().map(code).unwrap_or_else(|| format!("{e:?}")),
    }
}

/// Every record delivered into one bucket (log files only, not digests).
fn bucket_records(data_dir: &Path, bucket: &str) -> Vec<Value> {
    let mut out = Vec::new();
    for p in cloudtrail::logfile::log_files_under(&data_dir.join(bucket)) {
        let body = cloudtrail::logfile::gunzip(&std::fs::read(&p).unwrap()).unwrap();
        let v: Value = serde_json::from_slice(&body).unwrap();
        out.extend(v["Records"].as_array().cloned().unwrap_or_default());
    }
    out
}

#[tokio::test]
async fn trail_crud_status_selectors_tags_and_keys() {
    let emu = Emulator::start().await;
    let ct = cloudtrail(&emu, ALICE, "us-east-1");

    // Out of the box: one multi-Region trail with validation, logging the demo account.
    let d = ct.describe_trails().send().await.unwrap();
    let builtin = &d.trail_list()[0];
    assert_eq!(d.trail_list().len(), 1);
    assert_eq!(builtin.name(), Some("management-events"));
    assert_eq!(builtin.s3_bucket_name(), Some("aws-cloudtrail-logs-123456789012"));
    assert_eq!(builtin.is_multi_region_trail(), Some(true));
    assert_eq!(builtin.log_file_validation_enabled(), Some(true));
    assert_eq!(builtin.home_region(), Some("us-east-1"));
    let status = ct
        .get_trail_status()
        .name("management-events")
        .send()
        .await
        .unwrap();
    assert_eq!(status.is_logging(), Some(true));
    // It is a shadow trail in other Regions.
    let west = cloudtrail(&emu, ALICE, "eu-west-1");
    assert_eq!(west.describe_trails().send().await.unwrap().trail_list().len(), 1);
    assert_eq!(
        west.describe_trails()
            .include_shadow_trails(false)
            .send()
            .await
            .unwrap()
            .trail_list()
            .len(),
        0
    );

    let created = ct
        .create_trail()
        .name("audit-trail")
        .s3_bucket_name("audit-bucket")
        .s3_key_prefix("team/a")
        .sns_topic_name("audit-topic")
        .tags_list(Tag::builder().key("team").value("a").build().unwrap())
        .send()
        .await
        .unwrap();
    let arn = "arn:aws:cloudtrail:us-east-1:123456789012:trail/audit-trail";
    assert_eq!(created.trail_arn(), Some(arn));
    assert_eq!(
        created.sns_topic_arn(),
        Some("arn:aws:sns:us-east-1:123456789012:audit-topic")
    );
    assert_eq!(created.is_multi_region_trail(), Some(false));
    assert_eq!(
        sdk_code(
            ct.create_trail()
                .name("audit-trail")
                .s3_bucket_name("audit-bucket")
                .send()
                .await
        ),
        "TrailAlreadyExistsException"
    );
    assert_eq!(
        sdk_code(
            ct.create_trail()
                .name("x")
                .s3_bucket_name("audit-bucket")
                .send()
                .await
        ),
        "InvalidTrailNameException"
    );
    assert_eq!(
        sdk_code(
            ct.create_trail()
                .name("bad-bucket")
                .s3_bucket_name("Bad_Bucket")
                .send()
                .await
        ),
        "InvalidS3BucketNameException"
    );
    // Attaching a topic publishes CloudTrail's validation message.
    let notes = std::fs::read_to_string(emu.data_dir().join("notifications.log")).unwrap();
    let validation: Vec<Value> = notes
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|n| n["TopicArn"] == "arn:aws:sns:us-east-1:123456789012:audit-topic")
        .collect();
    assert_eq!(validation.len(), 1);
    assert_eq!(validation[0]["Message"], "CloudTrail validation message.");
    assert_eq!(validation[0]["Type"], "Notification");

    let got = ct.get_trail().name(arn).send().await.unwrap();
    let t = got.trail().unwrap();
    assert_eq!(t.s3_key_prefix(), Some("team/a"));
    assert_eq!(t.has_custom_event_selectors(), Some(false));
    let listed = ct.list_trails().send().await.unwrap();
    let names: Vec<&str> = listed.trails().iter().filter_map(|t| t.name()).collect();
    assert_eq!(names, ["audit-trail", "management-events"]);

    let s = ct.get_trail_status().name("audit-trail").send().await.unwrap();
    assert_eq!(s.is_logging(), Some(false));
    assert!(s.start_logging_time().is_none());
    ct.start_logging().name("audit-trail").send().await.unwrap();
    let s = ct.get_trail_status().name("audit-trail").send().await.unwrap();
    assert_eq!(s.is_logging(), Some(true));
    assert_eq!(
        s.start_logging_time().map(|t| t.secs()),
        Some(emu.now().unix_timestamp())
    );
    assert!(s.time_logging_started().is_some());
    assert_eq!(
        sdk_code(west.start_logging().name(arn).send().await),
        "TrailNotFoundException",
        "a single-Region trail is invisible elsewhere"
    );

    // Default selectors, then basic, then advanced.
    let sel = ct
        .get_event_selectors()
        .trail_name("audit-trail")
        .send()
        .await
        .unwrap();
    let es = &sel.event_selectors()[0];
    assert_eq!(es.read_write_type(), Some(&ReadWriteType::All));
    assert_eq!(es.include_management_events(), Some(true));
    ct.put_event_selectors()
        .trail_name("audit-trail")
        .event_selectors(
            EventSelector::builder()
                .read_write_type(ReadWriteType::WriteOnly)
                .include_management_events(true)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let sel = ct
        .get_event_selectors()
        .trail_name("audit-trail")
        .send()
        .await
        .unwrap();
    assert_eq!(
        sel.event_selectors()[0].read_write_type(),
        Some(&ReadWriteType::WriteOnly)
    );
    assert!(sel.advanced_event_selectors().is_empty());
    let eq = |field: &str, value: &str| {
        AdvancedFieldSelector::builder()
            .field(field)
            .equals(value)
            .build()
            .unwrap()
    };
    ct.put_event_selectors()
        .trail_name(arn)
        .advanced_event_selectors(
            AdvancedEventSelector::builder()
                .name("recommendations")
                .field_selectors(eq("eventCategory", "Data"))
                .field_selectors(eq("resources.type", "AWS::Personalize::Campaign"))
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let sel = ct
        .get_event_selectors()
        .trail_name("audit-trail")
        .send()
        .await
        .unwrap();
    assert!(sel.event_selectors().is_empty());
    let adv = &sel.advanced_event_selectors()[0];
    assert_eq!(adv.name(), Some("recommendations"));
    assert_eq!(adv.field_selectors()[1].equals(), ["AWS::Personalize::Campaign"]);
    assert_eq!(
        ct.get_trail()
            .name("audit-trail")
            .send()
            .await
            .unwrap()
            .trail()
            .unwrap()
            .has_custom_event_selectors(),
        Some(true)
    );
    assert_eq!(
        sdk_code(
            ct.put_event_selectors()
                .trail_name("audit-trail")
                .advanced_event_selectors(
                    AdvancedEventSelector::builder()
                        .field_selectors(eq("eventCategory", "Data"))
                        .build()
                        .unwrap()
                )
                .send()
                .await
        ),
        "InvalidEventSelectorsException"
    );
    assert_eq!(
        sdk_code(ct.put_event_selectors().trail_name("audit-trail").send().await),
        "InvalidParameterCombinationException"
    );

    // Tags.
    ct.add_tags()
        .resource_id(arn)
        .tags_list(Tag::builder().key("env").value("test").build().unwrap())
        .send()
        .await
        .unwrap();
    ct.remove_tags()
        .resource_id(arn)
        .tags_list(Tag::builder().key("team").build().unwrap())
        .send()
        .await
        .unwrap();
    let tags = ct.list_tags().resource_id_list(arn).send().await.unwrap();
    let tl = tags.resource_tag_list()[0].tags_list();
    assert_eq!(tl.len(), 1);
    assert_eq!((tl[0].key(), tl[0].value()), ("env", Some("test")));
    assert_eq!(
        sdk_code(ct.add_tags().resource_id("audit-trail").send().await),
        "CloudTrailARNInvalidException"
    );

    // Update, then delete.
    let u = ct
        .update_trail()
        .name("audit-trail")
        .s3_key_prefix("team/b")
        .send()
        .await
        .unwrap();
    assert_eq!(u.s3_key_prefix(), Some("team/b"));
    assert_eq!(
        sdk_code(west.delete_trail().name("management-events").send().await),
        "InvalidHomeRegionException"
    );
    ct.delete_trail().name("audit-trail").send().await.unwrap();
    assert_eq!(
        sdk_code(ct.get_trail().name("audit-trail").send().await),
        "TrailNotFoundException"
    );

    // Public keys of the Region (the built-in trail signs digests with it).
    let keys = ct.list_public_keys().send().await.unwrap();
    let k = &keys.public_key_list()[0];
    assert_eq!(k.fingerprint().map(str::len), Some(32));
    assert!(k.value().map(|b| b.as_ref().len()).unwrap_or(0) > 256);
    assert!(k.validity_start_time().unwrap().secs() <= emu.now().unix_timestamp());

    // Operations outside trails and Event history answer a clear error.
    let r = ct.create_event_data_store().name("eds").send().await;
    assert_eq!(sdk_code(r), "UnsupportedOperationException");

    // The CloudTrail calls themselves are recorded, with readOnly as AWS has it.
    emu.flush().await;
    let records = bucket_records(emu.data_dir(), "aws-cloudtrail-logs-123456789012");
    let ct_records: Vec<&Value> = records
        .iter()
        .filter(|r| r["eventSource"] == "cloudtrail.amazonaws.com")
        .collect();
    // The first successful call of each name (files do not keep call order).
    let by_name = |n: &str| {
        ct_records
            .iter()
            .find(|r| r["eventName"] == n && r["errorCode"].is_null())
            .copied()
            .unwrap()
    };
    assert_eq!(by_name("CreateTrail")["readOnly"], false);
    assert_eq!(
        by_name("CreateTrail")["responseElements"]["trailARN"].as_str(),
        Some(arn)
    );
    assert_eq!(by_name("CreateTrail")["requestParameters"]["name"], "audit-trail");
    let failed: Vec<&&Value> = ct_records
        .iter()
        .filter(|r| r["eventName"] == "CreateTrail" && !r["errorCode"].is_null())
        .collect();
    assert_eq!(failed.len(), 3);
    assert!(failed.iter().all(|r| r["responseElements"].is_null()));
    assert_eq!(by_name("DescribeTrails")["readOnly"], true);
    assert_eq!(by_name("GetEventSelectors")["readOnly"], true);
    let eds = ct_records
        .iter()
        .find(|r| r["eventName"] == "CreateEventDataStore")
        .unwrap();
    assert_eq!(eds["errorCode"], "UnsupportedOperationException");
}

#[tokio::test]
async fn stop_logging_stops_delivery_and_single_region_trails_get_their_region_only() {
    let emu = Emulator::start().await;
    let ct = cloudtrail(&emu, ALICE, "us-east-1");
    ct.create_trail()
        .name("east-only")
        .s3_bucket_name("east-only-bucket")
        .sns_topic_name("east-topic")
        .send()
        .await
        .unwrap();
    ct.start_logging().name("east-only").send().await.unwrap();
    let east = emu.personalize(ALICE);
    let west = emu.personalize_with(
        ALICE,
        &client_tests::ClientOptions {
            region: "eu-west-1".to_owned(),
            ..Default::default()
        },
    );
    east.list_dataset_groups().send().await.unwrap();
    west.list_dataset_groups().send().await.unwrap();
    west.list_schemas().send().await.unwrap();
    emu.flush().await;

    let mine = bucket_records(emu.data_dir(), "east-only-bucket");
    assert!(!mine.is_empty());
    assert!(mine.iter().all(|r| r["awsRegion"] == "us-east-1"), "{mine:?}");
    assert_eq!(
        mine.iter()
            .filter(|r| r["eventName"] == "ListDatasetGroups")
            .count(),
        1
    );
    let all = bucket_records(emu.data_dir(), "aws-cloudtrail-logs-123456789012");
    assert_eq!(
        all.iter()
            .filter(|r| r["eventName"] == "ListDatasetGroups")
            .count(),
        2
    );
    assert!(all.iter().any(|r| r["awsRegion"] == "eu-west-1"));

    // Status reflects the delivery and its notification.
    let s = ct.get_trail_status().name("east-only").send().await.unwrap();
    assert!(s.latest_delivery_time().is_some());
    assert!(s.latest_notification_time().is_some());
    assert!(s.latest_delivery_error().is_none());
    let notes = std::fs::read_to_string(emu.data_dir().join("notifications.log")).unwrap();
    let files: Vec<Value> = notes
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|n| n["TopicArn"] == "arn:aws:sns:us-east-1:123456789012:east-topic")
        .filter_map(|n| serde_json::from_str::<Value>(n["Message"].as_str().unwrap()).ok())
        .collect();
    assert!(!files.is_empty());
    assert!(
        files
            .iter()
            .all(|m| m["s3Bucket"] == "east-only-bucket" && m["s3ObjectKey"].is_array())
    );

    ct.stop_logging().name("east-only").send().await.unwrap();
    let s = ct.get_trail_status().name("east-only").send().await.unwrap();
    assert_eq!(s.is_logging(), Some(false));
    assert!(s.stop_logging_time().is_some());
    let before = bucket_records(emu.data_dir(), "east-only-bucket").len();
    east.list_dataset_groups().send().await.unwrap();
    east.list_schemas().send().await.unwrap();
    emu.flush().await;
    let after = bucket_records(emu.data_dir(), "east-only-bucket");
    // Only records accepted before the stop (the GetTrailStatus and StopLogging calls race
    // nothing: the stop is effective for every later record).
    assert_eq!(
        after.iter().filter(|r| r["eventName"] == "ListSchemas").count(),
        0,
        "a stopped trail delivers nothing"
    );
    assert!(after.len() >= before);
    let all = bucket_records(emu.data_dir(), "aws-cloudtrail-logs-123456789012");
    assert_eq!(
        all.iter()
            .filter(|r| r["eventName"] == "ListDatasetGroups")
            .count(),
        3
    );
}

/// The emulator knows every operation of the installed botocore CloudTrail model, and serves
/// the trail and Event history ones.
#[test]
fn every_model_operation_is_known() {
    let model = Venv::locate().botocore_model("cloudtrail", "service-2");
    let mut ops: Vec<&str> = model["operations"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    ops.sort_unstable();
    let mut ours = emulator::cloudtrail_api::ALL_OPERATIONS.to_vec();
    ours.sort_unstable();
    assert_eq!(
        ours, ops,
        "emulator::cloudtrail_api::ALL_OPERATIONS differs from botocore's model"
    );
    assert_eq!(
        model["metadata"]["targetPrefix"],
        emulator::cloudtrail_api::TARGET_PREFIX
    );
}

/// Runs an emulator on `dir` until the returned sender fires; answers its endpoint.
async fn run_on(
    dir: &Path,
    clock: Arc<ManualClock>,
) -> (
    String,
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<Result<(), emulator::ServerError>>,
) {
    let mut file = FileConfig::embedded_default();
    file.server.data_dir = dir.to_owned();
    file.server.flush_interval = Duration::from_secs(3600);
    let config = emulator::Config::new(file).with_clock(clock);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let handle = tokio::spawn(emulator::run(listener, config, async move {
        let _ = rx.await;
    }));
    (endpoint, tx, handle)
}

#[tokio::test]
async fn trails_and_event_history_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let now = time::OffsetDateTime::now_utc();
    let clock = ManualClock::new(now.replace_nanosecond(0).unwrap_or(now));
    let (endpoint, stop, handle) = run_on(dir.path(), clock.clone()).await;
    let ct = cloudtrail_at(&endpoint, &clock, ALICE, "us-east-1");
    // The first call may race the server's start-up: retry briefly.
    let mut created = None;
    for _ in 0..100 {
        match ct
            .create_trail()
            .name("kept-trail")
            .s3_bucket_name("kept-bucket")
            .send()
            .await
        {
            Ok(c) => {
                created = Some(c);
                break;
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
        }
    }
    assert!(created.is_some());
    ct.start_logging().name("kept-trail").send().await.unwrap();
    ct.stop_logging().name("management-events").send().await.unwrap();
    clock.advance(Duration::from_secs(1));
    let before = ct.lookup_events().send().await.unwrap();
    let names: Vec<&str> = before.events().iter().filter_map(|e| e.event_name()).collect();
    assert_eq!(names, ["StopLogging", "StartLogging", "CreateTrail"]);
    stop.send(()).unwrap();
    handle.await.unwrap().unwrap();

    clock.advance(Duration::from_secs(1));
    let (endpoint, stop, handle) = run_on(dir.path(), clock.clone()).await;
    let ct = cloudtrail_at(&endpoint, &clock, ALICE, "us-east-1");
    let mut trails = None;
    for _ in 0..100 {
        match ct.describe_trails().send().await {
            Ok(t) => {
                trails = Some(t);
                break;
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
        }
    }
    let trails = trails.unwrap();
    let mut names: Vec<&str> = trails.trail_list().iter().filter_map(|t| t.name()).collect();
    names.sort_unstable();
    assert_eq!(names, ["kept-trail", "management-events"]);
    assert_eq!(
        ct.get_trail_status()
            .name("kept-trail")
            .send()
            .await
            .unwrap()
            .is_logging(),
        Some(true)
    );
    assert_eq!(
        ct.get_trail_status()
            .name("management-events")
            .send()
            .await
            .unwrap()
            .is_logging(),
        Some(false),
        "a declared trail stopped through the API stays stopped"
    );
    clock.advance(Duration::from_secs(1));
    let after = ct.lookup_events().send().await.unwrap();
    let names: Vec<&str> = after.events().iter().filter_map(|e| e.event_name()).collect();
    // Everything from before the restart is still there, behind the calls made since.
    assert_eq!(
        names,
        [
            "GetTrailStatus",
            "GetTrailStatus",
            "DescribeTrails",
            "LookupEvents",
            "StopLogging",
            "StartLogging",
            "CreateTrail"
        ]
    );
    stop.send(()).unwrap();
    handle.await.unwrap().unwrap();
}
