//! Assembly of the CloudTrail side of the server: the config sections (`[cloudtrail]`,
//! `[[trails]]`, `[[organizations]]`, `[object_stores.NAME]`), the trail registry and its
//! router, Event history and its record tap, region keys and digests, per-trail notifications,
//! and the object store each trail delivers to.
//!
//! State lives under `<data-dir>/.cloudtrail/` (a name no bucket can have): `trails.json`,
//! `history/`, `keys/`, `digests/`.

use std::collections::{BTreeMap, HashMap};
use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use base64::Engine as _;
use cloudtrail::delivery::{Delivery, DeliveryObserver, Destination, Router};
use cloudtrail::digest::{DEFAULT_DIGEST_PERIOD, DigestTrail, Digests};
use cloudtrail::history::{History, LookupThrottle};
use cloudtrail::keys::{DEFAULT_KEY_VALIDITY, KeyRing};
use cloudtrail::logfile::WrittenLog;
use cloudtrail::notify::{NOTIFICATIONS_LOG, Notification, NotificationLog, NotificationSink};
use cloudtrail::trails::{
    DataResourceTypes, Organization, Selectors, Tag, Trail, TrailSpec, Trails, default_trail_spec,
    every_event_selectors,
};
use cloudtrail::{
    EventCategory, LocalDir, ObjectMeta, ObjectStore, PutObject, Record, Resource, SharedClock, StoreError,
};
use serde::Deserialize;
use sha2::{Digest as _, Sha256};
use time::OffsetDateTime;

use super::CloudTrailApi;
use crate::config::{Config, parse_duration};
use crate::s3_store::{S3Store, S3StoreConfig};
use crate::seams::{RecordTap, Service};

/// The folder under the data directory holding CloudTrail's own state.
pub const STATE_DIR: &str = ".cloudtrail";
/// The store name that always means the local data directory.
pub const LOCAL_STORE: &str = "local";
/// The account whose events the built-in trail delivers.
pub const DEMO_ACCOUNT: &str = "123456789012";
/// The built-in trail's home Region.
pub const DEFAULT_HOME_REGION: &str = "us-east-1";

/// The data-event resource types of the services the emulator serves, as advanced selectors
/// name them in `resources.type`: Personalize Events calls (`PutEvents`,
/// `PutActionInteractions`) act on an event tracker, `PutItems`/`PutUsers`/`PutActions` on a
/// dataset, and Personalize Runtime calls on a campaign or a recommender.
pub const DATA_RESOURCE_TYPES: &[&str] = personalize::audit::DATA_RESOURCE_TYPES;

/// [`DATA_RESOURCE_TYPES`] as the trail registry takes them.
pub fn data_resource_types() -> DataResourceTypes {
    DataResourceTypes::new(DATA_RESOURCE_TYPES.iter().copied())
}

