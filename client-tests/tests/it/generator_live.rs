//! `generator live` against an in-process emulator: the calls the generator reports are exactly
//! the records the emulator delivers, operation by operation and error by error.

use std::collections::BTreeMap;
use std::time::Duration;

use client_tests::{Emulator, checks};
use generator::live::{Arrival, EMULATOR_DEFAULT_CONFIG, LiveOptions, parse_identities, run};
use generator::scenario::Scenario;
use serde_json::Value;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn generator_live_reports_exactly_what_is_recorded() {
    // A workflow-heavy preset and one full of everyday mistakes, side by side.
    tokio::join!(live_run("ml-pipeline"), live_run("audit-noise"));
}

async fn live_run(scenario: &str) {
    let emu = Emulator::start().await;
    let options = LiveOptions {
        endpoint: emu.endpoint().to_owned(),
        scenario: Scenario::load(scenario).expect("a preset"),
        rate: 150.0,
        duration: Duration::from_secs(2),
        concurrency: 8,
        seed: 7,
        arrival: Arrival::Constant,
        identities: parse_identities(EMULATOR_DEFAULT_CONFIG).expect("the default identities"),
        regions: None,
        progress: false,
        setup: true,
    };
    let report = run(options, std::future::pending::<()>())
        .await
        .expect("a live run");
    assert_eq!(report.transport_errors, 0, "{}", report.text());
    assert_eq!(report.completed, report.scheduled, "{}", report.text());
    assert!(report.completed >= 250, "{}", report.text());

    let delivered = emu.delivered().await;
    checks::assert_invariants(&delivered.records);
    // The setup phase (creating what everyday calls refer to) is reported apart from the run.
    let (setup, timed): (Vec<&Value>, Vec<&Value>) = delivered
        .records
        .iter()
        .partition(|r| r["userAgent"] == "generator-setup");
    let setup_creates = setup
        .iter()
        .filter(|r| r["eventName"].as_str().is_some_and(|n| n.starts_with("Create")))
        .count();
    assert_eq!(setup_creates as u64, report.setup_calls, "{}", report.text());
    let mut ok: BTreeMap<String, u64> = BTreeMap::new();
    let mut failed: BTreeMap<String, u64> = BTreeMap::new();
    for r in &timed {
        match r["errorCode"].as_str() {
            Some(code) => *failed.entry(code.to_owned()).or_default() += 1,
            None => {
                *ok.entry(r["eventName"].as_str().unwrap_or_default().to_owned())
                    .or_default() += 1
            }
        }
    }
    assert_eq!(
        ok,
        report.by_operation,
        "successful calls by operation: records vs report\n{}",
        report.text()
    );
    assert_eq!(
        failed,
        report.by_error,
        "failed calls by error code: records vs report\n{}",
        report.text()
    );
    assert_eq!(timed.len() as u64, report.completed, "{}", report.text());
    // Every record came from the generator's own user agents, not from this harness.
    assert!(timed.iter().all(|r| {
        r["userAgent"]
            .as_str()
            .is_some_and(|ua| !ua.starts_with("client-tests"))
    }));
    eprintln!(
        "{scenario}: {} setup + {} timed records, ok {ok:?}, errors {failed:?}",
        setup.len(),
        timed.len()
    );
}
