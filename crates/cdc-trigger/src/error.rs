//! [`TriggerError`]: everything that can go wrong building, starting or running a trigger.

use cdc_core::CdcError;

/// An error of `trigger.cdc`. Each names the field or the source it is about.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TriggerError {
    /// A config value is wrong; `field` names it (`source_id`, `tables[1]`, `actions[0]`, ...).
    #[error("trigger.cdc: {field}: {message}")]
    InvalidConfig {
        /// The field.
        field: String,
        /// What is wrong.
        message: String,
    },

    /// No source with this id is registered.
    #[error(
        "trigger.cdc {source_id:?}: source {source_id:?} is not registered (is its cdc.source started?)"
    )]
    SourceNotRegistered {
        /// The source id.
        source_id: String,
    },

    /// The source is registered but its provider refused the subscription (it is not
    /// connected, for instance).
    #[error(
        "trigger.cdc {source_id:?}: cannot subscribe to source {source_id:?} (provider {provider}): {source}"
    )]
    Subscribe {
        /// The source id.
        source_id: String,
        /// The provider.
        provider: String,
        /// The provider's error (boxed: it is large, and rare).
        #[source]
        source: Box<CdcError>,
    },

    /// `start` was called on a running trigger.
    #[error("trigger.cdc {source_id:?}: already started")]
    AlreadyStarted {
        /// The source id.
        source_id: String,
    },
}

impl TriggerError {
    /// The source this error is about, when it is about one.
    pub fn source_id(&self) -> Option<&str> {
        match self {
            Self::InvalidConfig { .. } => None,
            Self::SourceNotRegistered { source_id }
            | Self::Subscribe { source_id, .. }
            | Self::AlreadyStarted { source_id } => Some(source_id),
        }
    }
}

impl From<TriggerError> for CdcError {
    fn from(e: TriggerError) -> Self {
        match e {
            TriggerError::InvalidConfig { field, message } => {
                CdcError::InvalidConfig { field, message }
            }
            TriggerError::SourceNotRegistered { source_id } => CdcError::NotFound {
                source_id,
                provider: None,
            },
            TriggerError::Subscribe { source, .. } => *source,
            TriggerError::AlreadyStarted { source_id } => CdcError::InvalidState {
                source_id,
                provider: "trigger.cdc".into(),
                message: "trigger already started".into(),
            },
        }
    }
}
