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
//!   failure the rest of the batch is delivered again after `kinesis_retry_backoff_ms`.

mod wait;

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use aws_config::SdkConfig;
use cdc_core::{
    CdcError, CdcProvider, CdcStatus, EventHandler, Pausable, SchemaVersion, SnapshotReport,
    SourceConfig, SourceState, Subscribers, Subscription, TableRef,
};
use serde_json::json;

use crate::api::{
    ApiErrorKind, DmsApi, ReplicationTask, SdkDmsApi, StartType, TableToReload, TaskFilter,
};
use crate::config::DmsSource;
use crate::delivery::DeliveryState;
use crate::error::{DmsError, PROVIDER};
use crate::status::task_status;
use wait::{Until, describe, wait_for_status, wait_until_gone};

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
    /// profile, SSO, instance role), with each source's `region`, `endpoint_url` and
    /// `max_attempts` on top.
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

    async fn connect_source(&self, config: &SourceConfig) -> Result<(), DmsError> {
        let settings = DmsSource::from_config(config)?;
        let source_id = settings.source_id.clone();
        {
            let mut sources = self.lock();
            if sources.contains_key(&source_id) {
                return Err(DmsError::AlreadyConnected { source_id });
            }
            sources.insert(source_id.clone(), Slot::Connecting);
        }
        // Frees the slot if connect fails or its future is dropped half-way.
        let reservation = Reservation {
            provider: self,
            source_id: Some(source_id),
        };
        let source = self.bring_up(settings).await?;
        reservation.commit(source);
        Ok(())
    }

    /// Creates (or adopts) the task, brings it to running, starts event delivery.
    async fn bring_up(&self, settings: DmsSource) -> Result<Arc<Source>, DmsError> {
        let api = self.dms_api(&settings).await;
        let sid = settings.source_id.as_str();
        let waits = settings.waits;

        let (task, adopted) = match api.create_replication_task(settings.create.clone()).await {
            Ok(task) => (task, false),
            Err(e) if e.kind == ApiErrorKind::AlreadyExists => {
                (adopt(api.as_ref(), &settings).await?, true)
            }
            Err(e) => return Err(DmsError::api(sid, "CreateReplicationTask", e)),
        };
        let arn = task.arn.clone();
        tracing::info!(source_id = sid, task_arn = %arn, adopted, "DMS replication task");

        // DMS refuses to start a task before it is `ready` (the Go provider did not wait).
        let settled: &[&str] = if adopted {
            &["ready", "running", "starting", "stopped", "failed"]
        } else {
            &["ready"]
        };
        let task = wait_for_status(
            api.as_ref(),
            sid,
            &arn,
            Until {
                wanted: settled,
                failed: if adopted { &[] } else { &["failed"] },
                label: "ready",
                timeout: waits.ready_timeout,
                poll: waits.poll_interval,
            },
        )
        .await?;
        let start = match task.status.as_str() {
            "ready" => Some(StartType::StartReplication),
            "stopped" | "failed" => Some(StartType::ResumeProcessing),
            _ => None,
        };
        if let Some(start) = start {
            api.start_replication_task(&arn, start)
                .await
                .map_err(|e| DmsError::api(sid, "StartReplicationTask", e))?;
        }

        let delivery = Arc::new(DeliveryState::with_checkpoints(
            settings
                .kinesis
                .as_ref()
                .map(|k| k.checkpoints.clone())
                .unwrap_or_default(),
        ));
        let subscribers = Subscribers::new(sid);

        #[cfg(feature = "kinesis")]
        let consumer = match &settings.kinesis {
            Some(k) => Some(crate::kinesis::KinesisConsumer::spawn(
                crate::aws::kinesis_client(&self.sdk_base(&settings).await, &settings.aws),
                k.clone(),
                crate::record::DmsRecordDecoder::new(sid),
                subscribers.clone(),
                Arc::clone(&delivery),
            )),
            None => None,
        };

        #[cfg(feature = "cloudwatch")]
        let lag = if settings.cloudwatch_lag {
            Some(crate::lag::CloudWatchLag::new(
                crate::aws::cloudwatch_client(&self.sdk_base(&settings).await, &settings.aws),
                &arn,
            ))
        } else {
            None
        };

        Ok(Arc::new(Source {
            #[cfg(feature = "cloudwatch")]
            lag,
            api,
            task_arn: arn,
            adopted,
            paused: AtomicBool::new(false),
            subscribers,
            delivery,
            #[cfg(feature = "kinesis")]
            consumer: tokio::sync::Mutex::new(consumer),
            settings,
        }))
    }

    async fn disconnect_source(&self, source_id: &str) -> Result<(), DmsError> {
        let source = self.source(source_id)?;
        #[cfg(feature = "kinesis")]
        if let Some(consumer) = source.consumer.lock().await.take() {
            consumer.stop().await;
        }
        stop_and_delete(&source).await?;
        source.subscribers.clear();
        self.lock().remove(source_id);
        Ok(())
    }

    async fn status_of(&self, source_id: &str) -> Result<CdcStatus, DmsError> {
        let source = match self.lock().get(source_id) {
            None => return Ok(CdcStatus::not_found(source_id, PROVIDER)),
            Some(Slot::Connecting) => {
                let mut st = CdcStatus::new(source_id, PROVIDER, SourceState::Creating);
                st.details.insert("connecting".into(), json!(true));
                return Ok(st);
            }
            Some(Slot::Connected(s)) => Arc::clone(s),
        };
        let mut status = match describe(source.api.as_ref(), source_id, &source.task_arn).await? {
            Some(task) => task_status(source_id, &task, source.paused.load(Ordering::SeqCst)),
            None => {
                let mut st = CdcStatus::not_found(source_id, PROVIDER);
                st.details
                    .insert("task_arn".into(), json!(source.task_arn.clone()));
                st
            }
        };
        let delivery = source.delivery.snapshot();
        status.last_event = delivery.last_event;
        if let Some(err) = &delivery.error {
            status.error = Some(match status.error.take() {
                Some(task_err) => format!("{task_err}; delivery: {err}"),
                None => format!("delivery: {err}"),
            });
        }
        if source.settings.kinesis.is_some() {
            let d = &mut status.details;
            d.insert("kinesis_checkpoints".into(), json!(delivery.checkpoints));
            d.insert(
                "kinesis_millis_behind_latest".into(),
                json!(delivery.millis_behind),
            );
            if let Some(e) = &delivery.last_error {
                d.insert("last_delivery_error".into(), json!(e));
            }
        }
        #[cfg(feature = "cloudwatch")]
        if let Some(lag) = &source.lag {
            let d = &mut status.details;
            d.insert(
                "lag_source".into(),
                json!(format!(
                    "CloudWatch {}/{}",
                    crate::lag::NAMESPACE,
                    crate::lag::METRIC
                )),
            );
            match lag.seconds().await {
                Ok(Some(seconds)) => status.lag_seconds = Some(seconds),
                Ok(None) => {
                    d.insert(
                        "lag_error".into(),
                        json!("no CloudWatch datapoint in the last 10 minutes"),
                    );
                }
                // Lag is extra information: a CloudWatch failure must not hide the task's status.
                Err(e) => {
                    d.insert("lag_error".into(), json!(e));
                }
            }
        }
        status
            .details
            .insert("subscribers".into(), json!(source.subscribers.len()));
        Ok(status)
    }

    async fn snapshot_source(
        &self,
        source_id: &str,
        tables: &[String],
    ) -> Result<SnapshotReport, DmsError> {
        let source = self.source(source_id)?;
        let api = source.api.as_ref();
        let arn = source.task_arn.as_str();
        if tables.is_empty() {
            // Restart the whole task with reload-target: every table is loaded again.
            let task = current(&source).await?;
            match task.status.as_str() {
                "running" | "starting" => stop_and_wait(&source, &task).await?,
                "stopped" | "failed" => {}
                other => {
                    return Err(DmsError::InvalidState {
                        source_id: source_id.to_owned(),
                        message: format!(
                            "cannot reload a task in status {other:?}; it must be running or stopped"
                        ),
                    });
                }
            }
            api.start_replication_task(arn, StartType::ReloadTarget)
                .await
                .map_err(|e| DmsError::api(source_id, "StartReplicationTask", e))?;
            source.paused.store(false, Ordering::SeqCst);
            source.delivery.hold(false);
            return Ok(SnapshotReport::new(source_id, tables, "reload_target")
                .with_detail("task restarted with reload-target: every table is loaded again"));
        }

        let reload = tables_to_reload(&source.settings, tables)?;
        api.reload_tables(arn, reload)
            .await
            .map_err(|e| DmsError::api(source_id, "ReloadTables", e))?;
        Ok(SnapshotReport::new(source_id, tables, "reload_tables"))
    }

    async fn schema_history_of(
        &self,
        source_id: &str,
        table: &str,
    ) -> Result<Vec<SchemaVersion>, DmsError> {
        let source = self.source(source_id)?;
        let filter = if table.is_empty() {
            None
        } else {
            Some(TableRef::parse(table).map_err(|m| DmsError::config(source_id, "table", m))?)
        };
        let stats = source
            .api
            .describe_table_statistics(&source.task_arn)
            .await
            .map_err(|e| DmsError::api(source_id, "DescribeTableStatistics", e))?;
        let mut versions: Vec<SchemaVersion> = stats
            .into_iter()
            .filter(|s| s.ddls > 0)
            .filter(|s| {
                filter
                    .as_ref()
                    .is_none_or(|f| f.matches(Some(&s.schema_name), &s.table_name))
            })
            .filter_map(|s| {
                let Some(applied_at) = s.last_update_time else {
                    tracing::warn!(source_id, schema = %s.schema_name, table = %s.table_name,
                        "table statistics without LastUpdateTime; DDL count not reported");
                    return None;
                };
                Some(SchemaVersion {
                    table: format!("{}.{}", s.schema_name, s.table_name),
                    version: s.ddls,
                    ddl: format!(
                        "{} DDL statement(s) replicated by AWS DMS (table statistics; DMS does not expose the DDL text)",
                        s.ddls
                    ),
                    applied_at,
                    position: None,
                })
            })
            .collect();
        versions.sort_by(|a, b| a.table.cmp(&b.table));
        Ok(versions)
    }

    async fn pause_source(&self, source_id: &str) -> Result<(), DmsError> {
        let source = self.source(source_id)?;
        let was_paused = source.paused.load(Ordering::SeqCst);
        // Hold delivery first: pausing is for backpressure, the stream's backlog waits too.
        source.delivery.hold(true);
        let stopped = stop_for_pause(&source).await;
        match stopped {
            Ok(()) => source.paused.store(true, Ordering::SeqCst),
            Err(_) if !was_paused => source.delivery.hold(false),
            Err(_) => {}
        }
        stopped
    }

    async fn resume_source(&self, source_id: &str) -> Result<(), DmsError> {
        let source = self.source(source_id)?;
        let task = current(&source).await?;
        match task.status.as_str() {
            "stopped" | "failed" => {
                source
                    .api
                    .start_replication_task(&source.task_arn, StartType::ResumeProcessing)
                    .await
                    .map_err(|e| DmsError::api(source_id, "StartReplicationTask", e))?;
            }
            "running" | "starting" => {}
            other => {
                return Err(DmsError::InvalidState {
                    source_id: source_id.to_owned(),
                    message: format!("cannot resume a task in status {other:?}"),
                });
            }
        }
        source.paused.store(false, Ordering::SeqCst);
        source.delivery.hold(false);
        Ok(())
    }
}

