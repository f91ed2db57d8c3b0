//! Values real connectors write that the decoder once refused or misread: text holding
//! broken UTF-16 (Jackson writes each unpaired surrogate as a `\uD800` escape, which JSON
//! parsers refuse), decimals the JSON converter writes as numbers
//! (`decimal.format=NUMERIC`), and the placeholder PostgreSQL's connector puts in an
//! unchanged TOASTed `int[]` (its bytes as integers). A record that does not decode holds
//! its partition; a placeholder taken for data overwrites a column downstream.

use cdc_core::ChangeEvent;
use cdc_debezium::decode::{Decoder, REPLACED_SURROGATES, UNAVAILABLE_COLUMNS};
use serde_json::{Value, json};

fn decode(topic: &str, key: Option<&str>, value: &str) -> ChangeEvent {
    Decoder::new("s")
        .decode(topic, key.map(str::as_bytes), Some(value.as_bytes()))
        .unwrap_or_else(|e| panic!("{e}"))
        .expect("an event")
}

fn decode_err(value: &str) -> String {
    Decoder::new("s")
        .decode("x.dbo.t", None, Some(value.as_bytes()))
        .expect_err("refused")
        .to_string()
}

const SQL_SERVER_SOURCE: &str = r#"{"version":"3.0.0.Final","connector":"sqlserver","name":"server1","ts_ms":1,"snapshot":"false","db":"testDB","sequence":null,"schema":"dbo","table":"notes","change_lsn":"00000027:00000758:0003","commit_lsn":"00000027:00000758:0005","event_serial_no":"1"}"#;

/// A change record without schemas, its row images given as JSON text (a
/// `serde_json::Value` cannot hold an unpaired surrogate).
fn record(before: &str, after: &str) -> String {
    format!(
        r#"{{"before":{before},"after":{after},"source":{SQL_SERVER_SOURCE},"op":"u","ts_ms":2}}"#
    )
}

fn after(e: &ChangeEvent) -> Value {
    e.after.as_ref().expect("an after image").value().clone()
}

