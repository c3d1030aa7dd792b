//! One request, start to end: route, read the body, authenticate, deny-check, throttle, decode,
//! call the service, record, answer.

use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Instant;

use bytes::Bytes;
use cloudtrail::{Delivery, Resource, SharedClock};
use http::{Method, StatusCode, request::Parts};
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use personalize::{Api, Operation, Personalize};
use serde_json::Value;
use tokio::sync::Semaphore;

use crate::config::ServerSection;
use crate::identity::{Identities, Principal};
use crate::protocol::{self, ApiError, Protocol};
use crate::recorder::{Call, Outcome, Recorder};
use crate::seams::{CallContext, HttpResponse, JsonService, OperationInfo, S3Caller, S3Handler, S3Request};
use crate::sigv4::{self, PathStyle, RequestView};

/// The Personalize control plane's `X-Amz-Target` prefix.
pub const PERSONALIZE_TARGET_PREFIX: &str = "AmazonPersonalize";
/// The CloudTrail API's `X-Amz-Target` prefix.
pub const CLOUDTRAIL_TARGET_PREFIX: &str = "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101";
/// `eventSource` of every Personalize record (control plane, Runtime and Events).
pub const PERSONALIZE_EVENT_SOURCE: &str = "personalize.amazonaws.com";

/// Shared state of a running server.
pub(crate) struct App {
    pub(crate) clock: SharedClock,
    pub(crate) server: ServerSection,
    pub(crate) identities: Identities,
    /// The Regions a credential scope may name.
    pub(crate) regions: crate::sigv4::Regions,
    pub(crate) personalize: Personalize,
    /// Where Personalize's changes are kept, unless the state is ephemeral.
    pub(crate) journal: Option<Arc<crate::persist::FileJournal>>,
    pub(crate) json_services: Vec<Arc<dyn JsonService>>,
    pub(crate) s3: Option<Arc<dyn S3Handler>>,
    pub(crate) recorder: Recorder,
    pub(crate) delivery: Delivery,
    /// Authenticated calls being processed; when none is left, new ones answer
    /// `ThrottlingException`.
    pub(crate) in_flight: Arc<Semaphore>,
    /// Requests whose body is still being received (they hold no in-flight slot).
    pub(crate) receiving: AtomicUsize,
    /// Calls that would have changed state, refused because their record could not be kept.
    pub(crate) refused_changes: AtomicU64,
    /// Calls answered without a record (read-only or failed ones, while the spool is failing).
    pub(crate) unrecorded: AtomicU64,
    pub(crate) started: Instant,
    /// Who may use the admin endpoints.
    pub(crate) admin: crate::admin::AdminGuard,
}

/// How long a call waits for its record to be accepted before it is answered without one (or,
/// if it changed state, with `InternalFailure`).
const RECORD_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

/// A Personalize call that may have changed state, for the journal.
struct Change {
    ctx: personalize::Context,
    op: Operation,
    seq: u64,
}

/// Counts a body being received until dropped.
struct Receiving<'a>(&'a AtomicUsize);

impl Drop for Receiving<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Where a request goes.
enum Target {
    Personalize(Operation),
    Json(Arc<dyn JsonService>, OperationInfo),
}

struct Route {
    target: Target,
    protocol: Protocol,
}

impl Route {
    fn event_name(&self) -> &str {
        match &self.target {
            Target::Personalize(op) => op.name(),
            Target::Json(_, info) => info.name,
        }
    }

    fn event_source(&self) -> &str {
        match &self.target {
            Target::Personalize(_) => PERSONALIZE_EVENT_SOURCE,
            Target::Json(s, _) => s.event_source(),
        }
    }

    fn signing_name(&self) -> &str {
        match &self.target {
            Target::Personalize(_) => "personalize",
            Target::Json(s, _) => s.signing_name(),
        }
    }

    fn read_only(&self) -> bool {
        match &self.target {
            Target::Personalize(op) => op.read_only(),
            Target::Json(_, info) => info.read_only,
        }
    }

    fn data_event(&self) -> bool {
        matches!(&self.target, Target::Personalize(op) if op.api() != Api::ControlPlane)
    }
}

/// A request that got far enough to have an identity, so its outcome is recorded.
struct Known<'a> {
    route: &'a Route,
    principal: Arc<Principal>,
    region: String,
    source_ip: IpAddr,
    user_agent: Option<String>,
    request_id: &'a str,
}

