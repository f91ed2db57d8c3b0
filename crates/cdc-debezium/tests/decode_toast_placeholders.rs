//! The placeholder Debezium's PostgreSQL connector writes for an unchanged TOASTed column,
//! in each form it takes by column type (its `UnchangedToastedPlaceholder`): every one is
//! flagged in `metadata.unavailable_columns` and kept as sent, none taken for the column's
//! new value (which would overwrite the real one downstream). Written as the JSON converter
//! writes them: Jackson's compact text, doubles by `Double.toString`.

use cdc_core::ChangeEvent;
use cdc_debezium::decode::{Decoder, UNAVAILABLE_COLUMNS};
use serde_json::{Value, json};

const SOURCE: &str = r#"{"connector":"postgresql","name":"p","db":"app","schema":"public","table":"parcels","lsn":1,"txId":2,"ts_ms":1}"#;

fn decode(decoder: &mut Decoder, after: &str) -> ChangeEvent {
    let value =
        format!(r#"{{"before":null,"after":{after},"source":{SOURCE},"op":"u","ts_ms":2}}"#);
    decoder
        .decode("p.public.parcels", None, Some(value.as_bytes()))
        .unwrap_or_else(|e| panic!("{e}"))
        .expect("an event")
}

fn flagged(e: &ChangeEvent) -> Vec<String> {
    let mut out: Vec<String> = e
        .metadata
        .get(UNAVAILABLE_COLUMNS)
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

#[test]
fn every_form_of_the_placeholder_is_flagged() {
    let after = r#"{"id":7,
        "note":"__debezium_unavailable_value",
        "blob":"X19kZWJleml1bV91bmF2YWlsYWJsZV92YWx1ZQ==",
        "tags":["__debezium_unavailable_value"],
        "blobs":["X19kZWJleml1bV91bmF2YWlsYWJsZV92YWx1ZQ=="],
        "attrs":{"__debezium_unavailable_value":"__debezium_unavailable_value"},
        "attrs_json":"{\"__debezium_unavailable_value\":\"__debezium_unavailable_value\"}",
        "ids":["b68a35a7-17ad-35b3-af2a-ae46edb4545a"],
        "shape":{"wkb":"AQEAACDmEAAAAAAA/IPXl8EAAAD8g9eXwQ==","srid":4326},
        "area":{"wkb":"AQEAACDmEAAADCHn/f9/ZkAYQs77/39WQA==","srid":4326},
        "spot":{"x":-9.9999999E7,"y":-9.9999999E7,"wkb":null,"srid":null},
        "name":"kept"}"#;
    let e = decode(&mut Decoder::new("s"), after);
    assert_eq!(
        flagged(&e),
        [
            "area",
            "attrs",
            "attrs_json",
            "blob",
            "blobs",
            "ids",
            "note",
            "shape",
            "spot",
            "tags"
        ]
    );
    let row = e.after.as_ref().unwrap().value().clone();
    assert_eq!(row["name"], "kept");
    assert_eq!(row["shape"]["srid"], 4326, "kept as sent");
}

/// Values that only look like a form of it are data: nothing is flagged.
#[test]
fn look_alikes_are_data() {
    let after = r#"{"id":7,
        "ids":["b68a35a7-17ad-35b3-af2a-ae46edb4545b"],
        "attrs":{"__debezium_unavailable_value":"x"},
        "shape":{"wkb":"AQEAACDmEAAAAAAA/IPXl8EAAAD8g9eXwA==","srid":4326},
        "spot":{"x":-9.9999999E7,"y":1.0},
        "tags":["__debezium_unavailable_value","x"]}"#;
    let e = decode(&mut Decoder::new("s"), after);
    assert_eq!(flagged(&e), Vec::<String>::new());
}

/// A connector's own `unavailable.value.placeholder` has the same forms, derived from it
/// (its UUID is Java's `UUID.nameUUIDFromBytes` of its bytes).
#[test]
fn a_custom_placeholder_has_the_same_forms() {
    let mut d = Decoder::with_placeholder("s", "n/a");
    // base64("n/a") = "bi9h"; UUID.nameUUIDFromBytes("n/a".getBytes()).
    let after = json!({"id": 1, "b": "bi9h", "h": {"n/a": "n/a"},
                       "u": ["274b6819-2b05-3e26-8f12-8ff63bfcd4a4"], "t": ["n/a"]})
    .to_string();
    let e = decode(&mut d, &after);
    assert_eq!(flagged(&e), ["b", "h", "t", "u"]);
}
