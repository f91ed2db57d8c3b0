//! Behaviour of the memory provider: Go's MemoryProvider tests and what we add.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use cdc_core::{
    CdcError, CdcProvider, ChangeEvent, EventHandler, HandlerError, Operation, SchemaVersion,
    SharedEvent, SourceConfig, SourceState, handler_fn,
};
use cdc_memory::MemoryProvider;
use serde_json::json;
use time::macros::datetime;

fn config(id: &str) -> SourceConfig {
    SourceConfig {
        provider: "memory".into(),
        source_id: id.into(),
        tables: vec!["public.orders".into()],
        ..Default::default()
    }
}

fn config_with(id: &str, options: serde_json::Value) -> SourceConfig {
    let mut c = config(id);
    c.options = options.as_object().unwrap().clone();
    c
}

/// A handler that records what it sees.
fn recorder() -> (Arc<dyn EventHandler>, Arc<Mutex<Vec<SharedEvent>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let s = Arc::clone(&seen);
    let h = handler_fn(move |e: SharedEvent| {
        let s = Arc::clone(&s);
        async move {
            s.lock().unwrap().push(e);
            Ok(())
        }
    });
    (h, seen)
}

fn insert(id: i64) -> ChangeEvent {
    ChangeEvent::new("ignored", Operation::Insert, "public.orders").with_after(json!({"id": id}))
}

#[tokio::test]
async fn lifecycle_connect_twice_disconnect_unknown_status_unknown() {
    let p = MemoryProvider::new();
    p.connect(&config("s1")).await.unwrap();
    let err = p.connect(&config("s1")).await.unwrap_err();
    assert!(matches!(err, CdcError::AlreadyExists { .. }), "{err}");
    assert!(err.to_string().contains("s1"));

    let st = p.status("s1").await.unwrap();
    assert_eq!(st.state, SourceState::Running);
    assert_eq!(st.provider, "memory");

    let st = p.status("nope").await.unwrap();
    assert_eq!(st.state, SourceState::NotFound);

    let err = p.disconnect("nope").await.unwrap_err();
    assert!(matches!(err, CdcError::NotFound { .. }));
    assert!(err.to_string().contains("nope"));

    p.disconnect("s1").await.unwrap();
    assert_eq!(p.status("s1").await.unwrap().state, SourceState::NotFound);
    assert_eq!(p.running_tasks(), 0, "a task outlived disconnect");
}

#[tokio::test]
async fn invalid_config_is_rejected_naming_the_field() {
    let p = MemoryProvider::new();
    let err = p
        .connect(&config_with("s", json!({"capacity": 0})))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("options.capacity"), "{err}");
    let err = p
        .connect(&config_with("s", json!({"capacity": "big"})))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("options"), "{err}");
    let err = p
        .connect(&config_with("s", json!({"bogus": 1})))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("bogus"), "{err}");
    let err = p
        .connect(&config_with(
            "s",
            json!({"events_file": "/no/such/file.jsonl"}),
        ))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("options.events_file"), "{err}");
    let mut bad = config("");
    bad.source_id.clear();
    let err = p.connect(&bad).await.unwrap_err();
    assert!(err.to_string().contains("source_id"), "{err}");
}

#[tokio::test]
async fn inject_delivers_to_every_subscriber_in_order_and_updates_last_event() {
    let p = MemoryProvider::new();
    p.connect(&config("s")).await.unwrap();
    let (h1, seen1) = recorder();
    let (h2, seen2) = recorder();
    let _s1 = p.subscribe("s", h1).unwrap();
    let s2 = p.subscribe("s", h2).unwrap();
    assert!(p.status("s").await.unwrap().last_event.is_none());
    for i in 0..100 {
        p.inject("s", insert(i)).await.unwrap();
    }
    p.wait_idle("s").await.unwrap();
    let ids = |seen: &Arc<Mutex<Vec<SharedEvent>>>| -> Vec<i64> {
        seen.lock()
            .unwrap()
            .iter()
            .map(|e| e.after.as_ref().unwrap()["id"].as_i64().unwrap())
            .collect()
    };
    assert_eq!(ids(&seen1), (0..100).collect::<Vec<_>>());
    assert_eq!(ids(&seen2), (0..100).collect::<Vec<_>>());
    assert!(seen1.lock().unwrap().iter().all(|e| e.source_id == "s"));
    let st = p.status("s").await.unwrap();
    assert!(st.last_event.is_some());
    assert_eq!(st.details["delivered"], json!(100));

    // dropping one subscription removes exactly that handler
    drop(s2);
    p.inject("s", insert(100)).await.unwrap();
    p.wait_idle("s").await.unwrap();
    assert_eq!(seen1.lock().unwrap().len(), 101);
    assert_eq!(seen2.lock().unwrap().len(), 100);
    p.disconnect("s").await.unwrap();
}

