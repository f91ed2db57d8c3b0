//! [`PostgresProvider`]: native PostgreSQL sources behind [`CdcProvider`].
//!
//! - `connect` runs the pre-flight checks, creates the publication and the slot when missing
//!   (`setup`), and starts the source's task (`task`): the initial snapshot on a new slot,
//!   then the stream;
//! - `disconnect` stops the task; the slot stays (a restart resumes where it stopped) unless
//!   `drop_slot_on_stop`;
//! - `status` combines the task's figures with the slot as the server sees it (`status`)
//!   and what the periodic publication check found (`watch`);
//! - `pause` holds delivery and reading (the server keeps the WAL), `resume` goes on.

pub mod deliver;
pub mod setup;
pub mod sql_conn;
pub mod state;
mod status;
mod task;
pub mod watch;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use cdc_core::{
    CdcError, CdcProvider, CdcStatus, EventHandler, Pausable, SchemaVersion, SnapshotReport,
    SourceConfig, Subscription, TableRef,
};
use tokio::task::JoinHandle;
use tracing::{info, warn};

use crate::config::PostgresSource;
use crate::decode::StreamDecoder;
use crate::error::{PROVIDER, PostgresError};
use state::Shared;

/// How long `disconnect` waits for the task to end.
const STOP_TIMEOUT: Duration = Duration::from_secs(30);

/// A connected source.
struct Running {
    src: Arc<PostgresSource>,
    shared: Arc<Shared>,
    task: Mutex<Option<JoinHandle<()>>>,
    backfill_task: Mutex<Option<JoinHandle<()>>>,
    /// The captured tables (`schema.table`) and whether each has a key to read it in order.
    tables: Vec<(String, bool)>,
    version_num: i32,
    /// A SQL connection for status queries and the publication check, opened on first use.
    sql: Arc<sql_conn::SqlConn>,
    /// The publication check's task (none for `FOR ALL TABLES`) and what it found.
    watch_task: Mutex<Option<JoinHandle<()>>>,
    watch: Arc<watch::Report>,
}

/// The PostgreSQL provider. One value may run several sources.
#[derive(Default)]
pub struct PostgresProvider {
    sources: Mutex<HashMap<String, Arc<Running>>>,
}

impl std::fmt::Debug for PostgresProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ids: Vec<String> = self.lock().keys().cloned().collect();
        f.debug_struct("PostgresProvider")
            .field("sources", &ids)
            .finish()
    }
}

impl PostgresProvider {
    /// A provider with no sources.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<Running>>> {
        self.sources.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn running(&self, source_id: &str) -> Result<Arc<Running>, CdcError> {
        self.lock()
            .get(source_id)
            .cloned()
            .ok_or_else(|| CdcError::not_found(source_id, PROVIDER))
    }

    /// What `connect` would run, without connecting: the publication, the slot and the
    /// stream, for `cdc render`. Errors name the field.
    pub fn render(config: &SourceConfig) -> Result<String, CdcError> {
        let src = PostgresSource::from_config(config).map_err(|e| e.into_cdc(&config.source_id))?;
        Ok(crate::render::render(&src))
    }
}

#[async_trait]
impl CdcProvider for PostgresProvider {
    fn name(&self) -> &str {
        PROVIDER
    }

