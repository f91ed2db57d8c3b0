//! The Kafka transport's throughput next to a bare rdkafka consumer, in the same run, on
//! rdkafka's mock cluster holding the real fixture records repeated to 200 000:
//!
//! - `bare`: a `BaseConsumer` in a fresh group polling the same topics and dropping each
//!   message;
//! - `transport`: a Debezium source (fresh group) consuming, decoding every record and
//!   handing each batch to a no-op handler, committing as it goes.
//!
//! Both are timed from creating the consumer until the last record was seen, so both pay
//! the group join. Rounds alternate; the medians and their ratio are printed.
//!
//! `cargo bench -p cdc-debezium --features kafka --bench kafka_consume` (env
//! `KAFKA_BENCH_RECORDS`, `KAFKA_BENCH_ROUNDS` to change the size).

/// The `cdc` binary's allocator (crates/cdc-cli/src/main.rs): what `cdc run` pays per event.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use cdc_core::{CdcProvider, EventHandler, HandlerError, SharedEvent};
use cdc_debezium::DebeziumProvider;
use rdkafka::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::mocking::MockCluster;
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const FIXTURE: &str = include_str!("../tests/fixtures/debezium/debezium-postgres-plain.jsonl");
/// The mock broker keeps at most 5 MB per partition (older records go): each topic gets
/// enough partitions to hold its share of the records at ~3 MB per partition.
const PARTITION_BYTES: usize = 3 * 1024 * 1024;

struct Fixture {
    topic: String,
    key: Option<String>,
    value: Option<String>,
}

