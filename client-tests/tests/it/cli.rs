//! The AWS CLI (pinned in `.venv`) against an in-process emulator through `AWS_ENDPOINT_URL`.

use client_tests::checks::{self, Expect};
use client_tests::python::Venv;
use client_tests::{ALICE, Emulator, SESSION};

const MISSING_GROUP: &str = "arn:aws:personalize:us-east-1:123456789012:dataset-group/no-such-group";
const MISSING_CAMPAIGN: &str = "arn:aws:personalize:us-east-1:123456789012:campaign/no-such-campaign";
const MISSING_DATASET: &str = "arn:aws:personalize:us-east-1:123456789012:dataset/no-such-group/ITEMS";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aws_cli_creates_lists_with_pagination_and_reports_errors() {
    let venv = Venv::locate();
    let emu = Emulator::start().await;
    let ep = emu.endpoint();

    // Three creates at once (each CLI start-up takes a while; run them side by side).
    let (c1, c2, c3, fail, session, runtime, events) = tokio::join!(
        venv.aws(
            ep,
            ALICE,
            &["personalize", "create-dataset-group", "--name", "cli-1"]
        ),
        venv.aws(
            ep,
            ALICE,
            &["personalize", "create-dataset-group", "--name", "cli-2"]
        ),
        venv.aws(
            ep,
            ALICE,
            &["personalize", "create-dataset-group", "--name", "cli-3"]
        ),
        venv.aws(
            ep,
            ALICE,
            &[
                "personalize",
                "describe-dataset-group",
                "--dataset-group-arn",
                MISSING_GROUP
            ]
        ),
        venv.aws(ep, SESSION, &["personalize", "list-recipes", "--max-items", "3"]),
        venv.aws(
            ep,
            ALICE,
            &[
                "personalize-runtime",
                "get-recommendations",
                "--campaign-arn",
                MISSING_CAMPAIGN,
                "--user-id",
                "u1"
            ]
        ),
        venv.aws(
            ep,
            ALICE,
            &[
                "personalize-events",
                "put-items",
                "--dataset-arn",
                MISSING_DATASET,
                "--items",
                "itemId=i1"
            ]
        ),
    );
    // Runtime and Events over REST-JSON: the same error surface.
    for (out, op) in [(&runtime, "GetRecommendations"), (&events, "PutItems")] {
        assert!(matches!(out.code, 254 | 255), "exit {}: {}", out.code, out.stderr);
        assert!(
            out.stderr.contains(&format!(
                "An error occurred (ResourceNotFoundException) when calling the {op} operation: "
            )),
            "{}",
            out.stderr
        );
    }
    for (i, out) in [c1, c2, c3].iter().enumerate() {
        let arn = out.success().json()["datasetGroupArn"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        assert_eq!(
            arn,
            format!(
                "arn:aws:personalize:us-east-1:123456789012:dataset-group/cli-{}",
                i + 1
            )
        );
    }
    // A service error: exit status 254 or 255 (CLI v1 versions differ), and AWS's one-line message.
    assert!(
        matches!(fail.code, 254 | 255),
        "exit {}: {}",
        fail.code,
        fail.stderr
    );
    assert!(
        fail.stderr.contains(
            "An error occurred (ResourceNotFoundException) when calling the DescribeDatasetGroup operation: "
        ),
        "{}",
        fail.stderr
    );
    let recipes = session.success().json();
    assert_eq!(recipes["recipes"].as_array().map(Vec::len), Some(3), "{recipes}");

    // --max-items over pages of one: the CLI follows the service's nextToken and hands back its own.
    let pages = [
        "personalize",
        "list-dataset-groups",
        "--max-items",
        "2",
        "--page-size",
        "1",
    ];
    let names = |page: &serde_json::Value| -> Vec<String> {
        let groups = page["datasetGroups"].as_array().expect("datasetGroups");
        groups
            .iter()
            .filter_map(|g| g["name"].as_str().map(str::to_owned))
            .collect()
    };
    let page1 = venv.aws(ep, ALICE, &pages).await.success().json();
    let first = names(&page1);
    assert_eq!(first.len(), 2, "{page1}");
    let token = page1["NextToken"].as_str().expect("a NextToken").to_owned();
    let next = [&pages[..], &["--starting-token", &token]].concat();
    let page2 = venv.aws(ep, ALICE, &next).await.success().json();
    let rest = names(&page2);
    assert!(page2.get("NextToken").is_none(), "{page2}");
    let mut all: Vec<String> = first.into_iter().chain(rest).collect();
    all.sort();
    assert_eq!(all, vec!["cli-1", "cli-2", "cli-3"]);

    let delivered = emu.delivered().await;
    let counts = delivered.counts();
    assert_eq!(counts.get("CreateDatasetGroup"), Some(&3), "{counts:?}");
    assert_eq!(counts.get("DescribeDatasetGroup"), Some(&1), "{counts:?}");
    assert_eq!(counts.get("ListRecipes"), Some(&1), "{counts:?}");
    assert_eq!(counts.get("GetRecommendations"), Some(&1), "{counts:?}");
    assert_eq!(counts.get("PutItems"), Some(&1), "{counts:?}");
    // Pages of one: three pages were fetched in all (two, then one more with the token).
    assert!(
        counts
            .get("ListDatasetGroups")
            .is_some_and(|n| (3..=4).contains(n)),
        "{counts:?}"
    );
    let ua_prefix = "aws-cli/1.46.3 ";
    for r in &delivered.records {
        let name = r["eventName"].as_str().unwrap_or_default();
        let creds = if r["userIdentity"]["type"] == "AssumedRole" {
            SESSION
        } else {
            ALICE
        };
        let mut e = Expect::ok(name, creds, ua_prefix);
        if matches!(name, "DescribeDatasetGroup" | "GetRecommendations" | "PutItems") {
            e = e.error("ResourceNotFoundException");
        }
        checks::assert_record(r, &e);
        let ua = r["userAgent"].as_str().unwrap_or_default();
        assert!(ua.contains(" botocore/") || ua.contains(" md/Botocore#"), "{ua}");
    }
    // Records need not be in call order; exactly one list call started without a token.
    let lists = delivered.named("ListDatasetGroups");
    let (first, rest): (Vec<&serde_json::Value>, Vec<&serde_json::Value>) = lists
        .iter()
        .copied()
        .partition(|r| r["requestParameters"].get("nextToken").is_none());
    assert_eq!(first.len(), 1, "{lists:?}");
    assert_eq!(
        first[0]["requestParameters"],
        serde_json::json!({ "maxResults": 1 })
    );
    assert!(
        rest.iter().all(|r| r["requestParameters"]["maxResults"] == 1),
        "{rest:?}"
    );
    assert_eq!(
        delivered.named("DescribeDatasetGroup")[0]["requestParameters"],
        serde_json::json!({ "datasetGroupArn": MISSING_GROUP })
    );
}
