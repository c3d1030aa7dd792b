//! The recorder: the only place that builds CloudTrail records. It runs after the response is
//! known and before it is sent, so failed calls are recorded too and every record is in the
//! spool before the client hears back.

use std::net::IpAddr;
use std::sync::Arc;

use cloudtrail::rules::{self, ApiCall};
use cloudtrail::{Delivery, DeliveryError, Record, Resource, SharedClock};
use serde_json::Value;

use crate::identity::Principal;
use crate::seams::RecordTap;

/// How a call ended.
#[derive(Debug, Clone, Copy)]
pub enum Outcome<'a> {
    /// The response body the client got.
    Success(&'a Value),
    /// The error the client got.
    Failure {
        /// `errorCode`.
        code: &'a str,
        /// `errorMessage`.
        message: &'a str,
    },
}

/// Everything about one call that a record shows.
pub struct Call<'a> {
    /// Who made it.
    pub principal: &'a Principal,
    /// `personalize.amazonaws.com`, `cloudtrail.amazonaws.com`.
    pub event_source: &'a str,
    /// The operation.
    pub event_name: &'a str,
    /// The region from the credential scope.
    pub region: &'a str,
    /// The caller's address.
    pub source_ip: IpAddr,
    /// The received `User-Agent`.
    pub user_agent: Option<&'a str>,
    /// The request body, when it parsed as JSON (moved into the record, not copied).
    pub request: Option<Value>,
    /// The result.
    pub outcome: Outcome<'a>,
    /// Whether the operation only reads.
    pub read_only: bool,
    /// Whether it changes state (its output is recorded).
    pub changes_state: bool,
    /// Data event (Runtime, Events) rather than management event.
    pub data_event: bool,
    /// The `x-amzn-RequestId` sent back.
    pub request_id: &'a str,
    /// The resources the call names, where AWS lists them.
    pub resources: Vec<Resource>,
    /// Which response members are timestamps (rendered as Java dates).
    pub is_timestamp: &'a (dyn Fn(&str) -> bool + Sync),
    /// How the service's member names are written.
    pub member_case: rules::MemberCase,
    /// The TLS the call came over.
    pub tls: Option<cloudtrail::TlsDetails>,
    /// Who else records the call.
    pub sharing: &'a crate::seams::Sharing,
}

/// Builds records and hands them to delivery and the taps.
#[derive(Clone)]
pub struct Recorder {
    delivery: Delivery,
    taps: Vec<Arc<dyn RecordTap>>,
    clock: SharedClock,
}

impl std::fmt::Debug for Recorder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Recorder")
            .field("taps", &self.taps.len())
            .finish()
    }
}

impl Recorder {
    /// A recorder feeding `delivery` and `taps`, stamping times from `clock`.
    pub fn new(delivery: Delivery, taps: Vec<Arc<dyn RecordTap>>, clock: SharedClock) -> Self {
        Recorder {
            delivery,
            taps,
            clock,
        }
    }

    /// The records of a call: the caller's, and one for each account that also records it (the
    /// owner of a role in another account), which shows the caller as an `AWSAccount`. Records
    /// of one call share a `sharedEventID`, as does the one record of a call an AWS service made
    /// when the service asks for it.
    pub fn build_all(&self, call: Call<'_>) -> Vec<Record> {
        let sharing = call.sharing;
        let mut record = self.build(call);
        let shared = !sharing.also_recorded_in.is_empty() || sharing.shared_event_id;
        if !shared {
            return vec![record];
        }
        record.shared_event_id = Some(cloudtrail::random_uuid());
        let mut all = Vec::with_capacity(1 + sharing.also_recorded_in.len());
        for account in &sharing.also_recorded_in {
            let mut other = record.clone();
            other.event_id = cloudtrail::random_uuid();
            other.recipient_account_id = account.clone();
            let caller = &record.user_identity;
            other.user_identity = cloudtrail::UserIdentity::aws_account(
                caller.principal_id.as_deref().unwrap_or_default(),
                caller
                    .account_id
                    .as_deref()
                    .unwrap_or(&record.recipient_account_id),
            );
            all.push(other);
        }
        all.insert(0, record);
        all
    }