fn fixtures() -> Vec<Fixture> {
    FIXTURE
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

/// Counts events; does nothing else.
struct NoOp(Arc<AtomicUsize>);

#[async_trait]
impl EventHandler for NoOp {
    async fn handle(&self, events: &[SharedEvent]) -> Result<(), HandlerError> {
        self.0.fetch_add(events.len(), Ordering::Relaxed);
        Ok(())
    }
}

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

fn main() {
    // `cargo bench` passes `--bench`; a plain `cargo test --benches` run passes nothing.
    let quick = !std::env::args().any(|a| a == "--bench");
    let total = env_usize("KAFKA_BENCH_RECORDS", if quick { 2_000 } else { 200_000 });
    let rounds = env_usize("KAFKA_BENCH_ROUNDS", if quick { 1 } else { 3 });

    let cluster = MockCluster::new(1).unwrap();
    let all = fixtures();
    let mut topics: Vec<String> = all.iter().map(|f| f.topic.clone()).collect();
    topics.sort();
    topics.dedup();
    let mut bytes: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    for f in all.iter().cycle().take(total) {
        *bytes.entry(f.topic.as_str()).or_insert(0) +=
            f.key.as_ref().map_or(0, String::len) + f.value.as_ref().map_or(0, String::len) + 64;
    }
    let partitions: std::collections::HashMap<&str, i32> = topics
        .iter()
        .map(|t| {
            (
                t.as_str(),
                (bytes[t.as_str()].div_ceil(PARTITION_BYTES)).max(3) as i32,
            )
        })
        .collect();
    for t in &topics {
        cluster.create_topic(t, partitions[t.as_str()], 1).unwrap();
    }
    let bootstrap = cluster.bootstrap_servers();
    let producer: BaseProducer = ClientConfig::new()
        .set("bootstrap.servers", &bootstrap)
        .set("linger.ms", "20")
        .set("queue.buffering.max.messages", "1000000")
        .create()
        .unwrap();
    let mut events = 0usize;
    let mut per_topic: std::collections::HashMap<&str, i32> = std::collections::HashMap::new();
    for f in all.iter().cycle().take(total) {
        // Round robin within each topic: the partitions fill evenly.
        let n = per_topic.entry(f.topic.as_str()).or_insert(0);
        let partition = *n % partitions[f.topic.as_str()];
        *n += 1;
        let mut rec: BaseRecord<'_, str, str> = BaseRecord::to(&f.topic).partition(partition);
        if let Some(k) = &f.key {
            rec = rec.key(k);
        }
        if let Some(v) = &f.value {
            rec = rec.payload(v);
            events += 1;
        }
        while let Err((_, back)) = producer.send(rec) {
            producer.poll(Duration::from_millis(5));
            rec = back;
        }
    }
    producer.flush(Duration::from_secs(120)).unwrap();
    // What the broker holds (the high watermarks), whatever the producer says.
    let probe: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", &bootstrap)
        .create()
        .unwrap();
    let mut held = 0i64;
    for t in &topics {
        for p in 0..partitions[t.as_str()] {
            let (low, high) = probe
                .fetch_watermarks(t, p, Duration::from_secs(10))
                .unwrap();
            assert_eq!(low, 0, "{t}[{p}]: the mock broker dropped old records");
            held += high - low;
        }
    }
    drop(probe);
    assert_eq!(
        held as usize, total,
        "the broker holds every record produced"
    );
    println!(
        "kafka_consume: {total} records ({events} with an event) on {} topics, {} partitions",
        topics.len(),
        partitions.values().sum::<i32>()
    );

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let connect = rt.block_on(async {
        let server = MockServer::start().await;
        Mock::given(method("PUT"))
            .respond_with(ResponseTemplate::new(201).set_body_json(
                json!({"name": "pgfx", "config": {}, "tasks": [], "type": "source"}),
            ))
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .and(path("/connectors/pgfx/topics"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({"pgfx": {"topics": []}})))
            .mount(&server)
            .await;
        server
    });

    // `KAFKA_BENCH_ONLY=bare` or `=transport` runs one side alone (to profile it).
    let only = std::env::var("KAFKA_BENCH_ONLY").unwrap_or_default();
    let mut bare = Vec::new();
    let mut ours = Vec::new();
    // After the first record (the group join excluded): the consumer's own speed.
    let mut bare_steady = Vec::new();
    let mut ours_steady = Vec::new();
    for round in 0..rounds {
        let mut line = format!("round {round}:");
        if only != "transport" {
            let (whole, first) = bare_round(&bootstrap, &topics, total, round);
            bare.push(total as f64 / whole);
            bare_steady.push(total as f64 / (whole - first));
            line += &format!(
                " bare {:.0} records/s (first record after {first:.2} s)",
                total as f64 / whole
            );
        }
        if only != "bare" {
            let (whole, first) =
                rt.block_on(transport_round(&connect.uri(), &bootstrap, events, round));
            ours.push(total as f64 / whole);
            ours_steady.push(total as f64 / (whole - first));
            line += &format!(
                " transport {:.0} records/s (first event after {first:.2} s)",
                total as f64 / whole
            );
        }
        println!("{line}");
    }
    if !only.is_empty() {
        let v = if only == "bare" {
            bare_steady
        } else {
            ours_steady
        };
        println!(
            "kafka_consume: {only} alone, after the first record: {:.0} records/s (median of {rounds})",
            median(v)
        );
        return;
    }
    let (b, o) = (median(bare), median(ours));
    println!("kafka_consume: bare consumer {b:.0} records/s (median of {rounds})");
    println!(
        "kafka_consume: transport (consume + decode + no-op handler) {o:.0} records/s (median of {rounds})"
    );
    println!(
        "kafka_consume: ratio transport/bare = {:.2}x (target >= 0.80x)",
        o / b
    );
    let (bs, os) = (median(bare_steady), median(ours_steady));
    println!(
        "kafka_consume: after the first record (group join excluded): bare {bs:.0} records/s, transport {os:.0} records/s, ratio {:.2}x",
        os / bs
    );
}

/// A bare consumer in a fresh group reads every record: (seconds in all, seconds until the
/// first record).
fn bare_round(bootstrap: &str, topics: &[String], total: usize, round: usize) -> (f64, f64) {
    let started = Instant::now();
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", format!("bare-{round}"))
        .set("enable.auto.commit", "false")
        .set("enable.auto.offset.store", "false")
        .set("auto.offset.reset", "earliest")
        .create()
        .unwrap();
    let names: Vec<&str> = topics.iter().map(String::as_str).collect();
    consumer.subscribe(&names).unwrap();
    let mut seen = 0usize;
    let mut idle = Instant::now();
    let mut first: Option<Instant> = None;
    while seen < total {
        if let Some(m) = consumer.poll(Duration::from_millis(100)) {
            drop(m.unwrap());
            seen += 1;
            idle = Instant::now();
            first.get_or_insert(idle);
        }
        assert!(
            idle.elapsed() < Duration::from_secs(30),
            "bare consumer stalled at {seen} of {total}"
        );
    }
    let secs = started.elapsed().as_secs_f64();
    // Dropped on a thread of its own: the drop blocks while it leaves the group.
    std::thread::spawn(move || drop(consumer));
    (
        secs,
        first.map(|f| (f - started).as_secs_f64()).unwrap_or(0.0),
    )
}

/// A Debezium source in a fresh group delivers every event to a no-op handler: (seconds in
/// all, seconds until the first event).
async fn transport_round(
    connect: &str,
    bootstrap: &str,
    events: usize,
    round: usize,
) -> (f64, f64) {
    let count = Arc::new(AtomicUsize::new(0));
    let cfg = cdc_core::SourceConfig::from_value(json!({
        "provider": "debezium", "source_id": format!("fx{round}"), "source_type": "postgres",
        "connection": connect, "tables": [],
        "options": {"connector_name": "pgfx", "topic_prefix": "pgfx",
                    "database": "postgres://u:p@db:5432/x", "on_stop": "keep",
                    "kafka": {"bootstrap_servers": bootstrap, "group_id": format!("ours-{round}")}}
    }))
    .unwrap();
    let p = DebeziumProvider::new();
    let started = Instant::now();
    p.connect(&cfg).await.unwrap();
    let _sub = p
        .subscribe(&cfg.source_id, Arc::new(NoOp(Arc::clone(&count))))
        .unwrap();
    let mut last = (0, Instant::now());
    let mut first: Option<Instant> = None;
    while count.load(Ordering::Relaxed) < events {
        tokio::time::sleep(Duration::from_millis(2)).await;
        let now = count.load(Ordering::Relaxed);
        if now != last.0 {
            last = (now, Instant::now());
            first.get_or_insert(last.1);
        }
        if last.1.elapsed() >= Duration::from_secs(30) {
            let st = p.status(&cfg.source_id).await.unwrap();
            panic!(
                "transport stalled at {now} of {events} events: status {:?} error {:?} details {:?}",
                st.state, st.error, st.details
            );
        }
    }
    let secs = started.elapsed().as_secs_f64();
    p.disconnect(&cfg.source_id).await.unwrap();
    (
        secs,
        first.map(|f| (f - started).as_secs_f64()).unwrap_or(0.0),
    )
}
