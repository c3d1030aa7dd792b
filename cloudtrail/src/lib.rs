//! CloudTrail record model and log delivery pipeline.
//!
//! This crate knows nothing of HTTP or Personalize: it takes typed [`Record`]s and
//! turns them into CloudTrail log files laid out exactly as AWS lays them out in a bucket.
//!
//! # Layout
//! - [`record`], [`identity`]: the typed record and `userIdentity`, serialised with AWS's names.
//! - [`timefmt`]: the UTC renderings CloudTrail uses.
//! - [`clock`]: injected time, so tests advance a clock instead of sleeping.

pub mod clock;
pub mod identity;
pub mod record;
pub mod timefmt;

pub use clock::{Clock, ManualClock, SharedClock, SystemClock};
pub use identity::{IdentityType, UserIdentity};
pub use record::{EventCategory, EventType, Record, Resource, TlsDetails};
