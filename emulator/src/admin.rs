//! `/_emulator/*`: unsigned admin endpoints for tests and demos (health, flush, reset), and the
//! guard that keeps web pages and other hosts away from them.

use std::net::{IpAddr, SocketAddr};

use bytes::Bytes;
use http::{Method, StatusCode, request::Parts};
use serde_json::{Value, json};

use crate::app::App;
use crate::protocol::{self, Protocol};
use crate::seams::HttpResponse;

fn respond(status: StatusCode, body: Value, request_id: &str) -> HttpResponse {
    protocol::json_response(
        Protocol::RestJson,
        status,
        Bytes::from(body.to_string()),
        request_id,
    )
}

fn error(status: StatusCode, message: String, request_id: &str) -> HttpResponse {
    respond(status, json!({ "error": message }), request_id)
}

/// The header that carries the admin token.
pub(crate) const TOKEN_HEADER: &str = "x-emulator-token";

/// Who may use the admin endpoints. A loopback listener answers only requests whose `Host` names
/// a loopback address (or a configured host), which defeats DNS rebinding; any listener refuses
/// cross-site browser requests; a listener on another address also wants the token for calls
/// that change state.
#[derive(Debug, Clone)]
pub(crate) struct AdminGuard {
    loopback: bool,
    hosts: Vec<String>,
    token: Option<String>,
}

impl AdminGuard {
    /// The guard for a server listening on `local`. The token is only needed off loopback: the
    /// configured one, or a fresh random one (logged at start-up).
    pub(crate) fn new(local: SocketAddr, hosts: &[String], token: Option<&str>) -> AdminGuard {
        let loopback = local.ip().is_loopback();
        let token = (!loopback).then(|| {
            token.map(str::to_owned).unwrap_or_else(|| {
                use rand::RngExt as _;
                // The thread RNG is a CSPRNG seeded from the OS.
                hex::encode(rand::rng().random::<[u8; 16]>())
            })
        });
        AdminGuard {
            loopback,
            hosts: hosts.iter().map(|h| h.to_ascii_lowercase()).collect(),
            token,
        }
    }

    /// The token state-changing admin calls must send, when one is needed.
    pub(crate) fn token(&self) -> Option<&str> {
        self.token.as_deref()
    }

    /// Refuses a request the guard does not let through, with a message a person can act on.
    pub(crate) fn check(&self, parts: &Parts, changes_state: bool) -> Result<(), (StatusCode, String)> {
        let header = |name: &str| parts.headers.get(name).and_then(|v| v.to_str().ok());
        let host = header("host").or_else(|| parts.uri.authority().map(|a| a.as_str()));
        let forbidden = |m: String| Err((StatusCode::FORBIDDEN, m));
        if self.loopback {
            match host {
                Some(h) if self.host_allowed(h) => {}
                Some(h) => {
                    return forbidden(format!(
                        "Host {h:?} is not a loopback name; add it to server.admin_hosts to allow it"
                    ));
                }
                None => return forbidden("a Host header is required".into()),
            }
        }
        // Browsers say where a request comes from; only pages served by the emulator itself
        // may use these endpoints.
        if matches!(header("sec-fetch-site"), Some("cross-site" | "same-site")) {
            return forbidden("cross-site requests to the admin endpoints are refused".into());
        }
        if let Some(origin) = header("origin") {
            let same = host.is_some_and(|h| {
                origin
                    .strip_prefix("http://")
                    .or_else(|| origin.strip_prefix("https://"))
                    .is_some_and(|o| o.eq_ignore_ascii_case(h))
            });
            if !same {
                return forbidden(format!(
                    "requests from origin {origin:?} to the admin endpoints are refused"
                ));
            }
        }
        if changes_state && let Some(token) = &self.token {
            let sent = header(TOKEN_HEADER)
                .or_else(|| header("authorization").and_then(|a| a.strip_prefix("Bearer ")));
            if sent != Some(token.as_str()) {
                return Err((
                    StatusCode::UNAUTHORIZED,
                    format!(
                        "this server listens on a non-loopback address: send the admin token (logged at \
                         start-up, or server.admin_token) in the {TOKEN_HEADER} header"
                    ),
                ));
            }
        }
        Ok(())
    }

