//! The console: Event history in a web page served by the emulator under `/console/`, over a
//! small JSON API under `/console/api/` (docs/console.md). The page reads Event history through
//! the same query as `LookupEvents` ([`History::lookup`]), so its results are the CLI's.
//!
//! The console is for the machine it runs on: it answers loopback peers (and loopback `Host`
//! names, as the admin endpoints do) unless `[server] console_open` says otherwise. Its reads
//! are the emulator's own, not AWS API calls, so they are not recorded and not throttled.

pub(crate) mod export;

use std::net::SocketAddr;

use bytes::Bytes;
use cloudtrail::history::{History, LookupEvent, LookupRequest};
use http::request::Parts;
use http::{HeaderValue, Method, StatusCode};
use serde_json::{Value, json};

use crate::app::App;
use crate::protocol::{self, Protocol};
use crate::s3::xml::percent_decode;
use crate::seams::{HttpResponse, StreamedBody, full_body};

/// The page and its script and style, built into the binary.
const INDEX_HTML: &str = include_str!("assets/index.html");
const APP_JS: &str = include_str!("assets/app.js");
const APP_CSS: &str = include_str!("assets/app.css");

/// What the page may load: only itself; no inline script, so a record's text can never run.
const CSP: &str = "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; \
                   connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

fn with_headers(mut resp: HttpResponse, content_type: &'static str) -> HttpResponse {
    let h = resp.headers_mut();
    h.insert(http::header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert("content-security-policy", HeaderValue::from_static(CSP));
    h.insert("x-content-type-options", HeaderValue::from_static("nosniff"));
    h.insert("x-frame-options", HeaderValue::from_static("DENY"));
    h.insert(http::header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

fn asset(body: &'static str, content_type: &'static str) -> HttpResponse {
    with_headers(
        http::Response::new(full_body(Bytes::from_static(body.as_bytes()))),
        content_type,
    )
}

fn json_answer(status: StatusCode, body: Value, request_id: &str) -> HttpResponse {
    let mut resp = protocol::json_response(
        Protocol::RestJson,
        status,
        Bytes::from(body.to_string()),
        request_id,
    );
    resp.headers_mut()
        .insert(http::header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

fn problem(status: StatusCode, code: &str, message: impl Into<String>, request_id: &str) -> HttpResponse {
    json_answer(
        status,
        json!({"error": code, "message": message.into()}),
        request_id,
    )
}

/// The query parameters of a console request.
fn params(parts: &Parts) -> Vec<(String, String)> {
    parts
        .uri
        .query()
        .unwrap_or_default()
        .split('&')
        .filter(|p| !p.is_empty())
        .filter_map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            Some((percent_decode(k, true)?, percent_decode(v, true)?))
        })
        .collect()
}

fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
        .filter(|v| !v.is_empty())
}

/// A time parameter: ISO 8601 with seconds (`2026-03-01T10:00:00Z`) or epoch seconds.
fn time_param(params: &[(String, String)], name: &str) -> Result<Option<time::OffsetDateTime>, String> {
    let Some(v) = param(params, name) else {
        return Ok(None);
    };
    if let Ok(secs) = v.parse::<i64>() {
        return time::OffsetDateTime::from_unix_timestamp(secs)
            .map(Some)
            .map_err(|_| format!("{name} {v} is out of range"));
    }
    cloudtrail::timefmt::parse_iso_seconds(v)
        .map(Some)
        .ok_or_else(|| format!("{name} must be YYYY-MM-DDTHH:MM:SSZ or epoch seconds, not {v:?}"))
}

/// The account, Region and `LookupEvents` request a console request names.
struct Query {
    account: String,
    region: String,
    request: LookupRequest,
}

fn query(app: &App, params: &[(String, String)]) -> Result<Query, String> {
    let account = match param(params, "account") {
        Some(a) if app.identities.knows_account(a) => a.to_owned(),
        Some(a) => return Err(format!("account {a} is not configured")),
        None => app.identities.accounts().first().cloned().unwrap_or_default(),
    };
    let region = param(params, "region").unwrap_or("us-east-1");
    if !app.regions.contains(region) {
        return Err(format!("{region} is not a Region this emulator serves"));
    }
    let attributes = match (param(params, "key"), param(params, "value")) {
        (Some(k), Some(v)) => vec![(k.to_owned(), v.to_owned())],
        (None, None) => Vec::new(),
        _ => return Err("a lookup attribute needs both key and value".into()),
    };
    let max_results = param(params, "max")
        .map(|m| {
            m.parse::<i64>()
                .map_err(|_| format!("max must be a number, not {m:?}"))
        })
        .transpose()?;
    Ok(Query {
        account,
        region: region.to_owned(),
        request: LookupRequest {
            attributes,
            start: time_param(params, "start")?,
            end: time_param(params, "end")?,
            category: None,
            max_results,
            next_token: param(params, "next").map(str::to_owned),
        },
    })
}

/// One event as the page shows it: the `LookupEvents` members, the record's own, and the record.
fn event_json(e: &LookupEvent) -> Value {
    let record: Value = serde_json::from_str(&e.cloud_trail_event).unwrap_or(Value::Null);
    let time = time::OffsetDateTime::from_unix_timestamp(e.event_time)
        .map(cloudtrail::timefmt::iso_seconds)
        .unwrap_or_default();
    json!({
        "eventId": e.event_id,
        "eventTime": time,
        "eventName": e.event_name,
        "eventSource": e.event_source,
        "readOnly": e.read_only,
        "accessKeyId": e.access_key_id,
        "username": e.username,
        "resources": e.resources.iter().map(|(t, n)| json!({"type": t, "name": n})).collect::<Vec<_>>(),
        "awsRegion": record["awsRegion"],
        "errorCode": record["errorCode"],
        "sourceIPAddress": record["sourceIPAddress"],
        "requestId": record["requestID"],
        "record": record,
    })
}

fn events(app: &App, history: &History, parts: &Parts, request_id: &str) -> HttpResponse {
    let q = match query(app, &params(parts)) {
        Ok(q) => q,
        Err(m) => return problem(StatusCode::BAD_REQUEST, "InvalidParameter", m, request_id),
    };
    match history.lookup(&q.account, &q.region, &q.request) {
        Ok(page) => json_answer(
            StatusCode::OK,
            json!({
                "account": q.account,
                "region": q.region,
                "events": page.events.iter().map(event_json).collect::<Vec<_>>(),
                "nextToken": page.next_token,
            }),
            request_id,
        ),
        Err(e) => {
            let status = if e.is_server_fault() {
                StatusCode::INTERNAL_SERVER_ERROR
            } else {
                StatusCode::BAD_REQUEST
            };
            problem(status, e.code(), e.to_string(), request_id)
        }
    }
}

/// Streams every event of the filter, page by page, in `format`.
fn export(app: &App, history: &std::sync::Arc<History>, parts: &Parts, request_id: &str) -> HttpResponse {
    let params = params(parts);
    let Some(format) = param(&params, "format").and_then(export::Format::parse) else {
        return problem(
            StatusCode::BAD_REQUEST,
            "InvalidParameter",
            "format must be csv or json",
            request_id,
        );
    };
    let mut q = match query(app, &params) {
        Ok(q) => q,
        Err(m) => return problem(StatusCode::BAD_REQUEST, "InvalidParameter", m, request_id),
    };
    // Checked before the first byte, so a bad filter is an error and not an empty file.
    q.request.max_results = Some(50);
    let first = match history.lookup(&q.account, &q.region, &q.request) {
        Ok(page) => page,
        Err(e) => return problem(StatusCode::BAD_REQUEST, e.code(), e.to_string(), request_id),
    };
    let (tx, body) = StreamedBody::channel(4);
    let history = history.clone();
    tokio::task::spawn_blocking(move || {
        let send = |s: String| tx.blocking_send(Bytes::from(s)).is_ok();
        if !send(format.head()) {
            return;
        }
        let mut page = first;
        let mut first_event = true;
        loop {
            let mut chunk = String::new();
            for e in &page.events {
                chunk.push_str(&format.event(e, first_event));
                first_event = false;
            }
            // A reader that went away ends the export.
            if !chunk.is_empty() && !send(chunk) {
                return;
            }
            let Some(next) = page.next_token.take() else { break };
            q.request.next_token = Some(next);
            match history.lookup(&q.account, &q.region, &q.request) {
                Ok(p) => page = p,
                Err(e) => {
                    tracing::warn!(error = %e, "console export stopped");
                    return;
                }
            }
        }
        let _ = send(format.tail().to_owned());
    });
    let mut resp = with_headers(http::Response::new(body), format.content_type());
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{}\"", format.file_name())) {
        resp.headers_mut().insert(http::header::CONTENT_DISPOSITION, v);
    }
    resp
}