    /// The record for a call (the time is the clock's now: the call has completed), by the
    /// rules every record follows (`cloudtrail::rules`).
    pub fn build(&self, call: Call<'_>) -> Record {
        let p = call.principal;
        let source_ip = call.source_ip.to_string();
        let outcome = match call.outcome {
            Outcome::Success(output) => rules::Outcome::Output {
                output,
                is_timestamp: call.is_timestamp,
            },
            Outcome::Failure { code, message } => rules::Outcome::Failure { code, message },
        };
        let time = self.clock.now();
        rules::api_call(ApiCall {
            identity: p.identity_at(time),
            time,
            event_source: call.event_source,
            event_name: call.event_name,
            region: call.region,
            account: &p.account,
            source_ip: &source_ip,
            user_agent: call.user_agent,
            request: call.request,
            outcome,
            read_only: call.read_only,
            changes_state: call.changes_state,
            data_event: call.data_event,
            request_id: call.request_id.to_owned(),
            resources: call.resources,
            member_case: call.member_case,
            tls: call.tls,
        })
    }

    /// Builds the record, returns once delivery has spooled it, and only then shows it to the
    /// taps: a call the spool refused is answered `InternalFailure`, so Event history must not
    /// hold it either. The record is serialised once, for the spool and the taps alike.
    pub async fn record(&self, call: Call<'_>) -> Result<(), DeliveryError> {
        self.record_within(call, None).await
    }

    /// [`Recorder::record`], waiting at most `wait` (when given) for room in the delivery budget.
    pub async fn record_within(
        &self,
        call: Call<'_>,
        wait: Option<std::time::Duration>,
    ) -> Result<(), DeliveryError> {
        for record in self.build_all(call) {
            let json = Arc::new(record.to_json());
            self.delivery
                .submit_serialized_within(&record, Arc::clone(&json), wait)
                .await?;
            for tap in &self.taps {
                tap.record_json(&record, &json);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    static NO_SHARING: crate::seams::Sharing = crate::seams::Sharing {
        also_recorded_in: Vec::new(),
        shared_event_id: false,
    };

    /// Counts the records it is shown.
    #[derive(Default)]
    struct CountingTap(std::sync::atomic::AtomicUsize);

    impl RecordTap for CountingTap {
        fn record(&self, _: &Record) {
            self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
    }

    fn principal() -> Principal {
        let key = "AKIAIOSFODNN7EXAMPLE";
        Principal {
            account: "123456789012".into(),
            identity: cloudtrail::UserIdentity::iam_user("123456789012", "/", "alice", "AIDAEXAMPLE", key),
            secret: "secret".into(),
            session_token: None,
            expiration: None,
            deny: vec![],
            generated: false,
            renews_hourly: false,
            signing_key: sigv4::SigningKeyCache::new(),
        }
    }

    fn call<'a>(principal: &'a Principal, out: &'a Value) -> Call<'a> {
        Call {
            principal,
            event_source: "personalize.amazonaws.com",
            event_name: "CreateSchema",
            region: "us-east-1",
            source_ip: IpAddr::from([127, 0, 0, 1]),
            user_agent: None,
            request: None,
            outcome: Outcome::Success(out),
            read_only: false,
            changes_state: true,
            data_event: false,
            request_id: "00000000-0000-0000-0000-000000000000",
            resources: vec![],
            is_timestamp: &|_| false,
            member_case: rules::MemberCase::AsSent,
            tls: None,
            sharing: &NO_SHARING,
        }
    }

    #[tokio::test]
    async fn taps_see_only_records_the_spool_accepted() {
        let dir = tempfile::tempdir().unwrap();
        let clock = cloudtrail::ManualClock::new(time::macros::datetime!(2026-03-04 05:06:07 UTC));
        let destination = cloudtrail::Destination {
            trail: "t".into(),
            log: cloudtrail::LogDestination {
                bucket: "trail-bucket".into(),
                prefix: None,
                org_id: None,
                account: String::new(),
                region: String::new(),
            },
        };
        let delivery = Delivery::start(
            cloudtrail::DeliveryConfig::new(dir.path().join("spool")),
            clock.clone(),
            Arc::new(cloudtrail::LocalDir::new(dir.path())),
            Arc::new(cloudtrail::SingleDestination(destination)),
            vec![],
        )
        .await
        .unwrap();
        let tap = Arc::new(CountingTap::default());
        let recorder = Recorder::new(delivery.clone(), vec![tap.clone()], clock);
        let (principal, out) = (principal(), json!({}));

        recorder.record(call(&principal, &out)).await.unwrap();
        assert_eq!(tap.0.load(std::sync::atomic::Ordering::SeqCst), 1);

        // Once the pipeline is gone the spool refuses the record, and the tap must not see it.
        delivery.shutdown().await.unwrap();
        assert!(recorder.record(call(&principal, &out)).await.is_err());
        assert_eq!(tap.0.load(std::sync::atomic::Ordering::SeqCst), 1);
    }
}
