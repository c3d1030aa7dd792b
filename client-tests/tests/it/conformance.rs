//! Model-driven conformance: the botocore models installed in `.venv` (what the AWS CLI and
//! boto3 actually send) against what the emulator serves and what `docs/compatibility.md` says.
//!
//! Every operation of `personalize`, `personalize-runtime` and `personalize-events` must be
//! served (no not-implemented answer) on the model's method and path, the operation table in
//! the `personalize` crate must be exactly the model's, and every compatibility-table row must
//! agree with a probe of the running code; for CloudTrail, the table must list every model
//! operation and agree with what the server serves.

use std::collections::{BTreeMap, BTreeSet};

use client_tests::python::Venv;
use client_tests::{ALICE, Emulator};
use http::{HeaderMap, HeaderValue, Method};
use personalize::{Api, Operation};
use serde_json::Value;

const CLOUDTRAIL_PREFIX: &str = "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101";

/// Operation name -> (HTTP method, request URI) from a botocore `service-2.json`.
fn model_operations(model: &Value) -> BTreeMap<String, (String, String)> {
    model["operations"]
        .as_object()
        .expect("a model with operations")
        .iter()
        .map(|(name, op)| {
            (
                name.clone(),
                (
                    op["http"]["method"].as_str().unwrap_or_default().to_owned(),
                    op["http"]["requestUri"].as_str().unwrap_or_default().to_owned(),
                ),
            )
        })
        .collect()
}

/// Whether an answer says the operation is not served.
fn unserved(code: &str, message: &str) -> bool {
    code == "UnknownOperationException"
        || (code == personalize::ErrorKind::NotImplemented.code()
            && (message.contains("not implemented by this emulator")
                || message.contains("not supported by this emulator")))
}

/// Rows of the tables in one `## <title>` section: operation -> served according to the doc.
fn doc_rows(doc: &str, title: &str) -> Result<BTreeMap<String, Result<bool, String>>, String> {
    let heading = format!("## {title}");
    let start = doc
        .lines()
        .position(|l| l.trim() == heading)
        .ok_or_else(|| format!("docs/compatibility.md has no '{heading}' section"))?;
    let mut rows = BTreeMap::new();
    let mut state_col: Option<usize> = None;
    for line in doc.lines().skip(start + 1) {
        if line.starts_with("## ") {
            break;
        }
        let line = line.trim();
        if !line.starts_with('|') {
            state_col = None;
            continue;
        }
        let cells: Vec<String> = line
            .trim_matches('|')
            .split('|')
            .map(|c| c.trim().to_owned())
            .collect();
        if let Some(i) = cells.iter().position(|c| {
            let c = c.to_ascii_lowercase();
            c == "state" || c == "status"
        }) {
            state_col = Some(i);
            continue;
        }
        let (Some(col), Some(first)) = (state_col, cells.first()) else {
            continue;
        };
        if !first.starts_with('`') {
            continue;
        }
        let op = first
            .trim_matches('`')
            .split_whitespace()
            .next()
            .unwrap_or_default()
            .to_owned();
        let state = cells
            .get(col)
            .map(|s| s.trim_matches(|c| c == '`' || c == '*').to_ascii_lowercase())
            .unwrap_or_default();
        let served = if state.starts_with("not ") || state.starts_with("unsupported") || state == "no" {
            Ok(false)
        } else if state.starts_with("implemented")
            || state.starts_with("served")
            || state.starts_with("partial")
            || state == "yes"
        {
            Ok(true)
        } else {
            Err(format!(
                "state {state:?} is neither implemented nor not implemented"
            ))
        };
        rows.insert(op, served);
    }
    Ok(rows)
}

