//! What a live Kafka Connect 4.3 worker (Debezium 3.6.3) showed, modelled with wiremock:
//! 404s of a starting worker, the status lagging behind a create, traces whose cause is in
//! a `Caused by:`, lag that includes delivery delay, the rendered topic-creation defaults
//! and what stopping a source does to its connector (`options.on_stop`).

mod common;

use cdc_core::{CdcError, CdcProvider, SharedEvent, SourceState, handler_fn};
use cdc_debezium::DebeziumProvider;
use common::{error, pg_source, replay, requests};
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// The servlet container's page a starting worker answers with.
fn html_404() -> ResponseTemplate {
    ResponseTemplate::new(404).set_body_raw(
        "<html><head><title>Error 404 Not Found</title></head><body><h2>HTTP ERROR 404 Not Found</h2></body></html>",
        "text/html",
    )
}

/// The JSON 404 without `error_code` a starting worker also gives.
fn json_404() -> ResponseTemplate {
    ResponseTemplate::new(404)
        .set_body_json(json!({"message": "Not Found", "servlet": "jersey", "status": "404"}))
}

async fn connected(extra: Value) -> (MockServer, DebeziumProvider) {
    let server = MockServer::start().await;
    Mock::given(method("PUT"))
        .and(path("/connectors/pg1/config"))
        .respond_with(replay("06-create-pg1.txt"))
        .mount(&server)
        .await;
    let p = DebeziumProvider::new();
    p.connect(&pg_source(&server.uri(), extra)).await.unwrap();
    server.reset().await;
    (server, p)
}

#[tokio::test]
async fn connect_retries_through_a_starting_worker() {
    let server = MockServer::start().await;
    Mock::given(method("PUT"))
        .and(path("/connectors/pg1/config"))
        .respond_with(html_404())
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("PUT"))
        .and(path("/connectors/pg1/config"))
        .respond_with(json_404())
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("PUT"))
        .and(path("/connectors/pg1/config"))
        .respond_with(replay("06-create-pg1.txt"))
        .mount(&server)
        .await;
    let p = DebeziumProvider::new();
    p.connect(&pg_source(&server.uri(), json!({})))
        .await
        .unwrap();
    assert_eq!(requests(&server).await.len(), 3);
}

#[tokio::test]
async fn a_worker_that_stays_at_404_is_a_retryable_error_with_a_message() {
    let server = MockServer::start().await;
    Mock::given(method("PUT"))
        .respond_with(html_404())
        .mount(&server)
        .await;
    let p = DebeziumProvider::new();
    let err = p
        .connect(&pg_source(&server.uri(), json!({})))
        .await
        .unwrap_err();
    assert!(err.is_retryable(), "{err}");
    let text = err.to_string();
    assert!(text.contains("HTTP 404"), "{text}");
    assert!(text.contains("worker is probably starting"), "{text}");
    // Within the policy of pg_source: 4 attempts.
    assert_eq!(requests(&server).await.len(), 4);
}

#[tokio::test]
async fn disconnect_never_forgets_a_source_on_an_unattributed_404() {
    let (server, p) = connected(json!({})).await;
    Mock::given(method("DELETE"))
        .and(path("/connectors/pg1"))
        .respond_with(json_404())
        .mount(&server)
        .await;
    let err = p.disconnect("orders-db").await.unwrap_err();
    assert!(err.is_retryable(), "{err}");
    // Still connected: the connector may well exist.
    assert_ne!(
        p.status("orders-db").await.unwrap().state,
        SourceState::NotFound
    );
    // Once the worker answers, the delete goes through.
    server.reset().await;
    Mock::given(method("DELETE"))
        .and(path("/connectors/pg1"))
        .respond_with(replay("28-delete.txt"))
        .expect(1)
        .mount(&server)
        .await;
    p.disconnect("orders-db").await.unwrap();
    assert!(matches!(
        p.disconnect("orders-db").await,
        Err(CdcError::NotFound { .. })
    ));
}

#[tokio::test]
async fn status_right_after_a_create_is_starting_not_missing() {
    let (server, p) = connected(json!({})).await;
    Mock::given(method("GET"))
        .and(path("/connectors/pg1/status"))
        .respond_with(error(404, "No status found for connector pg1"))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/connectors/pg1"))
        .respond_with(replay("09-get-connector.txt"))
        .mount(&server)
        .await;
    let st = p.status("orders-db").await.unwrap();
    assert_eq!(st.state, SourceState::Starting, "{st:?}");
}

