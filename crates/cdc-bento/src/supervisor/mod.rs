//! The managed Bento process of one source: spawned in its own process group, its stdout
//! decoded into events and delivered to the source's subscribers, its stderr kept for the
//! status, restarted with capped exponential backoff when it exits, stopped on pause and
//! disconnect.
//!
//! One tokio task owns the child process; the handle talks to it through a `watch` channel
//! of the wanted run state, so every path that stops the process (pause, disconnect, drop)
//! goes through the same group termination and wait.

mod process;
mod tail;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use cdc_core::{SharedEvent, SourceState, Subscribers};
use nix::sys::signal::Signal;
use serde_json::{Value, json};
use time::OffsetDateTime;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::generate::NormalizedEvent;

pub use process::{TERM_GRACE, signal_group, spawn_in_group, terminate_group};
pub use tail::LineTail;

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
        let report = Arc::new(Mutex::new(Report {
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
            stderr: LineTail::new(config.stderr_lines),
        }));
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
        SupervisorStatus {
            state: r.state,
            error: r.error.clone(),
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

fn set(report: &Mutex<Report>, f: impl FnOnce(&mut Report)) {
    f(&mut report.lock().unwrap_or_else(|p| p.into_inner()));
}

/// The supervising task: start, read, and restart until told to stop.
async fn run(
    cfg: SupervisorConfig,
    subscribers: Subscribers,
    mut wanted: watch::Receiver<Wanted>,
    report: Arc<Mutex<Report>>,
) {
    let mut backoff = cfg.backoff_initial;
    loop {
        let w = *wanted.borrow_and_update();
        match w {
            Wanted::Stop => break,
            Wanted::Pause => {
                set(&report, |r| {
                    r.state = SourceState::Paused;
                    r.error = None;
                });
                if wanted.changed().await.is_err() {
                    break;
                }
                continue;
            }
            Wanted::Run => {}
        }

        let mut child = match spawn_in_group(&cfg.bin, &cfg.config_path, &cfg.env) {
            Ok(c) => c,
            Err(e) => {
                let msg = format!("could not start {}: {e}", cfg.bin.display());
                set(&report, |r| {
                    r.state = SourceState::Error;
                    r.error = Some(msg);
                });
                if !sleep_or_change(&mut wanted, backoff).await {
                    continue;
                }
                backoff = (backoff * 2).min(cfg.backoff_max);
                continue;
            }
        };
        let pid = child.id();
        set(&report, |r| {
            r.state = SourceState::Running;
            r.error = None;
            r.pid = pid;
            r.starts += 1;
        });
        let started = Instant::now();
        tracing::info!(source_id = %cfg.source_id, ?pid, "bento process started");

        let stderr_task = child.stderr.take().map(|stderr| {
            let report = Arc::clone(&report);
            tokio::spawn(async move {
                let mut lines = BufReader::new(stderr).lines();
                while let Ok(Some(line)) = lines.next_line().await {
                    set(&report, |r| r.stderr.push(&line));
                }
            })
        });
        let mut stdout = child.stdout.take().map(|s| BufReader::new(s).lines());

        // Read events until the process ends or the owner wants something else.
        let mut interrupted = false;
        while let Some(lines) = stdout.as_mut() {
            tokio::select! {
                line = lines.next_line() => match line {
                    Ok(Some(line)) => {
                        if !wait_for_listener(&subscribers, &mut wanted).await {
                            interrupted = true;
                            break;
                        }
                        deliver_line(&cfg.source_id, &line, &subscribers, &report).await
                    }
                    _ => break,
                },
                changed = wanted.changed() => {
                    if changed.is_err() || *wanted.borrow() != Wanted::Run {
                        interrupted = true;
                        break;
                    }
                }
            }
        }

        if interrupted {
            set(&report, |r| r.state = SourceState::Stopping);
            terminate_group(&mut child).await;
            if let Some(t) = stderr_task {
                let _ = t.await;
            }
            set(&report, |r| r.pid = None);
            tracing::info!(source_id = %cfg.source_id, ?pid, "bento process stopped");
            continue;
        }

        // stdout closed: the process is ending on its own. Reap it and anything it left.
        let status = match tokio::time::timeout(TERM_GRACE, child.wait()).await {
            Ok(Ok(s)) => Some(s),
            _ => terminate_group(&mut child).await,
        };
        if let Some(pid) = pid {
            signal_group(pid, Signal::SIGKILL);
        }
        if let Some(t) = stderr_task {
            let _ = t.await;
        }
        let exit = status
            .map(|s| s.to_string())
            .unwrap_or_else(|| "unknown status".into());
        set(&report, |r| {
            r.pid = None;
            r.state = SourceState::Error;
            let tail = r.stderr.joined();
            r.error = Some(if tail.is_empty() {
                format!("bento exited ({exit}); no stderr output")
            } else {
                format!("bento exited ({exit}); stderr tail:\n{tail}")
            });
        });
        tracing::warn!(source_id = %cfg.source_id, ?pid, %exit, "bento process exited; restarting after backoff");

        // A process that ran long enough starts the backoff over.
        if started.elapsed() > cfg.backoff_max {
            backoff = cfg.backoff_initial;
        }
        if !sleep_or_change(&mut wanted, backoff).await {
            continue;
        }
        backoff = (backoff * 2).min(cfg.backoff_max);
        set(&report, |r| r.state = SourceState::Restarting);
    }
    set(&report, |r| {
        r.state = SourceState::Stopped;
        r.pid = None;
    });
}

/// Sleeps `delay`; returns false early when the owner's wish changed away from `Run`.
async fn sleep_or_change(wanted: &mut watch::Receiver<Wanted>, delay: Duration) -> bool {
    let sleep = tokio::time::sleep(delay);
    tokio::pin!(sleep);
    loop {
        tokio::select! {
            _ = &mut sleep => return true,
            changed = wanted.changed() => {
                if changed.is_err() || *wanted.borrow() != Wanted::Run {
                    return false;
                }
            }
        }
    }
}

/// Holds a line read from Bento until a handler listens: Bento's stdout takes nothing back, so
/// an event handed to nobody (say, output printed before the first subscribe) would be lost.
/// Returns false when the owner wants the process paused or stopped meanwhile.
async fn wait_for_listener(
    subscribers: &Subscribers,
    wanted: &mut watch::Receiver<Wanted>,
) -> bool {
    while subscribers.is_empty() {
        tokio::select! {
            _ = subscribers.wait_for_subscriber() => {}
            changed = wanted.changed() => {
                if changed.is_err() || *wanted.borrow() != Wanted::Run {
                    return false;
                }
            }
        }
    }
    true
}

/// Decodes one stdout line and hands it to the subscribers. A line that is not an event
/// (a log line, a partial write) is counted and shown in the status, never silently dropped.
async fn deliver_line(
    source_id: &str,
    line: &str,
    subscribers: &Subscribers,
    report: &Mutex<Report>,
) {
    if line.trim().is_empty() {
        return;
    }
    let event = NormalizedEvent::from_json_line(line).and_then(|n| n.into_change_event(source_id));
    let event = match event {
        Ok(e) => e,
        Err(msg) => {
            let shown: String = line.chars().take(200).collect();
            tracing::warn!(source_id, line = %shown, %msg, "bento stdout line is not an event");
            set(report, |r| {
                r.undecodable_lines += 1;
                r.last_undecodable = Some(format!("{msg}: {shown}"));
            });
            return;
        }
    };
    let batch: [SharedEvent; 1] = [Arc::new(event)];
    let result = subscribers.deliver(&batch).await;
    set(report, |r| {
        r.events += 1;
        r.last_event = Some(OffsetDateTime::now_utc());
        if let Err(failure) = result {
            // Bento's stdout output has no acknowledgement back to the source: the failure is
            // recorded in the status (like the memory provider) and delivery goes on.
            r.handler_errors += 1;
            r.last_handler_error = Some(failure.to_string());
        }
    });
}
