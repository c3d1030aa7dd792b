//! Delivery to a real S3-compatible object store (AWS S3, MinIO, Ceph, moto) through aws-sdk-s3:
//! [`ObjectStore`]s with the same keys, content type and `x-amz-meta-*` user metadata as the
//! local directory, so digests validate wherever the files land.
//!
//! Two stores share one client set-up:
//! - [`S3Store`] (the emulator's trails): `put` waits for the answer. A failed put is an error
//!   the delivery pipeline retries, which gives at-least-once delivery.
//! - [`S3Uploader`] (the offline generator): `put` queues the object and returns at once, so
//!   generation and uploads overlap; a bounded queue and a bounded number of requests in flight
//!   keep memory flat, and the first permanent failure stops later puts.
//!
//! This is its own crate so the emulator and the generator can both deliver to S3 without the
//! generator depending on the emulator, and without `cloudtrail` learning HTTP.

mod upload;

use std::collections::{BTreeMap, HashMap};
use std::sync::mpsc as std_mpsc;
use std::time::Duration;

use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::config::retry::RetryConfig;
use aws_sdk_s3::config::timeout::TimeoutConfig;
use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region, RequestChecksumCalculation};
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::primitives::ByteStream;
use cloudtrail::{ObjectMeta, ObjectStore, PutObject, SharedClock, StoreError};
use serde::Deserialize;
use tokio::sync::mpsc;

pub use upload::{S3Uploader, UploadOptions, UploadStats};

/// `[object_stores.NAME]` in the emulator's config: where and how to reach the store.
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

impl S3StoreConfig {
    /// The endpoint as shown in messages: the URL, or AWS S3's regional host.
    pub fn label(&self) -> String {
        self.endpoint_url
            .clone()
            .unwrap_or_else(|| format!("https://s3.{}.amazonaws.com", self.region))
    }
}

/// Why the store could not start, or why an object could not be delivered. Each message says
/// what to check, because the person reading it is usually fixing a command line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum S3StoreError {
    /// The worker thread or its runtime could not start.
    #[error("cannot start the S3 client: {0}")]
    Start(String),
    /// The bucket does not exist at that endpoint.
    #[error(
        "bucket {bucket:?} does not exist at {endpoint}: create it first (for example \
         `aws s3 mb s3://{bucket} --endpoint-url {endpoint}`) or check the bucket name and endpoint"
    )]
    NoSuchBucket {
        /// The bucket.
        bucket: String,
        /// The endpoint.
        endpoint: String,
    },
    /// The store refused the credentials or the request.
    #[error(
        "{endpoint} refused access to bucket {bucket:?} ({detail}): check the access key id, \
         secret access key and session token, and that they may write to the bucket"
    )]
    Denied {
        /// The bucket.
        bucket: String,
        /// The endpoint.
        endpoint: String,
        /// The store's error code and message.
        detail: String,
    },
    /// The bucket lives in another Region than the one requests are signed for.
    #[error("bucket {bucket:?} is not in Region {region} at {endpoint} ({detail}): set the bucket's Region")]
    WrongRegion {
        /// The bucket.
        bucket: String,
        /// The Region requests were signed for.
        region: String,
        /// The endpoint.
        endpoint: String,
        /// The store's error code and message.
        detail: String,
    },
    /// No HTTP answer: nothing listens there, DNS fails, TLS fails, or it timed out.
    #[error(
        "cannot reach the S3 endpoint {endpoint}: {detail} (is the store running, and is the URL right?)"
    )]
    Unreachable {
        /// The endpoint.
        endpoint: String,
        /// The client's error chain.
        detail: String,
    },
    /// Any other failure of one request, after the client's retries.
    #[error("{op} s3://{bucket}/{key} at {endpoint} failed: {detail}")]
    Failed {
        /// `PutObject` or `HeadBucket`.
        op: &'static str,
        /// The bucket.
        bucket: String,
        /// The key (empty for bucket operations).
        key: String,
        /// The endpoint.
        endpoint: String,
        /// The store's error code and message, or the client's error chain.
        detail: String,
    },
}

/// `outer: inner: innermost`, each message once: the SDK's own context display adds Debug dumps
/// that bury the one line a person needs ("Connection refused").
fn error_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut next = Some(err);
    while let Some(e) = next {
        let msg = e.to_string();
        if !msg.is_empty() && !parts.iter().any(|p| p.contains(&msg)) {
            parts.push(msg);
        }
        next = e.source();
    }
    parts.join(": ")
}

