//! Hostile schemas and values on the schema path: tens of thousands of fields, struct
//! schemas nested past any database's, field names with escapes and any Unicode, a
//! `Decimal` scale of any JSON, a `VariableScaleDecimal` of any scale and bytes or with a
//! part missing, temporal integers of the whole `i64` range and values of the wrong JSON
//! type. Each gives the right event or an error naming the place (`value.schema`,
//! `value.payload.after.<column>`): never a panic, a hang or a wrong value.

use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use cdc_debezium::decode::Decoder;
use proptest::prelude::*;
use serde_json::{Value, json};

/// A wrapped insert whose `after` has the `columns` (schemas) and the `row`.
fn record(columns: Vec<Value>, row: Value) -> Vec<u8> {
    json!({"schema": {"type": "struct", "fields": [
               {"field": "after", "type": "struct", "optional": true, "fields": columns}]},
           "payload": {"op": "c", "after": row, "source": {"table": "t", "db": "d", "ts_ms": 1}}})
    .to_string()
    .into_bytes()
}

fn decode(bytes: &[u8]) -> Result<Value, String> {
    let started = Instant::now();
    let got = Decoder::new("s").decode("x.d.t", None, Some(bytes));
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "took {:?}",
        started.elapsed()
    );
    match got {
        Ok(Some(e)) => Ok(e.after.expect("an after image").value().clone()),
        Ok(None) => panic!("no event"),
        Err(e) => Err(e.to_string()),
    }
}

fn logical(field: &str, ty: &str, name: &str) -> Value {
    json!({"field": field, "type": ty, "optional": true, "name": name})
}

fn decimal(field: &str, params: Value) -> Value {
    json!({"field": field, "type": "bytes", "name": "org.apache.kafka.connect.data.Decimal",
           "parameters": params})
}

fn vsd(field: &str) -> Value {
    json!({"field": field, "type": "struct", "name": "io.debezium.data.VariableScaleDecimal",
           "fields": [{"field": "scale", "type": "int32"}, {"field": "value", "type": "bytes"}]})
}

/// `unscaled` with the point `scale` places from the right (a negative scale appends zeros).
fn place(unscaled: i128, scale: i64) -> String {
    let (sign, digits) = (
        if unscaled < 0 { "-" } else { "" },
        unscaled.unsigned_abs().to_string(),
    );
    let s = usize::try_from(scale.unsigned_abs()).unwrap();
    match scale {
        _ if scale <= 0 && digits == "0" => format!("{sign}0"),
        _ if scale <= 0 => format!("{sign}{digits}{}", "0".repeat(s)),
        _ if digits.len() > s => {
            let (i, f) = digits.split_at(digits.len() - s);
            format!("{sign}{i}.{f}")
        }
        _ => format!("{sign}0.{}{digits}", "0".repeat(s - digits.len())),
    }
}

#[test]
fn a_schema_of_tens_of_thousands_of_fields_converts_each_once() {
    let n = 20_000;
    let columns = (0..n).map(|i| logical(&format!("c{i}"), "int32", "io.debezium.time.Date"));
    let row: serde_json::Map<String, Value> = (0..n).map(|i| (format!("c{i}"), json!(i))).collect();
    let after = decode(&record(columns.collect(), Value::Object(row))).unwrap();
    assert_eq!(after["c0"], "1970-01-01");
    assert_eq!(after["c19999"], "2024-10-03");
    assert_eq!(after.as_object().unwrap().len(), n);
}

