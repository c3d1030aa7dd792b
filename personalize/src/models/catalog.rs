//! The built-in recipes, algorithms and feature transformations, and the four operations that read them.

use serde_json::{Map, Value, json};

use crate::common::{Members, paginate};
use crate::error::{Error, Result};

/// What a recipe is for; decides which runtime calls and batch jobs a model answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RecipeType {
    /// Items for a user (`GetRecommendations` with `userId`).
    UserPersonalization,
    /// Reranks a list of items for a user (`GetPersonalizedRanking`).
    PersonalizedRanking,
    /// Items like an item (`GetRecommendations` with `itemId`).
    RelatedItems,
    /// Users for items or item attributes (batch segment jobs only).
    UserSegmentation,
    /// Actions for a user (`GetActionRecommendations`).
    PersonalizedActions,
}

impl RecipeType {
    /// The `recipeType` string.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            RecipeType::UserPersonalization => "USER_PERSONALIZATION",
            RecipeType::PersonalizedRanking => "PERSONALIZED_RANKING",
            RecipeType::RelatedItems => "RELATED_ITEMS",
            RecipeType::UserSegmentation => "USER_SEGMENTATION",
            RecipeType::PersonalizedActions => "PERSONALIZED_ACTIONS",
        }
    }
}

/// How the emulator scores items for a recipe (see docs/personalize-behaviour.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scoring {
    /// Co-occurrence with the user's history plus popularity; history excluded.
    Personalized,
    /// Interaction count from distinct users; the same list for everyone.
    Popularity,
    /// Popularity counted only over one event type (the domain "popular by" recipes).
    PopularityOf(&'static str),
    /// Growth of interactions between the two most recent time windows.
    Trending,
    /// Co-occurrence with the given item.
    Similar,
    /// Co-occurrence with the given item counted only over one event type.
    SimilarOf(&'static str),
    /// Actions by how often users took them, the user's own actions excluded.
    Actions,
    /// Users by affinity with items (batch segments only).
    Segments,
}

/// One built-in recipe.
#[derive(Debug)]
pub(crate) struct Recipe {
    /// `aws-...`.
    pub(crate) name: &'static str,
    /// What it is for.
    pub(crate) kind: RecipeType,
    /// Algorithm id (after `algorithm/`).
    pub(crate) algorithm: &'static str,
    /// Feature transformation id, when the recipe has one.
    pub(crate) feature_transformation: Option<&'static str>,
    /// `ECOMMERCE` or `VIDEO_ON_DEMAND` for recommender (use-case) recipes.
    pub(crate) domain: Option<&'static str>,
    /// How recommendations are computed.
    pub(crate) scoring: Scoring,
    /// The `description` DescribeRecipe answers.
    pub(crate) description: &'static str,
    /// Whether results carry a `score` (documented for the custom personalization,
    /// ranking and action recipes; not for popularity, trending, similar items or domains).
    pub(crate) scores: bool,
    /// Whether `trainingMode` `UPDATE` is allowed.
    pub(crate) incremental: bool,
    /// When the recipe was published (epoch seconds).
    pub(crate) created: i64,
}

impl Recipe {
    /// The recipe ARN.
    pub(crate) fn arn(&self) -> String {
        format!("arn:aws:personalize:::recipe/{}", self.name)
    }
    fn algorithm_arn(&self) -> String {
        format!("arn:aws:personalize:::algorithm/{}", self.algorithm)
    }
}

use RecipeType as T;
use Scoring as S;

// Publication dates are fixed so every emulator answers the same; they follow the
// order in which AWS announced the recipes.
const LAUNCH: i64 = 1_543_622_400; // 2018-12-01
const UP_2019: i64 = 1_564_617_600; // 2019-08-01
const SEG_2022: i64 = 1_654_041_600; // 2022-06-01
const DOM_2021: i64 = 1_637_712_000; // 2021-11-24
const TREND_2023: i64 = 1_682_899_200; // 2023-05-01
const NBA_2023: i64 = 1_700_000_000; // 2023-11-14
const V2_2024: i64 = 1_714_521_600; // 2024-05-01

/// Every built-in recipe, sorted by name.
pub(crate) static RECIPES: &[Recipe] = &[
    Recipe {
        name: "aws-ecomm-customers-who-viewed-x-also-viewed",
        kind: T::RelatedItems,
        algorithm: "aws-ecomm-customers-who-viewed-x-also-viewed",
        feature_transformation: None,
        domain: Some("ECOMMERCE"),
        scoring: S::SimilarOf("View"),
        description: "Recommendations for items that other customers viewed when they viewed a given item.",
        scores: false,
        incremental: false,
        created: DOM_2021,
    },
    Recipe {
        name: "aws-ecomm-frequently-bought-together",
        kind: T::RelatedItems,
        algorithm: "aws-ecomm-frequently-bought-together",
        feature_transformation: None,
        domain: Some("ECOMMERCE"),
        scoring: S::SimilarOf("Purchase"),
        description: "Recommendations for items that customers frequently buy together with a given item.",
        scores: false,
        incremental: false,
        created: DOM_2021,
    },
    Recipe {
        name: "aws-ecomm-popular-items-by-purchases",
        kind: T::UserPersonalization,
        algorithm: "aws-ecomm-popular-items-by-purchases",
        feature_transformation: None,
        domain: Some("ECOMMERCE"),
        scoring: S::PopularityOf("Purchase"),
        description: "Recommendations for the items purchased most by your users.",
        scores: false,
        incremental: false,
        created: DOM_2021,
    },
    Recipe {
        name: "aws-ecomm-popular-items-by-views",
        kind: T::UserPersonalization,
        algorithm: "aws-ecomm-popular-items-by-views",
        feature_transformation: None,
        domain: Some("ECOMMERCE"),
        scoring: S::PopularityOf("View"),
        description: "Recommendations for the items viewed most by your users.",
        scores: false,
        incremental: false,
        created: DOM_2021,
    },
    Recipe {
        name: "aws-ecomm-recommended-for-you",
        kind: T::UserPersonalization,
        algorithm: "aws-ecomm-recommended-for-you",
        feature_transformation: None,
        domain: Some("ECOMMERCE"),
        scoring: S::Personalized,
        description: "Personalized recommendations for items based on a user's past behavior.",
        scores: false,
        incremental: false,
        created: DOM_2021,
    },
    Recipe {
        name: "aws-hrnn",
        kind: T::UserPersonalization,
        algorithm: "aws-hrnn",
        feature_transformation: Some("JSON-percentile-filtering"),
        domain: None,
        scoring: S::Personalized,
        description: "Predicts items a user will interact with. A hierarchical recurrent neural network which models the temporal order of user-item interactions.",
        scores: true,
        incremental: false,
        created: LAUNCH,
    },
    Recipe {
        name: "aws-hrnn-coldstart",
        kind: T::UserPersonalization,
        algorithm: "aws-hrnn-coldstart",
        feature_transformation: Some("featurize_coldstart"),
        domain: None,
        scoring: S::Personalized,
        description: "Predicts items a user will interact with and incorporates new item metadata for cold-start items. HRNN with meta-data and cold-start item exploration.",
        scores: true,
        incremental: true,
        created: LAUNCH,
    },
    Recipe {
        name: "aws-hrnn-metadata",
        kind: T::UserPersonalization,
        algorithm: "aws-hrnn-metadata",
        feature_transformation: Some("featurize_metadata"),
        domain: None,
        scoring: S::Personalized,
        description: "Predicts items a user will interact with. HRNN with additional features derived from contextual metadata and user and item metadata.",
        scores: true,
        incremental: false,
        created: LAUNCH,
    },
    Recipe {
        name: "aws-item-affinity",
        kind: T::UserSegmentation,
        algorithm: "aws-item-affinity",
        feature_transformation: Some("item-affinity"),
        domain: None,
        scoring: S::Segments,
        description: "Creates a segment of users for each item: the users most likely to interact with it.",
        scores: false,
        incremental: false,
        created: SEG_2022,
    },
    Recipe {
        name: "aws-item-attribute-affinity",
        kind: T::UserSegmentation,
        algorithm: "aws-item-attribute-affinity",
        feature_transformation: Some("item-attribute-affinity"),
        domain: None,
        scoring: S::Segments,
        description: "Creates a segment of users for each item attribute: the users most likely to interact with items that have it.",
        scores: false,
        incremental: false,
        created: SEG_2022,
    },
    Recipe {
        name: "aws-next-best-action",
        kind: T::PersonalizedActions,
        algorithm: "aws-next-best-action",
        feature_transformation: None,
        domain: None,
        scoring: S::Actions,
        description: "Predicts the actions a user will most likely take next.",
        scores: true,
        incremental: false,
        created: NBA_2023,
    },
    Recipe {
        name: "aws-personalized-ranking",
        kind: T::PersonalizedRanking,
        algorithm: "aws-personalized-ranking",
        feature_transformation: Some("JSON-percentile-filtering"),
        domain: None,
        scoring: S::Personalized,
        description: "Reranks an input list of items for a given user. Trains on user-item interaction data, item metadata and user metadata.",
        scores: true,
        incremental: false,
        created: UP_2019,
    },
    Recipe {
        name: "aws-personalized-ranking-v2",
        kind: T::PersonalizedRanking,
        algorithm: "aws-personalized-ranking-v2",
        feature_transformation: Some("JSON-percentile-filtering"),
        domain: None,
        scoring: S::Personalized,
        description: "Reranks an input list of items for a given user with a transformer-based architecture. Scales to large item catalogs.",
        scores: true,
        incremental: false,
        created: V2_2024,
    },
    Recipe {
        name: "aws-popularity-count",
        kind: T::UserPersonalization,
        algorithm: "aws-popularity-count",
        feature_transformation: Some("sims"),
        domain: None,
        scoring: S::Popularity,
        description: "Calculates popularity of items based on total number of events for each item in the user-item interactions dataset.",
        scores: false,
        incremental: false,
        created: LAUNCH,
    },
    Recipe {
        name: "aws-semantic-similarity",
        kind: T::RelatedItems,
        algorithm: "aws-semantic-similarity",
        feature_transformation: None,
        domain: None,
        scoring: S::Similar,
        description: "Recommends items that are semantically similar to a given item, based on item text.",
        scores: false,
        incremental: false,
        created: V2_2024,
    },
    Recipe {
        name: "aws-similar-items",
        kind: T::RelatedItems,
        algorithm: "aws-similar-items",
        feature_transformation: Some("sims"),
        domain: None,
        scoring: S::Similar,
        description: "Recommends items similar to a given item, based on co-occurrence in interactions data and on item metadata.",
        scores: false,
        incremental: false,
        created: SEG_2022,
    },
    Recipe {
        name: "aws-sims",
        kind: T::RelatedItems,
        algorithm: "aws-sims",
        feature_transformation: Some("sims"),
        domain: None,
        scoring: S::Similar,
        description: "Computes items similar to a given item based on co-occurrence of items in the user-item interactions dataset.",
        scores: false,
        incremental: false,
        created: LAUNCH,
    },
    Recipe {
        name: "aws-trending-now",
        kind: T::UserPersonalization,
        algorithm: "aws-trending-now-custom",
        feature_transformation: None,
        domain: None,
        scoring: S::Trending,
        description: "Recommends items that are rapidly becoming more popular with your users.",
        scores: false,
        incremental: false,
        created: TREND_2023,
    },
    Recipe {
        name: "aws-user-personalization",
        kind: T::UserPersonalization,
        algorithm: "aws-user-personalization",
        feature_transformation: Some("JSON-percentile-filtering"),
        domain: None,
        scoring: S::Personalized,
        description: "User personalization with item exploration: predicts items a user will interact with and explores cold items.",
        scores: true,
        incremental: true,
        created: UP_2019,
    },
    Recipe {
        name: "aws-user-personalization-v2",
        kind: T::UserPersonalization,
        algorithm: "aws-user-personalization-v2",
        feature_transformation: Some("JSON-percentile-filtering"),
        domain: None,
        scoring: S::Personalized,
        description: "Predicts items a user will interact with using a transformer-based architecture. Scales to large item catalogs.",
        scores: true,
        incremental: false,
        created: V2_2024,
    },
    Recipe {
        name: "aws-vod-because-you-watched-x",
        kind: T::RelatedItems,
        algorithm: "aws-vod-because-you-watched-x",
        feature_transformation: None,
        domain: Some("VIDEO_ON_DEMAND"),
        scoring: S::Similar,
        description: "Recommendations for videos similar to a video that a user watched.",
        scores: false,
        incremental: false,
        created: DOM_2021,
    },
    Recipe {
        name: "aws-vod-more-like-x",
        kind: T::RelatedItems,
        algorithm: "aws-vod-more-like-x",
        feature_transformation: None,
        domain: Some("VIDEO_ON_DEMAND"),
        scoring: S::Similar,
        description: "Recommendations for videos similar to a given video.",
        scores: false,
        incremental: false,
        created: DOM_2021,
    },
    Recipe {
        name: "aws-vod-most-popular",
        kind: T::UserPersonalization,
        algorithm: "aws-vod-most-popular",
        feature_transformation: None,
        domain: Some("VIDEO_ON_DEMAND"),
        scoring: S::PopularityOf("Watch"),
        description: "Recommendations for the most popular videos.",
        scores: false,
        incremental: false,
        created: DOM_2021,
    },
    Recipe {
        name: "aws-vod-top-picks",
        kind: T::UserPersonalization,
        algorithm: "aws-vod-top-picks",
        feature_transformation: None,
        domain: Some("VIDEO_ON_DEMAND"),
        scoring: S::Personalized,
        description: "Personalized video recommendations for a user.",
        scores: false,
        incremental: false,
        created: DOM_2021,
    },
    Recipe {
        name: "aws-vod-trending-now",
        kind: T::UserPersonalization,
        algorithm: "aws-vod-trending-now",
        feature_transformation: None,
        domain: Some("VIDEO_ON_DEMAND"),
        scoring: S::Trending,
        description: "Recommendations for videos that are rapidly becoming more popular with your users.",
        scores: false,
        incremental: false,
        created: DOM_2021,
    },
];

/// Feature transformations: id and default parameters.
static FEATURE_TRANSFORMATIONS: &[(&str, &[(&str, &str)])] = &[
    (
        "JSON-percentile-filtering",
        &[
            ("max_user_history_length_percentile", "0.99"),
            ("min_user_history_length_percentile", "0.0"),
        ],
    ),
    (
        "featurize_coldstart",
        &[
            ("cold_start_max_duration", "5"),
            ("cold_start_max_interactions", "15"),
            ("cold_start_relative_from", "currentTime"),
            ("max_user_history_length_percentile", "0.99"),
            ("min_user_history_length_percentile", "0.0"),
        ],
    ),
    (
        "featurize_metadata",
        &[
            ("max_user_history_length_percentile", "0.99"),
            ("min_user_history_length_percentile", "0.0"),
        ],
    ),
    ("item-affinity", &[]),
    ("item-attribute-affinity", &[]),
    (
        "sims",
        &[
            ("max_item_interaction_count_percentile", "0.9"),
            ("max_user_history_length_percentile", "0.995"),
            ("min_user_history_length_percentile", "0.005"),
        ],
    ),
];

/// A hyperparameter: name, default, and its range (`Int`, `Cont`, `Cat`) with tunability.
enum Range {
    Int(i64, i64, bool),
    Cont(f64, f64, bool),
    Cat(&'static [&'static str], bool),
}

