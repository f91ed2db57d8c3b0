//! DebeziumProvider against a wiremock Kafka Connect serving the recorded responses of a real
//! Kafka Connect 4.3.0 worker (tests/fixtures/kafka-connect).

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use cdc_core::{CdcError, CdcProvider, Operation, SharedEvent, SourceState, handler_fn};
use cdc_debezium::{DebeziumProvider, DeliveryOutcome};
use common::{error, pg_source, replay, requests};
use serde_json::{Value, json};
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

async fn connected() -> (MockServer, DebeziumProvider) {
    common::connected_pg1().await
}

async fn status_with(server: &MockServer, body: Value) {
    server.reset().await;
    Mock::given(method("GET"))
        .and(path("/connectors/pg1/status"))
        .respond_with(ResponseTemplate::new(200).set_body_json(body))
        .mount(server)
        .await;
}

#[tokio::test]
async fn connect_puts_the_rendered_config_and_reconnect_is_idempotent() {
    let (server, p) = connected().await;
    let reqs = server.received_requests().await.unwrap();
    assert_eq!(reqs.len(), 1);
    let body: Value = serde_json::from_slice(&reqs[0].body).unwrap();
    assert_eq!(
        body["connector.class"],
        "io.debezium.connector.postgresql.PostgresConnector"
    );
    assert_eq!(body["database.hostname"], "127.0.0.1");
    assert_eq!(body["database.port"], "55433");
    assert_eq!(body["database.user"], "postgres");
    assert_eq!(body["database.password"], "x");
    assert_eq!(body["database.dbname"], "app");
    assert_eq!(body["topic.prefix"], "pg1");
    assert_eq!(body["plugin.name"], "pgoutput");
    assert_eq!(body["slot.name"], "cdc_orders_db");
    assert_eq!(body["publication.name"], "cdc_orders_db_pub");
    assert_eq!(body["publication.autocreate.mode"], "filtered");
    assert_eq!(body["table.include.list"], "public\\.customers");
    assert_eq!(body["snapshot.mode"], "initial");
    assert!(body.get("database.server.name").is_none());
    assert!(body.get("name").is_none());

    // Reconnect (e.g. after a crash): the same PUT, answered 200 "updated".
    server.reset().await;
    Mock::given(method("PUT"))
        .and(path("/connectors/pg1/config"))
        .respond_with(replay("07-put-again-same.txt"))
        .expect(1)
        .mount(&server)
        .await;
    p.connect(&pg_source(&server.uri(), json!({})))
        .await
        .unwrap();
    assert_eq!(requests(&server).await, vec!["PUT /connectors/pg1/config"]);
}

#[tokio::test]
async fn bad_config_error_carries_connector_status_and_message() {
    let server = MockServer::start().await;
    Mock::given(method("PUT"))
        .and(path("/connectors/pg1/config"))
        .respond_with(replay("04-create-bad-config.txt"))
        .mount(&server)
        .await;
    let p = DebeziumProvider::new();
    let err = p
        .connect(&pg_source(&server.uri(), json!({})))
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(text.contains("\"pg1\""), "{text}");
    assert!(text.contains("HTTP 400"), "{text}");
    assert!(
        text.contains("The 'topic.prefix' value is invalid"),
        "{text}"
    );
    assert!(!text.contains(":x@"), "{text}");
    assert!(!err.is_retryable());
    assert_eq!(requests(&server).await.len(), 1, "a 400 is final");
    // Not connected after a failed connect: a status, not an error.
    assert_eq!(
        p.status("orders-db").await.unwrap().state,
        SourceState::NotFound
    );
}

