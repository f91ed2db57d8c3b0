//! Hostile input to the DMS record decoder: anyone who can write to the target stream can
//! send any bytes. Every bad record must come back as an error naming what is wrong, never
//! as a panic or an event with a field silently dropped, defaulted or reinterpreted.

use cdc_core::{ChangeEvent, Operation};
use cdc_dms::{DmsRecordDecoder, RecordError};
use serde_json::{Value, json};
use time::macros::datetime;

fn decode(v: &Value) -> Result<ChangeEvent, RecordError> {
    DmsRecordDecoder::new("src").decode(&serde_json::to_vec(v).unwrap())
}

fn error(v: &Value) -> String {
    match decode(v) {
        Ok(e) => panic!("{v} was accepted: {e:?}"),
        Err(e) => e.to_string(),
    }
}

/// An insert as DMS writes it with `IncludeTransactionDetails`, with `metadata` changed.
fn insert_with(changes: Value) -> Value {
    let mut record = json!({"data": {"id": 46, "name": "Jane"}, "metadata": {
        "commit-timestamp": "2024-07-29T00:58:17.974340Z", "operation": "insert",
        "partition-key-type": "schema-table", "record-type": "data", "schema-name": "public",
        "stream-position": "00000002/7C007178.3.00000002/7C007178", "table-name": "foo",
        "timestamp": "2024-07-29T00:58:17.983670Z", "transaction-id": 1139,
        "transaction-record-id": 1}});
    for (k, v) in changes.as_object().unwrap() {
        record["metadata"][k] = v.clone();
    }
    record
}

#[test]
fn the_timestamps_dms_writes_are_read() {
    let e = decode(&insert_with(json!({}))).unwrap();
    assert_eq!(
        e.commit_time,
        Some(datetime!(2024-07-29 00:58:17.974340 UTC))
    );
    assert_eq!(e.transaction_id.as_deref(), Some("1139"));
    let e = decode(&insert_with(json!({"commit-timestamp": null}))).unwrap();
    assert_eq!(
        e.commit_time,
        Some(datetime!(2024-07-29 00:58:17.983670 UTC))
    );
    let e = decode(&insert_with(
        json!({"commit-timestamp": "2024-01-02T03:04:05.123456"}),
    ))
    .unwrap();
    assert_eq!(
        e.commit_time,
        Some(datetime!(2024-01-02 03:04:05.123456 UTC))
    );
    let e = decode(&insert_with(
        json!({"commit-timestamp": "2024-01-02T05:04:05+02:00"}),
    ))
    .unwrap();
    assert_eq!(e.commit_time, Some(datetime!(2024-01-02 03:04:05 UTC)));
}

#[test]
fn a_malformed_timestamp_is_an_error_naming_it() {
    // Before: dropped without a word (commit_time None, or taken from `timestamp`).
    for (field, value) in [
        ("timestamp", json!("yesterday")),
        ("timestamp", json!("2024-13-01T00:00:00Z")),
        ("timestamp", json!("-2024-01-02T03:04:05")),
        ("commit-timestamp", json!("2024-07-29")),
        ("commit-timestamp", json!("")),
    ] {
        let err = error(&insert_with(json!({ field: value })));
        assert!(
            err.contains(&format!("metadata.{field} ")),
            "{field}: {err}"
        );
        assert!(err.contains("is not a timestamp"), "{field}: {err}");
    }
    for (field, value) in [
        ("timestamp", json!(1_722_214_697)),
        ("commit-timestamp", json!({"s": 1})),
    ] {
        let err = error(&insert_with(json!({ field: value })));
        assert!(
            err.contains(&format!("metadata.{field} must be a string")),
            "{err}"
        );
    }
}

