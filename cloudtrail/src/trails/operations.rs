//! The trail operations of the CloudTrail API on the registry: CreateTrail, GetTrail,
//! UpdateTrail, DeleteTrail, DescribeTrails, ListTrails, Start/StopLogging, PutEventSelectors and
//! the tag operations. The emulator's JSON API calls these with the caller's account and Region
//! and maps [`TrailError`] to wire errors.

use super::model::{Caller, MAX_TAGS, Tag, Trail, TrailError, TrailSpec, TrailUpdate};
use super::registry::Trails;
use super::selectors::{AdvancedEventSelector, EventSelector, Selectors, validate_advanced, validate_basic};
use super::validate::{
    TrailRef, check_bucket, check_cloudwatch, check_prefix, check_tags, check_topic, non_empty,
    normalise_prefix,
};

impl Trails {
    /// CreateTrail: the new trail is not logging until StartLogging, as on AWS.
    pub fn create(&self, caller: Caller<'_>, spec: TrailSpec) -> Result<Trail, TrailError> {
        let trail = self.build(caller, spec)?;
        let trail = self.insert(caller, trail)?;
        self.save()?;
        Ok(trail)
    }

    /// GetTrail.
    pub fn get(&self, caller: Caller<'_>, name: &str) -> Result<Trail, TrailError> {
        let st = self.read();
        let i = self.find(&st, caller, name)?;
        st.trails
            .get(i)
            .cloned()
            .ok_or_else(|| Self::not_found(caller, name))
    }

    /// UpdateTrail.
    pub fn update(&self, caller: Caller<'_>, name: &str, u: TrailUpdate) -> Result<Trail, TrailError> {
        if let Some(b) = &u.bucket {
            check_bucket(b)?;
        }
        if let Some(p) = &u.prefix {
            check_prefix(p)?;
        }
        if let Some(t) = u.sns_topic_name.as_deref().filter(|t| !t.is_empty()) {
            check_topic(t)?;
        }
        let org = match u.organization_trail {
            Some(true) => Some(Some(self.org_of_manager(caller.account)?)),
            Some(false) => Some(None),
            None => None,
        };
        let result = {
            let mut st = self.write();
            let i = self.find_mut(&st, caller, name)?;
            let current = st
                .trails
                .get(i)
                .cloned()
                .ok_or_else(|| Self::not_found(caller, name))?;
            let mut t = current.clone();
            if let Some(b) = u.bucket {
                t.bucket = b;
            }
            if let Some(p) = u.prefix {
                t.prefix = normalise_prefix(Some(p));
            }
            if let Some(s) = u.sns_topic_name {
                t.sns_topic_name = non_empty(Some(s));
            }
            if let Some(g) = u.include_global_service_events {
                t.include_global_service_events = g;
            }
            if let Some(m) = u.multi_region {
                t.multi_region = m;
            }
            if let Some(v) = u.log_file_validation {
                t.log_file_validation = v;
            }
            if let Some(o) = org {
                t.organization = o;
            }
            if let Some(k) = u.kms_key_id {
                t.kms_key_id = non_empty(Some(k));
            }
            if let Some(g) = u.cloud_watch_logs_log_group_arn {
                t.cloud_watch_logs_log_group_arn = non_empty(Some(g));
            }
            if let Some(r) = u.cloud_watch_logs_role_arn {
                t.cloud_watch_logs_role_arn = non_empty(Some(r));
            }
            if t.multi_region && !t.include_global_service_events {
                return Err(TrailError::InvalidParameterCombination(
                    "Multi-Region trail must include global service events.".to_owned(),
                ));
            }
            check_cloudwatch(
                t.cloud_watch_logs_log_group_arn.as_deref(),
                t.cloud_watch_logs_role_arn.as_deref(),
            )?;
            if t.multi_region && !current.multi_region {
                // Becoming multi-Region: the name must be free in every other Region of the account.
                if st
                    .trails
                    .iter()
                    .enumerate()
                    .any(|(j, o)| j != i && o.account == t.account && o.name == t.name)
                {
                    return Err(TrailError::TrailAlreadyExists(format!(
                        "Trail {} already exists in another Region for customer: {}",
                        t.name, caller.account
                    )));
                }
            }
            if let Some(slot) = st.trails.get_mut(i) {
                *slot = t.clone();
            }
            t
        };
        self.save()?;
        Ok(result)
    }

