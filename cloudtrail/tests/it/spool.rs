//! Crash safety: a child process submits records, is killed with SIGKILL, and a new pipeline on
//! the same spool delivers every acknowledged record exactly once. And a full disk: the spool's
//! reserve keeps the records in flight, admission refuses changes until space returns.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use cloudtrail::SystemClock;
use cloudtrail::delivery::{Delivery, SingleDestination};
use cloudtrail::store::LocalDir;

use crate::common::*;

const CHILD_ENV: &str = "CLOUDTRAIL_SPOOL_CHILD_DIR";

/// Runs only inside the child: submits records forever, printing each acknowledged eventID,
/// with one explicit flush early on so the spool holds both delivered and pending records.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn child_process() {
    let Ok(dir) = std::env::var(CHILD_ENV) else { return };
    let dir = std::path::PathBuf::from(dir);
    let delivery = Delivery::start(
        config(&dir.join("spool")),
        Arc::new(SystemClock),
        Arc::new(LocalDir::new(dir.join("data"))),
        Arc::new(SingleDestination(destination())),
        vec![],
    )
    .await
    .unwrap();
    for i in 0.. {
        let r = record(i, "us-east-1");
        let id = r.event_id;
        delivery.submit(r).await.unwrap();
        println!("ACK {id}");
        if i == 500 {
            delivery.flush().await.unwrap();
            println!("FLUSHED");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replay_after_sigkill_delivers_acknowledged_records_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "spool::child_process",
            "--nocapture",
            "--test-threads",
            "1",
        ])
        .env(CHILD_ENV, dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut acked = BTreeSet::new();
    let mut flushed = false;
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    // Kill it mid-stream, while it is still submitting.
    while acked.len() < 3000 {
        let line = lines.next().expect("child exited early").unwrap();
        if let Some(id) = line.strip_prefix("ACK ") {
            acked.insert(id.to_owned());
        } else if line == "FLUSHED" {
            flushed = true;
        }
    }
    child.kill().unwrap(); // SIGKILL on Unix.
    child.wait().unwrap();
    // Whatever was printed after our last read was acknowledged too.
    for line in lines.map_while(Result::ok) {
        if let Some(id) = line.strip_prefix("ACK ") {
            acked.insert(id.to_owned());
        }
    }
    assert!(flushed);
    let before = id_counts(&read_logs(&dir.path().join("data"), BUCKET));
    assert!(!before.is_empty() && before.len() < acked.len());

    let clock = cloudtrail::ManualClock::new(T0);
    let rig = start(dir, clock, |_| {}).await;
    rig.delivery.flush().await.unwrap();
    let counts = id_counts(&read_logs(&rig.data(), BUCKET));
    for id in &acked {
        assert_eq!(counts.get(id), Some(&1), "acknowledged record {id}");
    }
    // Records the child spooled but had not yet acknowledged may appear, at most once.
    assert!(counts.values().all(|&n| n == 1));
    assert!(counts.len() <= acked.len() + 4096);
    rig.delivery.shutdown().await.unwrap();
    assert_eq!(
        walk(&rig.dir.path().join("spool")),
        [
            std::path::PathBuf::from("LOCK"),
            std::path::PathBuf::from("RESERVE")
        ]
    );
}

#[tokio::test]
async fn a_full_disk_uses_the_reserve_then_refuses_changes_until_space_returns() {
    let faults = Arc::new(cloudtrail::delivery::SpoolFaults::default());
    let switch = faults.clone();
    let mut rig = rig(move |c| c.spool_faults = Some(switch)).await;
    let spool = rig.dir.path().join("spool");
    assert!(spool.join("RESERVE").is_file());
    assert_eq!(rig.delivery.admit().await, Ok(()));
    faults.set_full(true);
    // The write that finds the disk full gives up the reserve and succeeds.
    rig.delivery.submit(record(1, "us-east-1")).await.unwrap();
    assert!(!spool.join("RESERVE").exists());
    assert!(rig.delivery.spool_error().is_some());
    // From now on changes are refused, while the disk stays full.
    assert!(matches!(
        rig.delivery.admit().await,
        Err(cloudtrail::delivery::Refusal::SpoolUnwritable(_))
    ));
    faults.set_full(false);
    assert_eq!(rig.delivery.admit().await, Ok(()));
    assert!(spool.join("RESERVE").is_file(), "the reserve is made again");
    assert!(rig.delivery.spool_error().is_none());
    rig.delivery.flush().await.unwrap();
    assert_eq!(id_counts(&read_logs(&rig.data(), BUCKET)).len(), 1);
    let _ = rig.next_log().await;
}

