//! Unit tests of the Runtime API: recommendations, rankings, filters and metadata.

use super::super::testing::*;
use crate::ErrorKind;
use crate::Operation::*;
use serde_json::{Value, json};

const SIMS: &str = "arn:aws:personalize:::recipe/aws-sims";
const RANKING: &str = "arn:aws:personalize:::recipe/aws-personalized-ranking";

fn ids(v: &Value, key: &str, id: &str) -> Vec<String> {
    v[key]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i[id].as_str().unwrap().to_string())
        .collect()
}

/// A group with four users, five items (e is cold) and three filters.
fn setup(h: &mut Harness) -> (String, String, String, String) {
    let dsg = h.active_group("g", None);
    h.with_interactions(
        &dsg,
        &[
            ("u1", "a"),
            ("u1", "b"),
            ("u2", "a"),
            ("u2", "b"),
            ("u2", "c"),
            ("u3", "a"),
            ("u3", "d"),
            ("u4", "c"),
        ],
    );
    h.with_items(
        &dsg,
        &[
            ("a", "comedy"),
            ("b", "drama"),
            ("c", "comedy"),
            ("d", "drama"),
            ("e", "comedy"),
        ],
    );
    let f = |h: &mut Harness, name: &str, expr: &str| {
        h.ok(
            CreateFilter,
            json!({"name": name, "datasetGroupArn": dsg, "filterExpression": expr}),
        )["filterArn"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let no_comedy = f(
        h,
        "no-comedy",
        "EXCLUDE ItemID WHERE Items.GENRES IN (\"comedy\")",
    );
    let genre = f(h, "genre", "INCLUDE ItemID WHERE Items.GENRES IN ($GENRE)");
    let drama = f(h, "drama", "INCLUDE ItemID WHERE Items.GENRES IN (\"drama\")");
    h.advance(60.0);
    (dsg, no_comedy, genre, drama)
}

#[test]
fn user_personalization_is_deterministic_and_honours_filters_and_num_results() {
    let mut h = Harness::new();
    let (dsg, no_comedy, genre, drama) = setup(&mut h);
    let c = h.campaign("up", &dsg, UP, None);
    let r1 = h.ok(GetRecommendations, json!({"campaignArn": c, "userId": "u1"}));
    assert_eq!(ids(&r1, "itemList", "itemId"), vec!["c", "d", "e"]);
    let scores: Vec<f64> = r1["itemList"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["score"].as_f64().unwrap())
        .collect();
    assert!(scores[0] > scores[1] && scores[1] > scores[2]);
    assert!((scores.iter().sum::<f64>() - 1.0).abs() < 1e-6);
    let rid = r1["recommendationId"].as_str().unwrap();
    assert!(rid.starts_with("RID-") && rid.contains("-CID-"));
    assert_eq!(
        h.ok(GetRecommendations, json!({"campaignArn": c, "userId": "u1"})),
        r1
    );
    let r = h.ok(
        GetRecommendations,
        json!({"campaignArn": c, "userId": "u1", "numResults": 2}),
    );
    assert_eq!(ids(&r, "itemList", "itemId"), vec!["c", "d"]);
    assert_ne!(r["recommendationId"], r1["recommendationId"]);
    let r = h.ok(
        GetRecommendations,
        json!({"campaignArn": c, "userId": "u1", "filterArn": no_comedy}),
    );
    assert_eq!(ids(&r, "itemList", "itemId"), vec!["d"]);
    let r = h.ok(GetRecommendations, json!({"campaignArn": c, "userId": "u1", "filterArn": genre, "filterValues": {"GENRE": "\"comedy\""}}));
    assert_eq!(ids(&r, "itemList", "itemId"), vec!["c", "e"]);
    // A cold user gets popular items.
    let r = h.ok(GetRecommendations, json!({"campaignArn": c, "userId": "new"}));
    assert_eq!(ids(&r, "itemList", "itemId"), vec!["a", "b", "c", "d", "e"]);
    // New events change the answer.
    h.events(&dsg, &[("u1", "d", "click")]);
    let r = h.ok(GetRecommendations, json!({"campaignArn": c, "userId": "u1"}));
    assert_eq!(ids(&r, "itemList", "itemId"), vec!["c", "e"]);
    // Promotions take their share of the slots and are marked.
    let r = h.ok(
        GetRecommendations,
        json!({"campaignArn": c, "userId": "new", "numResults": 2,
        "promotions": [{"name": "promo", "percentPromotedItems": 50, "filterArn": drama}]}),
    );
    assert_eq!(ids(&r, "itemList", "itemId"), vec!["b", "a"]);
    assert_eq!(r["itemList"][0]["promotionName"], "promo");
    assert!(r["itemList"][1].get("promotionName").is_none());
}

#[test]
fn get_recommendations_errors() {
    let mut h = Harness::new();
    let (dsg, _, _, _) = setup(&mut h);
    let c = h.campaign("up", &dsg, UP, None);
    h.err(
        GetRecommendations,
        json!({"userId": "u1"}),
        ErrorKind::InvalidInput,
    );
    h.err(
        GetRecommendations,
        json!({"campaignArn": c, "recommenderArn": h.arn("recommender/r"), "userId": "u1"}),
        ErrorKind::InvalidInput,
    );
    h.err(
        GetRecommendations,
        json!({"campaignArn": c}),
        ErrorKind::InvalidInput,
    );
    h.err(
        GetRecommendations,
        json!({"campaignArn": c, "userId": "u1", "numResults": 501}),
        ErrorKind::InvalidInput,
    );
    h.err(
        GetRecommendations,
        json!({"campaignArn": c, "userId": "u1", "numResults": -1}),
        ErrorKind::InvalidInput,
    );
    h.err(
        GetRecommendations,
        json!({"campaignArn": "nope", "userId": "u1"}),
        ErrorKind::InvalidInput,
    );
    h.err(
        GetRecommendations,
        json!({"campaignArn": h.arn("campaign/zz"), "userId": "u1"}),
        ErrorKind::ResourceNotFound,
    );
    h.err(
        GetRecommendations,
        json!({"campaignArn": c, "userId": "u1", "filterArn": h.arn("filter/zz")}),
        ErrorKind::ResourceNotFound,
    );
    h.err(
        GetRecommendations,
        json!({"campaignArn": c, "userId": "u1", "metadataColumns": {"ITEMS": ["GENRES"]}}),
        ErrorKind::InvalidInput,
    );
    h.err(GetRecommendations, json!({"campaignArn": c, "userId": "u1", "promotions": [{"name": "p", "percentPromotedItems": 0, "filterArn": h.arn("filter/zz")}]}), ErrorKind::InvalidInput);
    let r = h.ok(
        GetRecommendations,
        json!({"campaignArn": c, "userId": "u1", "numResults": 0}),
    );
    assert_eq!(r["itemList"].as_array().unwrap().len(), 3);
    // A campaign that is not ACTIVE yet.
    let sol = h.active_solution("s2", &dsg, UP);
    let v = h.trained_version(&sol);
    let pending = h.ok(
        CreateCampaign,
        json!({"name": "pending", "solutionVersionArn": v}),
    )["campaignArn"]
        .clone();
    h.err(
        GetRecommendations,
        json!({"campaignArn": pending, "userId": "u1"}),
        ErrorKind::InvalidInput,
    );
    // A filter from another dataset group.
    let other = h.active_group("other", None);
    h.with_items(&other, &[("x", "comedy")]);
    let f = h.ok(CreateFilter, json!({"name": "o", "datasetGroupArn": other, "filterExpression": "EXCLUDE ItemID WHERE Items.GENRES IN (\"x\")"}))["filterArn"].clone();
    h.advance(60.0);
    h.err(
        GetRecommendations,
        json!({"campaignArn": c, "userId": "u1", "filterArn": f}),
        ErrorKind::InvalidInput,
    );
}

#[test]
fn metadata_columns_when_enabled() {
    let mut h = Harness::new();
    let (dsg, _, _, _) = setup(&mut h);
    let c = h.campaign(
        "meta",
        &dsg,
        UP,
        Some(json!({"enableMetadataWithRecommendations": true})),
    );
    let r = h.ok(
        GetRecommendations,
        json!({"campaignArn": c, "userId": "u1", "metadataColumns": {"ITEMS": ["GENRES"]}}),
    );
    assert_eq!(r["itemList"][0]["metadata"]["GENRES"], "comedy");
    assert_eq!(r["itemList"][1]["metadata"]["GENRES"], "drama");
}

#[test]
fn related_items() {
    let mut h = Harness::new();
    let (dsg, no_comedy, _, _) = setup(&mut h);
    let c = h.campaign("sims", &dsg, SIMS, None);
    let r = h.ok(GetRecommendations, json!({"campaignArn": c, "itemId": "c"}));
    assert_eq!(ids(&r, "itemList", "itemId"), vec!["a", "b", "d", "e"]);
    assert!(r["itemList"][0].get("score").is_none());
    let r = h.ok(
        GetRecommendations,
        json!({"campaignArn": c, "itemId": "c", "filterArn": no_comedy}),
    );
    assert_eq!(ids(&r, "itemList", "itemId"), vec!["b", "d"]);
    h.err(
        GetRecommendations,
        json!({"campaignArn": c, "userId": "u1"}),
        ErrorKind::InvalidInput,
    );
}

#[test]
fn personalized_ranking() {
    let mut h = Harness::new();
    let (dsg, no_comedy, _, _) = setup(&mut h);
    let c = h.campaign("rank", &dsg, RANKING, None);
    let r = h.ok(
        GetPersonalizedRanking,
        json!({"campaignArn": c, "userId": "u1", "inputList": ["d", "c", "zz", "a"]}),
    );
    assert_eq!(
        ids(&r, "personalizedRanking", "itemId"),
        vec!["a", "c", "d", "zz"]
    );
    assert!(r["personalizedRanking"][0]["score"].as_f64().unwrap() > 0.0);
    assert!(r["recommendationId"].as_str().unwrap().starts_with("RID-"));
    let r = h.ok(
        GetPersonalizedRanking,
        json!({"campaignArn": c, "userId": "u1", "inputList": ["d", "c", "zz", "a"], "filterArn": no_comedy}),
    );
    assert_eq!(ids(&r, "personalizedRanking", "itemId"), vec!["d", "zz"]);
    h.err(
        GetPersonalizedRanking,
        json!({"campaignArn": c, "userId": "u1"}),
        ErrorKind::InvalidInput,
    );
    h.err(
        GetPersonalizedRanking,
        json!({"campaignArn": c, "inputList": ["a"]}),
        ErrorKind::InvalidInput,
    );
    let big: Vec<String> = (0..501).map(|i| format!("i{i}")).collect();
    h.err(
        GetPersonalizedRanking,
        json!({"campaignArn": c, "userId": "u1", "inputList": big}),
        ErrorKind::InvalidInput,
    );
    h.err(
        GetRecommendations,
        json!({"campaignArn": c, "userId": "u1"}),
        ErrorKind::InvalidInput,
    );
    let up = h.campaign("up", &dsg, UP, None);
    h.err(
        GetPersonalizedRanking,
        json!({"campaignArn": up, "userId": "u1", "inputList": ["a"]}),
        ErrorKind::InvalidInput,
    );
    h.err(
        GetPersonalizedRanking,
        json!({"campaignArn": h.arn("campaign/zz"), "userId": "u1", "inputList": ["a"]}),
        ErrorKind::ResourceNotFound,
    );
}

#[test]
fn action_recommendations() {
    let mut h = Harness::new();
    let dsg = h.active_group("g", None);
    h.with_actions(
        &dsg,
        &["loyalty", "app", "card"],
        &[
            ("u1", "loyalty", "TAKEN"),
            ("u2", "loyalty", "TAKEN"),
            ("u3", "app", "NOT_TAKEN"),
            ("u3", "app", "TAKEN"),
        ],
    );
    let c = h.campaign(
        "nba",
        &dsg,
        "arn:aws:personalize:::recipe/aws-next-best-action",
        None,
    );
    let r = h.ok(
        GetActionRecommendations,
        json!({"campaignArn": c, "userId": "u1"}),
    );
    assert_eq!(ids(&r, "actionList", "actionId"), vec!["app", "card"]);
    assert_eq!(r["actionList"][1]["score"], 0.0);
    let r = h.ok(
        GetActionRecommendations,
        json!({"campaignArn": c, "userId": "new", "numResults": 1}),
    );
    assert_eq!(ids(&r, "actionList", "actionId"), vec!["loyalty"]);
    assert_eq!(r["actionList"][0]["score"], 0.75);
    h.err(
        GetActionRecommendations,
        json!({"campaignArn": c, "userId": "u1", "numResults": 101}),
        ErrorKind::InvalidInput,
    );
    h.err(
        GetActionRecommendations,
        json!({"userId": "u1"}),
        ErrorKind::InvalidInput,
    );
    h.err(
        GetActionRecommendations,
        json!({"campaignArn": c}),
        ErrorKind::InvalidInput,
    );
    h.err(
        GetRecommendations,
        json!({"campaignArn": c, "userId": "u1"}),
        ErrorKind::InvalidInput,
    );
}

#[test]
fn recommenders_serve_until_stopped() {
    let mut h = Harness::new();
    let dsg = h.active_group("shop", Some("ECOMMERCE"));
    h.dataset(&dsg, "Interactions", ECOMMERCE_INTERACTIONS);
    h.events(
        &dsg,
        &[
            ("u1", "a", "View"),
            ("u2", "a", "View"),
            ("u2", "b", "Purchase"),
            ("u3", "b", "Purchase"),
            ("u3", "c", "View"),
        ],
    );
    let r = h.ok(CreateRecommender, json!({"name": "pop", "datasetGroupArn": dsg, "recipeArn": "arn:aws:personalize:::recipe/aws-ecomm-popular-items-by-purchases"}))["recommenderArn"].clone();
    h.err(
        GetRecommendations,
        json!({"recommenderArn": r}),
        ErrorKind::InvalidInput,
    );
    h.advance(1810.0);
    let out = h.ok(GetRecommendations, json!({"recommenderArn": r}));
    assert_eq!(ids(&out, "itemList", "itemId"), vec!["b", "a", "c"]);
    assert!(out["itemList"][0].get("score").is_none());
    h.ok(StopRecommender, json!({"recommenderArn": r}));
    h.err(
        GetRecommendations,
        json!({"recommenderArn": r}),
        ErrorKind::InvalidInput,
    );
    h.err(
        GetRecommendations,
        json!({"recommenderArn": h.arn("recommender/zz")}),
        ErrorKind::ResourceNotFound,
    );
}

const ECOMMERCE_INTERACTIONS: &str = r#"{"type":"record","name":"Interactions","namespace":"com.amazonaws.personalize.schema","fields":[{"name":"USER_ID","type":"string"},{"name":"ITEM_ID","type":"string"},{"name":"TIMESTAMP","type":"long"},{"name":"EVENT_TYPE","type":"string"}],"version":"1.0"}"#;
