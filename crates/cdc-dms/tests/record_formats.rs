//! Records as DMS writes them under its documented settings and source engines: each must
//! decode, to the values it holds. The hostile side is `record_hostile.rs`.

use cdc_core::{ChangeEvent, Operation};
use cdc_dms::{DmsRecordDecoder, RecordError};
use serde_json::{Value, json};
use time::macros::datetime;

fn decode(v: &Value) -> Result<ChangeEvent, RecordError> {
    DmsRecordDecoder::new("src").decode(&serde_json::to_vec(v).unwrap())
}

fn metadata(op: &str) -> Value {
    json!({"timestamp": "2024-07-29T00:58:44.895275Z", "record-type": "data",
        "operation": op, "partition-key-type": "schema-table", "schema-name": "public",
        "table-name": "foo"})
}

fn control(op: &str) -> Value {
    json!({"metadata": {"timestamp": "2024-07-29T00:30:47.258815Z", "record-type": "control",
        "operation": op, "partition-key-type": "task-id", "schema-name": "public",
        "table-name": "foo"}})
}

#[test]
fn the_operation_names_of_the_aws_message_format_guide_are_read() {
    // The "Message format" sections of the Kinesis and Kafka target guides: data operations
    // `create`, `read`, `update`, `delete`; control operations `TruncateTable`, `DropTable`.
    // Before: `create` and `read` stopped the shard; `TruncateTable` and `DropTable` became
    // bare Control events, a truncate no handler would apply.
    for (op, want) in [
        ("create", Operation::Insert),
        ("read", Operation::SnapshotRead),
    ] {
        let e = decode(&json!({"data": {"id": 1}, "metadata": metadata(op)})).unwrap();
        assert_eq!(e.operation, want, "{op}");
        assert_eq!(e.after, Some(json!({"id": 1}).into()), "{op}");
    }
    let e = decode(&control("TruncateTable")).unwrap();
    assert_eq!(e.operation, Operation::Truncate);
    assert_eq!(e.qualified_table(), "public.foo");
    let e = decode(&control("DropTable")).unwrap();
    assert_eq!(e.operation, Operation::SchemaChange);
    assert_eq!(e.metadata["ddl_operation"], "drop-table");
    // What DMS itself writes is unchanged.
    let e = decode(&control("truncate-table")).unwrap();
    assert_eq!(e.operation, Operation::Truncate);
    for op in [
        "create-table",
        "drop-table",
        "rename-table",
        "change-columns",
        "add-column",
        "drop-column",
        "rename-column",
        "column-type-change",
    ] {
        let e = decode(&control(op)).unwrap();
        assert_eq!(e.operation, Operation::SchemaChange, "{op}");
        assert_eq!(e.metadata["ddl_operation"], op);
    }
}

#[test]
fn a_before_image_under_a_custom_field_name_is_read_or_kept() {
    // `BeforeImageSettings.FieldName` names the field; `before-image` is only AWS's example.
    let mut update = json!({"data": {"id": 1, "n": 2}, "metadata": metadata("update")});
    update["BI"] = json!({"id": 1, "n": 1});
    let bytes = serde_json::to_vec(&update).unwrap();
    let settings = r#"{"BeforeImageSettings": {"EnableBeforeImage": true, "FieldName": "BI",
        "ColumnFilter": "all"}}"#;
    let e = DmsRecordDecoder::new("src")
        .task_settings(settings)
        .decode(&bytes)
        .unwrap();
    assert_eq!(e.before, Some(json!({"id": 1, "n": 1}).into()));
    assert!(!e.metadata.contains_key("BI"));
    // Before: a decoder not told of the name dropped the image without a trace.
    let e = DmsRecordDecoder::new("src").decode(&bytes).unwrap();
    assert_eq!(e.before, None);
    assert_eq!(e.metadata["BI"], json!({"id": 1, "n": 1}));
    // A metadata field keeps its value over a top-level field of the same name.
    update["timestamp"] = json!("top");
    let e = decode(&update).unwrap();
    assert_eq!(e.metadata["timestamp"], "2024-07-29T00:58:44.895275Z");
}

#[test]
fn a_key_only_before_image_does_not_replace_a_deleted_row() {
    // `ColumnFilter` `pk-only`, the default, keeps the key columns alone. Before: a delete
    // carrying such an image had `before` = the key, and the row in `data` was lost.
    let delete = json!({"data": {"id": 45, "name": "Jane", "age": 31},
        "before-image": {"id": 45, "lob": "only here"}, "metadata": metadata("delete")});
    let e = decode(&delete).unwrap();
    assert_eq!(e.operation, Operation::Delete);
    assert_eq!(
        e.before,
        Some(json!({"id": 45, "name": "Jane", "age": 31, "lob": "only here"}).into())
    );
    assert_eq!(e.after, None);
}

