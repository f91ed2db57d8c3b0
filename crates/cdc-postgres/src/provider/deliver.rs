//! Handing events to the subscribers: held while nobody listens or the source is paused,
//! retried after a failure with a capped backoff, never skipped.
//!
//! ## Failure policy
//! When a handler fails, nothing past the failed event is acknowledged to the server. The
//! events from the first one not handled by every handler are delivered again after a delay
//! (`retry_initial_ms`, doubling up to `retry_max_ms`), for as long as it takes; meanwhile
//! the status is `error` with the handler's message, the reader stops reading (the server
//! keeps the WAL) and the connection stays alive. A handler may therefore see an event more
//! than once; [`crate::decode::PgPosition`] tells repeats apart.

use cdc_core::SharedEvent;
use time::OffsetDateTime;
use tracing::warn;

use super::state::Shared;

/// The source was stopped before the events were delivered.
#[derive(Debug)]
pub struct Stopped;

/// Delivers `events` to every subscriber, in order; returns once all of them took all of
/// them.
pub async fn deliver(shared: &Shared, events: &[SharedEvent]) -> Result<(), Stopped> {
    if events.is_empty() {
        return Ok(());
    }
    let mut start = 0;
    let mut backoff = shared.backoff();
    loop {
        wait_ready(shared).await?;
        match shared.subscribers.deliver(&events[start..]).await {
            Ok(()) => {
                shared.update(|f| {
                    f.last_event = Some(OffsetDateTime::now_utc());
                    f.events += events.len() as u64;
                    f.handler_error = None;
                });
                return Ok(());
            }
            Err(failure) => {
                start += failure.handled;
                let delay = backoff.next_delay();
                let message = format!(
                    "handler failed, delivering again in {} ms (nothing acknowledged past it): {failure}",
                    delay.as_millis()
                );
                warn!(source_id = %shared.source_id, "postgres: {message}");
                shared.update(|f| {
                    f.handler_failures += 1;
                    f.handler_error = Some(message);
                });
                if !shared.sleep(delay).await {
                    return Err(Stopped);
                }
            }
        }
    }
}

/// Waits until a handler listens and the source is not paused.
async fn wait_ready(shared: &Shared) -> Result<(), Stopped> {
    loop {
        if shared.stop.is_cancelled() {
            return Err(Stopped);
        }
        if shared.subscribers.is_empty() {
            // Handing events to nobody would lose them: hold them until someone listens.
            tokio::select! {
                biased;
                () = shared.stop.cancelled() => return Err(Stopped),
                () = shared.subscribers.wait_for_subscriber() => {}
            }
            continue;
        }
        if shared.is_paused() {
            if !shared.wait_unpaused().await {
                return Err(Stopped);
            }
            continue;
        }
        return Ok(());
    }
}
