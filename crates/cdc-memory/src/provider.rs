//! [`MemoryProvider`]: the provider and its test-facing API (inject, set_lag, ...).

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, RwLock};

use async_trait::async_trait;
use cdc_core::{
    CdcError, CdcProvider, CdcStatus, ChangeEvent, EventHandler, Pausable, Result, SchemaVersion,
    SharedEvent, SnapshotReport, SourceConfig, SourceState, Subscribers, Subscription, TableRef,
};
use serde_json::{Value, json};
use time::OffsetDateTime;
use tokio::sync::{mpsc, watch};

use crate::options::MemoryOptions;
use crate::source::{Counters, MemorySource, Observed, TaskCounter, deliver_loop};

/// The provider name.
pub const PROVIDER_NAME: &str = "memory";

/// An in-process provider. Cheap to share behind an `Arc`; one value runs many sources.
#[derive(Default)]
pub struct MemoryProvider {
    sources: RwLock<HashMap<String, Arc<MemorySource>>>,
    tasks: TaskCounter,
}

impl std::fmt::Debug for MemoryProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ids: Vec<String> = self.read().keys().cloned().collect();
        f.debug_struct("MemoryProvider")
            .field("sources", &ids)
            .finish()
    }
}

impl MemoryProvider {
    /// A provider with no source.
    pub fn new() -> Self {
        Self::default()
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, HashMap<String, Arc<MemorySource>>> {
        self.sources.read().unwrap_or_else(|p| p.into_inner())
    }

    fn source(&self, source_id: &str) -> Result<Arc<MemorySource>> {
        self.read()
            .get(source_id)
            .cloned()
            .ok_or_else(|| CdcError::not_found(source_id, PROVIDER_NAME))
    }

    /// Injects an event, waiting while the buffer is full. The event's `source_id` is set to
    /// `source_id`.
    pub async fn inject(&self, source_id: &str, mut event: ChangeEvent) -> Result<()> {
        let source = self.source(source_id)?;
        if event.source_id != source_id {
            event.source_id = source_id.into();
        }
        source.counters.injected.fetch_add(1, Ordering::SeqCst);
        if source.tx.send(Arc::new(event)).await.is_err() {
            source.counters.injected.fetch_sub(1, Ordering::SeqCst);
            return Err(CdcError::not_found(source_id, PROVIDER_NAME));
        }
        Ok(())
    }

    /// Injects an already shared event, waiting while the buffer is full. An event whose
    /// `source_id` differs is copied once to correct it.
    pub async fn inject_shared(&self, source_id: &str, event: SharedEvent) -> Result<()> {
        self.sender(source_id)?.send(event).await
    }

    /// A handle that injects into one source without looking it up per event: the fast path
    /// for producers of many events. It fails once the source is disconnected.
    pub fn sender(&self, source_id: &str) -> Result<MemorySender> {
        let source = self.source(source_id)?;
        Ok(MemorySender {
            source_id: source.config.source_id.as_str().into(),
            tx: source.tx.clone(),
            counters: Arc::clone(&source.counters),
        })
    }

    /// Injects an event without waiting: a full buffer is a [`CdcError::BufferFull`].
    pub fn try_inject(&self, source_id: &str, mut event: ChangeEvent) -> Result<()> {
        let source = self.source(source_id)?;
        if event.source_id != source_id {
            event.source_id = source_id.into();
        }
        match source.tx.try_send(Arc::new(event)) {
            Ok(()) => {
                source.counters.injected.fetch_add(1, Ordering::SeqCst);
                Ok(())
            }
            Err(mpsc::error::TrySendError::Full(_)) => Err(CdcError::BufferFull {
                source_id: source_id.to_owned(),
                provider: PROVIDER_NAME.into(),
                capacity: source.capacity,
            }),
            Err(mpsc::error::TrySendError::Closed(_)) => {
                Err(CdcError::not_found(source_id, PROVIDER_NAME))
            }
        }
    }

    /// Injects a Go-style event map (`{"op": "INSERT", "table": "public.orders", "after":
    /// {...}}`; `action` for `op`, `source` for `table`), as the Go tests did. A map that
    /// cannot be converted is an error saying why.
    pub async fn inject_json(&self, source_id: &str, event: &Value) -> Result<()> {
        let event = ChangeEvent::from_go_json(source_id, event)?;
        self.inject(source_id, event).await
    }

    /// Alias of [`MemoryProvider::inject_json`] with the Go name.
    pub async fn inject_event(&self, source_id: &str, event: &Value) -> Result<()> {
        self.inject_json(source_id, event).await
    }

    /// Sets the simulated lag reported in the status (for backpressure tests).
    pub fn set_lag(&self, source_id: &str, lag_bytes: i64, lag_seconds: i64) -> Result<()> {
        let source = self.source(source_id)?;
        let mut obs = source.observed();
        obs.lag_bytes = Some(lag_bytes);
        obs.lag_seconds = Some(lag_seconds);
        Ok(())
    }

    /// Records a schema change (for schema history tests).
    pub fn add_schema_version(&self, source_id: &str, version: SchemaVersion) -> Result<()> {
        let source = self.source(source_id)?;
        source.observed().schema_history.push(version);
        Ok(())
    }

    /// Waits until every event injected so far (and the whole `events_file`, if any) has
    /// been handed to the subscribers. Fails if the source goes away.
    pub async fn wait_idle(&self, source_id: &str) -> Result<()> {
        self.wait_for(source_id, |c| {
            !c.input_running.load(Ordering::SeqCst)
                && c.processed.load(Ordering::SeqCst) >= c.injected.load(Ordering::SeqCst)
        })
        .await
    }

    /// Resolves once `done` holds for the source's counters (looked at after every batch and
    /// when the input ends); fails if the source goes away first.
    async fn wait_for(&self, source_id: &str, done: impl Fn(&Counters) -> bool) -> Result<()> {
        let source = self.source(source_id)?;
        let counters: &Counters = &source.counters;
        loop {
            let notified = counters.progress.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if done(counters) {
                return Ok(());
            }
            if *source.shutdown.borrow() {
                return Err(CdcError::not_found(source_id, PROVIDER_NAME));
            }
            notified.await;
        }
    }

    /// Stops reading the source's `events_file` (or stdin) after the line being read; the
    /// events already read are still delivered. For a graceful stop: close the input, then
    /// [`MemoryProvider::wait_idle`], then disconnect, and no event read is lost.
    pub fn close_input(&self, source_id: &str) -> Result<()> {
        self.source(source_id)?.input_stop.send_replace(true);
        Ok(())
    }

    /// Resolves when the source's `events_file` (or stdin) has been read to its end (or
    /// could not be read further); at once for a source without one. Events read may still
    /// be buffered: see [`MemoryProvider::drain`].
    pub async fn wait_input_end(&self, source_id: &str) -> Result<()> {
        self.wait_for(source_id, |c| !c.input_running.load(Ordering::SeqCst))
            .await
    }

    /// The graceful stop of a source: stops reading its input after the line being read,
    /// then delivers everything already read, even while the source is paused (it is
    /// stopping: a pause no longer holds what it has read), and resolves once all of it has
    /// been handed to the subscribers. Then disconnect, and no event read is lost.
    pub async fn drain(&self, source_id: &str) -> Result<()> {
        let source = self.source(source_id)?;
        source.input_stop.send_replace(true);
        source.draining.send_replace(true);
        self.wait_idle(source_id).await
    }

    /// Lines of the `events_file` (or stdin) skipped so far: not JSON, not an event, not
    /// UTF-8, or longer than `max_line_bytes`. Each was reported with its line number.
    pub fn skipped_lines(&self, source_id: &str) -> Result<u64> {
        Ok(self
            .source(source_id)?
            .counters
            .skipped
            .load(Ordering::SeqCst))
    }

    /// Delivery and input tasks still running, over all sources (0 once all are disconnected).
    pub fn running_tasks(&self) -> usize {
        self.tasks.get()
    }

    /// The ids of the connected sources.
    pub fn source_ids(&self) -> Vec<String> {
        let mut ids: Vec<String> = self.read().keys().cloned().collect();
        ids.sort();
        ids
    }
}

#[async_trait]
impl CdcProvider for MemoryProvider {
    fn name(&self) -> &str {
        PROVIDER_NAME
    }