/// A `Connecting` slot that is removed again unless committed.
struct Reservation<'a> {
    provider: &'a DmsProvider,
    source_id: Option<String>,
}

impl Reservation<'_> {
    fn commit(mut self, source: Arc<Source>) {
        if let Some(id) = self.source_id.take() {
            self.provider.lock().insert(id, Slot::Connected(source));
        }
    }
}

impl Drop for Reservation<'_> {
    fn drop(&mut self) {
        if let Some(id) = self.source_id.take() {
            self.provider.lock().remove(&id);
        }
    }
}

/// The existing task with the source's identifier, if it is the same task (same endpoints,
/// instance and migration type).
async fn adopt(api: &dyn DmsApi, settings: &DmsSource) -> Result<ReplicationTask, DmsError> {
    let sid = settings.source_id.as_str();
    let want = &settings.create;
    let tasks = api
        .describe_replication_tasks(TaskFilter::Identifier(want.identifier.clone()))
        .await
        .map_err(|e| DmsError::api(sid, "DescribeReplicationTasks", e))?;
    let Some(task) = tasks
        .into_iter()
        .find(|t| t.identifier.eq_ignore_ascii_case(&want.identifier))
    else {
        return Err(DmsError::InvalidState {
            source_id: sid.to_owned(),
            message: format!(
                "DMS says task {:?} exists but does not describe it (deleted meanwhile?); try again",
                want.identifier
            ),
        });
    };
    let mut mismatch = Vec::new();
    let mut check = |name: &str, have: Option<&str>, want: &str| {
        if have != Some(want) {
            mismatch.push(format!(
                "{name} is {:?}, the source wants {want:?}",
                have.unwrap_or("(none)")
            ));
        }
    };
    check(
        "source_endpoint_arn",
        task.source_endpoint_arn.as_deref(),
        &want.source_endpoint_arn,
    );
    check(
        "target_endpoint_arn",
        task.target_endpoint_arn.as_deref(),
        &want.target_endpoint_arn,
    );
    check(
        "replication_instance_arn",
        task.replication_instance_arn.as_deref(),
        &want.replication_instance_arn,
    );
    if let Some(m) = task.migration_type.as_deref() {
        check("migration_type", Some(m), want.migration_type.as_str());
    }
    if !mismatch.is_empty() {
        return Err(DmsError::Conflict {
            source_id: sid.to_owned(),
            identifier: want.identifier.clone(),
            mismatch: mismatch.join("; "),
        });
    }
    Ok(task)
}

