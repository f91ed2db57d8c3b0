//! The end of a run (end of input, Ctrl-C or SIGTERM), in bounded time.
//!
//! 1. Drain: memory inputs stop reading and deliver everything already read, also while a
//!    step has paused them (the run is stopping; at-least-once wants what was read handled);
//!    then the triggers stop, callbacks still running finish, stdout is flushed.
//! 2. The final status file is written and each source's final line printed, whatever 1 did.
//! 3. The sources stop.
//!
//! Steps 1 and 3 each have `settings.shutdown_timeout_secs`: a stdout nobody reads or a
//! backend that does not answer cannot hold the process. A second signal ends the wait.

use std::time::Duration;

use cdc::trigger::CdcTrigger;

use super::pipeline::{Pipeline, Shared};
use super::signals::Signals;
use super::{Running, report, stop_sources};
use crate::config::ConfigFile;
use crate::error::CliError;

/// Everything the shutdown touches.
pub struct Ending<'a> {
    /// The config run.
    pub cfg: &'a ConfigFile,
    /// Where the status goes.
    pub status_path: &'a std::path::Path,
    /// The started sources.
    pub sources: &'a [Running],
    /// The started triggers.
    pub triggers: &'a [CdcTrigger<Pipeline>],
    /// What the callbacks share.
    pub shared: &'a Shared,
    /// The bound of each waiting phase.
    pub timeout: Duration,
}

enum Waited {
    Done,
    TimedOut,
    Signal,
}

async fn bounded(
    signals: &mut Signals,
    timeout: Duration,
    work: impl Future<Output = ()>,
) -> Waited {
    tokio::select! {
        () = work => Waited::Done,
        () = tokio::time::sleep(timeout) => Waited::TimedOut,
        _ = signals.next_stop() => Waited::Signal,
    }
}

/// Drains, reports and stops; see the module docs.
pub async fn run(end: Ending<'_>, signals: &mut Signals) -> Result<(), CliError> {
    let drain = async {
        for s in end.sources {
            if let Some(m) = &s.memory {
                let _ = m.drain(s.module.source_id()).await;
            }
        }
        for t in end.triggers {
            t.stop();
        }
        end.shared.in_flight.wait().await;
        end.shared.printer.flush().await;
    };
    let drained = bounded(signals, end.timeout, drain).await;
    report::write_status(end.cfg, end.status_path, end.sources, false, None).await;
    let undelivered = report::final_lines(end.sources).await;
    let step_errors = end
        .shared
        .step_errors
        .load(std::sync::atomic::Ordering::Relaxed);
    if step_errors > 0 {
        eprintln!("cdc: {step_errors} step(s) failed (see the step_error records)");
    }
    let secs = end.timeout.as_secs();
    match drained {
        Waited::Done => {}
        Waited::Signal => return Err(second_signal(undelivered)),
        Waited::TimedOut => {
            return Err(CliError::Runtime(format!(
                "stopping took longer than {secs}s (settings.shutdown_timeout_secs): \
                 {undelivered} event(s) read were not delivered, and records still \
                 waiting for stdout were not written"
            )));
        }
    }
    let mut failed = Vec::new();
    let stopped = bounded(signals, end.timeout, async {
        failed = stop_sources(end.sources).await;
    })
    .await;
    match stopped {
        Waited::Done if failed.is_empty() => Ok(()),
        Waited::Done => Err(CliError::Runtime(failed.join("; "))),
        Waited::Signal => Err(second_signal(0)),
        Waited::TimedOut => Err(CliError::Runtime(format!(
            "the sources did not stop within {secs}s (settings.shutdown_timeout_secs)"
        ))),
    }
}

fn second_signal(undelivered: u64) -> CliError {
    CliError::Runtime(format!(
        "second signal while stopping: exiting without waiting ({undelivered} event(s) read \
         were not delivered)"
    ))
}