/// Why the CloudTrail side could not start.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    /// A config section is malformed or inconsistent.
    #[error("invalid CloudTrail config: {0}")]
    Config(String),
    /// Trail state could not be loaded or a declared trail is invalid.
    #[error("trails: {0}")]
    Trails(#[from] cloudtrail::trails::TrailError),
    /// Event history could not be opened.
    #[error("event history: {0}")]
    History(#[from] cloudtrail::history::HistoryError),
    /// Keys could not be loaded.
    #[error("keys: {0}")]
    Keys(#[from] cloudtrail::keys::KeyError),
    /// Digest state could not be loaded.
    #[error("digests: {0}")]
    Digests(#[from] cloudtrail::digest::DigestError),
    /// An S3 store could not start.
    #[error(transparent)]
    S3(#[from] crate::s3_store::S3StoreError),
}

/// `[cloudtrail]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CloudTrailSection {
    /// `LookupEvents` requests per second per account and Region (AWS: 2); 0 disables the limit.
    pub lookup_events_rate: Option<f64>,
    /// Digest period, e.g. `1h` (AWS) or `10s` for tests.
    pub digest_period: Option<String>,
    /// How long each Region's signing key is valid before rotation, e.g. `720h`.
    pub key_validity: Option<String>,
    /// The object store every trail without its own `store` delivers to (`local` by default).
    pub default_store: Option<String>,
    /// The most bytes Event history keeps on disk (default 2 GiB); beyond it whole days go,
    /// oldest first.
    pub history_max_bytes: Option<u64>,
}

/// One `[[trails]]` entry.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrailDecl {
    /// Trail name.
    pub name: String,
    /// Owning account (default: the demo account).
    #[serde(default)]
    pub account: Option<String>,
    /// Home Region.
    #[serde(default = "default_region")]
    pub home_region: String,
    /// Bucket (default `aws-cloudtrail-logs-<account>`).
    #[serde(default)]
    pub bucket: Option<String>,
    /// Key prefix.
    #[serde(default)]
    pub prefix: Option<String>,
    /// SNS topic name or ARN.
    #[serde(default)]
    pub sns_topic: Option<String>,
    /// Default true.
    #[serde(default = "yes")]
    pub multi_region: bool,
    /// Default true.
    #[serde(default = "yes")]
    pub include_global_service_events: bool,
    /// Default true.
    #[serde(default = "yes")]
    pub log_file_validation: bool,
    /// An organization trail of the organization the account manages.
    #[serde(default)]
    pub organization: bool,
    /// Object store name (`local` or a key of `[object_stores]`).
    #[serde(default)]
    pub store: Option<String>,
    /// Tags.
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    /// Also log every Personalize data event (default true, so every call the emulator
    /// serves is in a file); false gives AWS's default of management events only.
    #[serde(default = "yes")]
    pub data_events: bool,
}

fn default_region() -> String {
    DEFAULT_HOME_REGION.to_owned()
}

fn yes() -> bool {
    true
}

/// The typed CloudTrail sections of the config file.
#[derive(Debug, Clone, Default)]
pub struct CloudTrailConfig {
    /// `[cloudtrail]`.
    pub cloudtrail: CloudTrailSection,
    /// `[[trails]]`, or `None` when absent (then the built-in trail exists).
    pub trails: Option<Vec<TrailDecl>>,
    /// `[[organizations]]`.
    pub organizations: Vec<Organization>,
    /// `[object_stores.NAME]`.
    pub object_stores: BTreeMap<String, S3StoreConfig>,
}

fn section<T: serde::de::DeserializeOwned>(config: &Config, key: &str) -> Result<Option<T>, SetupError> {
    config
        .file
        .extra
        .get(key)
        .map(|v| {
            v.clone()
                .try_into::<T>()
                .map_err(|e| SetupError::Config(format!("[{key}]: {e}")))
        })
        .transpose()
}

impl CloudTrailConfig {
    /// Reads the sections out of the file's extra tables.
    pub fn from_config(config: &Config) -> Result<Self, SetupError> {
        let c = CloudTrailConfig {
            cloudtrail: section(config, "cloudtrail")?.unwrap_or_default(),
            trails: section(config, "trails")?,
            organizations: section(config, "organizations")?.unwrap_or_default(),
            object_stores: section(config, "object_stores")?.unwrap_or_default(),
        };
        let known = |s: &str| s == LOCAL_STORE || c.object_stores.contains_key(s);
        if let Some(s) = c.cloudtrail.default_store.as_deref().filter(|s| !known(s)) {
            return Err(SetupError::Config(format!(
                "default_store {s:?} is not a key of [object_stores]"
            )));
        }
        for t in c.trails.iter().flatten() {
            if let Some(s) = t.store.as_deref().filter(|s| !known(s)) {
                return Err(SetupError::Config(format!(
                    "trail {} names store {s:?}, which is not in [object_stores]",
                    t.name
                )));
            }
        }
        for o in &c.organizations {
            let ok = o.id.len() >= 12
                && o.id.len() <= 34
                && o.id.starts_with("o-")
                && o.id
                    .bytes()
                    .skip(2)
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
            if !ok {
                return Err(SetupError::Config(format!(
                    "organization id {:?} is not o- and 10 to 32 letters or digits",
                    o.id
                )));
            }
        }
        Ok(c)
    }

    /// The declared trails as (account, home Region, spec).
    fn declared(&self, demo_account: &str) -> Vec<(String, String, TrailSpec)> {
        let data_types = data_resource_types();
        match &self.trails {
            None => {
                let mut spec = default_trail_spec(demo_account, &data_types);
                // Same topic the server announced files on before trails existed.
                spec.sns_topic_name = Some(format!("aws-cloudtrail-logs-{demo_account}"));
                vec![(demo_account.to_owned(), DEFAULT_HOME_REGION.to_owned(), spec)]
            }
            Some(list) => list
                .iter()
                .map(|d| {
                    let account = d.account.clone().unwrap_or_else(|| demo_account.to_owned());
                    let spec = TrailSpec {
                        name: d.name.clone(),
                        bucket: d
                            .bucket
                            .clone()
                            .unwrap_or_else(|| format!("aws-cloudtrail-logs-{account}")),
                        prefix: d.prefix.clone(),
                        sns_topic_name: d.sns_topic.clone(),
                        include_global_service_events: Some(d.include_global_service_events),
                        multi_region: Some(d.multi_region),
                        log_file_validation: Some(d.log_file_validation),
                        organization_trail: Some(d.organization),
                        tags: d
                            .tags
                            .iter()
                            .map(|(k, v)| Tag {
                                key: k.clone(),
                                value: Some(v.clone()),
                            })
                            .collect(),
                        store: d.store.clone(),
                        selectors: d
                            .data_events
                            .then(|| Selectors::Advanced(every_event_selectors(&data_types))),
                        ..TrailSpec::default()
                    };
                    (account, d.home_region.clone(), spec)
                })
                .collect(),
        }
    }
}

/// Sends every object to the store its bucket's trail names, or to the default.
struct RoutingStore {
    default: Arc<dyn ObjectStore>,
    local: Arc<dyn ObjectStore>,
    named: BTreeMap<String, Arc<dyn ObjectStore>>,
    trails: Arc<Trails>,
}

impl ObjectStore for RoutingStore {
    fn put_object(&self, object: &PutObject<'_>) -> Result<ObjectMeta, StoreError> {
        let (bucket, key, body) = (object.bucket, object.key, object.body);
        let (content_type, user_meta) = (object.content_type, object.user_meta);
        self.store(bucket).put(bucket, key, body, content_type, user_meta)
    }

    fn exists(&self, bucket: &str, key: &str) -> Option<bool> {
        self.store(bucket).exists(bucket, key)
    }
}

impl RoutingStore {
    fn store(&self, bucket: &str) -> &Arc<dyn ObjectStore> {
        match self.trails.store_for_bucket(bucket) {
            Some(name) if name == LOCAL_STORE => &self.local,
            Some(name) => self.named.get(&name).unwrap_or(&self.default),
            None => &self.default,
        }
    }
}

/// The trails' router, plus one stop-gap: Personalize Events calls that name their event
/// tracker only by tracking id reach the router with no `resources`, so they are matched as an
/// event-tracker data event of the caller's account and Region (the delivered record is not
/// changed).
struct EmulatorRouter(Arc<Trails>);

impl Router for EmulatorRouter {
    fn route(&self, record: &Record) -> Vec<Destination> {
        let by_tracking_id = record.event_category == EventCategory::Data
            && record.resources.is_empty()
            && record.event_source == personalize::audit::EVENT_SOURCE
            && matches!(record.event_name.as_str(), "PutEvents" | "PutActionInteractions");
        if !by_tracking_id {
            return self.0.route(record);
        }
        let mut r = record.clone();
        r.resources.push(Resource {
            arn: Some(format!(
                "arn:aws:personalize:{}:{}:event-tracker/*",
                record.aws_region, record.recipient_account_id
            )),
            arn_prefix: None,
            account_id: Some(record.recipient_account_id.clone()),
            resource_type: Some(personalize::audit::EVENT_TRACKER_TYPE.to_owned()),
        });
        self.0.route(&r)
    }
}

/// Per-trail notification state for `GetTrailStatus`.
#[derive(Debug, Clone)]
pub struct NotificationStatus {
    /// Last attempt.
    pub attempted: OffsetDateTime,
    /// Last success.
    pub succeeded: Option<OffsetDateTime>,
    /// Last error, cleared by the next success.
    pub error: Option<String>,
}

/// Validation messages and per-trail notification times. File notifications themselves are
/// written by `cloudtrail::notify::NotificationLog` with a per-trail topic resolver.
pub struct Notifier {
    path: PathBuf,
    sinks: Vec<Arc<dyn NotificationSink>>,
    clock: SharedClock,
    status: Mutex<HashMap<String, NotificationStatus>>,
}

impl std::fmt::Debug for Notifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Notifier {{ path: {:?}, .. }}", self.path)
    }
}

