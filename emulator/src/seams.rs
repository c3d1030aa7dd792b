//! The seams services plug into: [`Service`] (Personalize, the CloudTrail API, STS, a test's own),
//! [`RawService`] for a service that answers whole requests and records nothing (the S3 API over
//! the data directory, REST-XML), and taps that see every record the spool accepted (Event
//! history). Both kinds of service plug in by their signing name; the server names neither.

use std::future::Future;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::Arc;

use bytes::Bytes;
use cloudtrail::{Record, Resource, UserIdentity};
use http_body_util::Full;
use serde_json::Value;
use time::OffsetDateTime;

/// A boxed future, so the traits below stay object-safe.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A call as the record-side hooks ([`Service::resources`], [`Service::denied_resource`]) see
/// it: the operation, its input when it decoded, and the Region and account it ran in.
#[derive(Debug, Clone, Copy)]
pub struct CallFacts<'a> {
    /// The operation.
    pub op: OperationInfo,
    /// The decoded input, when it decoded.
    pub input: Option<&'a Value>,
    /// The Region of the call.
    pub region: &'a str,
    /// The caller's account.
    pub account: &'a str,
}

/// What [`Service::call`] answers with.
pub type Reply<'a> = BoxFuture<'a, Answer>;

/// Everything a service needs to know about a call besides its input.
#[derive(Debug, Clone, Copy)]
pub struct CallContext<'a> {
    /// The caller's account (from the verified access key).
    pub account: &'a str,
    /// The region from the credential scope.
    pub region: &'a str,
    /// The caller, as CloudTrail shows it.
    pub identity: &'a UserIdentity,
    /// The access key the request was signed with (none for an unsigned call). AWS services'
    /// identities show no key, so a service that needs the caller's credentials reads it here.
    pub access_key_id: Option<&'a str>,
    /// The time of the call, from the injected clock.
    pub now: OffsetDateTime,
    /// The `x-amzn-RequestId` of the response (and `requestID` of the record).
    pub request_id: &'a str,
    /// The caller's address (after trusted-proxy resolution).
    pub source_ip: IpAddr,
    /// The received `User-Agent`.
    pub user_agent: Option<&'a str>,
}

/// How a service error is classed; each protocol turns the class into its own HTTP status
/// (AWS JSON 1.1 answers every client error with 400, REST-JSON binds some to 404 and 409).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// The caller's request is wrong.
    Client,
    /// The caller may not do this (Query services answer 403).
    Denied,
    /// The resource the call names does not exist.
    NotFound,
    /// The resource is in a state that does not allow the call.
    Conflict,
    /// Something on the service's side failed.
    Server,
}

/// An error a service answers: its AWS name, message and class.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct ServiceError {
    /// The AWS error name (`__type`, `errorCode`).
    pub code: String,
    /// The message.
    pub message: String,
    /// Which kind of failure it is.
    pub fault: Fault,
}

impl ServiceError {
    /// An error of class `fault`.
    pub fn new(fault: Fault, code: impl Into<String>, message: impl Into<String>) -> Self {
        ServiceError {
            code: code.into(),
            message: message.into(),
            fault,
        }
    }

    /// A client error.
    pub fn client(code: impl Into<String>, message: impl Into<String>) -> Self {
        Self::new(Fault::Client, code, message)
    }

    /// A failure on the service's side.
    pub fn server(code: impl Into<String>, message: impl Into<String>) -> Self {
        Self::new(Fault::Server, code, message)
    }
}

/// One operation of a service: what the router found and what the recorder needs to know.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OperationInfo {
    /// The operation name (`eventName`).
    pub name: &'static str,
    /// Whether it only reads (`readOnly`).
    pub read_only: bool,
    /// Whether it changes state: it runs only if its record can be kept, and its output is
    /// recorded (`responseElements`). `!read_only` but for STS's credential-issuing calls,
    /// which CloudTrail writes as read-only.
    pub changes_state: bool,
    /// A data event rather than a management event.
    pub data_event: bool,
    /// The service's own number for the operation, handed back to [`Service::call`].
    pub id: u16,
    /// Called without a signature (STS `AssumeRoleWithWebIdentity`): the request itself carries
    /// what proves the caller ([`Service::unsigned_caller`]).
    pub unsigned: bool,
}

impl OperationInfo {
    /// A management event.
    pub const fn management(name: &'static str, read_only: bool) -> Self {
        OperationInfo {
            name,
            read_only,
            changes_state: !read_only,
            data_event: false,
            id: 0,
            unsigned: false,
        }
    }
}

/// Who an unsigned call is recorded against: the identity its own input claims.
#[derive(Debug, Clone)]
pub struct Claimed {
    /// The account the call is made in (`recipientAccountId`), one the emulator knows.
    pub account: String,
    /// Who the input says the caller is.
    pub identity: UserIdentity,
}

