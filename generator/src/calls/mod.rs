//! One Personalize call: its request body with the API's member names, the response a mutating call
//! gets, and, for a failing call, the error and the request change that provokes it.

use rand::RngExt;
use serde_json::{Map, Value, json};

use crate::inventory::{self, Inventory};
use crate::ops::{Kind, OpSpec, Verb};
use crate::rng::{self, Rng};

/// A call's content, before it is either recorded or sent.
#[derive(Debug, Clone, PartialEq)]
pub struct Content {
    /// The request body as sent (a JSON object; empty for parameterless calls).
    pub body: Value,
    /// The successful response of a mutating call (`None` for reads and empty outputs).
    pub response: Option<Value>,
    /// `(errorCode, errorMessage)` when the call fails.
    pub error: Option<(String, String)>,
    /// The event tracker a `PutEvents` names by its tracking id: the record lists it in
    /// `resources`, as the emulator does.
    pub tracker_arn: Option<String>,
}

/// Whether `code` is something `op` can answer.
pub fn error_applies(op: &OpSpec, code: &str) -> bool {
    let modelled = match code {
        "ThrottlingException" | "AccessDeniedException" | "InvalidInputException" => true,
        "ResourceNotFoundException" => !matches!(op.verb, Verb::List) || op.name == "ListSolutionVersions",
        "ResourceAlreadyExistsException" | "LimitExceededException" => op.verb == Verb::Create,
        "ResourceInUseException" => matches!(op.verb, Verb::Delete | Verb::Update | Verb::Create),
        "InvalidNextTokenException" => op.verb == Verb::List,
        _ => false,
    };
    modelled
        && !(op.name == "PutEvents" && code == "ResourceNotFoundException")
        && !(matches!(op.name, "CreateDatasetGroup" | "CreateSchema") && code == "ResourceNotFoundException")
}

/// The member that names the resource a call acts on, if any.
pub(crate) fn target_member(op: &OpSpec) -> Option<&'static str> {
    match op.verb {
        Verb::Describe | Verb::Delete | Verb::Update => Some(op.kind.arn_member()),
        Verb::Tag => Some("resourceArn"),
        Verb::Get if op.name == "GetSolutionMetrics" => Some("solutionVersionArn"),
        Verb::Get => Some("campaignArn"),
        Verb::Put if op.name == "PutEvents" => None,
        Verb::Put => Some("datasetArn"),
        Verb::Create => match op.kind {
            Kind::Dataset
            | Kind::Solution
            | Kind::EventTracker
            | Kind::Recommender
            | Kind::Filter
            | Kind::MetricAttribution
            | Kind::DataDeletionJob => Some("datasetGroupArn"),
            Kind::DatasetImportJob | Kind::DatasetExportJob => Some("datasetArn"),
            Kind::SolutionVersion => Some("solutionArn"),
            Kind::Campaign | Kind::BatchInferenceJob | Kind::BatchSegmentJob => Some("solutionVersionArn"),
            _ => None,
        },
        Verb::List => None,
    }
}

pub(crate) fn list_parent(kind: Kind) -> Option<(&'static str, Kind)> {
    Some(match kind {
        Kind::Dataset
        | Kind::Solution
        | Kind::Filter
        | Kind::EventTracker
        | Kind::Recommender
        | Kind::MetricAttribution
        | Kind::DataDeletionJob => ("datasetGroupArn", Kind::DatasetGroup),
        Kind::DatasetImportJob | Kind::DatasetExportJob => ("datasetArn", Kind::Dataset),
        Kind::SolutionVersion | Kind::Campaign => ("solutionArn", Kind::Solution),
        Kind::BatchInferenceJob | Kind::BatchSegmentJob => ("solutionVersionArn", Kind::SolutionVersion),
        _ => return None,
    })
}

fn role_arn(inv: &Inventory) -> String {
    format!(
        "arn:aws:iam::{}:role/service-role/AmazonPersonalize-ExecutionRole",
        inv.account
    )
}

fn bucket(inv: &Inventory) -> String {
    format!("s3://personalize-{}-{}", inv.account, inv.region)
}

