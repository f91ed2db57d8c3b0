//! Shared test helpers: the recorded Kafka Connect exchanges as wiremock responses.
#![allow(dead_code)]

use std::path::PathBuf;

use wiremock::ResponseTemplate;

/// Status and body of a recorded exchange (`tests/fixtures/kafka-connect/<name>`).
pub fn exchange(name: &str) -> (u16, String) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/kafka-connect")
        .join(name);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("fixture {}: {e}", path.display()));
    let http = text.find("HTTP/1.1 ").expect("status line");
    let status: u16 = text[http + 9..http + 12].parse().unwrap();
    let rest = text[http..].replace('\r', "");
    let body = rest
        .split_once("\n\n")
        .map(|(_, b)| b.trim().to_owned())
        .unwrap_or_default();
    (status, body)
}

/// A wiremock response replaying a recorded exchange.
pub fn replay(name: &str) -> ResponseTemplate {
    let (status, body) = exchange(name);
    let t = ResponseTemplate::new(status);
    if body.is_empty() {
        t
    } else {
        t.set_body_raw(body, "application/json")
    }
}

/// A Kafka Connect error body.
pub fn error(status: u16, message: &str) -> ResponseTemplate {
    ResponseTemplate::new(status)
        .set_body_json(serde_json::json!({"error_code": status, "message": message}))
}

/// A source config for a connector named `pg1` on the mock server.
pub fn pg_source(connect_url: &str, extra: serde_json::Value) -> cdc_core::SourceConfig {
    let mut options = serde_json::json!({
        "connector_name": "pg1",
        "topic_prefix": "pg1",
        "database": "postgres://postgres:x@127.0.0.1:55433/app",
        "retry": {"max_attempts": 4, "initial_backoff_ms": 5, "max_backoff_ms": 20, "max_elapsed_ms": 5000},
        "request_timeout_ms": 2000
    });
    if let (Some(o), Some(e)) = (options.as_object_mut(), extra.as_object()) {
        for (k, v) in e {
            o.insert(k.clone(), v.clone());
        }
    }
    cdc_core::SourceConfig::from_value(serde_json::json!({
        "provider": "debezium",
        "source_id": "orders-db",
        "source_type": "postgres",
        "connection": connect_url,
        "tables": ["public.customers"],
        "options": options,
    }))
    .unwrap()
}

/// `METHOD /path?query` of every request the server received, in order.
pub async fn requests(server: &wiremock::MockServer) -> Vec<String> {
    server
        .received_requests()
        .await
        .unwrap_or_default()
        .iter()
        .map(|r| match r.url.query() {
            Some(q) => format!("{} {}?{q}", r.method, r.url.path()),
            None => format!("{} {}", r.method, r.url.path()),
        })
        .collect()
}

/// A Kafka Connect (wiremock) that creates `pg1` as the recorded exchange does, and a
/// provider with [`pg_source`] connected to it.
pub async fn connected_pg1() -> (wiremock::MockServer, cdc_debezium::DebeziumProvider) {
    use cdc_core::CdcProvider;
    use wiremock::Mock;
    use wiremock::matchers::{method, path};
    let server = wiremock::MockServer::start().await;
    Mock::given(method("PUT"))
        .and(path("/connectors/pg1/config"))
        .respond_with(replay("06-create-pg1.txt"))
        .mount(&server)
        .await;
    let p = cdc_debezium::DebeziumProvider::new();
    p.connect(&pg_source(&server.uri(), serde_json::json!({})))
        .await
        .unwrap();
    (server, p)
}

/// A log writer into a shared buffer (tests capture what the provider logs through it).
#[derive(Clone, Default)]
pub struct Log(pub std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Log {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
