//! One shard's reading loop: take an iterator (after the checkpoint), `GetRecords`, decode,
//! deliver, checkpoint, until the shard is read to its end or the consumer stops.

use std::sync::Arc;
use std::time::SystemTime;

use aws_sdk_kinesis::types::ShardIteratorType;
use cdc_core::SharedEvent;

use super::Ctx;
use super::batch::{Batch, decode_batch};
use super::start::{Start, next_start};
use crate::aws::describe_error;

/// How a shard's loop ended (a panic aside).
#[derive(Debug, PartialEq)]
pub(super) enum ShardExit {
    /// The shard is closed and read to its end.
    Finished,
    /// The consumer was stopped.
    Stopped,
    /// The loop stopped before a record it cannot deliver; why. The supervisor restarts it.
    Halted(String),
}

async fn shard_iterator(ctx: &Ctx, shard: &str) -> Result<Option<String>, String> {
    let req = ctx
        .client
        .get_shard_iterator()
        .stream_arn(&ctx.settings.stream_arn)
        .shard_id(shard);
    let mut latest_since = ctx.latest_since(shard);
    let start = next_start(
        ctx.delivery.checkpoint(shard),
        ctx.settings.start,
        &mut latest_since,
        SystemTime::now(),
    );
    if let Some(t) = latest_since {
        ctx.set_latest_since(shard, t);
    }
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
        .map_err(|e| describe_error(&e, ctx.client.config().timeout_config()))?;
    Ok(out.shard_iterator().map(str::to_owned))
}

/// Reads one shard to its end (or until stopped), delivering as it goes. A loop started
/// again for the same shard (after a panic or a halt) resumes after its checkpoint.
pub(super) async fn read_shard(ctx: Arc<Ctx>, shard: String) -> ShardExit {
    let mut iterator: Option<String> = None;
    loop {
        if ctx.cancel.is_cancelled() {
            return ShardExit::Stopped;
        }
        if ctx.subscribers.is_empty() || ctx.delivery.is_held() {
            if !ctx.pause(ctx.settings.poll_interval).await {
                return ShardExit::Stopped;
            }
            continue;
        }
        let it = match iterator.take() {
            Some(it) => it,
            None => match shard_iterator(&ctx, &shard).await {
                Ok(Some(it)) => it,
                Ok(None) => {
                    ctx.finish(&shard);
                    return ShardExit::Finished;
                }
                Err(e) => {
                    ctx.delivery
                        .failed(format!("GetShardIterator on shard {shard}: {e}"));
                    if !ctx.pause(ctx.settings.retry_backoff).await {
                        return ShardExit::Stopped;
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
                    describe_error(&e, ctx.client.config().timeout_config())
                ));
                if !ctx.pause(ctx.settings.retry_backoff).await {
                    return ShardExit::Stopped;
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
            return ShardExit::Stopped;
        }
        if let Some(message) = poison {
            // Reported by the supervisor, which tries the shard again later (still stopping
            // before the record unless it reads differently then).
            return ShardExit::Halted(message);
        }
        // A whole round went through: a shard restarted after its loop went down is read again.
        ctx.delivery.shard_up(&shard);

        match out.next_shard_iterator() {
            None => {
                // The shard was closed (resharding) and is read to its end.
                ctx.finish(&shard);
                return ShardExit::Finished;
            }
            Some(next) => iterator = Some(next.to_owned()),
        }
        let caught_up = out.records().is_empty() || out.millis_behind_latest() == Some(0);
        if caught_up && !ctx.pause(ctx.settings.poll_interval).await {
            return ShardExit::Stopped;
        }
    }
}

/// Delivers `events` until every handler took them all, checkpointing as far as they got.
/// Returns `false` when the consumer was stopped first.
pub(super) async fn deliver(
    ctx: &Ctx,
    shard: &str,
    events: &[SharedEvent],
    sequences: &[&str],
) -> bool {
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
