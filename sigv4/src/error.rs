//! Why a request failed authentication, with the code and wording AWS uses: the JSON services'
//! (Coral's) through `Display` and [`AuthError::code`], S3's through [`AuthError::s3`].

use http::StatusCode;

/// The window either side of the server's clock a request time may fall in.
pub const MAX_SKEW_MINUTES: i64 = 15;

/// The longest `X-Amz-Expires` a presigned URL may ask for: one week.
pub const MAX_EXPIRES_SECONDS: i64 = 604_800;

/// Which of the `Authorization` header's parts (and the date header) a request lacks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MissingParts {
    /// No `Credential=`.
    pub credential: bool,
    /// No `Signature=`.
    pub signature: bool,
    /// No `SignedHeaders=`.
    pub signed_headers: bool,
    /// Neither an `X-Amz-Date` nor a `Date` header.
    pub date: bool,
}

impl MissingParts {
    /// Whether anything is missing.
    pub fn any(&self) -> bool {
        self.credential || self.signature || self.signed_headers || self.date
    }
}

/// The parts of a credential scope that do not fit the request, each with what was sent.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ScopeMismatch {
    /// A Region the server does not serve.
    pub region: Option<String>,
    /// The service the scope named and the one it should have named, when they differ.
    pub service: Option<(String, String)>,
    /// A terminator other than `aws4_request`.
    pub terminator: Option<String>,
    /// The scope's date, the request's date, and the request time it came from, when the two
    /// dates differ.
    pub date: Option<(String, String, String)>,
}

impl std::fmt::Display for ScopeMismatch {
    // Coral lists every mismatch at once, each a sentence of its own.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if let Some(region) = &self.region {
            write!(
                f,
                "Credential should be scoped to a valid region, not '{region}'. "
            )?;
        }
        if let Some((_, expected)) = &self.service {
            write!(
                f,
                "Credential should be scoped to correct service: '{expected}'. "
            )?;
        }
        if let Some(terminator) = &self.terminator {
            write!(
                f,
                "Credential should be scoped with a valid terminator: 'aws4_request', not '{terminator}'. "
            )?;
        }
        if let Some((scope, request, time)) = &self.date {
            write!(
                f,
                "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: \
                 '{scope}' != '{request}', from '{time}'."
            )?;
        }
        Ok(())
    }
}

/// The request signature mismatch sentence Coral uses.
const MISMATCH: &str = "The request signature we calculated does not match the signature you provided. \
                        Check your AWS Secret Access Key and signing method. Consult the service documentation \
                        for details.";

