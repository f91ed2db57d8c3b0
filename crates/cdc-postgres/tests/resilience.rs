//! At-least-once under failure: the walsender killed and the server restarted mid-stream
//! (every change delivered, checked by id; duplicates only after the last confirmed
//! position), a failing handler (position held, change delivered again), a handler slower
//! than `wal_sender_timeout` (the connection survives), pause and resume.

mod common;

use std::collections::HashMap;
use std::time::Duration;

use cdc_core::{CdcProvider, SourceState};
use cdc_postgres::PostgresProvider;
use cdc_testkit::{PgCluster, ShutdownMode};
use common::{Recorder, cluster, commit_lsn_of, confirmed_flush, id_of, source, sql};
use serde_json::json;

const TOTAL: i64 = 10_000;

/// Inserts ids `from..to` in transactions of 1 to 7 rows.
async fn write_ids(db: &tokio_postgres::Client, from: i64, to: i64) {
    let mut id = from;
    let mut n = 1;
    while id < to {
        let end = (id + n).min(to);
        db.batch_execute(&format!(
            "insert into ev select g, 'payload ' || g from generate_series({id}, {}) g",
            end - 1
        ))
        .await
        .unwrap();
        id = end;
        n = n % 7 + 1;
    }
}

/// Every id of `1..=TOTAL` arrived; a repeated id comes from a transaction committed after
/// `confirmed_before` (the slot's confirmed position sampled before the failure).
fn check_delivery(rec: &Recorder, confirmed_before: u64) {
    let mut seen: HashMap<i64, Vec<u64>> = HashMap::new();
    for e in rec.rows() {
        seen.entry(id_of(&e).unwrap())
            .or_default()
            .push(commit_lsn_of(&e));
    }
    let missing: Vec<i64> = (1..=TOTAL).filter(|id| !seen.contains_key(id)).collect();
    assert!(
        missing.is_empty(),
        "{} id(s) lost, e.g. {:?}",
        missing.len(),
        &missing[..missing.len().min(10)]
    );
    let mut duplicates = 0;
    for (id, commits) in &seen {
        if commits.len() > 1 {
            duplicates += commits.len() - 1;
            assert!(
                commits.iter().all(|c| *c >= confirmed_before),
                "id {id} delivered again from before the confirmed position {confirmed_before:X}: {commits:X?}"
            );
        }
    }
    eprintln!("{} events, {duplicates} duplicate(s)", rec.rows().len());
    if let Some((id, c)) = seen.iter().find(|(_, c)| c.len() > 1) {
        eprintln!("e.g. id {id} at {c:X?}, confirmed before {confirmed_before:X}");
    }
}

