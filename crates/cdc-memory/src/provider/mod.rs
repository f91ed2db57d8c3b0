//! [`MemoryProvider`]: the provider and its test-facing API (inject, set_lag, ...).
//!
//! Here: the provider's sources by id and the simulated observations (lag, schema
//! history); injecting events is in `inject`, waiting for delivery and the graceful stop in
//! `drain`, and the `CdcProvider` and `Pausable` impls in `cdc_provider`.

mod cdc_provider;
mod drain;
mod inject;

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, RwLock};

use cdc_core::{CdcError, Result, SchemaVersion};

use crate::source::{MemorySource, TaskCounter};

pub use inject::MemorySender;

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
