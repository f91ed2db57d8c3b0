//! Typed options of a memory source (from `SourceConfig::options`), with their ranges.

use std::path::PathBuf;

use cdc_core::{CdcError, SourceConfig};
use serde::Deserialize;

/// Default buffer capacity per source.
pub const DEFAULT_CAPACITY: usize = 256;
/// Largest `capacity`: the buffer is allocated up front, one slot per event.
pub const MAX_CAPACITY: usize = 1_000_000;
/// Default `max_line_bytes` of an `events_file`.
pub const DEFAULT_MAX_LINE_BYTES: usize = cdc_core::event::DEFAULT_MAX_LINE_BYTES;
/// Smallest `max_line_bytes`.
pub const MIN_MAX_LINE_BYTES: usize = 64;
/// Largest `max_line_bytes`: what one line may cost in memory.
pub const MAX_MAX_LINE_BYTES: usize = 64 << 20;

/// Options of a memory source.
///
/// | option | range | default |
/// |---|---|---|
/// | `capacity` | 1 ..= 1 000 000 events | 256 |
/// | `max_line_bytes` | 64 ..= 67 108 864 bytes | 1 048 576 |
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MemoryOptions {
    /// Events buffered before `inject` waits (`try_inject` fails). 1 to [`MAX_CAPACITY`].
    #[serde(default = "default_capacity")]
    pub capacity: usize,
    /// A JSON Lines file of events read at connect (`-` for stdin): one event a line, Go-style
    /// (`{"op": "INSERT", "table": "public.orders", "after": {...}}`) or `ChangeEvent` JSON.
    /// A bad line (not JSON, not an event, not UTF-8, too long) is skipped, reported with its
    /// number and counted (status `details.skipped_lines`).
    #[serde(default)]
    pub events_file: Option<PathBuf>,
    /// Longest line of `events_file` read; a longer one is skipped without being kept in
    /// memory. [`MIN_MAX_LINE_BYTES`] to [`MAX_MAX_LINE_BYTES`].
    #[serde(default = "default_max_line_bytes")]
    pub max_line_bytes: usize,
    /// Connect paused: nothing is delivered until [`Pausable::resume`](cdc_core::Pausable)
    /// is called, so handlers can subscribe before the first event of `events_file` flows.
    #[serde(default)]
    pub start_paused: bool,
}

fn default_capacity() -> usize {
    DEFAULT_CAPACITY
}

fn default_max_line_bytes() -> usize {
    DEFAULT_MAX_LINE_BYTES
}

impl Default for MemoryOptions {
    fn default() -> Self {
        Self {
            capacity: DEFAULT_CAPACITY,
            events_file: None,
            max_line_bytes: DEFAULT_MAX_LINE_BYTES,
            start_paused: false,
        }
    }
}

impl MemoryOptions {
    /// Reads and checks the options of `config`: every number in its range, the events file
    /// readable. What `connect` does first, and what a `cdc validate` checks.
    pub fn from_config(config: &SourceConfig) -> Result<Self, CdcError> {
        let options: Self = config.typed_options()?;
        let invalid = |field: &str, message: String| CdcError::InvalidConfig {
            field: format!("options.{field} (source {:?})", config.source_id),
            message,
        };
        if !(1..=MAX_CAPACITY).contains(&options.capacity) {
            return Err(invalid(
                "capacity",
                format!(
                    "{} is outside 1..={MAX_CAPACITY} (events buffered per source)",
                    options.capacity
                ),
            ));
        }
        if !(MIN_MAX_LINE_BYTES..=MAX_MAX_LINE_BYTES).contains(&options.max_line_bytes) {
            return Err(invalid(
                "max_line_bytes",
                format!(
                    "{} is outside {MIN_MAX_LINE_BYTES}..={MAX_MAX_LINE_BYTES}",
                    options.max_line_bytes
                ),
            ));
        }
        if let Some(path) = &options.events_file
            && path.as_os_str() != "-"
            && !path.is_file()
        {
            return Err(invalid(
                "events_file",
                format!("{} is not a readable file", path.display()),
            ));
        }
        Ok(options)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn config(options: serde_json::Value) -> SourceConfig {
        SourceConfig::from_value(
            json!({"provider": "memory", "source_id": "m", "options": options}),
        )
        .unwrap()
    }

    #[test]
    fn every_number_has_a_range() {
        for (options, field) in [
            (json!({"capacity": 0}), "options.capacity"),
            (
                json!({"capacity": 18446744073709551615u64}),
                "options.capacity",
            ),
            (json!({"capacity": 1000000000000u64}), "options.capacity"),
            (json!({"max_line_bytes": 1}), "options.max_line_bytes"),
            (
                json!({"max_line_bytes": 1u64 << 40}),
                "options.max_line_bytes",
            ),
            (json!({"capacity": -1}), "options.capacity"),
        ] {
            let err = MemoryOptions::from_config(&config(options.clone()))
                .unwrap_err()
                .to_string();
            assert!(err.contains(field), "{options}: {err}");
        }
        let ok = MemoryOptions::from_config(&config(json!({"capacity": MAX_CAPACITY}))).unwrap();
        assert_eq!(ok.capacity, MAX_CAPACITY);
    }
}