fn hyperparameters(algorithm: &str) -> &'static [(&'static str, &'static str, Range)] {
    use Range::{Cat, Cont, Int};
    const TF: &[&str] = &["true", "false"];
    match algorithm {
        "aws-user-personalization" | "aws-hrnn" | "aws-hrnn-metadata" | "aws-hrnn-coldstart" => &[
            ("bptt", "32", Int(2, 32, true)),
            ("exploration_item_age_cut_off", "30", Cont(1.0, 1000.0, false)),
            ("exploration_weight", "0.3", Cont(0.0, 1.0, false)),
            ("hidden_dimension", "149", Int(32, 256, true)),
            ("recency_mask", "true", Cat(TF, true)),
        ],
        "aws-personalized-ranking" => &[
            ("bptt", "32", Int(2, 32, true)),
            ("hidden_dimension", "149", Int(32, 256, true)),
            ("recency_mask", "true", Cat(TF, true)),
        ],
        "aws-user-personalization-v2" | "aws-personalized-ranking-v2" => {
            &[("apply_recency_bias", "true", Cat(TF, false))]
        }
        "aws-sims" | "aws-similar-items" => &[
            ("min_cointeraction_count", "3", Int(0, 10, true)),
            ("popularity_discount_factor", "0.5", Cont(0.0, 1.0, true)),
        ],
        _ => &[],
    }
}

