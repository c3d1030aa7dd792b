//! [`S3Uploader`]: an [`ObjectStore`] whose `put` queues the object and returns, so the caller
//! (the offline generator's workers) keeps generating while earlier objects upload.
//!
//! The queue holds at most `in_flight` objects and at most `in_flight` requests run at once, so
//! memory stays bounded and a slow store slows generation down instead of filling memory. Every
//! queued object holds a ticket; the ticket's drop settles it (uploaded, failed, or abandoned),
//! so [`S3Uploader::flush`] can never wait forever for an object nobody will upload. The first
//! permanent failure (after the client's bounded retries) is kept, cancels the requests in
//! flight, and makes every later `put` fail, which stops the run. A PUT is atomic in S3, so the
//! bucket only ever holds complete objects.

use std::collections::BTreeMap;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Duration;

use aws_sdk_s3::primitives::ByteStream;
use base64::Engine as _;
use cloudtrail::{ObjectMeta, ObjectStore, PutObject, SharedClock, StoreError};
use md5::Digest as _;
use tokio::sync::{Semaphore, mpsc, watch};

use crate::{S3StoreConfig, S3StoreError, classify, client_with_retries, lower_keys};

/// How hard the uploader works.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UploadOptions {
    /// Requests in flight at most (and objects queued at most), at least one.
    pub in_flight: usize,
    /// Attempts per request for transient errors (throttling, 5xx, connection and timeout
    /// errors), with the SDK's exponential backoff, at least one.
    pub max_attempts: u32,
}

impl Default for UploadOptions {
    fn default() -> Self {
        UploadOptions {
            in_flight: 16,
            max_attempts: 5,
        }
    }
}

/// What the uploader delivered.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UploadStats {
    /// Objects stored.
    pub objects: u64,
    /// Body bytes stored.
    pub bytes: u64,
}

struct State {
    /// Objects accepted by `put` and not settled yet.
    pending: usize,
    failure: Option<S3StoreError>,
    stats: UploadStats,
}

struct Shared {
    state: Mutex<State>,
    settled: Condvar,
    /// Set to true on the first failure: requests in flight give up.
    abort: watch::Sender<bool>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn failed(&self) -> bool {
        self.lock().failure.is_some()
    }
}

/// One accepted object. Dropping it settles the object: counted if it was stored, otherwise the
/// run's failure (the first one wins).
struct Ticket {
    shared: Arc<Shared>,
    outcome: Option<Result<u64, S3StoreError>>,
    what: String,
}

impl Drop for Ticket {
    fn drop(&mut self) {
        let mut st = self.shared.lock();
        st.pending = st.pending.saturating_sub(1);
        match self.outcome.take() {
            Some(Ok(bytes)) => {
                st.stats.objects += 1;
                st.stats.bytes += bytes;
            }
            Some(Err(e)) => {
                if st.failure.is_none() {
                    st.failure = Some(e);
                    self.shared.abort.send_replace(true);
                }
            }
            None => {
                if st.failure.is_none() {
                    st.failure = Some(S3StoreError::Start(format!(
                        "the upload of {} was abandoned: the uploader stopped",
                        self.what
                    )));
                    self.shared.abort.send_replace(true);
                }
            }
        }
        drop(st);
        self.shared.settled.notify_all();
    }
}

struct Job {
    bucket: String,
    key: String,
    body: Vec<u8>,
    content_type: String,
    content_md5: String,
    meta: BTreeMap<String, String>,
    ticket: Ticket,
}

/// An [`ObjectStore`] that uploads in the background; see the module documentation.
///
/// `put` blocks while the queue is full, so call it from plain threads, never from inside a
/// tokio runtime (it answers an error there rather than blocking a runtime thread).
pub struct S3Uploader {
    jobs: Mutex<Option<mpsc::Sender<Job>>>,
    shared: Arc<Shared>,
    worker: Mutex<Option<std::thread::JoinHandle<()>>>,
    runtime: tokio::runtime::Handle,
    client: aws_sdk_s3::Client,
    config: S3StoreConfig,
    clock: SharedClock,
}

impl std::fmt::Debug for S3Uploader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Uploader")
            .field("endpoint", &self.config.label())
            .finish_non_exhaustive()
    }
}

