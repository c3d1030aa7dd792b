//! Extension points: more AWS JSON 1.1 services (the CloudTrail API), an S3 handler over the data
//! directory, and taps that see every record (Event history).

use std::future::Future;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::Arc;

use bytes::Bytes;
use cloudtrail::{Record, UserIdentity};
use http_body_util::Full;
use serde_json::Value;
use time::OffsetDateTime;

/// A boxed future, so the traits below stay object-safe.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Everything a JSON service needs to know about a call besides its input.
#[derive(Debug, Clone)]
pub struct CallContext {
    /// The caller's account (from the verified access key).
    pub account: String,
    /// The region from the credential scope.
    pub region: String,
    /// The caller, as CloudTrail shows it.
    pub identity: UserIdentity,
    /// The time of the call, from the injected clock.
    pub now: OffsetDateTime,
    /// The `x-amzn-RequestId` of the response (and `requestID` of the record).
    pub request_id: String,
    /// The caller's address (after trusted-proxy resolution).
    pub source_ip: IpAddr,
    /// The received `User-Agent`.
    pub user_agent: Option<String>,
}

/// An error a JSON service answers.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct ServiceError {
    /// The AWS error name (`__type`, `errorCode`).
    pub code: String,
    /// The message.
    pub message: String,
    /// The HTTP status (AWS JSON services use 400 for client errors).
    pub status: u16,
}

impl ServiceError {
    /// A client error (HTTP 400).
    pub fn client(code: impl Into<String>, message: impl Into<String>) -> Self {
        ServiceError {
            code: code.into(),
            message: message.into(),
            status: 400,
        }
    }
}

/// What the recorder needs to know about one operation of a JSON service.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OperationInfo {
    /// The operation name (`eventName`).
    pub name: &'static str,
    /// Whether it only reads (`readOnly`; `responseElements` is null for these).
    pub read_only: bool,
}

/// An AWS JSON 1.1 service served beside Personalize on the same port, selected by its
/// `X-Amz-Target` prefix. Calls are authenticated, deny-checked, throttled and recorded by the
/// server exactly like Personalize calls; the service only computes the answer.
pub trait JsonService: Send + Sync + 'static {
    /// The `X-Amz-Target` prefix before the dot, e.g. `com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101`.
    fn target_prefix(&self) -> &'static str;
    /// Other `X-Amz-Target` prefixes clients send for the same service (the Smithy-based SDKs
    /// send the bare shape name, e.g. `CloudTrail_20131101`).
    fn target_aliases(&self) -> &'static [&'static str] {
        &[]
    }
    /// The SigV4 signing name (`cloudtrail`) and the IAM action prefix used by deny rules.
    fn signing_name(&self) -> &'static str;
    /// The record's `eventSource` (`cloudtrail.amazonaws.com`).
    fn event_source(&self) -> &'static str;
    /// The operation called `name`, or `None` for an unknown operation (answered with
    /// `UnknownOperationException`).
    fn operation(&self, name: &str) -> Option<OperationInfo>;
    /// Runs an operation. The output must use epoch-second numbers for timestamps.
    fn call<'a>(
        &'a self,
        ctx: &'a CallContext,
        operation: &'a str,
        input: &'a Value,
    ) -> BoxFuture<'a, Result<Value, ServiceError>>;
    /// Whether an output member holds a timestamp (rendered as a Java date in `responseElements`).
    fn is_timestamp_member(&self, _name: &str) -> bool {
        false
    }
    /// Forgets state on `POST /_emulator/reset`.
    fn reset(&self) {}
}

/// A request routed to the S3 API (credential scope service `s3`). The server has already
/// verified its signature; `caller` is `None` only for anonymous requests.
#[derive(Debug)]
pub struct S3Request {
    /// The request head as received.
    pub parts: http::request::Parts,
    /// The whole body (bounded by the body limit).
    pub body: Bytes,
    /// Who signed the request, and the region they signed for.
    pub caller: Option<S3Caller>,
    /// The `x-amz-request-id` to answer with.
    pub request_id: String,
}

/// The verified signer of an S3 request.
#[derive(Debug, Clone)]
pub struct S3Caller {
    /// The caller's account.
    pub account: String,
    /// The caller, as CloudTrail shows it.
    pub identity: UserIdentity,
    /// The region from the credential scope.
    pub region: String,
}

/// The response type every handler produces.
pub type HttpResponse = http::Response<Full<Bytes>>;

/// The S3 API over the data directory.
pub trait S3Handler: Send + Sync + 'static {
    /// Answers one request (errors as S3 XML).
    fn handle(&self, request: S3Request) -> BoxFuture<'_, HttpResponse>;
}

/// Sees every record right after it is handed to delivery (Event history keeps them).
pub trait RecordTap: Send + Sync {
    /// Called once per record, on the request path: keep it cheap.
    fn record(&self, record: &Record);

    /// [`RecordTap::record`] with the record's JSON (`record.to_json()`), already made for the
    /// spool, for taps that keep the bytes.
    fn record_json(&self, record: &Record, json: &[u8]) {
        let _ = json;
        self.record(record);
    }
}

/// The plug-ins the server runs with. Empty by default: CloudTrail targets then answer
/// `UnknownOperationException` and S3 requests answer S3's `NotImplemented`.
#[derive(Clone, Default)]
pub struct Extensions {
    /// Extra AWS JSON 1.1 services, matched by target prefix.
    pub json_services: Vec<Arc<dyn JsonService>>,
    /// The S3 API.
    pub s3: Option<Arc<dyn S3Handler>>,
    /// Record taps.
    pub taps: Vec<Arc<dyn RecordTap>>,
}

impl std::fmt::Debug for Extensions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Extensions")
            .field(
                "json_services",
                &self
                    .json_services
                    .iter()
                    .map(|s| s.target_prefix())
                    .collect::<Vec<_>>(),
            )
            .field("s3", &self.s3.is_some())
            .field("taps", &self.taps.len())
            .finish()
    }
}
