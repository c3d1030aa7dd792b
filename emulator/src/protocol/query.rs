//! The AWS Query protocol (as the identity services speak it): form-encoded requests, XML responses and XML errors.
//!
//! A request body `Action=AssumeRole&Tags.member.1.Key=k` decodes to the JSON value
//! `{"Action": "AssumeRole", "Tags": [{"Key": "k"}]}`, with every scalar a string, so a Query
//! service computes on the same input type as a JSON one. Its output encodes back the same way:
//! objects become elements, lists `<member>` elements, timestamps ISO 8601.

use std::collections::BTreeMap;

use http::{HeaderValue, StatusCode};
use serde_json::{Map, Value};

use super::{ApiError, CallError};
use crate::s3::xml::{element, escape, percent_decode};
use crate::seams::HttpResponse;

/// `Content-Type` of Query requests.
pub const FORM: &str = "application/x-www-form-urlencoded";
/// `Content-Type` of Query responses.
pub const XML: &str = "text/xml";

/// One decoded form member: a value, a structure (members in the order they first came, as
/// clients send them in model order), or a list by 1-based index.
#[derive(Debug)]
enum Node {
    Leaf(String),
    Struct(Vec<(String, Node)>),
    List(BTreeMap<u32, Node>),
}

impl Node {
    fn into_value(self) -> Value {
        match self {
            Node::Leaf(s) => Value::String(s),
            Node::Struct(m) => Value::Object(m.into_iter().map(|(k, v)| (k, v.into_value())).collect()),
            Node::List(m) => Value::Array(m.into_values().map(Node::into_value).collect()),
        }
    }
}

/// Decodes a form body. A key is a dotted path; `member.N` (lists) and `entry.N` (maps, kept as
/// lists of `{key, value}`) take a 1-based index. A key that contradicts an earlier one (a value
/// where a structure was, an index that is not a number) is a `MalformedQueryString`.
pub fn decode_form(body: &[u8]) -> Result<Value, CallError> {
    let malformed = |why: &str| CallError::Serialization(format!("Malformed query string: {why}"));
    let text = std::str::from_utf8(body).map_err(|_| malformed("the body is not UTF-8"))?;
    let mut root: Vec<(String, Node)> = Vec::new();
    for pair in text.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let key = percent_decode(k, true).ok_or_else(|| malformed("bad percent-encoding"))?;
        let value = percent_decode(v, true).ok_or_else(|| malformed("bad percent-encoding"))?;
        let parts: Vec<&str> = key.split('.').collect();
        if parts.iter().any(|p| p.is_empty()) {
            return Err(malformed(&format!("empty name in {key:?}")));
        }
        insert(&mut root, &parts, value).map_err(|()| malformed(&format!("conflicting member {key:?}")))?;
    }
    Ok(Node::Struct(root).into_value())
}

/// The member `name` of a structure, added (as `make()` makes it) when it is new.
fn member<'a>(fields: &'a mut Vec<(String, Node)>, name: &str, make: impl FnOnce() -> Node) -> &'a mut Node {
    let i = match fields.iter().position(|(k, _)| k == name) {
        Some(i) => i,
        None => {
            fields.push((name.to_owned(), make()));
            fields.len() - 1
        }
    };
    &mut fields[i].1
}

fn insert(map: &mut Vec<(String, Node)>, parts: &[&str], value: String) -> Result<(), ()> {
    let (first, rest) = parts.split_first().ok_or(())?;
    if rest.is_empty() {
        if map.iter().any(|(k, _)| k == first) {
            return Err(());
        }
        map.push(((*first).to_owned(), Node::Leaf(value)));
        return Ok(());
    }
    match rest {
        [marker, index, tail @ ..] if *marker == "member" || *marker == "entry" => {
            let i: u32 = index.parse().map_err(|_| ())?;
            let node = member(map, first, || Node::List(BTreeMap::new()));
            let Node::List(items) = node else { return Err(()) };
            if tail.is_empty() {
                return match items.insert(i, Node::Leaf(value)) {
                    None => Ok(()),
                    Some(_) => Err(()),
                };
            }
            let item = items.entry(i).or_insert_with(|| Node::Struct(Vec::new()));
            let Node::Struct(fields) = item else {
                return Err(());
            };
            insert(fields, tail, value)
        }
        _ => {
            let node = member(map, first, || Node::Struct(Vec::new()));
            let Node::Struct(fields) = node else {
                return Err(());
            };
            insert(fields, rest, value)
        }
    }
}

/// The `Action` of a decoded form.
pub fn action(input: &Value) -> Option<&str> {
    input.get("Action").and_then(Value::as_str)
}