#[test]
fn a_transaction_id_is_a_u64_or_a_string() {
    let e = decode(&insert_with(json!({"transaction-id": u64::MAX}))).unwrap();
    assert_eq!(e.transaction_id.as_deref(), Some("18446744073709551615"));
    let e = decode(&insert_with(json!({"transaction-id": "0a001e00c0470000"}))).unwrap();
    assert_eq!(e.transaction_id.as_deref(), Some("0a001e00c0470000"));
    // Before: any number text was taken as the id, `1.5` and `-1` included.
    for text in ["1.5", "-1", "1e3", "18446744073709551616", "1e400"] {
        let mut record = serde_json::to_string(&insert_with(json!({}))).unwrap();
        record = record.replace(
            "\"transaction-id\":1139",
            &format!("\"transaction-id\":{text}"),
        );
        let err = DmsRecordDecoder::new("src")
            .decode(record.as_bytes())
            .unwrap_err()
            .to_string();
        assert!(err.contains("metadata.transaction-id"), "{text}: {err}");
        assert!(
            err.contains("not an integer in 0..=18446744073709551615"),
            "{text}: {err}"
        );
    }
    let err = error(&insert_with(json!({"transaction-id": [1]})));
    assert!(
        err.contains("metadata.transaction-id must be a string or a number"),
        "{err}"
    );
}

#[test]
fn every_documented_metadata_field_of_the_wrong_type_is_named() {
    for (field, value) in [
        ("record-type", json!(1)),
        ("operation", json!(["insert"])),
        ("schema-name", json!({})),
        ("table-name", json!(true)),
        ("transaction-id", json!(-3)),
        ("transaction-id", json!(1.5)),
        ("transaction-id", json!({})),
        ("timestamp", json!(1_700_000_000)),
        ("commit-timestamp", json!([])),
    ] {
        let err = error(&insert_with(json!({ field: value })));
        assert!(
            err.contains(&format!("metadata.{field} ")),
            "{field}: {err}"
        );
    }
}

#[test]
fn fields_only_copied_to_the_metadata_keep_any_value_as_written() {
    // Nothing reads them: a DMS version writing one differently must not stop the shard.
    for (field, value) in [
        ("partition-key-type", json!(7)),
        ("partition-key-value", json!(42)),
        ("stream-position", json!(2)),
        ("previous-transaction-id", json!(-3)),
        ("transaction-record-id", json!("0x1f")),
        ("previous-transaction-record-id", json!({"a": 1})),
    ] {
        let e = decode(&insert_with(json!({ field: value.clone() }))).unwrap();
        assert_eq!(e.metadata.get(field), Some(&value), "{field}");
    }
}

#[test]
fn an_empty_operation_or_record_type_is_refused() {
    // Before: a control record with operation "" became a Control event of kind "".
    let control = json!({"metadata": {"record-type": "control", "operation": ""}});
    assert!(error(&control).contains("metadata.operation is empty"));
    let err = error(&insert_with(json!({"record-type": ""})));
    assert!(err.contains("metadata.record-type is empty"), "{err}");
}

#[test]
fn a_record_cannot_stand_in_for_the_decoders_own_metadata() {
    // Before: the record's `metadata.ddl_operation` replaced the operation DMS sent.
    let ddl = json!({"metadata": {"record-type": "control", "operation": "add-column",
        "ddl_operation": "drop-table", "schema-name": "public", "table-name": "foo"}});
    let e = decode(&ddl).unwrap();
    assert_eq!(e.operation, Operation::SchemaChange);
    assert_eq!(e.metadata["ddl_operation"], "add-column");
}

#[test]
fn an_empty_before_image_does_not_replace_the_deleted_row() {
    // DMS writes `"before-image": {}` when it captured no column. Before: a delete's
    // `before` became `{}` and the deleted row in `data` was lost.
    let mut delete = insert_with(json!({"operation": "delete"}));
    delete["before-image"] = json!({});
    let e = decode(&delete).unwrap();
    assert_eq!(e.before, Some(json!({"id": 46, "name": "Jane"}).into()));
    let mut update = insert_with(json!({"operation": "update"}));
    update["before-image"] = json!({});
    assert_eq!(decode(&update).unwrap().before, None);
    update["before-image"] = json!("id=1");
    assert!(error(&update).contains("before-image must be an object, not a string"));
}

