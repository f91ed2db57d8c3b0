//! Which Kafka Connect failures are transient, and the bounded backoff used to retry them.

use std::time::Duration;

use rand::Rng;
use serde::{Deserialize, Serialize};

use crate::error::{DebeziumError, TransportKind};

/// Bounded exponential backoff with full jitter.
///
/// A request is tried at most `max_attempts` times, and no new attempt starts once
/// `max_elapsed` has passed since the first one.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RetryPolicy {
    /// Attempts in total, including the first (at least 1).
    pub max_attempts: u32,
    /// Backoff before the second attempt, in milliseconds; doubled each time.
    pub initial_backoff_ms: u64,
    /// Cap of one backoff, in milliseconds.
    pub max_backoff_ms: u64,
    /// No attempt starts after this many milliseconds since the first.
    pub max_elapsed_ms: u64,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 6,
            initial_backoff_ms: 250,
            max_backoff_ms: 5_000,
            max_elapsed_ms: 60_000,
        }
    }
}

impl RetryPolicy {
    /// A policy that never retries.
    pub fn none() -> Self {
        Self {
            max_attempts: 1,
            ..Self::default()
        }
    }

    /// The longest time an attempt budget allows (for error messages).
    pub fn max_elapsed(&self) -> Duration {
        Duration::from_millis(self.max_elapsed_ms)
    }

    /// The backoff before attempt `attempt + 1` (`attempt` counts from 1): a random duration
    /// in `[base/2, base]` with `base = min(initial * 2^(attempt-1), max)`. Half of the base
    /// is kept so that retries never hammer a rebalancing worker back to back.
    pub fn backoff(&self, attempt: u32) -> Duration {
        let exp = attempt.saturating_sub(1).min(20);
        let base = self
            .initial_backoff_ms
            .saturating_mul(1u64 << exp)
            .min(self.max_backoff_ms);
        let low = base / 2;
        let ms = if base > low {
            rand::rng().random_range(low..=base)
        } else {
            base
        };
        Duration::from_millis(ms)
    }
}

/// Whether an HTTP error status (and its message) is a transient Kafka Connect failure.
///
/// 409 comes in four kinds: three transient (rebalance underway, no known leader, stale
/// configuration) and "Connector X already exists", which is final. 5xx are transient
/// (a worker request timeout is a 500 "Request timed out"); 429 too.
pub fn is_transient_status(status: u16, message: &str) -> bool {
    match status {
        409 => is_transient_conflict(message),
        429 | 500..=599 => true,
        _ => false,
    }
}

/// The three transient 409 kinds, matched on their documented texts.
fn is_transient_conflict(message: &str) -> bool {
    let m = message.to_ascii_lowercase();
    if m.contains("already exists") {
        return false;
    }
    m.contains("rebalance") || m.contains("no known leader") || m.contains("stale configuration")
}

/// Whether an idempotent request may be retried after this error.
pub(crate) fn retry_idempotent(e: &DebeziumError) -> bool {
    match e {
        // A worker that is starting answers 404 on every path (no `error_code`).
        DebeziumError::Api { status: 404, .. } => e.is_unattributed_not_found(),
        DebeziumError::Api {
            status, message, ..
        } => is_transient_status(*status, message),
        DebeziumError::Transport { .. } => true,
        _ => false,
    }
}

/// Whether a request that is not idempotent may be retried: only when the worker cannot have
/// acted on it (a transient 409 is answered before anything is done; a refused connection
/// never sent the request).
pub(crate) fn retry_non_idempotent(e: &DebeziumError) -> bool {
    match e {
        // A starting worker's 404 is answered before any connector code runs.
        DebeziumError::Api { status: 404, .. } => e.is_unattributed_not_found(),
        DebeziumError::Api {
            status: 409,
            message,
            ..
        } => is_transient_conflict(message),
        DebeziumError::Transport {
            kind: TransportKind::Connect,
            ..
        } => true,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_the_four_conflicts() {
        assert!(is_transient_status(
            409,
            "Cannot complete request momentarily due to no known leader URL, likely because a rebalance was underway."
        ));
        assert!(is_transient_status(
            409,
            "Cannot complete request because of a conflicting operation (e.g. worker rebalance)"
        ));
        assert!(is_transient_status(
            409,
            "Cannot complete request momentarily due to stale configuration (typically caused by a concurrent config change)"
        ));
        assert!(!is_transient_status(409, "Connector pg1 already exists"));
        assert!(is_transient_status(500, "Request timed out"));
        assert!(is_transient_status(503, ""));
        assert!(!is_transient_status(400, "bad config"));
        assert!(!is_transient_status(404, "Connector pg1 not found"));
    }

    #[test]
    fn backoff_is_bounded_and_grows() {
        let p = RetryPolicy {
            max_attempts: 10,
            initial_backoff_ms: 100,
            max_backoff_ms: 1_000,
            max_elapsed_ms: 10_000,
        };
        for attempt in 1..12 {
            let d = p.backoff(attempt).as_millis() as u64;
            let base = (100u64 << (attempt - 1).min(20)).min(1_000);
            assert!(d >= base / 2 && d <= base, "attempt {attempt}: {d} ms");
        }
    }
}