/// The `Date` header for `now`, formatted once per second per worker thread: every response
/// carries one, and the value only changes when the second does.
fn date_header(now: time::OffsetDateTime) -> Option<http::HeaderValue> {
    thread_local! {
        static LAST: std::cell::RefCell<Option<(i64, http::HeaderValue)>> =
            const { std::cell::RefCell::new(None) };
    }
    let second = now.unix_timestamp();
    LAST.with_borrow_mut(|last| {
        if let Some((s, v)) = last.as_ref()
            && *s == second
        {
            return Some(v.clone());
        }
        let v = http::HeaderValue::from_str(&crate::protocol::http_date(now)).ok()?;
        *last = Some((second, v.clone()));
        Some(v)
    })
}

impl App {
    /// The hyper entry point.
    pub(crate) async fn handle(
        self: Arc<Self>,
        peer: SocketAddr,
        req: http::Request<Incoming>,
    ) -> Result<HttpResponse, Infallible> {
        let clock = self.clock.clone();
        let mut resp = self.dispatch(peer, req).await;
        // SDKs correct their clock skew from `Date`, so it must come from the emulator's clock,
        // not from hyper's wall clock, or a test clock would make every later signature expire.
        if let Some(v) = date_header(clock.now()) {
            resp.headers_mut().insert(http::header::DATE, v);
        }
        Ok(resp)
    }

    async fn dispatch(self: Arc<Self>, peer: SocketAddr, req: http::Request<Incoming>) -> HttpResponse {
        let request_id = request_id();
        let (parts, body) = req.into_parts();
        let path = parts.uri.path();
        if path == "/_emulator" || path.starts_with("/_emulator/") {
            return crate::admin::handle(&self, &parts, &request_id).await;
        }
        let scope = sigv4::peek_scope(&parts.uri, &parts.headers);
        if scope.as_ref().is_some_and(|s| s.service == "s3") {
            return self.handle_s3(parts, body, request_id).await;
        }
        let route = match self.route(&parts) {
            Ok(r) => r,
            Err((protocol, e)) => {
                tracing::debug!(code = %e.code, message = %e.message, "unroutable request");
                return e.response(protocol, &request_id);
            }
        };
        self.handle_routed(&route, parts, body, &request_id, peer).await
    }

