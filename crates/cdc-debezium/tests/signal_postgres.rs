//! The incremental-snapshot signal path against a real PostgreSQL started by the suite
//! (cdc-testkit: initdb into a temp dir, free port, stopped at the end even on failure).

mod common;

use cdc_core::{CdcError, CdcProvider};
use cdc_debezium::DebeziumProvider;
use cdc_testkit::PgCluster;
use common::{pg_source, replay};
use serde_json::{Value, json};
use wiremock::matchers::method;
use wiremock::{Mock, MockServer};

#[tokio::test]
async fn snapshot_of_tables_writes_an_execute_snapshot_signal() {
    let pg = PgCluster::start()
        .await
        .expect("start PostgreSQL (install postgresql)");
    let server = MockServer::start().await;
    Mock::given(method("PUT"))
        .respond_with(replay("06-create-pg1.txt"))
        .mount(&server)
        .await;

    let p = DebeziumProvider::new();
    let cfg = pg_source(
        &server.uri(),
        json!({"database": pg.url(), "signal": {"table": "public.debezium_signal"}}),
    );
    p.connect(&cfg).await.unwrap();
    // The connector config names the signaling table and captures it.
    let reqs = server.received_requests().await.unwrap();
    let body: Value = serde_json::from_slice(&reqs[0].body).unwrap();
    assert_eq!(body["signal.data.collection"], "public.debezium_signal");
    assert_eq!(
        body["table.include.list"],
        "public\\.customers,public\\.debezium_signal"
    );

    let report = p
        .snapshot("orders-db", &["public.customers".into(), "orders".into()])
        .await
        .unwrap();
    assert_eq!(report.method, "incremental_signal");
    assert_eq!(report.tables, vec!["public.customers", "orders"]);

    let client = pg.connect().await.unwrap();
    let rows = client
        .query("SELECT id, type, data FROM public.debezium_signal", &[])
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);
    let id: String = rows[0].get(0);
    let kind: String = rows[0].get(1);
    let data: String = rows[0].get(2);
    assert!(report.detail.unwrap().contains(&id));
    assert_eq!(kind, "execute-snapshot");
    let data: Value = serde_json::from_str(&data).unwrap();
    assert_eq!(
        data,
        json!({"data-collections": ["public\\.customers", "public\\.orders"], "type": "incremental"})
    );

    // A second signal gets its own id.
    p.snapshot("orders-db", &["public.customers".into()])
        .await
        .unwrap();
    let n: i64 = client
        .query_one("SELECT count(DISTINCT id) FROM public.debezium_signal", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(n, 2);

    // No REST call was made by the signal path.
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
    drop(client);
    pg.stop().unwrap();
}

#[tokio::test]
async fn signal_to_an_unreachable_database_is_a_clear_error() {
    let server = MockServer::start().await;
    Mock::given(method("PUT"))
        .respond_with(replay("06-create-pg1.txt"))
        .mount(&server)
        .await;
    let port = cdc_testkit::free_port().unwrap();
    let p = DebeziumProvider::new();
    let cfg = pg_source(
        &server.uri(),
        json!({"database": format!("postgres://dbz:hunter2@127.0.0.1:{port}/app"),
               "signal": {"table": "public.debezium_signal"}}),
    );
    // The signaling table is prepared at connect, before the connector exists: a database
    // that cannot be reached fails the connect, and no connector is created without it.
    let err = p.connect(&cfg).await.unwrap_err();
    let text = err.to_string();
    assert!(text.contains("cannot connect"), "{text}");
    assert!(!text.contains("hunter2"), "{text}");
    assert!(server.received_requests().await.unwrap().is_empty());
    assert!(matches!(
        p.snapshot("orders-db", &["public.customers".into()]).await,
        Err(CdcError::NotFound { .. })
    ));
}

