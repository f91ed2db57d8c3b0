//! One `GetRecords` batch of a shard, decoded into events positioned `shard-id:sequence-number`.

use std::sync::Arc;

use aws_sdk_kinesis::types::Record;
use cdc_core::SharedEvent;
use serde_json::Value;

use crate::record::DmsRecordDecoder;

/// Longest Kinesis sequence number, in digits: the API's pattern is `0|([1-9]\d{0,128})`.
const MAX_SEQUENCE_DIGITS: usize = 129;

/// The events of a batch, up to its first record that cannot be decoded.
pub(super) struct Batch<'a> {
    /// The decoded events, in shard order.
    pub events: Vec<SharedEvent>,
    /// The sequence number of each event.
    pub sequences: Vec<&'a str>,
    /// Why the record after the last event cannot be decoded, when one cannot.
    pub poison: Option<String>,
}

/// Whether `s` is a Kinesis sequence number: decimal digits, no leading zero, at most
/// [`MAX_SEQUENCE_DIGITS`]. Checked as text: it does not fit in a `u128`, and it is only ever
/// handed back to Kinesis (`AFTER_SEQUENCE_NUMBER`), never compared here.
pub(super) fn is_sequence_number(s: &str) -> bool {
    match s.as_bytes() {
        [b'0'] => true,
        [b'1'..=b'9', rest @ ..] => {
            rest.len() < MAX_SEQUENCE_DIGITS && rest.iter().all(u8::is_ascii_digit)
        }
        _ => false,
    }
}

/// Decodes `records` of `shard` until the first one that cannot be decoded.
///
/// A record without a valid sequence number cannot be decoded either: the SDK fills a
/// missing one with `""`, and an event positioned `shard:` would be a made-up position that
/// collides with every other such record and a checkpoint Kinesis refuses.
pub(super) fn decode_batch<'a>(
    decoder: &DmsRecordDecoder,
    shard: &str,
    records: &'a [Record],
) -> Batch<'a> {
    let mut batch = Batch {
        events: Vec::with_capacity(records.len()),
        sequences: Vec::with_capacity(records.len()),
        poison: None,
    };
    for (i, record) in records.iter().enumerate() {
        let sequence = record.sequence_number();
        if !is_sequence_number(sequence) {
            let shown: String = sequence.chars().take(MAX_SEQUENCE_DIGITS).collect();
            batch.poison = Some(format!(
                "record {i} of a GetRecords batch on shard {shard} has no valid sequence number \
                 ({shown:?}); this shard stops before it"
            ));
            break;
        }
        // A bug in the loop itself, for the tests of the supervisor that restarts a loop
        // gone down (handlers' panics are caught by cdc-core and are handler failures).
        #[cfg(test)]
        if record.data().as_ref() == super::tests::fake::PANIC_RECORD {
            panic!("a bug in the shard loop at record {sequence}");
        }
        match decoder.decode(record.data().as_ref()) {
            Ok(mut event) => {
                event = event.with_position(format!("{shard}:{sequence}"));
                if let Some(pk) = record.partition_key() {
                    event
                        .metadata
                        .insert("kinesis_partition_key".into(), Value::String(pk.into()));
                }
                batch.events.push(Arc::new(event));
                batch.sequences.push(sequence);
            }
            Err(e) => {
                batch.poison = Some(format!(
                    "record {sequence} on shard {shard} cannot be decoded ({e}); this shard stops before it"
                ));
                break;
            }
        }
    }
    batch
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_kinesis::primitives::Blob;
    use serde_json::json;

    fn record(sequence: &str, data: &[u8]) -> Record {
        Record::builder()
            .sequence_number(sequence)
            .partition_key("orders")
            .data(Blob::new(data))
            .build()
            .unwrap()
    }

    fn insert(id: i64) -> Vec<u8> {
        serde_json::to_vec(&json!({"data": {"id": id}, "metadata": {
            "timestamp": "2026-03-01T12:00:00.123456Z", "record-type": "data",
            "operation": "insert", "schema-name": "public", "table-name": "orders"}}))
        .unwrap()
    }

    #[test]
    fn sequence_numbers_are_checked_as_text() {
        let longest = format!("4{}", "9".repeat(128));
        assert!(is_sequence_number(&longest), "129 digits, beyond u128");
        assert!(is_sequence_number("0"));
        assert!(is_sequence_number(
            "49590338271490256608559692538361571095921575989136588898"
        ));
        for bad in [
            "",
            "01",
            "-1",
            "1e5",
            " 1",
            "1 ",
            "١٢",
            &format!("{longest}0"),
        ] {
            assert!(!is_sequence_number(bad), "{bad:?}");
        }
    }

    #[test]
    fn events_are_positioned_by_shard_and_sequence_number() {
        let big = format!("4{}", "9".repeat(128));
        let records = [record("7", &insert(1)), record(&big, &insert(2))];
        let decoder = DmsRecordDecoder::new("src");
        let batch = decode_batch(&decoder, "shardId-000000000001", &records);
        assert!(batch.poison.is_none());
        assert_eq!(batch.sequences, ["7", big.as_str()]);
        let positions: Vec<&str> = batch
            .events
            .iter()
            .map(|e| e.position.as_ref().unwrap().as_str())
            .collect();
        assert_eq!(
            positions,
            [
                "shardId-000000000001:7".to_owned(),
                format!("shardId-000000000001:{big}")
            ]
        );
        assert_eq!(batch.events[0].metadata["kinesis_partition_key"], "orders");
    }

    #[test]
    fn a_record_without_a_sequence_number_stops_the_batch_before_it() {
        // `""` is what the SDK makes of a response record without `SequenceNumber`.
        let records = [
            record("1", &insert(1)),
            record("", &insert(2)),
            record("3", &insert(3)),
        ];
        let batch = decode_batch(&DmsRecordDecoder::new("src"), "shardId-0", &records);
        assert_eq!(batch.events.len(), 1);
        assert_eq!(batch.sequences, ["1"]);
        let poison = batch.poison.unwrap();
        assert!(poison.contains("no valid sequence number"), "{poison}");
        assert!(poison.contains("shardId-0"), "{poison}");
    }

    #[test]
    fn an_undecodable_record_stops_the_batch_and_names_its_sequence_number() {
        let records = [record("1", &insert(1)), record("2", b"\xff\xfe")];
        let batch = decode_batch(&DmsRecordDecoder::new("src"), "shardId-0", &records);
        assert_eq!(batch.events.len(), 1);
        let poison = batch.poison.unwrap();
        assert!(poison.contains("record 2 on shard shardId-0"), "{poison}");
        assert!(poison.contains("not UTF-8"), "{poison}");
    }
}