/// Work a call leaves for after its record is in the spool (the Personalize journal): a call
/// lost before its record leaves no state behind it either.
pub type AfterRecord = Box<dyn FnOnce() + Send>;

/// Who else keeps a record of a call, and whether its records share an id.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sharing {
    /// Accounts that own what the call used (a role in another account) and get a record of
    /// their own, showing the caller as an `AWSAccount`.
    pub also_recorded_in: Vec<String>,
    /// Whether the record carries a `sharedEventID` even when it is the only one (a call an
    /// AWS service makes).
    pub shared_event_id: bool,
}

/// What a service answers to one call.
pub struct Answer {
    /// The output (epoch-second numbers for timestamps) or the error.
    pub result: Result<Value, ServiceError>,
    /// Run once the call's record was handed to the spool (whether or not it was accepted).
    pub after_record: Option<AfterRecord>,
    /// Who else records the call.
    pub sharing: Sharing,
}

impl From<Result<Value, ServiceError>> for Answer {
    fn from(result: Result<Value, ServiceError>) -> Self {
        Answer {
            result,
            after_record: None,
            sharing: Sharing::default(),
        }
    }
}

impl std::fmt::Debug for Answer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Answer")
            .field("result", &self.result)
            .field("after_record", &self.after_record.is_some())
            .finish()
    }
}

/// A service served on the emulator's port: Personalize (control plane, Runtime, Events), the
/// CloudTrail API, and any a test plugs in. The server routes to it (AWS JSON 1.1 by
/// `X-Amz-Target` prefix, REST-JSON by path), authenticates, deny-checks, throttles, decodes and
/// records every call the same way for every service; the service only computes the answer and
/// says what the record needs that only it knows.
pub trait Service: Send + Sync + 'static {
    /// The SigV4 signing name (`personalize`, `cloudtrail`) and the IAM action prefix of deny rules.
    fn signing_name(&self) -> &'static str;
    /// The record's `eventSource` (`cloudtrail.amazonaws.com`).
    fn event_source(&self) -> &'static str;
    /// The `X-Amz-Target` prefixes (before the dot) of its AWS JSON 1.1 operations. The
    /// Smithy-based SDKs send the bare shape name (`CloudTrail_20131101`), so a service may list both.
    fn target_prefixes(&self) -> &'static [&'static str] {
        &[]
    }
    /// The AWS JSON 1.1 operation called `name`, or `None` for an unknown one.
    fn by_target(&self, _name: &str) -> Option<OperationInfo> {
        None
    }
    /// The REST-JSON operation served at `path` (always `POST`), if any.
    fn by_path(&self, _path: &str) -> Option<OperationInfo> {
        None
    }
    /// For a service that speaks the AWS Query protocol (routed by its signing name, the
    /// operation named by the form's `Action`): the XML namespace of its responses.
    fn query_namespace(&self) -> Option<&'static str> {
        None
    }
    /// Whether its Query dialect is EC2's (lower-camel elements, `<item>` lists, EC2 errors).
    fn speaks_ec2(&self) -> bool {
        false
    }
    /// The Query operation called `action`, or `None` for an unknown one.
    fn by_action(&self, _action: &str) -> Option<OperationInfo> {
        None
    }
    /// Runs an operation.
    fn call<'a>(&'a self, ctx: &'a CallContext<'a>, operation: OperationInfo, input: &'a Value) -> Reply<'a>;
    /// The request as the record shows it: members the model marks sensitive hidden.
    fn redact(&self, _operation: OperationInfo, input: Value) -> Value {
        input
    }
    /// The output as `responseElements` shows it, when that differs from what the client got
    /// (CloudTrail never shows a secret access key).
    fn output_as_recorded(&self, _operation: OperationInfo, _output: &Value) -> Option<Value> {
        None
    }
    /// `resources[]` of the record (data events name the resource they touch).
    fn resources(&self, _call: CallFacts<'_>) -> Vec<Resource> {
        Vec::new()
    }
    /// The resource an explicit-deny message names, when the call names or would create one.
    fn denied_resource(&self, _call: CallFacts<'_>) -> Option<String> {
        None
    }
    /// For an [`OperationInfo::unsigned`] operation: who `input` says the caller is, or the
    /// error to answer (without a record) when it names nobody the emulator knows.
    fn unsigned_caller(&self, _operation: OperationInfo, _input: &Value) -> Result<Claimed, ServiceError> {
        Err(ServiceError::client(
            "MissingAuthenticationToken",
            "Request is missing Authentication Token",
        ))
    }
    /// How the record writes the service's member names (lower camel case for PascalCase wire
    /// names, as CloudTrail does).
    fn member_case(&self) -> cloudtrail::rules::MemberCase {
        cloudtrail::rules::MemberCase::AsSent
    }
    /// Whether an output member holds a timestamp (rendered as a Java date in `responseElements`).
    fn is_timestamp_member(&self, _name: &str) -> bool {
        false
    }
    /// Forgets state on `POST /_emulator/reset`.
    fn reset(&self) {}
}

