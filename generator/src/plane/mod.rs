//! The identity and audit plane around a Personalize workload: STS, console sign-in, IAM,
//! CloudTrail's own API and the trail's bucket. Each operation here is built as the call its
//! service would receive and answer, then recorded by the same rules as every other record
//! (`cloudtrail::rules`, and the `sts` crate for STS), so these records have the shapes the
//! emulator writes for the services it serves and AWS writes for the others.
//!
//! - `sts.rs`: role sessions, session and federation tokens, web identities, `GetCallerIdentity`.
//! - `signin.rs`: `ConsoleLogin`.
//! - `iam.rs`: users, access keys, login profiles, policies, roles.
//! - `trail.rs`: the CloudTrail API and the trail's S3 bucket.
//! - `attack.rs`: attack paths, step by step, with their labels.

pub mod attack;
mod iam;
mod signin;
mod sts;
mod trail;

use cloudtrail::UserIdentity;
use cloudtrail::record::{EventType, Record, Resource};
use cloudtrail::rules::{self, ApiCall, MemberCase, Outcome};
use serde_json::Value;
use time::OffsetDateTime;

use crate::labels::Label;
use crate::population::Principal;
use crate::rng::{self, Rng};

/// The services of the plane.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlaneService {
    /// AWS STS.
    Sts,
    /// AWS sign-in (the console).
    SignIn,
    /// IAM.
    Iam,
    /// CloudTrail's own API.
    CloudTrail,
    /// S3, on the trail's bucket.
    S3,
    /// AWS KMS, the trail's key (its own rotations, `AwsServiceEvent`s).
    Kms,
}

impl PlaneService {
    /// `eventSource`.
    pub fn event_source(self) -> &'static str {
        match self {
            PlaneService::Sts => ::sts::EVENT_SOURCE,
            PlaneService::SignIn => "signin.amazonaws.com",
            PlaneService::Iam => "iam.amazonaws.com",
            PlaneService::CloudTrail => rules::CLOUDTRAIL_EVENT_SOURCE,
            PlaneService::S3 => "s3.amazonaws.com",
            PlaneService::Kms => "kms.amazonaws.com",
        }
    }

    /// Whether its events are global service events: recorded in `us-east-1` once per account.
    pub fn global(self) -> bool {
        matches!(self, PlaneService::SignIn | PlaneService::Iam)
    }

    /// How its records write member names. S3 records are built with their recorded names.
    fn member_case(self) -> MemberCase {
        match self {
            PlaneService::Sts => MemberCase::LowerCamel(::sts::DATA_MAPS),
            PlaneService::Iam | PlaneService::CloudTrail => MemberCase::LowerCamel(&[]),
            PlaneService::SignIn | PlaneService::S3 | PlaneService::Kms => MemberCase::AsSent,
        }
    }

    /// Whether an output member holds a timestamp (written as a Java date).
    fn is_timestamp(self, name: &str) -> bool {
        match self {
            PlaneService::Sts => ::sts::is_timestamp_member(name),
            PlaneService::Iam => matches!(name, "CreateDate" | "UpdateDate"),
            _ => false,
        }
    }

    /// The host a client names (`tlsDetails.clientProvidedHostHeader`).
    fn host(self, region: &str, bucket: &str) -> String {
        match self {
            PlaneService::Sts => format!("sts.{region}.amazonaws.com"),
            PlaneService::SignIn => "signin.aws.amazon.com".to_owned(),
            PlaneService::Iam => "iam.amazonaws.com".to_owned(),
            PlaneService::CloudTrail => format!("cloudtrail.{region}.amazonaws.com"),
            PlaneService::S3 => format!("{bucket}.s3.{region}.amazonaws.com"),
            PlaneService::Kms => format!("kms.{region}.amazonaws.com"),
        }
    }

    /// The AWS CLI's name for the service, and the Rust SDK's.
    fn cli(self) -> (&'static str, &'static str) {
        match self {
            PlaneService::Sts => ("sts", "sts"),
            PlaneService::SignIn => ("signin", "signin"),
            PlaneService::Iam => ("iam", "iam"),
            PlaneService::CloudTrail => ("cloudtrail", "cloudtrail"),
            PlaneService::S3 => ("s3api", "s3"),
            PlaneService::Kms => ("kms", "kms"),
        }
    }
}

