//! boto3 (pinned in `.venv`) against an in-process emulator: explicit `endpoint_url` and
//! `AWS_ENDPOINT_URL`, a small workflow, `ClientError`s and a paginator, then the records.

use client_tests::checks::{self, Expect};
use client_tests::python::Venv;
use client_tests::{ALICE, Emulator};

const SCRIPT: &str = r#"
import json, sys
import boto3
from botocore.exceptions import ClientError

endpoint = sys.argv[1]
schema = sys.argv[2]
session = boto3.session.Session()
# One client with an explicit endpoint_url, the others through AWS_ENDPOINT_URL.
p = session.client("personalize", endpoint_url=endpoint, region_name="us-east-1")
rt = session.client("personalize-runtime")
ev = session.client("personalize-events")
calls = []
out = {"endpoints": [p.meta.endpoint_url, rt.meta.endpoint_url, ev.meta.endpoint_url]}

def ok(name, response):
    calls.append({"name": name, "requestId": response["ResponseMetadata"]["RequestId"]})
    return response

def fails(op, fn, **kwargs):
    try:
        fn(**kwargs)
    except ClientError as e:
        err = {
            "name": op,
            "code": e.response["Error"]["Code"],
            "message": e.response["Error"]["Message"],
            "requestId": e.response["ResponseMetadata"]["RequestId"],
            "status": e.response["ResponseMetadata"]["HTTPStatusCode"],
            "text": str(e),
        }
        calls.append(err)
        return err
    raise SystemExit(op + " did not fail")

arn = ok("CreateDatasetGroup", p.create_dataset_group(name="boto-1"))["datasetGroupArn"]
ok("CreateDatasetGroup", p.create_dataset_group(name="boto-2"))
d = ok("DescribeDatasetGroup", p.describe_dataset_group(datasetGroupArn=arn))["datasetGroup"]
out["arn"] = arn
out["status"] = d["status"]
out["creationDateTimeType"] = type(d["creationDateTime"]).__name__
out["schemaArn"] = ok("CreateSchema", p.create_schema(name="boto-schema", schema=schema))["schemaArn"]
out["duplicate"] = fails("CreateDatasetGroup", p.create_dataset_group, name="boto-1")
out["runtime"] = fails("GetRecommendations", rt.get_recommendations,
                       campaignArn="arn:aws:personalize:us-east-1:123456789012:campaign/none", userId="u1")
out["events"] = fails("PutItems", ev.put_items,
                      datasetArn="arn:aws:personalize:us-east-1:123456789012:dataset/none/ITEMS",
                      items=[{"itemId": "i1"}])
names = []
for page in p.get_paginator("list_dataset_groups").paginate(PaginationConfig={"PageSize": 1}):
    ok("ListDatasetGroups", page)
    names += [g["name"] for g in page["datasetGroups"]]
out["names"] = names
out["recipes"] = len(list(p.get_paginator("list_recipes").paginate().build_full_result()["recipes"]))
print(json.dumps({"out": out, "calls": calls}))
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn boto3_workflow_errors_and_paginators() {
    let venv = Venv::locate();
    let emu = Emulator::start().await;
    let run = venv
        .python(
            emu.endpoint(),
            ALICE,
            SCRIPT,
            &[emu.endpoint(), crate::workflow::INTERACTIONS],
        )
        .await;
    let result = run.success().json();
    let out = &result["out"];
    let ep = emu.endpoint();
    assert_eq!(out["endpoints"], serde_json::json!([ep, ep, ep]));
    assert_eq!(
        out["arn"],
        "arn:aws:personalize:us-east-1:123456789012:dataset-group/boto-1"
    );
    assert!(
        matches!(
            out["status"].as_str(),
            Some("CREATE PENDING" | "CREATE IN_PROGRESS" | "ACTIVE")
        ),
        "{out}"
    );
    // Epoch-second numbers became datetimes in botocore.
    assert_eq!(out["creationDateTimeType"], "datetime");
    assert_eq!(out["duplicate"]["code"], "ResourceAlreadyExistsException");
    assert_eq!(
        out["duplicate"]["text"].as_str().unwrap_or_default(),
        format!(
            "An error occurred (ResourceAlreadyExistsException) when calling the CreateDatasetGroup operation: {}",
            out["duplicate"]["message"].as_str().unwrap_or_default()
        )
    );
    assert_eq!(
        (out["runtime"]["code"].as_str(), out["runtime"]["status"].as_u64()),
        (Some("ResourceNotFoundException"), Some(404))
    );
    assert_eq!(
        (out["events"]["code"].as_str(), out["events"]["status"].as_u64()),
        (Some("ResourceNotFoundException"), Some(404))
    );
    let mut names: Vec<&str> = out["names"]
        .as_array()
        .expect("names")
        .iter()
        .filter_map(|n| n.as_str())
        .collect();
    names.sort();
    assert_eq!(names, vec!["boto-1", "boto-2"]);
    assert!(out["recipes"].as_u64().is_some_and(|n| n > 20), "{out}");

    let delivered = emu.delivered().await;
    let calls = result["calls"].as_array().expect("calls");
    for c in calls {
        let id = c["requestId"].as_str().expect("a request id");
        let name = c["name"].as_str().expect("a name");
        let mut e = Expect::ok(name, ALICE, "Boto3/1.44.5 ").id(id);
        if let Some(code) = c["code"].as_str() {
            e = e.error(code);
        }
        let r = delivered.by_request_id(id);
        checks::assert_record(r, &e);
        if let Some(m) = c["message"].as_str() {
            assert_eq!(r["errorMessage"], m);
        }
        let ua = r["userAgent"].as_str().unwrap_or_default();
        assert!(
            ua.contains(" md/Botocore#") && ua.contains(" ua/2.1 ") && ua.contains(" lang/python#"),
            "{ua}"
        );
    }
    // The script's calls plus the recipe listing, and nothing else.
    let counts = delivered.counts();
    assert_eq!(
        delivered.records.len(),
        calls.len() + counts.get("ListRecipes").copied().unwrap_or(0) as usize,
        "{counts:?}"
    );
}
