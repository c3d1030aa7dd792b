//! The errors Personalize answers, by AWS error name; the protocol layer maps them to the wire.

/// Which modelled (or common) error this is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// A field or parameter value is invalid.
    InvalidInput,
    /// The resource cannot be found.
    ResourceNotFound,
    /// A resource with that name already exists.
    ResourceAlreadyExists,
    /// A quota was exceeded.
    LimitExceeded,
    /// The resource is in use or in the wrong state.
    ResourceInUse,
    /// A pagination token that this query did not issue.
    InvalidNextToken,
    /// Too many tags on the resource.
    TooManyTags,
    /// Too many tag keys in the request.
    TooManyTagKeys,
    /// The operation exists in the model but this emulator does not serve it.
    NotImplemented,
}

impl ErrorKind {
    /// The AWS error name (`__type`, `errorCode`).
    pub fn code(self) -> &'static str {
        match self {
            ErrorKind::InvalidInput => "InvalidInputException",
            ErrorKind::ResourceNotFound => "ResourceNotFoundException",
            ErrorKind::ResourceAlreadyExists => "ResourceAlreadyExistsException",
            ErrorKind::LimitExceeded => "LimitExceededException",
            ErrorKind::ResourceInUse => "ResourceInUseException",
            ErrorKind::InvalidNextToken => "InvalidNextTokenException",
            ErrorKind::TooManyTags => "TooManyTagsException",
            ErrorKind::TooManyTagKeys => "TooManyTagKeysException",
            ErrorKind::NotImplemented => "UnsupportedOperationException",
        }
    }
}

/// A Personalize error: its kind and the message AWS would send.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}: {message}", kind.code())]
pub struct Error {
    /// Which error.
    pub kind: ErrorKind,
    /// The human-readable message.
    pub message: String,
}

impl Error {
    /// An error of `kind` with `message`.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error {
            kind,
            message: message.into(),
        }
    }
    /// `InvalidInputException`.
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidInput, message)
    }
    /// `ResourceNotFoundException`.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::ResourceNotFound, message)
    }
    /// `ResourceAlreadyExistsException`.
    pub fn already_exists(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::ResourceAlreadyExists, message)
    }
    /// `ResourceInUseException`.
    pub fn in_use(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::ResourceInUse, message)
    }
    /// `LimitExceededException`.
    pub fn limit(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::LimitExceeded, message)
    }
}

/// The result of an operation.
pub type Result<T, E = Error> = std::result::Result<T, E>;
