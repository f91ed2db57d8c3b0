//! [`DebeziumSource`]: a source config read and checked, with its connector rendered.

use std::fmt;

use cdc_core::{SourceConfig, TableRef};

use super::builder::{ConnectorSpec, render};
use super::kafka::OnStop;
use super::kind::DatabaseKind;
use super::options::DebeziumOptions;
use crate::error::{DebeziumError, Result};

/// A Debezium source after its config was read and checked: everything the provider needs.
/// `Debug` masks the Connect URL's userinfo and every secret of the options and connector.
#[derive(Clone)]
pub struct DebeziumSource {
    /// The source id.
    pub source_id: String,
    /// The database kind.
    pub kind: DatabaseKind,
    /// The typed options.
    pub options: DebeziumOptions,
    /// Base URL of Kafka Connect (from `connection`).
    pub connect_url: url::Url,
    /// The connector to apply.
    pub connector: ConnectorSpec,
    /// The tables captured.
    pub tables: Vec<TableRef>,
}

impl fmt::Debug for DebeziumSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DebeziumSource")
            .field("source_id", &self.source_id)
            .field("kind", &self.kind)
            .field("options", &self.options)
            .field(
                "connect_url",
                &cdc_core::secret::redact(self.connect_url.as_str()),
            )
            .field("connector", &self.connector)
            .field("tables", &self.tables)
            .finish()
    }
}

impl DebeziumSource {
    /// The heartbeat topic the transport reads for lag: `options.kafka.heartbeat_topic`,
    /// else the connector's (see [`ConnectorSpec::heartbeat_topic`]).
    pub fn heartbeat_topic(&self) -> String {
        self.options
            .kafka
            .as_ref()
            .and_then(|k| k.heartbeat_topic.clone())
            .unwrap_or_else(|| self.connector.heartbeat_topic())
    }

    /// Whether `topic` is [`heartbeat_topic`](Self::heartbeat_topic), without building it
    /// (this is asked per record).
    pub fn is_heartbeat_topic(&self, topic: &str) -> bool {
        if let Some(t) = self
            .options
            .kafka
            .as_ref()
            .and_then(|k| k.heartbeat_topic.as_deref())
        {
            return t == topic;
        }
        let hb = self
            .connector
            .config
            .get("topic.heartbeat.prefix")
            .map_or(crate::decode::HEARTBEAT_TOPIC_PREFIX, String::as_str);
        topic
            .strip_prefix(hb)
            .and_then(|rest| rest.strip_prefix('.'))
            .is_some_and(|rest| rest == self.connector.topic_prefix())
    }

    /// Reads and checks a source config and renders its connector. Every error names the
    /// field; nothing contacts Kafka Connect (this is what a `cdc render` prints).
    pub fn from_config(cfg: &SourceConfig) -> Result<Self> {
        let sid = cfg.source_id.clone();
        let err = |field: &str, message: String| DebeziumError::Config {
            source_id: sid.clone(),
            field: field.to_owned(),
            message,
        };
        cfg.validate().map_err(|e| err("source", e.to_string()))?;
        let kind = DatabaseKind::parse(&cfg.source_type).ok_or_else(|| {
            err(
                "source_type",
                format!(
                    "{:?} is not supported by Debezium here; use postgres, mysql, mariadb, sqlserver or mongodb",
                    cfg.source_type
                ),
            )
        })?;
        // The field is the option's own path (`options.kafka.batch_max`), not `options` with
        // the path again inside the message.
        let options: DebeziumOptions = cfg.typed_options().map_err(|e| match e {
            cdc_core::CdcError::InvalidConfig { field, message } => {
                let path = field.split(" (source ").next().unwrap_or(&field);
                err(path, message)
            }
            other => err("options", other.to_string()),
        })?;
        check_ranges(&options).map_err(|(field, message)| err(field, message))?;
        check_drop_slot(kind, &options)
            .map_err(|message| err("options.drop_slot_on_stop", message))?;
        if let Some(k) = &options.kafka {
            k.check().map_err(|(field, message)| err(&field, message))?;
        }
        let connect_url = parse_connect_url(cfg.connection.expose())
            .map_err(|m| err("connection", format!("{m} (got {})", cfg.connection)))?;
        let tables = cfg.table_refs().map_err(|e| err("tables", e.to_string()))?;
        let connector = render(&sid, kind, &tables, &options)?;
        if options.drop_slot_on_stop && !connector.config.contains_key("slot.name") {
            return Err(err(
                "options.drop_slot_on_stop",
                "the rendered connector config has no slot.name (removed in connector_config?): no slot to drop".into(),
            ));
        }
        Ok(Self {
            source_id: sid,
            kind,
            options,
            connect_url,
            connector,
            tables,
        })
    }
}

