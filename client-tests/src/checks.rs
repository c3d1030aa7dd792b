//! Field-by-field checks of Personalize CloudTrail records, as AWS writes them.

use regex::Regex;
use serde_json::{Value, json};

use crate::{ACCOUNT, ALICE, Creds, EXPIRED_SESSION, FEDERATED, INTERN, REGION, ROOT, SERVICE, SESSION};

/// Every top-level field a record may have, in the order CloudTrail writes them.
pub const FIELD_ORDER: &[&str] = &[
    "eventVersion",
    "userIdentity",
    "eventTime",
    "eventSource",
    "eventName",
    "awsRegion",
    "sourceIPAddress",
    "userAgent",
    "errorCode",
    "errorMessage",
    "requestParameters",
    "responseElements",
    "additionalEventData",
    "requestID",
    "eventID",
    "readOnly",
    "resources",
    "eventType",
    "apiVersion",
    "managementEvent",
    "recipientAccountId",
    "serviceEventDetails",
    "sharedEventID",
    "vpcEndpointId",
    "vpcEndpointAccountId",
    "eventCategory",
    "addendum",
    "sessionCredentialFromConsole",
    "edgeDeviceDetails",
    "tlsDetails",
];

/// What a record of one call must say beyond the invariants every record keeps.
#[derive(Debug, Clone)]
pub struct Expect<'a> {
    /// `eventName`.
    pub event_name: &'a str,
    /// The identity that signed the call.
    pub creds: Creds,
    /// `requestID`, as the client saw it in `x-amzn-RequestId`.
    pub request_id: Option<&'a str>,
    /// How `userAgent` starts.
    pub user_agent_prefix: &'a str,
    /// `errorCode`, or `None` for a successful call.
    pub error_code: Option<&'a str>,
    /// `awsRegion`.
    pub region: &'a str,
}

impl<'a> Expect<'a> {
    /// A successful call by `creds` in [`REGION`].
    pub fn ok(event_name: &'a str, creds: Creds, user_agent_prefix: &'a str) -> Self {
        Expect {
            event_name,
            creds,
            request_id: None,
            user_agent_prefix,
            error_code: None,
            region: REGION,
        }
    }

    /// Sets the request id.
    pub fn id(mut self, request_id: &'a str) -> Self {
        self.request_id = Some(request_id);
        self
    }

    /// Expects a failure with this code.
    pub fn error(mut self, code: &'a str) -> Self {
        self.error_code = Some(code);
        self
    }
}

