//! A poll's records on their way to the handlers: grouped by partition (offset order),
//! decoded (`ahead`, while the consumer polls again), handed over, and
//! then, per partition, committed past what every handler took or sought back to the first
//! record that was not.

use rdkafka::consumer::CommitMode;
use rdkafka::message::{BorrowedMessage, Message};
use tracing::{error, warn};

use std::sync::mpsc::{SyncSender, TrySendError};

use cdc_core::SharedEvent;

use super::ahead::{Job, Work};
use super::progress::Tp;
use super::worker::{Worker, lock};
use crate::provider::DebeziumProvider;

/// A poll's records of one partition, in offset order.
pub(super) type Group<'c> = (Tp, Vec<BorrowedMessage<'c>>);

/// A partition's hand-over: records that went through, why it stopped short, whether at an
/// undecodable record, and the commit time of the change it holds back.
type Outcome = (usize, Option<String>, bool, Option<time::OffsetDateTime>);

/// What a hand-over did to the partitions.
#[derive(Debug, Default)]
pub(super) struct HandOver {
    /// Some partition failed (it was sought back to its first record not committable).
    pub failed: bool,
    /// Delivery is paused: every partition of the batch not handed over was sought back to
    /// its first record.
    pub paused: bool,
    /// The partitions sought back: records polled before the seek come again after it.
    pub sought: Vec<Tp>,
}

