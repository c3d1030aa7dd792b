//! State in the data directory: Personalize's survives a clean restart (snapshot) and a crash
//! (the journal, replayed), STS's issued credentials survive a restart until they expire, and
//! `--ephemeral` keeps both in memory.

use emulator::config::FileConfig;

use std::time::Duration;

use crate::common::*;
use crate::sts::{Issued, sts, text, xml};

fn names(r: &Response) -> Vec<String> {
    let mut v: Vec<String> = r.json()["datasetGroups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["name"].as_str().unwrap().to_owned())
        .collect();
    v.sort();
    v
}

fn file() -> FileConfig {
    let mut f = FileConfig::embedded_default();
    f.personalize.time_scale = 0.0;
    f
}

/// Copies a folder tree, as a crash leaves it (files as written so far).
fn copy_tree(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

#[tokio::test]
async fn personalize_state_survives_a_restart_and_a_crash() {
    let mut h = Harness::start_config(tempfile::tempdir().unwrap(), file(), Default::default()).await;
    for name in ["kept-1", "kept-2"] {
        let r = h
            .personalize(&alice(), "CreateDatasetGroup", &format!(r#"{{"name":"{name}"}}"#))
            .await;
        assert_eq!(r.status, 200);
    }
    // A crash now: the data directory as it is, without a shutdown.
    let crashed = tempfile::tempdir().unwrap();
    copy_tree(h.data_dir(), crashed.path());
    std::fs::remove_file(crashed.path().join(".spool/LOCK")).ok();
    let after_crash = Harness::start_config(crashed, file(), Default::default()).await;
    let listed = after_crash.personalize(&alice(), "ListDatasetGroups", "{}").await;
    assert_eq!(names(&listed), ["kept-1", "kept-2"]);
    let again = after_crash
        .personalize(&alice(), "CreateDatasetGroup", r#"{"name":"kept-1"}"#)
        .await;
    assert_eq!(again.error_type(), "ResourceAlreadyExistsException");
    drop(after_crash);

    // A clean stop writes the snapshot; the next start reads it.
    h.stop().await.unwrap();
    let dir = std::mem::replace(&mut h.dir, tempfile::tempdir().unwrap());
    let mut restarted = Harness::start_config(dir, file(), Default::default()).await;
    let listed = restarted.personalize(&alice(), "ListDatasetGroups", "{}").await;
    assert_eq!(names(&listed), ["kept-1", "kept-2"]);
    // A reset is kept too.
    let reset = restarted
        .send(http::Method::POST, "/_emulator/reset", http::HeaderMap::new(), "")
        .await;
    assert_eq!(reset.status, 200);
    let listed = restarted.personalize(&alice(), "ListDatasetGroups", "{}").await;
    assert!(names(&listed).is_empty());
    restarted.stop().await.unwrap();
    let dir = std::mem::replace(&mut restarted.dir, tempfile::tempdir().unwrap());
    let after_reset = Harness::start_config(dir, file(), Default::default()).await;
    let listed = after_reset.personalize(&alice(), "ListDatasetGroups", "{}").await;
    assert!(names(&listed).is_empty(), "the reset survives a restart");
}

#[tokio::test]
async fn ephemeral_state_is_forgotten() {
    let mut ephemeral = file();
    ephemeral.server.ephemeral = true;
    let mut h = Harness::start_config(
        tempfile::tempdir().unwrap(),
        ephemeral.clone(),
        Default::default(),
    )
    .await;
    let r = h
        .personalize(&alice(), "CreateDatasetGroup", r#"{"name":"gone"}"#)
        .await;
    assert_eq!(r.status, 200);
    h.stop().await.unwrap();
    assert!(!h.data_dir().join(".personalize").exists());
    let dir = std::mem::replace(&mut h.dir, tempfile::tempdir().unwrap());
    let restarted = Harness::start_config(dir, ephemeral, Default::default()).await;
    let listed = restarted.personalize(&alice(), "ListDatasetGroups", "{}").await;
    assert!(names(&listed).is_empty());
}

#[tokio::test]
async fn issued_credentials_work_across_a_restart_until_they_expire_and_not_when_ephemeral() {
    for ephemeral in [false, true] {
        let config = || {
            let mut f = file();
            f.server.ephemeral = ephemeral;
            f
        };
        let mut h = Harness::start_config(tempfile::tempdir().unwrap(), config(), Default::default()).await;
        let alice = sts(ALICE.0, ALICE.1);
        let assumed = h.assume(&alice, "nightly", "900").await;
        assert_eq!(assumed.status, 200, "{}", text(&assumed));
        let session = Issued::from(&text(&assumed));
        let stored = h.data_dir().join(".sts").join("credentials.jsonl");
        assert_eq!(stored.exists(), !ephemeral);
        h.stop().await.unwrap();
        let dir = std::mem::replace(&mut h.dir, tempfile::tempdir().unwrap());
        let restarted = Harness::start_config(dir, config(), Default::default()).await;
        let list = restarted
            .personalize(&session.signer("personalize"), "ListDatasetGroups", "{}")
            .await;
        if ephemeral {
            assert_eq!(list.error_type(), "UnrecognizedClientException");
            continue;
        }
        assert_eq!(list.status, 200, "{:?}", list.body);
        let me = restarted
            .query(&session.signer("sts"), "GetCallerIdentity", &[])
            .await;
        assert_eq!(xml(&text(&me), "UserId"), "AROAIOSFODNN7EXAMPLE1:nightly");
        // The file is the owner's alone, and it still ends when it said.
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(restarted.data_dir().join(".sts/credentials.jsonl"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o077, 0, "{mode:o}");
        }
        restarted.clock.advance(Duration::from_secs(901));
        let late = restarted
            .personalize(&session.signer("personalize"), "ListDatasetGroups", "{}")
            .await;
        assert_eq!(late.error_type(), "ExpiredTokenException");
    }
}
