//! A Debezium source for `cdc run` tests: real Debezium records of the repository's fixture
//! produced into rdkafka's mock cluster, a wiremock Kafka Connect answering like a worker with
//! the connector running, and the config file of a source reading them.

use std::time::Duration;

use rdkafka::ClientConfig;
use rdkafka::mocking::MockCluster;
use rdkafka::producer::{BaseProducer, BaseRecord, DefaultProducerContext, Producer};
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const FIXTURE: &str =
    include_str!("../../../cdc-debezium/tests/fixtures/debezium/debezium-postgres-plain.jsonl");

/// A record of the fixture that carries an event (tombstones carry none).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Produced {
    /// The table (the topic without the `pgfx.` prefix).
    pub table: String,
    /// Debezium's `op`: `r`, `c`, `u`, `d`.
    pub op: String,
    /// The record key's JSON text.
    pub key: String,
}

/// Produces every fixture record (3 partitions per topic); returns those with a value.
pub fn produce(cluster: &MockCluster<'_, DefaultProducerContext>) -> Vec<Produced> {
    let producer: BaseProducer = ClientConfig::new()
        .set("bootstrap.servers", cluster.bootstrap_servers())
        .create()
        .unwrap();
    let mut out = Vec::new();
    for line in FIXTURE.lines().filter(|l| !l.trim().is_empty()) {
        let v: Value = serde_json::from_str(line).unwrap();
        let topic = v["destination"].as_str().unwrap();
        let _ = cluster.create_topic(topic, 3, 1); // an error: created already
        let key = v["key"].to_string();
        let value = (!v["value"].is_null()).then(|| v["value"].to_string());
        let mut rec: BaseRecord<'_, str, str> = BaseRecord::to(topic).key(&key);
        if let Some(val) = &value {
            rec = rec.payload(val);
            out.push(Produced {
                table: topic.trim_start_matches("pgfx.").to_owned(),
                op: v["value"]["op"].as_str().unwrap().to_owned(),
                key: key.clone(),
            });
        }
        producer.send(rec).map_err(|(e, _)| e).unwrap();
    }
    producer.flush(Duration::from_secs(10)).unwrap();
    out
}

/// A Kafka Connect worker where connector `pgfx` is applied and runs.
pub async fn connect_worker() -> MockServer {
    let connect = MockServer::start().await;
    Mock::given(method("PUT"))
        .and(path("/connectors/pgfx/config"))
        .respond_with(
            ResponseTemplate::new(201).set_body_json(
                json!({"name": "pgfx", "config": {}, "tasks": [], "type": "source"}),
            ),
        )
        .mount(&connect)
        .await;
    Mock::given(method("GET"))
        .and(path("/connectors/pgfx/topics"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"pgfx": {"topics": ["pgfx.public.customers"]}})),
        )
        .mount(&connect)
        .await;
    Mock::given(method("GET"))
        .and(path("/connectors/pgfx/status"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"name":"pgfx",
            "connector":{"state":"RUNNING","worker_id":"w:8083"},
            "tasks":[{"id":0,"state":"RUNNING","worker_id":"w:8083"}],"type":"source"})),
        )
        .mount(&connect)
        .await;
    connect
}

/// The config of source `fx` (connector `pgfx`) with one trigger `all`.
pub fn config(connect_uri: &str, bootstrap: &str) -> String {
    format!(
        "sources:
  - provider: debezium
    source_id: fx
    source_type: postgres
    connection: {connect_uri}
    options:
      connector_name: pgfx
      topic_prefix: pgfx
      database: postgres://dbz:pw@db:5432/dbz_fixture
      kafka:
        bootstrap_servers: {bootstrap}
        properties: {{ topic.metadata.refresh.interval.ms: \"500\" }}
triggers:
  - name: all
    source_id: fx
settings:
  metrics_interval_secs: 0
"
    )
}
