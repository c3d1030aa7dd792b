//! Campaigns: CreateCampaign, DescribeCampaign, ListCampaigns, UpdateCampaign, DeleteCampaign.

use serde_json::{Map, Value, json};
use time::OffsetDateTime;

use super::catalog::RecipeType;
use super::{
    Meta, already_exists, check_inference_config, durations, in_flight, limits, list_page, not_active,
    not_found, opt_struct, opt_tps, put_opt, ts,
};
use crate::Store;
use crate::common::{Cx, Lifecycle, Members, check_arn, check_name};
use crate::error::{Error, Result};
use crate::resource::one;

/// A campaign update (`latestCampaignUpdate`).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub(crate) struct CampaignUpdate {
    /// The version being deployed.
    pub(crate) solution_version_arn: String,
    /// The TPS being provisioned.
    pub(crate) min_tps: i64,
    /// The config being applied.
    pub(crate) config: Option<Value>,
    /// The update lifecycle.
    pub(crate) phase: Lifecycle,
    /// When the update was asked for.
    pub(crate) created: OffsetDateTime,
}

/// A campaign.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub(crate) struct Campaign {
    /// ARN, name, lifecycle.
    pub(crate) meta: Meta,
    /// The version deployed at creation.
    pub(crate) solution_version_arn: String,
    /// `minProvisionedTPS` at creation.
    pub(crate) min_tps: i64,
    /// `campaignConfig` at creation.
    pub(crate) config: Option<Value>,
    /// The last UpdateCampaign; its values become the campaign's once it is ACTIVE.
    pub(crate) update: Option<CampaignUpdate>,
}

/// What a campaign serves at a moment.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Deployed<'a> {
    /// The version serving requests.
    pub(crate) solution_version_arn: &'a str,
    /// Provisioned TPS.
    pub(crate) min_tps: i64,
    /// The config in force.
    pub(crate) config: Option<&'a Value>,
}