/// Turns an SDK error into an actionable [`S3StoreError`].
pub(crate) fn classify<E>(
    err: &SdkError<E, HttpResponse>,
    op: &'static str,
    config: &S3StoreConfig,
    bucket: &str,
    key: &str,
) -> S3StoreError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let endpoint = config.label();
    let chain = error_chain(err);
    match err {
        SdkError::DispatchFailure(_) | SdkError::TimeoutError(_) => {
            return S3StoreError::Unreachable {
                endpoint,
                detail: chain,
            };
        }
        SdkError::ServiceError(_) | SdkError::ResponseError(_) => {}
        _ => {
            return S3StoreError::Failed {
                op,
                bucket: bucket.to_owned(),
                key: key.to_owned(),
                endpoint,
                detail: chain,
            };
        }
    }
    let status = err.raw_response().map(|r| r.status().as_u16()).unwrap_or(0);
    let code = err.code().unwrap_or("");
    // HEAD answers have no body, so the status code is all there is to go on.
    let detail = match (code, err.message()) {
        ("", _) => format!("HTTP {status}"),
        (c, Some(m)) => format!("{c}: {m}"),
        (c, None) => c.to_owned(),
    };
    let bucket = bucket.to_owned();
    match code {
        "NoSuchBucket" => S3StoreError::NoSuchBucket { bucket, endpoint },
        "AccessDenied"
        | "InvalidAccessKeyId"
        | "SignatureDoesNotMatch"
        | "InvalidToken"
        | "ExpiredToken"
        | "TokenRefreshRequired"
        | "AllAccessDisabled"
        | "AccountProblem" => S3StoreError::Denied {
            bucket,
            endpoint,
            detail,
        },
        "PermanentRedirect" | "AuthorizationHeaderMalformed" | "IllegalLocationConstraintException" => {
            S3StoreError::WrongRegion {
                bucket,
                region: config.region.clone(),
                endpoint,
                detail,
            }
        }
        // HeadBucket's 404 is modelled as `NotFound`.
        "" | "NotFound" if status == 404 && key.is_empty() => S3StoreError::NoSuchBucket { bucket, endpoint },
        "" if status == 403 || status == 401 => S3StoreError::Denied {
            bucket,
            endpoint,
            detail,
        },
        "" if status == 301 => S3StoreError::WrongRegion {
            bucket,
            region: config.region.clone(),
            endpoint,
            detail,
        },
        _ => S3StoreError::Failed {
            op,
            bucket,
            key: key.to_owned(),
            endpoint,
            detail: if code.is_empty() {
                format!("HTTP {status}: {chain}")
            } else {
                detail
            },
        },
    }
}

/// The SDK client for a configuration: rustls with ring for `https`, plain TCP for `http`, no
/// default checksum trailers (many S3-compatible stores do not take `aws-chunked` bodies), and
/// the SDK's default retries (three attempts for throttling, 5xx and connection errors).
pub fn client(config: &S3StoreConfig) -> aws_sdk_s3::Client {
    aws_sdk_s3::Client::from_conf(builder(config).build())
}

/// [`client`] with `max_attempts` attempts per request (at least one) for transient errors,
/// a connect timeout of ten seconds and `timeout_secs` per attempt, so a dead endpoint fails
/// fast instead of hanging.
pub fn client_with_retries(config: &S3StoreConfig, max_attempts: u32) -> aws_sdk_s3::Client {
    let b = builder(config)
        .retry_config(RetryConfig::standard().with_max_attempts(max_attempts.max(1)))
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(10))
                .operation_attempt_timeout(Duration::from_secs(config.timeout_secs.max(1)))
                .build(),
        );
    aws_sdk_s3::Client::from_conf(b.build())
}

fn builder(config: &S3StoreConfig) -> aws_sdk_s3::config::Builder {
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
        "s3-store-config",
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
    b
}

/// User metadata as S3 stores it: keys in lower case.
pub(crate) fn lower_keys(user_meta: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    user_meta
        .iter()
        .map(|(k, v)| (k.to_ascii_lowercase(), v.clone()))
        .collect()
}

/// What the client thread is asked to do.
enum Job {
    /// PutObject.
    Put(Put),
    /// HeadObject: whether the object is there (`None` when the store did not say).
    Head {
        bucket: String,
        key: String,
        reply: std_mpsc::SyncSender<Option<bool>>,
    },
}

struct Put {
    bucket: String,
    key: String,
    body: Vec<u8>,
    content_type: String,
    meta: HashMap<String, String>,
    reply: std_mpsc::SyncSender<Result<Option<String>, S3StoreError>>,
}

/// An [`ObjectStore`] backed by an S3-compatible service; `put` waits for the store's answer.
pub struct S3Store {
    jobs: mpsc::UnboundedSender<Job>,
    timeout: Duration,
    clock: SharedClock,
    label: String,
}

