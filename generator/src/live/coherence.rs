//! Live mode: keeps the mix's own writes coherent with the shared inventory they act on, the way
//! a team shares an account. The plan draws every call's target on its own; offline that is
//! harmless, but live a `DeleteFilter` really removes the filter later reads name, a second
//! `UpdateCampaign` on a campaign still updating answers `ResourceInUseException`, and a stopped
//! recommender cannot serve. So, in the producer, before a call is sent (deterministic, from the
//! plan alone):
//!
//! - a delete that is not a planned mistake removes, when there is one, a resource the mix
//!   itself created at least a settling time earlier (the team cleans up its own filters);
//!   otherwise it removes the inventory resource it names, which is then gone for later calls;
//! - a later call naming a gone resource names a surviving one of the same kind (and recipe);
//! - an update, start or stop waits for nothing: it goes to a resource of the same kind that no
//!   such call touched within the settling time, and a stop or start to one in the right state;
//! - when every resource of the kind was deleted, the call is sent as it is and its
//!   `ResourceNotFoundException` (`InvalidInputException` for `PutEvents`) is counted among the
//!   errors the scenario meant, as the consequence of its own deletions;
//! - a call that is not a planned `AccessDeniedException` is signed by an identity whose deny
//!   rules allow it, and a planned one by an identity whose rules deny it (that is how a client
//!   provokes the denial), so the identity file's deny rules answer exactly the planned denials.

use std::collections::{HashMap, HashSet};

use serde_json::Value;

use super::LiveIdentity;
use crate::inventory::Inventory;
use crate::ops::{Kind, OpSpec, Verb};

/// The producer's view of what the mix has done to the live resources.
pub(super) struct Coherence {
    /// Per Region: live ARNs of each kind, inventory first.
    kinds: Vec<HashMap<Kind, Vec<String>>>,
    /// Per Region: ARN -> its kind.
    kind_of: Vec<HashMap<String, Kind>>,
    /// Per Region: event tracker ARN -> its live tracking ID.
    tracking: Vec<HashMap<String, String>>,
    /// Per Region and kind: resources the mix created, with the call index of their creation.
    made: Vec<HashMap<Kind, Vec<(u64, String)>>>,
    gone: HashSet<String>,
    stopped: HashSet<String>,
    /// ARN -> call index of the last update, start or stop.
    touched: HashMap<String, u64>,
    /// Filter ARN -> its dataset group ARN, and filters per group (at most ten).
    filter_group: HashMap<String, String>,
    filters: HashMap<String, usize>,
    /// Per Region: call indexes of the import and export jobs the mix started recently.
    jobs: Vec<Vec<u64>>,
    /// Calls a resource needs to settle (to be ACTIVE after a create, an update or a start).
    settle: u64,
    /// Per identity: actions denied (IAM-style patterns).
    deny: Vec<Vec<String>>,
    kinds_of_identity: Vec<crate::scenario::IdentityKind>,
    next: u64,
}

/// Filters a dataset group may hold.
const FILTERS_PER_GROUP: usize = 10;

/// Import and export jobs that may run at once in an account and Region.
const JOBS_IN_FLIGHT: usize = 5;

/// Whether an IAM-style `pattern` (`personalize:Delete*`, `*`) matches `action`.
fn matches(pattern: &str, action: &str) -> bool {
    let (p, a) = (pattern.to_ascii_lowercase(), action.to_ascii_lowercase());
    match p.strip_suffix('*') {
        Some(prefix) => a.starts_with(prefix),
        None => p == a,
    }
}

fn denies(deny: &[String], op: &OpSpec) -> bool {
    let action = format!("personalize:{}", op.name);
    deny.iter().any(|p| matches(p, &action))
}

