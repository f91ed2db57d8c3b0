//! Delegated mode (the Go package's behaviour): the provider generates and keeps the config;
//! something else runs it.

use std::sync::Arc;

use cdc_bento::BentoProvider;
use cdc_core::{CdcError, CdcProvider, SourceConfig, SourceState, handler_fn};

fn config(yaml: &str) -> SourceConfig {
    SourceConfig::from_yaml(yaml).unwrap()
}

const PG: &str = r#"
provider: bento
source_id: shop
source_type: postgres
connection: postgres://cdc:hunter2@db:5432/shop
tables: [public.orders, public.customers]
options: { mode: delegated, poll_interval: 2s, bento_module: bento-input }
"#;

#[tokio::test]
async fn connect_stores_config_snapshot_regenerates_disconnect_removes() {
    let p = BentoProvider::new();
    p.connect(&config(PG)).await.unwrap();

    let st = p.status("shop").await.unwrap();
    assert_eq!(st.state, SourceState::Configured);
    assert_eq!(st.details["mode"], "delegated");
    assert_eq!(st.details["bento_module"], "bento-input");

    let yaml = p.config_yaml("shop").unwrap();
    assert!(yaml.contains("pg_logical_slot_get_changes"));
    assert!(yaml.contains("public.orders,public.customers"));
    assert!(yaml.contains("interval: 2s"));
    assert!(!yaml.contains("hunter2"), "masked by default");
    assert!(
        p.config_yaml_with_secrets("shop")
            .unwrap()
            .contains("hunter2")
    );

    // A second connect of the same id is refused.
    assert!(matches!(
        p.connect(&config(PG)).await,
        Err(CdcError::AlreadyExists { .. })
    ));

    // Handlers can subscribe; delegated mode delivers nothing itself.
    let sub = p
        .subscribe("shop", handler_fn(|_e| async { Ok(()) }))
        .unwrap();
    assert!(sub.is_active());

    let report = p.snapshot("shop", &["public.orders".into()]).await.unwrap();
    assert_eq!(report.method, "regenerated_config");
    assert_eq!(p.status("shop").await.unwrap().state, SourceState::Snapshot);
    let yaml = p.config_yaml("shop").unwrap();
    assert!(yaml.contains("E'public.orders')"), "{yaml}");
    assert!(!yaml.contains("customers"));

    assert!(
        p.schema_history("shop", "public.orders")
            .await
            .unwrap()
            .is_empty()
    );
    // Pause/resume belong to whoever runs a delegated config.
    let pausable = p.pausable().unwrap();
    assert!(matches!(
        pausable.pause("shop").await,
        Err(CdcError::Unsupported { .. })
    ));

    p.disconnect("shop").await.unwrap();
    assert_eq!(p.status("shop").await.unwrap().state, SourceState::NotFound);
    assert!(p.config_yaml("shop").is_err());
    assert!(matches!(
        p.disconnect("shop").await,
        Err(CdcError::NotFound { .. })
    ));
}

#[tokio::test]
async fn bad_configs_are_clear_errors_naming_the_field() {
    let p = BentoProvider::new();
    // every number has a range
    for (option, field) in [
        ("max_changes_per_poll: 0", "options.max_changes_per_poll"),
        (
            "restart_backoff_initial_ms: 18446744073709551615",
            "options.restart_backoff_initial_ms",
        ),
        (
            "restart_backoff_max_ms: 0",
            "options.restart_backoff_max_ms",
        ),
        ("stderr_tail_lines: 100000000", "options.stderr_tail_lines"),
        (
            "restart_backoff_initial_ms: 5000, restart_backoff_max_ms: 100",
            "100 is below options.restart_backoff_initial_ms (5000)",
        ),
        ("poll_interval: 99999999999h", "options.poll_interval"),
    ] {
        let err = p
            .connect(&config(&format!(
                "provider: bento\nsource_id: r\nsource_type: postgres\nconnection: postgres://h/d\noptions: {{ mode: delegated, {option} }}\n"
            )))
            .await
            .unwrap_err();
        assert!(err.to_string().contains(field), "{option}: {err}");
    }
    let err = p
        .connect(&config(
            "provider: bento\nsource_id: d\nsource_type: dynamodb\noptions: { mode: delegated }\n",
        ))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("options.stream_arn"), "{err}");

    let err = p
        .connect(&config(
            "provider: bento\nsource_id: m\nsource_type: mysql\nconnection: 'u:pw@tcp(h:3306)/d'\ntables: [orders]\noptions: { mode: delegated }\n",
        ))
        .await
        .unwrap_err();
    assert!(matches!(err, CdcError::Unsupported { .. }), "{err}");
    assert!(err.to_string().contains("debezium") && !err.to_string().contains("pw@"));

    let err = p
        .connect(&config(
            "provider: bento\nsource_id: o\nsource_type: postgres\nconnection: postgres://h/d\noptions: { mode: delegated, colour: blue }\n",
        ))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("colour"), "{err}");

    let err = p
        .connect(&config(
            "provider: bento\nsource_id: x\nsource_type: postgres\nconnection: postgres://h/d\noptions: { mode: managed, bento_bin: /bin/sh, output: { type: nats, urls: [nats://h:4222], subject: s } }\n",
        ))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("options.output"), "{err}");

    let err = p
        .connect(&config(
            "provider: bento\nsource_id: y\nsource_type: kafka\nconnection: k:9092\ntables: [public.t]\noptions: { mode: delegated, create_slot: true }\n",
        ))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("options.create_slot"), "{err}");
}

#[tokio::test]
async fn handlers_of_unknown_sources_are_refused() {
    let p: Arc<dyn CdcProvider> = Arc::new(BentoProvider::new());
    assert!(
        p.subscribe("nope", handler_fn(|_e| async { Ok(()) }))
            .is_err()
    );
    assert_eq!(p.name(), "bento");
}
