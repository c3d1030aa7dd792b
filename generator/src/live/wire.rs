//! What live mode puts on the wire for each service it calls: Personalize's JSON APIs, STS's
//! Query protocol and CloudTrail's JSON API, each signed with its own signing name. The plane's
//! other services (sign-in, IAM, S3) are not served by the emulator and are written offline only.

use bytes::Bytes;
use serde_json::Value;
use sigv4::Signer;

use super::LiveIdentity;
use crate::ops::{Api, OpSpec};
use crate::plane::{PlaneOp, PlaneService};

/// The operation a live call is.
#[derive(Debug, Clone, Copy)]
pub(super) enum Wire {
    /// A Personalize operation (control plane, Runtime or Events).
    Personalize(&'static OpSpec),
    /// An operation of the plane that the emulator serves (STS, CloudTrail).
    Plane(&'static PlaneOp),
}

/// The signing names, in the order of [`Wire::service`].
const SIGNING_NAMES: [&str; 3] = ["personalize", "sts", "cloudtrail"];

/// The CloudTrail API's `X-Amz-Target` prefix.
const CLOUDTRAIL_TARGET: &str = "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101";

impl Wire {
    /// The operation's name.
    pub(super) fn name(self) -> &'static str {
        match self {
            Wire::Personalize(op) => op.name,
            Wire::Plane(op) => op.name,
        }
    }

    /// Which of an identity's signers signs it.
    fn service(self) -> usize {
        match self {
            Wire::Personalize(_) => 0,
            Wire::Plane(op) if op.service == PlaneService::Sts => 1,
            Wire::Plane(_) => 2,
        }
    }

    /// Path, content type and `X-Amz-Target`.
    pub(super) fn route(self) -> (&'static str, &'static str, Option<String>) {
        match self {
            Wire::Personalize(op) => match op.api() {
                Api::ControlPlane => (
                    "/",
                    "application/x-amz-json-1.1",
                    Some(format!("AmazonPersonalize.{}", op.name)),
                ),
                Api::Runtime | Api::Events => (op.path().unwrap_or("/"), "application/json", None),
            },
            Wire::Plane(op) if op.service == PlaneService::Sts => {
                ("/", "application/x-www-form-urlencoded; charset=utf-8", None)
            }
            Wire::Plane(op) => (
                "/",
                "application/x-amz-json-1.1",
                Some(format!("{CLOUDTRAIL_TARGET}.{}", op.name)),
            ),
        }
    }

    /// The signer of `identity` for this call.
    pub(super) fn signer(self, signers: &mut [Signer], identity: usize) -> Option<&mut Signer> {
        signers.get_mut(identity * SIGNING_NAMES.len() + self.service())
    }
}

/// Whether live mode can send `op`: the emulator serves STS and CloudTrail (not sign-in, IAM or
/// the bucket's S3 API), and web and SAML identities need a token or a signed response the
/// emulator's provider would accept.
pub(super) fn served(op: &PlaneOp) -> bool {
    matches!(op.service, PlaneService::Sts | PlaneService::CloudTrail)
        && !matches!(op.name, "AssumeRoleWithWebIdentity" | "AssumeRoleWithSAML")
}

/// One signer per identity and signing name, indexed as [`Wire::signer`] reads them.
pub(super) fn signers(ids: &[LiveIdentity]) -> Vec<Signer> {
    ids.iter()
        .flat_map(|i| {
            SIGNING_NAMES
                .iter()
                .map(|s| Signer::from_credentials(i.credentials.clone(), "us-east-1", s))
        })
        .collect()
}

/// The body of a plane call: STS's form (`Action`, `Version`, then the members), CloudTrail's
/// JSON.
pub(super) fn plane_body(op: &PlaneOp, request: Option<&Value>) -> Bytes {
    if op.service != PlaneService::Sts {
        let body = request.map_or_else(|| b"{}".to_vec(), |v| serde_json::to_vec(v).unwrap_or_default());
        return Bytes::from(body);
    }
    let mut form = format!("Action={}&Version=2011-06-15", op.name);
    if let Some(members) = request.and_then(Value::as_object) {
        for (k, v) in members {
            let text = match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            form.push('&');
            form.push_str(k);
            form.push('=');
            form.push_str(&form_encode(&text));
        }
    }
    Bytes::from(form)
}

/// `application/x-www-form-urlencoded` as the AWS SDKs write it: unreserved characters as they
/// are, everything else percent-encoded.
fn form_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sts_calls_are_forms_and_cloudtrail_calls_json() {
        let op = crate::plane::get("AssumeRole").unwrap();
        let body = plane_body(
            op,
            Some(&serde_json::json!({"RoleArn": "arn:aws:iam::1:role/r", "DurationSeconds": 900})),
        );
        assert_eq!(
            body,
            "Action=AssumeRole&Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam%3A%3A1%3Arole%2Fr&DurationSeconds=900"
        );
        let op = crate::plane::get("StopLogging").unwrap();
        assert_eq!(
            plane_body(op, Some(&serde_json::json!({"Name": "t"}))),
            "{\"Name\":\"t\"}"
        );
        let (_, ct, target) = Wire::Plane(op).route();
        assert_eq!(ct, "application/x-amz-json-1.1");
        assert_eq!(
            target.as_deref(),
            Some("com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.StopLogging")
        );
        assert!(!served(crate::plane::get("ConsoleLogin").unwrap()));
        assert!(served(crate::plane::get("GetCallerIdentity").unwrap()));
    }
}