/// Pause's DMS part: stop the task unless it is stopped already.
async fn stop_for_pause(source: &Source) -> Result<(), DmsError> {
    let task = current(source).await?;
    match task.status.as_str() {
        "running" | "starting" => stop_and_wait(source, &task).await,
        "stopping" => wait_stopped(source).await.map(drop),
        "stopped" => Ok(()),
        other => Err(DmsError::InvalidState {
            source_id: source.settings.source_id.clone(),
            message: format!("cannot pause a task in status {other:?}"),
        }),
    }
}

/// The task now; gone is an error here.
async fn current(source: &Source) -> Result<ReplicationTask, DmsError> {
    let sid = source.settings.source_id.as_str();
    describe(source.api.as_ref(), sid, &source.task_arn)
        .await?
        .ok_or_else(|| DmsError::TaskNotFound {
            source_id: sid.to_owned(),
            task: source.task_arn.clone(),
        })
}

/// Stops a running (or starting) task and waits until it is stopped.
async fn stop_and_wait(source: &Source, task: &ReplicationTask) -> Result<(), DmsError> {
    let sid = source.settings.source_id.as_str();
    if task.status == "starting" {
        // DMS refuses to stop a task that is still starting: let it get going first.
        let waits = source.settings.waits;
        let task = wait_for_status(
            source.api.as_ref(),
            sid,
            &source.task_arn,
            Until {
                wanted: &["running", "stopped", "failed"],
                failed: &[],
                label: "running",
                timeout: waits.ready_timeout,
                poll: waits.poll_interval,
            },
        )
        .await?;
        if task.status != "running" {
            return Ok(());
        }
    }
    match source.api.stop_replication_task(&source.task_arn).await {
        Ok(_) => {}
        // Stopped meanwhile (it finished a full load, or someone else stopped it).
        Err(e) if e.kind == ApiErrorKind::InvalidState => {
            tracing::debug!(source_id = sid, %e, "stop refused; waiting for stopped anyway");
        }
        Err(e) => return Err(DmsError::api(sid, "StopReplicationTask", e)),
    }
    wait_stopped(source).await.map(drop)
}

