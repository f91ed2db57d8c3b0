//! Shared helpers of the cdc-postgres suites: a throwaway cluster, source configs, and a
//! handler that records what it receives.
#![allow(dead_code)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use cdc_core::{
    CdcProvider, EventHandler, HandlerError, Operation, SharedEvent, SourceConfig, Subscription,
};
use cdc_postgres::PostgresProvider;
use cdc_testkit::PgCluster;
use serde_json::{Value, json};
use tokio::sync::Notify;

/// A cluster with logical replication and short timeouts.
pub async fn cluster() -> PgCluster {
    PgCluster::builder()
        .setting("wal_sender_timeout", "10s")
        .setting("max_replication_slots", "20")
        .setting("max_wal_senders", "20")
        .start()
        .await
        .expect("start a PostgreSQL cluster")
}

/// A source config for `tables` of the test database, with extra options.
pub fn source(pg: &PgCluster, id: &str, tables: &[&str], options: Value) -> SourceConfig {
    let mut opts = json!({"status_interval_ms": 200, "retry_initial_ms": 50, "retry_max_ms": 1000});
    for (k, v) in options.as_object().cloned().unwrap_or_default() {
        opts[k] = v;
    }
    SourceConfig {
        provider: "postgres".into(),
        source_id: id.into(),
        source_type: "postgres".into(),
        connection: pg.url().into(),
        tables: tables.iter().map(|t| (*t).to_owned()).collect(),
        options: opts.as_object().unwrap().clone(),
    }
}

/// Runs SQL, panicking with the statement on error.
pub async fn sql(client: &tokio_postgres::Client, statements: &str) {
    client
        .batch_execute(statements)
        .await
        .unwrap_or_else(|e| panic!("{statements}: {e:?}"));
}

/// Records every event; optionally fails on events for which `fail` says so.
#[derive(Default)]
pub struct Recorder {
    pub events: Mutex<Vec<SharedEvent>>,
    pub notify: Notify,
    pub batches: AtomicUsize,
    #[allow(clippy::type_complexity)]
    pub fail: Mutex<Option<Box<dyn Fn(&SharedEvent) -> bool + Send + Sync>>>,
    pub delay: Mutex<Option<Duration>>,
}

impl Recorder {
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    pub fn subscribe(self: &Arc<Self>, p: &PostgresProvider, id: &str) -> Subscription {
        p.subscribe(id, Arc::clone(self) as Arc<dyn EventHandler>)
            .expect("subscribe")
    }

    pub fn len(&self) -> usize {
        self.events.lock().unwrap().len()
    }

    pub fn snapshot(&self) -> Vec<SharedEvent> {
        self.events.lock().unwrap().clone()
    }

    /// Row changes only (no messages, schema changes).
    pub fn rows(&self) -> Vec<SharedEvent> {
        self.snapshot()
            .into_iter()
            .filter(|e| e.operation.is_row_change() || e.operation == Operation::Truncate)
            .collect()
    }

    /// Waits until `pred` holds for the events, or panics after `secs`.
    pub async fn wait_until(&self, secs: u64, what: &str, pred: impl Fn(&[SharedEvent]) -> bool) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
        loop {
            let notified = self.notify.notified();
            if pred(&self.events.lock().unwrap()) {
                return;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                let n = self.len();
                panic!("timed out after {secs}s waiting for {what}; {n} event(s) received");
            }
        }
    }

    /// Waits for at least `n` row-change events.
    pub async fn wait_rows(&self, n: usize, secs: u64) -> Vec<SharedEvent> {
        self.wait_until(secs, &format!("{n} row events"), |evs| {
            evs.iter()
                .filter(|e| e.operation.is_row_change() || e.operation == Operation::Truncate)
                .count()
                >= n
        })
        .await;
        self.rows()
    }
}

#[async_trait]
impl EventHandler for Recorder {
    async fn handle(&self, events: &[SharedEvent]) -> Result<(), HandlerError> {
        self.batches.fetch_add(1, Ordering::Relaxed);
        let delay = *self.delay.lock().unwrap();
        if let Some(d) = delay {
            tokio::time::sleep(d).await;
        }
        for (i, e) in events.iter().enumerate() {
            let failing = self.fail.lock().unwrap().as_ref().is_some_and(|f| f(e));
            if failing {
                self.notify.notify_waiters();
                return Err(HandlerError::new(i, "injected failure"));
            }
            self.events.lock().unwrap().push(Arc::clone(e));
        }
        self.notify.notify_waiters();
        Ok(())
    }
}

/// The `id` column of an event's row (after, else before, else key).
pub fn id_of(e: &SharedEvent) -> Option<i64> {
    let row = e.after.as_ref().or(e.before.as_ref()).or(e.key.as_ref())?;
    row.get("id")?.as_i64()
}

/// The slot's `confirmed_flush_lsn`, as a number.
pub async fn confirmed_flush(client: &tokio_postgres::Client, slot: &str) -> Option<u64> {
    let row = client
        .query_opt(
            "select confirmed_flush_lsn::text from pg_replication_slots where slot_name = $1",
            &[&slot],
        )
        .await
        .unwrap()?;
    let text: Option<String> = row.get(0);
    text.and_then(|t| pgwire_lsn(&t))
}

/// Parses `X/Y`.
pub fn pgwire_lsn(t: &str) -> Option<u64> {
    let (hi, lo) = t.split_once('/')?;
    Some((u64::from_str_radix(hi, 16).ok()? << 32) | u64::from_str_radix(lo, 16).ok()?)
}

/// The commit LSN part of an event's position.
pub fn commit_lsn_of(e: &SharedEvent) -> u64 {
    let p: cdc_postgres::PgPosition = e.position.as_ref().unwrap().as_str().parse().unwrap();
    p.commit_lsn.as_u64()
}

/// Writes WAL (into table `t`, which needs columns `id int primary key, pad text`) and
/// checkpoints until the slot is invalidated (`wal_status = lost`); the cluster must have a
/// small `max_slot_wal_keep_size`.
pub async fn invalidate_slot(db: &tokio_postgres::Client, slot: &str) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        sql(
            db,
            "insert into t select g, repeat('x', 500) from generate_series(1, 20000) g on conflict do nothing;
             delete from t; select pg_switch_wal(); checkpoint;",
        )
        .await;
        let status: Option<String> = db
            .query_one(
                "select wal_status from pg_replication_slots where slot_name = $1",
                &[&slot],
            )
            .await
            .unwrap()
            .get(0);
        if status.as_deref() == Some("lost") {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "slot {slot} was not invalidated: {status:?}"
        );
    }
}

/// Waits (at most 120 s, polling every 100 ms) until `pred` holds for the source's status;
/// panics with `what` and the last status otherwise.
pub async fn wait_for(
    p: &PostgresProvider,
    id: &str,
    what: &str,
    pred: impl Fn(&cdc_core::CdcStatus) -> bool,
) {
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    loop {
        let st = p.status(id).await.unwrap();
        if pred(&st) {
            return;
        }
        assert!(std::time::Instant::now() < deadline, "never {what}: {st:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
