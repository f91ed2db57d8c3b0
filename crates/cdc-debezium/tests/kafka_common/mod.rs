//! Shared by the Kafka suites: rdkafka's in-process mock cluster holding the real Debezium
//! fixture records, a wiremock Kafka Connect, a source config, and a collecting handler.
#![allow(dead_code)]

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use cdc_core::{
    CdcProvider, CdcStatus, EventHandler, HandlerError, Operation, SharedEvent, Subscription,
};
use cdc_debezium::DebeziumProvider;
use rdkafka::ClientConfig;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::mocking::MockCluster;
use rdkafka::producer::{BaseProducer, BaseRecord, DefaultProducerContext, Producer};
use rdkafka::{Offset, TopicPartitionList};
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// Partitions of every topic.
pub const PARTITIONS: i32 = 3;
/// The fixture's `topic.prefix`.
pub const PREFIX: &str = "pgfx";

/// One fixture record.
#[derive(Clone, Debug)]
pub struct Fixture {
    pub topic: String,
    pub key: Option<String>,
    pub value: Option<String>,
}

/// The 42 records of `debezium-postgres-plain.jsonl`, in order.
pub fn fixtures() -> Vec<Fixture> {
    include_str!("../fixtures/debezium/debezium-postgres-plain.jsonl")
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            let text = |v: &Value| (!v.is_null()).then(|| v.to_string());
            Fixture {
                topic: v["destination"].as_str().unwrap().to_owned(),
                key: text(&v["key"]),
                value: text(&v["value"]),
            }
        })
        .collect()
}

/// The fixture's topics.
pub fn fixture_topics() -> Vec<String> {
    let mut t: Vec<String> = fixtures().into_iter().map(|f| f.topic).collect();
    t.sort();
    t.dedup();
    t
}

/// Where a record went.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Coord {
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
}

/// A produced record: where it went and whether it carries an event (tombstones do not).
#[derive(Clone, Debug)]
pub struct Sent {
    pub at: Coord,
    pub key: Option<String>,
    pub has_event: bool,
    pub op: Option<String>,
}

/// A mock cluster with one broker and a producer.
pub struct Kafka {
    pub cluster: MockCluster<'static, DefaultProducerContext>,
    producer: BaseProducer,
    next: Mutex<HashMap<(String, i32), i64>>,
}

impl Kafka {
    /// The cluster, with the fixture's topics of [`PARTITIONS`] partitions each.
    pub fn start() -> Self {
        Self::with_topics(&fixture_topics())
    }

    /// The cluster with these topics.
    pub fn with_topics(topics: &[String]) -> Self {
        let cluster = MockCluster::new(1).unwrap();
        for t in topics {
            cluster.create_topic(t, PARTITIONS, 1).unwrap();
        }
        let producer: BaseProducer = ClientConfig::new()
            .set("bootstrap.servers", cluster.bootstrap_servers())
            .set("linger.ms", "5")
            .create()
            .unwrap();
        Self {
            cluster,
            producer,
            next: Mutex::new(HashMap::new()),
        }
    }

    pub fn bootstrap(&self) -> String {
        self.cluster.bootstrap_servers()
    }

    /// Produces records (a key always goes to the same partition) and waits until the
    /// broker has them.
    pub fn produce(&self, records: &[Fixture]) -> Vec<Sent> {
        let mut sent = Vec::new();
        for r in records {
            let partition = partition_of(r.key.as_deref());
            let mut rec: BaseRecord<'_, str, str> = BaseRecord::to(&r.topic).partition(partition);
            if let Some(k) = &r.key {
                rec = rec.key(k.as_str());
            }
            if let Some(v) = &r.value {
                rec = rec.payload(v.as_str());
            }
            loop {
                match self.producer.send(rec) {
                    Ok(()) => break,
                    Err((_, back)) => {
                        self.producer.poll(Duration::from_millis(10));
                        rec = back;
                    }
                }
            }
            let mut next = self.next.lock().unwrap();
            let slot = next.entry((r.topic.clone(), partition)).or_insert(0);
            let op = r
                .value
                .as_deref()
                // A record that is not JSON (a test's undecodable one) has no op.
                .and_then(|v| serde_json::from_str::<Value>(v).ok())
                .and_then(|v| v["op"].as_str().map(str::to_owned));
            sent.push(Sent {
                at: Coord {
                    topic: r.topic.clone(),
                    partition,
                    offset: *slot,
                },
                key: r.key.clone(),
                has_event: r.value.is_some(),
                op,
            });
            *slot += 1;
        }
        self.producer.flush(Duration::from_secs(30)).unwrap();
        sent
    }

    /// The group's committed offsets of every fixture partition (a consumer that does not
    /// join, dropped off the runtime).
    pub async fn committed(&self, group: &str) -> BTreeMap<(String, i32), i64> {
        self.committed_in(group, &fixture_topics()).await
    }

