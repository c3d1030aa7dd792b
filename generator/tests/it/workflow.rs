//! Live `ml-pipeline` workflows run closed-loop: against a server whose resources stay pending
//! for a few Describe calls, no step uses a resource before a Describe found it ACTIVE, the
//! identifiers the server made are the ones used afterwards, and clean-up deletes in dependency
//! order, waiting for each deletion.

use std::collections::{HashMap, HashSet};
use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use generator::live;
use generator::scenario::Scenario;
use http_body_util::{BodyExt, Full};
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};

/// Describe calls that answer a pending status before the resource is ACTIVE.
const PENDING_POLLS: u32 = 2;

#[derive(Default)]
struct World {
    /// Every workflow call in arrival order: (operation, body, answered status or error).
    log: Vec<(String, Value, String)>,
    polls: HashMap<String, u32>,
    deleted: HashSet<String>,
}

fn answer(world: &mut World, op: &str, body: &Value) -> (u16, Value) {
    let arn_of = |m: &str| body.get(m).and_then(Value::as_str).unwrap_or_default().to_owned();
    if let Some(kind) = op.strip_prefix("Describe") {
        let member = format!("{}{}Arn", kind[..1].to_ascii_lowercase(), &kind[1..]);
        let noun = member.trim_end_matches("Arn").to_owned();
        let arn = arn_of(&member);
        if world.deleted.contains(&arn) {
            return (
                400,
                json!({"__type": "ResourceNotFoundException", "message": format!("Resource Arn {arn} does not exist.")}),
            );
        }
        let n = world.polls.entry(arn).or_default();
        *n += 1;
        let status = if *n > PENDING_POLLS {
            "ACTIVE"
        } else {
            "CREATE IN_PROGRESS"
        };
        return (200, json!({ noun: {"status": status} }));
    }
    if op.starts_with("Delete") {
        if let Some(arn) = body
            .as_object()
            .and_then(|m| m.values().next())
            .and_then(Value::as_str)
        {
            world.deleted.insert(arn.to_owned());
        }
        return (200, json!({}));
    }
    match op {
        // The server makes these identifiers; the plan cannot know them.
        "CreateSolutionVersion" => (
            200,
            json!({"solutionVersionArn": format!("{}/srv", arn_of("solutionArn"))}),
        ),
        "CreateEventTracker" => {
            let group = arn_of("datasetGroupArn");
            let base = group.rsplit('/').next().unwrap_or_default();
            (
                200,
                json!({"eventTrackerArn": format!("arn:aws:personalize:us-east-1:123456789012:event-tracker/srv-{base}"), "trackingId": format!("tid-{base}")}),
            )
        }
        _ => (200, json!({})),
    }
}

async fn serve(listener: tokio::net::TcpListener, world: Arc<Mutex<World>>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            return;
        };
        let world = world.clone();
        tokio::spawn(async move {
            let svc = hyper::service::service_fn(move |req: Request<hyper::body::Incoming>| {
                let world = world.clone();
                async move {
                    let (parts, body) = req.into_parts();
                    let body = body.collect().await.map(|b| b.to_bytes()).unwrap_or_default();
                    let op = match parts.headers.get("x-amz-target").and_then(|v| v.to_str().ok()) {
                        Some(t) => t.strip_prefix("AmazonPersonalize.").unwrap_or("?").to_owned(),
                        None if parts.uri.path() == "/events" => "PutEvents".to_owned(),
                        None => "GetRecommendations".to_owned(),
                    };
                    let pipeline = parts
                        .headers
                        .get("user-agent")
                        .and_then(|v| v.to_str().ok())
                        .is_some_and(|ua| ua.starts_with("Boto3/"));
                    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                    let (status, out) = if pipeline {
                        let mut w = world.lock().unwrap();
                        let (status, out) = answer(&mut w, &op, &body);
                        let seen = out
                            .get("__type")
                            .and_then(Value::as_str)
                            .map(str::to_owned)
                            .or_else(|| {
                                out.as_object()
                                    .and_then(|m| m.values().next())
                                    .and_then(|v| v.get("status"))
                                    .and_then(Value::as_str)
                                    .map(str::to_owned)
                            })
                            .unwrap_or_default();
                        w.log.push((op, body, seen));
                        (status, out)
                    } else {
                        (200, json!({}))
                    };
                    let mut resp = Response::builder().status(status);
                    if let Some(t) = out.get("__type").and_then(Value::as_str) {
                        resp = resp.header("x-amzn-errortype", t);
                    }
                    Ok::<_, Infallible>(resp.body(Full::new(Bytes::from(out.to_string()))).unwrap())
                }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), svc)
                .await;
        });
    }
}

