//! [`DebeziumProvider`]: Debezium connectors on Kafka Connect behind [`CdcProvider`].
//!
//! - `connect` prepares the signaling table (when configured), renders the connector config
//!   and applies it with the idempotent `PUT /connectors/{n}/config` (a reconnect after a
//!   crash just re-applies it), then starts the Kafka consumer (`options.kafka`, feature
//!   `kafka`);
//! - `disconnect` stops the consumer (committing), then does `options.on_stop` to the
//!   connector: keep (default with a transport), pause, stop or delete (default without; a
//!   404 naming the connector means already gone, one naming none is an error and the
//!   source is kept);
//! - `status` maps the connector and task states (see [`status_map::map_status`]);
//! - `snapshot` re-snapshots everything (stop → reset offsets → resume) or, with tables,
//!   writes an incremental `execute-snapshot` signal;
//! - `pause` / `resume` / [`DebeziumProvider::stop`] go through the REST API;
//! - [`DebeziumProvider::deliver`] takes records from a transport (a Kafka consumer, a test),
//!   decodes them and fans them out to the subscribers, in order per source.

#[cfg(feature = "kafka")]
mod ahead;
mod connector_state;
mod decode_batch;
mod deliver;
mod delivered;
mod lifecycle;
mod pause;
mod snapshot;
pub mod status_map;
#[cfg(feature = "kafka")]
mod transport;

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, RwLock};

use async_trait::async_trait;
use cdc_core::{
    CdcError, CdcProvider, CdcStatus, EventHandler, Pausable, SchemaVersion, SnapshotReport,
    SourceConfig, Subscribers, Subscription,
};
use time::OffsetDateTime;
use tracing::warn;

use crate::config::{ConnectorSpec, DebeziumSource};
use crate::connect::{KafkaConnectClient, RestartOptions, RestartOutcome};
use crate::error::{DebeziumError, PROVIDER};

#[cfg(feature = "kafka")]
pub(crate) use ahead::AheadScope;
#[cfg(feature = "kafka")]
pub(crate) use decode_batch::Decoded;
pub use deliver::{BatchOutcome, DeliveryOutcome, RawRecord};

/// One connected source.
struct Entry {
    source: DebeziumSource,
    client: KafkaConnectClient,
    /// Decoder and ordering: one delivery at a time per source.
    stream: tokio::sync::Mutex<decode_batch::Decoders>,
    /// The decoders of the transport's decode-ahead (one per decoding thread), used beside
    /// a hand-over.
    #[cfg(feature = "kafka")]
    ahead: [Mutex<crate::decode::Decoder>; 2],
    last: Mutex<LastDelivery>,
    history: Mutex<BTreeMap<String, Vec<SchemaVersion>>>,
    /// After an old-cluster re-snapshot: the config to put back once it is over.
    mode_restore: Mutex<Option<snapshot::ModeRestore>>,
    /// The Kafka consumer of the connector's topics, when `options.kafka` is set.
    #[cfg(feature = "kafka")]
    transport: Mutex<Option<Arc<crate::kafka::Transport>>>,
}

impl Entry {
    #[cfg(feature = "kafka")]
    fn transport(&self) -> Option<Arc<crate::kafka::Transport>> {
        lock(&self.transport).clone()
    }
}

#[derive(Default, Clone, Copy)]
struct LastDelivery {
    /// When a row change last reached every handler.
    at: Option<OffsetDateTime>,
    /// Commit time at the database of the newest event delivered (or heartbeat seen).
    committed_at: Option<OffsetDateTime>,
}

/// The Debezium provider. Cheap to share behind `Arc<dyn CdcProvider>`.
#[derive(Default)]
pub struct DebeziumProvider {
    inner: Arc<Inner>,
}

/// The provider's state. A transport's consumer thread holds it weakly: dropping the
/// provider stops its consumers.
#[derive(Default)]
pub(crate) struct Inner {
    sources: RwLock<HashMap<String, Arc<Entry>>>,
    subscribers: Mutex<HashMap<String, Subscribers>>,
}

impl DebeziumProvider {
    /// A weak handle for a transport thread.
    #[cfg_attr(not(feature = "kafka"), allow(dead_code))]
    pub(crate) fn downgrade(&self) -> std::sync::Weak<Inner> {
        Arc::downgrade(&self.inner)
    }

