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
mod persist;
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

pub use persist::{load as load_persisted, save as save_persisted};
use window::Pending;

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

/// A watermark message.
#[derive(Debug, Serialize, Deserialize)]
struct Mark {
    slot: String,
    run: String,
    seq: u64,
    mark: String,
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
    /// The last chunk the stream emitted: sequence number and the LSN of its high mark.
    emitted: Mutex<(u64, Lsn)>,
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
        let nanos = time::OffsetDateTime::now_utc().unix_timestamp_nanos();
        Self {
            queue: Mutex::new((VecDeque::new(), false)),
            wake: Notify::new(),
            window: Mutex::new(None),
            active: AtomicBool::new(false),
            emitted: Mutex::new((0, Lsn::ZERO)),
            emitted_notify: Notify::new(),
            progress: Mutex::new(("idle".into(), BTreeMap::new())),
            run: format!("{:x}-{:x}", std::process::id(), nanos),
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

    /// The stream saw these events while a window may be open.
    pub fn note(&self, events: &[ChangeEvent]) {
        if let Some(p) = lock(&self.window).as_mut() {
            for e in events {
                p.note(e);
            }
        }
    }

    /// A watermark message of `slot` arrived at `lsn`: a low one opens the window, a high
    /// one closes it and returns the rows to emit there.
    pub fn on_watermark(&self, slot: &str, content: &[u8], lsn: Lsn) -> Option<Vec<ChangeEvent>> {
        let mark: Mark = serde_json::from_slice(content).ok()?;
        if mark.slot != slot || mark.run != self.run {
            return None;
        }
        let mut window = lock(&self.window);
        let matches = window.as_ref().is_some_and(|p| p.seq == mark.seq);
        if !matches {
            return None;
        }
        match mark.mark.as_str() {
            "low" => {
                window.as_mut().expect("checked").open();
                None
            }
            "high" if window.as_ref().is_some_and(Pending::is_open) => {
                let pending = window.take().expect("checked");
                // What the stream delivers until the next chunk's window is kept for it
                // (`window` explains why); `active` stays set.
                *window = Some(Pending::between_chunks(
                    &pending.schema,
                    &pending.table,
                    pending.key_cols.clone(),
                ));
                drop(window);
                let rows = pending.close();
                *lock(&self.emitted) = (mark.seq, lsn);
                self.emitted_notify.notify_waiters();
                Some(rows)
            }
            _ => None,
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
        self.active.store(false, Ordering::Relaxed);
    }

    fn mark(&self, slot: &str, seq: u64, mark: &str) -> String {
        serde_json::to_string(&Mark {
            slot: slot.to_owned(),
            run: self.run.clone(),
            seq,
            mark: mark.to_owned(),
        })
        .unwrap_or_default()
    }

    /// Waits until the stream emitted chunk `seq`; the LSN of its high watermark, or `None`
    /// when `give_up` resolves first.
    async fn wait_emitted(
        &self,
        seq: u64,
        give_up: impl std::future::Future<Output = ()>,
    ) -> Option<Lsn> {
        let mut give_up = std::pin::pin!(give_up);
        loop {
            let notified = self.emitted_notify.notified();
            let (done, lsn) = *lock(&self.emitted);
            if done >= seq {
                return Some(lsn);
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
mod tests {
    use super::*;

    fn req(t: &str) -> Request {
        Request {
            tables: vec![t.to_owned()],
            after: None,
        }
    }

    #[test]
    fn a_request_counts_the_one_being_worked_on_between_chunks() {
        let bf = Backfill::default();
        assert_eq!(bf.request(req("public.a")), 0);
        let taken = bf.next_request().expect("queued");
        assert_eq!(taken.tables, ["public.a"]);
        // No chunk window is open (between chunks), yet the taken request is ahead.
        assert!(!bf.is_active());
        assert_eq!(bf.request(req("public.b")), 1);
        assert_eq!(bf.request(req("public.c")), 2);
        bf.finish_request();
        assert_eq!(bf.request(req("public.d")), 2);
        assert_eq!(bf.next_request().unwrap().tables, ["public.b"]);
        assert_eq!(bf.queued().len(), 2);
    }
}