/// The slot's confirmed position reaches the end of the WAL written so far.
async fn confirms_everything(db: &tokio_postgres::Client, slot: &str) {
    let end: String = db
        .query_one("select pg_current_wal_lsn()::text", &[])
        .await
        .unwrap()
        .get(0);
    let end = common::pgwire_lsn(&end).unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let c = confirmed_flush(db, slot).await.unwrap();
        if c >= end {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "slot {slot} confirmed only {c:X} of {end:X}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn setup(
    pg: &PgCluster,
    id: &str,
) -> (
    tokio_postgres::Client,
    PostgresProvider,
    std::sync::Arc<Recorder>,
) {
    let db = pg.connect().await.unwrap();
    sql(&db, "create table ev (id bigint primary key, payload text)").await;
    let p = PostgresProvider::new();
    p.connect(&source(pg, id, &["ev"], json!({"batch_size": 64})))
        .await
        .unwrap();
    (db, p, Recorder::new())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn walsender_killed_mid_stream_loses_nothing() {
    let pg = cluster().await;
    let (db, p, rec) = setup(&pg, "kill").await;
    // A slow handler keeps the stream behind the writer, so the kill lands mid-stream.
    *rec.delay.lock().unwrap() = Some(Duration::from_millis(3));
    let _sub = rec.subscribe(&p, "kill");
    write_ids(&db, 1, TOTAL / 2 + 1).await;
    rec.wait_rows(1000, 60).await;
    let before = confirmed_flush(&db, "cdc_kill").await.unwrap();
    let killed: bool = db
        .query_one(
            "select pg_terminate_backend(active_pid) from pg_replication_slots where slot_name = 'cdc_kill'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert!(killed);
    write_ids(&db, TOTAL / 2 + 1, TOTAL + 1).await;
    *rec.delay.lock().unwrap() = None;
    rec.wait_until(120, "every id", |evs| {
        let ids: std::collections::HashSet<i64> = evs.iter().filter_map(id_of).collect();
        ids.len() as i64 == TOTAL
    })
    .await;
    check_delivery(&rec, before);
    confirms_everything(&db, "cdc_kill").await;
    let st = p.status("kill").await.unwrap();
    assert!(st.details["reconnects"].as_u64().unwrap() >= 1, "{st:?}");
    assert_eq!(st.state, SourceState::Running, "{st:?}");
    p.disconnect("kill").await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_restarted_mid_stream_loses_nothing() {
    let mut pg = cluster().await;
    let (db, p, rec) = setup(&pg, "restart").await;
    *rec.delay.lock().unwrap() = Some(Duration::from_millis(3));
    let _sub = rec.subscribe(&p, "restart");
    write_ids(&db, 1, TOTAL / 2 + 1).await;
    rec.wait_rows(1000, 60).await;
    let before = confirmed_flush(&db, "cdc_restart").await.unwrap();
    drop(db);
    pg.stop_server(ShutdownMode::Fast).unwrap();
    // While the server is down the source says it is reconnecting.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let st = p.status("restart").await.unwrap();
    assert!(
        matches!(st.state, SourceState::Restarting | SourceState::Running),
        "{st:?}"
    );
    pg.start_server().await.unwrap();
    let db = pg.connect().await.unwrap();
    write_ids(&db, TOTAL / 2 + 1, TOTAL + 1).await;
    *rec.delay.lock().unwrap() = None;
    rec.wait_until(120, "every id", |evs| {
        let ids: std::collections::HashSet<i64> = evs.iter().filter_map(id_of).collect();
        ids.len() as i64 == TOTAL
    })
    .await;
    check_delivery(&rec, before);
    confirms_everything(&db, "cdc_restart").await;
    let st = p.status("restart").await.unwrap();
    assert!(st.details["reconnects"].as_u64().unwrap() >= 1, "{st:?}");
    p.disconnect("restart").await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failing_handler_holds_the_position_and_gets_the_change_again() {
    let pg = cluster().await;
    let (db, p, rec) = setup(&pg, "fail").await;
    let failures = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let f = failures.clone();
    *rec.fail.lock().unwrap() = Some(Box::new(move |e| {
        id_of(e) == Some(5) && f.fetch_add(1, std::sync::atomic::Ordering::SeqCst) < 3
    }));
    let _sub = rec.subscribe(&p, "fail");
    sql(
        &db,
        "insert into ev values (1, 'a'); insert into ev values (2, 'b');",
    )
    .await;
    rec.wait_rows(2, 30).await;
    sql(&db, "insert into ev values (5, 'boom'), (6, 'after');").await;
    // While the handler fails: status error, nothing confirmed past the failing change.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let st = p.status("fail").await.unwrap();
        if st.state == SourceState::Error {
            assert!(
                st.error.as_deref().unwrap().contains("injected failure"),
                "{st:?}"
            );
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "never saw the error state"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let held = confirmed_flush(&db, "cdc_fail").await.unwrap();
    let rows = rec.wait_rows(4, 30).await;
    let five = rows.iter().find(|e| id_of(e) == Some(5)).unwrap();
    assert!(
        held < commit_lsn_of(five),
        "position moved past a failed change"
    );
    assert_eq!(failures.load(std::sync::atomic::Ordering::SeqCst), 4);
    let ids: Vec<i64> = rows.iter().filter_map(id_of).collect();
    assert_eq!(ids, vec![1, 2, 5, 6], "never skipped, in order");
    // Recovered: running, and the position moves on.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let st = p.status("fail").await.unwrap();
        let now = confirmed_flush(&db, "cdc_fail").await.unwrap();
        if st.state == SourceState::Running && now > commit_lsn_of(five) {
            assert!(st.details["handler_failures"].as_u64().unwrap() >= 3);
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "{st:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    p.disconnect("fail").await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn handler_slower_than_wal_sender_timeout_keeps_the_connection() {
    let pg = PgCluster::builder()
        .setting("wal_sender_timeout", "2s")
        .start()
        .await
        .unwrap();
    let (db, p, rec) = setup(&pg, "slow").await;
    *rec.delay.lock().unwrap() = Some(Duration::from_secs(5));
    let _sub = rec.subscribe(&p, "slow");
    sql(
        &db,
        "insert into ev select g, 'x' from generate_series(1, 500) g",
    )
    .await;
    rec.wait_rows(1, 30).await;
    // A batch takes 5 s, longer than twice the timeout; meanwhile more changes queue up.
    sql(
        &db,
        "insert into ev select g, 'y' from generate_series(501, 1000) g",
    )
    .await;
    tokio::time::sleep(Duration::from_secs(6)).await;
    *rec.delay.lock().unwrap() = None;
    rec.wait_rows(1000, 60).await;
    let st = p.status("slow").await.unwrap();
    assert_eq!(
        st.details["reconnects"], 0,
        "the server cut the session: {st:?}"
    );
    assert!(
        !pg.log()
            .contains("terminating walsender process due to replication timeout")
    );
    p.disconnect("slow").await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pause_holds_delivery_and_resume_loses_nothing() {
    let pg = cluster().await;
    let (db, p, rec) = setup(&pg, "pause").await;
    let _sub = rec.subscribe(&p, "pause");
    sql(&db, "insert into ev values (1, 'before')").await;
    rec.wait_rows(1, 30).await;
    p.pausable().unwrap().pause("pause").await.unwrap();
    sql(
        &db,
        "insert into ev select g, 'paused' from generate_series(2, 2001) g",
    )
    .await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(rec.rows().len(), 1, "delivered while paused");
    let st = p.status("pause").await.unwrap();
    assert_eq!(st.state, SourceState::Paused);
    let lag_paused = st.lag_bytes.unwrap();
    assert!(lag_paused > 0, "{st:?}");
    p.pausable().unwrap().resume("pause").await.unwrap();
    rec.wait_rows(2001, 60).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let st = p.status("pause").await.unwrap();
        if st.state == SourceState::Running && st.lag_bytes.unwrap() < lag_paused {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "lag did not shrink: {st:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let ids: Vec<i64> = rec.rows().iter().filter_map(id_of).collect();
    assert_eq!(ids, (1..=2001).collect::<Vec<_>>());
    p.disconnect("pause").await.unwrap();
}