/// A recipe's ARN.
pub(crate) fn recipe_arn(r: &Recipe) -> String {
    format!("arn:aws:personalize:::recipe/{}", r.name)
}

/// A recipe by ARN.
pub(crate) fn recipe(arn: &str) -> Option<&'static Recipe> {
    let name = arn.strip_prefix("arn:aws:personalize:::recipe/")?;
    RECIPES.iter().find(|r| r.name == name)
}

fn recipe_json(r: &Recipe) -> Value {
    let mut o = Map::new();
    o.insert("name".into(), json!(r.name));
    o.insert("recipeArn".into(), json!(r.arn()));
    o.insert("algorithmArn".into(), json!(r.algorithm_arn()));
    if let Some(ft) = r.feature_transformation {
        o.insert(
            "featureTransformationArn".into(),
            json!(format!("arn:aws:personalize:::feature-transformation/{ft}")),
        );
    }
    o.insert("status".into(), json!("ACTIVE"));
    o.insert("description".into(), json!(r.description));
    o.insert("creationDateTime".into(), json!(r.created));
    o.insert("recipeType".into(), json!(r.kind.as_str()));
    o.insert("lastUpdatedDateTime".into(), json!(r.created));
    Value::Object(o)
}

fn not_found(arn: &str) -> Error {
    Error::not_found(format!("Resource Arn {arn} does not exist."))
}

