//! [`DebeziumProvider`]: Debezium connectors on Kafka Connect behind [`CdcProvider`].
//!
//! - `connect` renders the connector config and applies it with the idempotent
//!   `PUT /connectors/{n}/config` (a reconnect after a crash just re-applies it);
//! - `disconnect` deletes the connector (a 404 means already gone: logged, not an error);
//! - `status` maps the connector and task states (see [`status_map::map_status`]);
//! - `snapshot` re-snapshots everything (stop → reset offsets → resume) or, with tables,
//!   writes an incremental `execute-snapshot` signal;
//! - `pause` / `resume` / [`DebeziumProvider::stop`] go through the REST API;
//! - [`DebeziumProvider::deliver`] takes records from a transport (a Kafka consumer, a test),
//!   decodes them and fans them out to the subscribers, in order per source.

mod deliver;
mod snapshot;
pub mod status_map;

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use async_trait::async_trait;
use cdc_core::{
    CdcError, CdcProvider, CdcStatus, EventHandler, Pausable, SchemaVersion, SnapshotReport,
    SourceConfig, Subscribers, Subscription,
};
use time::OffsetDateTime;
use tracing::{info, warn};

use crate::config::{ConnectorSpec, DatabaseKind, DebeziumSource, OnStop};
use crate::connect::{ClientOptions, KafkaConnectClient, RestartOptions, RestartOutcome};
use crate::decode::Decoder;
use crate::error::{DebeziumError, PROVIDER};

pub use deliver::{BatchOutcome, DeliveryOutcome, RawRecord};

/// One connected source.
struct Entry {
    source: DebeziumSource,
    client: KafkaConnectClient,
    /// Decoder and ordering: one delivery at a time per source.
    stream: tokio::sync::Mutex<Decoder>,
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
    /// `<prefix>` (schema changes), `__debezium-heartbeat.<prefix>`. Longest prefix wins.
    pub fn source_for_topic(&self, topic: &str) -> Option<String> {
        let topic = topic
            .strip_prefix(crate::decode::HEARTBEAT_TOPIC_PREFIX)
            .and_then(|t| t.strip_prefix('.'))
            .unwrap_or(topic);
        read(&self.inner.sources)
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
        let sid = config.source_id.as_str();
        let source = DebeziumSource::from_config(config).map_err(|e| e.into_cdc(sid))?;
        let opts = &source.options;
        let client = KafkaConnectClient::new(ClientOptions {
            base_url: source.connect_url.clone(),
            auth: opts.auth.clone(),
            tls: opts.tls.clone(),
            timeout: opts
                .request_timeout_ms
                .map(Duration::from_millis)
                .unwrap_or(crate::connect::DEFAULT_TIMEOUT),
            retry: opts.retry.clone(),
        })
        .map_err(|e| e.into_cdc(sid))?;
        #[cfg(not(feature = "kafka"))]
        if source.options.kafka.is_some() {
            return Err(CdcError::Unsupported {
                source_id: sid.to_owned(),
                provider: PROVIDER.to_owned(),
                operation: "options.kafka (consume the connector's topics)".into(),
                reason: "this build of cdc-debezium has no `kafka` feature".into(),
            });
        }
        // The signaling table must exist before the connector builds its publication.
        if let Some(signal) = &opts.signal {
            crate::signal::prepare_table(sid, source.kind, signal, opts.database.as_ref())
                .await
                .map_err(|e| e.into_cdc(sid))?;
        }
        let spec = &source.connector;
        let applied = client
            .put_config(&spec.name, &spec.config)
            .await
            .map_err(|e| e.into_cdc(sid))?;
        info!(
            source_id = sid,
            connector = spec.name,
            created = applied.created,
            "debezium: connector config applied"
        );
        let placeholder = opts
            .unavailable_value_placeholder
            .clone()
            .unwrap_or_else(|| crate::decode::DEFAULT_UNAVAILABLE_PLACEHOLDER.to_owned());
        let entry = Arc::new(Entry {
            client,
            stream: tokio::sync::Mutex::new(Decoder::with_placeholder(sid, &placeholder)),
            last: Mutex::new(LastDelivery::default()),
            history: Mutex::new(BTreeMap::new()),
            mode_restore: Mutex::new(None),
            #[cfg(feature = "kafka")]
            transport: Mutex::new(None),
            source,
        });
        // A reconnect replaces the entry but keeps the schema history seen so far; its
        // consumer commits and stops first (one consumer per source).
        let old = read(&self.inner.sources).get(sid).cloned();
        if let Some(old) = old {
            *lock(&entry.history) = lock(&old.history).clone();
            #[cfg(feature = "kafka")]
            {
                let running = lock(&old.transport).take();
                if let Some(t) = running {
                    t.stop().await;
                }
            }
        }
        write(&self.inner.sources).insert(sid.to_owned(), Arc::clone(&entry));
        #[cfg(feature = "kafka")]
        if entry.source.options.kafka.is_some() {
            let started = self.start_transport(&entry).await;
            match started {
                Ok(t) => *lock(&entry.transport) = Some(Arc::new(t)),
                Err(e) => {
                    write(&self.inner.sources).remove(sid);
                    return Err(e.into_cdc(sid));
                }
            }
        }
        Ok(())
    }

