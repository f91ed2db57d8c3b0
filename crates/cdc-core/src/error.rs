//! The error type of cdc-core, shared at every provider boundary.

use std::error::Error as StdError;

/// A boxed error from a lower layer (an HTTP client, an SDK, a driver).
pub type BoxError = Box<dyn StdError + Send + Sync + 'static>;

/// `Result` with [`CdcError`].
pub type Result<T, E = CdcError> = std::result::Result<T, E>;

/// Everything that can go wrong in cdc-core and at the provider boundary.
///
/// Errors about a source name it (and the provider when known). [`CdcError::is_retryable`]
/// tells a caller whether trying again may succeed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CdcError {
    /// A config value is wrong; `field` names it.
    #[error("invalid config: {field}: {message}")]
    InvalidConfig {
        /// The field (`source_id`, `tables[1]`, `options.capacity`, ...).
        field: String,
        /// What is wrong.
        message: String,
    },

    /// A source with this id is already registered or connected.
    #[error("source {source_id:?} already exists{}", provider_suffix(provider))]
    AlreadyExists {
        /// The source id.
        source_id: String,
        /// The provider, when known.
        provider: Option<String>,
    },

    /// No source with this id.
    #[error("source {source_id:?} not found{}", provider_suffix(provider))]
    NotFound {
        /// The source id.
        source_id: String,
        /// The provider, when known.
        provider: Option<String>,
    },

    /// No provider by this name exists.
    #[error("unknown provider {name:?}; valid providers: {}", valid.join(", "))]
    UnknownProvider {
        /// The name asked for.
        name: String,
        /// The names that exist.
        valid: Vec<String>,
    },

    /// The provider exists but its crate is not compiled in.
    #[error(
        "provider {name:?} is not compiled in; enable the `{feature}` feature of the `cdc` crate"
    )]
    ProviderNotCompiled {
        /// The provider name.
        name: String,
        /// The `cdc` feature that brings it in.
        feature: String,
    },

    /// The provider cannot do this operation (pause on a provider without pause, ...).
    #[error("source {source_id:?} ({provider}): {operation} is not supported: {reason}")]
    Unsupported {
        /// The source id.
        source_id: String,
        /// The provider.
        provider: String,
        /// The operation asked for.
        operation: String,
        /// Why not, and what to do instead.
        reason: String,
    },

    /// A bounded buffer is full and the caller asked not to wait.
    #[error("source {source_id:?} ({provider}): event buffer full (capacity {capacity})")]
    BufferFull {
        /// The source id.
        source_id: String,
        /// The provider.
        provider: String,
        /// The buffer's capacity.
        capacity: usize,
    },

    /// The source is in a state that does not allow the operation.
    #[error("source {source_id:?} ({provider}): {message}")]
    InvalidState {
        /// The source id.
        source_id: String,
        /// The provider.
        provider: String,
        /// What is wrong.
        message: String,
    },

    /// An event could not be read or converted.
    #[error("invalid event: {0}")]
    InvalidEvent(#[from] crate::event::EventParseError),

    /// A handler failed on an event.
    #[error("source {source_id:?}: handler failed: {message}")]
    Handler {
        /// The source id.
        source_id: String,
        /// The handler's error.
        message: String,
    },

    /// The backend failed (HTTP, SDK, process, database).
    #[error("source {source_id:?} ({provider}): {message}")]
    Provider {
        /// The source id.
        source_id: String,
        /// The provider.
        provider: String,
        /// What failed, for a person.
        message: String,
        /// Whether trying again may succeed (timeouts, throttling, 5xx, rebalances).
        retryable: bool,
        /// The underlying error.
        #[source]
        source: Option<BoxError>,
    },
}

fn provider_suffix(provider: &Option<String>) -> String {
    provider
        .as_deref()
        .map(|p| format!(" (provider {p})"))
        .unwrap_or_default()
}

impl CdcError {
    /// A `NotFound` for a source of a known provider.
    pub fn not_found(source_id: impl Into<String>, provider: impl Into<String>) -> Self {
        Self::NotFound {
            source_id: source_id.into(),
            provider: Some(provider.into()),
        }
    }

    /// An `AlreadyExists` for a source of a known provider.
    pub fn already_exists(source_id: impl Into<String>, provider: impl Into<String>) -> Self {
        Self::AlreadyExists {
            source_id: source_id.into(),
            provider: Some(provider.into()),
        }
    }

    /// A final (not retryable) backend error.
    pub fn provider(
        source_id: impl Into<String>,
        provider: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Self::Provider {
            source_id: source_id.into(),
            provider: provider.into(),
            message: message.into(),
            retryable: false,
            source: None,
        }
    }

    /// Whether trying the same operation again may succeed.
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Provider { retryable, .. } => *retryable,
            Self::BufferFull { .. } => true,
            _ => false,
        }
    }

    /// The opposite of [`CdcError::is_retryable`].
    pub fn is_final(&self) -> bool {
        !self.is_retryable()
    }

    /// The source this error is about, when it is about one.
    pub fn source_id(&self) -> Option<&str> {
        match self {
            Self::AlreadyExists { source_id, .. }
            | Self::NotFound { source_id, .. }
            | Self::Unsupported { source_id, .. }
            | Self::BufferFull { source_id, .. }
            | Self::InvalidState { source_id, .. }
            | Self::Handler { source_id, .. }
            | Self::Provider { source_id, .. } => Some(source_id),
            _ => None,
        }
    }

    /// The provider this error is about, when known.
    pub fn provider_name(&self) -> Option<&str> {
        match self {
            Self::AlreadyExists { provider, .. } | Self::NotFound { provider, .. } => {
                provider.as_deref()
            }
            Self::Unsupported { provider, .. }
            | Self::BufferFull { provider, .. }
            | Self::InvalidState { provider, .. }
            | Self::Provider { provider, .. } => Some(provider),
            Self::UnknownProvider { name, .. } | Self::ProviderNotCompiled { name, .. } => {
                Some(name)
            }
            _ => None,
        }
    }
}
