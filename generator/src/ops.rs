//! The Personalize operations the generator can make, with what each one touches and how it is sent.

/// Which of the three Personalize APIs an operation belongs to; decides the wire protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Api {
    /// `personalize`: AWS JSON 1.1, `POST /` with `X-Amz-Target: AmazonPersonalize.<Op>`.
    ControlPlane,
    /// `personalize-runtime`: REST-JSON.
    Runtime,
    /// `personalize-events`: REST-JSON.
    Events,
}

impl Api {
    /// The host prefix AWS uses, for `tlsDetails.clientProvidedHostHeader`.
    pub fn host_prefix(self) -> &'static str {
        match self {
            Api::ControlPlane => "personalize",
            Api::Runtime => "personalize-runtime",
            Api::Events => "personalize-events",
        }
    }
}

/// A Personalize resource type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[allow(missing_docs)]
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
    /// The name on the wire and in `eventName`.
    pub name: &'static str,
    /// Which API.
    pub api: Api,
    /// What it does.
    pub verb: Verb,
    /// The resource it acts on (for tags: any taggable resource; `Recipe` is a placeholder).
    pub kind: Kind,
    /// The REST-JSON path of Runtime and Events operations.
    pub path: Option<&'static str>,
}

impl OpSpec {
    /// Describe, List and the Runtime/metrics reads only read.
    pub fn read_only(&self) -> bool {
        matches!(self.verb, Verb::Describe | Verb::List | Verb::Get) || self.name == "ListTagsForResource"
    }

    /// Runtime and Events calls are data events.
    pub fn data_event(&self) -> bool {
        self.api != Api::ControlPlane
    }
}

const fn cp(name: &'static str, verb: Verb, kind: Kind) -> OpSpec {
    OpSpec {
        name,
        api: Api::ControlPlane,
        verb,
        kind,
        path: None,
    }
}

const fn rest(name: &'static str, api: Api, verb: Verb, kind: Kind, path: &'static str) -> OpSpec {
    OpSpec {
        name,
        api,
        verb,
        kind,
        path: Some(path),
    }
}

use Kind as K;
use Verb as V;