/// `DescribeRecipe`.
pub(crate) fn describe_recipe(input: &Value) -> Result<Value> {
    let m = Members::new(input);
    let arn = m.arn("recipeArn")?;
    let r = recipe(arn).ok_or_else(|| not_found(arn))?;
    Ok(json!({ "recipe": recipe_json(r) }))
}

/// `ListRecipes`: every recipe (with `domain` on the use-case ones), optionally one domain's.
pub(crate) fn list_recipes(input: &Value) -> Result<Value> {
    let m = Members::new(input);
    if let Some(p) = m.opt_str("recipeProvider")?
        && p != "SERVICE"
    {
        return Err(super::enum_error("recipeProvider", p, &["SERVICE"]));
    }
    let domain = m.opt_str("domain")?;
    if let Some(d) = domain {
        super::check_domain(d)?;
    }
    let rows: Vec<&Recipe> = RECIPES
        .iter()
        .filter(|r| domain.is_none() || r.domain == domain)
        .collect();
    let query = format!("ListRecipes|{}", domain.unwrap_or(""));
    let (page, next) = paginate(&rows, &query, &m)?;
    let recipes: Vec<Value> = page
        .iter()
        .map(|r| {
            let mut o = json!({
                "name": r.name,
                "recipeArn": r.arn(),
                "status": "ACTIVE",
                "creationDateTime": r.created,
                "lastUpdatedDateTime": r.created,
            });
            if let (Some(d), Some(obj)) = (r.domain, o.as_object_mut()) {
                obj.insert("domain".into(), json!(d));
            }
            o
        })
        .collect();
    let mut out = json!({ "recipes": recipes });
    if let (Some(n), Some(obj)) = (next, out.as_object_mut()) {
        obj.insert("nextToken".into(), json!(n));
    }
    Ok(out)
}

