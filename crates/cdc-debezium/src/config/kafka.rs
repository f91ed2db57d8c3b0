//! [`KafkaOptions`]: `options.kafka` of a Debezium source, the Kafka consumer that reads the
//! connector's topics (the transport). Parsed always; consumed only with the `kafka` feature.

use std::collections::BTreeMap;

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

/// What `cdc` does to the connector when the source stops (`options.on_stop`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnStop {
    /// Leave the connector running: it keeps writing to Kafka, the buffer; the next run
    /// resumes from the group's committed offsets. Default when `options.kafka` is set.
    Keep,
    /// `PUT /connectors/{n}/pause`: the connector holds its position (and its replication
    /// slot holds WAL on the database until it resumes).
    Pause,
    /// `PUT /connectors/{n}/stop` (Kafka 3.5+): tasks shut down, config and offsets kept.
    Stop,
    /// `DELETE /connectors/{n}`: the connector goes; its replication slot (unless
    /// `options.drop_slot_on_stop`) and publication stay on the database (the slot holding
    /// WAL) and the worker keeps its offsets. Default without a transport (nothing would
    /// read what it writes).
    Delete,
}

impl OnStop {
    /// The option's spelling (`keep`, `pause`, `stop`, `delete`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Keep => "keep",
            Self::Pause => "pause",
            Self::Stop => "stop",
            Self::Delete => "delete",
        }
    }

    /// The default: `keep` with a transport (Kafka is the buffer), `delete` without.
    pub fn default_for(has_transport: bool) -> Self {
        if has_transport {
            Self::Keep
        } else {
            Self::Delete
        }
    }
}

/// `auto.offset.reset` of the consumer: where a group without committed offsets starts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OffsetReset {
    /// From the oldest record kept (the whole snapshot). The default.
    #[default]
    Earliest,
    /// Only records written after the group first joined.
    Latest,
}

impl OffsetReset {
    /// The librdkafka value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Earliest => "earliest",
            Self::Latest => "latest",
        }
    }
}

/// `options.kafka.on_undecodable`: what a record that cannot be decoded does to its partition.
///
/// Decoding is deterministic: a record that failed once fails every time, so holding waits
/// for somebody to act (fix the converter, or restart with `skip`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnUndecodable {
    /// The partition stops at the record: status `error` names it (topic, partition,
    /// offset, why), nothing after it is delivered or committed. The default: nothing is
    /// ever lost without somebody deciding so.
    #[default]
    Hold,
    /// The record is logged (error level, with its topic, partition, offset and why),
    /// counted in status (`details.kafka.skipped_records`, `last_skipped`) and committed
    /// past; the partition goes on. Kafka Connect's `errors.tolerance: all`.
    Skip,
}

/// `options.kafka`: the consumer of the connector's topics.
///
/// ```yaml
/// kafka:
///   bootstrap_servers: broker:9092
///   group_id: cdc-orders-db          # default: cdc-<source id>
///   auto_offset_reset: earliest      # default
///   pause_connector: true            # pause also pauses the connector (default)
///   properties:                      # librdkafka properties passed through (SASL/SSL)
///     security.protocol: SASL_SSL
///     sasl.mechanism: PLAIN
///     sasl.username: cdc
///     sasl.password: ${KAFKA_PASSWORD}
/// ```
///
/// `Debug` and `Serialize` mask the values of secret properties (`sasl.password`,
/// `ssl.key.password`, `ssl.key.pem`, ...: see [`SECRET_PROPERTIES`]) and the userinfo of
/// a bootstrap URL.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KafkaOptions {
    /// `bootstrap.servers` (`host:port[,host:port]`).
    #[serde(serialize_with = "cdc_core::secret::masked::url")]
    pub bootstrap_servers: String,
    /// Consumer group; default `cdc-<source id>`. One group per source.
    #[serde(default)]
    pub group_id: Option<String>,
    /// Where a group without committed offsets starts; default `earliest`.
    #[serde(default)]
    pub auto_offset_reset: OffsetReset,
    /// Whether `pause` also pauses the connector (default true); false pauses delivery only.
    #[serde(default = "yes")]
    pub pause_connector: bool,
    /// Topics to read instead of the connector's (`GET /connectors/{n}/topics`, else the
    /// tables' topics by a regex on `topic.prefix`).
    #[serde(default)]
    pub topics: Option<Vec<String>>,
    /// The heartbeat topic read for lag; default `__debezium-heartbeat.<topic.prefix>`.
    #[serde(default)]
    pub heartbeat_topic: Option<String>,
    /// Records handed to the handlers in one batch, per partition (1..=10000, default 500).
    #[serde(default = "default_batch")]
    pub batch_max: usize,
    /// First backoff after a handler failure, milliseconds (1..=600000, default 200).
    #[serde(default = "default_initial_backoff")]
    pub retry_initial_backoff_ms: u64,
    /// Cap of that backoff, milliseconds (1..=600000, default 10000).
    #[serde(default = "default_max_backoff")]
    pub retry_max_backoff_ms: u64,
    /// A record that cannot be decoded: `hold` its partition there (the default) or `skip` it.
    #[serde(default)]
    pub on_undecodable: OnUndecodable,
    /// librdkafka properties passed through (security, timeouts). The consumer's own keys
    /// (`bootstrap.servers`, `group.id`, `enable.auto.commit`, `enable.auto.offset.store`)
    /// are refused here.
    /// A value may be written as a number or a boolean (YAML's `session.timeout.ms: 6000`):
    /// its text is passed.
    #[serde(
        default,
        serialize_with = "masked_properties",
        deserialize_with = "property_values"
    )]
    pub properties: BTreeMap<String, String>,
}

