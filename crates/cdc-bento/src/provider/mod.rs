//! [`BentoProvider`]: the `CdcProvider` for Bento streams.
//!
//! Two modes, chosen per source by `options.mode` (default `auto`):
//!
//! - **delegated** (the Go package's behaviour): `connect` generates the stream config and keeps
//!   it (state `configured`); [`BentoProvider::config_yaml`] returns it for whatever runs Bento;
//!   `snapshot` regenerates it for the given tables (state `snapshot`); `disconnect` removes it.
//!   No events reach subscribers in this mode: the runner owns the stream.
//! - **managed**, when a Bento binary is configured (`options.bento_bin`) or `bento` is on
//!   `PATH`: `connect` writes the config to a private file and runs `bento -c <file>` under a
//!   [`Supervisor`]; every JSON line it prints is delivered to the subscribers as a
//!   `ChangeEvent`; `pause` stops the process, `resume` starts it again, `disconnect`
//!   terminates its process group and waits for it. A batch a handler failed on is handed
//!   again (never skipped). For the PostgreSQL stream (with the `postgres` feature) the
//!   stream only peeks at the slot and the provider advances it once every handler
//!   succeeded: at-least-once, across crashes of Bento or of the provider.

#[cfg(feature = "postgres")]
mod advance;
mod binary;
mod managed;
mod slot;

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use cdc_core::{
    CdcError, CdcProvider, CdcStatus, EventHandler, Pausable, SchemaVersion, SnapshotReport,
    SourceConfig, SourceState, Subscribers, Subscription,
};
use serde_json::json;

use crate::error::{BentoError, PROVIDER};
use crate::generate::{GeneratedStream, SourceSpec, generate};
use crate::options::BentoOptions;
use crate::sql::SlotRead;
use crate::stream::Reveal;
use crate::supervisor::Supervisor;

pub use binary::find_on_path;

/// The Bento provider. One value runs any number of sources, by source id.
#[derive(Default)]
pub struct BentoProvider {
    sources: Mutex<HashMap<String, Arc<Source>>>,
    /// Where managed configs are written when a source sets no `work_dir`.
    work_root: Option<PathBuf>,
}

impl std::fmt::Debug for BentoProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ids: Vec<String> = self.lock().keys().cloned().collect();
        f.debug_struct("BentoProvider")
            .field("sources", &ids)
            .finish()
    }
}

struct Source {
    config: SourceConfig,
    options: BentoOptions,
    stream: Mutex<GeneratedStream>,
    subscribers: Subscribers,
    run: Run,
    /// Why a managed PostgreSQL stream consumes its slot instead of peeking.
    slot_read_note: Option<String>,
}

enum Run {
    Delegated {
        state: Mutex<SourceState>,
    },
    Managed {
        supervisor: Supervisor,
        /// Advances the PostgreSQL stream's slot (`SlotRead::Peek`).
        #[cfg(feature = "postgres")]
        advancer: Option<advance::Advancer>,
        config_path: PathBuf,
        // Removed (with the config file and its secrets) when the source goes.
        _dir: tempfile::TempDir,
    },
}

impl BentoProvider {
    /// A provider writing managed configs under the system temp dir.
    pub fn new() -> Self {
        Self::default()
    }

    /// A provider writing managed configs under `dir` (each source in its own private
    /// sub-directory, removed on disconnect).
    pub fn with_work_dir(dir: impl Into<PathBuf>) -> Self {
        Self {
            sources: Mutex::default(),
            work_root: Some(dir.into()),
        }
    }

    /// The generated config of a source as YAML, DSN passwords masked.
    pub fn config_yaml(&self, source_id: &str) -> Result<String, CdcError> {
        self.render(source_id, Reveal::Masked)
    }

    /// The generated config with the raw DSNs, for a runner that needs them. Never log it.
    pub fn config_yaml_with_secrets(&self, source_id: &str) -> Result<String, CdcError> {
        self.render(source_id, Reveal::Secrets)
    }

    /// The generated stream (config and, for PostgreSQL, the slot SQL) of a source.
    pub fn generated(&self, source_id: &str) -> Result<GeneratedStream, CdcError> {
        let src = self.get(source_id)?;
        let g = src.stream.lock().unwrap_or_else(|p| p.into_inner()).clone();
        Ok(g)
    }

