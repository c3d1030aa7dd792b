//! The AWS JSON 1.1, REST-JSON and Query protocols (and EC2's and Smithy RPC v2 CBOR's errors):
//! what a request's headers say (target, content type, forwarded addresses, body length), request
//! bodies, responses and wire errors. With `crate::s3` for S3's REST-XML, the only code that
//! knows wire names and headers.
//!
//! Failures are typed ([`CallError`]) until the protocol is known, then mapped once into an
//! [`ApiError`], so the recorder sees the same code and message the client gets.

mod error;
pub mod query;
mod request;

pub use error::{CallError, RouteError};
pub use request::{check_content_type, has_target, host, is_form, read_body, source_ip, target, user_agent};

use bytes::Bytes;
use http::{HeaderValue, StatusCode};
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
    /// Form-encoded `POST /` with an `Action`, answered in XML; the XML namespace of the
    /// service's responses, when it is served.
    Query(Option<&'static str>),
    /// EC2's variant of Query: lower-camel elements, lists of `<item>`, errors as
    /// `<Response><Errors>`; the XML namespace when the service is served.
    Ec2(Option<&'static str>),
    /// Smithy RPC v2 CBOR (`POST /service/S/operation/O`), for services we do not serve.
    Cbor,
}

impl Protocol {
    /// The response content type.
    pub fn content_type(self) -> &'static str {
        match self {
            Protocol::AwsJson11 => AMZ_JSON_11,
            Protocol::RestJson => JSON,
            Protocol::Query(_) | Protocol::Ec2(_) => query::XML,
            Protocol::Cbor => "application/cbor",
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

    /// The response for this error.
    pub fn response(&self, protocol: Protocol, request_id: &str) -> HttpResponse {
        match protocol {
            Protocol::Query(xmlns) => return query::error_response(self, xmlns, request_id),
            Protocol::Ec2(_) => return query::ec2_error_response(self, request_id),
            Protocol::Cbor => return self.cbor_response(request_id),
            Protocol::AwsJson11 | Protocol::RestJson => {}
        }
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

impl ApiError {
    /// The error as Smithy RPC v2 CBOR answers it: a CBOR map of `__type` and `message`.
    fn cbor_response(&self, request_id: &str) -> HttpResponse {
        fn text(out: &mut Vec<u8>, s: &str) {
            // Major type 3 (text string) with its length in the shortest form CBOR allows.
            match s.len() {
                n @ 0..=23 => out.push(0x60 | n as u8),
                n @ 24..=0xff => out.extend([0x78, n as u8]),
                n @ 0x100..=0xffff => {
                    out.push(0x79);
                    out.extend((n as u16).to_be_bytes());
                }
                n => {
                    out.push(0x7a);
                    out.extend((n as u32).to_be_bytes());
                }
            }
            out.extend(s.as_bytes());
        }
        let mut body = vec![0xa2];
        text(&mut body, "__type");
        text(&mut body, &self.code);
        text(&mut body, "message");
        text(&mut body, &self.message);
        let mut resp = http::Response::new(crate::seams::full_body(body));
        *resp.status_mut() = self.status;
        let headers = resp.headers_mut();
        headers.insert(
            http::header::CONTENT_TYPE,
            HeaderValue::from_static("application/cbor"),
        );
        headers.insert("smithy-protocol", HeaderValue::from_static("rpc-v2-cbor"));
        if let Ok(v) = HeaderValue::from_str(request_id) {
            headers.insert("x-amzn-requestid", v);
        }
        resp
    }
}

/// A JSON response with the request id header.
pub fn json_response(protocol: Protocol, status: StatusCode, body: Bytes, request_id: &str) -> HttpResponse {
    let mut resp = http::Response::new(crate::seams::full_body(body));
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
        let v = http::HeaderValue::from_str(&http_date(now)).ok()?;
        *last = Some((second, v.clone()));
        Some(v)
    })
}

/// Sets `Date` from the emulator's clock: SDKs correct their clock skew from it, so it must not
/// come from hyper's wall clock, or a test clock would make every later signature expire.
pub fn set_date(resp: &mut HttpResponse, now: time::OffsetDateTime) {
    if let Some(v) = date_header(now) {
        resp.headers_mut().insert(http::header::DATE, v);
    }
}

/// A successful call's response; a Query response is named after `action` and writes the
/// members `is_timestamp` names as ISO 8601.
pub fn success(
    protocol: Protocol,
    action: &str,
    output: &Value,
    is_timestamp: &dyn Fn(&str) -> bool,
    request_id: &str,
) -> HttpResponse {
    match protocol {
        Protocol::Query(xmlns) => {
            return query::success(
                action,
                xmlns.unwrap_or_default(),
                output,
                is_timestamp,
                request_id,
            );
        }
        Protocol::Ec2(xmlns) => {
            return query::ec2_success(action, xmlns.unwrap_or_default(), output, request_id);
        }
        Protocol::AwsJson11 | Protocol::RestJson | Protocol::Cbor => {}
    }
    let body = match output {
        Value::Null => Bytes::from_static(b"{}"),
        v => Bytes::from(serde_json::to_vec(v).unwrap_or_else(|_| b"{}".to_vec())),
    };
    json_response(protocol, StatusCode::OK, body, request_id)
}

/// Decodes a JSON request body: empty (or blank) is `{}`, anything but one JSON object is a
/// `SerializationException`.
pub fn decode_body(body: &[u8]) -> Result<Value, CallError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Value::Object(Default::default()));
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(v @ Value::Object(_)) => Ok(v),
        Ok(_) => Err(CallError::Serialization(
            "Start of structure or map found where not expected: the request body must be a JSON object"
                .into(),
        )),
        Err(e) => Err(CallError::Serialization(format!(
            "Malformed JSON request body: {e}"
        ))),
    }
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
            assert!(matches!(decode_body(bad), Err(CallError::Serialization(_))));
        }
    }

    #[tokio::test]
    async fn error_shapes() {
        let e = CallError::Serialization("bad".into()).to_api(Protocol::AwsJson11);
        let resp = e.response(Protocol::AwsJson11, "rid");
        assert_eq!(resp.status(), 400);
        assert_eq!(resp.headers()["x-amzn-errortype"], "SerializationException");
        assert_eq!(resp.headers()["x-amzn-requestid"], "rid");
        assert_eq!(resp.headers()["content-type"], AMZ_JSON_11);
        assert_eq!(
            body(resp).await,
            r#"{"__type":"com.amazon.coral.service#SerializationException","message":"bad"}"#
        );
    }
}
