//! The rules every record of an API call follows, whoever makes it: the emulator's recorder for
//! the calls it serves and the offline generator for the calls it invents. What a service knows
//! (which members are timestamps, which resources a data event names) arrives with the call.

use serde_json::{Map, Value};
use time::OffsetDateTime;

use crate::identity::UserIdentity;
use crate::record::{EventCategory, Record, Resource, TlsDetails};

/// `userAgent` is cut to this many bytes, as CloudTrail does.
pub const MAX_USER_AGENT: usize = 1024;

/// How a service's member names appear in `requestParameters` and `responseElements`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MemberCase {
    /// As on the wire: services whose wire names are already lower camel case.
    #[default]
    AsSent,
    /// Lower camel case, as CloudTrail writes the members of services whose wire names are
    /// PascalCase (CloudTrail's own API, STS): `TrailARN` is `trailARN`, `KMSKeyId` is `kmsKeyId`.
    /// The members named here (as sent) hold maps whose keys are data, not member names, and
    /// keep them as they are (STS's `PrincipalTags`: `{"CostCenter": "987654"}`).
    LowerCamel(&'static [&'static str]),
}

/// A member name as CloudTrail writes it for a PascalCase service: the leading run of capitals
/// is lowered, except the last one when it starts the next word (`S3BucketName` → `s3BucketName`,
/// `SNSTopicARN` → `snsTopicARN`, `Name` → `name`). This is the AWS SDK for Java's rule for
/// member variables, which CloudTrail's records follow.
pub fn lower_camel(name: &str) -> String {
    let chars: Vec<char> = name.chars().collect();
    let run = chars.iter().take_while(|c| c.is_ascii_uppercase()).count();
    let lowered = if run > 1 && chars.get(run).is_some_and(|c| c.is_ascii_lowercase()) {
        run - 1
    } else {
        run
    };
    chars
        .iter()
        .enumerate()
        .map(|(i, c)| if i < lowered { c.to_ascii_lowercase() } else { *c })
        .collect()
}

/// Whether an operation's name says it only reads: AWS's verbs for reads (`Get`, `Describe`,
/// `List`, `Lookup`, `Search`, `Head`). For a service whose model the caller does not have.
pub fn reads_by_name(operation: &str) -> bool {
    ["Get", "Describe", "List", "Lookup", "Search", "Head"]
        .iter()
        .any(|verb| operation.starts_with(verb))
}

/// `v` with every object key in lower camel case ([`lower_camel`]), at every depth, except the
/// keys of the maps held by members named in `data_maps`.
pub fn lower_camel_members(v: Value, data_maps: &[&str]) -> Value {
    match v {
        Value::Object(o) => Value::Object(
            o.into_iter()
                .map(|(k, v)| {
                    let v = if data_maps.contains(&k.as_str()) {
                        v
                    } else {
                        lower_camel_members(v, data_maps)
                    };
                    (lower_camel(&k), v)
                })
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.into_iter().map(|v| lower_camel_members(v, data_maps)).collect()),
        other => other,
    }
}

/// The `errorCode` CloudTrail writes for an error the client received as `code`. Authorization
/// failures of AWS JSON services reach the SDK as `AccessDeniedException` but are recorded as
/// `AccessDenied` (real records of Organizations, Cost Explorer and STS; docs/cloudtrail-format.md).
pub fn recorded_error_code(code: &str) -> &str {
    match code {
        "AccessDeniedException" => "AccessDenied",
        other => other,
    }
}

/// `eventSource` of CloudTrail's own API.
pub const CLOUDTRAIL_EVENT_SOURCE: &str = "cloudtrail.amazonaws.com";

/// The request of a call to CloudTrail's own API as its record shows it, member names still as
/// sent ([`MemberCase::LowerCamel`] recases them): `DescribeTrails` with the defaults the caller
/// left out.
pub fn cloudtrail_api_request(operation: &str, mut input: Value) -> Value {
    if operation == "DescribeTrails"
        && let Some(o) = input.as_object_mut()
    {
        o.entry("trailNameList")
            .or_insert_with(|| Value::Array(Vec::new()));
        o.entry("includeShadowTrails").or_insert(Value::Bool(true));
    }
    input
}

/// How a call ended.
#[derive(Clone, Copy)]
pub enum Outcome<'a> {
    /// The output the client got, with timestamps as epoch numbers; `is_timestamp` says which
    /// members hold one (they are written as Java dates).
    Output {
        /// The output.
        output: &'a Value,
        /// Whether a member holds a timestamp.
        is_timestamp: &'a (dyn Fn(&str) -> bool + Sync),
    },
    /// `responseElements` already as CloudTrail writes them.
    Rendered(Option<&'a Value>),
    /// The error the client got.
    Failure {
        /// `errorCode`.
        code: &'a str,
        /// `errorMessage`.
        message: &'a str,
    },
}

