//! From Bento's stdout lines to delivered batches: lines are read into a pending batch, the
//! batch is handed to the subscribers and, when a handler fails, handed again (what the
//! handlers already took is not) after a capped backoff, never skipped. The pending batch
//! outlives the process: after a pause or a restart it is delivered first.
//!
//! For the PostgreSQL stream the provider acknowledges (`SlotRead::Peek`), lines carry their
//! slot position: a poll's repeats of rows already read are dropped here, and the commit
//! position of the last transaction every handler succeeded on is sent to the provider,
//! which advances the slot there. An undecodable line stops the acknowledgements (the slot
//! keeps it, and everything after it, for the next run) and says so in the status.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use cdc_core::{SharedEvent, SourceState, Subscribers};
use time::OffsetDateTime;
use tokio::sync::watch;

use super::{Report, Wanted};
use crate::generate::NormalizedEvent;
use crate::generate::mapping::format_lsn;

/// At most this many events per batch.
pub(super) const BATCH_MAX: usize = 500;
/// First wait before a failed batch is handed again.
const RETRY_INITIAL: Duration = Duration::from_millis(100);
/// Longest wait between two tries of a failed batch.
const RETRY_MAX: Duration = Duration::from_secs(5);

fn set(report: &Mutex<Report>, f: impl FnOnce(&mut Report)) {
    f(&mut report.lock().unwrap_or_else(|p| p.into_inner()));
}

/// Events read and not yet handled by every handler, and what their success acknowledges.
pub(super) struct Pending {
    /// Where acknowledged commit positions go (the PostgreSQL stream the provider advances);
    /// `None` for the streams nothing is acknowledged to.
    acks: Option<watch::Sender<u64>>,
    events: Vec<SharedEvent>,
    /// Commit lines read, in order: how many of `events` come before each, and its position.
    /// Once the handlers took those events, the commit is acknowledged.
    commits: Vec<(usize, u64)>,
    /// The slot position of the last row read (rows up to it that come again are repeats).
    read_through: Option<(u64, u64)>,
    /// Set by an undecodable line: nothing is acknowledged any more.
    blocked: bool,
}

/// How a delivery ended.
pub(super) enum Delivered {
    /// Every pending event was handled by every handler.
    All,
    /// The owner wants the process paused or stopped; the rest stays pending.
    Interrupted,
}

impl Pending {
    /// Nothing pending yet; commits acknowledged to `acks`, if any.
    pub(super) fn new(acks: Option<watch::Sender<u64>>) -> Self {
        Self {
            acks,
            events: Vec::new(),
            commits: Vec::new(),
            read_through: None,
            blocked: false,
        }
    }

    /// Whether the batch is full.
    pub(super) fn is_full(&self) -> bool {
        self.events.len() >= BATCH_MAX
    }

    /// Takes one stdout line: an event, a commit marker, a repeat (dropped), or a line that
    /// is not an event (counted, and shown in the status).
    pub(super) fn take_line(&mut self, source_id: &str, line: &str, report: &Mutex<Report>) {
        if line.trim().is_empty() {
            return;
        }
        let read = NormalizedEvent::from_json_line(line).and_then(|n| {
            let position = n.slot_position()?;
            if let (Some(p), Some(seen)) = (position, self.read_through)
                && p <= seen
            {
                return Ok(Line::Repeat);
            }
            if n.is_commit() {
                return match position {
                    Some((lsn, _)) => Ok(Line::Commit(lsn, position)),
                    None => Err("a commit line without its commit_lsn and seq".into()),
                };
            }
            n.into_change_event(source_id)
                .map(|e| Line::Event(Arc::new(e), position))
        });
        match read {
            Ok(Line::Repeat) => set(report, |r| r.repeats_dropped += 1),
            Ok(Line::Commit(lsn, position)) => {
                self.commits.push((self.events.len(), lsn));
                self.read_through = position;
            }
            Ok(Line::Event(e, position)) => {
                self.events.push(e);
                if position.is_some() {
                    self.read_through = position;
                }
            }
            Err(msg) => {
                let shown: String = line.chars().take(200).collect();
                tracing::warn!(source_id, line = %shown, %msg, "bento stdout line is not an event");
                // On a stream that acknowledges, from its very first line: a row that
                // cannot be read must not be acknowledged past.
                let acknowledging = self.acks.is_some();
                if acknowledging && !self.blocked {
                    self.blocked = true;
                    tracing::error!(
                        source_id,
                        "an undecodable line: the slot is no longer advanced, so that it is read again"
                    );
                }
                set(report, |r| {
                    r.undecodable_lines += 1;
                    r.last_undecodable = Some(format!("{msg}: {shown}"));
                    if acknowledging {
                        r.ack_blocked = Some(format!(
                            "the slot is no longer advanced (it stays at {}) after a line that \
                             is not an event: {msg}",
                            r.acknowledged_lsn
                                .map(format_lsn)
                                .unwrap_or_else(|| "its position".into())
                        ));
                    }
                });
            }
        }
    }