    fn render(&self, source_id: &str, reveal: Reveal) -> Result<String, CdcError> {
        let src = self.get(source_id)?;
        let stream = src.stream.lock().unwrap_or_else(|p| p.into_inner());
        Ok(stream.config.to_yaml(reveal)?)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<Source>>> {
        self.sources.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn get(&self, source_id: &str) -> Result<Arc<Source>, CdcError> {
        self.lock()
            .get(source_id)
            .cloned()
            .ok_or_else(|| CdcError::not_found(source_id, PROVIDER))
    }
}

#[async_trait]
impl CdcProvider for BentoProvider {
    fn name(&self) -> &str {
        PROVIDER
    }

    async fn connect(&self, config: &SourceConfig) -> Result<(), CdcError> {
        config.validate()?;
        if !config.provider.is_empty() && config.provider != PROVIDER {
            return Err(CdcError::InvalidConfig {
                field: "provider".into(),
                message: format!(
                    "source {:?} names provider {:?}, not {PROVIDER:?}",
                    config.source_id, config.provider
                ),
            });
        }
        if self.lock().contains_key(&config.source_id) {
            return Err(CdcError::already_exists(&config.source_id, PROVIDER));
        }
        let options: BentoOptions = config.typed_options()?;
        let bin = self.managed_bin(config, &options)?;
        let mut spec = SourceSpec::from_config(config);
        // Run here, the stream is read by us and the slot can wait for the handlers.
        if bin.is_some() && cfg!(feature = "postgres") {
            spec.slot_read = SlotRead::Peek;
        }
        // Regenerated below when the slot cannot be advanced (feature `postgres`).
        #[cfg_attr(not(feature = "postgres"), allow(unused_mut))]
        let mut stream = generate(&spec, &options)?;
        if options.create_slot {
            let Some(pg) = &stream.postgres else {
                return Err(BentoError::invalid(
                    &config.source_id,
                    "options.create_slot",
                    "only the PostgreSQL polling stream (flavor bento) has a slot to create",
                )
                .into());
            };
            slot::create(&config.source_id, &config.connection, pg).await?;
        }
        // The advance needs a connection of ours (no TLS, the driver's DSN syntax): without
        // one the slot would never move and every poll would return the same changes. Then
        // the stream consumes, as a delegated one does, and the status says why.
        #[cfg_attr(not(feature = "postgres"), allow(unused_mut))]
        let mut slot_read_note = None;
        #[cfg(feature = "postgres")]
        if spec.slot_read == SlotRead::Peek
            && stream.postgres.is_some()
            && let Err(reason) = advance::probe(&config.connection).await
        {
            tracing::warn!(source_id = %config.source_id, %reason,
                "bento: the provider cannot connect to advance the slot; the stream consumes it (at-most-once)");
            spec.slot_read = SlotRead::Consume;
            stream = generate(&spec, &options)?;
            slot_read_note = Some(format!(
                "the slot is consumed by the stream (at-most-once): the provider cannot \
                 connect to advance it: {reason}"
            ));
        }
        let subscribers = Subscribers::new(config.source_id.clone());
        let run = match bin {
            None => Run::Delegated {
                state: Mutex::new(SourceState::Configured),
            },
            Some(bin) => self.start_managed(config, &options, &stream, bin, &subscribers)?,
        };
        let source = Arc::new(Source {
            config: config.clone(),
            options,
            stream: Mutex::new(stream),
            subscribers,
            run,
            slot_read_note,
        });
        let mut sources = self.lock();
        if sources.contains_key(&config.source_id) {
            // A concurrent connect won; ours is dropped, which stops its process.
            return Err(CdcError::already_exists(&config.source_id, PROVIDER));
        }
        sources.insert(config.source_id.clone(), source);
        Ok(())
    }

    async fn disconnect(&self, source_id: &str) -> Result<(), CdcError> {
        let source = self
            .lock()
            .remove(source_id)
            .ok_or_else(|| CdcError::not_found(source_id, PROVIDER))?;
        if let Run::Managed { supervisor, .. } = &source.run {
            supervisor.shutdown().await;
            // The supervisor's last acknowledgement reaches the slot before we return.
            #[cfg(feature = "postgres")]
            if let Run::Managed {
                advancer: Some(a), ..
            } = &source.run
            {
                a.finish().await;
            }
        }
        source.subscribers.clear();
        Ok(())
    }

    async fn status(&self, source_id: &str) -> Result<CdcStatus, CdcError> {
        let Ok(source) = self.get(source_id) else {
            return Ok(CdcStatus::not_found(source_id, PROVIDER));
        };
        let mut details = BTreeMap::new();
        details.insert("flavor".into(), json!(source.options.flavor));
        details.insert("output".into(), json!(source.options.output.kind()));
        if let Some(m) = &source.options.bento_module {
            details.insert("bento_module".into(), json!(m));
        }
        let stream_read = source
            .stream
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .postgres
            .as_ref()
            .map(|pg| pg.changes.read);
        if let Some(read) = stream_read {
            let read = match read {
                SlotRead::Peek => "peek",
                SlotRead::Consume => "consume",
            };
            details.insert("slot_read".into(), json!(read));
        }
        if let Some(note) = &source.slot_read_note {
            details.insert("slot_read_note".into(), json!(note));
        }
        let status = match &source.run {
            Run::Delegated { state } => {
                details.insert("mode".into(), json!("delegated"));
                let mut st = CdcStatus::new(
                    source_id,
                    PROVIDER,
                    *state.lock().unwrap_or_else(|p| p.into_inner()),
                );
                st.details = details;
                st
            }
            Run::Managed {
                supervisor,
                config_path,
                #[cfg(feature = "postgres")]
                advancer,
                ..
            } => {
                let s = supervisor.status();
                details.extend(s.details);
                details.insert("config_path".into(), json!(config_path));
                let mut st = CdcStatus::new(source_id, PROVIDER, s.state);
                st.error = s.error;
                #[cfg(feature = "postgres")]
                if let Some(a) = advancer {
                    let r = a.report();
                    details.insert(
                        "slot_advanced_lsn".into(),
                        json!(r.advanced.map(crate::generate::mapping::format_lsn)),
                    );
                    if let Some(e) = r.error {
                        details.insert("slot_advance_error".into(), json!(e));
                        if st.error.is_none() {
                            st.state = SourceState::Error;
                            st.error = Some(format!(
                                "the slot cannot be advanced (changes are kept, not lost): {e}"
                            ));
                        }
                    }
                }
                st.last_event = s.last_event;
                st.details = details;
                st
            }
        };
        Ok(status)
    }

    async fn snapshot(
        &self,
        source_id: &str,
        tables: &[String],
    ) -> Result<SnapshotReport, CdcError> {
        let source = self.get(source_id)?;
        let Run::Delegated { state } = &source.run else {
            return Err(CdcError::Unsupported {
                source_id: source_id.into(),
                provider: PROVIDER.into(),
                operation: "snapshot".into(),
                reason: "a managed Bento stream carries changes, not existing rows; snapshot \
                         through the debezium provider, or use flavor redpanda_connect with \
                         stream_snapshot: true"
                    .into(),
            });
        };
        let mut spec = SourceSpec::from_config(&source.config);
        if !tables.is_empty() {
            spec.tables = tables.to_vec();
        }
        let regenerated = generate(&spec, &source.options)?;
        *source.stream.lock().unwrap_or_else(|p| p.into_inner()) = regenerated;
        *state.lock().unwrap_or_else(|p| p.into_inner()) = SourceState::Snapshot;
        Ok(SnapshotReport::new(source_id, tables, "regenerated_config").with_detail(
            "the config now covers these tables; the delegated runner must load it (config_yaml)",
        ))
    }

    /// Bento streams carry no DDL history: always empty, as in the Go package.
    async fn schema_history(
        &self,
        source_id: &str,
        _table: &str,
    ) -> Result<Vec<SchemaVersion>, CdcError> {
        self.get(source_id)?;
        Ok(Vec::new())
    }

    fn subscribe(
        &self,
        source_id: &str,
        handler: Arc<dyn EventHandler>,
    ) -> Result<Subscription, CdcError> {
        Ok(self.get(source_id)?.subscribers.subscribe(handler))
    }

    fn pausable(&self) -> Option<&dyn Pausable> {
        Some(self)
    }
}

#[async_trait]
impl Pausable for BentoProvider {
    async fn pause(&self, source_id: &str) -> Result<(), CdcError> {
        let source = self.get(source_id)?;
        match &source.run {
            Run::Managed { supervisor, .. } => {
                supervisor.pause().await;
                Ok(())
            }
            Run::Delegated { .. } => Err(delegated_unsupported(source_id, "pause")),
        }
    }

    async fn resume(&self, source_id: &str) -> Result<(), CdcError> {
        let source = self.get(source_id)?;
        match &source.run {
            Run::Managed { supervisor, .. } => {
                supervisor.resume().await;
                Ok(())
            }
            Run::Delegated { .. } => Err(delegated_unsupported(source_id, "resume")),
        }
    }
}

fn delegated_unsupported(source_id: &str, op: &str) -> CdcError {
    CdcError::Unsupported {
        source_id: source_id.into(),
        provider: PROVIDER.into(),
        operation: op.into(),
        reason: "the source is delegated: the runner of its config controls the stream \
                 (set options.bento_bin or mode: managed to let this provider run it)"
            .into(),
    }
}
