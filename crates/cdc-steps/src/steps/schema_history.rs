//! `step.cdc_schema_history`: the DDL history of a table.

use cdc_core::TableRef;
use serde::Deserialize;
use serde_json::{Value, json};

use super::common::{failed, impl_step, lookup, to_json};
use crate::config::{check_source_id, invalid, parse};
use crate::context::StepContext;
use crate::error::StepErrorKind;
use crate::schema::{FieldType, StepSchema};

/// `step.cdc_schema_history`: returns `source_id`, `table`, `history` (the schema versions,
/// oldest first, each `{table, version, ddl, applied_at}`) and `count`.
#[derive(Clone, Copy, Debug, Default)]
pub struct SchemaHistoryStep;

#[derive(Deserialize)]
struct Config {
    #[serde(default)]
    source_id: String,
    #[serde(default)]
    table: String,
}

impl SchemaHistoryStep {
    fn describe() -> StepSchema {
        StepSchema::new("Query the DDL change history of a table of a CDC source.")
            .field("source_id", FieldType::String, true, "The source, by id.")
            .field(
                "table",
                FieldType::String,
                false,
                "The table, `name` (any schema) or `schema.name`; empty: every table.",
            )
            .output("source_id", FieldType::String, "The source id.")
            .output(
                "table",
                FieldType::String,
                "The table asked for (empty: every table).",
            )
            .output(
                "history",
                FieldType::Array,
                "Schema versions, oldest first: {table, version, ddl, applied_at}.",
            )
            .output(
                "count",
                FieldType::Integer,
                "How many versions `history` holds.",
            )
    }

    fn prepare(config: &Value, per_event: &dyn Fn(&str) -> bool) -> Result<Config, StepErrorKind> {
        let cfg: Config = parse(&Self::describe(), config)?;
        check_source_id(&cfg.source_id, per_event)?;
        if !cfg.table.is_empty() {
            TableRef::parse(&cfg.table)
                .map_err(|m| invalid("table", format!("is invalid: {m}")))?;
        }
        Ok(cfg)
    }

    async fn run(&self, ctx: &StepContext, config: &Value) -> Result<Value, StepErrorKind> {
        let cfg = Self::prepare(config, &|_| false)?;
        let source_id = cfg.source_id.as_str();
        let provider = lookup(ctx, source_id)?;
        let history = provider
            .schema_history(source_id, &cfg.table)
            .await
            .map_err(failed(source_id, "schema history"))?;
        Ok(json!({
            "source_id": source_id,
            "table": cfg.table,
            "count": history.len(),
            "history": to_json(&history)?,
        }))
    }
}

impl_step!(SchemaHistoryStep, "step.cdc_schema_history");
