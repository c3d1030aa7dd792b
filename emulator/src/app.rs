//! One request, start to end: route, read the body, authenticate, deny-check, throttle, decode,
//! call the service, record, answer.

use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Instant;

use bytes::Bytes;
use cloudtrail::{Delivery, SharedClock};
use http::request::Parts;
use hyper::body::Incoming;
use serde_json::Value;
use tokio::sync::Semaphore;

use crate::config::ServerSection;
use crate::identity::{Identities, Principal};
use crate::personalize_api::PersonalizeApi;
use crate::protocol::{self, CallError};
use crate::recorder::{Call, Outcome, Recorder};
use crate::router::{Route, Routed, Services, Unserved};
use crate::seams::{AfterRecord, CallContext, CallFacts, HttpResponse, RawCaller, RawRequest, RawService};
use crate::sigv4::{self, PathStyle, RequestView};

/// Shared state of a running server.
pub(crate) struct App {
    pub(crate) clock: SharedClock,
    pub(crate) server: ServerSection,
    pub(crate) identities: Identities,
    /// The Regions a credential scope may name.
    pub(crate) regions: crate::sigv4::Regions,
    /// Personalize, also routed through `services`; held here for its journal's compaction.
    pub(crate) personalize: Arc<PersonalizeApi>,
    /// Every service, and how requests reach them.
    pub(crate) services: Services,
    /// Services that answer whole requests, by signing name.
    pub(crate) raw: std::collections::HashMap<&'static str, Arc<dyn RawService>>,
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
    /// TLS on the same port, when it is on.
    pub(crate) tls: Option<crate::tls::Tls>,
    /// Event history, which the console reads.
    pub(crate) history: Option<Arc<cloudtrail::history::History>>,
    /// The trails and their status, which the console shows.
    pub(crate) trails: Option<Arc<dyn crate::seams::TrailsView>>,
    /// The digest signing keys, with which the console checks delivered digests.
    pub(crate) keys: Option<Arc<cloudtrail::keys::KeyRing>>,
}

/// The Region unsigned calls are recorded in: they name none, and AWS's global endpoint is in
/// us-east-1.
const UNSIGNED_REGION: &str = "us-east-1";

/// How long a call waits for its record to be accepted before it is answered without one (or,
/// if it changed state, with `InternalFailure`).
const RECORD_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

/// Counts a body being received until dropped.
struct Receiving<'a>(&'a AtomicUsize);

impl Drop for Receiving<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// A request that got far enough to have an identity, so its outcome is recorded.
struct Known<'a> {
    route: &'a Route,
    principal: Arc<Principal>,
    /// The access key the request was signed with (none for an unsigned call).
    access_key_id: Option<String>,
    region: String,
    source_ip: IpAddr,
    user_agent: Option<String>,
    request_id: &'a str,
    tls: Option<cloudtrail::TlsDetails>,
}

impl Known<'_> {
    /// The call as the service's record-side hooks see it.
    fn facts<'a>(&'a self, input: Option<&'a Value>) -> CallFacts<'a> {
        CallFacts {
            op: self.route.op,
            input,
            region: &self.region,
            account: &self.principal.account,
        }
    }
}

/// `tlsDetails` of a request that came over `tls`: what the handshake settled and the `Host`
/// the client sent.
fn tls_details(tls: Option<&crate::tls::Negotiated>, parts: &Parts) -> Option<cloudtrail::TlsDetails> {
    let tls = tls?;
    Some(cloudtrail::TlsDetails {
        tls_version: tls.version.to_owned(),
        cipher_suite: tls.cipher_suite.clone(),
        client_provided_host_header: protocol::host(parts).unwrap_or_default().to_owned(),
        key_exchange: tls.key_exchange.map(str::to_owned),
    })
}

impl App {
    /// The hyper entry point.
    pub(crate) async fn handle(
        self: Arc<Self>,
        peer: SocketAddr,
        tls: Option<Arc<crate::tls::Negotiated>>,
        req: http::Request<Incoming>,
    ) -> Result<HttpResponse, Infallible> {
        let clock = self.clock.clone();
        let mut resp = self.dispatch(peer, tls.as_deref(), req).await;
        protocol::set_date(&mut resp, clock.now());
        Ok(resp)
    }