#[tokio::test]
async fn status_maps_every_state() {
    let (server, p) = connected().await;
    let sid = "orders-db";
    let cases: Vec<(Value, SourceState)> = vec![
        (
            serde_json::from_str(&common::exchange("08-status-running.txt").1).unwrap(),
            SourceState::Running,
        ),
        (
            serde_json::from_str(&common::exchange("14-status-paused.txt").1).unwrap(),
            SourceState::Paused,
        ),
        (
            serde_json::from_str(&common::exchange("17-status-stopped.txt").1).unwrap(),
            SourceState::Stopped,
        ),
        (
            serde_json::from_str(&common::exchange("23-restart-all.txt").1).unwrap(),
            SourceState::Restarting,
        ),
        (
            json!({"name":"pg1","connector":{"state":"UNASSIGNED","worker_id":"w:8083"},"tasks":[],"type":"source"}),
            SourceState::Unassigned,
        ),
        (
            json!({"name":"pg1","connector":{"state":"RUNNING","worker_id":"w:8083"},"tasks":[{"id":0,"state":"UNASSIGNED","worker_id":"w:8083"}],"type":"source"}),
            SourceState::Unassigned,
        ),
        // Right after a create: RUNNING with no tasks yet.
        (
            serde_json::from_str::<Value>(&common::exchange("17-status-stopped.txt").1)
                .map(|mut v| {
                    v["connector"]["state"] = json!("RUNNING");
                    v
                })
                .unwrap(),
            SourceState::Starting,
        ),
        (
            json!({"name":"pg1","connector":{"state":"WEIRD","worker_id":"w"},"tasks":[],"type":"source"}),
            SourceState::Unknown,
        ),
    ];
    for (body, want) in cases {
        status_with(&server, body.clone()).await;
        let st = p.status(sid).await.unwrap();
        assert_eq!(st.state, want, "{body}");
        assert_eq!(st.provider, "debezium");
        assert_eq!(st.source_id, sid);
        assert_eq!(st.details["connector"], "pg1");
        assert!(st.error.is_none());
    }
}

#[tokio::test]
async fn failed_task_is_an_error_with_the_first_trace_line_and_its_cause() {
    let (server, p) = connected().await;
    let trace = "org.apache.kafka.connect.errors.ConnectException: An exception occurred in the change event producer. This connector will be stopped.\n\tat io.debezium.pipeline.ErrorHandler.setProducerThrowable(ErrorHandler.java:67)\nCaused by: org.postgresql.util.PSQLException: FATAL: replication slot \"cdc_orders_db\" is active";
    status_with(
        &server,
        json!({"name":"pg1","connector":{"state":"RUNNING","worker_id":"127.0.0.1:18083","version":"3.6.3.Final"},
               "tasks":[{"id":0,"state":"FAILED","worker_id":"127.0.0.1:18083","version":"3.6.3.Final","trace":trace}],"type":"source"}),
    )
    .await;
    let st = p.status("orders-db").await.unwrap();
    assert_eq!(st.state, SourceState::Error);
    assert_eq!(
        st.error.as_deref(),
        Some(
            "task 0 failed: org.apache.kafka.connect.errors.ConnectException: An exception occurred in the change event producer. This connector will be stopped. (caused by: org.postgresql.util.PSQLException: FATAL: replication slot \"cdc_orders_db\" is active)"
        )
    );
    assert_eq!(st.details["tasks"][0]["state"], "FAILED");

    // A failed connector instance (no task failed).
    status_with(
        &server,
        json!({"name":"pg1","connector":{"state":"FAILED","worker_id":"w","trace":"java.lang.IllegalStateException: boom\n\tat x"},"tasks":[],"type":"source"}),
    )
    .await;
    let st = p.status("orders-db").await.unwrap();
    assert_eq!(st.state, SourceState::Error);
    assert_eq!(
        st.error.as_deref(),
        Some("connector failed: java.lang.IllegalStateException: boom")
    );
}

