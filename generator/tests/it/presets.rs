//! Each preset produces what it promises.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde_json::Value;

use crate::{all_records, event_time, options, run};

fn records(scenario: &str, days: i64, events_per_day: Option<u64>, seed: u64) -> Vec<Value> {
    let dir = tempfile::tempdir().unwrap();
    let mut o = options(dir.path(), scenario, days, seed);
    o.events_per_day = events_per_day;
    run(&o);
    let mut r = all_records(dir.path(), "test-bucket");
    r.sort_by_key(|r| (event_time(r), r["eventID"].as_str().unwrap().to_owned()));
    r
}

fn s(v: &Value) -> &str {
    v.as_str().unwrap_or_default()
}

#[test]
fn suspicious_has_every_detection_signal() {
    let r = records("suspicious", 2, None, 3);
    let root = r.iter().filter(|r| r["userIdentity"]["type"] == "Root").count();
    assert!(root > 10, "root calls: {root}");
    let denied = r
        .iter()
        .filter(|r| r["errorCode"] == "AccessDenied")
        .collect::<Vec<_>>();
    assert!(denied.len() > 10, "denied calls: {}", denied.len());
    assert!(
        denied
            .iter()
            .all(|d| s(&d["errorMessage"]).contains("is not authorized to perform: personalize:"))
    );
    for ua in ["kali", "python-requests/", "curl/"] {
        assert!(
            r.iter().any(|r| s(&r["userAgent"]).contains(ua)),
            "no {ua} user agent"
        );
    }
    // Enumeration: one principal with 40+ List/Describe calls within ten minutes from one address.
    let mut best = 0;
    let reads: Vec<&Value> = r
        .iter()
        .filter(|r| s(&r["eventName"]).starts_with("List") || s(&r["eventName"]).starts_with("Describe"))
        .collect();
    for (i, a) in reads.iter().enumerate() {
        let n = reads[i..]
            .iter()
            .take_while(|b| (event_time(b) - event_time(a)).whole_minutes() < 10)
            .filter(|b| {
                b["userIdentity"]["arn"] == a["userIdentity"]["arn"]
                    && b["sourceIPAddress"] == a["sourceIPAddress"]
            })
            .count();
        best = best.max(n);
    }
    assert!(best >= 40, "largest enumeration burst {best}");
    // Mass deletion: 20+ Delete calls by one principal within half an hour.
    let deletes: Vec<&Value> = r
        .iter()
        .filter(|r| s(&r["eventName"]).starts_with("Delete"))
        .collect();
    let mut best = 0;
    for (i, a) in deletes.iter().enumerate() {
        let n = deletes[i..]
            .iter()
            .take_while(|b| (event_time(b) - event_time(a)).whole_minutes() < 30)
            .filter(|b| b["userIdentity"]["arn"] == a["userIdentity"]["arn"])
            .count();
        best = best.max(n);
    }
    assert!(best >= 20, "largest deletion burst {best}");
    // One role session (same ASIA key) used from two addresses.
    let mut by_key: HashMap<String, BTreeSet<String>> = HashMap::new();
    for x in r.iter().filter(|r| r["userIdentity"]["type"] == "AssumedRole") {
        by_key
            .entry(s(&x["userIdentity"]["accessKeyId"]).to_owned())
            .or_default()
            .insert(s(&x["sourceIPAddress"]).to_owned());
    }
    assert!(
        by_key.values().any(|ips| ips.len() >= 2),
        "no session from two places"
    );
}

