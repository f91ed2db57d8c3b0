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
    p.connect(&cfg).await.unwrap();
    let err = p
        .snapshot("orders-db", &["public.customers".into()])
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(text.contains("cannot connect"), "{text}");
    assert!(!text.contains("hunter2"), "{text}");
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