/// Why a request failed authentication. `Display` is the message an AWS JSON service gives.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// No `Authorization` header (or one that is not SigV4 at all) and no presigned query.
    #[error("Request is missing Authentication Token")]
    MissingAuthenticationToken,
    /// Both an `Authorization` header and `X-Amz-Algorithm` in the query.
    #[error("Found both 'X-Amz-Algorithm' as a query-string param and 'Authorization' as HTTP header.")]
    BothAuthMechanisms,
    /// `AWS4-...` but not `AWS4-HMAC-SHA256` (in the header, or as `X-Amz-Algorithm`).
    #[error("Unsupported AWS 'algorithm': '{algorithm}' (only AWS4-HMAC-SHA256 for now). ")]
    UnsupportedAlgorithm {
        /// What the request named.
        algorithm: String,
        /// Whether it came from the query string.
        query: bool,
    },
    /// An `Authorization` parameter without `=`.
    #[error("'{pair}' not a valid key=value pair (missing equal-sign) in Authorization header: '{header}'")]
    MalformedPair {
        /// The parameter as sent.
        pair: String,
        /// The whole header.
        header: String,
    },
    /// `Credential`, `Signature`, `SignedHeaders` or the date header is missing.
    #[error("{}Authorization={header}", missing_sentences(.missing))]
    IncompleteHeader {
        /// What is missing.
        missing: MissingParts,
        /// The whole `Authorization` header.
        header: String,
    },
    /// A presigned query lacks some of its parameters.
    #[error("{}Re-examine the query-string parameters.", .missing.iter().map(|p| format!("AWS query-string parameters must include '{p}'. ")).collect::<String>())]
    IncompleteQuery {
        /// The parameters missing, in AWS's order.
        missing: Vec<&'static str>,
    },
    /// `X-Amz-Expires` is not a number from 0 to a week.
    #[error("{message}")]
    InvalidExpires {
        /// AWS's sentence for the case.
        message: &'static str,
    },
    /// `host` is not among the signed headers.
    #[error("'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.")]
    HostNotSigned,
    /// The request carries `x-amz-*` headers that are not signed (names lower-case, sorted).
    #[error("'{}' must be a 'SignedHeader' in the AWS Authorization.", title_case(.headers.first().map_or("", String::as_str)))]
    HeadersNotSigned {
        /// Every unsigned `x-amz-*` header.
        headers: Vec<String>,
    },
    /// The request time is not `YYYYMMDDTHHMMSSZ` (or the `Date` header not an HTTP date).
    #[error("Date must be in ISO-8601 'basic format'. Got '{0}'. See http://en.wikipedia.org/wiki/ISO_8601")]
    MalformedDate(String),
    /// The request time is more than 15 minutes behind the server's clock.
    #[error("Signature expired: {request} is now earlier than {earliest} ({now} - 15 min.)")]
    SignatureExpired {
        /// The request time.
        request: String,
        /// The earliest time accepted.
        earliest: String,
        /// The server's time.
        now: String,
    },
    /// The request time is more than 15 minutes ahead of the server's clock.
    #[error("Signature not yet current: {request} is still later than {latest} ({now} + 15 min.)")]
    SignatureNotYetCurrent {
        /// The request time.
        request: String,
        /// The latest time accepted.
        latest: String,
        /// The server's time.
        now: String,
    },
    /// A presigned URL past its `X-Amz-Expires`.
    #[error("Request has expired")]
    RequestExpired,
    /// A presigned URL dated more than 15 minutes ahead of the server's clock.
    #[error("Request is not valid yet")]
    RequestNotYetValid,
    /// The credential is not `key/date/region/service/terminator`.
    #[error(
        "Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got '{0}'"
    )]
    MalformedCredential(String),
    /// The credential scope does not fit the request.
    #[error("{0}")]
    CredentialScope(Box<ScopeMismatch>),
    /// The access key id is not known.
    #[error("The security token included in the request is invalid.")]
    UnknownAccessKey,
    /// The session token is missing, wrong, or sent with long-term credentials.
    #[error("The security token included in the request is invalid")]
    InvalidToken,
    /// The temporary credentials have expired.
    #[error("The security token included in the request is expired")]
    ExpiredToken,
    /// S3: header authentication without `x-amz-content-sha256`.
    #[error("Missing required header for this request: x-amz-content-sha256")]
    MissingContentSha256,
    /// S3: an `x-amz-content-sha256` that is neither a hash nor a known keyword.
    #[error(
        "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-AWS4-HMAC-SHA256-PAYLOAD, or a valid sha256 value."
    )]
    InvalidContentSha256(String),
    /// S3: a `STREAMING-*` payload, which this implementation does not read.
    #[error("A header you provided implies functionality that is not implemented")]
    StreamingNotImplemented,
    /// S3: the body's hash is not the `x-amz-content-sha256` that was signed.
    #[error("The provided 'x-amz-content-sha256' header does not match what was computed.")]
    ContentSha256Mismatch {
        /// The header's value.
        client: String,
        /// The hash of the body received.
        computed: String,
    },
    /// The signature does not match the request.
    #[error("{MISMATCH}")]
    SignatureMismatch,
}

fn missing_sentences(m: &MissingParts) -> String {
    let mut out = String::new();
    for (missing, name) in [
        (m.credential, "Credential"),
        (m.signature, "Signature"),
        (m.signed_headers, "SignedHeaders"),
    ] {
        if missing {
            out.push_str("Authorization header requires '");
            out.push_str(name);
            out.push_str("' parameter. ");
        }
    }
    if m.date {
        out.push_str("Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. ");
    }
    out
}

/// `x-amz-security-token` as AWS writes header names in messages: `X-Amz-Security-Token`.
fn title_case(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut upper = true;
    for c in name.chars() {
        out.push(if upper { c.to_ascii_uppercase() } else { c });
        upper = c == '-';
    }
    out
}

/// An authentication failure as S3 answers it: status, `<Code>`, `<Message>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Error {
    /// The HTTP status.
    pub status: StatusCode,
    /// The `<Code>` element.
    pub code: &'static str,
    /// The `<Message>` element.
    pub message: String,
}

