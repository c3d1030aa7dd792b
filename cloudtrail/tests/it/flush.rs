//! When files are cut: age (by the injected clock), record count, bytes, request and shutdown;
//! and what happens when the directory cannot be written.

use std::sync::Arc;
use std::time::Duration;

use cloudtrail::ManualClock;
use cloudtrail::delivery::{Delivery, DeliveryError, Destination};
use cloudtrail::logfile::gunzip;
use cloudtrail::store::LocalDir;

use crate::common::*;

#[tokio::test]
async fn flush_by_age_follows_the_clock() {
    let mut rig = rig(|_| {}).await;
    for i in 0..3 {
        rig.delivery.submit(record(i, "us-east-1")).await.unwrap();
    }
    rig.clock.advance(Duration::from_secs(299));
    rig.delivery.tick().await.unwrap();
    assert_eq!(rig.delivery.status().batched_records, 3);
    assert_eq!(rig.delivery.status().in_flight_records, 0);
    assert!(rig.logs.try_recv().is_err());
    rig.clock.advance(Duration::from_secs(1));
    let log = rig.next_log().await;
    assert_eq!(log.records, 3);
    assert_eq!(log.delivered_at, T0 + Duration::from_secs(300));
    let st = rig.delivery.status();
    assert_eq!(st.trails[TRAIL].last_delivery, Some(log.delivered_at));
    assert_eq!(st.trails[TRAIL].delivered_files, 1);
    assert_eq!(st.pending_bytes, 0);
}

#[tokio::test]
async fn configurable_interval_down_to_100ms() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(dir.path());
    cfg.flush_interval = Duration::from_millis(99);
    assert!(matches!(cfg_err(cfg).await, DeliveryError::Config(_)));
    let mut rig = rig(|c| c.flush_interval = Duration::from_millis(100)).await;
    rig.delivery.submit(record(0, "us-east-1")).await.unwrap();
    rig.clock.advance(Duration::from_millis(100));
    assert_eq!(rig.next_log().await.records, 1);
}

