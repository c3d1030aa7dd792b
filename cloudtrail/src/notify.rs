//! Delivery notifications shaped like CloudTrail's SNS messages: one per delivered log file,
//! appended to `<data-dir>/notifications.log` and handed to sinks (the emulator's webhook).

use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use base64::Engine as _;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use crate::clock::SharedClock;
use crate::delivery::DeliveryObserver;
use crate::logfile::WrittenLog;
/// SNS's `Timestamp` rendering, `YYYY-MM-DDTHH:MM:SS.sssZ`.
pub use crate::timefmt::iso_millis;

/// The file name of the notifications log inside the data directory.
pub const NOTIFICATIONS_LOG: &str = "notifications.log";

/// The decoded `Message` of a CloudTrail log-delivery notification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeliveryMessage {
    /// The bucket.
    pub s3_bucket: String,
    /// Full keys (prefix included), always an array.
    pub s3_object_key: Vec<String>,
}

/// An SNS `Notification` envelope, in SNS's field order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notification {
    /// Always `Notification`.
    #[serde(rename = "Type")]
    pub kind: String,
    /// A UUID.
    #[serde(rename = "MessageId")]
    pub message_id: String,
    /// `arn:aws:sns:<region>:<account>:<topic>`.
    #[serde(rename = "TopicArn")]
    pub topic_arn: String,
    /// CloudTrail publishes without a subject.
    #[serde(rename = "Subject", default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// The JSON-encoded [`DeliveryMessage`], as a string.
    #[serde(rename = "Message")]
    pub message: String,
    /// `YYYY-MM-DDTHH:MM:SS.sssZ`.
    #[serde(rename = "Timestamp")]
    pub timestamp: String,
    /// `"1"` (SHA1withRSA in real SNS).
    #[serde(rename = "SignatureVersion")]
    pub signature_version: String,
    /// See [`Notification::new`]: not an RSA signature.
    #[serde(rename = "Signature")]
    pub signature: String,
    /// Where SNS would publish its certificate.
    #[serde(rename = "SigningCertURL")]
    pub signing_cert_url: String,
    /// The unsubscribe link.
    #[serde(rename = "UnsubscribeURL")]
    pub unsubscribe_url: String,
}

fn region_of(topic_arn: &str) -> &str {
    topic_arn
        .split(':')
        .nth(3)
        .filter(|r| !r.is_empty())
        .unwrap_or("us-east-1")
}

impl Notification {
    /// The envelope for one delivered file. SNS signs with a private key only AWS holds, so
    /// `Signature` is the base64 SHA-256 of SNS's canonical string to sign: stable and
    /// tamper-evident, but consumers must turn SNS signature verification off.
    pub fn new(topic_arn: &str, bucket: &str, keys: Vec<String>, at: OffsetDateTime) -> Self {
        let message = serde_json::to_string(&DeliveryMessage {
            s3_bucket: bucket.to_owned(),
            s3_object_key: keys,
        })
        .unwrap_or_default();
        let message_id = crate::record::random_uuid().to_string();
        let timestamp = iso_millis(at);
        // SNS's string to sign for a Notification without Subject.
        let to_sign = format!(
            "Message\n{message}\nMessageId\n{message_id}\nTimestamp\n{timestamp}\nTopicArn\n{topic_arn}\nType\nNotification\n"
        );
        let signature = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(to_sign.as_bytes()));
        let region = region_of(topic_arn);
        Notification {
            kind: "Notification".to_owned(),
            message_id,
            topic_arn: topic_arn.to_owned(),
            subject: None,
            message,
            timestamp,
            signature_version: "1".to_owned(),
            signature,
            signing_cert_url: format!(
                "https://sns.{region}.amazonaws.com/SimpleNotificationService-emulator.pem"
            ),
            unsubscribe_url: format!(
                "https://sns.{region}.amazonaws.com/?Action=Unsubscribe&SubscriptionArn={topic_arn}:{}",
                crate::record::random_uuid()
            ),
        }
    }

    /// The envelope as one line of JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// Builds the notification for one delivered log file.
pub fn log_notification(topic_arn: &str, log: &WrittenLog, at: OffsetDateTime) -> Notification {
    Notification::new(topic_arn, &log.bucket, vec![log.key.clone()], at)
}

/// Somewhere a notification goes besides the log (the emulator POSTs it to a webhook, with
/// retries, off the pipeline's task).
pub trait NotificationSink: Send + Sync + 'static {
    /// Takes the envelope JSON; must not block for long.
    fn send(&self, envelope_json: &str);
}

/// Which topic a file's notification goes to; `None` sends none (a trail without a topic).
pub type TopicResolver = Arc<dyn Fn(&WrittenLog) -> Option<String> + Send + Sync>;

/// The observer that writes one notification line per delivered file and feeds the sinks.
pub struct NotificationLog {
    path: PathBuf,
    file: Mutex<Option<std::fs::File>>,
    topic: TopicResolver,
    clock: SharedClock,
    sinks: Vec<Arc<dyn NotificationSink>>,
}

