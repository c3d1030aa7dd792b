//! Trails delivered to a real S3-compatible server (moto): the same keys, bodies and metadata as
//! the local directory, and digests that validate there.

use super::*;

#[tokio::test]
async fn delivery_to_a_real_s3_compatible_store() {
    let mut moto = Moto::start().await;
    let store = emulator::s3_store::S3StoreConfig {
        endpoint_url: Some(moto.endpoint().to_owned()),
        region: "us-east-1".to_owned(),
        access_key_id: "testing".to_owned(),
        secret_access_key: "testing".to_owned(),
        session_token: None,
        path_style: true,
        timeout_secs: 30,
    };
    let s3 = emulator::s3_store::client(&store);
    s3.create_bucket()
        .bucket("moto-trail-bucket")
        .send()
        .await
        .unwrap();
    let toml = format!(
        r#"
[cloudtrail]
digest_period = "1h"

[object_stores.moto]
endpoint_url = "{}"
access_key_id = "testing"
secret_access_key = "testing"

[[trails]]
name = "to-moto"
bucket = "moto-trail-bucket"
prefix = "emu"
store = "moto"
"#,
        moto.endpoint()
    );
    let emu = Emulator::start_with(Options::default().file(move |f| with_toml(f, &toml))).await;
    let p = emu.personalize(ALICE);
    let a = p.list_dataset_groups().send().await.unwrap();
    let _ = a;
    p.list_schemas().send().await.unwrap();
    let keys = emu.flush().await;
    assert!(!keys.is_empty());

    let listed = s3
        .list_objects_v2()
        .bucket("moto-trail-bucket")
        .prefix("emu/AWSLogs/123456789012/CloudTrail/")
        .send()
        .await
        .unwrap();
    let objects: Vec<String> = listed
        .contents()
        .iter()
        .filter_map(|o| o.key().map(str::to_owned))
        .collect();
    assert!(!objects.is_empty(), "nothing delivered to moto");
    let mut names = Vec::new();
    for key in &objects {
        assert!(regex_like_log_key(key), "{key}");
        let obj = s3
            .get_object()
            .bucket("moto-trail-bucket")
            .key(key)
            .send()
            .await
            .unwrap();
        assert_eq!(obj.content_type(), Some("application/x-gzip"));
        let body = obj.body.collect().await.unwrap().into_bytes();
        let json: Value = serde_json::from_slice(&cloudtrail::logfile::gunzip(&body).unwrap()).unwrap();
        for r in json["Records"].as_array().unwrap() {
            names.push(r["eventName"].as_str().unwrap().to_owned());
        }
    }
    assert!(
        names.contains(&"ListDatasetGroups".to_owned()) && names.contains(&"ListSchemas".to_owned()),
        "{names:?}"
    );
    // Nothing of this trail landed in the local data directory.
    assert!(!emu.data_dir().join("moto-trail-bucket").exists());

    // At least once: with the store down the file fails, stays spooled, shows in the trail's
    // status, and is delivered once the store is back.
    moto.kill().await;
    let port = moto.port();
    p.list_recipes().send().await.unwrap();
    let r = emu
        .send(
            http::Method::POST,
            "/_emulator/flush",
            http::HeaderMap::new(),
            bytes::Bytes::new(),
        )
        .await;
    assert!(!r.status.is_success(), "flush with the store down: {:?}", r.body);
    let ct = cloudtrail(&emu, ALICE, "us-east-1");
    let status = ct.get_trail_status().name("to-moto").send().await.unwrap();
    assert!(
        status
            .latest_delivery_error()
            .is_some_and(|e| e.contains("s3://moto-trail-bucket/")),
        "{status:?}"
    );
    // Kept alive (its drop kills the server) until the end of the test.
    let _moto = Moto::start_on(port).await;
    s3.create_bucket()
        .bucket("moto-trail-bucket")
        .send()
        .await
        .unwrap();
    emu.advance(Duration::from_secs(2));
    let mut delivered = Vec::new();
    for _ in 0..100 {
        let r = emu
            .send(
                http::Method::POST,
                "/_emulator/flush",
                http::HeaderMap::new(),
                bytes::Bytes::new(),
            )
            .await;
        if r.status.is_success() {
            delivered = r.json()["written"].as_array().cloned().unwrap_or_default();
            if !delivered.is_empty() {
                break;
            }
        }
        emu.advance(Duration::from_secs(2));
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let listed = s3
        .list_objects_v2()
        .bucket("moto-trail-bucket")
        .send()
        .await
        .unwrap();
    let mut found = false;
    for key in listed.contents().iter().filter_map(|o| o.key()) {
        let obj = s3
            .get_object()
            .bucket("moto-trail-bucket")
            .key(key)
            .send()
            .await
            .unwrap();
        let body = obj.body.collect().await.unwrap().into_bytes();
        let json: Value = serde_json::from_slice(&cloudtrail::logfile::gunzip(&body).unwrap()).unwrap();
        found |= json["Records"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["eventName"] == "ListRecipes");
    }
    assert!(
        found,
        "the record accepted while the store was down reached it later ({delivered:?})"
    );
    let status = ct.get_trail_status().name("to-moto").send().await.unwrap();
    assert!(status.latest_delivery_error().is_none(), "{status:?}");

    // The hourly digest lands in moto too, signed in its user metadata.
    emu.advance(Duration::from_secs(3601));
    let mut digest = None;
    for _ in 0..200 {
        let l = s3
            .list_objects_v2()
            .bucket("moto-trail-bucket")
            .prefix("emu/AWSLogs/123456789012/CloudTrail-Digest/")
            .send()
            .await
            .unwrap();
        if let Some(k) = l.contents().iter().filter_map(|o| o.key()).next() {
            digest = Some(k.to_owned());
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let digest = digest.expect("a digest in moto");
    let head = s3
        .head_object()
        .bucket("moto-trail-bucket")
        .key(&digest)
        .send()
        .await
        .unwrap();
    let meta = head.metadata().cloned().unwrap_or_default();
    assert_eq!(
        meta.get("signature-algorithm").map(String::as_str),
        Some("SHA256withRSA")
    );
    assert!(meta.get("signature").is_some_and(|s| s.len() == 512), "{meta:?}");
}

fn regex_like_log_key(key: &str) -> bool {
    let name = key.rsplit('/').next().unwrap_or_default();
    key.starts_with("emu/AWSLogs/123456789012/CloudTrail/")
        && name.starts_with("123456789012_CloudTrail_")
        && name.ends_with(".json.gz")
}