impl std::fmt::Debug for Outcome<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Outcome::Output { output, .. } => f.debug_tuple("Output").field(output).finish(),
            Outcome::Rendered(v) => f.debug_tuple("Rendered").field(v).finish(),
            Outcome::Failure { code, message } => f
                .debug_struct("Failure")
                .field("code", code)
                .field("message", message)
                .finish(),
        }
    }
}

/// One API call, as the record needs it.
#[derive(Debug)]
pub struct ApiCall<'a> {
    /// Who made it.
    pub identity: UserIdentity,
    /// When it completed.
    pub time: OffsetDateTime,
    /// The service's `eventSource`.
    pub event_source: &'a str,
    /// The operation.
    pub event_name: &'a str,
    /// The Region it was made in.
    pub region: &'a str,
    /// The account it was made in (`recipientAccountId`).
    pub account: &'a str,
    /// The caller's address.
    pub source_ip: &'a str,
    /// The `User-Agent` received.
    pub user_agent: Option<&'a str>,
    /// The request, sensitive members already hidden.
    pub request: Option<Value>,
    /// How it ended.
    pub outcome: Outcome<'a>,
    /// Whether the operation only reads (`readOnly`).
    pub read_only: bool,
    /// Whether it changes state (creates, deletes, issues credentials): only such a call's
    /// output is recorded, as `responseElements`. For every service but STS this is
    /// `!read_only`; CloudTrail writes STS's credential-issuing calls as read-only, yet shows
    /// what they issued.
    pub changes_state: bool,
    /// A data event rather than a management event.
    pub data_event: bool,
    /// The `requestID`.
    pub request_id: String,
    /// The resources the call names, where AWS lists them.
    pub resources: Vec<Resource>,
    /// How the service's member names are written.
    pub member_case: MemberCase,
    /// The TLS the call came over, if any.
    pub tls: Option<TlsDetails>,
}

/// The record of `call`:
/// - a call a service makes on someone's behalf (`invokedBy`) shows the service as its source
///   address and agent;
/// - `userAgent` is cut to [`MAX_USER_AGENT`] bytes;
/// - an empty request is `requestParameters: null`;
/// - calls that change no state have no `responseElements`, nor do empty outputs; timestamps in
///   them are Java dates;
/// - failed calls carry `errorCode` (as CloudTrail names it, [`recorded_error_code`]) and
///   `errorMessage`;
/// - member names follow the service's [`MemberCase`];
/// - data events are `eventCategory` `Data` with `managementEvent` false.
pub fn api_call(call: ApiCall<'_>) -> Record {
    let service = call.identity.invoked_by.clone();
    let source_ip = service.clone().unwrap_or_else(|| call.source_ip.to_owned());
    let user_agent = match service {
        Some(s) => Some(s),
        None => call.user_agent.map(truncate_user_agent),
    };
    let mut r = Record::api_call(
        call.identity,
        call.time,
        call.event_source,
        call.event_name,
        call.region,
        source_ip,
        call.account,
    );
    r.user_agent = user_agent;
    let cased = |v: Value| match call.member_case {
        MemberCase::AsSent => v,
        MemberCase::LowerCamel(maps) => lower_camel_members(v, maps),
    };
    r.request_parameters = call
        .request
        .filter(|v| v.as_object().is_some_and(|o| !o.is_empty()))
        .map(cased);
    match call.outcome {
        Outcome::Output { output, is_timestamp } if call.changes_state => {
            r.response_elements = response_elements(output, is_timestamp).map(cased);
        }
        Outcome::Rendered(v) if call.changes_state => r.response_elements = v.cloned().map(cased),
        Outcome::Output { .. } | Outcome::Rendered(_) => {}
        Outcome::Failure { code, message } => {
            r.error_code = Some(recorded_error_code(code).to_owned());
            r.error_message = Some(message.to_owned());
        }
    }
    r.request_id = Some(call.request_id);
    r.read_only = Some(call.read_only);
    r.resources = call.resources;
    r.tls_details = call.tls;
    if call.data_event {
        r.event_category = EventCategory::Data;
        r.management_event = Some(false);
    }
    r
}

fn truncate_user_agent(ua: &str) -> String {
    let mut end = ua.len().min(MAX_USER_AGENT);
    while !ua.is_char_boundary(end) {
        end -= 1;
    }
    ua.get(..end).unwrap_or_default().to_owned()
}

/// `responseElements`: the output with timestamps as Java dates; null when the output is empty.
pub fn response_elements(output: &Value, is_timestamp: &(dyn Fn(&str) -> bool + Sync)) -> Option<Value> {
    match output {
        Value::Object(o) if o.is_empty() => None,
        Value::Null => None,
        v => Some(render(v, is_timestamp)),
    }
}

