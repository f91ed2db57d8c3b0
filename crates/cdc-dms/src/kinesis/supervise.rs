//! The supervisor: starts a loop per shard (a child once its parents are read to their end),
//! lists the shards again periodically, and notices every loop that ends as it ends. A loop
//! that ends before its shard's end (it panicked, or halted before a record it cannot
//! deliver) while the consumer runs is reported and started again after a capped backoff: a
//! shard is never left silently unread.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use aws_sdk_kinesis::types::Shard;
use tokio::task::{Id, JoinError, JoinSet};
use tokio::time::Instant;

use super::Ctx;
use super::list::list_shards;
use super::read::{ShardExit, read_shard};

/// How often shards are listed again to find new ones, in poll intervals.
const SHARD_REFRESH_POLLS: u32 = 10;

/// Longest pause before a shard's loop is started again (unless `kinesis_retry_backoff_ms` is
/// longer): long enough not to hammer Kinesis with a shard that keeps failing, short enough
/// that a shard that recovers is not left behind for long.
const MAX_RESTART_BACKOFF: Duration = Duration::from_secs(60);

/// Runs until the consumer is stopped, then waits for the shard loops to end.
pub(super) async fn supervise(ctx: Arc<Ctx>) {
    let mut s = Supervisor {
        ctx,
        loops: JoinSet::new(),
        shard_of: HashMap::new(),
        started: HashSet::new(),
        failures: HashMap::new(),
    };
    'run: loop {
        if !s.refresh().await {
            break;
        }
        let next_refresh = Instant::now() + s.ctx.settings.poll_interval * SHARD_REFRESH_POLLS;
        loop {
            tokio::select! {
                _ = s.ctx.cancel.cancelled() => break 'run,
                _ = tokio::time::sleep_until(next_refresh) => break,
                // `None` (no loop running) disables this branch until the next round.
                Some(joined) = s.loops.join_next_with_id() => {
                    if s.ended(joined) {
                        // A finished parent may let its children start: list again now.
                        break;
                    }
                }
            }
        }
    }
    while let Some(joined) = s.loops.join_next_with_id().await {
        if let Err(e) = joined
            && e.is_panic()
        {
            let shard = s.shard_of.get(&e.id()).map_or("?", String::as_str);
            tracing::error!(
                source_id = s.ctx.source_id(),
                shard,
                "shard loop panicked while stopping: {}",
                panic_text(e)
            );
        }
    }
}

struct Supervisor {
    ctx: Arc<Ctx>,
    loops: JoinSet<ShardExit>,
    /// Task id → the shard its loop reads. A shard has at most one loop (or restart pending).
    shard_of: HashMap<Id, String>,
    /// Shards with a loop started, running or waiting to restart; finished ones stay here.
    started: HashSet<String>,
    /// Shard → restarts in a row without a successful round in between (for the backoff).
    failures: HashMap<String, u32>,
}

impl Supervisor {
    /// Lists the shards and starts a loop for every new one that may be read. Returns `false`
    /// when the consumer was stopped meanwhile.
    async fn refresh(&mut self) -> bool {
        let ctx = Arc::clone(&self.ctx);
        let listed = tokio::select! {
            _ = ctx.cancel.cancelled() => return false,
            listed = list_shards(&ctx) => listed,
        };
        let shards = match listed {
            Ok(shards) => shards,
            Err(e) => {
                ctx.delivery.failed(e.to_string());
                return true;
            }
        };
        let ids: HashSet<&str> = shards.iter().map(Shard::shard_id).collect();
        for shard in &shards {
            let id = shard.shard_id();
            if self.started.contains(id) {
                continue;
            }
            // A child waits until the parents still in the stream are read to the end.
            let parents_done = [shard.parent_shard_id(), shard.adjacent_parent_shard_id()]
                .into_iter()
                .flatten()
                .all(|p| !ids.contains(p) || ctx.is_finished(p));
            if parents_done {
                self.started.insert(id.to_owned());
                self.spawn(id.to_owned(), Duration::ZERO);
            }
        }
        true
    }

