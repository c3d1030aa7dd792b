//! Delivery notifications POSTed to webhook URLs, as an SNS HTTP subscription would receive them,
//! with retries, off the delivery pipeline's task.

use std::time::Duration;

use bytes::Bytes;
use cloudtrail::notify::NotificationSink;
use http_body_util::Full;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use tokio::sync::mpsc;

/// Notifications waiting to be posted; beyond this they are dropped (the notifications log in
/// the data directory still has every one).
const QUEUE: usize = 1024;
/// Attempts per URL and notification.
const ATTEMPTS: u32 = 5;
/// First retry delay; doubles each attempt.
const FIRST_RETRY: Duration = Duration::from_millis(200);
/// Per-attempt timeout.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);

/// Errors setting up the sink.
#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    /// A URL is not a plain `http://` URL.
    #[error("webhook URL {0:?} is not an http:// URL")]
    BadUrl(String),
}

/// A [`NotificationSink`] that POSTs every envelope to each configured URL.
#[derive(Debug, Clone)]
pub struct WebhookSink {
    tx: mpsc::Sender<String>,
}

impl WebhookSink {
    /// Checks the URLs and starts the posting task on the current runtime.
    pub fn start(urls: Vec<String>) -> Result<Self, WebhookError> {
        let mut uris = Vec::with_capacity(urls.len());
        for url in urls {
            match url.parse::<http::Uri>() {
                Ok(uri) if uri.scheme_str() == Some("http") && uri.authority().is_some() => uris.push(uri),
                _ => return Err(WebhookError::BadUrl(url)),
            }
        }
        let (tx, rx) = mpsc::channel(QUEUE);
        tokio::spawn(post_loop(uris, rx));
        Ok(WebhookSink { tx })
    }
}

impl NotificationSink for WebhookSink {
    fn send(&self, envelope_json: &str) {
        if self.tx.try_send(envelope_json.to_owned()).is_err() {
            tracing::warn!("webhook queue full or closed; notification kept only in the notifications log");
        }
    }
}

async fn post_loop(uris: Vec<http::Uri>, mut rx: mpsc::Receiver<String>) {
    let client: Client<HttpConnector, Full<Bytes>> = Client::builder(TokioExecutor::new()).build_http();
    while let Some(envelope) = rx.recv().await {
        let topic = serde_json::from_str::<serde_json::Value>(&envelope)
            .ok()
            .and_then(|v| v.get("TopicArn").and_then(|t| t.as_str()).map(str::to_owned))
            .unwrap_or_default();
        for uri in &uris {
            post_with_retries(&client, uri, &envelope, &topic).await;
        }
    }
}

async fn post_with_retries(
    client: &Client<HttpConnector, Full<Bytes>>,
    uri: &http::Uri,
    body: &str,
    topic: &str,
) {
    let mut delay = FIRST_RETRY;
    for attempt in 1..=ATTEMPTS {
        let mut builder = http::Request::post(uri.clone())
            // SNS posts its JSON as text/plain.
            .header(http::header::CONTENT_TYPE, "text/plain; charset=UTF-8")
            .header("x-amz-sns-message-type", "Notification");
        if !topic.is_empty() {
            builder = builder.header("x-amz-sns-topic-arn", topic);
        }
        let Ok(req) = builder.body(Full::new(Bytes::from(body.to_owned()))) else {
            return;
        };
        match tokio::time::timeout(ATTEMPT_TIMEOUT, client.request(req)).await {
            Ok(Ok(resp)) if resp.status().is_success() => return,
            Ok(Ok(resp)) => {
                tracing::warn!(%uri, status = %resp.status(), attempt, "webhook refused notification")
            }
            Ok(Err(e)) => tracing::warn!(%uri, error = %e, attempt, "webhook post failed"),
            Err(_) => tracing::warn!(%uri, attempt, "webhook post timed out"),
        }
        if attempt < ATTEMPTS {
            tokio::time::sleep(delay).await;
            delay *= 2;
        }
    }
    tracing::error!(%uri, "giving up on a notification after {ATTEMPTS} attempts");
}
