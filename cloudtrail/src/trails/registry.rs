//! The trail registry: every trail of every account, loaded from and saved to one small JSON
//! file, with the trails declared in the config merged in at start-up, and the lookups the
//! operations share (a trail by name or ARN as the caller sees it, a trail the caller may change).

use std::collections::BTreeSet;
use std::fs;
use std::path::PathBuf;
use std::sync::RwLock;

use serde::{Deserialize, Serialize};

use crate::atomic::{Access, write_atomic};
use crate::clock::SharedClock;

use super::model::{
    Caller, MAX_TAGS, MAX_TRAILS_PER_REGION, Organization, StoreName, Trail, TrailError, TrailSpec, trail_arn,
};
use super::selectors::{DataResourceTypes, Selectors, validate_advanced, validate_basic};
use super::validate::{
    TrailRef, check_bucket, check_cloudwatch, check_prefix, check_tags, check_topic, non_empty,
    normalise_prefix, validate_trail_name,
};

#[derive(Debug, Default, Serialize, Deserialize)]
pub(super) struct State {
    #[serde(default)]
    pub(super) trails: Vec<Trail>,
    /// Declared trails deleted through the API, so a restart does not bring them back.
    #[serde(default)]
    pub(super) deleted_declared: BTreeSet<String>,
}

/// Every trail of every account, with persistence and the routing decision.
pub struct Trails {
    state: RwLock<State>,
    path: Option<PathBuf>,
    clock: SharedClock,
    pub(super) orgs: Vec<Organization>,
    pub(super) data_types: DataResourceTypes,
}

impl std::fmt::Debug for Trails {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Trails {{ path: {:?}, .. }}", self.path)
    }
}

impl Trails {
    /// An empty registry; `path` is the state file (`None`: memory only). Advanced selectors
    /// may name the data-event resource types in `data_types`.
    pub fn new(
        path: Option<PathBuf>,
        clock: SharedClock,
        orgs: Vec<Organization>,
        data_types: DataResourceTypes,
    ) -> Self {
        Trails {
            state: RwLock::new(State::default()),
            path,
            clock,
            orgs,
            data_types,
        }
    }

    /// Loads the state file (if any), then adds every declared trail that is neither already
    /// there nor deleted through the API. Declared trails start logging.
    pub fn open(
        path: Option<PathBuf>,
        clock: SharedClock,
        orgs: Vec<Organization>,
        data_types: DataResourceTypes,
        declared: Vec<(String, String, TrailSpec)>,
    ) -> Result<Self, TrailError> {
        let t = Trails::new(path, clock, orgs, data_types);
        if let Some(p) = &t.path {
            match fs::read(p) {
                Ok(bytes) => {
                    let st: State = serde_json::from_slice(&bytes)
                        .map_err(|e| TrailError::Persist(format!("{}: {e}", p.display())))?;
                    *t.write() = st;
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(TrailError::Persist(format!("{}: {e}", p.display()))),
            }
        }
        for (account, region, spec) in declared {
            let arn = trail_arn(&region, &account, &spec.name);
            let caller = Caller {
                account: &account,
                region: &region,
            };
            if t.read().deleted_declared.contains(&arn) {
                continue;
            }
            let mut trail = t.build(caller, spec)?;
            {
                // Already there: the config's settings win, what the API changed at run time
                // (logging, selectors, tags) is kept.
                let mut st = t.write();
                if let Some(existing) = st.trails.iter_mut().find(|x| x.arn() == arn) {
                    if existing.declared {
                        existing.bucket = trail.bucket;
                        existing.prefix = trail.prefix;
                        existing.sns_topic_name = trail.sns_topic_name;
                        existing.include_global_service_events = trail.include_global_service_events;
                        existing.multi_region = trail.multi_region;
                        existing.log_file_validation = trail.log_file_validation;
                        existing.organization = trail.organization;
                        existing.store = trail.store;
                    }
                    continue;
                }
            }
            trail.declared = true;
            trail.logging = true;
            trail.start_logging_time = Some(t.clock.now().unix_timestamp());
            t.insert(caller, trail)?;
        }
        t.save()?;
        Ok(t)
    }

    /// The data-event resource types advanced selectors may name.
    pub fn data_resource_types(&self) -> &DataResourceTypes {
        &self.data_types
    }

    /// The organizations known to the emulator.
    pub fn organizations(&self) -> &[Organization] {
        &self.orgs
    }

    /// The state, for reading.
    pub(super) fn read(&self) -> std::sync::RwLockReadGuard<'_, State> {
        self.state.read().unwrap_or_else(|e| e.into_inner())
    }

