//! [`BentoError`], the one error type of this crate, and its conversion to `CdcError`.

use cdc_core::CdcError;

/// The provider name used in errors and statuses.
pub const PROVIDER: &str = "bento";

/// Everything that can go wrong in cdc-bento. Each variant about a source names it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BentoError {
    /// A config value is missing or wrong; `field` names it (`options.stream_arn`, `tables[1]`).
    #[error("source {source_id:?} (bento): invalid config: {field}: {message}")]
    InvalidConfig {
        /// The source id.
        source_id: String,
        /// The field.
        field: String,
        /// What is wrong, and what to do.
        message: String,
    },

    /// The source type cannot be captured with this flavor (MySQL on Bento, ...).
    #[error(
        "source {source_id:?} (bento): source_type {source_type:?} is not supported: {message}"
    )]
    UnsupportedSource {
        /// The source id.
        source_id: String,
        /// The source type asked for.
        source_type: String,
        /// Why, and what to use instead.
        message: String,
    },

    /// Serializing or parsing a stream config failed.
    #[error("bento stream config: {message}")]
    Render {
        /// The serializer's message.
        message: String,
    },

    /// The Bento process could not be started, written for, or stopped.
    #[error("source {source_id:?} (bento): process: {message}")]
    Process {
        /// The source id.
        source_id: String,
        /// What failed.
        message: String,
        /// The I/O error, when there is one.
        #[source]
        source: Option<std::io::Error>,
    },

    /// A PostgreSQL statement (slot creation) failed.
    #[error("source {source_id:?} (bento): postgres: {message}")]
    Postgres {
        /// The source id.
        source_id: String,
        /// What failed (never the DSN's password).
        message: String,
    },
}

impl BentoError {
    /// An `InvalidConfig` error.
    pub fn invalid(
        source_id: impl Into<String>,
        field: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Self::InvalidConfig {
            source_id: source_id.into(),
            field: field.into(),
            message: message.into(),
        }
    }

    /// A `Process` error without an I/O cause.
    pub fn process(source_id: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Process {
            source_id: source_id.into(),
            message: message.into(),
            source: None,
        }
    }
}

impl From<BentoError> for CdcError {
    fn from(e: BentoError) -> Self {
        match e {
            BentoError::InvalidConfig {
                source_id,
                field,
                message,
            } => CdcError::InvalidConfig {
                field: format!("{field} (source {source_id:?}, provider bento)"),
                message,
            },
            BentoError::UnsupportedSource {
                source_id,
                source_type,
                message,
            } => CdcError::Unsupported {
                source_id,
                provider: PROVIDER.into(),
                operation: format!("source_type {source_type:?}"),
                reason: message,
            },
            BentoError::Render { message } => CdcError::Provider {
                source_id: String::new(),
                provider: PROVIDER.into(),
                message,
                retryable: false,
                source: None,
            },
            BentoError::Process {
                source_id,
                message,
                source,
            } => CdcError::Provider {
                source_id,
                provider: PROVIDER.into(),
                message,
                retryable: true,
                source: source.map(|s| Box::new(s) as cdc_core::error::BoxError),
            },
            BentoError::Postgres { source_id, message } => CdcError::Provider {
                source_id,
                provider: PROVIDER.into(),
                message,
                retryable: true,
                source: None,
            },
        }
    }
}
