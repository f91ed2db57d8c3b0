//! An idle slot does not retain WAL while unpublished tables are written; schema history
//! follows ALTER TABLE; logical messages arrive as `Message` events, filtered by prefix.

mod common;

use std::time::Duration;

use cdc_core::{CdcProvider, Operation};
use cdc_postgres::PostgresProvider;
use common::{Recorder, cluster, source, sql};
use serde_json::json;

/// WAL the slot retains (current − restart_lsn) and has not confirmed, in bytes.
async fn retained(db: &tokio_postgres::Client) -> (i64, i64) {
    db.query_one(
        "select pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn)::int8, \
         pg_wal_lsn_diff(pg_current_wal_lsn(), confirmed_flush_lsn)::int8 \
         from pg_replication_slots where slot_name = 'cdc_idle'",
        &[],
    )
    .await
    .map(|r| (r.get::<_, i64>(0), r.get::<_, i64>(1)))
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_slot_does_not_retain_wal_while_other_tables_are_written() {
    let pg = cluster().await;
    let db = pg.connect().await.unwrap();
    sql(
        &db,
        "create table published (id int primary key); create table busy (id int, pad text);",
    )
    .await;
    let p = PostgresProvider::new();
    p.connect(&source(&pg, "idle", &["published"], json!({})))
        .await
        .unwrap();
    let rec = Recorder::new();
    let _sub = rec.subscribe(&p, "idle");
    // ~40 MB of WAL on a table the slot does not publish.
    for _ in 0..4 {
        sql(
            &db,
            "insert into busy select g, repeat('x', 1000) from generate_series(1, 10000) g",
        )
        .await;
    }
    let (start_retained, _) = retained(&db).await;
    assert!(
        start_retained > 30_000_000,
        "the test wrote too little WAL: {start_retained}"
    );
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        // A checkpoint logs the running transactions, which lets restart_lsn move.
        sql(&db, "checkpoint").await;
        let (kept, unconfirmed) = retained(&db).await;
        if kept < 1_000_000 && unconfirmed < 1_000_000 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the slot still retains {kept} bytes ({unconfirmed} unconfirmed)"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    assert!(rec.snapshot().is_empty(), "nothing was published");
    let st = p.status("idle").await.unwrap();
    assert!(
        st.details["retained_wal_bytes"].as_i64().unwrap() < 1_000_000,
        "{st:?}"
    );
    assert!(st.lag_seconds.is_some(), "{st:?}");
    p.disconnect("idle").await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schema_history_follows_alter_table() {
    let pg = cluster().await;
    let db = pg.connect().await.unwrap();
    sql(&db, "create table orders (id int primary key, total int)").await;
    let p = PostgresProvider::new();
    // No snapshot: DDL while a snapshot runs makes it start over (COPY sees the new
    // catalog), which the snapshot suite covers.
    p.connect(&source(
        &pg,
        "ddl",
        &["public.orders"],
        json!({"snapshot": "never"}),
    ))
    .await
    .unwrap();
    let rec = Recorder::new();
    let _sub = rec.subscribe(&p, "ddl");
    sql(
        &db,
        "insert into orders values (1, 1);
         alter table orders add column note text;
         insert into orders values (2, 2, 'n');
         alter table orders rename column total to amount;
         insert into orders values (3, 3, 'n');
         alter table orders alter column amount type bigint;
         insert into orders values (4, 4, 'n');
         alter table orders drop column note;
         insert into orders values (5, 5);",
    )
    .await;
    rec.wait_rows(5, 30).await;
    let history = p.schema_history("ddl", "public.orders").await.unwrap();
    let ddl: Vec<&str> = history.iter().map(|v| v.ddl.as_str()).collect();
    assert_eq!(
        ddl,
        vec![
            "CREATE TABLE public.orders (id integer, total integer)",
            "ALTER TABLE public.orders ADD COLUMN note text",
            "ALTER TABLE public.orders RENAME COLUMN total TO amount",
            "ALTER TABLE public.orders ALTER COLUMN amount TYPE bigint",
            "ALTER TABLE public.orders DROP COLUMN note",
        ]
    );
    let versions: Vec<i64> = history.iter().map(|v| v.version).collect();
    assert_eq!(versions, vec![1, 2, 3, 4, 5]);
    assert!(history.iter().all(|v| v.position.is_some()));
    assert!(
        history
            .windows(2)
            .all(|w| w[0].applied_at <= w[1].applied_at)
    );
    // Also by table name alone, and every table with an empty name.
    assert_eq!(p.schema_history("ddl", "orders").await.unwrap().len(), 5);
    assert_eq!(p.schema_history("ddl", "").await.unwrap().len(), 5);
    assert!(
        p.schema_history("ddl", "public.other")
            .await
            .unwrap()
            .is_empty()
    );
    // The changes reach the handlers too, before the first row in the new shape.
    let all = rec.snapshot();
    let kinds: Vec<Operation> = all.iter().map(|e| e.operation).collect();
    assert_eq!(
        kinds
            .iter()
            .filter(|o| **o == Operation::SchemaChange)
            .count(),
        4,
        "{kinds:?}"
    );
    let first_change = all
        .iter()
        .position(|e| e.operation == Operation::SchemaChange)
        .unwrap();
    assert_eq!(all[first_change + 1].after.as_ref().unwrap()["note"], "n");
    assert_eq!(
        all[first_change].metadata["ddl"],
        "ALTER TABLE public.orders ADD COLUMN note text"
    );
    // The new row shape.
    let last = all.last().unwrap();
    assert_eq!(
        *last.after.as_ref().unwrap().value(),
        json!({"id": 5, "amount": 5})
    );
    assert_eq!(last.metadata["column_types"]["amount"], "int8");
    p.disconnect("ddl").await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logical_messages_are_message_events() {
    let pg = cluster().await;
    let db = pg.connect().await.unwrap();
    sql(&db, "create table t (id int primary key)").await;
    let p = PostgresProvider::new();
    p.connect(&source(
        &pg,
        "msg",
        &["t"],
        json!({"message_prefixes": ["app"]}),
    ))
    .await
    .unwrap();
    let rec = Recorder::new();
    let _sub = rec.subscribe(&p, "msg");
    sql(
        &db,
        "select pg_logical_emit_message(false, 'other', 'ignored');
         select pg_logical_emit_message(false, 'app', 'hello');
         begin; insert into t values (1); select pg_logical_emit_message(true, 'app', '\\xff'::bytea); commit;",
    )
    .await;
    rec.wait_until(30, "two messages and a row", |evs| evs.len() >= 3)
        .await;
    let evs = rec.snapshot();
    let msgs: Vec<_> = evs
        .iter()
        .filter(|e| e.operation == Operation::Message)
        .collect();
    assert_eq!(msgs.len(), 2, "{evs:?}");
    assert_eq!(msgs[0].metadata["prefix"], "app");
    assert_eq!(msgs[0].after.as_ref().unwrap()["content"], "hello");
    assert_eq!(msgs[0].metadata["transactional"], false);
    assert_eq!(msgs[1].metadata["transactional"], true);
    assert_eq!(msgs[1].metadata["content_encoding"], "base64");
    assert_eq!(msgs[1].after.as_ref().unwrap()["content"], "/w==");
    assert!(msgs[1].transaction_id.is_some());
    p.disconnect("msg").await.unwrap();
}
