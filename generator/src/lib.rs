//! Synthetic Amazon Personalize traffic: signed calls against a live endpoint, or CloudTrail log
//! files written straight into a bucket directory.
//!
//! Everything is drawn from seeded ChaCha streams ([`rng`]), so the same seed and arguments give
//! the same calls and byte-identical files.
//!
//! # Layout
//! - [`scenario`]: the TOML scenario model and the built-in presets.
//! - [`population`], [`agents`], [`inventory`]: who calls, from where, with which client, about
//!   which existing resources.
//! - [`ops`], [`calls`]: the operations and the request, response and error of each call.
//! - [`plan`]: a scenario turned into a timeline per (account, Region, span), workflows included.
//! - [`record`]: a call as a CloudTrail record.
//! - [`plane`]: the identity and audit plane around Personalize (STS, sign-in, IAM, CloudTrail,
//!   the trail's bucket), its calls and records.
//! - [`labels`]: the answer key of malicious and notable events, and scoring alerts against it.
//! - [`offline`]: log files and digests on every core.
//! - [`live`], [`stats`]: calls signed with the `sigv4` crate at an open-loop rate, and the report.

pub mod agents;
pub mod calls;
pub mod inventory;
pub mod labels;
pub mod live;
pub mod offline;
pub mod ops;
pub mod plan;
pub mod plane;
pub mod population;
pub mod record;
pub mod rng;
pub mod scenario;
pub mod stats;