/// The message CloudTrail publishes when a topic is attached to a trail.
pub const VALIDATION_MESSAGE: &str = "CloudTrail validation message.";

impl Notifier {
    fn new(data_dir: &Path, sinks: Vec<Arc<dyn NotificationSink>>, clock: SharedClock) -> Self {
        Notifier {
            path: data_dir.join(NOTIFICATIONS_LOG),
            sinks,
            clock,
            status: Mutex::new(HashMap::new()),
        }
    }

    fn note(&self, trail_arn: &str, result: Result<(), String>) {
        let now = self.clock.now();
        let mut st = self.status.lock().unwrap_or_else(|e| e.into_inner());
        let e = st.entry(trail_arn.to_owned()).or_insert(NotificationStatus {
            attempted: now,
            succeeded: None,
            error: None,
        });
        e.attempted = now;
        match result {
            Ok(()) => {
                e.succeeded = Some(now);
                e.error = None;
            }
            Err(err) => e.error = Some(err),
        }
    }

    /// Notification status of a trail.
    pub fn status(&self, trail_arn: &str) -> Option<NotificationStatus> {
        self.status
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(trail_arn)
            .cloned()
    }

    /// Publishes `CloudTrail validation message.` on the trail's topic.
    pub fn validation_message(&self, trail: &Trail) {
        let Some(topic) = trail.sns_topic_arn() else {
            return;
        };
        let mut n = Notification::new(&topic, "", Vec::new(), self.clock.now());
        n.message = VALIDATION_MESSAGE.to_owned();
        // The same stand-in signature as file notifications, over the real message.
        let to_sign = format!(
            "Message\n{}\nMessageId\n{}\nTimestamp\n{}\nTopicArn\n{}\nType\nNotification\n",
            n.message, n.message_id, n.timestamp, n.topic_arn
        );
        n.signature = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(to_sign.as_bytes()));
        let line = n.to_json();
        let mut buf = line.clone().into_bytes();
        buf.push(b'\n');
        let result = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)
            // One write per line, as the notifications log's own writer does.
            .and_then(|mut f| f.write_all(&buf))
            .map_err(|e| e.to_string());
        if let Err(e) = &result {
            tracing::warn!(path = %self.path.display(), error = %e, "cannot append validation message");
        }
        for s in &self.sinks {
            s.send(&line);
        }
        self.note(&trail.arn(), result);
    }
}

