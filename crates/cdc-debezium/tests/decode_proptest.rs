//! Property tests over the decoder: arbitrary bytes, mutated real records and arbitrary JSON
//! never panic; every error names a location.

use cdc_debezium::decode::Decoder;
use proptest::prelude::*;

const SCHEMAS: &str = include_str!("fixtures/debezium/debezium-postgres-schemas.jsonl");

fn sample_values() -> Vec<(String, Vec<u8>)> {
    SCHEMAS
        .lines()
        .take(20)
        .filter_map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).ok()?;
            let value = v.get("value").filter(|x| !x.is_null())?;
            Some((
                v["destination"].as_str()?.to_owned(),
                serde_json::to_vec(value).ok()?,
            ))
        })
        .collect()
}

fn check(topic: &str, key: Option<&[u8]>, value: Option<&[u8]>) {
    let mut d = Decoder::new("prop");
    if let Err(e) = d.decode(topic, key, value) {
        let text = e.to_string();
        assert!(text.contains(" at "), "error without a location: {text}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_bytes_never_panic(key in proptest::option::of(proptest::collection::vec(any::<u8>(), 0..64)),
                                   value in proptest::option::of(proptest::collection::vec(any::<u8>(), 0..256))) {
        check("t.public.x", key.as_deref(), value.as_deref());
    }

    #[test]
    fn mutated_real_records_never_panic(idx in 0usize..12, pos in any::<prop::sample::Index>(),
                                        byte in any::<u8>(), cut in any::<bool>()) {
        let samples = sample_values();
        let (topic, mut bytes) = samples[idx % samples.len()].clone();
        let i = pos.index(bytes.len());
        if cut { bytes.truncate(i); } else { bytes[i] = byte; }
        check(&topic, Some(br#"{"id":1}"#), Some(&bytes));
    }

    #[test]
    fn wrong_types_in_known_fields_are_errors_not_panics(
        field in prop::sample::select(vec!["op", "ts_ms", "source", "before", "after", "transaction", "payload", "ddl", "tableChanges", "status"]),
        replacement in prop::sample::select(vec!["1", "\"x\"", "[1,2]", "{}", "true", "null", "-9223372036854775808", "1e400"]),
    ) {
        let base = r#"{"before":null,"after":{"id":1},"source":{"ts_ms":1,"schema":"public","table":"t","lsn":5},"op":"c","ts_ms":2}"#;
        let mut v: serde_json::Value = serde_json::from_str(base).unwrap();
        v[field] = serde_json::from_str(replacement).unwrap_or(serde_json::Value::Null);
        let bytes = serde_json::to_vec(&v).unwrap();
        check("p.public.t", None, Some(&bytes));
    }
}

fn json_value() -> impl Strategy<Value = serde_json::Value> {
    use serde_json::Value;
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        (-1e300f64..1e300).prop_map(Value::from),
        "\\PC{0,12}".prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            proptest::collection::btree_map("[a-z]{1,4}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// A source field whose type differs by connector (or that only some connector has)
    /// never makes a record undecodable, whatever JSON it holds: the event still has its
    /// table and its row.
    #[test]
    fn any_json_in_a_connector_typed_source_field_still_decodes(
        field in prop::sample::select(vec!["txId", "lsn", "pos", "row", "gtid", "change_lsn",
            "commit_lsn", "scn", "vgtid", "ord", "sequence", "xmin", "event_serial_no",
            "server_id", "thread", "query", "rs", "lsid", "txnNumber", "wallTime"]),
        value in json_value(),
        file in any::<bool>(),
    ) {
        let mut source = serde_json::json!({"ts_ms": 1, "schema": "public", "table": "t"});
        if file {
            source["file"] = "mysql-bin.000003".into();
        }
        source[field] = value;
        let record = serde_json::json!({"before": null, "after": {"id": 1}, "op": "c",
                                        "source": source});
        let bytes = serde_json::to_vec(&record).unwrap();
        let e = Decoder::new("prop")
            .decode("p.public.t", None, Some(&bytes))
            .unwrap_or_else(|e| panic!("{record}: {e}"))
            .expect("an event");
        prop_assert_eq!(e.qualified_table(), "public.t");
        prop_assert!(e.after.is_some());
    }
}

/// A change record that decodes: its key is read.
const VALID_VALUE: &[u8] =
    br#"{"before":null,"after":{"id":1},"source":{"schema":"public","table":"t"},"op":"c"}"#;

/// Record keys from the pieces the key readers react to (quotes, escapes, a cut-off
/// backslash, surrogate escapes, the wrapped form's keys), next to a valid value so that the
/// key is read at all.
fn hostile_key() -> impl Strategy<Value = Vec<u8>> {
    let piece = prop_oneof![
        Just("\\"),
        Just("\"\\"),
        Just("\\u"),
        Just("\\uD800"),
        Just("\\uDC00"),
        Just("\\n"),
        Just("\""),
        Just("{"),
        Just("}"),
        Just("["),
        Just("]"),
        Just(":"),
        Just(","),
        Just("\"id\":"),
        Just("\"schema\":null,"),
        Just("\"payload\":"),
        Just("1"),
        Just("null"),
        Just("é"),
        Just(" "),
    ];
    prop::collection::vec(piece, 0..16).prop_map(|p| p.concat().into_bytes())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    /// Whatever the key of a valid record holds, it is read or refused naming `key`.
    #[test]
    fn any_key_of_a_valid_record_is_decoded_or_refused(key in hostile_key()) {
        check("p.public.t", Some(&key), Some(VALID_VALUE));
    }
}

/// The keys the property above shrank to: a backslash cut off by the end of the key sent the
/// surrogate repair past the end of the text.
#[test]
fn a_key_ending_in_a_backslash_is_an_error_naming_the_key() {
    for key in [&b"\\"[..], b"x\\", b"\"\\", b"{\"id\":\"\\"] {
        let err = Decoder::new("s")
            .decode("p.public.t", Some(key), Some(VALID_VALUE))
            .unwrap_err()
            .to_string();
        assert!(err.contains("at key"), "{err}");
    }
}

#[test]
fn malformed_records_say_what_and_where() {
    let mut d = Decoder::new("s");
    let cases: &[(&[u8], &str)] = &[
        (b"{not json", "at value"),
        (br#"{"op":"z","source":{"table":"t"}}"#, "value.op"),
        (br#"{"op":"c","after":[1],"source":{"table":"t"}}"#, "value.after"),
        (br#"{"op":"c","after":{"id":1}}"#, "value.source"),
        (br#"{"op":"c","ts_ms":"soon","source":{"table":"t"}}"#, "value.ts_ms"),
        (br#"{"schema":{"type":"struct","fields":[{"field":"after","type":"struct","fields":[{"field":"p","type":"bytes","name":"org.apache.kafka.connect.data.Decimal","parameters":{"scale":"2"}}]}]},"payload":{"op":"c","after":{"p":"!!"},"source":{"table":"t"}}}"#, "value.payload.after.p"),
        (br#"{"something":"else"}"#, "not a Debezium record"),
    ];
    for (bytes, want) in cases {
        let err = d
            .decode("x.public.t", None, Some(bytes))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains(want),
            "{}: {err}",
            String::from_utf8_lossy(bytes)
        );
    }
}