/// The trails the account sees, with their status and selectors (`GetTrailStatus`,
/// `GetEventSelectors`, from the CloudTrail API's own code).
fn trails(app: &App, parts: &Parts, request_id: &str) -> HttpResponse {
    let q = match query(app, &params(parts)) {
        Ok(q) => q,
        Err(m) => return problem(StatusCode::BAD_REQUEST, "InvalidParameter", m, request_id),
    };
    let Some(api) = app.trails.as_ref() else {
        return problem(
            StatusCode::NOT_FOUND,
            "NotFound",
            "the CloudTrail API is not served",
            request_id,
        );
    };
    match api.overview(&q.account, &q.region) {
        Ok(list) => json_answer(StatusCode::OK, json!({"trails": list}), request_id),
        Err(e) => problem(StatusCode::BAD_REQUEST, &e.code, e.message, request_id),
    }
}

/// The data directory as a store: trails delivered to it are browsable; others (a trail sent to
/// a remote store) are not there to list.
fn data_dir(app: &App) -> cloudtrail::LocalDir {
    cloudtrail::LocalDir::with_clock(&app.server.data_dir, app.clock.clone())
}

/// Objects of `bucket` under `prefix` (at most 1000, after `after`).
fn files(app: &App, parts: &Parts, request_id: &str) -> HttpResponse {
    let params = params(parts);
    let (Some(bucket), prefix) = (
        param(&params, "bucket"),
        param(&params, "prefix").unwrap_or_default(),
    ) else {
        return problem(
            StatusCode::BAD_REQUEST,
            "InvalidParameter",
            "bucket is required",
            request_id,
        );
    };
    match data_dir(app).list(bucket, prefix, param(&params, "after"), 1000) {
        Ok(Some(objects)) => json_answer(
            StatusCode::OK,
            json!({
                "bucket": bucket,
                "prefix": prefix,
                "objects": objects.iter().map(|(key, m)| json!({
                    "key": key,
                    "size": m.size,
                    "lastModified": cloudtrail::timefmt::iso_seconds(m.last_modified),
                })).collect::<Vec<_>>(),
            }),
            request_id,
        ),
        Ok(None) => problem(
            StatusCode::NOT_FOUND,
            "NoSuchBucket",
            format!(
                "no bucket {bucket} in the data directory (a trail delivering to another store is not browsable here)"
            ),
            request_id,
        ),
        Err(e) => problem(
            StatusCode::BAD_REQUEST,
            "InvalidParameter",
            e.to_string(),
            request_id,
        ),
    }
}

