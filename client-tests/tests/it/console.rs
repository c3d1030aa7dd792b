//! The console in a real browser: Debian's Chromium, driven by Playwright
//! (`console-tests/event-history.mjs`), against an in-process emulator. What the page shows,
//! filters, pages, downloads and streams live is checked against what `LookupEvents` answers
//! through aws-sdk-cloudtrail for the same filter.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use aws_sdk_cloudtrail::types::{LookupAttribute, LookupAttributeKey};
use client_tests::{ALICE, Creds, Emulator, INTERN};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

const PERSONALIZE: &str = "personalize.amazonaws.com";

fn console_tests_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../console-tests")
}

/// The event ids `LookupEvents` answers for one attribute, every page, newest first. The
/// emulator's clock moves a second before each call, as LookupEvents allows two a second.
async fn lookup(emu: &Emulator, key: LookupAttributeKey, value: &str) -> Vec<String> {
    let ct = crate::cloudtrail_api::cloudtrail(emu, ALICE, "us-east-1");
    let mut ids = Vec::new();
    let mut next = None;
    loop {
        emu.clock().advance(Duration::from_secs(1));
        let page = ct
            .lookup_events()
            .lookup_attributes(
                LookupAttribute::builder()
                    .attribute_key(key.clone())
                    .attribute_value(value)
                    .build()
                    .unwrap(),
            )
            .set_next_token(next)
            .send()
            .await
            .unwrap();
        ids.extend(
            page.events()
                .iter()
                .filter_map(|e| e.event_id().map(str::to_owned)),
        );
        next = page.next_token().map(str::to_owned);
        if next.is_none() {
            break;
        }
    }
    ids
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn event_history_in_a_real_browser_matches_lookup_events() {
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    assert!(
        std::path::Path::new(&chromium).exists()
            && console_tests_dir().join("node_modules/playwright-core").exists(),
        "the console tests need Chromium ({chromium}) and console-tests/node_modules: run scripts/setup-console.sh \
         (scripts/test.sh does)"
    );
    let emu = Emulator::start().await;
    let p = emu.personalize(ALICE);
    let mut groups = Vec::new();
    for i in 0..23 {
        let g = p
            .create_dataset_group()
            .name(format!("console-{i}"))
            .send()
            .await
            .unwrap();
        groups.push(g.dataset_group_arn().unwrap().to_owned());
    }
    for _ in 0..3 {
        p.list_dataset_groups().send().await.unwrap();
    }
    emu.personalize(INTERN)
        .create_dataset_group()
        .name("not-for-interns")
        .send()
        .await
        .unwrap_err();
    // A role session whose name a spreadsheet would run as a formula.
    let assumed = emu
        .sts(ALICE)
        .assume_role()
        .role_arn("arn:aws:iam::123456789012:role/PersonalizeAdmin")
        .role_session_name("=HYPERLINK")
        .send()
        .await
        .unwrap();
    let c = assumed.credentials().unwrap();
    let session = Creds::leaked(c.access_key_id(), c.secret_access_key(), Some(c.session_token()));
    emu.personalize(session)
        .list_dataset_groups()
        .send()
        .await
        .unwrap();

    // What LookupEvents says, per attribute (not ReadOnly=true: each LookupEvents call is a
    // read-only event of its own).
    let all = lookup(&emu, LookupAttributeKey::EventSource, PERSONALIZE).await;
    assert_eq!(all.len(), 28);
    let denied = lookup(&emu, LookupAttributeKey::Username, "intern").await;
    assert_eq!(denied.len(), 1);
    let mut filters = Vec::new();
    for (key, name, value) in [
        (LookupAttributeKey::EventName, "EventName", "CreateDatasetGroup"),
        (LookupAttributeKey::Username, "Username", "intern"),
        (LookupAttributeKey::ReadOnly, "ReadOnly", "false"),
        (
            LookupAttributeKey::ResourceType,
            "ResourceType",
            "AWS::Personalize::DatasetGroup",
        ),
        (
            LookupAttributeKey::ResourceName,
            "ResourceName",
            groups[3].as_str(),
        ),
        (
            LookupAttributeKey::AccessKeyId,
            "AccessKeyId",
            INTERN.access_key_id,
        ),
        (LookupAttributeKey::EventId, "EventId", denied[0].as_str()),
        (LookupAttributeKey::EventSource, "EventSource", PERSONALIZE),
    ] {
        let ids = lookup(&emu, key, value).await;
        assert!(!ids.is_empty(), "{name}={value}");
        filters.push(json!({"key": name, "value": value, "ids": ids}));
    }
    // Delivered, so the Trails view has files to browse.
    emu.flush().await;
    let out = tempfile::tempdir().unwrap();
    let expectations = out.path().join("expectations.json");
    std::fs::write(
        &expectations,
        json!({"all": all, "denied": denied[0], "filter": {"key": "EventSource", "value": PERSONALIZE},
               "filters": filters})
        .to_string(),
    )
    .unwrap();
    // Screenshots for docs/console.md when asked (CONSOLE_SCREENSHOTS=docs/console).
    let shots = std::env::var("CONSOLE_SCREENSHOTS").ok();

    let mut node = tokio::process::Command::new("node");
    node.current_dir(console_tests_dir())
        .arg("event-history.mjs")
        .arg(format!("{}/console/", emu.endpoint()))
        .arg(&expectations)
        .arg(out.path())
        .args(shots.iter())
        .env("CHROMIUM", &chromium)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let mut child = node.spawn().expect("node (Node.js) on PATH");
    let mut stdin = child.stdin.take().unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut checks = Vec::new();
    let run = async {
        while let Some(line) = lines.next_line().await.unwrap() {
            let v: Value = serde_json::from_str(&line).unwrap_or(json!({"output": line}));
            if v["ask"] == "make-a-call" {
                // A call made while the page watches: it must appear in the live view.
                let made = p.create_dataset_group().name("live-one").send().await.unwrap();
                let arn = made.dataset_group_arn().unwrap();
                let id = lookup(&emu, LookupAttributeKey::ResourceName, arn).await;
                let answer = json!({"eventId": id[0]}).to_string() + "\n";
                stdin.write_all(answer.as_bytes()).await.unwrap();
                stdin.flush().await.unwrap();
            } else {
                checks.push(v);
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(240), run)
        .await
        .expect("the browser test within 4 minutes");
    let status = child.wait().await.unwrap();
    let mut stderr = String::new();
    if let Some(mut e) = child.stderr.take() {
        tokio::io::AsyncReadExt::read_to_string(&mut e, &mut stderr)
            .await
            .unwrap();
    }
    let failed: Vec<&Value> = checks.iter().filter(|c| c["ok"] == false).collect();
    assert!(
        status.success() && failed.is_empty() && out.path().join("done").exists(),
        "browser checks failed: {failed:?}\nall checks: {checks:?}\nstderr: {stderr}"
    );
    assert!(checks.len() >= 20, "{checks:?}");
}
