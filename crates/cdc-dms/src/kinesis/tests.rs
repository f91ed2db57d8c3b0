//! The consumer without AWS: delivery of a decoded batch (below), shard loops that go down
//! and come back against a fake stream (`restart`), and the bounded shard listing (`list`).

pub(super) mod fake;
mod list;
mod restart;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};

use async_trait::async_trait;
use aws_sdk_kinesis::config::{BehaviorVersion, Region};
use cdc_core::{ChangeEvent, EventHandler, HandlerError, Operation, SharedEvent};

use super::read::deliver;
use super::*;
use crate::config::StartingPosition;

const STREAM_ARN: &str = "arn:aws:kinesis:us-east-1:123456789012:stream/dms";

/// Settings for tests: short pauses, `TRIM_HORIZON`.
fn settings() -> KinesisSettings {
    KinesisSettings {
        stream_arn: STREAM_ARN.into(),
        start: StartingPosition::TrimHorizon,
        checkpoints: BTreeMap::new(),
        poll_interval: Duration::from_millis(10),
        retry_backoff: Duration::from_millis(10),
        max_records: 100,
    }
}

fn ctx_with(client: Client, subscribers: Subscribers) -> Ctx {
    Ctx {
        client,
        settings: settings(),
        decoder: DmsRecordDecoder::new("src"),
        subscribers,
        delivery: Arc::new(DeliveryState::default()),
        cancel: CancellationToken::new(),
        finished: Mutex::new(HashSet::new()),
        latest_since: Mutex::new(HashMap::new()),
    }
}

/// A context whose client is never called.
fn ctx(subscribers: Subscribers) -> Ctx {
    let config = aws_sdk_kinesis::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .build();
    ctx_with(Client::from_conf(config), subscribers)
}

/// Fails its first batch while reporting every event of it handled (which cdc-core allows:
/// it caps `handled` at the batch length, it does not refuse it).
#[derive(Default)]
struct FailsAfterAll {
    calls: AtomicUsize,
}

#[async_trait]
impl EventHandler for FailsAfterAll {
    async fn handle(&self, events: &[SharedEvent]) -> Result<(), HandlerError> {
        if self.calls.fetch_add(1, Ordering::SeqCst) == 0 {
            return Err(HandlerError::new(events.len(), "flush failed"));
        }
        Ok(())
    }
}

#[tokio::test]
async fn a_failure_after_the_whole_batch_checkpoints_it_without_a_panic() {
    let subscribers = Subscribers::new("src");
    let handler = Arc::new(FailsAfterAll::default());
    let _subscription = subscribers.subscribe(Arc::clone(&handler) as Arc<dyn EventHandler>);
    let ctx = ctx(subscribers);
    let events: Vec<SharedEvent> = (0..2)
        .map(|_| Arc::new(ChangeEvent::new("src", Operation::Insert, "public.orders")))
        .collect();

    // Before, `sequences[done]` was read with `done == events.len()`: an index panic that
    // ended the shard's loop with nothing in the status.
    assert!(deliver(&ctx, "shardId-0", &events, &["11", "12"]).await);

    assert_eq!(ctx.delivery.checkpoint("shardId-0").as_deref(), Some("12"));
    assert_eq!(
        handler.calls.load(Ordering::SeqCst),
        1,
        "nothing to deliver again"
    );
    let error = ctx.delivery.snapshot().error.unwrap();
    assert!(error.contains("shard shardId-0"), "{error}");
    assert!(error.contains("flush failed"), "{error}");
}
