//! The map against what a sorted map does.

use super::*;
use serde_json::json;

#[test]
fn reads_like_a_sorted_map_and_clones_share() {
    let mut m = Metadata::new();
    assert!(m.insert("b".into(), json!(2)).is_none());
    m.insert("a".into(), json!({"x": 1}));
    assert_eq!(m.insert("b".into(), json!(3)), Some(json!(2)));
    assert_eq!(m["a"]["x"], 1);
    assert_eq!(m["missing"], Value::Null);
    assert!(m.contains_key("b") && !m.contains_key("c"));
    let keys: Vec<&str> = m.keys().collect();
    assert_eq!(keys, ["a", "b"]);
    let shared = m.clone();
    assert!(shared.shares_with(&m));
    let table = Arc::new(json!({"id": "int4"}));
    let mut a = Metadata::new();
    a.insert_shared("column_types", Arc::clone(&table));
    a.insert_static("snapshot", json!(true));
    assert_eq!(a["column_types"]["id"], "int4");
    assert_eq!(Arc::strong_count(&table), 2);
    let mut own = m.clone();
    own.insert("c".into(), json!(true));
    assert!(!own.shares_with(&m) && m.len() == 2 && own.len() == 3);
    assert_eq!(own.remove("c"), Some(json!(true)));
    assert_eq!(own, m);
    let text = serde_json::to_string(&m).unwrap();
    assert_eq!(text, r#"{"a":{"x":1},"b":3}"#);
    let back: Metadata = serde_json::from_str(&text).unwrap();
    // An integer set as one reads, compares, serializes and comes out as its Value.
    let mut ints = Metadata::new();
    ints.insert_int("b", 3);
    ints.insert("a".into(), json!({"x": 1}));
    assert_eq!(ints["b"], 3);
    assert_eq!(ints, m);
    assert_eq!(serde_json::to_string(&ints).unwrap(), text);
    let mut unread = Metadata::new();
    unread.insert_int("n", i64::MIN);
    assert_eq!(
        serde_json::to_string(&unread.clone()).unwrap(),
        r#"{"n":-9223372036854775808}"#
    );
    assert_eq!(unread.remove("n"), Some(json!(i64::MIN)));
    assert_eq!(back, m);
    assert_eq!(
        format!("{m:?}"),
        r#"{"a": Object {"x": Number(1)}, "b": Number(3)}"#
    );
}

/// Keys set in any order, more than the first capacity, some twice, some removed, and maps
/// merged: the map reads like a `BTreeMap` given the same calls, and clones keep what
/// they had.
#[test]
fn behaves_like_a_btreemap_in_any_order() {
    use std::collections::BTreeMap;
    let keys = [
        "ts_ms",
        "kafka_offset",
        "a",
        "kafka_partition",
        "",
        "kafka_topic",
        "snapshot",
        "kafka",
        "kafka_",
        "source_ts_ms",
        "z",
        "ts_ms",
        "é",
        "kafka_offset",
        "b",
        "aa",
    ];
    let mut seed = 0x2545_F491_4F6C_DD1D_u64;
    for round in 0..300 {
        let mut m = Metadata::new();
        let mut want: BTreeMap<String, Value> = BTreeMap::new();
        let mut before = None;
        for step in 0..(round % 24) {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let key = keys[(seed % keys.len() as u64) as usize];
            let n = (seed >> 8) as i64;
            match seed % 5 {
                0 => assert_eq!(m.remove(key), want.remove(key)),
                1 => {
                    m.insert_int(key, n);
                    want.insert(key.to_owned(), json!(n));
                }
                _ => assert_eq!(
                    m.insert(key.to_owned(), json!(n)),
                    want.insert(key.to_owned(), json!(n))
                ),
            }
            if step == 3 {
                before = Some((m.clone(), want.clone()));
            }
            let got: Vec<(&str, &Value)> = m.iter().collect();
            let model: Vec<(&str, &Value)> = want.iter().map(|(k, v)| (k.as_str(), v)).collect();
            assert_eq!(got, model, "round {round} step {step}");
            for k in keys {
                assert_eq!(m.get(k), want.get(k), "{k:?}");
            }
        }
        if let Some((then, model)) = before {
            let got: Vec<(&str, &Value)> = then.iter().collect();
            let want_then: Vec<(&str, &Value)> =
                model.iter().map(|(k, v)| (k.as_str(), v)).collect();
            assert_eq!(got, want_then, "a clone keeps what it had");
            // Merged: the other's keys win.
            let mut merged = then.clone();
            merged.merge(m.clone());
            let mut union = model;
            union.extend(want.clone());
            let got: Vec<(&str, &Value)> = merged.iter().collect();
            let want_merged: Vec<(&str, &Value)> =
                union.iter().map(|(k, v)| (k.as_str(), v)).collect();
            assert_eq!(got, want_merged, "round {round}: merge");
        }
    }
    let mut empty = Metadata::new();
    assert!(empty.shares_with(&Metadata::default()));
    empty.merge(Metadata::new());
    assert!(empty.is_empty());
    let mut one = Metadata::new();
    one.insert_int("x", 1);
    empty.merge(one.clone());
    assert!(
        empty.shares_with(&one),
        "merged into an empty map: shared, not copied"
    );
}
