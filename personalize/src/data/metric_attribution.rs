//! Metric attributions: Create/Describe/List/Update/DeleteMetricAttribution and
//! ListMetricAttributionMetrics.

use serde_json::{Map, Value, json};

use super::{DatasetType, Meta, already_exists, durations, not_active, not_found, ts};
use crate::Store;
use crate::common::{
    Cx, Lifecycle, Members, check_len, check_name, check_role_arn, check_s3_data_config, paginate,
};
use crate::error::{Error, Result};

/// Metrics per attribution (the model's list maximum).
pub(crate) const MAX_METRICS: usize = 10;

/// One metric: `{eventType, metricName, expression}`.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub(crate) struct Metric {
    /// The event type counted.
    pub(crate) event_type: String,
    /// The metric name (unique within the attribution).
    pub(crate) metric_name: String,
    /// `SUM(Items.PRICE)` or `SAMPLECOUNT()`.
    pub(crate) expression: String,
}

impl Metric {
    fn to_json(&self) -> Value {
        json!({ "eventType": self.event_type, "metricName": self.metric_name, "expression": self.expression })
    }
}

/// A metric attribution.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub(crate) struct MetricAttribution {
    /// ARN, name, lifecycle.
    pub(crate) meta: Meta,
    /// The owning group (one attribution per group).
    pub(crate) dataset_group_arn: String,
    /// The metrics, in the order they were added.
    pub(crate) metrics: Vec<Metric>,
    /// `metricsOutputConfig` as given (validated).
    pub(crate) output: Value,
}

impl MetricAttribution {
    pub(crate) fn full(&self, cx: &Cx<'_>) -> Value {
        json!({
            "name": self.meta.name,
            "metricAttributionArn": self.meta.arn,
            "datasetGroupArn": self.dataset_group_arn,
            "metricsOutputConfig": self.output,
            "status": self.meta.status(cx),
            "creationDateTime": ts(self.meta.created),
            "lastUpdatedDateTime": ts(self.meta.last_updated(cx)),
        })
    }

    pub(crate) fn summary(&self, cx: &Cx<'_>) -> Value {
        json!({
            "name": self.meta.name,
            "metricAttributionArn": self.meta.arn,
            "status": self.meta.status(cx),
            "creationDateTime": ts(self.meta.created),
            "lastUpdatedDateTime": ts(self.meta.last_updated(cx)),
        })
    }
}

fn output_config(m: &Members<'_>) -> Result<Option<Value>> {
    let Some(o) = m.opt_obj("metricsOutputConfig")? else {
        return Ok(None);
    };
    match o.get("roleArn") {
        Some(Value::String(r)) => check_role_arn("metricsOutputConfig.roleArn", r)?,
        None | Some(Value::Null) => {
            return Err(Error::invalid(
                "1 validation error detected: Value null at 'metricsOutputConfig.roleArn' failed to satisfy constraint: Member must not be null",
            ));
        }
        Some(_) => {
            return Err(Error::invalid(
                "Value at 'metricsOutputConfig.roleArn' must be a string.",
            ));
        }
    }
    if let Some(d) = o.get("s3DataDestination").filter(|v| !v.is_null()) {
        check_s3_data_config("metricsOutputConfig.s3DataDestination", d)?;
    }
    Ok(Some(Value::Object(o.clone())))
}

fn str_member<'a>(o: &'a Map<String, Value>, list: &str, i: usize, name: &str) -> Result<&'a str> {
    let path = format!("{list}.{}.member.{name}", i + 1);
    match o.get(name) {
        Some(Value::String(s)) => {
            check_len(&path, s, 0, 256)?;
            Ok(s)
        }
        None | Some(Value::Null) => Err(Error::invalid(format!(
            "1 validation error detected: Value null at '{path}' failed to satisfy constraint: Member must not be null"
        ))),
        Some(_) => Err(Error::invalid(format!("Value at '{path}' must be a string."))),
    }
}

