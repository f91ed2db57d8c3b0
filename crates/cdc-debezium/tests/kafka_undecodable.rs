//! A record that cannot be decoded, among the real fixture records on rdkafka's mock
//! cluster: by default its partition holds there (status `error` names the record, nothing
//! after it is delivered or committed, the other partitions go on); with
//! `options.kafka.on_undecodable: skip` it is logged, counted in status and committed past,
//! and every other record arrives.
#![cfg(feature = "kafka")]

mod common;
mod kafka_common;

use std::collections::BTreeSet;
use std::time::Duration;

use cdc_core::{CdcProvider, SourceState};
use kafka_common::{
    Coord, Fixture, Kafka, Sent, connect_server, connected, fixtures, wait_for, with_events,
};
use serde_json::json;

/// Not JSON at all, and a record in the Schema Registry's framing (written as text here:
/// a zero byte, a schema id, then Avro-like bytes that happen to be UTF-8).
const BAD_VALUES: [&str; 2] = [
    "{\"op\": \"c\", \"after\": {\"id\": 1",
    "\0\0\0\0\u{2a}\u{2}x",
];

/// The fixture records with an undecodable record put into one customers partition after
/// its third record (same key, same partition). Returns what was sent and the bad record's
/// coordinates.
fn produce_with_bad(kafka: &Kafka, bad: &str) -> (Vec<Sent>, Coord) {
    let records = fixtures();
    let customers: Vec<usize> = (0..records.len())
        .filter(|&i| records[i].topic == "pgfx.public.customers" && records[i].value.is_some())
        .collect();
    let host = &records[customers[2]];
    let mut with_bad: Vec<Fixture> = records[..=customers[2]].to_vec();
    with_bad.push(Fixture {
        topic: host.topic.clone(),
        key: host.key.clone(),
        value: Some(bad.to_owned()),
    });
    with_bad.extend_from_slice(&records[customers[2] + 1..]);
    let sent = kafka.produce(&with_bad);
    let victim = sent[customers[2] + 1].at.clone();
    let good: Vec<Sent> = sent.into_iter().filter(|s| s.at != victim).collect();
    (good, victim)
}

fn tp(c: &Coord) -> (String, i32) {
    (c.topic.clone(), c.partition)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_undecodable_record_holds_its_partition_and_status_names_it() {
    for bad in BAD_VALUES {
        let kafka = Kafka::start();
        let server = connect_server().await;
        let (sent, victim) = produce_with_bad(&kafka, bad);
        let want = with_events(&sent);
        // Every event the hold does not stop: all but those after the bad record in its
        // partition.
        let reachable: BTreeSet<Coord> = want
            .iter()
            .filter(|c| tp(c) != tp(&victim) || c.offset < victim.offset)
            .cloned()
            .collect();
        let (p, got, _sub) = connected(&server, &kafka, json!({})).await;
        wait_for(60, "every event before the bad record", || {
            got.len() >= reachable.len()
        })
        .await;
        // Retried a few times (backoff 20..200 ms): still held, nothing more delivered.
        tokio::time::sleep(Duration::from_millis(800)).await;
        let delivered: BTreeSet<Coord> = got.all().into_iter().map(|g| g.at).collect();
        assert_eq!(
            delivered, reachable,
            "held at the bad record, the rest went on"
        );

        let st = p.status("fx").await.unwrap();
        assert_eq!(st.state, SourceState::Error, "{st:?}");
        let error = st.error.clone().unwrap_or_default();
        let at = format!(
            "{}[{}] offset {}",
            victim.topic, victim.partition, victim.offset
        );
        assert!(error.contains(&at), "status names the record: {error}");
        assert_eq!(st.details["kafka"]["skipped_records"], json!(0));
        let committed = kafka.committed("cdc-fx").await;
        assert!(
            committed
                .get(&tp(&victim))
                .is_none_or(|c| *c <= victim.offset),
            "nothing committed past the bad record: {committed:?}"
        );
        p.disconnect("fx").await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn skip_logs_counts_and_commits_past_an_undecodable_record() {
    for bad in BAD_VALUES {
        let kafka = Kafka::start();
        let server = connect_server().await;
        let (sent, victim) = produce_with_bad(&kafka, bad);
        let want: BTreeSet<Coord> = with_events(&sent).into_iter().collect();
        let (p, got, _sub) = connected(&server, &kafka, json!({"on_undecodable": "skip"})).await;
        wait_for(60, "every good event", || got.len() >= want.len()).await;
        let all = got.all();
        assert_eq!(all.len(), want.len(), "each once");
        let delivered: BTreeSet<Coord> = all.into_iter().map(|g| g.at).collect();
        assert_eq!(delivered, want, "everything but the bad record");

        let st = kafka_common::status_when_caught_up(&p, "fx").await;
        assert_ne!(st.state, SourceState::Error, "{st:?}");
        let k = &st.details["kafka"];
        assert_eq!(k["skipped_records"], json!(1), "{k}");
        let at = format!(
            "{}[{}] offset {}",
            victim.topic, victim.partition, victim.offset
        );
        let last = k["last_skipped"].as_str().unwrap_or_default();
        assert!(last.starts_with(&at), "{last}");
        assert_eq!(
            k["consumer_lag_records"],
            json!(0),
            "committed past it: {k}"
        );
        // The lag counts what is committable; the commit itself reaches the broker with the
        // next (asynchronous) commit.
        let past = |c: &std::collections::BTreeMap<(String, i32), i64>| {
            c.get(&tp(&victim)).is_some_and(|o| *o > victim.offset)
        };
        let mut committed = kafka.committed("cdc-fx").await;
        for _ in 0..50 {
            if past(&committed) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
            committed = kafka.committed("cdc-fx").await;
        }
        assert!(past(&committed), "{committed:?}");
        p.disconnect("fx").await.unwrap();
    }
}

#[test]
fn on_undecodable_takes_hold_or_skip_only() {
    let cfg = |v: serde_json::Value| {
        cdc_core::SourceConfig::from_value(json!({
            "provider": "debezium", "source_id": "fx", "source_type": "postgres",
            "connection": "http://127.0.0.1:1", "tables": ["public.t"],
            "options": {"database": "postgres://u:p@h/db",
                        "kafka": {"bootstrap_servers": "127.0.0.1:9", "on_undecodable": v}},
        }))
        .unwrap()
    };
    for ok in ["hold", "skip"] {
        cdc_debezium::config::DebeziumSource::from_config(&cfg(json!(ok))).unwrap();
    }
    let err = cdc_debezium::config::DebeziumSource::from_config(&cfg(json!("ignore")))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("on_undecodable") || err.contains("ignore"),
        "{err}"
    );
}