    async fn disconnect(&self, source_id: &str) -> Result<(), CdcError> {
        let e = self.entry(source_id)?;
        // The consumer first: it commits what every handler took, then leaves its group.
        #[cfg(feature = "kafka")]
        {
            let running = lock(&e.transport).take();
            if let Some(t) = running {
                t.stop().await;
            }
        }
        let name = &e.source.connector.name;
        let on_stop = e.source.options.on_stop();
        let done = match on_stop {
            OnStop::Keep => {
                info!(
                    source_id,
                    connector = name,
                    "debezium: connector left running (options.on_stop: keep)"
                );
                Ok(())
            }
            OnStop::Pause => e.client.pause(name).await,
            OnStop::Stop => e.client.stop(name).await,
            OnStop::Delete => match e.client.delete(name).await {
                Ok(()) => {
                    info!(
                        source_id,
                        connector = name,
                        leaves = %what_delete_leaves(&e.source),
                        "debezium: connector deleted"
                    );
                    Ok(())
                }
                // Only Connect's own "Connector x not found" means it is gone.
                Err(err) if err.is_not_found() => {
                    info!(
                        source_id,
                        connector = name,
                        "debezium: connector was already gone"
                    );
                    Ok(())
                }
                Err(err) => Err(err),
            },
        };
        // The connector may still exist (a 404 that names no connector comes from a worker
        // that is starting): keep the source so disconnect can be retried.
        done.map_err(|err| err.into_cdc(source_id))?;
        write(&self.inner.sources).remove(source_id);
        Ok(())
    }

