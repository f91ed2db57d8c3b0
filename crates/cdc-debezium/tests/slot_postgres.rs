//! `options.on_stop: delete` and the connector's replication slot, against a real PostgreSQL
//! started by the suite (cdc-testkit, wal_level=logical) and wiremock playing Kafka Connect:
//! the slot is created beforehand as Debezium does (`pgoutput`), then the source disconnects.

#![cfg(feature = "postgres")]

mod common;
use cdc_core::{CdcError, CdcProvider};
use cdc_debezium::DebeziumProvider;
use cdc_testkit::PgCluster;
use common::{pg_source, replay};
use serde_json::json;
use wiremock::matchers::method;
use wiremock::{Mock, MockServer};

const SLOT: &str = "orders_slot";

/// Kafka Connect that accepts the create and the delete (the recorded live answers).
async fn connect_worker() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("PUT"))
        .respond_with(replay("06-create-pg1.txt"))
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .respond_with(replay("28-delete.txt"))
        .mount(&server)
        .await;
    server
}

async fn start_pg_with_slot() -> (PgCluster, tokio_postgres::Client) {
    let pg = PgCluster::start()
        .await
        .expect("start PostgreSQL (install postgresql)");
    let client = pg.connect().await.unwrap();
    client
        .execute(
            "SELECT pg_create_logical_replication_slot($1, 'pgoutput')",
            &[&SLOT],
        )
        .await
        .unwrap();
    (pg, client)
}

/// A walsender (pg_recvlogical, `-n`: no reconnect loop) holding the slot, and its PID once
/// the server shows the slot active. Killed on drop, whatever happens to the test.
async fn hold_slot(
    pg: &PgCluster,
    client: &tokio_postgres::Client,
) -> (cdc_testkit::ChildGuard, i32) {
    client
        .batch_execute("CREATE PUBLICATION orders_pub FOR ALL TABLES")
        .await
        .unwrap();
    let recv = cdc_testkit::ChildGuard::spawn(
        "pg_recvlogical",
        std::process::Command::new(pg.binaries().bin("pg_recvlogical"))
            .args([
                "-n",
                "-d",
                &pg.url(),
                "--slot",
                SLOT,
                "--start",
                "-f",
                "/dev/null",
            ])
            .args([
                "-o",
                "proto_version=1",
                "-o",
                "publication_names=orders_pub",
            ])
            .stdout(std::process::Stdio::null()),
    )
    .expect("run pg_recvlogical");
    for _ in 0..100 {
        let pid: Option<i32> = client
            .query_one(
                "SELECT active_pid FROM pg_replication_slots WHERE slot_name = $1",
                &[&SLOT],
            )
            .await
            .unwrap()
            .get(0);
        if let Some(pid) = pid {
            return (recv, pid);
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("pg_recvlogical never held the slot");
}

async fn slot_exists(client: &tokio_postgres::Client) -> bool {
    client
        .query_one(
            "SELECT count(*) FROM pg_replication_slots WHERE slot_name = $1",
            &[&SLOT],
        )
        .await
        .unwrap()
        .get::<_, i64>(0)
        == 1
}

// The log capture (`common::Log`): A log writer into a shared buffer (the subscriber is set for this test's thread only).
use common::Log;

impl Log {
    /// This thread's events, into the log. A process-wide subscriber that wants every
    /// event is installed first: with only thread-local ones, a callsite first reached by a
    /// test running on another thread (no subscriber there) could be cached as uninteresting
    /// and its events never reach this capture (seen once: "connector deleted" missing).
    fn capture(&self) -> tracing::subscriber::DefaultGuard {
        static GLOBAL: std::sync::Once = std::sync::Once::new();
        GLOBAL.call_once(|| {
            let everything = tracing_subscriber::fmt()
                .with_max_level(tracing::Level::TRACE)
                .with_writer(std::io::sink)
                .finish();
            let _ = tracing::subscriber::set_global_default(everything);
        });
        let log = self.clone();
        let sub = tracing_subscriber::fmt()
            .with_writer(move || log.clone())
            .with_ansi(false)
            .finish();
        tracing::subscriber::set_default(sub)
    }
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

#[tokio::test]
async fn delete_with_drop_slot_on_stop_drops_the_replication_slot() {
    let (pg, client) = start_pg_with_slot().await;
    let server = connect_worker().await;
    let p = DebeziumProvider::new();
    let cfg = pg_source(
        &server.uri(),
        json!({"database": pg.url(), "slot_name": SLOT,
               "on_stop": "delete", "drop_slot_on_stop": true}),
    );
    p.connect(&cfg).await.unwrap();
    assert!(slot_exists(&client).await);
    p.disconnect("orders-db").await.unwrap();
    assert!(!slot_exists(&client).await, "the slot is dropped");
    let reqs = common::requests(&server).await;
    assert!(
        reqs.iter().any(|r| r.starts_with("DELETE /connectors/pg1")),
        "{reqs:?}"
    );

    // Connected again and the slot already gone: disconnect still succeeds.
    p.connect(&cfg).await.unwrap();
    p.disconnect("orders-db").await.unwrap();
    drop(client);
    pg.stop().unwrap();
}

#[tokio::test]
async fn delete_without_the_option_keeps_the_slot_and_the_log_names_it() {
    let (pg, client) = start_pg_with_slot().await;
    let server = connect_worker().await;
    let log = Log::default();
    let _guard = log.capture();
    let p = DebeziumProvider::new();
    let cfg = pg_source(
        &server.uri(),
        json!({"database": pg.url(), "slot_name": SLOT, "on_stop": "delete"}),
    );
    p.connect(&cfg).await.unwrap();
    p.disconnect("orders-db").await.unwrap();
    assert!(slot_exists(&client).await, "the slot is kept");
    let text = log.text();
    assert!(text.contains("connector deleted"), "{text}");
    assert!(
        text.contains(&format!("pg_drop_replication_slot('{SLOT}')")),
        "{text}"
    );
    assert!(text.contains("drop_slot_on_stop"), "{text}");
    drop(client);
    pg.stop().unwrap();
}

#[tokio::test]
async fn a_slot_held_by_a_walsender_is_dropped_once_released() {
    let (pg, client) = start_pg_with_slot().await;
    // A real walsender holds the slot, as the deleted connector's task does while it stops.
    let (recv, _pid) = hold_slot(&pg, &client).await;
    let server = connect_worker().await;
    let p = DebeziumProvider::new();
    let cfg = pg_source(
        &server.uri(),
        json!({"database": pg.url(), "slot_name": SLOT,
               "on_stop": "delete", "drop_slot_on_stop": true}),
    );
    p.connect(&cfg).await.unwrap();
    // The walsender goes a second after the delete: the drop waits for it (SQLSTATE 55006
    // retried) instead of failing.
    let release = std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_secs(1));
        let _ = recv.stop();
    });
    p.disconnect("orders-db").await.unwrap();
    release.join().unwrap();
    assert!(!slot_exists(&client).await, "the slot is dropped");
    drop(client);
    pg.stop().unwrap();
}

