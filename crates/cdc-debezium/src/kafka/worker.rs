//! The consumer thread: polls, hands each partition's records over in order and in
//! batches, commits only past the committable prefix, seeks back and backs off after a
//! failure, and keeps the status view current.
//!
//! It is a dedicated OS thread, not an async task: librdkafka's calls block, and dropping a
//! consumer blocks until it has left its group (seconds, sometimes more than 20): that must
//! never happen on a runtime worker thread. The consumer is created, used and dropped here.
//!
//! Decoding runs ahead on a second thread: each polled batch goes there at once, so that
//! while the consumer thread hands the one before over, the next is already being decoded
//! (the consumer thread then decodes beside it what is left: `ahead`). A batch is polled
//! before the seeks its predecessor's hand-over makes: what it holds of a partition sought
//! back is left out of its hand-over, since the seek reads it again (librdkafka drops what
//! it fetched before a seek, so only that one batch can hold such records).

use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, TryRecvError, sync_channel};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use rdkafka::Offset;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::message::{BorrowedMessage, Message};
use tracing::{debug, info, warn};

use super::ahead::{Job, Work};
use super::context::{SourceContext, names};
use super::hand_over::group;
use super::progress::{Progress, Tp};
use super::state::Shared;
use crate::provider::{DebeziumProvider, Inner};

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
    pub(crate) fn run(self) {
        self.shared.update(|v| v.running = true);
        let this = &self;
        let stop = std::thread::scope(|s| {
            // Room for the batch being handed over, the next, and delivered events.
            let (jobs, job_rx) = sync_channel::<Work<'_>>(8);
            let helper = std::thread::Builder::new()
                .name("cdc-debezium-ahead".into())
                .spawn_scoped(s, move || {
                    while let Ok(work) = job_rx.recv() {
                        match work {
                            Work::Decode(job) => job.work(0),
                            Work::Drop(events) => drop(events),
                        }
                    }
                });
            let jobs = match helper {
                Ok(_) => Some(jobs),
                Err(e) => {
                    warn!(source_id = this.source_id, error = %e, "debezium kafka: no decode-ahead thread; decoding on the consumer thread");
                    None
                }
            };
            // Returning drops the channel: the decode-ahead thread ends, the scope joins it.
            this.poll_loop(jobs)
        });
        self.shutdown(stop);
    }

    fn poll_loop<'c>(
        &'c self,
        ahead: Option<SyncSender<Work<'c>>>,
    ) -> Option<tokio::sync::oneshot::Sender<()>> {
        let mut backoff = self.backoff;
        let mut last_housekeeping: Option<Instant> = None;
        let mut in_flight: Option<Arc<Job<'c>>> = None;
        // Partitions sought back by the last hand-over, whose records `in_flight` (polled
        // before the seeks) must not hand over.
        let mut skip: Vec<Tp> = Vec::new();
        loop {
            if let Flow::Stop(done) = self.drain_commands() {
                return done;
            }
            if last_housekeeping.is_none_or(|t| t.elapsed() >= HOUSEKEEPING) {
                self.housekeeping();
                last_housekeeping = Some(Instant::now());
            }
            if self.provider.strong_count() == 0 {
                return None;
            }
            // While a batch is decoded, take only what is there: its hand-over must not wait
            // for records to come.
            let wait = if in_flight.is_some() {
                Duration::ZERO
            } else {
                POLL
            };
            let polled = self.poll_batch(wait);
            // The next batch is decoded ahead while the one before is handed over, so that
            // the decode-ahead thread has work during a hand-over.
            let mut next = (!polled.is_empty()).then(|| self.start_job(group(polled), &ahead));
            if let Some(job) = in_flight.take() {
                let out = self.hand_over(&job, &skip, ahead.as_ref());
                drop(job);
                skip = Vec::new();
                if out.paused {
                    // Held: `next` is read again from its first records once resumed.
                    if let Some(n) = next.take() {
                        for (tp, g) in &n.groups {
                            if !out.sought.contains(tp) {
                                self.seek(tp, g[0].offset());
                            }
                        }
                    }
                } else {
                    // Polled before the seeks: `next` leaves those partitions out, the seeks
                    // read them again.
                    skip = out.sought;
                }
                if out.failed {
                    let wait = backoff.next();
                    debug!(
                        source_id = self.source_id,
                        ?wait,
                        "debezium kafka: delivery failed, backing off"
                    );
                    if let Flow::Stop(done) = self.wait_commands(wait) {
                        return done;
                    }
                } else {
                    backoff.reset();
                }
            }
            if next.is_none() {
                // Idle: whatever is committable goes now.
                if in_flight.is_none() {
                    self.commit(CommitMode::Async);
                }
                skip.clear();
                continue;
            }
            in_flight = next;
        }
    }

    /// A polled batch's decoding, handed to the decode-ahead thread (without one,
    /// `hand_over` decodes it all on this thread).
    fn start_job<'c>(
        &'c self,
        groups: Vec<super::hand_over::Group<'c>>,
        ahead: &Option<SyncSender<Work<'c>>>,
    ) -> Arc<Job<'c>> {
        let scope = DebeziumProvider::upgrade(&self.provider)
            .ok_or_else(|| "the provider is gone".to_owned())
            .and_then(|p| p.ahead_scope(&self.source_id).map_err(|e| e.to_string()));
        let job = Arc::new(Job::new(scope, groups));
        if let Some(jobs) = ahead {
            let _ = jobs.send(Work::Decode(Arc::clone(&job)));
        }
        job
    }

    /// Waits for a command at most `wait` (a backoff), handling it.
    fn wait_commands(&self, wait: Duration) -> Flow {
        match self.commands.recv_timeout(wait) {
            Ok(c) => self.command(c),
            Err(RecvTimeoutError::Timeout) => Flow::Continue,
            Err(RecvTimeoutError::Disconnected) => Flow::Stop(None),
        }
    }

    fn drain_commands(&self) -> Flow {
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

    fn command(&self, c: Command) -> Flow {
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

    /// Up to `batch_max` records: waits `wait` for the first, then takes what is there.
    fn poll_batch(&self, wait: Duration) -> Vec<BorrowedMessage<'_>> {
        let mut out = Vec::new();
        let mut timeout = wait;
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

    /// Whether an asynchronous commit is due while records flow ([`COMMIT_INTERVAL`]).
    pub(super) fn commit_due(&self) -> bool {
        self.last_commit
            .get()
            .is_none_or(|t| t.elapsed() >= COMMIT_INTERVAL)
    }

    pub(super) fn seek(&self, tp: &Tp, offset: i64) {
        if let Err(e) = self
            .consumer
            .seek(&tp.0, tp.1, Offset::Offset(offset), SEEK_TIMEOUT)
        {
            // A partition revoked meanwhile: its next owner starts from the last commit.
            warn!(source_id = self.source_id, topic = tp.0, partition = tp.1, error = %e, "debezium kafka: seek back failed");
        }
    }

    pub(super) fn commit(&self, mode: CommitMode) {
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
            v.held.clear();
        });
        if let Some(done) = done {
            let _ = done.send(());
        }
        self.consumer.unsubscribe();
        // Dropping the consumer leaves the group; it blocks, here, on this thread.
        drop(self.consumer);
    }
}

pub(super) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}