    async fn connect(&self, config: &SourceConfig) -> Result<()> {
        config.validate()?;
        let options = MemoryOptions::from_config(config)?;
        let id = config.source_id.clone();
        let (tx, rx) = mpsc::channel(options.capacity);
        let source = Arc::new(MemorySource {
            config: config.clone(),
            capacity: options.capacity,
            subscribers: Subscribers::new(id.clone()),
            tx,
            paused: watch::Sender::new(options.start_paused),
            shutdown: watch::Sender::new(false),
            input_stop: watch::Sender::new(false),
            draining: watch::Sender::new(false),
            observed: Mutex::new(Observed::default()),
            counters: Arc::default(),
            tasks: Mutex::new(Vec::new()),
        });
        {
            let mut map = self.sources.write().unwrap_or_else(|p| p.into_inner());
            if map.contains_key(&id) {
                return Err(CdcError::already_exists(&id, PROVIDER_NAME));
            }
            map.insert(id.clone(), Arc::clone(&source));
        }
        let mut tasks = Vec::new();
        tasks.push(tokio::spawn(deliver_loop(
            Arc::clone(&source),
            rx,
            source.paused.subscribe(),
            source.draining.subscribe(),
            source.shutdown.subscribe(),
            self.tasks.enter(),
        )));
        if let Some(path) = options.events_file {
            source.counters.input_running.store(true, Ordering::SeqCst);
            tasks.push(tokio::spawn(crate::input::read_events(
                Arc::clone(&source),
                path,
                options.max_line_bytes,
                source.input_stop.subscribe(),
                self.tasks.enter(),
            )));
        }
        *source.tasks.lock().unwrap_or_else(|p| p.into_inner()) = tasks;
        tracing::debug!(source_id = %id, capacity = options.capacity, "memory source connected");
        Ok(())
    }

