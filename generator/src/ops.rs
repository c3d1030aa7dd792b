//! The Personalize operations the generator makes: the service crate's own [`Operation`]s, each
//! with what the generator needs to build its calls (what it does, which resource it touches).
//! Names, APIs, paths and `readOnly` come from the operation itself.

pub use personalize::{Api, Operation};

/// The host prefix AWS uses for an API, for `tlsDetails.clientProvidedHostHeader`.
pub fn host_prefix(api: Api) -> &'static str {
    match api {
        Api::ControlPlane => "personalize",
        Api::Runtime => "personalize-runtime",
        Api::Events => "personalize-events",
    }
}

/// A Personalize resource type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[allow(
    missing_docs,
    reason = "each variant is the Personalize resource type of its name"
)]
pub enum Kind {
    DatasetGroup,
    Schema,
    Dataset,
    DatasetImportJob,
    DatasetExportJob,
    Solution,
    SolutionVersion,
    Campaign,
    Filter,
    EventTracker,
    Recommender,
    BatchInferenceJob,
    BatchSegmentJob,
    MetricAttribution,
    DataDeletionJob,
    Recipe,
    Algorithm,
    FeatureTransformation,
}

impl Kind {
    /// The kinds the generator's tag calls (TagResource, UntagResource, ListTagsForResource)
    /// name.
    pub const TAGGABLE: [Kind; 6] = [
        Kind::DatasetGroup,
        Kind::Dataset,
        Kind::Solution,
        Kind::Campaign,
        Kind::Filter,
        Kind::Recommender,
    ];

    /// The member that carries this kind's ARN (`datasetGroupArn`).
    pub fn arn_member(self) -> &'static str {
        match self {
            Kind::DatasetGroup => "datasetGroupArn",
            Kind::Schema => "schemaArn",
            Kind::Dataset => "datasetArn",
            Kind::DatasetImportJob => "datasetImportJobArn",
            Kind::DatasetExportJob => "datasetExportJobArn",
            Kind::Solution => "solutionArn",
            Kind::SolutionVersion => "solutionVersionArn",
            Kind::Campaign => "campaignArn",
            Kind::Filter => "filterArn",
            Kind::EventTracker => "eventTrackerArn",
            Kind::Recommender => "recommenderArn",
            Kind::BatchInferenceJob => "batchInferenceJobArn",
            Kind::BatchSegmentJob => "batchSegmentJobArn",
            Kind::MetricAttribution => "metricAttributionArn",
            Kind::DataDeletionJob => "dataDeletionJobArn",
            Kind::Recipe => "recipeArn",
            Kind::Algorithm => "algorithmArn",
            Kind::FeatureTransformation => "featureTransformationArn",
        }
    }

    /// The resource segment of the ARN (`dataset-group`).
    pub fn arn_type(self) -> &'static str {
        match self {
            Kind::DatasetGroup => "dataset-group",
            Kind::Schema => "schema",
            Kind::Dataset => "dataset",
            Kind::DatasetImportJob => "dataset-import-job",
            Kind::DatasetExportJob => "dataset-export-job",
            Kind::Solution | Kind::SolutionVersion => "solution",
            Kind::Campaign => "campaign",
            Kind::Filter => "filter",
            Kind::EventTracker => "event-tracker",
            Kind::Recommender => "recommender",
            Kind::BatchInferenceJob => "batch-inference-job",
            Kind::BatchSegmentJob => "batch-segment-job",
            Kind::MetricAttribution => "metric-attribution",
            Kind::DataDeletionJob => "data-deletion-job",
            Kind::Recipe => "recipe",
            Kind::Algorithm => "algorithm",
            Kind::FeatureTransformation => "feature-transformation",
        }
    }

    /// Whether the ARN has no Region and account (the built-in catalogue).
    pub fn global(self) -> bool {
        matches!(self, Kind::Recipe | Kind::Algorithm | Kind::FeatureTransformation)
    }

    /// The human name used in error messages ("dataset group").
    pub fn noun(self) -> &'static str {
        match self {
            Kind::DatasetGroup => "Dataset group",
            Kind::Schema => "Schema",
            Kind::Dataset => "Dataset",
            Kind::DatasetImportJob => "Dataset import job",
            Kind::DatasetExportJob => "Dataset export job",
            Kind::Solution => "Solution",
            Kind::SolutionVersion => "Solution version",
            Kind::Campaign => "Campaign",
            Kind::Filter => "Filter",
            Kind::EventTracker => "Event tracker",
            Kind::Recommender => "Recommender",
            Kind::BatchInferenceJob => "Batch inference job",
            Kind::BatchSegmentJob => "Batch segment job",
            Kind::MetricAttribution => "Metric attribution",
            Kind::DataDeletionJob => "Data deletion job",
            Kind::Recipe => "Recipe",
            Kind::Algorithm => "Algorithm",
            Kind::FeatureTransformation => "Feature transformation",
        }
    }
}