/// The Avro schema of a dataset type, as `CreateSchema` takes it.
pub fn avro_schema(dataset_type: &str) -> String {
    let fields = match dataset_type {
        "Items" => {
            r#"[{"name":"ITEM_ID","type":"string"},{"name":"PRICE","type":"float"},{"name":"CATEGORY_L1","type":"string","categorical":true},{"name":"CREATION_TIMESTAMP","type":"long"}]"#
        }
        "Users" => {
            r#"[{"name":"USER_ID","type":"string"},{"name":"MEMBERSHIP_STATUS","type":"string","categorical":true},{"name":"AGE","type":"int"}]"#
        }
        _ => {
            r#"[{"name":"USER_ID","type":"string"},{"name":"ITEM_ID","type":"string"},{"name":"TIMESTAMP","type":"long"},{"name":"EVENT_TYPE","type":"string"}]"#
        }
    };
    format!(
        r#"{{"type":"record","name":"{dataset_type}","namespace":"com.amazonaws.personalize.schema","fields":{fields},"version":"1.0"}}"#
    )
}

fn obj(pairs: Vec<(&str, Value)>) -> Value {
    let mut m = Map::with_capacity(pairs.len());
    for (k, v) in pairs {
        m.insert(k.to_owned(), v);
    }
    Value::Object(m)
}

/// A fresh resource name that does not exist yet.
fn new_name(rng: &mut Rng, suffix: &str) -> String {
    format!(
        "{}-{suffix}-{}",
        inventory::base_name(rng),
        rng.random_range(100..10_000)
    )
}

fn user_id(rng: &mut Rng) -> String {
    format!("user-{}", rng.random_range(1..250_000))
}

fn item_id(rng: &mut Rng) -> String {
    format!("item-{}", rng.random_range(1..80_000))
}

