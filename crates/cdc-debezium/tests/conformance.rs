//! The provider contract (cdc_testkit::conformance) for Debezium, against a wiremock Kafka
//! Connect replaying a real worker's answers; plus what a second start must not do there:
//! delete the running connector.

mod common;

use std::sync::Arc;

use cdc_core::{CdcProvider, SourceConfig, SourceModule, SourceRegistry};
use cdc_debezium::DebeziumProvider;
use common::{pg_source, replay};
use wiremock::matchers::{method, path_regex};
use wiremock::{Mock, MockServer};

struct Debezium {
    server: MockServer,
    provider: Arc<dyn CdcProvider>,
}

impl cdc_testkit::conformance::Harness for Debezium {
    fn provider(&self) -> Arc<dyn CdcProvider> {
        Arc::clone(&self.provider)
    }

    fn config(&self, source_id: &str) -> SourceConfig {
        let mut cfg = pg_source(
            &self.server.uri(),
            serde_json::json!({"connector_name": source_id, "topic_prefix": source_id}),
        );
        cfg.source_id = source_id.to_owned();
        cfg
    }
}

/// Kafka Connect that creates, reports running and deletes any connector.
async fn harness() -> Debezium {
    let server = MockServer::start().await;
    for (verb, path, answer) in [
        ("PUT", r"^/connectors/[^/]+/config$", "06-create-pg1.txt"),
        (
            "GET",
            r"^/connectors/[^/]+/status$",
            "08-status-running.txt",
        ),
        ("DELETE", r"^/connectors/[^/]+$", "28-delete.txt"),
    ] {
        Mock::given(method(verb))
            .and(path_regex(path))
            .respond_with(replay(answer))
            .mount(&server)
            .await;
    }
    Debezium {
        server,
        provider: Arc::new(DebeziumProvider::new()),
    }
}

cdc_testkit::provider_conformance!(harness);

#[tokio::test]
async fn a_second_start_neither_re_applies_nor_deletes_the_connector() {
    let h = harness().await;
    let cfg = cdc_testkit::conformance::Harness::config(&h, "twice");
    let module = SourceModule::with_provider(
        cfg,
        Arc::clone(&h.provider),
        Arc::new(SourceRegistry::new()),
    )
    .unwrap();
    module.start().await.unwrap();
    module.start().await.unwrap();
    let calls = common::requests(&h.server).await;
    assert_eq!(calls, ["PUT /connectors/twice/config"], "{calls:?}");
    module.stop().await.unwrap();
    let calls = common::requests(&h.server).await;
    assert_eq!(
        calls.last().map(String::as_str),
        Some("DELETE /connectors/twice")
    );
}
