//! Builds the Debezium 3.x connector config of a source: the build step from
//! [`cdc_core::SourceConfig`] to the config Kafka Connect runs.

use std::fmt;

use cdc_core::TableRef;
use serde_json::Value;

use super::dsn::DatabaseDsn;
use super::kind::DatabaseKind;
use super::options::DebeziumOptions;
use super::tables::{check_table_name, include_entry, signal_collection};
use crate::connect::ConnectorConfig;
use crate::error::{DebeziumError, Result};

/// What replaces a secret in a masked config.
pub const MASKED: &str = "********";

/// A rendered connector: name and config, with the keys that hold secrets.
#[derive(Clone, PartialEq, Eq)]
pub struct ConnectorSpec {
    /// Connector name at Kafka Connect.
    pub name: String,
    /// The full config (secrets included: this is what is sent).
    pub config: ConnectorConfig,
}

impl fmt::Debug for ConnectorSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConnectorSpec")
            .field("name", &self.name)
            .field("config", &self.masked())
            .finish()
    }
}

impl ConnectorSpec {
    /// The config with every secret masked, decided by the key, never by the value: the value
    /// of every key [`is_secret_key`] names is [`MASKED`]; every other value has its URL
    /// userinfo and secret `key=value` parameters masked (a JDBC `database.url`, a MongoDB
    /// connection string). Config-provider references (`${file:...}`) are not secrets and stay.
    pub fn masked(&self) -> ConnectorConfig {
        self.config
            .iter()
            .map(|(k, v)| {
                let v = if cdc_core::secret::is_config_provider_ref(v) {
                    v.clone()
                } else if is_secret_key(k) {
                    MASKED.to_owned()
                } else {
                    cdc_core::secret::redact(v)
                };
                (k.clone(), v)
            })
            .collect()
    }

    /// The config as pretty JSON, masked unless `reveal_secrets`.
    pub fn to_json(&self, reveal_secrets: bool) -> String {
        let cfg = if reveal_secrets {
            self.config.clone()
        } else {
            self.masked()
        };
        serde_json::to_string_pretty(&cfg).unwrap_or_default()
    }

    /// The topic the connector writes its heartbeats to:
    /// `<topic.heartbeat.prefix>.<topic.prefix>`, the prefix by default
    /// `__debezium-heartbeat`.
    pub fn heartbeat_topic(&self) -> String {
        let hb = self
            .config
            .get("topic.heartbeat.prefix")
            .map(String::as_str)
            .unwrap_or(crate::decode::HEARTBEAT_TOPIC_PREFIX);
        format!("{hb}.{}", self.topic_prefix())
    }

    /// The `topic.prefix`.
    pub fn topic_prefix(&self) -> &str {
        self.config
            .get("topic.prefix")
            .map(String::as_str)
            .unwrap_or("")
    }
}

/// Whether a property holds a secret: the documented list of [`cdc_core::secret`].
pub use cdc_core::secret::is_secret_key;

