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
//!
//! Event positions are `shard-id:sequence-number`.

mod batch;
mod start;
#[cfg(test)]
mod tests;

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use aws_sdk_kinesis::Client;
use aws_sdk_kinesis::error::DisplayErrorContext;
use aws_sdk_kinesis::types::{Shard, ShardIteratorType};
use cdc_core::{SharedEvent, Subscribers};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::config::KinesisSettings;
use crate::delivery::DeliveryState;
use crate::record::DmsRecordDecoder;
use batch::{Batch, decode_batch};
use start::{Start, next_start};

/// How often shards are listed again to find new ones, in poll intervals.
const SHARD_REFRESH_POLLS: u32 = 10;

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
    finished: Mutex<HashSet<String>>,
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
    }

    /// Sleeps, or returns `false` at once when the consumer is stopped.
    async fn pause(&self, d: Duration) -> bool {
        tokio::select! {
            _ = self.cancel.cancelled() => false,
            _ = tokio::time::sleep(d) => true,
        }
    }
}

async fn supervise(ctx: Arc<Ctx>) {
    let mut started: HashSet<String> = HashSet::new();
    let mut loops = JoinSet::new();
    loop {
        match list_shards(&ctx).await {
            Ok(shards) => {
                let listed: HashSet<&str> = shards.iter().map(Shard::shard_id).collect();
                for shard in &shards {
                    let id = shard.shard_id();
                    if started.contains(id) {
                        continue;
                    }
                    // A child waits until the parents still in the stream are read to the end.
                    let parents_done = [shard.parent_shard_id(), shard.adjacent_parent_shard_id()]
                        .into_iter()
                        .flatten()
                        .all(|p| !listed.contains(p) || ctx.is_finished(p));
                    if !parents_done {
                        continue;
                    }
                    started.insert(id.to_owned());
                    loops.spawn(read_shard(Arc::clone(&ctx), id.to_owned()));
                }
            }
            Err(e) => ctx.delivery.failed(format!(
                "listing the shards of {}: {e}",
                ctx.settings.stream_arn
            )),
        }
        if !ctx
            .pause(ctx.settings.poll_interval * SHARD_REFRESH_POLLS)
            .await
        {
            break;
        }
    }
    while loops.join_next().await.is_some() {}
}

async fn list_shards(ctx: &Ctx) -> Result<Vec<Shard>, String> {
    let mut shards = Vec::new();
    let mut next: Option<String> = None;
    loop {
        // With a NextToken, Kinesis wants no stream name or ARN.
        let req = match &next {
            Some(token) => ctx.client.list_shards().next_token(token),
            None => ctx
                .client
                .list_shards()
                .stream_arn(&ctx.settings.stream_arn),
        };
        let out = req
            .send()
            .await
            .map_err(|e| DisplayErrorContext(&e).to_string())?;
        shards.extend(out.shards().iter().cloned());
        match out.next_token() {
            Some(t) if !t.is_empty() => next = Some(t.to_owned()),
            _ => return Ok(shards),
        }
    }
}

async fn shard_iterator(
    ctx: &Ctx,
    shard: &str,
    latest_since: &mut Option<SystemTime>,
) -> Result<Option<String>, String> {
    let req = ctx
        .client
        .get_shard_iterator()
        .stream_arn(&ctx.settings.stream_arn)
        .shard_id(shard);
    let start = next_start(
        ctx.delivery.checkpoint(shard),
        ctx.settings.start,
        latest_since,
        SystemTime::now(),
    );
    let req = match start {
        Start::After(seq) => req
            .shard_iterator_type(ShardIteratorType::AfterSequenceNumber)
            .starting_sequence_number(seq),
        Start::TrimHorizon => req.shard_iterator_type(ShardIteratorType::TrimHorizon),
        Start::Latest => req.shard_iterator_type(ShardIteratorType::Latest),
        Start::Since(t) => req
            .shard_iterator_type(ShardIteratorType::AtTimestamp)
            .timestamp(aws_smithy_types::DateTime::from(t)),
    };
    let out = req
        .send()
        .await
        .map_err(|e| DisplayErrorContext(&e).to_string())?;
    Ok(out.shard_iterator().map(str::to_owned))
}

