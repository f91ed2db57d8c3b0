//! Numbers in a record or its schema that no database writes: a decimal scale of two
//! billion, a decimal of hundreds of kilobytes, a date billions of years away, a `Decimal`
//! schema without its scale. Each is an error naming the column (and the schema field),
//! returned at once: never a string of gigabytes, a conversion that runs for minutes, an
//! overflow panic or a scale of 0 made up. Source-block numbers of the wrong sign or type
//! (an LSN of -1, a binlog row as text) give a position as written, never another one.

use std::time::{Duration, Instant};

use base64::Engine as _;
use cdc_debezium::decode::Decoder;
use serde_json::{Value, json};

/// A wrapped change record whose `after.p` has the given Connect schema and value.
fn record(field_schema: Value, value: Value) -> Vec<u8> {
    let mut field = field_schema;
    field["field"] = json!("p");
    json!({
        "schema": {"type": "struct", "fields": [
            {"field": "after", "type": "struct", "optional": true, "fields": [field]}
        ]},
        "payload": {"op": "c", "after": {"p": value}, "source": {"table": "t", "ts_ms": 1}}
    })
    .to_string()
    .into_bytes()
}

fn decimal_schema(params: Value) -> Value {
    json!({"type": "bytes", "name": "org.apache.kafka.connect.data.Decimal", "parameters": params})
}

fn variable_scale_schema() -> Value {
    json!({"type": "struct", "name": "io.debezium.data.VariableScaleDecimal", "fields": [
        {"field": "scale", "type": "int32"}, {"field": "value", "type": "bytes"}
    ]})
}

/// The decode error of `bytes`. It must come at once: the bound is a guard against a
/// conversion that runs for minutes (as these did), not a measure of speed.
fn error_of(bytes: &[u8]) -> String {
    let started = Instant::now();
    let err = Decoder::new("s")
        .decode("x.public.t", None, Some(bytes))
        .expect_err("a hostile number is an error")
        .to_string();
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "the error took {:?}",
        started.elapsed()
    );
    err
}

fn value_of(bytes: &[u8]) -> Value {
    let e = Decoder::new("s")
        .decode("x.public.t", None, Some(bytes))
        .unwrap()
        .unwrap();
    e.after.unwrap().value()["p"].clone()
}

#[test]
fn a_decimal_schema_without_a_usable_scale_is_an_error_naming_the_field() {
    for (params, want) in [
        (json!({}), "needs its `scale` parameter"),
        (json!({"scale": "two"}), "must be an integer, got \"two\""),
        (json!({"scale": true}), "must be an integer, got a boolean"),
        (
            json!({"scale": "2000000000"}),
            "scale 2000000000 is out of range",
        ),
        (json!({"scale": -99999}), "scale -99999 is out of range"),
    ] {
        let err = error_of(&record(decimal_schema(params.clone()), json!("JxA=")));
        assert!(err.contains("value.schema"), "{params}: {err}");
        assert!(err.contains("field `p`"), "{params}: {err}");
        assert!(err.contains(want), "{params}: {err}");
    }
}

#[test]
fn a_decimal_scale_given_as_a_number_or_at_the_ends_of_its_range_is_read() {
    assert_eq!(
        value_of(&record(decimal_schema(json!({"scale": 2})), json!("JxA="))),
        json!("100.00")
    );
    assert_eq!(
        value_of(&record(
            decimal_schema(json!({"scale": " 3 "})),
            json!("Jws=")
        )),
        json!("9.995")
    );
    // 10000 with scale 16383: "0.", 16378 zeros, "10000".
    let v = value_of(&record(
        decimal_schema(json!({"scale": "16383"})),
        json!("JxA="),
    ));
    let text = v.as_str().unwrap();
    assert_eq!(text.len(), 2 + 16_383);
    assert!(
        text.starts_with("0.000") && text.ends_with("10000"),
        "{text:.20}"
    );
    let v = value_of(&record(
        decimal_schema(json!({"scale": "-16383"})),
        json!("AQ=="),
    ));
    assert_eq!(v.as_str().unwrap().len(), 1 + 16_383);
}

#[test]
fn a_variable_scale_decimal_with_a_scale_out_of_range_is_an_error_naming_the_column() {
    for scale in [2_000_000_000i64, -2_000_000_000, 16_384, i64::MAX] {
        let err = error_of(&record(
            variable_scale_schema(),
            json!({"scale": scale, "value": "AQ=="}),
        ));
        assert!(err.contains("value.payload.after.p"), "{scale}: {err}");
        assert!(err.contains("out of range"), "{scale}: {err}");
    }
    assert_eq!(
        value_of(&record(
            variable_scale_schema(),
            json!({"scale": 3, "value": "Jws="})
        )),
        json!("9.995")
    );
}

#[test]
fn a_decimal_larger_than_any_database_writes_is_an_error_at_once() {
    // 300 KB of unscaled value: the old conversion took time in the square of it.
    let huge = base64::engine::general_purpose::STANDARD.encode(vec![0x5au8; 300 * 1024]);
    for (schema, value) in [
        (decimal_schema(json!({"scale": "2"})), json!(huge)),
        (variable_scale_schema(), json!({"scale": 2, "value": huge})),
    ] {
        let err = error_of(&record(schema, value));
        assert!(err.contains("value.payload.after.p"), "{err}");
        assert!(err.contains("larger than the 65536 allowed"), "{err}");
    }
}

