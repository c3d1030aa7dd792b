//! Event history benchmark: append rate against serialising the same records (the baseline,
//! same process), lookup latency, and resident memory as the history grows, to show memory does
//! not grow with the number of events. Run with `cargo bench -p cloudtrail --bench history`
//! (`HISTORY_EVENTS=N` to change the size, default 300000).

use std::time::{Duration, Instant};

use cloudtrail::clock::{ManualClock, SharedClock};
use cloudtrail::history::{History, LookupRequest};
use cloudtrail::{Record, UserIdentity};
use time::macros::datetime;

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

fn record(i: u64, start: time::OffsetDateTime) -> Record {
    let users = ["alice", "bob", "carol", "dave"];
    let user = users[(i % 4) as usize];
    let ident = UserIdentity::iam_user(
        "123456789012",
        "/",
        user,
        "AIDAEXAMPLE",
        &format!("AKIA{}", user.to_uppercase()),
    );
    let name = if i.is_multiple_of(10) {
        "CreateSchema"
    } else {
        "ListDatasetGroups"
    };
    // Three days of events, one every ~0.9 s.
    let t = start + time::Duration::milliseconds((i * 900) as i64);
    let mut r = Record::api_call(
        ident,
        t,
        "personalize.amazonaws.com",
        name,
        "us-east-1",
        "192.0.2.1",
        "123456789012",
    );
    r.read_only = Some(!i.is_multiple_of(10));
    r.request_parameters = Some(serde_json::json!({"maxResults": 10, "nextToken": null}));
    r.request_id = Some(format!("req-{i}"));
    r
}

fn time_it<T>(f: impl FnOnce() -> T) -> (T, Duration) {
    let t = Instant::now();
    let out = f();
    (out, t.elapsed())
}

fn main() {
    let n: u64 = std::env::var("HISTORY_EVENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(300_000);
    let start = datetime!(2026-03-08 00:00:00 UTC);
    let clock = ManualClock::new(start + time::Duration::days(4));
    let shared: SharedClock = clock.clone();
    let dir = tempfile::tempdir().expect("temp dir");
    let history = History::open(dir.path().join("h"), shared).expect("open");

    // Baseline: only serialising the records (what any recorder pays anyway).
    let (bytes, base) = time_it(|| (0..n).map(|i| record(i, start).to_json().len()).sum::<usize>());
    let rss_before = rss_kib();
    let (_, append) = time_it(|| {
        for i in 0..n {
            history.append(&record(i, start)).expect("append");
        }
    });
    let rss_half = rss_kib();
    // Twice as many events: resident memory should not follow.
    for i in n..2 * n {
        history.append(&record(i, start)).expect("append");
    }
    let rss_full = rss_kib();
    // What the recorder pays per call: the JSON is already made for the spool, so only the
    // header is formatted and the line queued (the writer thread does the file writes).
    let m = n.min(50_000);
    let premade: Vec<(Record, Vec<u8>)> = (0..m)
        .map(|i| {
            let r = record(2 * n + i, start);
            let j = r.to_json();
            (r, j)
        })
        .collect();
    let (_, queued) = time_it(|| {
        for (r, j) in &premade {
            history.append_json(r, j).expect("append");
        }
    });
    drop(premade);
    let disk = history.bytes("123456789012", "us-east-1");

    let lookup = |req: LookupRequest| {
        let (page, d) = time_it(|| history.lookup("123456789012", "us-east-1", &req).expect("lookup"));
        (page, d)
    };
    let (first, first_d) = lookup(LookupRequest::default());
    let (_, next_d) = lookup(LookupRequest {
        next_token: first.next_token.clone(),
        ..Default::default()
    });
    let (rare, rare_d) = lookup(LookupRequest {
        attributes: vec![("EventId".into(), "00000000-0000-0000-0000-000000000000".into())],
        ..Default::default()
    });
    assert!(rare.events.is_empty());
    let (named, named_d) = lookup(LookupRequest {
        attributes: vec![("EventName".into(), "CreateSchema".into())],
        ..Default::default()
    });
    assert_eq!(named.events.len(), 50);
    let rss_after = rss_kib();

    let per = |d: Duration, k: u64| k as f64 / d.as_secs_f64();
    println!(
        "history benchmark: {n} events x 2 ({:.1} MiB of record JSON per {n})",
        bytes as f64 / 1048576.0
    );
    println!(
        "append:      {:>10.0} events/s   (baseline serialise only: {:.0}/s, ratio {:.2})",
        per(append, n),
        per(base, n),
        per(append, n) / per(base, n)
    );
    println!(
        "append_json: {:>10.0} events/s   ({:.2} us per event on the request path, JSON reused from the spool)",
        per(queued, m),
        queued.as_secs_f64() * 1e6 / m as f64
    );
    println!(
        "disk:        {:.1} MiB for {} events",
        disk as f64 / 1048576.0,
        2 * n + m
    );
    println!(
        "rss:         {} KiB before, {} KiB after {n}, {} KiB after {} ({:+} KiB for the second {n})",
        rss_before,
        rss_half,
        rss_full,
        2 * n,
        rss_full as i64 - rss_half as i64
    );
    println!(
        "lookup:      first page {:?}, next page {:?}, EventName page {:?}",
        first_d, next_d, named_d
    );
    println!("lookup:      no match (scans every segment) {:?}", rare_d);
    println!("rss after lookups: {rss_after} KiB");
}
