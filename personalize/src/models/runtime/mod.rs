//! Personalize Runtime: GetRecommendations, GetPersonalizedRanking, GetActionRecommendations,
//! computed from what the emulator has seen for the campaign's or recommender's dataset group.

use std::collections::BTreeSet;

use serde_json::{Map, Value, json};

use super::catalog::{Recipe, RecipeType, Scoring};
use super::scoring::{self, Event, Query, Ranked};
use super::{hex_id, not_found};
use crate::Store;
use crate::common::{Cx, Members, check_arn, check_len, check_name};
use crate::data::{FilterRequest, FilterTarget, PreparedFilter};
use crate::error::{Error, Result};

/// Default and maximum `numResults` for items.
const ITEMS_DEFAULT: i64 = 25;
const ITEMS_MAX: i64 = 500;
/// Default and maximum `numResults` for actions.
const ACTIONS_DEFAULT: i64 = 5;
const ACTIONS_MAX: i64 = 100;
/// Maximum `inputList` length for GetPersonalizedRanking.
const RANKING_MAX: usize = 500;

/// What serves a request: the model behind a campaign or recommender.
struct Target<'a> {
    /// The campaign or recommender ARN (for the recommendation id).
    arn: &'a str,
    /// Its dataset group.
    dsg: &'a str,
    /// The recipe.
    recipe: &'static Recipe,
    /// Only interactions of this type count (the solution's `eventType`).
    event_type: Option<&'a str>,
    /// `enableMetadataWithRecommendations` of the campaign or recommender config.
    metadata_enabled: bool,
}

fn campaign_target<'a>(store: &'a Store, cx: &Cx<'_>, arn: &'a str) -> Result<Target<'a>> {
    check_arn("campaignArn", arn)?;
    let c = store.models.campaigns.get(arn).ok_or_else(|| not_found(arn))?;
    let status = c.meta.status(cx);
    if status != "ACTIVE" {
        return Err(Error::invalid(format!(
            "Campaign {arn} is not ACTIVE (current status: {status})."
        )));
    }
    let d = c.deployed(cx);
    let v = store
        .models
        .versions
        .get(d.solution_version_arn)
        .ok_or_else(|| not_found(d.solution_version_arn))?;
    Ok(Target {
        arn,
        dsg: &v.dataset_group_arn,
        recipe: v.recipe,
        event_type: v.event_type.as_deref(),
        metadata_enabled: d
            .config
            .and_then(|c| c.get("enableMetadataWithRecommendations"))
            .and_then(Value::as_bool)
            .unwrap_or(false),
    })
}

fn recommender_target<'a>(store: &'a Store, cx: &Cx<'_>, arn: &'a str) -> Result<Target<'a>> {
    check_arn("recommenderArn", arn)?;
    let r = store.models.recommenders.get(arn).ok_or_else(|| not_found(arn))?;
    let status = r.meta.status(cx);
    if status != "ACTIVE" {
        return Err(Error::invalid(format!(
            "Recommender {arn} is not ACTIVE (current status: {status})."
        )));
    }
    Ok(Target {
        arn,
        dsg: &r.dataset_group_arn,
        recipe: r.recipe,
        event_type: None,
        metadata_enabled: r
            .config(cx)
            .get("enableMetadataWithRecommendations")
            .and_then(Value::as_bool)
            .unwrap_or(false),
    })
}

/// The item interactions of a group as the scorer sees them.
fn item_events<'a>(store: &'a Store, dsg: &str, event_type: Option<&str>) -> Vec<Event<'a>> {
    crate::data::interactions(store, dsg)
        .filter(|i| event_type.is_none_or(|t| i.event_type.eq_ignore_ascii_case(t)))
        .map(|i| Event {
            user_id: &i.user_id,
            item_id: &i.item_id,
            timestamp: i.timestamp,
            event_type: &i.event_type,
        })
        .collect()
}

/// The action interactions of a group as the scorer sees them (anonymous ones included).
fn action_events<'a>(store: &'a Store, dsg: &str) -> Vec<Event<'a>> {
    crate::data::action_interactions(store, dsg)
        .map(|i| Event {
            user_id: i.user_id.as_deref().unwrap_or_default(),
            item_id: &i.action_id,
            timestamp: i.timestamp,
            event_type: &i.event_type,
        })
        .collect()
}

