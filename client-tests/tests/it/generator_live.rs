//! `generator live` against an in-process emulator: the calls the generator reports are exactly
//! the records the emulator delivers, operation by operation and error by error.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use client_tests::{Emulator, Options, checks};
use generator::live::{EMULATOR_DEFAULT_CONFIG, LiveOptions, parse_identities, run};
use generator::scenario::{Scenario, WorkflowName};
use serde_json::Value;

/// Live options against `emu` with its default identities and clock, setup on.
fn live_options(emu: &Emulator, scenario: &str, rate: f64, secs: u64) -> LiveOptions {
    let scenario = Scenario::load(scenario).expect("a preset");
    let identities = parse_identities(EMULATOR_DEFAULT_CONFIG).expect("the default identities");
    let run = (rate, Duration::from_secs(secs));
    LiveOptions {
        concurrency: 8,
        seed: 3,
        clock: emu.shared_clock(),
        ..LiveOptions::new(emu.endpoint().to_owned(), scenario, run, identities)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn generator_live_reports_exactly_what_is_recorded() {
    // A workflow-heavy preset and one full of everyday mistakes, side by side.
    tokio::join!(live_run("ml-pipeline"), live_run("audit-noise"));
}

async fn live_run(scenario: &str) {
    let emu = Emulator::start().await;
    let mut options = live_options(&emu, scenario, 150.0, 2);
    options.seed = 7;
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
    assert_eq!(setup.len() as u64, report.setup_calls, "{}", report.text());
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
    // The report counts the errors the SDK saw; records name some as CloudTrail does.
    let mut expected_failed: BTreeMap<String, u64> = BTreeMap::new();
    for (code, n) in &report.by_error {
        *expected_failed
            .entry(cloudtrail::rules::recorded_error_code(code).to_owned())
            .or_default() += n;
    }
    assert_eq!(
        failed,
        expected_failed,
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

/// Against the emulator, a live run meets only the errors its scenario planned: the setup phase
/// brings the inventory the everyday calls name to life (trained versions, campaigns, trackers,
/// recommenders) before the clock starts, so what fails is the planned mistakes and the
/// workflows' confirmations of their deletions. The planned errors come from the plan itself
/// (the report counts the planned mistakes it sent), never from figures written here.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn generator_live_meets_only_planned_errors() {
    tokio::join!(planned_only("ml-pipeline"), planned_only("audit-noise"));
}

async fn planned_only(name: &str) {
    // Lifecycles take 0.02% of their real-world time, and the emulator runs on the system
    // clock, so the setup really waits for trainings and deployments.
    let scale = 0.0002;
    let emu = Emulator::start_with(Options::default().time_scale(scale).real_time()).await;
    let mut scenario = Scenario::load(name).expect("a preset");
    for b in &mut scenario.behaviours {
        b.live_time_scale = scale;
    }
    // The codes the scenario can mean to meet live: its mistakes a client can provoke (all but
    // throttling; a denial by signing as an identity whose deny rules refuse the call), and the
    // not-found answers that confirm a workflow's deletions.
    let mut planned: BTreeSet<String> = scenario
        .behaviours
        .iter()
        .filter(|b| b.error_rate > 0.0)
        .flat_map(|b| b.errors.keys().cloned())
        .filter(|c| c != "ThrottlingException")
        .collect();
    if scenario
        .behaviours
        .iter()
        .any(|b| b.workflow == Some(WorkflowName::MlPipeline))
    {
        planned.insert("ResourceNotFoundException".to_owned());
    }
    let mut options = live_options(&emu, "audit-noise", 200.0, 2);
    options.scenario = scenario;
    options.seed = 5;
    let report = run(options, std::future::pending::<()>())
        .await
        .expect("a live run");
    assert_eq!(report.transport_errors, 0, "{}", report.text());
    assert!(report.setup_present > 10, "{}", report.text());
    for code in report.planned_errors.keys() {
        assert!(
            planned.contains(code),
            "{name}: {code} was never planned\n{}",
            report.text()
        );
    }
    for (code, n) in &report.by_error {
        assert!(
            planned.contains(code),
            "{name}: unplanned error code {code}\n{}",
            report.text()
        );
        let meant = report.planned_errors.get(code).copied().unwrap_or(0);
        assert!(
            *n <= meant,
            "{name}: {n} {code} but {meant} planned\n{}",
            report.text()
        );
    }
    assert!(report.unplanned_errors.is_empty(), "{}", report.text());
    // The timed calls reached resources the setup made: reads and serving calls succeeded.
    let ok: u64 = report.by_operation.values().sum();
    assert!(ok * 10 >= report.completed * 8, "{}", report.text());
    eprintln!(
        "{name}: setup {} resources in {:.2} s ({} calls); timed {} calls, errors {:?}, planned {:?}",
        report.setup_present,
        report.setup_secs,
        report.setup_calls,
        report.completed,
        report.by_error,
        report.planned_errors
    );
}

/// Live `ml-pipeline` runs its workflow closed-loop against the emulator's lifecycles: every
/// resource is waited for until ACTIVE before it is used, server-made identifiers (the solution
/// version's ARN, the tracker's tracking ID) are taken from the answers, recommendations are
/// served, and clean-up deletes everything down to the dataset group. The only errors the
/// workflow meets are the Describe calls that confirm a deletion.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn generator_live_ml_pipeline_completes_its_workflow() {
    // Lifecycles take 0.02% of their real-world time: a training of 20 minutes takes 0.24 s.
    let scale = 0.0002;
    // The emulator runs on the system clock here, so resources really are pending while the
    // generator polls them.
    let emu = Emulator::start_with(Options::default().time_scale(scale).real_time()).await;
    let mut scenario = Scenario::load("ml-pipeline").expect("a preset");
    // A short compressed day so the first workflow starts early in the run.
    scenario.events_per_day = 60;
    for b in &mut scenario.behaviours {
        b.live_time_scale = scale;
    }
    // The run must outlast one whole workflow (every resource polled until ACTIVE, then the
    // deletes) even while the rest of the suite loads the machine: 3 s was not always enough.
    let mut options = live_options(&emu, "audit-noise", 300.0, 6);
    options.scenario = scenario;
    options.seed = 11;
    let report = run(options, std::future::pending::<()>())
        .await
        .expect("a live run");
    assert_eq!(report.transport_errors, 0, "{}", report.text());
    assert_eq!(report.completed, report.scheduled, "{}", report.text());

    let delivered = emu.delivered().await;
    checks::assert_invariants(&delivered.records);
    // The pipeline's script is the only boto3 client of the preset.
    let pipeline: Vec<&Value> = delivered
        .records
        .iter()
        .filter(|r| r["userAgent"].as_str().is_some_and(|ua| ua.starts_with("Boto3/")))
        .collect();
    let s = |v: &Value| v.as_str().unwrap_or_default().to_owned();
    let ok = |name: &str, needle: &str| {
        pipeline
            .iter()
            .any(|r| r["eventName"] == name && r["errorCode"].is_null() && r.to_string().contains(needle))
    };
    // Every error the workflow met is a Describe confirming that a deleted resource is gone.
    for r in &pipeline {
        if let Some(code) = r["errorCode"].as_str() {
            let name = s(&r["eventName"]);
            assert!(
                code == "ResourceNotFoundException" && name.starts_with("Describe"),
                "unintended workflow error: {r}"
            );
            let kind = name.trim_start_matches("Describe");
            let params = &r["requestParameters"];
            assert!(
                pipeline.iter().any(|d| d["eventName"] == format!("Delete{kind}")
                    && d["errorCode"].is_null()
                    && &d["requestParameters"] == params),
                "{name} found nothing that was deleted: {r}"
            );
        }
    }
    // At least one instance ran from its dataset group to its deletion.
    let complete: Vec<String> = pipeline
        .iter()
        .filter(|r| r["eventName"] == "CreateDatasetGroup" && r["errorCode"].is_null())
        .map(|r| s(&r["responseElements"]["datasetGroupArn"]))
        .filter(|dsg| {
            let base = dsg.rsplit('/').next().unwrap_or_default().to_owned();
            [
                "DescribeDatasetGroup",
                "CreateDataset",
                "CreateDatasetImportJob",
                "CreateSolutionVersion",
                "CreateCampaign",
                "GetRecommendations",
                "DeleteCampaign",
                "DeleteSolution",
                "DeleteDataset",
                "DeleteSchema",
                "DeleteDatasetGroup",
            ]
            .iter()
            .all(|op| ok(op, &base))
        })
        .collect();
    assert!(!complete.is_empty(), "no complete workflow\n{}", report.text());
    // Identifiers the server made were used: the version the service named was described and
    // deployed, and events went to the tracking ID the service issued.
    let versions: Vec<String> = pipeline
        .iter()
        .filter(|r| r["eventName"] == "CreateSolutionVersion" && r["errorCode"].is_null())
        .map(|r| s(&r["responseElements"]["solutionVersionArn"]))
        .collect();
    assert!(versions.iter().any(|v| ok("CreateCampaign", v)));
    assert!(ok("PutEvents", ""), "no event accepted\n{}", report.text());
    let cleaned = report
        .by_operation
        .get("DeleteDatasetGroup")
        .copied()
        .unwrap_or(0);
    assert!(cleaned >= 1, "{}", report.text());
    eprintln!(
        "ml-pipeline closed-loop: {} complete workflow(s), {} calls, {} by the pipeline",
        complete.len(),
        report.completed,
        pipeline.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_records_carry_the_scenarios_addresses_behind_a_trusted_proxy() {
    let emu = Emulator::start_with(Options::default().file(|f| {
        f.server.trusted_proxies = vec![std::net::IpAddr::from([127, 0, 0, 1])];
    }))
    .await;
    let mut options = live_options(&emu, "audit-noise", 100.0, 1);
    options.concurrency = 4;
    options.seed = 11;
    options.setup = false;
    let report = run(options, std::future::pending::<()>())
        .await
        .expect("a live run");
    assert!(report.completed > 0, "{}", report.text());
    let delivered = emu.delivered().await;
    let addresses: BTreeSet<&str> = delivered
        .records
        .iter()
        .filter(|r| r["userIdentity"]["invokedBy"].is_null())
        .filter_map(|r| r["sourceIPAddress"].as_str())
        .collect();
    assert!(!addresses.is_empty());
    assert!(
        addresses
            .iter()
            .all(|a| a.parse::<std::net::IpAddr>().is_ok_and(|ip| !ip.is_loopback())),
        "{addresses:?}"
    );
}

/// Live `suspicious`: the answer key names every labelled call by the requestID the emulator
/// answered with, and each names a record of that operation; STS and CloudTrail calls of the
/// plane are sent and recorded.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_labels_name_the_records_of_the_calls_sent() {
    let emu = Emulator::start().await;
    let dir = tempfile::tempdir().expect("a temp dir");
    let key = dir.path().join("labels.jsonl");
    let mut options = live_options(&emu, "suspicious", 300.0, 3);
    options.labels = Some(key.clone());
    let report = run(options, std::future::pending::<()>())
        .await
        .expect("a live run");
    assert_eq!(report.transport_errors, 0, "{}", report.text());
    let labels = generator::labels::parse_labels(&std::fs::read_to_string(&key).expect("the answer key"))
        .expect("an answer key");
    assert!(!labels.is_empty(), "{}", report.text());
    let delivered = emu.delivered().await;
    checks::assert_invariants(&delivered.records);
    let by_request: BTreeMap<&str, &Value> = delivered
        .records
        .iter()
        .filter_map(|r| r["requestID"].as_str().map(|id| (id, r)))
        .collect();
    // A StopLogging the run sent stops the trail: what was answered after it is not delivered.
    let stopped = delivered
        .records
        .iter()
        .filter(|r| r["eventName"] == "StopLogging" && r.get("errorCode").is_none())
        .filter_map(|r| r["eventTime"].as_str())
        .min();
    let mut found = 0;
    for l in &labels {
        assert!(l.event_id.is_empty(), "the server assigns eventIDs: {l:?}");
        let rid = l.request_id.as_deref().expect("a requestID");
        match by_request.get(rid) {
            Some(r) => {
                assert_eq!(r["eventName"], l.event_name.as_str());
                assert_eq!(r["eventSource"], l.event_source.as_str());
                found += 1;
            }
            None => assert!(
                stopped.is_some_and(|t| t <= l.event_time.as_str()),
                "labelled {l:?} has no record"
            ),
        }
    }
    assert!(found > 0);
    // The plane's STS calls were sent and recorded.
    let sts: BTreeSet<&str> = delivered
        .records
        .iter()
        .filter(|r| r["eventSource"] == "sts.amazonaws.com")
        .filter_map(|r| r["eventName"].as_str())
        .collect();
    assert!(
        sts.contains("GetCallerIdentity") || sts.contains("AssumeRole"),
        "{sts:?}"
    );
}

/// Two live shards against one emulator split the calls: each sends its schedule, neither meets
/// an error its scenario did not plan, and the records are the two runs' calls together.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_shards_split_the_calls_between_them() {
    let emu = Emulator::start().await;
    let shard = |k| {
        let mut o = live_options(&emu, "audit-noise", 100.0, 2);
        o.shard = Some((k, 2));
        o
    };
    let (a, b) = tokio::join!(
        run(shard(0), std::future::pending::<()>()),
        run(shard(1), std::future::pending::<()>())
    );
    let (a, b) = (a.expect("shard 0"), b.expect("shard 1"));
    for r in [&a, &b] {
        assert_eq!(r.completed, r.scheduled, "{}", r.text());
        assert_eq!(r.transport_errors, 0, "{}", r.text());
    }
    let delivered = emu.delivered().await;
    let timed = delivered
        .records
        .iter()
        .filter(|r| r["userAgent"] != "generator-setup")
        .count() as u64;
    assert_eq!(timed, a.completed + b.completed);
}
