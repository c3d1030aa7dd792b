//! Wire encodings: AWS JSON 1.1 and REST-JSON responses and errors, and S3's XML errors.
//!
//! Errors are values ([`ApiError`]) until the last moment, so the recorder sees the same code
//! and message the client gets.

use bytes::Bytes;
use http::{HeaderValue, StatusCode};
use http_body_util::Full;
use serde_json::Value;

use crate::seams::HttpResponse;

/// `Content-Type` of AWS JSON 1.1 responses.
pub const AMZ_JSON_11: &str = "application/x-amz-json-1.1";
/// `Content-Type` of REST-JSON responses.
pub const JSON: &str = "application/json";

/// Which encoding a routed request uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// `POST /` with `X-Amz-Target` (Personalize control plane, CloudTrail).
    AwsJson11,
    /// Path-routed JSON (Personalize Runtime and Events).
    RestJson,
}

impl Protocol {
    /// The response content type.
    pub fn content_type(self) -> &'static str {
        match self {
            Protocol::AwsJson11 => AMZ_JSON_11,
            Protocol::RestJson => JSON,
        }
    }
}

/// An error as the client will see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// The error name (`X-Amzn-ErrorType`, the record's `errorCode`).
    pub code: String,
    /// The body's `__type` when AWS sends a namespaced form (`com.amazon.coral.service#…`).
    pub wire_type: Option<&'static str>,
    /// The message.
    pub message: String,
}

impl ApiError {
    /// An error with a plain `__type`.
    pub fn new(status: StatusCode, code: impl Into<String>, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code: code.into(),
            wire_type: None,
            message: message.into(),
        }
    }

    /// `UnknownOperationException`: no such target, or not a request any service here serves.
    pub fn unknown_operation(status: StatusCode, message: impl Into<String>) -> Self {
        Self::new(status, "UnknownOperationException", message)
    }

    /// `SerializationException`: the body is not a JSON object. AWS's Coral stack names it with
    /// its namespace; clients strip everything up to `#`.
    pub fn serialization(message: impl Into<String>) -> Self {
        ApiError {
            status: StatusCode::BAD_REQUEST,
            code: "SerializationException".into(),
            wire_type: Some("com.amazon.coral.service#SerializationException"),
            message: message.into(),
        }
    }

    /// `InternalFailure`: something on our side broke (for example the spool is unwritable).
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "InternalFailure", message)
    }

    /// `ServiceUnavailableException`: the call would change state but its record could not be
    /// kept, so it is refused before it runs. 503, which every SDK retries.
    pub fn unavailable() -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "ServiceUnavailableException",
            "Service is unavailable. Please try again later.",
        )
    }

    /// `ThrottlingException`: too many requests in flight.
    pub fn throttling(protocol: Protocol) -> Self {
        let status = match protocol {
            Protocol::AwsJson11 => StatusCode::BAD_REQUEST,
            Protocol::RestJson => StatusCode::TOO_MANY_REQUESTS,
        };
        Self::new(status, "ThrottlingException", "Rate exceeded")
    }

    /// Maps a Personalize error to the status its protocol uses.
    pub fn from_personalize(e: &personalize::Error, protocol: Protocol) -> Self {
        use personalize::ErrorKind as K;
        let status = match (protocol, e.kind) {
            // AWS's API reference pages give 400 for every control-plane error.
            (Protocol::AwsJson11, _) => StatusCode::BAD_REQUEST,
            // The Runtime and Events models bind these to 404 and 409.
            (Protocol::RestJson, K::ResourceNotFound) => StatusCode::NOT_FOUND,
            (Protocol::RestJson, K::ResourceInUse) => StatusCode::CONFLICT,
            (Protocol::RestJson, _) => StatusCode::BAD_REQUEST,
        };
        Self::new(status, e.kind.code(), e.message.clone())
    }

    /// Maps an authentication failure; REST-JSON endpoints sit behind a front end that
    /// answers these with 403, AWS JSON endpoints answer 400.
    pub fn from_auth(e: &crate::sigv4::AuthError, protocol: Protocol) -> Self {
        let status = match protocol {
            Protocol::AwsJson11 => StatusCode::BAD_REQUEST,
            Protocol::RestJson => StatusCode::FORBIDDEN,
        };
        Self::new(status, e.code(), e.to_string())
    }

    /// `AccessDeniedException` for a deny rule.
    pub fn access_denied(protocol: Protocol, message: impl Into<String>) -> Self {
        let status = match protocol {
            Protocol::AwsJson11 => StatusCode::BAD_REQUEST,
            Protocol::RestJson => StatusCode::FORBIDDEN,
        };
        Self::new(status, "AccessDeniedException", message)
    }

    /// The response for this error.
    pub fn response(&self, protocol: Protocol, request_id: &str) -> HttpResponse {
        let body = serde_json::json!({
            "__type": self.wire_type.unwrap_or(&self.code),
            "message": self.message,
        });
        let mut resp = json_response(protocol, self.status, body.to_string().into(), request_id);
        if let Ok(v) = HeaderValue::from_str(&self.code) {
            resp.headers_mut().insert("x-amzn-errortype", v);
        }
        resp
    }
}

