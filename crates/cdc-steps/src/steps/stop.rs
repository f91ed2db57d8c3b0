//! `step.cdc_stop`: stop a source.

use serde::Deserialize;
use serde_json::{Value, json};

use super::common::{failed, impl_step, lookup};
use crate::config::{check_source_id, parse};
use crate::context::StepContext;
use crate::error::StepErrorKind;
use crate::schema::{FieldType, StepSchema};

/// `step.cdc_stop`: unregisters the source, then disconnects it (as `SourceModule::stop`).
/// Output: `source_id`, `action` (`stopped`), `provider`.
#[derive(Clone, Copy, Debug, Default)]
pub struct StopStep;

#[derive(Deserialize)]
struct Config {
    #[serde(default)]
    source_id: String,
}

impl StopStep {
    fn describe() -> StepSchema {
        StepSchema::new("Stop a CDC source: unregister it and disconnect its provider.")
            .field("source_id", FieldType::String, true, "The source, by id.")
            .output("source_id", FieldType::String, "The source id.")
            .output("action", FieldType::String, "Always `stopped`.")
            .output(
                "provider",
                FieldType::String,
                "The provider that ran the source.",
            )
    }

    fn prepare(config: &Value, per_event: &dyn Fn(&str) -> bool) -> Result<Config, StepErrorKind> {
        let cfg: Config = parse(&Self::describe(), config)?;
        check_source_id(&cfg.source_id, per_event)?;
        Ok(cfg)
    }

    async fn run(&self, ctx: &StepContext, config: &Value) -> Result<Value, StepErrorKind> {
        let cfg = Self::prepare(config, &|_| false)?;
        let source_id = cfg.source_id.as_str();
        let provider = lookup(ctx, source_id)?;
        ctx.registry.unregister(source_id);
        provider
            .disconnect(source_id)
            .await
            .map_err(failed(source_id, "disconnect"))?;
        tracing::info!(
            source_id,
            provider = provider.name(),
            "step.cdc_stop: source stopped"
        );
        Ok(json!({
            "source_id": source_id,
            "action": "stopped",
            "provider": provider.name(),
        }))
    }
}

impl_step!(StopStep, "step.cdc_stop");