/// A request routed to a [`RawService`] by its credential scope's service. The server has
/// already verified its signature; `caller` is `None` only for anonymous requests.
#[derive(Debug)]
pub struct RawRequest {
    /// The request head as received.
    pub parts: http::request::Parts,
    /// The whole body (bounded by the body limit).
    pub body: Bytes,
    /// Who signed the request, and the region they signed for.
    pub caller: Option<RawCaller>,
    /// The `x-amz-request-id` to answer with.
    pub request_id: String,
}

/// The verified signer of a [`RawRequest`].
#[derive(Debug, Clone)]
pub struct RawCaller {
    /// The caller's account.
    pub account: String,
    /// The caller, as CloudTrail shows it.
    pub identity: UserIdentity,
    /// The region from the credential scope.
    pub region: String,
}

/// The response type every handler produces.
pub type HttpResponse = http::Response<ResponseBody>;

/// A response body: whole (every API answer), or streamed from a channel (console exports,
/// which must not be built in memory).
pub type ResponseBody = http_body_util::Either<Full<Bytes>, StreamedBody>;

/// A whole response body.
pub fn full_body(bytes: impl Into<Bytes>) -> ResponseBody {
    http_body_util::Either::Left(Full::new(bytes.into()))
}

/// A body whose chunks arrive on a channel; it ends when the sender is dropped.
#[derive(Debug)]
pub struct StreamedBody {
    rx: tokio::sync::mpsc::Receiver<Bytes>,
}

impl StreamedBody {
    /// A body and the sender its chunks go into (at most `depth` chunks wait unsent, so a slow
    /// reader slows the writer instead of growing memory).
    pub fn channel(depth: usize) -> (tokio::sync::mpsc::Sender<Bytes>, ResponseBody) {
        let (tx, rx) = tokio::sync::mpsc::channel(depth.max(1));
        (tx, http_body_util::Either::Right(StreamedBody { rx }))
    }
}

impl hyper::body::Body for StreamedBody {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<hyper::body::Frame<Bytes>, Self::Error>>> {
        self.rx
            .poll_recv(cx)
            .map(|chunk| chunk.map(|b| Ok(hyper::body::Frame::data(b))))
    }
}

/// A service that answers whole requests in its own protocol and records nothing: the S3 API
/// over the data directory, so `aws s3` and `aws cloudtrail validate-logs` read what was
/// delivered (reads of a trail's own bucket are data events nobody here has asked a trail to
/// log). It plugs in by its signing name, as a [`Service`] does: the server checks the
/// signature with the path rules it names and the body limit, and asks it to word the refusals.
pub trait RawService: Send + Sync + 'static {
    /// The credential scope's service name that routes requests here (`s3`).
    fn signing_name(&self) -> &'static str;
    /// How its requests' paths are canonicalised for SigV4 (S3 keeps them as sent).
    fn path_style(&self) -> crate::sigv4::PathStyle;
    /// The answer to a request the server refused before it reached the service (a bad
    /// signature, a body too large or too slow, too many calls at once), in its protocol.
    fn refuse(&self, error: &crate::protocol::CallError, resource: &str, request_id: &str) -> HttpResponse;
    /// Answers one request.
    fn handle(&self, request: RawRequest) -> BoxFuture<'_, HttpResponse>;
}

/// What the console's Trails view reads: each trail the account sees from a Region, as
/// `DescribeTrails`, `GetTrailStatus` and `GetEventSelectors` answer for it.
pub trait TrailsView: Send + Sync {
    /// The trails, each `{trail, status, selectors, bucket, prefix, store}`.
    fn overview(&self, account: &str, region: &str) -> Result<Vec<Value>, ServiceError>;
}

/// Sees every record the spool accepted (Event history keeps them).
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

/// Plug-ins added to what the server assembles itself (Personalize, the CloudTrail API and Event
/// history). A service listed here is asked before the built-in ones, so a test can stand in for one.
#[derive(Clone, Default)]
pub struct Extensions {
    /// Extra services.
    pub services: Vec<Arc<dyn Service>>,
    /// Services that answer whole requests (the binary plugs in [`crate::s3::S3Api`]); a
    /// request signed for a service that is neither here nor a [`Service`] gets that service's
    /// own "not served" answer (S3: `NotImplemented`).
    pub raw: Vec<Arc<dyn RawService>>,
    /// Record taps.
    pub taps: Vec<Arc<dyn RecordTap>>,
}

impl std::fmt::Debug for Extensions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Extensions")
            .field(
                "services",
                &self.services.iter().map(|s| s.signing_name()).collect::<Vec<_>>(),
            )
            .field(
                "raw",
                &self.raw.iter().map(|s| s.signing_name()).collect::<Vec<_>>(),
            )
            .field("taps", &self.taps.len())
            .finish()
    }
}
