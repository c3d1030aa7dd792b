//! Event history through the SDK's and the CLI's `lookup-events`: errors, throttling, tokens,
//! and every attribute key across pages, checked against the delivered records.

use super::*;

fn lookup_key(k: &str) -> LookupAttributeKey {
    LookupAttributeKey::from(k)
}

#[tokio::test]
async fn lookup_events_errors_throttling_and_tokens() {
    let emu = Emulator::start().await;
    let ct = cloudtrail(&emu, ALICE, "us-east-1");
    // Two requests per second per account and Region; the manual clock stands still.
    ct.lookup_events().send().await.unwrap();
    ct.lookup_events().send().await.unwrap();
    assert_eq!(sdk_code(ct.lookup_events().send().await), "ThrottlingException");
    // Another Region has its own budget.
    cloudtrail(&emu, ALICE, "eu-west-1")
        .lookup_events()
        .send()
        .await
        .unwrap();
    emu.advance(Duration::from_secs(1));

    let attr = |k: &str, v: &str| {
        LookupAttribute::builder()
            .attribute_key(lookup_key(k))
            .attribute_value(v)
            .build()
            .unwrap()
    };
    let r = ct
        .lookup_events()
        .lookup_attributes(attr("EventName", "A"))
        .lookup_attributes(attr("EventName", "B"))
        .send()
        .await;
    assert_eq!(sdk_code(r), "InvalidLookupAttributesException");
    let r = ct.lookup_events().max_results(51).send().await;
    assert_eq!(sdk_code(r), "InvalidMaxResultsException");
    emu.advance(Duration::from_secs(1));
    let now = aws_sdk_cloudtrail::primitives::DateTime::from_secs(emu.now().unix_timestamp());
    let earlier = aws_sdk_cloudtrail::primitives::DateTime::from_secs(emu.now().unix_timestamp() - 60);
    let r = ct.lookup_events().start_time(now).end_time(earlier).send().await;
    assert_eq!(sdk_code(r), "InvalidTimeRangeException");
    let r = ct.lookup_events().next_token("not-a-token").send().await;
    assert_eq!(sdk_code(r), "InvalidNextTokenException");
    emu.advance(Duration::from_secs(1));
    let r = ct
        .lookup_events()
        .event_category(aws_sdk_cloudtrail::types::EventCategory::from("management"))
        .send()
        .await;
    assert_eq!(sdk_code(r), "InvalidEventCategoryException");

    // A token only continues its own query.
    let personalize = emu.personalize(ALICE);
    for _ in 0..3 {
        personalize.list_schemas().send().await.unwrap();
        emu.advance(Duration::from_secs(1));
    }
    let page = ct
        .lookup_events()
        .lookup_attributes(attr("EventName", "ListSchemas"))
        .max_results(1)
        .send()
        .await
        .unwrap();
    assert_eq!(page.events().len(), 1);
    let token = page.next_token().unwrap().to_owned();
    let r = ct
        .lookup_events()
        .lookup_attributes(attr("EventName", "ListDatasetGroups"))
        .next_token(&token)
        .send()
        .await;
    assert_eq!(sdk_code(r), "InvalidNextTokenException");
    emu.advance(Duration::from_secs(1));
    let next = ct
        .lookup_events()
        .lookup_attributes(attr("EventName", "ListSchemas"))
        .max_results(5)
        .next_token(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(next.events().len(), 2);
    assert!(next.next_token().is_none());
    let first = &page.events()[0];
    assert_eq!(first.read_only(), Some("true"));
    assert_eq!(first.username(), Some("alice"));
    let event: Value = serde_json::from_str(first.cloud_trail_event().unwrap()).unwrap();
    assert_eq!(event["eventID"].as_str(), first.event_id());
    assert!(next.events()[0].event_time().unwrap() < first.event_time().unwrap());
}

/// The CLI's `lookup-events` for one attribute, every page merged (page size 2).
async fn cli_lookup(venv: &Venv, emu: &Emulator, key: &str, value: &str) -> Vec<Value> {
    let attr = format!("AttributeKey={key},AttributeValue={value}");
    let out = venv
        .aws(
            emu.endpoint(),
            ALICE,
            &[
                "cloudtrail",
                "lookup-events",
                "--lookup-attributes",
                &attr,
                "--page-size",
                "2",
            ],
        )
        .await;
    out.success();
    out.json()["Events"].as_array().cloned().unwrap_or_default()
}

/// What Event history should answer for one attribute, from the delivered management records.
fn expected(records: &[Value], key: &str, value: &str) -> Vec<String> {
    let arns_in = |r: &Value| -> Vec<String> {
        [&r["requestParameters"], &r["responseElements"]]
            .iter()
            .filter_map(|p| p.as_object())
            .flat_map(|o| o.values())
            .flat_map(|v| match v {
                Value::Array(a) => a.clone(),
                other => vec![other.clone()],
            })
            .filter_map(|v| v.as_str().filter(|s| s.starts_with("arn:")).map(str::to_owned))
            .collect()
    };
    let mut hits: Vec<&Value> = records
        .iter()
        .filter(|r| {
            r["managementEvent"] == true
                && r["awsRegion"] == "us-east-1"
                && r["recipientAccountId"] == ACCOUNT
        })
        .filter(|r| match key {
            "EventId" => r["eventID"] == value,
            "EventName" => r["eventName"] == value,
            "ReadOnly" => r["readOnly"].as_bool().unwrap_or(false).to_string() == value,
            "Username" => {
                let u = &r["userIdentity"];
                match u["type"].as_str() {
                    Some("AssumedRole") => {
                        u["arn"].as_str().and_then(|a| a.rsplit('/').next()) == Some(value)
                    }
                    Some("Root") => u["userName"].as_str().unwrap_or("root") == value,
                    _ => u["userName"] == value,
                }
            }
            "ResourceType" => arns_in(r).iter().any(|a| a.contains(&format!(":{value}/"))),
            "ResourceName" => arns_in(r).iter().any(|a| a == value),
            "EventSource" => r["eventSource"] == value,
            "AccessKeyId" => r["userIdentity"]["accessKeyId"] == value,
            _ => false,
        })
        .collect();
    // Newest first; event times differ by at least a second in these tests.
    hits.sort_by_key(|r| std::cmp::Reverse(r["eventTime"].as_str().unwrap_or_default().to_owned()));
    hits.iter()
        .map(|r| r["eventID"].as_str().unwrap_or_default().to_owned())
        .collect()
}

#[tokio::test]
async fn cli_lookup_events_with_each_attribute_key_across_pages() {
    let venv = Venv::locate();
    let emu = Emulator::start_with(
        Options::default().file(|f| with_toml(f, "[cloudtrail]\nlookup_events_rate = 0\n")),
    )
    .await;
    let p_alice = emu.personalize(ALICE);
    let p_role = emu.personalize(SESSION);
    let p_root = emu.personalize(ROOT);
    let schema = r#"{"type":"record","name":"Interactions","namespace":"com.amazonaws.personalize.schema","fields":[{"name":"USER_ID","type":"string"},{"name":"ITEM_ID","type":"string"},{"name":"TIMESTAMP","type":"long"}],"version":"1.0"}"#;
    let mut schema_arns = Vec::new();
    for i in 0..3 {
        let out = p_alice
            .create_schema()
            .name(format!("schema-{i}"))
            .schema(schema)
            .send()
            .await
            .unwrap();
        schema_arns.push(out.schema_arn().unwrap().to_owned());
        emu.advance(Duration::from_secs(1));
    }
    for _ in 0..3 {
        p_role.list_schemas().send().await.unwrap();
        emu.advance(Duration::from_secs(1));
    }
    p_role
        .describe_schema()
        .schema_arn(&schema_arns[1])
        .send()
        .await
        .unwrap();
    emu.advance(Duration::from_secs(1));
    p_root
        .create_dataset_group()
        .name("root-group")
        .send()
        .await
        .unwrap();
    emu.advance(Duration::from_secs(1));
    // A data event: never in Event history.
    let _ = emu
        .events(ALICE)
        .put_users()
        .dataset_arn("arn:aws:personalize:us-east-1:123456789012:dataset/none/USERS")
        .send()
        .await;
    emu.advance(Duration::from_secs(1));

    let queries: [(&str, String); 8] = [
        ("EventName", "CreateSchema".to_owned()),
        ("ReadOnly", "true".to_owned()),
        ("Username", "alice-session".to_owned()),
        ("ResourceType", "schema".to_owned()),
        ("ResourceName", schema_arns[1].clone()),
        ("EventSource", "personalize.amazonaws.com".to_owned()),
        ("AccessKeyId", SESSION.access_key_id.to_owned()),
        ("EventId", String::new()),
    ];
    let mut checked = BTreeMap::new();
    for (key, value) in queries {
        emu.flush().await;
        let records = emu.delivered().await.records;
        let value = match key {
            "EventId" => records
                .iter()
                .find(|r| r["eventName"] == "CreateDatasetGroup")
                .and_then(|r| r["eventID"].as_str())
                .unwrap()
                .to_owned(),
            _ => value,
        };
        // ResourceType values are CloudFormation-style type names.
        let (cli_value, match_value) = if key == "ResourceType" {
            ("AWS::Personalize::Schema".to_owned(), value.clone())
        } else {
            (value.clone(), value.clone())
        };
        let want = expected(&records, key, &match_value);
        assert!(
            !want.is_empty(),
            "{key}={value} matches nothing; the test data is wrong"
        );
        let got_events = cli_lookup(&venv, &emu, key, &cli_value).await;
        let got: Vec<String> = got_events
            .iter()
            .map(|e| e["EventId"].as_str().unwrap_or_default().to_owned())
            .collect();
        // Exactly the matching events, newest first. Events of the same second (the CLI's own
        // page calls) come latest-recorded first, an order the files do not keep, so the exact
        // sequence is compared on time and the identities as a set.
        let times: Vec<f64> = got_events
            .iter()
            .map(|e| e["EventTime"].as_f64().unwrap_or_default())
            .collect();
        assert!(
            times.windows(2).all(|w| w[0] >= w[1]),
            "{key}={cli_value}: not newest first: {times:?}"
        );
        let (mut g, mut w) = (got.clone(), want.clone());
        g.sort();
        w.sort();
        assert_eq!(g, w, "{key}={cli_value}");
        let when = |id: &String| {
            records
                .iter()
                .find(|r| r["eventID"] == id.as_str())
                .and_then(|r| r["eventTime"].as_str())
                .unwrap_or_default()
                .to_owned()
        };
        assert_eq!(
            got.iter().map(when).collect::<Vec<_>>(),
            want.iter().map(when).collect::<Vec<_>>()
        );
        for e in &got_events {
            let inner: Value = serde_json::from_str(e["CloudTrailEvent"].as_str().unwrap()).unwrap();
            assert_eq!(inner["eventID"], e["EventId"]);
            assert_eq!(
                e["ReadOnly"],
                inner["readOnly"].as_bool().unwrap_or(false).to_string()
            );
            assert_eq!(inner["eventCategory"], "Management");
        }
        checked.insert(key, want.len());
        emu.advance(Duration::from_secs(1));
    }
    // Several attributes spanned more than one page of 2.
    assert!(checked.values().filter(|n| **n > 2).count() >= 3, "{checked:?}");
}