#[tokio::test]
async fn subscribe_to_unknown_source_is_an_error() {
    let p = MemoryProvider::new();
    let (h, _) = recorder();
    let err = p.subscribe("ghost", h).unwrap_err();
    assert!(err.to_string().contains("ghost"));
}

#[tokio::test]
async fn inject_json_go_style_and_bad_maps() {
    let p = MemoryProvider::new();
    p.connect(&config("s")).await.unwrap();
    let (h, seen) = recorder();
    let _sub = p.subscribe("s", h).unwrap();
    p.inject_json(
        "s",
        &json!({"op": "INSERT", "table": "public.orders", "after": {"id": 1}}),
    )
    .await
    .unwrap();
    p.inject_event("s", &json!({"action": "update", "source": "public.orders", "before": {"id": 1}, "after": {"id": 1, "x": 2}}))
        .await
        .unwrap();
    p.wait_idle("s").await.unwrap();
    {
        let seen = seen.lock().unwrap();
        assert_eq!(seen[0].operation, Operation::Insert);
        assert_eq!(seen[0].schema.as_deref(), Some("public"));
        assert_eq!(seen[1].operation, Operation::Update);
        assert_eq!(seen[1].table, "orders");
    }
    let err = p
        .inject_json("s", &json!({"table": "t"}))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("op"), "{err}");
    let err = p.inject_json("s", &json!("text")).await.unwrap_err();
    assert!(err.to_string().contains("object"), "{err}");
    p.disconnect("s").await.unwrap();
}

#[tokio::test]
async fn try_inject_fails_when_full_and_pause_holds_without_loss() {
    let p = MemoryProvider::new();
    p.connect(&config_with("s", json!({"capacity": 4})))
        .await
        .unwrap();
    let (h, seen) = recorder();
    let _sub = p.subscribe("s", h).unwrap();
    let pausable = p.pausable().expect("memory provider can pause");
    pausable.pause("s").await.unwrap();
    assert_eq!(p.status("s").await.unwrap().state, SourceState::Paused);

    // The delivery task may already have taken one batch before it saw the pause; fill until
    // full and count what was accepted.
    let mut accepted = 0;
    let err = loop {
        match p.try_inject("s", insert(accepted)) {
            Ok(()) => accepted += 1,
            Err(e) => break e,
        }
        assert!(accepted <= 8, "buffer of 4 accepted {accepted}");
    };
    assert!(
        matches!(err, CdcError::BufferFull { capacity: 4, .. }),
        "{err}"
    );
    assert!(err.to_string().contains("buffer full"));
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(seen.lock().unwrap().is_empty(), "delivered while paused");

    // inject waits for room while paused, and completes after resume
    let p = Arc::new(p);
    let p2 = Arc::clone(&p);
    let waiter = tokio::spawn(async move { p2.inject("s", insert(999)).await });
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(!waiter.is_finished(), "inject did not wait for room");
    p.pausable().unwrap().resume("s").await.unwrap();
    waiter.await.unwrap().unwrap();
    p.wait_idle("s").await.unwrap();
    let got: Vec<i64> = seen
        .lock()
        .unwrap()
        .iter()
        .map(|e| e.after.as_ref().unwrap()["id"].as_i64().unwrap())
        .collect();
    let mut want: Vec<i64> = (0..accepted).collect();
    want.push(999);
    assert_eq!(got, want);
    assert_eq!(p.status("s").await.unwrap().state, SourceState::Running);
    p.disconnect("s").await.unwrap();
}