    async fn disconnect(&self, source_id: &str) -> Result<()> {
        let source = self
            .sources
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .remove(source_id)
            .ok_or_else(|| CdcError::not_found(source_id, PROVIDER_NAME))?;
        source.input_stop.send_replace(true);
        source.shutdown.send_replace(true);
        source.counters.progress.notify_waiters();
        let tasks = std::mem::take(&mut *source.tasks.lock().unwrap_or_else(|p| p.into_inner()));
        for task in tasks {
            if let Err(e) = task.await
                && e.is_panic()
            {
                tracing::error!(source_id, "memory source task panicked: {e}");
            }
        }
        source.subscribers.clear();
        Ok(())
    }

    async fn status(&self, source_id: &str) -> Result<CdcStatus> {
        let Ok(source) = self.source(source_id) else {
            return Ok(CdcStatus::not_found(source_id, PROVIDER_NAME));
        };
        let state = if source.is_paused() {
            SourceState::Paused
        } else {
            SourceState::Running
        };
        let mut status = CdcStatus::new(source_id, PROVIDER_NAME, state);
        {
            let obs = source.observed();
            status.last_event = obs.last_event;
            status.error = obs.error.clone();
            status.lag_bytes = obs.lag_bytes;
            status.lag_seconds = obs.lag_seconds;
        }
        let c = &source.counters;
        status
            .details
            .insert("capacity".into(), json!(source.capacity));
        status.details.insert(
            "buffered".into(),
            json!(source.tx.max_capacity() - source.tx.capacity()),
        );
        status
            .details
            .insert("injected".into(), json!(c.injected.load(Ordering::Relaxed)));
        status.details.insert(
            "delivered".into(),
            json!(c.processed.load(Ordering::Relaxed)),
        );
        status.details.insert(
            "handler_errors".into(),
            json!(c.handler_errors.load(Ordering::Relaxed)),
        );
        status.details.insert(
            "skipped_lines".into(),
            json!(c.skipped.load(Ordering::Relaxed)),
        );
        status
            .details
            .insert("subscribers".into(), json!(source.subscribers.len()));
        Ok(status)
    }

