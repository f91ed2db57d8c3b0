//! The Kafka transport against rdkafka's in-process mock cluster holding the real Debezium
//! fixture records (3 partitions per topic), with a wiremock Kafka Connect: order, commits
//! at-least-once, redelivery after a handler failure, restart mid-stream.
#![cfg(feature = "kafka")]

mod common;
mod kafka_common;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::atomic::Ordering;

use cdc_core::{CdcProvider, Operation, SourceState};
use cdc_debezium::DebeziumProvider;
use kafka_common::{
    Collector, Coord, Got, Kafka, Sent, connect_server, fixtures, source, wait_for, with_events,
};
use serde_json::json;

fn op_of(op: &str) -> Operation {
    match op {
        "r" => Operation::SnapshotRead,
        "c" => Operation::Insert,
        "u" => Operation::Update,
        "d" => Operation::Delete,
        "t" => Operation::Truncate,
        other => panic!("op {other}"),
    }
}

/// The `n`th event-carrying record of the customers topic.
fn customers_record(want: &[Coord], n: usize) -> Coord {
    want.iter()
        .filter(|c| c.topic == "pgfx.public.customers")
        .nth(n)
        .cloned()
        .unwrap()
}

/// Nothing past the failed record of its partition reached the handler.
fn assert_nothing_after(got: &Collector, victim: &Coord) {
    let tp = (victim.topic.clone(), victim.partition);
    assert!(
        got.all()
            .iter()
            .all(|g| (g.at.topic.clone(), g.at.partition) != tp || g.at.offset < victim.offset),
        "nothing after the failed record of its partition"
    );
}

/// Within each partition, events came in offset order.
fn assert_in_offset_order(all: &[Got]) {
    let mut last: BTreeMap<(String, i32), i64> = BTreeMap::new();
    for g in all {
        let prev = last.insert((g.at.topic.clone(), g.at.partition), g.at.offset);
        assert!(
            prev.is_none_or(|p| p < g.at.offset),
            "out of order at {:?}",
            g.at
        );
    }
}