    async fn connect(&self, config: &SourceConfig) -> Result<(), CdcError> {
        let sid = config.source_id.as_str();
        if self.lock().contains_key(sid) {
            // Already streaming: connecting again changes nothing.
            return Ok(());
        }
        let src = Arc::new(PostgresSource::from_config(config).map_err(|e| e.into_cdc(sid))?);
        let prepared = setup::prepare(&src, setup::Mode::Initial)
            .await
            .map_err(|e| e.into_cdc(sid))?;
        for note in &prepared.notes {
            info!(source_id = sid, "postgres: {note}");
        }
        let shared = Arc::new(Shared::new(
            sid,
            src.options.start_paused,
            (
                Duration::from_millis(src.options.retry_initial_ms),
                Duration::from_millis(src.options.retry_max_ms),
            ),
        ));
        if prepared.notes.iter().any(|n| n.contains("snapshot")) {
            shared.update(|f| f.snapshot_state = Some(prepared.notes.join("; ")));
        }
        // The session is open (streaming, or holding the snapshot): say so from the start.
        shared.update(|f| {
            f.phase = match prepared.start {
                setup::Start::Stream { .. } => state::Phase::Streaming,
                setup::Start::Snapshot { .. } => state::Phase::Snapshot,
            }
        });
        let tables: Vec<(String, bool)> = prepared
            .tables
            .iter()
            .map(|t| (t.qualified(), !t.key_columns().is_empty()))
            .collect();
        let resumed = resume_backfill(&src, &shared).await;
        let key_relations = prepared.key_relations();
        let mut decoder =
            StreamDecoder::new(sid, prepared.keys).with_ddl_tables(src.tables.clone());
        decoder.set_key_relations(key_relations);
        let running = Arc::new(Running {
            src: Arc::clone(&src),
            shared: Arc::clone(&shared),
            task: Mutex::new(None),
            backfill_task: Mutex::new(None),
            tables,
            version_num: prepared.version_num,
            sql: Arc::new(sql_conn::SqlConn::new(Arc::clone(&src))),
            watch_task: Mutex::new(None),
            watch: Arc::new(watch::Report::default()),
        });
        *running.watch_task.lock().unwrap_or_else(|p| p.into_inner()) = watch::start(
            &src,
            &shared,
            &running.sql,
            &running.watch,
            &prepared.tables,
        );
        let backfill = tokio::spawn(crate::backfill::run(Arc::clone(&src), Arc::clone(&shared)));
        let handle = tokio::spawn(task::run(src, shared, prepared.start, decoder));
        *running.task.lock().unwrap_or_else(|p| p.into_inner()) = Some(handle);
        *running
            .backfill_task
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = Some(backfill);
        if resumed > 0 {
            info!(
                source_id = sid,
                "postgres: {resumed} backfill request(s) of an earlier run resumed"
            );
        }
        let mut sources = self.lock();
        if sources.contains_key(sid) {
            // A concurrent connect won: ours goes away again.
            running.shared.stop.cancel();
            return Ok(());
        }
        sources.insert(sid.to_owned(), running);
        info!(source_id = sid, "postgres: source connected");
        Ok(())
    }

    async fn disconnect(&self, source_id: &str) -> Result<(), CdcError> {
        let Some(running) = self.lock().remove(source_id) else {
            return Err(CdcError::not_found(source_id, PROVIDER));
        };
        running.shared.stop.cancel();
        let handle = running
            .task
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        if let Some(handle) = handle
            && tokio::time::timeout(STOP_TIMEOUT, handle).await.is_err()
        {
            warn!(
                source_id,
                "postgres: the source's task did not stop in time"
            );
        }
        let backfill = running
            .backfill_task
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        if let Some(handle) = backfill {
            handle.abort();
        }
        let watch = running
            .watch_task
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        if let Some(handle) = watch {
            handle.abort();
        }
        running.shared.subscribers.clear();
        running.sql.reset().await;
        if running.src.options.drop_slot_on_stop {
            setup::drop_all(&running.src)
                .await
                .map_err(|e| e.into_cdc(source_id))?;
            info!(source_id, slot = %running.src.slot, "postgres: slot dropped (drop_slot_on_stop)");
        }
        Ok(())
    }

    async fn status(&self, source_id: &str) -> Result<CdcStatus, CdcError> {
        let Ok(running) = self.running(source_id) else {
            return Ok(CdcStatus::not_found(source_id, PROVIDER));
        };
        Ok(status::status(&running).await)
    }

    async fn snapshot(
        &self,
        source_id: &str,
        tables: &[String],
    ) -> Result<SnapshotReport, CdcError> {
        let running = self.running(source_id)?;
        let names = backfill_tables(&running, tables).map_err(|e| e.into_cdc(source_id))?;
        let ahead = running.shared.backfill.request(crate::backfill::Request {
            tables: names.clone(),
            after: None,
        });
        let mut detail = format!(
            "read in key order, {} rows a chunk, between watermarks, while the stream goes on",
            running.src.options.chunk_size
        );
        if ahead > 0 {
            detail.push_str(&format!("; queued behind {ahead} earlier request(s)"));
        }
        detail.push_str(if running.src.owns_publication() {
            "; its position is kept in the publication's comment, so a restart resumes it"
        } else {
            "; a restart ends it (the publication is not cdc-rs's, where it would keep its position)"
        });
        Ok(SnapshotReport::new(source_id, &names, "watermark_backfill").with_detail(detail))
    }

