//! Tests of [`super`]: repeats, acknowledgements after a partial failure, undecodable lines,
//! and a pause during the retries.

use std::sync::atomic::{AtomicBool, Ordering};

use async_trait::async_trait;
use cdc_core::{EventHandler, HandlerError};
use serde_json::json;

use super::*;

/// Takes every event; the first time it sees `after.id == fail_at`, refuses from there.
struct Recorder {
    seen: Mutex<Vec<i64>>,
    fail_at: i64,
    failed: AtomicBool,
}

#[async_trait]
impl EventHandler for Recorder {
    async fn handle(&self, events: &[SharedEvent]) -> Result<(), HandlerError> {
        for (i, e) in events.iter().enumerate() {
            let id = e.after.as_ref().unwrap()["id"].as_i64().unwrap();
            if id == self.fail_at && !self.failed.swap(true, Ordering::SeqCst) {
                return Err(HandlerError::new(i, "not now"));
            }
            self.seen.lock().unwrap().push(id);
        }
        Ok(())
    }
}

fn row(id: i64, commit: &str, seq: u64) -> String {
    json!({"source_id": "s", "op": "insert", "schema": "public", "table": "t",
        "after": {"id": id}, "lsn": "0/1", "xid": "7", "commit_lsn": commit, "seq": seq})
    .to_string()
}

fn commit(at: &str, seq: u64) -> String {
    json!({"source_id": "s", "op": "commit", "lsn": at, "xid": "7",
        "commit_lsn": at, "seq": seq})
    .to_string()
}

fn setup(fail_at: i64) -> (Subscribers, Arc<Recorder>, Mutex<Report>) {
    let subscribers = Subscribers::new("s");
    let recorder = Arc::new(Recorder {
        seen: Mutex::new(Vec::new()),
        fail_at,
        failed: AtomicBool::new(false),
    });
    subscribers.subscribe(recorder.clone()).detach();
    (subscribers, recorder, Mutex::new(Report::new(5)))
}

#[tokio::test]
async fn a_commit_is_acknowledged_once_the_events_before_it_are_taken() {
    let (subscribers, recorder, report) = setup(3);
    let (acks, acks_rx) = watch::channel(0u64);
    let (_wanted_tx, mut wanted) = watch::channel(Wanted::Run);
    let mut p = Pending::new(Some(acks));
    for line in [row(1, "0/100", 2), row(2, "0/100", 3), commit("0/100", 4)] {
        p.take_line("s", &line, &report);
    }
    p.take_line("s", &row(3, "0/200", 2), &report);
    // A second poll sends the first transaction again: dropped.
    for line in [row(1, "0/100", 2), row(2, "0/100", 3), commit("0/100", 4)] {
        p.take_line("s", &line, &report);
    }
    assert_eq!(report.lock().unwrap().repeats_dropped, 3);
    let done = p.deliver(&subscribers, &mut wanted, &report).await;
    assert!(matches!(done, Delivered::All));
    // 3 was refused once and handed again; 1 and 2 were not.
    assert_eq!(*recorder.seen.lock().unwrap(), vec![1, 2, 3]);
    assert_eq!(*acks_rx.borrow(), 0x100);
    let r = report.lock().unwrap();
    assert_eq!((r.events, r.handler_errors), (3, 1));
    assert_eq!(
        r.state,
        SourceState::Running,
        "back from error: {:?}",
        r.error
    );
    assert_eq!(r.error, None);
}

#[tokio::test]
async fn an_undecodable_line_stops_the_acknowledgements() {
    let (subscribers, recorder, report) = setup(0);
    let (acks, acks_rx) = watch::channel(0u64);
    let (_wanted_tx, mut wanted) = watch::channel(Wanted::Run);
    let mut p = Pending::new(Some(acks));
    for line in [
        row(1, "0/100", 2),
        commit("0/100", 3),
        r#"{"lsn":"0/150","xid":"8","data":"{}"}"#.to_owned(),
        row(2, "0/200", 2),
        commit("0/200", 3),
    ] {
        p.take_line("s", &line, &report);
    }
    p.deliver(&subscribers, &mut wanted, &report).await;
    assert_eq!(*recorder.seen.lock().unwrap(), vec![1, 2]);
    assert_eq!(*acks_rx.borrow(), 0, "nothing past the undecodable line");
    let r = report.lock().unwrap();
    assert_eq!(r.undecodable_lines, 1);
    assert!(
        r.ack_blocked
            .as_deref()
            .unwrap()
            .contains("no longer advanced")
    );
}

#[tokio::test]
async fn an_undecodable_first_line_stops_the_acknowledgements_too() {
    let (subscribers, recorder, report) = setup(0);
    let (acks, acks_rx) = watch::channel(0u64);
    let (_wanted_tx, mut wanted) = watch::channel(Wanted::Run);
    let mut p = Pending::new(Some(acks));
    for line in [
        r#"{"lsn":"0/50","xid":"6","data":"{}"}"#.to_owned(),
        row(1, "0/100", 2),
        commit("0/100", 3),
    ] {
        p.take_line("s", &line, &report);
    }
    p.deliver(&subscribers, &mut wanted, &report).await;
    assert_eq!(*recorder.seen.lock().unwrap(), vec![1]);
    assert_eq!(*acks_rx.borrow(), 0, "nothing past the undecodable line");
    assert!(report.lock().unwrap().ack_blocked.is_some());
}

#[tokio::test]
async fn positions_that_cannot_be_read_are_undecodable_never_guessed() {
    let (_subscribers, _recorder, report) = setup(0);
    let mut p = Pending::new(None);
    p.take_line("s", &row(1, "0/100", 2), &report);
    p.take_line("s", &row(2, "not-an-lsn", 2), &report);
    p.take_line(
        "s",
        &json!({"source_id": "s", "op": "commit"}).to_string(),
        &report,
    );
    let r = report.lock().unwrap();
    assert_eq!(r.undecodable_lines, 2);
    assert!(r.last_undecodable.as_deref().unwrap().contains("commit"));
    assert_eq!(p.events.len(), 1);
}

#[tokio::test]
async fn a_wish_to_pause_interrupts_the_retries_and_keeps_the_batch() {
    let subscribers = Subscribers::new("s");
    subscribers
        .subscribe(Arc::new(Refuser) as Arc<dyn EventHandler>)
        .detach();
    let report = Mutex::new(Report::new(5));
    let (wanted_tx, mut wanted) = watch::channel(Wanted::Run);
    let mut p = Pending::new(None);
    p.take_line("s", &row(1, "0/100", 2), &report);
    let pause = async {
        tokio::time::sleep(Duration::from_millis(300)).await;
        wanted_tx.send_replace(Wanted::Pause);
    };
    let (done, ()) = tokio::join!(p.deliver(&subscribers, &mut wanted, &report), pause);
    assert!(matches!(done, Delivered::Interrupted));
    assert_eq!(p.events.len(), 1, "kept for after the pause");
    assert!(report.lock().unwrap().handler_errors >= 2);
}

struct Refuser;

#[async_trait]
impl EventHandler for Refuser {
    async fn handle(&self, _: &[SharedEvent]) -> Result<(), HandlerError> {
        Err(HandlerError::new(0, "never"))
    }
}
