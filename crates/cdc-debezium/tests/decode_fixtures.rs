//! Decodes every line of the real Debezium 3.6.3 fixture files (PostgreSQL, JSON converter
//! with and without schemas) and checks each record: operation, table, key, chosen values.

use cdc_core::{ChangeEvent, Operation};
use cdc_debezium::decode::{Decoder, UNAVAILABLE_COLUMNS};
use serde_json::{Value, json};

const SCHEMAS: &str = include_str!("fixtures/debezium/debezium-postgres-schemas.jsonl");
const PLAIN: &str = include_str!("fixtures/debezium/debezium-postgres-plain.jsonl");

/// One fixture line as a transport would hand it over: topic, key bytes, value bytes.
struct Record {
    topic: String,
    key: Option<Vec<u8>>,
    value: Option<Vec<u8>>,
}

fn records(file: &str) -> Vec<Record> {
    file.lines()
        .map(|line| {
            let v: Value = serde_json::from_str(line).unwrap();
            let bytes = |x: &Value| (!x.is_null()).then(|| serde_json::to_vec(x).unwrap());
            Record {
                topic: v["destination"].as_str().unwrap().to_owned(),
                key: bytes(&v["key"]),
                value: bytes(&v["value"]),
            }
        })
        .collect()
}

fn decode_all(file: &str) -> Vec<Option<ChangeEvent>> {
    let mut d = Decoder::new("pgfx-src");
    records(file)
        .iter()
        .enumerate()
        .map(|(i, r)| {
            d.decode(&r.topic, r.key.as_deref(), r.value.as_deref())
                .unwrap_or_else(|e| panic!("record {i}: {e}"))
        })
        .collect()
}

/// The record index of the fixture README: (table, op, key); op `None` = tombstone.
fn index() -> Vec<(&'static str, Option<Operation>, Value)> {
    use Operation::*;
    let c = Some(Insert);
    let u = Some(Update);
    let d = Some(Delete);
    let r = Some(SnapshotRead);
    vec![
        ("customers", r, json!({"id": 1})),
        ("customers", r, json!({"id": 2})),
        ("customers", r, json!({"id": 3})),
        ("orders", r, json!({"id": 1})),
        ("orders", r, json!({"id": 2})),
        ("orders", r, json!({"id": 3})),
        ("order_items", r, json!({"order_id": 1, "line_no": 1})),
        ("order_items", r, json!({"order_id": 1, "line_no": 2})),
        ("order_items", r, json!({"order_id": 2, "line_no": 1})),
        ("inventory", r, json!({"sku": "SKU-1"})),
        ("inventory", r, json!({"sku": "SKU-2"})),
        ("audit_log", r, Value::Null),
        ("customers", c, json!({"id": 4})),
        ("customers", c, json!({"id": 5})),
        ("orders", c, json!({"id": 4})),
        ("customers", u, json!({"id": 1})),
        ("orders", u, json!({"id": 1})),
        ("customers", d, json!({"id": 3})),
        ("customers", None, json!({"id": 3})),
        ("customers", c, json!({"id": 100})),
        ("orders", d, json!({"id": 2})),
        ("orders", None, json!({"id": 2})),
        ("customers", c, json!({"id": 6})),
        ("orders", c, json!({"id": 5})),
        ("customers", u, json!({"id": 6})),
        ("order_items", c, json!({"order_id": 5, "line_no": 1})),
        ("order_items", u, json!({"order_id": 1, "line_no": 1})),
        ("order_items", d, json!({"order_id": 1, "line_no": 2})),
        ("order_items", None, json!({"order_id": 1, "line_no": 2})),
        ("inventory", u, json!({"sku": "SKU-1"})),
        ("inventory", d, json!({"sku": "SKU-2"})),
        ("inventory", None, json!({"sku": "SKU-2"})),
        ("audit_log", c, Value::Null),
        ("audit_log", u, Value::Null),
        ("audit_log", d, Value::Null),
        ("audit_log", None, Value::Null),
        ("audit_log", Some(Truncate), Value::Null),
        ("orders", c, json!({"id": 6})),
        ("orders", u, json!({"id": 3})),
        ("documents", c, json!({"id": 1})),
        ("documents", u, json!({"id": 1})),
        ("documents", u, json!({"id": 1})),
    ]
}

