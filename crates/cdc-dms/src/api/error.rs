//! [`ApiError`]: a failed DMS call, classified.

use std::error::Error as StdError;
use std::fmt;

/// A boxed lower-level error (the SDK's).
type BoxError = Box<dyn StdError + Send + Sync + 'static>;

/// What kind of failure a DMS call had; the provider decides by this, not by strings.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ApiErrorKind {
    /// `ResourceNotFoundFault`.
    NotFound,
    /// `ResourceAlreadyExistsFault`.
    AlreadyExists,
    /// `InvalidResourceStateFault`: the task is in a state that does not allow the call.
    InvalidState,
    /// `AccessDeniedFault`, `KMSKeyNotAccessibleFault` and other permission errors.
    AccessDenied,
    /// Throttling (`ThrottlingException`, ...), after the SDK's own retries.
    Throttling,
    /// The request never got an answer (connection refused, timeout).
    Transport,
    /// The service failed (HTTP 5xx without a modelled fault).
    Service,
    /// Anything else (validation errors, quota faults, unreadable responses).
    Other,
}

/// A failed DMS call.
#[derive(Debug)]
pub struct ApiError {
    /// The classification.
    pub kind: ApiErrorKind,
    /// The AWS error code (`ResourceNotFoundFault`, ...), when the service sent one.
    pub code: Option<String>,
    /// The message, for a person.
    pub message: String,
    source: Option<BoxError>,
}

impl ApiError {
    /// An error of `kind` with a message.
    pub fn new(kind: ApiErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            code: None,
            message: message.into(),
            source: None,
        }
    }

    /// Sets the AWS error code.
    pub fn with_code(mut self, code: impl Into<String>) -> Self {
        self.code = Some(code.into());
        self
    }

    /// Keeps the underlying error as the source.
    pub fn with_source(mut self, source: BoxError) -> Self {
        self.source = Some(source);
        self
    }

    /// A `ResourceNotFoundFault`.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(ApiErrorKind::NotFound, message).with_code("ResourceNotFoundFault")
    }

    /// A `ResourceAlreadyExistsFault`.
    pub fn already_exists(message: impl Into<String>) -> Self {
        Self::new(ApiErrorKind::AlreadyExists, message).with_code("ResourceAlreadyExistsFault")
    }

    /// An `InvalidResourceStateFault`.
    pub fn invalid_state(message: impl Into<String>) -> Self {
        Self::new(ApiErrorKind::InvalidState, message).with_code("InvalidResourceStateFault")
    }

    /// The kind of error an AWS error code stands for.
    pub fn kind_of_code(code: &str) -> ApiErrorKind {
        match code {
            "ResourceNotFoundFault" => ApiErrorKind::NotFound,
            "ResourceAlreadyExistsFault" => ApiErrorKind::AlreadyExists,
            "InvalidResourceStateFault" => ApiErrorKind::InvalidState,
            "AccessDeniedFault"
            | "AccessDeniedException"
            | "KMSKeyNotAccessibleFault"
            | "KMSAccessDeniedFault"
            | "UnrecognizedClientException"
            | "InvalidSignatureException"
            | "ExpiredTokenException" => ApiErrorKind::AccessDenied,
            "ThrottlingException"
            | "Throttling"
            | "TooManyRequestsException"
            | "RequestLimitExceeded"
            | "ProvisionedThroughputExceededException" => ApiErrorKind::Throttling,
            _ => ApiErrorKind::Other,
        }
    }

    /// Whether trying the call again later may succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self.kind,
            ApiErrorKind::Throttling | ApiErrorKind::Transport | ApiErrorKind::Service
        )
    }

    /// Whether this is a `ResourceNotFoundFault`.
    pub fn is_not_found(&self) -> bool {
        self.kind == ApiErrorKind::NotFound
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.code {
            Some(code) => write!(f, "{code}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

impl StdError for ApiError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.source
            .as_deref()
            .map(|e| e as &(dyn StdError + 'static))
    }
}
