//! Flavor `redpanda_connect`: Redpanda Connect's real CDC inputs, `postgres_cdc` (logical
//! replication with `pgoutput`, since 4.39) and `mysql_cdc` (binlog, since 4.45), with their
//! field names. Bento does not have these inputs.

use crate::error::BentoError;
use crate::options::BentoOptions;
use crate::sql::SlotName;
use crate::stream::{
    CacheResource, FileCache, Input, MysqlCdcInput, Pipeline, PostgresCdcInput, Processor,
    StreamConfig,
};

use super::mapping::redpanda_mapping;
use super::{GeneratedStream, SourceSpec, check_plain, common_sections};

const CHECKPOINT_CACHE: &str = "cdc_checkpoints";

pub(super) fn generate_postgres(
    spec: &SourceSpec,
    options: &BentoOptions,
) -> Result<GeneratedStream, BentoError> {
    let dsn = spec.require_connection("the PostgreSQL DSN")?;
    let tables = spec.pg_tables()?;
    if tables.is_empty() {
        return Err(spec.invalid("tables", "postgres_cdc needs at least one table"));
    }
    // postgres_cdc takes one schema and table names in it.
    let schema = tables[0].schema.clone().unwrap_or_else(|| "public".into());
    for (i, t) in tables.iter().enumerate() {
        let s = t.schema.as_deref().unwrap_or("public");
        if s != schema {
            return Err(spec.invalid(
                &format!("tables[{i}]"),
                format!("postgres_cdc reads one schema; {s:?} differs from {schema:?}"),
            ));
        }
        check_plain(spec, &format!("tables[{i}]"), &t.name)?;
    }
    let slot = match &options.slot_name {
        Some(name) => SlotName::parse(name).map_err(|m| spec.invalid("options.slot_name", m))?,
        None => SlotName::for_source(&spec.source_id),
    };
    let (http, logger, output) = common_sections(spec, options)?;
    let config = StreamConfig {
        http,
        input: Input::PostgresCdc(PostgresCdcInput {
            dsn: dsn.to_owned(),
            schema: schema.clone(),
            tables: tables.iter().map(|t| t.name.clone()).collect(),
            slot_name: slot.as_str().to_owned(),
            stream_snapshot: options.stream_snapshot,
            include_transaction_markers: false,
            checkpoint_limit: 1024,
            temporary_slot: false,
        }),
        pipeline: Pipeline {
            processors: vec![Processor::Mapping(redpanda_mapping(
                &spec.source_id,
                Some(&schema),
                "lsn",
            ))],
        },
        output,
        logger,
        cache_resources: Vec::new(),
    };
    Ok(GeneratedStream {
        config,
        postgres: None,
    })
}

pub(super) fn generate_mysql(
    spec: &SourceSpec,
    options: &BentoOptions,
) -> Result<GeneratedStream, BentoError> {
    let dsn = spec.require_connection("the MySQL DSN (user:pass@tcp(host:3306)/db)")?;
    let tables = spec.pg_tables()?;
    if tables.is_empty() {
        return Err(spec.invalid("tables", "mysql_cdc needs at least one table"));
    }
    for (i, t) in tables.iter().enumerate() {
        if t.schema.is_some() {
            return Err(spec.invalid(
                &format!("tables[{i}]"),
                "mysql_cdc reads tables of the DSN's database: give the table name without a schema",
            ));
        }
        check_plain(spec, &format!("tables[{i}]"), &t.name)?;
    }
    let directory = options
        .checkpoint_dir
        .clone()
        .unwrap_or_else(|| format!("./cdc_checkpoints/{}", spec.source_id));
    check_plain(spec, "options.checkpoint_dir", &directory)?;
    let (http, logger, output) = common_sections(spec, options)?;
    let config = StreamConfig {
        http,
        input: Input::MysqlCdc(MysqlCdcInput {
            flavor: if spec.source_type.eq_ignore_ascii_case("mariadb") {
                "mariadb".into()
            } else {
                "mysql".into()
            },
            dsn: dsn.to_owned(),
            tables: tables.iter().map(|t| t.name.clone()).collect(),
            checkpoint_cache: CHECKPOINT_CACHE.into(),
            checkpoint_key: format!("{}_binlog_position", spec.source_id),
            stream_snapshot: options.stream_snapshot,
            checkpoint_limit: 1024,
        }),
        pipeline: Pipeline {
            processors: vec![Processor::Mapping(redpanda_mapping(
                &spec.source_id,
                None,
                "binlog_position",
            ))],
        },
        output,
        logger,
        cache_resources: vec![CacheResource {
            label: CHECKPOINT_CACHE.into(),
            file: FileCache { directory },
        }],
    };
    Ok(GeneratedStream {
        config,
        postgres: None,
    })
}