fn uuid_re() -> Regex {
    Regex::new(r"^[0-9a-f]{8}-[0-9a-f]{4}-[1-8][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
        .expect("valid regex")
}

/// `MMM d, yyyy h:mm:ss a`, the rendering of timestamps inside `responseElements`.
pub const JAVA_DATE: &str = r"^(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) [1-9]\d?, \d{4} (1[0-2]|[1-9]):[0-5]\d:[0-5]\d (AM|PM)$";

/// The invariants every Personalize record keeps, whatever the call. Returns the problems.
pub fn invariants(r: &Value) -> Vec<String> {
    let mut p = Vec::new();
    let Some(obj) = r.as_object() else {
        return vec!["record is not a JSON object".into()];
    };
    // Field names and order.
    let mut last = 0usize;
    for k in obj.keys() {
        match FIELD_ORDER.iter().position(|f| f == k) {
            None => p.push(format!("unknown field {k}")),
            Some(i) if i < last => p.push(format!("field {k} is out of CloudTrail's order")),
            Some(i) => last = i,
        }
    }
    // Every field but these is in every record of a Personalize call.
    let optional = [
        "userAgent",
        "errorCode",
        "errorMessage",
        "additionalEventData",
        "resources",
        "apiVersion",
        "serviceEventDetails",
        "sharedEventID",
        "vpcEndpointId",
        "vpcEndpointAccountId",
        "addendum",
        "sessionCredentialFromConsole",
        "edgeDeviceDetails",
        "tlsDetails",
    ];
    for required in FIELD_ORDER.iter().filter(|f| !optional.contains(f)) {
        if !obj.contains_key(*required) {
            p.push(format!("missing {required}"));
        }
    }
    if r["eventVersion"] != cloudtrail::record::EVENT_VERSION {
        p.push(format!(
            "eventVersion {} is not {}",
            r["eventVersion"],
            cloudtrail::record::EVENT_VERSION
        ));
    }
    let time_re = Regex::new(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$").expect("valid regex");
    if !r["eventTime"].as_str().is_some_and(|t| time_re.is_match(t)) {
        p.push(format!(
            "eventTime {} is not yyyy-MM-ddTHH:mm:ssZ",
            r["eventTime"]
        ));
    }
    let source = r["eventSource"].as_str().unwrap_or_default();
    if ![
        personalize::audit::EVENT_SOURCE,
        sts::EVENT_SOURCE,
        cloudtrail::rules::CLOUDTRAIL_EVENT_SOURCE,
    ]
    .contains(&source)
    {
        p.push(format!("eventSource {}", r["eventSource"]));
    }
    let name = r["eventName"].as_str().unwrap_or_default();
    if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric()) {
        p.push(format!("eventName {:?}", r["eventName"]));
    }
    let uuid = uuid_re();
    if !r["eventID"].as_str().is_some_and(|s| uuid.is_match(s)) {
        p.push(format!("eventID {} is not a lower-case UUID", r["eventID"]));
    }
    if !r["requestID"].as_str().is_some_and(|s| uuid.is_match(s)) {
        p.push(format!("requestID {} is not a lower-case UUID", r["requestID"]));
    }
    if r["eventType"] != "AwsApiCall" {
        p.push(format!("eventType {}", r["eventType"]));
    }
    let operation = personalize::Operation::from_name(name);
    // STS and CloudTrail calls (the generator's identity and audit plane) read by their own rules.
    let other_read_only = match source {
        s if s == sts::EVENT_SOURCE => sts::read_only(name),
        s if s == cloudtrail::rules::CLOUDTRAIL_EVENT_SOURCE => Some(cloudtrail::rules::reads_by_name(name)),
        _ => None,
    };
    if operation.is_none() && other_read_only.is_none() {
        p.push(format!(
            "eventName {name} is not a Personalize, STS or CloudTrail operation"
        ));
    }
    // Runtime and Events calls are data events.
    let data = operation.is_some_and(|o| o.api() != personalize::Api::ControlPlane);
    let (category, management) = if data {
        ("Data", false)
    } else {
        ("Management", true)
    };
    if r["eventCategory"] != category {
        p.push(format!(
            "eventCategory {} for {name}, expected {category}",
            r["eventCategory"]
        ));
    }
    if r["managementEvent"] != management {
        p.push(format!(
            "managementEvent {} for {name}, expected {management}",
            r["managementEvent"]
        ));
    }
    let read_only = operation.map_or(other_read_only == Some(true), personalize::Operation::read_only);
    if r["readOnly"] != read_only {
        p.push(format!(
            "readOnly {} for {name}, expected {read_only}",
            r["readOnly"]
        ));
    }
    match &r["requestParameters"] {
        Value::Null => {}
        Value::Object(o) if !o.is_empty() => {}
        other => p.push(format!(
            "requestParameters must be null or a non-empty object, not {other}"
        )),
    }
    let failed = obj.contains_key("errorCode");
    if failed != obj.contains_key("errorMessage") {
        p.push("errorCode and errorMessage must come together".into());
    }
    if failed
        && !r["errorCode"]
            .as_str()
            .is_some_and(|c| !c.is_empty() && !c.contains('#'))
    {
        p.push(format!("errorCode {} is not a plain error name", r["errorCode"]));
    }
    match &r["responseElements"] {
        Value::Null => {}
        Value::Object(o) if !o.is_empty() => {
            // STS's credential-issuing calls are read-only yet show what they issued.
            let issued = source == sts::EVENT_SOURCE && sts::issues_credentials(name);
            if read_only && !issued {
                p.push("responseElements must be null for a read-only call".into());
            }
            if failed {
                p.push("responseElements must be null for a failed call".into());
            }
            let java = Regex::new(JAVA_DATE).expect("valid regex");
            check_dates(&r["responseElements"], &java, &mut p);
        }
        other => p.push(format!(
            "responseElements must be null or a non-empty object, not {other}"
        )),
    }
    let identity_account = r["userIdentity"]["accountId"].as_str();
    if let Some(a) = identity_account
        && r["recipientAccountId"] != a
    {
        p.push(format!(
            "recipientAccountId {} differs from userIdentity.accountId {a}",
            r["recipientAccountId"]
        ));
    }
    if let Some(ua) = r["userAgent"].as_str()
        && ua.len() > 1024
    {
        p.push("userAgent longer than 1 KB".into());
    }
    p
}

fn check_dates(v: &Value, java: &Regex, p: &mut Vec<String>) {
    match v {
        Value::Object(o) => {
            for (k, v) in o {
                if k.ends_with("DateTime") && !v.as_str().is_some_and(|s| java.is_match(s)) {
                    p.push(format!(
                        "responseElements.{k} = {v} is not in MMM d, yyyy h:mm:ss a form"
                    ));
                }
                check_dates(v, java, p);
            }
        }
        Value::Array(a) => a.iter().for_each(|x| check_dates(x, java, p)),
        _ => {}
    }
}

/// The `userIdentity` AWS writes for each identity of the default configuration. Session
/// contexts are checked member by member (see [`identity_problems`]), so they are left out here.
pub fn expected_identity(creds: Creds) -> Value {
    match creds.access_key_id {
        k if k == ALICE.access_key_id => json!({
            "type": "IAMUser",
            "principalId": "AIDAJ45Q7YFFAREXAMPLE",
            "arn": "arn:aws:iam::123456789012:user/alice",
            "accountId": ACCOUNT,
            "accessKeyId": k,
            "userName": "alice",
        }),
        k if k == INTERN.access_key_id => json!({
            "type": "IAMUser",
            "principalId": "AIDAIOSFODNN7INTERN01",
            "arn": "arn:aws:iam::123456789012:user/trainees/intern",
            "accountId": ACCOUNT,
            "accessKeyId": k,
            "userName": "intern",
        }),
        k if k == ROOT.access_key_id => json!({
            "type": "Root",
            "principalId": ACCOUNT,
            "arn": "arn:aws:iam::123456789012:root",
            "accountId": ACCOUNT,
            "accessKeyId": k,
        }),
        k if k == SESSION.access_key_id => json!({
            "type": "AssumedRole",
            "principalId": "AROAIOSFODNN7EXAMPLE1:alice-session",
            "arn": "arn:aws:sts::123456789012:assumed-role/PersonalizeAdmin/alice-session",
            "accountId": ACCOUNT,
            "accessKeyId": k,
        }),
        k if k == EXPIRED_SESSION.access_key_id => json!({
            "type": "AssumedRole",
            "principalId": "AROAIOSFODNN7EXAMPLE1:stale-session",
            "arn": "arn:aws:sts::123456789012:assumed-role/PersonalizeAdmin/stale-session",
            "accountId": ACCOUNT,
            "accessKeyId": k,
        }),
        k if k == FEDERATED.access_key_id => json!({
            "type": "FederatedUser",
            "principalId": "123456789012:bob",
            "arn": "arn:aws:sts::123456789012:federated-user/bob",
            "accountId": ACCOUNT,
            "accessKeyId": k,
        }),
        k if k == SERVICE.access_key_id => json!({
            "type": "AWSService",
            "invokedBy": "personalize.amazonaws.com",
        }),
        k => json!({ "accessKeyId": k }),
    }
}

/// Compares a record's `userIdentity` with what AWS writes for `creds` in a call at `event_time`.
pub fn identity_problems(identity: &Value, creds: Creds, event_time: &Value) -> Vec<String> {
    let mut p = Vec::new();
    let expected = expected_identity(creds);
    let Some(exp) = expected.as_object() else { return p };
    for (k, v) in exp {
        if &identity[k] != v {
            p.push(format!("userIdentity.{k} = {}, expected {v}", identity[k]));
        }
    }
    let ctx = &identity["sessionContext"];
    match identity["type"].as_str() {
        Some("AssumedRole") => {
            let issuer = json!({
                "type": "Role",
                "principalId": "AROAIOSFODNN7EXAMPLE1",
                "arn": "arn:aws:iam::123456789012:role/PersonalizeAdmin",
                "accountId": ACCOUNT,
                "userName": "PersonalizeAdmin",
            });
            if ctx["sessionIssuer"] != issuer {
                p.push(format!(
                    "sessionContext.sessionIssuer = {}, expected {issuer}",
                    ctx["sessionIssuer"]
                ));
            }
            let (created, mfa) = if creds == SESSION {
                (start_of_hour(event_time), "true")
            } else {
                ("2020-01-01T00:00:00Z".to_owned(), "false")
            };
            if ctx["attributes"]["creationDate"] != created {
                p.push(format!(
                    "sessionContext.attributes.creationDate = {}",
                    ctx["attributes"]["creationDate"]
                ));
            }
            // CloudTrail writes the MFA flag as a string.
            if ctx["attributes"]["mfaAuthenticated"] != mfa {
                p.push(format!(
                    "sessionContext.attributes.mfaAuthenticated = {}, expected \"{mfa}\"",
                    ctx["attributes"]["mfaAuthenticated"]
                ));
            }
            if creds == SESSION && ctx["sourceIdentity"] != "alice" {
                p.push(format!(
                    "sessionContext.sourceIdentity = {}",
                    ctx["sourceIdentity"]
                ));
            }
        }
        Some("FederatedUser") => {
            let issuer = json!({
                "type": "IAMUser",
                "principalId": "AIDAJ45Q7YFFAREXAMPLE",
                "arn": "arn:aws:iam::123456789012:user/alice",
                "accountId": ACCOUNT,
                "userName": "alice",
            });
            if ctx["sessionIssuer"] != issuer {
                p.push(format!(
                    "sessionContext.sessionIssuer = {}, expected {issuer}",
                    ctx["sessionIssuer"]
                ));
            }
            if ctx["attributes"]["mfaAuthenticated"] != "false" {
                p.push(format!(
                    "sessionContext.attributes.mfaAuthenticated = {}",
                    ctx["attributes"]["mfaAuthenticated"]
                ));
            }
            if ctx["attributes"]["creationDate"] != start_of_hour(event_time).as_str() {
                p.push(format!(
                    "sessionContext.attributes.creationDate = {}",
                    ctx["attributes"]["creationDate"]
                ));
            }
        }
        _ => {
            if !ctx.is_null() {
                p.push(format!("a {} identity has a sessionContext", identity["type"]));
            }
        }
    }
    p
}

/// Every problem with a record against the invariants and `e`.
pub fn problems(r: &Value, e: &Expect<'_>) -> Vec<String> {
    let mut p = invariants(r);
    if r["eventName"] != e.event_name {
        p.push(format!("eventName {}, expected {}", r["eventName"], e.event_name));
    }
    if r["awsRegion"] != e.region {
        p.push(format!("awsRegion {}, expected {}", r["awsRegion"], e.region));
    }
    p.extend(identity_problems(&r["userIdentity"], e.creds, &r["eventTime"]));
    let service = e.creds == SERVICE;
    let (ip, ua_prefix) = if service {
        ("personalize.amazonaws.com", "personalize.amazonaws.com")
    } else {
        ("127.0.0.1", e.user_agent_prefix)
    };
    if r["sourceIPAddress"] != ip {
        p.push(format!("sourceIPAddress {}, expected {ip}", r["sourceIPAddress"]));
    }
    if !r["userAgent"]
        .as_str()
        .is_some_and(|ua| ua.starts_with(ua_prefix))
    {
        p.push(format!(
            "userAgent {} does not start with {ua_prefix:?}",
            r["userAgent"]
        ));
    }
    if r["recipientAccountId"] != ACCOUNT {
        p.push(format!("recipientAccountId {}", r["recipientAccountId"]));
    }
    if let Some(id) = e.request_id
        && r["requestID"] != id
    {
        p.push(format!("requestID {}, the client saw {id}", r["requestID"]));
    }
    match e.error_code {
        Some(code) => {
            let code = cloudtrail::rules::recorded_error_code(code);
            if r["errorCode"] != code {
                p.push(format!("errorCode {}, expected {code}", r["errorCode"]));
            }
            if r["errorMessage"].as_str().is_none_or(str::is_empty) {
                p.push("errorMessage missing or empty".into());
            }
            if !r["responseElements"].is_null() {
                p.push("responseElements of a failed call must be null".into());
            }
        }
        None => {
            if r.get("errorCode").is_some() {
                p.push(format!(
                    "unexpected errorCode {} ({})",
                    r["errorCode"], r["errorMessage"]
                ));
            }
        }
    }
    p
}

/// Panics with every problem of `r` against `e`, and the record itself.
pub fn assert_record(r: &Value, e: &Expect<'_>) {
    let p = problems(r, e);
    assert!(
        p.is_empty(),
        "record of {} breaks expectations:\n  {}\nrecord: {}",
        e.event_name,
        p.join("\n  "),
        serde_json::to_string_pretty(r).unwrap_or_default()
    );
}

/// Panics if any record breaks the invariants.
pub fn assert_invariants<'a>(records: impl IntoIterator<Item = &'a Value>) {
    let mut all = Vec::new();
    for r in records {
        for problem in invariants(r) {
            all.push(format!("{} {}: {problem}", r["eventName"], r["requestID"]));
        }
    }
    assert!(
        all.is_empty(),
        "records break the invariants:\n{}",
        all.join("\n")
    );
}

/// `YYYY-MM-DDTHH:00:00Z` of an `eventTime`: the `creationDate` of a configured session that
/// renews hourly.
fn start_of_hour(event_time: &Value) -> String {
    let t = event_time.as_str().unwrap_or_default();
    format!("{}:00:00Z", t.get(..13).unwrap_or(t))
}