#[tokio::test]
async fn snapshot_emits_control_event_with_tables_and_time() {
    let p = MemoryProvider::new();
    p.connect(&config("s")).await.unwrap();
    let (h, seen) = recorder();
    let _sub = p.subscribe("s", h).unwrap();
    let report = p.snapshot("s", &["public.users".into()]).await.unwrap();
    assert_eq!(report.tables, vec!["public.users".to_string()]);
    let report = p.snapshot("s", &[]).await.unwrap();
    assert_eq!(
        report.tables,
        vec!["public.orders".to_string()],
        "empty = configured tables"
    );
    p.wait_idle("s").await.unwrap();
    let seen: Vec<SharedEvent> = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[0].operation, Operation::Control);
    assert_eq!(seen[0].control.as_deref(), Some("snapshot_started"));
    assert_eq!(seen[0].metadata["tables"], json!(["public.users"]));
    assert!(seen[0].commit_time.is_some());
    assert!(p.snapshot("s", &["bad name".into()]).await.is_err());
    assert!(p.snapshot("ghost", &[]).await.is_err());
}

#[tokio::test]
async fn schema_history_is_filtered_by_table() {
    let p = MemoryProvider::new();
    p.connect(&config("s")).await.unwrap();
    let v = |table: &str, version: i64| SchemaVersion {
        table: table.into(),
        version,
        ddl: format!("ALTER TABLE {table} ADD COLUMN c{version} int"),
        applied_at: datetime!(2026-01-01 00:00 UTC),
        position: None,
    };
    p.add_schema_version("s", v("public.users", 1)).unwrap();
    p.add_schema_version("s", v("public.orders", 1)).unwrap();
    p.add_schema_version("s", v("public.users", 2)).unwrap();
    p.add_schema_version("s", v("audit.users", 1)).unwrap();
    let h = p.schema_history("s", "public.users").await.unwrap();
    assert_eq!(h.iter().map(|v| v.version).collect::<Vec<_>>(), vec![1, 2]);
    assert_eq!(p.schema_history("s", "users").await.unwrap().len(), 3);
    assert_eq!(p.schema_history("s", "").await.unwrap().len(), 4);
    assert!(p.schema_history("s", "missing").await.unwrap().is_empty());
    assert!(p.add_schema_version("ghost", v("t", 1)).is_err());
}

#[tokio::test]
async fn set_lag_shows_in_status_and_serializes() {
    let p = MemoryProvider::new();
    p.connect(&config("s")).await.unwrap();
    let st = p.status("s").await.unwrap();
    assert_eq!((st.lag_bytes, st.lag_seconds), (None, None));
    p.set_lag("s", 4096, 12).unwrap();
    let st = p.status("s").await.unwrap();
    let v = serde_json::to_value(&st).unwrap();
    assert_eq!(v["lag_bytes"], json!(4096));
    assert_eq!(v["lag_seconds"], json!(12));
    assert!(p.set_lag("ghost", 1, 1).is_err());
}

#[tokio::test]
async fn handler_error_is_reported_in_status_and_delivery_goes_on() {
    let p = MemoryProvider::new();
    p.connect(&config("s")).await.unwrap();
    let (h, seen) = recorder();
    let _ok = p.subscribe("s", h).unwrap();
    let failing = handler_fn(|e: SharedEvent| async move {
        if e.after.as_ref().unwrap()["id"] == 1 {
            Err("cannot handle order 1".into())
        } else {
            Ok(())
        }
    });
    let _bad = p.subscribe("s", failing).unwrap();
    for i in 0..3 {
        p.inject("s", insert(i)).await.unwrap();
        p.wait_idle("s").await.unwrap();
    }
    assert_eq!(
        seen.lock().unwrap().len(),
        3,
        "the other handler got everything"
    );
    let st = p.status("s").await.unwrap();
    assert!(
        st.error
            .as_deref()
            .unwrap()
            .contains("cannot handle order 1"),
        "{st:?}"
    );
    assert_eq!(st.details["handler_errors"], json!(1));
    assert_eq!(st.state, SourceState::Running);
}

