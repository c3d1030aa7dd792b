//! Signing keys: the four-HMAC derivation from a secret, and a small cache of derived keys per
//! credential scope.

use std::sync::Mutex;

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::canonical::hex_lower;

type HmacSha256 = Hmac<Sha256>;

/// HMAC-SHA256 of `data` under `key`.
pub(crate) fn hmac(key: &[u8], data: &[u8]) -> [u8; 32] {
    // HMAC takes keys of any length, so `new_from_slice` cannot fail; the empty-key fallback
    // keeps this free of a panic path all the same.
    let mut mac = <HmacSha256 as Mac>::new_from_slice(key)
        .or_else(|_| <HmacSha256 as Mac>::new_from_slice(&[]))
        .unwrap_or_else(|_| unreachable!("HMAC accepts keys of any length"));
    mac.update(data);
    mac.finalize().into_bytes().into()
}

/// HMAC-SHA256 of `data` under `key`: the one HMAC of the workspace, also what HS256 web
/// identity tokens are signed with.
pub fn hmac_sha256(key: &[u8], data: &[u8]) -> [u8; 32] {
    hmac(key, data)
}

/// Whether `tag` is the HMAC-SHA256 of `data` under `key`, compared in constant time.
pub fn hmac_sha256_matches(key: &[u8], data: &[u8], tag: &[u8]) -> bool {
    let Ok(mut mac) = <HmacSha256 as Mac>::new_from_slice(key) else {
        return false;
    };
    mac.update(data);
    mac.verify_slice(tag).is_ok()
}

/// `kSigning` for a secret and a scope (`date` is `YYYYMMDD`).
pub fn signing_key(secret: &str, date: &str, region: &str, service: &str) -> [u8; 32] {
    let mut k_secret = Vec::with_capacity(4 + secret.len());
    k_secret.extend_from_slice(b"AWS4");
    k_secret.extend_from_slice(secret.as_bytes());
    let k_date = hmac(&k_secret, date.as_bytes());
    let k_region = hmac(&k_date, region.as_bytes());
    let k_service = hmac(&k_region, service.as_bytes());
    hmac(&k_service, b"aws4_request")
}

/// The signature (lower-case hex) of a string to sign under a signing key.
pub fn signature(key: &[u8; 32], string_to_sign: &str) -> String {
    hex_lower(&hmac(key, string_to_sign.as_bytes()))
}

struct Cached {
    date: String,
    region: String,
    service: String,
    key: [u8; 32],
}

/// The signing keys last derived for one secret, by scope, newest last. A client signs thousands
/// of requests with the same few scopes (one key is often used in two or three Regions at
/// once), and deriving a key costs four HMACs; a hit compares three strings and allocates
/// nothing. Use one cache per secret: entries are keyed by scope only.
#[derive(Default)]
pub struct SigningKeyCache {
    keys: Mutex<Vec<Cached>>,
}

impl SigningKeyCache {
    /// How many scopes one cache keeps; the oldest is dropped first.
    pub const CAPACITY: usize = 8;

    /// An empty cache.
    pub fn new() -> Self {
        Self::default()
    }

    /// The signing key for a scope, derived from `secret` on a miss.
    pub fn get(&self, secret: &str, date: &str, region: &str, service: &str) -> [u8; 32] {
        let mut keys = self.keys.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(hit) = keys
            .iter()
            .find(|c| c.date == date && c.region == region && c.service == service)
        {
            return hit.key;
        }
        let key = signing_key(secret, date, region, service);
        if keys.len() >= Self::CAPACITY {
            keys.remove(0);
        }
        keys.push(Cached {
            date: date.to_owned(),
            region: region.to_owned(),
            service: service.to_owned(),
            key,
        });
        key
    }

    /// How many scopes are cached.
    pub fn len(&self) -> usize {
        self.keys.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    /// Whether nothing is cached.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Clone for SigningKeyCache {
    fn clone(&self) -> Self {
        let keys = self.keys.lock().unwrap_or_else(|e| e.into_inner());
        SigningKeyCache {
            keys: Mutex::new(
                keys.iter()
                    .map(|c| Cached {
                        date: c.date.clone(),
                        region: c.region.clone(),
                        service: c.service.clone(),
                        key: c.key,
                    })
                    .collect(),
            ),
        }
    }
}

impl std::fmt::Debug for SigningKeyCache {
    // Key material stays out of logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKeyCache")
            .field("scopes", &self.len())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documentation_key() {
        // "Examples of how to derive a signing key for Signature Version 4" (IAM, 2015-08-30).
        let key = signing_key(
            "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
            "20150830",
            "us-east-1",
            "iam",
        );
        assert_eq!(
            hex::encode(key),
            "c4afb1cc5771d871763a393e44b703571b55cc28424d1a5e86da6ed3c154a4b9"
        );
    }

    #[test]
    fn the_cache_keeps_the_newest_scopes() {
        let cache = SigningKeyCache::new();
        let regions: Vec<String> = (0..SigningKeyCache::CAPACITY + 2)
            .map(|i| format!("r-{i}"))
            .collect();
        for r in regions.iter().chain(regions.iter().rev()) {
            assert_eq!(
                cache.get("s", "20260301", r, "personalize"),
                signing_key("s", "20260301", r, "personalize")
            );
            assert!(cache.len() <= SigningKeyCache::CAPACITY);
        }
        assert_eq!(format!("{cache:?}"), "SigningKeyCache { scopes: 8 }");
    }
}
