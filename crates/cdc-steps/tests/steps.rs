//! The seven CDC steps against the memory provider (and a provider without pause), always
//! through an injected `SourceRegistry`.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use cdc_core::{
    CdcError, CdcProvider, CdcStatus, ChangeEvent, EventHandler, Operation, ProviderFactory,
    Result, SchemaVersion, SharedEvent, SnapshotReport, SourceConfig, SourceRegistry, SourceState,
    Subscribers, Subscription, handler_fn,
};
use cdc_memory::MemoryProvider;
use cdc_steps::{StepContext, StepError, StepErrorKind, StepRegistry};
use serde_json::{Value, json};

const ALL_STEPS: [&str; 7] = [
    "step.cdc_start",
    "step.cdc_stop",
    "step.cdc_status",
    "step.cdc_snapshot",
    "step.cdc_schema_history",
    "step.cdc_backpressure",
    "step.cdc_monitor",
];

fn memory_factory() -> ProviderFactory {
    ProviderFactory::new().with("memory", |_cfg: &SourceConfig| {
        Ok(Arc::new(MemoryProvider::new()) as Arc<dyn CdcProvider>)
    })
}

/// A context with one running memory source `db`.
async fn with_memory_source() -> (StepContext, Arc<MemoryProvider>) {
    let registry = Arc::new(SourceRegistry::new());
    let provider = Arc::new(MemoryProvider::new());
    let config = SourceConfig {
        provider: "memory".into(),
        source_id: "db".into(),
        tables: vec!["public.users".into()],
        ..Default::default()
    };
    provider.connect(&config).await.unwrap();
    registry
        .register("db", Arc::clone(&provider) as Arc<dyn CdcProvider>)
        .unwrap();
    // Let the source's delivery task run once, so that a later disconnect cannot race its
    // first poll (see the report about cdc-memory). No handler is subscribed yet.
    provider
        .inject(
            "db",
            ChangeEvent::new("db", Operation::Insert, "public.users"),
        )
        .await
        .unwrap();
    provider.wait_idle("db").await.unwrap();
    (
        StepContext::new(registry, Arc::new(memory_factory())),
        provider,
    )
}

async fn run(
    ctx: &StepContext,
    step: &str,
    config: Value,
) -> std::result::Result<Value, StepError> {
    StepRegistry::standard()
        .execute(step, ctx, "my-step", &config)
        .await
}

async fn ok(ctx: &StepContext, step: &str, config: Value) -> Value {
    match run(ctx, step, config.clone()).await {
        Ok(v) => {
            assert!(v.is_object(), "{step} output is not an object: {v}");
            v
        }
        Err(e) => panic!("{step} {config}: {e}"),
    }
}

async fn err(ctx: &StepContext, step: &str, config: Value) -> StepError {
    match run(ctx, step, config.clone()).await {
        Ok(v) => panic!("{step} {config} succeeded: {v}"),
        Err(e) => {
            let text = e.to_string();
            assert!(text.starts_with(&format!("{step} \"my-step\": ")), "{text}");
            e
        }
    }
}

fn assert_field(e: &StepError, field: &str) {
    assert_eq!(e.field(), Some(field), "{e}");
    assert!(e.to_string().contains(field), "{e}");
}

// ---- a provider without pause -------------------------------------------------------------

/// Runs any source; reports the lag it is given; cannot pause.
#[derive(Default)]
struct NoPause {
    lag: Mutex<(Option<i64>, Option<i64>)>,
    disconnects: AtomicUsize,
}

