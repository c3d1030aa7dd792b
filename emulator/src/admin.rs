//! `/_emulator/*`: unsigned admin endpoints for tests and demos (health, flush, reset).

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

/// Answers an admin request.
pub(crate) async fn handle(app: &App, parts: &Parts, request_id: &str) -> HttpResponse {
    let path = parts.uri.path();
    let expected = match path {
        "/_emulator/health" => Method::GET,
        "/_emulator/flush" | "/_emulator/reset" => Method::POST,
        _ => {
            return error(
                StatusCode::NOT_FOUND,
                format!(
                    "no admin endpoint {path}; try /_emulator/health, /_emulator/flush or /_emulator/reset"
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
            app.personalize.reset();
            for s in &app.json_services {
                s.reset();
            }
            tracing::info!("state reset (log files kept)");
            respond(StatusCode::OK, json!({ "reset": true }), request_id)
        }
    }
}

fn health(app: &App, request_id: &str) -> HttpResponse {
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
                }),
            )
        })
        .collect();
    let available = app.in_flight.available_permits();
    respond(
        StatusCode::OK,
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
                "trails": trails,
            },
        }),
        request_id,
    )
}