#[tokio::test]
async fn status_of_a_connector_gone_at_the_worker_is_not_found() {
    let (server, p) = connected().await;
    server.reset().await;
    Mock::given(method("GET"))
        .and(path("/connectors/pg1/status"))
        .respond_with(error(404, "No status found for connector pg1"))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/connectors/pg1"))
        .respond_with(replay("29-get-deleted.txt"))
        .mount(&server)
        .await;
    let st = p.status("orders-db").await.unwrap();
    assert_eq!(st.state, SourceState::NotFound);
    // The status path lags behind a create: the connector itself is asked, once each.
    assert_eq!(
        requests(&server).await,
        vec!["GET /connectors/pg1/status", "GET /connectors/pg1"],
        "a 404 naming the connector is final"
    );
}

#[tokio::test]
async fn pause_resume_stop_restart_use_the_rest_api() {
    let (server, p) = connected().await;
    server.reset().await;
    Mock::given(method("PUT"))
        .and(path("/connectors/pg1/pause"))
        .respond_with(replay("13-pause.txt"))
        .mount(&server)
        .await;
    Mock::given(method("PUT"))
        .and(path("/connectors/pg1/resume"))
        .respond_with(replay("15-resume.txt"))
        .mount(&server)
        .await;
    Mock::given(method("PUT"))
        .and(path("/connectors/pg1/stop"))
        .respond_with(replay("16-stop.txt"))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/connectors/pg1/restart"))
        .and(query_param("onlyFailed", "true"))
        .respond_with(replay("22-restart-onlyfailed.txt"))
        .mount(&server)
        .await;
    let pausable = p.pausable().expect("debezium can pause");
    pausable.pause("orders-db").await.unwrap();
    pausable.resume("orders-db").await.unwrap();
    p.stop("orders-db").await.unwrap();
    let out = p
        .restart(
            "orders-db",
            cdc_debezium::connect::RestartOptions {
                include_tasks: true,
                only_failed: true,
            },
        )
        .await
        .unwrap();
    match out {
        cdc_debezium::connect::RestartOutcome::Accepted(st) => assert_eq!(st.tasks.len(), 1),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        requests(&server).await,
        vec![
            "PUT /connectors/pg1/pause",
            "PUT /connectors/pg1/resume",
            "PUT /connectors/pg1/stop",
            "POST /connectors/pg1/restart?includeTasks=true&onlyFailed=true",
        ]
    );
}

#[tokio::test]
async fn full_snapshot_is_stop_reset_offsets_resume() {
    let (server, p) = connected().await;
    server.reset().await;
    Mock::given(method("PUT"))
        .and(path("/connectors/pg1/stop"))
        .respond_with(replay("16-stop.txt"))
        .mount(&server)
        .await;
    // Right after the stop the worker may still see a task running: 400 once, then 200.
    Mock::given(method("DELETE"))
        .and(path("/connectors/pg1/offsets"))
        .respond_with(replay("26-offsets-delete-while-running.txt"))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .and(path("/connectors/pg1/offsets"))
        .respond_with(replay("19-offsets-reset.txt"))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/connectors/pg1/status"))
        .respond_with(replay("17-status-stopped.txt"))
        .mount(&server)
        .await;
    Mock::given(method("PUT"))
        .and(path("/connectors/pg1/resume"))
        .respond_with(replay("21-resume-from-stopped.txt"))
        .mount(&server)
        .await;
    let report = p.snapshot("orders-db", &[]).await.unwrap();
    assert_eq!(report.method, "offsets_reset");
    assert!(report.detail.unwrap().contains("reset successfully"));
    assert_eq!(
        requests(&server).await,
        vec![
            "PUT /connectors/pg1/stop",
            "DELETE /connectors/pg1/offsets",
            "GET /connectors/pg1/status",
            "DELETE /connectors/pg1/offsets",
            "PUT /connectors/pg1/resume",
        ]
    );
}