/// Renders the connector config.
pub fn render(
    source_id: &str,
    kind: DatabaseKind,
    tables: &[TableRef],
    options: &DebeziumOptions,
) -> Result<ConnectorSpec> {
    let err = |field: &str, message: String| DebeziumError::Config {
        source_id: source_id.to_owned(),
        field: field.to_owned(),
        message,
    };
    let name = options
        .connector_name
        .clone()
        .unwrap_or_else(|| source_id.to_owned());
    if name.is_empty() || name.contains('/') {
        return Err(err(
            "options.connector_name",
            "must be non-empty and hold no '/'".into(),
        ));
    }
    let prefix = options
        .topic_prefix
        .clone()
        .unwrap_or_else(|| source_id.to_owned());
    if prefix.is_empty()
        || !prefix
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
    {
        return Err(err(
            "options.topic_prefix",
            format!("{prefix:?} must be non-empty and hold only [A-Za-z0-9._-]"),
        ));
    }
    let user_cfg = &options.connector_config;
    let mut c = ConnectorConfig::new();
    let mut set = |k: &str, v: String| {
        c.insert(k.to_owned(), v);
    };
    set("connector.class", kind.connector_class().to_owned());
    set("tasks.max", options.tasks_max.unwrap_or(1).to_string());
    set("topic.prefix", prefix.clone());
    set(
        "snapshot.mode",
        options
            .snapshot_mode
            .clone()
            .unwrap_or_else(|| "initial".into()),
    );

    // Database connection.
    let dsn = match &options.database {
        Some(raw) => Some(
            DatabaseDsn::parse(raw.expose())
                .map_err(|m| err("options.database", format!("{m} (got {raw})")))?,
        ),
        None => None,
    };
    if kind == DatabaseKind::MongoDb {
        match &options.database {
            Some(raw) => set("mongodb.connection.string", raw.expose().to_owned()),
            None if user_cfg.contains_key("mongodb.connection.string") => {}
            None => {
                return Err(err(
                    "options.database",
                    "required: a mongodb:// connection string".into(),
                ));
            }
        }
    } else {
        match &dsn {
            Some(d) => {
                set("database.hostname", d.host.clone());
                set(
                    "database.port",
                    d.port.unwrap_or(kind.default_port()).to_string(),
                );
                if let Some(u) = &d.user {
                    set("database.user", u.clone());
                }
                if let Some(p) = &d.password {
                    set("database.password", p.clone());
                }
                let ssl = super::ssl_mode::ssl_properties(kind, d)
                    .map_err(|m| err("options.database", m))?;
                for (k, v) in ssl {
                    set(k, v);
                }
                match (kind, &d.dbname) {
                    (DatabaseKind::Postgres, Some(db)) => set("database.dbname", db.clone()),
                    (DatabaseKind::SqlServer, Some(db)) => set("database.names", db.clone()),
                    (DatabaseKind::MySql | DatabaseKind::MariaDb, Some(db))
                        if tables.is_empty() =>
                    {
                        set("database.include.list", db.clone())
                    }
                    (DatabaseKind::Postgres | DatabaseKind::SqlServer, None)
                        if !user_cfg.contains_key("database.dbname")
                            && !user_cfg.contains_key("database.names") =>
                    {
                        return Err(err(
                            "options.database",
                            "the DSN names no database (…/dbname)".into(),
                        ));
                    }
                    _ => {}
                }
            }
            None if user_cfg.contains_key("database.hostname") => {}
            None => {
                return Err(err(
                    "options.database",
                    format!(
                        "required: the database DSN the connector reads, e.g. {}://user:password@host:{}/db",
                        kind.as_str(),
                        kind.default_port()
                    ),
                ));
            }
        }
    }

    // Tables (and the signaling table, which must be captured for the source channel).
    for (i, t) in tables.iter().enumerate() {
        check_table_name(t).map_err(|m| err(&format!("tables[{i}]"), m))?;
    }
    let mut include: Vec<String> = tables.iter().map(include_entry).collect();
    if let Some(sig) = &options.signal {
        let t = TableRef::parse(&sig.table).map_err(|m| err("options.signal.table", m))?;
        check_table_name(&t).map_err(|m| err("options.signal.table", m))?;
        set(
            "signal.data.collection",
            signal_collection(kind, &t, dsn.as_ref()),
        );
        if !include.is_empty() {
            include.push(include_entry(&t));
        }
    }
    if !include.is_empty() {
        let key = if kind == DatabaseKind::MongoDb {
            "collection.include.list"
        } else {
            "table.include.list"
        };
        set(key, include.join(","));
    }

    let safe_id = sanitize_identifier(source_id);
    match kind {
        DatabaseKind::Postgres => {
            set("plugin.name", "pgoutput".into());
            set(
                "slot.name",
                options
                    .slot_name
                    .clone()
                    .unwrap_or_else(|| bounded(&format!("cdc_{safe_id}"), 63)),
            );
            set(
                "publication.name",
                options
                    .publication_name
                    .clone()
                    .unwrap_or_else(|| bounded(&format!("cdc_{safe_id}_pub"), 63)),
            );
            set("publication.autocreate.mode", "filtered".into());
        }
        DatabaseKind::MySql | DatabaseKind::MariaDb => {
            let id = options
                .server_id
                .unwrap_or_else(|| derived_server_id(source_id));
            set("database.server.id", id.to_string());
            set("include.schema.changes", "true".into());
        }
        DatabaseKind::SqlServer | DatabaseKind::MongoDb => {}
    }
    // Without these, a broker without topic auto-creation leaves the task RUNNING while
    // nothing is written (only UNKNOWN_TOPIC_OR_PARTITION warnings in the worker's log):
    // Connect creates the topics itself, -1 meaning the broker's defaults.
    set("topic.creation.default.replication.factor", "-1".into());
    set("topic.creation.default.partitions", "-1".into());
    if options.kafka.is_some() {
        // Heartbeats keep the lag fresh while the tables are idle.
        set("heartbeat.interval.ms", "10000".into());
    }
    if let Some(p) = &options.unavailable_value_placeholder {
        set("unavailable.value.placeholder", p.clone());
    }
    if kind.needs_schema_history() {
        match &options.schema_history {
            Some(h) => {
                set(
                    "schema.history.internal.kafka.bootstrap.servers",
                    h.kafka_bootstrap_servers.clone(),
                );
                set(
                    "schema.history.internal.kafka.topic",
                    h.kafka_topic
                        .clone()
                        .unwrap_or_else(|| format!("{prefix}.schema-history")),
                );
            }
            None if user_cfg.contains_key("schema.history.internal.kafka.bootstrap.servers") => {
                set(
                    "schema.history.internal.kafka.topic",
                    format!("{prefix}.schema-history"),
                );
            }
            None => {
                return Err(err(
                    "options.schema_history",
                    format!(
                        "required for {}: {{kafka_bootstrap_servers: \"broker:9092\"}} (the connector keeps its schema history in a Kafka topic)",
                        kind.as_str()
                    ),
                ));
            }
        }
    }

    // The user's properties win.
    for (k, v) in user_cfg {
        match v {
            Value::Null => {
                c.remove(k);
            }
            Value::String(s) => {
                c.insert(k.clone(), s.clone());
            }
            Value::Bool(b) => {
                c.insert(k.clone(), b.to_string());
            }
            Value::Number(n) => {
                c.insert(k.clone(), n.to_string());
            }
            other => {
                return Err(err(
                    &format!("options.connector_config.{k}"),
                    format!(
                        "must be a string, number, boolean or null, got {}",
                        if other.is_array() {
                            "an array"
                        } else {
                            "an object"
                        }
                    ),
                ));
            }
        }
    }
    c.remove("name");
    if options.kafka.is_some() {
        super::consumable::check(source_id, &c)
            .map_err(|r| err(&format!("options.connector_config.{}", r.key), r.message))?;
    }
    Ok(ConnectorSpec { name, config: c })
}

/// Lower case, `[a-z0-9_]` only: what PostgreSQL slot and publication names allow.
pub fn sanitize_identifier(source_id: &str) -> String {
    source_id
        .chars()
        .map(|c| {
            let c = c.to_ascii_lowercase();
            if c.is_ascii_alphanumeric() { c } else { '_' }
        })
        .collect()
}

/// Keeps a name within `max` bytes; a cut name gets a stable hash suffix so two long ids
/// with the same prefix stay different.
fn bounded(name: &str, max: usize) -> String {
    if name.len() <= max {
        return name.to_owned();
    }
    let suffix = format!("_{:08x}", fnv1a(name.as_bytes()) as u32);
    format!("{}{suffix}", &name[..max - suffix.len()])
}

/// A stable MySQL `database.server.id` for a source id, in `[10_000, u32::MAX)` to stay
/// clear of the small ids replicas usually get.
pub fn derived_server_id(source_id: &str) -> u32 {
    let span = u64::from(u32::MAX) - 10_000;
    (10_000 + fnv1a(source_id.as_bytes()) % span) as u32
}

/// FNV-1a 64: stable across runs and platforms (unlike `DefaultHasher`).
fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}