/// A successful call of `op` against `inv`, at `now_secs` (epoch seconds, for `sentAt`).
pub fn build(op: &OpSpec, inv: &Inventory, rng: &mut Rng, now_secs: i64) -> Content {
    let (region, account) = (inv.region.as_str(), inv.account.as_str());
    let arn_of = |kind: Kind, id: &str| inventory::arn(region, account, kind, id);
    let mut tracker_arn = None;
    let (body, response) = match op.verb {
        Verb::Describe => (
            obj(vec![(op.kind.arn_member(), json!(inv.pick_arn(op.kind, rng)))]),
            None,
        ),
        Verb::Delete => (
            obj(vec![(op.kind.arn_member(), json!(inv.pick_arn(op.kind, rng)))]),
            None,
        ),
        Verb::List => {
            let mut m = Vec::new();
            if let Some((member, parent)) = list_parent(op.kind)
                && rng.random_bool(0.6)
            {
                m.push((member, json!(inv.pick_arn(parent, rng))));
            }
            if op.kind == Kind::Recipe && rng.random_bool(0.3) {
                m.push(("recipeProvider", json!("SERVICE")));
            }
            if rng.random_bool(0.2) {
                m.push(("maxResults", json!(rng.random_range(10..=100))));
            }
            (obj(m), None)
        }
        Verb::Tag => {
            let target = pick_taggable(inv, rng);
            match op.name {
                "TagResource" => (
                    obj(vec![
                        ("resourceArn", json!(target)),
                        (
                            "tags",
                            json!([{"tagKey": "team", "tagValue": (["recs", "growth", "search", "ml-platform"][rng.random_range(0..4)])}]),
                        ),
                    ]),
                    None,
                ),
                "UntagResource" => (
                    obj(vec![
                        ("resourceArn", json!(target)),
                        ("tagKeys", json!(["cost-center"])),
                    ]),
                    None,
                ),
                _ => (obj(vec![("resourceArn", json!(target))]), None),
            }
        }
        Verb::Update => {
            let target = inv.pick_arn(op.kind, rng);
            let member = op.kind.arn_member();
            match op.name {
                "UpdateCampaign" => (
                    obj(vec![
                        (member, json!(target)),
                        ("minProvisionedTPS", json!(rng.random_range(1..20))),
                    ]),
                    Some(obj(vec![(member, json!(target))])),
                ),
                "UpdateDataset" => (
                    obj(vec![
                        (member, json!(target)),
                        ("schemaArn", json!(inv.pick_arn(Kind::Schema, rng))),
                    ]),
                    Some(obj(vec![(member, json!(target))])),
                ),
                "UpdateRecommender" => (
                    obj(vec![
                        (member, json!(target)),
                        (
                            "recommenderConfig",
                            json!({"minRecommendationRequestsPerSecond": rng.random_range(1..10)}),
                        ),
                    ]),
                    Some(obj(vec![(member, json!(target))])),
                ),
                "UpdateSolution" => (
                    obj(vec![
                        (member, json!(target)),
                        ("performAutoTraining", json!(true)),
                        (
                            "solutionUpdateConfig",
                            json!({"autoTrainingConfig": {"schedulingExpression": format!("rate({} days)", rng.random_range(1..15))}}),
                        ),
                    ]),
                    Some(obj(vec![(member, json!(target))])),
                ),
                "StopSolutionVersionCreation" => (obj(vec![(member, json!(target))]), None),
                _ => (
                    obj(vec![(member, json!(target))]),
                    Some(obj(vec![(member, json!(target))])),
                ),
            }
        }
        Verb::Get => match op.name {
            "GetSolutionMetrics" => (
                obj(vec![(
                    "solutionVersionArn",
                    json!(inv.pick_arn(Kind::SolutionVersion, rng)),
                )]),
                None,
            ),
            "GetPersonalizedRanking" => {
                // A ranking request goes to a campaign of a ranking recipe, as any other fails.
                let campaign = inv
                    .pick_where(Kind::Campaign, rng, |r| {
                        Inventory::recipe_of(r) == "personalized-ranking"
                    })
                    .map(|r| r.arn.clone())
                    .unwrap_or_else(|| inv.pick_arn(Kind::Campaign, rng));
                let items: Vec<String> = (0..rng.random_range(3..12)).map(|_| item_id(rng)).collect();
                (
                    obj(vec![
                        ("campaignArn", json!(campaign)),
                        ("inputList", json!(items)),
                        ("userId", json!(user_id(rng))),
                    ]),
                    None,
                )
            }
            "GetActionRecommendations" => (
                obj(vec![
                    ("campaignArn", json!(inv.pick_arn(Kind::Campaign, rng))),
                    ("userId", json!(user_id(rng))),
                    ("numResults", json!(5)),
                ]),
                None,
            ),
            _ => {
                // The request fits the target's recipe: a user for "user personalization" and
                // "recommended for you", an item for related items; ranking campaigns do not
                // serve `GetRecommendations`.
                let target = if rng.random_bool(0.25) && inv.by_kind.contains_key(&Kind::Recommender) {
                    inv.pick(Kind::Recommender, rng).map(|r| ("recommenderArn", r))
                } else {
                    inv.pick_where(Kind::Campaign, rng, |r| {
                        Inventory::recipe_of(r) != "personalized-ranking"
                    })
                    .map(|r| ("campaignArn", r))
                };
                let (member, arn, related) = match target {
                    Some((m, r)) => (m, r.arn.clone(), Inventory::recipe_of(r) == "similar-items"),
                    None => ("campaignArn", inv.missing_arn(Kind::Campaign, rng), false),
                };
                let mut m = vec![(member, json!(arn))];
                if related {
                    m.push(("itemId", json!(item_id(rng))));
                } else {
                    m.push(("userId", json!(user_id(rng))));
                }
                m.push(("numResults", json!([10, 20, 25, 50][rng.random_range(0..4)])));
                (obj(m), None)
            }
        },
        Verb::Put => {
            match op.name {
                "PutEvents" => {
                    let i = rng.random_range(0..inv.tracking_ids.len().max(1));
                    let tracking = inv
                        .tracking_ids
                        .get(i)
                        .cloned()
                        .unwrap_or_else(|| rng::uuid(rng).to_string());
                    // Tracking ids are kept in the order of the trackers they belong to.
                    tracker_arn = inv
                        .by_kind
                        .get(&Kind::EventTracker)
                        .and_then(|t| t.get(i))
                        .map(|t| t.arn.clone());
                    (put_events(&tracking, rng, now_secs), None)
                }
                "PutUsers" => {
                    let users: Vec<Value> = (0..rng.random_range(1..6))
                    .map(|_| json!({"userId": user_id(rng), "properties": "{\"membershipStatus\": \"gold\"}"}))
                    .collect();
                    (
                        obj(vec![
                            ("datasetArn", json!(dataset_of(inv, "USERS", rng))),
                            ("users", json!(users)),
                        ]),
                        None,
                    )
                }
                _ => {
                    let items: Vec<Value> = (0..rng.random_range(1..6))
                        .map(|_| json!({"itemId": item_id(rng), "properties": "{\"categoryL1\": \"shoes\"}"}))
                        .collect();
                    (
                        obj(vec![
                            ("datasetArn", json!(dataset_of(inv, "ITEMS", rng))),
                            ("items", json!(items)),
                        ]),
                        None,
                    )
                }
            }
        }
        Verb::Create => create(op, inv, rng, &arn_of),
    };
    Content {
        body,
        response,
        error: None,
        tracker_arn,
    }
}