    /// Hands the pending events to the subscribers until every handler took them all,
    /// acknowledging each commit once the events before it were taken. A failure is retried
    /// from the first event not taken, after a capped backoff (the status says why
    /// meanwhile); a change of the owner's wish interrupts the wait.
    pub(super) async fn deliver(
        &mut self,
        subscribers: &Subscribers,
        wanted: &mut watch::Receiver<Wanted>,
        report: &Mutex<Report>,
    ) -> Delivered {
        let mut wait = RETRY_INITIAL;
        loop {
            // Commits whose events are all taken (all of them when there are no events).
            self.acknowledge(0, report);
            if self.events.is_empty() {
                return Delivered::All;
            }
            if !wait_for_listener(subscribers, wanted).await {
                return Delivered::Interrupted;
            }
            let result = subscribers.deliver(&self.events).await;
            let handled = match &result {
                Ok(()) => self.events.len(),
                Err(failure) => failure.handled.min(self.events.len()),
            };
            self.events.drain(..handled);
            self.acknowledge(handled, report);
            set(report, |r| {
                r.events += handled as u64;
                if handled > 0 {
                    r.last_event = Some(OffsetDateTime::now_utc());
                }
            });
            let Err(failure) = result else {
                set(report, |r| {
                    if r.delivery_failing {
                        r.delivery_failing = false;
                        r.state = SourceState::Running;
                        r.error = None;
                    }
                });
                continue;
            };
            let text = failure.to_string();
            tracing::warn!(source_id = %subscribers.source_id(), error = %text, ?wait,
                "bento: a handler failed; the rest of the batch is delivered again");
            set(report, |r| {
                r.handler_errors += 1;
                r.last_handler_error = Some(text.clone());
                r.delivery_failing = true;
                r.state = SourceState::Error;
                r.error = Some(format!(
                    "a handler failed; its events are delivered again: {text}"
                ));
            });
            if !sleep_or_change(wanted, wait).await {
                return Delivered::Interrupted;
            }
            wait = (wait * 2).min(RETRY_MAX);
        }
    }

    /// After `handled` events were taken off the front: acknowledges the last commit with
    /// no event left before it, and renumbers the others.
    fn acknowledge(&mut self, handled: usize, report: &Mutex<Report>) {
        let done = self
            .commits
            .iter()
            .take_while(|(before, _)| *before <= handled)
            .count();
        let last = self.commits.drain(..done).next_back().map(|(_, lsn)| lsn);
        for (before, _) in &mut self.commits {
            *before -= handled;
        }
        if let Some(lsn) = last
            && !self.blocked
            && let Some(acks) = &self.acks
        {
            acks.send_if_modified(|current| {
                let newer = lsn > *current;
                if newer {
                    *current = lsn;
                }
                newer
            });
            set(report, |r| r.acknowledged_lsn = Some(lsn));
        }
    }
}

enum Line {
    Event(SharedEvent, Option<(u64, u64)>),
    Commit(u64, Option<(u64, u64)>),
    Repeat,
}

/// Sleeps `delay`; returns false early when the owner's wish changed away from `Run`.
pub(super) async fn sleep_or_change(wanted: &mut watch::Receiver<Wanted>, delay: Duration) -> bool {
    let sleep = tokio::time::sleep(delay);
    tokio::pin!(sleep);
    loop {
        tokio::select! {
            _ = &mut sleep => return true,
            changed = wanted.changed() => {
                if changed.is_err() || *wanted.borrow() != Wanted::Run {
                    return false;
                }
            }
        }
    }
}

/// Holds the events read from Bento until a handler listens: Bento's stdout takes nothing
/// back, so an event handed to nobody (say, output printed before the first subscribe) would
/// be lost. Returns false when the owner wants the process paused or stopped meanwhile.
async fn wait_for_listener(
    subscribers: &Subscribers,
    wanted: &mut watch::Receiver<Wanted>,
) -> bool {
    while subscribers.is_empty() {
        tokio::select! {
            _ = subscribers.wait_for_subscriber() => {}
            changed = wanted.changed() => {
                if changed.is_err() || *wanted.borrow() != Wanted::Run {
                    return false;
                }
            }
        }
    }
    true
}

#[cfg(test)]
#[path = "delivery_tests.rs"]
mod tests;