/// Records when a trail with a topic had a file announced (NotificationLog does the writing).
struct NotificationTimes {
    notifier: Arc<Notifier>,
    trails: Arc<Trails>,
}

impl DeliveryObserver for NotificationTimes {
    fn delivered(&self, log: &WrittenLog) {
        if self
            .trails
            .by_arn(&log.trail)
            .is_some_and(|t| t.sns_topic_name.is_some())
        {
            self.notifier.note(&log.trail, Ok(()));
        }
    }
}

/// Feeds every record to Event history, and at start the spool's undelivered records it may
/// have lost in a crash.
struct HistoryTap(Arc<History>);

impl DeliveryObserver for HistoryTap {
    fn delivered(&self, _log: &WrittenLog) {}

    fn before_ack(&self) {
        if let Err(e) = self.0.flush() {
            tracing::warn!(error = %e, "cannot write event history before its records leave the spool");
        }
    }

    fn replayed(&self, records: &[&[u8]]) {
        let added = self.0.reconcile(records);
        if added > 0 {
            tracing::info!(
                added,
                "event history: events lost in a crash restored from the spool"
            );
        }
    }
}

impl RecordTap for HistoryTap {
    fn record(&self, record: &Record) {
        if let Err(e) = self.0.append(record) {
            tracing::warn!(error = %e, "cannot add record to event history");
        }
    }

    fn record_json(&self, record: &Record, json: &[u8]) {
        if let Err(e) = self.0.append_json(record, json) {
            tracing::warn!(error = %e, "cannot add record to event history");
        }
    }
}

/// Everything the server plugs in for CloudTrail.
pub struct CloudTrailParts {
    /// Trails (also the router).
    pub trails: Arc<Trails>,
    /// Event history.
    pub history: Arc<History>,
    /// Region keys.
    pub keys: Arc<KeyRing>,
    /// Digest manager.
    pub digests: Arc<Digests>,
    /// The store every trail's objects go through.
    pub store: Arc<dyn ObjectStore>,
    notifier: Arc<Notifier>,
    sinks: Vec<Arc<dyn NotificationSink>>,
    api: Arc<CloudTrailApi>,
    clock: SharedClock,
    data_dir: PathBuf,
}