/// One object of the data directory: its bytes (`download`), or what it holds: a log file's
/// records, a digest's document.
fn object(app: &App, parts: &Parts, request_id: &str, download: bool) -> HttpResponse {
    let params = params(parts);
    let (Some(bucket), Some(key)) = (param(&params, "bucket"), param(&params, "key")) else {
        return problem(
            StatusCode::BAD_REQUEST,
            "InvalidParameter",
            "bucket and key are required",
            request_id,
        );
    };
    let store = data_dir(app);
    let (found, meta) = match store.get(bucket, key) {
        Ok(Some(got)) => got,
        Ok(None) => {
            return problem(
                StatusCode::NOT_FOUND,
                "NoSuchKey",
                format!("no object {key}"),
                request_id,
            );
        }
        Err(e) => {
            return problem(
                StatusCode::BAD_REQUEST,
                "InvalidParameter",
                e.to_string(),
                request_id,
            );
        }
    };
    if download {
        let name = key.rsplit('/').next().unwrap_or("object").replace('"', "");
        let mut resp = with_headers(http::Response::new(full_body(found)), "application/octet-stream");
        if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
            resp.headers_mut().insert(http::header::CONTENT_DISPOSITION, v);
        }
        return resp;
    }
    let text = if key.ends_with(".gz") {
        match cloudtrail::logfile::gunzip(&found) {
            Ok(t) => t,
            Err(e) => return problem(StatusCode::BAD_REQUEST, "NotALogFile", e.to_string(), request_id),
        }
    } else {
        found.clone()
    };
    // A digest is checked as validate-logs checks it, with the keys the emulator signs with.
    let region = key.split('/').skip_while(|s| *s != "CloudTrail-Digest").nth(1);
    let validation = match (region, app.keys.as_ref()) {
        (Some(region), Some(keys)) => {
            let fetch = |b: &str, k: &str| store.get(b, k).ok().flatten().map(|(body, _)| body);
            let check = cloudtrail::digest::verify_digest(
                &found,
                meta.user.get("signature").map(String::as_str),
                region,
                keys,
                &fetch,
            );
            json!({
                "valid": check.valid(),
                "signatureValid": check.signature_valid,
                "signatureProblem": check.signature_problem,
                "logFiles": check.log_files.iter().map(|(k, ok)| json!({"key": k, "valid": ok})).collect::<Vec<_>>(),
                "previousValid": check.previous_valid,
            })
        }
        _ => Value::Null,
    };
    match serde_json::from_slice::<Value>(&text) {
        Ok(doc) => json_answer(
            StatusCode::OK,
            json!({"bucket": bucket, "key": key, "document": doc, "validation": validation}),
            request_id,
        ),
        Err(e) => problem(StatusCode::BAD_REQUEST, "NotALogFile", e.to_string(), request_id),
    }
}

