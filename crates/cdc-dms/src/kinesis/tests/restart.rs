//! Shard loops that go down while the consumer runs, against the fake stream: each is
//! reported (naming the shard) while it is down, read again from its checkpoint, and every
//! record reaches the handler; records after the checkpoint may come twice, none are lost.

use std::collections::BTreeMap;
use std::sync::atomic::AtomicBool;
use std::time::Instant;

use super::fake::{FakeStream, Requested};
use super::*;

const A: &str = "shardId-000000000000";
const B: &str = "shardId-000000000001";

/// Records `(shard, row id)` of every event it handles; panics once, at a given row of a
/// given shard (a handler bug), before recording it.
#[derive(Default)]
struct Recorder {
    seen: Mutex<Vec<(String, i64)>>,
    panic_on: Option<(&'static str, i64)>,
    panicked: AtomicBool,
}

impl Recorder {
    fn panicking_on(shard: &'static str, id: i64) -> Arc<Self> {
        Arc::new(Self {
            panic_on: Some((shard, id)),
            ..Self::default()
        })
    }

    /// How often each row id of `shard` was handled.
    fn counts(&self, shard: &str) -> BTreeMap<i64, usize> {
        let mut counts = BTreeMap::new();
        for (s, id) in self.seen.lock().unwrap().iter() {
            if s == shard {
                *counts.entry(*id).or_default() += 1;
            }
        }
        counts
    }
}

#[async_trait]
impl EventHandler for Recorder {
    async fn handle(&self, events: &[SharedEvent]) -> Result<(), HandlerError> {
        for e in events {
            let position = e.position.as_ref().unwrap().to_string();
            let shard = position.split(':').next().unwrap().to_owned();
            let id = e.after.as_ref().unwrap()["id"].as_i64().unwrap();
            if self.panic_on.is_some_and(|(s, i)| {
                s == shard && i == id && !self.panicked.swap(true, Ordering::SeqCst)
            }) {
                panic!("handler bug on row {id}");
            }
            self.seen.lock().unwrap().push((shard, id));
        }
        Ok(())
    }
}

/// Waits (at most 10 s) until `cond` holds.
async fn eventually(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

struct Running {
    consumer: KinesisConsumer,
    delivery: Arc<DeliveryState>,
    _subscription: cdc_core::Subscription,
}

fn run(fake: &FakeStream, handler: Arc<Recorder>, settings: KinesisSettings) -> Running {
    let subscribers = Subscribers::new("src");
    let subscription = subscribers.subscribe(handler);
    let delivery = Arc::new(DeliveryState::default());
    let consumer = KinesisConsumer::spawn(
        fake.client(),
        settings,
        DmsRecordDecoder::new("src"),
        subscribers,
        Arc::clone(&delivery),
    );
    Running {
        consumer,
        delivery,
        _subscription: subscription,
    }
}

/// The rows of `want` each handled at least once, those at or before `checkpoint` exactly
/// once (a duplicate there would mean the restart went back before the checkpoint).
fn assert_each_delivered(counts: &BTreeMap<i64, usize>, want: &[(i64, String)], checkpoint: &str) {
    let checkpoint: u64 = checkpoint.parse().unwrap();
    for (id, seq) in want {
        let n = counts.get(id).copied().unwrap_or(0);
        assert!(n >= 1, "row {id} lost: {counts:?}");
        if seq.parse::<u64>().unwrap() <= checkpoint {
            assert_eq!(n, 1, "row {id} is before the checkpoint: {counts:?}");
        }
    }
}

#[tokio::test]
async fn a_shard_whose_loop_panics_is_reported_and_read_again_from_its_checkpoint() {
    let fake = FakeStream::new(&[A, B]);
    let rows_a: Vec<(i64, String)> = (1..=6).map(|id| (id, fake.put(A, id))).collect();
    let rows_b: Vec<(i64, String)> = (101..=103).map(|id| (id, fake.put(B, id))).collect();
    // Decoding row 4's record panics, once: a bug in the loop, mid-batch.
    fake.panic_once(&rows_a[3].1);
    let handler = Arc::new(Recorder::default());
    let mut settings = settings();
    settings.max_records = 2; // batches [1, 2], [3, 4], [5, 6]
    settings.poll_interval = Duration::from_millis(5);
    settings.retry_backoff = Duration::from_millis(300); // first restart after this
    let r = run(&fake, Arc::clone(&handler), settings);

    eventually("shard A is reported down", || r.delivery.is_down(A)).await;
    let down = r.delivery.snapshot();
    let error = down.error_text().unwrap();
    assert!(error.contains(&format!("shard {A}")), "{error}");
    assert!(
        error.contains(&format!(
            "panicked: a bug in the shard loop at record {}",
            rows_a[3].1
        )),
        "{error}"
    );
    let checkpoint = down.checkpoints[A].clone();
    assert_eq!(
        checkpoint, rows_a[1].1,
        "the batch of row 4 was not acknowledged"
    );

    eventually("shard A is read again to its end", || {
        r.delivery.checkpoint(A).as_deref() == Some(rows_a[5].1.as_str())
            && r.delivery.checkpoint(B).as_deref() == Some(rows_b[2].1.as_str())
    })
    .await;
    eventually("shard A is no longer down", || !r.delivery.is_down(A)).await;

    assert_each_delivered(&handler.counts(A), &rows_a, &checkpoint);
    assert_each_delivered(&handler.counts(B), &rows_b, &rows_b[2].1);
    assert_eq!(
        fake.requests(A),
        [Requested::TrimHorizon, Requested::After(checkpoint)],
        "restarted after the checkpoint, like a fresh start of the shard"
    );
    assert_eq!(
        fake.requests(B),
        [Requested::TrimHorizon],
        "B was left alone"
    );
    let after = r.delivery.snapshot();
    assert_eq!(after.error_text(), None, "recovered: {after:?}");
    assert!(
        after
            .last_error
            .unwrap()
            .contains("a bug in the shard loop")
    );
    r.consumer.stop().await;
}

#[tokio::test]
async fn a_latest_shard_restarted_before_its_first_checkpoint_skips_nothing() {
    let fake = FakeStream::new(&[A]);
    let handler = Arc::new(Recorder::default());
    let mut settings = settings();
    settings.start = StartingPosition::Latest;
    settings.poll_interval = Duration::from_millis(5);
    settings.retry_backoff = Duration::from_millis(20);
    let r = run(&fake, Arc::clone(&handler), settings);

    eventually("the first LATEST iterator", || {
        fake.requests(A) == [Requested::Latest]
    })
    .await;
    // Row 1 makes the loop panic once, before its first checkpoint.
    let mut rows = vec![(1, fake.put_panicking_once(A, 1))];
    rows.extend((2..=3).map(|id| (id, fake.put(A, id))));
    eventually("every row is delivered", || handler.counts(A).len() == 3).await;

    // A second LATEST would have skipped rows 1 to 3, written before the restart.
    let requests = fake.requests(A);
    assert_eq!(requests.len(), 2, "{requests:?}");
    assert!(
        matches!(requests[1], Requested::AtTimestamp(_)),
        "{requests:?}"
    );
    let counts = handler.counts(A);
    assert!(counts.values().all(|n| *n == 1), "{counts:?}");
    assert_eq!(r.delivery.checkpoint(A), Some(rows[2].1.clone()));
    r.consumer.stop().await;
}

#[tokio::test]
async fn a_shard_halted_on_an_unreadable_record_is_tried_again_and_loses_nothing() {
    let fake = FakeStream::new(&[A]);
    let rows: Vec<(i64, String)> = (1..=4).map(|id| (id, fake.put(A, id))).collect();
    fake.corrupt_once(&rows[2].1);
    let handler = Arc::new(Recorder::default());
    let mut settings = settings();
    settings.poll_interval = Duration::from_millis(5);
    settings.retry_backoff = Duration::from_millis(300);
    let r = run(&fake, Arc::clone(&handler), settings);

    eventually("shard A is reported down", || r.delivery.is_down(A)).await;
    let error = r.delivery.snapshot().error_text().unwrap();
    assert!(error.contains(&format!("shard {A}")), "{error}");
    assert!(error.contains("cannot be decoded"), "{error}");
    assert_eq!(r.delivery.checkpoint(A), Some(rows[1].1.clone()));

    eventually("every row is delivered", || handler.counts(A).len() == 4).await;
    eventually("shard A is no longer down", || !r.delivery.is_down(A)).await;
    let counts = handler.counts(A);
    assert!(counts.values().all(|n| *n == 1), "{counts:?}");
    assert_eq!(
        fake.requests(A),
        [Requested::TrimHorizon, Requested::After(rows[1].1.clone())]
    );
    r.consumer.stop().await;
}

#[tokio::test]
async fn stopping_does_not_wait_for_a_pending_restart() {
    let fake = FakeStream::new(&[A]);
    fake.put_panicking_once(A, 1);
    let mut settings = settings();
    settings.retry_backoff = Duration::from_secs(600);
    let r = run(&fake, Arc::new(Recorder::default()), settings);
    eventually("shard A is reported down", || r.delivery.is_down(A)).await;
    tokio::time::timeout(Duration::from_secs(5), r.consumer.stop())
        .await
        .expect("stopped without waiting for the restart's backoff");
    assert_eq!(fake.requests(A), [Requested::TrimHorizon]);
}

/// A handler that panics is a failed handler (cdc-core catches the panic): the batch comes
/// again after the retry backoff, the shard is never down, its checkpoint stays before the
/// batch meanwhile, and nothing is lost.
#[tokio::test]
async fn a_panicking_handler_is_a_failure_and_its_batch_comes_again() {
    let fake = FakeStream::new(&[A]);
    let rows: Vec<(i64, String)> = (1..=4).map(|id| (id, fake.put(A, id))).collect();
    let handler = Recorder::panicking_on(A, 3);
    let mut settings = settings();
    settings.max_records = 2;
    settings.poll_interval = Duration::from_millis(5);
    settings.retry_backoff = Duration::from_millis(20);
    let r = run(&fake, Arc::clone(&handler), settings);
    eventually("every row is delivered", || handler.counts(A).len() == 4).await;
    eventually("the checkpoint at the end", || {
        r.delivery.checkpoint(A).as_deref() == Some(rows[3].1.as_str())
    })
    .await;
    let snapshot = r.delivery.snapshot();
    assert!(
        snapshot
            .last_error
            .as_deref()
            .is_some_and(|e| e.contains("the handler panicked: handler bug on row 3")),
        "{snapshot:?}"
    );
    assert!(!r.delivery.is_down(A));
    assert_eq!(
        fake.requests(A),
        [Requested::TrimHorizon],
        "never restarted"
    );
    let counts = handler.counts(A);
    assert!(counts.values().all(|n| *n == 1), "{counts:?}");
    r.consumer.stop().await;
}