impl std::fmt::Debug for CloudTrailParts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "CloudTrailParts {{ data_dir: {:?}, .. }}", self.data_dir)
    }
}

impl CloudTrailParts {
    /// Opens trails, history, keys and digests under `<data-dir>/.cloudtrail/`, starts the
    /// S3 clients of `[object_stores]`, and starts the digest chains of validating trails.
    /// `sinks` receive every notification (the webhooks).
    pub fn open(config: &Config, sinks: Vec<Arc<dyn NotificationSink>>) -> Result<Self, SetupError> {
        let ct = CloudTrailConfig::from_config(config)?;
        let data_dir = config.file.server.data_dir.clone();
        let state = data_dir.join(STATE_DIR);
        let clock = config.clock.clone();
        let demo = config
            .file
            .accounts
            .iter()
            .find(|a| a.id == DEMO_ACCOUNT)
            .or(config.file.accounts.first())
            .map_or(DEMO_ACCOUNT, |a| a.id.as_str())
            .to_owned();
        let trails = Arc::new(Trails::open(
            Some(state.join("trails.json")),
            clock.clone(),
            ct.organizations.clone(),
            data_resource_types(),
            ct.declared(&demo),
        )?);
        let history = Arc::new(History::open(state.join("history"), clock.clone())?);
        if let Some(max) = ct.cloudtrail.history_max_bytes {
            history.set_max_bytes(max);
        }
        let local: Arc<dyn ObjectStore> = Arc::new(LocalDir::with_clock(data_dir.clone(), clock.clone()));
        let mut named: BTreeMap<String, Arc<dyn ObjectStore>> = BTreeMap::new();
        for (name, sc) in &ct.object_stores {
            named.insert(name.clone(), Arc::new(S3Store::start(sc, clock.clone())?));
        }
        let default = match ct.cloudtrail.default_store.as_deref() {
            Some(name) if name != LOCAL_STORE => named.get(name).cloned().unwrap_or_else(|| local.clone()),
            _ => local.clone(),
        };
        let store: Arc<dyn ObjectStore> = Arc::new(RoutingStore {
            default,
            local,
            named,
            trails: trails.clone(),
        });
        let dur = |what: &str, v: &Option<String>, default: Duration| -> Result<Duration, SetupError> {
            v.as_deref()
                .map(|s| parse_duration(s).map_err(|e| SetupError::Config(format!("cloudtrail.{what}: {e}"))))
                .transpose()
                .map(|d| d.unwrap_or(default))
        };
        let validity = dur("key_validity", &ct.cloudtrail.key_validity, DEFAULT_KEY_VALIDITY)?;
        let period = dur(
            "digest_period",
            &ct.cloudtrail.digest_period,
            DEFAULT_DIGEST_PERIOD,
        )?;
        let keys = Arc::new(KeyRing::open(state.join("keys"), clock.clone(), validity)?);
        let digests = Arc::new(Digests::open(
            store.clone(),
            keys.clone(),
            clock.clone(),
            state.join("digests"),
            period,
        )?);
        for t in trails
            .snapshot()
            .iter()
            .filter(|t| t.logging && t.log_file_validation)
        {
            digests.start_chain(&DigestTrail {
                arn: t.arn(),
                bucket: t.bucket.clone(),
                prefix: t.prefix.clone(),
                org_id: t.organization.clone(),
            })?;
        }
        let notifier = Arc::new(Notifier::new(&data_dir, sinks.clone(), clock.clone()));
        let rate = ct.cloudtrail.lookup_events_rate.unwrap_or(2.0);
        if rate.is_nan() || rate < 0.0 {
            return Err(SetupError::Config(
                "cloudtrail.lookup_events_rate must be >= 0".to_owned(),
            ));
        }
        let stop = Arc::new(tokio::sync::Notify::new());
        let api = Arc::new(CloudTrailApi {
            trails: trails.clone(),
            history: history.clone(),
            throttle: LookupThrottle::new(rate, clock.clone()),
            keys: keys.clone(),
            digests: digests.clone(),
            notifier: notifier.clone(),
            delivery: OnceLock::new(),
            stop: stop.clone(),
        });
        // Digests fall due on the clock, whether or not anything is delivered.
        let runner = digests.clone();
        tokio::spawn(runner.run(async move { stop.notified().await }));
        Ok(CloudTrailParts {
            trails,
            history,
            keys,
            digests,
            store,
            notifier,
            sinks,
            api,
            clock,
            data_dir,
        })
    }

