//! Per-source counters of `cdc run`: events seen, snapshot rows per table. Fed by one
//! subscription per source, read by the periodic summary and the final report.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use cdc::{EventHandler, Operation, SharedEvent, handler_fn};

/// Counters of one source.
#[derive(Debug, Default)]
pub struct SourceStats {
    events: AtomicU64,
    snapshot_rows: Mutex<BTreeMap<String, u64>>,
    last_reported: AtomicU64,
}

impl SourceStats {
    /// A handler that counts every event of the source.
    pub fn handler(self: &Arc<Self>) -> Arc<dyn EventHandler> {
        let stats = Arc::clone(self);
        handler_fn(move |event: SharedEvent| {
            let stats = Arc::clone(&stats);
            async move {
                stats.events.fetch_add(1, Ordering::Relaxed);
                if event.operation == Operation::SnapshotRead {
                    *stats
                        .snapshot_rows
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .entry(event.qualified_table())
                        .or_default() += 1;
                }
                Ok(())
            }
        })
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

    /// Snapshot rows per table so far.
    pub fn snapshot_rows(&self) -> BTreeMap<String, u64> {
        self.snapshot_rows
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}
