//! The consumer's librdkafka config and what it subscribes to.

use rdkafka::ClientConfig;
use rdkafka::config::RDKafkaLogLevel;
use rdkafka::error::KafkaError;

use crate::config::{DatabaseKind, DebeziumSource, KafkaOptions, regex_escape};

/// How often the consumer refreshes metadata unless `properties` say otherwise: a regex
/// subscription sees a topic created later (a new table) within this time.
const METADATA_REFRESH_MS: &str = "30000";
/// See `fetch.queue.backoff.ms` in [`client_config`].
const FETCH_QUEUE_BACKOFF_MS: &str = "20";
/// How often librdkafka reports its statistics (the consumer lag of `status`).
const STATISTICS_MS: &str = "2000";

/// The consumer config: the user's pass-through properties first, then the keys
/// at-least-once depends on (which [`KafkaOptions::check`] refuses in `properties`).
pub(crate) fn client_config(source_id: &str, k: &KafkaOptions) -> ClientConfig {
    let mut c = ClientConfig::new();
    // librdkafka's warnings reach `SourceContext::log` whatever the process's log filter:
    // an offset reset (records lost, or read again) is only ever reported as one.
    if (c.log_level as i32) < (RDKafkaLogLevel::Warning as i32) {
        c.set_log_level(RDKafkaLogLevel::Warning);
    }
    c.set("topic.metadata.refresh.interval.ms", METADATA_REFRESH_MS);
    // The consumer lag of `status` comes from the client's statistics.
    c.set("statistics.interval.ms", STATISTICS_MS);
    // Once the prefetch queue is full (decoding and the handlers take longer than a fetch),
    // librdkafka waits this long before fetching again: its 1000 ms default left the consumer
    // idle most of the time once it had caught up with a full queue (benches/kafka_consume.rs).
    c.set("fetch.queue.backoff.ms", FETCH_QUEUE_BACKOFF_MS);
    for (key, value) in &k.properties {
        c.set(key, value);
    }
    c.set("bootstrap.servers", &k.bootstrap_servers)
        .set("group.id", k.group_id(source_id))
        .set("enable.auto.commit", "false")
        .set("enable.auto.offset.store", "false")
        .set("auto.offset.reset", k.auto_offset_reset.as_str())
        .set("enable.partition.eof", "false");
    c
}

/// The field and message of an error creating the consumer. librdkafka refusing a property
/// is named by the option it came from, without its value: rdkafka's own message ends with
/// the value, and the property may be a password (a typo of `sasl.password`, a key this
/// build does not support, Java's `sasl.jaas.config`).
pub(crate) fn create_error(e: &KafkaError) -> (String, String) {
    let (field, text) = match e {
        KafkaError::ClientConfig(_, description, key, _value) => {
            let field = match key.as_str() {
                "bootstrap.servers" => "options.kafka.bootstrap_servers".to_owned(),
                "group.id" => "options.kafka.group_id".to_owned(),
                k => format!("options.kafka.properties.{k}"),
            };
            (field, description.clone())
        }
        other => ("options.kafka.properties".to_owned(), other.to_string()),
    };
    (field, cdc_core::secret::redact_text(&text))
}

/// What the consumer subscribes to, and the topics that must exist for it to see anything.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Subscription {
    /// Topic names and `^regex` patterns, as librdkafka takes them.
    pub patterns: Vec<String>,
    /// The captured tables' topics: reported in status when the brokers do not have them.
    pub expected: Vec<String>,
}

/// The connector's topics: `options.kafka.topics` when given; else the tables' topics by a
/// regex on `topic.prefix` (every table's when none are listed, so a new table's topic is
/// picked up) plus the topics Kafka Connect says the connector wrote (`known`); plus the
/// heartbeat topic, and for MySQL-family sources the schema-change topic `<prefix>`.
pub(crate) fn subscription(source: &DebeziumSource, known: &[String]) -> Subscription {
    let prefix = source.connector.topic_prefix();
    let k = source.options.kafka.as_ref();
    let heartbeat = source.heartbeat_topic();
    let mut patterns = Vec::new();
    let mut expected = Vec::new();
    if let Some(topics) = k.and_then(|k| k.topics.clone()) {
        expected.extend(topics.iter().filter(|t| !t.starts_with('^')).cloned());
        patterns.extend(topics);
    } else {
        let p = regex_escape(prefix);
        if source.tables.is_empty() {
            patterns.push(format!("^{p}\\.[^.]+\\.[^.]+$"));
        } else {
            let names: Vec<String> = source
                .tables
                .iter()
                .map(|t| {
                    let schema = t.schema.as_deref().unwrap_or(default_schema(source.kind));
                    expected.push(format!("{prefix}.{schema}.{}", t.name));
                    format!("{}\\.{}", regex_escape(schema), regex_escape(&t.name))
                })
                .collect();
            patterns.push(format!("^{p}\\.({})$", names.join("|")));
        }
        for t in known {
            if !patterns.contains(t) {
                patterns.push(t.clone());
            }
        }
        if matches!(source.kind, DatabaseKind::MySql | DatabaseKind::MariaDb) {
            patterns.push(format!("^{p}$"));
        }
    }
    // A regex, so a heartbeat topic that does not exist yet is not an error.
    patterns.push(format!("^{}$", regex_escape(&heartbeat)));
    Subscription { patterns, expected }
}

fn default_schema(kind: DatabaseKind) -> &'static str {
    match kind {
        DatabaseKind::SqlServer => "dbo",
        _ => "public",
    }
}
