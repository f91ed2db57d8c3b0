//! `/metrics` of a real `cdc run` with a Debezium source on its Kafka transport: the
//! connector at a (wiremock) Kafka Connect, its topic in rdkafka's mock cluster holding real
//! Debezium records. Every record is counted as received, the consumer's lag in records is
//! exported (and reaches 0 once everything is committed), and the source is ready.
#![cfg(feature = "kafka")]

use std::time::Duration;

use rdkafka::ClientConfig;
use rdkafka::mocking::MockCluster;
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::common::*;

const FIXTURE: &str =
    include_str!("../../../cdc-debezium/tests/fixtures/debezium/debezium-postgres-plain.jsonl");

/// Produces the fixture's records into the cluster; returns the `op` of each record with a
/// value (tombstones carry none and become no event).
fn produce(cluster: &MockCluster<'_, rdkafka::producer::DefaultProducerContext>) -> Vec<String> {
    let producer: BaseProducer = ClientConfig::new()
        .set("bootstrap.servers", cluster.bootstrap_servers())
        .create()
        .unwrap();
    let mut ops = Vec::new();
    for line in FIXTURE.lines().filter(|l| !l.trim().is_empty()) {
        let v: Value = serde_json::from_str(line).unwrap();
        let topic = v["destination"].as_str().unwrap();
        let _ = cluster.create_topic(topic, 3, 1); // an error: created already
        let key = v["key"].to_string();
        let value = (!v["value"].is_null()).then(|| v["value"].to_string());
        let mut rec: BaseRecord<'_, str, str> = BaseRecord::to(topic).key(&key);
        if let Some(val) = &value {
            rec = rec.payload(val);
            ops.push(v["value"]["op"].as_str().unwrap().to_owned());
        }
        producer.send(rec).map_err(|(e, _)| e).unwrap();
    }
    producer.flush(Duration::from_secs(10)).unwrap();
    ops
}

async fn connect_worker() -> MockServer {
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_of_a_debezium_source_count_every_record_and_export_the_consumer_lag() {
    let cluster = MockCluster::new(1).unwrap();
    let ops = produce(&cluster);
    assert!(ops.len() > 10, "the fixture holds records: {}", ops.len());
    let connect = connect_worker().await;
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("dbz.yaml");
    std::fs::write(
        &cfg,
        format!(
            "sources:
  - provider: debezium
    source_id: fx
    source_type: postgres
    connection: {}
    options:
      connector_name: pgfx
      topic_prefix: pgfx
      database: postgres://dbz:pw@db:5432/dbz_fixture
      kafka:
        bootstrap_servers: {}
        properties: {{ topic.metadata.refresh.interval.ms: \"500\" }}
triggers:
  - name: all
    source_id: fx
settings:
  metrics_interval_secs: 0
",
            connect.uri(),
            cluster.bootstrap_servers()
        ),
    )
    .unwrap();
    let run = Run::start(&cfg, &[]);
    let src = ("source", "fx");
    let lag = |m: &Samples| sample(m, "cdc_kafka_consumer_lag", &[src]);
    // Every record received and delivered to the trigger; then everything committed.
    let m = scrape_until(&run.base, None, |m| {
        sum(m, "cdc_events_received_total", &[src]) == ops.len() as f64
            && sum(m, "cdc_events_delivered_total", &[src, ("trigger", "all")]) == ops.len() as f64
            && lag(m) == Some(0.0)
    })
    .await;
    // Received by operation, as the records say.
    for (op, name) in [
        ("r", "snapshot"),
        ("c", "insert"),
        ("u", "update"),
        ("d", "delete"),
    ] {
        let want = ops.iter().filter(|o| o.as_str() == op).count() as f64;
        assert_eq!(
            sample(&m, "cdc_events_received_total", &[src, ("op", name)]).unwrap_or(0.0),
            want,
            "{name}"
        );
    }
    assert_eq!(
        sample(&m, "cdc_source_state", &[src, ("state", "running")]),
        Some(1.0)
    );
    let (code, body) = get(&run.base, "/health/ready", None).await;
    assert_eq!(code, 200, "{body}");
    let (status, stderr) = {
        run.signal(nix::sys::signal::Signal::SIGTERM);
        run.finish()
    };
    assert!(status.success(), "{status:?}: {stderr}");
}
