//! `step.cdc_status`: the status of a source.

use serde::Deserialize;
use serde_json::Value;

use super::common::{failed, impl_step, lookup, to_json};
use crate::config::{check_source_id, parse};
use crate::context::StepContext;
use crate::error::StepErrorKind;
use crate::schema::{FieldType, StepSchema};

/// `step.cdc_status`: returns the source's status with the Go JSON keys (`source_id`,
/// `state`, `provider`, `last_event`, and when known `error`, `lag_bytes`, `lag_seconds`,
/// `details`).
#[derive(Clone, Copy, Debug, Default)]
pub struct StatusStep;

#[derive(Deserialize)]
struct Config {
    #[serde(default)]
    source_id: String,
}

impl StatusStep {
    fn describe() -> StepSchema {
        StepSchema::new("Get the status of a CDC source.")
            .field("source_id", FieldType::String, true, "The source, by id.")
            .output("source_id", FieldType::String, "The source id.")
            .output(
                "state",
                FieldType::String,
                "running, paused, stopped, configured, snapshot, error, not_found, unknown, ...",
            )
            .output("provider", FieldType::String, "The provider name.")
            .output(
                "last_event",
                FieldType::String,
                "When the last event was delivered (RFC 3339), or null.",
            )
            .output(
                "error",
                FieldType::String,
                "What went wrong (present only when there is an error).",
            )
            .output(
                "lag_bytes",
                FieldType::Integer,
                "Replication lag in bytes (present only when the provider knows it).",
            )
            .output(
                "lag_seconds",
                FieldType::Integer,
                "Replication lag in seconds (present only when the provider knows it).",
            )
            .output(
                "details",
                FieldType::Object,
                "Provider-specific details (present only when there are some).",
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
        let status = provider
            .status(source_id)
            .await
            .map_err(failed(source_id, "status"))?;
        to_json(&status)
    }
}

impl_step!(StatusStep, "step.cdc_status");
