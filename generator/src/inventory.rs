//! The Personalize resources that already exist in an (account, Region), which everyday calls touch.

use std::collections::BTreeMap;

use rand::RngExt;

use crate::ops::Kind;
use crate::rng::{self, Rng};

/// Built-in recipes (global ARNs).
pub const RECIPES: &[&str] = &[
    "aws-user-personalization",
    "aws-user-personalization-v2",
    "aws-personalized-ranking",
    "aws-personalized-ranking-v2",
    "aws-similar-items",
    "aws-sims",
    "aws-popularity-count",
    "aws-trending-now",
    "aws-item-affinity",
];

/// Domain recipes for recommenders.
pub const ECOMMERCE_RECIPES: &[&str] = &[
    "aws-ecomm-recommended-for-you",
    "aws-ecomm-customers-who-viewed-x-also-viewed",
    "aws-ecomm-frequently-bought-together",
    "aws-ecomm-popular-items-by-views",
];

const WORDS: &[&str] = &[
    "retail", "movies", "news", "music", "shop", "catalog", "video", "books", "travel", "games", "fashion",
    "grocery", "podcasts", "recipes", "sports", "deals",
];
const PURPOSES: &[&str] = &[
    "recs",
    "personalization",
    "ranking",
    "similar",
    "trending",
    "homepage",
    "email",
];
const STAGES: &[&str] = &["prod", "staging", "dev", "test", "exp"];

/// One existing resource.
#[derive(Debug, Clone)]
pub struct Res {
    /// Its name (job name for jobs).
    pub name: String,
    /// Its ARN.
    pub arn: String,
    /// Index of its dataset group in [`Inventory::groups`] (itself for groups).
    pub group: usize,
}

/// What exists in one (account, Region).
#[derive(Debug, Clone)]
pub struct Inventory {
    /// Account id.
    pub account: String,
    /// Region.
    pub region: String,
    /// Dataset group names, indexable by [`Res::group`].
    pub groups: Vec<String>,
    /// Existing resources by kind.
    pub by_kind: BTreeMap<Kind, Vec<Res>>,
    /// Event tracker tracking ids, parallel to the trackers.
    pub tracking_ids: Vec<String>,
}

/// `arn:aws:personalize:<region>:<account>:<type>/<id>`.
pub fn arn(region: &str, account: &str, kind: Kind, id: &str) -> String {
    if kind.global() {
        format!("arn:aws:personalize:::{}/{id}", kind.arn_type())
    } else {
        format!("arn:aws:personalize:{region}:{account}:{}/{id}", kind.arn_type())
    }
}

/// A resource-style name such as `retail-recs-prod`.
pub fn base_name(rng: &mut Rng) -> String {
    let w = WORDS[rng.random_range(0..WORDS.len())];
    let p = PURPOSES[rng.random_range(0..PURPOSES.len())];
    let s = STAGES[rng.random_range(0..STAGES.len())];
    format!("{w}-{p}-{s}")
}

impl Inventory {
    /// The inventory of (`account`, `region`), the same for every day of a run.
    pub fn generate(
        seed: u64,
        account_idx: usize,
        account: &str,
        region_idx: usize,
        region: &str,
    ) -> Inventory {
        let mut rng = rng::derive(seed, &[0x696e76, account_idx as u64, region_idx as u64]);
        let mut inv = Inventory {
            account: account.to_owned(),
            region: region.to_owned(),
            groups: Vec::new(),
            by_kind: BTreeMap::new(),
            tracking_ids: Vec::new(),
        };
        let n_groups = rng.random_range(2..5);
        while inv.groups.len() < n_groups {
            let name = base_name(&mut rng);
            if !inv.groups.contains(&name) {
                inv.groups.push(name);
            }
        }
        let groups = inv.groups.clone();
        for (g, name) in groups.iter().enumerate() {
            inv.add(Kind::DatasetGroup, name, name, g);
            for (t, upper) in [
                ("interactions", "INTERACTIONS"),
                ("items", "ITEMS"),
                ("users", "USERS"),
            ] {
                let schema = format!("{name}-{t}-schema");
                inv.add(Kind::Schema, &schema, &schema, g);
                inv.add(
                    Kind::Dataset,
                    &format!("{name}-{t}"),
                    &format!("{name}/{upper}"),
                    g,
                );
                let job = format!("{name}-{t}-import-{}", rng.random_range(1..40));
                inv.add(Kind::DatasetImportJob, &job, &job, g);
            }
            let export = format!("{name}-export-{}", rng.random_range(1..9));
            inv.add(Kind::DatasetExportJob, &export, &export, g);
            for recipe in ["user-personalization", "similar-items"]
                .iter()
                .take(rng.random_range(1..3))
            {
                let sol = format!("{name}-{recipe}");
                inv.add(Kind::Solution, &sol, &sol, g);
                for _ in 0..rng.random_range(1..4) {
                    let v = rng::hex(&mut rng, 8);
                    inv.add(Kind::SolutionVersion, &v, &format!("{sol}/{v}"), g);
                }
                let camp = format!("{sol}-campaign");
                inv.add(Kind::Campaign, &camp, &camp, g);
                let bij = format!("{sol}-batch-{}", rng.random_range(1..30));
                inv.add(Kind::BatchInferenceJob, &bij, &bij, g);
            }
            let filt = format!("{name}-exclude-purchased");
            inv.add(Kind::Filter, &filt, &filt, g);
            let tracker = rng::hex(&mut rng, 8);
            inv.add(Kind::EventTracker, &format!("{name}-tracker"), &tracker, g);
            inv.tracking_ids.push(rng::uuid(&mut rng).to_string());
            if rng.random_bool(0.5) {
                let rec = format!("{name}-recommended-for-you");
                inv.add(Kind::Recommender, &rec, &rec, g);
            }
            if rng.random_bool(0.3) {
                let ma = format!("{name}-attribution");
                inv.add(Kind::MetricAttribution, &ma, &ma, g);
            }
        }
        // One ranking model, so `GetPersonalizedRanking` has a campaign that serves it. Drawn
        // after every group so the resources above do not depend on it.
        if let Some(first) = inv.groups.first().cloned() {
            let sol = format!("{first}-personalized-ranking");
            inv.add(Kind::Solution, &sol, &sol, 0);
            let v = rng::hex(&mut rng, 8);
            inv.add(Kind::SolutionVersion, &v, &format!("{sol}/{v}"), 0);
            let camp = format!("{sol}-campaign");
            inv.add(Kind::Campaign, &camp, &camp, 0);
        }
        for r in RECIPES {
            inv.add(Kind::Recipe, r, r, 0);
            inv.add(Kind::Algorithm, r, r, 0);
        }
        for f in [
            "JSON-percentile-filtering",
            "sims",
            "featurize_coldstart",
            "featurize_metadata",
        ] {
            inv.add(Kind::FeatureTransformation, f, f, 0);
        }
        inv
    }

