//! The Kafka transport under control and trouble, on rdkafka's mock cluster with the real
//! fixture records: a second consumer joining (rebalance), the broker going away and coming
//! back, pause/resume, a topic created after start, and a full re-snapshot's records.
#![cfg(feature = "kafka")]

mod common;
mod kafka_common;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use cdc_core::{CdcProvider, Operation};
use cdc_debezium::DebeziumProvider;
use kafka_common::{
    Collector, Coord, Kafka, connect_server, fixtures, source, wait_for, with_events,
};
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, ResponseTemplate};

fn coords(c: &Collector) -> BTreeSet<Coord> {
    c.all().into_iter().map(|g| g.at).collect()
}

async fn assigned(p: &DebeziumProvider) -> usize {
    p.status("fx").await.unwrap().details["kafka"]["assigned_partitions"]
        .as_array()
        .map(Vec::len)
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_consumers_in_one_group_a_rebalance_mid_stream_loses_nothing() {
    let kafka = Kafka::start();
    let server = connect_server().await;
    let cfg = source(
        &server.uri(),
        &kafka.bootstrap(),
        json!({"batch_max": 4}),
        json!({}),
    );
    let first_half = kafka.produce(&(0..5).flat_map(|_| fixtures()).collect::<Vec<_>>());

    let a_got = Arc::new(Collector::default());
    let a = DebeziumProvider::new();
    a.connect(&cfg).await.unwrap();
    let _a_sub = a.subscribe("fx", a_got.clone()).unwrap();
    wait_for(60, "a part of the first half", || a_got.len() >= 40).await;

    // A second member of the group: partitions are split between the two.
    let b_got = Arc::new(Collector::default());
    let b = DebeziumProvider::new();
    b.connect(&cfg).await.unwrap();
    let _b_sub = b.subscribe("fx", b_got.clone()).unwrap();
    let start = std::time::Instant::now();
    loop {
        let (na, nb) = (assigned(&a).await, assigned(&b).await);
        if nb > 0 && na > 0 && na + nb == 18 {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "no rebalance: a {na}, b {nb}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let second_half = kafka.produce(&(0..5).flat_map(|_| fixtures()).collect::<Vec<_>>());
    let want: BTreeSet<Coord> = with_events(&first_half)
        .into_iter()
        .chain(with_events(&second_half))
        .collect();
    wait_for(90, "everything, between the two", || {
        coords(&a_got).union(&coords(&b_got)).count() >= want.len()
    })
    .await;
    let union: BTreeSet<Coord> = coords(&a_got).union(&coords(&b_got)).cloned().collect();
    assert_eq!(union, want, "nothing lost");
    let late: BTreeSet<Coord> = with_events(&second_half).into_iter().collect();
    assert!(
        coords(&b_got).intersection(&late).count() > 0,
        "b took part"
    );
    a.disconnect("fx").await.unwrap();
    b.disconnect("fx").await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_broker_down_for_a_while_then_up_the_consumer_recovers_and_status_says_so() {
    let kafka = Kafka::start();
    let server = connect_server().await;
    let before = kafka.produce(&fixtures());
    let got = Arc::new(Collector::default());
    let p = DebeziumProvider::new();
    p.connect(&source(
        &server.uri(),
        &kafka.bootstrap(),
        json!({"properties": {"topic.metadata.refresh.interval.ms": "500", "session.timeout.ms": "6000",
                              "heartbeat.interval.ms": "300", "reconnect.backoff.max.ms": "200",
                              "socket.timeout.ms": "2000"}}),
        json!({}),
    ))
    .await
    .unwrap();
    let _sub = p.subscribe("fx", got.clone()).unwrap();
    wait_for(60, "the first records", || {
        got.len() >= with_events(&before).len()
    })
    .await;

    kafka.cluster.broker_down(1).unwrap();
    let start = std::time::Instant::now();
    let error = loop {
        let st = p.status("fx").await.unwrap();
        if let Some(e) = st.error.filter(|e| e.contains("kafka consumer")) {
            break e;
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "no error in status: {:?}",
            st.details
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert!(!error.is_empty());
    // Commits refused for a while too once it is back.
    kafka.cluster.broker_up(1).unwrap();
    kafka.cluster.request_errors(
        rdkafka::types::RDKafkaApiKey::OffsetCommit,
        &[rdkafka::types::RDKafkaRespErr::RD_KAFKA_RESP_ERR_COORDINATOR_LOAD_IN_PROGRESS; 3],
    );
    let after = kafka.produce(&fixtures());
    let want: BTreeSet<Coord> = with_events(&before)
        .into_iter()
        .chain(with_events(&after))
        .collect();
    wait_for(90, "the records after the outage", || {
        coords(&got).len() >= want.len()
    })
    .await;
    assert_eq!(coords(&got), want);
    let start = std::time::Instant::now();
    loop {
        let st = p.status("fx").await.unwrap();
        if st.error.is_none() {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "error stays: {:?}",
            st.error
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    p.disconnect("fx").await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pause_holds_delivery_and_resume_loses_nothing() {
    let kafka = Kafka::start();
    let server = connect_server().await;
    for action in ["pause", "resume"] {
        Mock::given(method("PUT"))
            .and(path(format!("/connectors/pgfx/{action}")))
            .respond_with(ResponseTemplate::new(202))
            .mount(&server)
            .await;
    }
    let before = kafka.produce(&fixtures());
    let got = Arc::new(Collector::default());
    let p = DebeziumProvider::new();
    p.connect(&source(
        &server.uri(),
        &kafka.bootstrap(),
        json!({}),
        json!({}),
    ))
    .await
    .unwrap();
    let _sub = p.subscribe("fx", got.clone()).unwrap();
    wait_for(60, "the first records", || {
        got.len() >= with_events(&before).len()
    })
    .await;

    let pausable = p.pausable().unwrap();
    pausable.pause("fx").await.unwrap();
    let held = got.len();
    let during = kafka.produce(&(0..3).flat_map(|_| fixtures()).collect::<Vec<_>>());
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(got.len(), held, "nothing delivered while paused");
    let st = p.status("fx").await.unwrap();
    assert_eq!(st.details["kafka"]["paused"], true);

    pausable.resume("fx").await.unwrap();
    let want: BTreeSet<Coord> = with_events(&before)
        .into_iter()
        .chain(with_events(&during))
        .collect();
    wait_for(60, "the records held", || coords(&got).len() >= want.len()).await;
    assert_eq!(coords(&got), want, "none lost");
    let reqs = common::requests(&server).await;
    assert!(
        reqs.contains(&"PUT /connectors/pgfx/pause".to_owned()),
        "{reqs:?}"
    );
    assert!(
        reqs.contains(&"PUT /connectors/pgfx/resume".to_owned()),
        "{reqs:?}"
    );
    p.disconnect("fx").await.unwrap();

    // pause_connector: false holds delivery only.
    server.reset().await;
    let q = DebeziumProvider::new();
    let cfg = source(
        &server.uri(),
        &kafka.bootstrap(),
        json!({"pause_connector": false, "group_id": "other"}),
        json!({}),
    );
    Mock::given(method("PUT"))
        .respond_with(common::replay("06-create-pg1.txt"))
        .mount(&server)
        .await;
    q.connect(&cfg).await.unwrap();
    q.pausable().unwrap().pause("fx").await.unwrap();
    q.pausable().unwrap().resume("fx").await.unwrap();
    let reqs = common::requests(&server).await;
    assert!(
        reqs.iter()
            .all(|r| !r.ends_with("/pause") && !r.ends_with("/resume")),
        "{reqs:?}"
    );
    q.disconnect("fx").await.unwrap();
}

/// Paused while a backlog flows through a slow handler, so that a batch is being decoded
/// ahead and the next is already polled: nothing is delivered once `pause` returned, and
/// after `resume` every event arrives exactly once, in offset order per partition (the
/// batches held in flight are read again, none dropped).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pause_mid_backlog_holds_the_batches_in_flight_and_loses_none() {
    let kafka = Kafka::start();
    let server = connect_server().await;
    let sent = kafka.produce(&(0..60).flat_map(|_| fixtures()).collect::<Vec<_>>());
    let want = with_events(&sent);
    let got = Arc::new(Collector::default());
    got.delay_ms.store(4, std::sync::atomic::Ordering::SeqCst);
    let p = DebeziumProvider::new();
    p.connect(&source(
        &server.uri(),
        &kafka.bootstrap(),
        json!({"batch_max": 100, "pause_connector": false}),
        json!({}),
    ))
    .await
    .unwrap();
    let _sub = p.subscribe("fx", got.clone()).unwrap();
    wait_for(60, "a part of the backlog", || got.len() >= want.len() / 4).await;
    let pausable = p.pausable().unwrap();
    pausable.pause("fx").await.unwrap();
    let held = got.len();
    assert!(
        held < want.len(),
        "paused mid-stream ({held} of {})",
        want.len()
    );
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(got.len(), held, "nothing delivered while paused");

    pausable.resume("fx").await.unwrap();
    wait_for(90, "every event", || got.len() >= want.len()).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let all = got.all();
    assert_eq!(all.len(), want.len(), "each event once");
    assert_eq!(coords(&got), want.iter().cloned().collect::<BTreeSet<_>>());
    let mut last: std::collections::BTreeMap<(String, i32), i64> = Default::default();
    for g in &all {
        let prev = last.insert((g.at.topic.clone(), g.at.partition), g.at.offset);
        assert!(
            prev.is_none_or(|p| p < g.at.offset),
            "out of order at {:?}",
            g.at
        );
    }
    p.disconnect("fx").await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_topic_created_after_start_is_picked_up() {
    let all = fixtures();
    let customers: Vec<_> = all
        .iter()
        .filter(|f| f.topic == "pgfx.public.customers")
        .cloned()
        .collect();
    let orders: Vec<_> = all
        .iter()
        .filter(|f| f.topic == "pgfx.public.orders")
        .cloned()
        .collect();
    let kafka = Kafka::with_topics(&["pgfx.public.customers".to_owned()]);
    let server = connect_server().await;
    let first = kafka.produce(&customers);
    let got = Arc::new(Collector::default());
    let p = DebeziumProvider::new();
    p.connect(&source(
        &server.uri(),
        &kafka.bootstrap(),
        json!({}),
        json!({}),
    ))
    .await
    .unwrap();
    let _sub = p.subscribe("fx", got.clone()).unwrap();
    wait_for(60, "customers", || got.len() >= with_events(&first).len()).await;

    // A new table: its topic appears while the consumer runs.
    kafka
        .cluster
        .create_topic("pgfx.public.orders", 3, 1)
        .unwrap();
    let later = kafka.produce(&orders);
    let want: BTreeSet<Coord> = with_events(&first)
        .into_iter()
        .chain(with_events(&later))
        .collect();
    wait_for(60, "the new table's records", || {
        coords(&got).len() >= want.len()
    })
    .await;
    assert_eq!(coords(&got), want);
    p.disconnect("fx").await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_resnapshot_arrives_as_snapshot_reads_through_the_same_consumer() {
    let kafka = Kafka::start();
    let server = connect_server().await;
    for (m, pth, file) in [
        ("PUT", "/connectors/pgfx/stop", "16-stop.txt"),
        ("DELETE", "/connectors/pgfx/offsets", "19-offsets-reset.txt"),
        (
            "PUT",
            "/connectors/pgfx/resume",
            "21-resume-from-stopped.txt",
        ),
    ] {
        Mock::given(method(m))
            .and(path(pth))
            .respond_with(common::replay(file))
            .mount(&server)
            .await;
    }
    let first = kafka.produce(&fixtures());
    let got = Arc::new(Collector::default());
    let p = DebeziumProvider::new();
    p.connect(&source(
        &server.uri(),
        &kafka.bootstrap(),
        json!({}),
        json!({}),
    ))
    .await
    .unwrap();
    let _sub = p.subscribe("fx", got.clone()).unwrap();
    wait_for(60, "the stream", || got.len() >= with_events(&first).len()).await;

    let report = p.snapshot("fx", &[]).await.unwrap();
    assert_eq!(report.method, "offsets_reset");
    // The connector snapshots again: its read records land on the same topics.
    let snapshot: Vec<_> = fixtures()
        .into_iter()
        .filter(|f| {
            f.value
                .as_deref()
                .is_some_and(|v| v.contains(r#""op":"r""#))
        })
        .collect();
    let again = kafka.produce(&snapshot);
    let want: BTreeSet<Coord> = with_events(&again).into_iter().collect();
    wait_for(60, "the re-snapshot", || coords(&got).is_superset(&want)).await;
    let reads = got
        .all()
        .into_iter()
        .filter(|g| want.contains(&g.at))
        .filter(|g| g.op == Operation::SnapshotRead)
        .count();
    assert_eq!(reads, want.len());
    p.disconnect("fx").await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_says_when_the_tables_topics_do_not_exist() {
    let kafka = Kafka::with_topics(&["pgfx.public.customers".to_owned()]);
    let server = connect_server().await;
    let mut cfg = source(&server.uri(), &kafka.bootstrap(), json!({}), json!({}));
    cfg.tables = vec!["public.customers".into(), "public.orders".into()];
    let p = DebeziumProvider::new();
    p.connect(&cfg).await.unwrap();
    let start = std::time::Instant::now();
    let error = loop {
        let st = p.status("fx").await.unwrap();
        if let Some(e) = st.error.filter(|e| e.contains("do not exist")) {
            assert_eq!(
                st.details["kafka"]["missing_topics"],
                json!(["pgfx.public.orders"])
            );
            break e;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "{:?}",
            st.details
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(
        error.contains("pgfx.public.orders") && error.contains("topic.creation"),
        "{error}"
    );
    assert!(!error.contains("pgfx.public.customers"), "{error}");
    p.disconnect("fx").await.unwrap();
}
