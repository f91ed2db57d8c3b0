//! What a running source shares between its task and the provider: subscribers, the pause
//! and stop signals, and the figures `status` reports.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

use cdc_core::{SchemaVersion, SourceState, Subscribers};
use pgwire_replication::Lsn;
use serde_json::{Value, json};
use time::OffsetDateTime;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use crate::decode::SchemaNote;

/// Where the source's task is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// Setting up or opening the stream.
    Starting,
    /// Reading the initial snapshot.
    Snapshot,
    /// Streaming changes.
    Streaming,
    /// The connection was lost; reconnecting.
    Reconnecting,
    /// Ended with an error that retrying cannot fix (the slot is gone or invalidated).
    Failed,
    /// Stopped by `disconnect`.
    Stopped,
}

/// Snapshot progress of one table.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TableProgress {
    /// Rows handed to the handlers.
    pub rows: u64,
    /// `reltuples` when the table was analyzed.
    pub estimated: Option<i64>,
    /// Whether the table is done.
    pub done: bool,
    /// In how many parts (page ranges) it is read.
    pub parts: usize,
}

/// The task's figures, read by `status`.
#[derive(Clone, Debug)]
pub struct Figures {
    /// Where the task is.
    pub phase: Phase,
    /// The current problem of the stream (a lost connection), when there is one.
    pub error: Option<String>,
    /// The current handler failure (being retried), when there is one.
    pub handler_error: Option<String>,
    /// When events last reached every handler.
    pub last_event: Option<OffsetDateTime>,
    /// Commit time of the last transaction delivered.
    pub last_commit_time: Option<OffsetDateTime>,
    /// Server time of the last keepalive when nothing was pending.
    pub last_idle_keepalive: Option<OffsetDateTime>,
    /// The last position acknowledged to the server.
    pub acknowledged: Option<Lsn>,
    /// Events delivered.
    pub events: u64,
    /// Handler failures (each retried).
    pub handler_failures: u64,
    /// Events of transactions a new session replayed from before the position already
    /// acknowledged, not delivered again.
    pub replayed_skipped: u64,
    /// Sessions opened after a lost connection, and the slot position each resumed from.
    pub reconnects: u64,
    /// The slot's confirmed position the last session resumed from.
    pub resumed_from: Option<Lsn>,
    /// Snapshot progress by table, while and after the snapshot runs.
    pub snapshot: BTreeMap<String, TableProgress>,
    /// State of the snapshot: `running`, `done`, `restarted: ...`.
    pub snapshot_state: Option<String>,
    /// Snapshots that failed and started over.
    pub snapshot_restarts: u64,
    /// Why the last one did.
    pub snapshot_last_failure: Option<String>,
}

impl Default for Figures {
    fn default() -> Self {
        Self {
            phase: Phase::Starting,
            error: None,
            handler_error: None,
            last_event: None,
            last_commit_time: None,
            last_idle_keepalive: None,
            acknowledged: None,
            events: 0,
            handler_failures: 0,
            replayed_skipped: 0,
            reconnects: 0,
            resumed_from: None,
            snapshot: BTreeMap::new(),
            snapshot_state: None,
            snapshot_restarts: 0,
            snapshot_last_failure: None,
        }
    }
}

impl Figures {
    /// The message `status` shows: a handler failure first, else the stream's problem.
    pub fn error_text(&self) -> Option<String> {
        self.handler_error.clone().or_else(|| self.error.clone())
    }

    /// The state `status` reports.
    pub fn state(&self, paused: bool) -> SourceState {
        match self.phase {
            Phase::Failed => SourceState::Error,
            Phase::Stopped => SourceState::Stopped,
            _ if paused => SourceState::Paused,
            _ if self.handler_error.is_some() => SourceState::Error,
            Phase::Reconnecting => SourceState::Restarting,
            _ if self.error.is_some() => SourceState::Error,
            Phase::Starting => SourceState::Starting,
            Phase::Snapshot => SourceState::Snapshot,
            Phase::Streaming => SourceState::Running,
        }
    }