#[tokio::test]
async fn handler_error_struct_reports_handled_count() {
    // A handler written against the batch API reports how far it got.
    struct Half;
    #[async_trait::async_trait]
    impl EventHandler for Half {
        async fn handle(&self, events: &[SharedEvent]) -> Result<(), HandlerError> {
            Err(HandlerError::new(events.len() / 2, "half"))
        }
    }
    let subs = cdc_core::Subscribers::new("x");
    let _s = subs.subscribe(Arc::new(Half));
    let evs: Vec<SharedEvent> = (0..10).map(|i| Arc::new(insert(i))).collect();
    assert_eq!(subs.deliver(&evs).await.unwrap_err().handled, 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_inject_loses_nothing_and_keeps_each_producers_order() {
    const PRODUCERS: i64 = 8;
    const PER: i64 = 10_000;
    let p = Arc::new(MemoryProvider::new());
    p.connect(&config("s")).await.unwrap();
    let (h, seen) = recorder();
    let _sub = p.subscribe("s", h).unwrap();
    let mut joins = Vec::new();
    for producer in 0..PRODUCERS {
        let p = Arc::clone(&p);
        joins.push(tokio::spawn(async move {
            for seq in 0..PER {
                let e = ChangeEvent::new("s", Operation::Insert, "public.orders")
                    .with_after(json!({"producer": producer, "seq": seq}));
                p.inject("s", e).await.unwrap();
            }
        }));
    }
    for j in joins {
        j.await.unwrap();
    }
    p.wait_idle("s").await.unwrap();
    let seen: Vec<SharedEvent> = std::mem::take(&mut *seen.lock().unwrap());
    assert_eq!(seen.len() as i64, PRODUCERS * PER, "events lost");
    let mut next = vec![0i64; PRODUCERS as usize];
    for e in seen.iter() {
        let a = e.after.as_ref().unwrap();
        let producer = a["producer"].as_i64().unwrap() as usize;
        let seq = a["seq"].as_i64().unwrap();
        assert_eq!(seq, next[producer], "producer {producer} out of order");
        next[producer] += 1;
    }
    p.disconnect("s").await.unwrap();
    assert_eq!(p.running_tasks(), 0);
}

#[tokio::test]
async fn disconnect_ends_tasks_even_while_paused_and_with_a_blocked_reader() {
    let p = MemoryProvider::new();
    // stdin-less: a file source plus a paused source
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("events.jsonl");
    std::fs::write(
        &path,
        "{\"op\":\"INSERT\",\"table\":\"t\",\"after\":{\"id\":1}}\n",
    )
    .unwrap();
    p.connect(&config_with("file", json!({"events_file": path})))
        .await
        .unwrap();
    p.connect(&config_with("paused", json!({"capacity": 1})))
        .await
        .unwrap();
    p.pausable().unwrap().pause("paused").await.unwrap();
    p.try_inject("paused", insert(1)).ok();
    assert!(p.running_tasks() >= 2);
    p.disconnect("file").await.unwrap();
    p.disconnect("paused").await.unwrap();
    assert_eq!(p.running_tasks(), 0, "a task outlived disconnect");
}

#[tokio::test]
async fn events_file_is_read_in_order_and_bad_lines_report_their_number() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("events.jsonl");
    std::fs::write(
        &path,
        concat!(
            "{\"op\": \"INSERT\", \"table\": \"public.orders\", \"after\": {\"id\": 1}}\n",
            "\n",
            "{\"operation\": \"update\", \"schema\": \"public\", \"table\": \"orders\", \"after\": {\"id\": 1}}\n",
            "{\"op\": \"MERGE\", \"table\": \"public.orders\"}\n",
            "{\"op\": \"DELETE\", \"table\": \"public.orders\", \"before\": {\"id\": 1}}\n",
        ),
    )
    .unwrap();
    let p = MemoryProvider::new();
    // subscribe before events flow: connect paused is not needed, the reader waits for
    // nothing, so subscribe right away and rely on wait_idle for completion.
    p.connect(&config_with(
        "s",
        json!({"events_file": path, "capacity": 1}),
    ))
    .await
    .unwrap();
    let (h, seen) = recorder();
    let _sub = p.subscribe("s", h).unwrap();
    p.wait_idle("s").await.unwrap();
    let ops: Vec<Operation> = seen.lock().unwrap().iter().map(|e| e.operation).collect();
    // With capacity 1 the first event may have been delivered before the subscription.
    assert!(
        ops.ends_with(&[Operation::Update, Operation::Delete]),
        "{ops:?}"
    );
    let st = p.status("s").await.unwrap();
    let err = st.error.unwrap();
    assert!(err.contains("line 4"), "{err}");
    assert!(err.contains("MERGE"), "{err}");
    p.disconnect("s").await.unwrap();
}

#[tokio::test]
async fn sender_handle_injects_shared_events_and_fails_after_disconnect() {
    let p = MemoryProvider::new();
    p.connect(&config("s")).await.unwrap();
    let (h, seen) = recorder();
    let _sub = p.subscribe("s", h).unwrap();
    let tx = p.sender("s").unwrap();
    let shared = Arc::new(insert(7)); // source_id "ignored": corrected on the way in
    tx.send(Arc::clone(&shared)).await.unwrap();
    p.inject_shared("s", shared).await.unwrap();
    p.wait_idle("s").await.unwrap();
    assert_eq!(seen.lock().unwrap().len(), 2);
    assert!(seen.lock().unwrap().iter().all(|e| e.source_id == "s"));
    p.disconnect("s").await.unwrap();
    let err = tx.send(Arc::new(insert(8))).await.unwrap_err();
    assert!(err.to_string().contains("\"s\""), "{err}");
    assert!(p.sender("s").is_err());
}

#[tokio::test]
async fn disconnect_right_after_connect_on_a_current_thread_runtime() {
    // Regression: the delivery task used to subscribe to shutdown only when it first ran,
    // missing a shutdown sent before that, and disconnect hung.
    let p = MemoryProvider::new();
    for _ in 0..20 {
        p.connect(&config("s")).await.unwrap();
        p.disconnect("s").await.unwrap();
    }
    assert_eq!(p.running_tasks(), 0);
}

#[tokio::test]
async fn start_paused_holds_the_events_file_until_resume_and_close_input_stops_reading() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("events.jsonl");
    let lines: String = (1..=5)
        .map(|i| {
            format!("{{\"op\":\"INSERT\",\"table\":\"public.orders\",\"after\":{{\"id\":{i}}}}}\n")
        })
        .collect();
    std::fs::write(&path, lines).unwrap();
    let p = MemoryProvider::new();
    p.connect(&config_with(
        "s",
        json!({"events_file": path, "start_paused": true}),
    ))
    .await
    .unwrap();
    assert_eq!(p.status("s").await.unwrap().state, SourceState::Paused);
    // Subscribed after connect, yet no event is missed: delivery waits for resume.
    let (h, seen) = recorder();
    let _sub = p.subscribe("s", h).unwrap();
    p.pausable().unwrap().resume("s").await.unwrap();
    p.wait_idle("s").await.unwrap();
    let ids: Vec<i64> = seen
        .lock()
        .unwrap()
        .iter()
        .map(|e| e.after.as_ref().unwrap()["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, vec![1, 2, 3, 4, 5]);
    p.disconnect("s").await.unwrap();

    // close_input on a reader that has not finished: wait_idle still resolves, every event
    // read is delivered, and disconnect leaves no task behind.
    p.connect(&config_with(
        "t",
        json!({"events_file": path, "start_paused": true, "capacity": 1}),
    ))
    .await
    .unwrap();
    let (h, seen) = recorder();
    let _sub = p.subscribe("t", h).unwrap();
    p.close_input("t").unwrap();
    p.pausable().unwrap().resume("t").await.unwrap();
    p.wait_idle("t").await.unwrap();
    let st = p.status("t").await.unwrap();
    assert_eq!(
        st.details["injected"].as_u64().unwrap(),
        seen.lock().unwrap().len() as u64,
        "an event read was not delivered"
    );
    p.disconnect("t").await.unwrap();
    assert_eq!(p.running_tasks(), 0);
    assert!(p.close_input("t").is_err());
}
