//! trigger.cdc against the memory provider (and a hand-driven provider where a test needs to
//! control batches exactly), always through an injected `SourceRegistry`.

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use cdc_core::error::BoxError;
use cdc_core::{
    CdcError, CdcProvider, CdcStatus, ChangeEvent, EventHandler, Operation, Result, SchemaVersion,
    SharedEvent, SnapshotReport, SourceConfig, SourceRegistry, Subscribers, Subscription,
};
use cdc_memory::MemoryProvider;
use cdc_trigger::{CdcTrigger, TriggerCallback, TriggerConfig, TriggerError, callback_fn};
use serde_json::json;
use tokio::sync::{Notify, mpsc};

/// Records (action, operation, schema.table) of every call.
#[derive(Default)]
struct Recorder {
    seen: Mutex<Vec<(String, Operation, String)>>,
}

impl Recorder {
    fn seen(&self) -> Vec<(String, Operation, String)> {
        self.seen.lock().unwrap().clone()
    }
    fn tables(&self) -> Vec<String> {
        self.seen().into_iter().map(|(_, _, t)| t).collect()
    }
}

impl TriggerCallback for Recorder {
    async fn fire(&self, action: &str, event: &SharedEvent) -> Result<(), BoxError> {
        self.seen.lock().unwrap().push((
            action.to_owned(),
            event.operation,
            event.qualified_table(),
        ));
        Ok(())
    }
}

async fn memory_source(id: &str) -> (Arc<SourceRegistry>, Arc<MemoryProvider>) {
    let registry = Arc::new(SourceRegistry::new());
    let provider = Arc::new(MemoryProvider::new());
    let config = SourceConfig {
        provider: "memory".into(),
        source_id: id.into(),
        ..Default::default()
    };
    provider.connect(&config).await.unwrap();
    registry
        .register(id, Arc::clone(&provider) as Arc<dyn CdcProvider>)
        .unwrap();
    (registry, provider)
}

fn ev(op: Operation, table: &str) -> ChangeEvent {
    ChangeEvent::new("ignored", op, table).with_after(json!({"id": 1}))
}

async fn inject_all(p: &MemoryProvider, id: &str, events: &[(Operation, &str)]) {
    for (op, table) in events {
        p.inject(id, ev(*op, table)).await.unwrap();
    }
    p.wait_idle(id).await.unwrap();
}

fn trigger(
    registry: &Arc<SourceRegistry>,
    config: TriggerConfig,
) -> (CdcTrigger<Arc<Recorder>>, Arc<Recorder>) {
    let rec = Arc::new(Recorder::default());
    let t = CdcTrigger::new(config, Arc::clone(registry), Arc::clone(&rec)).unwrap();
    (t, rec)
}

#[tokio::test]
async fn start_delivers_cdc_change_and_stop_is_final_and_idempotent() {
    let (registry, p) = memory_source("db").await;
    let (t, rec) = trigger(&registry, TriggerConfig::new("db"));
    assert!(!t.is_running());
    t.start().unwrap();
    assert!(t.is_running());
    inject_all(
        &p,
        "db",
        &[
            (Operation::Insert, "public.users"),
            (Operation::Delete, "public.orders"),
        ],
    )
    .await;
    assert_eq!(
        rec.seen(),
        vec![
            (
                "cdc.change".to_owned(),
                Operation::Insert,
                "public.users".to_owned()
            ),
            (
                "cdc.change".to_owned(),
                Operation::Delete,
                "public.orders".to_owned()
            ),
        ]
    );
    let status = p.status("db").await.unwrap();
    assert_eq!(status.details["subscribers"], 1);

    assert!(t.stop());
    assert!(!t.is_running());
    assert_eq!(p.status("db").await.unwrap().details["subscribers"], 0);
    inject_all(&p, "db", &[(Operation::Insert, "public.users")]).await;
    assert_eq!(rec.seen().len(), 2, "a callback fired after stop");
    // stop again: nothing to do, no error
    assert!(!t.stop());
    assert!(!t.stop());

    // a stopped trigger can be started again
    t.start().unwrap();
    inject_all(&p, "db", &[(Operation::Update, "public.users")]).await;
    assert_eq!(rec.seen().len(), 3);
    assert_eq!(rec.seen()[2].1, Operation::Update);
}

