//! The provider traits: [`CdcProvider`] and the optional [`Pausable`] capability.

use std::sync::Arc;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::config::SourceConfig;
use crate::dispatch::{EventHandler, Subscription};
use crate::error::Result;
use crate::status::{CdcStatus, SchemaVersion};

/// A CDC provider: it runs sources (one per [`SourceConfig`]) on some engine and delivers
/// their events to subscribed handlers.
///
/// Used as `Arc<dyn CdcProvider>`. One provider value may run several sources, told apart by
/// `source_id`.
///
/// The contract every provider keeps (checked for each by `cdc_testkit::conformance`):
/// `status` of a source the provider does not know is state `not_found`, not an error;
/// `subscribe`, `disconnect`, `snapshot` and `schema_history` of such a source are errors;
/// `schema_history` with an empty table means every table; and a second
/// [`SourceModule::start`](crate::SourceModule::start) of a running source is a no-op.
#[async_trait]
pub trait CdcProvider: Send + Sync {
    /// The provider name (`memory`, `debezium`, ...), as in [`SourceConfig::provider`].
    fn name(&self) -> &str;

    /// Starts the source described by `config` (creates the connector, task or process).
    async fn connect(&self, config: &SourceConfig) -> Result<()>;

    /// Stops the source and releases what it holds.
    async fn disconnect(&self, source_id: &str) -> Result<()>;

    /// The current status. A source the provider does not know has state `not_found`
    /// (that is a status, not an error).
    async fn status(&self, source_id: &str) -> Result<CdcStatus>;

    /// Starts a snapshot of `tables` (all configured tables when empty).
    async fn snapshot(&self, source_id: &str, tables: &[String]) -> Result<SnapshotReport>;

    /// The schema changes of `table` (`schema.name` or `name`), oldest first; every table's
    /// when `table` is empty.
    async fn schema_history(&self, source_id: &str, table: &str) -> Result<Vec<SchemaVersion>>;

    /// Subscribes `handler` to the events of a connected source (an unknown source is an
    /// error). Several handlers per source each receive every event, in order; see
    /// [`crate::dispatch`] for the failure policy.
    fn subscribe(&self, source_id: &str, handler: Arc<dyn EventHandler>) -> Result<Subscription>;

    /// The pause/resume capability, when the provider has it (Go's `ThrottleableProvider`).
    fn pausable(&self) -> Option<&dyn Pausable> {
        None
    }
}

/// Pausing and resuming a source (throttling under backpressure). Nothing is lost while
/// paused: delivery is held, not dropped.
#[async_trait]
pub trait Pausable: Send + Sync {
    /// Pauses the source.
    async fn pause(&self, source_id: &str) -> Result<()>;
    /// Resumes a paused source.
    async fn resume(&self, source_id: &str) -> Result<()>;
}

/// What a snapshot request did.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapshotReport {
    /// The source.
    pub source_id: String,
    /// The tables snapshotted (empty: all).
    pub tables: Vec<String>,
    /// How it was done (`control_event`, `offsets_reset`, `incremental_signal`,
    /// `reload_target`, ...).
    pub method: String,
    /// Anything the user should know (a fallback taken, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

impl SnapshotReport {
    /// A report with no detail.
    pub fn new(source_id: impl Into<String>, tables: &[String], method: impl Into<String>) -> Self {
        Self {
            source_id: source_id.into(),
            tables: tables.to_vec(),
            method: method.into(),
            detail: None,
        }
    }

    /// Adds a detail.
    pub fn with_detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }
}