fn render(v: &Value, is_timestamp: &(dyn Fn(&str) -> bool + Sync)) -> Value {
    match v {
        Value::Object(o) => {
            let mut out = Map::with_capacity(o.len());
            for (k, v) in o {
                let rendered = match v {
                    Value::Number(n) if is_timestamp(k) => n
                        .as_f64()
                        .and_then(|secs| OffsetDateTime::from_unix_timestamp_nanos((secs * 1e9) as i128).ok())
                        .map(|t| Value::String(crate::timefmt::java_date(t)))
                        .unwrap_or_else(|| v.clone()),
                    other => render(other, is_timestamp),
                };
                out.insert(k.clone(), rendered);
            }
            Value::Object(out)
        }
        Value::Array(a) => Value::Array(a.iter().map(|x| render(x, is_timestamp)).collect()),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn call<'a>(outcome: Outcome<'a>, read_only: bool) -> ApiCall<'a> {
        ApiCall {
            identity: UserIdentity::root("123456789012", "AKIAEXAMPLE", None),
            time: OffsetDateTime::UNIX_EPOCH,
            event_source: "example.amazonaws.com",
            event_name: "CreateThing",
            region: "us-east-1",
            account: "123456789012",
            source_ip: "192.0.2.1",
            user_agent: Some("agent"),
            request: Some(json!({})),
            outcome,
            read_only,
            changes_state: !read_only,
            data_event: false,
            request_id: "r".into(),
            resources: Vec::new(),
            member_case: MemberCase::AsSent,
            tls: None,
        }
    }

    #[test]
    fn pascal_case_members_are_recorded_in_lower_camel_case() {
        for (wire, recorded) in [
            ("Name", "name"),
            ("TrailARN", "trailARN"),
            ("S3BucketName", "s3BucketName"),
            ("KMSKeyId", "kmsKeyId"),
            ("SNSTopicARN", "snsTopicARN"),
            ("MaxResults", "maxResults"),
            ("ARN", "arn"),
            ("already", "already"),
            ("", ""),
        ] {
            assert_eq!(lower_camel(wire), recorded, "{wire}");
        }
        let out = json!({"TrailList": [{"Name": "t", "EventSelectors": [{"ReadWriteType": "All"}]}]});
        let never = |_: &str| false;
        let mut c = call(
            Outcome::Output {
                output: &out,
                is_timestamp: &never,
            },
            false,
        );
        c.request = Some(json!({"Name": "t", "MaxResults": 5}));
        c.member_case = MemberCase::LowerCamel(&[]);
        let r = api_call(c);
        assert_eq!(r.request_parameters, Some(json!({"name": "t", "maxResults": 5})));
        assert_eq!(
            r.response_elements,
            Some(json!({"trailList": [{"name": "t", "eventSelectors": [{"readWriteType": "All"}]}]}))
        );
    }

    #[test]
    fn access_denied_is_recorded_as_cloudtrail_names_it() {
        let r = api_call(call(
            Outcome::Failure {
                code: "AccessDeniedException",
                message: "User: x is not authorized",
            },
            false,
        ));
        assert_eq!(r.error_code.as_deref(), Some("AccessDenied"));
        assert_eq!(recorded_error_code("ThrottlingException"), "ThrottlingException");
    }

    #[test]
    fn renders_nested_timestamps_and_empty_outputs() {
        let out = json!({"group": {"creationDateTime": 1541397961.0, "name": "x"},
                         "items": [{"lastUpdatedDateTime": 1541397961}], "count": 3});
        let is_timestamp = |name: &str| name.ends_with("DateTime");
        let r = response_elements(&out, &is_timestamp).unwrap();
        assert_eq!(r["group"]["creationDateTime"], "Nov 5, 2018 6:06:01 AM");
        assert_eq!(r["items"][0]["lastUpdatedDateTime"], "Nov 5, 2018 6:06:01 AM");
        assert_eq!(r["count"], 3);
        assert!(response_elements(&json!({}), &is_timestamp).is_none());
    }

    #[test]
    fn reads_have_no_response_elements_and_empty_requests_are_null() {
        let out = json!({"thingArn": "arn:x"});
        let never = |_: &str| false;
        let output = Outcome::Output {
            output: &out,
            is_timestamp: &never,
        };
        let write = api_call(call(output, false));
        assert_eq!(write.response_elements, Some(out.clone()));
        assert_eq!(write.request_parameters, None);
        assert!(api_call(call(output, true)).response_elements.is_none());
        assert!(
            api_call(call(Outcome::Rendered(Some(&out)), true))
                .response_elements
                .is_none()
        );
        let failed = api_call(call(
            Outcome::Failure {
                code: "Nope",
                message: "no",
            },
            false,
        ));
        assert_eq!(failed.error_code.as_deref(), Some("Nope"));
    }

    #[test]
    fn long_agents_are_cut_on_a_character_boundary() {
        let long = "é".repeat(MAX_USER_AGENT);
        let mut c = call(Outcome::Rendered(None), true);
        c.user_agent = Some(&long);
        let ua = api_call(c).user_agent.unwrap();
        assert!(ua.len() <= MAX_USER_AGENT && ua.len() >= MAX_USER_AGENT - 1);
    }
}