impl Coherence {
    /// `inventories` per Region, `live_ids` the setup's planned-to-live identifiers, `settle`
    /// in calls.
    pub(super) fn new(
        inventories: &[Inventory],
        live_ids: &HashMap<String, String>,
        ids: &[LiveIdentity],
        settle: u64,
    ) -> Coherence {
        let live = |s: &str| live_ids.get(s).cloned().unwrap_or_else(|| s.to_owned());
        let mut kinds = Vec::new();
        let mut kind_of = Vec::new();
        let mut tracking = Vec::new();
        let mut filters = HashMap::new();
        let mut filter_group = HashMap::new();
        for inv in inventories {
            let mut k: HashMap<Kind, Vec<String>> = HashMap::new();
            let mut of = HashMap::new();
            for (kind, list) in &inv.by_kind {
                for r in list {
                    let arn = live(&r.arn);
                    of.insert(arn.clone(), *kind);
                    k.entry(*kind).or_default().push(arn);
                }
            }
            let mut t = HashMap::new();
            for (r, id) in inv
                .by_kind
                .get(&Kind::EventTracker)
                .into_iter()
                .flatten()
                .zip(&inv.tracking_ids)
            {
                t.insert(live(&r.arn), live(id));
            }
            for f in inv.by_kind.get(&Kind::Filter).into_iter().flatten() {
                let g = inv.group_arn(f.group);
                *filters.entry(g.clone()).or_default() += 1;
                filter_group.insert(f.arn.clone(), g);
            }
            kinds.push(k);
            kind_of.push(of);
            tracking.push(t);
        }
        Coherence {
            made: vec![HashMap::new(); inventories.len()],
            jobs: vec![Vec::new(); inventories.len()],
            filter_group,
            filters,
            kinds,
            kind_of,
            tracking,
            gone: HashSet::new(),
            stopped: HashSet::new(),
            touched: HashMap::new(),
            settle: settle.max(1),
            deny: ids.iter().map(|i| i.deny.clone()).collect(),
            kinds_of_identity: ids.iter().map(|i| i.kind).collect(),
            next: 0,
        }
    }

