//! Decoding a transport's records before they are handed over: one decode per record, a
//! large batch decoded on two threads at the same time (the second with the source's spare
//! decoder), each taking the next few records until none are left. JSON parsing is most of
//! a record's cost, and a consumer thread that parsed alone would be bounded by one core. The results are put back in record
//! order, so what the handlers see, and in which order, does not change.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;

use cdc_core::SharedEvent;
use cdc_core::event::Metadata;
use serde_json::Value;

use super::RawRecord;
use crate::decode::Decoder;
use crate::error::DebeziumError;

/// Below this many records one thread decodes: starting a second costs more than it saves.
const PARALLEL_MIN: usize = 128;

/// Records a thread takes at a time: small enough to share the work evenly, large enough
/// that taking them costs nothing next to decoding them.
const CHUNK: usize = 32;

/// Stack of the second decoding thread: decoding recurses little (serde_json limits nesting).
const SPARE_STACK: usize = 512 * 1024;

/// The decoders of a source. Neither keeps state that depends on the order of records (a
/// schema cache per topic and the last table's names), so either may decode any record.
#[derive(Debug)]
pub(super) struct Decoders {
    /// Decodes small batches, and the first half of large ones.
    pub main: Decoder,
    /// Decodes the second half of large batches, on another thread.
    pub spare: Decoder,
}

impl Decoders {
    /// Both decoders of a source, with the connector's unavailable-value placeholder.
    pub fn new(source_id: &str, placeholder: &str) -> Self {
        Self {
            main: Decoder::with_placeholder(source_id, placeholder),
            spare: Decoder::with_placeholder(source_id, placeholder),
        }
    }
}

/// What one record became.
#[derive(Debug)]
pub(crate) enum Decoded {
    /// A change (or control) event for the handlers, shared as they receive it.
    Event(SharedEvent),
    /// Nothing to hand over: a tombstone, or a row of the signal table.
    Nothing,
    /// The record's topic (named) belongs to another source than the batch's.
    OtherSource(String),
    /// The record is malformed. Boxed: the error is five times the size of the other
    /// variants, and every record's result is moved a few times on its way to the handlers.
    Failed(Box<DebeziumError>),
}

/// Which source a topic belongs to (the provider's lookup by topic prefix).
pub(super) type SourceOf<'a> = dyn Fn(&str) -> Option<String> + Sync + 'a;

/// What every record of a batch is checked against.
pub(super) struct BatchScope<'a> {
    /// The batch's source: the source of its first record's topic.
    pub source_id: &'a str,
    /// That first record's topic (same topic, same source: no lookup).
    pub first_topic: &'a str,
    /// Which source a topic belongs to; `None` when every record is known to be the
    /// source's (a transport's own consumer read them), whatever its topic's name.
    pub source_of: Option<&'a SourceOf<'a>>,
    /// `schema.table` of the signal table, whose rows are never delivered.
    pub signal_table: Option<&'a str>,
}

