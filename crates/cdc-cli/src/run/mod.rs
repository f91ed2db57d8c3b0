//! The engine of `cdc run`.
//!
//! Start-up: every source is connected and registered (memory sources connect paused, so
//! nothing flows yet), a counting subscription and the triggers are attached, then memory
//! sources are resumed: no event is delivered before every trigger listens.
//!
//! Shutdown (end of input, Ctrl-C or SIGTERM): memory inputs stop reading, every event
//! already read is delivered and handled, then triggers stop, in-flight callbacks finish,
//! sources stop, and the final status is written. Exit 0.

pub mod pipeline;
pub mod refs;
pub mod stats;
pub mod status_file;

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use cdc::memory::MemoryProvider;
use cdc::steps::{StepContext, StepRegistry};
use cdc::trigger::CdcTrigger;
use cdc::{CdcProvider, SourceModule, SourceRegistry, Subscription};
use serde_json::Value;
use time::format_description::well_known::Rfc3339;

use self::pipeline::{InFlight, Pipeline, Shared};
use self::stats::SourceStats;
use self::status_file::{SourceReport, StatusFile};
use crate::config::ConfigFile;
use crate::error::CliError;
use crate::output::{Format, Printer};

/// How to run.
#[derive(Clone, Debug)]
pub struct RunOptions {
    /// Output format of events and step outputs.
    pub format: Format,
    /// Interval of the per-source summary on stderr (and of status file writes).
    pub summary_every: Option<Duration>,
    /// Where the status goes.
    pub status_path: PathBuf,
}

/// Providers that accept `options.start_paused` (connect, deliver nothing until resumed).
const HOLDS_UNTIL_RESUMED: &[&str] = &["memory", "postgres"];

/// A started source.
struct Running {
    module: SourceModule,
    memory: Option<Arc<MemoryProvider>>,
    stats: Arc<SourceStats>,
    _counting: Subscription,
}