/// With `fsync` on, concurrent submits share syncs and everything still arrives once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fsync_mode_delivers_everything() {
    let rig = rig(|c| c.fsync = true).await;
    let mut tasks = Vec::new();
    for p in 0..4 {
        let d = rig.delivery.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..50 {
                d.submit(record(p * 100 + i, "us-east-1")).await.unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    rig.delivery.clone().shutdown().await.unwrap();
    let counts = id_counts(&read_logs(&rig.data(), BUCKET));
    assert_eq!(counts.len(), 200);
    assert!(counts.values().all(|&n| n == 1));
}

#[tokio::test]
async fn one_pipeline_per_spool() {
    let rig = rig(|_| {}).await;
    let second = cloudtrail::Delivery::start(
        config(&rig.dir.path().join("spool")),
        rig.clock.clone(),
        std::sync::Arc::new(cloudtrail::LocalDir::new(rig.data())),
        std::sync::Arc::new(cloudtrail::SingleDestination(destination())),
        vec![],
    )
    .await;
    assert!(matches!(second, Err(DeliveryError::Spool { .. })));
    // Once the first is shut down, the spool is free again.
    rig.delivery.clone().shutdown().await.unwrap();
    let clock = rig.clock.clone();
    let Rig { dir, .. } = rig;
    start(dir, clock, |_| {}).await.delivery.shutdown().await.unwrap();
}

async fn cfg_err(cfg: cloudtrail::DeliveryConfig) -> DeliveryError {
    let clock = cloudtrail::ManualClock::new(T0);
    let dir = tempfile::tempdir().unwrap();
    cloudtrail::Delivery::start(
        cfg,
        clock,
        std::sync::Arc::new(cloudtrail::LocalDir::new(dir.path())),
        std::sync::Arc::new(cloudtrail::SingleDestination(destination())),
        vec![],
    )
    .await
    .unwrap_err()
}

#[tokio::test]
async fn flush_by_count() {
    let mut rig = rig(|c| c.max_records = 10).await;
    for i in 0..25 {
        rig.delivery.submit(record(i, "us-east-1")).await.unwrap();
    }
    assert_eq!(rig.next_log().await.records, 10);
    assert_eq!(rig.next_log().await.records, 10);
    rig.delivery.tick().await.unwrap();
    assert_eq!(rig.delivery.status().batched_records, 5);
    let logs = rig.delivery.flush().await.unwrap();
    assert_eq!(logs.iter().map(|l| l.records).sum::<usize>(), 5);
}

#[tokio::test]
async fn flush_by_bytes() {
    let one = record(0, "us-east-1").to_json().len() + 1;
    // Room for three records and the `{"Records":[]}` wrapper, not four.
    let max = 14 + 3 * one + one / 2;
    let mut rig = rig(|c| c.max_bytes = max).await;
    for i in 0..10 {
        rig.delivery.submit(record(i, "us-east-1")).await.unwrap();
    }
    for _ in 0..3 {
        let log = rig.next_log().await;
        assert_eq!(log.records, 3);
        let body = gunzip(&std::fs::read(rig.data().join(BUCKET).join(&log.key)).unwrap()).unwrap();
        assert!(body.len() <= max, "{} > {max}", body.len());
    }
    rig.delivery.tick().await.unwrap();
    assert_eq!(rig.delivery.status().batched_records, 1);
}

#[tokio::test]
async fn flush_on_request_and_on_shutdown() {
    let rig = rig(|_| {}).await;
    assert!(rig.delivery.flush().await.unwrap().is_empty());
    for i in 0..4 {
        rig.delivery.submit(record(i, "us-east-1")).await.unwrap();
    }
    let logs = rig.delivery.flush().await.unwrap();
    assert_eq!(logs.len(), 1);
    assert_eq!(logs[0].records, 4);
    for i in 4..11 {
        rig.delivery.submit(record(i, "us-east-1")).await.unwrap();
    }
    let other = rig.delivery.clone();
    rig.delivery.clone().shutdown().await.unwrap();
    let counts = id_counts(&read_logs(&rig.data(), BUCKET));
    assert_eq!(counts.len(), 11);
    assert!(matches!(
        other.submit(record(99, "us-east-1")).await,
        Err(DeliveryError::Closed)
    ));
    assert!(matches!(other.flush().await, Err(DeliveryError::Closed)));
    // The spool holds no records after a clean shutdown: only its lock and its reserve.
    assert_eq!(
        walk(&rig.dir.path().join("spool")),
        [
            std::path::PathBuf::from("LOCK"),
            std::path::PathBuf::from("RESERVE")
        ]
    );
}

/// The data directory is a plain file (as good as unwritable, even for root): deliveries fail,
/// records are kept, the error is visible, retries back off, and it all goes out once fixed.
#[tokio::test]
async fn unwritable_directory_retries_keeps_records_and_bounds_memory() {
    let one = record(0, "us-east-1").to_json().len();
    // Twenty records fit (the later ones are a byte longer), a twenty-first does not.
    let mut rig = rig(|c| c.max_pending_bytes = 20 * one + 20).await;
    std::fs::write(rig.data(), b"not a directory").unwrap();
    for i in 0..20 {
        rig.delivery.submit(record(i, "us-east-1")).await.unwrap();
    }
    let err = rig.delivery.flush().await.unwrap_err();
    assert!(matches!(err, DeliveryError::Delivery(_)), "{err}");
    let failure = rig.fails.recv().await.unwrap();
    let st = rig.delivery.status();
    assert_eq!(st.trails[TRAIL].last_error.as_deref(), Some(failure.as_str()));
    assert_eq!(st.trails[TRAIL].last_error_at, Some(T0));
    assert_eq!(st.batched_records, 20);
    assert!(st.pending_bytes >= 20 * one);

    // The budget is used up: the next submit waits instead of dropping or growing memory.
    let blocked = rig.delivery.clone();
    let mut waiting = Box::pin(async move { blocked.submit(record(20, "us-east-1")).await });
    tokio::select! {
        biased;
        r = &mut waiting => panic!("submit did not wait: {r:?}"),
        () = std::future::ready(()) => {}
    }

    // Backoff: 1 s, then 2 s, by the clock.
    rig.clock.advance(Duration::from_secs(1));
    rig.fails.recv().await.unwrap();
    rig.clock.advance(Duration::from_secs(1));
    rig.delivery.tick().await.unwrap();
    assert!(rig.fails.try_recv().is_err(), "retried before the backoff");
    assert_eq!(
        rig.delivery.status().trails[TRAIL].last_error_at,
        Some(T0 + Duration::from_secs(1))
    );

    // Fixed: the next retry delivers everything, and the waiting submit gets in.
    std::fs::remove_file(rig.data()).unwrap();
    rig.clock.advance(Duration::from_secs(1));
    let log = rig.next_log().await;
    assert_eq!(log.records, 20);
    waiting.await.unwrap();
    let logs = rig.delivery.flush().await.unwrap();
    assert_eq!(logs.iter().map(|l| l.records).sum::<usize>(), 1);
    let st = rig.delivery.status();
    assert_eq!(st.trails[TRAIL].last_error, None);
    assert_eq!(st.pending_bytes, 0);
    let counts = id_counts(&read_logs(&rig.data(), BUCKET));
    assert_eq!(counts.len(), 21);
    assert!(counts.values().all(|&n| n == 1));
}

#[tokio::test]
async fn shutdown_with_a_broken_directory_keeps_the_spool() {
    let rig = rig(|_| {}).await;
    std::fs::write(rig.data(), b"x").unwrap();
    for i in 0..5 {
        rig.delivery.submit(record(i, "us-east-1")).await.unwrap();
    }
    assert!(matches!(
        rig.delivery.clone().shutdown().await,
        Err(DeliveryError::Delivery(_))
    ));
    // A restart on the same spool delivers them once the directory is back.
    std::fs::remove_file(rig.data()).unwrap();
    let clock = rig.clock.clone();
    let Rig { dir, .. } = rig;
    let rig = start(dir, clock, |_| {}).await;
    rig.delivery.flush().await.unwrap();
    let counts = id_counts(&read_logs(&rig.data(), BUCKET));
    assert_eq!(counts.len(), 5);
    assert!(counts.values().all(|&n| n == 1));
}

/// Records spread over many batches, none of them full, that together spend the memory budget:
/// the largest batches go out early instead of every caller waiting for the 5-minute age flush.
#[tokio::test]
async fn a_budget_spent_across_many_batches_delivers_early() {
    let one = record(0, "us-east-1").to_json().len();
    let mut rig = rig(|c| c.max_pending_bytes = 12 * one).await;
    let regions = [
        "us-east-1",
        "us-west-2",
        "eu-west-1",
        "eu-central-1",
        "ap-south-1",
        "ca-central-1",
    ];
    let delivery = rig.delivery.clone();
    let submits = async move {
        for i in 0..120 {
            delivery
                .submit(record(i, regions[i % regions.len()]))
                .await
                .unwrap();
        }
    };
    // The clock never moves, so only memory pressure can deliver; without it this waits forever.
    tokio::time::timeout(Duration::from_secs(60), submits)
        .await
        .expect("submits waited for the age flush");
    let mut delivered = 0;
    while delivered < 100 {
        delivered += rig.next_log().await.records;
    }
    assert!(rig.delivery.status().pending_bytes <= 12 * one);
}

/// Routes every record to a bucket whose name no store accepts.
struct Unwritable;

impl cloudtrail::delivery::Router for Unwritable {
    fn route(&self, _record: &cloudtrail::Record) -> Vec<Destination> {
        let mut d = destination();
        d.log.bucket = "Not_A_Bucket!".into();
        vec![d]
    }
}

#[tokio::test]
async fn a_batch_that_can_never_be_delivered_is_quarantined_and_blocks_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(T0);
    let store = Arc::new(LocalDir::with_clock(dir.path().join("data"), clock.clone()));
    let delivery = Delivery::start(
        config(&dir.path().join("spool")),
        clock.clone(),
        store,
        Arc::new(Unwritable),
        Vec::new(),
    )
    .await
    .unwrap();
    for i in 0..3 {
        delivery.submit(record(i, "us-east-1")).await.unwrap();
    }
    // The flush does not fail and does not hang: nothing is pending any more.
    let written = delivery.flush().await.unwrap();
    assert!(written.is_empty());
    let status = delivery.status();
    let trail = &status.trails[TRAIL];
    assert_eq!(trail.quarantined_files, 1);
    assert!(
        trail.last_error.as_deref().unwrap().contains("quarantined"),
        "{trail:?}"
    );
    assert_eq!(status.pending_bytes, 0);
    let files = delivery.quarantined();
    assert_eq!(files.len(), 1);
    let kept: serde_json::Value = serde_json::from_slice(&std::fs::read(&files[0].0).unwrap()).unwrap();
    assert_eq!(kept["bucket"], "Not_A_Bucket!");
    assert_eq!(kept["Records"].as_array().unwrap().len(), 3);
    // A restart finds nothing to redeliver, and shutdown succeeds.
    delivery.clone().shutdown().await.unwrap();
    let again = Delivery::start(
        config(&dir.path().join("spool")),
        clock.clone(),
        Arc::new(LocalDir::with_clock(dir.path().join("data"), clock.clone())),
        Arc::new(Unwritable),
        Vec::new(),
    )
    .await
    .unwrap();
    assert_eq!(again.status().pending_bytes, 0);
    assert_eq!(again.quarantined().len(), 1);
    assert_eq!(again.clear_quarantine().unwrap(), 1);
    assert!(again.quarantined().is_empty());
    again.shutdown().await.unwrap();
}
