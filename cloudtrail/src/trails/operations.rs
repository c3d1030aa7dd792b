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
        self.mutate(caller, name, |t, all| {
            let was_multi_region = t.multi_region;
            set(&mut t.bucket, u.bucket);
            set(&mut t.prefix, u.prefix.map(|p| normalise_prefix(Some(p))));
            set_or_clear(&mut t.sns_topic_name, u.sns_topic_name);
            set(
                &mut t.include_global_service_events,
                u.include_global_service_events,
            );
            set(&mut t.multi_region, u.multi_region);
            set(&mut t.log_file_validation, u.log_file_validation);
            set(&mut t.organization, org);
            set_or_clear(&mut t.kms_key_id, u.kms_key_id);
            set_or_clear(
                &mut t.cloud_watch_logs_log_group_arn,
                u.cloud_watch_logs_log_group_arn,
            );
            set_or_clear(&mut t.cloud_watch_logs_role_arn, u.cloud_watch_logs_role_arn);
            if t.multi_region && !t.include_global_service_events {
                return Err(TrailError::InvalidParameterCombination(
                    "Multi-Region trail must include global service events.".to_owned(),
                ));
            }
            check_cloudwatch(
                t.cloud_watch_logs_log_group_arn.as_deref(),
                t.cloud_watch_logs_role_arn.as_deref(),
            )?;
            // Becoming multi-Region: the name must be free in every other Region of the account.
            if t.multi_region
                && !was_multi_region
                && all
                    .iter()
                    .any(|o| o.account == t.account && o.name == t.name && o.home_region != t.home_region)
            {
                return Err(TrailError::TrailAlreadyExists(format!(
                    "Trail {} already exists in another Region for customer: {}",
                    t.name, caller.account
                )));
            }
            Ok(t.clone())
        })
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

    /// Whether `caller` may change the trail `name` (it exists, and this is its home Region),
    /// without changing it.
    pub fn check_mutable(&self, caller: Caller<'_>, name: &str) -> Result<(), TrailError> {
        let st = self.read();
        self.find_mut(&st, caller, name).map(|_| ())
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
        self.mutate_tags(caller, arn, |t| {
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
            Ok(())
        })
    }

    /// RemoveTags: removes the tags with these keys (and, when given, these values).
    pub fn remove_tags(&self, caller: Caller<'_>, arn: &str, tags: &[Tag]) -> Result<(), TrailError> {
        check_tags(tags)?;
        self.mutate_tags(caller, arn, |t| {
            t.tags.retain(|x| {
                !tags
                    .iter()
                    .any(|r| r.key == x.key && (r.value.is_none() || r.value == x.value))
            });
            Ok(())
        })
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

/// UpdateTrail's rule: a setting given replaces the trail's, one not given leaves it.
fn set<T>(slot: &mut T, update: Option<T>) {
    if let Some(v) = update {
        *slot = v;
    }
}

/// [`set`] for an optional text setting, which an empty string removes.
fn set_or_clear(slot: &mut Option<String>, update: Option<String>) {
    set(slot, update.map(|v| non_empty(Some(v))));
}