impl S3Uploader {
    /// Starts the upload thread (a single-threaded runtime: uploads wait on the network, not
    /// on the CPU).
    pub fn start(
        config: &S3StoreConfig,
        options: UploadOptions,
        clock: SharedClock,
    ) -> Result<Self, S3StoreError> {
        let client = client_with_retries(config, options.max_attempts);
        let in_flight = options.in_flight.max(1);
        let (tx, mut rx) = mpsc::channel::<Job>(in_flight);
        let (abort, _) = watch::channel(false);
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                pending: 0,
                failure: None,
                stats: UploadStats::default(),
            }),
            settled: Condvar::new(),
            abort,
        });
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| S3StoreError::Start(e.to_string()))?;
        let handle = runtime.handle().clone();
        let (c, cfg, sh) = (client.clone(), config.clone(), shared.clone());
        let worker = std::thread::Builder::new()
            .name("s3-upload".to_owned())
            .spawn(move || {
                runtime.block_on(async move {
                    let permits = Arc::new(Semaphore::new(in_flight));
                    let mut tasks = tokio::task::JoinSet::new();
                    // Ends when the uploader drops its sender (finish or drop).
                    while let Some(job) = rx.recv().await {
                        let Ok(permit) = permits.clone().acquire_owned().await else {
                            break;
                        };
                        while tasks.try_join_next().is_some() {}
                        let (c, cfg, sh) = (c.clone(), cfg.clone(), sh.clone());
                        tasks.spawn(async move {
                            let _permit = permit;
                            upload(&c, &cfg, &sh, job).await;
                        });
                    }
                    while tasks.join_next().await.is_some() {}
                });
            })
            .map_err(|e| S3StoreError::Start(e.to_string()))?;
        Ok(S3Uploader {
            jobs: Mutex::new(Some(tx)),
            shared,
            worker: Mutex::new(Some(worker)),
            runtime: handle,
            client,
            config: config.clone(),
            clock,
        })
    }

    /// Checks that the bucket exists and the credentials reach it (`HeadBucket`), so a wrong
    /// endpoint, bucket, Region or key fails before anything is generated.
    pub fn check_bucket(&self, bucket: &str) -> Result<(), S3StoreError> {
        let (reply, answer) = std::sync::mpsc::sync_channel(1);
        let (client, cfg, b) = (self.client.clone(), self.config.clone(), bucket.to_owned());
        self.runtime.spawn(async move {
            let r = client
                .head_bucket()
                .bucket(&b)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| classify(&e, "HeadBucket", &cfg, &b, ""));
            let _ = reply.send(r);
        });
        // Retries with backoff fit well inside this; it only guards against a stuck thread.
        let limit = Duration::from_secs(self.config.timeout_secs.max(1) * 10 + 60);
        answer.recv_timeout(limit).unwrap_or_else(|_| {
            Err(S3StoreError::Unreachable {
                endpoint: self.config.label(),
                detail: format!("HeadBucket got no answer within {limit:?}"),
            })
        })
    }

    /// Waits until every object accepted so far is stored, or answers the first failure.
    pub fn flush(&self) -> Result<UploadStats, S3StoreError> {
        let mut st = self.shared.lock();
        while st.pending > 0 && st.failure.is_none() {
            st = self.shared.settled.wait(st).unwrap_or_else(|p| p.into_inner());
        }
        match &st.failure {
            Some(e) => Err(e.clone()),
            None => Ok(st.stats),
        }
    }

    /// The first failure so far, if any.
    pub fn failure(&self) -> Option<S3StoreError> {
        self.shared.lock().failure.clone()
    }

    /// Uploads everything queued, stops the upload thread and answers what was stored, or the
    /// first failure (requests still in flight are then cancelled). Later `put`s fail.
    pub fn finish(&self) -> Result<UploadStats, S3StoreError> {
        drop(self.jobs.lock().unwrap_or_else(|p| p.into_inner()).take());
        let worker = self.worker.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(w) = worker
            && w.join().is_err()
        {
            return Err(S3StoreError::Start("the upload thread panicked".to_owned()));
        }
        self.flush()
    }

    /// What has been stored so far.
    pub fn stats(&self) -> UploadStats {
        self.shared.lock().stats
    }

    fn fail(&self, bucket: &str, key: &str, e: &S3StoreError) -> StoreError {
        StoreError::Io {
            op: "s3 put",
            path: format!("s3://{bucket}/{key} at {}", self.config.label()),
            source: std::io::Error::other(e.to_string()),
        }
    }
}

impl Drop for S3Uploader {
    fn drop(&mut self) {
        // Queued objects are abandoned rather than uploaded behind the caller's back.
        self.shared.abort.send_replace(true);
    }
}

async fn upload(client: &aws_sdk_s3::Client, cfg: &S3StoreConfig, shared: &Shared, mut job: Job) {
    if shared.failed() {
        // Dropping the ticket unset leaves the failure that is already there.
        return;
    }
    let mut abort = shared.abort.subscribe();
    let size = job.body.len() as u64;
    let request = client
        .put_object()
        .bucket(&job.bucket)
        .key(&job.key)
        .body(ByteStream::from(std::mem::take(&mut job.body)))
        .content_type(&job.content_type)
        .content_md5(&job.content_md5)
        .set_metadata(Some(
            job.meta.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
        ))
        .send();
    tokio::select! {
        r = request => {
            job.ticket.outcome = Some(
                r.map(|_| size)
                    .map_err(|e| classify(&e, "PutObject", cfg, &job.bucket, &job.key)),
            );
        }
        // Another object failed for good: this one is abandoned (its ticket leaves that failure).
        _ = abort.wait_for(|a| *a) => {}
    }
}

