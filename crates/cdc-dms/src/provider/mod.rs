//! [`DmsProvider`]: AWS DMS replication tasks as cdc-rs sources.
//!
//! One provider value runs many sources; each source is one replication task whose identifier
//! is derived from the `source_id` (see [`crate::config::task_identifier`]).
//!
//! - `connect` creates the task (table mappings from `tables`), waits until it is `ready`, and
//!   starts it with `start-replication`. When the identifier is taken, the existing task is
//!   adopted if its endpoints and instance match (and started or resumed as its status needs),
//!   else connect fails naming what differs. The ARN DMS returns is used from then on. A task
//!   created by a connect that failed later (not ready in time, start refused) stays at DMS;
//!   the next connect of the source adopts it.
//! - `disconnect` stops the task if it runs, waits until it is stopped, deletes it and waits
//!   until it is gone; a task already gone is not an error.
//! - `pause` stops the task (and waits) and holds event delivery; `resume` starts it with
//!   `resume-processing` and releases delivery.
//! - `snapshot` without tables stops the task and restarts it with `reload-target`; with
//!   tables it calls `ReloadTables` for exactly those tables (task keeps running).
//! - `schema_history` reports DDL counts from `DescribeTableStatistics`, as the Go provider
//!   did: one entry per table with DDLs, `version` = the number of DDLs DMS replicated,
//!   `applied_at` = the statistics' `LastUpdateTime`. DMS does not expose DDL text.
//! - Lag: DMS publishes it only as the CloudWatch metric `CDCLatencySource`. With the
//!   `cloudwatch` feature and `options.cloudwatch_lag: true`, `status` reads it into
//!   `lag_seconds` (see `cdc_dms::lag`); otherwise `lag_seconds` is `None`, never a made-up 0.
//! - Events: with the `kinesis` feature and `options.kinesis_stream_arn`, the task's Kinesis
//!   target stream is read and its records delivered to subscribers, in order per shard. The
//!   checkpoint of a shard moves only past records every handler succeeded on; after a
//!   failure the rest of the batch is delivered again after `kinesis_retry_backoff_ms`. A
//!   shard whose loop stops early is reported in `status` (`details.kinesis_shards_down`)
//!   until it is read again from its checkpoint.
//!
//! Files: `lifecycle` (connect, adopt, disconnect), `pause`, `snapshot`, `report` (status and
//! schema history), `task_control` (stopping a task and waiting for it), `wait` (polling).

mod lifecycle;
mod pause;
mod report;
mod snapshot;
mod task_control;
mod wait;

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use aws_config::SdkConfig;
use cdc_core::{
    CdcError, CdcProvider, CdcStatus, EventHandler, Pausable, SchemaVersion, SnapshotReport,
    SourceConfig, Subscribers, Subscription,
};

use crate::api::{DmsApi, SdkDmsApi};
use crate::config::DmsSource;
use crate::delivery::DeliveryState;
use crate::error::{DmsError, PROVIDER};

/// Where the provider gets its AWS clients.
#[derive(Clone)]
enum Clients {
    /// The `aws-config` default chain, loaded per source with its options.
    DefaultChain,
    /// A given SDK config, with each source's options on top.
    Sdk(SdkConfig),
    /// A given [`DmsApi`] for every source (tests, custom clients); Kinesis clients from the
    /// SDK config when one is given, else from the default chain.
    Api {
        dms: Arc<dyn DmsApi>,
        #[cfg_attr(not(feature = "kinesis"), allow(dead_code))]
        sdk: Option<SdkConfig>,
    },
}

/// AWS DMS as a [`CdcProvider`] with [`Pausable`]. See the [module docs](self).
#[derive(Clone)]
pub struct DmsProvider {
    inner: Arc<Inner>,
}

struct Inner {
    clients: Clients,
    sources: Mutex<HashMap<String, Slot>>,
}

enum Slot {
    /// `connect` is running for this source.
    Connecting,
    Connected(Arc<Source>),
}

/// A connected source.
struct Source {
    settings: DmsSource,
    api: Arc<dyn DmsApi>,
    task_arn: String,
    adopted: bool,
    paused: AtomicBool,
    subscribers: Subscribers,
    delivery: Arc<DeliveryState>,
    #[cfg(feature = "kinesis")]
    consumer: tokio::sync::Mutex<Option<crate::kinesis::KinesisConsumer>>,
    #[cfg(feature = "cloudwatch")]
    lag: Option<crate::lag::CloudWatchLag>,
}

impl std::fmt::Debug for DmsProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let sources: Vec<String> = self.lock().keys().cloned().collect();
        f.debug_struct("DmsProvider")
            .field("sources", &sources)
            .finish_non_exhaustive()
    }
}

impl Default for DmsProvider {
    fn default() -> Self {
        Self::new()
    }
}

impl DmsProvider {
    /// A provider whose clients come from the `aws-config` default chain (environment,
    /// profile, SSO, instance role), with each source's `region`, `endpoint_url`,
    /// `max_attempts` and `request_timeout_ms` on top.
    pub fn new() -> Self {
        Self::with_clients(Clients::DefaultChain)
    }

