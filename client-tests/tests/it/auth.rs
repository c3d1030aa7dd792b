//! SigV4 through aws-sdk-rust: every identity type of the default configuration is recorded
//! with its `userIdentity`, and every signature failure answers as AWS does.

use aws_sdk_personalize::error::ProvideErrorMetadata;
use client_tests::checks::{self, Expect};
use client_tests::{
    ALICE, CallLog, ClientOptions, Creds, EXPIRED_SESSION, Emulator, FEDERATED, INTERN, ROOT, SERVICE,
    SESSION,
};
use http::{HeaderMap, HeaderValue, Method};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_identity_type_is_recorded_with_its_user_identity() {
    let emu = Emulator::start().await;
    let mut log = CallLog::default();
    for creds in [ALICE, INTERN, ROOT, SESSION, FEDERATED, SERVICE] {
        let p = emu.personalize(creds);
        log.ok(&emu, creds, "ListDatasetGroups", p.list_dataset_groups().send())
            .await;
        // A write too, so responseElements of each identity's records is exercised.
        let name = format!("by-{}", creds.access_key_id.to_ascii_lowercase());
        let out = log
            .ok(
                &emu,
                creds,
                "CreateSchema",
                p.create_schema()
                    .name(&name)
                    .schema(crate::workflow::ITEMS)
                    .send(),
            )
            .await;
        assert!(out.schema_arn.is_some_and(|a| a.ends_with(&name)));
    }
    let delivered = emu.delivered().await;
    let records = log.check(&delivered, "aws-sdk-rust/");
    // The role session's record in full: what detection rules key on.
    let session = records
        .iter()
        .find(|r| r["userIdentity"]["type"] == "AssumedRole")
        .expect("a role session record");
    let ctx = &session["userIdentity"]["sessionContext"];
    assert_eq!(ctx["attributes"]["mfaAuthenticated"], "true");
    assert_eq!(ctx["sourceIdentity"], "alice");
    let service = records
        .iter()
        .find(|r| r["userIdentity"]["type"] == "AWSService")
        .expect("a service record");
    assert_eq!(service["sourceIPAddress"], "personalize.amazonaws.com");
    assert_eq!(service["userAgent"], "personalize.amazonaws.com");
    assert!(service["userIdentity"].get("accessKeyId").is_none());
}