    async fn dispatch(
        self: Arc<Self>,
        peer: SocketAddr,
        tls: Option<&crate::tls::Negotiated>,
        req: http::Request<Incoming>,
    ) -> HttpResponse {
        let request_id = request_id();
        let (parts, body) = req.into_parts();
        let tls = tls_details(tls, &parts);
        let path = parts.uri.path();
        if path == "/_emulator" || path.starts_with("/_emulator/") {
            return crate::admin::handle(&self, &parts, &request_id).await;
        }
        if path == "/console" || path.starts_with("/console/") {
            return crate::console::handle(&self, &parts, peer, &request_id);
        }
        let scope = sigv4::peek_scope(&parts.uri, &parts.headers);
        if let Some(raw) = scope.as_ref().and_then(|s| self.raw.get(s.service.as_str())) {
            return self.handle_raw(raw.as_ref(), parts, body, request_id).await;
        }
        let signing_name = scope.as_ref().map(|s| s.service.as_str());
        match self.services.route_signed(&parts, signing_name) {
            Ok(Routed::Served(route)) => {
                self.handle_routed(&route, parts, body, &request_id, peer, tls)
                    .await
            }
            Ok(Routed::Unserved(unserved)) => {
                self.handle_unserved(unserved, parts, body, &request_id, peer, tls)
                    .await
            }
            Err((protocol, e)) => {
                tracing::debug!(error = %e, "unroutable request");
                CallError::from(e)
                    .to_api(protocol)
                    .response(protocol, &request_id)
            }
        }
    }

    /// Reads the body within the server's limits, counted while it arrives.
    async fn receive(&self, parts: &Parts, body: Incoming) -> Result<Bytes, CallError> {
        self.receiving.fetch_add(1, Ordering::Relaxed);
        let _receiving = Receiving(&self.receiving);
        protocol::read_body(
            &parts.headers,
            body,
            self.server.max_body_bytes,
            self.server.body_read_timeout,
        )
        .await
    }

    async fn handle_routed(
        &self,
        route: &Route,
        parts: Parts,
        body: Incoming,
        request_id: &str,
        peer: SocketAddr,
        tls: Option<cloudtrail::TlsDetails>,
    ) -> HttpResponse {
        let protocol = route.protocol;
        let body = match self.receive(&parts, body).await {
            Ok(b) => b,
            Err(e) => return e.to_api(protocol).response(protocol, request_id),
        };
        // A Query request names its operation in the body.
        let (query_route, form) = if matches!(
            protocol,
            protocol::Protocol::Query(_) | protocol::Protocol::Ec2(_)
        ) {
            let form = protocol::query::decode_form(&body);
            let action = form.as_ref().ok().and_then(protocol::query::action);
            match Services::query_operation(route, action) {
                Ok(r) => (Some(r), Some(form)),
                Err(e) => {
                    let e = match form {
                        Err(bad) => bad,
                        Ok(_) => CallError::from(e),
                    };
                    return e.to_api(protocol).response(protocol, request_id);
                }
            }
        } else {
            (None, None)
        };
        let route = query_route.as_ref().unwrap_or(route);
        let view = RequestView {
            method: &parts.method,
            uri: &parts.uri,
            headers: &parts.headers,
            body: &body,
        };
        let now = self.clock.now();
        let user_agent = protocol::user_agent(&parts.headers);
        let source_ip = protocol::source_ip(&parts.headers, peer, &self.server.trusted_proxies);
        // An operation that may come unsigned, sent without a signature: its input names the
        // caller (a web identity token), which the service checks when it runs.
        let unsigned = route.op.unsigned && sigv4::peek_scope(&parts.uri, &parts.headers).is_none();
        let (principal, access_key_id, region, auth_error) = if unsigned {
            let input = form.as_ref().and_then(|f| f.as_ref().ok());
            match input.map(|i| route.service.unsigned_caller(route.op, i)) {
                Some(Ok(c)) => (
                    Arc::new(Principal::claimed(c.account, c.identity)),
                    None,
                    UNSIGNED_REGION.to_owned(),
                    None,
                ),
                // Nobody the emulator knows to record the call against.
                Some(Err(e)) => {
                    return CallError::Service(e)
                        .to_api(protocol)
                        .response(protocol, request_id);
                }
                None => {
                    return CallError::Auth(sigv4::AuthError::MissingAuthenticationToken)
                        .to_api(protocol)
                        .response(protocol, request_id);
                }
            }
        } else {
            let verified = sigv4::verify(
                &view,
                &self.identities,
                &self.regions,
                route.service.signing_name(),
                PathStyle::Normalized,
                now,
            );
            match verified {
                Ok(v) => (v.principal, Some(v.scope.access_key_id), v.scope.region, None),
                Err(f) => {
                    let f = *f;
                    let e = CallError::Auth(f.error);
                    match (f.principal, f.scope) {
                        (Some(p), Some(scope)) => (p, Some(scope.access_key_id), scope.region, Some(e)),
                        // Without a known identity there is nobody to record the call against.
                        _ => return e.to_api(protocol).response(protocol, request_id),
                    }
                }
            }
        };
        let known = Known {
            route,
            principal,
            access_key_id,
            region,
            source_ip,
            user_agent,
            request_id,
            tls,
        };
        // Decoded once: the record shows the request even when the call fails before using it.
        let decoded = if auth_error.is_some() && body.len() > sigv4::REFUSED_BODY_LIMIT {
            Err(CallError::Serialization(
                "request body not kept for a refused authentication".into(),
            ))
        } else if let Some(form) = form {
            form
        } else {
            protocol::decode_body(&body)
        };
        let mut after_record = None;
        let mut sharing = crate::seams::Sharing::default();
        let result = match auth_error {
            Some(e) => Err(e),
            None => {
                self.authorized_call(&known, &parts, &body, &decoded, &mut after_record, &mut sharing)
                    .await
            }
        };
        self.finish(&known, decoded.ok(), result, after_record, &sharing)
            .await
    }