impl std::fmt::Debug for NotificationLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "NotificationLog {{ path: {:?} }}", self.path)
    }
}

impl NotificationLog {
    /// Appends to `<data_dir>/notifications.log`; every file is announced on `topic_arn`.
    pub fn new(
        data_dir: &Path,
        topic_arn: impl Into<String>,
        clock: SharedClock,
        sinks: Vec<Arc<dyn NotificationSink>>,
    ) -> Self {
        let topic = topic_arn.into();
        Self::with_resolver(data_dir, Arc::new(move |_| Some(topic.clone())), clock, sinks)
    }

    /// Like [`NotificationLog::new`], with the topic chosen per file (per trail).
    pub fn with_resolver(
        data_dir: &Path,
        topic: TopicResolver,
        clock: SharedClock,
        sinks: Vec<Arc<dyn NotificationSink>>,
    ) -> Self {
        NotificationLog {
            path: data_dir.join(NOTIFICATIONS_LOG),
            file: Mutex::new(None),
            topic,
            clock,
            sinks,
        }
    }

    /// The log's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn append(&self, line: &str) -> std::io::Result<()> {
        let mut guard = self.file.lock().unwrap_or_else(|e| e.into_inner());
        if guard.is_none() {
            if let Some(dir) = self.path.parent() {
                std::fs::create_dir_all(dir)?;
            }
            *guard = Some(OpenOptions::new().create(true).append(true).open(&self.path)?);
        }
        let mut buf = Vec::with_capacity(line.len() + 1);
        buf.extend_from_slice(line.as_bytes());
        buf.push(b'\n');
        match guard.as_mut() {
            // One write per line, so concurrent readers see whole lines.
            Some(f) => f.write_all(&buf),
            None => Ok(()),
        }
    }
}

impl DeliveryObserver for NotificationLog {
    fn delivered(&self, log: &WrittenLog) {
        let Some(topic) = (self.topic)(log) else { return };
        let n = log_notification(&topic, log, self.clock.now());
        let line = n.to_json();
        if let Err(e) = self.append(&line) {
            tracing::warn!(path = %self.path.display(), error = %e, "cannot append delivery notification");
            // Reopen next time: the file may have been rotated away or the disk freed.
            *self.file.lock().unwrap_or_else(|e| e.into_inner()) = None;
        }
        for s in &self.sinks {
            s.send(&line);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;
    use time::macros::datetime;

    struct Collect(Mutex<Vec<String>>);
    impl NotificationSink for Collect {
        fn send(&self, envelope_json: &str) {
            self.0.lock().unwrap().push(envelope_json.to_owned());
        }
    }

    #[test]
    fn envelope_and_log_line() {
        let dir = tempfile::tempdir().unwrap();
        let clock = ManualClock::new(datetime!(2026-01-02 03:04:05.678 UTC));
        let sink = Arc::new(Collect(Mutex::new(Vec::new())));
        let nl = NotificationLog::new(
            dir.path(),
            "arn:aws:sns:us-east-2:123456789012:ct",
            clock,
            vec![sink.clone()],
        );
        let log = WrittenLog {
            trail: "arn:aws:cloudtrail:us-east-2:123456789012:trail/t".into(),
            bucket: "bkt".into(),
            key: "AWSLogs/123456789012/CloudTrail/us-east-2/2026/01/02/x.json.gz".into(),
            sha256_hex: String::new(),
            oldest_event: OffsetDateTime::UNIX_EPOCH,
            newest_event: OffsetDateTime::UNIX_EPOCH,
            delivered_at: OffsetDateTime::UNIX_EPOCH,
            records: 1,
            compressed_bytes: 1,
        };
        nl.delivered(&log);
        nl.delivered(&log);
        let text = std::fs::read_to_string(dir.path().join(NOTIFICATIONS_LOG)).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(sink.0.lock().unwrap().len(), 2);
        let v: serde_json::Value = serde_json::from_str(lines[0]).unwrap();
        let keys: Vec<&String> = v.as_object().unwrap().keys().collect();
        assert_eq!(
            keys,
            [
                "Type",
                "MessageId",
                "TopicArn",
                "Message",
                "Timestamp",
                "SignatureVersion",
                "Signature",
                "SigningCertURL",
                "UnsubscribeURL"
            ]
        );
        assert_eq!(v["Type"], "Notification");
        assert_eq!(v["Timestamp"], "2026-01-02T03:04:05.678Z");
        assert!(uuid::Uuid::parse_str(v["MessageId"].as_str().unwrap()).is_ok());
        let msg: serde_json::Value = serde_json::from_str(v["Message"].as_str().unwrap()).unwrap();
        assert_eq!(
            msg,
            serde_json::json!({"s3Bucket": "bkt", "s3ObjectKey": [log.key]})
        );
        assert!(
            v["UnsubscribeURL"]
                .as_str()
                .unwrap()
                .starts_with("https://sns.us-east-2.amazonaws.com/")
        );
    }
}