    /// The group's committed offsets of every partition of `topics` (partitions without a
    /// commit are left out).
    pub async fn committed_in(
        &self,
        group: &str,
        topics: &[String],
    ) -> BTreeMap<(String, i32), i64> {
        let bootstrap = self.bootstrap();
        let group = group.to_owned();
        let topics = topics.to_vec();
        tokio::task::spawn_blocking(move || {
            let got = group_client(&bootstrap, &group)
                .committed_offsets(partitions_of(&topics, None), Duration::from_secs(10))
                .unwrap();
            got.elements()
                .iter()
                .filter_map(|e| match e.offset() {
                    Offset::Offset(o) => Some(((e.topic().to_owned(), e.partition()), o)),
                    _ => None,
                })
                .collect()
        })
        .await
        .unwrap()
    }
}

/// A consumer of `group` that never joins it: for reading and writing the group's offsets
/// (blocking; its drop too, so it is used off the runtime).
fn group_client(bootstrap: &str, group: &str) -> BaseConsumer {
    ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", group)
        .create()
        .unwrap()
}

/// Every fixture partition, at `offset` when given.
fn fixture_partitions(offset: Option<i64>) -> TopicPartitionList {
    partitions_of(&fixture_topics(), offset)
}

/// Every partition of `topics`, at `offset` when given.
fn partitions_of(topics: &[String], offset: Option<i64>) -> TopicPartitionList {
    let mut tpl = TopicPartitionList::new();
    for t in topics {
        for p in 0..PARTITIONS {
            match offset {
                Some(o) => {
                    tpl.add_partition_offset(t, p, Offset::Offset(o)).unwrap();
                }
                None => {
                    tpl.add_partition(t, p);
                }
            }
        }
    }
    tpl
}

impl Kafka {
    /// The high watermark (the next offset to be written) of every partition of `topics`.
    pub async fn high_watermarks(&self, topics: &[String]) -> BTreeMap<(String, i32), i64> {
        let bootstrap = self.bootstrap();
        let topics = topics.to_vec();
        tokio::task::spawn_blocking(move || {
            let c = group_client(&bootstrap, "cdc-watermarks");
            let mut out = BTreeMap::new();
            for t in &topics {
                for p in 0..PARTITIONS {
                    let (_, high) = c.fetch_watermarks(t, p, Duration::from_secs(10)).unwrap();
                    out.insert((t.clone(), p), high);
                }
            }
            out
        })
        .await
        .unwrap()
    }

    /// Commits `offset` for every fixture partition of `group` (a consumer that does not
    /// join, dropped off the runtime), whatever the brokers hold.
    pub async fn commit_all(&self, group: &str, offset: i64) {
        let bootstrap = self.bootstrap();
        let group = group.to_owned();
        tokio::task::spawn_blocking(move || {
            group_client(&bootstrap, &group)
                .commit(&fixture_partitions(Some(offset)), CommitMode::Sync)
                .unwrap();
        })
        .await
        .unwrap();
    }
}

/// A provider with the fixture source `fx` connected (`kafka` merged into `options.kafka`)
/// and a collecting handler subscribed to it; the subscription lasts as long as it is kept.
pub async fn connected(
    server: &MockServer,
    kafka: &Kafka,
    kafka_options: Value,
) -> (DebeziumProvider, Arc<Collector>, Subscription) {
    let p = connected_alone(server, kafka, kafka_options).await;
    let got = Arc::new(Collector::default());
    let sub = p.subscribe("fx", got.clone()).unwrap();
    (p, got, sub)
}

/// Source `fx` connected, nobody subscribed yet.
pub async fn connected_alone(
    server: &MockServer,
    kafka: &Kafka,
    kafka_options: Value,
) -> DebeziumProvider {
    let p = DebeziumProvider::new();
    p.connect(&source(
        &server.uri(),
        &kafka.bootstrap(),
        kafka_options,
        json!({}),
    ))
    .await
    .unwrap();
    p
}

/// The partition of a key: stable, so a key's changes stay in order.
pub fn partition_of(key: Option<&str>) -> i32 {
    let h = key
        .unwrap_or("")
        .bytes()
        .fold(0u32, |h, b| h.wrapping_mul(31).wrapping_add(u32::from(b)));
    (h % PARTITIONS as u32) as i32
}

/// A wiremock Kafka Connect that accepts the connector and lists its topics.
pub async fn connect_server() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("PUT"))
        .and(path(format!("/connectors/{PREFIX}/config")))
        .respond_with(super::common::replay("06-create-pg1.txt"))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("/connectors/{PREFIX}/status")))
        .respond_with(super::common::replay("08-status-running.txt"))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("/connectors/{PREFIX}/topics")))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({PREFIX: {"topics": ["pgfx.public.customers"]}})),
        )
        .mount(&server)
        .await;
    server
}

/// A Debezium source reading the fixture's topics from the mock cluster; `kafka` entries
/// are merged into `options.kafka`, `extra` into `options`.
pub fn source(
    connect_url: &str,
    bootstrap: &str,
    kafka: Value,
    extra: Value,
) -> cdc_core::SourceConfig {
    source_of_type("postgres", connect_url, bootstrap, kafka, extra)
}

