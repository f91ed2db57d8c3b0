//! The engine of `cdc run`.
//!
//! Start-up ([`start`]): sources connected and registered, counting subscriptions and
//! triggers attached, then memory sources resumed. Then the run goes on until the end of the
//! input (every source a memory source reading a file: each read to its end) or a signal,
//! with a summary and a status file write every interval. The end ([`shutdown`]) drains
//! what was read, writes the final status, stops the sources, in bounded time.

pub mod pipeline;
mod progress;
pub mod refs;
mod reload;
pub mod report;
mod shutdown;
mod signals;
mod stall;
mod start;
pub mod stats;
pub mod status_file;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use cdc::memory::MemoryProvider;
use cdc::steps::{StepContext, StepRegistry};
use cdc::{SourceModule, SourceRegistry, Subscription};

use self::pipeline::{InFlight, Shared};
use self::signals::{Asked, Signals};
use self::stats::SourceStats;
use crate::config::ConfigFile;
use crate::error::CliError;
use crate::output::{Format, Printer};
use crate::serve::{HttpOptions, Server};

/// How to run.
#[derive(Clone, Debug)]
pub struct RunOptions {
    /// Output format of events and step outputs.
    pub format: Format,
    /// Interval of the per-source summary on stderr (and of status file writes).
    pub summary_every: Option<Duration>,
    /// Where the status goes.
    pub status_path: PathBuf,
    /// The bound of each waiting phase of the shutdown.
    pub shutdown_timeout: Duration,
    /// The HTTP endpoint, when asked for.
    pub http: Option<HttpOptions>,
}

/// A started source.
pub(crate) struct Running {
    module: SourceModule,
    memory: Option<Arc<MemoryProvider>>,
    stats: Arc<SourceStats>,
    _counting: Subscription,
}

impl Running {
    /// The run's counters of this source.
    pub fn stats(&self) -> &SourceStats {
        &self.stats
    }

    /// Lines of a memory source's input that were skipped (0 for other providers).
    fn skipped_lines(&self) -> u64 {
        self.memory
            .as_ref()
            .and_then(|m| m.skipped_lines(self.module.source_id()).ok())
            .unwrap_or(0)
    }
}

/// Runs the pipelines of `cfg` until end of input or a signal.
pub async fn run(cfg: ConfigFile, opts: RunOptions) -> Result<(), CliError> {
    let mut signals = Signals::install()?;
    // The endpoint (and its metrics recorder) first: the sources' metric handles register
    // with it, and a port in use fails the run before anything connects.
    let server = match &opts.http {
        Some(h) => Some(Server::start(h, &cfg, opts.status_path.clone()).await?),
        None => None,
    };
    let http_addr = server.as_ref().map(|s| s.live().addr().to_string());
    let result = run_sources(
        &cfg,
        &opts,
        &mut signals,
        server.as_ref(),
        http_addr.as_deref(),
    )
    .await;
    if let Some(s) = server {
        s.stop().await;
    }
    result
}

async fn run_sources(
    cfg: &ConfigFile,
    opts: &RunOptions,
    signals: &mut Signals,
    server: Option<&Server>,
    http: Option<&str>,
) -> Result<(), CliError> {
    let registry = Arc::new(SourceRegistry::new());
    let factory = Arc::new(cdc::provider_factory());
    let sources = Arc::new(start::sources(cfg, &registry, &factory).await?);

    let printer = Printer::new(opts.format)
        .map_err(|e| CliError::Runtime(format!("cannot start the output writer: {e}")))?;
    let shared = Arc::new(Shared {
        printer,
        steps: StepRegistry::standard(),
        context: StepContext::new(Arc::clone(&registry), Arc::clone(&factory)),
        in_flight: InFlight::default(),
        step_errors: Default::default(),
    });
    let started = match start::triggers(cfg, &registry, &shared) {
        Ok(triggers) => match start::resume(&sources).await {
            Ok(()) => Ok(triggers),
            Err(e) => {
                triggers.iter().for_each(|t| {
                    t.stop();
                });
                Err(e)
            }
        },
        Err(e) => Err(e),
    };
    let triggers = match started {
        Ok(t) => t,
        Err(e) => {
            stop_sources(&sources).await;
            return Err(e);
        }
    };

    if let Some(s) = server {
        s.live().started(Arc::clone(&sources));
    }
    report::write_status(cfg, &opts.status_path, &sources, true, http).await;
    let reason = wait_for_the_end(cfg, opts, &sources, &shared, signals, http).await;
    eprintln!("cdc: stopping ({})", reason.text());
    if let Some(s) = server {
        s.live().stopping();
    }
    let end = shutdown::Ending {
        cfg,
        status_path: &opts.status_path,
        sources: &sources,
        triggers: &triggers,
        shared: &shared,
        timeout: opts.shutdown_timeout,
    };
    shutdown::run(end, signals).await?;
    if reason == End::Stalled {
        return Err(CliError::Runtime(
            "the input was not read to its end: every source was paused by a step \
             (step.cdc_backpressure action: throttle) and no event was left to resume it"
                .into(),
        ));
    }
    Ok(())
}