/// Reads one shard to its end (or until stopped), delivering as it goes.
async fn read_shard(ctx: Arc<Ctx>, shard: String) {
    let sid = ctx.source_id().to_owned();
    let mut iterator: Option<String> = None;
    let mut latest_since: Option<SystemTime> = None;
    loop {
        if ctx.cancel.is_cancelled() {
            return;
        }
        if ctx.subscribers.is_empty() || ctx.delivery.is_held() {
            if !ctx.pause(ctx.settings.poll_interval).await {
                return;
            }
            continue;
        }
        let it = match iterator.take() {
            Some(it) => it,
            None => match shard_iterator(&ctx, &shard, &mut latest_since).await {
                Ok(Some(it)) => it,
                Ok(None) => {
                    ctx.finish(&shard);
                    return;
                }
                Err(e) => {
                    ctx.delivery
                        .failed(format!("GetShardIterator on shard {shard}: {e}"));
                    if !ctx.pause(ctx.settings.retry_backoff).await {
                        return;
                    }
                    continue;
                }
            },
        };
        let out = match ctx
            .client
            .get_records()
            .stream_arn(&ctx.settings.stream_arn)
            .shard_iterator(&it)
            .limit(ctx.settings.max_records)
            .send()
            .await
        {
            Ok(out) => out,
            Err(e) => {
                // The iterator may have expired; the next round starts again from the checkpoint.
                ctx.delivery.failed(format!(
                    "GetRecords on shard {shard}: {}",
                    DisplayErrorContext(&e)
                ));
                if !ctx.pause(ctx.settings.retry_backoff).await {
                    return;
                }
                continue;
            }
        };
        if let Some(ms) = out.millis_behind_latest() {
            ctx.delivery.behind(&shard, ms);
        }

        let Batch {
            events,
            sequences,
            poison,
        } = decode_batch(&ctx.decoder, &shard, out.records());

        if !deliver(&ctx, &shard, &events, &sequences).await {
            return;
        }
        if let Some(message) = poison {
            tracing::error!(source_id = %sid, "{message}");
            ctx.delivery.failed(message);
            return;
        }

        match out.next_shard_iterator() {
            None => {
                // The shard was closed (resharding) and is read to its end.
                ctx.finish(&shard);
                return;
            }
            Some(next) => iterator = Some(next.to_owned()),
        }
        let caught_up = out.records().is_empty() || out.millis_behind_latest() == Some(0);
        if caught_up && !ctx.pause(ctx.settings.poll_interval).await {
            return;
        }
    }
}

/// Delivers `events` until every handler took them all, checkpointing as far as they got.
/// Returns `false` when the consumer was stopped first.
async fn deliver(ctx: &Ctx, shard: &str, events: &[SharedEvent], sequences: &[&str]) -> bool {
    let mut done = 0;
    while done < events.len() {
        match ctx.subscribers.deliver(&events[done..]).await {
            Ok(()) => {
                ctx.delivery
                    .handled(shard, sequences[events.len() - 1], true);
                return true;
            }
            Err(failure) => {
                // cdc-core caps `handled` at the length of what was delivered.
                if failure.handled > 0 {
                    done += failure.handled;
                    ctx.delivery.handled(shard, sequences[done - 1], false);
                }
                let Some(held_before) = sequences.get(done) else {
                    // Every handler says it handled the whole batch although one failed:
                    // nothing is left to deliver again, and there is no record to name.
                    tracing::warn!(source_id = ctx.source_id(), shard, %failure,
                        "handler failed after handling the whole batch");
                    ctx.delivery.failed(format!("shard {shard}: {failure}"));
                    return true;
                };
                tracing::warn!(source_id = ctx.source_id(), shard, %failure,
                    "handler failed; delivering the rest again after a pause");
                ctx.delivery.failed(format!(
                    "shard {shard}: {failure}; checkpoint held before record {held_before}"
                ));
                if !ctx.pause(ctx.settings.retry_backoff).await {
                    return false;
                }
                if ctx.subscribers.is_empty() {
                    // Every handler went away: keep the rest for the next subscriber.
                    while ctx.subscribers.is_empty() {
                        if !ctx.pause(ctx.settings.poll_interval).await {
                            return false;
                        }
                    }
                }
            }
        }
    }
    true
}
