//! Amazon EC2's `DescribeRegions`, the one EC2 operation served: security scanners call it right
//! after STS `GetCallerIdentity` to learn which Regions to look at, and stop when it fails. Every
//! other EC2 action answers EC2's `InvalidAction` (docs/compatibility.md).

use serde_json::{Map, Value, json};

use crate::seams::{Answer, CallContext, OperationInfo, Reply, Service, ServiceError};

/// `eventSource` of EC2 records.
pub const EVENT_SOURCE: &str = "ec2.amazonaws.com";
/// The XML namespace of EC2 responses (API version 2016-11-15).
pub const XMLNS: &str = "http://ec2.amazonaws.com/doc/2016-11-15/";

/// Regions an account must opt in to (AWS's list); the rest are enabled for every account.
const OPT_IN: &[&str] = &[
    "af-south-1",
    "ap-east-1",
    "ap-east-2",
    "ap-south-2",
    "ap-southeast-3",
    "ap-southeast-4",
    "ap-southeast-5",
    "ap-southeast-6",
    "ap-southeast-7",
    "ca-west-1",
    "eu-central-2",
    "eu-south-1",
    "eu-south-2",
    "il-central-1",
    "me-central-1",
    "me-south-1",
    "mx-central-1",
];

/// EC2, as far as scanners need it.
#[derive(Debug, Clone)]
pub struct Ec2Api {
    /// The Regions of the `aws` partition this emulator serves.
    regions: Vec<String>,
}

impl Ec2Api {
    /// EC2 listing `regions` (those of other partitions are left out, as `DescribeRegions`
    /// answers only for its own partition).
    pub fn new(regions: Vec<String>) -> Self {
        let regions = regions
            .into_iter()
            .filter(|r| !r.starts_with("us-gov-") && !r.starts_with("cn-") && !r.starts_with("eusc-"))
            .collect();
        Ec2Api { regions }
    }

    /// The `RegionName.N` values of a request.
    fn names(input: &Value) -> Vec<String> {
        match input.get("RegionName") {
            Some(Value::Object(o)) => o.values().filter_map(Value::as_str).map(str::to_owned).collect(),
            Some(Value::String(s)) => vec![s.clone()],
            _ => Vec::new(),
        }
    }

    fn describe_regions(&self, input: &Value) -> Result<Value, ServiceError> {
        let names = Self::names(input);
        if let Some(unknown) = names.iter().find(|n| !self.regions.contains(n)) {
            return Err(ServiceError::client(
                "InvalidParameterValue",
                format!("Invalid region: {unknown}"),
            ));
        }
        let info: Vec<Value> = self
            .regions
            .iter()
            .filter(|r| names.is_empty() || names.contains(r))
            .map(|r| {
                let status = if OPT_IN.contains(&r.as_str()) {
                    "opted-in"
                } else {
                    "opt-in-not-required"
                };
                json!({"regionName": r, "regionEndpoint": format!("ec2.{r}.amazonaws.com"), "optInStatus": status})
            })
            .collect();
        Ok(json!({ "regionInfo": info }))
    }
}

impl Service for Ec2Api {
    fn signing_name(&self) -> &'static str {
        "ec2"
    }

    fn event_source(&self) -> &'static str {
        EVENT_SOURCE
    }

    fn query_namespace(&self) -> Option<&'static str> {
        Some(XMLNS)
    }

    fn speaks_ec2(&self) -> bool {
        true
    }

    fn by_action(&self, action: &str) -> Option<OperationInfo> {
        (action == "DescribeRegions").then(|| OperationInfo::management("DescribeRegions", true))
    }

    fn call<'a>(&'a self, _ctx: &'a CallContext<'a>, _op: OperationInfo, input: &'a Value) -> Reply<'a> {
        Box::pin(std::future::ready(Answer::from(self.describe_regions(input))))
    }

    /// EC2 records write a list member as `<name>Set: {"items": [...]}`: `RegionName.1` is
    /// `regionSet.items[0].regionName`.
    fn redact(&self, _operation: OperationInfo, input: Value) -> Value {
        let mut out = Map::new();
        let names = Self::names(&input);
        out.insert(
            "regionSet".into(),
            if names.is_empty() {
                json!({})
            } else {
                json!({"items": names.iter().map(|n| json!({"regionName": n})).collect::<Vec<_>>()})
            },
        );
        if let Some(all) = input.get("AllRegions").and_then(Value::as_str) {
            out.insert("allRegions".into(), json!(all == "true"));
        }
        Value::Object(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regions_of_the_aws_partition_with_their_opt_in_status() {
        let api = Ec2Api::new(vec!["us-east-1".into(), "af-south-1".into(), "cn-north-1".into()]);
        let out = api.describe_regions(&json!({})).unwrap();
        assert_eq!(
            out,
            json!({"regionInfo": [
                {"regionName": "us-east-1", "regionEndpoint": "ec2.us-east-1.amazonaws.com", "optInStatus": "opt-in-not-required"},
                {"regionName": "af-south-1", "regionEndpoint": "ec2.af-south-1.amazonaws.com", "optInStatus": "opted-in"},
            ]})
        );
        let one = api
            .describe_regions(&json!({"RegionName": {"1": "af-south-1"}}))
            .unwrap();
        assert_eq!(one["regionInfo"].as_array().unwrap().len(), 1);
        assert_eq!(
            api.describe_regions(&json!({"RegionName": {"1": "xx-nowhere-1"}}))
                .unwrap_err()
                .code,
            "InvalidParameterValue"
        );
        let op = api.by_action("DescribeRegions").unwrap();
        assert_eq!(
            api.redact(
                op,
                json!({"Action": "DescribeRegions", "RegionName": {"1": "us-east-1"}})
            ),
            json!({"regionSet": {"items": [{"regionName": "us-east-1"}]}})
        );
        assert!(api.by_action("RunInstances").is_none());
    }

    #[test]
    fn compatibility_table_matches_the_code() {
        let rows = crate::testing::compatibility_rows("ec2-operations");
        let api = Ec2Api::new(Vec::new());
        for (op, state) in &rows {
            let served = api.by_action(op).is_some();
            assert_eq!(state == "implemented", served, "{op}: {state}");
        }
        assert_eq!(rows.iter().filter(|(_, s)| s == "implemented").count(), 1);
    }
}