/// `PutEvents` with a few interactions.
pub fn put_events(tracking_id: &str, rng: &mut Rng, now_secs: i64) -> Value {
    let events: Vec<Value> = (0..rng.random_range(1..4))
        .map(|_| {
            json!({
                "eventId": rng::hex(rng, 12),
                "eventType": (["click", "view", "purchase", "add-to-cart"][rng.random_range(0..4)]),
                "itemId": item_id(rng),
                "sentAt": now_secs - rng.random_range(0..5),
            })
        })
        .collect();
    obj(vec![
        ("trackingId", json!(tracking_id)),
        ("userId", json!(user_id(rng))),
        ("sessionId", json!(rng::uuid(rng).to_string())),
        ("eventList", json!(events)),
    ])
}

/// Sets every event's `sentAt` in a `PutEvents` body to `now_secs`, when the call is placed in
/// time (offline) or sent (live).
pub fn stamp_sent_at(body: &mut Value, now_secs: i64) {
    if let Some(Value::Array(events)) = body.get_mut("eventList") {
        for e in events {
            if let Some(m) = e.as_object_mut() {
                m.insert("sentAt".to_owned(), json!(now_secs));
            }
        }
    }
}

fn dataset_of(inv: &Inventory, upper: &str, rng: &mut Rng) -> String {
    let g = rng.random_range(0..inv.groups.len().max(1));
    let name = inv.groups.get(g).cloned().unwrap_or_else(|| "default".to_owned());
    inventory::arn(
        &inv.region,
        &inv.account,
        Kind::Dataset,
        &format!("{name}/{upper}"),
    )
}

fn pick_taggable(inv: &Inventory, rng: &mut Rng) -> String {
    let kinds = Kind::TAGGABLE;
    inv.pick_arn(kinds[rng.random_range(0..kinds.len())], rng)
}

