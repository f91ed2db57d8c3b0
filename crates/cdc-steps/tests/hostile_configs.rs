//! Step configs as hostile input: what a template renders (row data, environment values)
//! reaches a step as any JSON. Errors name the field, never quote a value a secret may be
//! (serde quotes the offending string), and stay short whatever the value's length; what
//! a step can check before any event, [`Step::check`] checks, without any source.
//!
//! [`Step::check`]: cdc_steps::Step::check

use std::sync::Arc;

use cdc_core::{CdcProvider, SourceRegistry};
use cdc_memory::MemoryProvider;
use cdc_steps::{StepContext, StepError, StepRegistry};
use serde_json::{Value, json};

const MARK: &str = "zq9MARK";

const ALL_STEPS: [&str; 7] = [
    "step.cdc_start",
    "step.cdc_stop",
    "step.cdc_status",
    "step.cdc_snapshot",
    "step.cdc_schema_history",
    "step.cdc_backpressure",
    "step.cdc_monitor",
];

async fn run(ctx: &StepContext, step: &str, config: Value) -> Result<Value, StepError> {
    StepRegistry::standard()
        .execute(step, ctx, "s", &config)
        .await
}

fn check(step: &str, config: Value, per_event: &[&str]) -> Result<(), StepError> {
    StepRegistry::standard().check(step, "s", &config, &|f| per_event.contains(&f))
}

fn empty() -> StepContext {
    StepContext::with_registry(Arc::new(SourceRegistry::new()))
}

#[tokio::test]
async fn a_string_given_to_a_field_of_another_type_is_never_quoted() {
    let ctx = empty();
    let schemas = StepRegistry::standard().schemas();
    for step in ALL_STEPS {
        for (field, spec) in schemas[step]["config"].as_object().unwrap() {
            if spec["type"] == "string" {
                continue;
            }
            let config = json!({"source_id": "db", field.as_str(): format!("{MARK}/?#@:{MARK}")});
            for e in [
                run(&ctx, step, config.clone()).await.unwrap_err(),
                check(step, config, &[]).unwrap_err(),
            ] {
                assert_eq!(e.field(), Some(field.as_str()), "{e}");
                assert!(!e.to_string().contains(MARK), "{step}: {e}");
            }
        }
        // The same inside a map: thresholds.lag_bytes.
        if schemas[step]["config"].get("thresholds").is_some() {
            let config = json!({"source_id": "db", "thresholds": {"lag_bytes": MARK}});
            let e = run(&ctx, step, config).await.unwrap_err();
            assert_eq!(e.field(), Some("thresholds.lag_bytes"), "{e}");
            assert!(!e.to_string().contains(MARK), "{e}");
        }
    }
}

#[tokio::test]
async fn messages_stay_short_whatever_the_value() {
    let ctx = empty();
    let long = "x".repeat(1 << 20);
    for step in ALL_STEPS {
        let e = run(&ctx, step, json!({"source_id": long}))
            .await
            .unwrap_err();
        let text = e.to_string();
        assert!(text.len() < 400, "{step}: {} bytes", text.len());
        assert!(text.contains("(1048576 bytes)"), "{step}: {text}");
    }
    let e = run(
        &ctx,
        "step.cdc_backpressure",
        json!({"source_id": "db", "action": long}),
    )
    .await
    .unwrap_err();
    assert_eq!(e.field(), Some("action"));
    assert!(e.to_string().len() < 400, "{} bytes", e.to_string().len());

    // A registry of 100 000 sources: the miss lists some of them.
    let registry = Arc::new(SourceRegistry::new());
    let provider = Arc::new(MemoryProvider::new()) as Arc<dyn CdcProvider>;
    for i in 0..100_000 {
        registry
            .register(&format!("src-{i}"), Arc::clone(&provider))
            .unwrap();
    }
    let ctx = StepContext::with_registry(registry);
    let e = run(&ctx, "step.cdc_status", json!({"source_id": "nope"}))
        .await
        .unwrap_err();
    let text = e.to_string();
    assert!(
        text.len() < 1000 && text.ends_with("and 99980 more)"),
        "{text:.300}"
    );
}

#[test]
fn check_refuses_before_any_event_what_would_fail_every_event() {
    for (step, config, field) in [
        (
            "step.cdc_monitor",
            json!({"warning_multiplier": 5}),
            "warning_multiplier",
        ),
        (
            "step.cdc_monitor",
            json!({"warning_multiplier": serde_json::from_str::<Value>("1e400").unwrap()}),
            "warning_multiplier",
        ),
        (
            "step.cdc_monitor",
            json!({"auto_throttle": "yes"}),
            "auto_throttle",
        ),
        (
            "step.cdc_backpressure",
            json!({"threshold_lag_bytes": -1}),
            "threshold_lag_bytes",
        ),
        (
            "step.cdc_backpressure",
            json!({"threshold_lag_bytes": 1e300}),
            "threshold_lag_bytes",
        ),
        (
            "step.cdc_backpressure",
            json!({"threshold_lag_bytes": 9_223_372_036_854_775_808u64}),
            "threshold_lag_bytes",
        ),
        (
            "step.cdc_backpressure",
            json!({"thresholds": {"lag_seconds": 1.5}}),
            "thresholds.lag_seconds",
        ),
        (
            "step.cdc_backpressure",
            json!({"thresholds": {"lag_bytes": 1, "lag_bytes ": 2}}),
            "thresholds",
        ),
        (
            "step.cdc_backpressure",
            json!({"action": "trottle"}),
            "action",
        ),
        (
            "step.cdc_snapshot",
            json!({"tables": ["ok", "a b"]}),
            "tables[1]",
        ),
        ("step.cdc_snapshot", json!({"tables": "users"}), "tables"),
        (
            "step.cdc_schema_history",
            json!({"table": "a.b.c"}),
            "table",
        ),
        ("step.cdc_start", json!({"options": [1]}), "options"),
        ("step.cdc_status", json!({"sourceid": "db"}), "sourceid"),
    ] {
        let mut config = config;
        config["source_id"] = json!("db");
        let e = check(step, config.clone(), &[]).unwrap_err();
        assert_eq!(e.field(), Some(field), "{step} {config}: {e}");
    }
    for step in ALL_STEPS {
        // Required, unless only known per event; a valid config needs no registered source.
        let e = check(step, json!({}), &[]).unwrap_err();
        assert_eq!(e.field(), Some("source_id"), "{e}");
        check(step, json!({}), &["source_id"]).unwrap();
        check(step, json!({"source_id": "nowhere"}), &[]).unwrap();
    }
    // Ranges: the ends are fine.
    for config in [
        json!({"source_id": "db", "threshold_lag_bytes": i64::MAX, "threshold_lag_seconds": 0}),
        json!({"source_id": "db", "thresholds": {"lag_bytes": -0.0}, "warning_multiplier": 1}),
        json!({"source_id": "db", "warning_multiplier": 1e-300, "threshold_lag_seconds": 1e3}),
    ] {
        check("step.cdc_backpressure", config.clone(), &[]).unwrap();
        check("step.cdc_monitor", config, &[]).unwrap();
    }
    let e = check("step.cdc_nope", json!({}), &[]).unwrap_err();
    assert!(e.to_string().contains("known types"), "{e}");
}