/// Every operation the generator knows, in a fixed order (indexes are stable within a build).
pub static OPS: &[OpSpec] = &[
    cp("CreateDatasetGroup", V::Create, K::DatasetGroup),
    cp("CreateSchema", V::Create, K::Schema),
    cp("CreateDataset", V::Create, K::Dataset),
    cp("CreateDatasetImportJob", V::Create, K::DatasetImportJob),
    cp("CreateDatasetExportJob", V::Create, K::DatasetExportJob),
    cp("CreateSolution", V::Create, K::Solution),
    cp("CreateSolutionVersion", V::Create, K::SolutionVersion),
    cp("CreateCampaign", V::Create, K::Campaign),
    cp("CreateFilter", V::Create, K::Filter),
    cp("CreateEventTracker", V::Create, K::EventTracker),
    cp("CreateRecommender", V::Create, K::Recommender),
    cp("CreateBatchInferenceJob", V::Create, K::BatchInferenceJob),
    cp("CreateBatchSegmentJob", V::Create, K::BatchSegmentJob),
    cp("CreateMetricAttribution", V::Create, K::MetricAttribution),
    cp("CreateDataDeletionJob", V::Create, K::DataDeletionJob),
    cp("DescribeDatasetGroup", V::Describe, K::DatasetGroup),
    cp("DescribeSchema", V::Describe, K::Schema),
    cp("DescribeDataset", V::Describe, K::Dataset),
    cp("DescribeDatasetImportJob", V::Describe, K::DatasetImportJob),
    cp("DescribeDatasetExportJob", V::Describe, K::DatasetExportJob),
    cp("DescribeSolution", V::Describe, K::Solution),
    cp("DescribeSolutionVersion", V::Describe, K::SolutionVersion),
    cp("DescribeCampaign", V::Describe, K::Campaign),
    cp("DescribeFilter", V::Describe, K::Filter),
    cp("DescribeEventTracker", V::Describe, K::EventTracker),
    cp("DescribeRecommender", V::Describe, K::Recommender),
    cp("DescribeBatchInferenceJob", V::Describe, K::BatchInferenceJob),
    cp("DescribeBatchSegmentJob", V::Describe, K::BatchSegmentJob),
    cp("DescribeMetricAttribution", V::Describe, K::MetricAttribution),
    cp("DescribeDataDeletionJob", V::Describe, K::DataDeletionJob),
    cp("DescribeRecipe", V::Describe, K::Recipe),
    cp("DescribeAlgorithm", V::Describe, K::Algorithm),
    cp(
        "DescribeFeatureTransformation",
        V::Describe,
        K::FeatureTransformation,
    ),
    cp("ListDatasetGroups", V::List, K::DatasetGroup),
    cp("ListSchemas", V::List, K::Schema),
    cp("ListDatasets", V::List, K::Dataset),
    cp("ListDatasetImportJobs", V::List, K::DatasetImportJob),
    cp("ListDatasetExportJobs", V::List, K::DatasetExportJob),
    cp("ListSolutions", V::List, K::Solution),
    cp("ListSolutionVersions", V::List, K::SolutionVersion),
    cp("ListCampaigns", V::List, K::Campaign),
    cp("ListFilters", V::List, K::Filter),
    cp("ListEventTrackers", V::List, K::EventTracker),
    cp("ListRecommenders", V::List, K::Recommender),
    cp("ListBatchInferenceJobs", V::List, K::BatchInferenceJob),
    cp("ListBatchSegmentJobs", V::List, K::BatchSegmentJob),
    cp("ListMetricAttributions", V::List, K::MetricAttribution),
    cp("ListDataDeletionJobs", V::List, K::DataDeletionJob),
    cp("ListRecipes", V::List, K::Recipe),
    cp("DeleteDatasetGroup", V::Delete, K::DatasetGroup),
    cp("DeleteSchema", V::Delete, K::Schema),
    cp("DeleteDataset", V::Delete, K::Dataset),
    cp("DeleteSolution", V::Delete, K::Solution),
    cp("DeleteCampaign", V::Delete, K::Campaign),
    cp("DeleteFilter", V::Delete, K::Filter),
    cp("DeleteEventTracker", V::Delete, K::EventTracker),
    cp("DeleteRecommender", V::Delete, K::Recommender),
    cp("DeleteMetricAttribution", V::Delete, K::MetricAttribution),
    cp("UpdateCampaign", V::Update, K::Campaign),
    cp("UpdateDataset", V::Update, K::Dataset),
    cp("UpdateRecommender", V::Update, K::Recommender),
    cp("UpdateSolution", V::Update, K::Solution),
    cp("StartRecommender", V::Update, K::Recommender),
    cp("StopRecommender", V::Update, K::Recommender),
    cp("StopSolutionVersionCreation", V::Update, K::SolutionVersion),
    cp("GetSolutionMetrics", V::Get, K::SolutionVersion),
    cp("TagResource", V::Tag, K::DatasetGroup),
    cp("UntagResource", V::Tag, K::DatasetGroup),
    cp("ListTagsForResource", V::Tag, K::DatasetGroup),
    rest(
        "GetRecommendations",
        Api::Runtime,
        V::Get,
        K::Campaign,
        "/recommendations",
    ),
    rest(
        "GetPersonalizedRanking",
        Api::Runtime,
        V::Get,
        K::Campaign,
        "/personalize-ranking",
    ),
    rest(
        "GetActionRecommendations",
        Api::Runtime,
        V::Get,
        K::Campaign,
        "/action-recommendations",
    ),
    rest("PutEvents", Api::Events, V::Put, K::EventTracker, "/events"),
    rest("PutItems", Api::Events, V::Put, K::Dataset, "/items"),
    rest("PutUsers", Api::Events, V::Put, K::Dataset, "/users"),
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
    let service = match op.api {
        Api::ControlPlane => "personalize",
        Api::Runtime => "personalize-runtime",
        Api::Events => "personalize-events",
    };
    let mut s = String::with_capacity(service.len() + op.name.len() + 8);
    s.push_str(service);
    s.push('.');
    for (i, c) in op.name.chars().enumerate() {
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