#[tokio::test]
async fn empty_filter_passes_everything_including_snapshot_control_events() {
    let (registry, p) = memory_source("db").await;
    let (t, rec) = trigger(
        &registry,
        TriggerConfig::from_yaml("source_id: db\n").unwrap(),
    );
    t.start().unwrap();
    inject_all(
        &p,
        "db",
        &[(Operation::Truncate, "x.y"), (Operation::SnapshotRead, "a")],
    )
    .await;
    p.snapshot("db", &[]).await.unwrap();
    p.wait_idle("db").await.unwrap();
    let ops: Vec<Operation> = rec.seen().into_iter().map(|(_, op, _)| op).collect();
    assert_eq!(
        ops,
        vec![
            Operation::Truncate,
            Operation::SnapshotRead,
            Operation::Control
        ]
    );
}

#[tokio::test]
async fn table_filter_schema_less_matches_any_schema_qualified_matches_its_own() {
    let (registry, p) = memory_source("db").await;
    let (any_schema, rec_any) = trigger(&registry, TriggerConfig::new("db").with_tables(["users"]));
    let (public_only, rec_public) = trigger(
        &registry,
        TriggerConfig::new("db").with_tables(["public.users"]),
    );
    let (two, rec_two) = trigger(
        &registry,
        TriggerConfig::new("db").with_tables(["public.users", "orders"]),
    );
    any_schema.start().unwrap();
    public_only.start().unwrap();
    two.start().unwrap();
    inject_all(
        &p,
        "db",
        &[
            (Operation::Insert, "public.users"),
            (Operation::Insert, "audit.users"),
            (Operation::Insert, "users"),
            (Operation::Insert, "public.orders"),
            (Operation::Insert, "public.users_archive"),
        ],
    )
    .await;
    assert_eq!(
        rec_any.tables(),
        vec!["public.users", "audit.users", "users"]
    );
    assert_eq!(rec_public.tables(), vec!["public.users"]);
    assert_eq!(rec_two.tables(), vec!["public.users", "public.orders"]);
}

#[tokio::test]
async fn action_filter_is_case_insensitive_and_accepts_debezium_codes() {
    let (registry, p) = memory_source("db").await;
    let (t, rec) = trigger(
        &registry,
        TriggerConfig::new("db").with_actions(["insert", "D", "r"]),
    );
    let (trunc, rec_trunc) = trigger(
        &registry,
        TriggerConfig::new("db").with_actions(["TRUNCATE", "u"]),
    );
    t.start().unwrap();
    trunc.start().unwrap();
    inject_all(
        &p,
        "db",
        &[
            (Operation::Insert, "t"),
            (Operation::Update, "t"),
            (Operation::Delete, "t"),
            (Operation::SnapshotRead, "t"),
            (Operation::Truncate, "t"),
        ],
    )
    .await;
    // control events never pass an action filter
    p.snapshot("db", &[]).await.unwrap();
    p.wait_idle("db").await.unwrap();
    let ops: Vec<Operation> = rec.seen().into_iter().map(|(_, op, _)| op).collect();
    assert_eq!(
        ops,
        vec![
            Operation::Insert,
            Operation::Delete,
            Operation::SnapshotRead
        ]
    );
    let ops: Vec<Operation> = rec_trunc.seen().into_iter().map(|(_, op, _)| op).collect();
    assert_eq!(ops, vec![Operation::Update, Operation::Truncate]);
}

