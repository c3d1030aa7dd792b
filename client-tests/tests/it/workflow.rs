//! The whole Personalize workflow through aws-sdk-personalize, -personalizeruntime and
//! -personalizeevents, with the emulator's clock moved forward instead of waiting, then every
//! call matched with its delivered record.

use std::collections::BTreeSet;
use std::time::Duration;

use aws_sdk_personalize::types::{
    BatchInferenceJobInput, BatchInferenceJobOutput, BatchSegmentJobInput, BatchSegmentJobOutput, DataSource,
    S3DataConfig, Tag,
};
use aws_sdk_personalizeevents::primitives::DateTime;
use aws_sdk_personalizeevents::types::{Event, Item, User};
use client_tests::{ALICE, CallLog, Creds, Emulator, Options};
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
    log: &mut CallLog,
    emu: &Emulator,
    p: &aws_sdk_personalize::Client,
    a: Creds,
    dsg: &str,
    (name, schema, ty): (&str, &str, &str),
) -> (String, String) {
    let s = log
        .ok(
            emu,
            a,
            "CreateSchema",
            p.create_schema().name(name).schema(schema).send(),
        )
        .await
        .schema_arn
        .expect("a schema ARN");
    let ds = log
        .ok(
            emu,
            a,
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_workflow_with_the_sdks_is_recorded_call_by_call() {
    // Real lifecycles (time scale 1): the clock is moved past each one.
    let emu = Emulator::start_with(Options::default().time_scale(1.0)).await;
    let p = emu.personalize(ALICE);
    let rt = emu.runtime(ALICE);
    let ev = emu.events(ALICE);
    let mut log = CallLog::default();
    let a = ALICE;

    // Dataset group, schemas, datasets.
    let dsg = log
        .ok(
            &emu,
            a,
            "CreateDatasetGroup",
            p.create_dataset_group().name("wf-movies").send(),
        )
        .await
        .dataset_group_arn
        .expect("an ARN");
    assert_eq!(
        dsg,
        "arn:aws:personalize:us-east-1:123456789012:dataset-group/wf-movies"
    );
    let d = log
        .ok(
            &emu,
            a,
            "DescribeDatasetGroup",
            p.describe_dataset_group().dataset_group_arn(&dsg).send(),
        )
        .await;
    let group = d.dataset_group.expect("a group");
    assert!(
        matches!(
            group.status.as_deref(),
            Some("CREATE PENDING" | "CREATE IN_PROGRESS")
        ),
        "{group:?}"
    );
    let created = group.creation_date_time.expect("creationDateTime");
    assert_eq!(created.secs(), emu.now().unix_timestamp());
    emu.advance(minutes(1));
    let d = log
        .ok(
            &emu,
            a,
            "DescribeDatasetGroup",
            p.describe_dataset_group().dataset_group_arn(&dsg).send(),
        )
        .await;
    assert_eq!(d.dataset_group.and_then(|g| g.status).as_deref(), Some("ACTIVE"));

    let mut schema_arns = Vec::new();
    let mut dataset_arns = Vec::new();
    for (name, schema, ty) in [
        ("wf-interactions", INTERACTIONS, "Interactions"),
        ("wf-items", ITEMS, "Items"),
        ("wf-users", USERS, "Users"),
    ] {
        let (s, ds) = schema_and_dataset(&mut log, &emu, &p, a, &dsg, (name, schema, ty)).await;
        assert_eq!(
            ds,
            format!(
                "arn:aws:personalize:us-east-1:123456789012:dataset/wf-movies/{}",
                ty.to_ascii_uppercase()
            )
        );
        schema_arns.push(s);
        dataset_arns.push(ds);
    }
    emu.advance(minutes(1));
    let listed = log
        .ok(
            &emu,
            a,
            "ListDatasets",
            p.list_datasets().dataset_group_arn(&dsg).send(),
        )
        .await;
    assert_eq!(listed.datasets().len(), 3);
    assert!(
        listed.datasets().iter().all(|d| d.status() == Some("ACTIVE")),
        "{listed:?}"
    );
    let (interactions_ds, items_ds, users_ds) = (&dataset_arns[0], &dataset_arns[1], &dataset_arns[2]);

    // Bulk import of interactions.
    let job = log
        .ok(
            &emu,
            a,
            "CreateDatasetImportJob",
            p.create_dataset_import_job()
                .job_name("wf-import")
                .dataset_arn(interactions_ds)
                .data_source(
                    DataSource::builder()
                        .data_location("s3://wf-bucket/interactions.csv")
                        .build(),
                )
                .role_arn(ROLE)
                .send(),
        )
        .await
        .dataset_import_job_arn
        .expect("a job ARN");
    emu.advance(minutes(60));
    let j = log
        .ok(
            &emu,
            a,
            "DescribeDatasetImportJob",
            p.describe_dataset_import_job()
                .dataset_import_job_arn(&job)
                .send(),
        )
        .await;
    assert_eq!(
        j.dataset_import_job.and_then(|j| j.status).as_deref(),
        Some("ACTIVE")
    );

    // Streaming data through the Events API.
    let tracker = log
        .ok(
            &emu,
            a,
            "CreateEventTracker",
            p.create_event_tracker()
                .name("wf-tracker")
                .dataset_group_arn(&dsg)
                .send(),
        )
        .await;
    let tracking_id = tracker.tracking_id.expect("a tracking id");
    let tracker_arn = tracker.event_tracker_arn.expect("a tracker ARN");
    emu.advance(minutes(1));
    let sent_at = DateTime::from_secs(emu.now().unix_timestamp());
    log.ok(
        &emu,
        a,
        "PutEvents",
        ev.put_events()
            .tracking_id(&tracking_id)
            .user_id("user-1")
            .session_id("session-1")
            .event_list(
                Event::builder()
                    .event_type("click")
                    .item_id("item-3")
                    .sent_at(sent_at)
                    .build()
                    .expect("an event"),
            )
            .event_list(
                Event::builder()
                    .event_type("click")
                    .item_id("item-4")
                    .sent_at(sent_at)
                    .build()
                    .expect("an event"),
            )
            .send(),
    )
    .await;
    // Items 1-10: the odd ones are comedies, so the filter below has a known answer.
    let comedies: BTreeSet<String> = (1..=10)
        .filter(|i| i % 2 == 1)
        .map(|i| format!("item-{i}"))
        .collect();
    let mut put_items = ev.put_items().dataset_arn(items_ds);
    for i in 1..=10 {
        let genre = if i % 2 == 1 { "Comedy" } else { "Drama" };
        put_items = put_items.items(
            Item::builder()
                .item_id(format!("item-{i}"))
                .properties(json!({ "genres": genre }).to_string())
                .build()
                .expect("an item"),
        );
    }
    log.ok(&emu, a, "PutItems", put_items.send()).await;
    log.ok(
        &emu,
        a,
        "PutUsers",
        ev.put_users()
            .dataset_arn(users_ds)
            .users(
                User::builder()
                    .user_id("user-1")
                    .properties(json!({ "membership": "gold" }).to_string())
                    .build()
                    .expect("a user"),
            )
            .send(),
    )
    .await;

    // A filter.
    let filter = log
        .ok(
            &emu,
            a,
            "CreateFilter",
            p.create_filter()
                .name("wf-comedies")
                .dataset_group_arn(&dsg)
                .filter_expression(r#"INCLUDE ItemID WHERE Items.GENRES IN ("Comedy")"#)
                .send(),
        )
        .await
        .filter_arn
        .expect("a filter ARN");
    emu.advance(minutes(1));

    // Solutions, trained versions and campaigns.
    let mut campaigns = Vec::new();
    let mut versions = Vec::new();
    for (name, recipe) in [
        ("wf-up", "arn:aws:personalize:::recipe/aws-user-personalization"),
        ("wf-rank", "arn:aws:personalize:::recipe/aws-personalized-ranking"),
        ("wf-affinity", "arn:aws:personalize:::recipe/aws-item-affinity"),
    ] {
        let solution = log
            .ok(
                &emu,
                a,
                "CreateSolution",
                p.create_solution()
                    .name(name)
                    .dataset_group_arn(&dsg)
                    .recipe_arn(recipe)
                    .perform_auto_training(false)
                    .send(),
            )
            .await
            .solution_arn
            .expect("a solution ARN");
        emu.advance(minutes(1));
        let version = log
            .ok(
                &emu,
                a,
                "CreateSolutionVersion",
                p.create_solution_version().solution_arn(&solution).send(),
            )
            .await
            .solution_version_arn
            .expect("a version ARN");
        assert!(version.starts_with(&format!("{solution}/")), "{version}");
        let d = log
            .ok(
                &emu,
                a,
                "DescribeSolutionVersion",
                p.describe_solution_version()
                    .solution_version_arn(&version)
                    .send(),
            )
            .await;
        assert_ne!(
            d.solution_version.and_then(|v| v.status).as_deref(),
            Some("ACTIVE")
        );
        emu.advance(minutes(180));
        let d = log
            .ok(
                &emu,
                a,
                "DescribeSolutionVersion",
                p.describe_solution_version()
                    .solution_version_arn(&version)
                    .send(),
            )
            .await;
        assert_eq!(
            d.solution_version.and_then(|v| v.status).as_deref(),
            Some("ACTIVE")
        );
        let m = log
            .ok(
                &emu,
                a,
                "GetSolutionMetrics",
                p.get_solution_metrics().solution_version_arn(&version).send(),
            )
            .await;
        assert!(m.metrics.is_some_and(|m| !m.is_empty()));
        versions.push(version.clone());
        if name == "wf-affinity" {
            continue;
        }
        let campaign = log
            .ok(
                &emu,
                a,
                "CreateCampaign",
                p.create_campaign()
                    .name(name)
                    .solution_version_arn(&version)
                    .min_provisioned_tps(1)
                    .send(),
            )
            .await
            .campaign_arn
            .expect("a campaign ARN");
        campaigns.push((campaign, solution));
    }
    emu.advance(minutes(30));
    let (up_campaign, rank_campaign) = (&campaigns[0].0, &campaigns[1].0);
    let d = log
        .ok(
            &emu,
            a,
            "DescribeCampaign",
            p.describe_campaign().campaign_arn(up_campaign).send(),
        )
        .await;
    assert_eq!(d.campaign.and_then(|c| c.status).as_deref(), Some("ACTIVE"));

    // Recommendations honour numResults and filters, and are deterministic.
    let r1 = log
        .ok(
            &emu,
            a,
            "GetRecommendations",
            rt.get_recommendations()
                .campaign_arn(up_campaign)
                .user_id("user-1")
                .num_results(5)
                .send(),
        )
        .await;
    assert_eq!(r1.item_list().len(), 5, "{r1:?}");
    let r2 = log
        .ok(
            &emu,
            a,
            "GetRecommendations",
            rt.get_recommendations()
                .campaign_arn(up_campaign)
                .user_id("user-1")
                .num_results(5)
                .send(),
        )
        .await;
    let ids = |r: &aws_sdk_personalizeruntime::operation::get_recommendations::GetRecommendationsOutput| {
        r.item_list()
            .iter()
            .filter_map(|i| i.item_id.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        ids(&r1),
        ids(&r2),
        "the same state must give the same recommendations"
    );
    assert!(
        r1.recommendation_id
            .as_deref()
            .is_some_and(|id| id.starts_with("RID-")),
        "{r1:?}"
    );
    let unique: BTreeSet<String> = ids(&r1).into_iter().collect();
    assert_eq!(unique.len(), 5, "no item is recommended twice");
    let filtered = log
        .ok(
            &emu,
            a,
            "GetRecommendations",
            rt.get_recommendations()
                .campaign_arn(up_campaign)
                .user_id("user-1")
                .num_results(25)
                .filter_arn(&filter)
                .send(),
        )
        .await;
    let got: Vec<String> = ids(&filtered);
    assert!(!got.is_empty(), "the filter keeps the comedies");
    assert!(
        got.iter().all(|i| comedies.contains(i)),
        "{got:?} are not all comedies {comedies:?}"
    );

    let input: Vec<String> = (1..=6).map(|i| format!("item-{i}")).collect();
    let ranked = log
        .ok(
            &emu,
            a,
            "GetPersonalizedRanking",
            rt.get_personalized_ranking()
                .campaign_arn(rank_campaign)
                .user_id("user-1")
                .set_input_list(Some(input.clone()))
                .send(),
        )
        .await;
    let mut ranked_ids: Vec<String> = ranked
        .personalized_ranking()
        .iter()
        .filter_map(|i| i.item_id.clone())
        .collect();
    ranked_ids.sort();
    let mut want = input.clone();
    want.sort();
    assert_eq!(ranked_ids, want, "a ranking is a permutation of the input");

    // Batch jobs.
    let s3 = |path: &str| S3DataConfig::builder().path(path).build().expect("an S3 config");
    let bij = log
        .ok(
            &emu,
            a,
            "CreateBatchInferenceJob",
            p.create_batch_inference_job()
                .job_name("wf-batch")
                .solution_version_arn(&versions[0])
                .job_input(
                    BatchInferenceJobInput::builder()
                        .s3_data_source(s3("s3://wf-bucket/users.json"))
                        .build(),
                )
                .job_output(
                    BatchInferenceJobOutput::builder()
                        .s3_data_destination(s3("s3://wf-bucket/out/"))
                        .build(),
                )
                .role_arn(ROLE)
                .num_results(10)
                .send(),
        )
        .await
        .batch_inference_job_arn
        .expect("a job ARN");
    let bsj = log
        .ok(
            &emu,
            a,
            "CreateBatchSegmentJob",
            p.create_batch_segment_job()
                .job_name("wf-segments")
                .solution_version_arn(&versions[2])
                .job_input(
                    BatchSegmentJobInput::builder()
                        .s3_data_source(s3("s3://wf-bucket/items.json"))
                        .build(),
                )
                .job_output(
                    BatchSegmentJobOutput::builder()
                        .s3_data_destination(s3("s3://wf-bucket/segments/"))
                        .build(),
                )
                .role_arn(ROLE)
                .send(),
        )
        .await
        .batch_segment_job_arn
        .expect("a job ARN");
    emu.advance(minutes(120));
    let d = log
        .ok(
            &emu,
            a,
            "DescribeBatchInferenceJob",
            p.describe_batch_inference_job()
                .batch_inference_job_arn(&bij)
                .send(),
        )
        .await;
    assert_eq!(
        d.batch_inference_job.and_then(|j| j.status).as_deref(),
        Some("ACTIVE")
    );
    let d = log
        .ok(
            &emu,
            a,
            "DescribeBatchSegmentJob",
            p.describe_batch_segment_job().batch_segment_job_arn(&bsj).send(),
        )
        .await;
    assert_eq!(
        d.batch_segment_job.and_then(|j| j.status).as_deref(),
        Some("ACTIVE")
    );

    // A domain dataset group with a recommender.
    let shop = log
        .ok(
            &emu,
            a,
            "CreateDatasetGroup",
            p.create_dataset_group()
                .name("wf-shop")
                .domain("ECOMMERCE".into())
                .send(),
        )
        .await
        .dataset_group_arn
        .expect("an ARN");
    emu.advance(minutes(1));
    let shop_schema = log
        .ok(
            &emu,
            a,
            "CreateSchema",
            p.create_schema()
                .name("wf-shop-interactions")
                .schema(INTERACTIONS)
                .domain("ECOMMERCE".into())
                .send(),
        )
        .await
        .schema_arn
        .expect("a schema ARN");
    let shop_ds = log
        .ok(
            &emu,
            a,
            "CreateDataset",
            p.create_dataset()
                .name("wf-shop-interactions")
                .schema_arn(&shop_schema)
                .dataset_group_arn(&shop)
                .dataset_type("Interactions")
                .send(),
        )
        .await
        .dataset_arn
        .expect("a dataset ARN");
    let shop_tracker = log
        .ok(
            &emu,
            a,
            "CreateEventTracker",
            p.create_event_tracker()
                .name("wf-shop-tracker")
                .dataset_group_arn(&shop)
                .send(),
        )
        .await;
    emu.advance(minutes(1));
    let sent_at = DateTime::from_secs(emu.now().unix_timestamp());
    for (user, item, ty) in [
        ("u1", "b", "Purchase"),
        ("u2", "b", "Purchase"),
        ("u3", "a", "Purchase"),
        ("u3", "c", "View"),
    ] {
        log.ok(
            &emu,
            a,
            "PutEvents",
            ev.put_events()
                .tracking_id(shop_tracker.tracking_id().expect("a tracking id"))
                .user_id(user)
                .session_id(format!("s-{user}"))
                .event_list(
                    Event::builder()
                        .event_type(ty)
                        .item_id(item)
                        .sent_at(sent_at)
                        .build()
                        .expect("an event"),
                )
                .send(),
        )
        .await;
    }
    let recommender = log
        .ok(
            &emu,
            a,
            "CreateRecommender",
            p.create_recommender()
                .name("wf-best-sellers")
                .dataset_group_arn(&shop)
                .recipe_arn("arn:aws:personalize:::recipe/aws-ecomm-popular-items-by-purchases")
                .send(),
        )
        .await
        .recommender_arn
        .expect("a recommender ARN");
    emu.advance(minutes(60));
    let r = log
        .ok(
            &emu,
            a,
            "GetRecommendations",
            rt.get_recommendations()
                .recommender_arn(&recommender)
                .user_id("u9")
                .num_results(1)
                .send(),
        )
        .await;
    assert_eq!(
        ids(&r),
        vec!["b".to_owned()],
        "the best seller, and only numResults of them"
    );

    // Tags.
    log.ok(
        &emu,
        a,
        "TagResource",
        p.tag_resource()
            .resource_arn(&dsg)
            .tags(
                Tag::builder()
                    .tag_key("team")
                    .tag_value("ml")
                    .build()
                    .expect("a tag"),
            )
            .tags(
                Tag::builder()
                    .tag_key("env")
                    .tag_value("test")
                    .build()
                    .expect("a tag"),
            )
            .send(),
    )
    .await;
    log.ok(
        &emu,
        a,
        "UntagResource",
        p.untag_resource().resource_arn(&dsg).tag_keys("env").send(),
    )
    .await;
    let tags = log
        .ok(
            &emu,
            a,
            "ListTagsForResource",
            p.list_tags_for_resource().resource_arn(&dsg).send(),
        )
        .await;
    let tags: Vec<(String, String)> = tags
        .tags()
        .iter()
        .map(|t| (t.tag_key().to_owned(), t.tag_value().to_owned()))
        .collect();
    assert_eq!(tags, vec![("team".to_owned(), "ml".to_owned())]);

    // Lists with the SDK paginator: one group per page.
    let before = log.calls.len();
    let mut pages = p.list_dataset_groups().max_results(1).into_paginator().send();
    let mut names = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.expect("a page");
        log.calls.push(client_tests::Call {
            name: "ListDatasetGroups",
            request_id: aws_sdk_personalize::operation::RequestId::request_id(&page)
                .unwrap_or_default()
                .to_owned(),
            at: emu.now(),
            creds: a,
            error: None,
            message: None,
            delivered: true,
        });
        assert!(page.dataset_groups().len() <= 1);
        names.extend(page.dataset_groups().iter().filter_map(|g| g.name.clone()));
    }
    names.sort();
    assert_eq!(names, vec!["wf-movies", "wf-shop"]);
    assert_eq!(
        log.calls.len() - before,
        2,
        "two pages of one, and no empty third page"
    );

    // Deletes, in dependency order.
    log.ok(
        &emu,
        a,
        "DeleteRecommender",
        p.delete_recommender().recommender_arn(&recommender).send(),
    )
    .await;
    for (campaign, _) in &campaigns {
        log.ok(
            &emu,
            a,
            "DeleteCampaign",
            p.delete_campaign().campaign_arn(campaign).send(),
        )
        .await;
    }
    emu.advance(minutes(30));
    for (_, solution) in &campaigns {
        log.ok(
            &emu,
            a,
            "DeleteSolution",
            p.delete_solution().solution_arn(solution).send(),
        )
        .await;
    }
    let affinity = versions[2]
        .rsplit_once('/')
        .map(|(s, _)| s.to_owned())
        .expect("a solution ARN");
    log.ok(
        &emu,
        a,
        "DeleteSolution",
        p.delete_solution().solution_arn(&affinity).send(),
    )
    .await;
    log.ok(
        &emu,
        a,
        "DeleteFilter",
        p.delete_filter().filter_arn(&filter).send(),
    )
    .await;
    log.ok(
        &emu,
        a,
        "DeleteEventTracker",
        p.delete_event_tracker().event_tracker_arn(&tracker_arn).send(),
    )
    .await;
    log.ok(
        &emu,
        a,
        "DeleteEventTracker",
        p.delete_event_tracker()
            .event_tracker_arn(shop_tracker.event_tracker_arn().expect("an ARN"))
            .send(),
    )
    .await;
    emu.advance(minutes(30));
    for ds in dataset_arns.iter().chain([&shop_ds]) {
        log.ok(
            &emu,
            a,
            "DeleteDataset",
            p.delete_dataset().dataset_arn(ds).send(),
        )
        .await;
    }
    emu.advance(minutes(30));
    for s in schema_arns.iter().chain([&shop_schema]) {
        log.ok(&emu, a, "DeleteSchema", p.delete_schema().schema_arn(s).send())
            .await;
    }
    for g in [&dsg, &shop] {
        log.ok(
            &emu,
            a,
            "DeleteDatasetGroup",
            p.delete_dataset_group().dataset_group_arn(g).send(),
        )
        .await;
    }
    emu.advance(minutes(30));
    log.err(
        &emu,
        a,
        "DescribeDatasetGroup",
        "ResourceNotFoundException",
        p.describe_dataset_group().dataset_group_arn(&dsg).send(),
    )
    .await;

    // Every call is exactly one record, and each record says what the call was.
    let delivered = emu.delivered().await;
    let records = log.check(&delivered, "aws-sdk-rust/");
    assert_eq!(
        delivered.records.len(),
        log.calls.iter().filter(|c| c.delivered).count(),
        "one record per call and nothing else: {:?}",
        delivered.counts()
    );
    for r in &records {
        let ua = r["userAgent"].as_str().unwrap_or_default();
        assert!(
            ua.contains(" ua/2.1 ") && ua.contains(" os/linux ") && ua.contains(" lang/rust/"),
            "{ua}"
        );
    }

    // Field-level rules on a few representative records.
    let create = delivered.by_request_id(log.nth("CreateDatasetGroup", 0));
    assert_eq!(create["requestParameters"], json!({ "name": "wf-movies" }));
    assert_eq!(create["responseElements"], json!({ "datasetGroupArn": dsg }));
    let describe = delivered.by_request_id(log.nth("DescribeDatasetGroup", 0));
    assert_eq!(describe["requestParameters"], json!({ "datasetGroupArn": dsg }));
    assert!(describe["responseElements"].is_null());
    let list = delivered.by_request_id(log.nth("ListDatasetGroups", 0));
    assert_eq!(list["requestParameters"], json!({ "maxResults": 1 }));
    let schema = delivered.by_request_id(log.nth("CreateSchema", 0));
    assert_eq!(schema["requestParameters"]["name"], "wf-interactions");
    assert_eq!(schema["requestParameters"]["schema"], INTERACTIONS);
    let rec = delivered.by_request_id(log.nth("GetRecommendations", 0));
    assert_eq!(rec["eventCategory"], "Data");
    assert_eq!(rec["managementEvent"], false);
    assert_eq!(rec["readOnly"], true);
    assert_eq!(rec["requestParameters"]["campaignArn"], up_campaign.as_str());
    assert_eq!(rec["requestParameters"]["numResults"], 5);
    assert!(rec["responseElements"].is_null());
    assert_eq!(
        rec["resources"],
        json!([{ "accountId": "123456789012", "type": "AWS::Personalize::Campaign", "ARN": up_campaign }])
    );
    let put = delivered.by_request_id(log.nth("PutItems", 0));
    assert_eq!(
        (put["eventCategory"].as_str(), put["readOnly"].as_bool()),
        (Some("Data"), Some(false))
    );
    assert_eq!(put["requestParameters"]["datasetArn"], items_ds.as_str());
    let missing = delivered.by_request_id(log.last("DescribeDatasetGroup"));
    assert_eq!(missing["errorCode"], "ResourceNotFoundException");
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
    let a = ALICE;
    let dsg = log
        .ok(
            &emu,
            a,
            "CreateDatasetGroup",
            p.create_dataset_group().name("nba").send(),
        )
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
        let (_, ds) = schema_and_dataset(&mut log, &emu, &p, a, &dsg, (name, schema, ty)).await;
        datasets.push(ds);
    }
    assert_eq!(
        datasets[1],
        "arn:aws:personalize:us-east-1:123456789012:dataset/nba/ACTION_INTERACTIONS"
    );
    let tracking_id = log
        .ok(
            &emu,
            a,
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
    log.ok(&emu, a, "PutActions", put.send()).await;
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
    log.ok(&emu, a, "PutActionInteractions", put.send()).await;
    let solution = log
        .ok(
            &emu,
            a,
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
    let version = log
        .ok(
            &emu,
            a,
            "CreateSolutionVersion",
            p.create_solution_version().solution_arn(&solution).send(),
        )
        .await
        .solution_version_arn
        .expect("an ARN");
    emu.advance(minutes(180));
    let campaign = log
        .ok(
            &emu,
            a,
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
    let r = log
        .ok(
            &emu,
            a,
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
