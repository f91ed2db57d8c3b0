//! The Kafka transport's side topics and bookkeeping, on rdkafka's mock cluster: Debezium
//! heartbeats (committed at once, never rows, the lag when the tables are idle), the
//! consumer lag in records of `status`, the MySQL-family schema-change topic feeding
//! `schema_history`, and the synchronous commit of revoked partitions on a rebalance.
#![cfg(feature = "kafka")]

mod common;
mod kafka_common;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use cdc_core::{CdcProvider, EventHandler, HandlerError, Operation, SharedEvent};
use cdc_debezium::DebeziumProvider;
use kafka_common::{
    Collector, Coord, Fixture, Kafka, PARTITIONS, PREFIX, connect_server, coord_of, fixture_topics,
    fixtures, source, source_of_type, wait_for, with_events,
};
use serde_json::{Value, json};

const CUSTOMERS: &str = "pgfx.public.customers";

fn heartbeat_topic() -> String {
    format!("__debezium-heartbeat.{PREFIX}")
}

fn now_ms() -> i64 {
    (time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64
}

/// A heartbeat as Debezium writes it: key `{"serverName": <prefix>}`, value `{"ts_ms": ..}`,
/// in the JsonConverter's schema wrapper when `wrapped`.
fn heartbeat(ts_ms: i64, wrapped: bool) -> Fixture {
    let (key, value) = (json!({"serverName": PREFIX}), json!({"ts_ms": ts_ms}));
    let (key, value) = if wrapped {
        (
            json!({"schema": {"type": "struct", "optional": false,
                              "name": "io.debezium.connector.common.ServerNameKey",
                              "fields": [{"type": "string", "optional": false, "field": "serverName"}]},
                   "payload": key}),
            json!({"schema": {"type": "struct", "optional": false,
                              "name": "io.debezium.connector.common.Heartbeat",
                              "fields": [{"type": "int64", "optional": false, "field": "ts_ms"}]},
                   "payload": value}),
        )
    } else {
        (key, value)
    };
    Fixture {
        topic: heartbeat_topic(),
        key: Some(key.to_string()),
        value: Some(value.to_string()),
    }
}

/// The fixture's first customers insert, committed at the database at `ts_ms` (every
/// timestamp of its source block set to it), with key `id`.
fn change_at(ts_ms: i64, id: i64) -> Fixture {
    let f = fixtures()
        .into_iter()
        .find(|f| {
            f.topic == CUSTOMERS
                && f.value
                    .as_deref()
                    .is_some_and(|v| v.contains(r#""op":"c""#))
        })
        .unwrap();
    let mut v: Value = serde_json::from_str(f.value.as_deref().unwrap()).unwrap();
    v["after"]["id"] = json!(id);
    v["source"]["ts_ms"] = json!(ts_ms);
    v["source"]["ts_us"] = json!(ts_ms * 1000);
    v["source"]["ts_ns"] = json!(ts_ms * 1_000_000);
    Fixture {
        topic: CUSTOMERS.into(),
        key: Some(json!({"id": id}).to_string()),
        value: Some(v.to_string()),
    }
}

/// One event as a [`Recorder`] saw it.
#[derive(Clone, Debug)]
struct Seen {
    at: Coord,
    op: Operation,
    control: Option<String>,
}

/// A handler that records every event (control ones too), one entry per call; fails every
/// call holding a heartbeat while `fail_heartbeats`.
#[derive(Default)]
struct Recorder {
    calls: Mutex<Vec<Vec<Seen>>>,
    fail_heartbeats: AtomicBool,
}

impl Recorder {
    fn all(&self) -> Vec<Seen> {
        self.calls
            .lock()
            .unwrap()
            .iter()
            .flatten()
            .cloned()
            .collect()
    }
}

#[async_trait]
impl EventHandler for Recorder {
    async fn handle(&self, events: &[SharedEvent]) -> Result<(), HandlerError> {
        let seen: Vec<Seen> = events
            .iter()
            .map(|e| Seen {
                at: coord_of(e),
                op: e.operation,
                control: e.control.clone(),
            })
            .collect();
        let heartbeat = seen
            .iter()
            .any(|s| s.control.as_deref() == Some("heartbeat"));
        self.calls.lock().unwrap().push(seen);
        if heartbeat && self.fail_heartbeats.load(Ordering::SeqCst) {
            return Err(HandlerError::new(0, "refusing heartbeats"));
        }
        Ok(())
    }
}

/// The committed offset each partition of `topics` should reach: its number of records.
fn ends(sent: &[kafka_common::Sent]) -> BTreeMap<(String, i32), i64> {
    let mut out = BTreeMap::new();
    for s in sent {
        let end = out.entry((s.at.topic.clone(), s.at.partition)).or_insert(0);
        *end = (*end).max(s.at.offset + 1);
    }
    out
}

/// Polls `status` until `lag_seconds` is the age of `ts_ms` (now − `ts_ms`, within a second
/// either way: the seconds are whole); panics with the last one after 10 s.
async fn lag_becomes_age_of(p: &DebeziumProvider, what: &str, ts_ms: i64) {
    let start = Instant::now();
    loop {
        let lag = p.status("fx").await.unwrap().lag_seconds;
        let age = (now_ms() - ts_ms) / 1000;
        if lag.is_some_and(|l| (l - age).abs() <= 1) {
            return;
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "lag_seconds never the age of {what} ({age} s): {lag:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Heartbeats, plain and in the schema wrapper, interleaved with changes while a handler
/// fails on a change: every heartbeat partition is committed to its end (the failing
/// partition is not), and heartbeats reach the handlers only as `Control` `heartbeat`, even
/// while a handler fails on them too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn heartbeats_are_committed_at_once_while_a_handler_fails_and_never_arrive_as_rows() {
    let mut topics = fixture_topics();
    topics.push(heartbeat_topic());
    let kafka = Kafka::with_topics(&topics);
    let server = connect_server().await;
    let p = kafka_common::connected_alone(&server, &kafka, json!({})).await;
    let changes = Arc::new(Collector::default());
    let all = Arc::new(Recorder::default());
    all.fail_heartbeats.store(true, Ordering::SeqCst);
    let _s1 = p.subscribe("fx", changes.clone()).unwrap();
    let _s2 = p.subscribe("fx", all.clone()).unwrap();

    let mut records = Vec::new();
    let mut ts = now_ms() - 60_000;
    for (i, f) in fixtures().into_iter().enumerate() {
        records.push(f);
        if i % 5 == 0 {
            ts += 1000;
            records.push(heartbeat(ts, i % 10 == 0));
        }
    }
    let sent = kafka.produce(&records);
    // The handler refuses the first insert of the customers topic: its partition is held.
    let victim = sent
        .iter()
        .find(|s| s.at.topic == CUSTOMERS && s.op.as_deref() == Some("c"))
        .unwrap()
        .at
        .clone();
    *changes.fail_at.lock().unwrap() = Some(victim.clone());
    let hb_ends: BTreeMap<_, _> = ends(&sent)
        .into_iter()
        .filter(|((t, _), _)| *t == heartbeat_topic())
        .collect();
    assert!(!hb_ends.is_empty());

    let start = Instant::now();
    loop {
        let committed = kafka.committed_in("cdc-fx", &topics).await;
        let hb: BTreeMap<_, _> = committed
            .iter()
            .filter(|((t, _), _)| *t == heartbeat_topic())
            .map(|(k, v)| (k.clone(), *v))
            .collect();
        if hb == hb_ends && changes.failures.load(Ordering::SeqCst) > 0 {
            let held = committed.get(&(victim.topic.clone(), victim.partition));
            assert!(
                held.is_none_or(|o| *o <= victim.offset),
                "the failing partition is held at {victim:?}: {held:?}"
            );
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(15),
            "heartbeats not committed at once: {hb:?}, want {hb_ends:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let seen = all.all();
    let beats: Vec<&Seen> = seen
        .iter()
        .filter(|s| s.at.topic == heartbeat_topic())
        .collect();
    assert!(
        !beats.is_empty(),
        "heartbeats reach the handlers that want them"
    );
    for s in &beats {
        assert_eq!(
            (s.op, s.control.as_deref()),
            (Operation::Control, Some("heartbeat")),
            "{s:?}"
        );
    }
    assert!(
        seen.iter()
            .all(|s| s.op != Operation::Control || s.control.as_deref() == Some("heartbeat")),
        "no other control event"
    );
    assert!(
        changes
            .all()
            .iter()
            .all(|g| g.at.topic != heartbeat_topic()),
        "a heartbeat arrived as a row"
    );
    p.disconnect("fx").await.unwrap();
}

/// `lag_seconds`: from the heartbeat while the tables are idle (30 s old gives 30, a fresh
/// one 0), from the commit time of the last delivered change once one is delivered after it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lag_seconds_comes_from_heartbeats_when_idle_and_from_the_last_change_otherwise() {
    let kafka = Kafka::with_topics(&[CUSTOMERS.to_owned(), heartbeat_topic()]);
    let server = connect_server().await;
    let p = kafka_common::connected_alone(&server, &kafka, json!({})).await;
    let got = Arc::new(Collector::default());
    let _sub = p.subscribe("fx", got.clone()).unwrap();

    let old = now_ms() - 30_000;
    kafka.produce(&[heartbeat(old, false)]);
    lag_becomes_age_of(&p, "a 30 s old heartbeat", old).await;
    let fresh = now_ms();
    kafka.produce(&[heartbeat(fresh, true)]);
    lag_becomes_age_of(&p, "a fresh heartbeat", fresh).await;

    // A change committed 20 s ago, delivered now: 20 s of lag, the fresh heartbeat before it
    // notwithstanding.
    let committed = now_ms() - 20_000;
    kafka.produce(&[change_at(committed, 901)]);
    wait_for(10, "the change", || got.len() == 1).await;
    lag_becomes_age_of(&p, "the change committed 20 s ago", committed).await;

    // Idle again: the next heartbeat says so.
    let fresh = now_ms();
    kafka.produce(&[heartbeat(fresh, false)]);
    lag_becomes_age_of(&p, "the next heartbeat", fresh).await;
    p.disconnect("fx").await.unwrap();
}

/// The summed consumer lag of the assigned partitions, from `status`, once it equals
/// high watermark − committed summed over them (the lag comes from the client's
/// statistics, every 2 s); panics after 15 s with both.
async fn lag_records_matching(p: &DebeziumProvider, kafka: &Kafka, topics: &[String]) -> i64 {
    let start = Instant::now();
    loop {
        let st = p.status("fx").await.unwrap();
        let shown = st.details["kafka"]["consumer_lag_records"].as_i64();
        let high = kafka.high_watermarks(topics).await;
        let committed = kafka.committed_in("cdc-fx", topics).await;
        let want: i64 = high
            .iter()
            .map(|(tp, h)| h - committed.get(tp).copied().unwrap_or(0))
            .sum();
        if shown == Some(want) {
            return want;
        }
        assert!(
            start.elapsed() < Duration::from_secs(15),
            "consumer_lag_records {shown:?}, high watermark − committed {want} ({high:?} − {committed:?})"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// A failing handler holds a partition: `status` shows the records behind it (high
/// watermark − committed, summed), and 0 once it lets them through.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn consumer_lag_in_records_is_high_watermark_minus_committed_and_0_once_caught_up() {
    let kafka = Kafka::start();
    let server = connect_server().await;
    let (p, got, _sub) = kafka_common::connected(&server, &kafka, json!({})).await;
    let sent = kafka.produce(&fixtures());
    let victim = sent
        .iter()
        .find(|s| s.at.topic == CUSTOMERS && s.has_event)
        .unwrap()
        .at
        .clone();
    *got.fail_at.lock().unwrap() = Some(victim);
    wait_for(10, "a failure", || got.failures.load(Ordering::SeqCst) > 0).await;
    let lag = lag_records_matching(&p, &kafka, &fixture_topics()).await;
    assert!(lag > 0, "records are held behind the failing one");

    *got.fail_at.lock().unwrap() = None;
    let want = with_events(&sent).len();
    wait_for(15, "every event", || got.len() >= want).await;
    let st = kafka_common::status_when_caught_up(&p, "fx").await;
    assert_eq!(st.details["kafka"]["consumer_lag_records"], json!(0));
    assert_eq!(lag_records_matching(&p, &kafka, &fixture_topics()).await, 0);
    p.disconnect("fx").await.unwrap();
}

/// A handler blocked on a batch: the records produced meanwhile show as consumer lag while
/// it blocks (the status is not the figure of before), and 0 once it returns.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn consumer_lag_in_records_is_current_while_a_handler_blocks() {
    let kafka = Kafka::start();
    let server = connect_server().await;
    let p = kafka_common::connected_alone(&server, &kafka, json!({})).await;
    let blocker = Arc::new(Blocker::default());
    blocker.block.store(true, Ordering::SeqCst);
    let _sub = p.subscribe("fx", blocker.clone()).unwrap();
    kafka.produce(&fixtures()[..1]);
    wait_for(10, "the handler blocked", || {
        blocker.entered.load(Ordering::SeqCst)
    })
    .await;
    kafka.produce(&fixtures()[1..]);
    let lag = lag_records_matching(&p, &kafka, &fixture_topics()).await;
    assert!(lag > 0, "records are held behind the blocked handler");
    blocker.block.store(false, Ordering::SeqCst);
    let st = kafka_common::status_when_caught_up(&p, "fx").await;
    assert_eq!(st.details["kafka"]["consumer_lag_records"], json!(0));
    p.disconnect("fx").await.unwrap();
}

/// A handler that blocks (polling a flag, off the runtime's threads) while `block` is set.
#[derive(Default)]
struct Blocker {
    block: AtomicBool,
    entered: AtomicBool,
}

#[async_trait]
impl EventHandler for Blocker {
    async fn handle(&self, _events: &[SharedEvent]) -> Result<(), HandlerError> {
        self.entered.store(true, Ordering::SeqCst);
        while self.block.load(Ordering::SeqCst) {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        Ok(())
    }
}

/// A MySQL schema-change record (topic `<topic.prefix>`) for `inventory.customers`.
fn ddl_record(connector: &str, ddl: &str, ts_ms: i64) -> Fixture {
    let value = json!({
        "source": {"version": "3.6.3.Final", "connector": connector, "name": PREFIX, "ts_ms": ts_ms,
                   "snapshot": "false", "db": "inventory", "table": "customers", "server_id": 223344,
                   "file": "mysql-bin.000003", "pos": 154, "row": 0},
        "ts_ms": ts_ms + 5, "databaseName": "inventory", "schemaName": null, "ddl": ddl,
        "tableChanges": [{"type": "ALTER", "id": "\"inventory\".\"customers\"",
                          "table": {"defaultCharsetName": "utf8mb4", "primaryKeyColumnNames": ["id"], "columns": []}}]
    });
    Fixture {
        topic: PREFIX.into(),
        key: Some(json!({"databaseName": "inventory"}).to_string()),
        value: Some(value.to_string()),
    }
}

/// MySQL and MariaDB sources subscribe to the schema-change topic `<topic.prefix>`; its
/// records fill `schema_history`, are committed, and reach the handlers only as
/// `SchemaChange` events, never as row changes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mysql_family_schema_change_topic_fills_schema_history_without_row_changes() {
    for (kind, dsn) in [
        ("mysql", "mysql://dbz:pw@127.0.0.1:3306/inventory"),
        ("mariadb", "mariadb://dbz:pw@127.0.0.1:3306/inventory"),
    ] {
        let topics = vec![PREFIX.to_owned()];
        let kafka = Kafka::with_topics(&topics);
        let server = connect_server().await;
        let p = DebeziumProvider::new();
        let cfg = source_of_type(
            kind,
            &server.uri(),
            &kafka.bootstrap(),
            json!({}),
            json!({"database": dsn, "schema_history": {"kafka_bootstrap_servers": "kafka:9092"}}),
        );
        p.connect(&cfg).await.unwrap();
        let all = Arc::new(Recorder::default());
        let _sub = p.subscribe("fx", all.clone()).unwrap();
        let t0 = 1_700_000_000_000;
        let sent = kafka.produce(&[
            ddl_record(kind, "ALTER TABLE customers ADD COLUMN note TEXT", t0),
            ddl_record(kind, "ALTER TABLE customers DROP COLUMN note", t0 + 1000),
        ]);
        let want = ends(&sent);
        let start = Instant::now();
        while kafka.committed_in("cdc-fx", &topics).await != want {
            assert!(
                start.elapsed() < Duration::from_secs(15),
                "{kind}: the schema-change topic is not read and committed"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let h = p.schema_history("fx", "inventory.customers").await.unwrap();
        let ddls: Vec<(i64, &str)> = h.iter().map(|v| (v.version, v.ddl.as_str())).collect();
        assert_eq!(
            ddls,
            [
                (1, "ALTER TABLE customers ADD COLUMN note TEXT"),
                (2, "ALTER TABLE customers DROP COLUMN note")
            ],
            "{kind}"
        );
        let seen = all.all();
        assert_eq!(seen.len(), 2, "{kind}: {seen:?}");
        assert!(
            seen.iter().all(|s| s.op == Operation::SchemaChange),
            "{kind}: schema changes arrive as such, never as rows: {seen:?}"
        );
        let st = p.status("fx").await.unwrap();
        assert!(
            st.details["kafka"]["subscription"]
                .as_array()
                .unwrap()
                .contains(&json!(format!("^{PREFIX}$"))),
            "{kind}: {}",
            st.details["kafka"]
        );
        p.disconnect("fx").await.unwrap();
    }
}

/// A postgres source does not read a topic named `<topic.prefix>` (it has no schema-change
/// topic; such a topic would be someone else's).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_postgres_source_does_not_subscribe_to_the_schema_change_topic() {
    let kafka = Kafka::with_topics(&[PREFIX.to_owned()]);
    let server = connect_server().await;
    let (p, _got, _sub) = kafka_common::connected(&server, &kafka, json!({})).await;
    let st = p.status("fx").await.unwrap();
    let subs = st.details["kafka"]["subscription"]
        .as_array()
        .unwrap()
        .clone();
    assert!(!subs.contains(&json!(format!("^{PREFIX}$"))), "{subs:?}");
    assert!(p.schema_history("fx", "").await.unwrap().is_empty());
    p.disconnect("fx").await.unwrap();
}

/// Per call, the Kafka coordinates of what a handler took, with the call's place among the
/// calls of every `Calls` sharing `order`.
struct Calls {
    order: Arc<AtomicU64>,
    calls: Mutex<Vec<(u64, Vec<Coord>)>>,
}

impl Calls {
    fn new(order: &Arc<AtomicU64>) -> Self {
        Self {
            order: order.clone(),
            calls: Mutex::default(),
        }
    }

    fn coords(&self) -> BTreeSet<Coord> {
        self.calls
            .lock()
            .unwrap()
            .iter()
            .flat_map(|(_, c)| c.iter().cloned())
            .collect()
    }

    /// The offsets of `partition` of each call that had some, with the call's place.
    fn of(&self, topic: &str, partition: i32) -> Vec<(u64, Vec<i64>)> {
        self.calls
            .lock()
            .unwrap()
            .iter()
            .map(|(n, c)| {
                let o = c
                    .iter()
                    .filter(|c| c.topic == topic && c.partition == partition);
                (*n, o.map(|c| c.offset).collect::<Vec<_>>())
            })
            .filter(|(_, o)| !o.is_empty())
            .collect()
    }
}

#[async_trait]
impl EventHandler for Calls {
    async fn handle(&self, events: &[SharedEvent]) -> Result<(), HandlerError> {
        let n = self.order.fetch_add(1, Ordering::SeqCst);
        // Slow enough that records are still flowing when the second member joins.
        tokio::time::sleep(Duration::from_millis(2)).await;
        let c: Vec<Coord> = events.iter().map(coord_of).collect();
        self.calls.lock().unwrap().push((n, c));
        Ok(())
    }
}

/// Two members of one group, the second joining while the first is handling a steady
/// stream (cooperative rebalancing, see below). What is asserted, per partition the second took over: (a) nothing is lost
/// (first ∪ second = everything produced); (b) the second starts exactly where the group's
/// commit left it, and the only records the first handled at or after that offset are
/// those of its last two hand-overs of that partition. Those two are the batch in flight
/// when the revoke ran (polled, not yet handed over: its offsets cannot be committed by a
/// member that no longer owns the partition) and the one being polled in that same poll;
/// without the synchronous commit on revoke, the second would start from the last
/// periodic commit, up to 200 ms of hand-overs further back.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_rebalance_commits_revoked_partitions_so_the_next_owner_resumes_after_the_last_handled() {
    let kafka = Kafka::with_topics(&[CUSTOMERS.to_owned()]);
    let server = connect_server().await;
    // Cooperative: the mock cluster refuses commits while the group is joining (a broker
    // accepts them until the rebalance completes), so with the eager protocol the revoke's
    // commit always fails there. Cooperatively, partitions are revoked between two
    // rebalances, the group up, and the commit goes through as it does on a broker.
    let props = json!({"topic.metadata.refresh.interval.ms": "500", "session.timeout.ms": "6000",
                       "heartbeat.interval.ms": "300",
                       "partition.assignment.strategy": "cooperative-sticky"});
    let cfg = source(
        &server.uri(),
        &kafka.bootstrap(),
        json!({"batch_max": 4, "properties": props}),
        json!({}),
    );
    let round: Vec<Fixture> = fixtures()
        .into_iter()
        .filter(|f| f.topic == CUSTOMERS)
        .collect();
    let order = Arc::new(AtomicU64::new(0));
    let a_got = Arc::new(Calls::new(&order));
    let a = DebeziumProvider::new();
    a.connect(&cfg).await.unwrap();
    let _a_sub = a.subscribe("fx", a_got.clone()).unwrap();

    // A steady stream (a round of the fixture records every 20 ms, produced here: the mock
    // cluster stays on this task) until the second member has taken part.
    let mut sent = Vec::new();
    let start = Instant::now();
    let mut b: Option<(DebeziumProvider, Arc<Calls>, cdc_core::Subscription)> = None;
    loop {
        sent.extend(kafka.produce(&round));
        tokio::time::sleep(Duration::from_millis(20)).await;
        match &b {
            None if a_got.coords().len() > 100 => {
                let b_got = Arc::new(Calls::new(&order));
                let p = DebeziumProvider::new();
                p.connect(&cfg).await.unwrap();
                let sub = p.subscribe("fx", b_got.clone()).unwrap();
                b = Some((p, b_got, sub));
            }
            Some((_, b_got, _)) if b_got.coords().len() > 50 => break,
            _ => {}
        }
        assert!(
            start.elapsed() < Duration::from_secs(25),
            "the second member never took part"
        );
    }
    let (b, b_got, _b_sub) = b.unwrap();
    let want: BTreeSet<Coord> = with_events(&sent).into_iter().collect();
    wait_for(15, "everything, between the two", || {
        a_got.coords().union(&b_got.coords()).count() >= want.len()
    })
    .await;
    let union: BTreeSet<Coord> = a_got.coords().union(&b_got.coords()).cloned().collect();
    assert_eq!(union, want, "nothing lost");

    let mut taken_over = 0;
    for partition in 0..PARTITIONS {
        let b_here = b_got.of(CUSTOMERS, partition);
        let Some((b_first, b_offsets)) = b_here.first() else {
            continue;
        };
        let resumed = b_offsets[0];
        // The first's hand-overs of the partition before the second's first one (after it,
        // the partition may have come back to the first in a later rebalance).
        let a_here: Vec<(u64, Vec<i64>)> = a_got
            .of(CUSTOMERS, partition)
            .into_iter()
            .filter(|(n, _)| n < b_first)
            .collect();
        if a_here.is_empty() {
            continue;
        }
        taken_over += 1;
        let last_handled = *a_here.iter().flat_map(|(_, o)| o).max().unwrap();
        assert!(
            resumed <= last_handled + 1,
            "[{partition}]: the second resumed at {resumed}, past the first's last {last_handled}"
        );
        let earlier = a_here.len().saturating_sub(2);
        let earlier_dups: Vec<i64> = a_here[..earlier]
            .iter()
            .flat_map(|(_, o)| o.iter().copied())
            .filter(|o| *o >= resumed)
            .collect();
        assert!(
            earlier_dups.is_empty(),
            "[{partition}]: the second resumed at {resumed}, before records the first had \
             handled before the revoke ({earlier_dups:?}); its hand-overs: {a_here:?}"
        );
    }
    assert!(taken_over > 0, "no partition changed hands");
    a.disconnect("fx").await.unwrap();
    b.disconnect("fx").await.unwrap();
}

/// A change a failing handler holds back is delivery delay: `lag_seconds` grows from its
/// commit time while it is held, whatever fresh heartbeats of other partitions say, and falls
/// back once it has gone through.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lag_seconds_grows_from_a_change_a_failing_handler_holds_back() {
    let kafka = Kafka::with_topics(&[CUSTOMERS.to_owned(), heartbeat_topic()]);
    let server = connect_server().await;
    let p = kafka_common::connected_alone(&server, &kafka, json!({})).await;
    let committed = now_ms() - 20_000;
    let sent = kafka.produce(&[change_at(committed, 902)]);
    let got = Arc::new(Collector::default());
    *got.fail_at.lock().unwrap() = Some(sent[0].at.clone());
    let _sub = p.subscribe("fx", got.clone()).unwrap();
    wait_for(10, "the handler failing", || {
        got.failures.load(Ordering::SeqCst) > 0
    })
    .await;

    // A fresh heartbeat, delivered and committed while the change is held.
    let hb = kafka.produce(&[heartbeat(now_ms(), false)]);
    let topics = [heartbeat_topic()];
    let start = Instant::now();
    while kafka
        .committed_in("cdc-fx", &topics)
        .await
        .get(&(hb[0].at.topic.clone(), hb[0].at.partition))
        .is_none_or(|o| *o <= hb[0].at.offset)
    {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "heartbeat never committed"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    lag_becomes_age_of(&p, "the change held back", committed).await;

    // Through: the change's own lag, then the next heartbeat's.
    *got.fail_at.lock().unwrap() = None;
    wait_for(10, "the change", || got.len() == 1).await;
    let fresh = now_ms();
    kafka.produce(&[heartbeat(fresh, false)]);
    lag_becomes_age_of(&p, "a heartbeat after the change went through", fresh).await;
    p.disconnect("fx").await.unwrap();
}