    /// A provider whose clients are built from `config` (credentials, region, retries,
    /// endpoint), with each source's options on top.
    pub fn from_sdk_config(config: SdkConfig) -> Self {
        Self::with_clients(Clients::Sdk(config))
    }

    /// A provider making every DMS call through `api` (a `MockDmsApi` in tests, a
    /// [`SdkDmsApi`] over a client you built). Kinesis clients, when a source needs one, come
    /// from the default chain; see [`DmsProvider::with_api_and_sdk_config`].
    pub fn with_api(api: Arc<dyn DmsApi>) -> Self {
        Self::with_clients(Clients::Api {
            dms: api,
            sdk: None,
        })
    }

    /// Like [`DmsProvider::with_api`], with Kinesis clients built from `config`.
    pub fn with_api_and_sdk_config(api: Arc<dyn DmsApi>, config: SdkConfig) -> Self {
        Self::with_clients(Clients::Api {
            dms: api,
            sdk: Some(config),
        })
    }

    fn with_clients(clients: Clients) -> Self {
        Self {
            inner: Arc::new(Inner {
                clients,
                sources: Mutex::new(HashMap::new()),
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Slot>> {
        self.inner.sources.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn source(&self, source_id: &str) -> Result<Arc<Source>, DmsError> {
        match self.lock().get(source_id) {
            Some(Slot::Connected(s)) => Ok(Arc::clone(s)),
            Some(Slot::Connecting) => Err(DmsError::InvalidState {
                source_id: source_id.to_owned(),
                message: "connect is still in progress".into(),
            }),
            None => Err(DmsError::NotConnected {
                source_id: source_id.to_owned(),
            }),
        }
    }

    /// The ARN of a connected source's replication task.
    pub fn task_arn(&self, source_id: &str) -> Result<String, CdcError> {
        Ok(self.source(source_id)?.task_arn.clone())
    }

    /// Whether `connect` adopted an existing task instead of creating one.
    pub fn adopted(&self, source_id: &str) -> Result<bool, CdcError> {
        Ok(self.source(source_id)?.adopted)
    }

    /// The Kinesis checkpoints of a source: shard id → sequence number of the last record
    /// every handler succeeded on. Pass them as `options.kinesis_checkpoints` to resume there.
    pub fn checkpoints(&self, source_id: &str) -> Result<BTreeMap<String, String>, CdcError> {
        Ok(self.source(source_id)?.delivery.snapshot().checkpoints)
    }

    async fn dms_api(&self, settings: &DmsSource) -> Arc<dyn DmsApi> {
        match &self.inner.clients {
            Clients::Api { dms, .. } => Arc::clone(dms),
            Clients::Sdk(base) => {
                Arc::new(SdkDmsApi::new(crate::aws::dms_client(base, &settings.aws)))
            }
            Clients::DefaultChain => {
                let base = crate::aws::load_sdk_config(&settings.aws).await;
                Arc::new(SdkDmsApi::new(crate::aws::dms_client(&base, &settings.aws)))
            }
        }
    }

    /// The SDK config other AWS clients (Kinesis, CloudWatch) are built from.
    #[cfg(any(feature = "kinesis", feature = "cloudwatch"))]
    async fn sdk_base(&self, settings: &DmsSource) -> SdkConfig {
        match &self.inner.clients {
            Clients::Sdk(base)
            | Clients::Api {
                sdk: Some(base), ..
            } => base.clone(),
            Clients::DefaultChain | Clients::Api { sdk: None, .. } => {
                crate::aws::load_sdk_config(&settings.aws).await
            }
        }
    }
}

#[async_trait]
impl CdcProvider for DmsProvider {
    fn name(&self) -> &str {
        PROVIDER
    }

    async fn connect(&self, config: &SourceConfig) -> cdc_core::Result<()> {
        Ok(self.connect_source(config).await?)
    }

    async fn disconnect(&self, source_id: &str) -> cdc_core::Result<()> {
        Ok(self.disconnect_source(source_id).await?)
    }

    async fn status(&self, source_id: &str) -> cdc_core::Result<CdcStatus> {
        Ok(self.status_of(source_id).await?)
    }

    async fn snapshot(
        &self,
        source_id: &str,
        tables: &[String],
    ) -> cdc_core::Result<SnapshotReport> {
        Ok(self.snapshot_source(source_id, tables).await?)
    }

    async fn schema_history(
        &self,
        source_id: &str,
        table: &str,
    ) -> cdc_core::Result<Vec<SchemaVersion>> {
        Ok(self.schema_history_of(source_id, table).await?)
    }

    fn subscribe(
        &self,
        source_id: &str,
        handler: Arc<dyn EventHandler>,
    ) -> cdc_core::Result<Subscription> {
        Ok(self.source(source_id)?.subscribers.subscribe(handler))
    }

    fn pausable(&self) -> Option<&dyn Pausable> {
        Some(self)
    }
}

#[async_trait]
impl Pausable for DmsProvider {
    async fn pause(&self, source_id: &str) -> cdc_core::Result<()> {
        Ok(self.pause_source(source_id).await?)
    }

    async fn resume(&self, source_id: &str) -> cdc_core::Result<()> {
        Ok(self.resume_source(source_id).await?)
    }
}
