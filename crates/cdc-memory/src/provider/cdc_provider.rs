//! The [`CdcProvider`] and [`Pausable`] impls of the [`MemoryProvider`]: connect (the
//! delivery and input tasks of a source), disconnect, status, snapshot (a control event),
//! schema history, subscribe, pause and resume. Apart from the test-facing API because this
//! is the contract every provider shares.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use cdc_core::{
    CdcError, CdcProvider, CdcStatus, ChangeEvent, EventHandler, Pausable, Result, SchemaVersion,
    SnapshotReport, SourceConfig, SourceState, Subscribers, Subscription, TableRef,
};
use serde_json::json;
use time::OffsetDateTime;
use tokio::sync::{mpsc, watch};

use super::{MemoryProvider, PROVIDER_NAME};
use crate::options::MemoryOptions;
use crate::source::{MemorySource, Observed, deliver_loop};

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
