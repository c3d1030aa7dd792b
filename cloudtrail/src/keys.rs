//! Per-region RSA-2048 key pairs that sign digest files, rotated on a schedule and kept on disk.
//!
//! CloudTrail signs each region's digests with that region's own key pair and publishes the
//! public halves through `ListPublicKeys` as PKCS#1 `RSAPublicKey` DER with an MD5 fingerprint
//! and a validity window (30 days in every public example). The key ring mirrors that: one
//! current key per region, replaced when its window ends, every older key kept so digests
//! signed with it still verify. Private keys live under a directory of the data dir, so a
//! restarted emulator keeps signing with, and publishing, the same keys.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use md5::{Digest as _, Md5};
use rsa::pkcs1::{DecodeRsaPrivateKey, EncodeRsaPrivateKey, EncodeRsaPublicKey};
use rsa::pkcs1v15::{Signature, SigningKey, VerifyingKey};
use rsa::signature::{SignatureEncoding, Signer, Verifier};
use rsa::{RsaPrivateKey, RsaPublicKey};
use sha2::Sha256;
use time::OffsetDateTime;

use crate::atomic::{Access, write_atomic};
use crate::clock::SharedClock;

/// The validity window of every key in AWS's public examples: 2,592,000 s.
pub const DEFAULT_KEY_VALIDITY: Duration = Duration::from_secs(30 * 24 * 3600);

/// The modulus size CloudTrail uses.
const KEY_BITS: usize = 2048;

/// What can go wrong with the key ring.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// Reading or writing the key directory failed.
    #[error("key store I/O error at {path}: {source}")]
    Io {
        /// The file or directory involved.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A stored or imported key could not be decoded or generated.
    #[error("bad RSA key: {0}")]
    Rsa(String),
    /// A region name that cannot be used as a directory name.
    #[error("invalid region name {0:?}")]
    BadRegion(String),
}

/// One public key as `ListPublicKeys` returns it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicKeyInfo {
    /// PKCS#1 `RSAPublicKey` DER; base64 it for the wire (`MIIBCgKCAQEA...`).
    pub value_der_pkcs1: Vec<u8>,
    /// Lowercase hex MD5 of `value_der_pkcs1`, the `Fingerprint` and `digestPublicKeyFingerprint`.
    pub fingerprint_md5_hex: String,
    /// Start of the key's validity window.
    pub validity_start: OffsetDateTime,
    /// End of the key's validity window.
    pub validity_end: OffsetDateTime,
}

/// A private key with its public description; signs digests.
#[derive(Debug)]
pub struct KeyPair {
    signing: SigningKey<Sha256>,
    public: RsaPublicKey,
    info: PublicKeyInfo,
}

impl KeyPair {
    /// Wraps a private key valid over `[start, end)`.
    pub fn new(
        private: RsaPrivateKey,
        validity_start: OffsetDateTime,
        validity_end: OffsetDateTime,
    ) -> Result<Self, KeyError> {
        let public = private.to_public_key();
        let der = public
            .to_pkcs1_der()
            .map_err(|e| KeyError::Rsa(e.to_string()))?
            .as_bytes()
            .to_vec();
        let fingerprint = hex::encode(Md5::digest(&der));
        Ok(Self {
            signing: SigningKey::<Sha256>::new(private),
            public,
            info: PublicKeyInfo {
                value_der_pkcs1: der,
                fingerprint_md5_hex: fingerprint,
                validity_start,
                validity_end,
            },
        })
    }

    /// Decodes a PKCS#1 `RSAPrivateKey` DER.
    pub fn from_pkcs1_der(
        der: &[u8],
        validity_start: OffsetDateTime,
        validity_end: OffsetDateTime,
    ) -> Result<Self, KeyError> {
        let private = RsaPrivateKey::from_pkcs1_der(der).map_err(|e| KeyError::Rsa(e.to_string()))?;
        Self::new(private, validity_start, validity_end)
    }