#[tokio::test]
async fn tables_and_actions_together() {
    let (registry, p) = memory_source("db").await;
    let (t, rec) = trigger(
        &registry,
        TriggerConfig::from_json(
            r#"{"source_id":"db","tables":["public.orders"],"actions":["UPDATE"]}"#,
        )
        .unwrap(),
    );
    t.start().unwrap();
    inject_all(
        &p,
        "db",
        &[
            (Operation::Insert, "public.orders"),
            (Operation::Update, "public.orders"),
            (Operation::Update, "public.users"),
        ],
    )
    .await;
    assert_eq!(
        rec.seen(),
        vec![(
            "cdc.change".into(),
            Operation::Update,
            "public.orders".into()
        )]
    );
}

#[tokio::test]
async fn double_start_is_an_error_and_does_not_duplicate_delivery() {
    let (registry, p) = memory_source("db").await;
    let (t, rec) = trigger(&registry, TriggerConfig::new("db"));
    t.start().unwrap();
    let err = t.start().unwrap_err();
    assert!(matches!(err, TriggerError::AlreadyStarted { .. }), "{err}");
    assert!(err.to_string().contains("\"db\"") && err.to_string().contains("already started"));
    inject_all(&p, "db", &[(Operation::Insert, "t")]).await;
    assert_eq!(rec.seen().len(), 1);
    assert_eq!(p.status("db").await.unwrap().details["subscribers"], 1);
}

#[tokio::test]
async fn source_not_registered_and_source_not_running_are_errors_naming_the_source() {
    let registry = Arc::new(SourceRegistry::new());
    let (t, _) = trigger(&registry, TriggerConfig::new("missing-db"));
    let err = t.start().unwrap_err();
    assert!(
        matches!(err, TriggerError::SourceNotRegistered { .. }),
        "{err}"
    );
    assert!(err.to_string().contains("missing-db"), "{err}");
    assert_eq!(err.source_id(), Some("missing-db"));
    assert!(!t.is_running());
    assert!(!t.stop());

    // Registered, but the provider no longer runs it (disconnected behind the registry's back).
    let (registry, p) = memory_source("gone").await;
    // Let the memory source's delivery task run once before disconnecting (see the report:
    // a disconnect right after connect, before that task first runs, can wait forever).
    inject_all(&p, "gone", &[(Operation::Insert, "t")]).await;
    p.disconnect("gone").await.unwrap();
    let (t, _) = trigger(&registry, TriggerConfig::new("gone"));
    let err = t.start().unwrap_err();
    assert!(matches!(err, TriggerError::Subscribe { .. }), "{err}");
    let text = err.to_string();
    assert!(
        text.contains("\"gone\"") && text.contains("memory"),
        "{text}"
    );
    assert!(!t.is_running());
    let cdc: CdcError = err.into();
    assert!(matches!(cdc, CdcError::NotFound { .. }));
}

#[tokio::test]
async fn two_triggers_on_one_source_each_get_every_event() {
    let (registry, p) = memory_source("db").await;
    let (a, rec_a) = trigger(&registry, TriggerConfig::new("db"));
    let (b, rec_b) = trigger(&registry, TriggerConfig::new("db"));
    a.start().unwrap();
    b.start().unwrap();
    inject_all(
        &p,
        "db",
        &[(Operation::Insert, "t1"), (Operation::Insert, "t2")],
    )
    .await;
    assert_eq!(rec_a.tables(), vec!["t1", "t2"]);
    assert_eq!(rec_b.tables(), vec!["t1", "t2"]);
    // stopping one leaves the other subscribed
    a.stop();
    inject_all(&p, "db", &[(Operation::Insert, "t3")]).await;
    assert_eq!(rec_a.tables(), vec!["t1", "t2"]);
    assert_eq!(rec_b.tables(), vec!["t1", "t2", "t3"]);
}

