//! AWS Signature Version 4 without I/O: key derivation, canonical requests, a signer (headers
//! and presigned URLs) and a verifier that makes AWS's checks in AWS's order and answers with
//! AWS's error codes and wording, for the JSON services and for S3.
//!
//! - [`canonical`]: the canonical URI, query and headers, and the string to sign.
//! - [`keys`]: signing-key derivation and a per-secret cache of derived keys.
//! - [`parse`]: the `Authorization` header, credential scopes, SigV4 dates.
//! - [`verify`]: the [`verify()`] function, its [`Policy`] (what a service accepts) and
//!   [`Rejection`].
//! - [`sign`]: the [`Signer`].
//! - [`error`]: the [`AuthError`] type, rendered for AWS JSON services (`Display`,
//!   [`AuthError::code`]) and for S3 ([`AuthError::s3`]).
//!
//! It knows nothing of any service, identity model or clock: the verifier takes the server's
//! time and a closure that resolves access keys.

pub mod canonical;
pub mod error;
pub mod keys;
pub mod parse;
pub mod sign;
pub mod verify;

pub use canonical::{
    PathStyle, RequestParts, canonical_query, canonical_request, canonical_uri, sha256_hex, string_to_sign,
};
pub use error::{AuthError, MissingParts, S3Error, ScopeMismatch};
pub use keys::{SigningKeyCache, hmac_sha256, hmac_sha256_matches, signature, signing_key};
pub use parse::{Authorization, Scope, format_basic, parse_authorization, parse_basic};
pub use sign::{Credentials, Signer};
pub use verify::{Credential, Expected, Policy, Rejection, Verified, verify};

/// The only algorithm SigV4 defines.
pub const ALGORITHM: &str = "AWS4-HMAC-SHA256";

/// The hash of an empty payload.
pub const EMPTY_SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/// The payload hash of a request whose body is not signed (S3 only).
pub const UNSIGNED_PAYLOAD: &str = "UNSIGNED-PAYLOAD";