    /// Adjusts one mix call in Region `r` before it is sent: its body and signing identity.
    /// `planned` is the error the plan meant it to meet; the answer is the error it is now
    /// expected to meet (a planned denial no identity can provoke is sent as a normal call).
    pub(super) fn adjust(
        &mut self,
        op: &mut &'static OpSpec,
        r: usize,
        body: &mut Value,
        response: Option<&Value>,
        identity: &mut usize,
        planned: Option<&'static str>,
    ) -> Option<&'static str> {
        self.next += 1;
        let asked = op.name;
        let planned = self.route(op, identity, planned);
        // These mistakes leave the request as it is: the call still acts (a filter is never in
        // use, so a "planned in use" delete deletes), and is tracked like any other.
        if planned.is_some_and(|c| !matches!(c, "ResourceInUseException" | "LimitExceededException")) {
            return planned;
        }
        let member = op.kind.arn_member();
        let mut stranded = false;
        match op.verb {
            Verb::Delete => {
                let made = self
                    .made
                    .get_mut(r)
                    .and_then(|m| m.get_mut(&op.kind))
                    .filter(|l| l.first().is_some_and(|(at, _)| at + self.settle <= self.next));
                if let Some(list) = made {
                    let (_, arn) = list.remove(0);
                    set(body, member, &arn);
                    self.removed(r, &arn);
                } else {
                    stranded = self.redirect(r, body, op);
                    if let Some(arn) = body.get(member).and_then(Value::as_str).map(str::to_owned) {
                        self.gone.insert(arn.clone());
                        if let Some(t) = self.tracking.get(r).and_then(|t| t.get(&arn)) {
                            self.gone.insert(t.clone());
                        }
                        self.removed(r, &arn);
                    }
                }
            }
            Verb::Update => {
                stranded = self.redirect(r, body, op);
                let now = self.next;
                let settle = self.settle;
                let toggles = op.kind == Kind::Recommender
                    && (op.name.starts_with("Stop") || op.name.starts_with("Start"));
                let free = |c: &Coherence, arn: &str, starting: bool| {
                    !c.gone.contains(arn)
                        && c.touched.get(arn).is_none_or(|t| t + settle <= now)
                        && (!toggles || c.stopped.contains(arn) == starting)
                };
                let find = |c: &Coherence, cur: &str, starting: bool| {
                    if free(c, cur, starting) {
                        return Some(cur.to_owned());
                    }
                    c.kinds
                        .get(r)
                        .and_then(|k| k.get(&op.kind))
                        .and_then(|l| l.iter().find(|a| free(c, a, starting)).cloned())
                };
                let current = body.get(member).and_then(Value::as_str).map(str::to_owned);
                if let Some(cur) = current {
                    let starting = op.name.starts_with("Start");
                    let mut target = find(self, &cur, starting).map(|t| (t, starting));
                    // A start with nothing stopped is a stop, and the other way round: the
                    // mix's starts and stops stay balanced and each meets a recommender in the
                    // state it needs.
                    if target.is_none() && toggles {
                        let other = if starting {
                            "StopRecommender"
                        } else {
                            "StartRecommender"
                        };
                        if let (Some(t), Some(spec)) = (find(self, &cur, !starting), crate::ops::get(other)) {
                            *op = spec;
                            target = Some((t, !starting));
                        }
                    }
                    if let Some((t, starting)) = target {
                        set(body, member, &t);
                        self.touched.insert(t.clone(), now);
                        if toggles && starting {
                            self.stopped.remove(&t);
                        } else if toggles {
                            self.stopped.insert(t);
                        }
                    }
                }
            }
            Verb::Create => {
                stranded = self.redirect(r, body, op);
                // At most five import and export jobs run at once per Region: a job started
                // while five of the mix's own are still running meets the limit.
                if matches!(op.kind, Kind::DatasetImportJob | Kind::DatasetExportJob)
                    && let Some(running) = self.jobs.get_mut(r)
                {
                    let (now, settle) = (self.next, self.settle);
                    running.retain(|at| at + settle > now);
                    if running.len() >= JOBS_IN_FLIGHT {
                        return planned.or(Some("LimitExceededException"));
                    }
                    running.push(now);
                }
                // A filter's expression reads the group's interactions: a new filter goes to a
                // group whose Interactions dataset the scenario has not deleted.
                if op.kind == Kind::Filter {
                    let no_interactions = |c: &Coherence, g: &str| {
                        c.gone.contains(&format!(
                            "{}/INTERACTIONS",
                            g.replacen(":dataset-group/", ":dataset/", 1)
                        ))
                    };
                    if let Some(g) = body
                        .get("datasetGroupArn")
                        .and_then(Value::as_str)
                        .map(str::to_owned)
                        && no_interactions(self, &g)
                    {
                        let other = self
                            .kinds
                            .get(r)
                            .and_then(|k| k.get(&Kind::DatasetGroup))
                            .and_then(|l| {
                                l.iter()
                                    .find(|a| !self.gone.contains(a.as_str()) && !no_interactions(self, a))
                            })
                            .cloned();
                        match other {
                            Some(o) => set(body, "datasetGroupArn", &o),
                            None => return planned.or(Some("InvalidInputException")),
                        }
                    }
                }
                // At most ten filters per group: a new one goes to a group with room.
                if op.kind == Kind::Filter
                    && let Some(g) = body
                        .get("datasetGroupArn")
                        .and_then(Value::as_str)
                        .map(str::to_owned)
                {
                    let full =
                        |c: &Coherence, g: &str| c.filters.get(g).copied().unwrap_or(0) >= FILTERS_PER_GROUP;
                    let g = if full(self, &g) {
                        let room = self
                            .kinds
                            .get(r)
                            .and_then(|k| k.get(&Kind::DatasetGroup))
                            .and_then(|l| {
                                l.iter().find(|a| {
                                    !self.gone.contains(a.as_str())
                                        && !full(self, a)
                                        && !self.gone.contains(&format!(
                                            "{}/INTERACTIONS",
                                            a.replacen(":dataset-group/", ":dataset/", 1)
                                        ))
                                })
                            })
                            .cloned();
                        match room {
                            Some(o) => {
                                set(body, "datasetGroupArn", &o);
                                o
                            }
                            None => return planned.or(Some("LimitExceededException")),
                        }
                    } else {
                        g
                    };
                    *self.filters.entry(g.clone()).or_default() += 1;
                    if let Some(arn) = response.and_then(|v| v.get(member)).and_then(Value::as_str) {
                        self.filter_group.insert(arn.to_owned(), g);
                    }
                }
                // A dataset group has one event tracker: a new one goes to a settled group the
                // mix made, which has none yet.
                if op.kind == Kind::EventTracker {
                    let now = self.next;
                    let settle = self.settle;
                    if let Some(list) = self.made.get_mut(r).and_then(|m| m.get_mut(&Kind::DatasetGroup))
                        && let Some(i) = list.iter().position(|(at, _)| at + settle <= now)
                    {
                        let (_, group) = list.remove(i);
                        set(body, "datasetGroupArn", &group);
                    }
                }
                // A name-based resource the mix made can be cleaned up later.
                if !matches!(op.kind, Kind::SolutionVersion | Kind::EventTracker)
                    && let Some(arn) = response.and_then(|v| v.get(member)).and_then(Value::as_str)
                    && let Some(m) = self.made.get_mut(r)
                {
                    m.entry(op.kind).or_default().push((self.next, arn.to_owned()));
                }
            }
            _ => stranded = self.redirect(r, body, op),
        }
        // Everything of the kind the call names was deleted by the scenario's own calls: the
        // answer is the consequence of those deletions, as in a real account.
        if op.name != asked {
            // Swapped (a start for a stop): signed by someone allowed to.
            self.route(op, identity, None);
        }
        planned.or(stranded.then_some(if op.name == "PutEvents" {
            "InvalidInputException"
        } else {
            "ResourceNotFoundException"
        }))
    }

    /// Bookkeeping for a resource a delete removes: a solution takes its versions with it, a
    /// filter frees room in its group.
    fn removed(&mut self, r: usize, arn: &str) {
        if let Some(g) = self.filter_group.remove(arn)
            && let Some(n) = self.filters.get_mut(&g)
        {
            *n = n.saturating_sub(1);
        }
        if self.kind_of.get(r).and_then(|k| k.get(arn)) == Some(&Kind::Solution) {
            let prefix = format!("{arn}/");
            let versions: Vec<String> = self
                .kinds
                .get(r)
                .and_then(|k| k.get(&Kind::SolutionVersion))
                .into_iter()
                .flatten()
                .filter(|v| v.starts_with(&prefix))
                .cloned()
                .collect();
            self.gone.extend(versions);
        }
    }

    /// Signs with an identity that allows the call, or, for a planned denial, one that denies it.
    fn route(
        &self,
        op: &OpSpec,
        identity: &mut usize,
        planned: Option<&'static str>,
    ) -> Option<&'static str> {
        let want_denied = planned == Some("AccessDeniedException");
        let ok = |i: usize| self.deny.get(i).is_some_and(|d| denies(d, op) == want_denied);
        if ok(*identity) {
            return planned;
        }
        let kind = self.kinds_of_identity.get(*identity).copied();
        let n = self.deny.len();
        // Same identity type first, then any.
        let pick = (1..n)
            .map(|k| (*identity + k) % n)
            .find(|i| ok(*i) && self.kinds_of_identity.get(*i).copied() == kind)
            .or_else(|| (1..n).map(|k| (*identity + k) % n).find(|i| ok(*i)));
        match pick {
            Some(i) => {
                *identity = i;
                planned
            }
            // Nobody can be denied this: it goes as a normal call.
            None if want_denied => None,
            None => planned,
        }
    }

    /// Points every member naming a gone (or, for serving, stopped) resource at a survivor of
    /// the same kind, preferring the same recipe.
    fn redirect(&self, r: usize, body: &mut Value, op: &OpSpec) -> bool {
        if self.gone.is_empty() && self.stopped.is_empty() {
            return false;
        }
        let serving = op.verb == Verb::Get;
        let mut stranded = false;
        let Some(m) = body.as_object_mut() else {
            return false;
        };
        for (key, v) in m.iter_mut() {
            let Value::String(s) = v else { continue };
            let unusable = self.gone.contains(s.as_str()) || (serving && self.stopped.contains(s.as_str()));
            if !unusable {
                continue;
            }
            if key == "trackingId" {
                let alive = self
                    .tracking
                    .get(r)
                    .and_then(|t| t.values().find(|id| !self.gone.contains(id.as_str())));
                match alive {
                    Some(a) => *s = a.clone(),
                    None => stranded = true,
                }
                continue;
            }
            let Some(kind) = self.kind_of.get(r).and_then(|k| k.get(s.as_str())) else {
                continue;
            };
            let usable = |a: &&String| {
                !(self.gone.contains(a.as_str()) || serving && self.stopped.contains(a.as_str()))
            };
            let recipe = recipe_of(s);
            let list = self.kinds.get(r).and_then(|k| k.get(kind));
            let alive = list
                .and_then(|l| l.iter().filter(usable).find(|a| recipe_of(a) == recipe))
                .or_else(|| list.and_then(|l| l.iter().find(usable)));
            match alive {
                Some(a) => *s = a.clone(),
                None => stranded = true,
            }
        }
        stranded
    }
}

