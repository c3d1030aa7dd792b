//! The answer key and the security plane: every labelled event exists in the files as labelled,
//! the attack path keeps its promises, the benign presets label nothing, the plane's records
//! have their services' shapes, and shards write exactly the single run.

use std::collections::{BTreeMap, HashMap, HashSet};

use generator::labels::{self, Alert, LabelLine, Score};
use serde_json::Value;

use crate::{all_records, files, options, run};

/// Runs `scenario` for `days` days with an answer key; its records by eventID and its labels.
fn labelled(scenario: &str, days: i64) -> (HashMap<String, Value>, Vec<LabelLine>) {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("labels.jsonl");
    let mut opts = options(dir.path(), scenario, days, 11);
    opts.labels = Some(key.clone());
    let summary = run(&opts);
    let lines = labels::parse_labels(&std::fs::read_to_string(&key).unwrap()).unwrap();
    assert_eq!(summary.labels, lines.len() as u64);
    let records = all_records(dir.path(), "test-bucket")
        .into_iter()
        .map(|r| (r["eventID"].as_str().unwrap().to_owned(), r))
        .collect();
    (records, lines)
}

#[test]
fn every_preset_labels_only_events_that_exist_as_labelled_and_records_carry_no_label() {
    for (preset, _) in generator::scenario::PRESETS {
        let (records, lines) = labelled(preset, 2);
        for l in &lines {
            let r = records
                .get(&l.event_id)
                .unwrap_or_else(|| panic!("{preset}: labelled {} is not in the files", l.event_id));
            assert_eq!(r["eventName"], l.event_name.as_str(), "{preset}");
            assert_eq!(r["eventSource"], l.event_source.as_str(), "{preset}");
            assert_eq!(r["eventTime"], l.event_time.as_str(), "{preset}");
            assert_eq!(r["recipientAccountId"], l.account.as_str(), "{preset}");
            assert_eq!(r["awsRegion"], l.region.as_str(), "{preset}");
            assert!(
                l.mitre.starts_with('T') && !l.technique.is_empty(),
                "{preset}: {l:?}"
            );
        }
        for r in records.values() {
            let text = r.to_string();
            assert!(
                !text.contains("T1") || !text.contains("mitre"),
                "{preset}: a label leaked into {text}"
            );
        }
        let benign = matches!(*preset, "demo" | "ml-pipeline" | "audit-noise");
        assert_eq!(lines.is_empty(), benign, "{preset}: {} labels", lines.len());
    }
}

/// The steps of the leaked-key path, in the order it promises.
const PATH: &[&[&str]] = &[
    &["whoami"],
    &["iam-enumeration"],
    &["personalize-enumeration"],
    &[
        "create-user",
        "create-access-key",
        "attach-admin-policy",
        "create-login-profile",
        "console-login",
    ],
    &["stop-logging", "trail-bucket-policy"],
    &["dataset-export", "mass-deletion"],
];

#[test]
fn the_leaked_key_path_runs_in_order_from_one_address_by_one_actor() {
    let (records, lines) = labelled("suspicious", 4);
    let path: Vec<&LabelLine> = lines
        .iter()
        .filter(|l| l.step.starts_with("leaked-key/"))
        .collect();
    assert!(!path.is_empty());
    // Instances start with their `whoami`; within one, each phase comes after the last.
    let mut instances: Vec<Vec<&LabelLine>> = Vec::new();
    for l in path {
        if l.step == "leaked-key/whoami" {
            instances.push(Vec::new());
        }
        instances.last_mut().unwrap().push(l);
    }
    assert!(instances.len() >= 3, "{} instances in 4 days", instances.len());
    let mut seen_persistence = HashSet::new();
    for inst in &instances {
        let phase = |l: &LabelLine| {
            let step = l.step.trim_start_matches("leaked-key/");
            PATH.iter().position(|p| p.contains(&step)).unwrap()
        };
        let phases: Vec<usize> = inst.iter().map(|l| phase(l)).collect();
        assert!(phases.windows(2).all(|w| w[0] <= w[1]), "{phases:?}");
        let distinct: HashSet<usize> = phases.iter().copied().collect();
        assert_eq!(distinct.len(), PATH.len(), "every phase is played: {phases:?}");
        let actors: HashSet<&str> = inst.iter().map(|l| l.actor.as_str()).collect();
        assert_eq!(actors.len(), 1);
        // API calls come from the intruder's one address (console sign-ins too).
        let ips: HashSet<&str> = inst
            .iter()
            .map(|l| records[&l.event_id]["sourceIPAddress"].as_str().unwrap())
            .collect();
        assert_eq!(ips.len(), 1, "{ips:?}");
        for l in inst {
            seen_persistence.insert(l.step.clone());
        }
        let stop = inst.iter().find(|l| l.step == "leaked-key/stop-logging").unwrap();
        let r = &records[&stop.event_id];
        assert_eq!(r["eventSource"], "cloudtrail.amazonaws.com");
        assert_eq!(r["requestParameters"]["name"], "generator");
        assert_eq!(stop.mitre, "T1562.008");
    }
    assert!(
        seen_persistence.contains("leaked-key/create-access-key")
            || seen_persistence.contains("leaked-key/create-login-profile")
    );
}

