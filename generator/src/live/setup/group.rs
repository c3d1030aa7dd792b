//! One dataset group's setup, closed-loop, in dependency order: schemas and datasets, imports,
//! solutions and their trained versions, campaigns, event trackers and recommenders.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use serde_json::{Value, json};

use super::client::{Client, Created};
use super::{Stop, of};
use crate::calls;
use crate::inventory::{Inventory, Res};
use crate::ops::Kind;

/// Sets up one dataset group of `inv`; the planned-to-live identifier pairs it learned.
pub(super) async fn group(
    mut c: Client,
    inv: Arc<Inventory>,
    g: usize,
) -> Result<Vec<(String, String)>, Stop> {
    let needs = c.cx.needs.clone();
    let has = |k: Kind| needs.contains(&k);
    let mut learned = Vec::new();
    let name = inv.groups.get(g).cloned().unwrap_or_default();
    let dsg = inv.group_arn(g);
    // A group with a recommender is an e-commerce domain group, and so are its schemas.
    let recommenders: Vec<Res> = if has(Kind::Recommender) {
        of(&inv, Kind::Recommender, g).cloned().collect()
    } else {
        Vec::new()
    };
    let domain = (!recommenders.is_empty()).then_some("ECOMMERCE");
    let with_domain = |mut v: Value| {
        if let (Some(d), Some(m)) = (domain, v.as_object_mut()) {
            m.insert("domain".to_owned(), json!(d));
        }
        v
    };
    c.ensure(
        "CreateDatasetGroup",
        with_domain(json!({ "name": name })),
        &dsg,
        10.0,
    )
    .await?;
    let types = [
        ("Interactions", "interactions", "INTERACTIONS"),
        ("Items", "items", "ITEMS"),
        ("Users", "users", "USERS"),
    ];
    if has(Kind::Schema) || has(Kind::Dataset) {
        for (t, lower, _) in types {
            let schema = format!("{name}-{lower}-schema");
            c.create(
                "CreateSchema",
                with_domain(json!({ "name": schema, "schema": calls::avro_schema(t) })),
            )
            .await?;
            c.cx.active.fetch_add(1, Ordering::Relaxed);
        }
    }
    if has(Kind::Dataset) {
        for (t, lower, upper) in types {
            let schema = crate::inventory::arn(
                &inv.region,
                &inv.account,
                Kind::Schema,
                &format!("{name}-{lower}-schema"),
            );
            let arn = crate::inventory::arn(
                &inv.region,
                &inv.account,
                Kind::Dataset,
                &format!("{name}/{upper}"),
            );
            c.ensure(
                "CreateDataset",
                json!({ "name": format!("{name}-{lower}"), "schemaArn": schema, "datasetGroupArn": dsg, "datasetType": t }),
                &arn,
                8.0,
            )
            .await?;
        }
    }
    if has(Kind::DatasetImportJob) {
        // Interactions first: training and recommenders need them.
        for (_, lower, upper) in types {
            for job in
                of(&inv, Kind::DatasetImportJob, g).filter(|j| j.name.contains(&format!("-{lower}-import-")))
            {
                let dataset = crate::inventory::arn(
                    &inv.region,
                    &inv.account,
                    Kind::Dataset,
                    &format!("{name}/{upper}"),
                );
                let body = json!({
                    "jobName": job.name,
                    "datasetArn": dataset,
                    "dataSource": {"dataLocation": format!("s3://personalize-{}-{}/{name}/{lower}.csv", inv.account, inv.region)},
                    "roleArn": role(&inv),
                    "importMode": "FULL",
                });
                c.ensure("CreateDatasetImportJob", body, &job.arn, 60.0).await?;
            }
        }
    }
    // Recommenders train beside the solutions; they are waited for last.
    let mut pending_recommenders = Vec::new();
    for r in &recommenders {
        let body = json!({ "name": r.name, "datasetGroupArn": dsg, "recipeArn": "arn:aws:personalize:::recipe/aws-ecomm-recommended-for-you" });
        let arn = match c.create("CreateRecommender", body).await? {
            Created::New(a) => a
                .get("recommenderArn")
                .and_then(Value::as_str)
                .unwrap_or(&r.arn)
                .to_owned(),
            Created::Existing => r.arn.clone(),
        };
        pending_recommenders.push(arn);
    }
    if has(Kind::Solution) {
        let solutions: Vec<Res> = of(&inv, Kind::Solution, g).cloned().collect();
        for sol in &solutions {
            let recipe = format!("arn:aws:personalize:::recipe/aws-{}", Inventory::recipe_of(sol));
            c.ensure(
                "CreateSolution",
                json!({ "name": sol.name, "datasetGroupArn": dsg, "recipeArn": recipe }),
                &sol.arn,
                10.0,
            )
            .await?;
        }
        if has(Kind::SolutionVersion) {
            versions(&mut c, &inv, g, &solutions, &mut learned).await?;
        }
    }
    let live = |planned: &str, learned: &[(String, String)]| {
        learned
            .iter()
            .find(|(p, _)| p == planned)
            .map(|(_, l)| l.clone())
            .unwrap_or_else(|| planned.to_owned())
    };
    if has(Kind::Campaign) {
        for camp in of(&inv, Kind::Campaign, g) {
            let sol = camp.name.strip_suffix("-campaign").unwrap_or(&camp.name);
            let Some(version) =
                of(&inv, Kind::SolutionVersion, g).find(|v| v.arn.contains(&format!("/{sol}/")))
            else {
                continue;
            };
            let body = json!({ "name": camp.name, "solutionVersionArn": live(&version.arn, &learned), "minProvisionedTPS": 1 });
            c.ensure("CreateCampaign", body, &camp.arn, 45.0).await?;
        }
    }
    if has(Kind::BatchInferenceJob) {
        for job in of(&inv, Kind::BatchInferenceJob, g) {
            let Some(sol) = job.name.rsplit_once("-batch-").map(|(s, _)| s) else {
                continue;
            };
            let Some(version) =
                of(&inv, Kind::SolutionVersion, g).find(|v| v.arn.contains(&format!("/{sol}/")))
            else {
                continue;
            };
            let s3 = format!("s3://personalize-{}-{}", inv.account, inv.region);
            let body = json!({
                "jobName": job.name,
                "solutionVersionArn": live(&version.arn, &learned),
                "jobInput": {"s3DataSource": {"path": format!("{s3}/batch/input.json")}},
                "jobOutput": {"s3DataDestination": {"path": format!("{s3}/batch/output/")}},
                "roleArn": role(&inv),
            });
            c.ensure("CreateBatchInferenceJob", body, &job.arn, 60.0).await?;
        }
    }
    if has(Kind::Filter) {
        for f in of(&inv, Kind::Filter, g) {
            let body = json!({ "name": f.name, "datasetGroupArn": dsg, "filterExpression": "EXCLUDE ItemID WHERE Interactions.EVENT_TYPE IN (\"purchase\")" });
            c.ensure("CreateFilter", body, &f.arn, 20.0).await?;
        }
    }
    if has(Kind::EventTracker) {
        let trackers: Vec<(usize, &Res)> = inv
            .by_kind
            .get(&Kind::EventTracker)
            .into_iter()
            .flatten()
            .enumerate()
            .filter(|(_, r)| r.group == g)
            .collect();
        for (i, t) in trackers {
            tracker(&mut c, &inv, &dsg, i, t, &mut learned).await?;
        }
    }
    for arn in pending_recommenders {
        c.active("DescribeRecommender", "recommenderArn", &arn, 60.0)
            .await?;
    }
    Ok(learned)
}