/// [`source`] of another `source_type` (its `database` DSN goes in `extra`).
pub fn source_of_type(
    source_type: &str,
    connect_url: &str,
    bootstrap: &str,
    kafka: Value,
    extra: Value,
) -> cdc_core::SourceConfig {
    let mut k = json!({
        "bootstrap_servers": bootstrap,
        "group_id": "cdc-fx",
        "retry_initial_backoff_ms": 20,
        "retry_max_backoff_ms": 200,
        "batch_max": 64,
        "properties": {"topic.metadata.refresh.interval.ms": "500", "session.timeout.ms": "6000",
                       "heartbeat.interval.ms": "300"}
    });
    merge(&mut k, kafka);
    let mut options = json!({
        "connector_name": PREFIX,
        "topic_prefix": PREFIX,
        "database": "postgres://postgres:x@127.0.0.1:55433/dbz_fixture",
        "retry": {"max_attempts": 3, "initial_backoff_ms": 5, "max_backoff_ms": 20, "max_elapsed_ms": 2000},
        "request_timeout_ms": 2000,
        "kafka": k,
    });
    merge(&mut options, extra);
    cdc_core::SourceConfig::from_value(json!({
        "provider": "debezium",
        "source_id": "fx",
        "source_type": source_type,
        "connection": connect_url,
        "tables": [],
        "options": options,
    }))
    .unwrap()
}

fn merge(into: &mut Value, from: Value) {
    if let (Some(o), Value::Object(e)) = (into.as_object_mut(), from) {
        for (k, v) in e {
            o.insert(k, v);
        }
    }
}

/// One delivered event.
#[derive(Clone, Debug)]
pub struct Got {
    pub at: Coord,
    pub op: Operation,
    pub key: Option<Value>,
}

/// A handler that records every event and fails while `fail_at` names its coordinates
/// (panics while `panic_at` does).
#[derive(Default)]
pub struct Collector {
    pub got: Mutex<Vec<Got>>,
    pub fail_at: Mutex<Option<Coord>>,
    pub panic_at: Mutex<Option<Coord>>,
    pub failures: AtomicUsize,
    /// Milliseconds each call takes (a slow handler: records pile up behind it).
    pub delay_ms: std::sync::atomic::AtomicU64,
}

impl Collector {
    pub fn len(&self) -> usize {
        self.got.lock().unwrap().len()
    }

    pub fn all(&self) -> Vec<Got> {
        self.got.lock().unwrap().clone()
    }
}

/// The Kafka coordinates the transport put into an event's metadata (compared with where
/// each record was produced, they check the metadata too).
pub fn coord_of(e: &SharedEvent) -> Coord {
    let topic = e.metadata["kafka_topic"]
        .as_str()
        .unwrap_or_else(|| panic!("no kafka_topic: {:?}", e.metadata))
        .to_owned();
    Coord {
        topic,
        partition: e.metadata["kafka_partition"].as_i64().unwrap() as i32,
        offset: e.metadata["kafka_offset"].as_i64().unwrap(),
    }
}

#[async_trait]
impl EventHandler for Collector {
    async fn handle(&self, events: &[SharedEvent]) -> Result<(), HandlerError> {
        let delay = self.delay_ms.load(Ordering::SeqCst);
        if delay > 0 {
            tokio::time::sleep(Duration::from_millis(delay)).await;
        }
        for (i, e) in events.iter().enumerate() {
            if e.operation == Operation::Control {
                continue;
            }
            let at = coord_of(e);
            if self.fail_at.lock().unwrap().as_ref() == Some(&at) {
                self.failures.fetch_add(1, Ordering::SeqCst);
                return Err(HandlerError::new(i, format!("refusing {at:?}")));
            }
            if self.panic_at.lock().unwrap().as_ref() == Some(&at) {
                self.failures.fetch_add(1, Ordering::SeqCst);
                panic!("handler bug at {at:?}");
            }
            self.got.lock().unwrap().push(Got {
                at,
                op: e.operation,
                key: e.key.as_ref().map(|k| serde_json::to_value(k).unwrap()),
            });
        }
        Ok(())
    }
}

/// Waits until `done` holds, polling; panics with `what` after `secs`.
pub async fn wait_for(secs: u64, what: &str, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(
            start.elapsed() < Duration::from_secs(secs),
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The coordinates of the records that carry an event.
pub fn with_events(sent: &[Sent]) -> Vec<Coord> {
    sent.iter()
        .filter(|s| s.has_event)
        .map(|s| s.at.clone())
        .collect()
}

/// The source's status once the consumer's lag is 0 (everything committed), or the last one
/// seen after 10 s (the caller's assertions then say what is wrong).
pub async fn status_when_caught_up(p: &dyn CdcProvider, source_id: &str) -> CdcStatus {
    let mut st = p.status(source_id).await.unwrap();
    for _ in 0..100 {
        if st.details["kafka"]["consumer_lag_records"] == json!(0) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        st = p.status(source_id).await.unwrap();
    }
    st
}
