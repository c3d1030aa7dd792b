//! A fake Amazon Personalize endpoint that records every call as CloudTrail log files.
//!
//! One port serves the Personalize control plane (AWS JSON 1.1), Personalize Runtime and Events
//! (REST-JSON), any extra AWS JSON 1.1 service plugged in through [`seams::JsonService`] (the
//! CloudTrail API), S3 through [`seams::S3Handler`], and unsigned admin endpoints under
//! `/_emulator/`. Every call that can be tied to an identity becomes a CloudTrail record, built
//! by the [`recorder`] after the response is known and spooled before the response is sent.
//! `docs/protocol.md` describes the wire behaviour and every choice AWS does not document.
//!
//! # Layout
//! - [`server`]: accept loop, connection limit, graceful shutdown, start-up assembly; [`run`].
//! - `app`: one request from routing to response (body limit, SigV4, deny rules, throttling).
//! - [`protocol`]: AWS JSON 1.1 / REST-JSON responses and errors, S3 XML errors.
//! - [`sigv4`]: the `sigv4` crate's verifier over the configured identities.
//! - [`identity`]: access keys to CloudTrail identities, deny rules.
//! - [`recorder`]: the only place that builds records (sensitive members hidden via `cloudtrail::redact`).
//! - [`config`]: the TOML format (`default-config.toml` is embedded) and the runtime [`Config`].
//! - [`seams`]: extension points; `admin`: `/_emulator/*`; [`webhook`]: notification POSTs.
//!
//! # Seams for the CloudTrail side
//! 1. JSON service: implement [`seams::JsonService`] for target prefix
//!    `com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101` (signing name `cloudtrail`, event
//!    source `cloudtrail.amazonaws.com`) and push it onto [`Config::extensions`]`.json_services`.
//!    The server authenticates, applies deny rules and throttling, decodes, and records the call;
//!    until a service is plugged in, CloudTrail targets answer `UnknownOperationException`.
//! 2. S3: requests whose SigV4 scope service is `s3` (path-style or virtual-hosted alike) are
//!    verified with S3's canonical-URI rules and handed to [`seams::S3Handler`]; without one they
//!    answer S3's `NotImplemented` (501).
//! 3. Config: [`config::FileConfig`] is all serde defaults; unknown top-level tables land in
//!    `FileConfig::extra` (add a typed field with `#[serde(default)]`, e.g. `trails`).
//! 4. Delivery routing: `server::assemble` builds the delivery pipeline with the router, store and
//!    observers the CloudTrail side provides (`cloudtrail_api::CloudTrailParts`: trails, digests,
//!    notifications), and adds its record tap (Event history, [`seams::RecordTap`]) and its
//!    [`seams::JsonService`]. Tests add their own through [`Config::extensions`].

pub(crate) mod admin;
pub(crate) mod app;
pub mod cloudtrail_api;
pub mod config;
pub(crate) mod conn;
pub mod identity;
pub mod persist;
pub mod protocol;
pub mod recorder;
pub mod s3;
pub mod seams;
pub mod server;
pub mod sigv4;
pub mod testing;
pub mod webhook;

pub use app::{CLOUDTRAIL_TARGET_PREFIX, PERSONALIZE_EVENT_SOURCE, PERSONALIZE_TARGET_PREFIX};
pub use config::{Config, FileConfig};
/// Delivery to a real S3-compatible store, shared with the generator (the `s3-store` crate).
pub use s3_store;
pub use server::{ServerError, run};