fn role(inv: &Inventory) -> String {
    format!(
        "arn:aws:iam::{}:role/service-role/AmazonPersonalize-ExecutionRole",
        inv.account
    )
}

/// Trains the inventory's versions of `solutions`, reusing versions an earlier run left.
async fn versions(
    c: &mut Client,
    inv: &Inventory,
    g: usize,
    solutions: &[Res],
    learned: &mut Vec<(String, String)>,
) -> Result<(), Stop> {
    let mut waiting = Vec::new();
    for sol in solutions {
        let planned: Vec<&Res> = of(inv, Kind::SolutionVersion, g)
            .filter(|v| v.arn.contains(&format!("/{}/", sol.name)))
            .collect();
        let (status, code, answer) = c
            .call("ListSolutionVersions", &json!({ "solutionArn": sol.arn }))
            .await?;
        if status >= 300 {
            return Err(Stop::Failed(format!("ListSolutionVersions {}: {code}", sol.arn)));
        }
        let mut existing: Vec<String> = answer
            .get("solutionVersions")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter(|v| {
                v.get("status").and_then(Value::as_str).is_some_and(|s| {
                    !(s.ends_with("FAILED") || s.ends_with("STOPPED") || s.starts_with("DELETE"))
                })
            })
            .filter_map(|v| {
                v.get("solutionVersionArn")
                    .and_then(Value::as_str)
                    .map(str::to_owned)
            })
            .collect();
        existing.sort();
        for (i, v) in planned.iter().enumerate() {
            let arn = match existing.get(i) {
                Some(e) => {
                    c.cx.adopted.fetch_add(1, Ordering::Relaxed);
                    e.clone()
                }
                None => match c
                    .create(
                        "CreateSolutionVersion",
                        json!({ "solutionArn": sol.arn, "trainingMode": "FULL" }),
                    )
                    .await?
                {
                    Created::New(a) => a
                        .get("solutionVersionArn")
                        .and_then(Value::as_str)
                        .unwrap_or(&v.arn)
                        .to_owned(),
                    Created::Existing => v.arn.clone(),
                },
            };
            learned.push((v.arn.clone(), arn.clone()));
            waiting.push(arn);
        }
    }
    for arn in waiting {
        c.active("DescribeSolutionVersion", "solutionVersionArn", &arn, 90.0)
            .await?;
    }
    Ok(())
}

/// The group's event tracker: created, or the one the group has; its ARN and tracking ID.
async fn tracker(
    c: &mut Client,
    inv: &Inventory,
    dsg: &str,
    i: usize,
    t: &Res,
    learned: &mut Vec<(String, String)>,
) -> Result<(), Stop> {
    let arn = match c
        .create(
            "CreateEventTracker",
            json!({ "name": t.name, "datasetGroupArn": dsg }),
        )
        .await?
    {
        Created::New(a) => a
            .get("eventTrackerArn")
            .and_then(Value::as_str)
            .map(str::to_owned),
        Created::Existing => {
            let (_, _, list) = c
                .call("ListEventTrackers", &json!({ "datasetGroupArn": dsg }))
                .await?;
            list.get("eventTrackers")
                .and_then(Value::as_array)
                .and_then(|l| l.first())
                .and_then(|e| e.get("eventTrackerArn"))
                .and_then(Value::as_str)
                .map(str::to_owned)
        }
    };
    let Some(arn) = arn else {
        return Err(Stop::Failed(format!("no event tracker found for {dsg}")));
    };
    let described = c
        .active("DescribeEventTracker", "eventTrackerArn", &arn, 15.0)
        .await?;
    learned.push((t.arn.clone(), arn));
    if let (Some(planned), Some(live)) = (
        inv.tracking_ids.get(i),
        described.get("trackingId").and_then(Value::as_str),
    ) {
        learned.push((planned.clone(), live.to_owned()));
    }
    Ok(())
}
