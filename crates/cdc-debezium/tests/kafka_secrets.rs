//! Credentials given to the Kafka transport (pass-through `properties`, a bootstrap URL
//! with userinfo) never appear in `Debug`, the serialized options, errors, status or logs,
//! whichever part of the stack (our config checks, librdkafka's) reports on them.
#![cfg(feature = "kafka")]

mod common;
mod kafka_common;

use std::time::Duration;

use cdc_core::CdcProvider;
use cdc_debezium::DebeziumProvider;
use cdc_debezium::config::DebeziumSource;
use kafka_common::{connect_server, source};
use serde_json::json;

const SECRET: &str = "hunter2-Zq9";

// The log capture (`common::Log`): Everything the process logs, at every level, on every thread, kept for the test.
use common::Log;

impl Log {
    /// The global subscriber (the consumer's threads log there), installed once.
    fn global() -> Self {
        static LOG: std::sync::OnceLock<Log> = std::sync::OnceLock::new();
        LOG.get_or_init(|| {
            let log = Log::default();
            let writer = log.clone();
            let sub = tracing_subscriber::fmt()
                .with_max_level(tracing::Level::TRACE)
                .with_writer(move || writer.clone())
                .with_ansi(false)
                .finish();
            tracing::subscriber::set_global_default(sub).unwrap();
            log
        })
        .clone()
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

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

/// A property librdkafka refuses (a typo, a Java-only key, a key this build does not
/// support): the error names the property and never shows its value.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_property_librdkafka_refuses_is_named_without_its_value() {
    let server = connect_server().await;
    for key in ["sasl.passwrd", "sasl.jaas.config", "ssl.key.password"] {
        let p = DebeziumProvider::new();
        let cfg = source(
            &server.uri(),
            "127.0.0.1:1",
            json!({"properties": {key: SECRET}}),
            json!({}),
        );
        match p.connect(&cfg).await {
            Ok(()) => p.disconnect("fx").await.unwrap(),
            Err(e) => {
                let text = format!("{e} {e:?}");
                assert!(!text.contains(SECRET), "{key}: {text}");
                assert!(
                    text.contains(&format!("options.kafka.properties.{key}")),
                    "{key}: {text}"
                );
            }
        }
    }
}

/// A bootstrap URL with userinfo (Kafka has no use for it, but it is typed so): librdkafka
/// quotes the broker's name in its warnings and errors; neither the log nor the status
/// shows the password.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_password_in_the_bootstrap_url_is_never_logged_nor_in_status() {
    let log = Log::global();
    let server = connect_server().await;
    let p = DebeziumProvider::new();
    for bootstrap in [
        format!("PLAINTEXT://cdc:{SECRET}@127.0.0.1:1"),
        format!("SASL_SSL://cdc:{SECRET}@127.0.0.1:1"),
    ] {
        let cfg = source(&server.uri(), &bootstrap, json!({}), json!({}));
        p.connect(&cfg).await.unwrap();
        let mut status = String::new();
        for _ in 0..40 {
            let st = p.status("fx").await.unwrap();
            status = format!("{st:?}");
            if st.error.as_deref().is_some_and(|e| e.contains("kafka")) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(!status.contains(SECRET), "{status}");
        p.disconnect("fx").await.unwrap();
    }
    let text = log.text();
    assert!(
        text.contains("librdkafka"),
        "librdkafka said nothing: {text}"
    );
    let leaks: Vec<&str> = text.lines().filter(|l| l.contains(SECRET)).collect();
    assert!(leaks.is_empty(), "{leaks:#?}");
}
