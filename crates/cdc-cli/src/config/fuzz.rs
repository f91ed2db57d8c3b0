//! Property tests of config loading: whatever the file holds (random text, or random
//! documents built from the config's own keys with hostile values), loading never panics,
//! every problem names a line or says why it has none, no message shows the password of a
//! connection, and a config that loads has every number in its range.

use std::path::Path;

use proptest::prelude::*;
use serde_json::{Map, Value, json};

use super::check::load_text;
use super::{MAX_METRICS_INTERVAL_SECS, MAX_SHUTDOWN_TIMEOUT_SECS};

/// In every generated connection; never to be seen in a message.
const MARK: &str = "zq9MARK";

fn hostile_string() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        "[a-z_.]{1,12}",
        "\\PC{0,40}",
        any::<String>(),
        Just("${".to_owned()),
        Just("$${x}".to_owned()),
        Just("x|.*".to_owned()),
        Just("a,.*".to_owned()),
        Just("public.%".to_owned()),
        Just("${file:/etc/passwd:x}".to_owned()),
        Just("\u{0}\u{1b}[2J".to_owned()),
    ]
}

fn hostile_number() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        Just(json!(0)),
        Just(json!(-1)),
        Just(json!(u64::MAX)),
        Just(json!(1.5)),
        Just(json!(1e300)),
        (0u64..100_000).prop_map(Value::from),
    ]
}

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        hostile_number(),
        hostile_string().prop_map(Value::String),
    ]
}

fn value() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(option_key(), inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Keys the config knows (so that deep checks are reached) and some it does not.
fn option_key() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "capacity",
            "events_file",
            "max_line_bytes",
            "start_paused",
            "database",
            "auth",
            "basic",
            "bearer",
            "password",
            "token",
            "retry",
            "max_attempts",
            "tasks_max",
            "request_timeout_ms",
            "connector_config",
            "signal",
            "table",
            "mode",
            "output",
            "type",
            "url",
            "headers",
            "env",
            "poll_interval",
            "endpoint_url",
            "region",
            "ready_timeout_secs",
            "source_endpoint_arn",
            "kinesis_stream_arn",
            "slot",
        ])
        .prop_map(str::to_owned),
        "[a-z_]{1,10}",
    ]
}

fn source() -> impl Strategy<Value = Value> {
    (
        prop::sample::select(vec!["memory", "debezium", "dms", "bento", "postgres", "x"]),
        prop_oneof!["[a-z][a-z0-9_.-]{0,10}", hostile_string()],
        prop::sample::select(vec!["postgres", "mysql", "kafka", "dynamodb", ""]),
        prop::sample::select(vec![
            "postgres://u:PW@db:5432/shop",
            "http://admin:PW@connect:8083",
            "host=db user=u password=PW dbname=d",
            "postgres//u:PW@db/shop",
            "u:PW@tcp(db:3306)/shop",
        ]),
        prop::collection::vec(hostile_string(), 0..3),
        prop::collection::btree_map(option_key(), value(), 0..5),
    )
        .prop_map(|(provider, id, kind, conn, tables, options)| {
            let password = format!("{MARK}/?#@:{MARK}");
            json!({
                "provider": provider, "source_id": id, "source_type": kind,
                "connection": conn.replace("PW", &password), "tables": tables,
                "options": Value::Object(options.into_iter().collect::<Map<_, _>>()),
            })
        })
}

fn document() -> impl Strategy<Value = Value> {
    (
        prop::collection::vec(source(), 0..3),
        prop::option::of(prop::collection::btree_map(
            prop::sample::select(vec![
                "metrics_interval_secs",
                "shutdown_timeout_secs",
                "log_format",
                "status_file",
                "colour",
            ])
            .prop_map(str::to_owned),
            leaf(),
            0..4,
        )),
        prop::option::of(value()),
    )
        .prop_map(|(sources, settings, triggers)| {
            let mut doc = json!({"sources": sources});
            if let Some(s) = settings {
                doc["settings"] = Value::Object(s.into_iter().collect());
            }
            if let Some(t) = triggers {
                doc["triggers"] = t;
            }
            doc
        })
}

/// Loads `text` and checks the properties; the file is never read from disk (no events
/// file needs to exist) except through options that name one.
fn check(text: &str) {
    match load_text(Path::new("/nonexistent/fuzz.yaml"), text, &|_| None) {
        Ok(cfg) => {
            let s = &cfg.settings;
            assert!(s.metrics_interval_secs <= MAX_METRICS_INTERVAL_SECS);
            assert!((1..=MAX_SHUTDOWN_TIMEOUT_SECS).contains(&s.shutdown_timeout_secs));
            for src in cfg.sources.iter().filter(|s| s.provider == "memory") {
                cdc::memory::MemoryOptions::from_config(src).unwrap();
            }
        }
        Err(diags) => {
            assert!(!diags.is_empty());
            for d in diags {
                assert!(!d.message.trim().is_empty(), "an empty message");
                assert!(
                    !d.message.contains(MARK),
                    "a message shows the password: {d}"
                );
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn any_text_loads_or_is_refused_without_panicking(text in "\\PC{0,300}") {
        check(&text);
    }

    #[test]
    fn any_bytes_as_yaml_lines_load_or_are_refused(lines in prop::collection::vec(hostile_string(), 0..12)) {
        check(&lines.join("\n"));
    }

    #[test]
    fn hostile_documents_load_or_are_refused_naming_the_problem(doc in document()) {
        let text = cdc::core::yaml::to_string(&doc).unwrap();
        check(&text);
    }
}
