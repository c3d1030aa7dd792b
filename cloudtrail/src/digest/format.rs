//! The digest file itself: its JSON (field names and order as AWS writes them), the string
//! `validate-logs` verifies, the SHA256withRSA signature over it, and the put with the signature
//! as S3 user metadata. Pure and synchronous, so the offline generator writes digests directly.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use time::OffsetDateTime;

use crate::keys::KeyPair;
use crate::layout::{DigestTarget, digest_key};
use crate::logfile::{WrittenLog, gzip};
use crate::store::{ObjectMeta, ObjectStore, StoreError};
use crate::timefmt;

/// The only algorithm CloudTrail uses, in the digest and in `x-amz-meta-signature-algorithm`.
pub const SIGNATURE_ALGORITHM: &str = "SHA256withRSA";
/// The hash algorithm named in `logFiles[].hashAlgorithm` and `previousDigestHashAlgorithm`.
pub const HASH_ALGORITHM: &str = "SHA-256";
/// The content type given to digest objects (the same as log files: a raw gzip member).
pub const DIGEST_CONTENT_TYPE: &str = "application/x-gzip";

/// One log file as a digest lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DigestLogFile {
    /// The log's bucket.
    pub bucket: String,
    /// The log's full key.
    pub key: String,
    /// Lower-case hex SHA-256 of the uncompressed log.
    pub sha256_hex: String,
    /// Earliest `eventTime` in the file (unix seconds).
    #[serde(with = "timefmt::unix_seconds")]
    pub oldest_event: OffsetDateTime,
    /// Latest `eventTime` in the file (unix seconds).
    #[serde(with = "timefmt::unix_seconds")]
    pub newest_event: OffsetDateTime,
}

impl From<&WrittenLog> for DigestLogFile {
    fn from(log: &WrittenLog) -> Self {
        DigestLogFile {
            bucket: log.bucket.clone(),
            key: log.key.clone(),
            sha256_hex: log.sha256_hex.clone(),
            oldest_event: log.oldest_event,
            newest_event: log.newest_event,
        }
    }
}

/// What the next digest of a chain needs of the previous one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PreviousDigest {
    /// The previous digest's bucket.
    pub bucket: String,
    /// The previous digest's full key.
    pub key: String,
    /// Its signature, lowercase hex.
    pub signature_hex: String,
    /// SHA-256 of its uncompressed bytes, lowercase hex.
    pub hash_hex: String,
}

/// A digest built and signed, ready to put.
#[derive(Debug, Clone)]
pub struct SignedDigest {
    /// Destination bucket.
    pub bucket: String,
    /// Destination key.
    pub key: String,
    /// Window start.
    pub start: OffsetDateTime,
    /// Window end (the time in the key).
    pub end: OffsetDateTime,
    /// The uncompressed digest JSON: the bytes that are hashed.
    pub json: Vec<u8>,
    /// SHA-256 of `json`, lowercase hex.
    pub hash_hex: String,
    /// The exact string that was signed.
    pub string_to_sign: String,
    /// The signature, lowercase hex (512 characters for RSA-2048).
    pub signature_hex: String,
    /// Fingerprint of the signing key.
    pub fingerprint: String,
    /// How many log files the digest lists.
    pub log_files: usize,
}

impl SignedDigest {
    /// The link the next digest of the chain carries.
    pub fn link(&self) -> PreviousDigest {
        PreviousDigest {
            bucket: self.bucket.clone(),
            key: self.key.clone(),
            signature_hex: self.signature_hex.clone(),
            hash_hex: self.hash_hex.clone(),
        }
    }

    /// The S3 user metadata (`x-amz-meta-…` without the prefix) the digest object carries.
    pub fn user_meta(&self) -> BTreeMap<String, String> {
        BTreeMap::from([
            ("signature".to_owned(), self.signature_hex.clone()),
            ("signature-algorithm".to_owned(), SIGNATURE_ALGORITHM.to_owned()),
        ])
    }
}

/// The string `validate-logs` verifies: end time verbatim, `bucket/key`, the hash of the
/// uncompressed digest, and the previous signature or the literal `null`; no trailing newline.
pub fn string_to_sign(
    digest_end_time: &str,
    bucket: &str,
    key: &str,
    hash_hex: &str,
    previous_signature: Option<&str>,
) -> String {
    format!(
        "{digest_end_time}\n{bucket}/{key}\n{hash_hex}\n{}",
        previous_signature.unwrap_or("null")
    )
}

