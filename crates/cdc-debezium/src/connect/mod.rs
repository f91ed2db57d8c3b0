//! The Kafka Connect REST client: typed calls, authentication, TLS, and retries of transient
//! failures (rebalance 409s, 5xx, timeouts, refused connections).

mod client;
mod options;
pub mod retry;
mod types;

pub use client::KafkaConnectClient;
pub use options::{Auth, ClientOptions, DEFAULT_TIMEOUT, TlsOptions};
pub use retry::RetryPolicy;
pub use types::{
    Applied, ConfigInfo, ConfigValueInfo, ConnectorConfig, ConnectorInfo, ConnectorListEntry,
    ConnectorOffset, ConnectorOffsets, ConnectorState, ConnectorStateInfo, ConnectorStatus,
    ErrorBody, MessageBody, RestartOptions, RestartOutcome, ServerInfo, TaskId, TaskStatus,
    ValidationResult,
};
