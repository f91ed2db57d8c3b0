//! The decoder's edges: positions that tell apart the rows of one multi-row MySQL binlog
//! event, schema-change records keeping their key, events about no table, and records that
//! are not JSON (the Schema Registry converters' framing).

use cdc_core::Operation;
use cdc_debezium::decode::Decoder;
use serde_json::json;

/// A MySQL row change at `file:pos`, row `row`, all in one GTID transaction.
fn mysql_insert(id: i64, row: i64) -> String {
    json!({
        "before": null, "after": {"id": id}, "op": "c", "ts_ms": 2,
        "source": {"connector": "mysql", "db": "inventory", "table": "customers", "ts_ms": 1,
                   "server_id": 223344, "gtid": "3e11fa47-71ca-11e1-9e33-c80aa9429562:23",
                   "file": "mysql-bin.000003", "pos": 1088, "row": row}
    })
    .to_string()
}

#[test]
fn rows_of_one_multi_row_binlog_event_have_different_positions() {
    let mut d = Decoder::new("s");
    let positions: Vec<String> = (0..3)
        .map(|row| {
            let e = d
                .decode(
                    "m.inventory.customers",
                    None,
                    Some(mysql_insert(row + 1, row).as_bytes()),
                )
                .unwrap()
                .unwrap();
            assert_eq!(
                e.transaction_id.as_deref(),
                Some("3e11fa47-71ca-11e1-9e33-c80aa9429562:23"),
                "the GTID stays the transaction"
            );
            e.position.unwrap().as_str().to_owned()
        })
        .collect();
    assert_eq!(
        positions,
        [
            "mysql-bin.000003:1088:0",
            "mysql-bin.000003:1088:1",
            "mysql-bin.000003:1088:2"
        ]
    );
}

#[test]
fn schema_changes_keep_their_record_key_and_an_event_about_no_table_has_no_table() {
    let mut d = Decoder::new("s");
    let key = json!({"databaseName": "inventory"}).to_string();
    let drop_database = json!({
        "source": {"connector": "mysql", "db": "inventory", "ts_ms": 1, "file": "mysql-bin.000003",
                   "pos": 2000, "row": 0},
        "ts_ms": 2, "databaseName": "inventory", "schemaName": null,
        "ddl": "DROP DATABASE inventory", "tableChanges": []
    })
    .to_string();
    let e = d
        .decode("m", Some(key.as_bytes()), Some(drop_database.as_bytes()))
        .unwrap()
        .unwrap();
    assert_eq!(e.operation, Operation::SchemaChange);
    assert_eq!(e.key.as_ref().unwrap()["databaseName"], "inventory");
    assert_eq!(e.schema.as_deref(), Some("inventory"));
    assert_eq!(e.table, "");
    assert_eq!(e.qualified_table(), "", "never \"inventory.\"");
    let go = e.to_go_json();
    assert_eq!(go["table"], "");
    assert_eq!(go["key"]["databaseName"], "inventory");
    assert_eq!(e.metadata["ddl"], "DROP DATABASE inventory");

    // A schema change about a table keeps the key too, and names the table.
    let alter = json!({
        "source": {"connector": "mysql", "db": "inventory", "table": "customers", "ts_ms": 1,
                   "file": "mysql-bin.000003", "pos": 2100, "row": 0},
        "ts_ms": 2, "databaseName": "inventory", "ddl": "ALTER TABLE customers ADD c INT",
        "tableChanges": [{"type": "ALTER", "id": "\"inventory\".\"customers\"", "table": {}}]
    })
    .to_string();
    let e = d
        .decode("m", Some(key.as_bytes()), Some(alter.as_bytes()))
        .unwrap()
        .unwrap();
    assert_eq!(e.qualified_table(), "inventory.customers");
    assert_eq!(e.key.as_ref().unwrap()["databaseName"], "inventory");
}

/// An Avro (or Protobuf, or JSON Schema) record framed for the Schema Registry: a zero byte,
/// the four-byte schema id, then the encoded data.
fn registry_framed(schema_id: u32, body: &[u8]) -> Vec<u8> {
    let mut v = vec![0];
    v.extend_from_slice(&schema_id.to_be_bytes());
    v.extend_from_slice(body);
    v
}

#[test]
fn schema_registry_records_are_an_error_naming_the_converter() {
    let mut d = Decoder::new("s");
    // An Avro value: the bytes after the id are not UTF-8, as Avro's zig-zag varints often are.
    let value = registry_framed(42, &[0x02, 0xc8, 0x01, 0xff, 0x10]);
    let err = d
        .decode("pg.public.t", None, Some(&value))
        .unwrap_err()
        .to_string();
    assert!(err.contains("value"), "{err}");
    assert!(err.contains("schema id 42"), "{err}");
    assert!(err.contains("value.converter"), "{err}");
    assert!(err.contains("JsonConverter"), "{err}");

    // A JSON value with a framed key: the key is the part named.
    let key = registry_framed(7, b"\x02");
    let json_value = mysql_insert(1, 0);
    let err = d
        .decode(
            "m.inventory.customers",
            Some(&key),
            Some(json_value.as_bytes()),
        )
        .unwrap_err()
        .to_string();
    assert!(err.contains("key.converter"), "{err}");
    assert!(err.contains("schema id 7"), "{err}");
}

