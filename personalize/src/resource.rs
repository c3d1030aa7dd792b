//! What every resource shares (its metadata and lifecycles), and the Describe* and List* calls
//! of every resource, answered in one place because they differ only in wire names.

use std::collections::{BTreeMap, HashMap};

use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::common::{Cx, Lifecycle, Members, list_page};
use crate::data::not_found;
use crate::error::Result;
use crate::{Operation, Store, data, models};

/// `DELETE PENDING`, in simulated seconds.
const DELETE_PENDING: f64 = 5.0;
/// `DELETE IN_PROGRESS`, in simulated seconds.
pub(crate) const DELETE_IN_PROGRESS: f64 = 10.0;
/// How long a delete takes from the call to the resource being gone, in simulated seconds.
pub(crate) const DELETE_TOTAL: f64 = DELETE_PENDING + DELETE_IN_PROGRESS;

/// What every resource records about itself.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub(crate) struct Meta {
    /// The resource ARN.
    pub(crate) arn: String,
    /// The name (`name` or `jobName`).
    pub(crate) name: String,
    /// Creation order within the store; breaks ties between equal creation times.
    pub(crate) seq: u64,
    /// The creation time.
    pub(crate) created: OffsetDateTime,
    /// The lifecycle in force: the create, then possibly a stop or a start (recommenders).
    /// Snapshots written before the two sides shared this type call it `create` on the data side.
    #[serde(alias = "create")]
    pub(crate) phase: Lifecycle,
    /// The delete lifecycle, once a delete was asked for.
    pub(crate) delete: Option<Lifecycle>,
    /// The last update made by an Update call, if any.
    #[serde(default)]
    pub(crate) updated: Option<OffsetDateTime>,
}

impl Meta {
    /// A resource created now, taking the next number of its side's `seq`.
    pub(crate) fn new(seq: &mut u64, cx: &Cx<'_>, arn: String, name: &str, phase: Lifecycle) -> Meta {
        *seq += 1;
        Meta {
            arn,
            name: name.to_string(),
            seq: *seq,
            created: cx.ctx.now,
            phase,
            delete: None,
            updated: None,
        }
    }