    fn route(&self, parts: &Parts) -> Result<Route, (Protocol, ApiError)> {
        let path = parts.uri.path();
        if let Some(op) = Operation::from_rest_path(path) {
            if parts.method != Method::POST {
                return Err((
                    Protocol::RestJson,
                    ApiError::new(
                        StatusCode::METHOD_NOT_ALLOWED,
                        "MethodNotAllowedException",
                        format!(
                            "{} {path} is not allowed; {} is POST {path}",
                            parts.method,
                            op.name()
                        ),
                    ),
                ));
            }
            return Ok(Route {
                target: Target::Personalize(op),
                protocol: Protocol::RestJson,
            });
        }
        let json_err = |e| Err((Protocol::AwsJson11, e));
        let target = parts.headers.get("x-amz-target");
        if path != "/" {
            return json_err(ApiError::unknown_operation(
                StatusCode::NOT_FOUND,
                format!("No operation is served at {path}; AWS JSON requests go to POST /"),
            ));
        }
        if parts.method != Method::POST {
            return json_err(ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "MethodNotAllowedException",
                format!(
                    "{} / is not allowed; AWS JSON 1.1 requests use POST",
                    parts.method
                ),
            ));
        }
        let Some(target) = target else {
            return json_err(ApiError::unknown_operation(
                StatusCode::BAD_REQUEST,
                "Missing required header X-Amz-Target",
            ));
        };
        let Ok(target) = target.to_str() else {
            return json_err(ApiError::unknown_operation(
                StatusCode::BAD_REQUEST,
                "The X-Amz-Target header is not valid ASCII",
            ));
        };
        let Some((prefix, name)) = target.rsplit_once('.') else {
            return json_err(ApiError::unknown_operation(
                StatusCode::BAD_REQUEST,
                format!("Unknown operation {target}"),
            ));
        };
        if prefix == PERSONALIZE_TARGET_PREFIX {
            return match Operation::from_control_plane_name(name) {
                Some(op) => Ok(Route {
                    target: Target::Personalize(op),
                    protocol: Protocol::AwsJson11,
                }),
                None => json_err(ApiError::unknown_operation(
                    StatusCode::BAD_REQUEST,
                    format!("Unknown operation {target}"),
                )),
            };
        }
        for service in &self.json_services {
            if service.target_prefix() == prefix || service.target_aliases().contains(&prefix) {
                return match service.operation(name) {
                    Some(info) => Ok(Route {
                        target: Target::Json(service.clone(), info),
                        protocol: Protocol::AwsJson11,
                    }),
                    None => json_err(ApiError::unknown_operation(
                        StatusCode::BAD_REQUEST,
                        format!("Unknown operation {target}"),
                    )),
                };
            }
        }
        json_err(ApiError::unknown_operation(
            StatusCode::BAD_REQUEST,
            format!("Unknown operation {target}"),
        ))
    }

    async fn read_body(&self, parts: &Parts, body: Incoming) -> Result<Bytes, ApiError> {
        let limit = self.server.max_body_bytes;
        let too_large = || {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "RequestEntityTooLargeException",
                format!("Request must be smaller than {limit} bytes"),
            )
        };
        let declared = parts
            .headers
            .get(http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if declared.is_some_and(|n| n > limit as u64) {
            return Err(too_large());
        }
        let collect = Limited::new(body, limit).collect();
        self.receiving.fetch_add(1, Ordering::Relaxed);
        let _receiving = Receiving(&self.receiving);
        match tokio::time::timeout(self.server.body_read_timeout, collect).await {
            Ok(Ok(collected)) => Ok(collected.to_bytes()),
            Ok(Err(e)) if e.downcast_ref::<http_body_util::LengthLimitError>().is_some() => Err(too_large()),
            Ok(Err(e)) => Err(ApiError::serialization(format!(
                "Could not read the request body: {e}"
            ))),
            Err(_) => Err(ApiError::new(
                StatusCode::REQUEST_TIMEOUT,
                "RequestTimeoutException",
                "The request body was not received in time",
            )),
        }
    }

    fn source_ip(&self, parts: &Parts, peer: SocketAddr) -> IpAddr {
        let peer_ip = peer.ip();
        if !self.server.trusted_proxies.contains(&peer_ip) {
            return peer_ip;
        }
        // Walk X-Forwarded-For from the right, skipping our own trusted proxies.
        let hops: Vec<IpAddr> = parts
            .headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .filter_map(|h| h.trim().parse().ok())
            .collect();
        hops.iter()
            .rev()
            .find(|ip| !self.server.trusted_proxies.contains(ip))
            .or(hops.first())
            .copied()
            .unwrap_or(peer_ip)
    }

    async fn handle_routed(
        &self,
        route: &Route,
        parts: Parts,
        body: Incoming,
        request_id: &str,
        peer: SocketAddr,
    ) -> HttpResponse {
        let protocol = route.protocol;
        let body = match self.read_body(&parts, body).await {
            Ok(b) => b,
            Err(e) => return e.response(protocol, request_id),
        };
        let view = RequestView {
            method: &parts.method,
            uri: &parts.uri,
            headers: &parts.headers,
            body: &body,
        };
        let now = self.clock.now();
        let user_agent = parts
            .headers
            .get(http::header::USER_AGENT)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
        let source_ip = self.source_ip(&parts, peer);
        let verified = sigv4::verify(
            &view,
            &self.identities,
            &self.regions,
            route.signing_name(),
            PathStyle::Normalized,
            now,
        );
        let (principal, region, auth_error) = match verified {
            Ok(v) => (v.principal, v.scope.region, None),
            Err(f) => {
                let f = *f;
                let e = ApiError::from_auth(&f.error, protocol);
                match (f.principal, f.scope) {
                    (Some(p), Some(scope)) => (p, scope.region, Some(e)),
                    // Without a known identity there is nobody to record the call against.
                    _ => return e.response(protocol, request_id),
                }
            }
        };
        let known = Known {
            route,
            principal,
            region,
            source_ip,
            user_agent,
            request_id,
        };
        // Decoded once: the record shows the request even when the call fails before using it.
        let decoded = if auth_error.is_some() && body.len() > sigv4::REFUSED_BODY_LIMIT {
            Err(ApiError::serialization(
                "request body not kept for a refused authentication",
            ))
        } else {
            protocol::decode_body(&body)
        };
        let mut change = None;
        let result = match auth_error {
            Some(e) => Err(e),
            None => {
                self.authorized_call(&known, &parts, &body, &decoded, &mut change)
                    .await
            }
        };
        self.finish(&known, decoded.ok(), result, change).await
    }

    async fn authorized_call(
        &self,
        known: &Known<'_>,
        parts: &Parts,
        body: &Bytes,
        decoded: &Result<Value, ApiError>,
        change: &mut Option<Change>,
    ) -> Result<Value, ApiError> {
        let parsed = decoded.as_ref().ok();
        let route = known.route;
        let protocol = route.protocol;
        if let Some(rule) = known.principal.denies(route.signing_name(), route.event_name()) {
            tracing::debug!(rule, operation = route.event_name(), "deny rule matched");
            let resource = resource_for_message(route, parsed, &known.region, &known.principal.account);
            return Err(ApiError::access_denied(
                protocol,
                format!(
                    "User: {} is not authorized to perform: {}:{} on resource: {resource} with an explicit deny \
                     in an identity-based policy",
                    known.principal.arn_for_messages(),
                    route.signing_name(),
                    route.event_name()
                ),
            ));
        }
        // Taken only now, after authentication: a caller that cannot sign, or sends its body
        // slowly, holds no slot and cannot throttle anyone else.
        let Ok(_permit) = self.in_flight.clone().try_acquire_owned() else {
            return Err(ApiError::throttling(protocol));
        };
        check_content_type(parts, body, protocol)?;
        let input = decoded.as_ref().map_err(Clone::clone)?;
        // A call that changes state runs only if its record can be kept: otherwise it would
        // take effect with no record of it anywhere.
        if !route.read_only()
            && let Err(refusal) = self.delivery.admit().await
        {
            self.refused_changes.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(%refusal, operation = route.event_name(), "state change refused");
            return Err(ApiError::unavailable());
        }
        match &route.target {
            Target::Personalize(op) => {
                let ctx = personalize::Context {
                    account: known.principal.account.clone(),
                    region: known.region.clone(),
                    now: self.clock.now(),
                };
                let (result, seq) = self.personalize.call_counted(&ctx, *op, input);
                *change = seq.map(|seq| Change {
                    ctx: ctx.clone(),
                    op: *op,
                    seq,
                });
                result.map_err(|e| {
                    if e.kind == personalize::ErrorKind::NotImplemented {
                        // Unserved operations say so plainly; the compatibility table lists them.
                        ApiError::new(
                            StatusCode::BAD_REQUEST,
                            e.kind.code(),
                            format!("{} is not implemented by this emulator. {}", op.name(), e.message),
                        )
                    } else {
                        ApiError::from_personalize(&e, protocol)
                    }
                })
            }
            Target::Json(service, info) => {
                let ctx = CallContext {
                    account: known.principal.account.clone(),
                    region: known.region.clone(),
                    identity: known.principal.identity.clone(),
                    now: self.clock.now(),
                    request_id: known.request_id.to_owned(),
                    source_ip: known.source_ip,
                    user_agent: known.user_agent.clone(),
                };
                service.call(&ctx, info.name, input).await.map_err(|e| {
                    ApiError::new(
                        StatusCode::from_u16(e.status).unwrap_or(StatusCode::BAD_REQUEST),
                        e.code,
                        e.message,
                    )
                })
            }
        }
    }

    /// Records the outcome, then builds the response. A record that cannot be spooled turns the
    /// answer into `InternalFailure`: nothing is acknowledged that is not recorded.
    async fn finish(
        &self,
        known: &Known<'_>,
        request: Option<Value>,
        result: Result<Value, ApiError>,
        change: Option<Change>,
    ) -> HttpResponse {
        let route = known.route;
        // The journal keeps the input as sent; the record gets it redacted.
        let journaled = change
            .filter(|_| self.journal.is_some())
            .map(|c| (c, request.clone()));
        let is_timestamp: &(dyn Fn(&str) -> bool + Sync) = match &route.target {
            Target::Personalize(_) => &personalize::is_timestamp_member,
            Target::Json(s, _) => &|name: &str| s.is_timestamp_member(name),
        };
        let outcome = match &result {
            Ok(v) => Outcome::Success(v),
            Err(e) => Outcome::Failure {
                code: &e.code,
                message: &e.message,
            },
        };
        // Sensitive members never reach the record.
        let request = match (&route.target, request) {
            (Target::Personalize(op), Some(req)) => {
                Some(cloudtrail::redact::redact(req, personalize::sensitive_paths(*op)))
            }
            (_, request) => request,
        };
        let resources = if route.data_event() {
            data_resources(request.as_ref(), &known.principal.account)
        } else {
            Vec::new()
        };
        let call = Call {
            principal: &known.principal,
            event_source: route.event_source(),
            event_name: route.event_name(),
            region: &known.region,
            source_ip: known.source_ip,
            user_agent: known.user_agent.as_deref(),
            request,
            outcome,
            read_only: route.read_only(),
            data_event: route.data_event(),
            request_id: known.request_id,
            resources,
            is_timestamp,
        };
        // Waiting for room in the delivery budget is backpressure, but a bounded one: a backlog
        // that does not drain must not hang every caller.
        let recorded = match tokio::time::timeout(RECORD_WAIT, self.recorder.record(call)).await {
            Ok(r) => r.map_err(|e| e.to_string()),
            Err(_) => Err(format!("no room for the record within {RECORD_WAIT:?}")),
        };
        // Journaled only once its record is in the spool (or could not be): a call lost in a
        // crash before its record leaves no state behind it either.
        if let (Some(journal), Some((c, input))) = (&self.journal, journaled) {
            let input = input.unwrap_or_else(|| Value::Object(Default::default()));
            journal.append(&c.ctx, c.op, &input, c.seq);
        }
        if let Err(e) = recorded {
            // Only a call that changed state must not be acknowledged without its record; one
            // that only read, or failed, is answered as it would have been (and counted).
            if result.is_ok() && !route.read_only() {
                tracing::error!(error = %e, "cannot spool a record; answering InternalFailure");
                return ApiError::internal("The request could not be recorded. Try again later.")
                    .response(route.protocol, known.request_id);
            }
            self.unrecorded.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(error = %e, operation = route.event_name(), "answered without a record");
        }
        match result {
            Ok(v) => protocol::success(route.protocol, &v, known.request_id),
            Err(e) => e.response(route.protocol, known.request_id),
        }
    }

    async fn handle_s3(&self, parts: Parts, body: Incoming, request_id: String) -> HttpResponse {
        let resource = parts.uri.path().to_owned();
        let body = match self.read_body(&parts, body).await {
            Ok(b) => b,
            Err(e) => {
                let code = if e.status == StatusCode::PAYLOAD_TOO_LARGE {
                    "EntityTooLarge"
                } else {
                    "RequestTimeout"
                };
                return protocol::s3_error(e.status, code, &e.message, &resource, &request_id);
            }
        };
        let view = RequestView {
            method: &parts.method,
            uri: &parts.uri,
            headers: &parts.headers,
            body: &body,
        };
        let verified = match sigv4::verify(
            &view,
            &self.identities,
            &self.regions,
            "s3",
            PathStyle::S3,
            self.clock.now(),
        ) {
            Ok(v) => v,
            Err(f) => return protocol::s3_auth_error(&f.error, &resource, &request_id),
        };
        let Ok(_permit) = self.in_flight.clone().try_acquire_owned() else {
            return protocol::s3_error(
                StatusCode::SERVICE_UNAVAILABLE,
                "SlowDown",
                "Please reduce your request rate.",
                &resource,
                &request_id,
            );
        };
        let Some(s3) = &self.s3 else {
            return protocol::s3_error(
                StatusCode::NOT_IMPLEMENTED,
                "NotImplemented",
                "The S3 API over the data directory is not available in this build of the emulator.",
                &resource,
                &request_id,
            );
        };
        let request = S3Request {
            parts,
            body,
            caller: Some(S3Caller {
                account: verified.principal.account.clone(),
                identity: verified.principal.identity.clone(),
                region: verified.scope.region,
            }),
            request_id,
        };
        s3.handle(request).await
    }
}

