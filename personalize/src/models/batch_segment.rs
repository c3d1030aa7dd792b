//! Batch segment jobs: CreateBatchSegmentJob, DescribeBatchSegmentJob, ListBatchSegmentJobs
//! (the job record and its checks are shared with batch inference).

use serde_json::Value;

use super::batch_inference::{Kind, create_job};
use crate::Store;
use crate::common::{Cx, Members};
use crate::error::Result;

/// The batch segment job record.
pub(crate) type BatchSegmentJob = super::batch_inference::BatchJob;

/// `CreateBatchSegmentJob`: needs an ACTIVE version of a USER_SEGMENTATION recipe.
pub(crate) fn create(store: &mut Store, cx: &Cx<'_>, m: &Members<'_>) -> Result<Value> {
    create_job(store, cx, m, Kind::Segment)
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use crate::ErrorKind;
    use crate::Operation::*;
    use serde_json::{Value, json};

    fn body(name: &str, version: &Value) -> Value {
        json!({"jobName": name, "solutionVersionArn": version, "numResults": 100,
            "jobInput": {"s3DataSource": {"path": "s3://bucket/items.json"}},
            "jobOutput": {"s3DataDestination": {"path": "s3://bucket/segments/", "kmsKeyArn": "arn:aws:kms:us-east-1:123456789012:key/abc"}},
            "roleArn": "arn:aws:iam::123456789012:role/PersonalizeRole"})
    }

    #[test]
    fn segment_jobs() {
        let mut h = Harness::new();
        let dsg = h.active_group("g", None);
        h.with_interactions(&dsg, &[("u1", "a")]);
        let seg = h.active_solution(
            "seg",
            &dsg,
            "arn:aws:personalize:::recipe/aws-item-attribute-affinity",
        );
        let v = json!(h.trained_version(&seg));
        let a = h.ok(CreateBatchSegmentJob, body("s1", &v))["batchSegmentJobArn"].clone();
        assert_eq!(
            a,
            "arn:aws:personalize:us-east-1:123456789012:batch-segment-job/s1"
        );
        let d = h.ok(DescribeBatchSegmentJob, json!({"batchSegmentJobArn": a}));
        assert_eq!(d["batchSegmentJob"]["status"], "CREATE PENDING");
        assert_eq!(d["batchSegmentJob"]["numResults"], 100);
        assert!(d["batchSegmentJob"].get("batchInferenceJobMode").is_none());
        h.advance(700.0);
        assert_eq!(
            h.ok(DescribeBatchSegmentJob, json!({"batchSegmentJobArn": a}))["batchSegmentJob"]["status"],
            "ACTIVE"
        );
        let l = h.ok(ListBatchSegmentJobs, json!({}));
        assert_eq!(l["batchSegmentJobs"][0]["batchSegmentJobArn"], a);
        h.err(
            CreateBatchSegmentJob,
            body("s1", &v),
            ErrorKind::ResourceAlreadyExists,
        );
        let mut b = body("s2", &v);
        b["jobOutput"]["s3DataDestination"]["kmsKeyArn"] = json!("key");
        h.err(CreateBatchSegmentJob, b, ErrorKind::InvalidInput);
        let up = h.active_solution("up", &dsg, UP);
        let uv = json!(h.trained_version(&up));
        h.err(CreateBatchSegmentJob, body("s3", &uv), ErrorKind::InvalidInput);
        h.err(
            DescribeBatchSegmentJob,
            json!({"batchSegmentJobArn": "x"}),
            ErrorKind::InvalidInput,
        );
        h.err(
            ListBatchSegmentJobs,
            json!({"nextToken": "garbage"}),
            ErrorKind::InvalidNextToken,
        );
    }
}
