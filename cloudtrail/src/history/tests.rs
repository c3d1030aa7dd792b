//! Unit tests of Event history: lookups by every attribute across pages and days, request
//! checks and tokens, restart and retention, the queue, resources, the rate limit.

use std::fs;
use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use time::macros::datetime;
use time::{Duration, OffsetDateTime};

use super::segments::arn_type;
use super::*;
use crate::clock::{Clock, ManualClock};
use crate::identity::UserIdentity;
use crate::record::{EventCategory, Record, Resource};

const ACCT: &str = "123456789012";

fn rec(t: OffsetDateTime, name: &str, ro: bool, user: &str) -> Record {
    let ident = UserIdentity::iam_user(
        ACCT,
        "/",
        user,
        "AIDAEXAMPLE",
        &format!("AKIA{}", user.to_uppercase()),
    );
    let mut r = Record::api_call(
        ident,
        t,
        "dynamodb.amazonaws.com",
        name,
        "us-east-1",
        "192.0.2.1",
        ACCT,
    );
    r.read_only = Some(ro);
    r
}

fn setup() -> (tempfile::TempDir, Arc<ManualClock>, History) {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(datetime!(2026-03-10 12:00:00 UTC));
    let h = History::open(dir.path().join("history"), clock.clone()).unwrap();
    (dir, clock, h)
}

fn all(h: &History, req: LookupRequest) -> Vec<LookupEvent> {
    let mut out = Vec::new();
    let mut req = req;
    loop {
        let page = h.lookup(ACCT, "us-east-1", &req).unwrap();
        out.extend(page.events);
        match page.next_token {
            Some(t) => req.next_token = Some(t),
            None => return out,
        }
    }
}

#[test]
fn newest_first_across_pages_and_days_with_each_attribute() {
    let (_d, _clock, h) = setup();
    let base = datetime!(2026-03-08 23:59:58 UTC);
    let mut recs = Vec::new();
    for i in 0..37i64 {
        let mut r = rec(
            base + Duration::seconds(i / 3),
            if i % 2 == 0 { "CreateTable" } else { "ListTables" },
            i % 2 == 1,
            if i % 5 == 0 { "bob" } else { "alice" },
        );
        if i % 4 == 0 {
            r.resources = vec![Resource {
                arn: Some(format!("arn:aws:dynamodb:us-east-1:{ACCT}:table/t{i}")),
                arn_prefix: None,
                account_id: Some(ACCT.into()),
                resource_type: Some("AWS::DynamoDB::Table".into()),
            }];
        }
        assert!(h.append(&r).unwrap());
        recs.push(r);
    }
    // Data events are never in history.
    let mut d = rec(base, "GetItem", false, "alice");
    d.event_category = EventCategory::Data;
    assert!(!h.append(&d).unwrap());

    let expect = |f: &dyn Fn(&Record) -> bool| -> Vec<String> {
        let mut v: Vec<&Record> = recs.iter().filter(|r| f(r)).collect();
        // Newest first; equal seconds: appended later first.
        v.reverse();
        v.sort_by_key(|b| std::cmp::Reverse(b.event_time));
        v.into_iter().map(|r| r.event_id.to_string()).collect()
    };
    let got = |k: &str, v: &str, max: i64| -> Vec<String> {
        all(
            &h,
            LookupRequest {
                attributes: vec![(k.into(), v.into())],
                max_results: Some(max),
                ..Default::default()
            },
        )
        .into_iter()
        .map(|e| e.event_id)
        .collect()
    };
    let everything: Vec<String> = all(
        &h,
        LookupRequest {
            max_results: Some(4),
            ..Default::default()
        },
    )
    .into_iter()
    .map(|e| e.event_id)
    .collect();
    assert_eq!(everything, expect(&|_| true));
    assert_eq!(
        got("EventName", "CreateTable", 5),
        expect(&|r| r.event_name == "CreateTable")
    );
    assert_eq!(got("ReadOnly", "true", 3), expect(&|r| r.read_only == Some(true)));
    assert_eq!(
        got("Username", "bob", 2),
        expect(&|r| r.user_identity.user_name.as_deref() == Some("bob"))
    );
    assert_eq!(
        got("AccessKeyId", "AKIABOB", 50),
        expect(&|r| r.user_identity.user_name.as_deref() == Some("bob"))
    );
    assert_eq!(got("EventSource", "dynamodb.amazonaws.com", 7).len(), 37);
    assert_eq!(
        got("ResourceType", "AWS::DynamoDB::Table", 2),
        expect(&|r| !r.resources.is_empty())
    );
    let one = recs[8].resources[0].arn.clone().unwrap();
    assert_eq!(got("ResourceName", &one, 1), vec![recs[8].event_id.to_string()]);
    assert_eq!(
        got("EventId", &recs[3].event_id.to_string(), 50),
        vec![recs[3].event_id.to_string()]
    );
    assert!(got("EventName", "Nope", 50).is_empty());
    // The record round-trips as CloudTrailEvent.
    let e = all(
        &h,
        LookupRequest {
            attributes: vec![("EventId".into(), recs[3].event_id.to_string())],
            ..Default::default()
        },
    );
    let back: Record = serde_json::from_str(&e[0].cloud_trail_event).unwrap();
    assert_eq!(back, recs[3]);
    assert_eq!(e[0].read_only, "true");
    // Time bounds are inclusive.
    let t0 = base + Duration::seconds(2);
    let t1 = base + Duration::seconds(4);
    let bounded = all(
        &h,
        LookupRequest {
            start: Some(t0),
            end: Some(t1),
            ..Default::default()
        },
    );
    assert_eq!(bounded.len(), 9);
    assert!(
        bounded
            .iter()
            .all(|e| (t0.unix_timestamp()..=t1.unix_timestamp()).contains(&e.event_time))
    );
}

