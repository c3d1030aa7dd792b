//! Amazon Personalize as a [`Service`]: the control plane (AWS JSON 1.1), Runtime and Events
//! (REST-JSON) over the pure `personalize` state machine, with its journal, its sensitive
//! members, the resources its data events name and the ARNs its deny messages show.

use std::sync::Arc;

use cloudtrail::Resource;
use personalize::{Api, ErrorKind, Operation, Personalize};
use serde_json::Value;

use crate::persist::{FileJournal, PersistError};
use crate::seams::{Answer, CallContext, CallFacts, Fault, OperationInfo, Reply, Service, ServiceError};

/// The Personalize control plane's `X-Amz-Target` prefix.
pub const TARGET_PREFIX: &str = "AmazonPersonalize";
/// `eventSource` of every Personalize record (control plane, Runtime and Events).
pub const EVENT_SOURCE: &str = personalize::audit::EVENT_SOURCE;
/// The signing name of all three APIs (their SigV4 scope and IAM action prefix).
pub const SIGNING_NAME: &str = "personalize";

/// Personalize with, unless the state is ephemeral, the journal its changes are kept in.
#[derive(Debug)]
pub struct PersonalizeApi {
    personalize: Personalize,
    journal: Option<Arc<FileJournal>>,
}

impl PersonalizeApi {
    /// Serves `personalize`, journaling its changes in `journal` when there is one.
    pub fn new(personalize: Personalize, journal: Option<Arc<FileJournal>>) -> Self {
        PersonalizeApi { personalize, journal }
    }

    /// The journal's size, for deciding when to compact it (`None` when the state is ephemeral).
    pub fn journal_bytes(&self) -> Option<u64> {
        self.journal.as_ref().map(|j| j.bytes())
    }

    /// Folds the journal into a new snapshot (nothing to do when the state is ephemeral).
    pub fn compact(&self) -> Result<(), PersistError> {
        match &self.journal {
            Some(j) => j.compact(&self.personalize),
            None => Ok(()),
        }
    }

    fn info(op: Operation) -> OperationInfo {
        OperationInfo {
            name: op.name(),
            read_only: op.read_only(),
            changes_state: !op.read_only(),
            data_event: op.api() != Api::ControlPlane,
            id: op.index(),
            unsigned: false,
        }
    }

    fn op(info: OperationInfo) -> Option<Operation> {
        Operation::from_index(info.id).filter(|op| op.name() == info.name)
    }

    fn run(&self, ctx: &CallContext<'_>, info: OperationInfo, input: &Value) -> Answer {
        let Some(op) = Self::op(info) else {
            return Answer::from(Err(ServiceError::server(
                "InternalFailure",
                format!("{} is not a Personalize operation", info.name),
            )));
        };
        let ctx = personalize::Context {
            account: ctx.account.to_owned(),
            region: ctx.region.to_owned(),
            now: ctx.now,
        };
        let (result, seq) = self.personalize.call_counted(&ctx, op, input);
        // The journal keeps the input as sent (the record gets it redacted), and only once the
        // record is in the spool.
        let after_record = match (&self.journal, seq) {
            (Some(journal), Some(seq)) => {
                let (journal, input) = (journal.clone(), input.clone());
                Some(Box::new(move || journal.append(&ctx, op, &input, seq)) as crate::seams::AfterRecord)
            }
            _ => None,
        };
        Answer {
            result: result.map_err(|e| service_error(op, e)),
            after_record,
            sharing: crate::seams::Sharing::default(),
        }
    }
}

fn service_error(op: Operation, e: personalize::Error) -> ServiceError {
    let fault = match e.kind {
        ErrorKind::ResourceNotFound => Fault::NotFound,
        ErrorKind::ResourceInUse => Fault::Conflict,
        _ => Fault::Client,
    };
    let message = if e.kind == ErrorKind::NotImplemented {
        // Unserved operations say so plainly; the compatibility table lists them.
        format!("{} is not implemented by this emulator. {}", op.name(), e.message)
    } else {
        e.message
    };
    ServiceError::new(fault, e.kind.code(), message)
}