    /// The router that replaces the single-destination default.
    pub fn router(&self) -> Arc<dyn Router> {
        Arc::new(EmulatorRouter(self.trails.clone()))
    }

    /// The delivery observers: digests, per-trail file notifications, notification times.
    pub fn observers(&self) -> Vec<Arc<dyn DeliveryObserver>> {
        let trails = self.trails.clone();
        let resolver: cloudtrail::notify::TopicResolver =
            Arc::new(move |log: &WrittenLog| trails.by_arn(&log.trail).and_then(|t| t.sns_topic_arn()));
        vec![
            self.digests.clone(),
            Arc::new(NotificationLog::with_resolver(
                &self.data_dir,
                resolver,
                self.clock.clone(),
                self.sinks.clone(),
            )),
            Arc::new(NotificationTimes {
                notifier: self.notifier.clone(),
                trails: self.trails.clone(),
            }),
            Arc::new(HistoryTap(self.history.clone())),
        ]
    }

    /// The record tap that keeps Event history.
    pub fn tap(&self) -> Arc<dyn RecordTap> {
        Arc::new(HistoryTap(self.history.clone()))
    }

    /// The CloudTrail JSON service.
    pub fn service(&self) -> Arc<dyn Service> {
        self.api.clone()
    }

    /// The same service, typed (the console reads trails through it).
    pub fn api(&self) -> Arc<CloudTrailApi> {
        self.api.clone()
    }

    /// Hands the started pipeline to the service (for `GetTrailStatus`).
    pub fn attach_delivery(&self, delivery: Delivery) {
        self.api.attach_delivery(delivery);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::FileConfig;

    fn parse(toml: &str) -> Result<CloudTrailConfig, SetupError> {
        CloudTrailConfig::from_config(&Config::new(FileConfig::parse(toml).unwrap()))
    }

    #[test]
    fn sections_parse_and_are_checked() {
        let c = parse("").unwrap();
        assert!(c.trails.is_none());
        let declared = c.declared(DEMO_ACCOUNT);
        assert_eq!(declared.len(), 1);
        assert_eq!(declared[0].2.name, "management-events");
        // Every management event, and every data event of the services served.
        let Some(Selectors::Advanced(sel)) = &declared[0].2.selectors else {
            panic!("the built-in trail has advanced selectors");
        };
        assert_eq!(sel.len(), 1 + DATA_RESOURCE_TYPES.len());
        cloudtrail::trails::validate_advanced(sel, &data_resource_types()).unwrap();

        let c = parse(
            r#"
[cloudtrail]
lookup_events_rate = 5
default_store = "minio"
[object_stores.minio]
endpoint_url = "http://127.0.0.1:9000"
access_key_id = "a"
secret_access_key = "b"
[[organizations]]
id = "o-exampleorg01"
management_account = "123456789012"
[[trails]]
name = "t-one"
data_events = false
[[trails]]
name = "t-two"
account = "111122223333"
home_region = "eu-west-1"
multi_region = false
store = "local"
"#,
        )
        .unwrap();
        let d = c.declared(DEMO_ACCOUNT);
        assert_eq!(d[0].2.bucket, "aws-cloudtrail-logs-123456789012");
        assert!(d[0].2.selectors.is_none());
        assert_eq!((d[1].0.as_str(), d[1].1.as_str()), ("111122223333", "eu-west-1"));
        assert_eq!(d[1].2.bucket, "aws-cloudtrail-logs-111122223333");
        assert_eq!(d[1].2.multi_region, Some(false));
        // An empty list means no trails at all.
        assert!(parse("trails = []\n").unwrap().declared(DEMO_ACCOUNT).is_empty());

        for bad in [
            "[[trails]]\nname = \"t\"\nstore = \"nowhere\"\n",
            "[cloudtrail]\ndefault_store = \"nowhere\"\n",
            "[cloudtrail]\nbogus = 1\n",
            "[[organizations]]\nid = \"org-1\"\nmanagement_account = \"123456789012\"\n",
            "[[trails]]\nname = \"t\"\ncolour = \"red\"\n",
        ] {
            assert!(matches!(parse(bad), Err(SetupError::Config(_))), "{bad}");
        }
    }
}