#[tokio::test]
async fn status_of_a_starting_worker_says_so_and_not_that_the_connector_is_gone() {
    let (server, p) = connected(json!({})).await;
    Mock::given(method("GET"))
        .respond_with(html_404())
        .mount(&server)
        .await;
    let st = p.status("orders-db").await.unwrap();
    assert_eq!(st.state, SourceState::Unknown);
    let e = st.error.unwrap();
    assert!(e.contains("without naming connector"), "{e}");
    assert!(
        requests(&server).await.len() > 1,
        "retried within the policy"
    );
}

#[tokio::test]
async fn full_snapshot_through_a_starting_worker_takes_the_offsets_path() {
    let (server, p) = connected(json!({})).await;
    Mock::given(method("PUT"))
        .and(path("/connectors/pg1/stop"))
        .respond_with(json_404())
        .up_to_n_times(2)
        .mount(&server)
        .await;
    for (m, pth, file) in [
        ("PUT", "/connectors/pg1/stop", "16-stop.txt"),
        ("DELETE", "/connectors/pg1/offsets", "19-offsets-reset.txt"),
        (
            "PUT",
            "/connectors/pg1/resume",
            "21-resume-from-stopped.txt",
        ),
    ] {
        Mock::given(method(m))
            .and(path(pth))
            .respond_with(replay(file))
            .mount(&server)
            .await;
    }
    let report = p.snapshot("orders-db", &[]).await.unwrap();
    assert_eq!(
        report.method, "offsets_reset",
        "not the old-cluster fallback"
    );
}

#[tokio::test]
async fn a_failed_task_status_keeps_the_innermost_cause() {
    let (server, p) = connected(json!({})).await;
    let trace = "io.debezium.DebeziumException: Creation of replication slot failed\n\tat io.debezium.connector.postgresql.PostgresConnectorTask.start(PostgresConnectorTask.java:147)\nCaused by: org.postgresql.util.PSQLException: ERROR: replication slot creation failed\n\tat org.postgresql.core.v3.QueryExecutorImpl\n\t... 12 more\nCaused by: org.postgresql.util.PSQLException: FATAL: number of requested standby connections exceeds max_wal_senders (currently 1)\n\t... 20 more";
    Mock::given(method("GET"))
        .and(path("/connectors/pg1/status"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"name":"pg1",
            "connector":{"state":"RUNNING","worker_id":"w:8083"},
            "tasks":[{"id":0,"state":"FAILED","worker_id":"w:8083","trace":trace}],"type":"source"})))
        .mount(&server)
        .await;
    let st = p.status("orders-db").await.unwrap();
    let e = st.error.unwrap();
    assert!(
        e.starts_with(
            "task 0 failed: io.debezium.DebeziumException: Creation of replication slot failed"
        ),
        "{e}"
    );
    assert!(
        e.contains("number of requested standby connections exceeds max_wal_senders"),
        "{e}"
    );
    assert!(!e.contains("QueryExecutorImpl"), "{e}");
}

