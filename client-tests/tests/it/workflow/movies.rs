//! The movie dataset group of the workflow: its data (schemas, datasets, a bulk import,
//! streamed events, items and users, a filter), then solutions, versions, campaigns and
//! recommendations, then batch jobs.

use aws_sdk_personalize::types::{
    BatchInferenceJobInput, BatchInferenceJobOutput, BatchSegmentJobInput, BatchSegmentJobOutput, DataSource,
    S3DataConfig,
};
use aws_sdk_personalizeevents::primitives::DateTime;
use aws_sdk_personalizeevents::types::{Event, Item, User};
use serde_json::json;
use std::collections::BTreeSet;

use super::{Data, Flow, INTERACTIONS, ITEMS, Models, ROLE, USERS, ids, minutes, schema_and_dataset};

/// The movie dataset group: schemas and datasets, a bulk import, streamed events, items and
/// users, and a filter for comedies.
pub(super) async fn data(f: &mut Flow) -> Data {
    let Flow {
        emu, p, ev, log, a, ..
    } = f;
    let (emu, a) = (&*emu, *a);
    let mut c = log.by(emu, a);
    // Dataset group, schemas, datasets.
    let dsg = c
        .ok(
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
    let d = c
        .ok(
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
    let d = c
        .ok(
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
        let (s, ds) = schema_and_dataset(&mut c, p, &dsg, (name, schema, ty)).await;
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
    let listed = c
        .ok("ListDatasets", p.list_datasets().dataset_group_arn(&dsg).send())
        .await;
    assert_eq!(listed.datasets().len(), 3);
    assert!(
        listed.datasets().iter().all(|d| d.status() == Some("ACTIVE")),
        "{listed:?}"
    );
    let (interactions_ds, items_ds, users_ds) = (&dataset_arns[0], &dataset_arns[1], &dataset_arns[2]);

    // Bulk import of interactions.
    let job = c
        .ok(
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
    let j = c
        .ok(
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
    let tracker = c
        .ok(
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
    c.ok(
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
    c.ok("PutItems", put_items.send()).await;
    c.ok(
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
    let filter = c
        .ok(
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

    Data {
        items_ds: items_ds.clone(),
        dsg,
        schema_arns,
        dataset_arns,
        tracker_arn,
        comedies,
        filter,
    }
}

/// Solutions trained into versions, campaigns, and recommendations that honour their
/// arguments and filters.
pub(super) async fn models(f: &mut Flow, data: &Data) -> Models {
    let Flow {
        emu, p, rt, log, a, ..
    } = f;
    let (emu, a) = (&*emu, *a);
    let mut c = log.by(emu, a);
    // Solutions, trained versions and campaigns.
    let mut campaigns = Vec::new();
    let mut versions = Vec::new();
    for (name, recipe) in [
        ("wf-up", "arn:aws:personalize:::recipe/aws-user-personalization"),
        ("wf-rank", "arn:aws:personalize:::recipe/aws-personalized-ranking"),
        ("wf-affinity", "arn:aws:personalize:::recipe/aws-item-affinity"),
    ] {
        let solution = c
            .ok(
                "CreateSolution",
                p.create_solution()
                    .name(name)
                    .dataset_group_arn(&data.dsg)
                    .recipe_arn(recipe)
                    .perform_auto_training(false)
                    .send(),
            )
            .await
            .solution_arn
            .expect("a solution ARN");
        emu.advance(minutes(1));
        let version = c
            .ok(
                "CreateSolutionVersion",
                p.create_solution_version().solution_arn(&solution).send(),
            )
            .await
            .solution_version_arn
            .expect("a version ARN");
        assert!(version.starts_with(&format!("{solution}/")), "{version}");
        let d = c
            .ok(
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
        let d = c
            .ok(
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
        let m = c
            .ok(
                "GetSolutionMetrics",
                p.get_solution_metrics().solution_version_arn(&version).send(),
            )
            .await;
        assert!(m.metrics.is_some_and(|m| !m.is_empty()));
        versions.push(version.clone());
        if name == "wf-affinity" {
            continue;
        }
        let campaign = c
            .ok(
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
    let d = c
        .ok(
            "DescribeCampaign",
            p.describe_campaign().campaign_arn(up_campaign).send(),
        )
        .await;
    assert_eq!(d.campaign.and_then(|c| c.status).as_deref(), Some("ACTIVE"));

    // Recommendations honour numResults and filters, and are deterministic.
    let r1 = c
        .ok(
            "GetRecommendations",
            rt.get_recommendations()
                .campaign_arn(up_campaign)
                .user_id("user-1")
                .num_results(5)
                .send(),
        )
        .await;
    assert_eq!(r1.item_list().len(), 5, "{r1:?}");
    let r2 = c
        .ok(
            "GetRecommendations",
            rt.get_recommendations()
                .campaign_arn(up_campaign)
                .user_id("user-1")
                .num_results(5)
                .send(),
        )
        .await;
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
    let filtered = c
        .ok(
            "GetRecommendations",
            rt.get_recommendations()
                .campaign_arn(up_campaign)
                .user_id("user-1")
                .num_results(25)
                .filter_arn(&data.filter)
                .send(),
        )
        .await;
    let got: Vec<String> = ids(&filtered);
    assert!(!got.is_empty(), "the data.filter keeps the data.comedies");
    assert!(
        got.iter().all(|i| data.comedies.contains(i)),
        "{got:?} are not all comedies {:?}",
        data.comedies
    );

    let input: Vec<String> = (1..=6).map(|i| format!("item-{i}")).collect();
    let ranked = c
        .ok(
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

    Models {
        up_campaign: up_campaign.clone(),
        campaigns,
        versions,
    }
}

/// A batch inference job and a batch segment job, run to completion.
pub(super) async fn batch(f: &mut Flow, models: &Models) {
    let Flow { emu, p, log, a, .. } = f;
    let (emu, a) = (&*emu, *a);
    let mut c = log.by(emu, a);
    // Batch jobs.
    let s3 = |path: &str| S3DataConfig::builder().path(path).build().expect("an S3 config");
    let bij = c
        .ok(
            "CreateBatchInferenceJob",
            p.create_batch_inference_job()
                .job_name("wf-batch")
                .solution_version_arn(&models.versions[0])
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
    let bsj = c
        .ok(
            "CreateBatchSegmentJob",
            p.create_batch_segment_job()
                .job_name("wf-segments")
                .solution_version_arn(&models.versions[2])
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
    let d = c
        .ok(
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
    let d = c
        .ok(
            "DescribeBatchSegmentJob",
            p.describe_batch_segment_job().batch_segment_job_arn(&bsj).send(),
        )
        .await;
    assert_eq!(
        d.batch_segment_job.and_then(|j| j.status).as_deref(),
        Some("ACTIVE")
    );
}
