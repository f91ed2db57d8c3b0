//! The Kinesis target consumer (feature `kinesis`): reads the stream a DMS task writes to and
//! delivers its records, decoded into [`ChangeEvent`](cdc_core::ChangeEvent)s, to the source's
//! subscribers.
//!
//! - Every shard is read by its own loop, so events are delivered in order per shard. Shards
//!   are listed again periodically: new shards (after a resharding) are followed, a child only
//!   once its parents are read to their end.
//! - A shard starts after its checkpoint (`AFTER_SEQUENCE_NUMBER`) when it has one, else at
//!   `TRIM_HORIZON` or `LATEST` as configured. A `LATEST` shard whose iterator is lost before
//!   its first checkpoint starts again `AT_TIMESTAMP` of its first iterator (less a few
//!   seconds of clock slack), not at a new `LATEST` that would skip what came in between.
//! - Nothing is read while the source has no subscriber (records would be checkpointed with
//!   nobody having seen them) or while it is paused (pause relieves backpressure: the backlog
//!   already on the stream waits too).
//! - Failure policy (cdc-core's for positioned providers): the checkpoint moves only past
//!   records every handler succeeded on. After a handler failure the rest of the batch is
//!   delivered again after `kinesis_retry_backoff_ms` (so handlers that succeeded may see
//!   those events again: at-least-once), until it succeeds or the source is disconnected.
//! - A record that cannot be decoded, or comes without a valid sequence number, stops its
//!   shard (the checkpoint stays before it) and is reported in the status: skipping it would
//!   lose a change, and positioning it would make a position up.
//! - A shard's loop that ends before the shard's end (such a record, a panic in a handler or
//!   in this code) is noticed at once: the shard is reported down in the status (naming it,
//!   and the panic) and read again from its checkpoint after a capped backoff, never left
//!   behind. Records after the checkpoint may be delivered again; none are lost.
//!
//! Event positions are `shard-id:sequence-number`.

mod batch;
mod list;
mod read;
mod start;
mod supervise;
#[cfg(test)]
mod tests;

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use aws_sdk_kinesis::Client;
use cdc_core::Subscribers;
use tokio_util::sync::CancellationToken;

use crate::config::KinesisSettings;
use crate::delivery::DeliveryState;
use crate::record::DmsRecordDecoder;
use supervise::supervise;

/// A running consumer; stop it with [`KinesisConsumer::stop`].
pub(crate) struct KinesisConsumer {
    cancel: CancellationToken,
    task: tokio::task::JoinHandle<()>,
}

struct Ctx {
    client: Client,
    settings: KinesisSettings,
    decoder: DmsRecordDecoder,
    subscribers: Subscribers,
    delivery: Arc<DeliveryState>,
    cancel: CancellationToken,
    /// Shards closed and read to their end.
    finished: Mutex<HashSet<String>>,
    /// Shard id → when its first `LATEST` iterator was taken (see [`start::next_start`]).
    /// Kept here, not in the shard's loop, so that a restarted loop of a shard without a
    /// checkpoint yet goes on from there instead of skipping to a new `LATEST`.
    latest_since: Mutex<HashMap<String, SystemTime>>,
}

impl KinesisConsumer {
    /// Starts reading the stream.
    pub(crate) fn spawn(
        client: Client,
        settings: KinesisSettings,
        decoder: DmsRecordDecoder,
        subscribers: Subscribers,
        delivery: Arc<DeliveryState>,
    ) -> Self {
        let cancel = CancellationToken::new();
        let ctx = Arc::new(Ctx {
            client,
            settings,
            decoder,
            subscribers,
            delivery,
            cancel: cancel.clone(),
            finished: Mutex::new(HashSet::new()),
            latest_since: Mutex::new(HashMap::new()),
        });
        let task = tokio::spawn(supervise(ctx));
        Self { cancel, task }
    }

    /// Stops reading and waits for the shard loops to end (a batch being delivered finishes).
    pub(crate) async fn stop(self) {
        self.cancel.cancel();
        if let Err(e) = self.task.await
            && e.is_panic()
        {
            tracing::error!("Kinesis consumer panicked: {e}");
        }
    }
}

impl Ctx {
    fn source_id(&self) -> &str {
        self.subscribers.source_id()
    }

    fn is_finished(&self, shard: &str) -> bool {
        self.finished
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .contains(shard)
    }

    fn finish(&self, shard: &str) {
        self.finished
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(shard.to_owned());
        self.delivery.shard_up(shard);
    }

    /// When the first `LATEST` iterator of `shard` was taken, if one was.
    fn latest_since(&self, shard: &str) -> Option<SystemTime> {
        self.latest_since
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(shard)
            .copied()
    }

    fn set_latest_since(&self, shard: &str, t: SystemTime) {
        self.latest_since
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(shard.to_owned())
            .or_insert(t);
    }

    /// Sleeps, or returns `false` at once when the consumer is stopped.
    async fn pause(&self, d: Duration) -> bool {
        tokio::select! {
            _ = self.cancel.cancelled() => false,
            _ = tokio::time::sleep(d) => true,
        }
    }
}