    async fn snapshot(&self, source_id: &str, tables: &[String]) -> Result<SnapshotReport> {
        let source = self.source(source_id)?;
        for (i, t) in tables.iter().enumerate() {
            TableRef::parse(t).map_err(|message| CdcError::InvalidConfig {
                field: format!("tables[{i}]"),
                message,
            })?;
        }
        let tables: Vec<String> = if tables.is_empty() {
            source.config.tables.clone()
        } else {
            tables.to_vec()
        };
        let event = ChangeEvent::control(source_id, "snapshot_started")
            .with_commit_time(OffsetDateTime::now_utc())
            .with_metadata("tables", json!(tables));
        self.inject(source_id, event).await?;
        Ok(SnapshotReport::new(source_id, &tables, "control_event"))
    }

    async fn schema_history(&self, source_id: &str, table: &str) -> Result<Vec<SchemaVersion>> {
        let source = self.source(source_id)?;
        let wanted = if table.is_empty() {
            None
        } else {
            Some(
                TableRef::parse(table).map_err(|message| CdcError::InvalidConfig {
                    field: "table".into(),
                    message,
                })?,
            )
        };
        let obs = source.observed();
        Ok(obs
            .schema_history
            .iter()
            .filter(|v| match &wanted {
                None => true,
                Some(w) => {
                    let (schema, name) = match v.table.split_once('.') {
                        Some((s, n)) => (Some(s), n),
                        None => (None, v.table.as_str()),
                    };
                    // `users` asks for any schema; `public.users` for that one. A version
                    // recorded without schema matches a schema-qualified request by name.
                    w.matches(schema, name) || (schema.is_none() && w.name == name)
                }
            })
            .cloned()
            .collect())
    }

    fn subscribe(&self, source_id: &str, handler: Arc<dyn EventHandler>) -> Result<Subscription> {
        Ok(self.source(source_id)?.subscribers.subscribe(handler))
    }

    fn pausable(&self) -> Option<&dyn Pausable> {
        Some(self)
    }
}

#[async_trait]
impl Pausable for MemoryProvider {
    async fn pause(&self, source_id: &str) -> Result<()> {
        self.source(source_id)?.paused.send_replace(true);
        Ok(())
    }

    async fn resume(&self, source_id: &str) -> Result<()> {
        self.source(source_id)?.paused.send_replace(false);
        Ok(())
    }
}

/// Injects events into one memory source; see [`MemoryProvider::sender`]. Cheap to clone.
#[derive(Clone)]
pub struct MemorySender {
    source_id: cdc_core::Name,
    tx: mpsc::Sender<SharedEvent>,
    counters: Arc<crate::source::Counters>,
}

impl std::fmt::Debug for MemorySender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemorySender")
            .field("source_id", &self.source_id)
            .finish()
    }
}

impl MemorySender {
    /// The source this handle injects into.
    pub fn source_id(&self) -> &str {
        &self.source_id
    }

    /// Injects an event, waiting while the buffer is full.
    pub async fn send(&self, mut event: SharedEvent) -> Result<()> {
        if event.source_id != self.source_id {
            Arc::make_mut(&mut event).source_id = self.source_id.clone();
        }
        self.counters.injected.fetch_add(1, Ordering::SeqCst);
        if self.tx.send(event).await.is_err() {
            self.counters.injected.fetch_sub(1, Ordering::SeqCst);
            return Err(CdcError::not_found(&self.source_id, PROVIDER_NAME));
        }
        Ok(())
    }
}