impl AuthError {
    /// The error code an AWS JSON (or REST-JSON) service answers with.
    pub fn code(&self) -> &'static str {
        use AuthError as E;
        match self {
            E::MissingAuthenticationToken => "MissingAuthenticationTokenException",
            E::UnsupportedAlgorithm { .. }
            | E::MalformedPair { .. }
            | E::IncompleteHeader { .. }
            | E::IncompleteQuery { .. }
            | E::InvalidExpires { .. }
            | E::MalformedDate(_)
            | E::MalformedCredential(_) => "IncompleteSignatureException",
            E::BothAuthMechanisms
            | E::HostNotSigned
            | E::HeadersNotSigned { .. }
            | E::SignatureExpired { .. }
            | E::SignatureNotYetCurrent { .. }
            | E::RequestExpired
            | E::RequestNotYetValid
            | E::CredentialScope(_)
            | E::MissingContentSha256
            | E::InvalidContentSha256(_)
            | E::StreamingNotImplemented
            | E::ContentSha256Mismatch { .. }
            | E::SignatureMismatch => "InvalidSignatureException",
            E::UnknownAccessKey | E::InvalidToken => "UnrecognizedClientException",
            E::ExpiredToken => "ExpiredTokenException",
        }
    }

    /// The error code of the same failure in the AWS Query protocol (STS, IAM), whose names
    /// carry no `Exception` suffix.
    pub fn query_code(&self) -> &'static str {
        match self.code() {
            "MissingAuthenticationTokenException" => "MissingAuthenticationToken",
            "IncompleteSignatureException" => "IncompleteSignature",
            "UnrecognizedClientException" => "InvalidClientTokenId",
            "ExpiredTokenException" => "ExpiredToken",
            _ => "SignatureDoesNotMatch",
        }
    }

    /// The same failure as S3 answers it.
    pub fn s3(&self) -> S3Error {
        use AuthError as E;
        let malformed = |detail: &str| format!("The authorization header is malformed; {detail}");
        let (status, code, message) = match self {
            E::MissingAuthenticationToken => (StatusCode::FORBIDDEN, "AccessDenied", "Access Denied".to_owned()),
            E::BothAuthMechanisms => (
                StatusCode::BAD_REQUEST,
                "InvalidArgument",
                "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, Signature query \
                 string parameter or the Authorization header should be specified"
                    .to_owned(),
            ),
            E::UnsupportedAlgorithm { query: false, .. } => (
                StatusCode::BAD_REQUEST,
                "InvalidArgument",
                "Unsupported Authorization Type".to_owned(),
            ),
            E::UnsupportedAlgorithm { query: true, .. } => (
                StatusCode::BAD_REQUEST,
                "AuthorizationQueryParametersError",
                "X-Amz-Algorithm only supports \"AWS4-HMAC-SHA256\"".to_owned(),
            ),
            E::MalformedPair { pair, .. } => (
                StatusCode::BAD_REQUEST,
                "AuthorizationHeaderMalformed",
                malformed(&format!("the authorization component \"{pair}\" is malformed.")),
            ),
            E::IncompleteHeader { missing, .. } if !missing.credential && !missing.signature && !missing.signed_headers => (
                StatusCode::FORBIDDEN,
                "AccessDenied",
                "AWS authentication requires a valid Date or x-amz-date header".to_owned(),
            ),
            E::IncompleteHeader { .. } => (
                StatusCode::BAD_REQUEST,
                "AuthorizationHeaderMalformed",
                malformed("the authorization header requires three components: Credential, SignedHeaders, and Signature."),
            ),
            E::IncompleteQuery { .. } => (
                StatusCode::BAD_REQUEST,
                "AuthorizationQueryParametersError",
                "Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, \
                 X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters."
                    .to_owned(),
            ),
            E::InvalidExpires { message } => (
                StatusCode::BAD_REQUEST,
                "AuthorizationQueryParametersError",
                (*message).to_owned(),
            ),
            E::HostNotSigned | E::HeadersNotSigned { .. } => (
                StatusCode::FORBIDDEN,
                "AccessDenied",
                "There were headers present in the request which were not signed".to_owned(),
            ),
            E::MalformedDate(_) => (
                StatusCode::FORBIDDEN,
                "AccessDenied",
                "AWS authentication requires a valid Date or x-amz-date header".to_owned(),
            ),
            E::SignatureExpired { .. } | E::SignatureNotYetCurrent { .. } => (
                StatusCode::FORBIDDEN,
                "RequestTimeTooSkewed",
                "The difference between the request time and the current time is too large.".to_owned(),
            ),
            E::RequestExpired => (StatusCode::FORBIDDEN, "AccessDenied", "Request has expired".to_owned()),
            E::RequestNotYetValid => (
                StatusCode::FORBIDDEN,
                "AccessDenied",
                "Request is not valid yet".to_owned(),
            ),
            E::MalformedCredential(_) => (
                StatusCode::BAD_REQUEST,
                "AuthorizationHeaderMalformed",
                malformed(
                    "the Credential is mal-formed; expecting \"<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request\".",
                ),
            ),
            E::CredentialScope(m) => (StatusCode::BAD_REQUEST, "AuthorizationHeaderMalformed", s3_scope(m)),
            E::UnknownAccessKey => (
                StatusCode::FORBIDDEN,
                "InvalidAccessKeyId",
                "The AWS Access Key Id you provided does not exist in our records.".to_owned(),
            ),
            E::InvalidToken => (
                StatusCode::BAD_REQUEST,
                "InvalidToken",
                "The provided token is malformed or otherwise invalid.".to_owned(),
            ),
            E::ExpiredToken => (
                StatusCode::BAD_REQUEST,
                "ExpiredToken",
                "The provided token has expired.".to_owned(),
            ),
            E::MissingContentSha256 => (StatusCode::BAD_REQUEST, "InvalidRequest", self.to_string()),
            E::InvalidContentSha256(_) => (StatusCode::BAD_REQUEST, "InvalidArgument", self.to_string()),
            E::StreamingNotImplemented => (StatusCode::NOT_IMPLEMENTED, "NotImplemented", self.to_string()),
            E::ContentSha256Mismatch { .. } => (StatusCode::BAD_REQUEST, "XAmzContentSHA256Mismatch", self.to_string()),
            E::SignatureMismatch => (
                StatusCode::FORBIDDEN,
                "SignatureDoesNotMatch",
                "The request signature we calculated does not match the signature you provided. Check your key \
                 and signing method."
                    .to_owned(),
            ),
        };
        S3Error {
            status,
            code,
            message,
        }
    }
}