    async fn schema_history(
        &self,
        source_id: &str,
        table: &str,
    ) -> Result<Vec<SchemaVersion>, CdcError> {
        let running = self.running(source_id)?;
        let want = if table.is_empty() {
            None
        } else {
            Some(TableRef::parse(table).map_err(|m| CdcError::InvalidConfig {
                field: "table".into(),
                message: m,
            })?)
        };
        let history = running
            .shared
            .history
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        let mut out: Vec<SchemaVersion> = history
            .iter()
            .filter(|(qualified, _)| {
                want.as_ref().is_none_or(|w| {
                    let (s, t) = qualified.split_once('.').unwrap_or(("", qualified));
                    w.matches(Some(s), t)
                })
            })
            .flat_map(|(_, v)| v.iter().cloned())
            .collect();
        out.sort_by(|a, b| {
            (a.applied_at, &a.position, a.version).cmp(&(b.applied_at, &b.position, b.version))
        });
        Ok(out)
    }

    fn subscribe(
        &self,
        source_id: &str,
        handler: Arc<dyn EventHandler>,
    ) -> Result<Subscription, CdcError> {
        Ok(self
            .running(source_id)?
            .shared
            .subscribers
            .subscribe(handler))
    }

    fn pausable(&self) -> Option<&dyn Pausable> {
        Some(self)
    }
}

/// The tables a backfill request reads: the captured tables it names (all when empty),
/// each with a key. Errors name what cannot be backfilled.
fn backfill_tables(running: &Running, tables: &[String]) -> Result<Vec<String>, PostgresError> {
    let mut names = Vec::new();
    if tables.is_empty() {
        names.extend(running.tables.iter().map(|(t, _)| t.clone()));
    } else {
        for (i, t) in tables.iter().enumerate() {
            let want =
                TableRef::parse(t).map_err(|m| PostgresError::config(format!("tables[{i}]"), m))?;
            let found = running.tables.iter().find(|(q, _)| {
                let (s, n) = q.split_once('.').unwrap_or(("", q));
                want.matches(Some(s), n)
            });
            match found {
                Some((q, _)) => names.push(q.clone()),
                None => {
                    return Err(PostgresError::config(
                        format!("tables[{i}]"),
                        format!("{t} is not a table this source captures"),
                    ));
                }
            }
        }
    }
    let keyless: Vec<&str> = names
        .iter()
        .filter(|n| running.tables.iter().any(|(q, key)| q == *n && !key))
        .map(String::as_str)
        .collect();
    if !keyless.is_empty() {
        return Err(PostgresError::Unsupported {
            operation: "snapshot".into(),
            reason: format!(
                "{} {} no primary key or replica identity index; a running source reads tables in key order to stay consistent with the stream",
                keyless.join(", "),
                if keyless.len() == 1 { "has" } else { "have" }
            ),
        });
    }
    Ok(names)
}

/// Queues the backfill requests an earlier process left in the publication's comment.
async fn resume_backfill(src: &PostgresSource, shared: &Shared) -> usize {
    if !src.owns_publication() {
        return 0;
    }
    let loaded = async {
        let client = crate::sql::connect::connect(src).await?;
        crate::backfill::load_persisted(&client, &src.publication).await
    };
    match loaded.await {
        Ok(requests) => {
            let n = requests.len();
            for r in requests {
                shared.backfill.request(r);
            }
            n
        }
        Err(e) => {
            warn!(source_id = %src.source_id, error = %e, "postgres: could not read an earlier backfill's position");
            0
        }
    }
}

#[async_trait]
impl Pausable for PostgresProvider {
    async fn pause(&self, source_id: &str) -> Result<(), CdcError> {
        self.running(source_id)?.shared.paused.send_replace(true);
        Ok(())
    }

    async fn resume(&self, source_id: &str) -> Result<(), CdcError> {
        self.running(source_id)?.shared.paused.send_replace(false);
        Ok(())
    }
}
