//! The provider-native config of a source: what `connect` would apply, without contacting
//! anything. Used by `cdc render`, and by config checking (a config that does not render
//! is invalid).

use cdc::SourceConfig;
use cdc::bento::BentoOptions;
use cdc::bento::generate::{SourceSpec, generate};
use cdc::bento::stream::Reveal;
use cdc::debezium::DebeziumProvider;
use cdc::dms::DmsSource;
use cdc::memory::MemoryOptions;
use serde_json::{Map, Value, json};

/// A rendered source config.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rendered {
    /// What the text is (`Kafka Connect connector config (JSON)`, ...).
    pub what: &'static str,
    /// The text.
    pub text: String,
}

/// Renders `cfg` for its provider; secrets (DSN passwords) masked unless `reveal`.
/// The error names what is wrong.
pub fn render(cfg: &SourceConfig, reveal: bool) -> Result<Rendered, String> {
    match cfg.provider.as_str() {
        "debezium" => Ok(Rendered {
            what: "Kafka Connect connector config (JSON), as PUT /connectors/<name>/config",
            text: DebeziumProvider::render(cfg, reveal).map_err(|e| e.to_string())?,
        }),
        "dms" => render_dms(cfg),
        "bento" => {
            let options: BentoOptions = cfg.typed_options().map_err(|e| e.to_string())?;
            let mut spec = SourceSpec::from_config(cfg);
            // What the provider runs itself reads the slot without consuming it (it advances
            // the slot once the handlers succeeded); `auto` shows the delegated stream.
            if options.mode == cdc::bento::options::Mode::Managed {
                spec.slot_read = cdc::bento::sql::SlotRead::Peek;
            }
            let stream = generate(&spec, &options).map_err(|e| e.to_string())?;
            let reveal = if reveal {
                Reveal::Secrets
            } else {
                Reveal::Masked
            };
            let mut text = stream.config.to_yaml(reveal).map_err(|e| e.to_string())?;
            if let Some(pg) = stream.postgres {
                text.push_str(&format!(
                    "# replication slot (created before the stream starts):\n# {};\n",
                    pg.create_slot_sql
                ));
            }
            Ok(Rendered {
                what: "Bento stream config (YAML)",
                text,
            })
        }
        "memory" => {
            let options = MemoryOptions::from_config(cfg).map_err(|e| e.to_string())?;
            let text = serde_json::to_string_pretty(&json!({
                "source_id": cfg.source_id,
                "capacity": options.capacity,
                "max_line_bytes": options.max_line_bytes,
                "events_file": options.events_file,
                "tables": cfg.tables,
            }))
            .map_err(|e| e.to_string())?;
            Ok(Rendered {
                what: "in-process memory source (nothing to apply)",
                text: text + "\n",
            })
        }
        #[cfg(feature = "postgres")]
        "postgres" => Ok(Rendered {
            what: "PostgreSQL publication, replication slot and stream (SQL and replication commands)",
            text: cdc::postgres::PostgresProvider::render(cfg).map_err(|e| e.to_string())?,
        }),
        other => Err(format!("provider {other:?} has no renderer")),
    }
}

/// The `CreateReplicationTask` request, in the shape of the AWS API (and of
/// `aws dms create-replication-task --cli-input-json`): `TableMappings` and
/// `ReplicationTaskSettings` are JSON strings there.
fn render_dms(cfg: &SourceConfig) -> Result<Rendered, String> {
    let src = DmsSource::from_config(cfg).map_err(|e| e.to_string())?;
    let r = &src.create;
    let mut m = Map::new();
    m.insert("ReplicationTaskIdentifier".into(), json!(r.identifier));
    m.insert("SourceEndpointArn".into(), json!(r.source_endpoint_arn));
    m.insert("TargetEndpointArn".into(), json!(r.target_endpoint_arn));
    m.insert(
        "ReplicationInstanceArn".into(),
        json!(r.replication_instance_arn),
    );
    m.insert("MigrationType".into(), json!(r.migration_type.as_str()));
    m.insert("TableMappings".into(), json!(r.table_mappings));
    if let Some(s) = &r.task_settings {
        m.insert("ReplicationTaskSettings".into(), json!(s));
    }
    if let Some(p) = &r.cdc_start_position {
        m.insert("CdcStartPosition".into(), json!(p));
    }
    if let Some(t) = r.cdc_start_time {
        m.insert("CdcStartTime".into(), json!(t.unix_timestamp()));
    }
    let text = serde_json::to_string_pretty(&Value::Object(m)).map_err(|e| e.to_string())?;
    Ok(Rendered {
        what: "AWS DMS CreateReplicationTask request (JSON)",
        text: text + "\n",
    })
}
