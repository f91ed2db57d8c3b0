//! Kafka: Debezium change topics consumed with `kafka_franz`, Debezium envelopes mapped to
//! normalized events. Offsets are committed for the consumer group after the output has the
//! message, so a crash re-delivers rather than loses.

use crate::error::BentoError;
use crate::options::{BentoOptions, StartPosition};
use crate::stream::{Input, KafkaFranzInput, Pipeline, Processor, StreamConfig};

use super::mapping::debezium_mapping;
use super::{GeneratedStream, SourceSpec, check_plain, common_sections};

pub(super) fn generate(
    spec: &SourceSpec,
    options: &BentoOptions,
) -> Result<GeneratedStream, BentoError> {
    let brokers: Vec<String> = match &options.brokers {
        Some(b) => b.clone(),
        None => spec
            .connection
            .expose()
            .split(',')
            .map(|b| b.trim().trim_start_matches("kafka://").to_owned())
            .filter(|b| !b.is_empty())
            .collect(),
    };
    if brokers.is_empty() {
        return Err(spec.invalid(
            "options.brokers",
            "no Kafka brokers: set options.brokers or connection (host:port[,host:port])",
        ));
    }
    for b in &brokers {
        check_plain(spec, "options.brokers", b)?;
        let valid = b
            .rsplit_once(':')
            .map(|(host, port)| !host.is_empty() && port.parse::<u16>().is_ok())
            .unwrap_or(false);
        if !valid || b.contains(char::is_whitespace) {
            // The brokers may come from `connection`: shown redacted (a `user:pw@` in it).
            return Err(spec.invalid(
                "options.brokers",
                format!("{:?} is not host:port", cdc_core::secret::redact(b)),
            ));
        }
    }
    let topics = match &options.topics {
        Some(t) => t.clone(),
        None => default_topics(spec, options)?,
    };
    if topics.is_empty() {
        return Err(spec.invalid(
            "options.topics",
            "no topics: set options.topics or configure tables (schema.table)",
        ));
    }
    for t in &topics {
        check_topic(spec, t)?;
    }
    let consumer_group = options
        .consumer_group
        .clone()
        .unwrap_or_else(|| format!("cdc-{}", spec.source_id));
    check_plain(spec, "options.consumer_group", &consumer_group)?;
    let (http, logger, output) = common_sections(spec, options)?;
    let config = StreamConfig {
        http,
        input: Input::KafkaFranz(KafkaFranzInput {
            seed_brokers: brokers,
            topics,
            consumer_group,
            start_from_oldest: options.start_position == StartPosition::Oldest,
        }),
        pipeline: Pipeline {
            processors: vec![Processor::Mapping(debezium_mapping(&spec.source_id))],
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

/// Debezium names topics `<topic.prefix>.<schema>.<table>`.
fn default_topics(spec: &SourceSpec, options: &BentoOptions) -> Result<Vec<String>, BentoError> {
    let prefix = options
        .topic_prefix
        .clone()
        .unwrap_or_else(|| spec.source_id.clone());
    spec.pg_tables()?
        .into_iter()
        .enumerate()
        .map(|(i, t)| match t.schema {
            Some(schema) => Ok(format!("{prefix}.{schema}.{}", t.name)),
            None => Err(spec.invalid(
                &format!("tables[{i}]"),
                format!(
                    "{:?} has no schema, so its Debezium topic is unknown; name it schema.table or set options.topics",
                    t.name
                ),
            )),
        })
        .collect()
}

fn check_topic(spec: &SourceSpec, topic: &str) -> Result<(), BentoError> {
    let ok = !topic.is_empty()
        && topic.len() <= 249
        && topic
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if ok {
        Ok(())
    } else {
        Err(spec.invalid(
            "options.topics",
            format!("{topic:?} is not a Kafka topic name (1-249 of A-Z a-z 0-9 . _ -)"),
        ))
    }
}
