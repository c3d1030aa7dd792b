//! The whole Personalize workflow through aws-sdk-personalize, -personalizeruntime and
//! -personalizeevents, with the emulator's clock moved forward instead of waiting, then every
//! call matched with its delivered record. The steps share a [`Flow`] and hand each other the
//! resources they made; `movies.rs` has the movie group's steps, `rest.rs` the others.

use std::collections::BTreeSet;
use std::time::Duration;

use aws_sdk_personalizeevents::primitives::DateTime;
use client_tests::{ALICE, CallLog, Calls, Creds, Emulator, Options};
use serde_json::json;

pub(crate) const INTERACTIONS: &str = r#"{"type":"record","name":"Interactions","namespace":"com.amazonaws.personalize.schema","fields":[{"name":"USER_ID","type":"string"},{"name":"ITEM_ID","type":"string"},{"name":"TIMESTAMP","type":"long"},{"name":"EVENT_TYPE","type":"string"}],"version":"1.0"}"#;
pub(crate) const ITEMS: &str = r#"{"type":"record","name":"Items","namespace":"com.amazonaws.personalize.schema","fields":[{"name":"ITEM_ID","type":"string"},{"name":"GENRES","type":["null","string"],"categorical":true}],"version":"1.0"}"#;
pub(crate) const USERS: &str = r#"{"type":"record","name":"Users","namespace":"com.amazonaws.personalize.schema","fields":[{"name":"USER_ID","type":"string"},{"name":"MEMBERSHIP","type":["null","string"],"categorical":true}],"version":"1.0"}"#;

const ROLE: &str = "arn:aws:iam::123456789012:role/PersonalizeS3Access";

fn minutes(n: u64) -> Duration {
    Duration::from_secs(60 * n)
}

/// CreateSchema, then CreateDataset of that type in `dsg` with that schema, both recorded.
/// Returns the schema ARN and the dataset ARN.
async fn schema_and_dataset(
    c: &mut Calls<'_>,
    p: &aws_sdk_personalize::Client,
    dsg: &str,
    (name, schema, ty): (&str, &str, &str),
) -> (String, String) {
    let s = c
        .ok("CreateSchema", p.create_schema().name(name).schema(schema).send())
        .await
        .schema_arn
        .expect("a schema ARN");
    let ds = c
        .ok(
            "CreateDataset",
            p.create_dataset()
                .name(name)
                .schema_arn(&s)
                .dataset_group_arn(dsg)
                .dataset_type(ty)
                .send(),
        )
        .await
        .dataset_arn
        .expect("a dataset ARN");
    (s, ds)
}

mod movies;
mod rest;

/// The item ids of a recommendation, in order.
fn ids(
    r: &aws_sdk_personalizeruntime::operation::get_recommendations::GetRecommendationsOutput,
) -> Vec<String> {
    r.item_list().iter().filter_map(|i| i.item_id.clone()).collect()
}

/// What every step of the workflow works with.
pub(super) struct Flow {
    emu: Emulator,
    p: aws_sdk_personalize::Client,
    rt: aws_sdk_personalizeruntime::Client,
    ev: aws_sdk_personalizeevents::Client,
    log: CallLog,
    a: Creds,
}

/// What the movie group's data steps made.
pub(super) struct Data {
    dsg: String,
    schema_arns: Vec<String>,
    dataset_arns: Vec<String>,
    items_ds: String,
    tracker_arn: String,
    comedies: BTreeSet<String>,
    filter: String,
}

/// The movie group's trained versions and campaigns (with their solutions).
pub(super) struct Models {
    campaigns: Vec<(String, String)>,
    versions: Vec<String>,
    up_campaign: String,
}