/// A poll's records grouped by partition, each group in offset order.
pub(super) fn group(batch: Vec<BorrowedMessage<'_>>) -> Vec<Group<'_>> {
    let mut groups: Vec<Group<'_>> = Vec::new();
    for m in batch {
        // A message's topic is a C string measured and checked at each call: asked once.
        let (topic, partition) = (m.topic(), m.partition());
        let at = groups
            .iter()
            .rposition(|((t, p), _)| *p == partition && t == topic);
        match at {
            Some(i) => groups[i].1.push(m),
            None => groups.push(((topic.to_owned(), partition), vec![m])),
        }
    }
    groups
}

impl Worker {
    /// Hands a decoded batch over, partition by partition, and moves each partition's
    /// committable offset past what every handler took; seeks back the rest. The partitions
    /// of `skip` are left out: they were sought back after the batch was polled, and the
    /// seek reads their records again.
    pub(super) fn hand_over<'c>(
        &self,
        job: &Job<'c>,
        skip: &[Tp],
        ahead: Option<&SyncSender<Work<'c>>>,
    ) -> HandOver {
        let kept = |tp: &Tp| !skip.contains(tp);
        let decoded = job.finish().map(|d| {
            d.into_iter()
                .zip(&job.groups)
                .filter(|(_, (tp, _))| kept(tp))
                .map(|(d, _)| d)
                .collect::<Vec<_>>()
        });
        let groups: Vec<&Group<'_>> = job.groups.iter().filter(|(tp, _)| kept(tp)).collect();
        let mut out = HandOver::default();
        if groups.is_empty() {
            // Nothing of it is handed over: it says nothing of delivery (a failure's status
            // stays until a delivery goes through).
            return out;
        }
        let _gate = self.shared.gate.blocking_lock();
        if self.shared.is_paused() {
            // Held: read again from the first of them once resumed.
            for (tp, g) in groups.iter().copied() {
                self.seek(tp, g[0].offset());
                out.sought.push(tp.clone());
            }
            out.paused = true;
            return out;
        }
        let Some(provider) = DebeziumProvider::upgrade(&self.provider) else {
            return out;
        };
        // Delivered events go to the decode-ahead thread to be dropped (here when it is busy
        // or gone).
        let reap = |events: Vec<SharedEvent>| {
            if let Some(tx) = ahead
                && let Err(TrySendError::Full(w) | TrySendError::Disconnected(w)) =
                    tx.try_send(Work::Drop(events))
            {
                drop(w);
            }
        };
        let handed = decoded.and_then(|d| {
            // A handler pausing its source mid-batch: the partitions after its own wait.
            let shared = &self.shared;
            let held = || shared.is_paused();
            let delivery = provider.hand_over_decoded(&self.source_id, d, Some(&reap), &held);
            self.runtime
                .block_on(self.refreshing_lag(self.shared.delivering(delivery)))
                .map_err(|e| e.to_string())
        });
        if let Ok(o) = &handed
            && o.len() < groups.len()
        {
            // Held from inside the hand-over: the partitions not handed over are read again
            // from their first record once resumed (and have no outcome below).
            for (tp, g) in groups[o.len()..].iter().copied() {
                self.seek(tp, g[0].offset());
                out.sought.push(tp.clone());
            }
            out.paused = true;
        }
        let outcomes: Vec<Outcome> = match handed {
            Ok(o) => o
                .into_iter()
                .zip(groups.iter().copied())
                .map(|(o, (_, g))| {
                    let n = o.committable.min(g.len());
                    (
                        n,
                        o.error.map(|e| e.to_string()),
                        o.undecodable && n < g.len(),
                        o.held_commit_time,
                    )
                })
                .collect(),
            Err(e) => groups
                .iter()
                .map(|_| (0, Some(e.clone()), false, None))
                .collect(),
        };
        let mut delivered = 0u64;
        // Partitions whose every record went through: none of them holds a change back now.
        let mut through: Vec<&Tp> = Vec::new();
        for ((tp, g), (n, error, undecodable, held)) in groups.iter().copied().zip(outcomes) {
            // A record that cannot be decoded, skipped when told to: committed past as if
            // delivered, and the rest of the batch read again after it.
            let skip = undecodable && self.skip_undecodable;
            let done = if skip { n + 1 } else { n };
            if done > 0 {
                let next = g[done - 1].offset().saturating_add(1);
                // Only while assigned: a partition revoked meanwhile is its next owner's.
                lock(&self.progress).advance_assigned(tp, next);
            }
            delivered += n as u64;
            if done >= g.len() {
                through.push(tp);
            }
            if skip {
                let text = error.unwrap_or_default();
                let offset = g[n].offset();
                error!(
                    source_id = self.source_id,
                    topic = tp.0,
                    partition = tp.1,
                    offset,
                    error = text,
                    "debezium kafka: undecodable record skipped (options.kafka.on_undecodable: skip)"
                );
                self.shared.update(|v| {
                    v.skipped += 1;
                    v.last_skipped = Some(format!("{}[{}] offset {offset}: {text}", tp.0, tp.1));
                });
                if done < g.len() {
                    self.seek(tp, g[done].offset());
                    out.sought.push(tp.clone());
                }
            } else if n < g.len() {
                out.failed = true;
                let text = error.unwrap_or_else(|| "not delivered".into());
                warn!(
                    source_id = self.source_id,
                    topic = tp.0,
                    partition = tp.1,
                    offset = g[n].offset(),
                    error = text,
                    "debezium kafka: delivery failed; the record is delivered again"
                );
                self.shared.update(|v| {
                    v.delivery_error = Some(format!(
                        "{}[{}] offset {}: {text}",
                        tp.0,
                        tp.1,
                        g[n].offset()
                    ));
                    // The lag grows from the first change held back, heartbeats or not.
                    if let Some(t) = held {
                        v.held.entry(tp.clone()).or_insert(t);
                    }
                });
                self.seek(tp, g[n].offset());
                out.sought.push(tp.clone());
            }
        }
        self.shared.update(|v| {
            v.delivered += delivered;
            if !v.held.is_empty() {
                for tp in through {
                    v.held.remove(tp);
                }
            }
            if !out.failed {
                v.delivery_error = None;
                v.broker_error = None;
            }
        });
        if out.failed || self.commit_due() {
            self.commit(CommitMode::Async);
        }
        out
    }
}
