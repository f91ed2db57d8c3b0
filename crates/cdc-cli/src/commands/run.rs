//! `cdc run FILE`: start sources, attach triggers, run steps per event until end of input
//! or Ctrl-C / SIGTERM.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use crate::config::{ConfigFile, HttpSettings, MAX_METRICS_INTERVAL_SECS};
use crate::error::CliError;
use crate::output::Format;
use crate::run::{RunOptions, status_file};
use crate::serve::HttpOptions;

/// The flags of `cdc run`.
#[derive(Debug, Default)]
pub struct Flags {
    /// `--output`.
    pub output: Option<Format>,
    /// `--metrics-interval`.
    pub metrics_interval: Option<u64>,
    /// `--status-file`.
    pub status_file: Option<PathBuf>,
    /// `--listen`.
    pub listen: Option<String>,
}

/// Runs `cfg` on a multi-threaded runtime.
pub fn run(cfg: ConfigFile, flags: Flags) -> Result<(), CliError> {
    if let Some(secs) = flags.metrics_interval
        && secs > MAX_METRICS_INTERVAL_SECS
    {
        return Err(CliError::Usage(format!(
            "--metrics-interval: {secs} is outside 0..={MAX_METRICS_INTERVAL_SECS} seconds (0: off)"
        )));
    }
    let http = http_options(&cfg.settings.http, flags.listen.as_deref())?;
    let secs = flags
        .metrics_interval
        .unwrap_or(cfg.settings.metrics_interval_secs);
    let status_path = status_file::path_for(
        &cfg.path,
        flags
            .status_file
            .as_deref()
            .or(cfg.settings.status_file.as_deref()),
    );
    let options = RunOptions {
        format: Format::resolve(flags.output),
        summary_every: (secs > 0).then(|| Duration::from_secs(secs)),
        status_path,
        shutdown_timeout: Duration::from_secs(cfg.settings.shutdown_timeout_secs),
        http,
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

/// The endpoint asked for by `--listen` (checked like the file's `listen`) or the file.
fn http_options(
    settings: &HttpSettings,
    flag: Option<&str>,
) -> Result<Option<HttpOptions>, CliError> {
    let listen = match flag {
        Some(text) => {
            let addr: SocketAddr = text.parse().map_err(|_| {
                CliError::Usage(format!(
                    "--listen: must be an IP address and port (127.0.0.1:9464, [::1]:0), got {text:?}"
                ))
            })?;
            HttpSettings::check_listen(addr, settings.allow_remote, "--listen")
                .map_err(CliError::Usage)?;
            addr
        }
        None => match settings.listen {
            Some(addr) => addr,
            None => return Ok(None),
        },
    };
    Ok(Some(HttpOptions {
        listen,
        token: settings.token.clone(),
    }))
}
