//! The documented range of every number of [`BentoOptions`], checked before a config is
//! generated (so by `cdc validate` too): nothing later overflows a timer or a buffer.
//!
//! | option | range |
//! |---|---|
//! | `max_changes_per_poll` | 1 ..= 1 000 000 |
//! | `restart_backoff_initial_ms`, `restart_backoff_max_ms` | 1 ..= 3 600 000 (an hour), max ≥ initial |
//! | `stderr_tail_lines` | 1 ..= 10 000 |
//! | `poll_interval` | 1ms ..= 24h |

use super::BentoOptions;
use super::duration::go_duration_secs;

/// `(option, min, max)` of the whole-number options.
pub const OPTION_RANGES: &[(&str, u64, u64)] = &[
    ("max_changes_per_poll", 1, 1_000_000),
    ("restart_backoff_initial_ms", 1, 3_600_000),
    ("restart_backoff_max_ms", 1, 3_600_000),
    ("stderr_tail_lines", 1, 10_000),
];

/// Shortest `poll_interval`, in seconds: a slot read faster is a busy loop, and Go reads a
/// duration under 1ns (`0.1ns`) as zero.
pub const MIN_POLL_INTERVAL_SECS: f64 = 0.001;
/// Longest `poll_interval`, in seconds.
pub const MAX_POLL_INTERVAL_SECS: f64 = 86_400.0;

impl BentoOptions {
    /// The first option out of its range, as `(field, message)`.
    pub fn check_ranges(&self) -> Result<(), (String, String)> {
        let values = [
            u64::from(self.max_changes_per_poll),
            self.restart_backoff_initial_ms,
            self.restart_backoff_max_ms,
            self.stderr_tail_lines as u64,
        ];
        for (&(field, min, max), v) in OPTION_RANGES.iter().zip(values) {
            if !(min..=max).contains(&v) {
                return Err((
                    format!("options.{field}"),
                    format!("{v} is outside {min}..={max}"),
                ));
            }
        }
        if self.restart_backoff_max_ms < self.restart_backoff_initial_ms {
            return Err((
                "options.restart_backoff_max_ms".into(),
                format!(
                    "{} is below options.restart_backoff_initial_ms ({}): the delay starts there and grows up to this",
                    self.restart_backoff_max_ms, self.restart_backoff_initial_ms
                ),
            ));
        }
        let field = || "options.poll_interval".to_owned();
        let secs = go_duration_secs(&self.poll_interval).map_err(|m| (field(), m))?;
        if secs < MIN_POLL_INTERVAL_SECS {
            return Err((
                field(),
                format!("{:?} is shorter than 1ms", self.poll_interval),
            ));
        }
        if secs > MAX_POLL_INTERVAL_SECS {
            return Err((
                field(),
                format!("{:?} is longer than 24h", self.poll_interval),
            ));
        }
        Ok(())
    }
}