    /// DeleteTrail; returns the deleted trail (so the caller can close its digest chain).
    pub fn delete(&self, caller: Caller<'_>, name: &str) -> Result<Trail, TrailError> {
        let removed = {
            let mut st = self.write();
            let i = self.find_mut(&st, caller, name)?;
            let t = st.trails.remove(i);
            if t.declared {
                st.deleted_declared.insert(t.arn());
            }
            t
        };
        self.save()?;
        Ok(removed)
    }

    /// DescribeTrails: the named trails (names or ARNs; unknown names are skipped, as AWS
    /// does), or every trail visible in the caller's Region. Shadow trails (multi-Region
    /// trails homed elsewhere) are included when `include_shadow` is true.
    pub fn describe(
        &self,
        caller: Caller<'_>,
        names: Option<&[String]>,
        include_shadow: bool,
    ) -> Result<Vec<Trail>, TrailError> {
        let st = self.read();
        let visible = |t: &Trail| {
            t.visible_in(caller.account, caller.region, &self.orgs)
                && (include_shadow || t.home_region == caller.region)
        };
        let mut out: Vec<Trail> = match names.filter(|n| !n.is_empty()) {
            None => st.trails.iter().filter(|t| visible(t)).cloned().collect(),
            Some(names) => {
                let mut out = Vec::new();
                for n in names {
                    let r = TrailRef::parse(n)?;
                    for t in st.trails.iter().filter(|t| visible(t)) {
                        let hit = match &r {
                            TrailRef::Name(name) => &t.name == name,
                            TrailRef::Arn {
                                region,
                                account,
                                name,
                            } => &t.name == name && &t.home_region == region && &t.account == account,
                        };
                        if hit && !out.iter().any(|o: &Trail| o.arn() == t.arn()) {
                            out.push(t.clone());
                        }
                    }
                }
                out
            }
        };
        out.sort_by_key(Trail::arn);
        Ok(out)
    }

    /// ListTrails: every trail of the account in every Region (and organization trails it is in).
    pub fn list(&self, caller: Caller<'_>) -> Vec<Trail> {
        let st = self.read();
        let mut out: Vec<Trail> = st
            .trails
            .iter()
            .filter(|t| t.covers_account(caller.account, &self.orgs))
            .cloned()
            .collect();
        out.sort_by_key(Trail::arn);
        out
    }

    /// GetTrailStatus's trail lookup (shadow trails included).
    pub fn status_of(&self, caller: Caller<'_>, name: &str) -> Result<Trail, TrailError> {
        self.get(caller, name)
    }

    /// StartLogging. Returns the trail and whether it was stopped before.
    pub fn start_logging(&self, caller: Caller<'_>, name: &str) -> Result<(Trail, bool), TrailError> {
        let now = self.now();
        self.mutate(caller, name, |t, _| {
            let was_stopped = !t.logging;
            if was_stopped {
                t.logging = true;
                t.start_logging_time = Some(now);
            }
            Ok((t.clone(), was_stopped))
        })
    }

    /// StopLogging. Returns the trail and whether it was logging before.
    pub fn stop_logging(&self, caller: Caller<'_>, name: &str) -> Result<(Trail, bool), TrailError> {
        let now = self.now();
        self.mutate(caller, name, |t, _| {
            let was_logging = t.logging;
            if was_logging {
                t.logging = false;
                t.stop_logging_time = Some(now);
            }
            Ok((t.clone(), was_logging))
        })
    }