/// `DescribeAlgorithm`.
pub(crate) fn describe_algorithm(input: &Value) -> Result<Value> {
    let m = Members::new(input);
    let arn = m.arn("algorithmArn")?;
    let id = arn
        .strip_prefix("arn:aws:personalize:::algorithm/")
        .ok_or_else(|| not_found(arn))?;
    let r = RECIPES
        .iter()
        .find(|r| r.algorithm == id)
        .ok_or_else(|| not_found(arn))?;
    let params = hyperparameters(id);
    let defaults: Map<String, Value> = params
        .iter()
        .map(|(n, d, _)| ((*n).to_string(), json!(d)))
        .collect();
    let (mut ints, mut conts, mut cats) = (vec![], vec![], vec![]);
    for (n, _, range) in params {
        match range {
            Range::Int(lo, hi, t) => {
                ints.push(json!({"name": n, "minValue": lo, "maxValue": hi, "isTunable": t}))
            }
            Range::Cont(lo, hi, t) => {
                conts.push(json!({"name": n, "minValue": lo, "maxValue": hi, "isTunable": t}))
            }
            Range::Cat(vals, t) => cats.push(json!({"name": n, "values": vals, "isTunable": t})),
        }
    }
    Ok(json!({ "algorithm": {
        "name": r.algorithm,
        "algorithmArn": arn,
        "algorithmImage": {
            "name": r.algorithm,
            "dockerURI": format!("personalize/{}:1", r.algorithm),
        },
        "defaultHyperParameters": defaults,
        "defaultHyperParameterRanges": {
            "integerHyperParameterRanges": ints,
            "continuousHyperParameterRanges": conts,
            "categoricalHyperParameterRanges": cats,
        },
        "defaultResourceConfig": {"maxNumberOfTrainingJobs": "20", "maxParallelTrainingJobs": "5"},
        "trainingInputMode": "File",
        "creationDateTime": r.created,
        "lastUpdatedDateTime": r.created,
    }}))
}