    async fn authorized_call(
        &self,
        known: &Known<'_>,
        parts: &Parts,
        body: &Bytes,
        decoded: &Result<Value, CallError>,
        after_record: &mut Option<AfterRecord>,
        sharing: &mut crate::seams::Sharing,
    ) -> Result<Value, CallError> {
        let route = known.route;
        let (service, op) = (&route.service, route.op);
        if let Some(rule) = known.principal.denies(service.signing_name(), op.name) {
            tracing::debug!(rule, operation = op.name, "deny rule matched");
            let resource = denied_resource(route, known.facts(decoded.as_ref().ok()));
            return Err(CallError::AccessDenied(format!(
                "User: {} is not authorized to perform: {}:{} on resource: {resource} with an explicit deny in an \
                 identity-based policy",
                known.principal.arn_for_messages(),
                service.signing_name(),
                op.name
            )));
        }
        // Taken only now, after authentication: a caller that cannot sign, or sends its body
        // slowly, holds no slot and cannot throttle anyone else.
        let Ok(_permit) = self.in_flight.clone().try_acquire_owned() else {
            return Err(CallError::Throttled);
        };
        protocol::check_content_type(&parts.headers, body, route.protocol)?;
        let input = decoded.as_ref().map_err(Clone::clone)?;
        // A call that changes state runs only if its record can be kept: otherwise it would
        // take effect with no record of it anywhere.
        if op.changes_state
            && let Err(refusal) = self.delivery.admit().await
        {
            self.refused_changes.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(%refusal, operation = op.name, "state change refused");
            return Err(CallError::Unavailable);
        }
        let ctx = CallContext {
            account: &known.principal.account,
            region: &known.region,
            identity: &known.principal.identity,
            access_key_id: known.access_key_id.as_deref(),
            now: self.clock.now(),
            request_id: known.request_id,
            source_ip: known.source_ip,
            user_agent: known.user_agent.as_deref(),
        };
        let answer = service.call(&ctx, op, input).await;
        *after_record = answer.after_record;
        *sharing = answer.sharing;
        answer.result.map_err(CallError::Service)
    }

    /// Hands the call's records to the spool. Waiting for room in the delivery budget is
    /// backpressure, but a bounded one: a backlog that does not drain must not hang every caller.
    async fn record_bounded(&self, call: Call<'_>) -> Result<(), String> {
        self.recorder
            .record_within(call, Some(RECORD_WAIT))
            .await
            .map_err(|e| e.to_string())
    }