/// Checks what both files share, record by record.
fn check_common(events: &[Option<ChangeEvent>]) {
    let idx = index();
    assert_eq!(events.len(), 42);
    assert_eq!(idx.len(), 42);
    for (i, (ev, (table, op, key))) in events.iter().zip(&idx).enumerate() {
        match op {
            None => assert!(ev.is_none(), "record {i} is a tombstone: {ev:?}"),
            Some(op) => {
                let e = ev.as_ref().unwrap_or_else(|| panic!("record {i} missing"));
                assert_eq!(e.operation, *op, "record {i}");
                assert_eq!(e.schema.as_deref(), Some("public"), "record {i}");
                assert_eq!(e.table, *table, "record {i}");
                assert_eq!(e.source_id, "pgfx-src");
                assert_eq!(
                    e.key.clone().map_or(Value::Null, Value::from),
                    *key,
                    "record {i}"
                );
                // Position = PostgreSQL LSN text; commit time from source.ts_us.
                let pos = e
                    .position
                    .as_ref()
                    .unwrap_or_else(|| panic!("record {i} position"));
                assert!(pos.as_str().starts_with("0/"), "record {i}: {pos}");
                assert!(e.commit_time.is_some(), "record {i}");
                assert!(e.metadata["ts_ms"].as_i64().unwrap() > 1_795_000_000_000);
                assert!(e.transaction_id.is_some(), "record {i}");
                match op {
                    Operation::Insert | Operation::SnapshotRead => {
                        assert!(e.after.is_some() && e.before.is_none(), "record {i}")
                    }
                    Operation::Delete => assert!(e.after.is_none() && e.before.is_some()),
                    Operation::Truncate => assert!(e.after.is_none() && e.before.is_none()),
                    _ => assert!(e.after.is_some(), "record {i}"),
                }
            }
        }
    }
    let ev = |i: usize| events[i].as_ref().unwrap();
    // Snapshot markers.
    assert_eq!(ev(0).metadata["snapshot"], "first");
    assert_eq!(ev(1).metadata["snapshot"], "true");
    assert_eq!(ev(2).metadata["snapshot"], "last_in_data_collection");
    assert_eq!(ev(11).metadata["snapshot"], "last");
    assert!(!ev(12).metadata.contains_key("snapshot"));
    // Unicode survives.
    assert_eq!(
        ev(13).after.as_ref().unwrap()["name"],
        "Zoë Ångström-Núñez 😀 東京 café"
    );
    assert_eq!(ev(13).after.as_ref().unwrap()["email"], Value::Null);
    // Default replica identity: update has no before; delete before holds the key.
    assert!(ev(15).before.is_none());
    assert_eq!(ev(17).before.as_ref().unwrap()["id"], 3);
    // S8: one transaction.
    let tx = ev(22).transaction_id.clone();
    for i in 23..=25 {
        assert_eq!(ev(i).transaction_id, tx, "record {i}");
    }
    assert_ne!(ev(12).transaction_id, tx);
    assert_eq!(ev(17).transaction_id, ev(19).transaction_id);
    // REPLICA IDENTITY FULL: full old row.
    assert_eq!(ev(29).before.as_ref().unwrap()["qty"], 50);
    assert_eq!(ev(29).after.as_ref().unwrap()["qty"], 7);
    assert_eq!(ev(33).before.as_ref().unwrap()["amount"], Value::Null);
    assert_eq!(ev(33).after.as_ref().unwrap()["amount"], 2.25);
    // S14: the column added by ALTER TABLE shows up.
    assert_eq!(ev(37).after.as_ref().unwrap()["note"], "after ALTER TABLE");
    // TOAST: 10240-char body, then the placeholder flagged (kept, not mistaken for data),
    // then a real value again.
    assert_eq!(
        ev(39).after.as_ref().unwrap()["body"]
            .as_str()
            .unwrap()
            .len(),
        10240
    );
    assert!(!ev(39).metadata.contains_key(UNAVAILABLE_COLUMNS));
    assert_eq!(ev(40).after.as_ref().unwrap()["title"], "big doc (renamed)");
    assert_eq!(
        ev(40).after.as_ref().unwrap()["body"],
        "__debezium_unavailable_value"
    );
    assert_eq!(ev(40).metadata[UNAVAILABLE_COLUMNS], json!(["body"]));
    assert_eq!(ev(41).after.as_ref().unwrap()["body"], "short now");
    assert!(!ev(41).metadata.contains_key(UNAVAILABLE_COLUMNS));
    // Lag inputs: processing time after change time.
    for e in events.iter().flatten() {
        let lag =
            e.metadata["ts_ms"].as_i64().unwrap() - e.metadata["source_ts_ms"].as_i64().unwrap();
        assert!((0..60_000).contains(&lag), "lag {lag}");
    }
}

