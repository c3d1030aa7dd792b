//! File bodies: gzip that standard tools read, `Records` first, shuffled, late and duplicate
//! records, routing per (trail, account, Region), and notifications per file.

use std::collections::BTreeSet;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use cloudtrail::delivery::{Delivery, Destination, Router};
use cloudtrail::logfile::{encode_body, gunzip, gzip};
use cloudtrail::notify::NotificationLog;
use cloudtrail::store::LocalDir;
use cloudtrail::{ManualClock, Record};
use serde_json::Value;
use sha2::Digest;

use crate::common::*;

#[test]
fn body_round_trip_and_records_first() {
    let records: Vec<Record> = (0..50).map(|i| record(i, "us-east-1")).collect();
    let body = encode_body(&records);
    assert!(body.starts_with(b"{\"Records\":[{\"eventVersion\":\"1.11\","));
    let gz = gzip(&body, 6);
    assert_eq!(gunzip(&gz).unwrap(), body);
    let v: Value = serde_json::from_slice(&body).unwrap();
    let back: Vec<Record> = serde_json::from_value(v["Records"].clone()).unwrap();
    assert_eq!(back, records);
}

/// Python's `zlib.decompressobj(MAX_WBITS|16)` (what `aws cloudtrail validate-logs` uses) and
/// `gzip -d` both read our members. Skipped with a note where the tools are missing.
#[test]
fn standard_tools_read_our_gzip() {
    let dir = tempfile::tempdir().unwrap();
    let body = encode_body(&(0..200).map(|i| record(i, "us-east-1")).collect::<Vec<_>>());
    let path = dir.path().join("x.json.gz");
    std::fs::write(&path, gzip(&body, 6)).unwrap();
    let py = Command::new("python3")
        .arg("-c")
        .arg(
            "import sys, zlib\n\
             d = zlib.decompressobj(zlib.MAX_WBITS | 16)\n\
             out = d.decompress(open(sys.argv[1], 'rb').read())\n\
             assert d.eof and not d.unused_data\n\
             sys.stdout.buffer.write(out)",
        )
        .arg(&path)
        .output();
    match py {
        Ok(o) => {
            assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
            assert_eq!(o.stdout, body);
        }
        Err(e) => eprintln!("python3 not available ({e}); skipped the zlib check"),
    }
    match Command::new("gzip").arg("-dc").arg(&path).output() {
        Ok(o) => {
            assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
            assert_eq!(o.stdout, body);
        }
        Err(e) => eprintln!("gzip not available ({e}); skipped the gzip -d check"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn files_are_shuffled_and_hashes_are_of_the_uncompressed_body() {
    let rig = rig(|_| {}).await;
    for i in 0..300 {
        rig.delivery.submit(record(i, "us-east-1")).await.unwrap();
    }
    let logs = rig.delivery.flush().await.unwrap();
    assert_eq!(logs.len(), 1);
    let log = &logs[0];
    assert_eq!(log.records, 300);
    assert_eq!(log.oldest_event, T0);
    assert_eq!(log.newest_event, T0 + Duration::from_secs(299));
    let gz = std::fs::read(rig.data().join(BUCKET).join(&log.key)).unwrap();
    assert_eq!(gz.len(), log.compressed_bytes);
    let body = gunzip(&gz).unwrap();
    assert_eq!(hex::encode(sha2::Sha256::digest(&body)), log.sha256_hex);
    let v: Value = serde_json::from_slice(&body).unwrap();
    let times: Vec<&str> = v["Records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["eventTime"].as_str().unwrap())
        .collect();
    let mut sorted = times.clone();
    sorted.sort_unstable();
    assert_ne!(times, sorted, "records came out in time order");
    // The object carries S3-like metadata outside the key space.
    let store = LocalDir::new(rig.data());
    let meta = store.head(BUCKET, &log.key).unwrap().unwrap();
    assert_eq!(meta.content_type, "application/x-gzip");
    assert_eq!(meta.size, gz.len() as u64);
    assert_eq!(meta.last_modified, log.delivered_at);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn late_records_land_in_a_later_file_exactly_once() {
    let mut rig = rig(|c| c.late_rate = 0.3).await;
    for i in 0..400 {
        rig.delivery.submit(record(i, "us-east-1")).await.unwrap();
    }
    rig.clock.advance(Duration::from_secs(300));
    let first = rig.next_log().await;
    assert!(
        first.records < 400 && first.records > 150,
        "{} records on time",
        first.records
    );
    // The held records wait for the next file.
    rig.delivery.tick().await.unwrap();
    assert_eq!(rig.delivery.status().batched_records, 400 - first.records);
    let rest = rig.delivery.flush().await.unwrap();
    let total: usize = rest.iter().map(|l| l.records).sum();
    assert_eq!(first.records + total, 400);
    let counts = id_counts(&read_logs(&rig.data(), BUCKET));
    assert_eq!(counts.len(), 400);
    assert!(counts.values().all(|&n| n == 1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duplicates_only_when_asked() {
    let rig = rig(|_| {}).await;
    for i in 0..500 {
        rig.delivery.submit(record(i, "us-east-1")).await.unwrap();
    }
    rig.delivery.flush().await.unwrap();
    let counts = id_counts(&read_logs(&rig.data(), BUCKET));
    assert_eq!(counts.len(), 500);
    assert!(counts.values().all(|&n| n == 1));

    let rig = crate::common::rig(|c| c.duplicate_rate = 0.05).await;
    for i in 0..2000 {
        rig.delivery.submit(record(i, "us-east-1")).await.unwrap();
    }
    let logs = rig.delivery.flush().await.unwrap();
    let files = read_logs(&rig.data(), BUCKET);
    let counts = id_counts(&files);
    assert_eq!(counts.len(), 2000);
    let dups = counts.values().filter(|&&n| n == 2).count();
    assert!((40..=180).contains(&dups), "{dups} duplicates");
    assert!(counts.values().all(|&n| n <= 2));
    assert_eq!(logs.iter().map(|l| l.records).sum::<usize>(), 2000 + dups);
    // A duplicate is an identical copy of the record.
    let recs: Vec<&Value> = files.values().flatten().collect();
    let dup_id = counts.iter().find(|(_, n)| **n == 2).unwrap().0;
    let copies: Vec<&&Value> = recs.iter().filter(|r| r["eventID"] == dup_id.as_str()).collect();
    assert_eq!(copies[0], copies[1]);
}

/// Sends each record to two trails with different buckets and prefixes.
struct TwoTrails;

impl Router for TwoTrails {
    fn route(&self, r: &Record) -> Vec<Destination> {
        let mut a = destination();
        a.log.account = r.recipient_account_id.clone();
        a.log.region = r.aws_region.clone();
        let mut b = a.clone();
        b.trail = "arn:aws:cloudtrail:us-east-1:123456789012:trail/org".into();
        b.log.bucket = "org-bucket".into();
        b.log.prefix = None;
        b.log.org_id = Some("o-abcdefghij".into());
        vec![a, b]
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batches_per_trail_account_and_region_with_notifications() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(T0);
    let data = dir.path().join("data");
    let notes = Arc::new(NotificationLog::new(
        &data,
        "arn:aws:sns:us-east-1:123456789012:ct-topic",
        clock.clone(),
        vec![],
    ));
    let delivery = Delivery::start(
        config(&dir.path().join("spool")),
        clock.clone(),
        Arc::new(LocalDir::with_clock(&data, clock.clone())),
        Arc::new(TwoTrails),
        vec![notes.clone()],
    )
    .await
    .unwrap();
    let regions = ["us-east-1", "eu-west-1", "ap-northeast-2"];
    for i in 0..90 {
        let mut r = record(i, regions[i % 3]);
        if i % 2 == 0 {
            r.recipient_account_id = "210987654321".into();
        }
        delivery.submit(r).await.unwrap();
    }
    let logs = delivery.flush().await.unwrap();
    // 2 trails x 2 accounts x 3 Regions.
    assert_eq!(logs.len(), 12);
    let mut seen = BTreeSet::new();
    for l in &logs {
        assert_eq!(l.records, 15);
        let file = l.key.rsplit('/').next().unwrap();
        let parts: Vec<&str> = file.split('_').collect();
        seen.insert((l.trail.clone(), parts[0].to_owned(), parts[2].to_owned()));
        if l.bucket == "org-bucket" {
            assert!(l.key.starts_with(&format!(
                "AWSLogs/o-abcdefghij/{}/CloudTrail/{}/",
                parts[0], parts[2]
            )));
        } else {
            assert!(
                l.key
                    .starts_with(&format!("pfx/AWSLogs/{}/CloudTrail/{}/", parts[0], parts[2]))
            );
        }
    }
    assert_eq!(seen.len(), 12);
    assert_eq!(id_counts(&read_logs(&data, BUCKET)).len(), 90);
    assert_eq!(id_counts(&read_logs(&data, "org-bucket")).len(), 90);
    // One SNS-shaped notification per file, naming its bucket and key.
    let text = std::fs::read_to_string(notes.path()).unwrap();
    let mut announced = BTreeSet::new();
    for line in text.lines() {
        let env: Value = serde_json::from_str(line).unwrap();
        assert_eq!(env["Type"], "Notification");
        assert_eq!(env["TopicArn"], "arn:aws:sns:us-east-1:123456789012:ct-topic");
        let msg: Value = serde_json::from_str(env["Message"].as_str().unwrap()).unwrap();
        let keys = msg["s3ObjectKey"].as_array().unwrap();
        assert_eq!(keys.len(), 1);
        announced.insert((
            msg["s3Bucket"].as_str().unwrap().to_owned(),
            keys[0].as_str().unwrap().to_owned(),
        ));
    }
    let written: BTreeSet<(String, String)> =
        logs.iter().map(|l| (l.bucket.clone(), l.key.clone())).collect();
    assert_eq!(announced, written);
    delivery.shutdown().await.unwrap();
}