async fn wait_stopped(source: &Source) -> Result<ReplicationTask, DmsError> {
    let waits = source.settings.waits;
    wait_for_status(
        source.api.as_ref(),
        &source.settings.source_id,
        &source.task_arn,
        Until {
            wanted: &["stopped", "failed"],
            failed: &[],
            label: "stopped",
            timeout: waits.stop_timeout,
            poll: waits.poll_interval,
        },
    )
    .await
}

/// Disconnect's DMS part: stop if running, delete, wait until gone. Gone already is fine.
async fn stop_and_delete(source: &Source) -> Result<(), DmsError> {
    let sid = source.settings.source_id.as_str();
    let api = source.api.as_ref();
    let Some(task) = describe(api, sid, &source.task_arn).await? else {
        return Ok(());
    };
    let stopped = match task.status.as_str() {
        "running" | "starting" => stop_and_wait(source, &task).await,
        "stopping" => wait_stopped(source).await.map(drop),
        _ => Ok(()),
    };
    match stopped {
        Err(DmsError::TaskNotFound { .. }) => return Ok(()),
        other => other?,
    }
    match api.delete_replication_task(&source.task_arn).await {
        Ok(_) => {}
        Err(e) if e.is_not_found() => return Ok(()),
        Err(e) => return Err(DmsError::api(sid, "DeleteReplicationTask", e)),
    }
    let waits = source.settings.waits;
    wait_until_gone(
        api,
        sid,
        &source.task_arn,
        waits.stop_timeout,
        waits.poll_interval,
    )
    .await
}

