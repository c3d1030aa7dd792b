//! Turns a generated call into the CloudTrail record AWS would write for it.

use cloudtrail::UserIdentity;
use cloudtrail::record::{Record, Resource, TlsDetails};
use cloudtrail::rules::{self, ApiCall, Outcome};
use rand::RngExt;
use time::OffsetDateTime;

use crate::calls;
use crate::plan::Event;
use crate::rng::{self, Rng};

/// Every Personalize API records under the control plane's event source, as the emulator does.
pub const EVENT_SOURCE: &str = personalize::audit::EVENT_SOURCE;

/// The record of `event`, made by `identity` in (`account`, `region`); ids come from `rng`. The
/// record follows the same rules as the emulator's (`cloudtrail::rules`).
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
    let op = event.op;
    let outcome = match &event.content.error {
        Some((code, message)) => Outcome::Failure { code, message },
        None => Outcome::Rendered(event.content.response.as_ref()),
    };
    // Data events name the campaign, recommender or dataset they touch, and PutEvents the
    // event tracker its tracking id stands for.
    let resources = if op.data_event() {
        personalize::audit::data_event_resources(&event.content.body)
            .map(|(arn, ty)| Resource::arn(arn, account, ty))
            .chain(
                event
                    .content
                    .tracker_arn
                    .iter()
                    .map(|arn| Resource::arn(arn, account, personalize::audit::EVENT_TRACKER_TYPE)),
            )
            .collect()
    } else {
        Vec::new()
    };
    let request_id = rng::uuid(rng).to_string();
    let mut r = rules::api_call(ApiCall {
        identity,
        time,
        event_source: EVENT_SOURCE,
        event_name: op.name,
        region,
        account,
        source_ip: &event.source_ip,
        user_agent: Some(&event.user_agent),
        request: calls::request_parameters(op, &event.content.body),
        outcome,
        read_only: op.read_only(),
        changes_state: !op.read_only(),
        data_event: op.data_event(),
        request_id,
        resources,
        member_case: rules::MemberCase::AsSent,
        // Drawn below, after the event id, so the output stays the same for a seed.
        tls: None,
    });
    r.event_id = rng::uuid(rng);
    if !service_call {
        let host = format!("{}.{region}.amazonaws.com", crate::ops::host_prefix(op.api()));
        r.tls_details = Some(tls_details(host, rng));
    }
    r
}

/// The TLS a client used to reach `host`: mostly TLS 1.3 with X25519, some TLS 1.2.
pub fn tls_details(host: String, rng: &mut Rng) -> TlsDetails {
    if rng.random_bool(0.85) {
        TlsDetails {
            tls_version: "TLSv1.3".to_owned(),
            cipher_suite: "TLS_AES_128_GCM_SHA256".to_owned(),
            client_provided_host_header: host,
            key_exchange: Some("X25519".to_owned()),
        }
    } else {
        TlsDetails {
            tls_version: "TLSv1.2".to_owned(),
            cipher_suite: "ECDHE-RSA-AES128-GCM-SHA256".to_owned(),
            client_provided_host_header: host,
            key_exchange: None,
        }
    }
}