    fn host_allowed(&self, host: &str) -> bool {
        let host = host.to_ascii_lowercase();
        let name = match host.strip_prefix('[') {
            Some(v6) => v6.split(']').next().unwrap_or_default(),
            None => host.rsplit_once(':').map_or(host.as_str(), |(n, port)| {
                if port.bytes().all(|b| b.is_ascii_digit()) {
                    n
                } else {
                    host.as_str()
                }
            }),
        };
        name == "localhost"
            || name.ends_with(".localhost")
            || name.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
            || self.hosts.iter().any(|h| h == name)
    }
}

/// Answers an admin request.
pub(crate) async fn handle(app: &App, parts: &Parts, request_id: &str) -> HttpResponse {
    let path = parts.uri.path();
    if let Err((status, message)) = app.admin.check(parts, parts.method != Method::GET) {
        return error(status, message, request_id);
    }
    let expected = match path {
        "/_emulator/health" | "/_emulator/quarantine" | "/_emulator/tls/certificate" => Method::GET,
        "/_emulator/flush" | "/_emulator/reset" | "/_emulator/quarantine/clear" => Method::POST,
        _ => {
            return error(
                StatusCode::NOT_FOUND,
                format!(
                    "no admin endpoint {path}; try /_emulator/health, /_emulator/flush, /_emulator/reset, \
                     /_emulator/quarantine or /_emulator/tls/certificate"
                ),
                request_id,
            );
        }
    };
    if parts.method != expected {
        return error(
            StatusCode::METHOD_NOT_ALLOWED,
            format!("{path} takes {expected}"),
            request_id,
        );
    }
    match path {
        "/_emulator/health" => health(app, request_id),
        "/_emulator/tls/certificate" => match &app.tls {
            Some(tls) => {
                let mut resp = http::Response::new(crate::seams::full_body(tls.certificate_pem.clone()));
                resp.headers_mut().insert(
                    http::header::CONTENT_TYPE,
                    http::HeaderValue::from_static("application/x-pem-file"),
                );
                resp
            }
            None => error(
                StatusCode::NOT_FOUND,
                "TLS is off ([server] tls = false)".into(),
                request_id,
            ),
        },
        "/_emulator/quarantine" => {
            let files: Vec<Value> = app
                .delivery
                .quarantined()
                .into_iter()
                .map(|(p, bytes)| json!({ "file": p.display().to_string(), "bytes": bytes }))
                .collect();
            respond(StatusCode::OK, json!({ "quarantined": files }), request_id)
        }
        "/_emulator/quarantine/clear" => match app.delivery.clear_quarantine() {
            Ok(n) => respond(StatusCode::OK, json!({ "cleared": n }), request_id),
            Err(e) => error(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("cannot clear the quarantine: {e}"),
                request_id,
            ),
        },
        "/_emulator/flush" => match app.delivery.flush().await {
            Ok(written) => {
                let files: Vec<Value> = written
                    .iter()
                    .map(|w| json!({ "trail": w.trail, "bucket": w.bucket, "key": w.key, "records": w.records }))
                    .collect();
                respond(StatusCode::OK, json!({ "written": files }), request_id)
            }
            Err(e) => error(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("flush failed: {e}"),
                request_id,
            ),
        },
        _ => {
            for s in app.services.iter() {
                s.reset();
            }
            tracing::info!("state reset (log files kept)");
            respond(StatusCode::OK, json!({ "reset": true }), request_id)
        }
    }
}

fn health(app: &App, request_id: &str) -> HttpResponse {
    respond(StatusCode::OK, health_json(app), request_id)
}

