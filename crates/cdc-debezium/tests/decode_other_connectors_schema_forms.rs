//! The schema forms beyond flat rows, as Kafka Connect's JsonConverter writes them with
//! `schemas.enable=true`: structs inside a row (a MySQL / PostGIS `Point`, a nested
//! record), arrays of structs and maps (string keys as an object, any other as
//! `[key, value]` pairs) whose leaves have logical types are converted like top-level
//! columns; a leaf of the wrong type is an error naming the column and the way down; a
//! schema naming a field twice is refused; `"schema": null` and optional columns.

use cdc_core::Operation;
use cdc_debezium::decode::Decoder;
use serde_json::{Value, json};

mod decode_support;
use decode_support::{col, decode, row, wrapped};

fn decode_err(value: Value) -> String {
    let value = value.to_string();
    Decoder::new("s")
        .decode("x.db.t", None, Some(value.as_bytes()))
        .expect_err("an error")
        .to_string()
}

fn decimal(field: &str, scale: &str) -> Value {
    col(
        field,
        "bytes",
        Some("org.apache.kafka.connect.data.Decimal"),
        json!({"scale": scale}),
    )
}

fn plain_source() -> Value {
    json!({"connector": "mysql", "db": "db", "table": "t", "file": "f", "pos": 4, "ts_ms": 1})
}

/// Structs inside a row, arrays of structs and maps whose leaves have logical types are
/// converted like top-level columns (they stayed base64 and day numbers before); structs
/// with nothing to convert (a `Point`) stay as written; `null` and absent leaves stay so.
#[test]
fn nested_structs_arrays_of_structs_and_maps_are_converted() {
    let point = json!({"type": "struct", "optional": true, "name": "io.debezium.data.geometry.Point",
                       "fields": [{"type": "float64", "field": "x"}, {"type": "float64", "field": "y"},
                                  {"type": "bytes", "optional": true, "field": "wkb"},
                                  {"type": "int32", "optional": true, "field": "srid"}]});
    let line = json!({"type": "struct", "optional": true, "name": "shop.Line",
                      "fields": [decimal("amount", "2"),
                                 col("on", "int32", Some("io.debezium.time.Date"), Value::Null),
                                 {"type": "struct", "field": "at", "optional": true,
                                  "fields": [point.clone()]}]});
    let mut at = point;
    at["field"] = json!("where");
    let mut inner = line.clone();
    inner["field"] = json!("first");
    let columns = vec![
        at,
        inner,
        json!({"type": "array", "optional": true, "field": "lines", "items": line}),
        json!({"type": "map", "optional": true, "field": "prices",
               "keys": {"type": "string"}, "values": decimal("", "2")}),
        json!({"type": "map", "optional": true, "field": "by_day",
               "keys": {"type": "int32", "name": "io.debezium.time.Date"},
               "values": {"type": "array", "items": decimal("", "1")}}),
    ];
    let after = json!({"where": {"x": 1.5, "y": -2.0, "wkb": null, "srid": 4326},
                       "first": {"amount": "JxA=", "on": 0, "at": {"x": 1.0, "y": 2.0}},
                       "lines": [{"amount": "AQ==", "on": null}, {"amount": null, "on": 19782}],
                       "prices": {"a": "JxA=", "b": null},
                       "by_day": [[19782, ["ew==", null]], [-1, []]]});
    let payload = json!({"op": "c", "after": after, "source": plain_source()});
    let e = decode("x.db.t", None, wrapped(columns, payload));
    let want = json!({"where": {"x": 1.5, "y": -2.0, "wkb": null, "srid": 4326},
                      "first": {"amount": "100.00", "on": "1970-01-01", "at": {"x": 1.0, "y": 2.0}},
                      "lines": [{"amount": "0.01", "on": null},
                                {"amount": null, "on": "2024-02-29"}],
                      "prices": {"a": "100.00", "b": null},
                      "by_day": [["2024-02-29", ["12.3", null]], ["1969-12-31", []]]});
    assert_eq!(row(&e.after), want);
}