#[test]
fn validation_and_tokens_bound_to_their_query() {
    let (_d, _clock, h) = setup();
    for i in 0..5 {
        h.append(&rec(
            datetime!(2026-03-10 10:00:00 UTC) + Duration::seconds(i),
            "CreateSchema",
            false,
            "alice",
        ))
        .unwrap();
    }
    let err = |r: LookupRequest| h.lookup(ACCT, "us-east-1", &r).unwrap_err().code();
    let max = |n: i64| LookupRequest {
        max_results: Some(n),
        ..Default::default()
    };
    let attrs = |a: &[(&str, &str)]| LookupRequest {
        attributes: a
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
        ..Default::default()
    };
    for (req, code) in [
        (max(0), "InvalidMaxResultsException"),
        (max(51), "InvalidMaxResultsException"),
        (
            attrs(&[("EventName", "a"), ("EventName", "b")]),
            "InvalidLookupAttributesException",
        ),
        (attrs(&[("Bogus", "a")]), "InvalidLookupAttributesException"),
        (attrs(&[("EventName", "")]), "InvalidLookupAttributesException"),
        (
            LookupRequest {
                category: Some("management".into()),
                ..Default::default()
            },
            "InvalidEventCategoryException",
        ),
        (
            LookupRequest {
                start: Some(datetime!(2026-03-10 11:00:00 UTC)),
                end: Some(datetime!(2026-03-10 10:00:00 UTC)),
                ..Default::default()
            },
            "InvalidTimeRangeException",
        ),
        (
            LookupRequest {
                next_token: Some("garbage!".into()),
                ..Default::default()
            },
            "InvalidNextTokenException",
        ),
    ] {
        assert_eq!(err(req.clone()), code, "{req:?}");
    }
    let page = h
        .lookup(
            ACCT,
            "us-east-1",
            &LookupRequest {
                max_results: Some(2),
                ..Default::default()
            },
        )
        .unwrap();
    let tok = page.next_token.unwrap();
    // Same query, other MaxResults: fine. Other attribute: rejected.
    h.lookup(
        ACCT,
        "us-east-1",
        &LookupRequest {
            max_results: Some(1),
            next_token: Some(tok.clone()),
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(
        err(LookupRequest {
            attributes: vec![("EventName".into(), "CreateSchema".into())],
            next_token: Some(tok.clone()),
            ..Default::default()
        }),
        "InvalidNextTokenException"
    );
    assert_eq!(
        h.lookup(
            ACCT,
            "eu-west-1",
            &LookupRequest {
                next_token: Some(tok),
                ..Default::default()
            }
        )
        .unwrap_err()
        .code(),
        "InvalidNextTokenException"
    );
    // Insights: valid, and empty.
    let p = h
        .lookup(
            ACCT,
            "us-east-1",
            &LookupRequest {
                category: Some("insight".into()),
                ..Default::default()
            },
        )
        .unwrap();
    assert!(p.events.is_empty() && p.next_token.is_none());
    // Other Regions and accounts see nothing.
    assert!(
        h.lookup(ACCT, "eu-west-1", &LookupRequest::default())
            .unwrap()
            .events
            .is_empty()
    );
    assert!(
        h.lookup("111122223333", "us-east-1", &LookupRequest::default())
            .unwrap()
            .events
            .is_empty()
    );
}

#[test]
fn survives_restart_and_ages_out_after_ninety_days() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(datetime!(2026-03-10 12:00:00 UTC));
    let path = dir.path().join("h");
    let first: Vec<String> = {
        let h = History::open(&path, clock.clone()).unwrap();
        (0..3)
            .map(|i| {
                let r = rec(
                    datetime!(2026-03-10 11:00:00 UTC),
                    &format!("Op{i}"),
                    false,
                    "alice",
                );
                h.append(&r).unwrap();
                r.event_id.to_string()
            })
            .collect()
    };
    // Simulate a crash mid-write: a torn line at the end of the segment.
    let seg = path.join(ACCT).join("us-east-1").join("2026-03-10.jsonl");
    fs::OpenOptions::new()
        .append(true)
        .open(&seg)
        .unwrap()
        .write_all(b"{\"t\":17")
        .unwrap();
    let h = History::open(&path, clock.clone()).unwrap();
    let r = rec(datetime!(2026-03-10 11:00:00 UTC), "After", false, "alice");
    h.append(&r).unwrap();
    let ids: Vec<String> = all(&h, LookupRequest::default())
        .into_iter()
        .map(|e| e.event_id)
        .collect();
    // Same second: the one appended after the restart is newest.
    assert_eq!(
        ids,
        [
            r.event_id.to_string(),
            first[2].clone(),
            first[1].clone(),
            first[0].clone()
        ]
    );
    clock.advance(std::time::Duration::from_secs(91 * 86_400));
    assert!(all(&h, LookupRequest::default()).is_empty());
    // An append on a new day prunes the old segment.
    h.append(&rec(clock.now(), "Late", false, "alice")).unwrap();
    h.flush().unwrap();
    assert!(!seg.exists());
    assert_eq!(all(&h, LookupRequest::default()).len(), 1);
}

#[test]
fn appends_are_queued_and_a_lookup_sees_them() {
    // No writer thread: only the lookup can write, so what the append did is plain to see.
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(datetime!(2026-03-10 12:00:00 UTC));
    let h = History::open_idle(dir.path().join("history"), clock.clone()).unwrap();
    let r = rec(clock.now(), "Queued", false, "alice");
    let json = r.to_json();
    assert!(h.append_json(&r, &json).unwrap());
    // Queued, not written: the request path did no file I/O.
    let seg_dir = h.shared.dir.join(ACCT).join("us-east-1");
    let on_disk = |d: &Path| -> u64 {
        fs::read_dir(d)
            .map(|rd| rd.map(|e| e.unwrap().metadata().unwrap().len()).sum())
            .unwrap_or(0)
    };
    assert!(h.lock().queued_bytes > 0);
    assert_eq!(on_disk(&seg_dir), 0);
    let got = all(&h, LookupRequest::default());
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].event_id, r.event_id.to_string());
    assert_eq!(got[0].cloud_trail_event.as_bytes(), json.as_slice());
    assert_eq!(on_disk(&seg_dir), h.bytes(ACCT, "us-east-1"));
}