/// The documented range of every number of the options (what a `cdc validate` checks, so
/// that nothing later overflows a timer or a counter).
///
/// | option | range |
/// |---|---|
/// | `tasks_max` | 1 ..= 1024 |
/// | `server_id` | 1 ..= 4294967295 |
/// | `request_timeout_ms` | 1 ..= 3600000 (an hour) |
/// | `retry.max_attempts` | 1 ..= 100 |
/// | `retry.initial_backoff_ms`, `retry.max_backoff_ms` | 0 ..= 3600000, max ≥ initial |
/// | `retry.max_elapsed_ms` | 0 ..= 86400000 (a day) |
pub const OPTION_RANGES: &[(&str, u64, u64)] = &[
    ("options.tasks_max", 1, 1024),
    ("options.server_id", 1, u32::MAX as u64),
    ("options.request_timeout_ms", 1, 3_600_000),
    ("options.retry.max_attempts", 1, 100),
    ("options.retry.initial_backoff_ms", 0, 3_600_000),
    ("options.retry.max_backoff_ms", 0, 3_600_000),
    ("options.retry.max_elapsed_ms", 0, 86_400_000),
];

fn check_ranges(o: &DebeziumOptions) -> std::result::Result<(), (&'static str, String)> {
    let values = [
        o.tasks_max.map(u64::from),
        o.server_id.map(u64::from),
        o.request_timeout_ms,
        Some(u64::from(o.retry.max_attempts)),
        Some(o.retry.initial_backoff_ms),
        Some(o.retry.max_backoff_ms),
        Some(o.retry.max_elapsed_ms),
    ];
    for (&(field, min, max), value) in OPTION_RANGES.iter().zip(values) {
        if let Some(v) = value
            && !(min..=max).contains(&v)
        {
            return Err((field, format!("{v} is outside {min}..={max}")));
        }
    }
    if o.retry.max_backoff_ms < o.retry.initial_backoff_ms {
        return Err((
            "options.retry.max_backoff_ms",
            format!(
                "{} is below options.retry.initial_backoff_ms ({}): the delay starts there and grows up to this",
                o.retry.max_backoff_ms, o.retry.initial_backoff_ms
            ),
        ));
    }
    Ok(())
}

/// `options.drop_slot_on_stop` needs a PostgreSQL connector (the only one with a
/// replication slot), `on_stop: delete` (a kept, paused or stopped connector still uses its
/// slot) and `options.database` (the connection that drops it).
fn check_drop_slot(kind: DatabaseKind, o: &DebeziumOptions) -> std::result::Result<(), String> {
    if !o.drop_slot_on_stop {
        return Ok(());
    }
    if kind != DatabaseKind::Postgres {
        return Err(format!(
            "only a PostgreSQL connector has a replication slot to drop (source_type is {})",
            kind.as_str()
        ));
    }
    if o.on_stop() != OnStop::Delete {
        return Err(format!(
            "needs options.on_stop: delete (on_stop is {}: the connector still uses its slot)",
            o.on_stop().as_str()
        ));
    }
    if o.database.is_none() {
        return Err("needs options.database, the connection that drops the slot".into());
    }
    Ok(())
}

/// The Kafka Connect base URL: `http(s)://host:port[/prefix]`.
fn parse_connect_url(raw: &str) -> std::result::Result<url::Url, String> {
    if raw.is_empty() {
        return Err("the Kafka Connect REST URL is required (e.g. http://connect:8083)".into());
    }
    let url = url::Url::parse(raw).map_err(|e| format!("not a URL: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!(
            "the Kafka Connect REST URL must be http or https, not {:?}",
            url.scheme()
        ));
    }
    Ok(url)
}