impl BatchScope<'_> {
    fn decode_one<'r>(
        &self,
        decoder: &mut Decoder,
        r: &RawRecord<'r>,
        topic: &mut Option<(&'r str, Arc<Value>)>,
    ) -> Decoded {
        if r.topic != self.first_topic
            && let Some(source_of) = self.source_of
            && source_of(r.topic).as_deref() != Some(self.source_id)
        {
            return Decoded::OtherSource(r.topic.to_owned());
        }
        // The record's Kafka coordinates, set first: the decoder's entries (which sort after
        // them) are then each set at the end.
        let mut metadata = Metadata::new();
        if let Some((partition, offset)) = r.kafka_offset {
            // The records of a run are mostly of one topic: its name is one value their
            // events share.
            let name = match topic {
                Some((t, v)) if *t == r.topic => Arc::clone(v),
                _ => Arc::clone(&topic.insert((r.topic, Arc::new(r.topic.into()))).1),
            };
            metadata.insert_int("kafka_offset", offset);
            metadata.insert_int("kafka_partition", i64::from(partition));
            metadata.insert_shared("kafka_topic", name);
        }
        match decoder.decode_with(r.topic, r.key, r.value, metadata) {
            Ok(Some(ev)) => {
                if self.signal_table.is_some_and(|t| t == ev.qualified_table()) {
                    return Decoded::Nothing;
                }
                Decoded::Event(Arc::new(ev))
            }
            Ok(None) => Decoded::Nothing,
            Err(e) => Decoded::Failed(Box::new(e)),
        }
    }

    pub(super) fn decode_run(
        &self,
        decoder: &mut Decoder,
        records: &[&RawRecord<'_>],
    ) -> Vec<Decoded> {
        let mut topic = None;
        records
            .iter()
            .map(|r| self.decode_one(decoder, r, &mut topic))
            .collect()
    }

    /// Every record decoded, in order; shared with another thread when the batch is large
    /// and the machine has a second core (or if that thread cannot start, all here). Both
    /// threads take [`CHUNK`] records at a time until none are left, so neither waits for
    /// the other while the machine's other work (polling, the brokers' threads) slows one.
    pub fn decode_all(&self, decoders: &mut Decoders, records: &[&RawRecord<'_>]) -> Vec<Decoded> {
        if records.len() < PARALLEL_MIN || !several_cores() {
            return self.decode_run(&mut decoders.main, records);
        }
        let chunks: Vec<&[&RawRecord<'_>]> = records.chunks(CHUNK).collect();
        let next = AtomicUsize::new(0);
        let take = |decoder: &mut Decoder| {
            let mut done: Vec<(usize, Vec<Decoded>)> = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(chunk) = chunks.get(i) else {
                    return done;
                };
                done.push((i, self.decode_run(decoder, chunk)));
            }
        };
        let Decoders { main, spare } = decoders;
        let (mine, theirs) = thread::scope(|s| {
            let other = thread::Builder::new()
                .name("cdc-debezium-decode".into())
                .stack_size(SPARE_STACK)
                .spawn_scoped(s, || take(spare));
            let mine = take(main);
            match other.map(|h| h.join()) {
                Ok(Ok(theirs)) => (mine, theirs),
                // Not started: this thread took every chunk. A panic in the decoder is a
                // bug; it goes on as a panic, as it would have on this thread.
                Err(_) => (mine, Vec::new()),
                Ok(Err(panic)) => std::panic::resume_unwind(panic),
            }
        });
        let mut parts: Vec<Option<Vec<Decoded>>> = (0..chunks.len()).map(|_| None).collect();
        for (i, d) in mine.into_iter().chain(theirs) {
            parts[i] = Some(d);
        }
        // Every chunk was taken by one of the threads; should one be missing, it is decoded
        // here rather than shifting every later record onto another's result.
        parts
            .into_iter()
            .zip(&chunks)
            .flat_map(|(p, c)| p.unwrap_or_else(|| self.decode_run(main, c)))
            .collect()
    }
}

/// Whether a second decoding thread can run beside this one.
fn several_cores() -> bool {
    static CORES: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *CORES.get_or_init(|| thread::available_parallelism().map_or(1, |n| n.get())) > 1
}

#[cfg(test)]
mod tests {
    use super::*;

    const INSERT: &str = r#"{"before":null,"after":{"id":ID},"source":{"schema":"public","table":"t","lsn":ID,"ts_ms":1},"op":"c","ts_ms":2}"#;

    /// A large batch decodes to the same events, in the same order, as one decoder alone,
    /// including a malformed record and a record of another source in the second half.
    #[test]
    fn halves_decode_like_one_decoder() {
        let values: Vec<String> = (0..300)
            .map(|i| match i {
                250 => "{not json".to_owned(),
                _ => INSERT.replace("ID", &i.to_string()),
            })
            .collect();
        let records: Vec<RawRecord<'_>> = values
            .iter()
            .enumerate()
            .map(|(i, v)| RawRecord {
                topic: if i == 280 {
                    "other.public.t"
                } else {
                    "pg.public.t"
                },
                key: None,
                value: Some(v.as_bytes()),
                kafka_offset: Some((0, i as i64)),
            })
            .collect();
        let refs: Vec<&RawRecord<'_>> = records.iter().collect();
        let source_of = |t: &str| t.starts_with("pg.").then(|| "s".to_owned());
        let scope = BatchScope {
            source_id: "s",
            first_topic: "pg.public.t",
            source_of: Some(&source_of),
            signal_table: None,
        };
        let mut decoders = Decoders::new("s", crate::decode::DEFAULT_UNAVAILABLE_PLACEHOLDER);
        let parallel = scope.decode_all(&mut decoders, &refs);
        let mut one = Decoder::new("s");
        let serial = scope.decode_run(&mut one, &refs);
        assert_eq!(parallel.len(), 300);
        for (i, (p, s)) in parallel.iter().zip(&serial).enumerate() {
            match (p, s) {
                (Decoded::Event(a), Decoded::Event(b)) => {
                    assert_eq!(a.after, b.after, "record {i}");
                    assert_eq!(a.position, b.position, "record {i}");
                    assert_eq!(a.metadata.get("kafka_offset"), Some(&(i as i64).into()));
                    assert_eq!(a.metadata["kafka_topic"], "pg.public.t", "record {i}");
                    assert_eq!(a.metadata, b.metadata, "record {i}");
                }
                (Decoded::Failed(_), Decoded::Failed(_)) => assert_eq!(i, 250),
                (Decoded::OtherSource(t), Decoded::OtherSource(_)) => {
                    assert_eq!((i, t.as_str()), (280, "other.public.t"))
                }
                other => panic!("record {i}: {other:?}"),
            }
        }
    }
}
