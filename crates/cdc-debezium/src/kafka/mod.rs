//! The Kafka transport of a Debezium source (feature `kafka`): one consumer group per
//! source reading the connector's topics, delivering every record in order per partition,
//! committing only what every handler took.
//!
//! - [`config`](self::config): the librdkafka config (no auto commit, no automatic offset
//!   store, `auto.offset.reset`) and the subscription;
//! - `progress`: the committable prefix of each partition;
//! - `context`: rebalances (revoked partitions commit synchronously before they go);
//! - `worker`: the consumer thread (poll → deliver → commit, seek back on failure);
//! - `hand_over`: a poll's records decoded (ahead, on a second thread), handed over, and
//!   committed or sought back;
//! - [`Transport`]: the provider's handle (start, pause, resume, status, stop).

mod ahead;
mod config;
mod context;
mod hand_over;
mod lag;
mod progress;
mod state;
mod worker;

use std::sync::atomic::Ordering;
use std::sync::mpsc::Sender;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use rdkafka::consumer::{BaseConsumer, Consumer};
use serde_json::Value;

use crate::config::DebeziumSource;
use crate::error::{DebeziumError, Result};
use crate::provider::Inner;

pub(crate) use config::{Subscription, subscription};
use context::SourceContext;
use state::Shared;
use worker::{Backoff, Command, Worker};

/// The running consumer of one source.
pub(crate) struct Transport {
    commands: Sender<Command>,
    shared: Arc<Shared>,
    pause_connector: bool,
    /// Held by `start_paused` and not paused or resumed since: only delivery is held, the
    /// connector was never paused.
    held_at_start: std::sync::atomic::AtomicBool,
}

impl std::fmt::Debug for Transport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transport")
            .field("view", &self.shared.view())
            .finish_non_exhaustive()
    }
}

/// What the consumer's state adds to a status.
#[derive(Debug)]
pub(crate) struct TransportStatus {
    /// `details.kafka`.
    pub details: Value,
    /// A delivery failing (handler or record): the source is in error until it goes through.
    pub delivery_error: Option<String>,
    /// Brokers unreachable, or a client error.
    pub broker_error: Option<String>,
    /// Captured tables' topics the brokers do not have.
    pub missing_topics: Vec<String>,
    /// The latest offset reset (librdkafka's words), if any since the consumer started.
    pub last_offset_reset: Option<String>,
    /// Commit time of the oldest change a failing handler holds back.
    pub held_since: Option<time::OffsetDateTime>,
}

impl Transport {
    /// Creates the consumer, subscribes, and starts its thread. Delivery is held from the
    /// start when `start_paused` (until [`Transport::resume`]).
    pub(crate) fn start(
        provider: Weak<Inner>,
        source: &DebeziumSource,
        sub: Subscription,
        start_paused: bool,
    ) -> Result<Self> {
        let sid = source.source_id.clone();
        let Some(k) = source.options.kafka.clone() else {
            return Err(DebeziumError::Config {
                source_id: sid,
                field: "options.kafka".into(),
                message: "no Kafka transport configured".into(),
            });
        };
        let runtime =
            tokio::runtime::Handle::try_current().map_err(|_| DebeziumError::Unsupported {
                source_id: sid.clone(),
                operation: "kafka transport".into(),
                reason: "connect must run inside a Tokio runtime".into(),
            })?;
        let shared = Arc::new(Shared::default());
        shared.paused.store(start_paused, Ordering::SeqCst);
        let group_id = k.group_id(&sid);
        shared.update(|v| {
            v.group_id = group_id.clone();
            v.subscription = sub.patterns.clone();
        });
        let progress = Arc::new(Mutex::new(progress::Progress::default()));
        let ctx = SourceContext {
            source_id: sid.clone(),
            progress: Arc::clone(&progress),
            shared: Arc::clone(&shared),
        };
        let kafka_err = |field: &str, e: rdkafka::error::KafkaError| DebeziumError::Config {
            source_id: sid.clone(),
            field: field.into(),
            message: cdc_core::secret::redact_text(&e.to_string()),
        };
        let consumer: BaseConsumer<SourceContext> = config::client_config(&sid, &k)
            .create_with_context(ctx)
            .map_err(|e| {
                let (field, message) = config::create_error(&e);
                DebeziumError::Config {
                    source_id: sid.clone(),
                    field,
                    message,
                }
            })?;
        let patterns: Vec<&str> = sub.patterns.iter().map(String::as_str).collect();
        if let Err(e) = consumer.subscribe(&patterns) {
            drop_off_runtime(consumer);
            return Err(kafka_err("options.kafka.topics", e));
        }
        let (tx, rx) = std::sync::mpsc::channel();
        let worker = Worker {
            source_id: sid.clone(),
            consumer,
            provider,
            runtime,
            shared: Arc::clone(&shared),
            progress,
            commands: rx,
            batch_max: k.batch_max,
            skip_undecodable: k.on_undecodable == crate::config::OnUndecodable::Skip,
            backoff: Backoff::new(
                Duration::from_millis(k.retry_initial_backoff_ms),
                Duration::from_millis(k.retry_max_backoff_ms),
            ),
            expected_topics: sub.expected,
            last_commit: std::cell::Cell::new(None),
        };
        std::thread::Builder::new()
            .name(format!("cdc-kafka-{sid}"))
            .spawn(move || worker.run())
            .map_err(|e| DebeziumError::Unsupported {
                source_id: sid.clone(),
                operation: "kafka transport".into(),
                reason: format!("cannot start the consumer thread: {e}"),
            })?;
        Ok(Self {
            commands: tx,
            shared,
            pause_connector: k.pause_connector,
            held_at_start: std::sync::atomic::AtomicBool::new(start_paused),
        })
    }

