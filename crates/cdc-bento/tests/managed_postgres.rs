//! The managed PostgreSQL stream, at-least-once, against a real PostgreSQL with wal2json that
//! the test starts (cdc-testkit). Bento is played by `fake-bento-test-double` in its SQL mode:
//! a TEST DOUBLE that runs the generated `sql_raw` query through `psql` on the stream's
//! interval and prints what the wal2json mapping writes (see its `sql.rs`). So the query,
//! the slot, its advance and the provider's side are real; the Bloblang is not evaluated.
//!
//! Checked, counting every change by id: a failing handler holds the slot and gets the
//! rest of its batch again; transactions on other tables move the slot on; Bento crashing
//! mid-poll loses and repeats nothing; the provider dropped mid-stream (no disconnect) and
//! started again gets exactly the transactions after the last acknowledged one.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use cdc_bento::BentoProvider;
use cdc_core::{CdcProvider, EventHandler, HandlerError, SharedEvent, SourceConfig};
use cdc_testkit::PgCluster;
use serde_json::json;

const FAKE: &str = env!("CARGO_BIN_EXE_fake-bento-test-double");
const SLOT: &str = "cdc_managed_test";

/// Records every id it takes; refuses (from that event on) ids above `limit`, and the first
/// `fail_first` batches that hold id `flaky`.
struct Recorder {
    seen: Mutex<Vec<i64>>,
    limit: i64,
    flaky: i64,
    fail_first: Mutex<u32>,
}

impl Recorder {
    fn new(limit: i64, flaky: i64, fail_first: u32) -> Arc<Self> {
        Arc::new(Self {
            seen: Mutex::new(Vec::new()),
            limit,
            flaky,
            fail_first: Mutex::new(fail_first),
        })
    }

    fn ids(&self) -> Vec<i64> {
        self.seen.lock().unwrap().clone()
    }
}

#[async_trait]
impl EventHandler for Recorder {
    async fn handle(&self, events: &[SharedEvent]) -> Result<(), HandlerError> {
        for (i, e) in events.iter().enumerate() {
            let id = e.after.as_ref().expect("an insert")["id"].as_i64().unwrap();
            if id > self.limit {
                return Err(HandlerError::new(i, format!("id {id} is over the limit")));
            }
            if id == self.flaky {
                let mut left = self.fail_first.lock().unwrap();
                if *left > 0 {
                    *left -= 1;
                    return Err(HandlerError::new(i, format!("id {id} fails this time")));
                }
            }
            self.seen.lock().unwrap().push(id);
        }
        Ok(())
    }
}

async fn start_pg() -> (PgCluster, tokio_postgres::Client) {
    let pg = PgCluster::start().await.expect("start PostgreSQL");
    pg.require_output_plugin("wal2json")
        .await
        .expect("wal2json installed");
    let client = pg.connect().await.unwrap();
    client
        .batch_execute(
            "CREATE TABLE public.items (id bigint PRIMARY KEY, v text); \
             CREATE TABLE public.other (id bigint PRIMARY KEY, v text)",
        )
        .await
        .unwrap();
    (pg, client)
}

fn config(pg: &PgCluster, control: &Path) -> SourceConfig {
    SourceConfig::from_value(json!({
        "provider": "bento",
        "source_id": "shop",
        "source_type": "postgres",
        "connection": pg.url(),
        "tables": ["public.items"],
        "options": {
            "mode": "managed",
            "bento_bin": FAKE,
            "env": {
                "FAKE_BENTO_DIR": control,
                "FAKE_BENTO_PSQL": pg.binaries().bin("psql"),
            },
            "slot_name": SLOT,
            "create_slot": true,
            "poll_interval": "100ms",
            "max_changes_per_poll": 40,
            "restart_backoff_initial_ms": 200,
            "restart_backoff_max_ms": 400,
        }
    }))
    .unwrap()
}

async fn start_source(
    pg: &PgCluster,
    work: &Path,
    control: &Path,
    handler: Arc<Recorder>,
) -> BentoProvider {
    std::fs::write(control.join("sql"), "1").unwrap();
    let provider = BentoProvider::with_work_dir(work);
    provider.connect(&config(pg, control)).await.unwrap();
    provider.subscribe("shop", handler).unwrap().detach();
    provider
}

