//! What the event delivery of a source has done: checkpoints, last event, last failure.
//! Shared by the Kinesis consumer (which writes it) and `status` (which reads it).

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use time::OffsetDateTime;

/// Delivery progress of one source.
#[derive(Debug, Default)]
pub(crate) struct DeliveryState {
    inner: Mutex<Inner>,
    /// Set while the source is paused: nothing new is read or delivered.
    held: AtomicBool,
}

#[derive(Debug, Default, Clone)]
pub(crate) struct Inner {
    /// Shard id → sequence number of the last record every handler succeeded on.
    pub checkpoints: BTreeMap<String, String>,
    /// Shard id → `MillisBehindLatest` of the last `GetRecords`.
    pub millis_behind: BTreeMap<String, i64>,
    /// When events were last handed to the handlers successfully.
    pub last_event: Option<OffsetDateTime>,
    /// The current failure (handler, decoding, Kinesis), cleared by the next success.
    pub error: Option<String>,
    /// The last failure, kept after it cleared.
    pub last_error: Option<String>,
    /// Shard id → why its reading loop is down (it panicked, or ended before the shard's
    /// end), until the restarted loop reads it again. Kept apart from `error`, which another
    /// shard's success clears: a stalled shard must stay visible while it is stalled.
    pub down: BTreeMap<String, String>,
}

impl Inner {
    /// The current failure and every shard that is down, as one message (`None` when all is
    /// well).
    pub(crate) fn error_text(&self) -> Option<String> {
        let mut parts: Vec<&str> = self.error.iter().map(String::as_str).collect();
        for why in self.down.values() {
            if !parts.contains(&why.as_str()) {
                parts.push(why);
            }
        }
        (!parts.is_empty()).then(|| parts.join("; "))
    }
}

impl DeliveryState {
    /// Starts from given checkpoints.
    pub(crate) fn with_checkpoints(checkpoints: BTreeMap<String, String>) -> Self {
        Self {
            inner: Mutex::new(Inner {
                checkpoints,
                ..Inner::default()
            }),
            held: AtomicBool::new(false),
        }
    }

    /// Holds (or releases) delivery while the source is paused.
    pub(crate) fn hold(&self, held: bool) {
        self.held.store(held, Ordering::SeqCst);
    }

    /// Whether delivery is held.
    #[cfg_attr(not(feature = "kinesis"), allow(dead_code))]
    pub(crate) fn is_held(&self) -> bool {
        self.held.load(Ordering::SeqCst)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A copy of everything.
    pub(crate) fn snapshot(&self) -> Inner {
        self.lock().clone()
    }

    /// The checkpoint of a shard.
    #[cfg_attr(not(feature = "kinesis"), allow(dead_code))]
    pub(crate) fn checkpoint(&self, shard: &str) -> Option<String> {
        self.lock().checkpoints.get(shard).cloned()
    }

    /// Records that events up to `sequence` of `shard` were handled by every handler.
    #[cfg_attr(not(feature = "kinesis"), allow(dead_code))]
    pub(crate) fn handled(&self, shard: &str, sequence: &str, clears_error: bool) {
        let mut g = self.lock();
        g.checkpoints.insert(shard.to_owned(), sequence.to_owned());
        g.last_event = Some(OffsetDateTime::now_utc());
        if clears_error {
            g.error = None;
        }
    }

    /// Records the lag of a shard behind the stream's tip.
    #[cfg_attr(not(feature = "kinesis"), allow(dead_code))]
    pub(crate) fn behind(&self, shard: &str, millis: i64) {
        self.lock().millis_behind.insert(shard.to_owned(), millis);
    }

    /// Records a failure.
    #[cfg_attr(not(feature = "kinesis"), allow(dead_code))]
    pub(crate) fn failed(&self, message: String) {
        let mut g = self.lock();
        g.last_error = Some(message.clone());
        g.error = Some(message);
    }

    /// Records that the reading loop of `shard` is down, and why (also as the current failure).
    #[cfg_attr(not(feature = "kinesis"), allow(dead_code))]
    pub(crate) fn shard_down(&self, shard: &str, message: String) {
        let mut g = self.lock();
        g.down.insert(shard.to_owned(), message.clone());
        g.last_error = Some(message.clone());
        g.error = Some(message);
    }

    /// Records that `shard` is read again (or finished): it is no longer down.
    #[cfg_attr(not(feature = "kinesis"), allow(dead_code))]
    pub(crate) fn shard_up(&self, shard: &str) {
        let mut g = self.lock();
        if g.down.remove(shard).is_some() {
            tracing::info!(shard, "shard is read again");
        }
    }

    /// Whether the reading loop of `shard` is down.
    #[cfg_attr(not(feature = "kinesis"), allow(dead_code))]
    pub(crate) fn is_down(&self, shard: &str) -> bool {
        self.lock().down.contains_key(shard)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_shard_that_is_down_stays_in_the_error_after_another_shard_succeeds() {
        let d = DeliveryState::default();
        d.shard_down("shardId-1", "shard shardId-1: its loop panicked".into());
        // Another shard delivers: that clears the current failure, not the stalled shard.
        d.handled("shardId-2", "7", true);
        let s = d.snapshot();
        assert_eq!(s.error, None);
        assert_eq!(
            s.error_text().as_deref(),
            Some("shard shardId-1: its loop panicked")
        );
        d.failed("shard shardId-2: flush failed".into());
        assert_eq!(
            d.snapshot().error_text().as_deref(),
            Some("shard shardId-2: flush failed; shard shardId-1: its loop panicked")
        );
        d.handled("shardId-2", "8", true);
        d.shard_up("shardId-1");
        assert!(!d.is_down("shardId-1"));
        let s = d.snapshot();
        assert_eq!(s.error_text(), None);
        assert_eq!(
            s.last_error.as_deref(),
            Some("shard shardId-2: flush failed")
        );
    }
}