/// A pass-through property's value. librdkafka takes text, and YAML reads `6000`, `false`
/// or an all-digit password as a number or a boolean: refusing them quoted the value in the
/// error (serde shows a number it did not expect), and the value may be a password.
struct PropertyValue(String);

impl<'de> Deserialize<'de> for PropertyValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match Value::deserialize(d)? {
            Value::String(s) => Ok(Self(s)),
            Value::Number(n) => Ok(Self(n.to_string())),
            Value::Bool(b) => Ok(Self(b.to_string())),
            _ => Err(D::Error::custom(
                "a librdkafka property is a string, a number or a boolean",
            )),
        }
    }
}

/// Through a map of [`PropertyValue`]s, so that an error names the property.
fn property_values<'de, D: Deserializer<'de>>(d: D) -> Result<BTreeMap<String, String>, D::Error> {
    let values = BTreeMap::<String, PropertyValue>::deserialize(d)?;
    Ok(values.into_iter().map(|(k, v)| (k, v.0)).collect())
}

/// librdkafka properties that hold a secret (its sensitive ones, less paths and public
/// certificates) whose names the generic secret-key rule misses or may miss: a private key
/// is `ssl.key.pem`, a passphrase is not a password to that rule, and a Confluent Cloud
/// `sasl.username` is half of an API key.
pub const SECRET_PROPERTIES: &[&str] = &[
    "sasl.username",
    "sasl.password",
    "sasl.oauthbearer.config",
    "sasl.oauthbearer.client.secret",
    "sasl.oauthbearer.assertion.private.key.passphrase",
    "sasl.oauthbearer.assertion.private.key.pem",
    "ssl.key.password",
    "ssl.key.pem",
    "ssl.keystore.password",
];

/// The pass-through properties as `Serialize` (and so `Debug`) show them: the value of a
/// secret one masked ([`SECRET_PROPERTIES`] or a secret-looking key), the rest redacted.
fn masked_properties<S: serde::Serializer>(
    value: &BTreeMap<String, String>,
    s: S,
) -> Result<S::Ok, S::Error> {
    cdc_core::secret::masked::string_map_with(value, SECRET_PROPERTIES, s)
}

cdc_core::impl_masked_debug!(KafkaOptions);

fn yes() -> bool {
    true
}
fn default_batch() -> usize {
    500
}
fn default_initial_backoff() -> u64 {
    200
}
fn default_max_backoff() -> u64 {
    10_000
}

/// Properties of the consumer that `cdc` sets itself (at-least-once depends on them), and
/// librdkafka's other names for them (`metadata.broker.list` is `bootstrap.servers`: with
/// both set, which one wins depends on a hash map's order). `enable.partition.eof` is
/// always false: the consumer reads on past a partition's end.
pub const RESERVED_PROPERTIES: &[&str] = &[
    "bootstrap.servers",
    "metadata.broker.list",
    "group.id",
    "enable.auto.commit",
    "enable.auto.offset.store",
    "auto.offset.reset",
    "enable.partition.eof",
];

impl KafkaOptions {
    /// The consumer group of a source: `group_id`, else `cdc-<source id>`.
    pub fn group_id(&self, source_id: &str) -> String {
        self.group_id
            .clone()
            .unwrap_or_else(|| format!("cdc-{source_id}"))
    }

    /// Checks ranges and reserved properties: `(field, message)` of the first problem.
    pub fn check(&self) -> Result<(), (String, String)> {
        if self.bootstrap_servers.trim().is_empty() {
            return Err((
                "options.kafka.bootstrap_servers".into(),
                "required: host:port[,host:port]".into(),
            ));
        }
        if self
            .group_id
            .as_deref()
            .is_some_and(|g| g.trim().is_empty())
        {
            return Err(("options.kafka.group_id".into(), "must not be empty".into()));
        }
        let ranges = [
            ("options.kafka.batch_max", self.batch_max as u64, 1, 10_000),
            (
                "options.kafka.retry_initial_backoff_ms",
                self.retry_initial_backoff_ms,
                1,
                600_000,
            ),
            (
                "options.kafka.retry_max_backoff_ms",
                self.retry_max_backoff_ms,
                1,
                600_000,
            ),
        ];
        for (field, v, min, max) in ranges {
            if !(min..=max).contains(&v) {
                return Err((field.into(), format!("{v} is outside {min}..={max}")));
            }
        }
        if self.retry_max_backoff_ms < self.retry_initial_backoff_ms {
            return Err((
                "options.kafka.retry_max_backoff_ms".into(),
                format!(
                    "{} is below options.kafka.retry_initial_backoff_ms ({}): the delay starts there and grows up to this",
                    self.retry_max_backoff_ms, self.retry_initial_backoff_ms
                ),
            ));
        }
        // librdkafka takes C strings: a NUL would end the value there (rdkafka refuses it
        // with a bare "FFI nul error").
        let nul = "must not hold a NUL character";
        if self.bootstrap_servers.contains('\0') {
            return Err(("options.kafka.bootstrap_servers".into(), nul.into()));
        }
        if self.group_id.as_deref().is_some_and(|g| g.contains('\0')) {
            return Err(("options.kafka.group_id".into(), nul.into()));
        }
        for (k, v) in &self.properties {
            if k.contains('\0') || v.contains('\0') {
                return Err((format!("options.kafka.properties.{k}"), nul.into()));
            }
            if RESERVED_PROPERTIES.contains(&k.as_str()) {
                return Err((
                    format!("options.kafka.properties.{k}"),
                    "is set by cdc itself (use the typed option, or none: at-least-once depends on it)".into(),
                ));
            }
        }
        if self.topics.as_ref().is_some_and(|t| t.is_empty()) {
            return Err((
                "options.kafka.topics".into(),
                "must name at least one topic when set".into(),
            ));
        }
        Ok(())
    }
}