#[test]
fn resources_come_from_the_arns_a_call_names() {
    let mut r = rec(
        datetime!(2026-03-10 10:00:00 UTC),
        "CreateEventDataStore",
        false,
        "alice",
    );
    r.request_parameters = Some(serde_json::json!({
        "name": "eds",
        "eventDataStoreArn": "arn:aws:cloudtrail:us-east-1:123456789012:event-data-store/e",
        "functionArn": "arn:aws:lambda:us-east-1:123456789012:function:f",
        "bogus": "arn:nothing",
    }));
    r.response_elements =
        Some(serde_json::json!({"databaseArn": "arn:aws:glue:us-east-1:123456789012:database/d"}));
    let got = lookup_resources(&r);
    let types: Vec<&str> = got.iter().filter_map(|(t, _)| t.as_deref()).collect();
    assert_eq!(
        types,
        [
            "AWS::CloudTrail::EventDataStore",
            "AWS::Lambda::Function",
            "AWS::Glue::Database"
        ]
    );
    assert_eq!(
        arn_type("arn:aws:cloudtrail:us-east-1:123456789012:trail/t").as_deref(),
        Some("AWS::CloudTrail::Trail")
    );
    assert_eq!(
        arn_type("arn:aws:iam::123456789012:role/service-role/r").as_deref(),
        Some("AWS::IAM::Role")
    );
    assert_eq!(arn_type("not an arn"), None);
}