/// Struct schemas 40 deep convert their leaf; thousands deep are an error at
/// `value.schema` (past the JSON parser's depth), never a stack overflow.
#[test]
fn deeply_nested_struct_schemas() {
    let (mut schema, mut value) = (decimal("p", json!({"scale": "2"})), json!({"p": "JxA="}));
    let mut path = vec![];
    for i in 0..40 {
        schema = json!({"field": format!("s{i}"), "type": "struct", "fields": [schema]});
        value = json!({ format!("s{i}"): value });
        path.push(format!("s{i}"));
    }
    let after = decode(&record(
        vec![schema["fields"][0].clone()],
        value["s39"].clone(),
    ))
    .unwrap();
    let leaf = path[..39].iter().rev().fold(&after, |v, k| &v[k]);
    assert_eq!(leaf["p"], "100.00");
    // As text: a `Value` this deep overflows the test's own stack when dropped.
    for (open, close) in [
        (r#"{"field":"x","type":"struct","fields":["#, "]}"),
        (r#"{"field":"x","type":"array","items":"#, "}"),
        (r#"{"field":"x","type":"map","values":"#, "}"),
    ] {
        let leaf = r#"{"field":"x","type":"int32","name":"io.debezium.time.Date"}"#;
        let schema = format!("{}{leaf}{}", open.repeat(5_000), close.repeat(5_000));
        let text = format!(
            r#"{{"schema":{{"type":"struct","fields":[{{"field":"after","type":"struct","fields":[{schema}]}}]}},"payload":{{"op":"c","after":{{"x":1}},"source":{{"table":"t"}}}}}}"#
        );
        let e = decode(text.as_bytes()).unwrap_err();
        assert!(e.contains("at value.schema"), "{open}: {e}");
    }
}

#[test]
fn a_variable_scale_decimal_with_a_part_missing_or_wrong_names_the_column() {
    for (value, why) in [
        (json!({"scale": 2}), "needs a base64 `value`"),
        (json!({"value": "AQ=="}), "needs an integer `scale`"),
        (
            json!({"scale": "2", "value": "AQ=="}),
            "needs an integer `scale`",
        ),
        (json!({"scale": 2, "value": 1}), "needs a base64 `value`"),
        (json!({"scale": 2, "value": "#!"}), "is not base64"),
        (json!("AQ=="), "needs an integer `scale`"),
    ] {
        let e = decode(&record(vec![vsd("n")], json!({"n": value}))).unwrap_err();
        assert!(
            e.contains("value.payload.after.n: ") && e.contains(why),
            "{value}: {e}"
        );
    }
}

/// A column's logical type holds on to its value's JSON type: one of another type is an
/// error naming the column, with what came instead.
#[test]
fn a_value_of_another_type_than_its_schema_says_is_named() {
    for (col, value, why) in [
        (
            logical("c", "int64", "io.debezium.time.Timestamp"),
            json!("1529476623000"),
            "a timestamp must be a 64-bit integer, got a string \"1529476623000\"",
        ),
        (
            logical("c", "int64", "io.debezium.time.MicroTimestamp"),
            json!(1.5e15),
            "must be a 64-bit integer, got a number 1500000000000000.0",
        ),
        (
            logical("c", "int32", "io.debezium.time.Date"),
            json!(u64::MAX),
            "must be a 64-bit integer, got a number 18446744073709551615",
        ),
        (
            logical("c", "int64", "io.debezium.time.NanoTime"),
            json!({"t": 1}),
            "got an object",
        ),
        (
            decimal("c", json!({"scale": "2"})),
            json!([1]),
            "a Decimal must be a base64 string",
        ),
        (vsd("c"), json!(12.5), "needs an integer `scale`"),
    ] {
        let e = decode(&record(vec![col], json!({"c": value}))).unwrap_err();
        assert!(
            e.contains("at value.payload.after.c: ") && e.contains(why),
            "{e}"
        );
    }
}

/// Any JSON: what a hostile scale parameter or column value is drawn from.
fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        any::<i64>().prop_map(|n| Value::from(n.to_string())),
        (-20_000i64..20_000).prop_map(|n| Value::from(format!(" {n}"))),
        "[0-9+-]{0,25}".prop_map(Value::from),
        ".{0,12}".prop_map(Value::from),
        "[A-Za-z0-9+/]{0,8}={0,2}".prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 12, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
            prop::collection::btree_map("[a-z]{1,5}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Whether a value holds no leaf but `null` (in a map of pairs: no value but `null`, the
/// keys being of no logical type): as written is then converted.
fn nothing_to_convert(v: &Value, map: bool) -> bool {
    if let (true, Value::Array(pairs)) = (map, v) {
        return pairs
            .iter()
            .all(|p| p.get(1).is_some_and(|v| nothing_to_convert(v, false)));
    }
    let nothing_to_convert = |v| nothing_to_convert(v, false);
    match v {
        Value::Null => true,
        Value::Array(a) => a.iter().all(nothing_to_convert),
        Value::Object(o) => o.values().all(nothing_to_convert),
        _ => false,
    }
}

/// The scale Kafka Connect would read from a `scale` parameter (`Integer.parseInt`, or a
/// JSON integer), when it is one within the decoder's range.
fn scale_of(param: &Value) -> Option<i64> {
    let n = match param {
        Value::String(s) => s.trim().parse::<i64>().ok()?,
        v => v.as_i64()?,
    };
    (-16_383..=16_383).contains(&n).then_some(n)
}

proptest! {
    #[test]
    fn any_field_name_is_matched_to_its_column(name in any::<String>(), days in any::<i32>()) {
        let col = logical(&name, "int32", "io.debezium.time.Date");
        let after = decode(&record(vec![col], json!({ name.clone(): days }))).unwrap();
        prop_assert!(after[&name].as_str().is_some_and(|d| d.len() >= 10), "{after}");
    }

    #[test]
    fn a_decimal_scale_of_any_json_is_read_or_refused_naming_the_field(param in any_json()) {
        let bytes = record(vec![decimal("p", json!({"scale": param}))], json!({"p": "ew=="}));
        match (decode(&bytes), scale_of(&param)) {
            (Ok(after), Some(scale)) => prop_assert_eq!(after["p"].clone(), json!(place(123, scale))),
            (Err(e), None) => prop_assert!(
                e.contains("at value.schema: field `p`: ") && e.contains("scale"), "{}", e),
            (got, want) => prop_assert!(false, "scale {} gave {:?}, expected scale {:?}", param, got, want),
        }
    }

    #[test]
    fn a_variable_scale_decimal_is_exact_or_refused(
        scale in prop_oneof![-40i64..40, any::<i64>()],
        bytes in prop::collection::vec(any::<u8>(), 0..16),
    ) {
        let value = json!({"n": {"scale": scale, "value": B64.encode(&bytes)}});
        let got = decode(&record(vec![vsd("n")], value));
        if (-16_383..=16_383).contains(&scale) {
            let mut buf = [if bytes.first().is_some_and(|b| *b >= 0x80) { 0xff } else { 0 }; 16];
            buf[16 - bytes.len()..].copy_from_slice(&bytes);
            let want = place(i128::from_be_bytes(buf), scale);
            prop_assert_eq!(got.unwrap()["n"].clone(), json!(want));
        } else {
            let e = got.unwrap_err();
            prop_assert!(e.contains("value.payload.after.n: decimal scale"), "{}", e);
        }
    }

    /// Every `i64` converts, in every temporal type; within the `time` crate's years the
    /// timestamp is the one it gives.
    #[test]
    fn temporal_integers_of_the_whole_range_convert(
        n in prop_oneof![any::<i64>(), Just(i64::MIN), Just(i64::MAX), -1i64..1],
    ) {
        let names = [("io.debezium.time.Date", 0), ("io.debezium.time.Time", 0),
                     ("io.debezium.time.MicroTime", 0), ("io.debezium.time.NanoTime", 0),
                     ("io.debezium.time.Timestamp", 1_000_000),
                     ("io.debezium.time.MicroTimestamp", 1_000),
                     ("io.debezium.time.NanoTimestamp", 1)];
        let cols = names.iter().enumerate().map(|(i, (l, _))| logical(&format!("c{i}"), "int64", l));
        let row: serde_json::Map<_, _> = (0..names.len()).map(|i| (format!("c{i}"), json!(n))).collect();
        let after = decode(&record(cols.collect(), Value::Object(row))).unwrap();
        for (i, (_, nanos)) in names.iter().enumerate() {
            let text = after[format!("c{i}")].as_str().unwrap().to_owned();
            let at = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(n) * nanos);
            if *nanos > 0 && let Ok(at) = at && !text.contains("infinity") {
                let (d, y) = (at.date(), at.year());
                // As `java.time` prints a year: `-0001`, `+10000`.
                let year = match y {
                    ..0 => format!("-{:04}", -y),
                    10_000.. => format!("+{y}"),
                    _ => format!("{y:04}"),
                };
                let want = format!("{year}-{:02}-{:02}T{:02}:{:02}:{:02}.", u8::from(d.month()),
                    d.day(), at.hour(), at.minute(), at.second());
                prop_assert!(text.starts_with(&want), "{} {}", text, at);
            }
        }
    }

    /// Any JSON in a column of each logical type: converted when it is of the type the
    /// schema says, an error naming the column otherwise; never kept unconverted.
    #[test]
    fn any_value_in_a_typed_column_is_converted_or_refused(v in any_json()) {
        for col in [logical("c", "int64", "io.debezium.time.MicroTimestamp"),
                    logical("c", "int32", "io.debezium.time.Date"),
                    decimal("c", json!({"scale": "3"})), vsd("c"),
                    json!({"field": "c", "type": "array", "items": logical("", "int32", "io.debezium.time.Date")}),
                    json!({"field": "c", "type": "map", "values": logical("", "int32", "io.debezium.time.Date")})] {
            match decode(&record(vec![col.clone()], json!({"c": v}))) {
                Ok(after) => prop_assert!(after["c"] != v || nothing_to_convert(&v, col["type"] == "map"),
                    "{} kept as is in {}", v, col),
                Err(e) => prop_assert!(e.contains("at value.payload.after.c: "), "{}", e),
            }
        }
    }
}
