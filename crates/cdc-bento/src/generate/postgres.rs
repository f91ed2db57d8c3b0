//! PostgreSQL on Bento: a `generate` clock feeding a `sql_raw` processor that consumes a
//! wal2json slot, then one message per change, mapped to normalized events.
//!
//! Why this shape: Bento has no logical-replication input, and a `sql_raw` *input* runs its
//! query once and shuts down. The `generate` input ticks forever; on every tick the processor
//! runs `pg_logical_slot_get_changes`, which returns the changes committed since the last
//! read and advances the slot, so each change comes back once, in commit order.
//!
//! Delivery guarantee: the slot advances when the query returns, before Bento's output has
//! the events. A crash of Bento between the two loses that batch; use the `debezium`
//! provider (or flavor `redpanda_connect`'s `postgres_cdc`) when that matters.

use crate::error::BentoError;
use crate::options::BentoOptions;
use crate::sql::{ChangesQuery, SlotName, create_slot_sql};
use crate::stream::{
    GenerateInput, Input, Pipeline, Processor, SqlRawProcessor, StreamConfig, UnarchiveProcessor,
};

use super::mapping::wal2json_mapping;
use super::{GeneratedStream, PostgresSlot, SourceSpec, check_interval, common_sections};

pub(super) fn generate(
    spec: &SourceSpec,
    options: &BentoOptions,
) -> Result<GeneratedStream, BentoError> {
    let dsn = spec.require_connection("the PostgreSQL DSN")?;
    check_interval(spec, options)?;
    let tables = spec.pg_tables()?;
    let slot = match &options.slot_name {
        Some(name) => SlotName::parse(name).map_err(|m| spec.invalid("options.slot_name", m))?,
        None => SlotName::for_source(&spec.source_id),
    };
    if options.max_changes_per_poll == 0 {
        return Err(spec.invalid("options.max_changes_per_poll", "must be at least 1"));
    }
    let changes = ChangesQuery {
        slot: slot.clone(),
        tables,
        max_changes: options.max_changes_per_poll,
    };
    let (http, logger, output) = common_sections(spec, options)?;
    let config = StreamConfig {
        http,
        input: Input::Generate(GenerateInput {
            mapping: "root = {}".into(),
            interval: options.poll_interval.clone(),
            count: 0,
        }),
        pipeline: Pipeline {
            processors: vec![
                Processor::SqlRaw(SqlRawProcessor {
                    driver: "postgres".into(),
                    dsn: dsn.to_owned(),
                    query: changes.sql(),
                    args_mapping: None,
                }),
                Processor::Unarchive(UnarchiveProcessor {
                    format: "json_array".into(),
                }),
                Processor::Mapping(wal2json_mapping(&spec.source_id)),
            ],
        },
        output,
        logger,
        cache_resources: Vec::new(),
    };
    Ok(GeneratedStream {
        config,
        postgres: Some(PostgresSlot {
            create_slot_sql: create_slot_sql(&slot),
            slot,
            changes,
        }),
    })
}
