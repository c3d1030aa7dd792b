//! A small AWS Signature Version 4 signer for the POST requests live mode sends.

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

type HmacSha256 = Hmac<Sha256>;

/// The SHA-256 of an empty payload.
pub const EMPTY_SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/// Credentials that sign requests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    /// `AKIA…` or `ASIA…`.
    pub access_key_id: String,
    /// The secret access key.
    pub secret_access_key: String,
    /// The session token of temporary credentials.
    pub session_token: Option<String>,
}

fn hmac(key: &[u8], data: &[u8]) -> [u8; 32] {
    // `new_from_slice` only fails for MACs with a fixed key size; HMAC takes keys of any length.
    let mut mac = <HmacSha256 as Mac>::new_from_slice(key).expect("HMAC accepts any key length");
    mac.update(data);
    mac.finalize().into_bytes().into()
}

/// Lower-case hex SHA-256.
pub fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

/// `kSigning` for (`secret`, `date` as `YYYYMMDD`, `region`, `service`).
pub fn signing_key(secret: &str, date: &str, region: &str, service: &str) -> [u8; 32] {
    let k_date = hmac(format!("AWS4{secret}").as_bytes(), date.as_bytes());
    let k_region = hmac(&k_date, region.as_bytes());
    let k_service = hmac(&k_region, service.as_bytes());
    hmac(&k_service, b"aws4_request")
}

/// The canonical request. `headers` are (lower-case name, value) pairs, sorted by name, each
/// value already trimmed; all of them are signed.
pub fn canonical_request(
    method: &str,
    path: &str,
    query: &str,
    headers: &[(&str, &str)],
    payload_sha256: &str,
) -> String {
    let mut s = String::with_capacity(256);
    s.push_str(method);
    s.push('\n');
    s.push_str(path);
    s.push('\n');
    s.push_str(query);
    s.push('\n');
    for (k, v) in headers {
        s.push_str(k);
        s.push(':');
        s.push_str(v.trim());
        s.push('\n');
    }
    s.push('\n');
    s.push_str(&signed_headers(headers));
    s.push('\n');
    s.push_str(payload_sha256);
    s
}

/// `host;x-amz-date;…`.
pub fn signed_headers(headers: &[(&str, &str)]) -> String {
    headers.iter().map(|(k, _)| *k).collect::<Vec<_>>().join(";")
}

/// The string to sign.
pub fn string_to_sign(amz_date: &str, scope: &str, canonical_request: &str) -> String {
    format!(
        "AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{}",
        sha256_hex(canonical_request.as_bytes())
    )
}

/// A signer for one set of credentials, caching the derived key per (date, region).
#[derive(Debug, Clone)]
pub struct Signer {
    creds: Credentials,
    service: String,
    cached: Option<(String, String, [u8; 32])>,
}

impl Signer {
    /// Signs for `service` (`personalize` for all three Personalize APIs).
    pub fn new(creds: Credentials, service: &str) -> Signer {
        Signer {
            creds,
            service: service.to_owned(),
            cached: None,
        }
    }

    /// The credentials.
    pub fn credentials(&self) -> &Credentials {
        &self.creds
    }

    /// The `Authorization` header for a request. `headers` must hold every header to sign,
    /// lower-case, sorted by name: `content-type`, `host`, `x-amz-date`, then
    /// `x-amz-security-token` and `x-amz-target` when present. `amz_date` is `YYYYMMDDTHHMMSSZ`.
    pub fn authorization(
        &mut self,
        region: &str,
        amz_date: &str,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> String {
        let date = amz_date.get(..8).unwrap_or(amz_date);
        let key = match &self.cached {
            Some((d, r, k)) if d == date && r == region => *k,
            _ => {
                let k = signing_key(&self.creds.secret_access_key, date, region, &self.service);
                self.cached = Some((date.to_owned(), region.to_owned(), k));
                k
            }
        };
        let scope = format!("{date}/{region}/{}/aws4_request", self.service);
        let canonical = canonical_request(method, path, "", headers, &sha256_hex(body));
        let sts = string_to_sign(amz_date, &scope, &canonical);
        let signature = hex::encode(hmac(&key, sts.as_bytes()));
        format!(
            "AWS4-HMAC-SHA256 Credential={}/{scope}, SignedHeaders={}, Signature={signature}",
            self.creds.access_key_id,
            signed_headers(headers)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The worked example of the IAM User Guide ("Create a signed AWS API request").
    #[test]
    fn matches_the_aws_documentation_example() {
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
        let headers = [
            ("content-type", "application/x-www-form-urlencoded; charset=utf-8"),
            ("host", "iam.amazonaws.com"),
            ("x-amz-date", "20150830T123600Z"),
        ];
        let canonical = canonical_request(
            "GET",
            "/",
            "Action=ListUsers&Version=2010-05-08",
            &headers,
            EMPTY_SHA256,
        );
        assert_eq!(
            sha256_hex(canonical.as_bytes()),
            "f536975d06c0309214f805bb90ccff089219ecd68b2577efef23edd43b7e1a59"
        );
        let sts = string_to_sign(
            "20150830T123600Z",
            "20150830/us-east-1/iam/aws4_request",
            &canonical,
        );
        assert_eq!(
            hex::encode(hmac(&key, sts.as_bytes())),
            "5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7"
        );
    }

    #[test]
    fn authorization_header_shape() {
        let mut s = Signer::new(
            Credentials {
                access_key_id: "AKIDEXAMPLE".into(),
                secret_access_key: "secret".into(),
                session_token: None,
            },
            "personalize",
        );
        let h = [
            ("content-type", "application/x-amz-json-1.1"),
            ("host", "localhost:4599"),
            ("x-amz-date", "20260101T000000Z"),
            ("x-amz-target", "AmazonPersonalize.ListDatasetGroups"),
        ];
        let a = s.authorization("us-east-1", "20260101T000000Z", "POST", "/", &h, b"{}");
        assert!(a.starts_with("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260101/us-east-1/personalize/aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature="));
        assert_eq!(a.len() - a.rfind('=').unwrap() - 1, 64);
        // Same inputs, same signature (cached key path).
        assert_eq!(
            a,
            s.authorization("us-east-1", "20260101T000000Z", "POST", "/", &h, b"{}")
        );
    }
}