/// A random (version 4) UUID, without a system call ([`cloudtrail::random_uuid`]).
fn request_id() -> String {
    cloudtrail::random_uuid().to_string()
}

fn check_content_type(parts: &Parts, body: &Bytes, protocol: Protocol) -> Result<(), ApiError> {
    let unsupported = |what: &str| {
        Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "UnsupportedMediaTypeException",
            format!(
                "Unsupported Content-Type {what}; expected {}",
                protocol.content_type()
            ),
        ))
    };
    let Some(ct) = parts.headers.get(http::header::CONTENT_TYPE) else {
        return if body.is_empty() {
            Ok(())
        } else {
            unsupported("(none)")
        };
    };
    let ct = ct.to_str().unwrap_or_default();
    let essence = ct
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    let ok = match protocol {
        // AWS's front end accepts both JSON 1.x media types and plain JSON on JSON 1.1 services.
        Protocol::AwsJson11 => matches!(
            essence.as_str(),
            "application/x-amz-json-1.1" | "application/x-amz-json-1.0" | "application/json"
        ),
        Protocol::RestJson => essence == "application/json",
    };
    if ok {
        Ok(())
    } else {
        unsupported(&format!("'{ct}'"))
    }
}

/// The resource an `AccessDeniedException` message names: the ARN the call targets when the
/// request carries one, or the ARN a Create call would make, else a wildcard.
fn resource_for_message(route: &Route, input: Option<&Value>, region: &str, account: &str) -> String {
    let service = route.signing_name();
    let obj = input.and_then(Value::as_object);
    if let (Target::Personalize(op), Some(obj)) = (&route.target, obj) {
        let kind = match op {
            Operation::CreateDatasetGroup => Some("dataset-group"),
            Operation::CreateSchema => Some("schema"),
            Operation::CreateSolution => Some("solution"),
            Operation::CreateCampaign => Some("campaign"),
            Operation::CreateFilter => Some("filter"),
            Operation::CreateEventTracker => Some("event-tracker"),
            Operation::CreateRecommender => Some("recommender"),
            Operation::CreateMetricAttribution => Some("metric-attribution"),
            Operation::CreateDatasetImportJob => Some("dataset-import-job"),
            Operation::CreateDatasetExportJob => Some("dataset-export-job"),
            Operation::CreateBatchInferenceJob => Some("batch-inference-job"),
            Operation::CreateBatchSegmentJob => Some("batch-segment-job"),
            Operation::CreateDataDeletionJob => Some("data-deletion-job"),
            _ => None,
        };
        let name = obj
            .get("name")
            .or_else(|| obj.get("jobName"))
            .and_then(Value::as_str);
        if let (Some(kind), Some(name)) = (kind, name) {
            return format!("arn:aws:personalize:{region}:{account}:{kind}/{name}");
        }
    }
    obj.and_then(|o| {
        o.iter()
            .find(|(k, v)| k.ends_with("Arn") && v.as_str().is_some_and(|s| s.starts_with("arn:")))
            .and_then(|(_, v)| v.as_str())
            .map(str::to_owned)
    })
    .unwrap_or_else(|| format!("arn:aws:{service}:{region}:{account}:*"))
}