    async fn status(&self, source_id: &str) -> Result<CdcStatus, CdcError> {
        // An unknown source is a status, not an error (the trait's contract).
        let Ok(e) = self.entry(source_id) else {
            return Ok(CdcStatus::not_found(source_id, PROVIDER));
        };
        let mut st = match e.client.status(&e.source.connector.name).await {
            Ok(s) => status_map::map_status(source_id, &s),
            Err(err) if err.is_not_found() => {
                not_found_status(source_id, &e.client, &e.source.connector.name).await
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
        #[cfg(feature = "kafka")]
        if let Some(t) = e.transport() {
            transport_status(&mut st, &t.status());
        }
        let last = *lock(&e.last);
        st.last_event = last.at;
        st.lag_seconds = last.committed_at.map(deliver::lag_since);
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

#[async_trait]
impl Pausable for DebeziumProvider {
    /// Holds delivery at once (the consumer's partitions paused; no batch is being
    /// delivered when this returns), then pauses the connector unless
    /// `options.kafka.pause_connector: false`. Without a transport: the connector.
    async fn pause(&self, source_id: &str) -> Result<(), CdcError> {
        let e = self.entry(source_id)?;
        #[cfg(feature = "kafka")]
        if let Some(t) = e.transport() {
            t.pause().await;
            if !t.pauses_connector() {
                return Ok(());
            }
        }
        e.client
            .pause(&e.source.connector.name)
            .await
            .map_err(|err| err.into_cdc(source_id))
    }

    /// Resumes the connector (when `pause` paused it), then delivery, from the first record
    /// not yet committed.
    async fn resume(&self, source_id: &str) -> Result<(), CdcError> {
        let e = self.entry(source_id)?;
        #[cfg(feature = "kafka")]
        if let Some(t) = e.transport() {
            if t.resumes_connector() {
                e.client
                    .resume(&e.source.connector.name)
                    .await
                    .map_err(|err| err.into_cdc(source_id))?;
            }
            t.resume();
            return Ok(());
        }
        e.client
            .resume(&e.source.connector.name)
            .await
            .map_err(|err| err.into_cdc(source_id))
    }
}

#[cfg(feature = "kafka")]
impl DebeziumProvider {
    /// Starts the consumer of a connected source: its topics are `options.kafka.topics`, or
    /// the tables' (regex on `topic.prefix`) plus those Kafka Connect lists for the
    /// connector (best effort: an old cluster has no `/topics`).
    async fn start_transport(
        &self,
        entry: &Entry,
    ) -> Result<crate::kafka::Transport, DebeziumError> {
        let src = &entry.source;
        let known = if src
            .options
            .kafka
            .as_ref()
            .is_some_and(|k| k.topics.is_none())
        {
            entry
                .client
                .topics(&src.connector.name)
                .await
                .unwrap_or_default()
        } else {
            Vec::new()
        };
        let sub = crate::kafka::subscription(src, &known);
        info!(source_id = src.source_id, topics = ?sub.patterns, "debezium: starting the kafka consumer");
        crate::kafka::Transport::start(self.downgrade(), src, sub, src.options.start_paused)
    }
}

/// What the consumer adds to a status: `details.kafka`, and an error when delivery fails
/// (state `error`), the brokers cannot be reached, or the tables' topics do not exist.
#[cfg(feature = "kafka")]
fn transport_status(st: &mut CdcStatus, t: &crate::kafka::TransportStatus) {
    st.details.insert("kafka".into(), t.details.clone());
    if let Some(err) = &t.delivery_error {
        st.state = cdc_core::SourceState::Error;
        st.error = Some(format!(
            "delivery failing, retried with backoff, nothing skipped or committed past it: {err}"
        ));
    } else {
        let consumer = if let Some(err) = &t.broker_error {
            Some(format!("kafka consumer: {err}"))
        } else if !t.missing_topics.is_empty() {
            Some(format!(
                "topics {:?} do not exist on the brokers (yet): nothing is written to them; without broker auto-creation the connector needs topic.creation.default.* (rendered by default)",
                t.missing_topics
            ))
        } else {
            None
        };
        st.error = match (st.error.take(), consumer) {
            (Some(a), Some(b)) => Some(format!("{a}; {b}")),
            (a, b) => a.or(b),
        };
    }
}

/// What a deleted connector leaves behind, for the log: the database keeps the replication
/// slot (holding WAL until dropped) and the publication; the worker keeps the offsets (a
/// connector created again under the same name resumes from them, without a new snapshot).
fn what_delete_leaves(source: &DebeziumSource) -> String {
    let cfg = &source.connector.config;
    let get = |k: &str| cfg.get(k).map(String::as_str).unwrap_or("?");
    match source.kind {
        DatabaseKind::Postgres => format!(
            "replication slot {:?} (holds WAL until dropped: SELECT pg_drop_replication_slot('{}')) and publication {:?} stay on the database; the worker keeps the connector's offsets",
            get("slot.name"),
            get("slot.name"),
            get("publication.name")
        ),
        _ => "the worker keeps the connector's offsets (and the schema history topic stays)".into(),
    }
}

/// The status of a connector whose status path says "not found". Right after a create the
/// status topic has not caught up yet (about 0.3 s on a live worker), so the connector
/// itself is asked: it exists → `starting`; Connect names it as missing → `not_found`.
async fn not_found_status(source_id: &str, client: &KafkaConnectClient, name: &str) -> CdcStatus {
    match client.get(name).await {
        Ok(_) => {
            let mut st = CdcStatus::new(source_id, PROVIDER, cdc_core::SourceState::Starting);
            st.details.insert("connector".into(), name.into());
            st.details.insert(
                "note".into(),
                "the connector exists but has no status yet (the status topic lags behind a create)"
                    .into(),
            );
            st
        }
        Err(err) if err.is_not_found() => {
            let mut st = CdcStatus::not_found(source_id, PROVIDER);
            st.error = Some(format!(
                "connector {name:?} does not exist at Kafka Connect"
            ));
            st
        }
        Err(err) => {
            let mut st = CdcStatus::new(source_id, PROVIDER, cdc_core::SourceState::Unknown);
            st.error = Some(format!(
                "cannot tell whether connector {name:?} exists: {err}"
            ));
            st
        }
    }
}

/// Logs a failure the caller cannot act on.
fn log_warn(source_id: &str, what: &str, err: &DebeziumError) {
    warn!(source_id, error = %err, "debezium: {what}");
}