/// Runs the pipelines of `cfg` until end of input or a signal.
pub async fn run(cfg: ConfigFile, opts: RunOptions) -> Result<(), CliError> {
    // Listen before anything starts: a signal that arrives while the sources start (or as
    // the first events are printed) is then a clean stop, never the default kill.
    let listen = |kind: tokio::signal::unix::SignalKind, name: &str| {
        tokio::signal::unix::signal(kind)
            .map_err(|e| CliError::Runtime(format!("cannot listen for {name}: {e}")))
    };
    let mut sigterm = listen(tokio::signal::unix::SignalKind::terminate(), "SIGTERM")?;
    let mut sigint = listen(tokio::signal::unix::SignalKind::interrupt(), "SIGINT")?;
    let registry = Arc::new(SourceRegistry::new());
    let factory = Arc::new(cdc::provider_factory());
    let mut sources: Vec<Running> = Vec::new();

    for source in &cfg.sources {
        let mut source = source.clone();
        // Sources that can hold their first events connect paused and are resumed once
        // every trigger listens: no event reaches some handlers but not others.
        if HOLDS_UNTIL_RESUMED.contains(&source.provider.as_str()) {
            source
                .options
                .insert("start_paused".into(), Value::Bool(true));
        }
        let (module, memory) = if source.provider == "memory" {
            let provider = Arc::new(MemoryProvider::new());
            let module = SourceModule::with_provider(
                source.clone(),
                Arc::clone(&provider) as Arc<dyn CdcProvider>,
                Arc::clone(&registry),
            );
            (module, Some(provider))
        } else {
            (
                SourceModule::new(source.clone(), &factory, Arc::clone(&registry)),
                None,
            )
        };
        let started = match module {
            Ok(m) => m.start().await.map(|()| m),
            Err(e) => Err(e),
        };
        let module = match started {
            Ok(m) => m,
            Err(e) => {
                stop_sources(&sources).await;
                return Err(CliError::Runtime(format!(
                    "source {:?} (provider {}) failed to start: {e}",
                    source.source_id, source.provider
                )));
            }
        };
        let stats = Arc::new(SourceStats::default());
        let counting = match module
            .provider()
            .subscribe(&source.source_id, stats.handler())
        {
            Ok(s) => s,
            Err(e) => {
                let _ = module.stop().await;
                stop_sources(&sources).await;
                return Err(CliError::Runtime(format!(
                    "source {:?}: cannot subscribe: {e}",
                    source.source_id
                )));
            }
        };
        eprintln!(
            "cdc: source {} started (provider {})",
            source.source_id, source.provider
        );
        sources.push(Running {
            module,
            memory,
            stats,
            _counting: counting,
        });
    }

    let shared = Arc::new(Shared {
        printer: Printer::new(opts.format),
        steps: StepRegistry::standard(),
        context: StepContext::new(Arc::clone(&registry), Arc::clone(&factory)),
        in_flight: InFlight::default(),
        step_errors: Default::default(),
    });
    let mut triggers = Vec::new();
    for spec in &cfg.triggers {
        let pipeline = Pipeline {
            spec: spec.clone(),
            shared: Arc::clone(&shared),
        };
        let started = CdcTrigger::new(spec.config.clone(), Arc::clone(&registry), pipeline)
            .and_then(|t| t.start().map(|()| t));
        match started {
            Ok(t) => triggers.push(t),
            Err(e) => {
                triggers.iter().for_each(|t: &CdcTrigger<Pipeline>| {
                    t.stop();
                });
                stop_sources(&sources).await;
                return Err(CliError::Runtime(format!("trigger {:?}: {e}", spec.name)));
            }
        }
    }

    // Everything listens: let the sources that were held deliver.
    for s in &sources {
        let provider = s.module.provider();
        if HOLDS_UNTIL_RESUMED.contains(&provider.name())
            && let Some(p) = provider.pausable()
            && let Err(e) = p.resume(s.module.source_id()).await
        {
            triggers.iter().for_each(|t| {
                t.stop();
            });
            stop_sources(&sources).await;
            return Err(CliError::Runtime(format!(
                "source {:?}: cannot resume: {e}",
                s.module.source_id()
            )));
        }
    }

    write_status(&cfg, &opts, &sources, true).await;

    // The run ends by itself only when every source is a memory source reading a file.
    let finite = sources
        .iter()
        .all(|s| s.memory.is_some() && s.module.config().options.contains_key("events_file"));
    let end_of_input = async {
        if !finite {
            return std::future::pending::<()>().await;
        }
        for s in &sources {
            if let Some(m) = &s.memory {
                let _ = m.wait_idle(s.module.source_id()).await;
            }
        }
    };
    tokio::pin!(end_of_input);
    let mut ticker = opts.summary_every.map(|d| {
        let mut t = tokio::time::interval_at(tokio::time::Instant::now() + d, d);
        t.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        t
    });
    let mut last_tick = Instant::now();
    let reason = loop {
        tokio::select! {
            () = &mut end_of_input => break "end of input",
            _ = sigint.recv() => break "interrupt",
            _ = sigterm.recv() => break "SIGTERM",
            _ = async { ticker.as_mut().expect("guarded").tick().await }, if ticker.is_some() => {
                let elapsed = last_tick.elapsed().as_secs_f64().max(0.001);
                last_tick = Instant::now();
                summarize(&sources, elapsed).await;
                write_status(&cfg, &opts, &sources, true).await;
            }
        }
    };
    eprintln!("cdc: stopping ({reason})");

    // Drain: stop reading input, deliver (and handle) everything already read; then stop
    // the triggers and wait for callbacks still running. A second signal gives up waiting.
    let drain = async {
        for s in &sources {
            if let Some(m) = &s.memory {
                let id = s.module.source_id();
                let _ = m.close_input(id);
                let _ = m.wait_idle(id).await;
            }
        }
        for t in &triggers {
            t.stop();
        }
        shared.in_flight.wait().await;
    };
    tokio::select! {
        () = drain => {}
        _ = sigint.recv() => return Err(second_signal()),
        _ = sigterm.recv() => return Err(second_signal()),
    }
    write_status(&cfg, &opts, &sources, false).await;
    for s in &sources {
        let id = s.module.source_id();
        let read = match &s.memory {
            Some(m) => m
                .status(id)
                .await
                .ok()
                .and_then(|st| st.details.get("injected").and_then(Value::as_u64)),
            None => None,
        };
        match read {
            Some(n) => eprintln!(
                "cdc: source {id}: {n} event(s) read, {} delivered",
                s.stats.events()
            ),
            None => eprintln!("cdc: source {id}: {} event(s) delivered", s.stats.events()),
        }
    }
    let failed = stop_sources(&sources).await;
    let step_errors = shared.step_errors.load(Ordering::Relaxed);
    if step_errors > 0 {
        eprintln!("cdc: {step_errors} step(s) failed (see the step_error records)");
    }
    if failed.is_empty() {
        Ok(())
    } else {
        Err(CliError::Runtime(failed.join("; ")))
    }
}

