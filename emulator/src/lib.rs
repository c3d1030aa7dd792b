//! A fake Amazon Personalize endpoint that records every call as CloudTrail log files.
//!
//! One port serves every [`seams::Service`]: the Personalize control plane (AWS JSON 1.1) with
//! Runtime and Events (REST-JSON) ([`personalize_api`]), the CloudTrail API ([`cloudtrail_api`]),
//! STS over the Query protocol ([`sts`]), and any a caller plugs in; S3 through [`seams::RawService`]; and admin endpoints under
//! `/_emulator/`. Every call that can be tied to an identity becomes a CloudTrail record, built
//! by the [`recorder`] after the response is known and spooled before the response is sent.
//! `docs/protocol.md` describes the wire behaviour and every choice AWS does not document;
//! `docs/ARCHITECTURE.md` is the map.
//!
//! # Adding a service
//! Implement [`seams::Service`]: its signing name and event source, the `X-Amz-Target` prefixes,
//! REST paths or Query actions it serves, `call`, and what the record needs that only the service knows
//! (sensitive members, resources, timestamp members). Add it in `server::assemble`, or, from
//! outside, push it onto [`Config::extensions`]`.services`. The router, authentication, deny
//! rules, throttling, admission and recording need no change.

pub(crate) mod admin;
pub(crate) mod app;
pub mod cloudtrail_api;
pub mod config;
pub(crate) mod conn;
pub(crate) mod console;
pub mod ec2;
pub mod identity;
pub mod persist;
pub mod personalize_api;
pub mod protocol;
pub mod recorder;
pub(crate) mod router;
pub mod s3;
pub mod seams;
pub mod server;
pub mod sigv4;
pub mod sts;
pub mod testing;
pub mod tls;
pub mod webhook;

pub use cloudtrail_api::TARGET_PREFIX as CLOUDTRAIL_TARGET_PREFIX;
pub use config::{Config, FileConfig};
pub use personalize_api::{
    EVENT_SOURCE as PERSONALIZE_EVENT_SOURCE, TARGET_PREFIX as PERSONALIZE_TARGET_PREFIX,
};
/// Delivery to a real S3-compatible store, shared with the generator (the `s3-store` crate).
pub use s3_store;
pub use server::{ServerError, run};