#[tokio::test]
async fn old_cluster_falls_back_to_snapshot_mode_and_says_so() {
    let (server, p) = connected().await;
    server.reset().await;
    // Kafka 3.5: stop exists, DELETE offsets does not (405 from Jetty).
    Mock::given(method("PUT"))
        .and(path("/connectors/pg1/stop"))
        .respond_with(replay("16-stop.txt"))
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .and(path("/connectors/pg1/offsets"))
        .respond_with(error(405, "HTTP 405 Method Not Allowed"))
        .mount(&server)
        .await;
    Mock::given(method("PUT"))
        .and(path("/connectors/pg1/resume"))
        .respond_with(replay("15-resume.txt"))
        .mount(&server)
        .await;
    let (_, info) = common::exchange("09-get-connector.txt");
    let info: Value = serde_json::from_str(&info).unwrap();
    let mut cfg = info["config"].clone();
    cfg["snapshot.mode"] = json!("initial");
    Mock::given(method("GET"))
        .and(path("/connectors/pg1/config"))
        .respond_with(ResponseTemplate::new(200).set_body_json(cfg))
        .mount(&server)
        .await;
    Mock::given(method("PUT"))
        .and(path("/connectors/pg1/config"))
        .respond_with(replay("07-put-again-same.txt"))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/connectors/pg1/restart"))
        .respond_with(replay("23-restart-all.txt"))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/connectors/pg1/status"))
        .respond_with(replay("08-status-running.txt"))
        .mount(&server)
        .await;

    let report = p.snapshot("orders-db", &[]).await.unwrap();
    assert_eq!(report.method, "snapshot_mode_restart");
    let detail = report.detail.unwrap();
    assert!(
        detail.contains("Kafka 3.6+") && detail.contains("once the snapshot's last record"),
        "{detail}"
    );
    // The original mode is not put back yet: that PUT would restart the tasks, and a task
    // restarted before committing a snapshot offset would skip the snapshot.
    let mut want = vec![
        "PUT /connectors/pg1/stop",
        "DELETE /connectors/pg1/offsets",
        "PUT /connectors/pg1/resume",
        "GET /connectors/pg1/config",
        "PUT /connectors/pg1/config",
        "POST /connectors/pg1/restart?includeTasks=true&onlyFailed=false",
        "GET /connectors/pg1/status",
    ];
    assert_eq!(requests(&server).await, want);
    let body = async |i: usize| {
        let reqs = server.received_requests().await.unwrap();
        serde_json::from_slice::<Value>(&reqs[i].body).unwrap()
    };
    let once = body(4).await;
    assert_eq!(once["snapshot.mode"], "always");

    // It is put back once the snapshot's last record has been delivered.
    let _sub = p
        .subscribe("orders-db", handler_fn(|_e: SharedEvent| async { Ok(()) }))
        .unwrap();
    // Records Debezium processed now, after the snapshot was asked for.
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis();
    let record = |id: i64, op: &str, snapshot: &str| {
        format!(
            r#"{{"before":null,"after":{{"id":{id}}},"source":{{"version":"3.6.3.Final","connector":"postgresql","name":"pg1","ts_ms":{now_ms},"snapshot":"{snapshot}","db":"app","schema":"public","table":"customers","txId":730,"lsn":26373864}},"op":"{op}","ts_ms":{now_ms}}}"#
        )
    };
    for (id, op, snapshot) in [
        // A streaming change still on the topic from before the snapshot says nothing.
        (1, "c", "false"),
        (2, "r", "first"),
        (3, "r", "true"),
        (4, "r", "last_in_data_collection"),
    ] {
        let out = p
            .deliver(
                "pg1.public.customers",
                None,
                Some(record(id, op, snapshot).as_bytes()),
            )
            .await
            .unwrap();
        assert!(out.may_commit());
        assert_eq!(requests(&server).await, want, "after record {id}");
    }
    let out = p
        .deliver(
            "pg1.public.customers",
            None,
            Some(record(5, "r", "last").as_bytes()),
        )
        .await
        .unwrap();
    assert!(out.may_commit());
    want.push("PUT /connectors/pg1/config");
    assert_eq!(requests(&server).await, want);
    let back = body(7).await;
    assert_eq!(back["snapshot.mode"], "initial");
    // Once only.
    p.deliver(
        "pg1.public.customers",
        None,
        Some(record(6, "c", "false").as_bytes()),
    )
    .await
    .unwrap();
    assert_eq!(requests(&server).await, want);
}

