//! Per-source counters of `cdc run`: events seen, snapshot rows per table. Fed by one
//! subscription per source, read by the periodic summary, the final report and the metrics
//! endpoint (which also gets the received events and batch sizes recorded here).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use cdc::{EventHandler, HandlerError, Operation, SharedEvent};

use crate::serve::metrics::record::SourceMetrics;

/// Counters of one source.
#[derive(Debug)]
pub struct SourceStats {
    events: AtomicU64,
    snapshot_rows: Mutex<BTreeMap<String, u64>>,
    last_reported: AtomicU64,
    snapshot_reported: AtomicU64,
    metrics: SourceMetrics,
}

impl SourceStats {
    /// Counters of `source_id`, with its metric handles registered.
    pub fn new(source_id: &str) -> Self {
        Self {
            events: AtomicU64::new(0),
            snapshot_rows: Mutex::default(),
            last_reported: AtomicU64::new(0),
            snapshot_reported: AtomicU64::new(0),
            metrics: SourceMetrics::new(source_id),
        }
    }

    /// A handler that counts every event of the source.
    pub fn handler(self: &Arc<Self>) -> Arc<dyn EventHandler> {
        Arc::new(Counting(Arc::clone(self)))
    }

    /// Events seen so far.
    pub fn events(&self) -> u64 {
        self.events.load(Ordering::Relaxed)
    }

    /// Events since the last call (for events/s).
    pub fn take_delta(&self) -> u64 {
        let now = self.events();
        now - self.last_reported.swap(now, Ordering::Relaxed)
    }

    /// Snapshot rows (all tables) since the last call, and the rows per table so far (for
    /// rows/s of the snapshot progress).
    pub fn take_snapshot_delta(&self) -> (u64, BTreeMap<String, u64>) {
        let rows = self.snapshot_rows();
        let total: u64 = rows.values().sum();
        let before = self.snapshot_reported.swap(total, Ordering::Relaxed);
        (total.saturating_sub(before), rows)
    }

    /// Snapshot rows per table so far.
    pub fn snapshot_rows(&self) -> BTreeMap<String, u64> {
        self.snapshot_rows
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

/// The counting subscription: a whole batch at a time.
struct Counting(Arc<SourceStats>);

#[async_trait]
impl EventHandler for Counting {
    async fn handle(&self, events: &[SharedEvent]) -> Result<(), HandlerError> {
        let stats = &*self.0;
        stats.metrics.batch(events);
        stats
            .events
            .fetch_add(events.len() as u64, Ordering::Relaxed);
        let mut snapshot = events
            .iter()
            .filter(|e| e.operation == Operation::SnapshotRead)
            .peekable();
        if snapshot.peek().is_some() {
            let mut rows = stats
                .snapshot_rows
                .lock()
                .unwrap_or_else(|p| p.into_inner());
            for e in snapshot {
                *rows.entry(e.qualified_table()).or_default() += 1;
            }
        }
        Ok(())
    }
}
