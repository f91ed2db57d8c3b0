//! `snapshot(tables)` on a running source: chunks in key order between watermarks while the
//! stream goes on. Writers update and delete the same rows hard meanwhile: for every key the
//! last event delivered equals the table's final row, no image older than a delivered change
//! arrives after it, deleted rows stay deleted, none is lost. Requests queue, progress shows,
//! a restart resumes from the last finished chunk.

mod common;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use cdc_core::{CdcProvider, Operation, SharedEvent, SourceState};
use cdc_postgres::PostgresProvider;
use common::{Recorder, cluster, id_of, source, sql, wait_for};
use serde_json::{Value, json};

const ROWS: i64 = 20_000;

fn v_of(e: &SharedEvent) -> i64 {
    e.after.as_ref().unwrap()["v"].as_i64().unwrap()
}

/// Replays the events in order, checking on the way that no snapshot image is older than a
/// change already delivered for its key, and that no deleted key comes back through one.
fn replay(events: &[SharedEvent]) -> BTreeMap<i64, i64> {
    let mut rows = BTreeMap::new();
    let mut deleted: HashMap<i64, bool> = HashMap::new();
    for e in events.iter().filter(|e| e.table == "t") {
        let id = id_of(e).unwrap();
        match e.operation {
            Operation::SnapshotRead => {
                assert!(
                    !deleted.get(&id).copied().unwrap_or(false),
                    "key {id} deleted, then brought back by a snapshot row"
                );
                if let Some(seen) = rows.get(&id) {
                    assert!(
                        v_of(e) >= *seen,
                        "key {id}: snapshot image v={} after a delivered change v={seen}",
                        v_of(e)
                    );
                }
                rows.insert(id, v_of(e));
            }
            Operation::Insert | Operation::Update => {
                deleted.insert(id, false);
                rows.insert(id, v_of(e));
            }
            Operation::Delete => {
                deleted.insert(id, true);
                rows.remove(&id);
            }
            _ => {}
        }
    }
    rows
}