/// The successful response of `action`: `<ActionResponse xmlns><ActionResult>output</ActionResult>
/// <ResponseMetadata><RequestId/></ResponseMetadata></ActionResponse>`. Members `is_timestamp`
/// names hold epoch seconds and are written as ISO 8601.
pub fn success(
    action: &str,
    xmlns: &str,
    output: &Value,
    is_timestamp: &dyn Fn(&str) -> bool,
    request_id: &str,
) -> HttpResponse {
    let mut out = String::with_capacity(512);
    out.push_str(&format!("<{action}Response xmlns=\"{}\">", escape(xmlns)));
    match output {
        Value::Object(o) if !o.is_empty() => {
            out.push_str(&format!("<{action}Result>"));
            write_members(&mut out, o, is_timestamp);
            out.push_str(&format!("</{action}Result>"));
        }
        _ => {}
    }
    out.push_str("<ResponseMetadata>");
    element(&mut out, "RequestId", request_id);
    out.push_str(&format!("</ResponseMetadata></{action}Response>"));
    xml_response(StatusCode::OK, out, request_id)
}

fn write_members(out: &mut String, o: &Map<String, Value>, is_timestamp: &dyn Fn(&str) -> bool) {
    for (k, v) in o {
        write_value(out, k, v, is_timestamp(k), is_timestamp);
    }
}

fn write_value(
    out: &mut String,
    name: &str,
    v: &Value,
    timestamp: bool,
    is_timestamp: &dyn Fn(&str) -> bool,
) {
    match v {
        Value::Null => {}
        Value::Object(o) => {
            out.push_str(&format!("<{name}>"));
            write_members(out, o, is_timestamp);
            out.push_str(&format!("</{name}>"));
        }
        Value::Array(items) => {
            out.push_str(&format!("<{name}>"));
            for item in items {
                write_value(out, "member", item, false, is_timestamp);
            }
            out.push_str(&format!("</{name}>"));
        }
        Value::Number(n) if timestamp => {
            let t = n
                .as_f64()
                .and_then(|s| time::OffsetDateTime::from_unix_timestamp(s as i64).ok())
                .map(cloudtrail::timefmt::iso_seconds)
                .unwrap_or_else(|| n.to_string());
            element(out, name, &t);
        }
        Value::Number(n) => element(out, name, &n.to_string()),
        Value::Bool(b) => element(out, name, if *b { "true" } else { "false" }),
        Value::String(s) => element(out, name, s),
    }
}

/// The successful response of an EC2 `action`: `<ActionResponse xmlns><requestId/>output
/// </ActionResponse>`, members as named, lists as `<item>` elements.
pub fn ec2_success(action: &str, xmlns: &str, output: &Value, request_id: &str) -> HttpResponse {
    fn write(out: &mut String, name: &str, v: &Value) {
        match v {
            Value::Null => {}
            Value::Object(o) => {
                out.push_str(&format!("<{name}>"));
                for (k, v) in o {
                    write(out, k, v);
                }
                out.push_str(&format!("</{name}>"));
            }
            Value::Array(items) => {
                out.push_str(&format!("<{name}>"));
                for item in items {
                    write(out, "item", item);
                }
                out.push_str(&format!("</{name}>"));
            }
            Value::Bool(b) => element(out, name, if *b { "true" } else { "false" }),
            Value::Number(n) => element(out, name, &n.to_string()),
            Value::String(s) => element(out, name, s),
        }
    }
    let mut out = String::with_capacity(512);
    out.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    out.push_str(&format!("<{action}Response xmlns=\"{}\">", escape(xmlns)));
    element(&mut out, "requestId", request_id);
    if let Value::Object(o) = output {
        for (k, v) in o {
            write(&mut out, k, v);
        }
    }
    out.push_str(&format!("</{action}Response>"));
    xml_response(StatusCode::OK, out, request_id)
}

/// `error` as a Query error document: `<ErrorResponse><Error><Type>Sender|Receiver</Type>
/// <Code/><Message/></Error><RequestId/></ErrorResponse>`.
pub fn error_response(error: &ApiError, xmlns: Option<&str>, request_id: &str) -> HttpResponse {
    let mut out = String::with_capacity(256);
    match xmlns {
        Some(ns) => out.push_str(&format!("<ErrorResponse xmlns=\"{}\">", escape(ns))),
        None => out.push_str("<ErrorResponse>"),
    }
    out.push_str("<Error>");
    let fault = if error.status.is_server_error() {
        "Receiver"
    } else {
        "Sender"
    };
    element(&mut out, "Type", fault);
    element(&mut out, "Code", &error.code);
    element(&mut out, "Message", &error.message);
    out.push_str("</Error>");
    element(&mut out, "RequestId", request_id);
    out.push_str("</ErrorResponse>");
    xml_response(error.status, out, request_id)
}

/// `error` as the EC2 protocol answers it: `<Response><Errors><Error><Code/><Message/></Error>
/// </Errors><RequestID/></Response>`.
pub fn ec2_error_response(error: &ApiError, request_id: &str) -> HttpResponse {
    let mut out = String::with_capacity(256);
    out.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Response><Errors><Error>");
    element(&mut out, "Code", &error.code);
    element(&mut out, "Message", &error.message);
    out.push_str("</Error></Errors>");
    element(&mut out, "RequestID", request_id);
    out.push_str("</Response>");
    xml_response(error.status, out, request_id)
}