/// Reads `numResults` with its default and maximum.
fn num_results(m: &Members<'_>, default: i64, max: i64) -> Result<usize> {
    match m.opt_i64("numResults")? {
        // 0 is the model's minimum and means "the default", as an unset member would.
        None | Some(0) => Ok(default as usize),
        Some(n) if (1..=max).contains(&n) => Ok(n as usize),
        Some(n) if n < 0 => Err(Error::invalid(format!(
            "1 validation error detected: Value '{n}' at 'numResults' failed to satisfy constraint: Member must have value greater than or equal to 0"
        ))),
        Some(n) => Err(Error::invalid(format!(
            "numResults must be between 1 and {max}, got {n}."
        ))),
    }
}

/// Checks an optional map member's size.
fn opt_map<'a>(m: &Members<'a>, member: &str, max: usize) -> Result<Option<&'a Map<String, Value>>> {
    let o = m.opt_obj(member)?;
    if let Some(o) = o
        && o.len() > max
    {
        return Err(Error::invalid(format!(
            "1 validation error detected: Value at '{member}' failed to satisfy constraint: Member must have length less than or equal to {max}"
        )));
    }
    Ok(o)
}

/// Resolves a filter for a request on `target`'s dataset group.
fn prepare_filter<'a>(
    store: &'a Store,
    cx: &Cx<'_>,
    target: &Target<'_>,
    filter_arn: &str,
    req: &FilterRequest<'_>,
    want: FilterTarget,
) -> Result<PreparedFilter<'a>> {
    check_arn("filterArn", filter_arn)?;
    let f = crate::data::filter(store, filter_arn).ok_or_else(|| not_found(filter_arn))?;
    if f.target() != want {
        let noun = match want {
            FilterTarget::Item => "item",
            FilterTarget::User => "user",
            FilterTarget::Action => "action",
        };
        return Err(Error::invalid(format!(
            "The filter {filter_arn} does not filter {noun}s, so it cannot be used with this operation."
        )));
    }
    if f.dataset_group_arn != target.dsg {
        return Err(Error::invalid(format!(
            "The filter {filter_arn} does not belong to the dataset group {} of {}.",
            target.dsg, target.arn
        )));
    }
    if !f.meta.is_active(cx) {
        return Err(Error::invalid(format!(
            "The filter {filter_arn} is not ACTIVE (current status: {}).",
            f.meta.status(cx)
        )));
    }
    f.prepare(store, req)
}

/// A deterministic recommendation id for this answer: `RID-` and a UUID-shaped hash of the
/// target, the request and the answer, then `-CID-` and a short hash of the target.
fn recommendation_id(target: &str, request: &Value, ids: &[&str]) -> String {
    let req = serde_json::to_string(request).unwrap_or_default();
    let joined = ids.join(",");
    let h = hex_id(&[target, &req, &joined], 26);
    let cid = hex_id(&[target], 6);
    let part = |a: usize, b: usize| h.get(a..b).unwrap_or("0").to_string();
    format!(
        "RID-{}-{}-{}-{}-CID-{cid}",
        part(0, 2),
        part(2, 6),
        part(6, 10),
        part(10, 26)
    )
}

/// The `metadata` of an item: the requested columns of the Items dataset, as strings.
fn metadata(store: &Store, dsg: &str, item: &str, columns: &[String]) -> Value {
    let props = crate::data::records(store, dsg)
        .and_then(|r| r.items.get(item))
        .map(|e| &e.properties);
    let mut o = Map::new();
    for c in columns {
        let v = props
            .and_then(|p| p.get(&c.to_uppercase()).or_else(|| p.get(c)))
            .map(|v| match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            });
        if let Some(v) = v {
            o.insert(c.clone(), json!(v));
        }
    }
    Value::Object(o)
}