/// What an operation does to its resource, which decides its request and response.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Verb {
    /// `Create*`: a new resource, answered with its ARN.
    Create,
    /// `Describe*`: reads one resource.
    Describe,
    /// `List*`: reads a page.
    List,
    /// `Delete*`: answered with an empty body.
    Delete,
    /// `Update*`, `Start*`, `Stop*`: changes a resource.
    Update,
    /// Tagging.
    Tag,
    /// `GetSolutionMetrics` and the Runtime reads.
    Get,
    /// The Events writes.
    Put,
}

/// One operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct OpSpec {
    /// The operation.
    pub op: Operation,
    /// Its name on the wire and in `eventName` (the operation's own).
    pub name: &'static str,
    /// What it does.
    pub verb: Verb,
    /// The resource it acts on (for tags: any taggable resource; `Recipe` is a placeholder).
    pub kind: Kind,
}

impl OpSpec {
    /// Which API serves it.
    pub fn api(&self) -> Api {
        self.op.api()
    }

    /// The REST-JSON path of Runtime and Events operations.
    pub fn path(&self) -> Option<&'static str> {
        self.op.rest_path()
    }

    /// Whether it only reads (the record's `readOnly`), as the service defines it.
    pub fn read_only(&self) -> bool {
        self.op.read_only()
    }

    /// Runtime and Events calls are data events.
    pub fn data_event(&self) -> bool {
        self.op.api() != Api::ControlPlane
    }
}

const fn spec(op: Operation, verb: Verb, kind: Kind) -> OpSpec {
    OpSpec {
        op,
        name: op.name(),
        verb,
        kind,
    }
}

use Kind as K;
use Operation as O;
use Verb as V;

/// Every operation the generator knows, in a fixed order (indexes are stable within a build).
pub static OPS: &[OpSpec] = &[
    spec(O::CreateDatasetGroup, V::Create, K::DatasetGroup),
    spec(O::CreateSchema, V::Create, K::Schema),
    spec(O::CreateDataset, V::Create, K::Dataset),
    spec(O::CreateDatasetImportJob, V::Create, K::DatasetImportJob),
    spec(O::CreateDatasetExportJob, V::Create, K::DatasetExportJob),
    spec(O::CreateSolution, V::Create, K::Solution),
    spec(O::CreateSolutionVersion, V::Create, K::SolutionVersion),
    spec(O::CreateCampaign, V::Create, K::Campaign),
    spec(O::CreateFilter, V::Create, K::Filter),
    spec(O::CreateEventTracker, V::Create, K::EventTracker),
    spec(O::CreateRecommender, V::Create, K::Recommender),
    spec(O::CreateBatchInferenceJob, V::Create, K::BatchInferenceJob),
    spec(O::CreateBatchSegmentJob, V::Create, K::BatchSegmentJob),
    spec(O::CreateMetricAttribution, V::Create, K::MetricAttribution),
    spec(O::CreateDataDeletionJob, V::Create, K::DataDeletionJob),
    spec(O::DescribeDatasetGroup, V::Describe, K::DatasetGroup),
    spec(O::DescribeSchema, V::Describe, K::Schema),
    spec(O::DescribeDataset, V::Describe, K::Dataset),
    spec(O::DescribeDatasetImportJob, V::Describe, K::DatasetImportJob),
    spec(O::DescribeDatasetExportJob, V::Describe, K::DatasetExportJob),
    spec(O::DescribeSolution, V::Describe, K::Solution),
    spec(O::DescribeSolutionVersion, V::Describe, K::SolutionVersion),
    spec(O::DescribeCampaign, V::Describe, K::Campaign),
    spec(O::DescribeFilter, V::Describe, K::Filter),
    spec(O::DescribeEventTracker, V::Describe, K::EventTracker),
    spec(O::DescribeRecommender, V::Describe, K::Recommender),
    spec(O::DescribeBatchInferenceJob, V::Describe, K::BatchInferenceJob),
    spec(O::DescribeBatchSegmentJob, V::Describe, K::BatchSegmentJob),
    spec(O::DescribeMetricAttribution, V::Describe, K::MetricAttribution),
    spec(O::DescribeDataDeletionJob, V::Describe, K::DataDeletionJob),
    spec(O::DescribeRecipe, V::Describe, K::Recipe),
    spec(O::DescribeAlgorithm, V::Describe, K::Algorithm),
    spec(
        O::DescribeFeatureTransformation,
        V::Describe,
        K::FeatureTransformation,
    ),
    spec(O::ListDatasetGroups, V::List, K::DatasetGroup),
    spec(O::ListSchemas, V::List, K::Schema),
    spec(O::ListDatasets, V::List, K::Dataset),
    spec(O::ListDatasetImportJobs, V::List, K::DatasetImportJob),
    spec(O::ListDatasetExportJobs, V::List, K::DatasetExportJob),
    spec(O::ListSolutions, V::List, K::Solution),
    spec(O::ListSolutionVersions, V::List, K::SolutionVersion),
    spec(O::ListCampaigns, V::List, K::Campaign),
    spec(O::ListFilters, V::List, K::Filter),
    spec(O::ListEventTrackers, V::List, K::EventTracker),
    spec(O::ListRecommenders, V::List, K::Recommender),
    spec(O::ListBatchInferenceJobs, V::List, K::BatchInferenceJob),
    spec(O::ListBatchSegmentJobs, V::List, K::BatchSegmentJob),
    spec(O::ListMetricAttributions, V::List, K::MetricAttribution),
    spec(O::ListDataDeletionJobs, V::List, K::DataDeletionJob),
    spec(O::ListRecipes, V::List, K::Recipe),
    spec(O::DeleteDatasetGroup, V::Delete, K::DatasetGroup),
    spec(O::DeleteSchema, V::Delete, K::Schema),
    spec(O::DeleteDataset, V::Delete, K::Dataset),
    spec(O::DeleteSolution, V::Delete, K::Solution),
    spec(O::DeleteCampaign, V::Delete, K::Campaign),
    spec(O::DeleteFilter, V::Delete, K::Filter),
    spec(O::DeleteEventTracker, V::Delete, K::EventTracker),
    spec(O::DeleteRecommender, V::Delete, K::Recommender),
    spec(O::DeleteMetricAttribution, V::Delete, K::MetricAttribution),
    spec(O::UpdateCampaign, V::Update, K::Campaign),
    spec(O::UpdateDataset, V::Update, K::Dataset),
    spec(O::UpdateRecommender, V::Update, K::Recommender),
    spec(O::UpdateSolution, V::Update, K::Solution),
    spec(O::StartRecommender, V::Update, K::Recommender),
    spec(O::StopRecommender, V::Update, K::Recommender),
    spec(O::StopSolutionVersionCreation, V::Update, K::SolutionVersion),
    spec(O::GetSolutionMetrics, V::Get, K::SolutionVersion),
    spec(O::TagResource, V::Tag, K::DatasetGroup),
    spec(O::UntagResource, V::Tag, K::DatasetGroup),
    spec(O::ListTagsForResource, V::Tag, K::DatasetGroup),
    spec(O::GetRecommendations, V::Get, K::Campaign),
    spec(O::GetPersonalizedRanking, V::Get, K::Campaign),
    spec(O::GetActionRecommendations, V::Get, K::Campaign),
    spec(O::PutEvents, V::Put, K::EventTracker),
    spec(O::PutItems, V::Put, K::Dataset),
    spec(O::PutUsers, V::Put, K::Dataset),
];