/// Checks a metric expression against the group's datasets: `SAMPLECOUNT()` or
/// `SUM(<Items|Interactions>.<numeric column>)`.
fn check_expression(store: &Store, cx: &Cx<'_>, dsg: &str, expr: &str) -> Result<()> {
    let e = expr.trim();
    if e.eq_ignore_ascii_case("SAMPLECOUNT()") {
        return Ok(());
    }
    let bad = || {
        Error::invalid(format!(
            "Invalid metric expression '{expr}'. Use SAMPLECOUNT() or SUM(<dataset type>.<column>), for example SUM(Items.PRICE)."
        ))
    };
    let inner = e
        .get(..4)
        .filter(|p| p.eq_ignore_ascii_case("SUM("))
        .and_then(|_| e.get(4..))
        .and_then(|r| r.strip_suffix(')'))
        .ok_or_else(bad)?;
    let (ds, col) = inner.trim().split_once('.').ok_or_else(bad)?;
    let ty = DatasetType::parse(ds.trim())
        .filter(|t| matches!(t, DatasetType::Items | DatasetType::Interactions))
        .ok_or_else(bad)?;
    let schema = super::datasets_of(store, dsg)
        .find(|d| d.dataset_type == ty)
        .and_then(|d| super::dataset_schema(store, cx, d))
        .ok_or_else(|| {
            Error::invalid(format!(
                "Invalid metric expression '{expr}': the dataset group has no {} dataset.",
                ty.as_str().to_ascii_lowercase()
            ))
        })?;
    match schema.field(col.trim()) {
        Some(f) if f.is_numeric() => Ok(()),
        Some(_) => Err(Error::invalid(format!(
            "Invalid metric expression '{expr}': column {} is not numeric.",
            col.trim()
        ))),
        None => Err(Error::invalid(format!(
            "Invalid metric expression '{expr}': column {} is not in the {} schema.",
            col.trim(),
            ty.as_str()
        ))),
    }
}

fn parse_metrics(store: &Store, cx: &Cx<'_>, dsg: &str, list: &[Value], member: &str) -> Result<Vec<Metric>> {
    if list.len() > MAX_METRICS {
        return Err(Error::invalid(format!(
            "1 validation error detected: Value at '{member}' failed to satisfy constraint: Member must have length less than or equal to {MAX_METRICS}"
        )));
    }
    let mut out: Vec<Metric> = Vec::with_capacity(list.len());
    for (i, v) in list.iter().enumerate() {
        let o = v.as_object().ok_or_else(|| {
            Error::invalid(format!(
                "Value at '{member}.{}.member' must be a structure.",
                i + 1
            ))
        })?;
        let metric = Metric {
            event_type: str_member(o, member, i, "eventType")?.to_string(),
            metric_name: str_member(o, member, i, "metricName")?.to_string(),
            expression: str_member(o, member, i, "expression")?.to_string(),
        };
        check_expression(store, cx, dsg, &metric.expression)?;
        if out.iter().any(|x| x.metric_name == metric.metric_name) {
            return Err(Error::invalid(format!(
                "Metric name {} appears more than once.",
                metric.metric_name
            )));
        }
        out.push(metric);
    }
    Ok(out)
}

pub(super) fn create(store: &mut Store, cx: &Cx<'_>, m: &Members<'_>) -> Result<Value> {
    let name = m.str("name")?;
    check_name("name", name)?;
    let dsg = m.arn("datasetGroupArn")?;
    let list = m.opt_list("metrics")?.ok_or_else(|| {
        Error::invalid(
            "1 validation error detected: Value null at 'metrics' failed to satisfy constraint: Member must not be null",
        )
    })?;
    let output = output_config(m)?.ok_or_else(|| {
        Error::invalid(
            "1 validation error detected: Value null at 'metricsOutputConfig' failed to satisfy constraint: Member must not be null",
        )
    })?;
    super::dataset_group_is_active(store, cx, dsg)?;
    let metrics = parse_metrics(store, cx, dsg, list, "metrics")?;
    let arn = cx.arn("metric-attribution", name);
    if store.data.metric_attributions.contains_key(&arn) {
        return Err(already_exists(&arn));
    }
    if let Some(existing) = store
        .data
        .metric_attributions
        .values()
        .find(|a| a.dataset_group_arn == dsg)
    {
        return Err(Error::limit(format!(
            "Dataset group {dsg} already has metric attribution {}. A dataset group can have only one metric attribution.",
            existing.meta.arn
        )));
    }
    let lc = Lifecycle::create(cx.ctx.now, durations::FILTER);
    let meta = Meta::new(&mut store.data.seq, cx, arn.clone(), name, lc);
    store.data.metric_attributions.insert(
        arn.clone(),
        MetricAttribution {
            meta,
            dataset_group_arn: dsg.to_string(),
            metrics,
            output,
        },
    );
    Ok(json!({ "metricAttributionArn": arn }))
}