fn recipe_of(arn: &str) -> &'static str {
    ["personalized-ranking", "similar-items", "recommended-for-you"]
        .into_iter()
        .find(|r| arn.contains(r))
        .unwrap_or("user-personalization")
}

fn set(body: &mut Value, member: &str, arn: &str) {
    if let Some(m) = body.as_object_mut() {
        m.insert(member.to_owned(), Value::String(arn.to_owned()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::IdentityKind;
    use serde_json::json;
    use sigv4::Credentials;

    fn identity(kind: IdentityKind, deny: &[&str]) -> LiveIdentity {
        LiveIdentity {
            kind,
            account: "123456789012".into(),
            name: "x".into(),
            credentials: Credentials {
                access_key_id: "A".into(),
                secret_access_key: "S".into(),
                session_token: None,
            },
            deny: deny.iter().map(|s| (*s).to_owned()).collect(),
            arn: "arn:aws:iam::123456789012:user/x".into(),
            role_arn: None,
        }
    }

    #[test]
    fn deletes_clean_up_what_the_mix_made_and_later_calls_avoid_what_is_gone() {
        let inv = Inventory::generate(1, 0, "123456789012", 0, "us-east-1");
        let ids = vec![
            identity(IdentityKind::IAMUser, &["personalize:Delete*"]),
            identity(IdentityKind::IAMUser, &[]),
        ];
        let mut c = Coherence::new(std::slice::from_ref(&inv), &HashMap::new(), &ids, 2);
        let get = |n: &str| crate::ops::get(n).unwrap();
        let filters = inv.by_kind[&Kind::Filter].clone();
        // A delete signed by a denying identity moves to one that may delete; nothing the mix
        // made is settled yet, so the inventory filter named goes.
        let mut who = 0;
        let mut body = json!({"filterArn": filters[0].arn});
        assert_eq!(
            c.adjust(&mut get("DeleteFilter"), 0, &mut body, None, &mut who, None),
            None
        );
        assert_eq!(who, 1);
        let mut read = json!({"filterArn": filters[0].arn});
        c.adjust(&mut get("DescribeFilter"), 0, &mut read, None, &mut who, None);
        assert_ne!(read["filterArn"], json!(filters[0].arn));
        // A filter the mix made is what the next delete removes, once settled.
        let made = "arn:aws:personalize:us-east-1:123456789012:filter/mine";
        let mut create = json!({"name": "mine"});
        c.adjust(
            &mut get("CreateFilter"),
            0,
            &mut create,
            Some(&json!({"filterArn": made})),
            &mut who,
            None,
        );
        for _ in 0..3 {
            c.adjust(&mut get("ListFilters"), 0, &mut json!({}), None, &mut who, None);
        }
        let mut body = json!({"filterArn": filters[1 % filters.len()].arn});
        c.adjust(&mut get("DeleteFilter"), 0, &mut body, None, &mut who, None);
        assert_eq!(body["filterArn"], json!(made));
        // A planned denial goes to the identity that is denied.
        let mut who = 1;
        let planned = c.adjust(
            &mut get("DeleteFilter"),
            0,
            &mut json!({}),
            None,
            &mut who,
            Some("AccessDeniedException"),
        );
        assert_eq!((who, planned), (0, Some("AccessDeniedException")));
        assert!(matches("personalize:Stop*", "personalize:StopRecommender"));
        assert!(!matches(
            "personalize:CreateDatasetGroup",
            "personalize:CreateDataset"
        ));
    }
}