fn meta(app: &App, request_id: &str) -> HttpResponse {
    json_answer(
        StatusCode::OK,
        json!({
            "accounts": app.identities.accounts(),
            "regions": app.regions.all(),
            "defaultRegion": "us-east-1",
            "attributes": cloudtrail::history::ATTRIBUTE_KEYS,
            "now": cloudtrail::timefmt::iso_seconds(app.clock.now()),
            "maxResults": 50,
        }),
        request_id,
    )
}

/// Answers a request under `/console`.
pub(crate) fn handle(app: &App, parts: &Parts, peer: SocketAddr, request_id: &str) -> HttpResponse {
    if !app.server.console_open && !peer.ip().is_loopback() {
        return problem(
            StatusCode::FORBIDDEN,
            "Forbidden",
            "the console answers this machine only; start the emulator with --open-console to serve it to others",
            request_id,
        );
    }
    if let Err((status, message)) = app.admin.check(parts, false) {
        return problem(status, "Forbidden", message, request_id);
    }
    if parts.method != Method::GET {
        return problem(
            StatusCode::METHOD_NOT_ALLOWED,
            "MethodNotAllowed",
            "the console only reads",
            request_id,
        );
    }
    let Some(history) = app.history.as_ref() else {
        return problem(
            StatusCode::NOT_FOUND,
            "NotFound",
            "Event history is not kept",
            request_id,
        );
    };
    match parts.uri.path() {
        "/console" => {
            let mut resp = http::Response::new(full_body(Bytes::new()));
            *resp.status_mut() = StatusCode::PERMANENT_REDIRECT;
            resp.headers_mut()
                .insert(http::header::LOCATION, HeaderValue::from_static("/console/"));
            resp
        }
        "/console/" | "/console/index.html" => asset(INDEX_HTML, "text/html; charset=utf-8"),
        "/console/app.js" => asset(APP_JS, "text/javascript; charset=utf-8"),
        "/console/app.css" => asset(APP_CSS, "text/css; charset=utf-8"),
        "/console/api/meta" => meta(app, request_id),
        "/console/api/events" => events(app, history, parts, request_id),
        "/console/api/export" => export(app, history, parts, request_id),
        "/console/api/health" => json_answer(StatusCode::OK, crate::admin::health_json(app), request_id),
        "/console/api/trails" => trails(app, parts, request_id),
        "/console/api/files" => files(app, parts, request_id),
        "/console/api/object" => object(app, parts, request_id, false),
        "/console/api/download" => object(app, parts, request_id, true),
        other => problem(
            StatusCode::NOT_FOUND,
            "NotFound",
            format!("no console page {other}"),
            request_id,
        ),
    }
}