/// Reads `metadataColumns` (`{"ITEMS": [...]}`), which needs metadata enabled on the target.
fn metadata_columns(m: &Members<'_>, target: &Target<'_>) -> Result<Option<Vec<String>>> {
    let Some(mc) = opt_map(m, "metadataColumns", 1)? else {
        return Ok(None);
    };
    if mc.is_empty() {
        return Ok(None);
    }
    if !target.metadata_enabled {
        return Err(Error::invalid(format!(
            "Metadata is not enabled for {}. Set enableMetadataWithRecommendations to true to use metadataColumns.",
            target.arn
        )));
    }
    let mut cols = Vec::new();
    for (ty, list) in mc {
        if !ty.eq_ignore_ascii_case("ITEMS") {
            return Err(Error::invalid(format!(
                "metadataColumns supports only the ITEMS dataset, got {ty}."
            )));
        }
        for c in list.as_array().into_iter().flatten() {
            cols.push(c.as_str().unwrap_or_default().to_string());
        }
    }
    Ok(Some(cols))
}

/// One promotion of a GetRecommendations request.
struct Promotion<'a> {
    name: &'a str,
    percent: i64,
    filter_arn: &'a str,
    filter_values: Option<&'a Map<String, Value>>,
}

fn read_promotion<'a>(m: &Members<'a>) -> Result<Option<Promotion<'a>>> {
    let Some(list) = m.opt_list("promotions")? else {
        return Ok(None);
    };
    if list.len() > 1 {
        return Err(Error::invalid(
            "1 validation error detected: Value at 'promotions' failed to satisfy constraint: Member must have length less than or equal to 1",
        ));
    }
    let Some(p) = list.first() else { return Ok(None) };
    let pm = Members::new(p);
    let name = pm
        .str("name")
        .map_err(|_| Error::invalid("Promotion name is required."))?;
    check_name("promotions.member.name", name)?;
    let percent = pm
        .opt_i64("percentPromotedItems")?
        .ok_or_else(|| Error::invalid("Promotion percentPromotedItems is required."))?;
    if !(1..=100).contains(&percent) {
        return Err(Error::invalid(format!(
            "1 validation error detected: Value '{percent}' at 'promotions.member.percentPromotedItems' failed to satisfy constraint: Member must have value between 1 and 100"
        )));
    }
    let filter_arn = pm
        .str("filterArn")
        .map_err(|_| Error::invalid("Promotion filterArn is required."))?;
    let filter_values = pm.opt_obj("filterValues")?;
    Ok(Some(Promotion {
        name,
        percent,
        filter_arn,
        filter_values,
    }))
}