#[tokio::test]
async fn closure_callback_gets_the_event() {
    let (registry, p) = memory_source("db").await;
    let (tx, mut rx) = mpsc::unbounded_channel();
    let t = CdcTrigger::new(
        TriggerConfig::new("db"),
        Arc::clone(&registry),
        callback_fn(move |action: &'static str, event: SharedEvent| {
            let tx = tx.clone();
            async move {
                tx.send((action, event))?;
                Ok(())
            }
        }),
    )
    .unwrap();
    t.start().unwrap();
    p.inject("db", ev(Operation::Insert, "public.orders"))
        .await
        .unwrap();
    let (action, event) = rx.recv().await.unwrap();
    assert_eq!(action, "cdc.change");
    assert_eq!(event.source_id, "db");
    assert_eq!(event.after, Some(json!({"id": 1}).into()));
}

#[tokio::test]
async fn bad_config_is_an_error_naming_the_field_before_anything_runs() {
    let registry = Arc::new(SourceRegistry::new());
    for (config, field) in [
        (TriggerConfig::default(), "source_id"),
        (TriggerConfig::new("db").with_tables(["a.b.c"]), "tables[0]"),
        (
            TriggerConfig::new("db").with_actions(["insert", "merge"]),
            "actions[1]",
        ),
    ] {
        let err = CdcTrigger::new(config, Arc::clone(&registry), Recorder::default()).unwrap_err();
        match &err {
            TriggerError::InvalidConfig { field: f, .. } => assert_eq!(f, field),
            other => panic!("{other}"),
        }
        assert!(err.to_string().contains(field), "{err}");
    }
}

// ---- a provider whose batches the test hands over itself ----------------------------------

/// Runs one source whose batches the test delivers with `deliver`.
struct HandDriven {
    subscribers: Subscribers,
}

impl HandDriven {
    fn new(id: &str) -> Self {
        Self {
            subscribers: Subscribers::new(id),
        }
    }
}

#[async_trait]
impl CdcProvider for HandDriven {
    fn name(&self) -> &str {
        "hand-driven"
    }
    async fn connect(&self, _config: &SourceConfig) -> Result<()> {
        Ok(())
    }
    async fn disconnect(&self, _source_id: &str) -> Result<()> {
        Ok(())
    }
    async fn status(&self, source_id: &str) -> Result<CdcStatus> {
        Ok(CdcStatus::not_found(source_id, "hand-driven"))
    }
    async fn snapshot(&self, source_id: &str, tables: &[String]) -> Result<SnapshotReport> {
        Ok(SnapshotReport::new(source_id, tables, "none"))
    }
    async fn schema_history(&self, _: &str, _: &str) -> Result<Vec<SchemaVersion>> {
        Ok(Vec::new())
    }
    fn subscribe(&self, _source_id: &str, handler: Arc<dyn EventHandler>) -> Result<Subscription> {
        Ok(self.subscribers.subscribe(handler))
    }
}

fn batch(ops: &[(Operation, &str)]) -> Vec<SharedEvent> {
    ops.iter()
        .enumerate()
        .map(|(i, (op, t))| Arc::new(ChangeEvent::new("hd", *op, t).with_key(json!({"id": i}))))
        .collect()
}