pub(super) fn list_metrics(store: &Store, m: &Members<'_>) -> Result<Value> {
    let arn = m.opt_arn("metricAttributionArn")?;
    let mut attributions: Vec<&MetricAttribution> = store
        .data
        .metric_attributions
        .values()
        .filter(|a| arn.is_none_or(|x| a.meta.arn == x))
        .collect();
    attributions.sort_by_key(|a| a.meta.seq);
    let all: Vec<Value> = attributions
        .iter()
        .flat_map(|a| a.metrics.iter().map(Metric::to_json))
        .collect();
    let (page, next) = paginate(
        &all,
        &format!("ListMetricAttributionMetrics|{}", arn.unwrap_or("")),
        m,
    )?;
    let mut out = Map::new();
    out.insert("metrics".into(), Value::Array(page));
    if let Some(n) = next {
        out.insert("nextToken".into(), json!(n));
    }
    Ok(Value::Object(out))
}

pub(super) fn update(store: &mut Store, cx: &Cx<'_>, m: &Members<'_>) -> Result<Value> {
    let arn = m.arn("metricAttributionArn")?;
    let add = m.opt_list("addMetrics")?;
    let remove = m.opt_list("removeMetrics")?;
    if let Some(r) = remove
        && r.len() > MAX_METRICS
    {
        return Err(Error::invalid(format!(
            "1 validation error detected: Value at 'removeMetrics' failed to satisfy constraint: Member must have length less than or equal to {MAX_METRICS}"
        )));
    }
    let output = output_config(m)?;
    let a = store
        .data
        .metric_attributions
        .get(arn)
        .ok_or_else(|| not_found(arn))?;
    if !a.meta.is_active(cx) {
        return Err(not_active(arn, a.meta.status(cx)));
    }
    let mut metrics = a.metrics.clone();
    for (i, r) in remove.into_iter().flatten().enumerate() {
        let name = r.as_str().ok_or_else(|| {
            Error::invalid(format!(
                "Value at 'removeMetrics.{}.member' must be a string.",
                i + 1
            ))
        })?;
        let before = metrics.len();
        metrics.retain(|x| x.metric_name != name);
        if metrics.len() == before {
            return Err(Error::invalid(format!(
                "Metric {name} is not in metric attribution {arn}."
            )));
        }
    }
    if let Some(add) = add {
        let dsg = a.dataset_group_arn.clone();
        for x in parse_metrics(store, cx, &dsg, add, "addMetrics")? {
            if metrics.iter().any(|y| y.metric_name == x.metric_name) {
                return Err(Error::already_exists(format!(
                    "Metric {} already exists in metric attribution {arn}.",
                    x.metric_name
                )));
            }
            metrics.push(x);
        }
    }
    if metrics.len() > MAX_METRICS {
        return Err(Error::invalid(format!(
            "A metric attribution can have at most {MAX_METRICS} metrics."
        )));
    }
    if let Some(a) = store.data.metric_attributions.get_mut(arn) {
        a.metrics = metrics;
        if let Some(o) = output {
            a.output = o;
        }
        a.meta.updated = Some(cx.ctx.now);
    }
    Ok(json!({ "metricAttributionArn": arn }))
}

pub(super) fn delete(store: &mut Store, m: &Members<'_>) -> Result<Value> {
    let arn = m.arn("metricAttributionArn")?;
    if store.data.metric_attributions.remove(arn).is_none() {
        return Err(not_found(arn));
    }
    super::forget_tags(store, arn);
    Ok(json!({}))
}