#[test]
fn text_that_is_not_json_still_says_what_it_is() {
    let mut d = Decoder::new("s");
    let err = d
        .decode("pg.public.t", None, Some(&[0xff, 0xfe, b'{']))
        .unwrap_err()
        .to_string();
    assert!(err.contains("not UTF-8"), "{err}");
    // A zero byte too short to frame a schema id is not taken for the wire format.
    let err = d
        .decode("pg.public.t", None, Some(&[0, 1]))
        .unwrap_err()
        .to_string();
    assert!(err.contains("value") && !err.contains("schema id"), "{err}");
}

/// `decode_with`: every kind of event starts with the given metadata, the decoder's own
/// entries set after it (replacing one of the same key), and a later plain `decode` carries
/// none of it.
#[test]
fn decode_with_starts_every_event_with_the_given_metadata() {
    use cdc_core::event::Metadata;
    let base = || {
        let mut m = Metadata::new();
        m.insert_int("kafka_offset", 41);
        m.insert_int("kafka_partition", 2);
        m.insert_static("kafka_topic", json!("pg.public.t"));
        // A key the decoder sets too: the decoder's value wins.
        m.insert_int("ts_ms", -1);
        m
    };
    let records = [
        (
            "pg.public.t",
            json!({"before": null, "after": {"id": 1}, "op": "c", "ts_ms": 7,
                   "source": {"connector": "postgresql", "schema": "public", "table": "t",
                              "lsn": 16, "ts_ms": 5, "snapshot": "false"}}),
            Operation::Insert,
        ),
        (
            "__debezium-heartbeat.pg",
            json!({"ts_ms": 7}),
            Operation::Control,
        ),
        (
            "pg.transaction",
            json!({"status": "BEGIN", "id": "571", "event_count": null, "ts_ms": 7,
                   "data_collections": null}),
            Operation::Control,
        ),
        (
            "m",
            json!({"source": {"connector": "mysql", "db": "inventory", "table": "c", "ts_ms": 5,
                              "file": "mysql-bin.000003", "pos": 10},
                   "ts_ms": 7, "databaseName": "inventory",
                   "ddl": "ALTER TABLE c ADD x INT", "tableChanges": []}),
            Operation::SchemaChange,
        ),
    ];
    let mut d = Decoder::new("s");
    for (topic, value, op) in records {
        let text = value.to_string();
        let e = d
            .decode_with(topic, None, Some(text.as_bytes()), base())
            .unwrap()
            .unwrap();
        assert_eq!(e.operation, op, "{topic}");
        assert_eq!(e.metadata["kafka_offset"], 41, "{topic}");
        assert_eq!(e.metadata["kafka_partition"], 2, "{topic}");
        assert_eq!(e.metadata["kafka_topic"], "pg.public.t", "{topic}");
        let keys: Vec<&str> = e.metadata.keys().collect();
        let mut sorted = keys.clone();
        sorted.sort_unstable();
        assert_eq!(keys, sorted, "{topic}: keys in order");
        let plain = d
            .decode(topic, None, Some(text.as_bytes()))
            .unwrap()
            .unwrap();
        assert!(
            !plain.metadata.contains_key("kafka_offset"),
            "{topic}: nothing left over from the call before"
        );
        // Every entry the decoder sets is there, as it set it; the rest are the given ones.
        for (k, v) in plain.metadata.iter() {
            assert_eq!(&e.metadata[k], v, "{topic}: the decoder's own {k} wins");
        }
        if !plain.metadata.contains_key("ts_ms") {
            assert_eq!(e.metadata["ts_ms"], -1, "{topic}");
        }
        assert_eq!(
            e.metadata.len(),
            plain.metadata.len() + 4 - usize::from(plain.metadata.contains_key("ts_ms"))
        );
    }
    // A tombstone and an undecodable record: no event, and nothing left for the next.
    assert!(
        d.decode_with("pg.public.t", None, None, base())
            .unwrap()
            .is_none()
    );
    assert!(
        d.decode_with("pg.public.t", None, Some(b"{bad"), base())
            .is_err()
    );
    let e = d
        .decode("__debezium-heartbeat.pg", None, Some(br#"{"ts_ms": 7}"#))
        .unwrap()
        .unwrap();
    assert!(!e.metadata.contains_key("kafka_partition"));
}
