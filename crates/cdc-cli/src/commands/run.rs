//! `cdc run FILE`: start sources, attach triggers, run steps per event until end of input
//! or Ctrl-C / SIGTERM.

use std::path::PathBuf;
use std::time::Duration;

use crate::config::ConfigFile;
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
    };
    let runtime = tokio::runtime::Runtime::new()
        .map_err(|e| CliError::Runtime(format!("cannot start the async runtime: {e}")))?;
    runtime.block_on(crate::run::run(cfg, options))
}