#[test]
fn ml_pipeline_runs_the_workflow_in_order() {
    let r = records("ml-pipeline", 1, Some(100), 4);
    let pipeline: Vec<&Value> = r
        .iter()
        .filter(|r| s(&r["userIdentity"]["arn"]).contains("assumed-role/personalize-pipeline/"))
        .collect();
    let created = pipeline
        .iter()
        .find(|r| r["eventName"] == "CreateDatasetGroup")
        .expect("a pipeline run");
    let group = s(&created["responseElements"]["datasetGroupArn"]).to_owned();
    let name = group.rsplit('/').next().unwrap().to_owned();
    let run: Vec<&str> = pipeline
        .iter()
        .filter(|r| {
            r.to_string().contains(&name)
                || matches!(
                    s(&r["eventName"]),
                    "GetRecommendations"
                        | "PutEvents"
                        | "CreateSolutionVersion"
                        | "DescribeSolutionVersion"
                        | "GetSolutionMetrics"
                        | "CreateEventTracker"
                        | "DescribeEventTracker"
                        | "DeleteEventTracker"
                )
        })
        .map(|r| s(&r["eventName"]))
        .collect();
    let expected = [
        "CreateDatasetGroup",
        "DescribeDatasetGroup",
        "CreateSchema",
        "CreateDataset",
        "DescribeDataset",
        "CreateDatasetImportJob",
        "DescribeDatasetImportJob",
        "CreateRecommender",
        "CreateSolution",
        "DescribeSolution",
        "CreateSolutionVersion",
        "DescribeSolutionVersion",
        "GetSolutionMetrics",
        "CreateCampaign",
        "DescribeCampaign",
        "CreateEventTracker",
        "DescribeEventTracker",
        "DescribeRecommender",
        "GetRecommendations",
        "PutEvents",
        "DeleteCampaign",
        "DeleteRecommender",
        "DeleteEventTracker",
        "DescribeCampaign",
        "DescribeRecommender",
        "DescribeEventTracker",
        "DeleteSolution",
        "DescribeSolution",
        "DeleteDataset",
        "DescribeDataset",
        "DeleteSchema",
        "DeleteDatasetGroup",
        "DescribeDatasetGroup",
    ];
    let mut pos = 0;
    for want in expected {
        match run[pos..].iter().position(|n| *n == want) {
            Some(i) => pos += i + 1,
            None => panic!("{want} missing after position {pos} in {run:?}"),
        }
    }
    assert_eq!(
        run.iter().filter(|n| **n == "CreateDataset").count() % 3,
        0,
        "three datasets per run"
    );
    assert!(
        run.iter().filter(|n| **n == "DescribeSolutionVersion").count() >= 30,
        "polling while training"
    );
    let data: Vec<&&Value> = pipeline
        .iter()
        .filter(|r| matches!(s(&r["eventName"]), "GetRecommendations" | "PutEvents"))
        .collect();
    assert!(
        data.iter()
            .all(|r| r["eventCategory"] == "Data" && r["managementEvent"] == false)
    );
    assert!(
        data.iter()
            .any(|r| r["requestParameters"]["eventList"][0] == "HIDDEN_DUE_TO_SECURITY_REASONS")
    );
    // Clean-up waits for each deletion: a resource is found gone before what it depended on is
    // deleted, as the service requires.
    let gone = |op: &str| {
        pipeline
            .iter()
            .position(|r| r["eventName"] == op && r["errorCode"] == "ResourceNotFoundException")
            .unwrap_or_else(|| panic!("no {op} finding the resource gone"))
    };
    let first = |op: &str| pipeline.iter().position(|r| r["eventName"] == op).unwrap();
    assert!(gone("DescribeCampaign") < first("DeleteSolution"));
    assert!(gone("DescribeSolution") < first("DeleteDataset"));
    assert!(gone("DescribeDataset") < first("DeleteSchema"));
    assert!(first("DeleteCampaign") < gone("DescribeCampaign"));
    // The clean-up's final Describe finds the group gone.
    let last = pipeline
        .iter()
        .rfind(|r| {
            r["eventName"] == "DescribeDatasetGroup" && s(&r["requestParameters"]["datasetGroupArn"]) == group
        })
        .unwrap();
    assert_eq!(last["errorCode"], "ResourceNotFoundException");
}