#[test]
fn schemas_file_every_record_with_logical_types() {
    let events = decode_all(SCHEMAS);
    check_common(&events);
    let after = |i: usize| events[i].as_ref().unwrap().after.clone().unwrap();
    let before = |i: usize| events[i].as_ref().unwrap().before.clone().unwrap();
    // Connect decimals with the scale from the schema.
    assert_eq!(after(0)["balance"], "100.00");
    assert_eq!(after(1)["balance"], "-12.34");
    assert_eq!(after(2)["balance"], "0.01");
    assert_eq!(after(12)["balance"], "10.50");
    assert_eq!(after(13)["balance"], Value::Null);
    assert_eq!(after(15)["balance"], "200.75");
    assert_eq!(after(22)["balance"], "50.00");
    assert_eq!(after(24)["balance"], "37.66");
    // VariableScaleDecimal.
    assert_eq!(after(6)["unit_price"], "9.995");
    assert_eq!(after(7)["unit_price"], "0.5");
    assert_eq!(after(8)["unit_price"], "25");
    assert_eq!(after(25)["unit_price"], "4.113333");
    // Temporal types named by the schema.
    assert_eq!(after(3)["placed_on"], "2024-01-10");
    assert_eq!(after(9)["updated_at"], "2024-01-05T12:00:00.000000");
    assert_eq!(after(10)["updated_at"], "2024-01-06T13:14:15.161718");
    assert_eq!(after(29)["updated_at"], "2024-02-07T07:07:07.000000");
    assert_eq!(before(29)["updated_at"], "2024-01-05T12:00:00.000000");
    assert_eq!(after(0)["created_at"], "2024-01-01T10:00:00.000000Z");
    assert_eq!(after(2)["created_at"], "2024-01-03T23:59:59.999999Z");
    // Other types as Debezium sends them.
    assert_eq!(after(0)["tags"], json!(["vip", "early"]));
    assert_eq!(after(0)["profile"], r#"{"tier": "gold", "score": 42}"#);
    assert_eq!(after(9)["raw"], "3q2+7w==");
    assert_eq!(
        after(9)["item_uuid"],
        "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"
    );
    assert_eq!(after(9)["price"], 9.99);
    // Delete with default replica identity: Connect defaults, not data.
    assert_eq!(before(17)["name"], "");
}

#[test]
fn plain_file_every_record_values_as_sent() {
    let events = decode_all(PLAIN);
    check_common(&events);
    let after = |i: usize| events[i].as_ref().unwrap().after.clone().unwrap();
    // Without schemas the scale is unknown: decimals and temporals stay as Debezium sent them.
    assert_eq!(after(0)["balance"], "JxA=");
    assert_eq!(after(6)["unit_price"], json!({"scale": 3, "value": "Jws="}));
    assert_eq!(after(3)["placed_on"], 19732);
    assert_eq!(after(9)["updated_at"], 1_704_456_000_000_000_i64);
}

#[test]
fn both_files_agree_on_everything_but_logical_types() {
    let a = decode_all(SCHEMAS);
    let b = decode_all(PLAIN);
    for (i, (x, y)) in a.iter().zip(&b).enumerate() {
        match (x, y) {
            (None, None) => {}
            (Some(x), Some(y)) => {
                assert_eq!(x.operation, y.operation, "record {i}");
                assert_eq!(x.qualified_table(), y.qualified_table(), "record {i}");
                assert_eq!(x.key, y.key, "record {i}");
                assert_eq!(x.metadata.get("snapshot"), y.metadata.get("snapshot"));
                assert_eq!(
                    x.metadata.get(UNAVAILABLE_COLUMNS),
                    y.metadata.get(UNAVAILABLE_COLUMNS)
                );
            }
            _ => panic!("record {i}: tombstone in one file only"),
        }
    }
}

#[test]
fn kafka_connect_events_decode_from_raw_strings() {
    // Records as consumed from the broker: key and value are raw JSON strings.
    for (file, expect) in [
        (include_str!("fixtures/kafka-connect/events-1.jsonl"), None),
        (
            include_str!("fixtures/kafka-connect/events-2.jsonl"),
            Some(()),
        ),
    ] {
        let mut d = Decoder::new("pg1");
        let mut n = 0;
        for line in file.lines() {
            let v: Value = serde_json::from_str(line).unwrap();
            let key = v["key"].as_str().map(str::as_bytes);
            let value = v["value"].as_str().map(str::as_bytes);
            let out = d.decode("pg1.public.customers", key, value).unwrap();
            match (value, out) {
                (None, None) => {}
                (Some(_), Some(e)) => {
                    assert_eq!(e.qualified_table(), "public.customers");
                    assert!(e.key.as_ref().unwrap()["id"].is_i64());
                    n += 1;
                }
                other => panic!("{line}: {other:?}"),
            }
        }
        assert!(n > 0);
        let _ = expect;
    }
}

/// A record written with whitespace (pretty-printed, or with tabs and CRLF between tokens, as
/// a hand-made or re-serialized record may be) decodes to the event its compact form does:
/// the scanner's fast paths assume no whitespace only where they look again.
#[test]
fn records_written_with_whitespace_decode_as_their_compact_form() {
    for file in [PLAIN, SCHEMAS] {
        let mut compact = Decoder::new("pgfx-src");
        let mut spaced = Decoder::new("pgfx-src");
        for (i, r) in records(file).iter().enumerate() {
            let want = compact
                .decode(&r.topic, r.key.as_deref(), r.value.as_deref())
                .unwrap_or_else(|e| panic!("record {i}: {e}"));
            let reformat = |b: &Option<Vec<u8>>, tabs: bool| {
                b.as_ref().map(|b| {
                    let v: Value = serde_json::from_slice(b).unwrap();
                    // Whitespace only between tokens: the formatter's indent.
                    let indent: &[u8] = if tabs { b"\t\r\n " } else { b"  " };
                    let mut out = Vec::new();
                    let formatter = serde_json::ser::PrettyFormatter::with_indent(indent);
                    let mut ser = serde_json::Serializer::with_formatter(&mut out, formatter);
                    serde::Serialize::serialize(&v, &mut ser).unwrap();
                    out
                })
            };
            for tabs in [false, true] {
                let (key, value) = (reformat(&r.key, tabs), reformat(&r.value, tabs));
                let got = spaced
                    .decode(&r.topic, key.as_deref(), value.as_deref())
                    .unwrap_or_else(|e| panic!("record {i} (tabs {tabs}): {e}"));
                assert_eq!(got, want, "record {i} (tabs {tabs})");
            }
        }
    }
}
