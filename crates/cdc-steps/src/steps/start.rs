//! `step.cdc_start`: make sure a source runs, starting it from the step config if needed.

use std::sync::Arc;

use cdc_core::{SecretString, SourceConfig, SourceModule};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::common::{failed, impl_step, null_as_empty};
use crate::config::{check_source_id, invalid, parse, shown};
use crate::context::StepContext;
use crate::error::StepErrorKind;
use crate::schema::{FieldType, StepSchema};

/// `step.cdc_start`.
///
/// - `source_id` of a registered source: nothing to start; the output says
///   `action: already_running` with its state. (A `provider` that differs from the running
///   one is an error.)
/// - Otherwise the step config is a source config (`provider`, `source_type`, `connection`,
///   `tables`, `options`, as `cdc.source`): the provider is built through the context's
///   factory, connected, then registered, with `SourceModule` semantics (if registering
///   fails, the connect is undone). The output says `action: started`.
/// - An unregistered `source_id` without `provider` is an error naming the source.
///
/// Output: `source_id`, `action` (`started` or `already_running`), `provider`, `state`.
/// The connection string never appears in output or errors.
#[derive(Clone, Copy, Debug, Default)]
pub struct StartStep;

#[derive(Deserialize)]
struct Config {
    #[serde(default)]
    source_id: String,
    #[serde(default)]
    provider: String,
    #[serde(default)]
    source_type: String,
    #[serde(default)]
    connection: SecretString,
    #[serde(default, deserialize_with = "null_as_empty")]
    tables: Vec<String>,
    #[serde(default)]
    options: Option<Map<String, Value>>,
}

impl StartStep {
    fn describe() -> StepSchema {
        StepSchema::new("Start a CDC source (or report that it runs already).")
            .field("source_id", FieldType::String, true, "The source, by id.")
            .field("provider", FieldType::String, false, "Provider to start the source with when it is not registered: memory, debezium, dms, bento.")
            .field("source_type", FieldType::String, false, "Database kind behind the source (postgres, mysql, ...), as the provider needs it.")
            .field("connection", FieldType::String, false, "Connection string (DSN or API URL); a secret, never shown.")
            .field("tables", FieldType::Array, false, "Tables to capture, each `name` or `schema.name`; empty: all.")
            .field("options", FieldType::Object, false, "Provider-specific options.")
            .output("source_id", FieldType::String, "The source id.")
            .output("action", FieldType::String, "`started` (this step started it) or `already_running`.")
            .output("provider", FieldType::String, "The provider running the source.")
            .output("state", FieldType::String, "The source's state after the step.")
    }

    fn prepare(config: &Value, per_event: &dyn Fn(&str) -> bool) -> Result<Config, StepErrorKind> {
        let cfg: Config = parse(&Self::describe(), config)?;
        check_source_id(&cfg.source_id, per_event)?;
        Ok(cfg)
    }

    async fn run(&self, ctx: &StepContext, config: &Value) -> Result<Value, StepErrorKind> {
        let cfg = Self::prepare(config, &|_| false)?;
        let source_id = cfg.source_id.clone();

        if let Ok(provider) = ctx.registry.lookup(&source_id) {
            if !cfg.provider.is_empty() && cfg.provider != provider.name() {
                return Err(invalid(
                    "provider",
                    format!(
                        "is {:?} but source {source_id:?} is already running on provider {:?}",
                        cfg.provider,
                        provider.name()
                    ),
                ));
            }
            let status = provider
                .status(&source_id)
                .await
                .map_err(failed(&source_id, "status"))?;
            return Ok(json!({
                "source_id": source_id,
                "action": "already_running",
                "provider": provider.name(),
                "state": status.state,
            }));
        }

        if cfg.provider.is_empty() {
            return Err(invalid(
                "provider",
                format!(
                    "is required: source {} is not registered, so the step must start it \
                     (give provider, and connection, tables, options as the provider needs)",
                    shown(&source_id)
                ),
            ));
        }
        let source = SourceConfig {
            provider: cfg.provider,
            source_id: source_id.clone(),
            source_type: cfg.source_type,
            connection: cfg.connection,
            tables: cfg.tables,
            options: cfg.options.unwrap_or_default(),
        };
        let module = SourceModule::new(source, &ctx.factory, Arc::clone(&ctx.registry))
            .map_err(failed(&source_id, "start"))?;
        module.start().await.map_err(failed(&source_id, "start"))?;
        let provider = module.provider();
        let status = provider
            .status(&source_id)
            .await
            .map_err(failed(&source_id, "status"))?;
        Ok(json!({
            "source_id": source_id,
            "action": "started",
            "provider": provider.name(),
            "state": status.state,
        }))
    }
}

impl_step!(StartStep, "step.cdc_start");