/// The tables of a snapshot request as `ReloadTables` wants them: each with its schema (a
/// bare name takes the schema of the configured table of that name), each captured by the
/// source.
fn tables_to_reload(
    settings: &DmsSource,
    tables: &[String],
) -> Result<Vec<TableToReload>, DmsError> {
    let sid = settings.source_id.as_str();
    let mut out = Vec::with_capacity(tables.len());
    for (i, raw) in tables.iter().enumerate() {
        let field = format!("tables[{i}]");
        let t = TableRef::parse(raw).map_err(|m| DmsError::config(sid, &field, m))?;
        crate::config::check_table_name(&t).map_err(|m| DmsError::config(sid, &field, m))?;
        let schema = match &t.schema {
            Some(s) => s.clone(),
            None => {
                let mut schemas = settings
                    .tables
                    .iter()
                    .filter(|c| c.name == t.name)
                    .filter_map(|c| c.schema.clone());
                match (schemas.next(), schemas.next()) {
                    (Some(s), None) => s,
                    _ => {
                        return Err(DmsError::config(
                            sid,
                            &field,
                            format!(
                                "{raw:?} has no schema; ReloadTables needs schema.table (e.g. public.{raw})"
                            ),
                        ));
                    }
                }
            }
        };
        let captured = settings.tables.is_empty()
            || settings
                .tables
                .iter()
                .any(|c| c.matches(Some(&schema), &t.name));
        if !captured {
            return Err(DmsError::config(
                sid,
                &field,
                format!("{schema}.{} is not among the source's tables", t.name),
            ));
        }
        out.push(TableToReload {
            schema_name: schema,
            table_name: t.name.clone(),
        });
    }
    Ok(out)
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
