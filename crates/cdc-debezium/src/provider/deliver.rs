//! Transport-neutral delivery: a transport (a Kafka consumer, a test) hands over records;
//! they are decoded and fanned out to the source's subscribers, in order.
//!
//! Failure policy (positioned provider): the outcome says how many records the transport
//! may commit. A record is committable only once every subscriber handled its event
//! (tombstones and signal-table records carry nothing and are committable at once). After a
//! handler failure nothing past the failed event is committable: the transport delivers the
//! rest again.

use cdc_core::{CdcError, Operation, SharedEvent, Subscribers};
use time::OffsetDateTime;
use tracing::info;

use super::decode_batch::{BatchScope, Decoded};
use super::delivered::record_delivered;
use super::{DebeziumProvider, Entry, lock, log_warn};

/// One record as a transport has it: topic, key and value bytes (`None` for null).
#[derive(Clone, Copy, Debug)]
pub struct RawRecord<'a> {
    /// Kafka topic.
    pub topic: &'a str,
    /// Key bytes, `None` for a null key.
    pub key: Option<&'a [u8]>,
    /// Value bytes, `None` for a tombstone.
    pub value: Option<&'a [u8]>,
    /// Kafka partition and offset, when the transport has them: the event's metadata gets
    /// `kafka_topic`, `kafka_partition` and `kafka_offset` (together, the record's place in
    /// Kafka: partitions and offsets alone repeat across topics).
    pub kafka_offset: Option<(i32, i64)>,
}

impl<'a> RawRecord<'a> {
    /// A record without Kafka coordinates.
    pub fn new(topic: &'a str, key: Option<&'a [u8]>, value: Option<&'a [u8]>) -> Self {
        Self {
            topic,
            key,
            value,
            kafka_offset: None,
        }
    }
}

/// What the transport may do after [`DebeziumProvider::deliver`].
#[derive(Debug)]
pub enum DeliveryOutcome {
    /// Every subscriber handled the event (or the record carried none): commit the offset.
    Commit {
        /// Whether an event reached the subscribers (false for tombstones and the like).
        delivered: bool,
    },
    /// A subscriber failed: do not commit; deliver this record again.
    Retry {
        /// What failed.
        error: String,
    },
}

impl DeliveryOutcome {
    /// Whether the transport may commit the record's offset.
    pub fn may_commit(&self) -> bool {
        matches!(self, Self::Commit { .. })
    }
}

/// What the transport may do after [`DebeziumProvider::deliver_batch`].
#[derive(Debug)]
pub struct BatchOutcome {
    /// The first `committable` records of the batch may be committed; the rest must be
    /// delivered again.
    pub committable: usize,
    /// Events that reached the subscribers.
    pub delivered: usize,
    /// Why the batch stopped short, when it did (a handler failure, or an undecodable
    /// record at index `committable`).
    pub error: Option<CdcError>,
    /// The batch stopped at an undecodable record (the one at index `committable`), not at
    /// a handler failure: a transport may skip that record when told to.
    pub undecodable: bool,
    /// After a handler failure: the commit time of the first change not handled, which the
    /// partition holds back until it goes through (the lag grows from it meanwhile).
    pub held_commit_time: Option<OffsetDateTime>,
}

impl BatchOutcome {
    /// The outcome of an empty batch.
    fn nothing() -> Self {
        Self {
            committable: 0,
            delivered: 0,
            error: None,
            undecodable: false,
            held_commit_time: None,
        }
    }
}

impl DebeziumProvider {
    /// Decodes one record of a connected source (found by its topic) and hands the event to
    /// the subscribers. `Err` when the topic belongs to no connected source or the record is
    /// malformed (the transport must not commit it).
    pub async fn deliver(
        &self,
        topic: &str,
        key: Option<&[u8]>,
        value: Option<&[u8]>,
    ) -> Result<DeliveryOutcome, CdcError> {
        let out = self
            .deliver_batch(&[RawRecord::new(topic, key, value)])
            .await?;
        match (out.committable, out.error) {
            (1, _) => Ok(DeliveryOutcome::Commit {
                delivered: out.delivered == 1,
            }),
            (_, Some(CdcError::Handler { message, .. })) => {
                Ok(DeliveryOutcome::Retry { error: message })
            }
            (_, Some(e)) => Err(e),
            (_, None) => Ok(DeliveryOutcome::Retry {
                error: "not delivered".into(),
            }),
        }
    }