/// One operation of the plane.
#[derive(Debug)]
pub struct PlaneOp {
    /// `eventName`.
    pub name: &'static str,
    /// Its service.
    pub service: PlaneService,
    /// `readOnly`.
    pub read_only: bool,
}

const fn op(name: &'static str, service: PlaneService, read_only: bool) -> PlaneOp {
    PlaneOp {
        name,
        service,
        read_only,
    }
}

/// Every operation the plane makes.
pub static PLANE_OPS: &[PlaneOp] = &[
    op("GetCallerIdentity", PlaneService::Sts, true),
    op("AssumeRole", PlaneService::Sts, true),
    op("GetSessionToken", PlaneService::Sts, true),
    op("GetFederationToken", PlaneService::Sts, true),
    op("AssumeRoleWithWebIdentity", PlaneService::Sts, true),
    op("AssumeRoleWithSAML", PlaneService::Sts, true),
    op("ConsoleLogin", PlaneService::SignIn, false),
    op("ListUsers", PlaneService::Iam, true),
    op("ListRoles", PlaneService::Iam, true),
    op("GetUser", PlaneService::Iam, true),
    op("ListAccessKeys", PlaneService::Iam, true),
    op("ListAttachedUserPolicies", PlaneService::Iam, true),
    op("GetAccountAuthorizationDetails", PlaneService::Iam, true),
    op("CreateUser", PlaneService::Iam, false),
    op("CreateAccessKey", PlaneService::Iam, false),
    op("DeleteAccessKey", PlaneService::Iam, false),
    op("CreateLoginProfile", PlaneService::Iam, false),
    op("AttachUserPolicy", PlaneService::Iam, false),
    op("PutUserPolicy", PlaneService::Iam, false),
    op("CreateRole", PlaneService::Iam, false),
    op("UpdateAssumeRolePolicy", PlaneService::Iam, false),
    op("DescribeTrails", PlaneService::CloudTrail, true),
    op("GetTrailStatus", PlaneService::CloudTrail, true),
    op("StopLogging", PlaneService::CloudTrail, false),
    op("StartLogging", PlaneService::CloudTrail, false),
    op("DeleteTrail", PlaneService::CloudTrail, false),
    op("UpdateTrail", PlaneService::CloudTrail, false),
    op("PutEventSelectors", PlaneService::CloudTrail, false),
    op("GetBucketAcl", PlaneService::S3, true),
    op("GetBucketPolicy", PlaneService::S3, true),
    op("PutBucketPolicy", PlaneService::S3, false),
    op("DeleteBucketPolicy", PlaneService::S3, false),
    op("PutBucketLogging", PlaneService::S3, false),
    op("RotateKey", PlaneService::Kms, false),
];

/// The index of a plane operation by name.
pub fn index(name: &str) -> Option<usize> {
    PLANE_OPS.iter().position(|o| o.name == name)
}

/// A plane operation by name.
pub fn get(name: &str) -> Option<&'static PlaneOp> {
    PLANE_OPS.iter().find(|o| o.name == name)
}

/// What a call is about, beyond its caller: the account's trail and its bucket, and for calls
/// that name a user the one they name.
#[derive(Debug, Clone)]
pub struct Target<'a> {
    /// Account id.
    pub account: &'a str,
    /// The Region the call is made in.
    pub region: &'a str,
    /// The trail's name.
    pub trail: &'a str,
    /// The trail's bucket.
    pub bucket: &'a str,
    /// The user an IAM call names; the caller's own name when `None` and the caller is a user.
    pub user: Option<&'a str>,
    /// An intruder's call: the most powerful policy, a bucket policy that locks CloudTrail out.
    pub hostile: bool,
}

