//! `options.kafka` as users write it: every value out of range, of the wrong type or that
//! the consumer would override is an error naming the field (never a panic or a silent
//! default), and the error never shows a secret.

use cdc_debezium::config::DebeziumSource;
use serde_json::{Value, json};

fn source(kafka: Value) -> cdc_core::SourceConfig {
    cdc_core::SourceConfig::from_value(json!({
        "provider": "debezium",
        "source_id": "fx",
        "source_type": "postgres",
        "connection": "http://connect:8083",
        "tables": ["public.t"],
        "options": {"database": "postgres://u:p@db:5432/x", "kafka": kafka},
    }))
    .unwrap()
}

fn error(kafka: Value) -> String {
    DebeziumSource::from_config(&source(kafka))
        .unwrap_err()
        .to_string()
}

/// Properties the consumer sets after the user's, under another name than the refused
/// ones (librdkafka's alias of `bootstrap.servers`, whose winner depends on a hash map's
/// order) or that it would overwrite without a word, are refused naming the property.
#[test]
fn properties_the_consumer_sets_itself_are_refused_whatever_their_name() {
    for key in ["metadata.broker.list", "enable.partition.eof"] {
        let e = error(json!({"bootstrap_servers": "b:9092", "properties": {key: "true"}}));
        assert!(
            e.contains(&format!("options.kafka.properties.{key}")),
            "{e}"
        );
    }
}

/// librdkafka takes C strings: a NUL inside a value is an error naming the property (it
/// was rdkafka's bare "FFI nul error" at connect), and never shows the value.
#[test]
fn a_nul_in_a_property_is_an_error_naming_it_without_the_value() {
    let e = error(json!({"bootstrap_servers": "b:9092",
                         "properties": {"sasl.password": "hunter2\u{0}x"}}));
    assert!(e.contains("options.kafka.properties.sasl.password"), "{e}");
    assert!(!e.contains("hunter2"), "{e}");
    let e = error(json!({"bootstrap_servers": "b:9092\u{0}"}));
    assert!(e.contains("options.kafka.bootstrap_servers"), "{e}");
}

/// YAML reads `session.timeout.ms: 6000`, `enable.ssl.certificate.verification: false` and
/// an all-digit `sasl.password: 123456` as numbers and booleans: librdkafka wants their
/// text, and a refusal quoted the value (serde shows a number it did not expect).
#[test]
fn property_values_written_as_numbers_or_booleans_are_taken_as_their_text() {
    let src = DebeziumSource::from_config(&source(json!({"bootstrap_servers": "b:9092",
        "properties": {"session.timeout.ms": 6000, "enable.ssl.certificate.verification": false,
                       "sasl.password": 123456}})))
    .unwrap();
    let props = &src.options.kafka.as_ref().unwrap().properties;
    assert_eq!(props["session.timeout.ms"], "6000");
    assert_eq!(props["enable.ssl.certificate.verification"], "false");
    assert_eq!(props["sasl.password"], "123456");
    assert!(!format!("{src:?}").contains("123456"));
    // Neither a list nor a map is a property value.
    let e = error(json!({"bootstrap_servers": "b:9092",
                         "properties": {"sasl.password": [123456]}}));
    assert!(e.contains("options.kafka.properties.sasl.password"), "{e}");
    assert!(!e.contains("123456"), "{e}");
}

/// Numbers out of range or of the wrong type, each named.
#[test]
fn out_of_range_or_mistyped_numbers_name_their_field() {
    for (kafka, field) in [
        (json!({"batch_max": -1}), "options.kafka.batch_max"),
        (json!({"batch_max": "ten"}), "options.kafka.batch_max"),
        (json!({"batch_max": 1.5}), "options.kafka.batch_max"),
        (json!({"batch_max": 10001}), "options.kafka.batch_max"),
        (
            json!({"retry_initial_backoff_ms": 0}),
            "options.kafka.retry_initial_backoff_ms",
        ),
        (
            json!({"retry_max_backoff_ms": u64::MAX}),
            "options.kafka.retry_max_backoff_ms",
        ),
        (
            json!({"pause_connector": "no"}),
            "options.kafka.pause_connector",
        ),
        (json!({"topics": "pgfx.public.t"}), "options.kafka.topics"),
        (json!({"topics": []}), "options.kafka.topics"),
        (json!({"group_id": " "}), "options.kafka.group_id"),
        (json!({"properties": "a=b"}), "options.kafka.properties"),
    ] {
        let mut k = json!({"bootstrap_servers": "b:9092"});
        k.as_object_mut()
            .unwrap()
            .extend(kafka.as_object().unwrap().clone());
        let e = error(k);
        assert!(e.contains(field), "{field}: {e}");
    }
}