    /// Decodes a batch of records of one source (the source of the first record's topic)
    /// and fans the events out in one call per subscriber. Records of other sources in the
    /// batch are an error.
    pub async fn deliver_batch(&self, records: &[RawRecord<'_>]) -> Result<BatchOutcome, CdcError> {
        let mut out = self.deliver_groups(None, &[records]).await?;
        Ok(out.pop().unwrap_or_else(BatchOutcome::nothing))
    }

    /// [`deliver_batch`](Self::deliver_batch) for several batches at once (a transport's
    /// partitions), one outcome per batch, each batch handed over on its own and in order.
    /// The records of all of them are decoded together first, on two threads when there are
    /// many. Every batch belongs to `source` when given (a transport's consumer: its topics
    /// are the source's whatever their names, `options.kafka.topics` may name any), else to
    /// the source of the first batch's first record.
    pub(crate) async fn deliver_groups(
        &self,
        source: Option<&str>,
        groups: &[&[RawRecord<'_>]],
    ) -> Result<Vec<BatchOutcome>, CdcError> {
        let Some(first) = groups.iter().find_map(|g| g.first()) else {
            return Ok(groups.iter().map(|_| BatchOutcome::nothing()).collect());
        };
        let source_id = match source {
            Some(id) => id.to_owned(),
            None => self
                .source_for_topic(first.topic)
                .ok_or_else(|| CdcError::NotFound {
                    source_id: format!("(topic {:?})", first.topic),
                    provider: Some(crate::PROVIDER.into()),
                })?,
        };
        let entry = self.entry(&source_id)?;
        let subscribers = self.subscribers_of(&source_id);
        let signal_table = entry
            .source
            .options
            .signal
            .as_ref()
            .map(|s| s.table.clone());
        let source_of = |topic: &str| self.source_for_topic(topic);
        let scope = BatchScope {
            source_id: &source_id,
            first_topic: first.topic,
            source_of: source.is_none().then_some(&source_of as _),
            signal_table: signal_table.as_deref(),
        };

        // One delivery at a time per source keeps events in order.
        let mut decoders = entry.stream.lock().await;
        let all: Vec<&RawRecord<'_>> = groups.iter().flat_map(|g| g.iter()).collect();
        let mut decoded = scope.decode_all(&mut decoders, &all).into_iter();
        let mut outcomes = Vec::with_capacity(groups.len());
        for g in groups {
            let group: Vec<Decoded> = decoded.by_ref().take(g.len()).collect();
            outcomes.push(
                self.hand_over(&source_id, &entry, &subscribers, group, None)
                    .await,
            );
        }
        Ok(outcomes)
    }

    /// Hands one batch's decoded records to the subscribers; the outcome says how many of
    /// its records may be committed.
    pub(super) async fn hand_over(
        &self,
        source_id: &str,
        entry: &Entry,
        subscribers: &Subscribers,
        decoded: Vec<Decoded>,
        spent: Option<&Reaper<'_>>,
    ) -> BatchOutcome {
        // Goes to `spent` on every way out of here.
        let mut batch = Spent {
            events: Vec::with_capacity(decoded.len()),
            to: spent,
        };
        let events = &mut batch.events;
        // record_of[i] = index of the record event i came from.
        let mut record_of: Vec<usize> = Vec::with_capacity(decoded.len());
        let mut decode_error = None;
        let mut decoded_upto = decoded.len();
        let mut undecodable = false;
        for (i, d) in decoded.into_iter().enumerate() {
            match d {
                Decoded::Event(ev) => {
                    events.push(ev);
                    record_of.push(i);
                }
                Decoded::Nothing => {}
                Decoded::OtherSource(topic) => {
                    decode_error = Some(CdcError::InvalidState {
                        source_id: source_id.to_owned(),
                        provider: crate::PROVIDER.into(),
                        message: format!(
                            "record {i} of the batch (topic {topic:?}) belongs to another source; deliver one source per batch"
                        ),
                    });
                    decoded_upto = i;
                    break;
                }
                Decoded::Failed(e) => {
                    log_warn(source_id, "undecodable record", &e);
                    undecodable = true;
                    decode_error = Some((*e).into_cdc(source_id));
                    decoded_upto = i;
                    break;
                }
            }
        }

        if events.is_empty() {
            return BatchOutcome {
                committable: decoded_upto,
                delivered: 0,
                error: decode_error,
                undecodable,
                held_commit_time: None,
            };
        }
        // Heartbeats carry no change: committable at once, whatever the handlers say; they
        // still move the lag and reach the handlers that want them.
        if events
            .iter()
            .all(|e| e.operation == Operation::Control && e.control.as_deref() == Some("heartbeat"))
        {
            record_delivered(entry, events);
            if !subscribers.is_empty()
                && let Err(failure) = subscribers.deliver(events).await
            {
                info!(source_id, error = %failure, "debezium: a handler failed on a heartbeat (committed anyway)");
            }
            return BatchOutcome {
                committable: decoded_upto,
                delivered: events.len(),
                error: decode_error,
                undecodable,
                held_commit_time: None,
            };
        }
        if subscribers.is_empty() {
            // Nobody to hand the events to: committing would lose them.
            return BatchOutcome {
                committable: record_of[0],
                delivered: 0,
                error: Some(CdcError::Handler {
                    source_id: source_id.to_owned(),
                    message:
                        "no handler is subscribed to this source; the records stay uncommitted"
                            .into(),
                }),
                undecodable: false,
                held_commit_time: None,
            };
        }
        match subscribers.deliver(events).await {
            Ok(()) => {
                record_delivered(entry, events);
                self.restore_mode_if_done(source_id, entry, events).await;
                BatchOutcome {
                    committable: decoded_upto,
                    delivered: events.len(),
                    error: decode_error,
                    undecodable,
                    held_commit_time: None,
                }
            }
            Err(failure) => {
                let handled = failure.handled.min(events.len());
                record_delivered(entry, &events[..handled]);
                self.restore_mode_if_done(source_id, entry, &events[..handled])
                    .await;
                // Commit only up to the record of the first event not handled by everyone.
                BatchOutcome {
                    committable: record_of[handled],
                    delivered: handled,
                    error: Some(CdcError::Handler {
                        source_id: source_id.to_owned(),
                        message: failure.to_string(),
                    }),
                    undecodable: false,
                    held_commit_time: events
                        .get(handled)
                        .filter(|e| e.operation != Operation::Control)
                        .and_then(|e| e.commit_time),
                }
            }
        }
    }
}

impl DebeziumProvider {
    /// After an old-cluster re-snapshot (`snapshot.mode=always`), puts the connector's config
    /// back once delivered events show the snapshot is over. A failed PUT is logged and tried
    /// again at the next delivery; the connector meanwhile snapshots again if restarted.
    async fn restore_mode_if_done(&self, source_id: &str, entry: &Entry, events: &[SharedEvent]) {
        let config = {
            let mut pending = lock(&entry.mode_restore);
            let Some(restore) = pending.as_mut() else {
                return;
            };
            if !restore.observe(events) {
                return;
            }
            restore.config().clone()
        };
        let name = &entry.source.connector.name;
        match entry.client.put_config(name, &config).await {
            Ok(_) => {
                let mut pending = lock(&entry.mode_restore);
                // A snapshot asked for meanwhile has its own, not yet done, restore.
                if pending.as_ref().is_some_and(|r| r.is_done()) {
                    *pending = None;
                }
                info!(
                    source_id,
                    connector = name.as_str(),
                    "debezium: snapshot delivered, connector config (snapshot.mode) put back"
                );
            }
            Err(e) => log_warn(
                source_id,
                "could not put snapshot.mode back after the snapshot; trying again at the next delivery",
                &e,
            ),
        }
    }
}

/// Takes a delivered batch's events once the hand-over is done with them: the Kafka
/// transport has them dropped on its decode-ahead thread, where most of them were made (a
/// free on another thread than the allocation's costs both threads, and the consumer
/// thread is the one that bounds throughput).
pub(crate) type Reaper<'a> = dyn Fn(Vec<SharedEvent>) + Send + Sync + 'a;

/// A hand-over's events, given to its [`Reaper`] (if any) when it ends, whichever way.
struct Spent<'r> {
    events: Vec<SharedEvent>,
    to: Option<&'r Reaper<'r>>,
}

impl Drop for Spent<'_> {
    fn drop(&mut self) {
        if let Some(reap) = self.to
            && !self.events.is_empty()
        {
            reap(std::mem::take(&mut self.events));
        }
    }
}