#[test]
fn long_values_are_clipped_in_errors() {
    let long = "x".repeat(100_000);
    for field in ["operation", "record-type", "timestamp"] {
        let err = error(&insert_with(json!({ field: long })));
        assert!(err.contains(&format!("metadata.{field}")), "{err}");
        assert!(err.len() < 400, "{field}: {} bytes", err.len());
    }
}

#[test]
fn empty_non_utf8_and_non_json_bytes_say_which() {
    let decoder = DmsRecordDecoder::new("src");
    for empty in [&b""[..], b" \n"] {
        let err = decoder.decode(empty).unwrap_err().to_string();
        assert!(err.contains("the record is empty"), "{err}");
    }
    let mut bytes = serde_json::to_vec(&insert_with(json!({}))).unwrap();
    let at = bytes.windows(4).position(|w| w == b"Jane").unwrap();
    bytes[at] = 0xff;
    let err = decoder.decode(&bytes).unwrap_err().to_string();
    assert!(
        err.contains(&format!("not UTF-8: invalid byte at offset {at}")),
        "{err}"
    );
    let err = decoder.decode(b"{\"metadata\": ").unwrap_err().to_string();
    assert!(err.contains("not JSON") && err.contains("line 1"), "{err}");
    for (v, kind) in [("null", "null"), ("[1]", "an array"), ("\"x\"", "a string")] {
        let err = decoder.decode(v.as_bytes()).unwrap_err().to_string();
        assert!(
            err.contains(&format!("must be a JSON object, not {kind}")),
            "{err}"
        );
    }
    let err = error(&json!({"metadata": [1]}));
    assert!(
        err.contains("metadata must be an object, not an array"),
        "{err}"
    );
    let err = error(&json!({"data": "row", "metadata": insert_with(json!({}))["metadata"]}));
    assert!(
        err.contains("data must be an object, not a string"),
        "{err}"
    );
}

#[test]
fn deep_json_is_an_error_not_a_stack_overflow() {
    let deep = format!(
        "{{\"data\": {{\"x\": {}{}}}, \"metadata\": {{}}}}",
        "[".repeat(100_000),
        "]".repeat(100_000)
    );
    let err = DmsRecordDecoder::new("src")
        .decode(deep.as_bytes())
        .unwrap_err()
        .to_string();
    assert!(err.contains("recursion limit"), "{err}");
}

#[test]
fn many_metadata_keys_are_all_kept() {
    // Descending order was the quadratic case (one shift of the sorted map per key); the
    // keys are now sorted before they go in. No timing is asserted, only the result.
    let mut record = insert_with(json!({}));
    let n = 20_000;
    for i in (0..n).rev() {
        record["metadata"][format!("k{i:05}")] = json!(i);
    }
    let e = decode(&record).unwrap();
    assert_eq!(e.metadata["k00000"], 0);
    assert_eq!(e.metadata[&format!("k{:05}", n - 1)], n - 1);
    assert!(e.metadata.len() > n);
    let keys: Vec<&str> = e.metadata.keys().collect();
    assert!(keys.windows(2).all(|w| w[0] < w[1]), "keys stay sorted");
}

#[test]
fn a_dms_control_record_for_its_own_table_decodes() {
    let control = json!({"control": {"table-def": {"columns": {
        "ERROR": {"nullable": false, "type": "STRING"}}}}, "metadata": {
        "operation": "create-table", "partition-key-type": "task-id",
        "partition-key-value": "7QBLNBTPCNDEBG7CHI3WA73YFA", "record-type": "control",
        "schema-name": "", "table-name": "awsdms_apply_exceptions",
        "timestamp": "2024-08-04T10:50:10.584772Z"}});
    let e = decode(&control).unwrap();
    assert_eq!(e.operation, Operation::SchemaChange);
    assert_eq!(e.schema, None);
    assert_eq!(e.table, "awsdms_apply_exceptions");
    assert_eq!(e.metadata["ddl_operation"], "create-table");
    assert_eq!(
        e.commit_time,
        Some(datetime!(2024-08-04 10:50:10.584772 UTC))
    );
    assert!(e.metadata["control"]["table-def"].is_object());
}
