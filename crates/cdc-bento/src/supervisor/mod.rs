//! The managed Bento process of one source: spawned in its own process group, its stdout
//! decoded into events and delivered to the source's subscribers, its stderr kept for the
//! status, restarted with capped exponential backoff when it exits, stopped on pause and
//! disconnect.
//!
//! One tokio task owns the child process; the handle talks to it through a `watch` channel
//! of the wanted run state, so every path that stops the process (pause, disconnect, drop)
//! goes through the same group termination and wait.

mod delivery;
mod process;
mod tail;
mod task;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use cdc_core::{SourceState, Subscribers};
use nix::sys::signal::Signal;
use serde_json::{Value, json};
use time::OffsetDateTime;
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use process::{TERM_GRACE, signal_group, spawn_in_group, terminate_group};
pub use tail::LineTail;
use task::run;

/// What the supervisor needs to run one source.
#[derive(Clone, Debug)]
pub struct SupervisorConfig {
    /// The source id (events without one get it; errors name it).
    pub source_id: String,
    /// The Bento binary.
    pub bin: PathBuf,
    /// The config file passed with `-c`.
    pub config_path: PathBuf,
    /// Extra environment for the process.
    pub env: BTreeMap<String, String>,
    /// First restart delay.
    pub backoff_initial: Duration,
    /// Restart delay cap.
    pub backoff_max: Duration,
    /// stderr lines kept.
    pub stderr_lines: usize,
    /// For the PostgreSQL stream the provider acknowledges: where the commit position of
    /// the last transaction every handler succeeded on is sent (only ever growing).
    pub acks: Option<watch::Sender<u64>>,
}

/// What the owner wants.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Wanted {
    Run,
    Pause,
    Stop,
}

/// What the task reports.
#[derive(Debug)]
struct Report {
    state: SourceState,
    error: Option<String>,
    pid: Option<u32>,
    starts: u64,
    events: u64,
    last_event: Option<OffsetDateTime>,
    handler_errors: u64,
    last_handler_error: Option<String>,
    undecodable_lines: u64,
    last_undecodable: Option<String>,
    stderr: LineTail,
    /// Rows a poll returned again, dropped (the slot is read without consuming).
    repeats_dropped: u64,
    /// A batch is being delivered again after a handler failed (state `error` meanwhile).
    delivery_failing: bool,
    /// The commit position last acknowledged to the provider.
    acknowledged_lsn: Option<u64>,
    /// Why nothing is acknowledged any more.
    ack_blocked: Option<String>,
}

impl Report {
    fn new(stderr_lines: usize) -> Self {
        Self {
            state: SourceState::Starting,
            error: None,
            pid: None,
            starts: 0,
            events: 0,
            last_event: None,
            handler_errors: 0,
            last_handler_error: None,
            undecodable_lines: 0,
            last_undecodable: None,
            stderr: LineTail::new(stderr_lines),
            repeats_dropped: 0,
            delivery_failing: false,
            acknowledged_lsn: None,
            ack_blocked: None,
        }
    }
}

/// A snapshot of the supervised process, for `status`.
#[derive(Clone, Debug, PartialEq)]
pub struct SupervisorStatus {
    /// `starting`, `running`, `error`, `restarting`, `paused`, `stopped`.
    pub state: SourceState,
    /// Why it is in `error` (exit status and stderr tail), or the last delivery problem.
    pub error: Option<String>,
    /// When the last event was delivered.
    pub last_event: Option<OffsetDateTime>,
    /// The running process, if any.
    pub pid: Option<u32>,
    /// Details for `CdcStatus.details`.
    pub details: BTreeMap<String, Value>,
}

/// Runs and supervises one Bento process. Dropping it stops the process group too.
pub struct Supervisor {
    wanted: watch::Sender<Wanted>,
    report: Arc<Mutex<Report>>,
    task: Mutex<Option<JoinHandle<()>>>,
    source_id: String,
}

impl std::fmt::Debug for Supervisor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Supervisor")
            .field("source_id", &self.source_id)
            .field("wanted", &*self.wanted.borrow())
            .finish()
    }
}

