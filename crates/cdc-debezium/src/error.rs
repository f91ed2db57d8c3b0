//! [`DebeziumError`]: the one error type of this crate, and its conversion to
//! [`cdc_core::CdcError`] at the provider boundary.

use std::time::Duration;

use cdc_core::CdcError;

/// The provider name used in errors and statuses.
pub const PROVIDER: &str = "debezium";

/// `Result` with [`DebeziumError`].
pub type Result<T, E = DebeziumError> = std::result::Result<T, E>;

/// How a request failed below HTTP.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TransportKind {
    /// No answer within the request timeout.
    Timeout,
    /// The connection could not be made (refused, unreachable, DNS): the request was not sent.
    Connect,
    /// Anything else (reset connection, broken body, TLS).
    Other,
}

/// Everything that can go wrong in cdc-debezium.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DebeziumError {
    /// Kafka Connect answered with an error status; `error_code` and `message` come from its
    /// `{"error_code", "message"}` body (or the raw body when it had another shape).
    #[error("kafka connect {method} {path} (connector {connector:?}): HTTP {status}: {message}")]
    Api {
        /// The connector the request was about (empty for cluster-wide calls).
        connector: String,
        /// HTTP method.
        method: String,
        /// Request path (without the base URL).
        path: String,
        /// HTTP status.
        status: u16,
        /// `error_code` of the body, when it had one.
        error_code: Option<i64>,
        /// `message` of the body, or the raw body.
        message: String,
    },

    /// The request did not get an HTTP answer.
    #[error("kafka connect {method} {path} (connector {connector:?}): {kind:?}: {message}")]
    Transport {
        /// The connector the request was about.
        connector: String,
        /// HTTP method.
        method: String,
        /// Request path.
        path: String,
        /// What kind of failure.
        kind: TransportKind,
        /// The underlying error text (never contains credentials: the base URL is not in it).
        message: String,
    },

    /// A transient failure that did not clear within the retry budget.
    #[error("gave up after {attempts} attempts in {elapsed:?}: {last}")]
    RetriesExhausted {
        /// Attempts made.
        attempts: u32,
        /// Time spent.
        elapsed: Duration,
        /// The last failure.
        last: Box<DebeziumError>,
    },

    /// A 2xx answer whose body was not what the API documents.
    #[error("kafka connect {method} {path}: unexpected response body: {message}")]
    BadResponse {
        /// HTTP method.
        method: String,
        /// Request path.
        path: String,
        /// What was wrong.
        message: String,
    },

    /// Invalid configuration; `field` names the option.
    #[error("source {source_id:?}: invalid config: {field}: {message}")]
    Config {
        /// The source id.
        source_id: String,
        /// The field (`options.database`, `source_type`, ...).
        field: String,
        /// What is wrong.
        message: String,
    },

    /// A Debezium record could not be decoded; the message says what and where.
    #[error("cannot decode record of topic {topic:?} at {location}: {message}")]
    Decode {
        /// The Kafka topic of the record.
        topic: String,
        /// Where in the record (`value.payload.source.ts_ms`, `key`, ...).
        location: String,
        /// What was wrong.
        message: String,
    },

    /// Writing a snapshot signal failed.
    #[error("source {source_id:?}: signal: {message}")]
    Signal {
        /// The source id.
        source_id: String,
        /// What failed.
        message: String,
    },

    /// Dropping the connector's replication slot failed (`options.drop_slot_on_stop`).
    #[error("source {source_id:?}: replication slot {slot:?}: {message}")]
    ReplicationSlot {
        /// The source id.
        source_id: String,
        /// The slot (`slot.name` of the connector config).
        slot: String,
        /// What failed.
        message: String,
    },

    /// The operation is not supported in this setup.
    #[error("source {source_id:?}: {operation} is not supported: {reason}")]
    Unsupported {
        /// The source id.
        source_id: String,
        /// The operation.
        operation: String,
        /// Why, and what to do instead.
        reason: String,
    },

    /// The provider has no connected source by this id.
    #[error("source {source_id:?} is not connected to the debezium provider")]
    NotConnected {
        /// The source id.
        source_id: String,
    },
}

