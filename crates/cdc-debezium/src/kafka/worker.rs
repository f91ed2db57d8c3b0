//! The consumer thread: polls, delivers each partition's records in order and in batches
//! through [`DebeziumProvider::deliver_batch`], commits only past the committable prefix,
//! seeks back and backs off after a failure, and keeps the status view current.
//!
//! It is a dedicated OS thread, not an async task: librdkafka's calls block, and dropping a
//! consumer blocks until it has left its group (seconds, sometimes more than 20): that must
//! never happen on a runtime worker thread. The consumer is created, used and dropped here.

use std::sync::mpsc::{Receiver, RecvTimeoutError, TryRecvError};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use rdkafka::Offset;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::message::{BorrowedMessage, Message};
use tracing::{debug, error, info, warn};

use super::context::{SourceContext, names};
use super::progress::{Progress, Tp};
use super::state::Shared;
use crate::provider::{DebeziumProvider, Inner, RawRecord};

/// How long one poll waits for the first record of a batch.
const POLL: Duration = Duration::from_millis(100);
/// How often assignment and topic existence are refreshed.
const HOUSEKEEPING: Duration = Duration::from_secs(3);
/// Timeout of the metadata request of housekeeping.
const REQUEST_TIMEOUT: Duration = Duration::from_millis(1500);
/// Timeout of a seek back.
const SEEK_TIMEOUT: Duration = Duration::from_secs(5);
/// At most one asynchronous commit per this interval while records flow: a commit per poll
/// loads the group coordinator for nothing. Stop, revoke and idle moments commit at once, so
/// a crash redelivers at most this much (duplicates after the last commit, never a loss).
const COMMIT_INTERVAL: Duration = Duration::from_millis(200);

/// What the provider asks of the thread.
pub(crate) enum Command {
    /// Pause the assigned partitions (the shared flag already holds delivery).
    Pause,
    /// Resume them.
    Resume,
    /// Commit what is committable, answer, leave the group and end.
    Stop(tokio::sync::oneshot::Sender<()>),
}

/// Capped exponential backoff after a failed delivery.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Backoff {
    pub initial: Duration,
    pub max: Duration,
    current: Option<Duration>,
}

impl Backoff {
    pub(crate) fn new(initial: Duration, max: Duration) -> Self {
        Self {
            initial,
            max,
            current: None,
        }
    }

    fn next(&mut self) -> Duration {
        let d = match self.current {
            None => self.initial,
            Some(c) => (c * 2).min(self.max),
        };
        self.current = Some(d);
        d
    }

    fn reset(&mut self) {
        self.current = None;
    }
}

/// Everything the thread owns.
pub(crate) struct Worker {
    pub source_id: String,
    pub consumer: BaseConsumer<SourceContext>,
    pub provider: Weak<Inner>,
    pub runtime: tokio::runtime::Handle,
    pub shared: Arc<Shared>,
    pub progress: Arc<Mutex<Progress>>,
    pub commands: Receiver<Command>,
    pub batch_max: usize,
    /// `options.kafka.on_undecodable: skip`.
    pub skip_undecodable: bool,
    pub backoff: Backoff,
    pub expected_topics: Vec<String>,
    /// When the last asynchronous commit was sent.
    pub last_commit: std::cell::Cell<Option<Instant>>,
}

enum Flow {
    Continue,
    Stop(Option<tokio::sync::oneshot::Sender<()>>),
}

impl Worker {
    /// The thread's body.
    pub(crate) fn run(mut self) {
        self.shared.update(|v| v.running = true);
        let mut backoff = self.backoff;
        let mut last_housekeeping: Option<Instant> = None;
        let stop = loop {
            if let Flow::Stop(done) = self.drain_commands() {
                break done;
            }
            if last_housekeeping.is_none_or(|t| t.elapsed() >= HOUSEKEEPING) {
                self.housekeeping();
                last_housekeeping = Some(Instant::now());
            }
            if self.provider.strong_count() == 0 {
                break None;
            }
            let failed = {
                let batch = self.poll_batch();
                if batch.is_empty() {
                    // Idle: whatever is committable goes now.
                    self.commit(CommitMode::Async);
                    continue;
                }
                self.deliver(batch)
            };
            if !failed {
                backoff.reset();
                continue;
            }
            let wait = backoff.next();
            debug!(
                source_id = self.source_id,
                ?wait,
                "debezium kafka: delivery failed, backing off"
            );
            match self.commands.recv_timeout(wait) {
                Ok(c) => {
                    if let Flow::Stop(done) = self.command(c) {
                        break done;
                    }
                }
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => break None,
            }
        };
        self.shutdown(stop);
    }