#[test]
fn a_lone_surrogate_escape_reads_as_the_replacement_character() {
    // Valid JSON (RFC 8259 §8.2) that serde_json refuses; a UTF-16 column (SQL Server
    // NVARCHAR) can hold an unpaired surrogate. Before: "not JSON", the shard stopped.
    let record = br#"{"data": {"id": 7, "name": "a\ud800b", "emoji": "\ud83d\ude00"},
        "metadata": {"timestamp": "2024-07-29T00:58:44Z", "record-type": "data",
        "operation": "insert", "schema-name": "dbo", "table-name": "people"}}"#;
    let e = DmsRecordDecoder::new("src").decode(record).unwrap();
    assert_eq!(
        e.after,
        Some(json!({"id": 7, "name": "a\u{FFFD}b", "emoji": "\u{1F600}"}).into())
    );
    // A record broken otherwise still says so.
    let err = DmsRecordDecoder::new("src")
        .decode(br#"{"data": {"name": "\ud800"}, "metadata": "#)
        .unwrap_err()
        .to_string();
    assert!(err.contains("not JSON"), "{err}");
}

#[test]
fn a_byte_order_mark_is_ignored() {
    // RFC 8259 §8.1 lets a parser ignore one. Before: "not JSON: expected value".
    let mut bytes = b"\xEF\xBB\xBF".to_vec();
    bytes.extend(
        serde_json::to_vec(&json!({"data": {"id": 1}, "metadata": metadata("insert")})).unwrap(),
    );
    let e = DmsRecordDecoder::new("src").decode(&bytes).unwrap();
    assert_eq!(e.after, Some(json!({"id": 1}).into()));
}

#[test]
fn both_message_formats_decode() {
    // `json`: pretty-printed with tabs (an Oracle source: upper-case names, NUMBER as a
    // string, RAW as 0x-prefixed hex, DATE without a zone).
    let pretty = include_bytes!("fixtures/dms/oracle-insert-json-format.json");
    let e = DmsRecordDecoder::new("src").decode(pretty).unwrap();
    assert_eq!(e.qualified_table(), "SALES.ORDERS");
    assert_eq!(e.transaction_id.as_deref(), Some("2814806011510924"));
    assert_eq!(
        e.commit_time,
        Some(datetime!(2024-03-01 10:15:31.120033 UTC))
    );
    let after = e.after.unwrap().into_value();
    assert_eq!(after["AMOUNT"], "12345678901234567890.123456789");
    assert_eq!(after["PAYLOAD"], "0xDEADBEEF");
    assert_eq!(after["ACTIVE"], 1);
    // `json-unformatted`: one line with a newline after it.
    let mut line =
        serde_json::to_vec(&json!({"data": {"id": 1}, "metadata": metadata("load")})).unwrap();
    line.push(b'\n');
    let e = DmsRecordDecoder::new("src").decode(&line).unwrap();
    assert_eq!(e.operation, Operation::SnapshotRead);
}

#[test]
fn column_values_are_kept_as_written() {
    // Numbers beyond f64 keep their digits; `IncludeNullAndEmpty` false leaves null columns
    // out and true writes them as null; NoHexPrefix binary is bare hex; MongoDB document
    // mode nests the document under `_doc`; MySQL's schema is its database.
    let record = br#"{"data": {"big": 123456789012345678901234567890.5, "bin": "DEADBEEF",
        "flag": true, "none": null, "_doc": {"_id": {"$oid": "66a6d1"}, "tags": [1, [2, {"x": 3}]]}},
        "metadata": {"timestamp": "2024-07-29T00:58:44.1Z", "record-type": "data",
        "operation": "update", "partition-key-type": "primary-key", "schema-name": "shop",
        "table-name": "items", "transaction-id": 87978110091475}}"#;
    let e = DmsRecordDecoder::new("src").decode(record).unwrap();
    let after = e.after.as_ref().unwrap();
    assert_eq!(
        after.value()["big"].to_string(),
        "123456789012345678901234567890.5"
    );
    assert_eq!(after.value()["_doc"]["tags"][1][1]["x"], 3);
    assert_eq!(after.value()["none"], Value::Null);
    assert_eq!(e.qualified_table(), "shop.items");
    assert_eq!(e.commit_time, Some(datetime!(2024-07-29 00:58:44.1 UTC)));
}

#[test]
fn the_transaction_details_dms_writes_are_kept() {
    // `IncludeTransactionDetails` and `IncludePartitionValue`, as a PostgreSQL task writes them.
    let mut m = metadata("update");
    for (k, v) in [
        ("commit-timestamp", json!("2024-07-29T00:58:44.886717Z")),
        (
            "stream-position",
            json!("00000002/7C007328.2.00000002/7C007328"),
        ),
        ("transaction-id", json!(1140)),
        ("transaction-record-id", json!(1)),
        ("prev-transaction-id", json!(1139)),
        ("prev-transaction-record-id", json!(1)),
        ("partition-key-value", json!("public.foo.42")),
    ] {
        m[k] = v;
    }
    let e = decode(&json!({"before-image": {}, "data": {"id": 42}, "metadata": m})).unwrap();
    assert_eq!(e.transaction_id.as_deref(), Some("1140"));
    assert_eq!(
        e.commit_time,
        Some(datetime!(2024-07-29 00:58:44.886717 UTC))
    );
    assert_eq!(e.metadata["prev-transaction-id"], 1139);
    assert_eq!(
        e.metadata["stream-position"],
        "00000002/7C007328.2.00000002/7C007328"
    );
    assert_eq!(e.metadata["partition-key-value"], "public.foo.42");
    assert_eq!(e.before, None);
}
