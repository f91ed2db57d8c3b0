//! Start-up of a run: every source connected and registered (sources that can hold their
//! events, memory, postgres and debezium with a Kafka transport, connect paused, so nothing flows yet), a counting
//! subscription per source, the triggers, and only then the held sources resumed: no event
//! is delivered before every trigger listens.

use std::sync::Arc;

use cdc::memory::MemoryProvider;
use cdc::trigger::CdcTrigger;
use cdc::{CdcProvider, ProviderFactory, SourceModule, SourceRegistry};
use serde_json::Value;

use super::Running;
use super::pipeline::{Pipeline, Shared};
use super::stats::SourceStats;
use crate::config::ConfigFile;
use crate::error::CliError;

/// Providers that accept `options.start_paused` (connect, deliver nothing until resumed).
/// Debezium does when it has a transport (`options.kafka`): without one it delivers nothing.
const HOLDS_UNTIL_RESUMED: &[&str] = &["memory", "postgres", "debezium"];

/// Whether a source connects held and is resumed once every trigger listens.
fn holds_until_resumed(source: &cdc::SourceConfig) -> bool {
    HOLDS_UNTIL_RESUMED.contains(&source.provider.as_str())
        && (source.provider != "debezium" || source.options.contains_key("kafka"))
}

/// Starts every source of `cfg`, in order. On a failure the ones started are stopped again.
pub async fn sources(
    cfg: &ConfigFile,
    registry: &Arc<SourceRegistry>,
    factory: &ProviderFactory,
) -> Result<Vec<Running>, CliError> {
    let mut sources: Vec<Running> = Vec::new();
    for source in &cfg.sources {
        match one_source(source.clone(), registry, factory).await {
            Ok(r) => sources.push(r),
            Err(e) => {
                super::stop_sources(&sources).await;
                return Err(e);
            }
        }
    }
    Ok(sources)
}

async fn one_source(
    mut source: cdc::SourceConfig,
    registry: &Arc<SourceRegistry>,
    factory: &ProviderFactory,
) -> Result<Running, CliError> {
    // Sources that can hold their first events connect paused and are resumed once every
    // trigger listens: no event reaches some handlers but not others.
    if holds_until_resumed(&source) {
        source
            .options
            .insert("start_paused".into(), Value::Bool(true));
    }
    let (module, memory) = if source.provider == "memory" {
        let provider = Arc::new(MemoryProvider::new());
        let module = SourceModule::with_provider(
            source.clone(),
            Arc::clone(&provider) as Arc<dyn CdcProvider>,
            Arc::clone(registry),
        );
        (module, Some(provider))
    } else {
        (
            SourceModule::new(source.clone(), factory, Arc::clone(registry)),
            None,
        )
    };
    let started = match module {
        Ok(m) => m.start().await.map(|()| m),
        Err(e) => Err(e),
    };
    let module = started.map_err(|e| {
        CliError::Runtime(format!(
            "source {:?} (provider {}) failed to start: {e}",
            source.source_id, source.provider
        ))
    })?;
    let stats = Arc::new(SourceStats::new(&source.source_id));
    let counting = match module
        .provider()
        .subscribe(&source.source_id, stats.handler())
    {
        Ok(s) => s,
        Err(e) => {
            let _ = module.stop().await;
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
    Ok(Running {
        module,
        memory,
        stats,
        _counting: counting,
    })
}

/// Starts the triggers of `cfg`; on a failure the ones started are stopped again.
pub fn triggers(
    cfg: &ConfigFile,
    registry: &Arc<SourceRegistry>,
    shared: &Arc<Shared>,
) -> Result<Vec<CdcTrigger<Pipeline>>, CliError> {
    let mut triggers = Vec::new();
    for spec in &cfg.triggers {
        let pipeline = Pipeline::new(spec.clone(), Arc::clone(shared));
        let started = CdcTrigger::new(spec.config.clone(), Arc::clone(registry), pipeline)
            .and_then(|t| t.start().map(|()| t));
        match started {
            Ok(t) => triggers.push(t),
            Err(e) => {
                triggers.iter().for_each(|t: &CdcTrigger<Pipeline>| {
                    t.stop();
                });
                return Err(CliError::Runtime(format!("trigger {:?}: {e}", spec.name)));
            }
        }
    }
    Ok(triggers)
}

/// Everything listens: lets the sources that were held deliver.
pub async fn resume(sources: &[Running]) -> Result<(), CliError> {
    for s in sources {
        let provider = s.module.provider();
        if holds_until_resumed(s.module.config())
            && let Some(p) = provider.pausable()
        {
            p.resume(s.module.source_id()).await.map_err(|e| {
                CliError::Runtime(format!(
                    "source {:?}: cannot resume: {e}",
                    s.module.source_id()
                ))
            })?;
        }
    }
    Ok(())
}
