//! Typed options of a memory source (from `SourceConfig::options`).

use std::path::PathBuf;

use serde::Deserialize;

/// Default buffer capacity per source.
pub const DEFAULT_CAPACITY: usize = 256;

/// Options of a memory source.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MemoryOptions {
    /// Events buffered before `inject` waits (`try_inject` fails). At least 1.
    #[serde(default = "default_capacity")]
    pub capacity: usize,
    /// A JSON Lines file of events read at connect (`-` for stdin): one event a line, Go-style
    /// (`{"op": "INSERT", "table": "public.orders", "after": {...}}`) or `ChangeEvent` JSON.
    #[serde(default)]
    pub events_file: Option<PathBuf>,
    /// Connect paused: nothing is delivered until [`Pausable::resume`](cdc_core::Pausable)
    /// is called, so handlers can subscribe before the first event of `events_file` flows.
    #[serde(default)]
    pub start_paused: bool,
}

fn default_capacity() -> usize {
    DEFAULT_CAPACITY
}

impl Default for MemoryOptions {
    fn default() -> Self {
        Self {
            capacity: DEFAULT_CAPACITY,
            events_file: None,
            start_paused: false,
        }
    }
}