    fn drain_commands(&mut self) -> Flow {
        loop {
            match self.commands.try_recv() {
                Ok(c) => {
                    if let Flow::Stop(done) = self.command(c) {
                        return Flow::Stop(done);
                    }
                }
                Err(TryRecvError::Empty) => return Flow::Continue,
                Err(TryRecvError::Disconnected) => return Flow::Stop(None),
            }
        }
    }

    fn command(&mut self, c: Command) -> Flow {
        let assignment = self.consumer.assignment().unwrap_or_default();
        match c {
            Command::Pause => {
                if let Err(e) = self.consumer.pause(&assignment) {
                    warn!(source_id = self.source_id, error = %e, "debezium kafka: pause failed (delivery is held regardless)");
                }
                Flow::Continue
            }
            Command::Resume => {
                if let Err(e) = self.consumer.resume(&assignment) {
                    warn!(source_id = self.source_id, error = %e, "debezium kafka: resume failed");
                }
                Flow::Continue
            }
            Command::Stop(done) => Flow::Stop(Some(done)),
        }
    }

    /// Up to `batch_max` records: waits [`POLL`] for the first, then takes what is there.
    fn poll_batch(&self) -> Vec<BorrowedMessage<'_>> {
        let mut out = Vec::new();
        let mut timeout = POLL;
        while out.len() < self.batch_max {
            match self.consumer.poll(timeout) {
                Some(Ok(m)) => out.push(m),
                Some(Err(e)) => {
                    let text = cdc_core::secret::redact_text(&e.to_string());
                    debug!(
                        source_id = self.source_id,
                        error = text,
                        "debezium kafka: poll error"
                    );
                    self.shared.update(|v| v.broker_error = Some(text));
                    break;
                }
                None => break,
            }
            timeout = Duration::ZERO;
        }
        out
    }

    /// Delivers a poll's records, one batch per partition in offset order; `true` when
    /// some partition failed (it was sought back to its first record not committable).
    fn deliver(&self, batch: Vec<BorrowedMessage<'_>>) -> bool {
        // Grouped by borrowed (topic, partition): no allocation per record.
        let mut groups: Vec<((&str, i32), Vec<&BorrowedMessage<'_>>)> = Vec::new();
        for m in &batch {
            let tp = (m.topic(), m.partition());
            match groups.iter_mut().rev().find(|(t, _)| *t == tp) {
                Some((_, g)) => g.push(m),
                None => groups.push((tp, vec![m])),
            }
        }
        let groups: Vec<(Tp, Vec<&BorrowedMessage<'_>>)> = groups
            .into_iter()
            .map(|((t, p), g)| ((t.to_owned(), p), g))
            .collect();
        let _gate = self.shared.gate.blocking_lock();
        if self.shared.is_paused() {
            // Held: read again from the first of them once resumed.
            for (tp, g) in &groups {
                self.seek(tp, g[0].offset());
            }
            return false;
        }
        let Some(provider) = DebeziumProvider::upgrade(&self.provider) else {
            return false;
        };
        let records: Vec<Vec<RawRecord<'_>>> = groups
            .iter()
            .map(|(_, g)| {
                g.iter()
                    .map(|m| RawRecord {
                        topic: m.topic(),
                        key: m.key(),
                        value: m.payload(),
                        kafka_offset: Some((m.partition(), m.offset())),
                    })
                    .collect()
            })
            .collect();
        let slices: Vec<&[RawRecord<'_>]> = records.iter().map(Vec::as_slice).collect();
        // All partitions' records decoded together (on two threads when there are many),
        // then handed over partition by partition.
        let outcomes: Vec<(usize, Option<String>, bool)> = match self
            .runtime
            .block_on(provider.deliver_groups(Some(&self.source_id), &slices))
        {
            Ok(o) => o
                .into_iter()
                .zip(&groups)
                .map(|(o, (_, g))| {
                    let n = o.committable.min(g.len());
                    (
                        n,
                        o.error.map(|e| e.to_string()),
                        o.undecodable && n < g.len(),
                    )
                })
                .collect(),
            Err(e) => groups
                .iter()
                .map(|_| (0, Some(e.to_string()), false))
                .collect(),
        };
        let mut failed = false;
        let mut delivered = 0u64;
        for ((tp, g), (n, error, undecodable)) in groups.iter().zip(outcomes) {
            // A record that cannot be decoded, skipped when told to: committed past as if
            // delivered, and the rest of the batch read again after it.
            let skip = undecodable && self.skip_undecodable;
            let done = if skip { n + 1 } else { n };
            if done > 0 {
                let next = g[done - 1].offset().saturating_add(1);
                // Only while assigned: a partition revoked meanwhile is its next owner's.
                lock(&self.progress).advance_assigned(tp, next);
            }
            delivered += n as u64;
            if skip {
                let text = error.unwrap_or_default();
                let offset = g[n].offset();
                error!(
                    source_id = self.source_id,
                    topic = tp.0,
                    partition = tp.1,
                    offset,
                    error = text,
                    "debezium kafka: undecodable record skipped (options.kafka.on_undecodable: skip)"
                );
                self.shared.update(|v| {
                    v.skipped += 1;
                    v.last_skipped = Some(format!("{}[{}] offset {offset}: {text}", tp.0, tp.1));
                });
                if done < g.len() {
                    self.seek(tp, g[done].offset());
                }
            } else if n < g.len() {
                failed = true;
                let text = error.unwrap_or_else(|| "not delivered".into());
                warn!(
                    source_id = self.source_id,
                    topic = tp.0,
                    partition = tp.1,
                    offset = g[n].offset(),
                    error = text,
                    "debezium kafka: delivery failed; the record is delivered again"
                );
                self.shared.update(|v| {
                    v.delivery_error = Some(format!(
                        "{}[{}] offset {}: {text}",
                        tp.0,
                        tp.1,
                        g[n].offset()
                    ))
                });
                self.seek(tp, g[n].offset());
            }
        }
        self.shared.update(|v| {
            v.delivered += delivered;
            if !failed {
                v.delivery_error = None;
                v.broker_error = None;
            }
        });
        if failed
            || self
                .last_commit
                .get()
                .is_none_or(|t| t.elapsed() >= COMMIT_INTERVAL)
        {
            self.commit(CommitMode::Async);
        }
        failed
    }

    fn seek(&self, tp: &Tp, offset: i64) {
        if let Err(e) = self
            .consumer
            .seek(&tp.0, tp.1, Offset::Offset(offset), SEEK_TIMEOUT)
        {
            // A partition revoked meanwhile: its next owner starts from the last commit.
            warn!(source_id = self.source_id, topic = tp.0, partition = tp.1, error = %e, "debezium kafka: seek back failed");
        }
    }

    fn commit(&self, mode: CommitMode) {
        let tpl = lock(&self.progress).to_commit(None);
        if tpl.count() == 0 {
            return;
        }
        self.last_commit.set(Some(Instant::now()));
        match self.consumer.commit(&tpl, mode) {
            Ok(()) if matches!(mode, CommitMode::Sync) => lock(&self.progress).confirmed(&tpl),
            Ok(()) => {}
            Err(e) => {
                debug!(source_id = self.source_id, error = %e, "debezium kafka: commit failed; retried with the next one")
            }
        }
    }

    /// Assignment and topic existence for `status` (one metadata request; the lag comes
    /// from the client's statistics, see `context`).
    fn housekeeping(&self) {
        let assigned = names(&self.consumer.assignment().unwrap_or_default());
        let md = match self.consumer.fetch_metadata(None, REQUEST_TIMEOUT) {
            Ok(md) => md,
            Err(e) => {
                let text = format!("cannot reach the brokers: {e}");
                self.shared.update(|v| {
                    v.assigned = assigned;
                    v.broker_error = Some(cdc_core::secret::redact_text(&text));
                });
                return;
            }
        };
        let existing: Vec<&str> = md.topics().iter().map(|t| t.name()).collect();
        let missing: Vec<String> = self
            .expected_topics
            .iter()
            .filter(|t| !existing.contains(&t.as_str()))
            .cloned()
            .collect();
        self.shared.update(|v| {
            v.assigned = assigned;
            v.missing_topics = missing;
            v.broker_error = None;
        });
    }

    fn shutdown(self, done: Option<tokio::sync::oneshot::Sender<()>>) {
        self.commit(CommitMode::Sync);
        info!(
            source_id = self.source_id,
            "debezium kafka: consumer stopped, offsets committed"
        );
        self.shared.update(|v| {
            v.running = false;
            v.assigned.clear();
        });
        if let Some(done) = done {
            let _ = done.send(());
        }
        self.consumer.unsubscribe();
        // Dropping the consumer leaves the group; it blocks, here, on this thread.
        drop(self.consumer);
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}