#[test]
fn the_widest_postgresql_numeric_converts_exactly() {
    // 10^147455 - 1 would be PostgreSQL's widest; 10^1000 is plenty to check exactness of
    // the multi-limb path: 1 followed by 1000 zeros, from its two's complement bytes.
    let mut n: Vec<u8> = vec![1];
    for _ in 0..1000 {
        // n *= 10, big-endian.
        let mut carry = 0u32;
        for b in n.iter_mut().rev() {
            let v = u32::from(*b) * 10 + carry;
            *b = v as u8;
            carry = v >> 8;
        }
        while carry > 0 {
            n.insert(0, carry as u8);
            carry >>= 8;
        }
    }
    if n[0] & 0x80 != 0 {
        n.insert(0, 0);
    }
    let b64 = base64::engine::general_purpose::STANDARD.encode(&n);
    let v = value_of(&record(
        decimal_schema(json!({"scale": "1000"})),
        json!(b64),
    ));
    assert_eq!(v, json!(format!("1.{}", "0".repeat(1000))));
}

/// Every integer is a date or a timestamp (proleptic Gregorian over the whole range, the
/// sentinels of PostgreSQL's infinity as words): real rows hold such values, and a record
/// that does not decode holds its partition.
#[test]
fn a_date_or_timestamp_of_any_integer_converts_never_an_error_or_a_panic() {
    for (name, v, want) in [
        (
            "io.debezium.time.Date",
            i64::MAX,
            "+25252734927768524-07-27",
        ),
        (
            "io.debezium.time.Date",
            i64::MIN,
            "-25252734927764585-06-07",
        ),
        ("io.debezium.time.MicroTimestamp", i64::MAX, "infinity"),
        ("io.debezium.time.Timestamp", i64::MIN, "-infinity"),
        (
            "io.debezium.time.Timestamp",
            i64::MAX - 1,
            "+292278994-08-17T07:12:55.806",
        ),
    ] {
        let got = value_of(&record(json!({"type": "int64", "name": name}), json!(v)));
        assert_eq!(got, json!(want), "{name} {v}");
    }
    // Nanoseconds span less than ±292 years: every i64 of them is a date near ours.
    assert_eq!(
        value_of(&record(
            json!({"type": "int64", "name": "io.debezium.time.NanoTimestamp"}),
            json!(i64::MIN + 1)
        )),
        json!("1677-09-21T00:12:43.145224193")
    );
}

/// The position and commit time of a change whose source block is `source`.
fn source_of(source: Value) -> (Option<String>, Option<String>) {
    let bytes = json!({"op": "c", "after": {"id": 1}, "source": source}).to_string();
    let e = Decoder::new("s")
        .decode("x.public.t", None, Some(bytes.as_bytes()))
        .unwrap()
        .unwrap();
    (
        e.position.map(|p| p.as_str().to_owned()),
        e.commit_time.map(|t| t.unix_timestamp().to_string()),
    )
}

#[test]
fn an_lsn_of_the_wrong_sign_or_type_is_kept_as_written_not_made_another_lsn() {
    let pos = |lsn: Value| source_of(json!({"table": "t", "lsn": lsn})).0;
    assert_eq!(pos(json!(40_334_528)), Some("0/26774C0".into()));
    // The same number as a string, and one beyond i64: PostgreSQL's form too.
    assert_eq!(pos(json!("40334528")), Some("0/26774C0".into()));
    assert_eq!(
        pos(json!(18_446_744_073_709_551_615u64)),
        Some("FFFFFFFF/FFFFFFFF".into())
    );
    // Not the largest LSN there is.
    assert_eq!(pos(json!(-1)), Some("-1".into()));
    assert_eq!(pos(json!("0/16B3748")), Some("0/16B3748".into()));
    // An LSN that says nothing: the other fields are asked.
    assert_eq!(pos(json!(1.5)), None);
    assert_eq!(
        source_of(json!({"table": "t", "lsn": {"x": 1}, "change_lsn": "00000027:00000758:0003"})).0,
        Some("00000027:00000758:0003".into())
    );
}

#[test]
fn a_binlog_position_or_row_given_as_text_stays_in_the_position() {
    let pos = |pos: Value, row: Value| {
        source_of(json!({"table": "t", "file": "mysql-bin.000003", "pos": pos, "row": row})).0
    };
    assert_eq!(
        pos(json!(1088), json!(2)),
        Some("mysql-bin.000003:1088:2".into())
    );
    assert_eq!(
        pos(json!("1088"), json!("2")),
        Some("mysql-bin.000003:1088:2".into())
    );
    // Two rows of one event never share a position because their row is not a number.
    assert_ne!(pos(json!(1088), json!("a")), pos(json!(1088), json!("b")));
    assert_eq!(
        source_of(json!({"table": "t", "file": "mysql-bin.000003", "pos": 4})).0,
        Some("mysql-bin.000003:4:0".into()),
        "a missing row is the event's first"
    );
}

#[test]
fn microseconds_beyond_the_calendar_fall_back_to_milliseconds() {
    let (_, t) = source_of(json!({"table": "t", "ts_us": i64::MAX, "ts_ms": 1_700_000_000_000i64}));
    assert_eq!(t, Some("1700000000".into()));
    let (_, t) = source_of(json!({"table": "t", "ts_us": i64::MAX, "ts_ms": i64::MAX}));
    assert_eq!(t, None, "no time at all rather than a made-up one");
}