impl Supervisor {
    /// Starts the process now (on the current tokio runtime) and keeps it running.
    pub fn start(config: SupervisorConfig, subscribers: Subscribers) -> Self {
        let (wanted, wanted_rx) = watch::channel(Wanted::Run);
        let report = Arc::new(Mutex::new(Report::new(config.stderr_lines)));
        let source_id = config.source_id.clone();
        let task = tokio::spawn(run(config, subscribers, wanted_rx, Arc::clone(&report)));
        Self {
            wanted,
            report,
            task: Mutex::new(Some(task)),
            source_id,
        }
    }

    /// Stops the process (its group is terminated and waited for); `resume` starts it again.
    pub async fn pause(&self) {
        self.wanted.send_replace(Wanted::Pause);
        self.wait_for(|s| s == SourceState::Paused).await;
    }

    /// Starts the process again after `pause`.
    pub async fn resume(&self) {
        self.wanted.send_replace(Wanted::Run);
        self.wait_for(|s| s != SourceState::Paused).await;
    }

    /// Whether it is paused.
    pub fn is_paused(&self) -> bool {
        *self.wanted.borrow() == Wanted::Pause
    }

    /// Terminates the process group and waits for the process and the supervising task.
    pub async fn shutdown(&self) {
        self.wanted.send_replace(Wanted::Stop);
        let task = self.task.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(task) = task
            && let Err(e) = task.await
        {
            tracing::error!(source_id = %self.source_id, %e, "bento supervisor task failed");
        }
        // Belt and braces: whatever the task did, no member of the group survives.
        if let Some(pid) = self.lock().pid.take() {
            signal_group(pid, Signal::SIGKILL);
        }
        self.lock().state = SourceState::Stopped;
    }

    /// The current status.
    pub fn status(&self) -> SupervisorStatus {
        let r = self.lock();
        let mut details = BTreeMap::new();
        details.insert("mode".into(), json!("managed"));
        details.insert("pid".into(), json!(r.pid));
        details.insert("starts".into(), json!(r.starts));
        details.insert("restarts".into(), json!(r.starts.saturating_sub(1)));
        details.insert("events_delivered".into(), json!(r.events));
        details.insert("stderr_tail".into(), json!(r.stderr.lines()));
        if r.handler_errors > 0 {
            details.insert("handler_errors".into(), json!(r.handler_errors));
            details.insert("last_handler_error".into(), json!(r.last_handler_error));
        }
        if r.undecodable_lines > 0 {
            details.insert("undecodable_lines".into(), json!(r.undecodable_lines));
            details.insert("last_undecodable".into(), json!(r.last_undecodable));
        }
        if let Some(lsn) = r.acknowledged_lsn {
            details.insert(
                "acknowledged_lsn".into(),
                json!(crate::generate::mapping::format_lsn(lsn)),
            );
        }
        if r.repeats_dropped > 0 {
            details.insert("repeats_dropped".into(), json!(r.repeats_dropped));
        }
        let error = match (&r.error, &r.ack_blocked) {
            (Some(e), _) => Some(e.clone()),
            (None, Some(b)) => Some(b.clone()),
            (None, None) => None,
        };
        let state = if r.ack_blocked.is_some() && r.state == SourceState::Running {
            SourceState::Error
        } else {
            r.state
        };
        SupervisorStatus {
            state,
            error,
            last_event: r.last_event,
            pid: r.pid,
            details,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Report> {
        self.report.lock().unwrap_or_else(|p| p.into_inner())
    }

    async fn wait_for(&self, done: impl Fn(SourceState) -> bool) {
        // The task acts on the request within one select; this only bounds a broken task.
        let deadline = Instant::now() + TERM_GRACE + Duration::from_secs(5);
        while !done(self.lock().state) && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

impl Drop for Supervisor {
    fn drop(&mut self) {
        // Without `shutdown`: tell the task to stop, and kill the group right away, since
        // the task may never run again (runtime shutting down).
        self.wanted.send_replace(Wanted::Stop);
        if let Some(pid) = self.lock().pid {
            signal_group(pid, Signal::SIGKILL);
        }
    }
}