#[test]
fn plane_records_have_their_services_shapes() {
    let (records, _) = labelled("audit-noise", 1);
    let by_name =
        |name: &str| -> Vec<&Value> { records.values().filter(|r| r["eventName"] == name).collect() };
    let logins = by_name("ConsoleLogin");
    assert!(!logins.is_empty());
    for r in &logins {
        assert_eq!(r["eventType"], "AwsConsoleSignIn");
        assert_eq!(r["eventSource"], "signin.amazonaws.com");
        assert_eq!(r["awsRegion"], "us-east-1");
        assert!(r["requestParameters"].is_null());
        let outcome = r["responseElements"]["ConsoleLogin"].as_str().unwrap();
        assert!(r.get("errorCode").is_none());
        assert_eq!(outcome == "Failure", r["errorMessage"] == "Failed authentication");
        assert!(["Yes", "No"].contains(&r["additionalEventData"]["MFAUsed"].as_str().unwrap()));
        assert!(r["userIdentity"].get("accessKeyId").is_none_or(|k| k == ""));
    }
    // Users with MFA use it: nearly every successful login says so.
    let mfa = logins
        .iter()
        .filter(|r| r["additionalEventData"]["MFAUsed"] == "Yes")
        .count();
    assert!(mfa * 10 >= logins.len() * 8, "{mfa} of {}", logins.len());
    for r in by_name("AssumeRole") {
        assert_eq!(r["eventSource"], "sts.amazonaws.com");
        assert!(
            r["requestParameters"]["roleArn"]
                .as_str()
                .unwrap()
                .contains(":role/")
        );
        let creds = &r["responseElements"]["credentials"];
        assert!(creds["accessKeyId"].as_str().unwrap().starts_with("ASIA"));
        assert!(creds.get("secretAccessKey").is_none());
        assert!(creds["expiration"].as_str().unwrap().contains(", 2026 "));
        assert_eq!(r["resources"][0]["type"], "AWS::IAM::Role");
        // A service's AssumeRole is recorded with a sharedEventID, a person's without.
        assert_eq!(
            r["userIdentity"]["type"] == "AWSService",
            r["sharedEventID"].is_string(),
            "{r}"
        );
    }
    assert!(
        by_name("AssumeRole")
            .iter()
            .any(|r| r["userIdentity"]["type"] == "AWSService")
    );
    let acls = by_name("GetBucketAcl");
    assert!(!acls.is_empty());
    for r in acls {
        assert_eq!(r["userIdentity"]["invokedBy"], "cloudtrail.amazonaws.com");
        assert_eq!(r["sourceIPAddress"], "cloudtrail.amazonaws.com");
        assert!(r["sharedEventID"].is_string());
        assert_eq!(r["requestParameters"]["bucketName"], "test-bucket");
        assert_eq!(r["resources"][0]["ARN"], "arn:aws:s3:::test-bucket");
    }
    // IAM is a global service: its calls are recorded once per account, in us-east-1.
    for r in records
        .values()
        .filter(|r| r["eventSource"] == "iam.amazonaws.com")
    {
        assert_eq!(r["awsRegion"], "us-east-1");
    }
    // Console sessions follow successful sign-ins: IAM users with an `ASIA` key and a session.
    let console: Vec<&Value> = records
        .values()
        .filter(|r| r["sessionCredentialFromConsole"] == "true")
        .collect();
    assert!(!console.is_empty());
    let login_ips: HashSet<&str> = logins
        .iter()
        .filter(|r| r["responseElements"]["ConsoleLogin"] == "Success")
        .map(|r| r["sourceIPAddress"].as_str().unwrap())
        .collect();
    for r in console {
        let id = &r["userIdentity"];
        assert_eq!(id["type"], "IAMUser");
        assert!(id["accessKeyId"].as_str().unwrap().starts_with("ASIA"));
        let created = id["sessionContext"]["attributes"]["creationDate"]
            .as_str()
            .unwrap();
        assert!(created <= r["eventTime"].as_str().unwrap());
        assert!(login_ips.contains(r["sourceIPAddress"].as_str().unwrap()));
        assert!(r["userAgent"].as_str().unwrap().starts_with("Mozilla/5.0"));
    }
    assert!(!by_name("GetSessionToken").is_empty() && !by_name("AssumeRoleWithWebIdentity").is_empty());
    for r in by_name("GetSessionToken") {
        assert!(r["requestParameters"].get("tokenCode").is_none());
    }
}

