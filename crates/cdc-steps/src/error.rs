//! [`StepError`]: every step error, prefixed like Go's (`step.cdc_status "my-step": ...`).

use cdc_core::CdcError;

/// A step failed. Displays as `<type> "<name>": <what>`, e.g.
/// `step.cdc_status "check-db": source_id is required`.
#[derive(Debug, thiserror::Error)]
#[error("{step_type} {name:?}: {kind}")]
pub struct StepError {
    /// The step type (`step.cdc_status`, ...).
    pub step_type: String,
    /// The step's name in the workflow.
    pub name: String,
    /// What went wrong.
    pub kind: StepErrorKind,
}

impl StepError {
    /// An error of step `step_type` named `name`.
    pub fn new(step_type: impl Into<String>, name: impl Into<String>, kind: StepErrorKind) -> Self {
        Self {
            step_type: step_type.into(),
            name: name.into(),
            kind,
        }
    }

    /// The config field the error is about, for config errors.
    pub fn field(&self) -> Option<&str> {
        match &self.kind {
            StepErrorKind::InvalidConfig { field, .. } => Some(field),
            _ => None,
        }
    }

    /// The source the error is about, when it is about one.
    pub fn source_id(&self) -> Option<&str> {
        match &self.kind {
            StepErrorKind::NotRegistered { source_id, .. }
            | StepErrorKind::Source { source_id, .. }
            | StepErrorKind::NotPausable { source_id, .. } => Some(source_id),
            _ => None,
        }
    }
}

/// What went wrong in a step.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StepErrorKind {
    /// A config value is wrong. Displays as `<field> <message>` (`source_id is required`).
    #[error("{field} {message}")]
    InvalidConfig {
        /// The field (`source_id`, `thresholds.lag_bytes`, `tables[1]`, ...).
        field: String,
        /// What is wrong, worded to follow the field name.
        message: String,
    },

    /// No source with this id is registered.
    #[error(
        "source {} is not registered ({})",
        crate::config::shown(source_id),
        running_list(registered)
    )]
    NotRegistered {
        /// The source id.
        source_id: String,
        /// The ids that are registered.
        registered: Vec<String>,
    },

    /// The provider failed an operation on the source.
    #[error("{operation}: {source}")]
    Source {
        /// The source id.
        source_id: String,
        /// The operation (`status`, `snapshot`, `throttle`, ...).
        operation: &'static str,
        /// The provider's error (boxed: it is large, and rare).
        #[source]
        source: Box<CdcError>,
    },

    /// Throttling (or resuming) was asked of a provider that cannot pause.
    #[error(
        "source {source_id:?} (provider {provider}) cannot be {operation}: the provider has no pause/resume"
    )]
    NotPausable {
        /// The source id.
        source_id: String,
        /// The provider.
        provider: String,
        /// `throttled` or `resumed`.
        operation: &'static str,
    },

    /// The output could not be built (a value that does not serialize to JSON).
    #[error("could not build the output: {message}")]
    Output {
        /// The serializer's message.
        message: String,
    },

    /// The registry has no step of this type.
    #[error("unknown step type; known types: {}", known.join(", "))]
    UnknownStepType {
        /// The types the registry has.
        known: Vec<String>,
    },
}

/// How many registered ids a "not registered" message lists.
const LISTED_IDS: usize = 20;

fn running_list(ids: &[String]) -> String {
    match ids.len() {
        0 => "no source is registered".to_owned(),
        n if n <= LISTED_IDS => format!("registered: {}", ids.join(", ")),
        n => format!(
            "registered: {}, and {} more",
            ids[..LISTED_IDS].join(", "),
            n - LISTED_IDS
        ),
    }
}

impl From<StepError> for CdcError {
    fn from(e: StepError) -> Self {
        let text = e.to_string();
        match e.kind {
            StepErrorKind::InvalidConfig { field, message } => CdcError::InvalidConfig {
                field: format!("{} {:?}: {field}", e.step_type, e.name),
                message,
            },
            StepErrorKind::NotRegistered { source_id, .. } => CdcError::NotFound {
                source_id,
                provider: None,
            },
            StepErrorKind::Source { source, .. } => *source,
            StepErrorKind::NotPausable {
                source_id,
                provider,
                operation,
            } => CdcError::Unsupported {
                source_id,
                provider,
                operation: operation.to_owned(),
                reason: text,
            },
            StepErrorKind::UnknownStepType { .. } => CdcError::InvalidConfig {
                field: "type".into(),
                message: text,
            },
            StepErrorKind::Output { message } => CdcError::InvalidConfig {
                field: "output".into(),
                message,
            },
        }
    }
}