#[derive(Serialize)]
struct DigestJson<'a> {
    #[serde(rename = "awsAccountId")]
    aws_account_id: &'a str,
    #[serde(rename = "digestStartTime")]
    digest_start_time: String,
    #[serde(rename = "digestEndTime")]
    digest_end_time: String,
    #[serde(rename = "digestS3Bucket")]
    digest_s3_bucket: &'a str,
    #[serde(rename = "digestS3Object")]
    digest_s3_object: &'a str,
    #[serde(rename = "digestPublicKeyFingerprint")]
    digest_public_key_fingerprint: &'a str,
    #[serde(rename = "digestSignatureAlgorithm")]
    digest_signature_algorithm: &'a str,
    #[serde(rename = "newestEventTime")]
    newest_event_time: Option<String>,
    #[serde(rename = "oldestEventTime")]
    oldest_event_time: Option<String>,
    #[serde(rename = "previousDigestS3Bucket")]
    previous_digest_s3_bucket: Option<&'a str>,
    #[serde(rename = "previousDigestS3Object")]
    previous_digest_s3_object: Option<&'a str>,
    #[serde(rename = "previousDigestHashValue")]
    previous_digest_hash_value: Option<&'a str>,
    #[serde(rename = "previousDigestHashAlgorithm")]
    previous_digest_hash_algorithm: Option<&'a str>,
    #[serde(rename = "previousDigestSignature")]
    previous_digest_signature: Option<&'a str>,
    #[serde(rename = "logFiles")]
    log_files: Vec<LogFileJson<'a>>,
}

#[derive(Serialize)]
struct LogFileJson<'a> {
    #[serde(rename = "s3Bucket")]
    s3_bucket: &'a str,
    #[serde(rename = "s3Object")]
    s3_object: &'a str,
    #[serde(rename = "hashValue")]
    hash_value: &'a str,
    #[serde(rename = "hashAlgorithm")]
    hash_algorithm: &'a str,
    #[serde(rename = "newestEventTime")]
    newest_event_time: String,
    #[serde(rename = "oldestEventTime")]
    oldest_event_time: String,
}

/// Builds and signs one digest covering `[start, end]` for `target`. `previous` is `None`
/// for a starting digest (all five `previousDigest*` fields `null`). Times are rendered to
/// the second, as AWS does.
pub fn build_digest(
    target: &DigestTarget,
    start: OffsetDateTime,
    end: OffsetDateTime,
    logs: &[DigestLogFile],
    previous: Option<&PreviousDigest>,
    key: &KeyPair,
) -> SignedDigest {
    let digest_key = digest_key(target, end);
    let end_str = timefmt::iso_seconds(end);
    let doc = DigestJson {
        aws_account_id: &target.account,
        digest_start_time: timefmt::iso_seconds(start),
        digest_end_time: end_str.clone(),
        digest_s3_bucket: &target.bucket,
        digest_s3_object: &digest_key,
        digest_public_key_fingerprint: key.fingerprint(),
        digest_signature_algorithm: SIGNATURE_ALGORITHM,
        newest_event_time: logs
            .iter()
            .map(|l| l.newest_event)
            .max()
            .map(timefmt::iso_seconds),
        oldest_event_time: logs
            .iter()
            .map(|l| l.oldest_event)
            .min()
            .map(timefmt::iso_seconds),
        previous_digest_s3_bucket: previous.map(|p| p.bucket.as_str()),
        previous_digest_s3_object: previous.map(|p| p.key.as_str()),
        previous_digest_hash_value: previous.map(|p| p.hash_hex.as_str()),
        previous_digest_hash_algorithm: previous.map(|_| HASH_ALGORITHM),
        previous_digest_signature: previous.map(|p| p.signature_hex.as_str()),
        log_files: logs
            .iter()
            .map(|l| LogFileJson {
                s3_bucket: &l.bucket,
                s3_object: &l.key,
                hash_value: &l.sha256_hex,
                hash_algorithm: HASH_ALGORITHM,
                newest_event_time: timefmt::iso_seconds(l.newest_event),
                oldest_event_time: timefmt::iso_seconds(l.oldest_event),
            })
            .collect(),
    };
    // Serialising plain strings and options cannot fail.
    let json = serde_json::to_vec(&doc).unwrap_or_default();
    let hash_hex = hex::encode(Sha256::digest(&json));
    let to_sign = string_to_sign(
        &end_str,
        &target.bucket,
        &digest_key,
        &hash_hex,
        previous.map(|p| p.signature_hex.as_str()),
    );
    let signature_hex = hex::encode(key.sign(to_sign.as_bytes()));
    SignedDigest {
        bucket: target.bucket.clone(),
        key: digest_key,
        start,
        end,
        json,
        hash_hex,
        string_to_sign: to_sign,
        signature_hex,
        fingerprint: key.fingerprint().to_owned(),
        log_files: logs.len(),
    }
}

/// Puts a signed digest: gzip of the JSON, with the signature as user metadata.
pub fn put_digest(store: &dyn ObjectStore, digest: &SignedDigest) -> Result<ObjectMeta, StoreError> {
    store.put(
        &digest.bucket,
        &digest.key,
        &gzip(&digest.json, 6),
        DIGEST_CONTENT_TYPE,
        &digest.user_meta(),
    )
}
