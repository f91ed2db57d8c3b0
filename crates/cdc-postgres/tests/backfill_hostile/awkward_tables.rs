//! Awkward tables: changes that cannot be matched to a row, DDL and renames between
//! chunks, and saved positions that do not fit the table's key.

use std::time::Duration;

use cdc_core::{CdcProvider, Operation, SourceState};
use cdc_postgres::PostgresProvider;
use serde_json::json;

use crate::common::{Recorder, cluster, id_of, source, sql};
use crate::support::{idle_and, progress, reads, wait_for};

/// REPLICA IDENTITY NOTHING (a DELETE carries no key) and USING INDEX on other columns
/// than the primary key (a key change does not show the old key): the stream cannot tell
/// which chunk rows a change touches, so the backfill refuses the table, naming why,
/// instead of possibly bringing a deleted row back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tables_whose_changes_cannot_be_matched_are_refused() {
    let pg = cluster().await;
    let db = pg.connect().await.unwrap();
    sql(
        &db,
        "create table nothing_ri (id int primary key, v int);
         alter table nothing_ri replica identity nothing;
         create table index_ri (id int primary key, code int not null);
         create unique index index_ri_code on index_ri (code);
         alter table index_ri replica identity using index index_ri_code;
         insert into nothing_ri select g, g from generate_series(1, 10) g;
         insert into index_ri select g, g from generate_series(1, 10) g;",
    )
    .await;
    let p = PostgresProvider::new();
    p.connect(&source(
        &pg,
        "ri",
        &["nothing_ri", "index_ri"],
        json!({"snapshot": "never", "allow_tables_without_identity": true}),
    ))
    .await
    .unwrap();
    let rec = Recorder::new();
    let _sub = rec.subscribe(&p, "ri");
    p.snapshot("ri", &[]).await.unwrap();
    wait_for(&p, "ri", "both tables settled", |st| {
        ["public.nothing_ri", "public.index_ri"]
            .iter()
            .all(|t| idle_and(st, t, "error") || idle_and(st, t, "done"))
    })
    .await;
    let st = p.status("ri").await.unwrap();
    let e = progress(&st, "public.nothing_ri")["error"].to_string();
    assert!(e.contains("REPLICA IDENTITY NOTHING"), "{st:?}");
    let e = progress(&st, "public.index_ri")["error"].to_string();
    assert!(e.contains("USING INDEX"), "{st:?}");
    assert_eq!(reads(&rec.snapshot(), "nothing_ri").count(), 0);
    assert_eq!(reads(&rec.snapshot(), "index_ri").count(), 0);
    assert_eq!(st.state, SourceState::Running);
    p.disconnect("ri").await.unwrap();
}

/// A column added between two chunks is in the rows of the chunks read after it (not left
/// out as the table was when the backfill started); a table renamed during its backfill
/// fails it with an error that says so.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ddl_between_chunks_is_seen_by_the_next_chunk() {
    let pg = cluster().await;
    let db = pg.connect().await.unwrap();
    sql(
        &db,
        "create table t (id int primary key, v int not null);
         insert into t select g, 0 from generate_series(1, 300) g;
         create table r (id int primary key);
         insert into r select g from generate_series(1, 300) g;",
    )
    .await;
    let p = PostgresProvider::new();
    p.connect(&source(
        &pg,
        "ddl",
        &["t", "r"],
        json!({"snapshot": "never", "chunk_size": 10}),
    ))
    .await
    .unwrap();
    let rec = Recorder::new();
    *rec.delay.lock().unwrap() = Some(Duration::from_millis(40));
    let _sub = rec.subscribe(&p, "ddl");
    p.snapshot("ddl", &["t".into()]).await.unwrap();
    rec.wait_until(60, "a first chunk", |evs| {
        evs.iter().any(|e| e.operation == Operation::SnapshotRead)
    })
    .await;
    sql(&db, "alter table t add column c int not null default 7").await;
    wait_for(&p, "ddl", "t done", |st| idle_and(st, "public.t", "done")).await;
    let events = rec.snapshot();
    let last = reads(&events, "t")
        .max_by_key(|e| id_of(e).unwrap())
        .unwrap();
    assert_eq!(id_of(last), Some(300));
    assert_eq!(
        last.after.as_ref().unwrap().get("c"),
        Some(&json!(7)),
        "the last chunk was read as the table was before the ALTER: {:?}",
        last.after
    );
    let mut ids: Vec<i64> = reads(&events, "t").filter_map(id_of).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 300);

    p.snapshot("ddl", &["r".into()]).await.unwrap();
    rec.wait_until(60, "a first chunk of r", |evs| {
        evs.iter()
            .any(|e| e.operation == Operation::SnapshotRead && e.table == "r")
    })
    .await;
    sql(&db, "alter table r rename to r2").await;
    wait_for(&p, "ddl", "r failed", |st| {
        idle_and(st, "public.r", "error")
    })
    .await;
    let st = p.status("ddl").await.unwrap();
    let e = progress(&st, "public.r")["error"].to_string();
    assert!(e.contains("renamed"), "{e}");
    assert_eq!(st.state, SourceState::Running);
    p.disconnect("ddl").await.unwrap();
}

/// A saved position (the publication's comment) that does not fit the table's key, with
/// too many values or a value not of the key's type, makes the table read whole again
/// instead of skipping rows or failing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_saved_position_that_does_not_fit_reads_the_table_whole() {
    let pg = cluster().await;
    let db = pg.connect().await.unwrap();
    sql(
        &db,
        "create table t (id bigint primary key);
         insert into t select g from generate_series(1, 50) g;",
    )
    .await;
    let cfg = source(
        &pg,
        "saved",
        &["t"],
        json!({"snapshot": "never", "chunk_size": 20}),
    );
    let p = PostgresProvider::new();
    p.connect(&cfg).await.unwrap();
    p.disconnect("saved").await.unwrap();
    let saved = json!({"cdc-rs-backfill": [
        {"tables": ["public.t"], "after": ["5", "x"]},
        {"tables": ["public.t"], "after": ["not a number"]},
    ]});
    sql(
        &db,
        &format!(
            "comment on publication cdc_saved is '{}'",
            saved.to_string().replace('\'', "''")
        ),
    )
    .await;
    let p = PostgresProvider::new();
    p.connect(&cfg).await.unwrap();
    let rec = Recorder::new();
    let _sub = rec.subscribe(&p, "saved");
    wait_for(&p, "saved", "both saved requests done", |st| {
        st.details.get("backfill").is_some_and(|b| {
            b["state"] == "idle" && b["queued"].as_array().is_some_and(Vec::is_empty)
        }) && idle_and(st, "public.t", "done")
    })
    .await;
    let st = p.status("saved").await.unwrap();
    assert!(progress(&st, "public.t")["error"].is_null(), "{st:?}");
    let events = rec.snapshot();
    for id in 1..=50 {
        let n = reads(&events, "t").filter(|e| id_of(e) == Some(id)).count();
        assert_eq!(n, 2, "row {id} read {n} time(s), not once by each request");
    }
    p.disconnect("saved").await.unwrap();
}