    /// The provider again from a transport's weak handle, while it lives.
    #[cfg_attr(not(feature = "kafka"), allow(dead_code))]
    pub(crate) fn upgrade(inner: &std::sync::Weak<Inner>) -> Option<Self> {
        inner.upgrade().map(|inner| Self { inner })
    }
}

impl std::fmt::Debug for DebeziumProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ids: Vec<String> = read(&self.inner.sources).keys().cloned().collect();
        f.debug_struct("DebeziumProvider")
            .field("sources", &ids)
            .finish()
    }
}

fn read<T>(l: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    l.read().unwrap_or_else(|p| p.into_inner())
}

fn write<T>(l: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    l.write().unwrap_or_else(|p| p.into_inner())
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl DebeziumProvider {
    /// A provider with no sources.
    pub fn new() -> Self {
        Self::default()
    }

    /// Renders the connector of a source without contacting anything: the config a
    /// `connect` would apply, with secrets masked unless `reveal_secrets`.
    pub fn render(config: &SourceConfig, reveal_secrets: bool) -> Result<String, CdcError> {
        let src = DebeziumSource::from_config(config).map_err(|e| e.into_cdc(&config.source_id))?;
        Ok(src.connector.to_json(reveal_secrets))
    }

    /// The connector spec of a connected source (`Debug` masks secrets).
    pub fn connector(&self, source_id: &str) -> Result<ConnectorSpec, CdcError> {
        Ok(self.entry(source_id)?.source.connector.clone())
    }

    /// The REST client of a connected source, for calls the trait does not cover
    /// (offsets, validate, restart of one task).
    pub fn client(&self, source_id: &str) -> Result<KafkaConnectClient, CdcError> {
        Ok(self.entry(source_id)?.client.clone())
    }

    fn entry(&self, source_id: &str) -> Result<Arc<Entry>, CdcError> {
        read(&self.inner.sources)
            .get(source_id)
            .cloned()
            .ok_or_else(|| CdcError::not_found(source_id, PROVIDER))
    }

    fn subscribers_of(&self, source_id: &str) -> Subscribers {
        lock(&self.inner.subscribers)
            .entry(source_id.to_owned())
            .or_insert_with(|| Subscribers::new(source_id))
            .clone()
    }

    /// `PUT /connectors/{n}/stop` (Kafka 3.5+): tasks shut down, config and offsets kept;
    /// `resume` starts it again.
    pub async fn stop(&self, source_id: &str) -> Result<(), CdcError> {
        let e = self.entry(source_id)?;
        e.client
            .stop(&e.source.connector.name)
            .await
            .map_err(|err| err.into_cdc(source_id))
    }

    /// `POST /connectors/{n}/restart` with the given flags (`only_failed` restarts just the
    /// failed instances).
    pub async fn restart(
        &self,
        source_id: &str,
        opts: RestartOptions,
    ) -> Result<RestartOutcome, CdcError> {
        let e = self.entry(source_id)?;
        e.client
            .restart(&e.source.connector.name, opts)
            .await
            .map_err(|err| err.into_cdc(source_id))
    }

    /// The statuses of many sources, fetched concurrently (one round trip of latency, not
    /// one per source). Results are in the order of `source_ids`.
    pub async fn status_many(&self, source_ids: &[String]) -> Vec<Result<CdcStatus, CdcError>> {
        futures::future::join_all(source_ids.iter().map(|id| self.status(id))).await
    }

    /// The source whose topics this is: `<prefix>.<schema>.<table>`, `<prefix>.transaction`,
    /// `<prefix>` (schema changes), and its heartbeat topic (by default
    /// `__debezium-heartbeat.<prefix>`, whatever `topic.heartbeat.prefix` or
    /// `options.kafka.heartbeat_topic` make it). Longest prefix wins.
    pub fn source_for_topic(&self, topic: &str) -> Option<String> {
        let sources = read(&self.inner.sources);
        if let Some((id, _)) = sources
            .iter()
            .find(|(_, e)| e.source.is_heartbeat_topic(topic))
        {
            return Some(id.clone());
        }
        sources
            .iter()
            .filter_map(|(id, e)| {
                let p = e.source.connector.topic_prefix();
                let hit = topic == p
                    || topic
                        .strip_prefix(p)
                        .is_some_and(|rest| rest.starts_with('.'));
                hit.then(|| (p.len(), id.clone()))
            })
            .max()
            .map(|(_, id)| id)
    }
}

#[async_trait]
impl CdcProvider for DebeziumProvider {
    fn name(&self) -> &str {
        PROVIDER
    }

    async fn connect(&self, config: &SourceConfig) -> Result<(), CdcError> {
        self.connect_source(config).await
    }

    async fn disconnect(&self, source_id: &str) -> Result<(), CdcError> {
        self.disconnect_source(source_id).await
    }

    async fn status(&self, source_id: &str) -> Result<CdcStatus, CdcError> {
        // An unknown source is a status, not an error (the trait's contract).
        let Ok(e) = self.entry(source_id) else {
            return Ok(CdcStatus::not_found(source_id, PROVIDER));
        };
        let mut st = match e.client.status(&e.source.connector.name).await {
            Ok(s) => status_map::map_status(source_id, &s),
            Err(err) if err.is_not_found() => {
                connector_state::not_found_status(source_id, &e.client, &e.source.connector.name)
                    .await
            }
            Err(err) if err.is_unattributed_not_found() => {
                let mut st = CdcStatus::new(source_id, PROVIDER, cdc_core::SourceState::Unknown);
                st.error = Some(format!(
                    "Kafka Connect answered 404 without naming connector {:?} (a worker that is starting does so on every path): {err}",
                    e.source.connector.name
                ));
                st
            }
            Err(err) => return Err(err.into_cdc(source_id)),
        };
        let last = *lock(&e.last);
        st.last_event = last.at;
        st.lag_seconds = last.committed_at.map(delivered::lag_since);
        #[cfg(feature = "kafka")]
        if let Some(t) = e.transport() {
            let t = t.status();
            transport::transport_status(&mut st, &t);
            // A change a failing handler holds back is delivery delay too: the lag grows
            // from it, whatever the heartbeats of the other partitions say.
            if let Some(held) = t.held_since.map(delivered::lag_since) {
                st.lag_seconds = Some(st.lag_seconds.map_or(held, |l| l.max(held)));
            }
        }
        Ok(st)
    }

    async fn snapshot(
        &self,
        source_id: &str,
        tables: &[String],
    ) -> Result<SnapshotReport, CdcError> {
        let e = self.entry(source_id)?;
        if tables.is_empty() {
            let (report, restore) = snapshot::full_resnapshot(&e.client, &e.source, source_id)
                .await
                .map_err(|err| err.into_cdc(source_id))?;
            *lock(&e.mode_restore) = restore;
            Ok(report)
        } else {
            snapshot::incremental(&e.source, source_id, tables)
                .await
                .map_err(|err| err.into_cdc(source_id))
        }
    }

    async fn schema_history(
        &self,
        source_id: &str,
        table: &str,
    ) -> Result<Vec<SchemaVersion>, CdcError> {
        let e = self.entry(source_id)?;
        // An empty table means every table (the trait's contract).
        let want = match table {
            "" => None,
            t => Some(
                cdc_core::TableRef::parse(t).map_err(|m| CdcError::InvalidConfig {
                    field: "table".into(),
                    message: m,
                })?,
            ),
        };
        let history = lock(&e.history);
        let mut out: Vec<SchemaVersion> = history
            .iter()
            .filter(|(qualified, _)| {
                let (s, t) = match qualified.split_once('.') {
                    Some((s, t)) => (Some(s), t),
                    None => (None, qualified.as_str()),
                };
                want.as_ref().is_none_or(|w| w.matches(s, t))
            })
            .flat_map(|(_, v)| v.iter().cloned())
            .collect();
        out.sort_by_key(|v| (v.applied_at, v.version));
        Ok(out)
    }

    fn subscribe(
        &self,
        source_id: &str,
        handler: Arc<dyn EventHandler>,
    ) -> Result<Subscription, CdcError> {
        // A source the provider does not know is an error (the trait's contract).
        self.entry(source_id)?;
        Ok(self.subscribers_of(source_id).subscribe(handler))
    }

    fn pausable(&self) -> Option<&dyn Pausable> {
        Some(self)
    }
}

/// Logs a failure the caller cannot act on.
fn log_warn(source_id: &str, what: &str, err: &DebeziumError) {
    warn!(source_id, error = %err, "debezium: {what}");
}