#[tokio::test]
async fn snapshot_of_tables_without_signaling_is_a_clear_error() {
    let (server, p) = connected().await;
    server.reset().await;
    let err = p
        .snapshot("orders-db", &["public.customers".into()])
        .await
        .unwrap_err();
    assert!(matches!(err, CdcError::Unsupported { .. }), "{err}");
    assert!(err.to_string().contains("options.signal.table"), "{err}");
    assert!(requests(&server).await.is_empty());
}

#[tokio::test]
async fn disconnect_deletes_and_a_404_means_already_gone() {
    let (server, p) = connected().await;
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

    // Connect again; this time the connector was already deleted by someone else.
    server.reset().await;
    Mock::given(method("PUT"))
        .and(path("/connectors/pg1/config"))
        .respond_with(replay("06-create-pg1.txt"))
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .and(path("/connectors/pg1"))
        .respond_with(replay("29-get-deleted.txt"))
        .mount(&server)
        .await;
    p.connect(&pg_source(&server.uri(), json!({})))
        .await
        .unwrap();
    p.disconnect("orders-db").await.unwrap();
    assert_eq!(
        p.status("orders-db").await.unwrap().state,
        SourceState::NotFound
    );
}

#[tokio::test]
async fn status_of_many_sources_is_concurrent() {
    let server = MockServer::start().await;
    Mock::given(method("PUT"))
        .respond_with(replay("06-create-pg1.txt"))
        .mount(&server)
        .await;
    let p = Arc::new(DebeziumProvider::new());
    let mut ids = Vec::new();
    for i in 0..100 {
        let mut cfg = pg_source(
            &server.uri(),
            json!({"connector_name": format!("c{i}"), "topic_prefix": format!("t{i}")}),
        );
        cfg.source_id = format!("s{i}");
        p.connect(&cfg).await.unwrap();
        ids.push(cfg.source_id);
    }
    server.reset().await;
    // Every status answer is held for a long time: if the calls were sequential, only one
    // request would have reached the server while the first is held.
    Mock::given(method("GET"))
        .respond_with(replay("08-status-running.txt").set_delay(Duration::from_millis(1500)))
        .mount(&server)
        .await;
    let p2 = Arc::clone(&p);
    let ids2 = ids.clone();
    let task = tokio::spawn(async move { p2.status_many(&ids2).await });
    let mut seen = 0;
    for _ in 0..24 {
        tokio::time::sleep(Duration::from_millis(50)).await;
        seen = server.received_requests().await.unwrap().len();
        if seen == 100 {
            break;
        }
    }
    assert_eq!(seen, 100, "all 100 status requests are in flight together");
    let results = task.await.unwrap();
    assert_eq!(results.len(), 100);
    for (r, id) in results.iter().zip(&ids) {
        let st = r.as_ref().unwrap();
        assert_eq!(&st.source_id, id);
        assert_eq!(st.state, SourceState::Running);
    }
}

/// Key and value bytes of one record.
type KeyValue = (Option<Vec<u8>>, Option<Vec<u8>>);

fn kafka_records(file: &str) -> Vec<(Option<String>, Option<String>)> {
    file.lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            (
                v["key"].as_str().map(str::to_owned),
                v["value"].as_str().map(str::to_owned),
            )
        })
        .collect()
}

