//! Turns a generated call into the CloudTrail record AWS would write for it.

use cloudtrail::UserIdentity;
use cloudtrail::record::{EventCategory, Record, Resource, TlsDetails};
use rand::RngExt;
use time::OffsetDateTime;

use crate::calls;
use crate::plan::Event;
use crate::rng::{self, Rng};

/// Every Personalize API records under the control plane's event source, as the emulator does.
pub const EVENT_SOURCE: &str = "personalize.amazonaws.com";

/// The record of `event`, made by `identity` in (`account`, `region`); ids come from `rng`.
pub fn to_record(
    event: &Event,
    identity: UserIdentity,
    account: &str,
    region: &str,
    rng: &mut Rng,
) -> Record {
    let time = OffsetDateTime::from_unix_timestamp(event.time_ms.div_euclid(1000))
        .unwrap_or(OffsetDateTime::UNIX_EPOCH);
    let service_call = identity.identity_type == cloudtrail::IdentityType::AWSService;
    let service = identity.invoked_by.clone().unwrap_or_default();
    let (source_ip, user_agent) = if service_call {
        (service.clone(), service)
    } else {
        (event.source_ip.clone(), event.user_agent.clone())
    };
    let op = event.op;
    let mut r = Record::api_call(identity, time, EVENT_SOURCE, op.name, region, source_ip, account);
    r.user_agent = Some(user_agent);
    r.request_parameters = calls::request_parameters(op, &event.content.body);
    if let Some((code, message)) = &event.content.error {
        r.error_code = Some(code.clone());
        r.error_message = Some(message.clone());
    } else if !op.read_only() {
        r.response_elements = event.content.response.clone();
    }
    r.request_id = Some(rng::uuid(rng).to_string());
    r.event_id = rng::uuid(rng);
    r.read_only = Some(op.read_only());
    if op.data_event() {
        r.event_category = EventCategory::Data;
        r.management_event = Some(false);
        // Data events name the campaign, recommender or dataset they touch, as the emulator does.
        for (member, ty) in [
            ("campaignArn", "AWS::Personalize::Campaign"),
            ("recommenderArn", "AWS::Personalize::Recommender"),
            ("datasetArn", "AWS::Personalize::Dataset"),
        ] {
            if let Some(arn) = event.content.body.get(member).and_then(|v| v.as_str()) {
                r.resources.push(Resource {
                    arn: Some(arn.to_owned()),
                    arn_prefix: None,
                    account_id: Some(account.to_owned()),
                    resource_type: Some(ty.to_owned()),
                });
            }
        }
    }
    if !service_call {
        let host = format!("{}.{region}.amazonaws.com", op.api.host_prefix());
        r.tls_details = Some(if rng.random_bool(0.85) {
            TlsDetails {
                tls_version: "TLSv1.3".to_owned(),
                cipher_suite: "TLS_AES_128_GCM_SHA256".to_owned(),
                client_provided_host_header: host,
                key_exchange: Some("x25519".to_owned()),
            }
        } else {
            TlsDetails {
                tls_version: "TLSv1.2".to_owned(),
                cipher_suite: "ECDHE-RSA-AES128-GCM-SHA256".to_owned(),
                client_provided_host_header: host,
                key_exchange: None,
            }
        });
    }
    r
}
