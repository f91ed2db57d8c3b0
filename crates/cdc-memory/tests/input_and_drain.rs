//! The events file at its edges (invalid UTF-8, huge lines, bad JSON: skipped, counted,
//! reading goes on) and the graceful stop of a paused source.

use std::sync::{Arc, Mutex};

use cdc_core::{CdcProvider, EventHandler, Pausable, SharedEvent, SourceConfig, handler_fn};
use cdc_memory::MemoryProvider;
use serde_json::json;

fn config(options: serde_json::Value) -> SourceConfig {
    SourceConfig::from_value(json!({"provider": "memory", "source_id": "s", "options": options}))
        .unwrap()
}

fn recorder() -> (Arc<dyn EventHandler>, Arc<Mutex<Vec<i64>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let s = Arc::clone(&seen);
    let h = handler_fn(move |e: SharedEvent| {
        let s = Arc::clone(&s);
        async move {
            let id = e
                .after
                .as_ref()
                .and_then(|r| r["id"].as_i64())
                .unwrap_or(-1);
            s.lock().unwrap().push(id);
            Ok(())
        }
    });
    (h, seen)
}

fn line(id: i64) -> String {
    format!("{{\"op\": \"INSERT\", \"table\": \"t\", \"after\": {{\"id\": {id}}}}}\n")
}

#[tokio::test]
async fn bad_lines_are_skipped_counted_and_the_rest_of_the_file_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("events.jsonl");
    let mut bytes = line(1).into_bytes();
    bytes.extend_from_slice(b"{\"op\": \"INSERT\", \"table\": \"\xff\xfe\"}\n"); // line 2: not UTF-8
    bytes.extend_from_slice(&vec![b'{'; 200_000]); // line 3: too long (and not JSON)
    bytes.push(b'\n');
    bytes.extend_from_slice(b"{\"op\": \"INSERT\", \"table\": \"t\" \0}\n"); // line 4: NUL
    bytes.extend_from_slice(line(5).as_bytes());
    std::fs::write(&path, bytes).unwrap();

    let p = MemoryProvider::new();
    p.connect(&config(
        json!({"events_file": path, "start_paused": true, "max_line_bytes": 65536}),
    ))
    .await
    .unwrap();
    let (h, seen) = recorder();
    let _sub = p.subscribe("s", h).unwrap();
    p.resume("s").await.unwrap();
    p.wait_idle("s").await.unwrap();
    assert_eq!(
        *seen.lock().unwrap(),
        [1, 5],
        "the file goes on after bad lines"
    );
    assert_eq!(p.skipped_lines("s").unwrap(), 3);
    let st = p.status("s").await.unwrap();
    assert_eq!(st.details["skipped_lines"], 3);
    let err = st.error.unwrap();
    assert!(
        err.contains("line 4"),
        "the last skip is in the status: {err}"
    );
    p.disconnect("s").await.unwrap();
}

#[tokio::test]
async fn drain_delivers_what_a_paused_source_has_read_then_ends() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("events.jsonl");
    std::fs::write(&path, (1..=50).map(line).collect::<String>()).unwrap();
    let p = MemoryProvider::new();
    p.connect(&config(
        json!({"events_file": path, "capacity": 8, "start_paused": true}),
    ))
    .await
    .unwrap();
    let (h, seen) = recorder();
    let _sub = p.subscribe("s", h).unwrap();
    // Paused from the start: the reader fills the buffer and waits; nothing is delivered.
    // Waits for the reader to get there (a fixed pause was not always enough for its thread
    // to run on a loaded machine, and a drain before then reads fewer than 8).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while p.status("s").await.unwrap().details["injected"]
        .as_u64()
        .unwrap()
        < 8
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the reader never filled the buffer"
        );
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert!(seen.lock().unwrap().is_empty());
    p.drain("s").await.unwrap();
    let got = seen.lock().unwrap().clone();
    // Input closed: some events were never read; every event read was delivered, in order.
    let read = p.status("s").await.unwrap().details["injected"]
        .as_u64()
        .unwrap();
    assert_eq!(got.len() as u64, read);
    assert_eq!(got, (1..=read as i64).collect::<Vec<_>>());
    assert!(read >= 8, "the buffer was full: {read}");
    p.disconnect("s").await.unwrap();
}

#[tokio::test]
async fn the_end_of_the_input_is_seen_while_paused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("events.jsonl");
    std::fs::write(&path, (1..=3).map(line).collect::<String>()).unwrap();
    let p = MemoryProvider::new();
    p.connect(&config(json!({"events_file": path, "start_paused": true})))
        .await
        .unwrap();
    p.wait_input_end("s").await.unwrap();
    assert_eq!(p.status("s").await.unwrap().details["delivered"], 0);
    p.drain("s").await.unwrap();
    assert_eq!(p.status("s").await.unwrap().details["delivered"], 3);
    p.disconnect("s").await.unwrap();
}