#[tokio::test]
async fn delivered_records_leave_the_spool_without_waiting_for_the_segment_to_fill() {
    let rig = rig(|_| {}).await;
    let spool = rig.dir.path().join("spool");
    let segments = || {
        walk(&spool)
            .into_iter()
            .filter(|p| p.extension().is_some_and(|e| e == "log"))
            .count()
    };
    for i in 0..3 {
        rig.delivery.submit(record(i, "us-east-1")).await.unwrap();
    }
    assert_eq!(segments(), 1);
    rig.delivery.flush().await.unwrap();
    // Deleting happens on a blocking task after the flush is answered: wait for it, bounded.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while segments() > 0 {
        assert!(std::time::Instant::now() < deadline, "{:?}", walk(&spool));
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    // The next record starts a new segment.
    rig.delivery.submit(record(9, "us-east-1")).await.unwrap();
    assert_eq!(segments(), 1);
}

/// Spools one record in a runtime that is then dropped, as a crash would leave it: in the
/// spool, never delivered. Returns the segment it is in.
fn spool_one_and_crash(dir: &std::path::Path) -> u64 {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let d = Delivery::start(
            config(&dir.join("spool")),
            Arc::new(SystemClock),
            Arc::new(LocalDir::new(dir.join("data"))),
            Arc::new(SingleDestination(destination())),
            Vec::new(),
        )
        .await
        .unwrap();
        d.submit(record(1, "us-east-1")).await.unwrap();
    });
    drop(rt);
    let name = std::fs::read_dir(dir.join("spool"))
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .find(|n| n.starts_with("seg-") && n.ends_with(".log"))
        .unwrap();
    u64::from_str_radix(&name["seg-".len()..name.len() - ".log".len()], 16).unwrap()
}

#[tokio::test]
async fn a_put_cut_off_before_its_acks_is_not_delivered_again() {
    for object_there in [true, false] {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().to_owned();
        let seg = std::thread::spawn(move || spool_one_and_crash(&path))
            .join()
            .unwrap();
        // The crash came after the put and before the acks: the object and its intent exist.
        let key = "AWSLogs/123456789012/CloudTrail/us-east-1/2026/03/01/put-before-crash.json.gz";
        if object_there {
            let object = dir.path().join("data").join(BUCKET).join(key);
            std::fs::create_dir_all(object.parent().unwrap()).unwrap();
            std::fs::write(&object, b"delivered before the crash").unwrap();
        }
        let intents = dir.path().join("spool/intents");
        std::fs::create_dir_all(&intents).unwrap();
        let intent = serde_json::json!({"bucket": BUCKET, "key": key, "pairs": [[seg, 0, 0]]});
        std::fs::write(intents.join("u.json"), intent.to_string()).unwrap();

        let d = Delivery::start(
            config(&dir.path().join("spool")),
            Arc::new(SystemClock),
            Arc::new(LocalDir::new(dir.path().join("data"))),
            Arc::new(SingleDestination(destination())),
            Vec::new(),
        )
        .await
        .unwrap();
        let written = d.flush().await.unwrap();
        // Delivered once either way: by the put before the crash, or now.
        assert_eq!(
            written.len(),
            usize::from(!object_there),
            "object there: {object_there}"
        );
        assert_eq!(std::fs::read_dir(&intents).unwrap().count(), 0);
        d.shutdown().await.unwrap();
    }
}