/// What `/_emulator/health` answers (the console's health panel shows the same).
pub(crate) fn health_json(app: &App) -> Value {
    let status = app.delivery.status();
    let trails: serde_json::Map<String, Value> = status
        .trails
        .iter()
        .map(|(trail, t)| {
            (
                trail.clone(),
                json!({
                    "lastDelivery": t.last_delivery.map(cloudtrail::timefmt::iso_seconds),
                    "lastError": t.last_error,
                    "lastErrorAt": t.last_error_at.map(cloudtrail::timefmt::iso_seconds),
                    "deliveredFiles": t.delivered_files,
                    "quarantinedFiles": t.quarantined_files,
                }),
            )
        })
        .collect();
    let available = app.in_flight.available_permits();
    json!({
        "status": "ok",
        "version": env!("CARGO_PKG_VERSION"),
        "uptimeSeconds": app.started.elapsed().as_secs(),
        "now": cloudtrail::timefmt::iso_seconds(app.clock.now()),
        "inFlight": app.server.max_in_flight.saturating_sub(available),
        "receivingBodies": app.receiving.load(std::sync::atomic::Ordering::Relaxed),
        "delivery": {
            "batchedRecords": status.batched_records,
            "inFlightRecords": status.in_flight_records,
            "pendingBytes": status.pending_bytes,
            "spoolError": app.delivery.spool_error(),
            "refusedChanges": app.refused_changes.load(std::sync::atomic::Ordering::Relaxed),
            "unrecordedCalls": app.unrecorded.load(std::sync::atomic::Ordering::Relaxed),
            "trails": trails,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(method: Method, headers: &[(&str, &str)]) -> Parts {
        let mut b = http::Request::builder().method(method).uri("/_emulator/reset");
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        b.body(()).unwrap().into_parts().0
    }

    fn loopback() -> AdminGuard {
        AdminGuard::new("127.0.0.1:4599".parse().unwrap(), &["emulator".into()], None)
    }

    #[test]
    fn a_loopback_listener_answers_loopback_hosts_only() {
        let g = loopback();
        assert!(g.token().is_none());
        for host in [
            "127.0.0.1:4599",
            "localhost:4599",
            "LOCALHOST",
            "[::1]:4599",
            "emulator:4599",
            "a.localhost",
        ] {
            assert!(
                g.check(&parts(Method::GET, &[("host", host)]), false).is_ok(),
                "{host}"
            );
        }
        for host in [
            "evil.example:4599",
            "127.0.0.1.evil.example",
            "10.0.0.1:4599",
            "localhost.evil",
        ] {
            let e = g
                .check(&parts(Method::GET, &[("host", host)]), false)
                .unwrap_err();
            assert_eq!(e.0, StatusCode::FORBIDDEN, "{host}");
        }
        assert!(g.check(&parts(Method::GET, &[]), false).is_err());
    }

    #[test]
    fn cross_site_requests_are_refused() {
        let g = loopback();
        let host = ("host", "127.0.0.1:4599");
        let same = [host, ("origin", "http://127.0.0.1:4599")];
        assert!(g.check(&parts(Method::POST, &same), true).is_ok());
        for h in [
            [host, ("origin", "http://evil.example")],
            [host, ("origin", "null")],
            [host, ("sec-fetch-site", "cross-site")],
        ] {
            assert_eq!(
                g.check(&parts(Method::POST, &h), true).unwrap_err().0,
                StatusCode::FORBIDDEN
            );
        }
    }

    #[test]
    fn off_loopback_state_changes_need_the_token() {
        let g = AdminGuard::new("0.0.0.0:4599".parse().unwrap(), &[], Some("s3cret"));
        assert_eq!(g.token(), Some("s3cret"));
        let host = ("host", "emulator.internal:4599");
        assert!(g.check(&parts(Method::GET, &[host]), false).is_ok());
        assert_eq!(
            g.check(&parts(Method::POST, &[host]), true).unwrap_err().0,
            StatusCode::UNAUTHORIZED
        );
        let wrong = [host, (TOKEN_HEADER, "guess")];
        assert_eq!(
            g.check(&parts(Method::POST, &wrong), true).unwrap_err().0,
            StatusCode::UNAUTHORIZED
        );
        assert!(
            g.check(&parts(Method::POST, &[host, (TOKEN_HEADER, "s3cret")]), true)
                .is_ok()
        );
        assert!(
            g.check(
                &parts(Method::POST, &[host, ("authorization", "Bearer s3cret")]),
                true
            )
            .is_ok()
        );
        // Without a configured token, a random one is made.
        let made = AdminGuard::new("192.0.2.1:4599".parse().unwrap(), &[], None);
        assert_eq!(made.token().map(str::len), Some(32));
    }
}