/// The domain group and what it holds.
pub(super) struct Shop {
    shop: String,
    shop_schema: String,
    shop_ds: String,
    shop_tracker_arn: String,
    recommender: String,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_workflow_with_the_sdks_is_recorded_call_by_call() {
    // Real lifecycles (time scale 1): the clock is moved past each one.
    let emu = Emulator::start_with(Options::default().time_scale(1.0)).await;
    let mut f = Flow {
        p: emu.personalize(ALICE),
        rt: emu.runtime(ALICE),
        ev: emu.events(ALICE),
        log: CallLog::default(),
        a: ALICE,
        emu,
    };
    let data = movies::data(&mut f).await;
    let models = movies::models(&mut f, &data).await;
    movies::batch(&mut f, &models).await;
    let shop = rest::domain(&mut f).await;
    rest::tags_and_pages(&mut f, &data).await;
    rest::delete_everything(&mut f, &data, &models, &shop).await;
    rest::records(&mut f, &data, &models).await;
}

const ACTIONS: &str = r#"{"type":"record","name":"Actions","namespace":"com.amazonaws.personalize.schema","fields":[{"name":"ACTION_ID","type":"string"},{"name":"VALUE","type":["null","float"]}],"version":"1.0"}"#;
const ACTION_INTERACTIONS: &str = r#"{"type":"record","name":"ActionInteractions","namespace":"com.amazonaws.personalize.schema","fields":[{"name":"USER_ID","type":"string"},{"name":"ACTION_ID","type":"string"},{"name":"TIMESTAMP","type":"long"},{"name":"EVENT_TYPE","type":"string"}],"version":"1.0"}"#;

/// Next best action: actions and action interactions through the Events API, a campaign, and
/// GetActionRecommendations, all recorded as data events on the right resources.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn next_best_action_workflow_with_the_sdks() {
    use aws_sdk_personalizeevents::types::{Action, ActionInteraction};
    let emu = Emulator::start_with(Options::default().time_scale(1.0)).await;
    let p = emu.personalize(ALICE);
    let rt = emu.runtime(ALICE);
    let ev = emu.events(ALICE);
    let mut log = CallLog::default();
    let mut c = log.by(&emu, ALICE);
    let dsg = c
        .ok("CreateDatasetGroup", p.create_dataset_group().name("nba").send())
        .await
        .dataset_group_arn
        .expect("an ARN");
    emu.advance(minutes(1));
    let mut datasets = Vec::new();
    for (name, schema, ty) in [
        ("nba-actions", ACTIONS, "Actions"),
        (
            "nba-action-interactions",
            ACTION_INTERACTIONS,
            "Action_Interactions",
        ),
    ] {
        let (_, ds) = schema_and_dataset(&mut c, &p, &dsg, (name, schema, ty)).await;
        datasets.push(ds);
    }
    assert_eq!(
        datasets[1],
        "arn:aws:personalize:us-east-1:123456789012:dataset/nba/ACTION_INTERACTIONS"
    );
    let tracking_id = c
        .ok(
            "CreateEventTracker",
            p.create_event_tracker()
                .name("nba-tracker")
                .dataset_group_arn(&dsg)
                .send(),
        )
        .await
        .tracking_id
        .expect("a tracking id");
    emu.advance(minutes(1));
    let mut put = ev.put_actions().dataset_arn(&datasets[0]);
    for id in ["loyalty", "app", "card"] {
        put = put.actions(Action::builder().action_id(id).build().expect("an action"));
    }
    c.ok("PutActions", put.send()).await;
    let ts = DateTime::from_secs(emu.now().unix_timestamp());
    let mut put = ev.put_action_interactions().tracking_id(&tracking_id);
    for (user, action, ty) in [
        ("u1", "loyalty", "TAKEN"),
        ("u2", "loyalty", "TAKEN"),
        ("u3", "app", "TAKEN"),
    ] {
        put = put.action_interactions(
            ActionInteraction::builder()
                .action_id(action)
                .user_id(user)
                .session_id(format!("s-{user}"))
                .timestamp(ts)
                .event_type(ty)
                .build()
                .expect("an interaction"),
        );
    }
    c.ok("PutActionInteractions", put.send()).await;
    let solution = c
        .ok(
            "CreateSolution",
            p.create_solution()
                .name("nba")
                .dataset_group_arn(&dsg)
                .recipe_arn("arn:aws:personalize:::recipe/aws-next-best-action")
                .perform_auto_training(false)
                .send(),
        )
        .await
        .solution_arn
        .expect("an ARN");
    emu.advance(minutes(1));
    let version = c
        .ok(
            "CreateSolutionVersion",
            p.create_solution_version().solution_arn(&solution).send(),
        )
        .await
        .solution_version_arn
        .expect("an ARN");
    emu.advance(minutes(180));
    let campaign = c
        .ok(
            "CreateCampaign",
            p.create_campaign()
                .name("nba")
                .solution_version_arn(&version)
                .send(),
        )
        .await
        .campaign_arn
        .expect("an ARN");
    emu.advance(minutes(30));
    let r = c
        .ok(
            "GetActionRecommendations",
            rt.get_action_recommendations()
                .campaign_arn(&campaign)
                .user_id("u9")
                .num_results(2)
                .send(),
        )
        .await;
    let actions: Vec<&str> = r.action_list().iter().filter_map(|x| x.action_id()).collect();
    assert_eq!(actions.len(), 2, "{r:?}");
    assert_eq!(
        actions[0], "loyalty",
        "the most taken action leads for a new user"
    );