/// The index of an operation by name.
pub fn index(name: &str) -> Option<usize> {
    OPS.iter().position(|o| o.name == name)
}

/// An operation by name.
pub fn get(name: &str) -> Option<&'static OpSpec> {
    OPS.iter().find(|o| o.name == name)
}

/// `md/command#personalize.list-dataset-groups`: the AWS CLI's command name for an operation.
pub fn cli_command(op: &OpSpec) -> String {
    command_name(host_prefix(op.api()), op.name)
}

/// `<cli service>.<operation in kebab case>`, as the AWS CLI names a command in its user agent
/// (`personalize.list-dataset-groups`).
pub fn command_name(service: &str, operation: &str) -> String {
    let mut s = String::with_capacity(service.len() + operation.len() + 8);
    s.push_str(service);
    s.push('.');
    for (i, c) in operation.chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 {
                s.push('-');
            }
            s.push(c.to_ascii_lowercase());
        } else {
            s.push(c);
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_is_the_service_crates_operations_once_each() {
        let mut seen: Vec<Operation> = OPS.iter().map(|o| o.op).collect();
        seen.sort();
        seen.dedup();
        assert_eq!(seen.len(), OPS.len());
        for o in OPS {
            assert_eq!(o.name, o.op.name());
        }
    }

    #[test]
    fn names_are_unique_and_found() {
        for (i, op) in OPS.iter().enumerate() {
            assert_eq!(index(op.name), Some(i), "{}", op.name);
        }
        assert!(get("Nope").is_none());
    }

    #[test]
    fn read_only_and_data_flags() {
        assert!(get("ListDatasetGroups").unwrap().read_only());
        assert!(get("GetSolutionMetrics").unwrap().read_only());
        assert!(get("ListTagsForResource").unwrap().read_only());
        assert!(!get("TagResource").unwrap().read_only());
        assert!(!get("CreateSchema").unwrap().read_only());
        assert!(get("GetRecommendations").unwrap().data_event());
        assert!(!get("PutEvents").unwrap().read_only());
        assert!(!get("DeleteCampaign").unwrap().data_event());
    }

    #[test]
    fn cli_command_names() {
        assert_eq!(
            cli_command(get("ListDatasetGroups").unwrap()),
            "personalize.list-dataset-groups"
        );
        assert_eq!(
            cli_command(get("PutEvents").unwrap()),
            "personalize-events.put-events"
        );
    }
}