#[tokio::test]
async fn stop_during_a_batch_in_flight_fires_no_further_callback() {
    let provider = Arc::new(HandDriven::new("hd"));
    let registry = Arc::new(SourceRegistry::new());
    registry
        .register("hd", Arc::clone(&provider) as Arc<dyn CdcProvider>)
        .unwrap();

    // The callback signals it entered, then blocks until released.
    let entered = Arc::new(Notify::new());
    let release = Arc::new(Notify::new());
    let calls = Arc::new(Mutex::new(0usize));
    let (e, r, c) = (
        Arc::clone(&entered),
        Arc::clone(&release),
        Arc::clone(&calls),
    );
    let t = CdcTrigger::new(
        TriggerConfig::new("hd"),
        Arc::clone(&registry),
        callback_fn(move |_action: &'static str, _event: SharedEvent| {
            let (e, r, c) = (Arc::clone(&e), Arc::clone(&r), Arc::clone(&c));
            async move {
                *c.lock().unwrap() += 1;
                e.notify_one();
                r.notified().await;
                Ok(())
            }
        }),
    )
    .unwrap();
    t.start().unwrap();

    let subs = provider.subscribers.clone();
    let events = batch(&[
        (Operation::Insert, "a"),
        (Operation::Insert, "b"),
        (Operation::Insert, "c"),
    ]);
    let delivery = tokio::spawn(async move { subs.deliver(&events).await });
    entered.notified().await; // first callback is running
    assert!(t.stop());
    release.notify_one();
    delivery.await.unwrap().unwrap();
    assert_eq!(
        *calls.lock().unwrap(),
        1,
        "callbacks fired after stop returned"
    );
    assert!(provider.subscribers.is_empty());
}

/// Fails on tables named `bad`.
struct FailOnBad {
    fired: Mutex<Vec<String>>,
}

impl TriggerCallback for FailOnBad {
    async fn fire(&self, _action: &str, event: &SharedEvent) -> Result<(), BoxError> {
        if event.table == "bad" {
            return Err(format!("cannot handle {}", event.table).into());
        }
        self.fired.lock().unwrap().push(event.table.to_string());
        Ok(())
    }
}

#[tokio::test]
async fn callback_error_reports_how_many_events_were_handled() {
    let provider = Arc::new(HandDriven::new("hd"));
    let registry = Arc::new(SourceRegistry::new());
    registry
        .register("hd", Arc::clone(&provider) as Arc<dyn CdcProvider>)
        .unwrap();
    let t = CdcTrigger::new(
        TriggerConfig::new("hd").with_actions(["insert"]),
        Arc::clone(&registry),
        FailOnBad {
            fired: Mutex::new(Vec::new()),
        },
    )
    .unwrap();
    t.start().unwrap();
    // index 1 is filtered out (not an insert); index 2 fails: 2 events handled.
    let events = batch(&[
        (Operation::Insert, "ok1"),
        (Operation::Delete, "bad"),
        (Operation::Insert, "bad"),
        (Operation::Insert, "ok2"),
    ]);
    let failure = provider.subscribers.deliver(&events).await.unwrap_err();
    assert_eq!(failure.handled, 2);
    let message = &failure.errors[0].1.message;
    assert!(
        message.contains("\"hd\"") && message.contains("cannot handle bad"),
        "{message}"
    );
    assert_eq!(*t.callback().fired.lock().unwrap(), vec!["ok1"]);
}

#[tokio::test]
async fn memory_provider_records_a_callback_error_and_goes_on() {
    let (registry, p) = memory_source("db").await;
    let t = CdcTrigger::new(
        TriggerConfig::new("db"),
        Arc::clone(&registry),
        FailOnBad {
            fired: Mutex::new(Vec::new()),
        },
    )
    .unwrap();
    t.start().unwrap();
    inject_all(&p, "db", &[(Operation::Insert, "bad")]).await;
    inject_all(&p, "db", &[(Operation::Insert, "good")]).await;
    let status = p.status("db").await.unwrap();
    assert!(status.error.unwrap().contains("cannot handle bad"));
    assert_eq!(*t.callback().fired.lock().unwrap(), vec!["good"]);
}

#[tokio::test]
async fn dropping_a_trigger_unsubscribes_it() {
    let (registry, p) = memory_source("db").await;
    let (t, rec) = trigger(&registry, TriggerConfig::new("db"));
    t.start().unwrap();
    drop(t);
    assert_eq!(p.status("db").await.unwrap().details["subscribers"], 0);
    inject_all(&p, "db", &[(Operation::Insert, "t")]).await;
    assert!(rec.seen().is_empty());
}
