//! `ConsoleLogin`, as the CloudTrail User Guide's sign-in examples show it: `eventType`
//! `AwsConsoleSignIn`, no request, `responseElements.ConsoleLogin` `Success` or `Failure`,
//! `additionalEventData` with `LoginTo`, `MobileVersion` and `MFAUsed`; a failure has the
//! message `Failed authentication`, no error code, and names the user without an ARN.

use cloudtrail::record::EventType;
use rand::RngExt;
use serde_json::json;

use super::{Ask, PlaneCall};
use crate::rng::Rng;
use crate::scenario::IdentityKind;

/// Where the console sends a signed-in user.
const LOGIN_TO: &str = "https://console.aws.amazon.com/console/home?state=hashArgs%23&isauthcode=true";

/// Browsers people sign in with.
pub(super) const BROWSERS: &[&str] = &[
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15",
    "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36 Edg/130.0.0.0",
];

pub(super) fn build(ask: Ask<'_>, rng: &mut Rng) -> PlaneCall {
    let (op, caller, target, fail) = (ask.op, ask.caller, ask.target, ask.fail);
    let account = target.account;
    let mut call = PlaneCall::new(op);
    call.event_type = Some(EventType::AwsConsoleSignIn);
    // People with MFA use it nearly always; the attacker's own login never does.
    let mfa = caller.mfa && !rng.random_bool(0.02);
    call.additional = Some(json!({
        "LoginTo": LOGIN_TO,
        "MobileVersion": "No",
        "MFAUsed": if mfa { "Yes" } else { "No" },
    }));
    let mut identity = caller.user_identity(account, None);
    // A sign-in uses a password, not an access key.
    identity.access_key_id = if caller.kind == IdentityKind::Root || fail {
        Some(String::new())
    } else {
        None
    };
    identity.session_context = None;
    if fail && caller.kind == IdentityKind::IAMUser {
        identity.arn = None;
    }
    call.identity = Some(identity);
    if fail {
        call.error = Some((None, "Failed authentication".to_owned()));
        call.output = Some(json!({"ConsoleLogin": "Failure"}));
    } else {
        call.output = Some(json!({"ConsoleLogin": "Success"}));
    }
    call.rendered = true;
    call
}

/// A browser `User-Agent` for a console sign-in.
pub fn browser(rng: &mut Rng) -> &'static str {
    BROWSERS[rng.random_range(0..BROWSERS.len())]
}