impl ObjectStore for S3Uploader {
    fn put_object(&self, object: &PutObject<'_>) -> Result<ObjectMeta, StoreError> {
        let (bucket, key, body) = (object.bucket, object.key, object.body);
        let (content_type, user_meta) = (object.content_type, object.user_meta);
        if tokio::runtime::Handle::try_current().is_ok() {
            let e = S3StoreError::Start("S3Uploader::put called inside a tokio runtime".to_owned());
            return Err(self.fail(bucket, key, &e));
        }
        let sender = self.jobs.lock().unwrap_or_else(|p| p.into_inner()).clone();
        let Some(sender) = sender else {
            let e = S3StoreError::Start("the uploader has finished".to_owned());
            return Err(self.fail(bucket, key, &e));
        };
        {
            let mut st = self.shared.lock();
            if let Some(e) = &st.failure {
                return Err(self.fail(bucket, key, e));
            }
            st.pending += 1;
        }
        let md5 = md5::Md5::digest(body);
        let user = lower_keys(user_meta);
        let job = Job {
            bucket: bucket.to_owned(),
            key: key.to_owned(),
            body: body.to_vec(),
            content_type: content_type.to_owned(),
            content_md5: base64::engine::general_purpose::STANDARD.encode(md5),
            meta: user.clone(),
            ticket: Ticket {
                shared: self.shared.clone(),
                outcome: None,
                what: format!("s3://{bucket}/{key}"),
            },
        };
        // Blocks while `in_flight` objects are queued: the backpressure that bounds memory.
        if sender.blocking_send(job).is_err() {
            // The job (and its ticket) came back and was dropped: that recorded the failure.
            let e = self
                .failure()
                .unwrap_or_else(|| S3StoreError::Start("the upload thread has stopped".to_owned()));
            return Err(self.fail(bucket, key, &e));
        }
        Ok(ObjectMeta {
            content_type: content_type.to_owned(),
            user,
            last_modified: self.clock.now(),
            size: body.len() as u64,
            etag: hex::encode(md5),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tests::dead_endpoint;

    fn clock() -> SharedClock {
        Arc::new(cloudtrail::SystemClock)
    }

    /// A dead endpoint is reported as unreachable by the pre-flight check, with the URL.
    #[test]
    fn check_bucket_on_a_dead_endpoint_is_unreachable() {
        let cfg = dead_endpoint();
        let opts = UploadOptions {
            in_flight: 2,
            max_attempts: 1,
        };
        let up = S3Uploader::start(&cfg, opts, clock()).unwrap();
        let err = up.check_bucket("some-bucket").unwrap_err();
        assert!(matches!(err, S3StoreError::Unreachable { .. }), "{err}");
        assert!(
            err.to_string().contains(cfg.endpoint_url.as_deref().unwrap()),
            "{err}"
        );
    }

    /// A failed upload surfaces on flush, on every later put and on finish, and never hangs.
    #[test]
    fn a_failed_upload_stops_later_puts() {
        let cfg = dead_endpoint();
        let opts = UploadOptions {
            in_flight: 1,
            max_attempts: 2,
        };
        let up = S3Uploader::start(&cfg, opts, clock()).unwrap();
        let meta = up
            .put("b-bucket", "k1", b"abc", "application/x-gzip", &BTreeMap::new())
            .unwrap();
        // What S3 would answer as the ETag of a single-part upload.
        assert_eq!(meta.etag, "900150983cd24fb0d6963f7d28e17f72");
        assert_eq!(meta.size, 3);
        let err = up.flush().unwrap_err();
        assert!(matches!(err, S3StoreError::Unreachable { .. }), "{err}");
        let later = up.put("b-bucket", "k2", b"x", "t", &BTreeMap::new()).unwrap_err();
        assert!(later.to_string().contains("s3://b-bucket/k2"), "{later}");
        assert!(
            later.to_string().contains("cannot reach the S3 endpoint"),
            "{later}"
        );
        assert_eq!(up.finish().unwrap_err(), err);
        assert_eq!(up.stats(), UploadStats::default());
    }

    /// An uploader with nothing queued finishes at once with nothing stored.
    #[test]
    fn finish_with_nothing_queued() {
        let up = S3Uploader::start(&dead_endpoint(), UploadOptions::default(), clock()).unwrap();
        assert_eq!(up.finish().unwrap(), UploadStats::default());
        assert!(up.put("b-bucket", "k", b"x", "t", &BTreeMap::new()).is_err());
    }
}