    /// The state, for changing; the caller saves after.
    pub(super) fn write(&self) -> std::sync::RwLockWriteGuard<'_, State> {
        self.state.write().unwrap_or_else(|e| e.into_inner())
    }

    /// Writes the state file (atomically), if there is one.
    pub(super) fn save(&self) -> Result<(), TrailError> {
        let Some(path) = &self.path else { return Ok(()) };
        let bytes = {
            let st = self.read();
            serde_json::to_vec_pretty(&*st).map_err(|e| TrailError::Persist(e.to_string()))?
        };
        write_atomic(path, &bytes, Access::Default)
            .map_err(|e| TrailError::Persist(format!("{}: {e}", path.display())))
    }

    /// The clock's time in epoch seconds, as trails keep their logging times.
    pub(super) fn now(&self) -> i64 {
        self.clock.now().unix_timestamp()
    }

    /// A trail from CreateTrail's settings, checked as CloudTrail checks them.
    pub(super) fn build(&self, caller: Caller<'_>, spec: TrailSpec) -> Result<Trail, TrailError> {
        validate_trail_name(&spec.name)?;
        check_bucket(&spec.bucket)?;
        if let Some(p) = &spec.prefix {
            check_prefix(p)?;
        }
        if let Some(t) = spec.sns_topic_name.as_deref().filter(|t| !t.is_empty()) {
            check_topic(t)?;
        }
        check_cloudwatch(
            spec.cloud_watch_logs_log_group_arn
                .as_deref()
                .filter(|s| !s.is_empty()),
            spec.cloud_watch_logs_role_arn
                .as_deref()
                .filter(|s| !s.is_empty()),
        )?;
        check_tags(&spec.tags)?;
        match &spec.selectors {
            Some(Selectors::Basic(b)) => validate_basic(b)?,
            Some(Selectors::Advanced(a)) => validate_advanced(a, &self.data_types)?,
            None => {}
        }
        if spec.tags.len() > MAX_TAGS {
            return Err(TrailError::TagsLimitExceeded(format!(
                "A trail can have at most {MAX_TAGS} tags."
            )));
        }
        let multi_region = spec.multi_region.unwrap_or(false);
        let include_global = spec.include_global_service_events.unwrap_or(true);
        if multi_region && !include_global {
            return Err(TrailError::InvalidParameterCombination(
                "Multi-Region trail must include global service events.".to_owned(),
            ));
        }
        let organization = if spec.organization_trail.unwrap_or(false) {
            Some(self.org_of_manager(caller.account)?)
        } else {
            None
        };
        Ok(Trail {
            name: spec.name,
            account: caller.account.to_owned(),
            home_region: caller.region.to_owned(),
            bucket: spec.bucket,
            prefix: normalise_prefix(spec.prefix),
            sns_topic_name: non_empty(spec.sns_topic_name),
            include_global_service_events: include_global,
            multi_region,
            log_file_validation: spec.log_file_validation.unwrap_or(false),
            organization,
            kms_key_id: non_empty(spec.kms_key_id),
            cloud_watch_logs_log_group_arn: non_empty(spec.cloud_watch_logs_log_group_arn),
            cloud_watch_logs_role_arn: non_empty(spec.cloud_watch_logs_role_arn),
            has_custom_selectors: spec.selectors.is_some(),
            selectors: spec.selectors.unwrap_or_default(),
            tags: spec.tags,
            logging: false,
            start_logging_time: None,
            stop_logging_time: None,
            store: spec.store,
            declared: false,
        })
    }

    /// The organization `account` manages, or why it may not make an organization trail.
    pub(super) fn org_of_manager(&self, account: &str) -> Result<String, TrailError> {
        if let Some(o) = self.orgs.iter().find(|o| o.management_account == account) {
            return Ok(o.id.clone());
        }
        if self.orgs.iter().any(|o| o.contains(account)) {
            return Err(TrailError::NotOrganizationMasterAccount(format!(
                "The request was rejected because account {account} is not the management account of an organization."
            )));
        }
        Err(TrailError::OrganizationsNotInUse(format!(
            "This request is only valid for accounts that are part of an organization in AWS Organizations. Account {account} is not."
        )))
    }

    /// Inserts a built trail after the uniqueness and quota checks.
    pub(super) fn insert(&self, caller: Caller<'_>, trail: Trail) -> Result<Trail, TrailError> {
        let mut st = self.write();
        let clash = st.trails.iter().any(|t| {
            t.account == trail.account
                && t.name == trail.name
                && (t.home_region == trail.home_region || t.multi_region || trail.multi_region)
        });
        if clash {
            return Err(TrailError::TrailAlreadyExists(format!(
                "Trail {} already exists for customer: {}",
                trail.name, caller.account
            )));
        }
        let regions_to_check: Vec<String> = if trail.multi_region {
            let mut r: BTreeSet<String> = st
                .trails
                .iter()
                .filter(|t| t.account == trail.account)
                .map(|t| t.home_region.clone())
                .collect();
            r.insert(trail.home_region.clone());
            r.into_iter().collect()
        } else {
            vec![trail.home_region.clone()]
        };
        for region in regions_to_check {
            let n = st
                .trails
                .iter()
                .filter(|t| t.account == trail.account && (t.home_region == region || t.multi_region))
                .count();
            if n >= MAX_TRAILS_PER_REGION {
                return Err(TrailError::MaximumNumberOfTrailsExceeded(format!(
                    "User: {} already has {MAX_TRAILS_PER_REGION} trails in {region}.",
                    caller.account
                )));
            }
        }
        st.deleted_declared.remove(&trail.arn());
        st.trails.push(trail.clone());
        Ok(trail)
    }

    /// `TrailNotFoundException` for what the caller named.
    pub(super) fn not_found(caller: Caller<'_>, r: &str) -> TrailError {
        TrailError::TrailNotFound(format!("Unknown trail: {r} for the user: {}", caller.account))
    }

    /// Finds the index of the trail a caller names, as visible from the caller's Region.
    pub(super) fn find(&self, st: &State, caller: Caller<'_>, name: &str) -> Result<usize, TrailError> {
        let r = TrailRef::parse(name)?;
        let idx = st.trails.iter().position(|t| match &r {
            TrailRef::Name(n) => &t.name == n && t.visible_in(caller.account, caller.region, &self.orgs),
            TrailRef::Arn {
                region,
                account,
                name,
            } => {
                &t.name == name
                    && &t.home_region == region
                    && &t.account == account
                    && t.visible_in(caller.account, caller.region, &self.orgs)
            }
        });
        idx.ok_or_else(|| Self::not_found(caller, r.name()))
    }

    /// Finds a trail the caller may change: owned by the caller and called from its home Region.
    pub(super) fn find_mut(&self, st: &State, caller: Caller<'_>, name: &str) -> Result<usize, TrailError> {
        let i = self.find(st, caller, name)?;
        let t = st.trails.get(i).ok_or_else(|| Self::not_found(caller, name))?;
        if t.account != caller.account {
            return Err(TrailError::NotOrganizationMasterAccount(format!(
                "The request was rejected because account {} is not the management account of the organization that owns trail {}.",
                caller.account,
                t.arn()
            )));
        }
        home_region_only(t, caller)?;
        Ok(i)
    }

    /// Runs `f` on a copy of the trail the caller may change (with every trail, itself
    /// included as it was, to check the change against), keeps the copy if `f` succeeds, and
    /// saves.
    pub(super) fn mutate<R>(
        &self,
        caller: Caller<'_>,
        name: &str,
        f: impl FnOnce(&mut Trail, &[Trail]) -> Result<R, TrailError>,
    ) -> Result<R, TrailError> {
        let out = {
            let mut st = self.write();
            let i = self.find_mut(&st, caller, name)?;
            let mut copy = st
                .trails
                .get(i)
                .cloned()
                .ok_or_else(|| Self::not_found(caller, name))?;
            let out = f(&mut copy, &st.trails)?;
            if let Some(slot) = st.trails.get_mut(i) {
                *slot = copy;
            }
            out
        };
        self.save()?;
        Ok(out)
    }

    /// The trail a tag operation names by ARN, if the caller's account sees it.
    pub(super) fn find_by_arn_for_tags(
        &self,
        st: &State,
        caller: Caller<'_>,
        arn: &str,
    ) -> Result<usize, TrailError> {
        let r = TrailRef::parse(arn)
            .map_err(|_| TrailError::CloudTrailArnInvalid(format!("Invalid trail ARN: {arn}")))?;
        let TrailRef::Arn {
            region,
            account,
            name,
        } = r
        else {
            return Err(TrailError::CloudTrailArnInvalid(format!(
                "Resource ID must be a trail ARN: {arn}"
            )));
        };
        st.trails
            .iter()
            .position(|t| {
                t.name == name
                    && t.home_region == region
                    && t.account == account
                    && t.covers_account(caller.account, &self.orgs)
            })
            .ok_or_else(|| TrailError::ResourceNotFound(format!("Resource {arn} does not exist.")))
    }

    /// Runs `f` on the trail a tag operation names by ARN, called from its home Region, and
    /// saves when `f` succeeds.
    pub(super) fn mutate_tags(
        &self,
        caller: Caller<'_>,
        arn: &str,
        f: impl FnOnce(&mut Trail) -> Result<(), TrailError>,
    ) -> Result<(), TrailError> {
        {
            let mut st = self.write();
            let i = self.find_by_arn_for_tags(&st, caller, arn)?;
            let t = st
                .trails
                .get_mut(i)
                .ok_or_else(|| TrailError::ResourceNotFound(arn.to_owned()))?;
            home_region_only(t, caller)?;
            f(t)?;
        }
        self.save()
    }

    /// Every trail, for observers (digests, notifications, status).
    pub fn snapshot(&self) -> Vec<Trail> {
        self.read().trails.clone()
    }

    /// The trail with this ARN, if it exists.
    pub fn by_arn(&self, arn: &str) -> Option<Trail> {
        self.read().trails.iter().find(|t| t.arn() == arn).cloned()
    }

    /// The object store named for a bucket by the first trail delivering to it.
    pub fn store_for_bucket(&self, bucket: &str) -> Option<StoreName> {
        self.read()
            .trails
            .iter()
            .find(|t| t.bucket == bucket && t.store.is_some())
            .and_then(|t| t.store.clone())
    }
}

/// `InvalidHomeRegionException` unless the caller calls from the trail's home Region.
fn home_region_only(t: &Trail, caller: Caller<'_>) -> Result<(), TrailError> {
    if t.home_region == caller.region {
        Ok(())
    } else {
        Err(TrailError::InvalidHomeRegion(format!(
            "This operation must be called from the trail's home Region, {}.",
            t.home_region
        )))
    }
}
