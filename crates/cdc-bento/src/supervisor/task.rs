//! The supervising task of a [`Supervisor`]: it starts the process, reads its stdout into
//! events for the subscribers and its stderr into the tail, and restarts it with backoff
//! until the owner wants it paused or stopped. Apart from the handle in `mod.rs`, which only
//! sends the wanted state and reads the report this task writes.
//!
//! [`Supervisor`]: super::Supervisor

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use cdc_core::{SharedEvent, SourceState, Subscribers};
use nix::sys::signal::Signal;
use time::OffsetDateTime;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::sync::watch;

use super::{
    Report, SupervisorConfig, TERM_GRACE, Wanted, signal_group, spawn_in_group, terminate_group,
};
use crate::generate::NormalizedEvent;

fn set(report: &Mutex<Report>, f: impl FnOnce(&mut Report)) {
    f(&mut report.lock().unwrap_or_else(|p| p.into_inner()));
}

/// The supervising task: start, read, and restart until told to stop.
pub(super) async fn run(
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