    /// The status at the call time.
    pub(crate) fn status(&self, cx: &Cx<'_>) -> &'static str {
        self.delete
            .as_ref()
            .unwrap_or(&self.phase)
            .status(cx.ctx.now, cx.config)
    }

    /// Whether the resource is `ACTIVE` (or its lifecycle's terminal status).
    pub(crate) fn is_active(&self, cx: &Cx<'_>) -> bool {
        self.delete.is_none() && self.phase.finished_at(cx.config) <= cx.ctx.now
    }

    /// Whether a delete was asked for (the resource is `DELETE PENDING` or later).
    pub(crate) fn deleting(&self) -> bool {
        self.delete.is_some()
    }

    /// `lastUpdatedDateTime`: when the current status began, or the last update.
    pub(crate) fn last_updated(&self, cx: &Cx<'_>) -> OffsetDateTime {
        let since = self
            .delete
            .as_ref()
            .unwrap_or(&self.phase)
            .status_since(cx.ctx.now, cx.config);
        self.updated.filter(|u| *u > since).unwrap_or(since)
    }

    /// Whether the delete has finished, so the resource is purged.
    pub(crate) fn gone(&self, cx: &Cx<'_>) -> bool {
        self.delete
            .as_ref()
            .is_some_and(|d| d.finished_at(cx.config) <= cx.ctx.now)
    }

    /// Starts `DELETE PENDING`, `DELETE IN_PROGRESS`, then gone.
    pub(crate) fn start_delete(&mut self, cx: &Cx<'_>) {
        self.delete = Some(Lifecycle {
            started: cx.ctx.now,
            steps: vec![
                ("DELETE PENDING", DELETE_PENDING),
                ("DELETE IN_PROGRESS", DELETE_IN_PROGRESS),
                ("DELETED", 0.0),
            ],
        });
    }

    /// Creation time (as Unix nanoseconds, which order exactly as the instants do but compare
    /// faster) then creation order: what lists sort by.
    pub(crate) fn sort_key(&self) -> (i128, u64) {
        (self.created.unix_timestamp_nanos(), self.seq)
    }
}

/// A resource with a [`Meta`], so lists can order it.
pub(crate) trait Resource {
    /// Its metadata.
    fn meta(&self) -> &Meta;
}

macro_rules! resources {
    ($($t:ty),* $(,)?) => {
        $(impl Resource for $t {
            fn meta(&self) -> &Meta {
                &self.meta
            }
        })*
    };
}

resources!(
    data::DatasetGroup,
    data::Schema,
    data::Dataset,
    data::ImportJob,
    data::ExportJob,
    data::DeletionJob,
    data::EventTracker,
    data::Filter,
    data::MetricAttribution,
    models::Solution,
    models::SolutionVersion,
    models::Campaign,
    models::Recommender,
    models::BatchInferenceJob,
);

/// The maps resources are kept in, looked up by ARN.
pub(crate) trait ByArn<R> {
    /// The resource with this ARN.
    fn by_arn(&self, arn: &str) -> Option<&R>;
}

impl<R> ByArn<R> for BTreeMap<String, R> {
    fn by_arn(&self, arn: &str) -> Option<&R> {
        self.get(arn)
    }
}

impl<R> ByArn<R> for HashMap<String, R> {
    fn by_arn(&self, arn: &str) -> Option<&R> {
        self.get(arn)
    }
}

/// The resource named by the ARN in `member`, or `ResourceNotFoundException`.
pub(crate) fn one<'a, R>(map: &'a impl ByArn<R>, m: &Members<'_>, member: &str) -> Result<&'a R> {
    let arn = m.arn(member)?;
    map.by_arn(arn).ok_or_else(|| not_found(arn))
}

/// A Describe* answer: the resource named by `member`, in full under `key`.
fn describe<'a, R: 'a>(
    map: &'a impl ByArn<R>,
    m: &Members<'_>,
    (member, key): (&str, &str),
    full: impl FnOnce(&'a R) -> Value,
) -> Result<Value> {
    Ok(json!({ key: full(one(map, m, member)?) }))
}

/// The ARN member a List* call narrows by, and whether a resource belongs to the ARN sent.
pub(crate) type Parent<R> = (&'static str, fn(&R, &str) -> bool);

/// A List* answer: the resources of `rows` (those of the parent sent, if the call names one),
/// newest first, paged with tokens bound to `op` and the parent, summarised under `key`.
pub(crate) fn list<'a, R: Resource + 'a>(
    m: &Members<'_>,
    (op, key): (&str, &str),
    rows: impl Iterator<Item = &'a R>,
    parent: Option<Parent<R>>,
    summarise: impl FnMut(&'a R) -> Value,
) -> Result<Value> {
    let Some((member, belongs)) = parent else {
        return list_page(rows.map(|r| (r.meta().sort_key(), r)), summarise, key, op, m);
    };
    let sent = m.opt_arn(member)?;
    let rows = rows
        .filter(|r| sent.is_none_or(|p| belongs(r, p)))
        .map(|r| (r.meta().sort_key(), r));
    list_page(rows, summarise, key, &format!("{op}|{}", sent.unwrap_or("")), m)
}

/// Answers the Describe* and List* calls whose rules are the same for every resource; `None`
/// for every other operation.
pub(crate) fn read(store: &Store, cx: &Cx<'_>, op: Operation, m: &Members<'_>) -> Option<Result<Value>> {
    use Operation as O;
    let (d, s) = (&store.data, &store.models);
    let answer = match op {
        O::DescribeDatasetGroup => describe(&d.dataset_groups, m, ("datasetGroupArn", "datasetGroup"), |g| {
            g.full(cx)
        }),
        O::ListDatasetGroups => list(
            m,
            ("ListDatasetGroups", "datasetGroups"),
            d.dataset_groups.values(),
            None,
            |g| g.summary(cx),
        ),
        O::DescribeSchema => describe(&d.schemas, m, ("schemaArn", "schema"), data::schema_full),
        O::ListSchemas => list(
            m,
            ("ListSchemas", "schemas"),
            d.schemas.values(),
            None,
            data::schema_summary,
        ),
        O::DescribeDataset => describe(&d.datasets, m, ("datasetArn", "dataset"), |x| x.full(store, cx)),
        O::ListDatasets => list(
            m,
            ("ListDatasets", "datasets"),
            d.datasets.values(),
            Some(("datasetGroupArn", |x, g| x.dataset_group_arn == g)),
            |x| x.summary(cx),
        ),
        O::DescribeDatasetImportJob => describe(
            &d.import_jobs,
            m,
            ("datasetImportJobArn", "datasetImportJob"),
            |j| j.full(cx),
        ),
        O::ListDatasetImportJobs => list(
            m,
            ("ListDatasetImportJobs", "datasetImportJobs"),
            d.import_jobs.values(),
            Some(("datasetArn", |j, ds| j.dataset_arn == ds)),
            |j| j.summary(cx),
        ),
        O::DescribeDatasetExportJob => describe(
            &d.export_jobs,
            m,
            ("datasetExportJobArn", "datasetExportJob"),
            |j| j.full(cx),
        ),
        O::ListDatasetExportJobs => list(
            m,
            ("ListDatasetExportJobs", "datasetExportJobs"),
            d.export_jobs.values(),
            Some(("datasetArn", |j, ds| j.dataset_arn == ds)),
            |j| j.summary(cx),
        ),
        O::DescribeDataDeletionJob => describe(
            &d.deletion_jobs,
            m,
            ("dataDeletionJobArn", "dataDeletionJob"),
            |j| j.full(cx),
        ),
        O::ListDataDeletionJobs => list(
            m,
            ("ListDataDeletionJobs", "dataDeletionJobs"),
            d.deletion_jobs.values(),
            Some(("datasetGroupArn", |j, g| j.dataset_group_arn == g)),
            |j| j.summary(cx),
        ),
        O::DescribeEventTracker => describe(&d.event_trackers, m, ("eventTrackerArn", "eventTracker"), |t| {
            t.full(cx)
        }),
        O::ListEventTrackers => list(
            m,
            ("ListEventTrackers", "eventTrackers"),
            d.event_trackers.values(),
            Some(("datasetGroupArn", |t, g| t.dataset_group_arn == g)),
            |t| t.summary(cx),
        ),
        O::DescribeFilter => describe(&d.filters, m, ("filterArn", "filter"), |f| f.full(cx)),
        // The model spells this member with a capital F.
        O::ListFilters => list(
            m,
            ("ListFilters", "Filters"),
            d.filters.values(),
            Some(("datasetGroupArn", |f, g| f.dataset_group_arn == g)),
            |f| f.summary(cx),
        ),
        O::DescribeMetricAttribution => describe(
            &d.metric_attributions,
            m,
            ("metricAttributionArn", "metricAttribution"),
            |a| a.full(cx),
        ),
        O::ListMetricAttributions => list(
            m,
            ("ListMetricAttributions", "metricAttributions"),
            d.metric_attributions.values(),
            Some(("datasetGroupArn", |a, g| a.dataset_group_arn == g)),
            |a| a.summary(cx),
        ),
        O::DescribeSolution => describe(&s.solutions, m, ("solutionArn", "solution"), |x| {
            x.full(store, cx)
        }),
        O::ListSolutions => list(
            m,
            ("ListSolutions", "solutions"),
            s.solutions.values(),
            Some(("datasetGroupArn", |x, g| x.dataset_group_arn == g)),
            |x| x.summary(cx),
        ),
        O::DescribeSolutionVersion => {
            describe(&s.versions, m, ("solutionVersionArn", "solutionVersion"), |v| {
                v.full(cx)
            })
        }
        O::DescribeCampaign => describe(&s.campaigns, m, ("campaignArn", "campaign"), |c| c.full(cx)),
        O::DescribeRecommender => describe(&s.recommenders, m, ("recommenderArn", "recommender"), |r| {
            r.full(cx)
        }),
        O::ListRecommenders => list(
            m,
            ("ListRecommenders", "recommenders"),
            s.recommenders.values(),
            Some(("datasetGroupArn", |r, g| r.dataset_group_arn == g)),
            |r| r.summary(cx),
        ),
        O::DescribeBatchInferenceJob => describe(
            &s.batch_inference_jobs,
            m,
            ("batchInferenceJobArn", "batchInferenceJob"),
            |j| j.full(cx),
        ),
        O::ListBatchInferenceJobs => list(
            m,
            ("ListBatchInferenceJobs", "batchInferenceJobs"),
            s.batch_inference_jobs.values(),
            Some(("solutionVersionArn", |j, v| j.solution_version_arn == v)),
            |j| j.summary(cx),
        ),
        O::DescribeBatchSegmentJob => describe(
            &s.batch_segment_jobs,
            m,
            ("batchSegmentJobArn", "batchSegmentJob"),
            |j| j.full(cx),
        ),
        O::ListBatchSegmentJobs => list(
            m,
            ("ListBatchSegmentJobs", "batchSegmentJobs"),
            s.batch_segment_jobs.values(),
            Some(("solutionVersionArn", |j, v| j.solution_version_arn == v)),
            |j| j.summary(cx),
        ),
        _ => return None,
    };
    Some(answer)
}

#[cfg(test)]
mod tests {
    use super::Meta;

    /// Snapshots from before the two sides shared [`Meta`]: the data side's named its
    /// lifecycle `create`, and the models side's had no `updated`.
    #[test]
    fn metadata_of_older_snapshots_still_reads() {
        let lifecycle = crate::common::Lifecycle::create(time::OffsetDateTime::UNIX_EPOCH, 1.0);
        let meta = Meta {
            arn: "a".into(),
            name: "n".into(),
            seq: 1,
            created: time::OffsetDateTime::UNIX_EPOCH,
            phase: lifecycle,
            delete: None,
            updated: None,
        };
        let now = serde_json::to_value(&meta).unwrap();
        let mut data = now.clone();
        let phase = data.as_object_mut().unwrap().remove("phase").unwrap();
        data.as_object_mut().unwrap().insert("create".into(), phase);
        let mut models = now;
        models.as_object_mut().unwrap().remove("updated");
        for old in [data, models] {
            let read: Meta = serde_json::from_value(old).unwrap();
            assert_eq!(read.arn, "a");
            assert_eq!(read.phase.steps, meta.phase.steps);
            assert!(read.updated.is_none());
        }
    }
}