#[test]
fn audit_noise_has_many_principals_and_the_usual_mistakes() {
    let r = records("audit-noise", 1, Some(1500), 5);
    let principals: BTreeSet<&str> = r
        .iter()
        .filter_map(|r| r["userIdentity"]["arn"].as_str())
        .collect();
    assert!(principals.len() >= 60, "{} principals", principals.len());
    let accounts: BTreeSet<&str> = r.iter().map(|r| s(&r["recipientAccountId"])).collect();
    assert_eq!(accounts.len(), 3);
    let mut errors: BTreeMap<&str, usize> = BTreeMap::new();
    for x in &r {
        if let Some(c) = x["errorCode"].as_str() {
            *errors.entry(c).or_default() += 1;
        }
    }
    for code in [
        "ResourceNotFoundException",
        "ResourceAlreadyExistsException",
        "InvalidInputException",
        "ThrottlingException",
    ] {
        assert!(errors.get(code).copied().unwrap_or(0) > 5, "{code}: {errors:?}");
    }
    let failed: usize = errors.values().sum();
    let rate = failed as f64 / r.len() as f64;
    assert!((0.04..0.15).contains(&rate), "error rate {rate}");
    let types: BTreeSet<&str> = r.iter().map(|r| s(&r["userIdentity"]["type"])).collect();
    for t in ["IAMUser", "AssumedRole", "FederatedUser"] {
        assert!(types.contains(t), "{types:?}");
    }
    let writes = r.iter().filter(|r| r["readOnly"] == false).count();
    assert!(
        writes * 10 > r.len() && writes * 3 < r.len(),
        "writes {writes} of {}",
        r.len()
    );
}

#[test]
fn demo_follows_the_working_day_and_week() {
    // The people, not the scripted pipeline (whose runs are few and long).
    let r: Vec<Value> = records("demo", 7, Some(400), 6)
        .into_iter()
        .filter(|x| !s(&x["userIdentity"]["arn"]).contains("personalize-pipeline"))
        .collect();
    // UTC-5 office hours: 14:00-22:00 UTC is busier than 05:00-11:00 UTC.
    let hour = |x: &Value| event_time(x).hour();
    let day = r.iter().filter(|x| (14..22).contains(&hour(x))).count();
    let night = r.iter().filter(|x| (5..11).contains(&hour(x))).count();
    assert!(day > night * 4, "day {day}, night {night}");
    let weekend = r
        .iter()
        .filter(|x| {
            matches!(
                event_time(x).weekday(),
                time::Weekday::Saturday | time::Weekday::Sunday
            )
        })
        .count();
    assert!(weekend * 10 < r.len(), "weekend {weekend} of {}", r.len());
    let agents: BTreeSet<String> = r
        .iter()
        .map(|x| {
            s(&x["userAgent"])
                .split('/')
                .next()
                .unwrap_or_default()
                .to_owned()
        })
        .collect();
    assert!(
        agents.contains("aws-cli") && agents.contains("Boto3"),
        "{agents:?}"
    );
}

#[test]
fn put_events_records_name_their_event_tracker_as_the_emulator_does() {
    // ml-pipeline sends PutEvents from its workflows and from its background mix.
    for (scenario, per_day) in [("ml-pipeline", Some(2000))] {
        let r = records(scenario, 1, per_day, 8);
        let puts: Vec<&Value> = r.iter().filter(|e| e["eventName"] == "PutEvents").collect();
        assert!(!puts.is_empty(), "{scenario}");
        for p in puts {
            let tracker = p["resources"]
                .as_array()
                .and_then(|rs| rs.iter().find(|x| x["type"] == "AWS::Personalize::EventTracker"))
                .unwrap_or_else(|| panic!("{scenario}: {p}"));
            assert!(s(&tracker["ARN"]).contains(":event-tracker/"), "{tracker}");
            assert_eq!(tracker["accountId"], p["recipientAccountId"]);
        }
    }
}