#[tokio::test]
async fn deliver_decodes_fans_out_in_order_and_tracks_lag() {
    let (_server, p) = connected().await;
    let seen: Arc<Mutex<Vec<(Operation, i64)>>> = Arc::default();
    let s2 = Arc::clone(&seen);
    let _sub = p
        .subscribe(
            "orders-db",
            handler_fn(move |e: SharedEvent| {
                let s = Arc::clone(&s2);
                async move {
                    let id = e.key.as_ref().and_then(|k| k["id"].as_i64()).unwrap_or(-1);
                    s.lock().unwrap().push((e.operation, id));
                    Ok(())
                }
            }),
        )
        .unwrap();
    let mut delivered = 0;
    for (k, v) in kafka_records(include_str!("fixtures/kafka-connect/events-2.jsonl")) {
        let out = p
            .deliver(
                "pg1.public.customers",
                k.as_deref().map(str::as_bytes),
                v.as_deref().map(str::as_bytes),
            )
            .await
            .unwrap();
        assert!(out.may_commit());
        if let DeliveryOutcome::Commit { delivered: true } = out {
            delivered += 1;
        }
    }
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), delivered);
    assert!(seen.iter().any(|(op, _)| *op == Operation::SnapshotRead));
    let st_last = p.status("orders-db").await;
    // The status call hits no mock (404 from wiremock) → not_found, but lag and last event
    // come from delivery.
    let st = st_last.unwrap();
    assert!(st.last_event.is_some());
    // Lag is now − commit time: the fixture's changes were committed when it was recorded.
    assert!(
        st.lag_seconds.is_some_and(|l| l > 60),
        "{:?}",
        st.lag_seconds
    );
}

