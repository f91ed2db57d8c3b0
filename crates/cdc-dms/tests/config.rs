//! The typed config: every check names its field; nothing falls back to a silent default.

use std::time::Duration;

use cdc_core::SourceConfig;
use cdc_dms::api::MigrationType;
use cdc_dms::config::{DmsSource, StartingPosition};
use serde_json::{Value, json};

fn config(options: Value) -> SourceConfig {
    let mut base = json!({
        "source_endpoint_arn": "arn:aws:dms:eu-west-1:123456789012:endpoint:SRC",
        "target_endpoint_arn": "arn:aws:dms:eu-west-1:123456789012:endpoint:TGT",
        "replication_instance_arn": "arn:aws:dms:eu-west-1:123456789012:rep:INST",
    });
    for (k, v) in options.as_object().unwrap() {
        if v.is_null() {
            base.as_object_mut().unwrap().remove(k);
        } else {
            base[k] = v.clone();
        }
    }
    SourceConfig::from_value(json!({
        "provider": "dms", "source_id": "orders", "tables": ["public.orders"], "options": base
    }))
    .unwrap()
}

fn error(options: Value) -> String {
    DmsSource::from_config(&config(options))
        .unwrap_err()
        .to_string()
}

#[test]
fn defaults() {
    let s = DmsSource::from_config(&config(json!({}))).unwrap();
    assert_eq!(s.create.identifier, "orders");
    assert_eq!(s.create.migration_type, MigrationType::Cdc);
    assert_eq!(s.create.task_settings, None);
    assert_eq!(s.waits.ready_timeout, Duration::from_secs(600));
    assert_eq!(s.waits.poll_interval, Duration::from_secs(5));
    assert_eq!(s.aws.region, None);
    assert_eq!(s.aws.request_timeout, Duration::from_millis(30_000));
    assert!(s.kinesis.is_none());
}

#[test]
fn request_timeout_has_a_range() {
    for bad in [0, 99, 600_001] {
        let e = error(json!({ "request_timeout_ms": bad }));
        assert!(
            e.contains("options.request_timeout_ms") && e.contains("100..=600000"),
            "{bad}: {e}"
        );
    }
    let e = error(json!({"request_timeout_ms": "soon"}));
    assert!(e.contains("options.request_timeout_ms"), "{e}");
    for ok in [100, 600_000] {
        let s = DmsSource::from_config(&config(json!({ "request_timeout_ms": ok }))).unwrap();
        assert_eq!(s.aws.request_timeout, Duration::from_millis(ok));
    }
}

#[test]
fn every_option_is_read() {
    let s = DmsSource::from_config(&config(json!({
        "migration_type": "full-load",
        "region": "eu-west-1",
        "endpoint_url": "http://127.0.0.1:5000",
        "max_attempts": 5,
        "request_timeout_ms": 1500,
        "task_settings": "{\"TargetMetadata\": {}}",
        "ready_timeout_secs": 90,
        "stop_timeout_secs": 30,
        "poll_interval_ms": 250,
        "kinesis_stream_arn": "arn:aws:kinesis:eu-west-1:123456789012:stream/dms",
        "kinesis_start_position": "LATEST",
        "kinesis_checkpoints": {"shardId-000000000000": "4959"},
        "kinesis_max_records": 50,
    })))
    .unwrap();
    assert_eq!(s.create.migration_type, MigrationType::FullLoad);
    assert_eq!(s.aws.region.as_deref(), Some("eu-west-1"));
    assert_eq!(s.aws.endpoint_url.as_deref(), Some("http://127.0.0.1:5000"));
    assert_eq!(s.aws.max_attempts, Some(5));
    assert_eq!(s.aws.request_timeout, Duration::from_millis(1500));
    assert_eq!(
        s.create.task_settings.as_deref(),
        Some("{\"TargetMetadata\": {}}")
    );
    assert_eq!(s.waits.ready_timeout, Duration::from_secs(90));
    assert_eq!(s.waits.stop_timeout, Duration::from_secs(30));
    assert_eq!(s.waits.poll_interval, Duration::from_millis(250));
    let k = s.kinesis.unwrap();
    assert_eq!(k.start, StartingPosition::Latest);
    assert_eq!(k.checkpoints["shardId-000000000000"], "4959");
    assert_eq!(k.max_records, 50);

    let s = DmsSource::from_config(&config(json!({
        "migration_type": "full-load-and-cdc",
        "cdc_start_time": "2026-03-01T12:00:00Z",
        "task_settings": {"Logging": {"EnableLogging": true}},
    })))
    .unwrap();
    assert_eq!(s.create.migration_type, MigrationType::FullLoadAndCdc);
    assert_eq!(
        s.create.cdc_start_time,
        Some(time::macros::datetime!(2026-03-01 12:00 UTC))
    );
    let settings: Value = serde_json::from_str(s.create.task_settings.as_deref().unwrap()).unwrap();
    assert_eq!(settings["Logging"]["EnableLogging"], true);
}

