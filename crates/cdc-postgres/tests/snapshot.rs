//! The initial snapshot: consistent with the stream under concurrent writers (no change
//! lost, none twice), progress in status, and starting over when interrupted (a stopped
//! source, a killed session, a table rewritten meanwhile).

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use cdc_core::{CdcProvider, Operation, SharedEvent, SourceState};
use cdc_postgres::PostgresProvider;
use common::{Recorder, cluster, id_of, source, sql};
use serde_json::{Value, json};

/// Applies the events in order: the table as the consumer sees it.
fn replay(events: &[SharedEvent], table: &str) -> BTreeMap<i64, Value> {
    let mut rows = BTreeMap::new();
    for e in events.iter().filter(|e| e.table == table) {
        let id = id_of(e).unwrap();
        match e.operation {
            Operation::SnapshotRead | Operation::Insert | Operation::Update => {
                rows.insert(id, e.after.as_ref().unwrap().value().clone());
            }
            Operation::Delete => {
                rows.remove(&id);
            }
            _ => {}
        }
    }
    rows
}

async fn table_rows(db: &tokio_postgres::Client, table: &str) -> BTreeMap<i64, Value> {
    db.query(&format!("select id, v from {table} order by id"), &[])
        .await
        .unwrap()
        .iter()
        .map(|r| {
            let id: i64 = r.get(0);
            let v: i64 = r.get(1);
            (id, json!({"id": id, "v": v}))
        })
        .collect()
}