#[test]
fn scoring_a_rule_set_against_the_answer_key() {
    let (records, lines) = labelled("suspicious", 2);
    // A rule for "trail stopped", and one that fires on every denied call.
    let mut alerts = Vec::new();
    for r in records.values() {
        let id = r["eventID"].as_str().unwrap().to_owned();
        if r["eventName"] == "StopLogging" {
            alerts.push(Alert {
                event_id: id.clone(),
                technique: Some("T1562.008".into()),
                rule: Some("trail-stopped".into()),
            });
        }
        if r["errorCode"] == "AccessDenied" {
            alerts.push(Alert {
                event_id: id,
                technique: None,
                rule: Some("access-denied".into()),
            });
        }
    }
    let score = Score::new(&lines, &alerts);
    let impair = score.techniques.iter().find(|t| t.mitre == "T1562.008").unwrap();
    assert_eq!(impair.precision(), Some(1.0));
    assert!(impair.detected >= 1 && impair.detected <= impair.labelled);
    let rules: BTreeMap<&str, (usize, usize)> = score
        .rules
        .iter()
        .map(|r| (r.rule.as_str(), (r.alerts, r.true_positives)))
        .collect();
    assert_eq!(rules["trail-stopped"].0, rules["trail-stopped"].1);
    // Denials come from the labelled probes and from ordinary mistakes alike.
    assert!(rules["access-denied"].1 > 0);
    assert!(score.to_string().contains("T1562.008"));
}

#[test]
fn shards_together_write_exactly_the_single_run() {
    for preset in ["audit-noise", "suspicious"] {
        let single = tempfile::tempdir().unwrap();
        let mut opts = options(single.path(), preset, 1, 5);
        opts.labels = Some(single.path().join("labels.jsonl"));
        run(&opts);
        let want = files(single.path());
        let mut got = Vec::new();
        let mut label_lines = Vec::new();
        for k in 0..3 {
            let dir = tempfile::tempdir().unwrap();
            let mut opts = options(dir.path(), preset, 1, 5);
            opts.shard = Some((k, 3));
            opts.labels = Some(dir.path().join("labels.jsonl"));
            run(&opts);
            for (name, bytes) in files(dir.path()) {
                if name == "labels.jsonl" {
                    label_lines.extend(labels::parse_labels(std::str::from_utf8(&bytes).unwrap()).unwrap());
                } else {
                    got.push((name, bytes));
                }
            }
        }
        got.sort();
        let want_logs: Vec<_> = want
            .iter()
            .filter(|(n, _)| n != "labels.jsonl")
            .cloned()
            .collect();
        assert_eq!(got.len(), want_logs.len(), "{preset}");
        assert!(
            got == want_logs,
            "{preset}: the shards' files differ from the single run's"
        );
        let single_labels = std::fs::read_to_string(single.path().join("labels.jsonl")).unwrap();
        assert_eq!(labels::to_jsonl(label_lines), single_labels, "{preset}");
    }
}