    /// Whether `pause` also pauses the connector.
    pub(crate) fn pauses_connector(&self) -> bool {
        self.pause_connector
    }

    /// Whether `resume` must resume the connector too: `pause` paused it (not a hold from
    /// `start_paused`, which leaves the connector alone).
    pub(crate) fn resumes_connector(&self) -> bool {
        self.pause_connector && !self.held_at_start.load(Ordering::SeqCst)
    }

    /// Holds delivery; when this returns no batch is being delivered and none will be until
    /// [`Transport::resume`]. The assigned partitions are paused too. Called by a handler of
    /// the source, the batch it is handling is the exception: nothing after it is delivered.
    pub(crate) async fn pause(&self) {
        self.held_at_start.store(false, Ordering::SeqCst);
        self.shared.paused.store(true, Ordering::SeqCst);
        // The gate is held by the hand-over that called us, until we return.
        if !self.shared.in_delivery() {
            drop(self.shared.gate.lock().await);
        }
        let _ = self.commands.send(Command::Pause);
    }

    /// Delivers again, from the first record not delivered.
    pub(crate) fn resume(&self) {
        self.held_at_start.store(false, Ordering::SeqCst);
        self.shared.paused.store(false, Ordering::SeqCst);
        let _ = self.commands.send(Command::Resume);
    }

    /// Commits what is committable and stops the consumer. Returns once the commit is done;
    /// the consumer leaves its group and is dropped on its own thread afterwards. Called by
    /// a handler of the source, it returns at once: the consumer thread stops (and commits)
    /// once the batch that handler is in has been handed over.
    pub(crate) async fn stop(&self) {
        let (tx, rx) = tokio::sync::oneshot::channel();
        if self.commands.send(Command::Stop(tx)).is_ok() && !self.shared.in_delivery() {
            let _ = rx.await;
        }
    }

    /// The consumer's state for `status`.
    pub(crate) fn status(&self) -> TransportStatus {
        let v = self.shared.view();
        TransportStatus {
            details: v.to_json(self.shared.is_paused()),
            delivery_error: v.delivery_error.clone(),
            broker_error: v.broker_error.clone(),
            missing_topics: v.missing_topics.clone(),
            last_offset_reset: v.offset_resets.last().cloned(),
            held_since: v.held.values().min().copied(),
        }
    }
}

impl Drop for Transport {
    fn drop(&mut self) {
        // Not stopped through `stop`: the thread commits and ends on its own.
        let (tx, _rx) = tokio::sync::oneshot::channel();
        let _ = self.commands.send(Command::Stop(tx));
    }
}

/// Drops a consumer on a thread of its own (the drop blocks until it left its group).
fn drop_off_runtime(consumer: BaseConsumer<SourceContext>) {
    let _ = std::thread::Builder::new()
        .name("cdc-kafka-drop".into())
        .spawn(move || drop(consumer));
}