#[test]
fn each_missing_arn_is_named() {
    for field in [
        "source_endpoint_arn",
        "target_endpoint_arn",
        "replication_instance_arn",
    ] {
        let e = error(json!({ field: null }));
        assert!(
            e.contains(&format!("options.{field}")) && e.contains("required"),
            "{e}"
        );
        let e = error(json!({ field: "" }));
        assert!(e.contains(&format!("options.{field}")), "{e}");
        let e = error(json!({ field: "SRC" }));
        assert!(
            e.contains(&format!("options.{field}")) && e.contains("not an ARN"),
            "{e}"
        );
    }
}

#[test]
fn bad_values_are_errors_naming_the_option() {
    let cases = [
        (
            json!({"migration_type": "cdc-only"}),
            "options.migration_type",
        ),
        (json!({"migration_type": 3}), "options.migration_type"),
        (
            json!({"cdc_start_position": "checkpoint:V1", "cdc_start_time": "2026-03-01T12:00:00Z"}),
            "exclusive",
        ),
        (
            json!({"cdc_start_time": "yesterday"}),
            "options.cdc_start_time",
        ),
        (
            json!({"migration_type": "full-load", "cdc_start_position": "x"}),
            "full-load has no CDC",
        ),
        (
            json!({"task_settings": "{not json"}),
            "options.task_settings",
        ),
        (json!({"task_settings": [1, 2]}), "options.task_settings"),
        (json!({"region": " "}), "options.region"),
        (
            json!({"endpoint_url": "127.0.0.1:5000"}),
            "options.endpoint_url",
        ),
        (json!({"max_attempts": 0}), "options.max_attempts"),
        (json!({"poll_interval_ms": 0}), "options.poll_interval_ms"),
        (
            json!({"ready_timeout_secs": "soon"}),
            "options.ready_timeout_secs",
        ),
        (json!({"colour": "blue"}), "colour"),
        (
            json!({"kinesis_start_position": "LATEST"}),
            "options.kinesis_start_position",
        ),
        (
            json!({"kinesis_stream_arn": "arn:aws:kinesis:eu-west-1:1:stream/s", "kinesis_start_position": "OLDEST"}),
            "options.kinesis_start_position",
        ),
        (
            json!({"kinesis_stream_arn": "dms-stream"}),
            "options.kinesis_stream_arn",
        ),
        (
            json!({"kinesis_stream_arn": "arn:aws:kinesis:eu-west-1:1:stream/s", "kinesis_max_records": 0}),
            "options.kinesis_max_records",
        ),
    ];
    for (options, want) in cases {
        let e = error(options.clone());
        assert!(e.contains(want), "{options}: {e}");
        assert!(e.contains("\"orders\""), "names the source: {e}");
    }
}

#[test]
fn table_and_source_id_problems_are_named() {
    let mut cfg = config(json!({}));
    cfg.tables = vec!["public.orders".into(), "a.b.c".into()];
    let e = DmsSource::from_config(&cfg).unwrap_err().to_string();
    assert!(e.contains("tables[1]"), "{e}");

    let mut cfg = config(json!({}));
    cfg.source_id = "Orders_2026".into();
    let s = DmsSource::from_config(&cfg).unwrap();
    assert!(
        s.create.identifier.starts_with("orders-2026-h"),
        "{}",
        s.create.identifier
    );

    let mut cfg = config(json!({}));
    cfg.source_id = "__".into();
    let e = DmsSource::from_config(&cfg).unwrap_err().to_string();
    assert!(e.contains("source_id"), "{e}");
}

#[test]
fn the_readme_example_is_a_valid_source() {
    let readme = include_str!("../README.md");
    let start = readme.find("```yaml\n").expect("a yaml block") + "```yaml\n".len();
    let end = start + readme[start..].find("```").unwrap();
    let cfg = SourceConfig::from_yaml(&readme[start..end]).unwrap();
    let s = DmsSource::from_config(&cfg).unwrap();
    assert_eq!(s.create.identifier, "orders");
    assert_eq!(s.create.migration_type, MigrationType::FullLoadAndCdc);
    assert_eq!(s.tables.len(), 2);
    assert_eq!(s.kinesis.unwrap().start, StartingPosition::TrimHorizon);
}

#[test]
fn every_number_has_a_range_and_every_name_is_a_name() {
    for (options, field) in [
        (
            json!({"ready_timeout_secs": u64::MAX}),
            "options.ready_timeout_secs",
        ),
        (json!({"stop_timeout_secs": 0}), "options.stop_timeout_secs"),
        (
            json!({"poll_interval_ms": u64::MAX}),
            "options.poll_interval_ms",
        ),
        (json!({"max_attempts": 0}), "options.max_attempts"),
        (json!({"max_attempts": u32::MAX}), "options.max_attempts"),
        (
            json!({"endpoint_url": "http://u:p/w@127.0.0.1:5000"}),
            "options.endpoint_url",
        ),
    ] {
        let e = error(options.clone());
        assert!(e.contains(field), "{options}: {e}");
        assert!(!e.contains("p/w"), "{e}");
    }
    for bad in ["public.%", "%", "s.t[x]"] {
        let mut c = config(json!({}));
        c.tables = vec![bad.into()];
        let e = DmsSource::from_config(&c).unwrap_err().to_string();
        assert!(
            e.contains("tables[0]") && e.contains("wildcard"),
            "{bad}: {e}"
        );
    }
}