fn compare_doc(
    service: &str,
    rows: &BTreeMap<String, Result<bool, String>>,
    probed: &BTreeMap<String, bool>,
    problems: &mut Vec<String>,
) {
    for (op, served) in probed {
        match rows.get(op) {
            None => problems.push(format!("{service} {op}: no row in docs/compatibility.md")),
            Some(Err(e)) => problems.push(format!("{service} {op}: {e}")),
            Some(Ok(doc)) if doc != served => problems.push(format!(
                "{service} {op}: docs/compatibility.md says {}, the server {}",
                if *doc { "implemented" } else { "not implemented" },
                if *served { "serves it" } else { "does not serve it" }
            )),
            Some(Ok(_)) => {}
        }
    }
    for op in rows.keys() {
        if !probed.contains_key(op) {
            problems.push(format!(
                "{service} {op}: a row for an operation the model does not have"
            ));
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_model_operation_is_served_and_documented() {
    let venv = Venv::locate();
    let emu = Emulator::start().await;
    let mut problems = Vec::new();
    let mut personalize_probed = BTreeMap::new();

    for (service, api) in [
        ("personalize", Api::ControlPlane),
        ("personalize-runtime", Api::Runtime),
        ("personalize-events", Api::Events),
    ] {
        let model = venv.botocore_model(service, "service-2");
        let ops = model_operations(&model);
        // The crate's operation table is generated from these models: it must still match.
        let ours: BTreeSet<&str> = Operation::ALL
            .iter()
            .filter(|o| o.api() == api)
            .map(|o| o.name())
            .collect();
        let theirs: BTreeSet<&str> = ops.keys().map(String::as_str).collect();
        for missing in theirs.difference(&ours) {
            problems.push(format!(
                "{service} {missing}: in the installed model, not in personalize::Operation"
            ));
        }
        for extra in ours.difference(&theirs) {
            problems.push(format!(
                "{service} {extra}: in personalize::Operation, not in the installed model"
            ));
        }
        for (name, (method, uri)) in &ops {
            let op = Operation::ALL.iter().find(|o| o.name() == name && o.api() == api);
            let r = match api {
                Api::ControlPlane => {
                    if (method.as_str(), uri.as_str()) != ("POST", "/") {
                        problems.push(format!("{service} {name}: the model says {method} {uri}"));
                    }
                    emu.raw_json(name, "{}").await
                }
                Api::Runtime | Api::Events => {
                    if let Some(op) = op
                        && op.rest_path() != Some(uri.as_str())
                    {
                        problems.push(format!(
                            "{service} {name}: model path {uri}, ours {:?}",
                            op.rest_path()
                        ));
                    }
                    let method: Method = method.parse().unwrap_or(Method::POST);
                    let mut h = HeaderMap::new();
                    h.insert("content-type", HeaderValue::from_static("application/json"));
                    emu.signed(ALICE, "personalize", method, uri, h, "{}").await
                }
            };
            if r.status.is_server_error() {
                problems.push(format!(
                    "{service} {name}: {} for an empty request: {:?}",
                    r.status, r.body
                ));
            }
            let served = !unserved(&r.error_type(), &r.message());
            if !served {
                problems.push(format!(
                    "{service} {name}: unserved ({}: {})",
                    r.error_type(),
                    r.message()
                ));
            }
            if api != Api::ControlPlane
                && r.status.is_client_error()
                && r.header("x-amzn-errortype").is_none()
            {
                problems.push(format!(
                    "{service} {name}: a REST-JSON error without X-Amzn-ErrorType"
                ));
            }
            personalize_probed.insert(name.clone(), served);
        }
    }

    // CloudTrail: the served subset must be what the table says.
    let model = venv.botocore_model("cloudtrail", "service-2");
    let mut cloudtrail_probed = BTreeMap::new();
    for name in model_operations(&model).keys() {
        let h = client_tests::json_rpc_headers(&format!("{CLOUDTRAIL_PREFIX}.{name}"));
        let r = emu.signed(ALICE, "cloudtrail", Method::POST, "/", h, "{}").await;
        if r.status.is_server_error() {
            problems.push(format!("cloudtrail {name}: {} for an empty request", r.status));
        }
        cloudtrail_probed.insert(name.clone(), !unserved(&r.error_type(), &r.message()));
    }

    let doc_path = client_tests::workspace_root().join("docs/compatibility.md");
    let doc = std::fs::read_to_string(&doc_path).unwrap_or_default();
    match doc_rows(&doc, "Personalize") {
        Ok(rows) => compare_doc("personalize", &rows, &personalize_probed, &mut problems),
        Err(e) => problems.push(e),
    }
    match doc_rows(&doc, "CloudTrail") {
        Ok(rows) => compare_doc("cloudtrail", &rows, &cloudtrail_probed, &mut problems),
        Err(e) => problems.push(e),
    }
    assert!(
        problems.is_empty(),
        "{} conformance problems against the installed botocore models:\n{}",
        problems.len(),
        problems.join("\n")
    );
}

#[test]
fn doc_rows_read_the_state_column() {
    let doc = "# C\n## Personalize\n\n| Operation | Wire | State | Notes |\n|---|---|---|---|\n| `A` | `POST /` | implemented | x |\n| `B` | `POST /` | not implemented | |\n| `C` | `POST /` | maybe | |\n## CloudTrail\n| `D` | x |\n";
    let rows = doc_rows(doc, "Personalize").expect("a section");
    assert_eq!(rows.get("A"), Some(&Ok(true)));
    assert_eq!(rows.get("B"), Some(&Ok(false)));
    assert!(rows.get("C").is_some_and(|r| r.is_err()));
    assert!(!rows.contains_key("D"));
    assert!(doc_rows(doc, "CloudTrail").expect("a section").is_empty());
    assert!(doc_rows(doc, "S3").is_err());
}