/// A walsender that never lets go: after the wait, an error that names the source, the slot,
/// the PID holding it and the statement to drop it later; the slot is still there.
#[tokio::test]
async fn a_slot_never_released_gives_up_after_the_wait_naming_the_slot_and_the_pid() {
    let (pg, client) = start_pg_with_slot().await;
    let (_recv, pid) = hold_slot(&pg, &client).await;
    let dsn = cdc_core::SecretString::from(pg.url());
    let started = std::time::Instant::now();
    let err = cdc_debezium::slot::drop_slot(
        "orders-db",
        &dsn,
        SLOT,
        std::time::Duration::from_millis(800),
    )
    .await
    .expect_err("the slot stays held");
    let waited = started.elapsed();
    let text = err.to_string();
    assert!(text.contains("orders-db"), "{text}");
    assert!(text.contains(SLOT), "{text}");
    assert!(text.contains(&format!("PID {pid}")), "{text}");
    assert!(
        text.contains(&format!("pg_drop_replication_slot('{SLOT}')")),
        "{text}"
    );
    assert!(
        waited >= std::time::Duration::from_millis(800),
        "it waited the whole time first ({waited:?})"
    );
    assert!(slot_exists(&client).await, "the slot is still there");
    drop(client);
    pg.stop().unwrap();
}

#[test]
fn the_option_is_refused_where_it_cannot_work() {
    let refused = |source_type: &str, extra: serde_json::Value| {
        let mut options = json!({"database": "postgres://dbz:pw@db:5432/app",
                                 "on_stop": "delete", "drop_slot_on_stop": true});
        for (k, v) in extra.as_object().unwrap() {
            options[k] = v.clone();
        }
        let cfg = cdc_core::SourceConfig::from_value(json!({
            "provider": "debezium", "source_id": "shop", "source_type": source_type,
            "connection": "http://connect:8083", "tables": ["inventory.customers"],
            "options": options,
        }))
        .unwrap();
        let err = cdc_debezium::config::DebeziumSource::from_config(&cfg).unwrap_err();
        let err = err.into_cdc("shop");
        assert!(matches!(err, CdcError::InvalidConfig { .. }), "{err}");
        let text = err.to_string();
        assert!(text.contains("options.drop_slot_on_stop"), "{text}");
        assert!(!text.contains("pw@"), "{text}");
        text
    };
    let mysql = json!({"database": "mysql://dbz:pw@db:3306/inventory",
                       "schema_history": {"kafka_bootstrap_servers": "kafka:9092"}});
    assert!(refused("mysql", mysql).contains("PostgreSQL"));
    assert!(refused("postgres", json!({"on_stop": "pause"})).contains("on_stop: delete"));
    assert!(
        refused(
            "postgres",
            json!({"kafka": {"bootstrap_servers": "k:9092"}, "on_stop": null})
        )
        .contains("keep")
    );
    assert!(
        refused("postgres", json!({"connector_config": {"slot.name": null}})).contains("slot.name")
    );
}