async fn wait_caught_up(p: &PostgresProvider, id: &str) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(90);
    loop {
        let st = p.status(id).await.unwrap();
        if st.state == SourceState::Running && st.lag_bytes == Some(0) {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "never caught up: {st:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snapshot_and_stream_agree_under_concurrent_writers() {
    agree_under_writers("snap", json!({})).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_table_split_in_page_ranges_agrees_too() {
    // Parts of 8 pages: each table is read by both workers, range by range.
    agree_under_writers("split", json!({"snapshot_part_pages": 8})).await;
}

async fn agree_under_writers(id: &str, extra: Value) {
    let pg = cluster().await;
    let db = pg.connect().await.unwrap();
    sql(
        &db,
        "create table a (id bigint primary key, v bigint);
         create table b (id bigint primary key, v bigint);
         insert into a select g, 0 from generate_series(1, 20000) g;
         insert into b select g, 0 from generate_series(1, 20000) g;
         analyze a; analyze b;",
    )
    .await;
    let p = PostgresProvider::new();
    let mut options = json!({"batch_size": 200, "snapshot_workers": 2});
    for (k, v) in extra.as_object().unwrap() {
        options[k] = v.clone();
    }
    p.connect(&source(&pg, id, &["a", "b"], options))
        .await
        .unwrap();
    let rec = Recorder::new();
    // Slow enough that the writers below run while the snapshot is delivered.
    *rec.delay.lock().unwrap() = Some(Duration::from_millis(15));
    let _sub = rec.subscribe(&p, id);
    let stop = Arc::new(AtomicBool::new(false));
    let mut writers = Vec::new();
    for (w, table) in ["a", "b"].iter().enumerate() {
        let writer = pg.connect().await.unwrap();
        let stop = stop.clone();
        let table = table.to_string();
        writers.push(tokio::spawn(async move {
            let mut i: i64 = 0;
            while !stop.load(Ordering::Relaxed) {
                i += 1;
                let hot = (i * 7919 + w as i64 * 13) % 20000 + 1;
                writer
                    .batch_execute(&format!(
                        "begin;
                         update {table} set v = v + 1 where id = {hot};
                         insert into {table} values ({}, {i});
                         delete from {table} where id = {};
                         commit;",
                        100000 + i,
                        (hot * 31) % 20000 + 1
                    ))
                    .await
                    .unwrap();
            }
            i
        }));
    }
    // Progress shows while the snapshot runs.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let st = p.status(id).await.unwrap();
        if st.state == SourceState::Snapshot {
            let t = &st.details["snapshot"]["tables"]["public.a"];
            if t["rows"].as_u64().unwrap_or(0) > 0 {
                assert_eq!(t["estimated_rows"], 20000, "{st:?}");
                break;
            }
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no progress: {st:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    rec.wait_until(120, "the snapshot to end", |evs| {
        evs.iter().any(|e| e.operation != Operation::SnapshotRead)
            && evs
                .iter()
                .filter(|e| e.operation == Operation::SnapshotRead)
                .count()
                >= 39000
    })
    .await;
    stop.store(true, Ordering::Relaxed);
    let mut written = 0;
    for w in writers {
        written += w.await.unwrap();
    }
    assert!(
        written > 20,
        "writers barely ran during the snapshot: {written}"
    );
    *rec.delay.lock().unwrap() = None;
    wait_caught_up(&p, id).await;
    let events = rec.snapshot();
    for table in ["a", "b"] {
        let seen = replay(&events, table);
        let actual = table_rows(&db, table).await;
        assert_eq!(seen.len(), actual.len(), "row count of {table}");
        assert!(
            seen == actual,
            "{table}: the consumer's view differs from the table"
        );
        // Each row came once: by the snapshot or by an insert, never both.
        let mut origin: BTreeMap<i64, usize> = BTreeMap::new();
        for e in events.iter().filter(|e| e.table == table) {
            if matches!(e.operation, Operation::SnapshotRead | Operation::Insert) {
                *origin.entry(id_of(e).unwrap()).or_default() += 1;
            }
        }
        let twice: Vec<_> = origin.iter().filter(|(_, n)| **n > 1).collect();
        assert!(
            twice.is_empty(),
            "{table}: rows read twice: {:?}",
            &twice[..twice.len().min(5)]
        );
    }
    let st = p.status(id).await.unwrap();
    assert_eq!(st.details["snapshot"]["state"], "done", "{st:?}");
    assert_eq!(st.details["snapshot"]["tables"]["public.b"]["done"], true);
    let parts = st.details["snapshot"]["tables"]["public.a"]["parts"]
        .as_u64()
        .unwrap();
    if extra.get("snapshot_part_pages").is_some() {
        assert!(parts > 1, "the table was not split: {st:?}");
    } else {
        assert_eq!(parts, 1);
    }
    p.disconnect(id).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_snapshot_starts_over_and_says_so() {
    let pg = cluster().await;
    let db = pg.connect().await.unwrap();
    sql(
        &db,
        "create table t (id bigint primary key, v bigint);
         insert into t select g, g from generate_series(1, 5000) g;",
    )
    .await;
    let cfg = source(&pg, "again", &["t"], json!({"batch_size": 100}));
    let first = PostgresProvider::new();
    first.connect(&cfg).await.unwrap();
    let rec = Recorder::new();
    *rec.delay.lock().unwrap() = Some(Duration::from_millis(30));
    let _sub = rec.subscribe(&first, "again");
    rec.wait_rows(300, 30).await;
    // Stopped (as by a crash) in the middle: the slot and its marker stay behind.
    first.disconnect("again").await.unwrap();
    let marker: i64 = db
        .query_one(
            "select count(*) from pg_replication_slots where slot_name like 'cdc_again_snap_%'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(marker, 1, "the marker of the unfinished snapshot is gone");
    sql(&db, "insert into t values (5001, 5001)").await;
    let second = PostgresProvider::new();
    second.connect(&cfg).await.unwrap();
    let st = second.status("again").await.unwrap();
    let state = st.details["snapshot"]["state"].to_string();
    assert!(state.contains("interrupted"), "{st:?}");
    let rec2 = Recorder::new();
    let _sub2 = rec2.subscribe(&second, "again");
    rec2.wait_rows(5001, 60).await;
    let ids: std::collections::BTreeSet<i64> = rec2.rows().iter().filter_map(id_of).collect();
    assert_eq!(ids.len(), 5001);
    assert!(
        rec2.rows()
            .iter()
            .all(|e| e.operation == Operation::SnapshotRead)
    );
    // Once the snapshot is delivered, the marker goes and streaming starts.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let marker: i64 = db
            .query_one(
                "select count(*) from pg_replication_slots where slot_name like 'cdc_again_snap_%'",
                &[],
            )
            .await
            .unwrap()
            .get(0);
        if marker == 0 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the marker outlived the snapshot"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    second.disconnect("again").await.unwrap();
}

/// Two tables read one after the other (one worker), with a slow handler; `disturb` runs
/// while the first is delivered. Every row of both tables must arrive (after a restart whose
/// reason contains `restart_reason`, when given; else without one), then a change streamed
/// after it.
async fn snapshot_survives(id: &str, disturb: &str, restart_reason: Option<&str>) {
    let pg = cluster().await;
    let db = pg.connect().await.unwrap();
    sql(
        &db,
        "create table a (id bigint primary key, v int);
         create table b (id bigint primary key, v int);
         insert into a select g, 1 from generate_series(1, 3000) g;
         insert into b select g, 1 from generate_series(1, 3000) g;",
    )
    .await;
    let p = PostgresProvider::new();
    p.connect(&source(
        &pg,
        id,
        &["a", "b"],
        json!({"batch_size": 100, "snapshot_workers": 1}),
    ))
    .await
    .unwrap();
    let rec = Recorder::new();
    *rec.delay.lock().unwrap() = Some(Duration::from_millis(20));
    let _sub = rec.subscribe(&p, id);
    rec.wait_rows(200, 30).await;
    sql(&db, disturb).await;
    *rec.delay.lock().unwrap() = None;
    rec.wait_until(120, "all rows of both tables", |evs| {
        let ids = |t: &str| {
            evs.iter()
                .filter(|e| e.table == t)
                .filter_map(id_of)
                .collect::<std::collections::BTreeSet<_>>()
                .len()
        };
        ids("a") == 3000 && ids("b") == 3000
    })
    .await;
    wait_caught_up(&p, id).await;
    let st = p.status(id).await.unwrap();
    let snap = &st.details["snapshot"];
    assert_eq!(snap["state"], "done", "{st:?}");
    match restart_reason {
        Some(reason) => {
            assert!(snap["restarts"].as_u64().unwrap() >= 1, "{st:?}");
            let why = snap["last_failure"].as_str().unwrap_or_default();
            assert!(why.contains(reason), "{why}");
        }
        None => assert_eq!(snap["restarts"], 0, "{st:?}"),
    }
    sql(&db, "insert into a values (3001, 1)").await;
    rec.wait_until(30, "the streamed insert", |evs| {
        evs.iter()
            .any(|e| e.operation == Operation::Insert && id_of(e) == Some(3001))
    })
    .await;
    p.disconnect(id).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_table_rewritten_after_the_snapshot_was_taken_is_detected() {
    // Rewrites are not MVCC-safe: a snapshot older than the rewrite reads the table empty.
    // The snapshot locks its tables as it starts, so a rewrite can only fall in the moment
    // between the slot's creation and those locks, which no outside session can hold open
    // (a rewrite's lock takes a transaction id, and the slot waits for those). Here the
    // check itself: a transaction whose snapshot predates the rewrite must refuse the table.
    let pg = cluster().await;
    let db = pg.connect().await.unwrap();
    sql(
        &db,
        "create table b (id bigint primary key, v int);
         insert into b select g, 1 from generate_series(1, 100) g;",
    )
    .await;
    let reader = pg.connect().await.unwrap();
    sql(
        &reader,
        "begin isolation level repeatable read read only; select 1",
    )
    .await;
    let table = cdc_postgres::sql::catalog::resolve_tables(
        &reader,
        &[cdc_core::TableRef::parse("b").unwrap()],
        &["public".to_owned()],
    )
    .await
    .unwrap()
    .remove(0);
    cdc_postgres::snapshot::guard_against_rewrite(&reader, &table)
        .await
        .unwrap();
    sql(&db, "alter table b alter column v type bigint").await;
    sql(&reader, "lock table b in access share mode").await;
    let e = cdc_postgres::snapshot::guard_against_rewrite(&reader, &table)
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("public.b was rewritten"), "{e}");
    let n: i64 = reader
        .query_one("select count(*) from b", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(
        n, 0,
        "PostgreSQL showed the rewritten rows to the old snapshot after all"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ddl_on_a_captured_table_waits_for_the_snapshot() {
    // Once the snapshot holds its locks, a rewrite waits: nothing to start over.
    snapshot_survives("ddlwait", "alter table b alter column v type bigint", None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_snapshot_session_loses_nothing() {
    // The replication session holding the exported snapshot dies: the readers already
    // imported it, so the snapshot completes, and streaming resumes at the slot's
    // consistent point on a new session.
    snapshot_survives(
        "killed",
        "select pg_terminate_backend(pid) from pg_stat_replication where application_name = 'cdc-rs'",
        None,
    )
    .await;
}