    /// Generates a fresh RSA-2048 key. Slow: about a second in an unoptimised build.
    pub fn generate(validity_start: OffsetDateTime, validity_end: OffsetDateTime) -> Result<Self, KeyError> {
        let private = RsaPrivateKey::new(&mut rsa::rand_core::OsRng, KEY_BITS)
            .map_err(|e| KeyError::Rsa(e.to_string()))?;
        Self::new(private, validity_start, validity_end)
    }

    /// The public description (`ListPublicKeys` entry).
    pub fn info(&self) -> &PublicKeyInfo {
        &self.info
    }

    /// The MD5 fingerprint of the public key.
    pub fn fingerprint(&self) -> &str {
        &self.info.fingerprint_md5_hex
    }

    /// RSASSA-PKCS1-v1_5 with SHA-256 ("SHA256withRSA") over `message`.
    pub fn sign(&self, message: &[u8]) -> Vec<u8> {
        self.signing.sign(message).to_vec()
    }

    /// The public key's modulus and exponent, big-endian (a JWK's `n` and `e`).
    pub fn public_components(&self) -> (Vec<u8>, Vec<u8>) {
        use rsa::traits::PublicKeyParts as _;
        (self.public.n().to_bytes_be(), self.public.e().to_bytes_be())
    }

    /// Verifies a SHA256withRSA signature with this pair's public key.
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        Signature::try_from(signature).is_ok_and(|sig| {
            VerifyingKey::<Sha256>::new(self.public.clone())
                .verify(message, &sig)
                .is_ok()
        })
    }

    fn private_der(&self) -> Result<Vec<u8>, KeyError> {
        Ok(self
            .signing
            .as_ref()
            .to_pkcs1_der()
            .map_err(|e| KeyError::Rsa(e.to_string()))?
            .as_bytes()
            .to_vec())
    }
}

/// Verifies a SHA256withRSA `signature` over `message` with a PKCS#1 DER public key, the way
/// `aws cloudtrail validate-logs` does with a `ListPublicKeys` value.
pub fn verify_pkcs1_der(public_der: &[u8], message: &[u8], signature: &[u8]) -> bool {
    use rsa::pkcs1::DecodeRsaPublicKey;
    let Ok(public) = RsaPublicKey::from_pkcs1_der(public_der) else {
        return false;
    };
    let Ok(sig) = Signature::try_from(signature) else {
        return false;
    };
    VerifyingKey::<Sha256>::new(public).verify(message, &sig).is_ok()
}

/// Verifies a SHA256withRSA (JWT `RS256`) `signature` over `message` with the public key whose
/// modulus and exponent are `n` and `e` (big-endian, as a JWK carries them).
pub fn verify_rsa_components(n: &[u8], e: &[u8], message: &[u8], signature: &[u8]) -> bool {
    let Ok(public) = RsaPublicKey::new(rsa::BigUint::from_bytes_be(n), rsa::BigUint::from_bytes_be(e)) else {
        return false;
    };
    let Ok(sig) = Signature::try_from(signature) else {
        return false;
    };
    VerifyingKey::<Sha256>::new(public).verify(message, &sig).is_ok()
}

/// The key pairs of every region, persisted under one directory.
///
/// Layout: `<dir>/<region>/<validity-start-unix>-<validity-end-unix>.der`, each file a PKCS#1
/// private key. Files are written elsewhere and renamed, so a crash never leaves half a key.
pub struct KeyRing {
    dir: PathBuf,
    clock: SharedClock,
    validity: Duration,
    regions: Mutex<HashMap<String, Vec<Arc<KeyPair>>>>,
}

impl std::fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyRing")
            .field("dir", &self.dir)
            .field("validity", &self.validity)
            .finish_non_exhaustive()
    }
}

