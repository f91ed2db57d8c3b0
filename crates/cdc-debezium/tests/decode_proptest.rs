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