/// A plane call as its service saw it: the request with the wire's names (what a record never
/// shows already removed), and the answer.
#[derive(Debug, Clone)]
pub struct PlaneCall {
    /// The operation.
    pub op: &'static PlaneOp,
    /// The request as its record shows it, `None` for none.
    pub request: Option<Value>,
    /// The request as a client sends it (wire names, nothing removed), where it differs from
    /// `request`: what live mode sends.
    pub sent: Option<Value>,
    /// The output of a successful call (timestamps as epoch seconds), or the record's
    /// `responseElements` when `rendered`.
    pub output: Option<Value>,
    /// `output` is already as the record shows it.
    pub rendered: bool,
    /// `(errorCode, errorMessage)` of a failed call; sign-in failures have no code.
    pub error: Option<(Option<String>, String)>,
    /// `resources[]`.
    pub resources: Vec<Resource>,
    /// `additionalEventData`.
    pub additional: Option<Value>,
    /// `serviceEventDetails` of an `AwsServiceEvent`.
    pub service_event_details: Option<Value>,
    /// `eventType`, when not `AwsApiCall`.
    pub event_type: Option<EventType>,
    /// The caller's identity as this call records it, when it differs from the principal's
    /// (a sign-in shows no access key; a web identity has no principal here).
    pub identity: Option<UserIdentity>,
    /// Whether the record carries a `sharedEventID` (a service acting on the account's behalf).
    pub shared_event: bool,
    /// Made in the console with the session a sign-in gave (`sessionCredentialFromConsole`).
    pub from_console: bool,
}

impl PlaneCall {
    /// The request live mode sends.
    pub fn wire_request(&self) -> Option<&Value> {
        self.sent.as_ref().or(self.request.as_ref())
    }

    fn new(op: &'static PlaneOp) -> PlaneCall {
        PlaneCall {
            op,
            request: None,
            sent: None,
            output: None,
            rendered: false,
            error: None,
            resources: Vec::new(),
            additional: None,
            service_event_details: None,
            event_type: None,
            identity: None,
            shared_event: false,
            from_console: false,
        }
    }

    /// Fails the call with an authorization error as IAM words it.
    fn deny(&mut self, caller_arn: &str, action: &str, resource: &str) {
        self.output = None;
        self.error = Some((
            Some("AccessDenied".to_owned()),
            format!(
                "User: {caller_arn} is not authorized to perform: {action} on resource: {resource} because no \
                 identity-based policy allows the {action} action"
            ),
        ));
    }
}

/// What a builder is asked for: a call of `op` by `caller` in `target` at `now_secs` (Unix
/// seconds), failing the way that operation fails when `fail` is set.
#[derive(Clone, Copy)]
struct Ask<'a> {
    op: &'static PlaneOp,
    caller: &'a Principal,
    target: &'a Target<'a>,
    now_secs: i64,
    fail: bool,
}

/// Builds a call of `op` by `caller`; `fail` makes it fail the way that operation fails.
pub fn build(
    op: &'static PlaneOp,
    caller: &Principal,
    target: &Target<'_>,
    now_secs: i64,
    fail: bool,
    rng: &mut Rng,
) -> PlaneCall {
    let ask = Ask {
        op,
        caller,
        target,
        now_secs,
        fail,
    };
    match op.service {
        PlaneService::Sts => sts::build(ask, rng),
        PlaneService::SignIn => signin::build(ask, rng),
        PlaneService::Iam => iam::build(ask, rng),
        PlaneService::CloudTrail | PlaneService::S3 => trail::build(ask, rng),
        PlaneService::Kms => trail::rotate_key(op, target),
    }
}

/// One plane call, planned: when, by whom, from where.
#[derive(Debug, Clone)]
pub struct PlaneEvent {
    /// When it completed, unix milliseconds.
    pub time_ms: i64,
    /// Index into the population's principals.
    pub principal: usize,
    /// The call.
    pub call: PlaneCall,
    /// The caller's address.
    pub source_ip: String,
    /// The caller's `User-Agent`.
    pub user_agent: String,
    /// What the answer key says of it.
    pub label: Option<Label>,
}

pub use signin::browser;

/// What people look at in the console after signing in (the IAM and CloudTrail pages).
pub const CONSOLE_READS: &[&str] = &[
    "ListUsers",
    "ListRoles",
    "GetUser",
    "DescribeTrails",
    "GetTrailStatus",
];

/// A console session a sign-in gave: its `ASIA` key, when it began, whether MFA was used.
#[derive(Debug, Clone)]
pub struct ConsoleSession {
    /// The session's access key.
    pub access_key_id: String,
    /// When it began, epoch seconds.
    pub since: i64,
    /// Whether the sign-in used MFA.
    pub mfa: bool,
    /// The address and browser it was signed in from.
    pub source_ip: String,
    /// The browser's `User-Agent`.
    pub user_agent: String,
}