/// Inserts ids `from..from + count` into `table`, `per_tx` rows per transaction.
async fn insert(client: &tokio_postgres::Client, table: &str, from: i64, count: i64, per_tx: i64) {
    let mut id = from;
    while id < from + count {
        let end = (id + per_tx).min(from + count);
        client
            .batch_execute(&format!(
                "INSERT INTO public.{table} SELECT g, 'v' || g FROM generate_series({id}, {}) g",
                end - 1
            ))
            .await
            .unwrap();
        id = end;
    }
}

async fn confirmed_flush(client: &tokio_postgres::Client) -> u64 {
    let row = client
        .query_one(
            "SELECT (confirmed_flush_lsn - '0/0')::bigint FROM pg_replication_slots WHERE slot_name = $1",
            &[&SLOT],
        )
        .await
        .unwrap();
    row.get::<_, i64>(0) as u64
}

async fn current_lsn(client: &tokio_postgres::Client) -> u64 {
    let row = client
        .query_one("SELECT (pg_current_wal_lsn() - '0/0')::bigint", &[])
        .await
        .unwrap();
    row.get::<_, i64>(0) as u64
}

async fn wait_for(what: &str, secs: u64, mut done: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !done().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn sorted(mut v: Vec<i64>) -> Vec<i64> {
    v.sort_unstable();
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_handler_holds_the_slot_and_transactions_elsewhere_move_it_on() {
    let (pg, client) = start_pg().await;
    let (work, control) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let handler = Recorder::new(i64::MAX, 57, 3);
    let provider = start_source(&pg, work.path(), control.path(), handler.clone()).await;

    insert(&client, "items", 1, 120, 7).await;
    let after_inserts = current_lsn(&client).await;
    wait_for("120 ids", 60, async || handler.ids().len() >= 120).await;
    // The failed batch came again from its failing event: nothing lost, nothing twice.
    assert_eq!(handler.ids(), (1..=120).collect::<Vec<_>>());
    wait_for("the slot past the inserts", 30, async || {
        confirmed_flush(&client).await >= after_inserts
    })
    .await;
    let st = provider.status("shop").await.unwrap();
    assert_eq!(st.details["handler_errors"], json!(3), "{st:?}");
    assert!(st.details["acknowledged_lsn"].is_string(), "{st:?}");
    assert_eq!(st.error, None, "{st:?}");

    // Only transactions on a table not captured: no event, and still the slot moves on, so
    // the WAL it holds does not grow.
    insert(&client, "other", 1, 30, 1).await;
    let after_other = current_lsn(&client).await;
    wait_for(
        "the slot past the other table's transactions",
        30,
        async || confirmed_flush(&client).await >= after_other,
    )
    .await;
    assert_eq!(handler.ids().len(), 120);
    provider.disconnect("shop").await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bento_crashing_mid_poll_and_the_provider_dropped_lose_nothing() {
    let (pg, client) = start_pg().await;
    let (work, control) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());

    // Bento dies after 25 lines, in the middle of a poll, and is restarted.
    std::fs::write(control.path().join("crash_after"), "25").unwrap();
    let first = Recorder::new(150, 0, 0);
    let provider = start_source(&pg, work.path(), control.path(), first.clone()).await;
    insert(&client, "items", 1, 200, 10).await;
    wait_for("ids up to the limit", 60, async || first.ids().len() >= 150).await;
    let starts = std::fs::read_to_string(control.path().join("starts")).unwrap();
    assert!(
        starts.lines().count() >= 2,
        "bento was restarted: {starts:?}"
    );
    // The restarted Bento read the slot from its position again: its repeats were dropped.
    assert_eq!(first.ids(), (1..=150).collect::<Vec<_>>());
    // The transaction of 141..=150 is acknowledged although the rest of its batch is refused;
    // once the slot is there, the provider is dropped without a disconnect (its process
    // group killed) while the batch with 151 is being refused.
    wait_for("the refusal in the status", 30, async || {
        let st = provider.status("shop").await.unwrap();
        st.error.is_some_and(|e| e.contains("over the limit"))
    })
    .await;
    wait_for("the acknowledged position in the slot", 30, async || {
        let st = provider.status("shop").await.unwrap();
        st.details
            .get("acknowledged_lsn")
            .is_some_and(|a| !a.is_null())
            && st.details.get("slot_advanced_lsn") == st.details.get("acknowledged_lsn")
    })
    .await;
    let acked = confirmed_flush(&client).await;
    drop(provider);

    // A new provider on the same slot: the changes after the last acknowledged transaction
    // come again, from a transaction's first row; everything before it was handled.
    let control2 = tempfile::tempdir().unwrap();
    let second = Recorder::new(i64::MAX, 0, 0);
    let provider = start_source(&pg, work.path(), control2.path(), second.clone()).await;
    wait_for("the rest", 60, async || {
        second.ids().last().is_some_and(|&id| id == 200)
    })
    .await;
    let again = second.ids();
    let m = again[0];
    assert_eq!(again, (m..=200).collect::<Vec<_>>(), "a suffix, in order");
    assert_eq!(m, 151, "from the first transaction not handled");
    assert_eq!(
        sorted(first.ids()).into_iter().filter(|&id| id < m).count() as i64,
        m - 1,
        "everything before it was handled by the first"
    );
    assert!(confirmed_flush(&client).await >= acked);
    provider.disconnect("shop").await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_connection_of_its_own_the_stream_consumes_and_the_status_says_why() {
    let (work, control) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let provider = BentoProvider::with_work_dir(work.path());
    // Nothing listens on port 1: the provider could never advance the slot.
    let config = SourceConfig::from_value(json!({
        "provider": "bento",
        "source_id": "shop",
        "source_type": "postgres",
        "connection": "postgres://cdc:hunter2@127.0.0.1:1/shop",
        "tables": ["public.items"],
        "options": {"mode": "managed", "bento_bin": FAKE, "env": {"FAKE_BENTO_DIR": control.path()}}
    }))
    .unwrap();
    provider.connect(&config).await.unwrap();
    let st = provider.status("shop").await.unwrap();
    assert_eq!(st.details["slot_read"], json!("consume"), "{st:?}");
    let note = st.details["slot_read_note"].as_str().unwrap();
    assert!(
        note.contains("at-most-once") && note.contains("cannot connect"),
        "{note}"
    );
    assert!(!format!("{st:?}").contains("hunter2"));
    let query = provider
        .generated("shop")
        .unwrap()
        .postgres
        .unwrap()
        .changes
        .sql();
    assert!(query.contains("pg_logical_slot_get_changes"), "{query}");
    provider.disconnect("shop").await.unwrap();
}

/// A database that takes TLS only (Amazon RDS's `rds.force_ssl`, a `hostssl` pg_hba.conf),
/// the connection string saying `sslmode=require`: the provider's own sessions (the slot's
/// creation, its advance) connect over TLS as libpq would, and the changes flow with the slot
/// moving on. In plain text they were refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_that_takes_tls_only_is_reached_as_the_dsn_says() {
    let (pg, client) = start_pg().await;
    pg.require_tls_for("app").await.unwrap();
    let (work, control) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    std::fs::write(control.path().join("sql"), "1").unwrap();
    let mut cfg = config(&pg, control.path());
    cfg.connection = format!(
        "postgres://app@127.0.0.1:{}/{}?sslmode=require",
        pg.port(),
        pg.database()
    )
    .into();
    let handler = Recorder::new(i64::MAX, 0, 0);
    let provider = BentoProvider::with_work_dir(work.path());
    provider.connect(&cfg).await.unwrap();
    provider
        .subscribe("shop", handler.clone())
        .unwrap()
        .detach();

    insert(&client, "items", 1, 30, 5).await;
    let after_inserts = current_lsn(&client).await;
    wait_for("30 ids", 60, async || handler.ids().len() >= 30).await;
    assert_eq!(handler.ids(), (1..=30).collect::<Vec<_>>());
    wait_for(
        "the slot advanced over TLS past the inserts",
        30,
        async || confirmed_flush(&client).await >= after_inserts,
    )
    .await;
    let st = provider.status("shop").await.unwrap();
    assert_eq!(st.error, None, "{st:?}");
    provider.disconnect("shop").await.unwrap();
}