/// A client whose secret does not match its key id.
fn wrong_secret(creds: Creds) -> Creds {
    Creds {
        secret_access_key: "wrongSecretKey/K7MDENG/bPxRfiCYEXAMPLEKEY",
        ..creds
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signature_failures_answer_as_aws_does() {
    let emu = Emulator::start().await;
    let mut log = CallLog::default();

    let skewed = |offset| {
        let options = ClientOptions {
            time_offset: offset,
            ..ClientOptions::default()
        };
        emu.personalize_with(ALICE, &options)
    };
    // Each failure: who the call is recorded against, the client, the error code, and its
    // message, or how the message starts and what it must say after that.
    let failures = [
        // A wrong secret: the key is known, so the call is recorded against alice.
        (
            ALICE,
            emu.personalize(wrong_secret(ALICE)),
            "InvalidSignatureException",
            "The request signature we calculated does not match the signature you provided. Check your AWS \
             Secret Access Key and signing method. Consult the service documentation for details.",
            None,
        ),
        // An expired session token.
        (
            EXPIRED_SESSION,
            emu.personalize(EXPIRED_SESSION),
            "ExpiredTokenException",
            "The security token included in the request is expired",
            None,
        ),
        // Clock skew beyond 15 minutes, both ways.
        (
            ALICE,
            skewed(16 * 60),
            "InvalidSignatureException",
            "Signature not yet current: ",
            Some(" 15 min.)"),
        ),
        (
            ALICE,
            skewed(-16 * 60),
            "InvalidSignatureException",
            "Signature expired: ",
            Some(" 15 min.)"),
        ),
    ];
    for (creds, client, code, message, then) in failures {
        let e = log
            .err(
                &emu,
                creds,
                "ListDatasetGroups",
                code,
                client.list_dataset_groups().send(),
            )
            .await;
        let m = e.message().unwrap_or_default();
        match then {
            None => assert_eq!(m, message),
            Some(then) => assert!(m.starts_with(message) && m.contains(then), "{m}"),
        }
    }
    // Within the allowed skew is fine.
    let client = skewed(14 * 60);
    log.ok(
        &emu,
        ALICE,
        "ListDatasetGroups",
        client.list_dataset_groups().send(),
    )
    .await;

    let delivered = emu.delivered().await;
    let records = log.check(&delivered, "aws-sdk-rust/");
    // eventTime is the server's time even when the client's clock is off.
    assert_eq!(records.len(), 5);

    // Failures with no known identity are not recorded: nobody to record them against.
    let before = delivered.records.len();
    let unknown = Creds {
        access_key_id: "AKIAUNKNOWNKEY000000",
        secret_access_key: "whatever",
        session_token: None,
    };
    let e = emu
        .personalize(unknown)
        .list_dataset_groups()
        .send()
        .await
        .expect_err("an unknown key is rejected");
    assert_eq!(e.code(), Some("UnrecognizedClientException"));
    assert_eq!(
        e.message(),
        Some("The security token included in the request is invalid.")
    );
    // Temporary credentials without their session token.
    let e = emu
        .personalize(Creds {
            session_token: None,
            ..SESSION
        })
        .list_dataset_groups()
        .send()
        .await
        .expect_err("an ASIA key without its token is rejected");
    assert!(
        matches!(
            e.code(),
            Some(
                "UnrecognizedClientException" | "IncompleteSignatureException" | "InvalidSignatureException"
            )
        ),
        "{e:?}"
    );
    let e = emu
        .personalize(Creds {
            session_token: Some("IQoJb3JpZ2luX2VjTHISISNOTTHERIGHTTOKEN"),
            ..SESSION
        })
        .list_dataset_groups()
        .send()
        .await
        .expect_err("a wrong session token is rejected");
    assert_eq!(e.code(), Some("UnrecognizedClientException"));
    let after = emu.delivered().await;
    let extra: Vec<_> = after.records.iter().skip(before).collect();
    for r in &extra {
        checks::assert_invariants([*r]);
    }
    assert!(
        extra
            .iter()
            .all(|r| r["userIdentity"]["accessKeyId"] != "AKIAUNKNOWNKEY000000"),
        "an unknown key has no identity to record"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_and_incomplete_signatures_on_the_raw_wire() {
    let emu = Emulator::start().await;
    let headers = |auth: Option<&'static str>| {
        let mut h = client_tests::json_rpc_headers("AmazonPersonalize.ListDatasetGroups");
        h.insert("x-amz-date", HeaderValue::from_static("20260301T100000Z"));
        if let Some(a) = auth {
            h.insert("authorization", HeaderValue::from_static(a));
        }
        h
    };
    let r = emu.send(Method::POST, "/", headers(None), "{}").await;
    assert_eq!(
        (r.status.as_u16(), r.error_type().as_str()),
        (400, "MissingAuthenticationTokenException")
    );
    assert_eq!(r.message(), "Request is missing Authentication Token");
    assert_eq!(
        r.header("x-amzn-errortype"),
        Some("MissingAuthenticationTokenException")
    );
    assert_eq!(r.request_id().len(), 36);

    let r = emu
        .send(
            Method::POST,
            "/",
            headers(Some(
                "AWS4-HMAC-SHA256 SignedHeaders=host;x-amz-date, Signature=abcdef",
            )),
            "{}",
        )
        .await;
    assert_eq!(
        (r.status.as_u16(), r.error_type().as_str()),
        (400, "IncompleteSignatureException")
    );
    assert!(r.message().contains("'Credential'"), "{}", r.message());

    // The REST-JSON APIs answer the same errors.
    let mut h = HeaderMap::new();
    h.insert("content-type", HeaderValue::from_static("application/json"));
    let r = emu.send(Method::POST, "/recommendations", h, "{}").await;
    assert_eq!(r.error_type(), "MissingAuthenticationTokenException");
    assert_eq!(
        r.header("x-amzn-errortype"),
        Some("MissingAuthenticationTokenException")
    );

    // Nothing here had an identity: nothing is recorded.
    let delivered = emu.delivered().await;
    assert!(delivered.records.is_empty(), "{:?}", delivered.counts());
    let _ = Expect::ok("ListDatasetGroups", ALICE, "");
}

/// aws-sdk-rust corrects its signing time by the skew it measures from each response's `Date`
/// header, as botocore does on skew errors. When the emulator's clock is moved (tests, demos
/// with a manual clock), `Date` must follow that clock or the SDK starts signing with the
/// wrong time.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sdk_skew_correction_follows_the_emulator_clock() {
    let emu = Emulator::start().await;
    emu.advance(std::time::Duration::from_secs(3600));
    let r = emu
        .send(Method::GET, "/_emulator/health", HeaderMap::new(), "")
        .await;
    let date = r.header("date").unwrap_or_default().to_owned();
    let want = emu
        .now()
        .format(time::macros::format_description!(
            "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
        ))
        .expect("a date");
    let client = emu.personalize_with(
        ALICE,
        &ClientOptions {
            skew_correction: true,
            ..ClientOptions::default()
        },
    );
    let mut failures = Vec::new();
    for _ in 0..2 {
        if let Err(e) = client.list_dataset_groups().send().await {
            failures.push(format!(
                "{}: {}",
                e.code().unwrap_or_default(),
                e.message().unwrap_or_default()
            ));
        }
    }
    assert_eq!(
        date, want,
        "the HTTP Date header must come from the emulator's clock, not hyper's wall-clock default"
    );
    assert!(failures.is_empty(), "{failures:?}");
}