impl std::fmt::Debug for S3Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "S3Store {{ endpoint: {:?}, .. }}", self.label)
    }
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
        let cfg = config.clone();
        std::thread::Builder::new()
            .name("s3-store".to_owned())
            .spawn(move || {
                runtime.block_on(async move {
                    // Ends when the store (the only sender) is dropped.
                    while let Some(job) = rx.recv().await {
                        let client = client.clone();
                        let cfg = cfg.clone();
                        tokio::spawn(async move {
                            match job {
                                Job::Put(job) => {
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
                                        .map_err(|e| classify(&e, "PutObject", &cfg, &job.bucket, &job.key));
                                    let _ = job.reply.send(result);
                                }
                                Job::Head { bucket, key, reply } => {
                                    let answer =
                                        match client.head_object().bucket(&bucket).key(&key).send().await {
                                            Ok(_) => Some(true),
                                            // Only a definite "not found" says it is not there.
                                            Err(e) => (e.raw_response().map(|r| r.status().as_u16())
                                                == Some(404))
                                            .then_some(false),
                                        };
                                    let _ = reply.send(answer);
                                }
                            }
                        });
                    }
                });
            })
            .map_err(|e| S3StoreError::Start(e.to_string()))?;
        Ok(S3Store {
            jobs: tx,
            timeout: Duration::from_secs(config.timeout_secs.max(1)),
            clock,
            label: config.label(),
        })
    }
}

impl ObjectStore for S3Store {
    fn put_object(&self, object: &PutObject<'_>) -> Result<ObjectMeta, StoreError> {
        let (bucket, key, body) = (object.bucket, object.key, object.body);
        let (content_type, user_meta) = (object.content_type, object.user_meta);
        let fail = |msg: String| StoreError::Io {
            op: "s3 put",
            path: format!("s3://{bucket}/{key} at {}", self.label),
            source: std::io::Error::other(msg),
        };
        let user = lower_keys(user_meta);
        let (reply, answer) = std_mpsc::sync_channel(1);
        self.jobs
            .send(Job::Put(Put {
                bucket: bucket.to_owned(),
                key: key.to_owned(),
                body: body.to_vec(),
                content_type: content_type.to_owned(),
                meta: user.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
                reply,
            }))
            .map_err(|_| fail("the S3 client thread has stopped".to_owned()))?;
        let etag = match answer.recv_timeout(self.timeout) {
            Ok(Ok(etag)) => etag.unwrap_or_default(),
            Ok(Err(e)) => return Err(fail(e.to_string())),
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

    /// HeadObject: after a crash between a put and its acknowledgement, an object that is
    /// there is not delivered again. `None` when the store does not answer in time or answers
    /// anything but the object or a 404.
    fn exists(&self, bucket: &str, key: &str) -> Option<bool> {
        let (reply, answer) = std_mpsc::sync_channel(1);
        self.jobs
            .send(Job::Head {
                bucket: bucket.to_owned(),
                key: key.to_owned(),
                reply,
            })
            .ok()?;
        answer.recv_timeout(self.timeout).ok().flatten()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn dead_endpoint() -> S3StoreConfig {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        S3StoreConfig {
            endpoint_url: Some(format!("http://127.0.0.1:{port}")),
            region: "us-east-1".into(),
            access_key_id: "k".into(),
            secret_access_key: "s".into(),
            session_token: None,
            path_style: true,
            timeout_secs: 30,
        }
    }

    /// An unreachable store fails the put (so the pipeline keeps the records and retries)
    /// instead of hanging or losing them.
    #[test]
    fn unreachable_store_is_an_error() {
        let config = dead_endpoint();
        let store = S3Store::start(&config, std::sync::Arc::new(cloudtrail::SystemClock)).unwrap();
        let err = store
            .put("bucket", "key", b"body", "application/x-gzip", &BTreeMap::new())
            .unwrap_err();
        assert!(matches!(err, StoreError::Io { op: "s3 put", .. }), "{err}");
        assert!(err.to_string().contains("s3://bucket/key"), "{err}");
        assert!(err.to_string().contains("cannot reach the S3 endpoint"), "{err}");
    }

    #[test]
    fn config_defaults() {
        let c: S3StoreConfig = toml::from_str("access_key_id = \"a\"\nsecret_access_key = \"b\"\n").unwrap();
        assert_eq!(
            (
                c.region.as_str(),
                c.path_style,
                c.timeout_secs,
                c.endpoint_url.clone()
            ),
            ("us-east-1", true, 60, None)
        );
        assert_eq!(c.label(), "https://s3.us-east-1.amazonaws.com");
        assert!(
            toml::from_str::<S3StoreConfig>("access_key_id = \"a\"\nsecret_access_key = \"b\"\nnope = 1\n")
                .is_err()
        );
    }
}