/// `GetRecommendations`.
pub(crate) fn get_recommendations(store: &Store, cx: &Cx<'_>, input: &Value) -> Result<Value> {
    let m = &Members::new(input);
    let campaign = m.opt_str("campaignArn")?;
    let recommender = m.opt_str("recommenderArn")?;
    let user = m.opt_str("userId")?;
    let item = m.opt_str("itemId")?;
    if let Some(u) = user {
        check_len("userId", u, 0, 256)?;
    }
    if let Some(i) = item {
        check_len("itemId", i, 0, 256)?;
    }
    let n = num_results(m, ITEMS_DEFAULT, ITEMS_MAX)?;
    opt_map(m, "context", 150)?;
    let filter_values = opt_map(m, "filterValues", 25)?;
    let filter_arn = m.opt_str("filterArn")?;
    let promotion = read_promotion(m)?;
    let target = match (campaign, recommender) {
        (Some(c), None) => campaign_target(store, cx, c)?,
        (None, Some(r)) => recommender_target(store, cx, r)?,
        (Some(_), Some(_)) => {
            return Err(Error::invalid(
                "Specify either campaignArn or recommenderArn, not both.",
            ));
        }
        (None, None) => {
            return Err(Error::invalid(
                "Either campaignArn or recommenderArn is required.",
            ));
        }
    };
    match target.recipe.kind {
        RecipeType::PersonalizedRanking => {
            return Err(Error::invalid(format!(
                "{} uses a PERSONALIZED_RANKING recipe. Use GetPersonalizedRanking.",
                target.arn
            )));
        }
        RecipeType::PersonalizedActions => {
            return Err(Error::invalid(format!(
                "{} uses a PERSONALIZED_ACTIONS recipe. Use GetActionRecommendations.",
                target.arn
            )));
        }
        RecipeType::UserSegmentation => {
            return Err(Error::invalid(format!(
                "{} cannot serve recommendations.",
                target.arn
            )));
        }
        RecipeType::RelatedItems if item.is_none() => {
            return Err(Error::invalid(format!(
                "itemId is required for {}, which uses a RELATED_ITEMS recipe.",
                target.arn
            )));
        }
        RecipeType::UserPersonalization
            if user.is_none() && target.recipe.scoring == Scoring::Personalized =>
        {
            return Err(Error::invalid(format!(
                "userId is required for {}, which uses a USER_PERSONALIZATION recipe.",
                target.arn
            )));
        }
        _ => {}
    }
    let columns = metadata_columns(m, &target)?;
    let events = item_events(store, target.dsg, target.event_type);
    let catalog: BTreeSet<String> = crate::data::items(store, target.dsg)
        .map(|(id, _)| id.clone())
        .collect();
    let ranked = scoring::rank_items(
        target.recipe.scoring,
        &events,
        &catalog,
        Query {
            user_id: user,
            item_id: item,
        },
    );
    let req = FilterRequest {
        user_id: user,
        item_id: item,
        filter_values,
    };
    let main = match filter_arn {
        Some(f) => Some(prepare_filter(store, cx, &target, f, &req, FilterTarget::Item)?),
        None => None,
    };
    let kept: Vec<&Ranked> = ranked
        .iter()
        .filter(|r| main.as_ref().is_none_or(|f| f.keeps(&r.id)))
        .collect();
    // Promoted items: the best-ranked candidates that also pass the promotion's filter,
    // placed at evenly spaced positions.
    let mut promoted: Vec<&Ranked> = Vec::new();
    if let Some(p) = &promotion {
        let preq = FilterRequest {
            user_id: user,
            item_id: item,
            filter_values: p.filter_values,
        };
        let pf = prepare_filter(store, cx, &target, p.filter_arn, &preq, FilterTarget::Item)?;
        let count = ((n as i64 * p.percent + 99) / 100) as usize;
        promoted = kept
            .iter()
            .copied()
            .filter(|r| pf.keeps(&r.id))
            .take(count)
            .collect();
    }
    let regular: Vec<&Ranked> = kept
        .iter()
        .copied()
        .filter(|r| !promoted.iter().any(|p| p.id == r.id))
        .collect();
    let mut out: Vec<(&Ranked, bool)> = Vec::with_capacity(n);
    let (mut ri, mut pi) = (regular.iter(), promoted.iter());
    let spacing = if promoted.is_empty() {
        usize::MAX
    } else {
        (n / promoted.len()).max(1)
    };
    while out.len() < n {
        let next = if out.len().is_multiple_of(spacing) {
            pi.next().map(|r| (*r, true))
        } else {
            None
        };
        match next
            .or_else(|| ri.next().map(|r| (*r, false)))
            .or_else(|| pi.next().map(|r| (*r, true)))
        {
            Some(x) => out.push(x),
            None => break,
        }
    }
    let ids: Vec<&str> = out.iter().map(|(r, _)| r.id.as_str()).collect();
    let list: Vec<Value> = out
        .iter()
        .map(|(r, is_promoted)| {
            let mut o = Map::new();
            o.insert("itemId".into(), json!(r.id));
            if target.recipe.scores {
                o.insert("score".into(), json!(r.score));
            }
            if *is_promoted && let Some(p) = &promotion {
                o.insert("promotionName".into(), json!(p.name));
            }
            if let Some(cols) = &columns {
                o.insert("metadata".into(), metadata(store, target.dsg, &r.id, cols));
            }
            Value::Object(o)
        })
        .collect();
    Ok(json!({
        "itemList": list,
        "recommendationId": recommendation_id(target.arn, input, &ids),
    }))
}

