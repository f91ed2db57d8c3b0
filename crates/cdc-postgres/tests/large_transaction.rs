//! A 100 000-row transaction is handed over in bounded batches as it arrives (memory stays
//! flat) and acknowledged only at its commit. Alone in its binary so that its memory figures
//! are its own.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use cdc_core::{CdcProvider, EventHandler, HandlerError, SharedEvent};
use cdc_postgres::PostgresProvider;
use common::{cluster, confirmed_flush, source, sql};
use serde_json::json;

const ROWS: usize = 100_000;

/// Resident set size of this process, bytes.
fn rss() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap();
    kb * 1024
}

/// Counts events and the largest batch; keeps none; samples RSS; a bit slow, so the reader
/// is held back by the handler.
#[derive(Default)]
struct Counter {
    events: AtomicUsize,
    largest_batch: AtomicUsize,
    peak_rss: AtomicU64,
}

#[async_trait]
impl EventHandler for Counter {
    async fn handle(&self, events: &[SharedEvent]) -> Result<(), HandlerError> {
        self.events.fetch_add(events.len(), Ordering::SeqCst);
        self.largest_batch.fetch_max(events.len(), Ordering::SeqCst);
        self.peak_rss.fetch_max(rss(), Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(2)).await;
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_transaction_is_delivered_in_bounded_batches_with_flat_memory() {
    let pg = cluster().await;
    let db = pg.connect().await.unwrap();
    sql(&db, "create table big (id int primary key, pad text)").await;
    let p = PostgresProvider::new();
    p.connect(&source(
        &pg,
        "big",
        &["big"],
        json!({"batch_size": 500, "read_buffer": 1024, "snapshot": "never"}),
    ))
    .await
    .unwrap();
    let counter = Arc::new(Counter::default());
    let _sub = p
        .subscribe("big", counter.clone() as Arc<dyn EventHandler>)
        .unwrap();
    let before = confirmed_flush(&db, "cdc_big").await.unwrap();
    let baseline = rss();
    // ~1 KB per row: the transaction's rows are about 100 MB.
    sql(
        &db,
        &format!(
            "insert into big select g, repeat(md5(g::text), 32) from generate_series(1, {ROWS}) g"
        ),
    )
    .await;
    let commit_end: String = db
        .query_one("select pg_current_wal_lsn()::text", &[])
        .await
        .unwrap()
        .get(0);
    let commit_end = common::pgwire_lsn(&commit_end).unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(180);
    let mut saw_mid_transaction = false;
    loop {
        let n = counter.events.load(Ordering::SeqCst);
        let confirmed = confirmed_flush(&db, "cdc_big").await.unwrap();
        if n > 0 && n < ROWS {
            // Part of the transaction delivered: nothing of it acknowledged yet.
            assert!(
                confirmed < commit_end,
                "acknowledged mid-transaction at {n} rows"
            );
            saw_mid_transaction = true;
        }
        if n >= ROWS && confirmed >= commit_end {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "{n} of {ROWS} rows");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(before < commit_end);
    assert!(
        saw_mid_transaction,
        "never observed the transaction part-way"
    );
    assert_eq!(counter.events.load(Ordering::SeqCst), ROWS);
    assert!(counter.largest_batch.load(Ordering::SeqCst) <= 500);
    let growth = counter
        .peak_rss
        .load(Ordering::SeqCst)
        .saturating_sub(baseline);
    eprintln!(
        "baseline RSS {} MB, growth {} MB",
        baseline >> 20,
        growth >> 20
    );
    assert!(
        growth < 48 << 20,
        "memory grew by {} MB while a ~100 MB transaction was delivered",
        growth >> 20
    );
    let st = p.status("big").await.unwrap();
    assert!(
        st.details["slot_stats"]["spill_txns"].as_i64().unwrap_or(0) >= 1,
        "the server did not spill the transaction: {st:?}"
    );
    p.disconnect("big").await.unwrap();
}