/// `DescribeFeatureTransformation`.
pub(crate) fn describe_feature_transformation(input: &Value) -> Result<Value> {
    let m = Members::new(input);
    let arn = m.arn("featureTransformationArn")?;
    let id = arn
        .strip_prefix("arn:aws:personalize:::feature-transformation/")
        .ok_or_else(|| not_found(arn))?;
    let (name, params) = FEATURE_TRANSFORMATIONS
        .iter()
        .find(|(n, _)| *n == id)
        .ok_or_else(|| not_found(arn))?;
    let created = RECIPES
        .iter()
        .filter(|r| r.feature_transformation == Some(name))
        .map(|r| r.created)
        .min()
        .unwrap_or(LAUNCH);
    let defaults: Map<String, Value> = params.iter().map(|(k, v)| ((*k).to_string(), json!(v))).collect();
    Ok(json!({ "featureTransformation": {
        "name": name,
        "featureTransformationArn": arn,
        "defaultParameters": defaults,
        "creationDateTime": created,
        "lastUpdatedDateTime": created,
        "status": "ACTIVE",
    }}))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recipes_are_sorted_unique_and_resolve() {
        let names: Vec<&str> = RECIPES.iter().map(|r| r.name).collect();
        let mut sorted = names.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(names, sorted);
        for r in RECIPES {
            let d = describe_recipe(&json!({"recipeArn": r.arn()})).unwrap();
            assert_eq!(d["recipe"]["recipeType"], r.kind.as_str());
            let a = describe_algorithm(&json!({"algorithmArn": d["recipe"]["algorithmArn"]})).unwrap();
            assert_eq!(a["algorithm"]["name"], r.algorithm);
            if let Some(ft) = d["recipe"].get("featureTransformationArn") {
                let f = describe_feature_transformation(&json!({"featureTransformationArn": ft})).unwrap();
                assert_eq!(f["featureTransformation"]["status"], "ACTIVE");
            }
        }
    }

    #[test]
    fn user_personalization_has_real_arns() {
        let d =
            describe_recipe(&json!({"recipeArn": "arn:aws:personalize:::recipe/aws-user-personalization"}))
                .unwrap();
        assert_eq!(
            d["recipe"]["algorithmArn"],
            "arn:aws:personalize:::algorithm/aws-user-personalization"
        );
        assert_eq!(
            d["recipe"]["featureTransformationArn"],
            "arn:aws:personalize:::feature-transformation/JSON-percentile-filtering"
        );
        let a = describe_algorithm(
            &json!({"algorithmArn": "arn:aws:personalize:::algorithm/aws-user-personalization"}),
        )
        .unwrap();
        assert_eq!(
            a["algorithm"]["defaultHyperParameters"]["hidden_dimension"],
            "149"
        );
        assert_eq!(
            a["algorithm"]["defaultHyperParameterRanges"]["integerHyperParameterRanges"][0]["name"],
            "bptt"
        );
    }

    #[test]
    fn errors() {
        let e = describe_recipe(&json!({})).unwrap_err();
        assert_eq!(e.kind, crate::ErrorKind::InvalidInput);
        let e = describe_recipe(&json!({"recipeArn": "nope"})).unwrap_err();
        assert_eq!(e.kind, crate::ErrorKind::InvalidInput);
        let e = describe_recipe(&json!({"recipeArn": "arn:aws:personalize:::recipe/aws-nope"})).unwrap_err();
        assert_eq!(e.kind, crate::ErrorKind::ResourceNotFound);
        let e =
            describe_algorithm(&json!({"algorithmArn": "arn:aws:personalize:::algorithm/x"})).unwrap_err();
        assert_eq!(e.kind, crate::ErrorKind::ResourceNotFound);
        let e = describe_feature_transformation(
            &json!({"featureTransformationArn": "arn:aws:personalize:::feature-transformation/x"}),
        )
        .unwrap_err();
        assert_eq!(e.kind, crate::ErrorKind::ResourceNotFound);
        let e = list_recipes(&json!({"recipeProvider": "CUSTOM"})).unwrap_err();
        assert_eq!(e.kind, crate::ErrorKind::InvalidInput);
        let e = list_recipes(&json!({"domain": "GAMES"})).unwrap_err();
        assert_eq!(e.kind, crate::ErrorKind::InvalidInput);
    }

    #[test]
    fn list_filters_by_domain_and_paginates() {
        let all = list_recipes(&json!({})).unwrap();
        assert_eq!(all["recipes"].as_array().unwrap().len(), RECIPES.len());
        assert!(all.get("nextToken").is_none());
        let vod = list_recipes(&json!({"domain": "VIDEO_ON_DEMAND", "recipeProvider": "SERVICE"})).unwrap();
        let vod = vod["recipes"].as_array().unwrap();
        assert_eq!(vod.len(), 5);
        assert!(vod.iter().all(|r| r["domain"] == "VIDEO_ON_DEMAND"));
        let p1 = list_recipes(&json!({"maxResults": 10})).unwrap();
        assert_eq!(p1["recipes"].as_array().unwrap().len(), 10);
        let p2 = list_recipes(&json!({"maxResults": 10, "nextToken": p1["nextToken"]})).unwrap();
        assert_eq!(p2["recipes"][0]["name"], RECIPES[10].name);
        let e = list_recipes(&json!({"domain": "ECOMMERCE", "nextToken": p1["nextToken"]})).unwrap_err();
        assert_eq!(e.kind, crate::ErrorKind::InvalidNextToken);
    }
}
