//! Rows kept as checked JSON text: they read exactly as the parsed row would, and the
//! unavailable-value placeholder is still found however the JSON spells it.

use cdc_debezium::decode::{Decoder, UNAVAILABLE_COLUMNS};
use proptest::prelude::*;
use serde_json::{Value, json};

fn record(after: &str) -> String {
    format!(
        r#"{{"before":null,"after":{after},"source":{{"ts_ms":1,"schema":"public","table":"t","lsn":5}},"op":"c","ts_ms":2}}"#
    )
}

fn decode_after(d: &mut Decoder, after: &str) -> cdc_core::ChangeEvent {
    d.decode(
        "p.public.t",
        Some(br#"{"id":1}"#),
        Some(record(after).as_bytes()),
    )
    .unwrap()
    .unwrap()
}

#[test]
fn rows_without_conversions_are_kept_as_their_text() {
    let mut d = Decoder::new("s");
    let text = r#"{"id": 1, "note": "a \"quoted\" word", "tags": ["x", "y"]}"#;
    let e = decode_after(&mut d, text);
    let after = e.after.as_ref().unwrap();
    assert_eq!(after.json_text(), Some(text));
    assert_eq!(
        *after,
        json!({"id": 1, "note": "a \"quoted\" word", "tags": ["x", "y"]})
    );
    assert_eq!(e.key.as_ref().unwrap().json_text(), Some(r#"{"id":1}"#));
    assert_eq!(e.key.as_ref().unwrap()["id"], 1);
    assert!(!e.metadata.contains_key(UNAVAILABLE_COLUMNS));
}

#[test]
fn the_placeholder_is_flagged_however_it_is_spelled() {
    let mut d = Decoder::new("s");
    for (after, col) in [
        (r#"{"id":1,"body":"__debezium_unavailable_value"}"#, "body"),
        // `\u0065` is `e`: the same string, not found by a literal search.
        (
            r#"{"id":1,"body":"__debezium_unavailable_valu\u0065"}"#,
            "body",
        ),
        (
            r#"{"id":1,"blob":"X19kZWJleml1bV91bmF2YWlsYWJsZV92YWx1ZQ=="}"#,
            "blob",
        ),
        (r#"{"id":1,"arr":["__debezium_unavailable_value"]}"#, "arr"),
    ] {
        let e = decode_after(&mut d, after);
        assert_eq!(e.metadata[UNAVAILABLE_COLUMNS], json!([col]), "{after}");
        // Kept as the source sent it, not mistaken for data.
        assert_eq!(e.after.as_ref().unwrap()["id"], 1);
    }

    // A placeholder whose base64 form has a `/`, which JSON may write as `\/`.
    let mut d = Decoder::with_placeholder("s", "???");
    let e = decode_after(&mut d, r#"{"id":1,"blob":"Pz8\/"}"#);
    assert_eq!(e.metadata[UNAVAILABLE_COLUMNS], json!(["blob"]));

    // A placeholder with a character JSON must escape is compared after parsing.
    let mut d = Decoder::with_placeholder("s", "n/a \"x\"");
    let e = decode_after(&mut d, r#"{"id":1,"body":"n/a \"x\""}"#);
    assert_eq!(e.metadata[UNAVAILABLE_COLUMNS], json!(["body"]));
    let e = decode_after(&mut d, r#"{"id":1,"body":"n/a"}"#);
    assert!(!e.metadata.contains_key(UNAVAILABLE_COLUMNS));
}

#[test]
fn numbers_beyond_u64_and_f64_come_out_exactly() {
    // serde_json's `arbitrary_precision`: number literals are kept as written.
    let mut d = Decoder::new("s");
    let after = r#"{"big":123456789012345678901234567890,"huge":1e400,"tiny":-1e-400,"neg":-98765432109876543210}"#;
    let e = d
        .decode("p.public.t", None, Some(record(after).as_bytes()))
        .unwrap()
        .unwrap();
    let row = e.after.as_ref().unwrap();
    assert_eq!(row["big"].to_string(), "123456789012345678901234567890");
    // serde_json spells the exponent with its sign; the value is the one written.
    assert_eq!(row["huge"].to_string(), "1e+400");
    assert_eq!(row["tiny"].to_string(), "-1e-400");
    assert_eq!(row["neg"].to_string(), "-98765432109876543210");
    let out = serde_json::to_string(&e).unwrap();
    assert!(
        out.contains(r#""big":123456789012345678901234567890"#),
        "{out}"
    );
    assert!(out.contains(r#""huge":1e+400"#), "{out}");
    let go = e.to_go_json().to_string();
    assert!(
        go.contains("123456789012345678901234567890") && go.contains("1e+400"),
        "{go}"
    );
}

#[test]
fn rows_that_would_not_parse_are_errors_at_their_place() {
    let mut d = Decoder::new("s");
    for (after, want) in [
        (r#"[1]"#, "a row must be an object, got an array"),
        // A string is read as a document's JSON text (MongoDB): this one holds none.
        (
            r#""text""#,
            "a row written as JSON text must hold a JSON object",
        ),
    ] {
        let err = d
            .decode("p.public.t", None, Some(record(after).as_bytes()))
            .unwrap_err()
            .to_string();
        assert!(err.contains(want), "{after}: {err}");
    }
    let deep = format!("{{\"a\":{}1{}}}", "[".repeat(200), "]".repeat(200));
    let err = d
        .decode("p.public.t", None, Some(record(&deep).as_bytes()))
        .unwrap_err()
        .to_string();
    assert!(err.contains("value.after"), "{err}");
}

fn json_leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        // Quarters are exact in binary, so text and value compare exactly.
        (-4000i32..4000).prop_map(|q| Value::from(f64::from(q) / 4.0)),
        ".{0,12}".prop_map(Value::from),
        Just(Value::from("__debezium_unavailable_value")),
    ]
}

fn json_row() -> impl Strategy<Value = Value> {
    let value = json_leaf().prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
            proptest::collection::btree_map(".{0,6}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    });
    proptest::collection::btree_map("[a-z_]{1,8}", value, 0..6)
        .prop_map(|m| Value::Object(m.into_iter().collect()))
}

/// Writes every non-ASCII-alphanumeric character of strings as `\uXXXX`, a spelling of the
/// same JSON that a literal search does not see through.
fn escape_heavily(v: &Value) -> String {
    fn string(s: &str, out: &mut String) {
        out.push('"');
        for c in s.chars() {
            if c.is_ascii_alphanumeric() && c != 'e' {
                out.push(c);
            } else {
                let mut buf = [0u16; 2];
                for unit in c.encode_utf16(&mut buf) {
                    out.push_str(&format!("\\u{unit:04x}"));
                }
            }
        }
        out.push('"');
    }
    fn value(v: &Value, out: &mut String) {
        match v {
            Value::String(s) => string(s, out),
            Value::Array(a) => {
                out.push('[');
                for (i, x) in a.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    value(x, out);
                }
                out.push(']');
            }
            Value::Object(m) => {
                out.push('{');
                for (i, (k, x)) in m.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    string(k, out);
                    out.push(':');
                    value(x, out);
                }
                out.push('}');
            }
            other => out.push_str(&other.to_string()),
        }
    }
    let mut out = String::new();
    value(v, &mut out);
    out
}

fn flagged(row: &Value) -> Value {
    let cols: Vec<Value> = row
        .as_object()
        .unwrap()
        .iter()
        .filter(|(_, v)| match v {
            Value::String(s) => s == "__debezium_unavailable_value",
            Value::Array(a) => a.len() == 1 && a[0] == "__debezium_unavailable_value",
            _ => false,
        })
        .map(|(k, _)| Value::from(k.as_str()))
        .collect();
    Value::Array(cols)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// A row reads as `serde_json` parses its text, and exactly the columns holding the
    /// placeholder are flagged, whether the text is compact or escapes every character.
    #[test]
    fn rows_read_as_parsed_and_flags_are_exact(row in json_row(), heavy in any::<bool>()) {
        let text = if heavy { escape_heavily(&row) } else { row.to_string() };
        let mut d = Decoder::new("s");
        let e = decode_after(&mut d, &text);
        let after = e.after.as_ref().unwrap();
        prop_assert_eq!(after.value(), &serde_json::from_str::<Value>(&text).unwrap());
        prop_assert_eq!(after.value(), &row);
        let want = flagged(&row);
        let got = e.metadata.get(UNAVAILABLE_COLUMNS).cloned().unwrap_or(json!([]));
        prop_assert_eq!(got, want);
    }
}