#[tokio::test]
async fn the_signaling_table_exists_before_the_connector_is_created() {
    let pg = PgCluster::start()
        .await
        .expect("start PostgreSQL (install postgresql)");
    let server = MockServer::start().await;
    Mock::given(method("PUT"))
        .respond_with(replay("06-create-pg1.txt"))
        .mount(&server)
        .await;
    let p = DebeziumProvider::new();
    let cfg = pg_source(
        &server.uri(),
        json!({"database": pg.url(), "signal": {"table": "public.debezium_signal"}}),
    );
    p.connect(&cfg).await.unwrap();
    // No snapshot was asked for: the table is there already, so the connector's filtered
    // publication (built when it starts) includes it.
    let client = pg.connect().await.unwrap();
    let there: bool = client
        .query_one(
            "SELECT to_regclass('public.debezium_signal') IS NOT NULL",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert!(there);

    // A capture list overridden without the signaling table: the signal would never be
    // seen, so the snapshot request is an error, not a silent success.
    let cfg = pg_source(
        &server.uri(),
        json!({"database": pg.url(), "signal": {"table": "public.debezium_signal"},
               "connector_config": {"table.include.list": "public\\.customers"}}),
    );
    p.connect(&cfg).await.unwrap();
    let err = p
        .snapshot("orders-db", &["public.customers".into()])
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("not in table.include.list"),
        "{err}"
    );
    let n: i64 = client
        .query_one("SELECT count(*) FROM public.debezium_signal", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(n, 0, "no signal written");

    // create_table: false and a missing table: connect says so, naming the option.
    let cfg = pg_source(
        &server.uri(),
        json!({"database": pg.url(), "signal": {"table": "public.missing_signal", "create_table": false}}),
    );
    let err = p.connect(&cfg).await.unwrap_err();
    assert!(err.to_string().contains("options.signal.table"), "{err}");
    drop(client);
    pg.stop().unwrap();
}

#[tokio::test]
async fn signals_for_other_databases_are_not_supported() {
    let server = MockServer::start().await;
    Mock::given(method("PUT"))
        .respond_with(replay("06-create-pg1.txt"))
        .mount(&server)
        .await;
    let p = DebeziumProvider::new();
    let cfg = cdc_core::SourceConfig::from_value(json!({
        "provider": "debezium", "source_id": "shop", "source_type": "mysql",
        "connection": server.uri(), "tables": ["inventory.customers"],
        "options": {"database": "mysql://dbz:pw@mysql:3306/inventory",
                    "schema_history": {"kafka_bootstrap_servers": "kafka:9092"},
                    "signal": {"table": "inventory.debezium_signal"}}
    }))
    .unwrap();
    p.connect(&cfg).await.unwrap();
    let err = p
        .snapshot("shop", &["inventory.customers".into()])
        .await
        .unwrap_err();
    assert!(matches!(err, CdcError::Unsupported { .. }), "{err}");
    assert!(err.to_string().contains("only PostgreSQL"), "{err}");
}

/// A database that takes TLS only (Amazon RDS's `rds.force_ssl`, a `hostssl` pg_hba.conf):
/// with `sslmode=require` in `options.database` the signal table is created over TLS, as
/// libpq would connect; with `sslmode=disable` the server's refusal is the error.
#[tokio::test]
async fn the_signal_table_is_reached_over_tls_as_the_dsn_says() {
    let pg = PgCluster::start()
        .await
        .expect("start PostgreSQL (install postgresql)");
    pg.require_tls_for("app").await.unwrap();
    let server = MockServer::start().await;
    Mock::given(method("PUT"))
        .respond_with(replay("06-create-pg1.txt"))
        .mount(&server)
        .await;
    let dsn = |mode: &str| {
        format!(
            "postgres://app@127.0.0.1:{}/{}?sslmode={mode}",
            pg.port(),
            pg.database()
        )
    };
    let cfg = |mode: &str| {
        pg_source(
            &server.uri(),
            json!({"database": dsn(mode), "signal": {"table": "public.debezium_signal"}}),
        )
    };

    let p = DebeziumProvider::new();
    let err = p.connect(&cfg("disable")).await.unwrap_err().to_string();
    assert!(
        err.contains("pg_hba.conf") || err.contains("reject"),
        "{err}"
    );

    let p = DebeziumProvider::new();
    p.connect(&cfg("require")).await.unwrap();
    let report = p
        .snapshot("orders-db", &["public.customers".into()])
        .await
        .unwrap();
    assert_eq!(report.method, "incremental_signal");
    let client = pg.connect().await.unwrap();
    let n: i64 = client
        .query_one("SELECT count(*) FROM public.debezium_signal", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(n, 1, "the signal was written over TLS");
    // The session that wrote it was encrypted (the server refuses any other for `app`).
    drop(client);
    pg.stop().unwrap();
}
