//! CloudTrail record model and log delivery pipeline.
//!
//! This crate knows nothing of HTTP or of any one service: it takes typed [`Record`]s and
//! turns them into CloudTrail log files laid out exactly as AWS lays them out in a bucket.
//!
//! # Layout
//! - [`record`], [`identity`]: the typed record and `userIdentity`, serialised with AWS's names.
//! - [`timefmt`]: the UTC renderings CloudTrail uses.
//! - [`clock`]: injected time, so tests advance a clock instead of sleeping.
//! - [`layout`]: the exact AWS object key of a log file.
//! - [`store`]: the local S3-like directory (`<data-dir>/<bucket>/<key>`, metadata outside the key space).
//! - [`logfile`]: the writer: `{"Records":[...]}` body, gzip, put; shared with the offline generator.
//! - [`delivery`]: the pipeline: spool, batching per (trail, account, Region), retries, observers.
//! - [`notify`]: SNS-shaped delivery notifications.
//! - [`trails`]: trails, event selectors, and the router that decides which trails get a record.
//! - [`history`]: Event history (`LookupEvents`): 90 days of management events on disk, bounded memory.
//! - [`digest`], [`keys`]: digest files, their chain and signatures, and the per-Region key pairs.
//! - [`redact`]: hiding sensitive request members as `HIDDEN_DUE_TO_SECURITY_REASONS`.

pub mod arn;
mod atomic;
pub use atomic::write_file_atomic;
pub mod clock;
pub mod delivery;
pub mod digest;
pub mod history;
pub mod identity;
pub mod keys;
pub mod layout;
pub mod logfile;
pub mod notify;
pub mod record;
pub mod redact;
pub mod rules;
pub mod store;
pub mod timefmt;
pub mod trails;

pub use clock::{Clock, ManualClock, SharedClock, SystemClock};
pub use delivery::{
    Delivery, DeliveryConfig, DeliveryError, DeliveryObserver, DeliveryStatus, Destination, Router,
    SingleDestination,
};
pub use identity::{IdentityType, UserIdentity};
pub use layout::{LogDestination, log_key};
pub use logfile::WrittenLog;
pub use record::{EventCategory, EventType, Record, Resource, TlsDetails, random_uuid};
pub use store::{LocalDir, ObjectMeta, ObjectStore, PutObject, StoreError};
