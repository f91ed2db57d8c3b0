//! Decode-ahead for the Kafka transport: its consumer thread polls the next records while
//! another thread decodes the last ones, then decodes beside it what is left, and hands
//! them over. Decoding is most of a record's cost; done between hand-overs on the consumer
//! thread alone it left the machine's other core idle while the consumer polled
//! (benches/kafka_consume.rs).
//!
//! Decoding is split from the hand-over: an [`AheadScope`] decodes with decoders of its own
//! (the source's delivery lock is held by the hand-over running beside it), and
//! [`DebeziumProvider::hand_over_decoded`] hands the results over in order, as
//! [`DebeziumProvider::deliver_batch`] does.

use std::sync::Arc;

use cdc_core::CdcError;

use super::decode_batch::{BatchScope, Decoded};
use super::deliver::{BatchOutcome, RawRecord, Reaper};
use super::{DebeziumProvider, Entry, lock};

/// What decoding a transport's records of one source needs, taken once per batch.
pub(crate) struct AheadScope {
    entry: Arc<Entry>,
}

impl AheadScope {
    /// Decodes records of the source (its own consumer read them: every topic is the
    /// source's) with decoder `which` (0 or 1: one per decoding thread).
    pub(crate) fn decode(&self, which: usize, records: &[&RawRecord<'_>]) -> Vec<Decoded> {
        let Some(first) = records.first() else {
            return Vec::new();
        };
        let source = &self.entry.source;
        let scope = BatchScope {
            source_id: &source.source_id,
            first_topic: first.topic,
            source_of: None,
            signal_table: source.options.signal.as_ref().map(|s| s.table.as_str()),
        };
        scope.decode_run(&mut lock(&self.entry.ahead[which % 2]), records)
    }
}

impl DebeziumProvider {
    /// The decoding of a connected source's transport records.
    pub(crate) fn ahead_scope(&self, source_id: &str) -> Result<AheadScope, CdcError> {
        Ok(AheadScope {
            entry: self.entry(source_id)?,
        })
    }

    /// Hands batches decoded by an [`AheadScope`] to the subscribers, each on its own and
    /// in order (after any delivery to the source under way), one outcome per batch handed
    /// over. Once `held` says so (a handler paused its source), the batches left are not:
    /// the outcomes are fewer than the batches.
    pub(crate) async fn hand_over_decoded(
        &self,
        source_id: &str,
        decoded: Vec<Vec<Decoded>>,
        spent: Option<&Reaper<'_>>,
        held: &(dyn Fn() -> bool + Sync),
    ) -> Result<Vec<BatchOutcome>, CdcError> {
        let entry = self.entry(source_id)?;
        let subscribers = self.subscribers_of(source_id);
        // One delivery at a time per source keeps events in order.
        let _order = entry.stream.lock().await;
        let mut outcomes = Vec::with_capacity(decoded.len());
        for group in decoded {
            if held() {
                break;
            }
            outcomes.push(
                self.hand_over(source_id, &entry, &subscribers, group, spent)
                    .await,
            );
        }
        Ok(outcomes)
    }
}