    let delivered = emu.delivered().await;
    log.check(&delivered, "aws-sdk-rust/");
    assert_eq!(
        delivered.records.len(),
        log.calls.len(),
        "{:?}",
        delivered.counts()
    );
    let rec = delivered.by_request_id(log.nth("GetActionRecommendations", 0));
    assert_eq!(
        rec["resources"],
        json!([{ "accountId": "123456789012", "type": "AWS::Personalize::Campaign", "ARN": campaign }])
    );
    let puts = delivered.by_request_id(log.nth("PutActions", 0));
    assert_eq!(
        puts["resources"],
        json!([{ "accountId": "123456789012", "type": "AWS::Personalize::Dataset", "ARN": datasets[0] }])
    );
    let interactions = delivered.by_request_id(log.nth("PutActionInteractions", 0));
    assert_eq!(
        (
            interactions["eventCategory"].as_str(),
            interactions["managementEvent"].as_bool()
        ),
        (Some("Data"), Some(false))
    );
}

/// State and logs are per region: the credential scope's region picks both.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn regions_have_their_own_state_and_log_files() {
    let emu = Emulator::start().await;
    let eu = emu.personalize_with(
        ALICE,
        &client_tests::ClientOptions {
            region: "eu-west-1".to_owned(),
            ..client_tests::ClientOptions::default()
        },
    );
    let us = emu.personalize(ALICE);
    let created = eu
        .create_dataset_group()
        .name("regional")
        .send()
        .await
        .expect("created in eu-west-1");
    let arn = created.dataset_group_arn().expect("an ARN").to_owned();
    assert_eq!(
        arn,
        "arn:aws:personalize:eu-west-1:123456789012:dataset-group/regional"
    );
    let in_us = us.list_dataset_groups().send().await.expect("a list");
    assert!(
        in_us.dataset_groups().is_empty(),
        "us-east-1 does not see eu-west-1's groups"
    );
    let id = aws_sdk_personalize::operation::RequestId::request_id(&created)
        .unwrap_or_default()
        .to_owned();

    let delivered = emu.delivered().await;
    let file = delivered
        .files
        .iter()
        .find(|f| f.records.iter().any(|r| r["requestID"] == id.as_str()))
        .expect("the eu-west-1 call's file");
    assert_eq!(file.region, "eu-west-1");
    assert!(
        file.key.starts_with("AWSLogs/123456789012/CloudTrail/eu-west-1/"),
        "{}",
        file.key
    );
    let r = delivered.by_request_id(&id);
    let mut e = client_tests::checks::Expect::ok("CreateDatasetGroup", ALICE, "aws-sdk-rust/").id(&id);
    e.region = "eu-west-1";
    client_tests::checks::assert_record(r, &e);
    assert_eq!(r["responseElements"], json!({ "datasetGroupArn": arn }));
    assert!(delivered.files.iter().any(|f| f.region == "us-east-1"));
}