async fn table(db: &tokio_postgres::Client) -> BTreeMap<i64, i64> {
    db.query("select id, v from t", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect()
}

fn backfill_done(st: &cdc_core::CdcStatus) -> bool {
    st.details
        .get("backfill")
        .is_some_and(|b| b["state"] == "idle" && b["tables"]["public.t"]["done"] == true)
}

fn caught_up(st: &cdc_core::CdcStatus) -> bool {
    st.state == SourceState::Running && st.lag_bytes == Some(0)
}

async fn seed(db: &tokio_postgres::Client) {
    sql(
        db,
        &format!(
            "create table t (id bigint primary key, v bigint not null);
             create table nokey (a int);
             insert into t select g, 0 from generate_series(1, {ROWS}) g;
             analyze t;"
        ),
    )
    .await;
}

/// Updates (v + 1, so images only grow), deletes and inserts of new keys, hard, until
/// stopped.
fn writers(
    pg: &cdc_testkit::PgCluster,
    stop: Arc<AtomicBool>,
) -> Vec<tokio::task::JoinHandle<i64>> {
    (0..2)
        .map(|w| {
            let stop = stop.clone();
            let conn = pg.connection_string();
            tokio::spawn(async move {
                let (db, c) = tokio_postgres::connect(&conn, tokio_postgres::NoTls)
                    .await
                    .unwrap();
                tokio::spawn(c);
                let mut i: i64 = 0;
                while !stop.load(Ordering::Relaxed) {
                    i += 1;
                    let hot = (i * 7919 + w * 104_729) % ROWS + 1;
                    db.batch_execute(&format!(
                        "begin;
                         update t set v = v + 1 where id in ({hot}, {}, {});
                         delete from t where id = {};
                         insert into t values ({}, 0);
                         commit;",
                        (hot * 3) % ROWS + 1,
                        (hot + 1) % ROWS + 1,
                        (hot * 31 + 17) % ROWS + 1,
                        1_000_000 + w * 1_000_000 + i
                    ))
                    .await
                    .unwrap();
                    // Hard, but not faster than the stream can follow on two cores.
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
                i
            })
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backfill_under_hard_writers_converges_to_the_table() {
    let pg = cluster().await;
    let db = pg.connect().await.unwrap();
    seed(&db).await;
    let p = PostgresProvider::new();
    p.connect(&source(
        &pg,
        "bf",
        &["t", "nokey"],
        json!({"snapshot": "never", "chunk_size": 500, "allow_tables_without_identity": true}),
    ))
    .await
    .unwrap();
    let rec = Recorder::new();
    let _sub = rec.subscribe(&p, "bf");

    // Clear errors first.
    let e = p
        .snapshot("bf", &["nokey".into()])
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("nokey") && e.contains("no primary key"), "{e}");
    let e = p
        .snapshot("bf", &["public.elsewhere".into()])
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("not a table this source captures"), "{e}");

    let stop = Arc::new(AtomicBool::new(false));
    let ws = writers(&pg, stop.clone());
    tokio::time::sleep(Duration::from_millis(300)).await;
    let report = p.snapshot("bf", &["t".into()]).await.unwrap();
    assert_eq!(report.method, "watermark_backfill");
    assert_eq!(report.tables, vec!["public.t"]);
    // Progress while it runs.
    wait_for(&p, "bf", "backfill progress", |st| {
        st.details
            .get("backfill")
            .is_some_and(|b| b["tables"]["public.t"]["chunks"].as_u64().unwrap_or(0) >= 2)
    })
    .await;
    let st = p.status("bf").await.unwrap();
    assert_eq!(
        st.details["backfill"]["tables"]["public.t"]["estimated_rows"],
        ROWS
    );
    assert_eq!(
        st.state,
        SourceState::Running,
        "the stream never stops: {st:?}"
    );
    wait_for(&p, "bf", "the backfill done", backfill_done).await;
    stop.store(true, Ordering::Relaxed);
    let mut written = 0;
    for w in ws {
        written += w.await.unwrap();
    }
    assert!(written > 50, "writers barely ran: {written}");
    wait_for(&p, "bf", "caught up", caught_up).await;
    let events = rec.snapshot();
    let seen = replay(&events);
    let actual = table(&db).await;
    assert_eq!(seen.len(), actual.len());
    assert!(seen == actual, "the consumer's view differs from the table");
    let reads = events
        .iter()
        .filter(|e| e.operation == Operation::SnapshotRead)
        .count();
    assert!(reads > (ROWS as usize) / 2, "only {reads} snapshot rows");
    // Watermarks never reach the handlers.
    assert!(events.iter().all(|e| e.operation != Operation::Message));
    p.disconnect("bf").await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_queue_and_a_restart_resumes_from_the_last_chunk() {
    let pg = cluster().await;
    let db = pg.connect().await.unwrap();
    seed(&db).await;
    let cfg = source(
        &pg,
        "resume",
        &["t"],
        json!({"snapshot": "never", "chunk_size": 1000}),
    );
    let p = PostgresProvider::new();
    p.connect(&cfg).await.unwrap();
    let rec = Recorder::new();
    *rec.delay.lock().unwrap() = Some(Duration::from_millis(30));
    let _sub = rec.subscribe(&p, "resume");
    p.snapshot("resume", &[]).await.unwrap();
    let second = p.snapshot("resume", &["t".into()]).await.unwrap();
    assert!(second.detail.unwrap().contains("queued behind 1"), "queued");
    wait_for(&p, "resume", "four chunks", |st| {
        st.details["backfill"]["tables"]["public.t"]["chunks"]
            .as_u64()
            .unwrap_or(0)
            >= 4
    })
    .await;
    p.disconnect("resume").await.unwrap();
    let first_run: Vec<i64> = rec
        .snapshot()
        .iter()
        .filter(|e| e.operation == Operation::SnapshotRead)
        .filter_map(id_of)
        .collect();
    let comment: Option<String> = db
        .query_one(
            "select obj_description(oid, 'pg_publication') from pg_publication where pubname = 'cdc_resume'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    let comment: Value = serde_json::from_str(&comment.expect("position kept")).unwrap();
    assert_eq!(
        comment["cdc-rs-backfill"].as_array().unwrap().len(),
        2,
        "{comment}"
    );

    let p = PostgresProvider::new();
    p.connect(&cfg).await.unwrap();
    let rec2 = Recorder::new();
    let _sub = rec2.subscribe(&p, "resume");
    wait_for(&p, "resume", "both requests done", |st| {
        st.details.get("backfill").is_some_and(|b| {
            b["state"] == "idle" && b["queued"].as_array().is_some_and(Vec::is_empty)
        }) && backfill_done(st)
    })
    .await;
    let second_run: Vec<i64> = rec2
        .snapshot()
        .iter()
        .filter(|e| e.operation == Operation::SnapshotRead)
        .filter_map(id_of)
        .collect();
    // The first request resumed after the last chunk the first run finished: its first rows
    // are not read again; the second request reads everything.
    let resumed_from = second_run[0];
    assert!(resumed_from > 1000, "started over from {resumed_from}");
    assert!(first_run.iter().max().unwrap() + 1 >= resumed_from);
    let mut all: Vec<i64> = first_run.iter().chain(&second_run).copied().collect();
    all.sort_unstable();
    all.dedup();
    assert_eq!(all.len() as i64, ROWS, "every row read at least once");
    assert_eq!(
        second_run.iter().filter(|id| **id == 1).count(),
        1,
        "the queued second request read the table whole"
    );
    let comment: Option<String> = db
        .query_one(
            "select obj_description(oid, 'pg_publication') from pg_publication where pubname = 'cdc_resume'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(comment, None, "the position outlived the backfill");
    p.disconnect("resume").await.unwrap();
}