/// Whether a Connect error message names this connector (`Connector pg1 not found`).
fn names_connector(message: &str, connector: &str) -> bool {
    let m = message.to_ascii_lowercase();
    let c = connector.to_ascii_lowercase();
    m.contains(&format!("connector {c} ")) || m.ends_with(&format!("connector {c}"))
}

impl DebeziumError {
    /// The HTTP status, for API errors (also inside [`DebeziumError::RetriesExhausted`]).
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Api { status, .. } => Some(*status),
            Self::RetriesExhausted { last, .. } => last.status(),
            _ => None,
        }
    }

    /// Whether the error is Kafka Connect saying *this connector* does not exist: a 404 with
    /// Connect's own JSON error body (`error_code: 404`) whose message names the connector
    /// (`Connector pg1 not found`, `No status found for connector pg1`). A 404 that names no
    /// connector (a worker that is starting answers 404 on every path, with an HTML body or
    /// `{"message":"Not Found"}`) is not: see [`DebeziumError::is_unattributed_not_found`].
    pub fn is_not_found(&self) -> bool {
        match self {
            Self::Api {
                status: 404,
                error_code: Some(404),
                connector,
                message,
                ..
            } => !connector.is_empty() && names_connector(message, connector),
            Self::RetriesExhausted { last, .. } => last.is_not_found(),
            _ => false,
        }
    }

    /// A 404 that cannot be attributed to the connector: no `error_code` in the body (a
    /// starting worker's servlet container or its JSON `{"message":"Not Found"}`). Retried
    /// within the policy; never taken as "the connector does not exist".
    pub fn is_unattributed_not_found(&self) -> bool {
        match self {
            Self::Api {
                status: 404,
                error_code: None,
                ..
            } => true,
            Self::RetriesExhausted { last, .. } => last.is_unattributed_not_found(),
            _ => false,
        }
    }

    /// Whether the error says the endpoint does not exist on this cluster (older Kafka
    /// Connect): a 405, or a 404 in Connect's JSON shape (`error_code` set, as its exception
    /// mapper answers unknown paths) that does not name the connector.
    pub fn is_endpoint_missing(&self) -> bool {
        match self {
            Self::Api { status: 405, .. } => true,
            Self::Api {
                status: 404,
                error_code: Some(_),
                ..
            } => !self.is_not_found(),
            _ => false,
        }
    }

    /// Whether trying again later may succeed (transient failures, also after the retry
    /// budget ran out).
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Api { status: 404, .. } => self.is_unattributed_not_found(),
            Self::Api {
                status, message, ..
            } => crate::connect::retry::is_transient_status(*status, message),
            Self::Transport { .. } | Self::RetriesExhausted { .. } => true,
            _ => false,
        }
    }

    /// Converts to the core error at the provider boundary, naming the source.
    pub fn into_cdc(self, source_id: &str) -> CdcError {
        match self {
            Self::Config { field, message, .. } => CdcError::InvalidConfig {
                field: format!("{field} (source {source_id:?})"),
                message,
            },
            Self::Unsupported {
                operation, reason, ..
            } => CdcError::Unsupported {
                source_id: source_id.to_owned(),
                provider: PROVIDER.to_owned(),
                operation,
                reason,
            },
            Self::NotConnected { .. } => CdcError::not_found(source_id, PROVIDER),
            other => {
                let retryable = other.is_retryable();
                CdcError::Provider {
                    source_id: source_id.to_owned(),
                    provider: PROVIDER.to_owned(),
                    message: other.to_string(),
                    retryable,
                    source: Some(Box::new(other)),
                }
            }
        }
    }

    /// A decode error.
    pub(crate) fn decode(
        topic: &str,
        location: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Self::Decode {
            topic: topic.to_owned(),
            location: location.into(),
            message: message.into(),
        }
    }
}
