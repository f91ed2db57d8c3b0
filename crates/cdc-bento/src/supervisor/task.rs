//! The supervising task of a [`Supervisor`]: it starts the process, reads its stdout into
//! events for the subscribers and its stderr into the tail, and restarts it with backoff
//! until the owner wants it paused or stopped. Apart from the handle in `mod.rs`, which only
//! sends the wanted state and reads the report this task writes.
//!
//! [`Supervisor`]: super::Supervisor

use std::sync::{Arc, Mutex};
use std::time::Instant;

use cdc_core::{SourceState, Subscribers};
use nix::sys::signal::Signal;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::sync::watch;

use super::delivery::{Delivered, Pending, sleep_or_change};
use super::{
    Report, SupervisorConfig, TERM_GRACE, Wanted, signal_group, spawn_in_group, terminate_group,
};

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
    // Events read and not yet handled: kept across pauses and restarts of the process.
    let mut pending = Pending::new(cfg.acks.clone());
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

        // What a handler failed on before a pause or a restart goes first.
        let mut interrupted = matches!(
            pending.deliver(&subscribers, &mut wanted, &report).await,
            Delivered::Interrupted
        );
        // Read events until the process ends or the owner wants something else: a line, then
        // whatever more is already buffered (a batch), then the batch is delivered.
        while let Some(lines) = stdout.as_mut().filter(|_| !interrupted) {
            tokio::select! {
                line = lines.next_line() => match line {
                    Ok(Some(line)) => {
                        pending.take_line(&cfg.source_id, &line, &report);
                        while !pending.is_full() && lines.get_ref().buffer().contains(&b'\n') {
                            match lines.next_line().await {
                                Ok(Some(line)) => pending.take_line(&cfg.source_id, &line, &report),
                                _ => break,
                            }
                        }
                        let delivered = pending
                            .deliver(&subscribers, &mut wanted, &report)
                            .await;
                        if let Delivered::Interrupted = delivered {
                            interrupted = true;
                        }
                    }
                    _ => break,
                },
                changed = wanted.changed() => {
                    if changed.is_err() || *wanted.borrow() != Wanted::Run {
                        interrupted = true;
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
