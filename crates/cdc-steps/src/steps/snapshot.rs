//! `step.cdc_snapshot`: start a snapshot of tables.

use serde::Deserialize;
use serde_json::{Value, json};

use super::common::{failed, impl_step, lookup, null_as_empty};
use crate::config::{check_source_id, check_tables, parse};
use crate::context::StepContext;
use crate::error::StepErrorKind;
use crate::schema::{FieldType, StepSchema};

/// `step.cdc_snapshot`: asks the provider for a snapshot and returns what its
/// `SnapshotReport` says: `source_id`, `action` (`snapshot_triggered`, as Go), `tables`,
/// `method`, and `detail` when the provider gave one.
#[derive(Clone, Copy, Debug, Default)]
pub struct SnapshotStep;

#[derive(Deserialize)]
struct Config {
    #[serde(default)]
    source_id: String,
    #[serde(default, deserialize_with = "null_as_empty")]
    tables: Vec<String>,
}

impl SnapshotStep {
    fn describe() -> StepSchema {
        StepSchema::new("Trigger a snapshot of tables of a CDC source.")
            .field("source_id", FieldType::String, true, "The source, by id.")
            .field("tables", FieldType::Array, false, "Tables to snapshot, each `name` or `schema.name`; empty: the source's configured tables.")
            .output("source_id", FieldType::String, "The source id.")
            .output("action", FieldType::String, "Always `snapshot_triggered`.")
            .output("tables", FieldType::Array, "The tables snapshotted (empty: all).")
            .output("method", FieldType::String, "How the provider does it: control_event, offsets_reset, incremental_signal, reload_target, ...")
            .output("detail", FieldType::String, "Anything the user should know (present only when the provider says something).")
    }

    fn prepare(config: &Value, per_event: &dyn Fn(&str) -> bool) -> Result<Config, StepErrorKind> {
        let cfg: Config = parse(&Self::describe(), config)?;
        check_source_id(&cfg.source_id, per_event)?;
        check_tables("tables", &cfg.tables)?;
        Ok(cfg)
    }

    async fn run(&self, ctx: &StepContext, config: &Value) -> Result<Value, StepErrorKind> {
        let cfg = Self::prepare(config, &|_| false)?;
        let source_id = cfg.source_id.as_str();
        let provider = lookup(ctx, source_id)?;
        let report = provider
            .snapshot(source_id, &cfg.tables)
            .await
            .map_err(failed(source_id, "snapshot"))?;
        let mut out = json!({
            "source_id": source_id,
            "action": "snapshot_triggered",
            "tables": report.tables,
            "method": report.method,
        });
        if let Some(detail) = report.detail {
            out["detail"] = Value::String(detail);
        }
        Ok(out)
    }
}

impl_step!(SnapshotStep, "step.cdc_snapshot");