/// A nested value of the wrong shape is an error naming the column, and the message the
/// way down to the leaf.
#[test]
fn a_nested_leaf_of_the_wrong_type_is_named() {
    let lines = json!({"type": "array", "field": "lines", "items": {
        "type": "struct", "fields": [decimal("amount", "2")]}});
    let payload = json!({"op": "c", "after": {"lines": [{"amount": "AQ=="}, {"amount": true}]},
                         "source": plain_source()});
    let e = decode_err(wrapped(vec![lines.clone()], payload));
    assert!(e.contains("value.payload.after.lines"), "{e}");
    assert!(
        e.contains("item 1: field `amount`: a Decimal must be"),
        "{e}"
    );
    let payload = json!({"op": "c", "after": {"lines": [7]}, "source": plain_source()});
    let e = decode_err(wrapped(vec![lines], payload));
    assert!(
        e.contains("item 0: a struct must be an object, got a number"),
        "{e}"
    );
    let map = json!({"type": "map", "field": "m", "keys": {"type": "int32", "name": "io.debezium.time.Date"},
                     "values": {"type": "string"}});
    let payload = json!({"op": "c", "after": {"m": {"1": "x"}}, "source": plain_source()});
    let e = decode_err(wrapped(vec![map.clone()], payload));
    assert!(
        e.contains("after.m: a map whose keys have a logical type"),
        "{e}"
    );
    let payload = json!({"op": "c", "after": {"m": [[1, "x", 2]]}, "source": plain_source()});
    let e = decode_err(wrapped(vec![map], payload));
    assert!(
        e.contains("entry 0 of a map must be a [key, value] pair"),
        "{e}"
    );
}

/// Kafka Connect refuses a struct schema naming a field twice; taken as it was, the column
/// was converted twice (`"BNI="` is 1234, whose text `"1234"` is base64 again, of
/// -2658824), a wrong value without an error.
#[test]
fn a_schema_naming_a_field_twice_is_an_error_not_a_value_converted_twice() {
    let payload = json!({"op": "c", "after": {"p": "BNI="}, "source": plain_source()});
    let e = decode_err(wrapped(vec![decimal("p", "0"), decimal("p", "0")], payload));
    assert!(e.contains("at value.schema: field `p` occurs twice"), "{e}");
    let payload = json!({"op": "c", "after": {"p": "BNI="}, "source": plain_source()});
    let e = decode(
        "x.db.t",
        None,
        wrapped(vec![decimal("p", "0"), decimal("q", "0")], payload),
    );
    assert_eq!(row(&e.after)["p"], "1234");
}

/// `"schema": null` is the schemaless form inside the envelope; optional columns may be
/// absent from the row or `null`.
#[test]
fn a_null_schema_and_optional_columns() {
    let value = json!({"schema": null, "payload": {"op": "d", "before": {"id": 1, "p": "AQ=="},
                                                   "after": null, "source": plain_source()}});
    let e = decode("x.db.t", None, value);
    assert_eq!(e.operation, Operation::Delete);
    assert_eq!(row(&e.before), json!({"id": 1, "p": "AQ=="}));
    assert!(e.after.is_none());
    let columns = vec![decimal("p", "2"), decimal("q", "2")];
    let payload = json!({"op": "c", "after": {"p": null}, "source": plain_source()});
    assert_eq!(
        row(&decode("x.db.t", None, wrapped(columns, payload)).after),
        json!({"p": null})
    );
}

/// `{"schema": {...}, "payload": null}` (what the JsonConverter writes for a null value
/// with a schema) is no event, like a tombstone (it was an error, "not a Debezium record":
/// a `null` payload read as no payload, so the record was not taken for the wrapped form).
#[test]
fn a_null_payload_with_a_schema_is_no_event() {
    for value in [
        json!({"schema": {"type": "struct", "optional": true, "fields": []}, "payload": null}),
        json!({"schema": null, "payload": null}),
    ] {
        let text = value.to_string();
        let got = Decoder::new("s").decode("x.db.t", None, Some(text.as_bytes()));
        assert!(matches!(got, Ok(None)), "{text}: {got:?}");
    }
}