/// `resources[]` of a data event: the campaign, recommender or dataset the call names.
fn data_resources(input: Option<&Value>, account: &str) -> Vec<Resource> {
    let Some(obj) = input.and_then(Value::as_object) else {
        return Vec::new();
    };
    [
        ("campaignArn", "AWS::Personalize::Campaign"),
        ("recommenderArn", "AWS::Personalize::Recommender"),
        ("datasetArn", "AWS::Personalize::Dataset"),
    ]
    .iter()
    .filter_map(|(member, ty)| {
        let arn = obj.get(*member)?.as_str()?;
        arn.starts_with("arn:").then(|| Resource {
            arn: Some(arn.to_owned()),
            arn_prefix: None,
            account_id: Some(account.to_owned()),
            resource_type: Some((*ty).to_owned()),
        })
    })
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn access_denied_resources() {
        let route = Route {
            target: Target::Personalize(Operation::CreateDatasetGroup),
            protocol: Protocol::AwsJson11,
        };
        assert_eq!(
            resource_for_message(&route, Some(&json!({"name": "dsg"})), "us-east-1", "123456789012"),
            "arn:aws:personalize:us-east-1:123456789012:dataset-group/dsg"
        );
        let route = Route {
            target: Target::Personalize(Operation::DeleteSchema),
            protocol: Protocol::AwsJson11,
        };
        assert_eq!(
            resource_for_message(
                &route,
                Some(&json!({"schemaArn": "arn:aws:personalize:us-east-1:1:schema/s"})),
                "us-east-1",
                "1"
            ),
            "arn:aws:personalize:us-east-1:1:schema/s"
        );
        assert_eq!(
            resource_for_message(&route, None, "eu-west-1", "1"),
            "arn:aws:personalize:eu-west-1:1:*"
        );
    }

    #[test]
    fn data_event_resources() {
        let r = data_resources(
            Some(&json!({"campaignArn": "arn:aws:personalize:us-east-1:1:campaign/c"})),
            "1",
        );
        assert_eq!(r.len(), 1);
        assert_eq!(r[0].resource_type.as_deref(), Some("AWS::Personalize::Campaign"));
        assert!(data_resources(Some(&json!({"trackingId": "x"})), "1").is_empty());
    }
}
