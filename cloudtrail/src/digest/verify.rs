//! Checking a delivered digest as `aws cloudtrail validate-logs` does: its signature over the
//! string [`string_to_sign`] rebuilds, with the public key its fingerprint names, the hash of
//! every log file it lists, and its link to the previous digest. The same code that signs
//! (`format`) gives the string and the key; this only reads.

use serde_json::Value;
use sha2::{Digest as _, Sha256};

use super::format::string_to_sign;
use crate::keys::KeyRing;
use crate::logfile::gunzip;

/// How one digest checked out.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DigestCheck {
    /// The signature is the Region key's over the digest's own string.
    pub signature_valid: bool,
    /// Why not, when it is not.
    pub signature_problem: Option<String>,
    /// Each listed log file: its key, and whether its uncompressed bytes hash to the listed
    /// value (`None`: the file is not there).
    pub log_files: Vec<(String, Option<bool>)>,
    /// The previous digest hashes to the listed value (`None`: a starting digest, or the
    /// previous one is not there).
    pub previous_valid: Option<bool>,
}

impl DigestCheck {
    /// Whether everything that could be checked holds.
    pub fn valid(&self) -> bool {
        self.signature_valid
            && self.log_files.iter().all(|(_, ok)| *ok == Some(true))
            && self.previous_valid != Some(false)
    }
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Checks the digest object `gz` (as stored, gzip) whose S3 user metadata `signature` is
/// `signature_hex`, for a trail in `region`. `fetch(bucket, key)` reads other objects (log
/// files and the previous digest, gzip as stored).
pub fn verify_digest(
    gz: &[u8],
    signature_hex: Option<&str>,
    region: &str,
    keys: &KeyRing,
    fetch: &dyn Fn(&str, &str) -> Option<Vec<u8>>,
) -> DigestCheck {
    let mut check = DigestCheck::default();
    let Ok(body) = gunzip(gz) else {
        check.signature_problem = Some("not a gzip file".into());
        return check;
    };
    let Ok(doc) = serde_json::from_slice::<Value>(&body) else {
        check.signature_problem = Some("not a digest document".into());
        return check;
    };
    let text = |k: &str| doc.get(k).and_then(Value::as_str);
    let to_sign = string_to_sign(
        text("digestEndTime").unwrap_or_default(),
        text("digestS3Bucket").unwrap_or_default(),
        text("digestS3Object").unwrap_or_default(),
        &sha256_hex(&body),
        text("previousDigestSignature"),
    );
    let key = text("digestPublicKeyFingerprint").and_then(|f| keys.by_fingerprint(region, f));
    let signature = signature_hex.and_then(|s| hex::decode(s).ok());
    match (key, signature) {
        (None, _) => check.signature_problem = Some("no public key with the digest's fingerprint".into()),
        (_, None) => check.signature_problem = Some("no signature in the object's metadata".into()),
        (Some(k), Some(sig)) => {
            check.signature_valid = k.verify(to_sign.as_bytes(), &sig);
            if !check.signature_valid {
                check.signature_problem = Some("the signature does not match the digest".into());
            }
        }
    }
    for log in doc
        .get("logFiles")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let field = |k: &str| log.get(k).and_then(Value::as_str).unwrap_or_default();
        let hashed = fetch(field("s3Bucket"), field("s3Object"))
            .and_then(|gz| gunzip(&gz).ok())
            .map(|b| sha256_hex(&b) == field("hashValue"));
        check.log_files.push((field("s3Object").to_owned(), hashed));
    }
    if let (Some(bucket), Some(key), Some(hash)) = (
        text("previousDigestS3Bucket"),
        text("previousDigestS3Object"),
        text("previousDigestHashValue"),
    ) {
        check.previous_valid = fetch(bucket, key)
            .and_then(|gz| gunzip(&gz).ok())
            .map(|b| sha256_hex(&b) == hash);
    }
    check
}