#[tokio::test]
async fn lag_counts_the_delivery_delay_since_the_commit() {
    let (_server, p) = connected(json!({})).await;
    let _sub = p
        .subscribe("orders-db", handler_fn(|_e: SharedEvent| async { Ok(()) }))
        .unwrap();
    // Committed 7 s ago; Debezium processed it right away (ts_ms − source.ts_ms = 5 ms).
    let now_ms = (time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64;
    let committed = now_ms - 7_000;
    let value = json!({"before":null,"after":{"id":7,"name":"x"},
        "source":{"version":"3.6.3.Final","connector":"postgresql","name":"pg1","ts_ms":committed,
                  "snapshot":"false","db":"app","schema":"public","table":"customers","txId":730,"lsn":26373864},
        "op":"c","ts_ms":committed + 5})
    .to_string();
    let out = p
        .deliver(
            "pg1.public.customers",
            Some(br#"{"id":7}"#),
            Some(value.as_bytes()),
        )
        .await
        .unwrap();
    assert!(out.may_commit());
    let lag = p.status("orders-db").await.unwrap().lag_seconds.unwrap();
    assert!((7..60).contains(&lag), "lag {lag}");

    // A heartbeat (Debezium caught up as of now) brings it down while the tables are idle.
    let hb = json!({"ts_ms": now_ms}).to_string();
    p.deliver(
        "__debezium-heartbeat.pg1",
        Some(br#"{"serverName":"pg1"}"#),
        Some(hb.as_bytes()),
    )
    .await
    .unwrap();
    let lag = p.status("orders-db").await.unwrap().lag_seconds.unwrap();
    assert!(lag < 7, "lag {lag}");
}

#[tokio::test]
async fn rendered_config_creates_its_topics_unless_overridden() {
    let cfg = pg_source("http://connect:8083", json!({}));
    let c: Value = serde_json::from_str(&DebeziumProvider::render(&cfg, false).unwrap()).unwrap();
    assert_eq!(c["topic.creation.default.replication.factor"], "-1");
    assert_eq!(c["topic.creation.default.partitions"], "-1");
    let cfg = pg_source(
        "http://connect:8083",
        json!({"connector_config": {"topic.creation.default.replication.factor": 3,
                                    "topic.creation.default.partitions": "6"}}),
    );
    let c: Value = serde_json::from_str(&DebeziumProvider::render(&cfg, false).unwrap()).unwrap();
    assert_eq!(c["topic.creation.default.replication.factor"], "3");
    assert_eq!(c["topic.creation.default.partitions"], "6");
}

#[tokio::test]
async fn on_stop_decides_what_disconnect_does_to_the_connector() {
    let cases: [(Value, Vec<&str>); 4] = [
        (json!({"on_stop": "keep"}), vec![]),
        (
            json!({"on_stop": "pause"}),
            vec!["PUT /connectors/pg1/pause"],
        ),
        (json!({"on_stop": "stop"}), vec!["PUT /connectors/pg1/stop"]),
        // Without a transport the default is delete.
        (json!({}), vec!["DELETE /connectors/pg1"]),
    ];
    for (extra, want) in cases {
        let (server, p) = connected(extra.clone()).await;
        Mock::given(method("PUT"))
            .and(path("/connectors/pg1/pause"))
            .respond_with(replay("13-pause.txt"))
            .mount(&server)
            .await;
        Mock::given(method("PUT"))
            .and(path("/connectors/pg1/stop"))
            .respond_with(replay("16-stop.txt"))
            .mount(&server)
            .await;
        Mock::given(method("DELETE"))
            .and(path("/connectors/pg1"))
            .respond_with(replay("28-delete.txt"))
            .mount(&server)
            .await;
        p.disconnect("orders-db").await.unwrap();
        assert_eq!(requests(&server).await, want, "{extra}");
        assert_eq!(
            p.status("orders-db").await.unwrap().state,
            SourceState::NotFound
        );
    }
    // With a transport the default is keep; a bad value names the field.
    let o: cdc_debezium::config::DebeziumOptions =
        serde_json::from_value(json!({"kafka": {"bootstrap_servers": "b:9092"}})).unwrap();
    assert_eq!(o.on_stop(), cdc_debezium::config::OnStop::Keep);
    let bad = pg_source("http://c:8083", json!({"on_stop": "drop"}));
    let e = DebeziumProvider::render(&bad, false)
        .unwrap_err()
        .to_string();
    assert!(e.contains("on_stop") || e.contains("options"), "{e}");
}

/// One heartbeat record on `topic`, delivered to `p` with no handler subscribed.
async fn deliver_heartbeat(p: &DebeziumProvider, topic: &str) -> cdc_debezium::BatchOutcome {
    let hb = json!({"ts_ms": 1_795_495_966_000_i64}).to_string();
    p.deliver_batch(&[cdc_debezium::RawRecord::new(
        topic,
        Some(br#"{"serverName":"pg1"}"#),
        Some(hb.as_bytes()),
    )])
    .await
    .unwrap()
}

/// A heartbeat topic renamed by `topic.heartbeat.prefix` is still the source's: before,
/// its records belonged to no source, and a transport held the partition on them.
#[tokio::test]
async fn heartbeats_on_a_renamed_topic_are_the_sources() {
    let (_server, p) =
        connected(json!({"connector_config": {"topic.heartbeat.prefix": "beats"}})).await;
    let out = deliver_heartbeat(&p, "beats.pg1").await;
    assert_eq!(out.committable, 1, "{:?}", out.error);
    assert_eq!(
        p.source_for_topic("beats.pg1").as_deref(),
        Some("orders-db")
    );
}

#[tokio::test]
async fn heartbeats_are_committable_at_once_even_without_a_handler() {
    let (_server, p) = connected(json!({})).await;
    let out = deliver_heartbeat(&p, "__debezium-heartbeat.pg1").await;
    assert_eq!(out.committable, 1, "{:?}", out.error);
    assert!(out.error.is_none());
}