impl Service for PersonalizeApi {
    fn signing_name(&self) -> &'static str {
        SIGNING_NAME
    }

    fn event_source(&self) -> &'static str {
        EVENT_SOURCE
    }

    fn target_prefixes(&self) -> &'static [&'static str] {
        &[TARGET_PREFIX]
    }

    fn by_target(&self, name: &str) -> Option<OperationInfo> {
        Operation::from_control_plane_name(name).map(Self::info)
    }

    fn by_path(&self, path: &str) -> Option<OperationInfo> {
        Operation::from_rest_path(path).map(Self::info)
    }

    fn call<'a>(&'a self, ctx: &'a CallContext<'a>, operation: OperationInfo, input: &'a Value) -> Reply<'a> {
        // The state machine does no I/O and holds its store's lock briefly: run it in the task.
        let answer = self.run(ctx, operation, input);
        Box::pin(std::future::ready(answer))
    }

    fn redact(&self, operation: OperationInfo, input: Value) -> Value {
        match Self::op(operation) {
            Some(op) => cloudtrail::redact::redact(input, personalize::sensitive_paths(op)),
            None => input,
        }
    }

    /// Data events name the campaign, recommender or dataset they carry the ARN of, and the
    /// Events API's `PutEvents` and `PutActionInteractions` the event tracker their tracking id
    /// names, when it exists.
    fn resources(&self, call: CallFacts<'_>) -> Vec<Resource> {
        let (input, region, account) = (call.input, call.region, call.account);
        if !call.op.data_event {
            return Vec::new();
        }
        let mut found = data_resources(input, account);
        if let Some(arn) = input
            .and_then(|i| i.get("trackingId"))
            .and_then(Value::as_str)
            .and_then(|id| self.personalize.event_tracker_arn(account, region, id))
        {
            found.push(Resource::arn(
                &arn,
                account,
                personalize::audit::EVENT_TRACKER_TYPE,
            ));
        }
        found
    }

    fn denied_resource(&self, call: CallFacts<'_>) -> Option<String> {
        let obj = call.input.and_then(Value::as_object)?;
        let kind = Self::op(call.op).and_then(created_kind)?;
        let name = obj
            .get("name")
            .or_else(|| obj.get("jobName"))
            .and_then(Value::as_str)?;
        Some(format!(
            "arn:aws:personalize:{}:{}:{kind}/{name}",
            call.region, call.account
        ))
    }

    fn is_timestamp_member(&self, name: &str) -> bool {
        personalize::is_timestamp_member(name)
    }

    fn reset(&self) {
        self.personalize.reset();
        // The journal's changes are of the state just forgotten: fold the empty state in.
        if let Err(e) = self.compact() {
            tracing::error!(error = %e, "cannot save the reset Personalize state");
        }
    }
}

/// The ARN resource type a Create call makes, for the deny message of a resource that does not
/// exist yet.
fn created_kind(op: Operation) -> Option<&'static str> {
    Some(match op {
        Operation::CreateDatasetGroup => "dataset-group",
        Operation::CreateSchema => "schema",
        Operation::CreateSolution => "solution",
        Operation::CreateCampaign => "campaign",
        Operation::CreateFilter => "filter",
        Operation::CreateEventTracker => "event-tracker",
        Operation::CreateRecommender => "recommender",
        Operation::CreateMetricAttribution => "metric-attribution",
        Operation::CreateDatasetImportJob => "dataset-import-job",
        Operation::CreateDatasetExportJob => "dataset-export-job",
        Operation::CreateBatchInferenceJob => "batch-inference-job",
        Operation::CreateBatchSegmentJob => "batch-segment-job",
        Operation::CreateDataDeletionJob => "data-deletion-job",
        _ => return None,
    })
}

/// `resources[]` of a data event: the campaign, recommender or dataset the call names.
fn data_resources(input: Option<&Value>, account: &str) -> Vec<Resource> {
    let Some(input) = input else {
        return Vec::new();
    };
    personalize::audit::data_event_resources(input)
        .map(|(arn, ty)| Resource::arn(arn, account, ty))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn api() -> PersonalizeApi {
        PersonalizeApi::new(Personalize::new(personalize::Config::default()), None)
    }

    fn facts<'a>(op: OperationInfo, input: Option<&'a Value>, account: &'a str) -> CallFacts<'a> {
        CallFacts {
            op,
            input,
            region: "us-east-1",
            account,
        }
    }

    #[test]
    fn deny_messages_name_the_resource_a_create_would_make() {
        let api = api();
        let create = api.by_target("CreateDatasetGroup").unwrap();
        assert_eq!(
            api.denied_resource(facts(create, Some(&json!({"name": "dsg"})), "123456789012"))
                .as_deref(),
            Some("arn:aws:personalize:us-east-1:123456789012:dataset-group/dsg")
        );
        let delete = api.by_target("DeleteSchema").unwrap();
        assert_eq!(
            api.denied_resource(facts(delete, Some(&json!({"name": "x"})), "1")),
            None
        );
    }

    #[test]
    fn data_events_name_their_campaign() {
        let api = api();
        let get = api.by_path("/recommendations").unwrap();
        assert!(get.data_event && get.read_only);
        let campaign = json!({"campaignArn": "arn:aws:personalize:us-east-1:1:campaign/c"});
        let r = api.resources(facts(get, Some(&campaign), "1"));
        assert_eq!(r.len(), 1);
        assert_eq!(r[0].resource_type.as_deref(), Some("AWS::Personalize::Campaign"));
        assert!(data_resources(Some(&json!({"trackingId": "x"})), "1").is_empty());
        let list = api.by_target("ListDatasetGroups").unwrap();
        assert!(
            api.resources(facts(list, Some(&json!({"campaignArn": "arn:x"})), "1"))
                .is_empty()
        );
    }

    #[test]
    fn the_control_plane_is_not_served_by_path_nor_runtime_by_target() {
        let api = api();
        assert!(api.by_target("GetRecommendations").is_none());
        assert!(api.by_path("/ListDatasetGroups").is_none());
    }
}
