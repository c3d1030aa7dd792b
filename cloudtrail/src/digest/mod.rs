//! Digest files (log file integrity validation): signed, chained manifests of delivered logs.
//!
//! Every period (an hour on AWS) each validating trail writes, per (account, Region), one
//! digest listing the log files delivered in that window with the SHA-256 of their
//! uncompressed bytes, linked to the previous digest by its signature and hash. The digest
//! is signed with the Region's RSA key over the exact string `aws cloudtrail validate-logs`
//! rebuilds, and the signature travels as S3 user metadata (`signature`,
//! `signature-algorithm`). See docs/cloudtrail-format.md, "Digests and S3 access".
//!
//! Two layers: [`build_digest`] and [`put_digest`] make and store one digest from explicit
//! inputs (the offline generator calls these directly), and [`Digests`] runs the chains for the live
//! emulator, driven by the injected clock and fed by the delivery pipeline.
//!
//! - [`format`](mod@format): one digest: its JSON, the string to sign, the signature, the put.
//! - `chains`: [`Digests`], the chains of the live emulator.
//! - `journal`: the chains' snapshot and journal on disk.
//! - `verify`: [`verify_digest`], a delivered digest checked as `validate-logs` checks it.
//!
//! The signing keys are [`crate::keys`]: a key ring of its own, which `ListPublicKeys` also serves.

mod chains;
pub mod format;
mod journal;
mod verify;

#[cfg(test)]
mod tests;

use std::io;
use std::path::PathBuf;

use crate::keys::KeyError;
use crate::store::StoreError;

pub use crate::layout::{DigestTarget, digest_key};
pub use chains::{
    DEFAULT_DIGEST_PERIOD, DigestStatus, DigestTrail, DigestWritten, Digests, MIN_DIGEST_PERIOD, TrailArn,
    parse_trail_arn,
};
pub use format::{
    DIGEST_CONTENT_TYPE, DigestLogFile, HASH_ALGORITHM, PreviousDigest, SIGNATURE_ALGORITHM, SignedDigest,
    build_digest, put_digest, string_to_sign,
};
pub use verify::{DigestCheck, verify_digest};

/// Why a digest could not be made or written.
#[derive(Debug, thiserror::Error)]
pub enum DigestError {
    /// Writing the digest object failed.
    #[error("digest delivery failed: {0}")]
    Store(#[from] StoreError),
    /// The signing key could not be loaded or made.
    #[error("digest signing key unavailable: {0}")]
    Keys(#[from] KeyError),
    /// The chain state could not be read or written.
    #[error("digest chain state I/O error at {path}: {source}")]
    State {
        /// The file involved.
        path: PathBuf,
        /// The OS error.
        source: io::Error,
    },
    /// Not an `arn:<partition>:cloudtrail:<region>:<account>:trail/<name>` ARN.
    #[error("not a trail ARN: {0:?}")]
    BadTrailArn(String),
}
