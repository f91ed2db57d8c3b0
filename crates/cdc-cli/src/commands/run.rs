//! `cdc run FILE`: start sources, attach triggers, run steps per event until end of input
//! or Ctrl-C / SIGTERM.

use std::path::PathBuf;
use std::time::Duration;

use crate::config::{ConfigFile, MAX_METRICS_INTERVAL_SECS};
use crate::error::CliError;
use crate::output::Format;
use crate::run::{RunOptions, status_file};

/// Runs `cfg` on a multi-threaded runtime.
pub fn run(
    cfg: ConfigFile,
    output: Option<Format>,
    metrics_interval: Option<u64>,
    status_flag: Option<PathBuf>,
) -> Result<(), CliError> {
    if let Some(secs) = metrics_interval
        && secs > MAX_METRICS_INTERVAL_SECS
    {
        return Err(CliError::Usage(format!(
            "--metrics-interval: {secs} is outside 0..={MAX_METRICS_INTERVAL_SECS} seconds (0: off)"
        )));
    }
    let secs = metrics_interval.unwrap_or(cfg.settings.metrics_interval_secs);
    let status_path = status_file::path_for(
        &cfg.path,
        status_flag
            .as_deref()
            .or(cfg.settings.status_file.as_deref()),
    );
    let options = RunOptions {
        format: Format::resolve(output),
        summary_every: (secs > 0).then(|| Duration::from_secs(secs)),
        status_path,
        shutdown_timeout: Duration::from_secs(cfg.settings.shutdown_timeout_secs),
    };
    let runtime = tokio::runtime::Runtime::new()
        .map_err(|e| CliError::Runtime(format!("cannot start the async runtime: {e}")))?;
    let result = runtime.block_on(crate::run::run(cfg, options));
    // The run is over (its shutdown drained, reported and stopped what it could, in bounded
    // time): nothing left on the runtime (a provider's blocking read that never returns) may
    // keep the process from exiting.
    runtime.shutdown_background();
    result
}