    fn add(&mut self, kind: Kind, name: &str, id: &str, group: usize) {
        let arn = arn(&self.region, &self.account, kind, id);
        self.by_kind.entry(kind).or_default().push(Res {
            name: name.to_owned(),
            arn,
            group,
        });
    }

    /// A random existing resource of `kind`.
    pub fn pick(&self, kind: Kind, rng: &mut Rng) -> Option<&Res> {
        let v = self.by_kind.get(&kind)?;
        v.get(rng.random_range(0..v.len().max(1)))
    }

    /// A random existing resource of `kind` for which `fits` holds.
    pub fn pick_where(&self, kind: Kind, rng: &mut Rng, fits: impl Fn(&Res) -> bool) -> Option<&Res> {
        let v: Vec<&Res> = self.by_kind.get(&kind)?.iter().filter(|r| fits(r)).collect();
        v.get(rng.random_range(0..v.len().max(1))).copied()
    }

    /// The recipe (without its `aws-` prefix) a solution, version or campaign of the inventory
    /// was built with, from its name.
    pub fn recipe_of(res: &Res) -> &'static str {
        ["personalized-ranking", "similar-items", "recommended-for-you"]
            .into_iter()
            .find(|r| res.name.contains(r) || res.arn.contains(r))
            .unwrap_or("user-personalization")
    }

    /// The ARN of an existing resource of `kind`, or a plausible one if there is none.
    pub fn pick_arn(&self, kind: Kind, rng: &mut Rng) -> String {
        match self.pick(kind, rng) {
            Some(r) => r.arn.clone(),
            None => self.missing_arn(kind, rng),
        }
    }

    /// An ARN of the right shape that names nothing (a deleted resource, a typo).
    pub fn missing_arn(&self, kind: Kind, rng: &mut Rng) -> String {
        let id = match kind {
            Kind::Dataset => format!("{}/INTERACTIONS", base_name(rng)),
            Kind::SolutionVersion => format!("{}/{}", base_name(rng), rng::hex(rng, 8)),
            Kind::EventTracker => rng::hex(rng, 8),
            _ => format!("{}-{}", base_name(rng), rng.random_range(2..99)),
        };
        arn(&self.region, &self.account, kind, &id)
    }

    /// The ARN of dataset group `g`.
    pub fn group_arn(&self, g: usize) -> String {
        arn(
            &self.region,
            &self.account,
            Kind::DatasetGroup,
            self.groups.get(g).map(String::as_str).unwrap_or("default"),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inventory_is_stable_and_well_formed() {
        let a = Inventory::generate(1, 0, "123456789012", 0, "us-east-1");
        let b = Inventory::generate(1, 0, "123456789012", 0, "us-east-1");
        assert_eq!(a.groups, b.groups);
        let ds = &a.by_kind[&Kind::Dataset][0];
        assert!(
            ds.arn
                .starts_with("arn:aws:personalize:us-east-1:123456789012:dataset/"),
            "{}",
            ds.arn
        );
        assert!(ds.arn.ends_with("/INTERACTIONS"));
        let r = &a.by_kind[&Kind::Recipe][0];
        assert_eq!(r.arn, "arn:aws:personalize:::recipe/aws-user-personalization");
        assert_eq!(a.tracking_ids.len(), a.by_kind[&Kind::EventTracker].len());
        for v in a.by_kind.values().flatten() {
            assert!(v.arn.len() <= 256);
        }
    }
}
