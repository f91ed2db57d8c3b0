//! [`DebeziumOptions`]: the typed `options` of a Debezium source.

use cdc_core::SecretString;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::kafka::{KafkaOptions, OnStop};
use crate::connect::{Auth, RetryPolicy, TlsOptions};

/// The `options` of a source with `provider: debezium`. Unknown keys are rejected.
///
/// ```yaml
/// options:
///   database: postgres://dbz:${file:/secrets.properties:pw}@db:5432/shop
///   auth: { basic: { username: admin, password: s3cret } }
///   request_timeout_ms: 10000
///   signal: { table: public.debezium_signal }
///   connector_config: { heartbeat.interval.ms: "10000" }
///   kafka: { bootstrap_servers: broker:9092 }
///   on_stop: keep            # or delete, with drop_slot_on_stop: true
/// ```
///
/// `Debug` and `Serialize` mask every secret: the DSNs are redacted, `auth` is masked, and
/// `connector_config` goes through [`cdc_core::secret::mask_json`].
#[derive(Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DebeziumOptions {
    /// Connector name at Kafka Connect; default: the source id.
    pub connector_name: Option<String>,
    /// The database DSN the connector reads (`postgres://user:password@host:5432/db`), split
    /// into `database.*` properties. A `${provider:path:key}` password passes through.
    #[serde(alias = "database_dsn")]
    pub database: Option<SecretString>,
    /// `topic.prefix`; default: the source id.
    pub topic_prefix: Option<String>,
    /// `snapshot.mode`; default `initial` (snapshot once, then stream).
    pub snapshot_mode: Option<String>,
    /// `tasks.max`; default 1.
    pub tasks_max: Option<u32>,
    /// PostgreSQL `slot.name`; default derived from the source id.
    pub slot_name: Option<String>,
    /// PostgreSQL `publication.name`; default derived from the source id.
    pub publication_name: Option<String>,
    /// MySQL/MariaDB `database.server.id`; default derived from the source id (stable).
    pub server_id: Option<u32>,
    /// Schema history topic (MySQL, MariaDB, SQL Server).
    pub schema_history: Option<SchemaHistoryOptions>,
    /// Signaling table for incremental snapshots.
    pub signal: Option<SignalOptions>,
    /// Authentication of REST calls.
    pub auth: Option<Auth>,
    /// TLS of REST calls.
    pub tls: TlsOptions,
    /// Timeout of one REST request in milliseconds (default 30000).
    pub request_timeout_ms: Option<u64>,
    /// Retries of transient REST failures.
    pub retry: RetryPolicy,
    /// Placeholder Debezium puts for unavailable (unchanged TOAST) values; default
    /// `__debezium_unavailable_value`. Also rendered as `unavailable.value.placeholder`
    /// when set.
    pub unavailable_value_placeholder: Option<String>,
    /// The Kafka consumer of the connector's topics (needs the `kafka` feature): with it, the
    /// source delivers its changes to the handlers.
    pub kafka: Option<KafkaOptions>,
    /// Connect with delivery held until `resume` (with `kafka`): `cdc run` sets it so that no
    /// event reaches some handlers before every trigger listens.
    pub start_paused: bool,
    /// What stopping the source (`disconnect`, the end of `cdc run`) does to the connector:
    /// `keep` (default with `kafka`), `pause`, `stop` or `delete` (default without).
    pub on_stop: Option<OnStop>,
    /// With `on_stop: delete` (PostgreSQL only): after the connector is deleted, drop its
    /// replication slot (the rendered `slot.name`) through `options.database`, so that it
    /// stops holding WAL. Default false: the slot (and the publication) stay, and the log
    /// names them.
    pub drop_slot_on_stop: bool,
    /// Connector properties merged last, over everything generated (the user wins). A `null`
    /// removes a generated property.
    #[serde(serialize_with = "cdc_core::secret::masked::json_map")]
    pub connector_config: Map<String, Value>,
}

cdc_core::impl_masked_debug!(DebeziumOptions);

/// `schema.history.internal.kafka.*`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SchemaHistoryOptions {
    /// `schema.history.internal.kafka.bootstrap.servers`.
    pub kafka_bootstrap_servers: String,
    /// `schema.history.internal.kafka.topic`; default `<topic.prefix>.schema-history`.
    #[serde(default)]
    pub kafka_topic: Option<String>,
}

/// The signaling table used for incremental snapshots.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignalOptions {
    /// `schema.table` of the signaling table (columns `id`, `type`, `data`).
    pub table: String,
    /// DSN used to write signals; default: `options.database`.
    #[serde(default)]
    pub database: Option<SecretString>,
    /// Create the table if it is missing (default true).
    #[serde(default = "yes")]
    pub create_table: bool,
}

fn yes() -> bool {
    true
}

impl DebeziumOptions {
    /// What stopping the source does to the connector (see [`OnStop`]).
    pub fn on_stop(&self) -> OnStop {
        self.on_stop
            .unwrap_or_else(|| OnStop::default_for(self.kafka.is_some()))
    }
}