    /// PutEventSelectors: exactly one of `basic` and `advanced`.
    pub fn put_event_selectors(
        &self,
        caller: Caller<'_>,
        name: &str,
        basic: Option<Vec<EventSelector>>,
        advanced: Option<Vec<AdvancedEventSelector>>,
    ) -> Result<Trail, TrailError> {
        let selectors = match (basic, advanced) {
            (Some(_), Some(_)) => {
                return Err(TrailError::InvalidParameterCombination(
                    "You can use either EventSelectors or AdvancedEventSelectors, but not both.".to_owned(),
                ));
            }
            (None, None) => {
                return Err(TrailError::InvalidParameterCombination(
                    "You must specify either EventSelectors or AdvancedEventSelectors.".to_owned(),
                ));
            }
            (Some(b), None) => {
                validate_basic(&b)?;
                Selectors::Basic(b)
            }
            (None, Some(a)) => {
                validate_advanced(&a, &self.data_types)?;
                Selectors::Advanced(a)
            }
        };
        self.mutate(caller, name, |t, _| {
            t.selectors = selectors;
            t.has_custom_selectors = true;
            Ok(t.clone())
        })
    }

    /// AddTags: adds or overwrites tags on a trail named by ARN.
    pub fn add_tags(&self, caller: Caller<'_>, arn: &str, tags: &[Tag]) -> Result<(), TrailError> {
        check_tags(tags)?;
        {
            let mut st = self.write();
            let i = self.find_by_arn_for_tags(&st, caller, arn)?;
            let t = st
                .trails
                .get_mut(i)
                .ok_or_else(|| TrailError::ResourceNotFound(arn.to_owned()))?;
            if t.home_region != caller.region {
                return Err(TrailError::InvalidHomeRegion(format!(
                    "This operation must be called from the trail's home Region, {}.",
                    t.home_region
                )));
            }
            let mut merged = t.tags.clone();
            for tag in tags {
                match merged.iter_mut().find(|x| x.key == tag.key) {
                    Some(x) => x.value = tag.value.clone(),
                    None => merged.push(tag.clone()),
                }
            }
            if merged.len() > MAX_TAGS {
                return Err(TrailError::TagsLimitExceeded(format!(
                    "The number of tags on {arn} would exceed the limit of {MAX_TAGS}."
                )));
            }
            t.tags = merged;
        }
        self.save()
    }

    /// RemoveTags: removes the tags with these keys (and, when given, these values).
    pub fn remove_tags(&self, caller: Caller<'_>, arn: &str, tags: &[Tag]) -> Result<(), TrailError> {
        check_tags(tags)?;
        {
            let mut st = self.write();
            let i = self.find_by_arn_for_tags(&st, caller, arn)?;
            let t = st
                .trails
                .get_mut(i)
                .ok_or_else(|| TrailError::ResourceNotFound(arn.to_owned()))?;
            if t.home_region != caller.region {
                return Err(TrailError::InvalidHomeRegion(format!(
                    "This operation must be called from the trail's home Region, {}.",
                    t.home_region
                )));
            }
            t.tags.retain(|x| {
                !tags
                    .iter()
                    .any(|r| r.key == x.key && (r.value.is_none() || r.value == x.value))
            });
        }
        self.save()
    }

    /// ListTags: the tags of each trail ARN, in the order asked.
    pub fn list_tags(
        &self,
        caller: Caller<'_>,
        arns: &[String],
    ) -> Result<Vec<(String, Vec<Tag>)>, TrailError> {
        let st = self.read();
        let mut out = Vec::with_capacity(arns.len());
        for arn in arns {
            let i = self.find_by_arn_for_tags(&st, caller, arn)?;
            out.push((
                arn.clone(),
                st.trails.get(i).map(|t| t.tags.clone()).unwrap_or_default(),
            ));
        }
        Ok(out)
    }
}