/// Every event decoded as the record it came from says.
fn assert_decoded_as_sent(all: &[Got], sent: &[Sent]) {
    for s in sent.iter().filter(|s| s.has_event) {
        let g = all.iter().find(|g| g.at == s.at).unwrap();
        assert_eq!(g.op, op_of(s.op.as_deref().unwrap()), "{:?}", s.at);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_fixture_record_arrives_decoded_in_order_per_partition() {
    let kafka = Kafka::start();
    let server = connect_server().await;
    let sent = kafka.produce(&fixtures());
    let p = DebeziumProvider::new();
    p.connect(&source(
        &server.uri(),
        &kafka.bootstrap(),
        json!({}),
        json!({}),
    ))
    .await
    .unwrap();
    let got = Arc::new(Collector::default());
    let _sub = p.subscribe("fx", got.clone()).unwrap();
    let want = with_events(&sent);
    wait_for(60, "every fixture event", || got.len() >= want.len()).await;

    let all = got.all();
    assert_eq!(all.len(), want.len(), "no duplicates without a failure");
    let delivered: BTreeSet<Coord> = all.iter().map(|g| g.at.clone()).collect();
    assert_eq!(delivered, want.iter().cloned().collect::<BTreeSet<_>>());
    // Spread over the 3 partitions, in offset order within each.
    let partitions: BTreeSet<i32> = all.iter().map(|g| g.at.partition).collect();
    assert_eq!(partitions.len(), 3);
    assert_in_offset_order(&all);
    // Decoded as the records say.
    assert_decoded_as_sent(&all, &sent);
    // Status: the consumer's partitions, and once committed, no lag.
    let st = kafka_common::status_when_caught_up(&p, "fx").await;
    let k = &st.details["kafka"];
    assert_eq!(k["consumer_lag_records"], json!(0), "{k}");
    assert_eq!(
        k["assigned_partitions"].as_array().unwrap().len(),
        18,
        "{k}"
    );
    assert_eq!(k["group_id"], "cdc-fx");
    p.disconnect("fx").await.unwrap();
    // on_stop defaults to keep with a transport: no DELETE reached Kafka Connect.
    assert!(
        common::requests(&server)
            .await
            .iter()
            .all(|r| !r.starts_with("DELETE"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stopped_mid_stream_and_restarted_nothing_lost_duplicates_only_after_the_commit() {
    let kafka = Kafka::start();
    let server = connect_server().await;
    let rounds: Vec<_> = (0..25).flat_map(|_| fixtures()).collect();
    let sent = kafka.produce(&rounds);
    let want: BTreeSet<Coord> = with_events(&sent).into_iter().collect();
    let cfg = source(
        &server.uri(),
        &kafka.bootstrap(),
        json!({"batch_max": 8}),
        json!({}),
    );

    let first = Arc::new(Collector::default());
    let p = DebeziumProvider::new();
    p.connect(&cfg).await.unwrap();
    let sub = p.subscribe("fx", first.clone()).unwrap();
    wait_for(60, "a part of the stream", || first.len() >= 150).await;
    p.disconnect("fx").await.unwrap();
    drop(sub);
    let stopped_at = first.len();
    assert!(
        stopped_at < want.len(),
        "stopped mid-stream ({stopped_at} of {})",
        want.len()
    );
    let committed = kafka.committed("cdc-fx").await;

    let second = Arc::new(Collector::default());
    let p = DebeziumProvider::new();
    p.connect(&cfg).await.unwrap();
    let _sub = p.subscribe("fx", second.clone()).unwrap();
    let mut seen: BTreeSet<Coord> = first.all().into_iter().map(|g| g.at).collect();
    wait_for(90, "the rest of the stream", || {
        let now: BTreeSet<Coord> = second.all().into_iter().map(|g| g.at).collect();
        seen.union(&now).count() >= want.len()
    })
    .await;
    let again = second.all();
    let firsts: BTreeSet<Coord> = first.all().into_iter().map(|g| g.at).collect();
    for g in &again {
        if firsts.contains(&g.at) {
            let c = committed
                .get(&(g.at.topic.clone(), g.at.partition))
                .copied()
                .unwrap_or(0);
            assert!(
                g.at.offset >= c,
                "{:?} delivered again though committed up to {c}",
                g.at
            );
        }
    }
    seen.extend(again.iter().map(|g| g.at.clone()));
    assert_eq!(seen, want, "nothing lost");
    p.disconnect("fx").await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_handler_holds_the_commit_and_the_record_comes_again() {
    let kafka = Kafka::start();
    let server = connect_server().await;
    let sent = kafka.produce(&fixtures());
    let want = with_events(&sent);
    // The 5th record of a partition of customers.
    let victim = customers_record(&want, 4);
    let got = Arc::new(Collector::default());
    *got.fail_at.lock().unwrap() = Some(victim.clone());
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
    wait_for(60, "failures", || got.failures.load(Ordering::SeqCst) >= 3).await;
    // Status says so; nothing past the victim in its partition was delivered or committed.
    let st = p.status("fx").await.unwrap();
    assert_eq!(st.state, SourceState::Error, "{st:?}");
    assert!(
        st.error.as_deref().unwrap().contains("nothing skipped"),
        "{:?}",
        st.error
    );
    assert_nothing_after(&got, &victim);
    let tp = (victim.topic.clone(), victim.partition);
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let committed = kafka.committed("cdc-fx").await;
    assert!(
        committed.get(&tp).is_none_or(|c| *c <= victim.offset),
        "{committed:?}"
    );

    // The handler recovers: the record comes again, then the rest.
    *got.fail_at.lock().unwrap() = None;
    wait_for(60, "everything", || got.len() >= want.len()).await;
    assert!(got.all().iter().any(|g| g.at == victim));
    let st = p.status("fx").await.unwrap();
    assert_ne!(st.state, SourceState::Error, "{st:?}");
    p.disconnect("fx").await.unwrap();
}

/// A handler that panics is a failed handler, not a dead consumer: the record comes again
/// (the panic named in status) until the handler stops panicking, then the rest; nothing
/// is lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_handler_holds_the_record_which_comes_again() {
    let kafka = Kafka::start();
    let server = connect_server().await;
    let sent = kafka.produce(&fixtures());
    let want = with_events(&sent);
    let victim = customers_record(&want, 2);
    let got = Arc::new(Collector::default());
    *got.panic_at.lock().unwrap() = Some(victim.clone());
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
    // Delivered again after each panic: the consumer lives on.
    wait_for(60, "the record again after a panic", || {
        got.failures.load(Ordering::SeqCst) >= 2
    })
    .await;
    let st = p.status("fx").await.unwrap();
    assert_eq!(st.state, SourceState::Error, "{st:?}");
    assert!(
        st.error.as_deref().unwrap().contains("panicked"),
        "{:?}",
        st.error
    );
    assert_nothing_after(&got, &victim);
    *got.panic_at.lock().unwrap() = None;
    wait_for(60, "everything", || {
        let seen: std::collections::BTreeSet<Coord> = got.all().into_iter().map(|g| g.at).collect();
        want.iter().all(|w| seen.contains(w))
    })
    .await;
    p.disconnect("fx").await.unwrap();
}

/// A backlog large enough that each poll's records are decoded on two threads: every event
/// arrives once, in offset order per partition, decoded as its record says; a handler
/// failure on a record deep in a batch holds that partition at the record, which comes
/// again, and nothing of the batch is lost around it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_backlog_decoded_on_two_threads_keeps_order_and_loses_nothing() {
    let kafka = Kafka::start();
    let server = connect_server().await;
    let rounds: Vec<_> = (0..100).flat_map(|_| fixtures()).collect();
    let sent = kafka.produce(&rounds);
    let want = with_events(&sent);
    // Far into the stream, in the second half of some poll's records.
    let victim = customers_record(&want, 700);
    let got = Arc::new(Collector::default());
    *got.fail_at.lock().unwrap() = Some(victim.clone());
    let p = DebeziumProvider::new();
    p.connect(&source(
        &server.uri(),
        &kafka.bootstrap(),
        json!({"batch_max": 500}),
        json!({}),
    ))
    .await
    .unwrap();
    let _sub = p.subscribe("fx", got.clone()).unwrap();
    wait_for(90, "the failure", || {
        got.failures.load(Ordering::SeqCst) >= 2
    })
    .await;
    assert_nothing_after(&got, &victim);
    *got.fail_at.lock().unwrap() = None;
    wait_for(90, "every event", || got.len() >= want.len()).await;

    let all = got.all();
    assert_eq!(
        all.len(),
        want.len(),
        "each event once: the failed one was never handled"
    );
    let delivered: BTreeSet<Coord> = all.iter().map(|g| g.at.clone()).collect();
    assert_eq!(delivered, want.iter().cloned().collect::<BTreeSet<_>>());
    assert_in_offset_order(&all);
    assert_decoded_as_sent(&all, &sent);
    p.disconnect("fx").await.unwrap();
}

/// `options.kafka.topics` may name topics outside `<topic.prefix>.`: a mirror, or topics
/// another pipeline renamed. The consumer's records are its source's whatever their topic;
/// before, a topic not under the prefix belonged to no source and held its partition.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn topics_listed_by_name_or_pattern_need_not_carry_the_prefix() {
    let mirrored = |t: &str| t.replacen("pgfx.public.", "mirror-", 1);
    let topics: Vec<String> = kafka_common::fixture_topics()
        .iter()
        .map(|t| mirrored(t))
        .collect();
    let kafka = Kafka::with_topics(&topics);
    let server = connect_server().await;
    let records: Vec<_> = fixtures()
        .into_iter()
        .map(|mut f| {
            f.topic = mirrored(&f.topic);
            f
        })
        .collect();
    let sent = kafka.produce(&records);
    // One topic by name, the others by a pattern.
    let (first, _) = topics.split_first().unwrap();
    let listed = json!({"topics": [first, "^mirror-.*"]});
    let p = DebeziumProvider::new();
    p.connect(&source(
        &server.uri(),
        &kafka.bootstrap(),
        listed,
        json!({}),
    ))
    .await
    .unwrap();
    let got = Arc::new(Collector::default());
    let _sub = p.subscribe("fx", got.clone()).unwrap();
    // Events name the topic their record came from (`kafka_topic`), not one made of the
    // table's name.
    let want = with_events(&sent);
    wait_for(60, "every mirrored event", || got.len() >= want.len()).await;
    let all = got.all();
    assert_eq!(all.len(), want.len(), "no duplicates without a failure");
    let delivered: BTreeSet<Coord> = all.iter().map(|g| g.at.clone()).collect();
    assert_eq!(delivered, want.iter().cloned().collect::<BTreeSet<_>>());
    assert_decoded_as_sent(&all, &sent);
    let st = kafka_common::status_when_caught_up(&p, "fx").await;
    assert_eq!(st.details["kafka"]["consumer_lag_records"], json!(0));
    assert!(st.error.is_none(), "{:?}", st.error);
    p.disconnect("fx").await.unwrap();
}
