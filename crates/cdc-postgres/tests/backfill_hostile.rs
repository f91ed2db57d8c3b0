//! The backfill (`snapshot(tables)` on a running source) against hostile input and awkward
//! tables: forged watermark and DDL messages written by any role, resume keys of every
//! kind of type on a database with `standard_conforming_strings = off`, keys as the stream
//! and the chunks carry them, tables whose changes cannot be matched to a row, DDL and
//! renames between chunks, and saved positions that do not fit the table.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use cdc_core::{CdcProvider, CdcStatus, Operation, SharedEvent, SourceState};
use cdc_postgres::PostgresProvider;
use common::{Recorder, cluster, id_of, source, sql};
use serde_json::{Value, json};

async fn wait_for(p: &PostgresProvider, id: &str, what: &str, pred: impl Fn(&CdcStatus) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let st = p.status(id).await.unwrap();
        if pred(&st) {
            return;
        }
        assert!(Instant::now() < deadline, "never {what}: {st:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The backfill progress of `table` (`schema.table`).
fn progress(st: &CdcStatus, table: &str) -> Value {
    st.details
        .get("backfill")
        .map(|b| b["tables"][table].clone())
        .unwrap_or(Value::Null)
}

fn idle_and(st: &CdcStatus, table: &str, key: &str) -> bool {
    st.details
        .get("backfill")
        .is_some_and(|b| b["state"] == "idle")
        && !progress(st, table)[key].is_null()
        && progress(st, table)[key] != false
}

fn reads<'a>(events: &'a [SharedEvent], table: &'a str) -> impl Iterator<Item = &'a SharedEvent> {
    events
        .iter()
        .filter(move |e| e.operation == Operation::SnapshotRead && e.table == table)
}

/// The key columns of a row image as one comparable text, in key order.
fn key_text(row: &cdc_core::Row, cols: &[&str]) -> String {
    let values: Vec<Value> = cols.iter().map(|c| row.get(c).cloned().unwrap()).collect();
    serde_json::to_string(&values).unwrap()
}

/// Any role may write messages with our prefixes, transactional or not, while a backfill
/// runs: none of them panics, stops the source, reaches the handlers, forges a schema
/// change or costs a row.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_watermark_and_ddl_messages_change_nothing() {
    let pg = cluster().await;
    let db = pg.connect().await.unwrap();
    sql(
        &db,
        "create table t (id bigint primary key, v int not null);
         insert into t select g, 0 from generate_series(1, 3000) g;
         create role intruder login;
         grant usage on schema public to intruder;",
    )
    .await;
    let p = PostgresProvider::new();
    p.connect(&source(
        &pg,
        "forge",
        &["t"],
        json!({"snapshot": "never", "chunk_size": 100, "capture_ddl": true}),
    ))
    .await
    .unwrap();
    let rec = Recorder::new();
    let _sub = rec.subscribe(&p, "forge");
    let stop = Arc::new(AtomicBool::new(false));
    let forger = {
        let stop = stop.clone();
        let conn = format!("{} user=intruder", pg.connection_string());
        tokio::spawn(async move {
            let (c, conn) = tokio_postgres::connect(&conn, tokio_postgres::NoTls)
                .await
                .unwrap();
            tokio::spawn(conn);
            let mut n = 0u64;
            while !stop.load(Ordering::Relaxed) {
                n += 1;
                let slot = "cdc_forge";
                let forged: Vec<(bool, &str, Vec<u8>)> = vec![
                    (true, "cdc-rs.wm", b"not json".to_vec()),
                    (false, "cdc-rs.wm", b"{\"slot\":".to_vec()),
                    (true, "cdc-rs.wm", vec![0xff, 0x00, 0xfe]),
                    (
                        n.is_multiple_of(2),
                        "cdc-rs.wm",
                        format!(r#"{{"slot":"{slot}","run":"0-0","seq":{n},"mark":"high"}}"#)
                            .into_bytes(),
                    ),
                    (
                        true,
                        "cdc-rs.wm",
                        format!(r#"{{"slot":"{slot}","run":"x","seq":18446744073709551615,"mark":"low"}}"#)
                            .into_bytes(),
                    ),
                    (true, "cdc-rs.ddl", b"[]".to_vec()),
                    (
                        false,
                        "cdc-rs.ddl",
                        format!(r#"{{"slot":"{slot}","tag":"DROP TABLE","object_type":"table","identity":"public.t","ddl":"drop table t"}}"#)
                            .into_bytes(),
                    ),
                    (
                        true,
                        "cdc-rs.ddl",
                        format!(r#"{{"slot":"{slot}","tag":"ALTER TABLE","object_type":"table","identity":"public.\"t","ddl":"x"}}"#)
                            .into_bytes(),
                    ),
                ];
                for (transactional, prefix, content) in forged {
                    c.execute(
                        "select pg_logical_emit_message($1, $2, $3::bytea)",
                        &[&transactional, &prefix, &content],
                    )
                    .await
                    .unwrap();
                }
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
            n
        })
    };
    tokio::time::sleep(Duration::from_millis(200)).await;
    p.snapshot("forge", &["t".into()]).await.unwrap();
    wait_for(&p, "forge", "the backfill done", |st| {
        idle_and(st, "public.t", "done")
    })
    .await;
    stop.store(true, Ordering::Relaxed);
    assert!(forger.await.unwrap() > 5, "the forger barely ran");
    let st = p.status("forge").await.unwrap();
    assert_eq!(st.state, SourceState::Running, "{st:?}");
    assert!(progress(&st, "public.t")["error"].is_null(), "{st:?}");
    let events = rec.snapshot();
    let mut ids: Vec<i64> = reads(&events, "t").filter_map(id_of).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids, (1..=3000).collect::<Vec<_>>(), "every row read");
    assert!(
        events
            .iter()
            .all(|e| !matches!(e.operation, Operation::Message | Operation::SchemaChange)),
        "a forged message reached the handlers"
    );
    p.disconnect("forge").await.unwrap();
}

/// Keys of many types, composite, in another order than the columns, holding quotes and
/// backslashes, on a database whose roles default to `standard_conforming_strings = off`:
/// with one row a chunk every key becomes a resume key (a literal in the next chunk's
/// query) and every row is read exactly once. Then the keys the stream carries (new rows'
/// keys, old keys of a key change, full old rows under REPLICA IDENTITY FULL) are exactly
/// the chunks' keys, as the window compares them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resume_and_stream_keys_of_odd_types_match_the_chunks() {
    let pg = cluster().await;
    let db = pg.connect().await.unwrap();
    let dbname: String = db
        .query_one("select current_database()", &[])
        .await
        .unwrap()
        .get(0);
    sql(
        &db,
        &format!(
            r#"alter database "{dbname}" set standard_conforming_strings = off;
            create table "OddKeys" (v int not null, b bytea, f float8, ts timestamptz, n numeric,
                t text, u uuid, primary key (t, n, ts, u, b, f));"#
        ),
    )
    .await;
    // Each row distinct by `t`; the other key columns repeat awkward values.
    let texts = [
        r"a\'b",
        r"\",
        r"x\",
        "'",
        "''",
        "\"",
        r#"\" OR true) --"#,
        "ü ñ 😀",
        "Z",
        "a",
        "B",
        "",
        "line\nbreak",
        "tab\there",
    ];
    let numerics = [
        "1.0",
        "1.00",
        "0.000",
        "-12345678901234567890.123456789",
        "1e-20",
    ];
    let floats = ["-0", "0.1", "NaN", "1e-300", "Infinity"];
    let times = [
        "2024-01-01 00:00:00.000001+00",
        "1999-12-31 23:59:59+05:30",
        "infinity",
    ];
    let uuids = [
        "A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11",
        "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a12",
    ];
    let bytes = [r"\x00ff27", r"\x5c27", r"\x"];
    for (i, t) in texts.iter().enumerate() {
        db.execute(
            r#"insert into "OddKeys" values ($1, decode($2::text, 'hex'), $3::text::float8,
                $4::text::timestamptz, $5::text::numeric, $6::text, $7::text::uuid)"#,
            &[
                &(i as i32),
                &bytes[i % bytes.len()].trim_start_matches(r"\x"),
                &floats[i % floats.len()],
                &times[i % times.len()],
                &numerics[i % numerics.len()],
                t,
                &uuids[i % uuids.len()],
            ],
        )
        .await
        .unwrap();
    }
    let p = PostgresProvider::new();
    p.connect(&source(
        &pg,
        "odd",
        &["OddKeys"],
        json!({"snapshot": "never", "chunk_size": 1}),
    ))
    .await
    .unwrap();
    let rec = Recorder::new();
    let _sub = rec.subscribe(&p, "odd");
    p.snapshot("odd", &[]).await.unwrap();
    wait_for(&p, "odd", "the backfill done or failed", |st| {
        idle_and(st, "public.OddKeys", "done") || idle_and(st, "public.OddKeys", "error")
    })
    .await;
    let st = p.status("odd").await.unwrap();
    assert!(
        progress(&st, "public.OddKeys")["error"].is_null(),
        "{:?}",
        progress(&st, "public.OddKeys")
    );
    let cols = ["t", "n", "ts", "u", "b", "f"];
    let events = rec.snapshot();
    let mut chunk_keys: Vec<String> = reads(&events, "OddKeys")
        .map(|e| key_text(e.key.as_ref().unwrap(), &cols))
        .collect();
    chunk_keys.sort();
    let n = chunk_keys.len();
    chunk_keys.dedup();
    assert_eq!(n, texts.len(), "every row read once: {chunk_keys:?}");
    assert_eq!(chunk_keys.len(), texts.len());

    // The keys the stream carries for the same rows.
    sql(
        &db,
        r#"update "OddKeys" set v = v + 100;
           update "OddKeys" set t = t || '!';
           alter table "OddKeys" replica identity full;
           delete from "OddKeys";"#,
    )
    .await;
    let total = 3 * texts.len();
    rec.wait_until(60, "the stream's changes", |evs| {
        evs.iter()
            .filter(|e| e.operation.is_row_change() && e.operation != Operation::SnapshotRead)
            .count()
            >= total
    })
    .await;
    let events = rec.snapshot();
    let changes: Vec<&SharedEvent> = events
        .iter()
        .filter(|e| matches!(e.operation, Operation::Update | Operation::Delete))
        .collect();
    let mut of_v: Vec<String> = changes[..texts.len()]
        .iter()
        .map(|e| key_text(e.key.as_ref().unwrap(), &cols))
        .collect();
    of_v.sort();
    assert_eq!(of_v, chunk_keys, "update keys differ from the chunks'");
    let mut old_keys: Vec<String> = changes[texts.len()..2 * texts.len()]
        .iter()
        .map(|e| key_text(e.before.as_ref().expect("old key"), &cols))
        .collect();
    old_keys.sort();
    assert_eq!(old_keys, chunk_keys, "old keys of a key change differ");
    let new_keys: Vec<String> = changes[texts.len()..2 * texts.len()]
        .iter()
        .map(|e| key_text(e.after.as_ref().unwrap(), &cols))
        .collect();
    let mut full_old: Vec<String> = changes[2 * texts.len()..]
        .iter()
        .map(|e| key_text(e.before.as_ref().expect("full old row"), &cols))
        .collect();
    full_old.sort();
    let mut new_keys = new_keys;
    new_keys.sort();
    assert_eq!(full_old, new_keys, "REPLICA IDENTITY FULL old rows' keys");
    p.disconnect("odd").await.unwrap();
}

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
