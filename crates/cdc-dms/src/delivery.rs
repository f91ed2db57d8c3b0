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
}
