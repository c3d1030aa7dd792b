//! Delivery to a real S3-compatible object store (AWS S3, MinIO, Ceph, moto) through aws-sdk-s3:
//! an [`ObjectStore`] with the same keys, content type and `x-amz-meta-*` user metadata as the
//! local directory, so digests validate wherever the files land.
//!
//! The pipeline's `ObjectStore::put` is synchronous (it runs on blocking threads), while the SDK
//! is async: requests go to a small dedicated runtime thread and `put` waits for the answer. A
//! failed put is an error the pipeline retries, which gives at-least-once delivery.

use std::collections::{BTreeMap, HashMap};
use std::sync::mpsc as std_mpsc;
use std::time::Duration;

use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region, RequestChecksumCalculation};
use aws_sdk_s3::error::DisplayErrorContext;
use aws_sdk_s3::primitives::ByteStream;
use cloudtrail::{ObjectMeta, ObjectStore, SharedClock, StoreError};
use serde::Deserialize;
use tokio::sync::mpsc;

/// `[object_stores.NAME]` in the config: where and how to reach the store.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct S3StoreConfig {
    /// `http://127.0.0.1:9000` for MinIO; absent for AWS S3 itself.
    #[serde(default)]
    pub endpoint_url: Option<String>,
    /// The signing Region.
    #[serde(default = "us_east_1")]
    pub region: String,
    /// Access key id.
    pub access_key_id: String,
    /// Secret access key.
    pub secret_access_key: String,
    /// Session token for temporary credentials.
    #[serde(default)]
    pub session_token: Option<String>,
    /// Path-style addressing (`endpoint/bucket/key`); most S3-compatible stores need it, so it
    /// is the default. Set false for virtual-hosted addressing (`bucket.endpoint/key`).
    #[serde(default = "yes")]
    pub path_style: bool,
    /// How long one put may take before it counts as failed (and is retried), in seconds.
    #[serde(default = "sixty")]
    pub timeout_secs: u64,
}

fn us_east_1() -> String {
    "us-east-1".to_owned()
}

fn yes() -> bool {
    true
}

fn sixty() -> u64 {
    60
}

struct Job {
    bucket: String,
    key: String,
    body: Vec<u8>,
    content_type: String,
    meta: HashMap<String, String>,
    reply: std_mpsc::SyncSender<Result<Option<String>, String>>,
}

/// An [`ObjectStore`] backed by an S3-compatible service.
pub struct S3Store {
    jobs: mpsc::UnboundedSender<Job>,
    timeout: Duration,
    clock: SharedClock,
    label: String,
}

impl std::fmt::Debug for S3Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Store")
            .field("endpoint", &self.label)
            .finish_non_exhaustive()
    }
}

/// Why the store could not start.
#[derive(Debug, thiserror::Error)]
pub enum S3StoreError {
    /// The worker thread or its runtime could not start.
    #[error("cannot start the S3 client: {0}")]
    Start(String),
}

/// The SDK client for a configuration: rustls with ring for `https`, plain TCP for `http`, no
/// default checksum trailers (many S3-compatible stores do not take `aws-chunked` bodies).
pub fn client(config: &S3StoreConfig) -> aws_sdk_s3::Client {
    let http = aws_smithy_http_client::Builder::new()
        .tls_provider(aws_smithy_http_client::tls::Provider::Rustls(
            aws_smithy_http_client::tls::rustls_provider::CryptoMode::Ring,
        ))
        .build_https();
    let creds = Credentials::new(
        config.access_key_id.clone(),
        config.secret_access_key.clone(),
        config.session_token.clone(),
        None,
        "emulator-config",
    );
    let mut b = aws_sdk_s3::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(config.region.clone()))
        .credentials_provider(creds)
        .http_client(http)
        .force_path_style(config.path_style)
        .request_checksum_calculation(RequestChecksumCalculation::WhenRequired);
    if let Some(ep) = &config.endpoint_url {
        b = b.endpoint_url(ep.clone());
    }
    aws_sdk_s3::Client::from_conf(b.build())
}

