//! Re-snapshotting tables of a running source without stopping the stream: the watermark
//! method of Netflix DBLog (Debezium's incremental snapshot).
//!
//! A table is read in chunks ordered by its primary key (keyset pagination, `chunk_size`
//! rows). Each chunk is bracketed by a low and a high watermark written into the stream with
//! `pg_logical_emit_message` (transactional, prefix `cdc-rs.wm`, never delivered). Between
//! the two the stream notes the key of every change of the table; at the high watermark the
//! chunk's rows whose keys it noted are dropped — the stream already delivered newer news of
//! them — and the rest are emitted there as `SnapshotRead` events, in stream order. So no
//! row image older than a change already delivered for that row is ever delivered, and a row
//! deleted meanwhile is not brought back.
//!
//! Requests queue; `snapshot` with no tables means every configured table. Progress (chunks,
//! rows, estimate per table) is in status. When cdc-rs owns the publication, the position of
//! the backfill (the table and the last key of the last delivered chunk, and the queue) is
//! kept in the publication's comment, so a restarted process resumes from the last finished
//! chunk; with a publication of the user's, a restart ends the backfill (request it again),
//! and the report of the request says so.

pub mod chunk;
pub mod mark;
mod persist;
pub mod shape;
pub mod window;

use std::collections::{BTreeMap, VecDeque};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use cdc_core::ChangeEvent;
use pgwire_replication::Lsn;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tokio::sync::Notify;
use tracing::{debug, warn};

use mark::{Kind, Mark, Verdict};
pub use persist::{load as load_persisted, save as save_persisted};
use window::{Closed, Pending};

/// Prefix of the watermark messages.
pub const WATERMARK_PREFIX: &str = "cdc-rs.wm";

/// One queued request: these tables (`schema.table`), and where to resume the first.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Request {
    /// Tables, `schema.table`.
    pub tables: Vec<String>,
    /// Key values (text) after which the first table resumes.
    #[serde(default)]
    pub after: Option<Vec<String>>,
}

/// Progress of one table.
#[derive(Clone, Debug, Default)]
pub struct TableProgress {
    /// Chunks delivered.
    pub chunks: u64,
    /// Rows emitted.
    pub rows: u64,
    /// `reltuples`.
    pub estimated: Option<i64>,
    /// Finished.
    pub done: bool,
    /// Why it stopped, when it failed.
    pub error: Option<String>,
}

/// The last chunk the stream emitted, kept until the next chunk's window opens: a stream
/// that loses its session before the handlers took the rows reads the high watermark again
/// after the reconnect, and must emit them again there.
#[derive(Debug)]
struct Emitted {
    seq: u64,
    /// LSN of its high watermark.
    lsn: Lsn,
    /// The chunk must be read again (see [`Closed::Reread`]).
    reread: bool,
    rows: Vec<ChangeEvent>,
}

/// The backfill state of one source, shared by its backfill task and its stream.
#[derive(Debug)]
pub struct Backfill {
    /// Queued requests, and whether one taken from the queue is still being worked on (kept
    /// under one lock: a request made between two chunks of another, when no window is
    /// open, must still count it as ahead).
    queue: Mutex<(VecDeque<Request>, bool)>,
    /// Wakes the task when a request is queued.
    wake: Notify,
    /// The chunk between its watermarks.
    window: Mutex<Option<Pending>>,
    /// Fast check for the stream: a window exists.
    active: AtomicBool,
    /// The last chunk the stream emitted.
    emitted: Mutex<Option<Emitted>>,
    /// Wakes the task when a chunk was emitted.
    emitted_notify: Notify,
    /// Progress by table, and what runs.
    progress: Mutex<(String, BTreeMap<String, TableProgress>)>,
    /// Distinguishes this process's watermarks from replayed ones of an earlier process.
    run: String,
    seq: AtomicU64,
}