#[test]
fn throttle_two_per_second() {
    let clock = ManualClock::new(datetime!(2026-03-10 12:00:00 UTC));
    let t = LookupThrottle::new(2.0, clock.clone());
    t.check(ACCT, "us-east-1").unwrap();
    t.check(ACCT, "us-east-1").unwrap();
    assert_eq!(
        t.check(ACCT, "us-east-1").unwrap_err().code(),
        "ThrottlingException"
    );
    // Other Regions have their own budget.
    t.check(ACCT, "eu-west-1").unwrap();
    clock.advance(std::time::Duration::from_millis(500));
    t.check(ACCT, "us-east-1").unwrap();
    assert!(t.check(ACCT, "us-east-1").is_err());
    clock.advance(std::time::Duration::from_secs(10));
    t.check(ACCT, "us-east-1").unwrap();
    t.check(ACCT, "us-east-1").unwrap();
    assert!(t.check(ACCT, "us-east-1").is_err());
    let off = LookupThrottle::new(0.0, clock);
    for _ in 0..100 {
        off.check(ACCT, "us-east-1").unwrap();
    }
}

#[test]
fn beyond_its_size_budget_history_drops_whole_days_oldest_first() {
    let (_dir, clock, h) = setup();
    let now = clock.now();
    let days = [now - Duration::days(3), now - Duration::days(2), now];
    for (i, t) in days.iter().enumerate() {
        for j in 0..3 {
            h.append(&rec(
                *t + Duration::seconds(j),
                &format!("Day{i}"),
                false,
                "alice",
            ))
            .unwrap();
        }
    }
    let per_day = h.bytes(ACCT, "us-east-1") / 3;
    // Room for two days: the oldest goes, the others stay.
    h.set_max_bytes(per_day * 2 + per_day / 2);
    h.append(&rec(now + Duration::seconds(5), "Day2", false, "alice"))
        .unwrap();
    let names: std::collections::BTreeSet<String> = all(&h, LookupRequest::default())
        .into_iter()
        .map(|e| e.event_name)
        .collect();
    assert_eq!(names, ["Day1", "Day2"].map(String::from).into());
    assert!(h.total_bytes() <= per_day * 2 + per_day / 2);
    // Two days left, each a header file and a records file.
    let files = fs::read_dir(h.shared.dir.join(ACCT).join("us-east-1"))
        .unwrap()
        .count();
    assert_eq!(files, 4);
    // However small the budget, today's events are kept.
    h.set_max_bytes(1);
    h.append(&rec(now + Duration::seconds(6), "Day2", false, "alice"))
        .unwrap();
    let left = all(&h, LookupRequest::default());
    assert!(!left.is_empty() && left.iter().all(|e| e.event_name == "Day2"));
}