#[test]
fn text_with_unpaired_surrogates_decodes_with_replacement_characters_and_says_where() {
    // As Jackson writes an `nvarchar` holding a lone high surrogate, a lone low one, and a
    // valid pair (an emoji), which stays what it is.
    let e = decode(
        "server1.testDB.dbo.notes",
        Some(r#"{"id":"k\uDC00"}"#),
        &record(
            r#"{"id":"k\uDC00","body":"old"}"#,
            r#"{"id":"k\uDC00","body":"ab\uD800cd","ok":"\uD83D\uDE00","path":"C:\\uD800"}"#,
        ),
    );
    let row = after(&e);
    assert_eq!(row["body"], "ab\u{FFFD}cd");
    assert_eq!(row["id"], "k\u{FFFD}");
    assert_eq!(row["ok"], "\u{1F600}");
    assert_eq!(
        row["path"], "C:\\uD800",
        "an escaped backslash, not an escape"
    );
    assert_eq!(e.before.as_ref().unwrap()["body"], "old");
    assert_eq!(e.key.as_ref().unwrap()["id"], "k\u{FFFD}");
    assert_eq!(
        e.metadata[REPLACED_SURROGATES],
        json!(["before.id", "after.id", "after.body", "key.id"])
    );
    assert_eq!(
        e.position.as_ref().unwrap().as_str(),
        "00000027:00000758:0005:00000027:00000758:0003:1"
    );

    // Rows without one say nothing.
    let e = decode(
        "server1.testDB.dbo.notes",
        Some(r#"{"id":"k"}"#),
        &record("null", r#"{"id":"k","ok":"\uD83D\uDE00"}"#),
    );
    assert!(!e.metadata.contains_key(REPLACED_SURROGATES));
}

#[test]
fn unpaired_surrogates_in_rows_with_conversions_and_in_wrapped_keys() {
    // With schemas: the row is converted (a Decimal), the key is the payload of its wrapper.
    let fields = json!([
        {"type": "string", "optional": false, "field": "id"},
        {"type": "string", "optional": true, "field": "body"},
        {"type": "bytes", "optional": true, "name": "org.apache.kafka.connect.data.Decimal",
         "version": 1, "parameters": {"scale": "2", "precision": "10"}, "field": "price"}
    ]);
    let row_schema = |field: &str| {
        json!({"type": "struct", "optional": true, "name": "server1.testDB.dbo.notes.Value",
               "field": field, "fields": fields})
    };
    let schema = json!({"type": "struct", "optional": false, "fields": [
        row_schema("before"), row_schema("after"),
        {"type": "struct", "optional": false, "field": "source", "fields": []},
        {"type": "string", "optional": false, "field": "op"}
    ]});
    let value = format!(
        r#"{{"schema":{schema},"payload":{{"before":null,"after":{{"id":"a","body":"x\uDBFF","price":"JxA="}},"source":{SQL_SERVER_SOURCE},"op":"c"}}}}"#
    );
    let key_schema = json!({"type": "struct", "optional": false, "fields": [
        {"type": "string", "optional": false, "field": "id"}
    ]});
    let key = format!(r#"{{"schema":{key_schema},"payload":{{"id":"\uDFFFz"}}}}"#);
    let e = decode("server1.testDB.dbo.notes", Some(&key), &value);
    let row = after(&e);
    assert_eq!(row["body"], "x\u{FFFD}");
    assert_eq!(row["price"], "100.00", "still converted");
    assert_eq!(e.key.as_ref().unwrap()["id"], "\u{FFFD}z");
    assert_eq!(
        e.metadata[REPLACED_SURROGATES],
        json!(["after.body", "key.id"])
    );
}

#[test]
fn a_row_or_key_broken_otherwise_is_still_an_error_naming_it() {
    let deep = format!(
        r#"{{"id":"\uD800","deep":{}1{}}}"#,
        "[".repeat(200),
        "]".repeat(200)
    );
    let err = decode_err(&record("null", &deep));
    assert!(
        err.contains("value.after") && err.contains("recursion"),
        "{err}"
    );
    let err = Decoder::new("s")
        .decode(
            "x.dbo.t",
            Some(br#"{"id":"\uD800""#),
            Some(record("null", r#"{"id":1}"#).as_bytes()),
        )
        .expect_err("a key that is not JSON")
        .to_string();
    assert!(err.contains("at key: not JSON"), "{err}");
}

/// A wrapped change record whose `after.p` has the given schema and the value's JSON text.
fn with_schema(field: Value, value: &str) -> String {
    with_fields(vec![("p", field)], &format!(r#"{{"p":{value}}}"#))
}

/// A wrapped change record whose row has the given fields and `after` JSON text.
fn with_fields(fields: Vec<(&str, Value)>, after: &str) -> String {
    let fields: Vec<Value> = fields
        .into_iter()
        .map(|(name, mut f)| {
            f["field"] = json!(name);
            f["optional"] = json!(true);
            f
        })
        .collect();
    let schema = json!({"type": "struct", "fields": [
        {"field": "after", "type": "struct", "optional": true, "fields": fields}
    ]});
    format!(
        r#"{{"schema":{schema},"payload":{{"op":"c","before":null,"after":{after},"source":{{"connector":"oracle","schema":"INV","table":"T","scn":"1"}}}}}}"#
    )
}

fn decimal(scale: i64, precision: i64) -> Value {
    json!({"type": "bytes", "name": "org.apache.kafka.connect.data.Decimal", "version": 1,
           "parameters": {"scale": scale.to_string(),
                          "connect.decimal.precision": precision.to_string()}})
}

fn p(value: &str) -> Value {
    after(&decode("x.INV.T", None, value))["p"].clone()
}

/// `value.converter.decimal.format=NUMERIC` (Kafka 2.4+): the converter writes each Decimal
/// as a JSON number, Java's `BigDecimal.toString`, instead of base64. The value is the same
/// exact decimal string as the base64 form gives.
#[test]
fn decimals_the_json_converter_writes_as_numbers_decode_as_the_base64_form_does() {
    for (schema, number, base64) in [
        (decimal(2, 10), "100.00", r#""JxA=""#),
        (decimal(2, 10), "-12.34", r#""+y4=""#),
        // Oracle NUMBER(5,-2): BigDecimal writes a negative scale with an exponent.
        (decimal(-2, 5), "5E+2", r#""BQ==""#),
        (decimal(8, 10), "1.0E-7", r#""Cg==""#),
        // MySQL BIGINT UNSIGNED, bigint.unsigned.handling.mode=precise.
        (decimal(0, 20), "18446744073709551615", r#""AP//////////""#),
    ] {
        let want = p(&with_schema(schema.clone(), base64));
        assert_eq!(p(&with_schema(schema, number)), want, "{number}");
    }
    assert_eq!(p(&with_schema(decimal(-2, 5), "5E+2")), "500");
    assert_eq!(p(&with_schema(decimal(8, 10), "1.0E-7")), "0.00000010");

    // numeric(10,2)[] with a null, and a Decimal key column.
    let array = json!({"type": "array", "items": decimal(2, 10)});
    assert_eq!(
        p(&with_schema(array, "[1.50,null,-0.01]")),
        json!(["1.50", null, "-0.01"])
    );
    let key = json!({"schema": {"type": "struct", "fields": [
                        {"type": "bytes", "name": "org.apache.kafka.connect.data.Decimal",
                         "parameters": {"scale": "0"}, "field": "ID"}]},
                     "payload": {"ID": 1004}})
    .to_string();
    let e = decode("x.INV.T", Some(&key), &with_schema(decimal(2, 10), "1.00"));
    assert_eq!(e.key.as_ref().unwrap()["ID"], "1004");

    // Neither form: an error naming the column and both forms.
    let err = decode_err(&with_schema(decimal(2, 10), "true"));
    assert!(err.contains("value.payload.after.p"), "{err}");
    assert!(err.contains("a base64 string or a number"), "{err}");
    let err = decode_err(&with_schema(decimal(2, 10), "1e-99999"));
    assert!(
        err.contains("value.payload.after.p") && err.contains("out of range"),
        "{err}"
    );
}

/// PostgreSQL writes an unchanged TOASTed `int[]` / `bigint[]` as the placeholder's bytes,
/// one integer each (`UnchangedToastedPlaceholder`): flagged like the text placeholder,
/// not taken for the column's new value. An array that only looks alike is data.
#[test]
fn toasted_integer_arrays_hold_the_placeholder_bytes_and_are_flagged() {
    let ints = |s: &str| Value::from(s.bytes().map(i64::from).collect::<Vec<_>>());
    let placeholder = ints("__debezium_unavailable_value");
    let source = json!({"connector": "postgresql", "schema": "public", "table": "t",
                        "lsn": 1, "txId": 2, "ts_ms": 1});
    let value = json!({"before": null, "op": "u", "source": source,
                       "after": {"id": 1, "ids": placeholder, "big": placeholder,
                                 "other": ints("__debezium_unavailable_valuX"), "n": [1, 2]}})
    .to_string();
    let e = decode("p.public.t", None, &value);
    let mut flagged: Vec<Value> = e.metadata[UNAVAILABLE_COLUMNS].as_array().unwrap().clone();
    flagged.sort_by_key(|v| v.to_string());
    assert_eq!(flagged, [json!("big"), json!("ids")]);
    assert_eq!(after(&e)["ids"], placeholder, "kept as sent");

    // Another placeholder, with schemas: a conversion makes the row parse up front.
    let mut d = Decoder::with_placeholder("s", "n/a");
    let value = with_fields(
        vec![
            (
                "d",
                json!({"type": "int32", "name": "io.debezium.time.Date"}),
            ),
            ("p", json!({"type": "array", "items": {"type": "int32"}})),
        ],
        &json!({"d": 1, "p": ints("n/a")}).to_string(),
    );
    let e = d
        .decode("x.INV.T", None, Some(value.as_bytes()))
        .unwrap()
        .unwrap();
    assert_eq!(e.metadata[UNAVAILABLE_COLUMNS], json!(["p"]));
    assert_eq!(after(&e)["d"], "1970-01-02");

    // An empty array is no placeholder, whatever the placeholder.
    let e = Decoder::with_placeholder("s", "")
        .decode(
            "p.public.t",
            None,
            Some(br#"{"op":"c","source":{"table":"t"},"after":{"a":[]}}"#),
        )
        .unwrap()
        .unwrap();
    assert!(!e.metadata.contains_key(UNAVAILABLE_COLUMNS));
}
