//! Why a call failed, as a typed value ([`CallError`]), and its one mapping per protocol: to the
//! AWS JSON 1.1 and REST-JSON error ([`ApiError`]) here, to S3's XML error in `crate::s3`.

use http::StatusCode;

use super::{ApiError, Protocol};
use crate::seams::{Fault, ServiceError};
use crate::sigv4::AuthError;

/// Why a request was not routed to an operation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RouteError {
    /// An AWS JSON request to a path other than `/`.
    #[error("No operation is served at {0}; AWS JSON requests go to POST /")]
    NoSuchPath(String),
    /// No `X-Amz-Target` header.
    #[error("Missing required header X-Amz-Target")]
    MissingTarget,
    /// An `X-Amz-Target` that is not ASCII.
    #[error("The X-Amz-Target header is not valid ASCII")]
    TargetNotAscii,
    /// A target no service serves.
    #[error("Unknown operation {0}")]
    UnknownTarget(String),
    /// A Query request without an `Action`.
    #[error("Missing Action")]
    MissingAction,
    /// A Query `Action` the service does not have.
    #[error("The action {0} is not valid for this web service.")]
    UnknownAction(String),
    /// A service nobody here serves.
    #[error(
        "{operation} is not available here: this emulator does not serve {service} (docs/compatibility.md)"
    )]
    NotServed {
        /// The signing name.
        service: String,
        /// The operation, or `This operation`.
        operation: String,
    },
    /// A method other than `POST`; `operation` is the REST operation served at the path.
    #[error("{}", method_not_allowed(.method, .path, *.operation))]
    MethodNotAllowed {
        /// The method received.
        method: String,
        /// The path.
        path: String,
        /// The operation served there by `POST`, for a REST path.
        operation: Option<&'static str>,
    },
}

fn method_not_allowed(method: &str, path: &str, operation: Option<&str>) -> String {
    match operation {
        Some(op) => format!("{method} {path} is not allowed; {op} is POST {path}"),
        None => format!("{method} {path} is not allowed; AWS JSON 1.1 requests use POST"),
    }
}