/// Why the run stops.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum End {
    InputRead,
    Signal(&'static str),
    Stalled,
}

impl End {
    fn text(self) -> &'static str {
        match self {
            Self::InputRead => "end of input",
            Self::Signal(name) => name,
            Self::Stalled => "every source is paused by a step and nothing can resume it",
        }
    }
}

/// Runs the periodic summary until the end of the input or a signal; returns which.
async fn wait_for_the_end(
    cfg: &ConfigFile,
    opts: &RunOptions,
    sources: &[Running],
    shared: &Shared,
    signals: &mut Signals,
    http: Option<&str>,
) -> End {
    // The run ends by itself only when every source is a memory source reading a file; it
    // ends when each has read its input to the end (a paused source included: what it holds
    // is delivered by the shutdown's drain).
    let finite = sources
        .iter()
        .all(|s| s.memory.is_some() && s.module.config().options.contains_key("events_file"));
    let end_of_input = async {
        if !finite {
            return std::future::pending::<()>().await;
        }
        for s in sources {
            if let Some(m) = &s.memory {
                let _ = m.wait_input_end(s.module.source_id()).await;
            }
        }
    };
    tokio::pin!(end_of_input);
    let stalled = async {
        if !finite {
            return std::future::pending::<()>().await;
        }
        stall::every_source_paused(sources, &shared.in_flight).await;
    };
    tokio::pin!(stalled);
    let mut ticker = opts.summary_every.map(|d| {
        // The interval is range-checked by the config, so the first deadline fits.
        let mut t = tokio::time::interval_at(tokio::time::Instant::now() + d, d);
        t.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        t
    });
    let mut last_tick = Instant::now();
    let mut bars = progress::on_terminal().then(|| progress::Bars::new(sources.len()));
    let mut bar_ticker = tokio::time::interval(progress::TICK);
    bar_ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = &mut end_of_input => return End::InputRead,
            () = &mut stalled => return End::Stalled,
            _ = bar_ticker.tick(), if bars.is_some() => {
                if let Some(b) = bars.as_mut() {
                    b.tick(sources).await;
                }
            }
            asked = signals.next() => match asked {
                Asked::Stop(why) => return End::Signal(why),
                Asked::Reload => reload::on_hangup(cfg),
            },
            _ = async { ticker.as_mut().expect("guarded").tick().await }, if ticker.is_some() => {
                let elapsed = last_tick.elapsed().as_secs_f64().max(0.001);
                last_tick = Instant::now();
                report::summarize(sources, elapsed, bars.is_some()).await;
                report::write_status(cfg, &opts.status_path, sources, true, http).await;
            }
        }
    }
}

/// Stops the sources, last started first; returns the failures.
async fn stop_sources(sources: &[Running]) -> Vec<String> {
    let mut failed = Vec::new();
    for s in sources.iter().rev() {
        if let Err(e) = s.module.stop().await {
            failed.push(format!(
                "source {:?} failed to stop: {e}",
                s.module.source_id()
            ));
        }
    }
    failed
}
