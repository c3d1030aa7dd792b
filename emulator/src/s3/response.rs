//! What the S3 API writes back beyond listings: byte ranges, the headers every answer carries, and
//! errors in S3's XML (for its own errors and for the request path's).

use super::*;

/// A byte range request, as S3 reads it: one range only; anything it cannot parse is ignored
/// and the whole object is served.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum RangeSpec {
    Whole,
    Bytes(u64, u64),
    Unsatisfiable,
}

pub(super) fn parse_range(spec: &str, size: u64) -> RangeSpec {
    let Some(r) = spec.trim().strip_prefix("bytes=") else {
        return RangeSpec::Whole;
    };
    if r.contains(',') {
        return RangeSpec::Whole;
    }
    let Some((a, b)) = r.trim().split_once('-') else {
        return RangeSpec::Whole;
    };
    let (a, b) = (a.trim(), b.trim());
    match (a.is_empty(), b.is_empty()) {
        (true, true) => RangeSpec::Whole,
        (true, false) => match b.parse::<u64>() {
            Ok(0) => RangeSpec::Unsatisfiable,
            Ok(_) if size == 0 => RangeSpec::Unsatisfiable,
            Ok(n) => RangeSpec::Bytes(size.saturating_sub(n), size - 1),
            Err(_) => RangeSpec::Whole,
        },
        (false, _) => {
            let Ok(first) = a.parse::<u64>() else {
                return RangeSpec::Whole;
            };
            let last = if b.is_empty() {
                u64::MAX
            } else {
                match b.parse::<u64>() {
                    Ok(last) if last >= first => last,
                    _ => return RangeSpec::Whole,
                }
            };
            if first >= size {
                RangeSpec::Unsatisfiable
            } else {
                RangeSpec::Bytes(first, last.min(size - 1))
            }
        }
    }
}

/// A header value from text we control or from stored metadata; bytes a header cannot carry
/// are dropped rather than failing the response.
pub(super) fn header_value(s: &str) -> HeaderValue {
    HeaderValue::from_str(s).unwrap_or_else(|_| {
        let clean: String = s
            .chars()
            .filter(|c| c.is_ascii() && !c.is_ascii_control())
            .collect();
        HeaderValue::from_str(&clean).unwrap_or_else(|_| HeaderValue::from_static(""))
    })
}

pub(super) fn common_headers(h: &mut HeaderMap, request_id: &str) {
    h.insert(
        HeaderName::from_static("x-amz-request-id"),
        header_value(request_id),
    );
    // S3's extended request id; derived from the request id so it is stable per request.
    h.insert(
        HeaderName::from_static("x-amz-id-2"),
        header_value(&base64_id(request_id)),
    );
    h.insert(http::header::SERVER, HeaderValue::from_static("AmazonS3"));
}

fn base64_id(request_id: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(Sha256::digest(request_id.as_bytes()))
}

/// A failure of the request path before the S3 API ran (body limits, signature, throttling), as
/// S3 answers it.
pub(crate) fn call_error_response(e: &CallError, resource: &str, request_id: &str) -> HttpResponse {
    let s3 = match e {
        CallError::BodyTooLarge { .. } => {
            S3Error::new(StatusCode::PAYLOAD_TOO_LARGE, "EntityTooLarge", e.to_string())
        }
        CallError::BodyTimeout => S3Error::new(StatusCode::REQUEST_TIMEOUT, "RequestTimeout", e.to_string()),
        // A body cut off by the connection is a bad request, named as S3 names a slow one.
        CallError::BodyUnreadable(_) => {
            S3Error::new(StatusCode::BAD_REQUEST, "RequestTimeout", e.to_string())
        }
        CallError::Auth(auth) => {
            let a = auth.s3();
            S3Error::new(a.status, a.code, a.message)
        }
        CallError::Throttled => S3Error::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "SlowDown",
            "Please reduce your request rate.",
        ),
        CallError::Route(crate::protocol::RouteError::NotServed { .. }) => {
            S3Error::new(StatusCode::NOT_IMPLEMENTED, "NotImplemented", e.to_string())
        }
        _ => S3Error::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "InternalError",
            "We encountered an internal error. Please try again.",
        ),
    };
    error_response(&s3.with("Resource", resource), request_id, false)
}

pub(super) fn error_response(e: &S3Error, request_id: &str, head: bool) -> HttpResponse {
    let mut out = String::from(DECL);
    out.push_str("<Error>");
    element(&mut out, "Code", e.code);
    element(&mut out, "Message", &e.message);
    for (name, value) in &e.extra {
        element(&mut out, name, value);
    }
    element(&mut out, "RequestId", request_id);
    element(&mut out, "HostId", &base64_id(request_id));
    out.push_str("</Error>");
    // HEAD responses carry no body, so clients see only the status (S3 does the same).
    let body = if head { Bytes::new() } else { Bytes::from(out) };
    let len = body.len();
    let mut resp = http::Response::new(crate::seams::full_body(body));
    *resp.status_mut() = e.status;
    let h = resp.headers_mut();
    common_headers(h, request_id);
    h.insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/xml"),
    );
    h.insert(http::header::CONTENT_LENGTH, HeaderValue::from(len));
    resp
}