    /// The snapshot progress as status details.
    pub fn snapshot_details(&self) -> Option<Value> {
        let state = self.snapshot_state.as_ref()?;
        let tables: serde_json::Map<String, Value> = self
            .snapshot
            .iter()
            .map(|(t, p)| {
                (
                    t.clone(),
                    json!({"rows": p.rows, "estimated_rows": p.estimated, "done": p.done, "parts": p.parts}),
                )
            })
            .collect();
        Some(json!({
            "state": state,
            "tables": tables,
            "restarts": self.snapshot_restarts,
            "last_failure": self.snapshot_last_failure,
        }))
    }
}

/// Retry delays: doubling from `initial` to `max`.
#[derive(Clone, Copy, Debug)]
pub struct Backoff {
    initial: Duration,
    max: Duration,
    next: Duration,
}

impl Backoff {
    /// A backoff from `initial` to `max`.
    pub fn new(initial: Duration, max: Duration) -> Self {
        Self {
            initial,
            max,
            next: initial,
        }
    }

    /// The next delay (and doubles the one after).
    pub fn next_delay(&mut self) -> Duration {
        let d = self.next;
        self.next = (self.next * 2).min(self.max);
        d
    }

    /// Back to the initial delay after a success.
    pub fn reset(&mut self) {
        self.next = self.initial;
    }
}

/// One source's shared state.
#[derive(Debug)]
pub struct Shared {
    /// The source id.
    pub source_id: String,
    /// Its handlers.
    pub subscribers: Subscribers,
    /// The task's figures.
    pub figures: Mutex<Figures>,
    /// Schema versions by table.
    pub history: Mutex<BTreeMap<String, Vec<SchemaVersion>>>,
    /// `true` while paused.
    pub paused: watch::Sender<bool>,
    /// Cancelled by `disconnect`.
    pub stop: CancellationToken,
    /// Retry delays of handler failures and reconnects.
    pub retry: (Duration, Duration),
    /// Backfills of running tables (`snapshot`), shared by their task and the stream.
    pub backfill: crate::backfill::Backfill,
}

impl Shared {
    /// New state for `source_id`.
    pub fn new(source_id: &str, paused: bool, retry: (Duration, Duration)) -> Self {
        Self {
            source_id: source_id.to_owned(),
            subscribers: Subscribers::new(source_id),
            figures: Mutex::new(Figures::default()),
            history: Mutex::new(BTreeMap::new()),
            paused: watch::Sender::new(paused),
            stop: CancellationToken::new(),
            retry,
            backfill: crate::backfill::Backfill::default(),
        }
    }

    /// Changes the figures.
    pub fn update<R>(&self, f: impl FnOnce(&mut Figures) -> R) -> R {
        f(&mut self.figures.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// A copy of the figures.
    pub fn figures(&self) -> Figures {
        self.update(|f| f.clone())
    }

    /// A new backoff with the source's delays.
    pub fn backoff(&self) -> Backoff {
        Backoff::new(self.retry.0, self.retry.1)
    }

    /// Whether the source is paused.
    pub fn is_paused(&self) -> bool {
        *self.paused.borrow()
    }

    /// Waits until the source is not paused; `false` when stopped meanwhile.
    pub async fn wait_unpaused(&self) -> bool {
        let mut rx = self.paused.subscribe();
        tokio::select! {
            biased;
            () = self.stop.cancelled() => false,
            r = rx.wait_for(|p| !*p) => r.is_ok(),
        }
    }

    /// Sleeps `d`; `false` when stopped meanwhile.
    pub async fn sleep(&self, d: Duration) -> bool {
        tokio::select! {
            biased;
            () = self.stop.cancelled() => false,
            () = tokio::time::sleep(d) => true,
        }
    }

    /// Records schema changes seen in Relation messages.
    pub fn record_schema(&self, notes: &[SchemaNote]) {
        if notes.is_empty() {
            return;
        }
        let mut history = self.history.lock().unwrap_or_else(|p| p.into_inner());
        for n in notes {
            let versions = history.entry(n.table.clone()).or_default();
            let version = versions.last().map_or(1, |v| v.version + 1);
            versions.push(SchemaVersion {
                table: n.table.clone(),
                version,
                ddl: n.ddl.clone(),
                applied_at: n.at.unwrap_or_else(OffsetDateTime::now_utc),
                position: Some(cdc_core::Position::new(Lsn::from_u64(n.lsn).to_string())),
            });
        }
    }
}
