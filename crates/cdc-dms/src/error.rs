//! [`DmsError`], the error type of cdc-dms, and its conversion to [`cdc_core::CdcError`].

use std::time::Duration;

use cdc_core::CdcError;

use crate::api::ApiError;

/// The provider name, as in `SourceConfig.provider`.
pub const PROVIDER: &str = "dms";

/// Everything that can go wrong in cdc-dms. Each variant names the source.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DmsError {
    /// A config value is wrong; `field` names it (`options.migration_type`, `tables[1]`, ...).
    #[error("source {source_id:?} (dms): invalid config: {field}: {message}")]
    Config {
        /// The source.
        source_id: String,
        /// The field.
        field: String,
        /// What is wrong.
        message: String,
    },

    /// A DMS call failed.
    #[error("source {source_id:?} (dms): {operation} failed: {error}")]
    Api {
        /// The source.
        source_id: String,
        /// The DMS operation (`CreateReplicationTask`, ...).
        operation: &'static str,
        /// The classified SDK error.
        #[source]
        error: ApiError,
    },

    /// A task did not reach the wanted status in time.
    #[error(
        "source {source_id:?} (dms): task {task_arn} did not become {wanted} within {waited:?} (last status {last_status:?})"
    )]
    Timeout {
        /// The source.
        source_id: String,
        /// The task.
        task_arn: String,
        /// The status waited for.
        wanted: String,
        /// The last status seen.
        last_status: String,
        /// How long we waited.
        waited: Duration,
    },

    /// The task failed while we waited for it.
    #[error("source {source_id:?} (dms): task {task_arn} is {status}: {message}")]
    TaskFailed {
        /// The source.
        source_id: String,
        /// The task.
        task_arn: String,
        /// The DMS status (`failed`, `stopped`).
        status: String,
        /// `LastFailureMessage` / `StopReason`.
        message: String,
    },

    /// A task with the source's identifier exists but belongs to something else.
    #[error(
        "source {source_id:?} (dms): replication task {identifier:?} already exists with other settings ({mismatch}); delete it or use another source_id"
    )]
    Conflict {
        /// The source.
        source_id: String,
        /// The task identifier.
        identifier: String,
        /// What differs.
        mismatch: String,
    },

    /// The source is already connected in this provider.
    #[error("source {source_id:?} (dms): already connected")]
    AlreadyConnected {
        /// The source.
        source_id: String,
    },

    /// The source is not connected in this provider.
    #[error("source {source_id:?} (dms): not connected")]
    NotConnected {
        /// The source.
        source_id: String,
    },

    /// The task is gone at DMS.
    #[error("source {source_id:?} (dms): replication task {task:?} not found")]
    TaskNotFound {
        /// The source.
        source_id: String,
        /// The task ARN or identifier.
        task: String,
    },

    /// The operation is not possible in the task's state.
    #[error("source {source_id:?} (dms): {message}")]
    InvalidState {
        /// The source.
        source_id: String,
        /// What is wrong.
        message: String,
    },
}

impl DmsError {
    /// A config error about `field`.
    pub fn config(
        source_id: impl Into<String>,
        field: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Self::Config {
            source_id: source_id.into(),
            field: field.into(),
            message: message.into(),
        }
    }

    /// A failed DMS call.
    pub fn api(source_id: impl Into<String>, operation: &'static str, error: ApiError) -> Self {
        Self::Api {
            source_id: source_id.into(),
            operation,
            error,
        }
    }

    /// The source this error is about.
    pub fn source_id(&self) -> &str {
        match self {
            Self::Config { source_id, .. }
            | Self::Api { source_id, .. }
            | Self::Timeout { source_id, .. }
            | Self::TaskFailed { source_id, .. }
            | Self::Conflict { source_id, .. }
            | Self::AlreadyConnected { source_id }
            | Self::NotConnected { source_id }
            | Self::TaskNotFound { source_id, .. }
            | Self::InvalidState { source_id, .. } => source_id,
        }
    }
}

impl From<DmsError> for CdcError {
    fn from(e: DmsError) -> Self {
        let source_id = e.source_id().to_owned();
        match e {
            DmsError::Config { field, message, .. } => CdcError::InvalidConfig {
                field: format!("{field} (source {source_id:?})"),
                message,
            },
            DmsError::AlreadyConnected { .. } => CdcError::already_exists(source_id, PROVIDER),
            DmsError::NotConnected { .. } => CdcError::not_found(source_id, PROVIDER),
            DmsError::InvalidState { message, .. } => CdcError::InvalidState {
                source_id,
                provider: PROVIDER.into(),
                message,
            },
            other => {
                let retryable = match &other {
                    DmsError::Api { error, .. } => error.is_retryable(),
                    DmsError::Timeout { .. } => true,
                    _ => false,
                };
                // CdcError's own Display names source and provider: don't say it twice.
                let full = other.to_string();
                let prefix = format!("source {source_id:?} (dms): ");
                let message = full.strip_prefix(&prefix).unwrap_or(&full).to_owned();
                CdcError::Provider {
                    source_id,
                    provider: PROVIDER.into(),
                    message,
                    retryable,
                    source: Some(Box::new(other)),
                }
            }
        }
    }
}
