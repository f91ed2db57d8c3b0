//! Credentials given to the Kafka transport (pass-through `properties`, a bootstrap URL
//! with userinfo) never appear in `Debug`, the serialized options, errors, status or logs,
//! whichever part of the stack (our config checks, librdkafka's) reports on them.
#![cfg(feature = "kafka")]

mod common;
mod kafka_common;

use cdc_debezium::config::DebeziumSource;
use kafka_common::source;
use serde_json::json;

const SECRET: &str = "hunter2-Zq9";

/// librdkafka's secret properties (its `_RK_SENSITIVE` ones, that hold a secret rather
/// than a path or a public certificate) are masked by `Debug` and `Serialize`, whatever
/// their name looks like: `ssl.key.pem` is a private key.
#[test]
fn librdkafka_secret_properties_are_masked_in_debug_and_serialize() {
    let props = json!({
        "ssl.key.pem": format!("-----BEGIN PRIVATE KEY-----{SECRET}"),
        "sasl.oauthbearer.assertion.private.key.pem": SECRET,
        "sasl.oauthbearer.config": format!("principal=cdc extension_x={SECRET}"),
        "sasl.password": SECRET,
    });
    let cfg = source(
        "http://connect:8083",
        &format!("SASL_SSL://cdc:{SECRET}@broker:9092"),
        json!({"properties": props}),
        json!({}),
    );
    let src = DebeziumSource::from_config(&cfg).unwrap();
    let shown = format!("{src:?}");
    assert!(!shown.contains(SECRET), "{shown}");
    let ser = serde_json::to_string(&src.options).unwrap();
    assert!(!ser.contains(SECRET), "{ser}");
}
