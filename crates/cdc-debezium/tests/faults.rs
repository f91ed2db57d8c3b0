//! Fault suite: transient failures are retried within bounds, final ones are not; the exact
//! request sequence is asserted each time.

mod common;

use std::time::Duration;

use cdc_debezium::DebeziumError;
use cdc_debezium::connect::{ClientOptions, KafkaConnectClient, RestartOptions, RetryPolicy};
use cdc_debezium::error::TransportKind;
use common::{error, replay, requests};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const REBALANCE: &str =
    "Cannot complete request because of a conflicting operation (e.g. worker rebalance)";

fn client(url: &str, timeout: Duration, max_attempts: u32) -> KafkaConnectClient {
    let mut o = ClientOptions::new(url::Url::parse(url).unwrap());
    o.timeout = timeout;
    o.retry = RetryPolicy {
        max_attempts,
        initial_backoff_ms: 5,
        max_backoff_ms: 20,
        max_elapsed_ms: 10_000,
    };
    KafkaConnectClient::new(o).unwrap()
}

fn config() -> cdc_debezium::connect::ConnectorConfig {
    serde_json::from_str(
        r#"{"connector.class":"io.debezium.connector.postgresql.PostgresConnector","topic.prefix":"pg1"}"#,
    )
    .unwrap()
}

#[tokio::test]
async fn rebalance_409_twice_then_success() {
    let server = MockServer::start().await;
    Mock::given(method("PUT"))
        .and(path("/connectors/pg1/config"))
        .respond_with(error(409, REBALANCE))
        .up_to_n_times(2)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("PUT"))
        .and(path("/connectors/pg1/config"))
        .respond_with(replay("06-create-pg1.txt"))
        .mount(&server)
        .await;
    let c = client(&server.uri(), Duration::from_secs(5), 5);
    let applied = c.put_config("pg1", &config()).await.unwrap();
    assert!(applied.created);
    assert_eq!(
        requests(&server).await,
        vec!["PUT /connectors/pg1/config"; 3]
    );
}

#[tokio::test]
async fn no_leader_and_stale_config_409s_are_transient_too() {
    for msg in [
        "Cannot complete request momentarily due to no known leader URL, likely because a rebalance was underway.",
        "Cannot complete request momentarily due to stale configuration (typically caused by a concurrent config change)",
    ] {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .respond_with(error(409, msg))
            .up_to_n_times(1)
            .with_priority(1)
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .respond_with(replay("08-status-running.txt"))
            .mount(&server)
            .await;
        let c = client(&server.uri(), Duration::from_secs(5), 5);
        c.status("pg1").await.unwrap();
        assert_eq!(
            requests(&server).await,
            vec!["GET /connectors/pg1/status"; 2]
        );
    }
}

#[tokio::test]
async fn server_error_500_then_success() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(error(500, "Request timed out"))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .respond_with(replay("08-status-running.txt"))
        .mount(&server)
        .await;
    let c = client(&server.uri(), Duration::from_secs(5), 5);
    let st = c.status("pg1").await.unwrap();
    assert_eq!(st.tasks.len(), 1);
    assert_eq!(
        requests(&server).await,
        vec!["GET /connectors/pg1/status"; 2]
    );
}

#[tokio::test]
async fn hanging_server_times_out_after_bounded_attempts() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(replay("08-status-running.txt").set_delay(Duration::from_secs(30)))
        .mount(&server)
        .await;
    let c = client(&server.uri(), Duration::from_millis(200), 3);
    let err = c.status("pg1").await.unwrap_err();
    match &err {
        DebeziumError::RetriesExhausted { attempts, last, .. } => {
            assert_eq!(*attempts, 3);
            assert!(
                matches!(
                    **last,
                    DebeziumError::Transport {
                        kind: TransportKind::Timeout,
                        ..
                    }
                ),
                "{last:?}"
            );
        }
        other => panic!("{other:?}"),
    }
    assert!(err.to_string().contains("pg1"), "{err}");
    assert_eq!(
        requests(&server).await,
        vec!["GET /connectors/pg1/status"; 3]
    );
}

#[tokio::test]
async fn refused_connection_gives_a_clear_error_after_bounded_retries() {
    // A port nothing listens on: bind, note the port, close.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let c = client(
        &format!("http://127.0.0.1:{port}"),
        Duration::from_secs(2),
        4,
    );
    let err = c.status("pg1").await.unwrap_err();
    match &err {
        DebeziumError::RetriesExhausted { attempts, last, .. } => {
            assert_eq!(*attempts, 4);
            assert!(
                matches!(
                    **last,
                    DebeziumError::Transport {
                        kind: TransportKind::Connect,
                        ..
                    }
                ),
                "{last:?}"
            );
        }
        other => panic!("{other:?}"),
    }
    let text = err.to_string();
    assert!(
        text.contains("gave up after 4 attempts") && text.contains("Connect"),
        "{text}"
    );
}

