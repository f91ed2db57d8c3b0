//! PostgreSQL on Bento: a `generate` clock feeding a `sql_raw` processor that reads a
//! wal2json slot, then one message per change, mapped to normalized events.
//!
//! Why this shape: Bento has no logical-replication input, and a `sql_raw` *input* runs its
//! query once and shuts down. The `generate` input ticks forever; on every tick the processor
//! reads the changes committed since the slot's position, in commit order.
//!
//! Delivery guarantee, by [`SlotRead`] (the spec's `slot_read`):
//! - `Peek` (the provider runs Bento and reads its stdout): the query leaves the slot where
//!   it is; the provider advances it past a transaction once every handler succeeded on it.
//!   At-least-once: a crash anywhere (Bento, the provider, the connection) sends the
//!   changes after the last advance again, and the provider drops a poll's repeats.
//! - `Consume` (delegated: somebody else runs the stream): `pg_logical_slot_get_changes`
//!   advances the slot when the query returns, before Bento's output has the events. A crash
//!   of Bento between the two loses that batch: at-most-once, as Bento's own SQL reads are.
//!
//! A poll whose query fails (say, the slot is briefly held by the provider's advance) is
//! dropped by a `catch`: it read nothing, or with `Peek` nothing that does not come again.

use crate::error::BentoError;
use crate::options::BentoOptions;
use crate::sql::{ChangesQuery, SlotName, SlotRead, create_slot_sql};
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
        read: spec.slot_read,
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
                // Only a failed query is flagged here: its tick is dropped, not printed.
                Processor::Catch(vec![Processor::Mapping("root = deleted()".into())]),
                Processor::Unarchive(UnarchiveProcessor {
                    format: "json_array".into(),
                }),
                Processor::Mapping(wal2json_mapping(
                    &spec.source_id,
                    spec.slot_read == SlotRead::Peek,
                )),
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