#[async_trait]
impl CdcProvider for NoPause {
    fn name(&self) -> &str {
        "nopause"
    }
    async fn connect(&self, _config: &SourceConfig) -> Result<()> {
        Ok(())
    }
    async fn disconnect(&self, _source_id: &str) -> Result<()> {
        self.disconnects.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
    async fn status(&self, source_id: &str) -> Result<CdcStatus> {
        let mut st = CdcStatus::new(source_id, "nopause", SourceState::Running);
        (st.lag_bytes, st.lag_seconds) = *self.lag.lock().unwrap();
        Ok(st)
    }
    async fn snapshot(&self, source_id: &str, tables: &[String]) -> Result<SnapshotReport> {
        Ok(SnapshotReport::new(source_id, tables, "none").with_detail("nothing to do"))
    }
    async fn schema_history(&self, _: &str, _: &str) -> Result<Vec<SchemaVersion>> {
        Ok(Vec::new())
    }
    fn subscribe(&self, source_id: &str, handler: Arc<dyn EventHandler>) -> Result<Subscription> {
        Ok(Subscribers::new(source_id).subscribe(handler))
    }
}

fn with_nopause_source(lag: (Option<i64>, Option<i64>)) -> (StepContext, Arc<NoPause>) {
    let registry = Arc::new(SourceRegistry::new());
    let provider = Arc::new(NoPause {
        lag: Mutex::new(lag),
        ..Default::default()
    });
    registry
        .register("np", Arc::clone(&provider) as Arc<dyn CdcProvider>)
        .unwrap();
    (StepContext::with_registry(registry), provider)
}

// ---- every step: missing source_id, unknown source -----------------------------------------

#[tokio::test]
async fn every_step_requires_source_id() {
    let (ctx, _p) = with_memory_source().await;
    for step in ALL_STEPS {
        for config in [json!({}), Value::Null, json!({"source_id": ""})] {
            let e = err(&ctx, step, config).await;
            assert_eq!(
                e.to_string(),
                format!("{step} \"my-step\": source_id is required")
            );
            assert_field(&e, "source_id");
        }
    }
}

#[tokio::test]
async fn every_step_names_an_unknown_source() {
    let (ctx, _p) = with_memory_source().await;
    for step in ALL_STEPS {
        let e = err(&ctx, step, json!({"source_id": "nope"})).await;
        let text = e.to_string();
        assert!(text.contains("\"nope\""), "{text}");
        if step == "step.cdc_start" {
            // nothing registered and nothing to start it with
            assert_field(&e, "provider");
        } else {
            assert!(
                matches!(e.kind, StepErrorKind::NotRegistered { .. }),
                "{text}"
            );
            assert_eq!(e.source_id(), Some("nope"));
            assert!(text.contains("registered: db"), "{text}");
        }
    }
}

#[tokio::test]
async fn unknown_step_type_lists_the_known_ones() {
    let (ctx, _p) = with_memory_source().await;
    let e = StepRegistry::standard()
        .execute("step.cdc_explode", &ctx, "x", &json!({"source_id": "db"}))
        .await
        .unwrap_err();
    let text = e.to_string();
    assert!(
        text.starts_with("step.cdc_explode \"x\": unknown step type"),
        "{text}"
    );
    for step in ALL_STEPS {
        assert!(text.contains(step), "{text}");
    }
}

// ---- step.cdc_status --------------------------------------------------------------------

#[tokio::test]
async fn status_returns_the_cdc_status_with_lag_serialized() {
    let (ctx, p) = with_memory_source().await;
    let out = ok(&ctx, "step.cdc_status", json!({"source_id": "db"})).await;
    assert_eq!(out["source_id"], "db");
    assert_eq!(out["state"], "running");
    assert_eq!(out["provider"], "memory");
    assert!(
        out.get("lag_bytes").is_none(),
        "unknown lag must be absent, not 0: {out}"
    );
    p.set_lag("db", 2048, 7).unwrap();
    let out = ok(&ctx, "step.cdc_status", json!({"source_id": "db"})).await;
    assert_eq!(out["lag_bytes"], 2048);
    assert_eq!(out["lag_seconds"], 7);
    let back: CdcStatus = serde_json::from_value(out).unwrap();
    assert_eq!(back.lag_bytes, Some(2048));
}

// ---- step.cdc_start ---------------------------------------------------------------------

#[tokio::test]
async fn start_reports_a_registered_source_running() {
    let (ctx, _p) = with_memory_source().await;
    let out = ok(&ctx, "step.cdc_start", json!({"source_id": "db"})).await;
    assert_eq!(
        out,
        json!({"source_id": "db", "action": "already_running", "provider": "memory", "state": "running"})
    );
    let e = err(
        &ctx,
        "step.cdc_start",
        json!({"source_id": "db", "provider": "debezium"}),
    )
    .await;
    assert_field(&e, "provider");
    assert!(
        e.to_string()
            .contains("already running on provider \"memory\""),
        "{e}"
    );
}

#[tokio::test]
async fn start_builds_connects_and_registers_a_source_from_the_step_config() {
    let ctx = StepContext::new(Arc::new(SourceRegistry::new()), Arc::new(memory_factory()));
    let out = ok(
        &ctx,
        "step.cdc_start",
        json!({
            "source_id": "orders",
            "provider": "memory",
            "source_type": "postgres",
            "connection": "postgres://app:hunter2@db:5432/shop",
            "tables": ["public.orders"],
            "options": {"capacity": 8}
        }),
    )
    .await;
    assert_eq!(
        out,
        json!({"source_id": "orders", "action": "started", "provider": "memory", "state": "running"})
    );
    assert!(!out.to_string().contains("hunter2"));
    let provider = ctx.registry.lookup("orders").unwrap();
    assert_eq!(
        provider.status("orders").await.unwrap().state,
        SourceState::Running
    );
    // the started source delivers events
    let seen = Arc::new(Mutex::new(Vec::<SharedEvent>::new()));
    let notified = Arc::new(tokio::sync::Notify::new());
    let (s, n) = (Arc::clone(&seen), Arc::clone(&notified));
    let _sub = provider
        .subscribe(
            "orders",
            handler_fn(move |e: SharedEvent| {
                let (s, n) = (Arc::clone(&s), Arc::clone(&n));
                async move {
                    s.lock().unwrap().push(e);
                    n.notify_one();
                    Ok(())
                }
            }),
        )
        .unwrap();
    // The factory's MemoryProvider is reachable only as `dyn CdcProvider`: make it produce an
    // event through the trait (a snapshot's control event) and wait for the handler to see it.
    ok(&ctx, "step.cdc_snapshot", json!({"source_id": "orders"})).await;
    notified.notified().await;
    assert_eq!(
        seen.lock().unwrap()[0].control.as_deref(),
        Some("snapshot_started")
    );
    // a second start finds it running
    let out = ok(
        &ctx,
        "step.cdc_start",
        json!({"source_id": "orders", "provider": "memory"}),
    )
    .await;
    assert_eq!(out["action"], "already_running");
    // and stop takes it down again
    ok(&ctx, "step.cdc_stop", json!({"source_id": "orders"})).await;
    assert!(!ctx.registry.contains("orders"));
}

#[tokio::test]
async fn start_errors_name_the_field_or_provider_and_never_show_the_connection() {
    let ctx = StepContext::new(Arc::new(SourceRegistry::new()), Arc::new(memory_factory()));
    // provider not in the factory, but known: say which feature
    let e = err(
        &ctx,
        "step.cdc_start",
        json!({"source_id": "s", "provider": "debezium", "connection": "http://u:hunter2@h"}),
    )
    .await;
    assert!(
        e.to_string().contains("debezium") && e.to_string().contains("feature"),
        "{e}"
    );
    assert!(!e.to_string().contains("hunter2") && !format!("{e:?}").contains("hunter2"));
    // unknown provider
    let e = err(
        &ctx,
        "step.cdc_start",
        json!({"source_id": "s", "provider": "oracle"}),
    )
    .await;
    assert!(
        e.to_string().contains("oracle") && e.to_string().contains("memory"),
        "{e}"
    );
    // a bad table of the source config
    let e = err(
        &ctx,
        "step.cdc_start",
        json!({"source_id": "s", "provider": "memory", "tables": ["ok", "a.b.c"]}),
    )
    .await;
    assert!(e.to_string().contains("tables[1]"), "{e}");
    // a bad provider option
    let e = err(
        &ctx,
        "step.cdc_start",
        json!({"source_id": "s", "provider": "memory", "options": {"capacity": 0}}),
    )
    .await;
    assert!(e.to_string().contains("options.capacity"), "{e}");
    assert!(ctx.registry.source_ids().is_empty());
}

/// A provider whose connect makes the id taken in the registry (as a concurrent start would).
struct Racing {
    registry: Arc<SourceRegistry>,
    disconnects: Arc<AtomicUsize>,
}

#[async_trait]
impl CdcProvider for Racing {
    fn name(&self) -> &str {
        "racing"
    }
    async fn connect(&self, config: &SourceConfig) -> Result<()> {
        self.registry
            .register(&config.source_id, Arc::new(NoPause::default()))
            .unwrap();
        Ok(())
    }
    async fn disconnect(&self, _source_id: &str) -> Result<()> {
        self.disconnects.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
    async fn status(&self, source_id: &str) -> Result<CdcStatus> {
        Ok(CdcStatus::not_found(source_id, "racing"))
    }
    async fn snapshot(&self, source_id: &str, tables: &[String]) -> Result<SnapshotReport> {
        Ok(SnapshotReport::new(source_id, tables, "none"))
    }
    async fn schema_history(&self, _: &str, _: &str) -> Result<Vec<SchemaVersion>> {
        Ok(Vec::new())
    }
    fn subscribe(&self, source_id: &str, _h: Arc<dyn EventHandler>) -> Result<Subscription> {
        Err(CdcError::not_found(source_id, "racing"))
    }
}

#[tokio::test]
async fn start_undoes_the_connect_when_registering_fails() {
    let registry = Arc::new(SourceRegistry::new());
    let disconnects = Arc::new(AtomicUsize::new(0));
    let (r, d) = (Arc::clone(&registry), Arc::clone(&disconnects));
    let factory = ProviderFactory::new().with("racing", move |_cfg: &SourceConfig| {
        Ok(Arc::new(Racing {
            registry: Arc::clone(&r),
            disconnects: Arc::clone(&d),
        }) as Arc<dyn CdcProvider>)
    });
    let ctx = StepContext::new(Arc::clone(&registry), Arc::new(factory));
    let e = err(
        &ctx,
        "step.cdc_start",
        json!({"source_id": "s", "provider": "racing"}),
    )
    .await;
    assert!(e.to_string().contains("already exists"), "{e}");
    assert_eq!(
        disconnects.load(Ordering::SeqCst),
        1,
        "connect was not undone"
    );
    // the registry still holds the other start's provider, not ours
    assert_eq!(registry.lookup("s").unwrap().name(), "nopause");
}

// ---- step.cdc_stop ----------------------------------------------------------------------

#[tokio::test]
async fn stop_unregisters_and_disconnects() {
    let (ctx, p) = with_memory_source().await;
    let out = ok(&ctx, "step.cdc_stop", json!({"source_id": "db"})).await;
    assert_eq!(
        out,
        json!({"source_id": "db", "action": "stopped", "provider": "memory"})
    );
    assert!(!ctx.registry.contains("db"));
    assert!(p.source_ids().is_empty());
    assert_eq!(p.running_tasks(), 0);
    let e = err(&ctx, "step.cdc_stop", json!({"source_id": "db"})).await;
    assert!(matches!(e.kind, StepErrorKind::NotRegistered { .. }), "{e}");
}

// ---- step.cdc_snapshot ------------------------------------------------------------------

#[tokio::test]
async fn snapshot_returns_the_report_and_the_source_emits_snapshot_started() {
    let (ctx, p) = with_memory_source().await;
    let seen = Arc::new(Mutex::new(Vec::<SharedEvent>::new()));
    let s = Arc::clone(&seen);
    let _sub = p
        .subscribe(
            "db",
            handler_fn(move |e: SharedEvent| {
                let s = Arc::clone(&s);
                async move {
                    s.lock().unwrap().push(e);
                    Ok(())
                }
            }),
        )
        .unwrap();
    let out = ok(
        &ctx,
        "step.cdc_snapshot",
        json!({"source_id": "db", "tables": ["public.orders"]}),
    )
    .await;
    assert_eq!(
        out,
        json!({"source_id": "db", "action": "snapshot_triggered", "tables": ["public.orders"], "method": "control_event"})
    );
    let out = ok(&ctx, "step.cdc_snapshot", json!({"source_id": "db"})).await;
    assert_eq!(
        out["tables"],
        json!(["public.users"]),
        "empty means the configured tables"
    );
    p.wait_idle("db").await.unwrap();
    {
        let seen = seen.lock().unwrap();
        assert_eq!(seen.len(), 2);
        assert_eq!(seen[0].control.as_deref(), Some("snapshot_started"));
        assert_eq!(seen[0].metadata["tables"], json!(["public.orders"]));
    }

    let e = err(
        &ctx,
        "step.cdc_snapshot",
        json!({"source_id": "db", "tables": ["ok", "bad name"]}),
    )
    .await;
    assert_field(&e, "tables[1]");
    let (ctx, _np) = with_nopause_source((None, None));
    let out = ok(&ctx, "step.cdc_snapshot", json!({"source_id": "np"})).await;
    assert_eq!(out["detail"], "nothing to do");
}

// ---- step.cdc_schema_history ------------------------------------------------------------

#[tokio::test]
async fn schema_history_returns_history_and_count() {
    let (ctx, p) = with_memory_source().await;
    let at = time::macros::datetime!(2026-03-01 12:00:00 UTC);
    for (table, version, ddl) in [
        ("public.users", 1, "CREATE TABLE users (id int)"),
        ("public.users", 2, "ALTER TABLE users ADD name text"),
        ("public.orders", 1, "CREATE TABLE orders (id int)"),
    ] {
        p.add_schema_version(
            "db",
            SchemaVersion {
                table: table.into(),
                version,
                ddl: ddl.into(),
                applied_at: at,
                position: None,
            },
        )
        .unwrap();
    }
    let out = ok(
        &ctx,
        "step.cdc_schema_history",
        json!({"source_id": "db", "table": "public.users"}),
    )
    .await;
    assert_eq!(out["source_id"], "db");
    assert_eq!(out["table"], "public.users");
    assert_eq!(out["count"], 2);
    assert_eq!(out["history"][1]["version"], 2);
    assert_eq!(out["history"][1]["ddl"], "ALTER TABLE users ADD name text");
    assert_eq!(out["history"][0]["applied_at"], "2026-03-01T12:00:00Z");
    let out = ok(&ctx, "step.cdc_schema_history", json!({"source_id": "db"})).await;
    assert_eq!(out["count"], 3);
    let out = ok(
        &ctx,
        "step.cdc_schema_history",
        json!({"source_id": "db", "table": "nothing"}),
    )
    .await;
    assert_eq!(out["count"], 0);
    assert_eq!(out["history"], json!([]));
    let e = err(
        &ctx,
        "step.cdc_schema_history",
        json!({"source_id": "db", "table": "a.b.c"}),
    )
    .await;
    assert_field(&e, "table");
}

// ---- step.cdc_backpressure --------------------------------------------------------------

#[tokio::test]
async fn backpressure_check_by_bytes_and_by_seconds_in_both_spellings() {
    let (ctx, p) = with_memory_source().await;
    let go_style = json!({"source_id": "db", "action": "check", "thresholds": {"lag_bytes": 1000, "lag_seconds": 100}});
    let flat = json!({"source_id": "db", "threshold_lag_bytes": 1000, "threshold_lag_seconds": 100, "warning_multiplier": 0.8});
    for (lag_bytes, lag_seconds, want) in [
        (0, 0, "healthy"),
        (799, 79, "healthy"),
        (800, 0, "warning"),
        (0, 80, "warning"),
        (1000, 0, "critical"),
        (0, 100, "critical"),
        (5000, 5000, "critical"),
    ] {
        p.set_lag("db", lag_bytes, lag_seconds).unwrap();
        for config in [&go_style, &flat] {
            let out = ok(&ctx, "step.cdc_backpressure", config.clone()).await;
            assert_eq!(
                out["status"], want,
                "{lag_bytes} B / {lag_seconds} s with {config}"
            );
            assert_eq!(out["lag_bytes"], lag_bytes);
            assert_eq!(out["lag_seconds"], lag_seconds);
            assert_eq!(out["action"], "checked");
            assert_eq!(out["throttled"], false);
            assert_eq!(out["state"], "running");
            assert_eq!(
                out["thresholds"],
                json!({"lag_bytes": 1000, "lag_seconds": 100, "warning_multiplier": 0.8})
            );
        }
    }
    // defaults (1 GiB, 300 s, 0.8); action defaults to check
    p.set_lag("db", 0, 240).unwrap();
    let out = ok(&ctx, "step.cdc_backpressure", json!({"source_id": "db"})).await;
    assert_eq!(out["status"], "warning");
    assert_eq!(out["thresholds"]["lag_bytes"], 1_073_741_824_i64);
    // a custom multiplier
    p.set_lag("db", 500, 0).unwrap();
    let out = ok(
        &ctx,
        "step.cdc_backpressure",
        json!({"source_id": "db", "threshold_lag_bytes": 1000, "warning_multiplier": 0.5}),
    )
    .await;
    assert_eq!(out["status"], "warning");
    // any whole JSON number is a threshold: 1000000.0 and 1e6 are 1000000 (YAML and JSON
    // writers spell them so); a fraction is not a whole number of bytes
    p.set_lag("db", 1_000_000, 0).unwrap();
    for spelled in ["1000000.0", "1e6", "1000000"] {
        let n: Value = serde_json::from_str(spelled).unwrap();
        for config in [
            json!({"source_id": "db", "threshold_lag_bytes": n}),
            json!({"source_id": "db", "thresholds": {"lag_bytes": n}}),
        ] {
            for step in ["step.cdc_backpressure", "step.cdc_monitor"] {
                let out = ok(&ctx, step, config.clone()).await;
                assert_eq!(out["status"], "critical", "{step} {config}");
            }
        }
    }
    let e = err(
        &ctx,
        "step.cdc_backpressure",
        json!({"source_id": "db", "threshold_lag_bytes": 1000.5}),
    )
    .await;
    assert_field(&e, "threshold_lag_bytes");
    // 0 turns a check off
    p.set_lag("db", 10_000, 0).unwrap();
    let out = ok(
        &ctx,
        "step.cdc_backpressure",
        json!({"source_id": "db", "thresholds": {"lag_bytes": 0}}),
    )
    .await;
    assert_eq!(out["status"], "healthy");
}

#[tokio::test]
async fn backpressure_unknown_lag_is_null_not_zero() {
    let (ctx, _np) = with_nopause_source((None, None));
    let out = ok(&ctx, "step.cdc_backpressure", json!({"source_id": "np"})).await;
    assert_eq!(out["lag_bytes"], Value::Null);
    assert_eq!(out["lag_seconds"], Value::Null);
    assert_eq!(out["status"], "healthy");
    let out = ok(&ctx, "step.cdc_monitor", json!({"source_id": "np"})).await;
    assert_eq!(out["lag_bytes"], Value::Null);
    assert_eq!(out["metrics"]["lag_seconds"], Value::Null);
}

#[tokio::test]
async fn backpressure_throttle_and_resume_pause_and_resume_the_source() {
    let (ctx, p) = with_memory_source().await;
    p.set_lag("db", 2_000_000_000, 0).unwrap();
    let out = ok(
        &ctx,
        "step.cdc_backpressure",
        json!({"source_id": "db", "action": "throttle"}),
    )
    .await;
    assert_eq!(out["action"], "throttled");
    assert_eq!(out["previous_state"], "running");
    assert_eq!(out["state"], "paused");
    assert_eq!(out["throttled"], true);
    assert_eq!(out["status"], "critical");
    assert_eq!(p.status("db").await.unwrap().state, SourceState::Paused);

    // while paused, nothing is delivered; after resume, everything is
    let seen = Arc::new(AtomicUsize::new(0));
    let s = Arc::clone(&seen);
    let _sub = p
        .subscribe(
            "db",
            handler_fn(move |_e: SharedEvent| {
                let s = Arc::clone(&s);
                async move {
                    s.fetch_add(1, Ordering::SeqCst);
                    Ok(())
                }
            }),
        )
        .unwrap();
    p.try_inject(
        "db",
        ChangeEvent::new("db", Operation::Insert, "public.users"),
    )
    .unwrap();
    let out = ok(
        &ctx,
        "step.cdc_backpressure",
        json!({"source_id": "db", "action": "check"}),
    )
    .await;
    assert_eq!(out["throttled"], true);
    assert_eq!(out["state"], "paused");

    let out = ok(
        &ctx,
        "step.cdc_backpressure",
        json!({"source_id": "db", "action": "RESUME"}),
    )
    .await;
    assert_eq!(out["action"], "resumed");
    assert_eq!(out["previous_state"], "paused");
    assert_eq!(out["state"], "running");
    assert_eq!(out["throttled"], false);
    p.wait_idle("db").await.unwrap();
    assert_eq!(seen.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn backpressure_throttle_on_a_provider_without_pause_is_a_clear_error() {
    let (ctx, _np) = with_nopause_source((Some(5), Some(5)));
    for (action, word) in [("throttle", "throttled"), ("resume", "resumed")] {
        let e = err(
            &ctx,
            "step.cdc_backpressure",
            json!({"source_id": "np", "action": action}),
        )
        .await;
        assert!(matches!(e.kind, StepErrorKind::NotPausable { .. }), "{e}");
        assert_eq!(
            e.to_string(),
            format!(
                "step.cdc_backpressure \"my-step\": source \"np\" (provider nopause) cannot be {word}: the provider has no pause/resume"
            )
        );
        let cdc: CdcError = e.into();
        assert!(matches!(cdc, CdcError::Unsupported { .. }));
    }
    // check still works
    let out = ok(&ctx, "step.cdc_backpressure", json!({"source_id": "np"})).await;
    assert_eq!(out["lag_bytes"], 5);
}

/// `1e-9223372036854775808`, kept as written (`arbitrary_precision`): not a whole number.
fn tiny_number() -> Value {
    serde_json::from_str("1e-9223372036854775808").unwrap()
}

#[tokio::test]
async fn backpressure_and_monitor_reject_bad_thresholds_naming_the_field() {
    let (ctx, _p) = with_memory_source().await;
    for step in ["step.cdc_backpressure", "step.cdc_monitor"] {
        for (config, field) in [
            (
                json!({"thresholds": {"lag_bytes": "1GB"}}),
                "thresholds.lag_bytes",
            ),
            (
                json!({"thresholds": {"lag_bytes": 1.5}}),
                "thresholds.lag_bytes",
            ),
            (json!({"thresholds": {"lag_bytez": 1}}), "thresholds"),
            (json!({"thresholds": [1, 2]}), "thresholds"),
            (
                json!({"thresholds": {"lag_seconds": -1}}),
                "thresholds.lag_seconds",
            ),
            (json!({"threshold_lag_bytes": -5}), "threshold_lag_bytes"),
            // An exponent at the end of i64 (a number from row data through a reference).
            (
                json!({"threshold_lag_bytes": tiny_number()}),
                "threshold_lag_bytes",
            ),
            (
                json!({"thresholds": {"lag_seconds": tiny_number()}}),
                "thresholds.lag_seconds",
            ),
            (
                json!({"threshold_lag_seconds": "5m"}),
                "threshold_lag_seconds",
            ),
            (
                json!({"thresholds": {"lag_bytes": 10}, "threshold_lag_bytes": 20}),
                "threshold_lag_bytes",
            ),
            (json!({"warning_multiplier": 0}), "warning_multiplier"),
            (json!({"warning_multiplier": 1.5}), "warning_multiplier"),
            (json!({"warning_multiplier": "high"}), "warning_multiplier"),
            (json!({"treshold_lag_bytes": 5}), "treshold_lag_bytes"),
        ] {
            let mut config = config;
            config["source_id"] = json!("db");
            let e = err(&ctx, step, config).await;
            assert_field(&e, field);
        }
    }
    // the same value in both spellings is fine
    ok(
        &ctx,
        "step.cdc_backpressure",
        json!({"source_id": "db", "thresholds": {"lag_bytes": 10}, "threshold_lag_bytes": 10}),
    )
    .await;
    let e = err(
        &ctx,
        "step.cdc_backpressure",
        json!({"source_id": "db", "action": "explode"}),
    )
    .await;
    assert_field(&e, "action");
    assert!(e.to_string().contains("check, throttle, resume"), "{e}");
}

// ---- step.cdc_monitor -------------------------------------------------------------------

#[tokio::test]
async fn monitor_healthy_warning_critical_with_auto_throttle() {
    let (ctx, p) = with_memory_source().await;
    let config = json!({"source_id": "db", "thresholds": {"lag_bytes": 1000, "lag_seconds": 100}});

    p.set_lag("db", 10, 1).unwrap();
    let out = ok(&ctx, "step.cdc_monitor", config.clone()).await;
    assert_eq!(out["status"], "healthy");
    assert_eq!(out["healthy"], true);
    assert_eq!(out["alerts_sent"], 0);
    assert_eq!(out["auto_throttled"], false);
    assert_eq!(out["lag_bytes"], 10);
    assert_eq!(out["lag_seconds"], 1);
    let metrics = &out["metrics"];
    for key in [
        "state",
        "provider",
        "last_event",
        "lag_bytes",
        "lag_seconds",
        "thresholds",
        "details",
    ] {
        assert!(
            metrics.get(key).is_some(),
            "metrics.{key} missing: {metrics}"
        );
    }
    assert_eq!(metrics["provider"], "memory");
    assert_eq!(metrics["thresholds"]["lag_bytes"], 1000);

    p.set_lag("db", 0, 90).unwrap();
    let out = ok(&ctx, "step.cdc_monitor", config.clone()).await;
    assert_eq!(out["status"], "warning");
    assert_eq!(out["healthy"], false);
    assert_eq!(out["alerts_sent"], 1);
    assert!(out["alerts"][0].as_str().unwrap().contains("warning"));
    assert_eq!(out["auto_throttled"], false);
    assert_eq!(p.status("db").await.unwrap().state, SourceState::Running);

    p.set_lag("db", 0, 100).unwrap();
    let mut no_auto = config.clone();
    no_auto["auto_throttle"] = json!(false);
    let out = ok(&ctx, "step.cdc_monitor", no_auto).await;
    assert_eq!(out["status"], "critical");
    assert_eq!(out["auto_throttled"], false);
    assert_eq!(p.status("db").await.unwrap().state, SourceState::Running);

    let out = ok(&ctx, "step.cdc_monitor", config.clone()).await;
    assert_eq!(out["status"], "critical");
    assert_eq!(out["alerts_sent"], 1);
    assert_eq!(out["auto_throttled"], true);
    assert_eq!(out["throttled"], true);
    assert_eq!(out["metrics"]["state"], "paused");
    assert!(out.get("auto_throttle_error").is_none());
    assert_eq!(p.status("db").await.unwrap().state, SourceState::Paused);

    // already paused: not throttled again by this run, still reported throttled
    let out = ok(&ctx, "step.cdc_monitor", config).await;
    assert_eq!(out["auto_throttled"], false);
    assert_eq!(out["throttled"], true);
}

#[tokio::test]
async fn monitor_critical_on_a_provider_without_pause_says_why_it_did_not_throttle() {
    let (ctx, _np) = with_nopause_source((Some(2_000_000_000), Some(0)));
    let out = ok(&ctx, "step.cdc_monitor", json!({"source_id": "np"})).await;
    assert_eq!(out["status"], "critical");
    assert_eq!(out["alerts_sent"], 1);
    assert_eq!(out["auto_throttled"], false);
    assert_eq!(out["throttled"], false);
    assert!(
        out["auto_throttle_error"]
            .as_str()
            .unwrap()
            .contains("cannot pause"),
        "{out}"
    );
}

// ---- schemas ----------------------------------------------------------------------------

#[tokio::test]
async fn schemas_describe_every_step_and_every_output_key_a_step_produces() {
    let schemas = StepRegistry::standard().schemas();
    let names: Vec<&String> = schemas.as_object().unwrap().keys().collect();
    let mut want: Vec<&str> = ALL_STEPS.to_vec();
    want.sort();
    assert_eq!(names, want);
    for step in ALL_STEPS {
        let s = &schemas[step];
        assert!(s["description"].as_str().is_some_and(|d| !d.is_empty()));
        assert_eq!(
            s["config"]["source_id"],
            json!({"type": "string", "required": true, "description": "The source, by id."})
        );
        for (field, spec) in s["config"].as_object().unwrap() {
            assert!(
                spec["type"].is_string() && spec["required"].is_boolean(),
                "{step}.{field}"
            );
        }
    }
    assert_eq!(
        schemas["step.cdc_backpressure"]["config"]["action"]["options"],
        json!(["check", "throttle", "resume"])
    );
    assert_eq!(
        schemas["step.cdc_backpressure"]["config"]["action"]["default"],
        "check"
    );
    assert_eq!(
        schemas["step.cdc_monitor"]["config"]["auto_throttle"]["default"],
        true
    );

    // every key of every happy-path output is in the schema's outputs
    let (ctx, p) = with_memory_source().await;
    p.set_lag("db", 2_000_000_000, 1).unwrap();
    let outputs = [
        (
            "step.cdc_status",
            ok(&ctx, "step.cdc_status", json!({"source_id": "db"})).await,
        ),
        (
            "step.cdc_start",
            ok(&ctx, "step.cdc_start", json!({"source_id": "db"})).await,
        ),
        (
            "step.cdc_snapshot",
            ok(&ctx, "step.cdc_snapshot", json!({"source_id": "db"})).await,
        ),
        (
            "step.cdc_schema_history",
            ok(&ctx, "step.cdc_schema_history", json!({"source_id": "db"})).await,
        ),
        (
            "step.cdc_backpressure",
            ok(
                &ctx,
                "step.cdc_backpressure",
                json!({"source_id": "db", "action": "throttle"}),
            )
            .await,
        ),
        (
            "step.cdc_monitor",
            ok(&ctx, "step.cdc_monitor", json!({"source_id": "db"})).await,
        ),
        (
            "step.cdc_stop",
            ok(&ctx, "step.cdc_stop", json!({"source_id": "db"})).await,
        ),
    ];
    for (step, out) in outputs {
        for key in out.as_object().unwrap().keys() {
            assert!(
                schemas[step]["outputs"].get(key).is_some(),
                "{step} outputs {key:?} but its schema does not list it"
            );
        }
    }
}

// ---- bad config of every kind -----------------------------------------------------------

/// A value of the wrong type for a field of schema type `kind`.
fn wrong_value(kind: &str) -> Vec<Value> {
    match kind {
        "string" => vec![json!(5), json!(["a"]), json!({"a": 1}), json!(true)],
        "integer" => vec![json!("10"), json!(1.5), json!([1]), json!(false)],
        "number" => vec![json!("0.5"), json!([0.5]), json!({"v": 1})],
        "boolean" => vec![json!("yes"), json!(1), json!("true")],
        "array" => vec![
            json!("public.users"),
            json!(3),
            json!({"a": 1}),
            json!([1, 2]),
        ],
        "object" => vec![json!("x"), json!(7), json!(["a"])],
        other => panic!("unknown schema type {other}"),
    }
}

#[tokio::test]
async fn bad_config_of_every_kind_is_an_error_naming_the_field() {
    let (ctx, _p) = with_memory_source().await;
    let schemas = StepRegistry::standard().schemas();
    for step in ALL_STEPS {
        // not a map at all
        for config in [json!("db"), json!(["source_id"]), json!(5), json!(true)] {
            let e = err(&ctx, step, config).await;
            assert_field(&e, "config");
        }
        // a key that is not a field
        let e = err(&ctx, step, json!({"source_id": "db", "sourceid": "db"})).await;
        assert_field(&e, "sourceid");
        assert!(e.to_string().contains("valid fields: "), "{e}");
        // each field with values of the wrong type
        for (field, spec) in schemas[step]["config"].as_object().unwrap() {
            for bad in wrong_value(spec["type"].as_str().unwrap()) {
                let mut config = json!({"source_id": "db"});
                config[field.as_str()] = bad.clone();
                let e = err(&ctx, step, config).await;
                let got = e
                    .field()
                    .unwrap_or_else(|| panic!("{step}.{field} = {bad}: {e}"));
                assert!(
                    got.starts_with(field.as_str()),
                    "{step}.{field} = {bad}: {e}"
                );
            }
        }
    }
}