fn create(
    op: &OpSpec,
    inv: &Inventory,
    rng: &mut Rng,
    arn_of: &dyn Fn(Kind, &str) -> String,
) -> (Value, Option<Value>) {
    let member = op.kind.arn_member();
    let role = role_arn(inv);
    let s3 = bucket(inv);
    match op.kind {
        Kind::DatasetGroup => {
            let name = new_name(rng, "dsg");
            let arn = arn_of(Kind::DatasetGroup, &name);
            if rng.random_bool(0.4) {
                (
                    obj(vec![("name", json!(name)), ("domain", json!("ECOMMERCE"))]),
                    Some(obj(vec![(member, json!(arn)), ("domain", json!("ECOMMERCE"))])),
                )
            } else {
                (
                    obj(vec![("name", json!(name))]),
                    Some(obj(vec![(member, json!(arn))])),
                )
            }
        }
        Kind::Schema => {
            let t = ["Interactions", "Items", "Users"][rng.random_range(0..3)];
            let name = new_name(rng, &format!("{}-schema", t.to_ascii_lowercase()));
            let arn = arn_of(Kind::Schema, &name);
            (
                obj(vec![("name", json!(name)), ("schema", json!(avro_schema(t)))]),
                Some(obj(vec![(member, json!(arn))])),
            )
        }
        Kind::Dataset => {
            let g = inv
                .pick(Kind::DatasetGroup, rng)
                .map(|r| r.name.clone())
                .unwrap_or_default();
            let t = ["Interactions", "Items", "Users"][rng.random_range(0..3)];
            let name = format!("{g}-{}-{}", t.to_ascii_lowercase(), rng.random_range(2..99));
            let arn = arn_of(Kind::Dataset, &format!("{g}/{}", t.to_ascii_uppercase()));
            (
                obj(vec![
                    ("name", json!(name)),
                    ("schemaArn", json!(inv.pick_arn(Kind::Schema, rng))),
                    ("datasetGroupArn", json!(arn_of(Kind::DatasetGroup, &g))),
                    ("datasetType", json!(t)),
                ]),
                Some(obj(vec![(member, json!(arn))])),
            )
        }
        Kind::DatasetImportJob => {
            let name = new_name(rng, "import");
            let arn = arn_of(op.kind, &name);
            (
                obj(vec![
                    ("jobName", json!(name)),
                    ("datasetArn", json!(inv.pick_arn(Kind::Dataset, rng))),
                    (
                        "dataSource",
                        json!({"dataLocation": format!("{s3}/imports/{}.csv", rng::hex(rng, 6))}),
                    ),
                    ("roleArn", json!(role)),
                    (
                        "importMode",
                        json!(if rng.random_bool(0.7) {
                            "FULL"
                        } else {
                            "INCREMENTAL"
                        }),
                    ),
                ]),
                Some(obj(vec![(member, json!(arn))])),
            )
        }
        Kind::DatasetExportJob => {
            let name = new_name(rng, "export");
            let arn = arn_of(op.kind, &name);
            (
                obj(vec![
                    ("jobName", json!(name)),
                    ("datasetArn", json!(inv.pick_arn(Kind::Dataset, rng))),
                    ("roleArn", json!(role)),
                    (
                        "jobOutput",
                        json!({"s3DataDestination": {"path": format!("{s3}/exports/")}}),
                    ),
                ]),
                Some(obj(vec![(member, json!(arn))])),
            )
        }
        Kind::Solution => {
            let name = new_name(rng, "solution");
            let arn = arn_of(op.kind, &name);
            let recipe = inventory::RECIPES[rng.random_range(0..4)];
            (
                obj(vec![
                    ("name", json!(name)),
                    ("datasetGroupArn", json!(inv.pick_arn(Kind::DatasetGroup, rng))),
                    ("recipeArn", json!(arn_of(Kind::Recipe, recipe))),
                ]),
                Some(obj(vec![(member, json!(arn))])),
            )
        }
        Kind::SolutionVersion => {
            let (sol, incremental) = inv
                .pick(Kind::Solution, rng)
                .map(|r| (r.name.clone(), Inventory::recipe_of(r) == "user-personalization"))
                .unwrap_or_default();
            let arn = arn_of(Kind::SolutionVersion, &format!("{sol}/{}", rng::hex(rng, 8)));
            // Only the incremental recipe (aws-user-personalization) trains in UPDATE mode.
            let update = !rng.random_bool(0.8) && incremental;
            (
                obj(vec![
                    ("solutionArn", json!(arn_of(Kind::Solution, &sol))),
                    ("trainingMode", json!(if update { "UPDATE" } else { "FULL" })),
                ]),
                Some(obj(vec![(member, json!(arn))])),
            )
        }
        Kind::Campaign => {
            let name = new_name(rng, "campaign");
            let arn = arn_of(op.kind, &name);
            (
                obj(vec![
                    ("name", json!(name)),
                    (
                        "solutionVersionArn",
                        json!(inv.pick_arn(Kind::SolutionVersion, rng)),
                    ),
                    ("minProvisionedTPS", json!(1)),
                ]),
                Some(obj(vec![(member, json!(arn))])),
            )
        }
        Kind::Filter => {
            let name = new_name(rng, "filter");
            let arn = arn_of(op.kind, &name);
            (
                obj(vec![
                    ("name", json!(name)),
                    ("datasetGroupArn", json!(inv.pick_arn(Kind::DatasetGroup, rng))),
                    (
                        "filterExpression",
                        json!("EXCLUDE ItemID WHERE Interactions.EVENT_TYPE IN (\"purchase\")"),
                    ),
                ]),
                Some(obj(vec![(member, json!(arn))])),
            )
        }
        Kind::EventTracker => {
            let name = new_name(rng, "tracker");
            let arn = arn_of(op.kind, &rng::hex(rng, 8));
            (
                obj(vec![
                    ("name", json!(name)),
                    ("datasetGroupArn", json!(inv.pick_arn(Kind::DatasetGroup, rng))),
                ]),
                Some(obj(vec![
                    (member, json!(arn)),
                    ("trackingId", json!(rng::uuid(rng).to_string())),
                ])),
            )
        }
        Kind::Recommender => {
            let name = new_name(rng, "recommender");
            let arn = arn_of(op.kind, &name);
            let recipe =
                inventory::ECOMMERCE_RECIPES[rng.random_range(0..inventory::ECOMMERCE_RECIPES.len())];
            (
                obj(vec![
                    ("name", json!(name)),
                    ("datasetGroupArn", json!(inv.pick_arn(Kind::DatasetGroup, rng))),
                    ("recipeArn", json!(arn_of(Kind::Recipe, recipe))),
                ]),
                Some(obj(vec![(member, json!(arn))])),
            )
        }
        Kind::BatchInferenceJob | Kind::BatchSegmentJob => {
            let name = new_name(rng, "batch");
            let arn = arn_of(op.kind, &name);
            (
                obj(vec![
                    ("jobName", json!(name)),
                    (
                        "solutionVersionArn",
                        json!(inv.pick_arn(Kind::SolutionVersion, rng)),
                    ),
                    (
                        "jobInput",
                        json!({"s3DataSource": {"path": format!("{s3}/batch/input.json")}}),
                    ),
                    (
                        "jobOutput",
                        json!({"s3DataDestination": {"path": format!("{s3}/batch/output/")}}),
                    ),
                    ("roleArn", json!(role)),
                ]),
                Some(obj(vec![(member, json!(arn))])),
            )
        }
        Kind::MetricAttribution => {
            let name = new_name(rng, "attribution");
            let arn = arn_of(op.kind, &name);
            (
                obj(vec![
                    ("name", json!(name)),
                    ("datasetGroupArn", json!(inv.pick_arn(Kind::DatasetGroup, rng))),
                    (
                        "metrics",
                        json!([{"eventType": "purchase", "metricName": "revenue", "expression": "SUM(Items.PRICE)"}]),
                    ),
                    ("metricsOutputConfig", json!({"roleArn": role})),
                ]),
                Some(obj(vec![(member, json!(arn))])),
            )
        }
        Kind::DataDeletionJob => {
            let name = new_name(rng, "deletion");
            let arn = arn_of(op.kind, &name);
            (
                obj(vec![
                    ("jobName", json!(name)),
                    ("datasetGroupArn", json!(inv.pick_arn(Kind::DatasetGroup, rng))),
                    (
                        "dataSource",
                        json!({"dataLocation": format!("{s3}/deletions/users.csv")}),
                    ),
                    ("roleArn", json!(role)),
                ]),
                Some(obj(vec![(member, json!(arn))])),
            )
        }
        Kind::Recipe | Kind::Algorithm | Kind::FeatureTransformation => (obj(vec![]), None),
    }
}

