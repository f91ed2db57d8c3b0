//! Lifecycle: disconnect keeps the slot (a reconnect resumes without loss) unless
//! `drop_slot_on_stop`; temporary slots; a slot invalidated or dropped while the source runs
//! is a clear `error` state, never a silent stall or a silent re-creation.

mod common;

use std::time::{Duration, Instant};

use cdc_core::{CdcProvider, SourceState};
use cdc_postgres::PostgresProvider;
use cdc_testkit::PgCluster;
use common::{Recorder, cluster, id_of, source, sql};
use serde_json::json;

async fn slot_exists(db: &tokio_postgres::Client, name: &str) -> bool {
    db.query_opt(
        "select 1 from pg_replication_slots where slot_name = $1",
        &[&name],
    )
    .await
    .unwrap()
    .is_some()
}

async fn wait_state(
    p: &PostgresProvider,
    id: &str,
    want: SourceState,
    secs: u64,
) -> cdc_core::CdcStatus {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        let st = p.status(id).await.unwrap();
        if st.state == want {
            return st;
        }
        assert!(Instant::now() < deadline, "never {want:?}: {st:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A stop that comes while a handler takes a transaction's events, before the stream read
/// its commit (batches of one event, a slow handler): the commit is read at the stop, the
/// transaction acknowledged, and a restart does not deliver it again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stop_during_a_handled_transaction_still_acknowledges_it() {
    let pg = cluster().await;
    let db = pg.connect().await.unwrap();
    sql(&db, "create table t (id int primary key)").await;
    let cfg = source(&pg, "drain", &["t"], json!({"batch_size": 1}));
    let p = PostgresProvider::new();
    p.connect(&cfg).await.unwrap();
    let rec = Recorder::new();
    *rec.delay.lock().unwrap() = Some(Duration::from_millis(1500));
    let sub = rec.subscribe(&p, "drain");
    sql(&db, "insert into t values (1)").await;
    let deadline = Instant::now() + Duration::from_secs(30);
    while rec.batches.load(std::sync::atomic::Ordering::Relaxed) == 0 {
        assert!(Instant::now() < deadline, "the handler never got the event");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // The handler holds the event while the stop comes.
    p.disconnect("drain").await.unwrap();
    drop(sub);
    assert_eq!(rec.len(), 1, "the handler took the event");

    let p = PostgresProvider::new();
    p.connect(&cfg).await.unwrap();
    let rec = Recorder::new();
    let _sub = rec.subscribe(&p, "drain");
    sql(&db, "insert into t values (2)").await;
    let rows = rec.wait_rows(1, 30).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let ids: Vec<i64> = rec
        .events
        .lock()
        .unwrap()
        .iter()
        .filter_map(id_of)
        .collect();
    assert_eq!(ids, vec![2], "first events {rows:?}");
    p.disconnect("drain").await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disconnect_keeps_the_slot_and_a_reconnect_resumes() {
    let pg = cluster().await;
    let db = pg.connect().await.unwrap();
    sql(&db, "create table t (id int primary key)").await;
    let cfg = source(&pg, "keep", &["t"], json!({}));
    let p = PostgresProvider::new();
    p.connect(&cfg).await.unwrap();
    let rec = Recorder::new();
    let sub = rec.subscribe(&p, "keep");
    sql(&db, "insert into t values (1)").await;
    rec.wait_rows(1, 30).await;
    p.disconnect("keep").await.unwrap();
    drop(sub);
    assert!(slot_exists(&db, "cdc_keep").await);
    // Written while nobody listens: the slot keeps it.
    sql(&db, "insert into t values (2); insert into t values (3);").await;
    let p = PostgresProvider::new();
    p.connect(&cfg).await.unwrap();
    let rec = Recorder::new();
    let _sub = rec.subscribe(&p, "keep");
    let rows = rec.wait_rows(2, 30).await;
    let ids: Vec<i64> = rows.iter().filter_map(id_of).collect();
    // The position was saved at the stop: nothing of the first run comes again.
    assert_eq!(ids, vec![2, 3]);
    p.disconnect("keep").await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drop_slot_on_stop_removes_slot_marker_and_own_publication() {
    let pg = cluster().await;
    let db = pg.connect().await.unwrap();
    sql(&db, "create table t (id int primary key)").await;
    let p = PostgresProvider::new();
    p.connect(&source(
        &pg,
        "gone",
        &["t"],
        json!({"drop_slot_on_stop": true}),
    ))
    .await
    .unwrap();
    let rec = Recorder::new();
    let _sub = rec.subscribe(&p, "gone");
    sql(&db, "insert into t values (1)").await;
    rec.wait_rows(1, 30).await;
    p.disconnect("gone").await.unwrap();
    assert!(!slot_exists(&db, "cdc_gone").await);
    let pubs: i64 = db
        .query_one(
            "select count(*) from pg_publication where pubname = 'cdc_gone'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(pubs, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn temporary_slot_lives_with_its_session() {
    let pg = cluster().await;
    let db = pg.connect().await.unwrap();
    sql(
        &db,
        "create table t (id int primary key); insert into t values (1);",
    )
    .await;
    let p = PostgresProvider::new();
    p.connect(&source(&pg, "tmp", &["t"], json!({"temporary_slot": true})))
        .await
        .unwrap();
    let rec = Recorder::new();
    let _sub = rec.subscribe(&p, "tmp");
    sql(&db, "insert into t values (2)").await;
    rec.wait_rows(2, 30).await;
    let temporary: bool = db
        .query_one(
            "select temporary from pg_replication_slots where slot_name = 'cdc_tmp'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert!(temporary);
    p.disconnect("tmp").await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while slot_exists(&db, "cdc_tmp").await {
        assert!(
            Instant::now() < deadline,
            "the temporary slot outlived its session"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slot_dropped_while_running_is_a_clear_error() {
    let pg = cluster().await;
    let db = pg.connect().await.unwrap();
    sql(&db, "create table t (id int primary key)").await;
    let p = PostgresProvider::new();
    p.connect(&source(
        &pg,
        "dropped",
        &["t"],
        json!({"snapshot": "never"}),
    ))
    .await
    .unwrap();
    let rec = Recorder::new();
    let _sub = rec.subscribe(&p, "dropped");
    // Someone else ends the session and drops the slot before the source can resume it.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        sql(
            &db,
            "select pg_terminate_backend(active_pid) from pg_replication_slots where slot_name = 'cdc_dropped' and active",
        )
        .await;
        if db
            .batch_execute("select pg_drop_replication_slot('cdc_dropped')")
            .await
            .is_ok()
        {
            break;
        }
        assert!(Instant::now() < deadline, "could not drop the slot");
    }
    let st = wait_state(&p, "dropped", SourceState::Error, 30).await;
    let e = st.error.unwrap();
    assert!(e.contains("no longer exists"), "{e}");
    // Not re-created behind the user's back (changes in between would be lost).
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(!slot_exists(&db, "cdc_dropped").await);
    p.disconnect("dropped").await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slot_invalidated_while_paused_is_a_clear_error() {
    let pg = PgCluster::builder()
        .setting("max_slot_wal_keep_size", "1MB")
        .setting("min_wal_size", "32MB")
        .setting("max_wal_size", "64MB")
        .start()
        .await
        .unwrap();
    let db = pg.connect().await.unwrap();
    sql(&db, "create table t (id int primary key, pad text)").await;
    let p = PostgresProvider::new();
    p.connect(&source(&pg, "lost", &["t"], json!({"snapshot": "never"})))
        .await
        .unwrap();
    let rec = Recorder::new();
    let _sub = rec.subscribe(&p, "lost");
    p.pausable().unwrap().pause("lost").await.unwrap();
    // Paused: the slot falls far behind max_slot_wal_keep_size; a checkpoint invalidates it.
    common::invalidate_slot(&db, "cdc_lost").await;
    p.pausable().unwrap().resume("lost").await.unwrap();
    let st = wait_state(&p, "lost", SourceState::Error, 30).await;
    let e = st.error.unwrap();
    assert!(
        e.contains("invalidated") && e.contains("wal_status = lost"),
        "{e}"
    );
    p.disconnect("lost").await.unwrap();
}
