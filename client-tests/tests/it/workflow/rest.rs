//! The rest of the workflow: a domain dataset group with a recommender, tags and paginated
//! lists, every resource deleted in dependency order, and the records of it all.

use aws_sdk_personalize::types::Tag;
use aws_sdk_personalizeevents::primitives::DateTime;
use aws_sdk_personalizeevents::types::Event;
use serde_json::json;

use super::{Data, Flow, INTERACTIONS, Models, Shop, ids, minutes};

/// An e-commerce domain dataset group with a recommender serving recommendations.
pub(super) async fn domain(f: &mut Flow) -> Shop {
    let Flow {
        emu,
        p,
        rt,
        ev,
        log,
        a,
    } = f;
    let (emu, a) = (&*emu, *a);
    let mut c = log.by(emu, a);
    // A domain dataset group with a recommender.
    let shop = c
        .ok(
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
    let shop_schema = c
        .ok(
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
    let shop_ds = c
        .ok(
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
    let shop_tracker = c
        .ok(
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
        c.ok(
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
    let recommender = c
        .ok(
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
    let r = c
        .ok(
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

    Shop {
        shop,
        shop_schema,
        shop_ds,
        shop_tracker_arn: shop_tracker.event_tracker_arn().expect("an ARN").to_owned(),
        recommender,
    }
}

/// Tags on the movie group, and a list read page by page with the SDK's paginator.
pub(super) async fn tags_and_pages(f: &mut Flow, data: &Data) {
    let Flow { emu, p, log, a, .. } = f;
    let (emu, a) = (&*emu, *a);
    let mut c = log.by(emu, a);
    // Tags.
    c.ok(
        "TagResource",
        p.tag_resource()
            .resource_arn(&data.dsg)
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
    c.ok(
        "UntagResource",
        p.untag_resource().resource_arn(&data.dsg).tag_keys("env").send(),
    )
    .await;
    let tags = c
        .ok(
            "ListTagsForResource",
            p.list_tags_for_resource().resource_arn(&data.dsg).send(),
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
}

/// Every resource deleted, in dependency order, and the group gone.
pub(super) async fn delete_everything(f: &mut Flow, data: &Data, models: &Models, shop: &Shop) {
    let Flow { emu, p, log, a, .. } = f;
    let (emu, a) = (&*emu, *a);
    let mut c = log.by(emu, a);
    // Deletes, in dependency order.
    c.ok(
        "DeleteRecommender",
        p.delete_recommender().recommender_arn(&shop.recommender).send(),
    )
    .await;
    for (campaign, _) in &models.campaigns {
        c.ok(
            "DeleteCampaign",
            p.delete_campaign().campaign_arn(campaign).send(),
        )
        .await;
    }
    emu.advance(minutes(30));
    for (_, solution) in &models.campaigns {
        c.ok(
            "DeleteSolution",
            p.delete_solution().solution_arn(solution).send(),
        )
        .await;
    }
    let affinity = models.versions[2]
        .rsplit_once('/')
        .map(|(s, _)| s.to_owned())
        .expect("a solution ARN");
    c.ok(
        "DeleteSolution",
        p.delete_solution().solution_arn(&affinity).send(),
    )
    .await;
    c.ok("DeleteFilter", p.delete_filter().filter_arn(&data.filter).send())
        .await;
    c.ok(
        "DeleteEventTracker",
        p.delete_event_tracker()
            .event_tracker_arn(&data.tracker_arn)
            .send(),
    )
    .await;
    c.ok(
        "DeleteEventTracker",
        p.delete_event_tracker()
            .event_tracker_arn(&shop.shop_tracker_arn)
            .send(),
    )
    .await;
    emu.advance(minutes(30));
    for ds in data.dataset_arns.iter().chain([&shop.shop_ds]) {
        c.ok("DeleteDataset", p.delete_dataset().dataset_arn(ds).send())
            .await;
    }
    emu.advance(minutes(30));
    for s in data.schema_arns.iter().chain([&shop.shop_schema]) {
        c.ok("DeleteSchema", p.delete_schema().schema_arn(s).send()).await;
    }
    for g in [&data.dsg, &shop.shop] {
        c.ok(
            "DeleteDatasetGroup",
            p.delete_dataset_group().dataset_group_arn(g).send(),
        )
        .await;
    }
    emu.advance(minutes(30));
    log.err(
        emu,
        a,
        "DescribeDatasetGroup",
        "ResourceNotFoundException",
        p.describe_dataset_group().dataset_group_arn(&data.dsg).send(),
    )
    .await;
}

/// Every call is exactly one record, and a few records field by field.
pub(super) async fn records(f: &mut Flow, data: &Data, models: &Models) {
    let Flow { emu, log, .. } = f;
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
    assert_eq!(create["responseElements"], json!({ "datasetGroupArn": data.dsg }));
    let describe = delivered.by_request_id(log.nth("DescribeDatasetGroup", 0));
    assert_eq!(
        describe["requestParameters"],
        json!({ "datasetGroupArn": data.dsg })
    );
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
    assert_eq!(
        rec["requestParameters"]["campaignArn"],
        models.up_campaign.as_str()
    );
    assert_eq!(rec["requestParameters"]["numResults"], 5);
    assert!(rec["responseElements"].is_null());
    assert_eq!(
        rec["resources"],
        json!([{ "accountId": "123456789012", "type": "AWS::Personalize::Campaign", "ARN": models.up_campaign }])
    );
    let put = delivered.by_request_id(log.nth("PutItems", 0));
    assert_eq!(
        (put["eventCategory"].as_str(), put["readOnly"].as_bool()),
        (Some("Data"), Some(false))
    );
    assert_eq!(put["requestParameters"]["datasetArn"], data.items_ds.as_str());
    let missing = delivered.by_request_id(log.last("DescribeDatasetGroup"));
    assert_eq!(missing["errorCode"], "ResourceNotFoundException");
}
