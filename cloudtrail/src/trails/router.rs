//! The router: which trails take a record (logging, Region and account scope, global service
//! events, selectors), and where each puts its copy.

use crate::delivery::{Destination, Router};
use crate::layout::LogDestination;
use crate::record::Record;

use super::model::{Organization, Trail};
use super::registry::Trails;

/// Services whose events are global (recorded in us-east-1) and follow `IncludeGlobalServiceEvents`.
const GLOBAL_SOURCES: &[&str] = &[
    "iam.amazonaws.com",
    "sts.amazonaws.com",
    "signin.amazonaws.com",
    "cloudfront.amazonaws.com",
    "route53.amazonaws.com",
];

/// Global services that also have Regional endpoints: a call to one of those is a Regional
/// event, recorded in that Region. Only calls in us-east-1, the global endpoint's Region, are
/// global service events.
const REGIONAL_ENDPOINTS: &[&str] = &["sts.amazonaws.com"];

/// Whether `record` is a global service event (one that `IncludeGlobalServiceEvents` governs).
pub(super) fn is_global_service_event(record: &Record) -> bool {
    let source = record.event_source.as_str();
    GLOBAL_SOURCES.contains(&source)
        && (!REGIONAL_ENDPOINTS.contains(&source) || record.aws_region == "us-east-1")
}

impl Trail {
    /// Whether the trail's selectors (and Region and account scope) take `record`.
    pub fn takes(&self, record: &Record, orgs: &[Organization]) -> bool {
        self.logging
            && (self.multi_region || record.aws_region == self.home_region)
            && self.covers_account(&record.recipient_account_id, orgs)
            && (self.include_global_service_events || !is_global_service_event(record))
            && self.selectors.select(record)
    }

    /// Where the trail puts `record`'s file.
    pub fn destination(&self, record: &Record) -> LogDestination {
        LogDestination {
            bucket: self.bucket.clone(),
            prefix: self.prefix.clone(),
            org_id: self.organization.clone(),
            account: record.recipient_account_id.clone(),
            region: record.aws_region.clone(),
        }
    }
}

impl Trails {
    /// The routing decision: every logging trail that takes `record`, with where its file goes.
    pub fn destinations(&self, record: &Record) -> Vec<Destination> {
        let st = self.read();
        st.trails
            .iter()
            .filter(|t| t.takes(record, &self.orgs))
            .map(|t| Destination {
                trail: t.arn(),
                log: t.destination(record),
            })
            .collect()
    }
}

impl Router for Trails {
    fn route(&self, record: &Record) -> Vec<Destination> {
        self.destinations(record)
    }
}
