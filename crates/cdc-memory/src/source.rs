//! One memory source: its buffer, its delivery task and what its status reports.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use cdc_core::{SchemaVersion, SharedEvent, SourceConfig, Subscribers};
use time::OffsetDateTime;
use tokio::sync::{Notify, mpsc, watch};
use tokio::task::JoinHandle;

/// What the status of a source reports, besides its state.
#[derive(Default)]
pub(crate) struct Observed {
    pub last_event: Option<OffsetDateTime>,
    pub error: Option<String>,
    pub lag_bytes: Option<i64>,
    pub lag_seconds: Option<i64>,
    pub schema_history: Vec<SchemaVersion>,
}

/// Counters shared by the producers, the delivery task and waiters.
#[derive(Default)]
pub(crate) struct Counters {
    /// Events accepted into the buffer.
    pub injected: AtomicU64,
    /// Events taken out of the buffer and handed to the subscribers (successfully or not).
    pub processed: AtomicU64,
    /// Events on which at least one handler failed.
    pub handler_errors: AtomicU64,
    /// Lines of the events_file / stdin that were skipped (bad JSON, not UTF-8, too long).
    pub skipped: AtomicU64,
    /// Whether the events_file / stdin reader is still running.
    pub input_running: AtomicBool,
    /// Wakes `wait_idle` after each batch and when the input ends.
    pub progress: Notify,
}

pub(crate) struct MemorySource {
    pub config: SourceConfig,
    pub capacity: usize,
    pub subscribers: Subscribers,
    pub tx: mpsc::Sender<SharedEvent>,
    pub paused: watch::Sender<bool>,
    pub shutdown: watch::Sender<bool>,
    /// Stops the `events_file` / stdin reader (set by `close_input` and by disconnect).
    pub input_stop: watch::Sender<bool>,
    /// Set by `drain`: the source is stopping, so a pause no longer holds what it has read.
    pub draining: watch::Sender<bool>,
    pub observed: Mutex<Observed>,
    pub counters: Arc<Counters>,
    pub tasks: Mutex<Vec<JoinHandle<()>>>,
}

impl MemorySource {
    pub fn observed(&self) -> std::sync::MutexGuard<'_, Observed> {
        self.observed.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn is_paused(&self) -> bool {
        *self.paused.borrow()
    }
}

/// Counts live delivery and input tasks of a provider, so tests can prove none is left.
#[derive(Clone, Default)]
pub(crate) struct TaskCounter(Arc<AtomicUsize>);

impl TaskCounter {
    pub fn get(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }

    /// Marks a task as running until the guard is dropped (at its end, or on abort).
    pub fn enter(&self) -> TaskGuard {
        self.0.fetch_add(1, Ordering::SeqCst);
        TaskGuard(Arc::clone(&self.0))
    }
}

pub(crate) struct TaskGuard(Arc<AtomicUsize>);

impl Drop for TaskGuard {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// The delivery loop of one source: takes batches off the buffer and hands them to every
/// subscriber, holding while paused (unless draining). Ends on shutdown after delivering what
/// is buffered (unless paused, when the rest is dropped with a warning: the source is going
/// away without having been drained).
///
/// The watch receivers are made by the caller before the task is spawned: a receiver made
/// inside the task would count a shutdown sent before the task first ran as already seen, and
/// the loop would never end.
pub(crate) async fn deliver_loop(
    source: Arc<MemorySource>,
    mut rx: mpsc::Receiver<SharedEvent>,
    mut paused: watch::Receiver<bool>,
    mut draining: watch::Receiver<bool>,
    mut shutdown: watch::Receiver<bool>,
    _guard: TaskGuard,
) {
    // Batches grow up to the capacity as needed (the capacity may be large).
    let mut batch: Vec<SharedEvent> = Vec::new();
    loop {
        // Hold while paused; events stay in the buffer (producers wait when it is full).
        while *paused.borrow_and_update() && !*draining.borrow_and_update() {
            if *shutdown.borrow() {
                return;
            }
            tokio::select! {
                r = paused.changed() => if r.is_err() { return },
                r = draining.changed() => if r.is_err() { return },
                _ = shutdown.changed() => {
                    let left = rx.len();
                    if left > 0 {
                        tracing::warn!(source_id = %source.config.source_id, left,
                            "memory source disconnected while paused: buffered events dropped");
                    }
                    return;
                }
            }
        }
        let n = tokio::select! {
            biased;
            _ = async {}, if *shutdown.borrow_and_update() => {
                rx.close();
                rx.recv_many(&mut batch, usize::MAX).await
            }
            n = rx.recv_many(&mut batch, source.capacity) => n,
            _ = shutdown.changed() => {
                // Drain what is buffered, then stop.
                rx.close();
                rx.recv_many(&mut batch, usize::MAX).await
            }
        };
        if n == 0 {
            return; // closed and empty
        }
        deliver_batch(&source, &batch).await;
        batch.clear();
        if *shutdown.borrow() && rx.is_empty() {
            return;
        }
    }
}

async fn deliver_batch(source: &MemorySource, batch: &[SharedEvent]) {
    let result = source.subscribers.deliver(batch).await;
    let now = OffsetDateTime::now_utc();
    {
        let mut obs = source.observed();
        obs.last_event = Some(now);
        if let Err(failure) = &result {
            // The memory provider has no position to hold back: it records the failure and
            // goes on with the next batch (documented policy).
            obs.error = Some(failure.to_string());
        }
    }
    if let Err(failure) = result {
        let failed = (batch.len() - failure.handled) as u64;
        source
            .counters
            .handler_errors
            .fetch_add(failed.max(1), Ordering::Relaxed);
        tracing::warn!(source_id = %source.config.source_id, error = %failure, "handler failed");
    }
    source
        .counters
        .processed
        .fetch_add(batch.len() as u64, Ordering::SeqCst);
    source.counters.progress.notify_waiters();
}
