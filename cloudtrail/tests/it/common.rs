//! Shared fixtures: records, a pipeline on a manual clock, and readers of what landed on disk.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use cloudtrail::delivery::{Delivery, DeliveryConfig, DeliveryObserver, Destination, SingleDestination};
use cloudtrail::layout::LogDestination;
use cloudtrail::logfile::{WrittenLog, gunzip};
use cloudtrail::store::LocalDir;
use cloudtrail::{ManualClock, Record, UserIdentity};
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::macros::datetime;
use tokio::sync::mpsc;

pub(crate) const ACCOUNT: &str = "123456789012";
pub(crate) const BUCKET: &str = "trail-bucket";
pub(crate) const TRAIL: &str = "arn:aws:cloudtrail:us-east-1:123456789012:trail/main";
pub(crate) const T0: OffsetDateTime = datetime!(2026-03-04 05:06:07 UTC);

/// A typical Personalize API call record; `i` goes into the request and the event time.
pub(crate) fn record(i: usize, region: &str) -> Record {
    let id = UserIdentity::iam_user(
        ACCOUNT,
        "/",
        "alice",
        "AIDAJ45Q7YFFAREXAMPLE",
        "AKIAIOSFODNN7EXAMPLE",
    );
    let mut r = Record::api_call(
        id,
        T0 + Duration::from_secs(i as u64),
        "personalize.amazonaws.com",
        "CreateDatasetGroup",
        region,
        "203.0.113.10",
        ACCOUNT,
    );
    r.user_agent = Some("aws-cli/2.15.0 Python/3.11.6 Linux/6.1 exe/x86_64".into());
    r.request_parameters = Some(json!({"name": format!("dsg-{i}")}));
    r.response_elements = Some(json!({
        "datasetGroupArn": format!("arn:aws:personalize:{region}:{ACCOUNT}:dataset-group/dsg-{i}")
    }));
    r.request_id = Some(cloudtrail::random_uuid().to_string());
    r.read_only = Some(false);
    r
}

pub(crate) fn destination() -> Destination {
    Destination {
        trail: TRAIL.into(),
        log: LogDestination {
            bucket: BUCKET.into(),
            prefix: Some("pfx".into()),
            org_id: None,
            account: String::new(),
            region: String::new(),
        },
    }
}

/// Sends every delivered file and failure to channels the test awaits.
pub(crate) struct Tap {
    pub(crate) logs: mpsc::UnboundedSender<WrittenLog>,
    pub(crate) fails: mpsc::UnboundedSender<String>,
}

impl DeliveryObserver for Tap {
    fn delivered(&self, log: &WrittenLog) {
        let _ = self.logs.send(log.clone());
    }
    fn failed(&self, _trail: &str, error: &str) {
        let _ = self.fails.send(error.to_owned());
    }
}

pub(crate) struct Rig {
    pub(crate) dir: tempfile::TempDir,
    pub(crate) clock: Arc<ManualClock>,
    pub(crate) delivery: Delivery,
    pub(crate) logs: mpsc::UnboundedReceiver<WrittenLog>,
    pub(crate) fails: mpsc::UnboundedReceiver<String>,
}

impl Rig {
    pub(crate) fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// The next delivered file; a generous real-time bound only guards against hangs.
    pub(crate) async fn next_log(&mut self) -> WrittenLog {
        tokio::time::timeout(Duration::from_secs(60), self.logs.recv())
            .await
            .expect("no file delivered")
            .expect("pipeline gone")
    }
}

pub(crate) fn config(spool: &Path) -> DeliveryConfig {
    let mut c = DeliveryConfig::new(spool);
    c.retry_delay = Duration::from_secs(1);
    c
}

pub(crate) async fn start(
    dir: tempfile::TempDir,
    clock: Arc<ManualClock>,
    tweak: impl FnOnce(&mut DeliveryConfig),
) -> Rig {
    let mut cfg = config(&dir.path().join("spool"));
    tweak(&mut cfg);
    let store = Arc::new(LocalDir::with_clock(dir.path().join("data"), clock.clone()));
    let (ltx, logs) = mpsc::unbounded_channel();
    let (ftx, fails) = mpsc::unbounded_channel();
    let delivery = Delivery::start(
        cfg,
        clock.clone(),
        store,
        Arc::new(SingleDestination(destination())),
        vec![Arc::new(Tap {
            logs: ltx,
            fails: ftx,
        })],
    )
    .await
    .unwrap();
    Rig {
        dir,
        clock,
        delivery,
        logs,
        fails,
    }
}

pub(crate) async fn rig(tweak: impl FnOnce(&mut DeliveryConfig)) -> Rig {
    start(tempfile::tempdir().unwrap(), ManualClock::new(T0), tweak).await
}

/// Every file under `root` (recursively), relative, sorted.
pub(crate) fn walk(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else { continue };
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p.strip_prefix(root).unwrap().to_path_buf());
            }
        }
    }
    out.sort();
    out
}

/// Every log object in the bucket: key -> records, parsed from the gzip body.
pub(crate) fn read_logs(data: &Path, bucket: &str) -> BTreeMap<String, Vec<Value>> {
    let broot = data.join(bucket);
    walk(&broot)
        .into_iter()
        .map(|rel| {
            let key = rel.to_str().unwrap().to_owned();
            let body = gunzip(&std::fs::read(broot.join(&rel)).unwrap()).unwrap();
            let v: Value = serde_json::from_slice(&body).unwrap();
            let records = v["Records"].as_array().unwrap().clone();
            (key, records)
        })
        .collect()
}

/// `eventID` -> how many times it appears across all files.
pub(crate) fn id_counts(logs: &BTreeMap<String, Vec<Value>>) -> BTreeMap<String, usize> {
    let mut m = BTreeMap::new();
    for recs in logs.values() {
        for r in recs {
            *m.entry(r["eventID"].as_str().unwrap().to_owned()).or_insert(0) += 1;
        }
    }
    m
}