/// A JSON response with the request id header.
pub fn json_response(protocol: Protocol, status: StatusCode, body: Bytes, request_id: &str) -> HttpResponse {
    let mut resp = http::Response::new(Full::new(body));
    *resp.status_mut() = status;
    let headers = resp.headers_mut();
    headers.insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static(protocol.content_type()),
    );
    if let Ok(v) = HeaderValue::from_str(request_id) {
        headers.insert("x-amzn-requestid", v);
    }
    resp
}

/// A successful call's response.
pub fn success(protocol: Protocol, output: &Value, request_id: &str) -> HttpResponse {
    let body = match output {
        Value::Null => Bytes::from_static(b"{}"),
        v => Bytes::from(serde_json::to_vec(v).unwrap_or_else(|_| b"{}".to_vec())),
    };
    json_response(protocol, StatusCode::OK, body, request_id)
}

/// Decodes a JSON request body: empty (or blank) is `{}`, anything but one JSON object is a
/// `SerializationException`.
pub fn decode_body(body: &[u8]) -> Result<Value, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Value::Object(Default::default()));
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(v @ Value::Object(_)) => Ok(v),
        Ok(_) => Err(ApiError::serialization(
            "Start of structure or map found where not expected: the request body must be a JSON object",
        )),
        Err(e) => Err(ApiError::serialization(format!(
            "Malformed JSON request body: {e}"
        ))),
    }
}

/// Escapes text for an XML element.
pub fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

/// An S3 error document.
pub fn s3_error(
    status: StatusCode,
    code: &str,
    message: &str,
    resource: &str,
    request_id: &str,
) -> HttpResponse {
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{}</Code><Message>{}</Message><Resource>{}</Resource><RequestId>{}</RequestId></Error>",
        xml_escape(code),
        xml_escape(message),
        xml_escape(resource),
        xml_escape(request_id)
    );
    let mut resp = http::Response::new(Full::new(Bytes::from(body)));
    *resp.status_mut() = status;
    let headers = resp.headers_mut();
    headers.insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/xml"),
    );
    if let Ok(v) = HeaderValue::from_str(request_id) {
        headers.insert("x-amz-request-id", v);
    }
    resp
}

/// Maps an authentication failure to S3's codes and statuses.
pub fn s3_auth_error(e: &crate::sigv4::AuthError, resource: &str, request_id: &str) -> HttpResponse {
    let e = e.s3();
    s3_error(e.status, e.code, &e.message, resource, request_id)
}

/// `Wed, 12 Oct 2009 17:50:00 GMT`, the HTTP date of `Last-Modified` and `Date` (RFC 9110 IMF-fixdate).
pub(crate) fn http_date(t: time::OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    let day = match t.weekday() {
        time::Weekday::Monday => "Mon",
        time::Weekday::Tuesday => "Tue",
        time::Weekday::Wednesday => "Wed",
        time::Weekday::Thursday => "Thu",
        time::Weekday::Friday => "Fri",
        time::Weekday::Saturday => "Sat",
        time::Weekday::Sunday => "Sun",
    };
    let month = match t.month() {
        time::Month::January => "Jan",
        time::Month::February => "Feb",
        time::Month::March => "Mar",
        time::Month::April => "Apr",
        time::Month::May => "May",
        time::Month::June => "Jun",
        time::Month::July => "Jul",
        time::Month::August => "Aug",
        time::Month::September => "Sep",
        time::Month::October => "Oct",
        time::Month::November => "Nov",
        time::Month::December => "Dec",
    };
    format!(
        "{day}, {:02} {month} {:04} {:02}:{:02}:{:02} GMT",
        t.day(),
        t.year(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    async fn body(resp: HttpResponse) -> String {
        String::from_utf8(resp.into_body().collect().await.unwrap().to_bytes().to_vec()).unwrap()
    }

    #[test]
    fn decode_cases() {
        assert_eq!(decode_body(b"").unwrap(), serde_json::json!({}));
        assert_eq!(decode_body(b" \n").unwrap(), serde_json::json!({}));
        assert_eq!(decode_body(b"{\"a\":1}").unwrap(), serde_json::json!({"a":1}));
        for bad in [&b"[1]"[..], b"{\"a\":", b"{} {}"] {
            assert_eq!(decode_body(bad).unwrap_err().code, "SerializationException");
        }
    }

    #[tokio::test]
    async fn error_shapes() {
        let e = ApiError::serialization("bad");
        let resp = e.response(Protocol::AwsJson11, "rid");
        assert_eq!(resp.status(), 400);
        assert_eq!(resp.headers()["x-amzn-errortype"], "SerializationException");
        assert_eq!(resp.headers()["x-amzn-requestid"], "rid");
        assert_eq!(resp.headers()["content-type"], AMZ_JSON_11);
        assert_eq!(
            body(resp).await,
            r#"{"__type":"com.amazon.coral.service#SerializationException","message":"bad"}"#
        );
        let nf = personalize::Error::not_found("gone");
        assert_eq!(ApiError::from_personalize(&nf, Protocol::RestJson).status, 404);
        assert_eq!(ApiError::from_personalize(&nf, Protocol::AwsJson11).status, 400);
        let s3 = s3_error(StatusCode::NOT_FOUND, "NoSuchKey", "a<b", "/k", "r");
        assert!(body(s3).await.contains("<Message>a&lt;b</Message>"));
    }
}