/// Turns a successful call into a failing one with `code`: changes the request the way a caller's
/// mistake would, and sets the error message AWS would answer. `caller_arn` is for AccessDenied.
pub fn fail(
    op: &OpSpec,
    inv: &Inventory,
    content: &mut Content,
    code: &str,
    caller_arn: &str,
    rng: &mut Rng,
) {
    let body = match &mut content.body {
        Value::Object(m) => m,
        _ => return,
    };
    let message = match code {
        "ResourceNotFoundException" => {
            let member = match op.name {
                "ListSolutionVersions" => "solutionArn",
                _ => target_member(op).unwrap_or_else(|| op.kind.arn_member()),
            };
            let kind = match member {
                "datasetGroupArn" => Kind::DatasetGroup,
                "datasetArn" => Kind::Dataset,
                "solutionArn" => Kind::Solution,
                "solutionVersionArn" => Kind::SolutionVersion,
                "campaignArn" => Kind::Campaign,
                "resourceArn" => Kind::DatasetGroup,
                _ => op.kind,
            };
            let missing = inv.missing_arn(kind, rng);
            body.insert(member.to_owned(), json!(missing));
            format!("Could not find resource with ARN {missing}")
        }
        "ResourceAlreadyExistsException" => {
            let existing = inv
                .pick(op.kind, rng)
                .map(|r| r.name.clone())
                .unwrap_or_else(|| "default".to_owned());
            let key = if body.contains_key("jobName") {
                "jobName"
            } else {
                "name"
            };
            body.insert(key.to_owned(), json!(existing));
            format!("{} with name {existing} already exists", op.kind.noun())
        }
        "InvalidInputException" => {
            if let Some(key) = ["name", "jobName"].into_iter().find(|k| body.contains_key(*k)) {
                let bad = format!("{} {}", inventory::base_name(rng), rng.random_range(1..9));
                body.insert(key.to_owned(), json!(bad));
                format!(
                    "1 validation error detected: Value '{bad}' at '{key}' failed to satisfy constraint: Member must satisfy regular expression pattern: ^[a-zA-Z0-9][a-zA-Z0-9\\-_]*"
                )
            } else if let Some(member) = target_member(op).filter(|m| body.contains_key(*m)) {
                // The resource's name where its ARN belongs: a value the ARN pattern rejects
                // (a truncated ARN such as `arn:aws:personalize:r:a:campaign` would match it and
                // draw `ResourceNotFoundException` instead).
                let bad = body
                    .get(member)
                    .and_then(Value::as_str)
                    .and_then(|a| a.rsplit('/').next())
                    .filter(|n| !n.is_empty() && !n.starts_with("arn:"))
                    .map(str::to_owned)
                    .unwrap_or_else(|| format!("{}-{}", op.kind.arn_type(), inv.region));
                body.insert(member.to_owned(), json!(bad));
                format!(
                    "1 validation error detected: Value '{bad}' at '{member}' failed to satisfy constraint: Member must satisfy regular expression pattern: arn:([a-z\\d-]+):personalize:.*:.*:.+"
                )
            } else if op.name == "PutEvents" {
                body.insert("sessionId".to_owned(), json!(""));
                "1 validation error detected: Value '' at 'sessionId' failed to satisfy constraint: Member must have length greater than or equal to 1".to_owned()
            } else {
                let n = rng.random_range(101..1000);
                body.insert("maxResults".to_owned(), json!(n));
                format!(
                    "1 validation error detected: Value '{n}' at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to 100"
                )
            }
        }
        "InvalidNextTokenException" => {
            body.insert("nextToken".to_owned(), json!(rng::hex(rng, 48)));
            "Invalid next token.".to_owned()
        }
        "ThrottlingException" => "Rate exceeded".to_owned(),
        "LimitExceededException" => "More than 5 resources with PENDING or IN_PROGRESS status.".to_owned(),
        "ResourceInUseException" => {
            let target = target_member(op)
                .and_then(|m| body.get(m))
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned();
            format!("{} {target} is in use by other resources.", op.kind.noun())
        }
        "AccessDeniedException" => {
            let resource = target_member(op)
                .and_then(|m| body.get(m))
                .and_then(Value::as_str)
                .map(str::to_owned)
                .unwrap_or_else(|| format!("arn:aws:personalize:{}:{}:*", inv.region, inv.account));
            format!(
                "User: {caller_arn} is not authorized to perform: personalize:{} on resource: {resource} because no identity-based policy allows the personalize:{} action",
                op.name, op.name
            )
        }
        other => other.to_owned(),
    };
    content.response = None;
    content.error = Some((code.to_owned(), message));
}

/// The request as CloudTrail records it: members of `sensitive` shapes hidden (the same paths
/// and hiding the emulator uses), `None` when empty.
pub fn request_parameters(op: &OpSpec, body: &Value) -> Option<Value> {
    let m = body.as_object()?;
    if m.is_empty() {
        return None;
    }
    Some(match personalize::Operation::from_name(op.name) {
        Some(o) => cloudtrail::redact::redact(body.clone(), personalize::sensitive_paths(o)),
        None => body.clone(),
    })
}

#[cfg(test)]
mod tests;