fn second_signal() -> CliError {
    CliError::Runtime(
        "second signal while stopping: exiting without waiting for in-flight events".into(),
    )
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

/// One line per source on stderr: events/s and lag; snapshot progress while rows arrive.
async fn summarize(sources: &[Running], elapsed_secs: f64) {
    for s in sources {
        let id = s.module.source_id();
        let delta = s.stats.take_delta();
        let status = s.module.provider().status(id).await;
        let (state, lag) = match &status {
            Ok(st) => (
                st.state.to_string(),
                match (st.lag_bytes, st.lag_seconds) {
                    (None, None) => "unknown".to_owned(),
                    (b, sec) => format!(
                        "{} bytes / {} s",
                        b.map_or("?".into(), |v| v.to_string()),
                        sec.map_or("?".into(), |v| v.to_string())
                    ),
                },
            ),
            Err(e) => ("error".to_owned(), format!("status failed: {e}")),
        };
        eprintln!(
            "cdc: {id}: {state}, {} events total, {:.1} events/s, lag {lag}",
            s.stats.events(),
            delta as f64 / elapsed_secs
        );
        let rows = s.stats.snapshot_rows();
        let snapshotting = matches!(&status, Ok(st) if st.state == cdc::SourceState::Snapshot);
        if snapshotting || (delta > 0 && !rows.is_empty()) {
            // The provider's estimate of each table's size, when it reports one
            // (details.snapshot or details.backfill: tables.<table>.estimated_rows).
            let estimate = |t: &str| {
                let details = &status.as_ref().ok()?.details;
                ["snapshot", "backfill"].iter().find_map(|k| {
                    details
                        .get(*k)?
                        .get("tables")?
                        .get(t)?
                        .get("estimated_rows")?
                        .as_i64()
                })
            };
            let tables: Vec<String> = rows
                .iter()
                .map(|(t, n)| match estimate(t) {
                    Some(total) => format!("{t} {n} of ~{total} rows"),
                    None => format!("{t} {n} rows"),
                })
                .collect();
            eprintln!(
                "cdc: {id}: snapshot: {} table(s): {}",
                rows.len(),
                tables.join(", ")
            );
        }
    }
}

async fn write_status(cfg: &ConfigFile, opts: &RunOptions, sources: &[Running], running: bool) {
    let mut reports = Vec::new();
    for s in sources {
        let id = s.module.source_id();
        let status = match s.module.provider().status(id).await {
            Ok(st) => st,
            Err(e) => {
                let mut st =
                    cdc::CdcStatus::new(id, s.module.provider().name(), cdc::SourceState::Error);
                st.error = Some(e.to_string());
                st
            }
        };
        reports.push(SourceReport {
            status,
            events: s.stats.events(),
        });
    }
    let file = StatusFile {
        config: cfg.path.display().to_string(),
        pid: std::process::id(),
        running,
        updated_at: time::OffsetDateTime::now_utc()
            .format(&Rfc3339)
            .unwrap_or_default(),
        sources: reports,
    };
    if let Err(e) = file.write(&opts.status_path) {
        tracing::warn!(path = %opts.status_path.display(), error = %e, "cannot write the status file");
    }
}