    /// Records the outcome, then builds the response. A record that cannot be spooled turns the
    /// answer into `InternalFailure`: nothing is acknowledged that is not recorded.
    async fn finish(
        &self,
        known: &Known<'_>,
        request: Option<Value>,
        result: Result<Value, CallError>,
        after_record: Option<AfterRecord>,
        sharing: &crate::seams::Sharing,
    ) -> HttpResponse {
        let route = known.route;
        let (service, op, protocol) = (&route.service, route.op, route.protocol);
        let result = result.map_err(|e| e.to_api(protocol));
        let is_timestamp = |name: &str| service.is_timestamp_member(name);
        let recorded_output = result
            .as_ref()
            .ok()
            .and_then(|v| service.output_as_recorded(op, v));
        let outcome = match (&result, &recorded_output) {
            (Ok(_), Some(shown)) => Outcome::Success(shown),
            (Ok(v), None) => Outcome::Success(v),
            (Err(e), _) => Outcome::Failure {
                code: &e.code,
                message: &e.message,
            },
        };
        // Sensitive members never reach the record.
        let request = request.map(|r| service.redact(op, r));
        let resources = service.resources(known.facts(request.as_ref()));
        let call = Call {
            principal: &known.principal,
            event_source: service.event_source(),
            event_name: op.name,
            region: &known.region,
            source_ip: known.source_ip,
            user_agent: known.user_agent.as_deref(),
            request,
            outcome,
            read_only: op.read_only,
            changes_state: op.changes_state,
            data_event: op.data_event,
            request_id: known.request_id,
            resources,
            is_timestamp: &is_timestamp,
            member_case: service.member_case(),
            tls: known.tls.clone(),
            sharing,
        };
        let recorded = self.record_bounded(call).await;
        // Run only once its record is in the spool (or could not be): a call lost in a crash
        // before its record leaves no state behind it either.
        if let Some(after) = after_record {
            after();
        }
        if let Err(e) = recorded {
            // Only a call that changed state must not be acknowledged without its record; one
            // that only read, or failed, is answered as it would have been (and counted).
            if result.is_ok() && op.changes_state {
                tracing::error!(error = %e, "cannot spool a record; answering InternalFailure");
                return CallError::Unrecorded
                    .to_api(protocol)
                    .response(protocol, known.request_id);
            }
            self.unrecorded.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(error = %e, operation = op.name, "answered without a record");
        }
        match result {
            Ok(v) => protocol::success(protocol, op.name, &v, &is_timestamp, known.request_id),
            Err(e) => e.response(protocol, known.request_id),
        }
    }

    /// A request for a service nobody here serves: answered in its own protocol with the error
    /// its SDK reads as an unknown operation, and recorded when it is signed by a known key and
    /// names its operation.
    async fn handle_unserved(
        &self,
        unserved: Unserved,
        parts: Parts,
        body: Incoming,
        request_id: &str,
        peer: SocketAddr,
        tls: Option<cloudtrail::TlsDetails>,
    ) -> HttpResponse {
        let protocol = unserved.protocol;
        let answer = |e: CallError| {
            if unserved.rest_xml {
                crate::s3::call_error_response(&e, parts.uri.path(), request_id)
            } else {
                e.to_api(protocol).response(protocol, request_id)
            }
        };
        let body = match self.receive(&parts, body).await {
            Ok(b) => b,
            Err(e) => return answer(e),
        };
        let operation = unserved.operation.clone().or_else(|| {
            protocol::is_form(&parts.headers)
                .then(|| protocol::query::decode_form(&body).ok())
                .flatten()
                .and_then(|f| protocol::query::action(&f).map(str::to_owned))
        });
        let view = RequestView {
            method: &parts.method,
            uri: &parts.uri,
            headers: &parts.headers,
            body: &body,
        };
        let verified = sigv4::verify(
            &view,
            &self.identities,
            &self.regions,
            &unserved.signing_name,
            unserved.path_style,
            self.clock.now(),
        );
        let verified = match verified {
            Ok(v) => v,
            Err(f) => return answer(CallError::Auth(f.error)),
        };
        let not_served = CallError::from(protocol::RouteError::NotServed {
            service: unserved.signing_name.clone(),
            operation: operation.clone().unwrap_or_else(|| "This operation".to_owned()),
        });
        if unserved.rest_xml {
            return answer(not_served);
        }
        let api = not_served.to_api(protocol);
        if let Some(name) = operation.as_deref() {
            let event_source = format!("{}.amazonaws.com", unserved.signing_name);
            let user_agent = protocol::user_agent(&parts.headers);
            let read_only = cloudtrail::rules::reads_by_name(name);
            let call = Call {
                principal: &verified.principal,
                event_source: &event_source,
                event_name: name,
                region: &verified.scope.region,
                source_ip: protocol::source_ip(&parts.headers, peer, &self.server.trusted_proxies),
                user_agent: user_agent.as_deref(),
                request: None,
                outcome: Outcome::Failure {
                    code: &api.code,
                    message: &api.message,
                },
                read_only,
                // A call refused as not served changed nothing.
                changes_state: false,
                data_event: false,
                request_id,
                resources: Vec::new(),
                is_timestamp: &|_| false,
                member_case: cloudtrail::rules::MemberCase::AsSent,
                tls,
                sharing: &crate::seams::Sharing::default(),
            };
            if self.record_bounded(call).await.is_err() {
                self.unrecorded.fetch_add(1, Ordering::Relaxed);
            }
        }
        api.response(protocol, request_id)
    }