impl KeyRing {
    /// Opens (creating if needed) a key ring stored in `dir`, loading every key already there.
    pub fn open(dir: impl Into<PathBuf>, clock: SharedClock, validity: Duration) -> Result<Self, KeyError> {
        let dir = dir.into();
        std::fs::create_dir_all(&dir).map_err(|source| KeyError::Io {
            path: dir.clone(),
            source,
        })?;
        let mut regions = HashMap::new();
        let entries = std::fs::read_dir(&dir).map_err(|source| KeyError::Io {
            path: dir.clone(),
            source,
        })?;
        for entry in entries.flatten() {
            let Some(region) = entry.file_name().to_str().map(str::to_owned) else {
                continue;
            };
            if !entry.path().is_dir() || !valid_region(&region) {
                continue;
            }
            let keys = load_region(&entry.path())?;
            if !keys.is_empty() {
                regions.insert(region, keys);
            }
        }
        Ok(Self {
            dir,
            clock,
            validity: validity.max(Duration::from_secs(1)),
            regions: Mutex::new(regions),
        })
    }

    /// The directory the keys are stored in.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The key that signs `region`'s digests now, generating (and persisting) a new one when
    /// the region has none or the current one's validity has ended. Generation blocks for a
    /// while (RSA-2048), so async callers should use `spawn_blocking`.
    pub fn current(&self, region: &str) -> Result<Arc<KeyPair>, KeyError> {
        if !valid_region(region) {
            return Err(KeyError::BadRegion(region.to_owned()));
        }
        let now = self.clock.now();
        let mut regions = self.regions.lock().unwrap_or_else(|e| e.into_inner());
        let keys = regions.entry(region.to_owned()).or_default();
        if let Some(key) = keys
            .iter()
            .rev()
            .find(|k| k.info.validity_start <= now && now < k.info.validity_end)
        {
            return Ok(key.clone());
        }
        let end = now + self.validity;
        let pair = Arc::new(KeyPair::generate(now, end)?);
        self.persist(region, &pair)?;
        keys.push(pair.clone());
        keys.sort_by_key(|k| k.info.validity_start);
        Ok(pair)
    }

    /// Adds an existing PKCS#1 private key (for example a fixture key in tests, or a key
    /// carried over from elsewhere) valid from `start` for the ring's validity period.
    pub fn import(
        &self,
        region: &str,
        private_pkcs1_der: &[u8],
        start: OffsetDateTime,
    ) -> Result<Arc<KeyPair>, KeyError> {
        if !valid_region(region) {
            return Err(KeyError::BadRegion(region.to_owned()));
        }
        let pair = Arc::new(KeyPair::from_pkcs1_der(
            private_pkcs1_der,
            start,
            start + self.validity,
        )?);
        self.persist(region, &pair)?;
        let mut regions = self.regions.lock().unwrap_or_else(|e| e.into_inner());
        let keys = regions.entry(region.to_owned()).or_default();
        keys.retain(|k| k.fingerprint() != pair.fingerprint());
        keys.push(pair.clone());
        keys.sort_by_key(|k| k.info.validity_start);
        Ok(pair)
    }

    /// The key with this fingerprint in `region`, if any.
    pub fn by_fingerprint(&self, region: &str, fingerprint: &str) -> Option<Arc<KeyPair>> {
        let regions = self.regions.lock().unwrap_or_else(|e| e.into_inner());
        regions
            .get(region)?
            .iter()
            .find(|k| k.fingerprint() == fingerprint)
            .cloned()
    }

    /// `ListPublicKeys`: every key of `region` whose validity window overlaps `[start, end]`,
    /// oldest first. The region's current key is created first if it has none, as a real
    /// region always has one.
    pub fn list_public_keys(
        &self,
        region: &str,
        start: OffsetDateTime,
        end: OffsetDateTime,
    ) -> Result<Vec<PublicKeyInfo>, KeyError> {
        self.current(region)?;
        let regions = self.regions.lock().unwrap_or_else(|e| e.into_inner());
        Ok(regions
            .get(region)
            .map(|keys| {
                keys.iter()
                    .filter(|k| k.info.validity_start <= end && k.info.validity_end >= start)
                    .map(|k| k.info.clone())
                    .collect()
            })
            .unwrap_or_default())
    }