impl ConsoleSession {
    /// Marks `call`, made by `caller` in `account`, as made in this console session: an IAM user
    /// or root with a `sessionContext` and the session's `ASIA` key, as real console calls are.
    pub fn apply(&self, call: &mut PlaneCall, caller: &Principal, account: &str) {
        let created = OffsetDateTime::from_unix_timestamp(self.since)
            .map(cloudtrail::timefmt::iso_seconds)
            .unwrap_or_default();
        let identity =
            caller
                .user_identity(account, None)
                .with_session(&self.access_key_id, &created, self.mfa);
        call.identity = Some(identity);
        call.from_console = true;
    }
}

/// The `User-Agent` `agent`'s client sends for a plane call.
pub fn user_agent(agent: &crate::agents::Agent, op: &PlaneOp) -> String {
    let (cli, sdk) = op.service.cli();
    agent.render_call(&crate::ops::command_name(cli, op.name), sdk, cli)
}

/// The record of `event`, made by `identity` in (`account`, `region`); ids come from `rng`.
pub fn to_record(
    event: &PlaneEvent,
    identity: UserIdentity,
    account: &str,
    region: &str,
    bucket: &str,
    rng: &mut Rng,
) -> Record {
    let call = &event.call;
    let service = call.op.service;
    let time = OffsetDateTime::from_unix_timestamp(event.time_ms.div_euclid(1000))
        .unwrap_or(OffsetDateTime::UNIX_EPOCH);
    let identity = call.identity.clone().unwrap_or(identity);
    let service_call = matches!(
        identity.identity_type,
        cloudtrail::IdentityType::AWSService | cloudtrail::IdentityType::Unstated
    );
    let region = if service.global() { "us-east-1" } else { region };
    let is_timestamp = |name: &str| service.is_timestamp(name);
    let outcome = match (&call.error, &call.output) {
        (Some((code, message)), _) => Outcome::Failure {
            code: code.as_deref().unwrap_or_default(),
            message,
        },
        (None, Some(output)) if !call.rendered => Outcome::Output {
            output,
            is_timestamp: &is_timestamp,
        },
        (None, output) => Outcome::Rendered(output.as_ref()),
    };
    let request_id = if service == PlaneService::S3 {
        rng::hex(rng, 16).to_uppercase()
    } else {
        rng::uuid(rng).to_string()
    };
    let mut r = rules::api_call(ApiCall {
        identity,
        time,
        event_source: service.event_source(),
        event_name: call.op.name,
        region,
        account,
        source_ip: &event.source_ip,
        user_agent: Some(&event.user_agent),
        request: call.request.clone(),
        outcome,
        read_only: call.op.read_only,
        changes_state: match service {
            PlaneService::Sts => ::sts::issues_credentials(call.op.name),
            _ => !call.op.read_only,
        },
        data_event: false,
        request_id,
        resources: call.resources.clone(),
        member_case: service.member_case(),
        tls: None,
    });
    r.event_id = rng::uuid(rng);
    if let Some((None, _)) = &call.error {
        // A failed sign-in has a message and no code.
        r.error_code = None;
    }
    if service == PlaneService::SignIn {
        // Sign-in records show their outcome in responseElements, failed or not.
        r.response_elements = call.output.clone();
    }
    if let Some(t) = call.event_type {
        r.event_type = t;
    }
    if is_service_event(call) {
        // A service acting on its own answers no request.
        r.request_id = None;
        r.service_event_details = call.service_event_details.clone();
    }
    r.additional_event_data = call.additional.clone();
    if call.shared_event {
        r.shared_event_id = Some(rng::uuid(rng));
    }
    if call.from_console {
        r.session_credential_from_console = Some("true".to_owned());
    }
    if !service_call {
        r.tls_details = Some(crate::record::tls_details(service.host(region, bucket), rng));
    }
    r
}

/// Whether `call` is an AWS service acting on its own (no request, no `requestID`).
fn is_service_event(call: &PlaneCall) -> bool {
    call.event_type == Some(EventType::AwsServiceEvent)
}

/// An IAM-style id: `prefix` and 17 upper-case letters and digits.
fn iam_id(prefix: &str, rng: &mut Rng) -> String {
    cloudtrail::identity::unique_id(prefix, rng)
}

#[cfg(test)]
mod tests;
