//! A poller never sees a partial file, and many concurrent producers lose nothing.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use cloudtrail::logfile::gunzip;
use serde_json::Value;

use crate::common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_polling_reader_only_ever_sees_whole_files() {
    let rig = rig(|c| c.max_records = 40).await;
    let root = rig.data().join(BUCKET).join("pfx").join("AWSLogs");
    let stop = Arc::new(AtomicBool::new(false));
    let reader = {
        let stop = stop.clone();
        let root = root.clone();
        std::thread::spawn(move || {
            let mut seen: BTreeSet<PathBuf> = BTreeSet::new();
            let mut records = 0usize;
            loop {
                let last = stop.load(Ordering::Acquire);
                for rel in walk(&root) {
                    if seen.contains(&rel) {
                        continue;
                    }
                    let name = rel.to_str().unwrap().to_owned();
                    // Only log objects ever appear under AWSLogs/, and each is complete.
                    assert!(name.ends_with(".json.gz"), "unexpected file {name}");
                    let body = gunzip(&std::fs::read(root.join(&rel)).unwrap())
                        .unwrap_or_else(|e| panic!("partial file {name}: {e}"));
                    let v: Value = serde_json::from_slice(&body).unwrap();
                    records += v["Records"].as_array().unwrap().len();
                    seen.insert(rel);
                }
                if last {
                    return (seen.len(), records);
                }
            }
        })
    };
    for round in 0..10 {
        for i in 0..400 {
            rig.delivery
                .submit(record(round * 1000 + i, "us-east-1"))
                .await
                .unwrap();
        }
        rig.delivery.flush().await.unwrap();
    }
    stop.store(true, Ordering::Release);
    let (files, records) = reader.join().unwrap();
    assert_eq!(files, 100);
    assert_eq!(records, 4000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_concurrent_producers_deliver_everything_once() {
    let rig = rig(|c| c.max_records = 1000).await;
    let mut tasks = Vec::new();
    for p in 0..8 {
        let d = rig.delivery.clone();
        tasks.push(tokio::spawn(async move {
            let mut ids = Vec::with_capacity(5000);
            for i in 0..5000 {
                let r = record(p * 10_000 + i, ["us-east-1", "us-west-2"][i % 2]);
                ids.push(r.event_id.to_string());
                d.submit(r).await.unwrap();
            }
            ids
        }));
    }
    let mut submitted = BTreeSet::new();
    for t in tasks {
        submitted.extend(t.await.unwrap());
    }
    rig.delivery.flush().await.unwrap();
    let counts = id_counts(&read_logs(&rig.data(), BUCKET));
    assert_eq!(counts.len(), 40_000);
    assert!(counts.values().all(|&n| n == 1));
    assert_eq!(counts.keys().cloned().collect::<BTreeSet<_>>(), submitted);
    assert_eq!(rig.delivery.status().pending_bytes, 0);
}

/// Submits abandoned mid-way (their future dropped while waiting for the group write) never
/// leave a group without a writer: flush and shutdown finish, every completed submit is
/// delivered once, and an abandoned record is delivered at most once (once if it was spooled).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn abandoned_submits_neither_hang_nor_duplicate() {
    let rig = rig(|c| c.max_records = 500).await;
    let mut tasks = Vec::new();
    for p in 0..8 {
        let d = rig.delivery.clone();
        tasks.push(tokio::spawn(async move {
            let mut done = Vec::new();
            for i in 0..600 {
                let r = record(p * 10_000 + i, "us-east-1");
                let id = r.event_id.to_string();
                if i % 3 == 0 {
                    // Polled once, then dropped: usually after staging, before the write.
                    let _ = tokio::time::timeout(std::time::Duration::ZERO, d.submit(r)).await;
                } else {
                    d.submit(r).await.unwrap();
                    done.push(id);
                }
            }
            done
        }));
    }
    let mut completed = BTreeSet::new();
    for t in tasks {
        let done = tokio::time::timeout(std::time::Duration::from_secs(60), t)
            .await
            .expect("a submit hung waiting for a group nobody writes");
        completed.extend(done.unwrap());
    }
    tokio::time::timeout(std::time::Duration::from_secs(60), rig.delivery.flush())
        .await
        .expect("flush hung on an abandoned group")
        .unwrap();
    let counts = id_counts(&read_logs(&rig.data(), BUCKET));
    assert!(counts.values().all(|&n| n == 1));
    assert!(completed.iter().all(|id| counts.contains_key(id)));
    assert!(counts.len() > completed.len(), "no abandoned submit was spooled");
    assert_eq!(rig.delivery.status().pending_bytes, 0);
    let spool = rig.dir.path().join("spool");
    tokio::time::timeout(
        std::time::Duration::from_secs(60),
        rig.delivery.clone().shutdown(),
    )
    .await
    .expect("shutdown hung")
    .unwrap();
    // Nothing is left behind for a restart to deliver again.
    assert_eq!(walk(&spool), [PathBuf::from("LOCK"), PathBuf::from("RESERVE")]);
}

/// Flushes racing with producers always finish without the clock moving: records appended just
/// before a flush sealed the spool go out with it instead of waiting for their batch's age.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flushes_racing_with_producers_complete() {
    let rig = rig(|_| {}).await;
    let mut tasks = Vec::new();
    for p in 0..4 {
        let d = rig.delivery.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..2000 {
                d.submit(record(p * 10_000 + i, "us-east-1")).await.unwrap();
            }
        }));
    }
    let mut flushes = 0;
    while !tasks.iter().all(|t| t.is_finished()) {
        tokio::time::timeout(std::time::Duration::from_secs(30), rig.delivery.flush())
            .await
            .expect("a flush hung")
            .unwrap();
        flushes += 1;
    }
    for t in tasks {
        t.await.unwrap();
    }
    rig.delivery.flush().await.unwrap();
    assert!(flushes > 0);
    let counts = id_counts(&read_logs(&rig.data(), BUCKET));
    assert_eq!(counts.len(), 8000);
    assert!(counts.values().all(|&n| n == 1));
}