    fn persist(&self, region: &str, pair: &KeyPair) -> Result<(), KeyError> {
        let name = format!(
            "{}-{}.der",
            pair.info.validity_start.unix_timestamp(),
            pair.info.validity_end.unix_timestamp()
        );
        let path = self.dir.join(region).join(name);
        let der = pair.private_der()?;
        write_atomic(&path, &der, Access::Owner).map_err(|source| KeyError::Io { path, source })
    }
}

/// Region names become directory names, so only the characters AWS uses are allowed.
fn valid_region(region: &str) -> bool {
    !region.is_empty()
        && region.len() <= 64
        && region
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

fn load_region(dir: &Path) -> Result<Vec<Arc<KeyPair>>, KeyError> {
    let mut keys = Vec::new();
    let entries = std::fs::read_dir(dir).map_err(|source| KeyError::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    for entry in entries.flatten() {
        let path = entry.path();
        let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        let Some((start, end)) = name
            .strip_suffix(".der")
            .and_then(|stem| stem.split_once('-'))
            .and_then(|(s, e)| Some((s.parse::<i64>().ok()?, e.parse::<i64>().ok()?)))
        else {
            continue;
        };
        let (Ok(start), Ok(end)) = (
            OffsetDateTime::from_unix_timestamp(start),
            OffsetDateTime::from_unix_timestamp(end),
        ) else {
            continue;
        };
        let der = std::fs::read(&path).map_err(|source| KeyError::Io {
            path: path.clone(),
            source,
        })?;
        match KeyPair::from_pkcs1_der(&der, start, end) {
            Ok(pair) => keys.push(Arc::new(pair)),
            // A damaged key file must not keep the emulator from starting; digests it signed
            // can no longer be verified, which validate-logs reports.
            Err(e) => tracing::error!(path = %path.display(), error = %e, "unreadable signing key skipped"),
        }
    }
    keys.sort_by_key(|k| k.info.validity_start);
    Ok(keys)
}

/// A fixed RSA-2048 private key (PKCS#1 DER) for the crate's unit tests, so they never wait on
/// key generation. It is public, so it exists only in test builds.
#[cfg(test)]
pub(crate) const TEST_KEY_PKCS1_DER: &[u8] = include_bytes!("../testdata/test-key-rsa2048.der");

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;
    use base64::Engine as _;
    use time::macros::datetime;

    fn ring(dir: &Path, clock: SharedClock) -> KeyRing {
        KeyRing::open(dir, clock, DEFAULT_KEY_VALIDITY).unwrap()
    }

    #[test]
    fn fingerprint_is_md5_of_pkcs1_der() {
        let start = datetime!(2026-01-01 00:00:00 UTC);
        let pair = KeyPair::from_pkcs1_der(TEST_KEY_PKCS1_DER, start, start + DEFAULT_KEY_VALIDITY).unwrap();
        let der = &pair.info().value_der_pkcs1;
        assert_eq!(pair.fingerprint(), hex::encode(Md5::digest(der)));
        assert_eq!(pair.fingerprint().len(), 32);
        // PKCS#1 RSAPublicKey for a 2048-bit modulus, not X.509 SubjectPublicKeyInfo.
        let b64 = base64::engine::general_purpose::STANDARD.encode(der);
        assert!(b64.starts_with("MIIBCgKCAQEA"), "{b64}");
    }

    #[test]
    fn signature_verifies_and_rejects_changes() {
        let start = datetime!(2026-01-01 00:00:00 UTC);
        let pair = KeyPair::from_pkcs1_der(TEST_KEY_PKCS1_DER, start, start + DEFAULT_KEY_VALIDITY).unwrap();
        let sig = pair.sign(b"hello");
        assert_eq!(sig.len(), 256);
        assert!(pair.verify(b"hello", &sig));
        assert!(!pair.verify(b"hellp", &sig));
        assert!(verify_pkcs1_der(&pair.info().value_der_pkcs1, b"hello", &sig));
        assert!(!verify_pkcs1_der(b"junk", b"hello", &sig));
        assert!(!verify_pkcs1_der(
            &pair.info().value_der_pkcs1,
            b"hello",
            b"short"
        ));
    }

    #[test]
    fn imported_keys_persist_and_are_listed_by_window() {
        let dir = tempfile::tempdir().unwrap();
        let t0 = datetime!(2026-01-01 00:00:00 UTC);
        let clock = ManualClock::new(t0 + Duration::from_secs(60));
        let keys = ring(dir.path(), clock.clone());
        let pair = keys.import("us-east-1", TEST_KEY_PKCS1_DER, t0).unwrap();
        assert_eq!(
            keys.current("us-east-1").unwrap().fingerprint(),
            pair.fingerprint()
        );
        let listed = keys
            .list_public_keys("us-east-1", t0, t0 + Duration::from_secs(3600))
            .unwrap();
        assert_eq!(listed, vec![pair.info().clone()]);
        assert!(
            keys.list_public_keys(
                "us-east-1",
                t0 - Duration::from_secs(7200),
                t0 - Duration::from_secs(3600)
            )
            .unwrap()
            .is_empty()
        );
        // A restart finds the same key.
        drop(keys);
        let reopened = ring(dir.path(), clock);
        let again = reopened.by_fingerprint("us-east-1", pair.fingerprint()).unwrap();
        assert_eq!(again.info(), pair.info());
        assert!(reopened.current("../etc").is_err());
    }

    #[test]
    fn damaged_key_files_are_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let t0 = datetime!(2026-01-01 00:00:00 UTC);
        let clock = ManualClock::new(t0);
        let keys = ring(dir.path(), clock.clone());
        let good = keys.import("us-east-1", TEST_KEY_PKCS1_DER, t0).unwrap();
        std::fs::write(dir.path().join("us-east-1").join("1-2.der"), b"garbage").unwrap();
        std::fs::write(dir.path().join("us-east-1").join("notes.txt"), b"ignored").unwrap();
        let reopened = ring(dir.path(), clock);
        let listed = reopened
            .list_public_keys("us-east-1", t0, t0 + Duration::from_secs(60))
            .unwrap();
        assert_eq!(listed, vec![good.info().clone()]);
    }

    #[test]
    fn expired_key_is_rotated_and_old_one_kept() {
        let dir = tempfile::tempdir().unwrap();
        let t0 = datetime!(2026-01-01 00:00:00 UTC);
        let clock = ManualClock::new(t0);
        // A short validity so the fixture key expires; the replacement is generated once.
        let keys = KeyRing::open(dir.path(), clock.clone(), Duration::from_secs(3600)).unwrap();
        let old = keys.import("eu-west-1", TEST_KEY_PKCS1_DER, t0).unwrap();
        clock.advance(Duration::from_secs(3600));
        let new = keys.current("eu-west-1").unwrap();
        assert_ne!(new.fingerprint(), old.fingerprint());
        assert_eq!(new.info().validity_start, t0 + Duration::from_secs(3600));
        let all = keys
            .list_public_keys("eu-west-1", t0, t0 + Duration::from_secs(7200))
            .unwrap();
        let prints: Vec<_> = all.iter().map(|k| k.fingerprint_md5_hex.as_str()).collect();
        assert_eq!(prints, vec![old.fingerprint(), new.fingerprint()]);
        // Both survive a restart.
        let reopened = KeyRing::open(dir.path(), clock, Duration::from_secs(3600)).unwrap();
        assert!(reopened.by_fingerprint("eu-west-1", old.fingerprint()).is_some());
        assert!(reopened.by_fingerprint("eu-west-1", new.fingerprint()).is_some());
    }
}