    /// Starts the loop of `shard` after `delay` (cut short when the consumer stops).
    fn spawn(&mut self, shard: String, delay: Duration) {
        let ctx = Arc::clone(&self.ctx);
        let id = shard.clone();
        let handle = self.loops.spawn(async move {
            if !delay.is_zero() && !ctx.pause(delay).await {
                return ShardExit::Stopped;
            }
            read_shard(ctx, id).await
        });
        self.shard_of.insert(handle.id(), shard);
    }

    /// Handles a loop that ended: done when its shard is finished, nothing more when the
    /// consumer is stopping, else reported and started again. Returns whether the shard
    /// finished.
    fn ended(&mut self, joined: Result<(Id, ShardExit), JoinError>) -> bool {
        let (task, outcome) = match joined {
            Ok((task, exit)) => (task, Ok(exit)),
            Err(e) => (e.id(), Err(e)),
        };
        let Some(shard) = self.shard_of.remove(&task) else {
            return false;
        };
        let ctx = Arc::clone(&self.ctx);
        if ctx.is_finished(&shard) {
            self.failures.remove(&shard);
            return true;
        }
        if ctx.cancel.is_cancelled() {
            return false;
        }
        let why = match outcome {
            Err(e) if e.is_panic() => format!("panicked: {}", panic_text(e)),
            Err(_) => "was cancelled".to_owned(),
            Ok(ShardExit::Halted(reason)) => reason,
            // Neither is expected with the shard unfinished and the consumer running; whatever
            // the cause, the shard must not stay unread.
            Ok(ShardExit::Finished | ShardExit::Stopped) => {
                "ended before the end of the shard".to_owned()
            }
        };
        // Still down since the last restart: that one did not get through a round.
        let attempt = if ctx.delivery.is_down(&shard) {
            self.failures.get(&shard).copied().unwrap_or(0) + 1
        } else {
            1
        };
        self.failures.insert(shard.clone(), attempt);
        let backoff = restart_backoff(ctx.settings.retry_backoff, attempt);
        let message = format!(
            "shard {shard}: its reading loop stopped ({why}); reading it again from its \
             checkpoint in {backoff:?} (restart {attempt})"
        );
        tracing::error!(source_id = ctx.source_id(), shard, "{message}");
        ctx.delivery.shard_down(&shard, message);
        self.spawn(shard, backoff);
        false
    }
}

/// The pause before restart number `attempt` (from 1) of a shard: `base`, doubled for each
/// restart in a row, at most [`MAX_RESTART_BACKOFF`] (or `base` when that is longer).
pub(super) fn restart_backoff(base: Duration, attempt: u32) -> Duration {
    let cap = MAX_RESTART_BACKOFF.max(base);
    let factor = 1u32 << attempt.saturating_sub(1).min(16);
    base.saturating_mul(factor).min(cap)
}

/// The text of a panic (`panic!("...")` payloads are `&str` or `String`).
fn panic_text(e: JoinError) -> String {
    match e.try_into_panic() {
        Ok(payload) => match payload.downcast::<String>() {
            Ok(s) => *s,
            Err(payload) => match payload.downcast::<&'static str>() {
                Ok(s) => (*s).to_owned(),
                Err(_) => "a panic without a message".to_owned(),
            },
        },
        Err(e) => e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_restart_backoff_doubles_up_to_its_cap() {
        let base = Duration::from_secs(1);
        let got: Vec<u64> = (1..=9)
            .map(|n| restart_backoff(base, n).as_secs())
            .collect();
        assert_eq!(got, [1, 2, 4, 8, 16, 32, 60, 60, 60]);
        assert_eq!(restart_backoff(base, u32::MAX), MAX_RESTART_BACKOFF);
        // A configured backoff longer than the cap is kept, not cut.
        let long = Duration::from_secs(600);
        assert_eq!(restart_backoff(long, 1), long);
        assert_eq!(restart_backoff(long, 5), long);
    }
}
