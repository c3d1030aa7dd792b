//! Every error path a client can meet: service errors through the SDKs (validation, not found,
//! already exists, in use, bad next token, denied, throttled) and protocol errors through raw
//! requests (unknown operation, wrong method or path, missing target, content type, bad JSON).

use std::time::Duration;

use aws_sdk_personalize::error::ProvideErrorMetadata;
use aws_sdk_personalize::operation::create_dataset_group::CreateDatasetGroupError;
use aws_sdk_personalize::operation::describe_dataset_group::DescribeDatasetGroupError;
use aws_sdk_personalizeevents::primitives::DateTime;
use aws_sdk_personalizeevents::types::{Event, Item};
use client_tests::checks::{self, Expect};
use client_tests::{ALICE, CallLog, Emulator, INTERN, Options};
use http::{HeaderMap, HeaderValue, Method, StatusCode};
use serde_json::json;
use tokio::io::AsyncWriteExt;

use crate::workflow::INTERACTIONS;

const MISSING_GROUP: &str = "arn:aws:personalize:us-east-1:123456789012:dataset-group/no-such-group";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn service_errors_reach_the_sdks_and_the_records() {
    let emu = Emulator::start().await;
    let p = emu.personalize(ALICE);
    let rt = emu.runtime(ALICE);
    let ev = emu.events(ALICE);
    let mut log = CallLog::default();
    let mut c = log.by(&emu, ALICE);

    // Validation: name pattern, maxResults range, enum values, required members the SDK
    // cannot check for us.
    let e = c
        .err(
            "CreateDatasetGroup",
            "InvalidInputException",
            p.create_dataset_group().name("bad name!").send(),
        )
        .await;
    assert!(
        matches!(
            e.as_service_error(),
            Some(CreateDatasetGroupError::InvalidInputException(_))
        ),
        "{e:?}"
    );
    assert!(e.message().is_some_and(|m| !m.is_empty()));
    c.err(
        "CreateDatasetGroup",
        "InvalidInputException",
        p.create_dataset_group().name("x".repeat(64)).send(),
    )
    .await;
    c.err(
        "ListDatasetGroups",
        "InvalidInputException",
        p.list_dataset_groups().max_results(0).send(),
    )
    .await;
    c.err(
        "ListDatasetGroups",
        "InvalidInputException",
        p.list_dataset_groups().max_results(101).send(),
    )
    .await;
    c.err(
        "CreateSchema",
        "InvalidInputException",
        p.create_schema().name("broken").schema("{not avro").send(),
    )
    .await;
    c.err(
        "DescribeDatasetGroup",
        "InvalidInputException",
        p.describe_dataset_group().dataset_group_arn("not-an-arn").send(),
    )
    .await;

    // Not found.
    let e = c
        .err(
            "DescribeDatasetGroup",
            "ResourceNotFoundException",
            p.describe_dataset_group().dataset_group_arn(MISSING_GROUP).send(),
        )
        .await;
    assert!(matches!(
        e.as_service_error(),
        Some(DescribeDatasetGroupError::ResourceNotFoundException(_))
    ));
    c.err(
        "CreateDataset",
        "ResourceNotFoundException",
        p.create_dataset()
            .name("orphan")
            .dataset_group_arn(MISSING_GROUP)
            .schema_arn("arn:aws:personalize:us-east-1:123456789012:schema/none")
            .dataset_type("Interactions")
            .send(),
    )
    .await;

    // Already exists, in use.
    let dsg = c
        .ok("CreateDatasetGroup", p.create_dataset_group().name("errs").send())
        .await
        .dataset_group_arn
        .expect("an ARN");
    let e = c
        .err(
            "CreateDatasetGroup",
            "ResourceAlreadyExistsException",
            p.create_dataset_group().name("errs").send(),
        )
        .await;
    assert!(matches!(
        e.as_service_error(),
        Some(CreateDatasetGroupError::ResourceAlreadyExistsException(_))
    ));
    c.err(
        "CreateFilter",
        "InvalidInputException",
        p.create_filter()
            .name("f")
            .dataset_group_arn(&dsg)
            .filter_expression("INCLUDE Nothing")
            .send(),
    )
    .await;
    let schema = c
        .ok(
            "CreateSchema",
            p.create_schema().name("errs").schema(INTERACTIONS).send(),
        )
        .await
        .schema_arn
        .expect("an ARN");
    let ds = c
        .ok(
            "CreateDataset",
            p.create_dataset()
                .name("errs")
                .dataset_group_arn(&dsg)
                .schema_arn(&schema)
                .dataset_type("Interactions")
                .send(),
        )
        .await
        .dataset_arn
        .expect("an ARN");
    c.err(
        "DeleteDatasetGroup",
        "ResourceInUseException",
        p.delete_dataset_group().dataset_group_arn(&dsg).send(),
    )
    .await;
    c.err(
        "DeleteSchema",
        "ResourceInUseException",
        p.delete_schema().schema_arn(&schema).send(),
    )
    .await;

    // Pagination tokens are opaque and bound to their query.
    c.err(
        "ListDatasetGroups",
        "InvalidNextTokenException",
        p.list_dataset_groups().next_token("bm90IGEgdG9rZW4=").send(),
    )
    .await;
    c.ok(
        "CreateDatasetGroup",
        p.create_dataset_group().name("errs-2").send(),
    )
    .await;
    let page = c
        .ok("ListDatasetGroups", p.list_dataset_groups().max_results(1).send())
        .await;
    let token = page.next_token.expect("a second page");
    c.err(
        "ListSchemas",
        "InvalidNextTokenException",
        p.list_schemas().next_token(&token).send(),
    )
    .await;

    // Runtime and Events errors (REST-JSON, modelled statuses).
    let e = c
        .err(
            "GetRecommendations",
            "ResourceNotFoundException",
            rt.get_recommendations()
                .campaign_arn("arn:aws:personalize:us-east-1:123456789012:campaign/none")
                .user_id("u1")
                .send(),
        )
        .await;
    assert_eq!(e.raw_response().map(|r| r.status().as_u16()), Some(404));
    let e = c
        .err(
            "GetRecommendations",
            "InvalidInputException",
            rt.get_recommendations().user_id("u1").send(),
        )
        .await;
    assert_eq!(e.raw_response().map(|r| r.status().as_u16()), Some(400));
    // A data event that names no campaign or recommender matches no data event selector.
    c.undelivered();
    c.err(
        "PutEvents",
        "InvalidInputException",
        ev.put_events()
            .tracking_id("00000000-0000-0000-0000-000000000000")
            .session_id("s")
            .event_list(
                Event::builder()
                    .event_type("click")
                    .sent_at(DateTime::from_secs(emu.now().unix_timestamp()))
                    .build()
                    .expect("an event"),
            )
            .send(),
    )
    .await;
    let e = c
        .err(
            "PutItems",
            "ResourceNotFoundException",
            ev.put_items()
                .dataset_arn("arn:aws:personalize:us-east-1:123456789012:dataset/none/ITEMS")
                .items(Item::builder().item_id("i").build().expect("an item"))
                .send(),
        )
        .await;
    assert_eq!(e.raw_response().map(|r| r.status().as_u16()), Some(404));
    let _ = ds;

    let delivered = emu.delivered().await;
    let records = log.check(&delivered, "aws-sdk-rust/");
    assert_eq!(
        delivered.records.len(),
        log.calls.iter().filter(|c| c.delivered).count(),
        "{:?}",
        delivered.counts()
    );
    // A failed call keeps its parameters and has no response.
    let bad = records[0];
    assert_eq!(bad["requestParameters"], json!({ "name": "bad name!" }));
    assert!(bad["responseElements"].is_null());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deny_rules_answer_access_denied_and_are_recorded() {
    let emu = Emulator::start().await;
    let p = emu.personalize(INTERN);
    let mut log = CallLog::default();
    let e = log
        .err(
            &emu,
            INTERN,
            "CreateDatasetGroup",
            "AccessDeniedException",
            p.create_dataset_group().name("intern-group").send(),
        )
        .await;
    let message = e.message().unwrap_or_default().to_owned();
    assert!(
        message.starts_with("User: arn:aws:iam::123456789012:user/trainees/intern is not authorized to perform: personalize:CreateDatasetGroup"),
        "{message}"
    );
    // What the rules do not cover still works, and a delete of something that does not exist
    // is denied before it is looked up.
    log.ok(&emu, INTERN, "ListDatasetGroups", p.list_dataset_groups().send())
        .await;
    log.err(
        &emu,
        INTERN,
        "DeleteSchema",
        "AccessDeniedException",
        p.delete_schema()
            .schema_arn("arn:aws:personalize:us-east-1:123456789012:schema/none")
            .send(),
    )
    .await;
    let delivered = emu.delivered().await;
    let records = log.check(&delivered, "aws-sdk-rust/");
    assert_eq!(records[0]["requestParameters"], json!({ "name": "intern-group" }));
    assert_eq!(records[0]["userIdentity"]["userName"], "intern");
}

/// A signed call to the test gate, which the server holds in flight until the gate opens.
async fn hold_in_flight(emu: &Emulator) -> tokio::net::TcpStream {
    use emulator::testing::{GATE_SIGNING_NAME, GATE_TARGET_PREFIX};
    let body = "{}";
    let mut headers = client_tests::json_rpc_headers(&format!("{GATE_TARGET_PREFIX}.Hold"));
    headers.insert("host", emu.addr().to_string().parse().expect("a header"));
    headers.insert(
        "content-length",
        body.len().to_string().parse().expect("a header"),
    );
    emulator::sigv4::Signer::new(
        ALICE.access_key_id,
        ALICE.secret_access_key,
        "us-east-1",
        GATE_SIGNING_NAME,
    )
    .sign(
        &Method::POST,
        &"/".parse().expect("a uri"),
        &mut headers,
        body.as_bytes(),
        emu.now(),
    );
    let mut raw = String::from("POST / HTTP/1.1\r\n");
    for (k, v) in &headers {
        raw.push_str(&format!("{k}: {}\r\n", v.to_str().expect("ascii")));
    }
    raw.push_str("\r\n");
    raw.push_str(body);
    let mut stream = tokio::net::TcpStream::connect(emu.addr()).await.expect("connect");
    stream.write_all(raw.as_bytes()).await.expect("write");
    // The admin endpoints bypass the in-flight limit: poll health until the call is held.
    for _ in 0..500 {
        if emu.health().await["inFlight"] == 1 {
            return stream;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    panic!("the gated call never became in flight");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overload_answers_throttling_to_the_sdks() {
    let gate = emulator::testing::Gate::new();
    let served = gate.clone();
    let emu = Emulator::start_with(
        Options::default()
            .file(|f| f.server.max_in_flight = 1)
            .config(move |c| c.extensions.services.push(served)),
    )
    .await;
    let held = hold_in_flight(&emu).await;
    let mut log = CallLog::default();
    log.err(
        &emu,
        ALICE,
        "ListDatasetGroups",
        "ThrottlingException",
        emu.personalize(ALICE).list_dataset_groups().send(),
    )
    .await;
    let e = log
        .err(
            &emu,
            ALICE,
            "GetRecommendations",
            "ThrottlingException",
            emu.runtime(ALICE)
                .get_recommendations()
                .campaign_arn("arn:aws:personalize:us-east-1:123456789012:campaign/c")
                .user_id("u")
                .send(),
        )
        .await;
    assert_eq!(e.raw_response().map(|r| r.status().as_u16()), Some(429));
    gate.release(1);
    drop(held);
    let delivered = emu.delivered().await;
    log.check(&delivered, "aws-sdk-rust/");
}

/// Requests no SDK sends: each gets the AWS error for its case, with a request id.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn protocol_errors_on_the_raw_wire() {
    let emu = Emulator::start().await;
    let json_headers = |target: Option<&str>, content_type: Option<&'static str>| {
        let mut h = HeaderMap::new();
        if let Some(t) = target {
            h.insert("x-amz-target", t.parse().expect("a header"));
        }
        if let Some(ct) = content_type {
            h.insert("content-type", HeaderValue::from_static(ct));
        }
        h.insert("user-agent", HeaderValue::from_static("client-tests/raw"));
        h
    };
    let amz = Some("application/x-amz-json-1.1");
    let cases: Vec<(&str, Method, &str, HeaderMap, &str, u16, &str)> = vec![
        (
            "unknown operation",
            Method::POST,
            "/",
            json_headers(Some("AmazonPersonalize.MakeMeASandwich"), amz),
            "{}",
            400,
            "UnknownOperationException",
        ),
        (
            "unknown target prefix",
            Method::POST,
            "/",
            json_headers(Some("AmazonPersonalizeX.ListDatasetGroups"), amz),
            "{}",
            400,
            "UnknownOperationException",
        ),
        (
            "missing target",
            Method::POST,
            "/",
            json_headers(None, amz),
            "{}",
            400,
            "UnknownOperationException",
        ),
        (
            "wrong method",
            Method::GET,
            "/",
            json_headers(Some("AmazonPersonalize.ListDatasetGroups"), amz),
            "",
            405,
            "MethodNotAllowedException",
        ),
        (
            "wrong path",
            Method::POST,
            "/datasetgroups",
            json_headers(Some("AmazonPersonalize.ListDatasetGroups"), amz),
            "{}",
            404,
            "UnknownOperationException",
        ),
        (
            "REST path with the wrong method",
            Method::GET,
            "/recommendations",
            json_headers(None, Some("application/json")),
            "",
            405,
            "MethodNotAllowedException",
        ),
        (
            "bad content type",
            Method::POST,
            "/",
            json_headers(Some("AmazonPersonalize.ListDatasetGroups"), Some("text/plain")),
            "{}",
            415,
            "UnsupportedMediaTypeException",
        ),
        (
            "malformed JSON",
            Method::POST,
            "/",
            json_headers(Some("AmazonPersonalize.ListDatasetGroups"), amz),
            "{\"maxResults\": ",
            400,
            "SerializationException",
        ),
        (
            "JSON that is not an object",
            Method::POST,
            "/",
            json_headers(Some("AmazonPersonalize.ListDatasetGroups"), amz),
            "[1, 2]",
            400,
            "SerializationException",
        ),
        (
            "malformed JSON on REST-JSON",
            Method::POST,
            "/events",
            json_headers(None, Some("application/json")),
            "{\"trackingId\"",
            400,
            "SerializationException",
        ),
    ];
    let mut recorded = Vec::new();
    for (what, method, path, headers, body, status, code) in cases {
        let r = emu
            .signed(ALICE, "personalize", method, path, headers, body.to_owned())
            .await;
        // Clients keep what follows the last '#': AWS's Coral prefix may be there or not.
        let full_type = r.error_type();
        let plain_type = full_type.rsplit('#').next().unwrap_or_default();
        assert_eq!(
            (r.status.as_u16(), plain_type),
            (status, code),
            "{what}: {}",
            String::from_utf8_lossy(&r.body)
        );
        let header = r.header("x-amzn-errortype").unwrap_or_default();
        assert_eq!(
            header.rsplit('#').next(),
            Some(code),
            "{what}: X-Amzn-ErrorType {header}"
        );
        assert!(!r.message().is_empty(), "{what}: a message");
        let id = r.request_id();
        assert_eq!(id.len(), 36, "{what}: x-amzn-RequestId {id:?}");
        // Calls that name a served operation get past routing and authentication, so they
        // are recorded with their error; the rest have no operation to record.
        if matches!(code, "SerializationException" | "UnsupportedMediaTypeException") {
            recorded.push((what, code, id));
        }
    }
    // Calls that reached an operation are recorded, with the error and no parameters.
    let delivered = emu.delivered().await;
    let expected = recorded.len();
    for (what, code, id) in recorded {
        let r = delivered.by_request_id(&id);
        let name = r["eventName"].as_str().unwrap_or_default().to_owned();
        let e = Expect::ok(&name, ALICE, "client-tests/raw").id(&id).error(code);
        let p = checks::problems(r, &e);
        assert!(p.is_empty(), "{what}: {p:?}\n{r}");
        if code == "SerializationException" {
            assert!(r["requestParameters"].is_null(), "{what}: {r}");
        }
    }
    assert_eq!(
        delivered.records.len(),
        expected,
        "only the calls that named a served operation are recorded: {:?}",
        delivered.counts()
    );
    let _ = StatusCode::OK;
}
