//! A handler that acts on its own source while it handles a batch (a trigger's workflow
//! running a backpressure step, or stopping the source): `pause` and `disconnect` return,
//! rather than wait for the hand-over that waits for them.
#![cfg(feature = "kafka")]

mod common;
mod kafka_common;

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use async_trait::async_trait;
use cdc_core::{CdcProvider, EventHandler, HandlerError, Operation, SharedEvent};
use cdc_debezium::DebeziumProvider;
use kafka_common::{
    Coord, Kafka, connect_server, coord_of, fixtures, source, wait_for, with_events,
};
use serde_json::json;

/// What the handler does to its own source on its first batch.
#[derive(Clone, Copy, PartialEq)]
enum Act {
    Pause,
    Disconnect,
}

/// Records every event; on the first batch, pauses or disconnects its own source.
struct SelfActing {
    act: Act,
    provider: OnceLock<Arc<DebeziumProvider>>,
    acted: AtomicBool,
    /// What the call returned (`None`: it did not return within 10 s).
    outcome: Mutex<Option<Option<Result<(), String>>>>,
    got: Mutex<Vec<Coord>>,
    /// How many events it had when its call returned.
    got_at_return: Mutex<usize>,
}

impl SelfActing {
    fn new(act: Act) -> Arc<Self> {
        Arc::new(Self {
            act,
            provider: OnceLock::new(),
            acted: AtomicBool::new(false),
            outcome: Mutex::new(None),
            got: Mutex::new(Vec::new()),
            got_at_return: Mutex::new(0),
        })
    }

    fn coords(&self) -> BTreeSet<Coord> {
        self.got.lock().unwrap().iter().cloned().collect()
    }
}

#[async_trait]
impl EventHandler for SelfActing {
    async fn handle(&self, events: &[SharedEvent]) -> Result<(), HandlerError> {
        let mine = events.iter().filter(|e| e.operation != Operation::Control);
        self.got.lock().unwrap().extend(mine.map(coord_of));
        if !self.acted.swap(true, Ordering::SeqCst) {
            let p = self.provider.get().unwrap();
            let call = async {
                match self.act {
                    Act::Pause => p.pausable().unwrap().pause("fx").await,
                    Act::Disconnect => p.disconnect("fx").await,
                }
            };
            let r = tokio::time::timeout(Duration::from_secs(10), call).await;
            *self.got_at_return.lock().unwrap() = self.got.lock().unwrap().len();
            *self.outcome.lock().unwrap() = Some(r.ok().map(|r| r.map_err(|e| e.to_string())));
        }
        Ok(())
    }
}

async fn started(act: Act) -> (Kafka, Arc<DebeziumProvider>, Arc<SelfActing>, Vec<Coord>) {
    started_with(act, 4).await
}

async fn started_with(
    act: Act,
    batch_max: usize,
) -> (Kafka, Arc<DebeziumProvider>, Arc<SelfActing>, Vec<Coord>) {
    let kafka = Kafka::start();
    let server = connect_server().await;
    let sent = kafka.produce(&fixtures());
    let p = Arc::new(DebeziumProvider::new());
    p.connect(&source(
        &server.uri(),
        &kafka.bootstrap(),
        json!({"pause_connector": false, "batch_max": batch_max}),
        json!({}),
    ))
    .await
    .unwrap();
    let h = SelfActing::new(act);
    assert!(h.provider.set(Arc::clone(&p)).is_ok());
    // The subscription lives as long as the handler: it is the handler's source.
    std::mem::forget(p.subscribe("fx", h.clone()).unwrap());
    wait_for(30, "the handler's call to return", || {
        h.outcome.lock().unwrap().is_some()
    })
    .await;
    (kafka, p, h, with_events(&sent))
}

/// `pause` from inside a handler of the source returns (it waited for the hand-over it
/// was called from, forever); delivery is held after that batch, and `resume` delivers the
/// rest, none lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_handler_pausing_its_own_source_is_not_a_deadlock() {
    let (_kafka, p, h, want) = started(Act::Pause).await;
    let outcome = h.outcome.lock().unwrap().clone().unwrap();
    assert_eq!(outcome, Some(Ok(())), "pause returned within 10 s");
    let st = p.status("fx").await.unwrap();
    assert_eq!(st.details["kafka"]["paused"], true);
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let held = h.coords().len();
    tokio::time::sleep(Duration::from_millis(1000)).await;
    assert_eq!(h.coords().len(), held, "nothing delivered while paused");
    assert!(
        held < want.len(),
        "paused mid-stream ({held} of {})",
        want.len()
    );
    p.pausable().unwrap().resume("fx").await.unwrap();
    wait_for(60, "the rest", || h.coords().len() >= want.len()).await;
    assert_eq!(h.coords(), want.into_iter().collect::<BTreeSet<_>>());
    p.disconnect("fx").await.unwrap();
}

/// `pause` from inside a handler whose batch holds records of several partitions (one
/// hand-over each): none of the partitions after the handler's is delivered once `pause`
/// returned. Paused again after each `resume` (a batch of one partition proves nothing),
/// until everything came, none lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_handler_pausing_mid_batch_gets_no_other_partition_after_it() {
    let (_kafka, p, h, want) = started_with(Act::Pause, 1000).await;
    loop {
        let outcome = h.outcome.lock().unwrap().take().unwrap();
        assert_eq!(outcome, Some(Ok(())), "pause returned within 10 s");
        tokio::time::sleep(Duration::from_millis(500)).await;
        let at_return = *h.got_at_return.lock().unwrap();
        assert_eq!(
            h.coords().len(),
            at_return,
            "nothing delivered after the handler's own batch"
        );
        if at_return >= want.len() {
            break;
        }
        h.acted.store(false, Ordering::SeqCst);
        p.pausable().unwrap().resume("fx").await.unwrap();
        wait_for(30, "the next batch", || h.outcome.lock().unwrap().is_some()).await;
    }
    assert_eq!(h.coords(), want.into_iter().collect::<BTreeSet<_>>());
    p.disconnect("fx").await.unwrap();
}

/// `disconnect` from inside a handler of the source returns, and the source is gone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_handler_disconnecting_its_own_source_is_not_a_deadlock() {
    let (_kafka, p, h, _want) = started(Act::Disconnect).await;
    let outcome = h.outcome.lock().unwrap().clone().unwrap();
    assert_eq!(outcome, Some(Ok(())), "disconnect returned within 10 s");
    let st = p.status("fx").await.unwrap();
    assert_eq!(st.state, cdc_core::SourceState::NotFound, "{st:?}");
}