#[test]
fn reconcile_brings_back_events_a_crash_kept_from_the_segment_once_each() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("history");
    let clock = ManualClock::new(datetime!(2026-03-10 12:00:00 UTC));
    let written = rec(clock.now(), "Written", false, "alice");
    let lost: Vec<Record> = (0..3)
        .map(|i| rec(clock.now() + Duration::seconds(i), "Lost", false, "alice"))
        .collect();
    {
        let h = History::open_idle(&path, clock.clone()).unwrap();
        h.append(&written).unwrap();
        h.flush().unwrap();
        for r in &lost {
            h.append(r).unwrap();
        }
        // Killed with the lines still queued: nothing writes them.
        std::mem::forget(h);
    }
    let h = History::open_idle(&path, clock.clone()).unwrap();
    assert_eq!(all(&h, LookupRequest::default()).len(), 1);
    let jsons: Vec<Vec<u8>> = std::iter::once(&written)
        .chain(&lost)
        .map(|r| r.to_json())
        .collect();
    let refs: Vec<&[u8]> = jsons.iter().map(Vec::as_slice).collect();
    assert_eq!(h.reconcile(&refs), 3);
    // A second start finds them all there.
    assert_eq!(h.reconcile(&refs), 0);
    let got = all(&h, LookupRequest::default());
    assert_eq!(got.len(), 4);
    let mut ids: Vec<String> = got.into_iter().map(|e| e.event_id).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 4);
}