impl Campaign {
    /// The values in force at the call time: the update's once it is ACTIVE.
    pub(crate) fn deployed(&self, cx: &Cx<'_>) -> Deployed<'_> {
        match &self.update {
            Some(u) if u.phase.status(cx.ctx.now, cx.config) == "ACTIVE" => Deployed {
                solution_version_arn: &u.solution_version_arn,
                min_tps: u.min_tps,
                config: u.config.as_ref(),
            },
            _ => Deployed {
                solution_version_arn: &self.solution_version_arn,
                min_tps: self.min_tps,
                config: self.config.as_ref(),
            },
        }
    }

    /// Whether the campaign serves, or is being updated to serve, this version.
    pub(crate) fn uses_version(&self, version_arn: &str) -> bool {
        self.solution_version_arn == version_arn
            || self
                .update
                .as_ref()
                .is_some_and(|u| u.solution_version_arn == version_arn)
    }

    fn last_updated(&self, cx: &Cx<'_>) -> OffsetDateTime {
        let t = self.meta.last_updated(cx);
        match &self.update {
            Some(u) if self.meta.delete.is_none() => t.max(u.phase.status_since(cx.ctx.now, cx.config)),
            _ => t,
        }
    }

    pub(crate) fn full(&self, cx: &Cx<'_>) -> Value {
        let d = self.deployed(cx);
        let mut o = Map::new();
        o.insert("name".into(), json!(self.meta.name));
        o.insert("campaignArn".into(), json!(self.meta.arn));
        o.insert("solutionVersionArn".into(), json!(d.solution_version_arn));
        o.insert("minProvisionedTPS".into(), json!(d.min_tps));
        put_opt(&mut o, "campaignConfig", d.config.cloned());
        o.insert("status".into(), json!(self.meta.status(cx)));
        o.insert("creationDateTime".into(), ts(self.meta.created));
        o.insert("lastUpdatedDateTime".into(), ts(self.last_updated(cx)));
        if let Some(u) = &self.update {
            let mut uo = Map::new();
            uo.insert("solutionVersionArn".into(), json!(u.solution_version_arn));
            uo.insert("minProvisionedTPS".into(), json!(u.min_tps));
            put_opt(&mut uo, "campaignConfig", u.config.clone());
            uo.insert("status".into(), json!(u.phase.status(cx.ctx.now, cx.config)));
            uo.insert("creationDateTime".into(), ts(u.created));
            uo.insert(
                "lastUpdatedDateTime".into(),
                ts(u.phase.status_since(cx.ctx.now, cx.config)),
            );
            o.insert("latestCampaignUpdate".into(), Value::Object(uo));
        }
        Value::Object(o)
    }

    pub(crate) fn summary(&self, cx: &Cx<'_>) -> Value {
        json!({
            "name": self.meta.name,
            "campaignArn": self.meta.arn,
            "status": self.meta.status(cx),
            "creationDateTime": ts(self.meta.created),
            "lastUpdatedDateTime": ts(self.last_updated(cx)),
        })
    }
}

/// Checks that a version exists, is ACTIVE and can back a campaign; returns its dataset group.
fn deployable(store: &Store, cx: &Cx<'_>, arn: &str) -> Result<String> {
    check_arn("solutionVersionArn", arn)?;
    let v = store.models.versions.get(arn).ok_or_else(|| not_found(arn))?;
    let status = v.status(cx);
    if status != "ACTIVE" {
        return Err(not_active(arn, status));
    }
    if v.recipe.kind == RecipeType::UserSegmentation {
        return Err(Error::invalid(format!(
            "Solution versions trained with {} cannot be deployed in a campaign. Use a batch segment job.",
            v.recipe.name
        )));
    }
    Ok(v.dataset_group_arn.clone())
}

/// `CreateCampaign`: needs an ACTIVE solution version.
pub(crate) fn create(store: &mut Store, cx: &Cx<'_>, m: &Members<'_>) -> Result<Value> {
    let name = m.str("name")?;
    check_name("name", name)?;
    let version = m.arn("solutionVersionArn")?;
    let min_tps = opt_tps(m, "minProvisionedTPS")?.unwrap_or(1);
    let config = opt_struct(m, "campaignConfig")?;
    check_inference_config("campaignConfig", config.as_ref())?;
    let tags = crate::data::check_tags(m)?;
    let arn = cx.arn("campaign", name);
    if store.models.campaigns.contains_key(&arn) {
        return Err(already_exists(&arn));
    }
    let dsg = deployable(store, cx, version)?;
    let in_group = store
        .models
        .campaigns
        .values()
        .filter(|c| {
            store
                .models
                .versions
                .get(&c.solution_version_arn)
                .is_some_and(|v| v.dataset_group_arn == dsg)
        })
        .count();
    if in_group >= limits::CAMPAIGNS_PER_GROUP {
        return Err(Error::limit(format!(
            "The dataset group {dsg} already has {in_group} campaigns, the maximum allowed."
        )));
    }
    let meta = Meta::new(
        &mut store.models.seq,
        cx,
        arn.clone(),
        name,
        Lifecycle::create(cx.ctx.now, durations::CAMPAIGN),
    );
    store.models.campaigns.insert(
        arn.clone(),
        Campaign {
            meta,
            solution_version_arn: version.to_string(),
            min_tps,
            config,
            update: None,
        },
    );
    crate::data::register_tags(store, &arn, tags);
    Ok(json!({ "campaignArn": arn }))
}

/// `ListCampaigns`, optionally for one solution.
pub(crate) fn list(store: &Store, cx: &Cx<'_>, m: &Members<'_>) -> Result<Value> {
    let sol = m.opt_arn("solutionArn")?;
    let rows = store
        .models
        .campaigns
        .values()
        .filter(|c| {
            sol.is_none_or(|s| {
                store
                    .models
                    .versions
                    .get(c.deployed(cx).solution_version_arn)
                    .is_some_and(|v| v.solution_arn == s)
            })
        })
        .map(|c| (c.meta.sort_key(), c));
    list_page(
        rows,
        |c| c.summary(cx),
        "campaigns",
        &format!("ListCampaigns|{}", sol.unwrap_or("")),
        m,
    )
}

/// `UpdateCampaign`: a new version, TPS or config, deployed through `latestCampaignUpdate`.
pub(crate) fn update(store: &mut Store, cx: &Cx<'_>, m: &Members<'_>) -> Result<Value> {
    let arn = one(&store.models.campaigns, m, "campaignArn")?.meta.arn.clone();
    let version = m.opt_str("solutionVersionArn")?;
    let min_tps = opt_tps(m, "minProvisionedTPS")?;
    let config = opt_struct(m, "campaignConfig")?;
    check_inference_config("campaignConfig", config.as_ref())?;
    if let Some(v) = version {
        check_arn("solutionVersionArn", v)?;
    }
    let Some(c) = store.models.campaigns.get(&arn) else {
        return Err(not_found(&arn));
    };
    let status = c.meta.status(cx);
    if status != "ACTIVE" {
        return Err(not_active(&arn, status));
    }
    if let Some(u) = &c.update {
        let st = u.phase.status(cx.ctx.now, cx.config);
        if in_flight(st) {
            return Err(Error::in_use(format!(
                "The campaign {arn} has an update in progress. Current update status: {st}."
            )));
        }
    }
    if let Some(v) = version {
        deployable(store, cx, v)?;
    }
    let Some(c) = store.models.campaigns.get_mut(&arn) else {
        return Err(not_found(&arn));
    };
    // Fold the finished update into the campaign, then start the new one from it.
    let (cur_v, cur_tps, cur_cfg) = {
        let d = c.deployed(cx);
        (d.solution_version_arn.to_string(), d.min_tps, d.config.cloned())
    };
    c.solution_version_arn = cur_v.clone();
    c.min_tps = cur_tps;
    c.config = cur_cfg.clone();
    c.update = Some(CampaignUpdate {
        solution_version_arn: version.map_or(cur_v, str::to_string),
        min_tps: min_tps.unwrap_or(cur_tps),
        config: config.or(cur_cfg),
        phase: Lifecycle::create(cx.ctx.now, durations::CAMPAIGN),
        created: cx.ctx.now,
    });
    Ok(json!({ "campaignArn": arn }))
}

/// `DeleteCampaign`.
pub(crate) fn delete(store: &mut Store, cx: &Cx<'_>, m: &Members<'_>) -> Result<Value> {
    let arn = one(&store.models.campaigns, m, "campaignArn")?.meta.arn.clone();
    let Some(c) = store.models.campaigns.get_mut(&arn) else {
        return Err(not_found(&arn));
    };
    let status = c.meta.status(cx);
    if c.meta.delete.is_some() || in_flight(status) {
        return Err(Error::in_use(format!(
            "The campaign {arn} cannot be deleted in status {status}."
        )));
    }
    c.meta.start_delete(cx);
    Ok(json!({}))
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use crate::ErrorKind;
    use crate::Operation::*;
    use serde_json::json;

    #[test]
    fn campaign_lifecycle_update_delete() {
        let mut h = Harness::new();
        let dsg = h.active_group("g", None);
        h.with_interactions(&dsg, &[("u1", "a"), ("u2", "b")]);
        let sol = h.active_solution("s", &dsg, UP);
        let v1 = h.trained_version(&sol);
        let c = h.ok(
            CreateCampaign,
            json!({"name": "c", "solutionVersionArn": v1, "minProvisionedTPS": 2}),
        );
        let c = c["campaignArn"].as_str().unwrap().to_string();
        assert_eq!(c, "arn:aws:personalize:us-east-1:123456789012:campaign/c");
        let d = h.ok(DescribeCampaign, json!({"campaignArn": c}));
        assert_eq!(d["campaign"]["status"], "CREATE PENDING");
        assert_eq!(d["campaign"]["minProvisionedTPS"], 2);
        h.advance(310.0);
        assert_eq!(
            h.ok(DescribeCampaign, json!({"campaignArn": c}))["campaign"]["status"],
            "ACTIVE"
        );
        // Deleting the solution is refused while the campaign uses its version.
        h.err(
            DeleteSolution,
            json!({"solutionArn": sol}),
            ErrorKind::ResourceInUse,
        );
        let v2 = h.trained_version(&sol);
        h.ok(UpdateCampaign, json!({"campaignArn": c, "solutionVersionArn": v2, "campaignConfig": {"itemExplorationConfig": {"exploration_weight": "0.1"}}}));
        h.err(
            UpdateCampaign,
            json!({"campaignArn": c}),
            ErrorKind::ResourceInUse,
        );
        let d = h.ok(DescribeCampaign, json!({"campaignArn": c}));
        assert_eq!(d["campaign"]["status"], "ACTIVE");
        assert_eq!(d["campaign"]["solutionVersionArn"], v1.as_str());
        assert_eq!(d["campaign"]["latestCampaignUpdate"]["status"], "CREATE PENDING");
        assert_eq!(
            d["campaign"]["latestCampaignUpdate"]["solutionVersionArn"],
            v2.as_str()
        );
        h.advance(310.0);
        let d = h.ok(DescribeCampaign, json!({"campaignArn": c}));
        assert_eq!(d["campaign"]["solutionVersionArn"], v2.as_str());
        assert_eq!(d["campaign"]["minProvisionedTPS"], 2);
        assert_eq!(d["campaign"]["latestCampaignUpdate"]["status"], "ACTIVE");
        let l = h.ok(ListCampaigns, json!({"solutionArn": sol}));
        assert_eq!(l["campaigns"][0]["campaignArn"], c.as_str());
        let l = h.ok(ListCampaigns, json!({"solutionArn": format!("{sol}x")}));
        assert_eq!(l["campaigns"].as_array().unwrap().len(), 0);
        h.ok(DeleteCampaign, json!({"campaignArn": c}));
        assert_eq!(
            h.ok(DescribeCampaign, json!({"campaignArn": c}))["campaign"]["status"],
            "DELETE PENDING"
        );
        h.err(
            DeleteCampaign,
            json!({"campaignArn": c}),
            ErrorKind::ResourceInUse,
        );
        h.advance(20.0);
        h.err(
            DescribeCampaign,
            json!({"campaignArn": c}),
            ErrorKind::ResourceNotFound,
        );
        h.ok(DeleteSolution, json!({"solutionArn": sol}));
    }

    #[test]
    fn create_errors() {
        let mut h = Harness::new();
        let dsg = h.active_group("g", None);
        h.with_interactions(&dsg, &[("u1", "a")]);
        let sol = h.active_solution("s", &dsg, UP);
        let pending = h.ok(CreateSolutionVersion, json!({"solutionArn": sol}))["solutionVersionArn"].clone();
        h.err(CreateCampaign, json!({"name": "c"}), ErrorKind::InvalidInput);
        h.err(
            CreateCampaign,
            json!({"solutionVersionArn": pending}),
            ErrorKind::InvalidInput,
        );
        h.err(
            CreateCampaign,
            json!({"name": "c c", "solutionVersionArn": pending}),
            ErrorKind::InvalidInput,
        );
        h.err(
            CreateCampaign,
            json!({"name": "c", "solutionVersionArn": "arn:aws:s3:::x"}),
            ErrorKind::InvalidInput,
        );
        h.err(
            CreateCampaign,
            json!({"name": "c", "solutionVersionArn": pending, "minProvisionedTPS": 0}),
            ErrorKind::InvalidInput,
        );
        h.err(CreateCampaign, json!({"name": "c", "solutionVersionArn": pending, "campaignConfig": {"rankingInfluence": {"POPULARITY": 2.0}}}), ErrorKind::InvalidInput);
        h.err(
            CreateCampaign,
            json!({"name": "c", "solutionVersionArn": format!("{sol}/ffffffff")}),
            ErrorKind::ResourceNotFound,
        );
        h.err(
            CreateCampaign,
            json!({"name": "c", "solutionVersionArn": pending}),
            ErrorKind::ResourceInUse,
        );
        h.advance(1300.0);
        for i in 0..5 {
            h.ok(
                CreateCampaign,
                json!({"name": format!("c{i}"), "solutionVersionArn": pending}),
            );
        }
        h.err(
            CreateCampaign,
            json!({"name": "c0", "solutionVersionArn": pending}),
            ErrorKind::ResourceAlreadyExists,
        );
        h.err(
            CreateCampaign,
            json!({"name": "c5", "solutionVersionArn": pending}),
            ErrorKind::LimitExceeded,
        );
        h.err(
            DeleteCampaign,
            json!({"campaignArn": h.arn("campaign/c0")}),
            ErrorKind::ResourceInUse,
        );
        h.err(
            UpdateCampaign,
            json!({"campaignArn": h.arn("campaign/c0")}),
            ErrorKind::ResourceInUse,
        );
        h.err(
            UpdateCampaign,
            json!({"campaignArn": h.arn("campaign/zz")}),
            ErrorKind::ResourceNotFound,
        );
        h.err(DescribeCampaign, json!({}), ErrorKind::InvalidInput);
        h.advance(310.0);
        let c0 = h.arn("campaign/c0");
        let training = h.ok(CreateSolutionVersion, json!({"solutionArn": sol}))["solutionVersionArn"].clone();
        h.err(
            UpdateCampaign,
            json!({"campaignArn": c0, "solutionVersionArn": training}),
            ErrorKind::ResourceInUse,
        );
        h.err(
            UpdateCampaign,
            json!({"campaignArn": c0, "solutionVersionArn": format!("{sol}/ffffffff")}),
            ErrorKind::ResourceNotFound,
        );
        h.err(
            UpdateCampaign,
            json!({"campaignArn": c0, "minProvisionedTPS": 0}),
            ErrorKind::InvalidInput,
        );
        let p1 = h.ok(ListCampaigns, json!({"maxResults": 2}));
        assert_eq!(p1["campaigns"][0]["name"], "c4");
        let p2 = h.ok(
            ListCampaigns,
            json!({"maxResults": 2, "nextToken": p1["nextToken"]}),
        );
        assert_eq!(p2["campaigns"][0]["name"], "c2");
        let p3 = h.ok(
            ListCampaigns,
            json!({"maxResults": 2, "nextToken": p2["nextToken"]}),
        );
        assert_eq!(p3["campaigns"].as_array().unwrap().len(), 1);
        assert!(p3.get("nextToken").is_none());
        h.err(
            ListCampaigns,
            json!({"solutionArn": sol, "nextToken": p1["nextToken"]}),
            ErrorKind::InvalidNextToken,
        );
        h.err(ListCampaigns, json!({"maxResults": 0}), ErrorKind::InvalidInput);
    }

    #[test]
    fn segmentation_versions_cannot_be_deployed() {
        let mut h = Harness::new();
        let dsg = h.active_group("g", None);
        h.with_interactions(&dsg, &[("u1", "a")]);
        let sol = h.active_solution("s", &dsg, "arn:aws:personalize:::recipe/aws-item-affinity");
        let v = h.trained_version(&sol);
        h.err(
            CreateCampaign,
            json!({"name": "c", "solutionVersionArn": v}),
            ErrorKind::InvalidInput,
        );
    }
}
