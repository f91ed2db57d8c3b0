//! Trigger filters against hostile metadata and configs: table and schema names with
//! quotes, dots, unicode and control characters, operations no action names, megabyte
//! values, and 100 000-element lists. Never a panic, matching stays one lookup per event,
//! and messages and log lines stay short.

use std::time::{Duration, Instant};

use cdc_core::{ChangeEvent, Operation};
use cdc_trigger::{EventFilter, TriggerConfig, TriggerError};

fn event(op: Operation, schema: Option<&str>, table: &str) -> ChangeEvent {
    let mut e = ChangeEvent::new("s", op, "");
    e.schema = schema.map(Into::into);
    e.table = table.into();
    e
}

fn filter(tables: &[&str], actions: &[&str]) -> EventFilter {
    TriggerConfig::new("db")
        .with_tables(tables.iter().copied())
        .with_actions(actions.iter().copied())
        .validate()
        .unwrap()
}

/// Hostile names an event may carry: the source reports whatever the database holds.
fn hostile_names() -> Vec<String> {
    vec![
        String::new(),
        "users".into(),
        "Users".into(),
        "\"users\"".into(),
        "a.b".into(),
        "users ".into(),
        "ünïcödé".into(),
        "表".into(),
        "\u{0}".into(),
        "\u{1b}[2J".into(),
        "x".repeat(1 << 20),
    ]
}

#[test]
fn hostile_event_metadata_matches_exactly_and_the_index_agrees_with_the_scan() {
    let wanted = ["users", "public.orders", "ünïcödé", "sch.表"];
    let small = filter(&wanted, &[]);
    // Past 8 tables the filter indexes by name: the same answers.
    let padding: Vec<String> = (0..20).map(|i| format!("pad{i}.t{i}")).collect();
    let mut many: Vec<&str> = wanted.to_vec();
    many.extend(padding.iter().map(String::as_str));
    let big = filter(&many, &[]);
    let names = hostile_names();
    let schemas: Vec<Option<&str>> = std::iter::once(None)
        .chain(["public", "sch", "audit", "", "\"public\"", "pub.lic"].map(Some))
        .chain(names.iter().map(|n| Some(n.as_str())))
        .collect();
    let mut passed = 0;
    for table in names.iter().map(String::as_str).chain(["orders"]) {
        for schema in &schemas {
            let e = event(Operation::Insert, *schema, table);
            let want = table == "users"
                || table == "ünïcödé"
                || (table == "orders" && *schema == Some("public"))
                || (table == "表" && *schema == Some("sch"));
            assert_eq!(small.matches(&e), want, "{schema:?}.{table:.20}");
            assert_eq!(big.matches(&e), want, "{schema:?}.{table:.20}");
            passed += usize::from(want);
        }
    }
    assert_eq!(passed, 2 * schemas.len() + 2);
}

#[test]
fn operations_no_action_names_pass_only_an_empty_action_filter() {
    let any = filter(&[], &[]);
    let inserts = filter(&[], &["INSERT", "c", " insert "]);
    for op in [
        Operation::SchemaChange,
        Operation::Message,
        Operation::Control,
    ] {
        let e = event(op, Some("public"), "users");
        assert!(any.matches(&e), "{op:?}");
        assert!(!inserts.matches(&e), "{op:?}");
    }
    assert!(inserts.matches(&event(Operation::Insert, None, "t")));
    assert!(!inserts.matches(&event(Operation::Update, None, "t")));
    for bad in ["İNSERT", "insert\u{0}", "INSERT,UPDATE", "ｉｎｓｅｒｔ", ""] {
        let err = TriggerConfig::new("db")
            .with_actions([bad])
            .validate()
            .unwrap_err();
        assert!(err.to_string().contains("actions[0]"), "{err}");
    }
}

#[test]
fn a_filter_of_100_000_tables_matches_100_000_events_in_linear_time() {
    let tables: Vec<String> = (0..100_000)
        .map(|i| match i % 2 {
            0 => format!("s{i}.t{i}"),
            _ => format!("t{i}"),
        })
        .collect();
    let began = Instant::now();
    let f = TriggerConfig::new("db")
        .with_tables(tables.iter().map(String::as_str))
        .with_actions(vec!["c"; 100_000])
        .validate()
        .unwrap();
    let mut passed = 0usize;
    for i in 0..100_000 {
        // Every table in its own schema, one in a foreign schema, one unknown.
        passed += usize::from(f.matches(&event(
            Operation::Insert,
            Some(&format!("s{i}")),
            &format!("t{i}"),
        )));
        passed +=
            usize::from(f.matches(&event(Operation::Insert, Some("other"), &format!("t{i}"))));
        passed += usize::from(f.matches(&event(Operation::Insert, None, &format!("u{i}"))));
    }
    // Before the index, each event compared its table with every filter table: 3 * 10^10
    // comparisons, minutes.
    let took = began.elapsed();
    assert_eq!(passed, 100_000 + 50_000);
    assert!(took < Duration::from_secs(10), "took {took:?}");

    // Its log line names some of them.
    let shown = f.to_string();
    assert!(shown.len() < 1000, "{} bytes", shown.len());
    assert!(
        shown.ends_with("(99980 more) actions=INSERT"),
        "{shown:.200}"
    );
}

#[test]
fn megabyte_values_get_short_messages_naming_the_field() {
    let long = "x".repeat(1 << 20);
    let cases = [
        (TriggerConfig::new(format!(" {long}")), "source_id"),
        (
            TriggerConfig::new("db").with_tables(["ok", &format!("{long} x")]),
            "tables[1]",
        ),
        (
            TriggerConfig::new("db").with_tables([format!("a.b.{long}")]),
            "tables[0]",
        ),
        (
            TriggerConfig::new("db").with_actions([long.as_str()]),
            "actions[0]",
        ),
    ];
    for (config, field) in cases {
        let err = config.validate().unwrap_err();
        let text = err.to_string();
        assert!(text.len() < 400, "{field}: {} bytes", text.len());
        assert!(text.contains("bytes)"), "{field}: {text}");
        match err {
            TriggerError::InvalidConfig { field: f, .. } => assert_eq!(f, field),
            other => panic!("{other}"),
        }
    }
    // Quotes, spaces, ';' and extra dots in a filter table are refused naming the entry.
    for bad in ["\"users\"", "a b", "a;b", "a.b.c", ".a", "a.", "`t`"] {
        let err = TriggerConfig::new("db")
            .with_tables([bad])
            .validate()
            .unwrap_err();
        assert!(err.to_string().contains("tables[0]"), "{bad}: {err}");
    }
    // From YAML and JSON alike: deep or odd documents are errors, never panics.
    let deep = format!("{}1{}", "[".repeat(10_000), "]".repeat(10_000));
    for text in [
        deep.as_str(),
        "{\"source_id\": \"db\", \"tables\": {\"a\": 1}}",
    ] {
        assert!(TriggerConfig::from_json(text).is_err(), "{text:.40}");
        assert!(TriggerConfig::from_yaml(text).is_err(), "{text:.40}");
    }
}