#[tokio::test]
async fn a_failing_handler_means_do_not_commit() {
    let (_server, p) = connected().await;
    let value = r#"{"before":null,"after":{"id":7,"name":"x"},"source":{"version":"3.6.3.Final","connector":"postgresql","name":"pg1","ts_ms":1795495965939,"snapshot":"false","db":"app","schema":"public","table":"customers","txId":730,"lsn":26373864},"op":"c","ts_ms":1795495966036}"#;
    // No subscriber yet: nothing may be committed.
    let out = p
        .deliver(
            "pg1.public.customers",
            Some(br#"{"id":7}"#),
            Some(value.as_bytes()),
        )
        .await
        .unwrap();
    assert!(!out.may_commit(), "{out:?}");
    let _sub = p
        .subscribe(
            "orders-db",
            handler_fn(|_e: SharedEvent| async { Err("database down".into()) }),
        )
        .unwrap();
    let out = p
        .deliver(
            "pg1.public.customers",
            Some(br#"{"id":7}"#),
            Some(value.as_bytes()),
        )
        .await
        .unwrap();
    match out {
        DeliveryOutcome::Retry { error } => assert!(error.contains("database down"), "{error}"),
        other => panic!("{other:?}"),
    }
    // Tombstones carry nothing: committable without reaching the handler.
    let out = p
        .deliver("pg1.public.customers", Some(br#"{"id":7}"#), None)
        .await
        .unwrap();
    assert!(matches!(out, DeliveryOutcome::Commit { delivered: false }));
    // Malformed records are errors naming what and where.
    let err = p
        .deliver(
            "pg1.public.customers",
            None,
            Some(br#"{"op":"x","source":{}}"#),
        )
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("value.op") && err.to_string().contains("unknown operation"),
        "{err}"
    );
    // A topic of no source.
    assert!(
        p.deliver("other.public.t", None, Some(b"{}"))
            .await
            .is_err()
    );
}

#[tokio::test]
async fn batch_commits_only_up_to_the_first_unhandled_event() {
    let (_server, p) = connected().await;
    let recs = kafka_records(include_str!("fixtures/kafka-connect/events-2.jsonl"));
    let owned: Vec<KeyValue> = recs
        .iter()
        .map(|(k, v)| {
            (
                k.clone().map(String::into_bytes),
                v.clone().map(String::into_bytes),
            )
        })
        .collect();
    let batch: Vec<cdc_debezium::RawRecord<'_>> = owned
        .iter()
        .map(|(k, v)| {
            cdc_debezium::RawRecord::new("pg1.public.customers", k.as_deref(), v.as_deref())
        })
        .collect();
    // The handler fails on its third event.
    let _sub = p.subscribe("orders-db", Arc::new(FailAt(2))).unwrap();
    let out = p.deliver_batch(&batch).await.unwrap();
    assert!(out.error.is_some());
    // Records before the record of event #2 are committable: count non-tombstones.
    let mut events = 0;
    let mut expect = 0;
    for (i, r) in batch.iter().enumerate() {
        if r.value.is_some() {
            if events == 2 {
                expect = i;
                break;
            }
            events += 1;
        }
    }
    assert_eq!(out.committable, expect);
    assert_eq!(out.delivered, 2);
}

struct FailAt(usize);

#[async_trait::async_trait]
impl cdc_core::EventHandler for FailAt {
    async fn handle(&self, events: &[SharedEvent]) -> Result<(), cdc_core::HandlerError> {
        if events.len() > self.0 {
            return Err(cdc_core::HandlerError::new(self.0, "fails on purpose"));
        }
        Ok(())
    }
}

#[tokio::test]
async fn schema_change_records_feed_schema_history() {
    let server = MockServer::start().await;
    Mock::given(method("PUT"))
        .respond_with(replay("06-create-pg1.txt"))
        .mount(&server)
        .await;
    let p = DebeziumProvider::new();
    let cfg = cdc_core::SourceConfig::from_value(json!({
        "provider": "debezium", "source_id": "shop", "source_type": "mysql",
        "connection": server.uri(), "tables": ["inventory.customers"],
        "options": {"database": "mysql://dbz:pw@mysql:3306/inventory", "topic_prefix": "shop",
                    "schema_history": {"kafka_bootstrap_servers": "kafka:9092"}}
    }))
    .unwrap();
    p.connect(&cfg).await.unwrap();
    let _sub = p
        .subscribe("shop", handler_fn(|_e: SharedEvent| async { Ok(()) }))
        .unwrap();
    // Shape of the MySQL schema-change topic `<topic.prefix>` (payload fields per Debezium docs).
    let ddl = |ddl: &str, ts: i64| {
        json!({"source": {"version": "3.6.3.Final", "connector": "mysql", "name": "shop", "ts_ms": ts, "snapshot": "false",
                          "db": "inventory", "table": "customers", "server_id": 223344, "file": "mysql-bin.000003", "pos": 154, "row": 0},
               "ts_ms": ts + 5, "databaseName": "inventory", "schemaName": null, "ddl": ddl,
               "tableChanges": [{"type": "ALTER", "id": "\"inventory\".\"customers\"",
                                 "table": {"defaultCharsetName": "utf8mb4", "primaryKeyColumnNames": ["id"], "columns": []}}]})
        .to_string()
    };
    let key = json!({"databaseName": "inventory"}).to_string();
    for (i, stmt) in [
        "ALTER TABLE customers ADD COLUMN note TEXT",
        "ALTER TABLE customers DROP COLUMN note",
    ]
    .iter()
    .enumerate()
    {
        let out = p
            .deliver(
                "shop",
                Some(key.as_bytes()),
                Some(ddl(stmt, 1_700_000_000_000 + i as i64 * 1000).as_bytes()),
            )
            .await
            .unwrap();
        assert!(out.may_commit());
    }
    let h = p
        .schema_history("shop", "inventory.customers")
        .await
        .unwrap();
    assert_eq!(h.len(), 2);
    assert_eq!((h[0].version, h[1].version), (1, 2));
    assert_eq!(h[0].table, "inventory.customers");
    assert_eq!(h[0].ddl, "ALTER TABLE customers ADD COLUMN note TEXT");
    assert_eq!(h[1].applied_at.unix_timestamp(), 1_700_000_001);
    assert_eq!(
        p.schema_history("shop", "customers").await.unwrap().len(),
        2
    );
    assert!(p.schema_history("shop", "orders").await.unwrap().is_empty());
}