#[tokio::test]
async fn already_exists_and_other_4xx_are_not_retried() {
    let server = MockServer::start().await;
    Mock::given(method("PUT"))
        .respond_with(error(409, "Connector pg1 already exists"))
        .mount(&server)
        .await;
    let c = client(&server.uri(), Duration::from_secs(5), 5);
    let err = c.put_config("pg1", &config()).await.unwrap_err();
    assert_eq!(err.status(), Some(409));
    assert!(!err.is_retryable());
    assert!(err.to_string().contains("already exists"));
    assert_eq!(requests(&server).await, vec!["PUT /connectors/pg1/config"]);

    server.reset().await;
    Mock::given(method("GET"))
        .respond_with(replay("05-status-missing.txt"))
        .mount(&server)
        .await;
    let err = c.status("nope").await.unwrap_err();
    assert!(err.is_not_found());
    match err {
        DebeziumError::Api {
            connector,
            status,
            error_code,
            message,
            ..
        } => {
            assert_eq!(
                (connector.as_str(), status, error_code),
                ("nope", 404, Some(404))
            );
            assert_eq!(message, "No status found for connector nope");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(requests(&server).await, vec!["GET /connectors/nope/status"]);
}

#[tokio::test]
async fn restart_is_not_repeated_after_a_500_but_is_after_a_rebalance() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/connectors/pg1/restart"))
        .respond_with(error(500, "Request timed out"))
        .mount(&server)
        .await;
    let c = client(&server.uri(), Duration::from_secs(5), 5);
    let opts = RestartOptions {
        include_tasks: true,
        only_failed: true,
    };
    assert!(c.restart("pg1", opts).await.is_err());
    assert_eq!(
        requests(&server).await.len(),
        1,
        "a POST that may have acted is not repeated"
    );

    server.reset().await;
    Mock::given(method("POST"))
        .respond_with(error(409, REBALANCE))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(replay("22-restart-onlyfailed.txt"))
        .mount(&server)
        .await;
    c.restart("pg1", opts).await.unwrap();
    assert_eq!(
        requests(&server).await,
        vec!["POST /connectors/pg1/restart?includeTasks=true&onlyFailed=true"; 2]
    );
}

#[tokio::test]
async fn every_typed_call_parses_the_recorded_bodies() {
    let server = MockServer::start().await;
    let routes = [
        ("GET", "/", "01-root.txt"),
        ("GET", "/connectors", "30-list-empty.txt"),
        ("GET", "/connectors/pg1", "09-get-connector.txt"),
        ("GET", "/connectors/pg1/offsets", "18-offsets-stopped.txt"),
        ("GET", "/connectors/pg1/topics", "27-topics.txt"),
        ("PATCH", "/connectors/pg1/offsets", "19-offsets-reset.txt"),
        (
            "PUT",
            "/connector-plugins/io.debezium.connector.postgresql.PostgresConnector/config/validate",
            "03-validate-bad.txt",
        ),
        (
            "POST",
            "/connectors/pg1/tasks/0/restart",
            "25-task-restart.txt",
        ),
    ];
    for (m, p, f) in routes {
        Mock::given(method(m))
            .and(path(p))
            .respond_with(replay(f))
            .mount(&server)
            .await;
    }
    let c = client(&server.uri(), Duration::from_secs(5), 2);
    assert_eq!(c.server_info().await.unwrap().version, "4.3.0");
    assert!(c.list().await.unwrap().is_empty());
    assert_eq!(c.get("pg1").await.unwrap().tasks.len(), 1);
    let offs = c.offsets("pg1").await.unwrap();
    assert_eq!(offs.offsets[0].partition["server"], "pg1");
    assert_eq!(offs.offsets[0].offset.as_ref().unwrap()["lsn"], 26374320);
    assert_eq!(c.topics("pg1").await.unwrap(), vec!["pg1.public.customers"]);
    let reset_one: cdc_debezium::connect::ConnectorOffsets =
        serde_json::from_str(r#"{"offsets":[{"partition":{"server":"pg1"},"offset":null}]}"#)
            .unwrap();
    assert!(reset_one.is_reset());
    assert!(
        c.alter_offsets("pg1", &reset_one)
            .await
            .unwrap()
            .message
            .contains("successfully")
    );
    let v = c
        .validate(
            "io.debezium.connector.postgresql.PostgresConnector",
            &config(),
        )
        .await
        .unwrap();
    assert_eq!(v.error_count, 4);
    assert!(v.errors().iter().any(|(name, _)| *name == "database.user"));
    c.restart_task("pg1", 0).await.unwrap();

    // list with expand=status&expand=info.
    server.reset().await;
    Mock::given(method("GET"))
        .and(path("/connectors"))
        .respond_with(replay("11-list-expand.txt"))
        .mount(&server)
        .await;
    let all = c.list_expanded().await.unwrap();
    assert_eq!(all["pg1"].status.as_ref().unwrap().tasks.len(), 1);
    assert_eq!(
        requests(&server).await,
        vec!["GET /connectors?expand=status&expand=info"]
    );

    // Auth headers.
    server.reset().await;
    Mock::given(method("GET"))
        .and(wiremock::matchers::header("authorization", "Bearer t0ken"))
        .respond_with(ResponseTemplate::new(200).set_body_string("[]"))
        .mount(&server)
        .await;
    let mut o = ClientOptions::new(url::Url::parse(&server.uri()).unwrap());
    o.auth = Some(cdc_debezium::connect::Auth::Bearer {
        token: "t0ken".into(),
    });
    let authed = KafkaConnectClient::new(o).unwrap();
    assert!(authed.list().await.unwrap().is_empty());
}