/// An XML response with the request id header.
pub fn xml_response(status: StatusCode, body: String, request_id: &str) -> HttpResponse {
    let mut resp = http::Response::new(crate::seams::full_body(body));
    *resp.status_mut() = status;
    let headers = resp.headers_mut();
    headers.insert(http::header::CONTENT_TYPE, HeaderValue::from_static(XML));
    if let Ok(v) = HeaderValue::from_str(request_id) {
        headers.insert("x-amzn-requestid", v);
    }
    resp
}

/// The Query protocol's name and status for an error the JSON protocols call `code`: Query
/// services name errors without the `Exception` suffix and answer some with other statuses.
pub fn query_error(code: &str, status: StatusCode) -> (&str, StatusCode) {
    match code {
        "AccessDeniedException" => ("AccessDenied", StatusCode::FORBIDDEN),
        "ThrottlingException" => ("Throttling", StatusCode::BAD_REQUEST),
        "SerializationException" => ("MalformedQueryString", StatusCode::BAD_REQUEST),
        "UnknownOperationException" => ("InvalidAction", StatusCode::BAD_REQUEST),
        "ServiceUnavailableException" => ("ServiceUnavailable", StatusCode::SERVICE_UNAVAILABLE),
        "RequestEntityTooLargeException" => ("RequestEntityTooLarge", status),
        "RequestTimeoutException" => ("RequestTimeout", status),
        "UnsupportedMediaTypeException" => ("UnsupportedMediaType", status),
        other => (other, status),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;
    use serde_json::json;

    async fn text(resp: HttpResponse) -> String {
        String::from_utf8(resp.into_body().collect().await.unwrap().to_bytes().to_vec()).unwrap()
    }

    #[test]
    fn forms_decode_into_structures_and_lists() {
        let body = b"Action=AssumeRole&Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam%3A%3A1%3Arole%2Fr\
            &Tags.member.2.Key=b&Tags.member.1.Key=a&Tags.member.1.Value=x+y\
            &TransitiveTagKeys.member.1=a&ProvidedContexts.member.1.ContextAssertion=c";
        let v = decode_form(body).unwrap();
        assert_eq!(
            v,
            json!({
                "Action": "AssumeRole",
                "ProvidedContexts": [{"ContextAssertion": "c"}],
                "RoleArn": "arn:aws:iam::1:role/r",
                "Tags": [{"Key": "a", "Value": "x y"}, {"Key": "b"}],
                "TransitiveTagKeys": ["a"],
                "Version": "2011-06-15",
            })
        );
        let order: Vec<&String> = v.as_object().unwrap().keys().collect();
        assert_eq!(
            order,
            [
                "Action",
                "Version",
                "RoleArn",
                "Tags",
                "TransitiveTagKeys",
                "ProvidedContexts"
            ]
        );
        assert_eq!(action(&v), Some("AssumeRole"));
        assert_eq!(decode_form(b"").unwrap(), json!({}));
        for bad in [
            &b"A=1&A=2"[..],
            b"A=1&A.B=2",
            b"L.member.x=1",
            b"A..B=1",
            b"A=%zz",
            b"\xff=1",
        ] {
            assert!(
                matches!(decode_form(bad), Err(CallError::Serialization(_))),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[tokio::test]
    async fn outputs_and_errors_encode_as_query_xml() {
        let out = json!({"Credentials": {"AccessKeyId": "ASIA", "Expiration": 1764723600},
                         "List": ["a<b"], "Size": 6, "Flag": true});
        let resp = success(
            "AssumeRole",
            "https://example/doc/",
            &out,
            &|n| n == "Expiration",
            "rid",
        );
        assert_eq!(resp.status(), 200);
        assert_eq!(resp.headers()["content-type"], XML);
        assert_eq!(
            text(resp).await,
            "<AssumeRoleResponse xmlns=\"https://example/doc/\"><AssumeRoleResult>\
             <Credentials><AccessKeyId>ASIA</AccessKeyId><Expiration>2025-12-03T01:00:00Z</Expiration></Credentials>\
             <List><member>a&lt;b</member></List><Size>6</Size><Flag>true</Flag></AssumeRoleResult>\
             <ResponseMetadata><RequestId>rid</RequestId></ResponseMetadata></AssumeRoleResponse>"
        );
        let e = ApiError::new(StatusCode::FORBIDDEN, "AccessDenied", "no & never");
        assert_eq!(
            text(error_response(&e, Some("https://example/doc/"), "rid")).await,
            "<ErrorResponse xmlns=\"https://example/doc/\"><Error><Type>Sender</Type><Code>AccessDenied</Code>\
             <Message>no &amp; never</Message></Error><RequestId>rid</RequestId></ErrorResponse>"
        );
        assert!(
            text(ec2_error_response(&e, "rid"))
                .await
                .contains("<Errors><Error><Code>AccessDenied</Code>")
        );
    }
}