#[test]
fn line_keys_are_read_without_parsing_the_header() {
    assert_eq!(
        super::query::fast_key(br#"{"t":1764720000,"s":42,"id":"x"}	{}"#),
        Some((1_764_720_000, 42))
    );
    assert_eq!(super::query::fast_key(br#"{"t":-5,"s":0}	{}"#), Some((-5, 0)));
    for odd in [
        &br#"{"s":1,"t":2}"#[..],
        br#"{"t":,"s":1}"#,
        br#"{"t":1,"s":}"#,
        b"",
        br#"{"t":1}"#,
    ] {
        assert_eq!(
            super::query::fast_key(odd),
            None,
            "{}",
            String::from_utf8_lossy(odd)
        );
    }
}

#[test]
fn records_are_stored_compressed_in_blocks_and_each_reads_back_whole() {
    let (_d, clock, h) = setup();
    let base = clock.now() - Duration::hours(2);
    // Enough records for several blocks, written in more than one batch.
    let mut raw = 0usize;
    let mut want = std::collections::HashMap::new();
    for i in 0..1500i64 {
        let mut r = rec(
            base + Duration::seconds(i),
            &format!("Op{}", i % 7),
            i % 2 == 0,
            "alice",
        );
        r.request_parameters = Some(serde_json::json!({"tableName": format!("table-{i}"), "limit": i}));
        raw += r.to_json().len();
        want.insert(r.event_id.to_string(), r.to_json());
        h.append(&r).unwrap();
        if i == 700 {
            h.flush().unwrap();
        }
    }
    let got = all(&h, LookupRequest::default());
    assert_eq!(got.len(), 1500);
    for e in &got {
        assert_eq!(e.cloud_trail_event.as_bytes(), want[&e.event_id].as_slice());
    }
    // Headers stay plain for the scan; the records take a fraction of their size.
    let disk = h.bytes(ACCT, "us-east-1");
    assert!(
        disk * 2 < raw as u64,
        "{disk} bytes on disk for {raw} bytes of records"
    );
    let seg = h.shared.dir.join(ACCT).join("us-east-1").join("2026-03-10.jsonl");
    let on_disk =
        fs::metadata(&seg).unwrap().len() + fs::metadata(seg.with_extension("records")).unwrap().len();
    assert_eq!(disk, on_disk);
    // A lookup by attribute reads its page from the blocks too.
    let named = all(
        &h,
        LookupRequest {
            attributes: vec![("EventName".into(), "Op3".into())],
            ..Default::default()
        },
    );
    assert_eq!(named.len(), 1500 / 7 + usize::from(1500 % 7 > 3));
    assert!(
        named
            .iter()
            .all(|e| e.cloud_trail_event.contains("\"eventName\":\"Op3\""))
    );
}

#[test]
fn segments_of_the_older_format_with_records_in_line_are_still_read() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(datetime!(2026-03-10 12:00:00 UTC));
    let path = dir.path().join("h");
    let old = rec(datetime!(2026-03-10 10:00:00 UTC), "Old", false, "alice");
    let seg = path.join(ACCT).join("us-east-1");
    fs::create_dir_all(&seg).unwrap();
    let mut id = [0u8; 36];
    let header = serde_json::to_string(&super::segments::Header::of(&old, &mut id, 7)).unwrap();
    let json = String::from_utf8(old.to_json()).unwrap();
    fs::write(seg.join("2026-03-10.jsonl"), format!("{header}\t{json}\n")).unwrap();
    let h = History::open(&path, clock.clone()).unwrap();
    let new = rec(datetime!(2026-03-10 11:00:00 UTC), "New", false, "alice");
    h.append(&new).unwrap();
    let got = all(&h, LookupRequest::default());
    let names: Vec<&str> = got.iter().map(|e| e.event_name.as_str()).collect();
    assert_eq!(names, ["New", "Old"]);
    assert_eq!(got[1].cloud_trail_event, json);
    assert_eq!(got[0].cloud_trail_event.as_bytes(), new.to_json().as_slice());
}

#[test]
fn a_damaged_block_loses_its_events_from_the_page_not_the_lookup() {
    let (_d, clock, h) = setup();
    let first = rec(clock.now() - Duration::hours(1), "First", false, "alice");
    h.append(&first).unwrap();
    h.flush().unwrap();
    let records = h
        .shared
        .dir
        .join(ACCT)
        .join("us-east-1")
        .join("2026-03-10.records");
    let len = fs::metadata(&records).unwrap().len();
    fs::write(&records, vec![0xffu8; len as usize]).unwrap();
    let second = rec(clock.now(), "Second", false, "alice");
    h.append(&second).unwrap();
    let got = all(&h, LookupRequest::default());
    let names: Vec<&str> = got.iter().map(|e| e.event_name.as_str()).collect();
    assert_eq!(names, ["Second"]);
}

#[test]
fn a_block_line_naming_absurd_sizes_is_a_damaged_block_not_an_allocation() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(datetime!(2026-03-10 12:00:00 UTC));
    let path = dir.path().join("h");
    let seg = path.join(ACCT).join("us-east-1");
    fs::create_dir_all(&seg).unwrap();
    let r = rec(datetime!(2026-03-10 10:00:00 UTC), "Forged", false, "alice");
    let mut id = [0u8; 36];
    let header = serde_json::to_string(&super::segments::Header::of(&r, &mut id, 1)).unwrap();
    fs::write(
        seg.join("2026-03-10.jsonl"),
        format!("{{\"b\":0,\"z\":4000000000,\"n\":4000000000}}\n{header}\n"),
    )
    .unwrap();
    fs::write(seg.join("2026-03-10.records"), b"not deflate").unwrap();
    let h = History::open(&path, clock.clone()).unwrap();
    let ok = rec(datetime!(2026-03-10 11:00:00 UTC), "Real", false, "alice");
    h.append(&ok).unwrap();
    let names: Vec<String> = all(&h, LookupRequest::default())
        .into_iter()
        .map(|e| e.event_name)
        .collect();
    assert_eq!(names, ["Real"]);
}
