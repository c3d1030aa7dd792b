//! `generator offline` delivering to an S3-compatible store: moto (from the pinned venv) gets
//! exactly the objects, bodies, content types and `x-amz-meta-*` metadata the same run writes
//! to the local directory; a stop uploads only complete objects; bad stores fail cleanly with an
//! actionable error. The emulator's own S3 API is read-only, so uploading to it is refused.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use client_tests::python::Moto;
use client_tests::{ALICE, Emulator, Options};
use cloudtrail::store::LocalDir;
use emulator::s3_store::{S3StoreConfig, S3StoreError, UploadOptions};
use generator::offline::{Delivery, DigestOptions, OfflineError, OfflineOptions, S3Delivery, Summary};
use time::macros::datetime;

fn store(endpoint: &str, key: &str, secret: &str) -> S3StoreConfig {
    S3StoreConfig {
        endpoint_url: Some(endpoint.to_owned()),
        region: "us-east-1".to_owned(),
        access_key_id: key.to_owned(),
        secret_access_key: secret.to_owned(),
        session_token: None,
        path_style: true,
        timeout_secs: 30,
    }
}

fn options(out: PathBuf, bucket: &str, hours: i64, digests: bool) -> OfflineOptions {
    let start = datetime!(2026-01-05 00:00 UTC);
    let end = start + time::Duration::hours(hours);
    OfflineOptions {
        out,
        scenario: generator::scenario::Scenario::load("suspicious").unwrap(),
        start,
        end,
        accounts: Some(2),
        regions: Some(vec!["us-east-1".to_owned(), "eu-west-1".to_owned()]),
        events_per_day: Some(1_000),
        seed: 42,
        bucket: bucket.to_owned(),
        prefix: Some("gen".to_owned()),
        threads: 2,
        level: 6,
        digests: digests.then(|| DigestOptions {
            key: Arc::new(
                cloudtrail::keys::KeyPair::generate(
                    start - time::Duration::days(1),
                    end + time::Duration::days(30),
                )
                .unwrap(),
            ),
            trail_name: "gen-trail".to_owned(),
        }),
        progress: false,
        labels: None,
        shard: None,
    }
}

/// Runs `generator offline` on a blocking thread (its `put`s block on a full upload queue).
async fn run(
    opts: OfflineOptions,
    delivery: Delivery,
    stop: Arc<AtomicBool>,
) -> Result<(Summary, Option<emulator::s3_store::UploadStats>), OfflineError> {
    tokio::task::spawn_blocking(move || generator::offline::run_delivering(&opts, &delivery, &stop))
        .await
        .unwrap()
}

type Object = (Vec<u8>, Option<String>, BTreeMap<String, String>);

/// Every object in the bucket: body, content type, user metadata.
async fn bucket_objects(s3: &aws_sdk_s3::Client, bucket: &str) -> BTreeMap<String, Object> {
    let mut keys = Vec::new();
    let mut token = None;
    loop {
        let page = s3
            .list_objects_v2()
            .bucket(bucket)
            .set_continuation_token(token)
            .send()
            .await
            .unwrap();
        keys.extend(page.contents().iter().filter_map(|o| o.key().map(str::to_owned)));
        token = page.next_continuation_token().map(str::to_owned);
        if token.is_none() {
            break;
        }
    }
    let mut out = BTreeMap::new();
    for key in keys {
        let obj = s3.get_object().bucket(bucket).key(&key).send().await.unwrap();
        let ct = obj.content_type().map(str::to_owned);
        let meta: BTreeMap<String, String> = obj
            .metadata()
            .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default();
        let body = obj.body.collect().await.unwrap().into_bytes().to_vec();
        out.insert(key, (body, ct, meta));
    }
    out
}