/// Why a call failed: every failure of the request path, before and after the service ran.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CallError {
    /// Not routed to any operation.
    #[error(transparent)]
    Route(#[from] RouteError),
    /// The body is larger than the server accepts.
    #[error("Request must be smaller than {limit} bytes")]
    BodyTooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// The body did not arrive within the body timeout.
    #[error("The request body was not received in time")]
    BodyTimeout,
    /// The connection failed while the body was read.
    #[error("Could not read the request body: {0}")]
    BodyUnreadable(String),
    /// The body is not one JSON object (or was not kept).
    #[error("{0}")]
    Serialization(String),
    /// A `Content-Type` the protocol does not take.
    #[error("Unsupported Content-Type {received}; expected {expected}")]
    UnsupportedMediaType {
        /// What the request said, quoted, or `(none)`.
        received: String,
        /// The protocol's own media type.
        expected: &'static str,
    },
    /// The signature or its credentials are wrong.
    #[error(transparent)]
    Auth(#[from] AuthError),
    /// A deny rule matched; the message names the caller, action and resource.
    #[error("{0}")]
    AccessDenied(String),
    /// Every in-flight slot is taken.
    #[error("Rate exceeded")]
    Throttled,
    /// A state change refused because its record could not be kept.
    #[error("Service is unavailable. Please try again later.")]
    Unavailable,
    /// A state change that ran but whose record could not be spooled.
    #[error("The request could not be recorded. Try again later.")]
    Unrecorded,
    /// The service answered an error.
    #[error(transparent)]
    Service(#[from] ServiceError),
}

impl CallError {
    /// The error as an AWS JSON 1.1 or REST-JSON client sees it. REST-JSON endpoints sit behind
    /// a front end that answers authentication and authorization failures with 403 and
    /// throttling with 429; AWS JSON endpoints answer every client error with 400.
    pub fn to_api(&self, protocol: Protocol) -> ApiError {
        let api = self.to_json_api(protocol);
        match (protocol, self) {
            (Protocol::Query(_), CallError::Auth(e)) => {
                let code = e.query_code();
                // Query services answer these two with 400, every other authentication failure with 403.
                let status = match code {
                    "ExpiredToken" | "IncompleteSignature" => StatusCode::BAD_REQUEST,
                    _ => StatusCode::FORBIDDEN,
                };
                ApiError::new(status, code, api.message)
            }
            (Protocol::Query(_), _) => {
                let (code, status) = super::query::query_error(&api.code, api.status);
                ApiError::new(status, code.to_owned(), api.message)
            }
            (Protocol::Ec2(_), _) => {
                let code = match (&api.code[..], self) {
                    (_, CallError::Auth(_)) => "AuthFailure",
                    ("AccessDeniedException", _) => "UnauthorizedOperation",
                    ("ThrottlingException", _) => "RequestLimitExceeded",
                    ("UnknownOperationException", _) => "InvalidAction",
                    (other, _) => other,
                };
                ApiError::new(api.status, code.to_owned(), api.message)
            }
            _ => api,
        }
    }

    fn to_json_api(&self, protocol: Protocol) -> ApiError {
        let rest = protocol == Protocol::RestJson;
        let client = |rest_status: StatusCode| {
            if rest {
                rest_status
            } else {
                StatusCode::BAD_REQUEST
            }
        };
        let message = self.to_string();
        let (status, code) = match self {
            CallError::Route(RouteError::NoSuchPath(_)) => {
                (StatusCode::NOT_FOUND, "UnknownOperationException")
            }
            CallError::Route(RouteError::MethodNotAllowed { .. }) => {
                (StatusCode::METHOD_NOT_ALLOWED, "MethodNotAllowedException")
            }
            CallError::Route(RouteError::NotServed { .. }) if rest => {
                (StatusCode::NOT_FOUND, "UnknownOperationException")
            }
            CallError::Route(RouteError::MissingAction | RouteError::UnknownAction(_)) => {
                return ApiError::new(StatusCode::BAD_REQUEST, "InvalidAction", message);
            }
            CallError::Route(_) => (StatusCode::BAD_REQUEST, "UnknownOperationException"),
            CallError::BodyTooLarge { .. } => {
                (StatusCode::PAYLOAD_TOO_LARGE, "RequestEntityTooLargeException")
            }
            CallError::BodyTimeout => (StatusCode::REQUEST_TIMEOUT, "RequestTimeoutException"),
            // AWS's Coral stack names this one with its namespace; clients strip up to `#`.
            CallError::BodyUnreadable(_) | CallError::Serialization(_) => {
                return ApiError {
                    status: StatusCode::BAD_REQUEST,
                    code: "SerializationException".into(),
                    wire_type: Some("com.amazon.coral.service#SerializationException"),
                    message,
                };
            }
            CallError::UnsupportedMediaType { .. } => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "UnsupportedMediaTypeException",
            ),
            CallError::Auth(e) => (client(StatusCode::FORBIDDEN), e.code()),
            CallError::AccessDenied(_) => (client(StatusCode::FORBIDDEN), "AccessDeniedException"),
            CallError::Throttled => (client(StatusCode::TOO_MANY_REQUESTS), "ThrottlingException"),
            // 503, which every SDK retries.
            CallError::Unavailable => (StatusCode::SERVICE_UNAVAILABLE, "ServiceUnavailableException"),
            CallError::Unrecorded => (StatusCode::INTERNAL_SERVER_ERROR, "InternalFailure"),
            CallError::Service(e) => {
                let status = match e.fault {
                    Fault::Server => StatusCode::INTERNAL_SERVER_ERROR,
                    // The Runtime and Events models bind these to 404 and 409; AWS's API
                    // reference pages give 400 for every control-plane client error.
                    Fault::NotFound => client(StatusCode::NOT_FOUND),
                    Fault::Conflict => client(StatusCode::CONFLICT),
                    Fault::Client => StatusCode::BAD_REQUEST,
                    Fault::Denied if protocol == Protocol::AwsJson11 => StatusCode::BAD_REQUEST,
                    Fault::Denied => StatusCode::FORBIDDEN,
                };
                return ApiError::new(status, e.code.clone(), e.message.clone());
            }
        };
        ApiError::new(status, code, message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_protocol_has_its_statuses() {
        let nf = CallError::Service(ServiceError::new(
            Fault::NotFound,
            "ResourceNotFoundException",
            "gone",
        ));
        assert_eq!(nf.to_api(Protocol::RestJson).status, 404);
        assert_eq!(nf.to_api(Protocol::AwsJson11).status, 400);
        assert_eq!(CallError::Throttled.to_api(Protocol::RestJson).status, 429);
        assert_eq!(CallError::Throttled.to_api(Protocol::AwsJson11).status, 400);
        let denied = CallError::AccessDenied("no".into()).to_api(Protocol::RestJson);
        assert_eq!(
            (denied.status.as_u16(), denied.code.as_str()),
            (403, "AccessDeniedException")
        );
        let server = CallError::Service(ServiceError::server("InternalFailure", "x"));
        assert_eq!(server.to_api(Protocol::AwsJson11).status, 500);
        let ser = CallError::Serialization("bad".into()).to_api(Protocol::AwsJson11);
        assert_eq!(
            ser.wire_type,
            Some("com.amazon.coral.service#SerializationException")
        );
        let m = CallError::from(RouteError::MethodNotAllowed {
            method: "GET".into(),
            path: "/events".into(),
            operation: Some("PutEvents"),
        });
        assert_eq!(
            m.to_string(),
            "GET /events is not allowed; PutEvents is POST /events"
        );
    }
}