/// S3 names one scope problem at a time, in the order it checks them.
fn s3_scope(m: &ScopeMismatch) -> String {
    let detail = if let Some(region) = &m.region {
        format!("the region '{region}' is wrong")
    } else if let Some((sent, expected)) = &m.service {
        format!("incorrect service \"{sent}\". This endpoint belongs to \"{expected}\".")
    } else if let Some(terminator) = &m.terminator {
        format!("incorrect terminal \"{terminator}\". This endpoint uses \"aws4_request\".")
    } else {
        "Invalid credential date. Date is not the same as X-Amz-Date.".to_owned()
    };
    format!("The authorization header is malformed; {detail}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coral_messages_list_every_missing_part() {
        let e = AuthError::IncompleteHeader {
            missing: MissingParts {
                credential: false,
                signature: true,
                signed_headers: true,
                date: true,
            },
            header: "AWS4-HMAC-SHA256 Credential=AKID/20260301/us-east-1/personalize/aws4_request".to_owned(),
        };
        assert_eq!(
            e.to_string(),
            "Authorization header requires 'Signature' parameter. Authorization header requires \
             'SignedHeaders' parameter. Authorization header requires existence of either a 'X-Amz-Date' or \
             a 'Date' header. Authorization=AWS4-HMAC-SHA256 \
             Credential=AKID/20260301/us-east-1/personalize/aws4_request"
        );
        assert_eq!(e.code(), "IncompleteSignatureException");
        assert_eq!(e.s3().code, "AuthorizationHeaderMalformed");
        let e = AuthError::IncompleteQuery {
            missing: vec!["X-Amz-Credential", "X-Amz-Date"],
        };
        assert_eq!(
            e.to_string(),
            "AWS query-string parameters must include 'X-Amz-Credential'. AWS query-string parameters must \
             include 'X-Amz-Date'. Re-examine the query-string parameters."
        );
    }

    #[test]
    fn scope_mismatches_are_one_sentence_each() {
        let m = ScopeMismatch {
            region: Some("moon-1".into()),
            service: Some(("cloudtrail".into(), "personalize".into())),
            terminator: None,
            date: Some(("20260302".into(), "20260301".into(), "20260301T100000Z".into())),
        };
        assert_eq!(
            AuthError::CredentialScope(Box::new(m.clone())).to_string(),
            "Credential should be scoped to a valid region, not 'moon-1'. Credential should be scoped to \
             correct service: 'personalize'. Date in Credential scope does not match YYYYMMDD from ISO-8601 \
             version of date from HTTP: '20260302' != '20260301', from '20260301T100000Z'."
        );
        assert_eq!(
            AuthError::CredentialScope(Box::new(m)).s3().message,
            "The authorization header is malformed; the region 'moon-1' is wrong"
        );
    }

    #[test]
    fn header_names_in_messages_are_title_case() {
        let e = AuthError::HeadersNotSigned {
            headers: vec!["x-amz-security-token".into(), "x-amz-target".into()],
        };
        assert_eq!(
            e.to_string(),
            "'X-Amz-Security-Token' must be a 'SignedHeader' in the AWS Authorization."
        );
        let s3 = e.s3();
        assert_eq!((s3.status.as_u16(), s3.code), (403, "AccessDenied"));
    }
}