    async fn handle_raw(
        &self,
        raw: &dyn RawService,
        parts: Parts,
        body: Incoming,
        request_id: String,
    ) -> HttpResponse {
        let resource = parts.uri.path().to_owned();
        let refuse = |e: CallError| raw.refuse(&e, &resource, &request_id);
        let body = match self.receive(&parts, body).await {
            Ok(b) => b,
            Err(e) => return refuse(e),
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
            raw.signing_name(),
            raw.path_style(),
            self.clock.now(),
        ) {
            Ok(v) => v,
            Err(f) => return refuse(CallError::Auth(f.error)),
        };
        let Ok(_permit) = self.in_flight.clone().try_acquire_owned() else {
            return refuse(CallError::Throttled);
        };
        let request = RawRequest {
            parts,
            body,
            caller: Some(RawCaller {
                account: verified.principal.account.clone(),
                identity: verified.principal.identity.clone(),
                region: verified.scope.region,
            }),
            request_id,
        };
        raw.handle(request).await
    }
}

/// A random (version 4) UUID, without a system call ([`cloudtrail::random_uuid`]).
fn request_id() -> String {
    cloudtrail::random_uuid().to_string()
}

/// The resource an explicit-deny message names: what the service says the call targets or would
/// create, else the first ARN the request names, else a wildcard.
fn denied_resource(route: &Route, call: CallFacts<'_>) -> String {
    let service = &route.service;
    if let Some(r) = service.denied_resource(call) {
        return r;
    }
    call.input
        .and_then(Value::as_object)
        .and_then(|o| {
            o.iter()
                .find(|(k, v)| k.ends_with("Arn") && v.as_str().is_some_and(|s| s.starts_with("arn:")))
                .and_then(|(_, v)| v.as_str())
                .map(str::to_owned)
        })
        .unwrap_or_else(|| {
            let (region, account) = (call.region, call.account);
            format!("arn:aws:{}:{region}:{account}:*", service.signing_name())
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::Protocol;
    use crate::seams::Service as _;
    use serde_json::json;

    fn route(name: &str) -> Route {
        let api = Arc::new(PersonalizeApi::new(
            personalize::Personalize::new(personalize::Config::default()),
            None,
        ));
        let op = api.by_target(name).expect("an operation");
        Route {
            service: api,
            op,
            protocol: Protocol::AwsJson11,
        }
    }

    /// The deny message's resource for `route` called with `input` in `region` of `account`.
    fn denied(route: &Route, input: Option<&Value>, region: &str, account: &str) -> String {
        let call = CallFacts {
            op: route.op,
            input,
            region,
            account,
        };
        denied_resource(route, call)
    }

    #[test]
    fn deny_messages_name_the_resource_else_an_arn_member_else_a_wildcard() {
        let create = route("CreateDatasetGroup");
        assert_eq!(
            denied(
                &create,
                Some(&json!({"name": "dsg"})),
                "us-east-1",
                "123456789012"
            ),
            "arn:aws:personalize:us-east-1:123456789012:dataset-group/dsg"
        );
        let delete = route("DeleteSchema");
        let schema = json!({"schemaArn": "arn:aws:personalize:us-east-1:1:schema/s"});
        assert_eq!(
            denied(&delete, Some(&schema), "us-east-1", "1"),
            "arn:aws:personalize:us-east-1:1:schema/s"
        );
        assert_eq!(
            denied(&delete, None, "eu-west-1", "1"),
            "arn:aws:personalize:eu-west-1:1:*"
        );
    }
}
