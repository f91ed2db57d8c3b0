//! The config file: `sources:`, `triggers:` (each with `steps:`) and `settings:`.
//!
//! Loading collects every problem at once, each with file and line: YAML syntax, unknown
//! keys (with a "did you mean"), unset `${VAR}`s, invalid source and trigger configs, unknown
//! providers and step types, triggers on sources the file does not define.

mod check;
#[cfg(test)]
mod fuzz;
mod http;
mod interpolate;
mod node;
mod settings;
mod suggest;
#[cfg(test)]
mod tests;
mod triggers;

use std::fmt;
use std::path::{Path, PathBuf};

use cdc::SourceConfig;
use cdc::trigger::TriggerConfig;

use crate::run::refs::Template;

pub use http::HttpSettings;
pub use suggest::hint;

/// One problem in a config file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    /// The file.
    pub file: String,
    /// 1-based line, when known.
    pub line: Option<usize>,
    /// What is wrong, starting with the field path (`sources[0].source_id: is required`).
    pub message: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{line}: {}", self.file, self.message),
            None => write!(f, "{}: {}", self.file, self.message),
        }
    }
}

/// The `settings:` section.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Settings {
    /// `text` or `json`; the `--log-format` flag wins.
    pub log_format: Option<String>,
    /// Seconds between the per-source summary lines of `cdc run` (0: none), at most
    /// [`MAX_METRICS_INTERVAL_SECS`]. Default 10.
    pub metrics_interval_secs: u64,
    /// Where `cdc run` writes the status `cdc status` reads.
    pub status_file: Option<PathBuf>,
    /// How long each phase of `cdc run`'s shutdown may wait (draining what was read and
    /// writing it out; stopping the sources), 1 to [`MAX_SHUTDOWN_TIMEOUT_SECS`]. Default 30.
    pub shutdown_timeout_secs: u64,
    /// `settings.http`: the run's HTTP endpoint (off unless `listen` or `--listen`).
    pub http: HttpSettings,
}

/// The default of `settings.metrics_interval_secs`.
pub const DEFAULT_METRICS_INTERVAL_SECS: u64 = 10;
/// The largest `settings.metrics_interval_secs` (and `--metrics-interval`): a day.
pub const MAX_METRICS_INTERVAL_SECS: u64 = 86_400;
/// The default of `settings.shutdown_timeout_secs`.
pub const DEFAULT_SHUTDOWN_TIMEOUT_SECS: u64 = 30;
/// The largest `settings.shutdown_timeout_secs`: an hour.
pub const MAX_SHUTDOWN_TIMEOUT_SECS: u64 = 3_600;

impl Default for Settings {
    fn default() -> Self {
        Self {
            log_format: None,
            metrics_interval_secs: DEFAULT_METRICS_INTERVAL_SECS,
            status_file: None,
            shutdown_timeout_secs: DEFAULT_SHUTDOWN_TIMEOUT_SECS,
            http: HttpSettings::default(),
        }
    }
}

/// One step of a trigger.
#[derive(Clone, Debug, PartialEq)]
pub struct StepSpec {
    /// The step type (`step.cdc_status`, ...).
    pub step_type: String,
    /// Its name, unique in the trigger; later steps read its output as `${steps.<name>.<key>}`.
    pub name: String,
    /// Its config, read once: environment values put in as text, `${event.*}` /
    /// `${steps.*}` references parsed, resolved per event (its `Debug` masks secrets).
    pub config: Template,
}

/// One trigger with its steps.
#[derive(Clone, Debug, PartialEq)]
pub struct TriggerSpec {
    /// Its name (`name:`, or `trigger-<n>`).
    pub name: String,
    /// The filter: source, tables, actions.
    pub config: TriggerConfig,
    /// The steps run in order for each matching event.
    pub steps: Vec<StepSpec>,
}

/// A loaded, checked config file.
#[derive(Clone, Debug)]
pub struct ConfigFile {
    /// The file.
    pub path: PathBuf,
    /// The sources (relative `events_file` paths made relative to the file's folder).
    pub sources: Vec<SourceConfig>,
    /// The triggers.
    pub triggers: Vec<TriggerSpec>,
    /// The settings.
    pub settings: Settings,
}

impl ConfigFile {
    /// Reads and checks `path` with the process environment; every problem at once.
    pub fn load(path: &Path) -> Result<Self, Vec<Diagnostic>> {
        Self::load_with_env(path, &|name| std::env::var(name).ok())
    }

    /// [`ConfigFile::load`] with another environment.
    pub fn load_with_env(
        path: &Path,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Self, Vec<Diagnostic>> {
        let file = path.display().to_string();
        let text = read_text(path).map_err(|(line, message)| {
            vec![Diagnostic {
                file: file.clone(),
                line,
                message,
            }]
        })?;
        check::load_text(path, &text, env)
    }

    /// The source with this id.
    pub fn source(&self, source_id: &str) -> Option<&SourceConfig> {
        self.sources.iter().find(|s| s.source_id == source_id)
    }

    /// How many steps all triggers have.
    pub fn step_count(&self) -> usize {
        self.triggers.iter().map(|t| t.steps.len()).sum()
    }
}

/// Largest config file read: configs are small, and a huge file must not be read whole.
pub const MAX_CONFIG_BYTES: u64 = 4 << 20;

/// Reads a config file as UTF-8 text, at most [`MAX_CONFIG_BYTES`]. The error has the line
/// of the first invalid byte, when that is the problem.
fn read_text(path: &Path) -> Result<String, (Option<usize>, String)> {
    use std::io::Read;
    let cannot = |e: std::io::Error| (None, format!("cannot read the config file: {e}"));
    let file = std::fs::File::open(path).map_err(cannot)?;
    let mut bytes = Vec::new();
    file.take(MAX_CONFIG_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(cannot)?;
    if bytes.len() as u64 > MAX_CONFIG_BYTES {
        return Err((
            None,
            format!(
                "the config file is larger than {} MiB; a config this big is not read",
                MAX_CONFIG_BYTES >> 20
            ),
        ));
    }
    String::from_utf8(bytes).map_err(|e| {
        let good = &e.as_bytes()[..e.utf8_error().valid_up_to()];
        let line = good.iter().filter(|b| **b == b'\n').count() + 1;
        let column = good.len() - good.iter().rposition(|b| *b == b'\n').map_or(0, |p| p + 1) + 1;
        (
            Some(line),
            format!("the config file is not UTF-8: invalid byte at column {column}"),
        )
    })
}