impl Default for Backfill {
    fn default() -> Self {
        Self {
            queue: Mutex::new((VecDeque::new(), false)),
            wake: Notify::new(),
            window: Mutex::new(None),
            active: AtomicBool::new(false),
            emitted: Mutex::new(None),
            emitted_notify: Notify::new(),
            progress: Mutex::new(("idle".into(), BTreeMap::new())),
            run: mark::new_run(),
            seq: AtomicU64::new(0),
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Backfill {
    /// Queues a request; returns how many were queued before it.
    pub fn request(&self, request: Request) -> usize {
        let mut q = lock(&self.queue);
        let ahead = q.0.len() + usize::from(q.1);
        {
            let mut p = lock(&self.progress);
            for t in &request.tables {
                p.1.entry(t.clone()).or_default().done = false;
            }
        }
        q.0.push_back(request);
        drop(q);
        self.wake.notify_one();
        ahead
    }

    /// Takes the next request; it counts as ahead of new ones until [`Self::finish_request`].
    fn next_request(&self) -> Option<Request> {
        let mut q = lock(&self.queue);
        let next = q.0.pop_front();
        q.1 = next.is_some();
        next
    }

    /// The request taken last is done.
    fn finish_request(&self) {
        lock(&self.queue).1 = false;
    }

    /// The queued requests (for persistence).
    pub fn queued(&self) -> Vec<Request> {
        lock(&self.queue).0.iter().cloned().collect()
    }

    /// Whether a chunk's window exists (the stream then notes changes).
    pub fn is_active(&self) -> bool {
        self.active.load(Ordering::Relaxed)
    }

    /// The stream saw these events of a transaction committed at `commit_lsn`, while a
    /// window may be open.
    pub fn note(&self, events: &[ChangeEvent], commit_lsn: u64) {
        if let Some(p) = lock(&self.window).as_mut() {
            for e in events {
                p.note(e, commit_lsn);
            }
        }
    }

    /// A message with the watermark prefix arrived at `lsn` on `slot`'s stream (in the
    /// transaction committed at `commit_lsn`): a low watermark of ours opens the window, a
    /// high one closes it and returns the rows to emit there (again, when the stream reads
    /// it again after a reconnect). Anything else is ignored (see [`mark`]), with a warning
    /// when it cannot be a watermark of any source.
    pub fn on_watermark(
        &self,
        slot: &str,
        transactional: bool,
        content: &[u8],
        lsn: Lsn,
        commit_lsn: u64,
    ) -> Option<Vec<ChangeEvent>> {
        let (kind, seq) = match mark::judge(slot, &self.run, transactional, content) {
            Verdict::Ours(kind, seq) => (kind, seq),
            Verdict::Foreign => {
                debug!(%lsn, "postgres: a watermark of another source or an earlier run, ignored");
                return None;
            }
            Verdict::Invalid(why) => {
                warn!(%lsn, slot, "postgres: ignored a message with the watermark prefix {WATERMARK_PREFIX:?} that is not one of ours: {why}");
                return None;
            }
        };
        let mut window = lock(&self.window);
        let Some(pending) = window.as_mut().filter(|p| p.seq == seq) else {
            drop(window);
            return self.again(kind, seq, lsn);
        };
        match kind {
            Kind::Low => {
                pending.open(commit_lsn);
                None
            }
            // Ours are written after the rows are set and the window opened: one before
            // that is forged (by a role that learnt the run) or out of order; closing on it
            // would emit nothing and skip the chunk.
            Kind::High if !pending.is_open() || !pending.has_rows() => {
                warn!(%lsn, seq, "postgres: ignored a high watermark that came before its chunk was read");
                None
            }
            Kind::High => {
                let next = Pending::between_chunks(
                    &pending.schema,
                    &pending.table,
                    pending.key_cols.clone(),
                );
                // What the stream delivers until the next chunk's window is kept for it
                // (`window` explains why); `active` stays set.
                let pending = window.replace(next)?;
                drop(window);
                let (reread, rows) = match pending.close() {
                    Closed::Rows(rows) => (false, rows),
                    Closed::Reread => (true, Vec::new()),
                };
                *lock(&self.emitted) = Some(Emitted {
                    seq,
                    lsn,
                    reread,
                    rows: rows.clone(),
                });
                self.emitted_notify.notify_waiters();
                Some(rows)
            }
        }
    }

    /// A watermark of ours for no open window: the high one of the chunk last emitted,
    /// read again after a reconnect, emits its rows again (the stream skips them when their
    /// transaction was delivered already). Others are older ones read again.
    fn again(&self, kind: Kind, seq: u64, lsn: Lsn) -> Option<Vec<ChangeEvent>> {
        let emitted = lock(&self.emitted);
        match emitted.as_ref() {
            Some(e) if kind == Kind::High && e.seq == seq && e.lsn == lsn && !e.rows.is_empty() => {
                Some(e.rows.clone())
            }
            _ => {
                debug!(%lsn, seq, "postgres: an earlier watermark read again, ignored");
                None
            }
        }
    }

    /// Status details.
    pub fn details(&self) -> Option<Value> {
        let (state, tables) = &*lock(&self.progress);
        if tables.is_empty() {
            return None;
        }
        let tables: serde_json::Map<String, Value> = tables
            .iter()
            .map(|(t, p)| {
                (
                    t.clone(),
                    json!({"chunks": p.chunks, "rows": p.rows, "estimated_rows": p.estimated,
                           "done": p.done, "error": p.error}),
                )
            })
            .collect();
        let queued: Vec<Vec<String>> = self.queued().into_iter().map(|r| r.tables).collect();
        Some(json!({"state": state, "tables": tables, "queued": queued}))
    }

    fn set_state(&self, state: &str) {
        lock(&self.progress).0 = state.to_owned();
    }

    fn update(&self, table: &str, f: impl FnOnce(&mut TableProgress)) {
        f(lock(&self.progress).1.entry(table.to_owned()).or_default());
    }

    fn next_seq(&self) -> u64 {
        self.seq.fetch_add(1, Ordering::Relaxed) + 1
    }

    fn open_window(&self, mut pending: Pending) {
        // The chunk before was acknowledged: its rows are not needed again.
        if let Some(e) = lock(&self.emitted).as_mut() {
            e.rows = Vec::new();
        }
        let mut window = lock(&self.window);
        if let Some(earlier) = window.take() {
            pending.inherit(earlier);
        }
        *window = Some(pending);
        self.active.store(true, Ordering::Relaxed);
    }

    fn set_rows(&self, seq: u64, rows: window::ChunkRows, unseen: window::Unseen) {
        if let Some(p) = lock(&self.window).as_mut()
            && p.seq == seq
        {
            p.rows = Some(rows);
            p.unseen = Some(unseen);
        }
    }

    fn abandon(&self) {
        *lock(&self.window) = None;
        if let Some(e) = lock(&self.emitted).as_mut() {
            e.rows = Vec::new();
        }
        self.active.store(false, Ordering::Relaxed);
    }

    fn mark(&self, slot: &str, seq: u64, kind: Kind) -> String {
        Mark::encode(slot, &self.run, seq, kind)
    }

    /// Waits until the stream emitted chunk `seq`; the LSN of its high watermark and
    /// whether the chunk must be read again, or `None` when `give_up` resolves first.
    async fn wait_emitted(
        &self,
        seq: u64,
        give_up: impl std::future::Future<Output = ()>,
    ) -> Option<(Lsn, bool)> {
        let mut give_up = std::pin::pin!(give_up);
        loop {
            let notified = self.emitted_notify.notified();
            if let Some(e) = lock(&self.emitted).as_ref().filter(|e| e.seq >= seq) {
                return Some((e.lsn, e.reread));
            }
            tokio::select! {
                () = &mut give_up => return None,
                () = notified => {}
                () = tokio::time::sleep(Duration::from_millis(200)) => {}
            }
        }
    }
}

mod task;
pub use task::run;

#[cfg(test)]
mod tests;