/// `GetPersonalizedRanking`: reranks `inputList` for `userId`.
pub(crate) fn get_personalized_ranking(store: &Store, cx: &Cx<'_>, input: &Value) -> Result<Value> {
    let m = &Members::new(input);
    let campaign = m.str("campaignArn")?;
    let input_list = m
        .opt_list("inputList")?
        .ok_or_else(|| super::missing("inputList"))?;
    let user = m.str("userId")?;
    check_len("userId", user, 0, 256)?;
    if input_list.len() > RANKING_MAX {
        return Err(Error::invalid(format!(
            "inputList can have at most {RANKING_MAX} items, got {}.",
            input_list.len()
        )));
    }
    let mut items = Vec::with_capacity(input_list.len());
    for v in input_list {
        let s = v
            .as_str()
            .ok_or_else(|| Error::invalid("Value at 'inputList' must be a list of strings."))?;
        check_len("inputList.member", s, 0, 256)?;
        items.push(s.to_string());
    }
    opt_map(m, "context", 150)?;
    let filter_values = opt_map(m, "filterValues", 25)?;
    let filter_arn = m.opt_str("filterArn")?;
    let target = campaign_target(store, cx, campaign)?;
    if target.recipe.kind != RecipeType::PersonalizedRanking {
        return Err(Error::invalid(format!(
            "{} does not use a PERSONALIZED_RANKING recipe. Use GetRecommendations.",
            target.arn
        )));
    }
    let columns = metadata_columns(m, &target)?;
    let events = item_events(store, target.dsg, target.event_type);
    let ranked = scoring::rank_list(&events, user, &items);
    let req = FilterRequest {
        user_id: Some(user),
        item_id: None,
        filter_values,
    };
    let filter = match filter_arn {
        Some(f) => Some(prepare_filter(store, cx, &target, f, &req, FilterTarget::Item)?),
        None => None,
    };
    let kept: Vec<&Ranked> = ranked
        .iter()
        .filter(|r| filter.as_ref().is_none_or(|f| f.keeps(&r.id)))
        .collect();
    let ids: Vec<&str> = kept.iter().map(|r| r.id.as_str()).collect();
    let list: Vec<Value> = kept
        .iter()
        .map(|r| {
            let mut o = Map::new();
            o.insert("itemId".into(), json!(r.id));
            o.insert("score".into(), json!(r.score));
            if let Some(cols) = &columns {
                o.insert("metadata".into(), metadata(store, target.dsg, &r.id, cols));
            }
            Value::Object(o)
        })
        .collect();
    Ok(json!({
        "personalizedRanking": list,
        "recommendationId": recommendation_id(target.arn, input, &ids),
    }))
}

/// `GetActionRecommendations`: the actions a user will most likely take next.
pub(crate) fn get_action_recommendations(store: &Store, cx: &Cx<'_>, input: &Value) -> Result<Value> {
    let m = &Members::new(input);
    let campaign = m.opt_str("campaignArn")?;
    let user = m.opt_str("userId")?;
    if let Some(u) = user {
        check_len("userId", u, 0, 256)?;
    }
    let n = num_results(m, ACTIONS_DEFAULT, ACTIONS_MAX)?;
    let filter_values = opt_map(m, "filterValues", 25)?;
    let filter_arn = m.opt_str("filterArn")?;
    let campaign = campaign.ok_or_else(|| Error::invalid("campaignArn is required."))?;
    let target = campaign_target(store, cx, campaign)?;
    if target.recipe.kind != RecipeType::PersonalizedActions {
        return Err(Error::invalid(format!(
            "{} does not use a PERSONALIZED_ACTIONS recipe. Use GetRecommendations.",
            target.arn
        )));
    }
    let user = user.ok_or_else(|| Error::invalid("userId is required."))?;
    let events = action_events(store, target.dsg);
    let actions: BTreeSet<String> = crate::data::actions(store, target.dsg)
        .map(|(id, _)| id.clone())
        .collect();
    let ranked = scoring::rank_actions(&events, &actions, Some(user));
    let req = FilterRequest {
        user_id: Some(user),
        item_id: None,
        filter_values,
    };
    let filter = match filter_arn {
        Some(f) => Some(prepare_filter(store, cx, &target, f, &req, FilterTarget::Action)?),
        None => None,
    };
    let kept: Vec<&Ranked> = ranked
        .iter()
        .filter(|r| filter.as_ref().is_none_or(|f| f.keeps(&r.id)))
        .take(n)
        .collect();
    let ids: Vec<&str> = kept.iter().map(|r| r.id.as_str()).collect();
    let list: Vec<Value> = kept
        .iter()
        .map(|r| json!({"actionId": r.id, "score": r.score}))
        .collect();
    Ok(json!({
        "actionList": list,
        "recommendationId": recommendation_id(target.arn, input, &ids),
    }))
}

#[cfg(test)]
mod tests;