impl S3Store {
    /// Starts the client thread.
    pub fn start(config: &S3StoreConfig, clock: SharedClock) -> Result<Self, S3StoreError> {
        let client = client(config);
        let (tx, mut rx) = mpsc::unbounded_channel::<Job>();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| S3StoreError::Start(e.to_string()))?;
        std::thread::Builder::new()
            .name("s3-store".to_owned())
            .spawn(move || {
                runtime.block_on(async move {
                    // Ends when the store (the only sender) is dropped.
                    while let Some(job) = rx.recv().await {
                        let client = client.clone();
                        tokio::spawn(async move {
                            let result = client
                                .put_object()
                                .bucket(&job.bucket)
                                .key(&job.key)
                                .body(ByteStream::from(job.body))
                                .content_type(&job.content_type)
                                .set_metadata(Some(job.meta))
                                .send()
                                .await
                                .map(|out| out.e_tag().map(|e| e.trim_matches('"').to_owned()))
                                .map_err(|e| DisplayErrorContext(&e).to_string());
                            let _ = job.reply.send(result);
                        });
                    }
                });
            })
            .map_err(|e| S3StoreError::Start(e.to_string()))?;
        Ok(S3Store {
            jobs: tx,
            timeout: Duration::from_secs(config.timeout_secs.max(1)),
            clock,
            label: config
                .endpoint_url
                .clone()
                .unwrap_or_else(|| format!("s3.{}.amazonaws.com", config.region)),
        })
    }
}

impl ObjectStore for S3Store {
    fn put(
        &self,
        bucket: &str,
        key: &str,
        body: &[u8],
        content_type: &str,
        user_meta: &BTreeMap<String, String>,
    ) -> Result<ObjectMeta, StoreError> {
        let fail = |msg: String| StoreError::Io {
            op: "s3 put",
            path: format!("s3://{bucket}/{key} at {}", self.label),
            source: std::io::Error::other(msg),
        };
        let user: BTreeMap<String, String> = user_meta
            .iter()
            .map(|(k, v)| (k.to_ascii_lowercase(), v.clone()))
            .collect();
        let (reply, answer) = std_mpsc::sync_channel(1);
        self.jobs
            .send(Job {
                bucket: bucket.to_owned(),
                key: key.to_owned(),
                body: body.to_vec(),
                content_type: content_type.to_owned(),
                meta: user.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
                reply,
            })
            .map_err(|_| fail("the S3 client thread has stopped".to_owned()))?;
        let etag = match answer.recv_timeout(self.timeout) {
            Ok(Ok(etag)) => etag.unwrap_or_default(),
            Ok(Err(e)) => return Err(fail(e)),
            Err(_) => return Err(fail(format!("no answer within {:?}", self.timeout))),
        };
        Ok(ObjectMeta {
            content_type: content_type.to_owned(),
            user,
            last_modified: self.clock.now(),
            size: body.len() as u64,
            etag,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An unreachable store fails the put (so the pipeline keeps the records and retries)
    /// instead of hanging or losing them.
    #[test]
    fn unreachable_store_is_an_error() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let config = S3StoreConfig {
            endpoint_url: Some(format!("http://127.0.0.1:{port}")),
            region: "us-east-1".into(),
            access_key_id: "k".into(),
            secret_access_key: "s".into(),
            session_token: None,
            path_style: true,
            timeout_secs: 30,
        };
        let store = S3Store::start(&config, std::sync::Arc::new(cloudtrail::SystemClock)).unwrap();
        let err = store
            .put("bucket", "key", b"body", "application/x-gzip", &BTreeMap::new())
            .unwrap_err();
        assert!(matches!(err, StoreError::Io { op: "s3 put", .. }), "{err}");
        assert!(err.to_string().contains("s3://bucket/key"), "{err}");
    }

    #[test]
    fn config_defaults() {
        let c: S3StoreConfig = toml::from_str("access_key_id = \"a\"\nsecret_access_key = \"b\"\n").unwrap();
        assert_eq!(
            (c.region.as_str(), c.path_style, c.timeout_secs, c.endpoint_url),
            ("us-east-1", true, 60, None)
        );
        assert!(
            toml::from_str::<S3StoreConfig>("access_key_id = \"a\"\nsecret_access_key = \"b\"\nnope = 1\n")
                .is_err()
        );
    }
}