/// Every object the run wrote locally, in the same shape.
fn local_objects(out: &std::path::Path, bucket: &str) -> BTreeMap<String, Object> {
    let dir = LocalDir::new(out);
    let Some(listed) = dir.list(bucket, "", None, usize::MAX).unwrap() else {
        return BTreeMap::new();
    };
    listed
        .into_iter()
        .map(|(key, _)| {
            let (body, meta) = dir.get(bucket, &key).unwrap().unwrap();
            (key, (body, Some(meta.content_type), meta.user))
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offline_upload_to_moto_equals_the_local_files() {
    let moto = Moto::start().await;
    let cfg = store(moto.endpoint(), "testing", "testing");
    let s3 = emulator::s3_store::client(&cfg);
    s3.create_bucket().bucket("gen-both").send().await.unwrap();
    let upload = UploadOptions {
        in_flight: 4,
        max_attempts: 3,
    };

    // One run to the directory and the store at once.
    let dir = tempfile::tempdir().unwrap();
    let opts = options(dir.path().to_owned(), "gen-both", 8, true);
    let key = opts.digests.as_ref().unwrap().key.clone();
    let delivery = Delivery {
        local: true,
        s3: Some(S3Delivery {
            store: cfg.clone(),
            upload,
        }),
    };
    let (summary, stats) = run(opts, delivery, Arc::new(AtomicBool::new(false)))
        .await
        .unwrap();
    assert!(!summary.interrupted);
    assert!(summary.files > 20 && summary.digests > 20, "{summary:?}");
    let stats = stats.unwrap();
    assert_eq!(stats.objects, summary.files + summary.digests);

    let local = local_objects(dir.path(), "gen-both");
    let remote = bucket_objects(&s3, "gen-both").await;
    assert_eq!(local.len() as u64, summary.files + summary.digests);
    assert_eq!(
        local.keys().collect::<Vec<_>>(),
        remote.keys().collect::<Vec<_>>(),
        "the same keys in the bucket as on disk"
    );
    assert_eq!(
        stats.bytes,
        remote.values().map(|o| o.0.len() as u64).sum::<u64>()
    );
    let mut digests = 0;
    for (k, l) in &local {
        let r = &remote[k];
        assert!(l.0 == r.0, "{k}: the uploaded body differs from the file");
        assert_eq!(l.1, r.1, "{k}: content type");
        assert_eq!(l.2, r.2, "{k}: user metadata");
        if k.contains("/CloudTrail-Digest/") {
            digests += 1;
            assert_eq!(r.1.as_deref(), Some("application/x-gzip"), "{k}");
            assert_eq!(
                r.2.get("signature-algorithm").map(String::as_str),
                Some("SHA256withRSA"),
                "{k}"
            );
            let sig = r.2.get("signature").expect("x-amz-meta-signature");
            assert_eq!(sig.len(), 512, "{k}: hex of an RSA-2048 signature");
        } else {
            assert!(k.starts_with("gen/AWSLogs/") && k.ends_with(".json.gz"), "{k}");
            assert!(r.2.is_empty(), "{k}: log files carry no user metadata");
        }
    }
    assert_eq!(digests, summary.digests);

    // Upload only, into the emptied bucket (digests name it), same seed, arguments and key:
    // the same objects again.
    for k in remote.keys() {
        s3.delete_object().bucket("gen-both").key(k).send().await.unwrap();
    }
    assert!(bucket_objects(&s3, "gen-both").await.is_empty());
    let nowhere = tempfile::tempdir().unwrap();
    let mut opts = options(nowhere.path().to_owned(), "gen-both", 8, true);
    opts.digests.as_mut().unwrap().key = key;
    let delivery = Delivery {
        local: false,
        s3: Some(S3Delivery { store: cfg, upload }),
    };
    let (again, _) = run(opts, delivery, Arc::new(AtomicBool::new(false)))
        .await
        .unwrap();
    assert_eq!(again, summary);
    assert!(
        std::fs::read_dir(nowhere.path()).unwrap().next().is_none(),
        "nothing written locally"
    );
    let only = bucket_objects(&s3, "gen-both").await;
    assert!(only == remote, "an upload-only run stores the same objects");
}

/// Stopped mid-run (Ctrl-C), every object in the bucket is complete and is one of the files on
/// disk, and every file on disk was uploaded.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_upload_leaves_only_complete_objects() {
    let moto = Moto::start().await;
    let cfg = store(moto.endpoint(), "testing", "testing");
    let s3 = emulator::s3_store::client(&cfg);
    s3.create_bucket().bucket("gen-stop").send().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut opts = options(dir.path().to_owned(), "gen-stop", 30 * 24, true);
    opts.events_per_day = Some(2_000);
    let delivery = Delivery {
        local: true,
        s3: Some(S3Delivery {
            store: cfg,
            upload: UploadOptions {
                in_flight: 2,
                max_attempts: 3,
            },
        }),
    };
    let stop = Arc::new(AtomicBool::new(false));
    let watcher = {
        let (stop, bucket) = (stop.clone(), dir.path().join("gen-stop"));
        std::thread::spawn(move || {
            // Stop as soon as the first files exist, like a Ctrl-C in the middle of the run.
            for _ in 0..6000 {
                if std::fs::read_dir(&bucket).is_ok_and(|mut d| d.next().is_some()) {
                    break;
                }
                std::thread::sleep(Duration::from_millis(5));
            }
            stop.store(true, Ordering::Relaxed);
        })
    };
    let (summary, stats) = run(opts, delivery, stop).await.unwrap();
    watcher.join().unwrap();
    assert!(summary.interrupted, "{summary:?}");
    assert_eq!(summary.digests, 0, "no digests for an interrupted run");
    let local = local_objects(dir.path(), "gen-stop");
    let remote = bucket_objects(&s3, "gen-stop").await;
    assert!(!local.is_empty());
    assert_eq!(stats.unwrap().objects, local.len() as u64);
    assert!(
        local == remote,
        "the bucket holds exactly the complete files on disk"
    );
}

/// A missing bucket, an unreachable endpoint and wrong credentials each stop the run before
/// anything is generated, with a message that says what to fix; the emulator's read-only S3
/// API refuses the first upload, which stops the run cleanly.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_stores_fail_cleanly_with_actionable_errors() {
    let upload = UploadOptions {
        in_flight: 2,
        max_attempts: 2,
    };
    let attempt = |cfg: S3StoreConfig, bucket: &'static str| {
        let dir = tempfile::tempdir().unwrap();
        let opts = options(dir.path().to_owned(), bucket, 24, false);
        let delivery = Delivery {
            local: true,
            s3: Some(S3Delivery { store: cfg, upload }),
        };
        async move {
            let r = run(opts, delivery, Arc::new(AtomicBool::new(false))).await;
            (r, dir)
        }
    };

    // Nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let (r, dir) = attempt(store(&format!("http://127.0.0.1:{port}"), "k", "s"), "gen-none").await;
    let err = r.unwrap_err();
    assert!(
        matches!(err, OfflineError::Upload(S3StoreError::Unreachable { .. })),
        "{err}"
    );
    assert!(err.to_string().contains("cannot reach the S3 endpoint"), "{err}");
    assert!(!dir.path().join("gen-none").exists(), "nothing generated");

    // The emulator with its S3 API (as the binary plugs it in): an unknown key is refused, and
    // so is any write with a good one.
    let emu = Emulator::start_with(Options::default().config(|c| {
        let s3 = Arc::new(emulator::s3::S3Api::from_config(c));
        c.extensions.raw.push(s3);
    }))
    .await;
    std::fs::create_dir_all(emu.data_dir().join("gen-emulator")).unwrap();
    let (r, _dir) = attempt(
        store(emu.endpoint(), "AKIAUNKNOWNKEY000000", "nope"),
        "gen-emulator",
    )
    .await;
    let err = r.unwrap_err();
    assert!(
        matches!(err, OfflineError::Upload(S3StoreError::Denied { .. })),
        "{err}"
    );
    assert!(err.to_string().contains("check the access key id"), "{err}");
    let good = store(emu.endpoint(), ALICE.access_key_id, ALICE.secret_access_key);
    let (r, _dir) = attempt(good.clone(), "gen-emulator").await;
    let err = r.unwrap_err();
    assert!(
        matches!(err, OfflineError::Upload(S3StoreError::Denied { .. })),
        "{err}"
    );
    assert!(err.to_string().contains("AccessDenied"), "{err}");
    assert!(
        std::fs::read_dir(emu.data_dir().join("gen-emulator"))
            .unwrap()
            .next()
            .is_none(),
        "the emulator's bucket is untouched"
    );
    let (r, _dir) = attempt(good, "gen-no-such-bucket").await;
    let err = r.unwrap_err();
    assert!(
        matches!(err, OfflineError::Upload(S3StoreError::NoSuchBucket { .. })),
        "{err}"
    );

    // moto: a bucket that does not exist.
    let moto = Moto::start().await;
    let (r, dir) = attempt(store(moto.endpoint(), "testing", "testing"), "gen-missing").await;
    let err = r.unwrap_err();
    assert!(
        matches!(err, OfflineError::Upload(S3StoreError::NoSuchBucket { .. })),
        "{err}"
    );
    assert!(err.to_string().contains("aws s3 mb s3://gen-missing"), "{err}");
    assert!(!dir.path().join("gen-missing").exists(), "nothing generated");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_s3_store_tells_whether_a_put_got_there() {
    use cloudtrail::store::ObjectStore as _;
    let moto = Moto::start().await;
    let cfg = store(moto.endpoint(), "testing", "testing");
    let s3 = emulator::s3_store::client(&cfg);
    s3.create_bucket().bucket("intents").send().await.unwrap();
    let clock: cloudtrail::SharedClock = Arc::new(cloudtrail::SystemClock);
    let checked = tokio::task::spawn_blocking(move || {
        let store = emulator::s3_store::S3Store::start(&cfg, clock).unwrap();
        store
            .put(
                "intents",
                "AWSLogs/1/CloudTrail/us-east-1/x.json.gz",
                b"x",
                "application/json",
                &BTreeMap::new(),
            )
            .unwrap();
        (
            store.exists("intents", "AWSLogs/1/CloudTrail/us-east-1/x.json.gz"),
            store.exists("intents", "AWSLogs/1/CloudTrail/us-east-1/never.json.gz"),
        )
    })
    .await
    .unwrap();
    // What a restart needs to know for a put cut off before its acknowledgement.
    assert_eq!(checked, (Some(true), Some(false)));
}