/// Every string inside `v`.
fn strings(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::String(s) => out.push(s.clone()),
        Value::Array(a) => a.iter().for_each(|x| strings(x, out)),
        Value::Object(m) => m.values().for_each(|x| strings(x, out)),
        _ => {}
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_workflows_wait_for_active_resources_and_use_server_identifiers() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let world = Arc::new(Mutex::new(World::default()));
    let server = tokio::spawn(serve(listener, world.clone()));
    let mut scenario = Scenario::load("ml-pipeline").unwrap();
    scenario.events_per_day = 50;
    for b in &mut scenario.behaviours {
        // Waits of a few microseconds: the order, not the pace, is under test.
        b.live_time_scale = 0.000_01;
    }
    let run = (1000.0, Duration::from_millis(1500));
    let opts = crate::live_options(format!("http://{addr}"), scenario, run, (4, 5));
    let report = live::run(opts, std::future::pending()).await.unwrap();
    server.abort();
    assert_eq!(report.completed, report.scheduled, "{}", report.text());
    let w = world.lock().unwrap();

    // A resource is used (or deleted) only after a Describe found it ACTIVE, and never after it
    // was deleted; a deleted resource is polled until it is gone.
    let mut active: HashSet<String> = HashSet::new();
    let mut trackers: HashMap<String, String> = HashMap::new();
    let mut deleting: HashSet<String> = HashSet::new();
    let mut gone: HashSet<String> = HashSet::new();
    let mut checked = 0;
    for (op, body, seen) in &w.log {
        let mut refs = Vec::new();
        strings(body, &mut refs);
        if let Some(kind) = op.strip_prefix("Describe") {
            let arn = refs.first().cloned().unwrap_or_default();
            match seen.as_str() {
                "ACTIVE" => {
                    assert!(
                        !deleting.contains(&arn),
                        "{arn} polled for ACTIVE after its deletion"
                    );
                    active.insert(arn);
                }
                "ResourceNotFoundException" => {
                    assert!(
                        deleting.contains(&arn),
                        "{kind} {arn} not found before any delete"
                    );
                    gone.insert(arn);
                }
                _ => {}
            }
            continue;
        }
        for r in refs
            .iter()
            .filter(|r| r.starts_with("arn:aws:personalize:us-east-1:") && !r.contains(":schema/"))
        {
            assert!(active.contains(r), "{op} used {r} before it was ACTIVE");
            assert!(!deleting.contains(r), "{op} used {r} after its deletion");
        }
        if op == "PutEvents" {
            let tid = body["trackingId"].as_str().unwrap_or_default();
            let tracker = trackers
                .get(tid)
                .unwrap_or_else(|| panic!("unknown tracking ID {tid}"));
            assert!(
                active.contains(tracker),
                "events sent before the tracker was ACTIVE"
            );
        }
        if op == "CreateEventTracker" {
            let base = body["datasetGroupArn"]
                .as_str()
                .unwrap()
                .rsplit('/')
                .next()
                .unwrap();
            trackers.insert(
                format!("tid-{base}"),
                format!("arn:aws:personalize:us-east-1:123456789012:event-tracker/srv-{base}"),
            );
        }
        if op.starts_with("Delete") {
            let arn = refs.first().cloned().unwrap_or_default();
            // What the resource depended on is deleted only once it is gone.
            deleting.insert(arn.clone());
            active.remove(&arn);
        }
        if op == "DeleteSolution" || op == "DeleteDataset" || op == "DeleteDatasetGroup" {
            let arn = refs.first().cloned().unwrap_or_default();
            let name = arn
                .rsplit(':')
                .next()
                .unwrap()
                .split('/')
                .nth(1)
                .unwrap_or_default();
            let base = name.trim_end_matches("-user-personalization");
            checked += 1;
            for d in deleting.iter().filter(|d| {
                d.contains(&format!("/{base}-campaign"))
                    || d.contains(&format!("/{base}-recommended-for-you"))
                    || d.ends_with(&format!("/srv-{base}"))
                    || (op != "DeleteSolution" && d.contains(&format!("/{base}-user-personalization")))
                    || (op == "DeleteDatasetGroup" && d.contains(&format!("dataset/{base}/")))
            }) {
                assert!(gone.contains(d), "{op} {arn} before {d} was gone");
            }
        }
    }
    assert!(checked >= 5, "clean-up order checked {checked} times");
    // The server-made identifiers were used: versions and trackers the plan could not know.
    let used = |op: &str, member: &str| -> Vec<String> {
        w.log
            .iter()
            .filter(|(o, _, _)| o == op)
            .filter_map(|(_, b, _)| b.get(member).and_then(Value::as_str).map(str::to_owned))
            .collect()
    };
    let versions = used("DescribeSolutionVersion", "solutionVersionArn");
    assert!(
        !versions.is_empty() && versions.iter().all(|v| v.ends_with("/srv")),
        "{versions:?}"
    );
    assert!(
        used("CreateCampaign", "solutionVersionArn")
            .iter()
            .all(|v| v.ends_with("/srv"))
    );
    let tids = used("PutEvents", "trackingId");
    assert!(!tids.is_empty() && tids.iter().all(|t| t.starts_with("tid-")));
    // Polls waited: each resource was found pending first.
    assert!(
        w.log
            .iter()
            .any(|(o, _, s)| o == "DescribeSolutionVersion" && s == "CREATE IN_PROGRESS")
    );
    // At least one instance ran to its end: its dataset group is gone.
    let groups_gone = gone.iter().filter(|a| a.contains(":dataset-group/")).count();
    assert!(
        groups_gone >= 1,
        "no workflow finished its clean-up\n{}",
        report.text()
    );
    assert_eq!(
        report
            .by_operation
            .get("DeleteDatasetGroup")
            .copied()
            .unwrap_or(0) as usize,
        w.log.iter().filter(|(o, _, _)| o == "DeleteDatasetGroup").count()
    );
}
