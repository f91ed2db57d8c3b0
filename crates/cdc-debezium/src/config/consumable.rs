//! What the Kafka transport can read: with `options.kafka`, the rendered connector config
//! (the user's `connector_config` included) must write Debezium's change envelope, as JSON,
//! to topics named `<topic.prefix>.<schema>.<table>`. A property that changes any of those
//! is refused here, naming it: with it the transport would hold every partition on an
//! undecodable record, or, for a topic renamed, see no record at all and say nothing.
//!
//! Transforms are judged by their class. The ones listed below are refused; any other
//! (filters, header and field inserters, partition routing, time zone conversion) leaves
//! the envelope and the topic as they were, or is unknown to us: it passes with a warning
//! for the unknown, and a record it makes undecodable still stops its partition with an
//! error naming the record.

use tracing::warn;

use crate::connect::ConnectorConfig;

/// The only converter the decoder reads.
pub const JSON_CONVERTER: &str = "org.apache.kafka.connect.json.JsonConverter";

/// Transforms that change the record's shape or its topic, with why the transport cannot
/// read what they write.
const REFUSED: &[(&str, &str)] = &[
    ("io.debezium.transforms.ExtractNewRecordState", FLATTENS),
    (
        "io.debezium.connector.mongodb.transforms.ExtractNewDocumentState",
        FLATTENS,
    ),
    (
        "io.debezium.transforms.outbox.EventRouter",
        "turns the changes into outbox events, on topics of their own",
    ),
    (
        "io.debezium.connector.mongodb.transforms.outbox.MongoEventRouter",
        "turns the changes into outbox events, on topics of their own",
    ),
    ("io.debezium.transforms.ByLogicalTableRouter", RENAMES),
    ("io.debezium.transforms.ContentBasedRouter", RENAMES),
    (
        "io.debezium.connector.postgresql.transforms.timescaledb.TimescaleDb",
        RENAMES,
    ),
    ("org.apache.kafka.connect.transforms.RegexRouter", RENAMES),
    (
        "org.apache.kafka.connect.transforms.TimestampRouter",
        RENAMES,
    ),
    (
        "org.apache.kafka.connect.transforms.ExtractField$Value",
        RESHAPES,
    ),
    (
        "org.apache.kafka.connect.transforms.Flatten$Value",
        RESHAPES,
    ),
    (
        "org.apache.kafka.connect.transforms.HoistField$Value",
        RESHAPES,
    ),
    (
        "org.apache.kafka.connect.transforms.ReplaceField$Value",
        RESHAPES,
    ),
    ("org.apache.kafka.connect.transforms.Cast$Value", RESHAPES),
];

const FLATTENS: &str = "flattens Debezium's change envelope into the bare row, which loses the \
    operation and the source position the transport reads (with the envelope, the row is \
    already the event's `after`)";
const RENAMES: &str = "sends the records to topics other than <topic.prefix>.<schema>.<table>, \
    which the transport would neither subscribe to nor know as this source's";
const RESHAPES: &str = "changes the fields of Debezium's change envelope (op, before, after, \
    source) that the transport reads";

/// Transforms known to leave the envelope and the topic alone: no warning for them.
const HARMLESS: &[&str] = &[
    "io.debezium.transforms.Filter",
    "io.debezium.transforms.ExtractChangedRecordState",
    "io.debezium.transforms.HeaderToValue",
    "io.debezium.transforms.SchemaChangeEventFilter",
    "io.debezium.transforms.TimezoneConverter",
    "io.debezium.transforms.partitions.PartitionRouting",
    "io.debezium.transforms.partitions.ComputePartition",
    "io.debezium.transforms.tracing.ActivateTracingSpan",
    "org.apache.kafka.connect.transforms.Filter",
    "org.apache.kafka.connect.transforms.InsertField$Value",
    "org.apache.kafka.connect.transforms.InsertHeader",
    "org.apache.kafka.connect.transforms.HeaderFrom$Value",
    "org.apache.kafka.connect.transforms.HeaderFrom$Key",
    "org.apache.kafka.connect.transforms.DropHeaders",
    "org.apache.kafka.connect.transforms.ValueToKey",
];

/// A property the transport cannot work with: the config key and why.
#[derive(Debug, PartialEq, Eq)]
pub struct Refused {
    /// The connector property at fault (`transforms.unwrap.type`, `value.converter`, ...).
    pub key: String,
    /// What is wrong and what to do.
    pub message: String,
}

/// Checks a rendered config for the transport; the first property it cannot read.
pub fn check(source_id: &str, config: &ConnectorConfig) -> Result<(), Refused> {
    for part in ["key", "value"] {
        let key = format!("{part}.converter");
        if let Some(class) = config.get(&key).map(|c| c.trim())
            && !names_class(class, JSON_CONVERTER)
        {
            return Err(Refused {
                message: format!(
                    "{class:?}: the Kafka transport reads JSON records only; set it to \
                     {JSON_CONVERTER} (with or without schemas), or remove options.kafka to \
                     read the topics yourself"
                ),
                key,
            });
        }
    }
    if let Some(d) = config.get("topic.delimiter")
        && d != "."
    {
        return Err(Refused {
            key: "topic.delimiter".into(),
            message: format!(
                "{d:?}: the Kafka transport finds the tables' topics as \
                 <topic.prefix>.<schema>.<table>; leave the delimiter at \".\""
            ),
        });
    }
    if let Some(s) = config.get("topic.naming.strategy").map(|s| s.trim())
        && !matches!(
            s,
            "io.debezium.schema.DefaultTopicNamingStrategy"
                | "io.debezium.schema.DefaultUnicodeTopicNamingStrategy"
        )
    {
        return Err(Refused {
            key: "topic.naming.strategy".into(),
            message: format!(
                "{s:?}: the Kafka transport reads the default topic names \
                 <topic.prefix>.<schema>.<table>; leave topic.naming.strategy at its default"
            ),
        });
    }
    let names = config.get("transforms").map(String::as_str).unwrap_or("");
    for name in names.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        let key = format!("transforms.{name}.type");
        let Some(class) = config.get(&key).map(|c| c.trim()) else {
            // Kafka Connect refuses the config itself, with its own message.
            continue;
        };
        if let Some((_, why)) = REFUSED.iter().find(|(c, _)| names_class(class, c)) {
            return Err(Refused {
                message: format!(
                    "{class} {why}: remove transform {name:?} from transforms, or remove \
                     options.kafka to read the topics yourself"
                ),
                key,
            });
        }
        if !HARMLESS.iter().any(|c| names_class(class, c)) && !class.ends_with("$Key") {
            warn!(
                source_id,
                transform = name,
                class,
                "debezium: a transform the Kafka transport does not know: if it changes the \
                 records' topics or their change envelope, they will not be delivered"
            );
        }
    }
    Ok(())
}

/// Whether a plugin class as written names `full`: its full name, or one of the aliases
/// Kafka Connect registers for a plugin (the simple class name, and for a converter that
/// name without `Converter`).
fn names_class(written: &str, full: &str) -> bool {
    let simple = full.rsplit('.').next().unwrap_or(full);
    written == full
        || written == simple
        || simple
            .strip_suffix("Converter")
            .is_some_and(|pruned| !pruned.is_empty() && written == pruned)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(pairs: &[(&str, &str)]) -> ConnectorConfig {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn every_refused_transform_is_named_with_its_property() {
        for (class, _) in REFUSED {
            let c = cfg(&[
                ("transforms", "keep, odd"),
                (
                    "transforms.keep.type",
                    "org.apache.kafka.connect.transforms.Filter",
                ),
                ("transforms.odd.type", class),
            ]);
            let r = check("s", &c).unwrap_err();
            assert_eq!(r.key, "transforms.odd.type", "{class}");
            assert!(
                r.message.contains(class) && r.message.contains("\"odd\""),
                "{r:?}"
            );
        }
    }

    #[test]
    fn harmless_unknown_and_key_transforms_pass() {
        let c = cfg(&[
            // `d` is listed without a type: Connect's own validation says so.
            ("transforms", "a,b,c,,d"),
            ("transforms.a.type", "io.debezium.transforms.Filter"),
            ("transforms.b.type", "com.example.MyTransform"),
            (
                "transforms.c.type",
                "org.apache.kafka.connect.transforms.ExtractField$Key",
            ),
        ]);
        assert_eq!(check("s", &c), Ok(()));
        assert_eq!(check("s", &ConnectorConfig::new()), Ok(()));
    }

    #[test]
    fn aliases_name_the_class_as_its_full_name_does() {
        for alias in ["JsonConverter", "Json", JSON_CONVERTER] {
            assert_eq!(
                check("s", &cfg(&[("value.converter", alias)])),
                Ok(()),
                "{alias}"
            );
        }
        let r = check("s", &cfg(&[("value.converter", "AvroConverter")])).unwrap_err();
        assert_eq!(r.key, "value.converter");
        for alias in ["ExtractNewRecordState", "RegexRouter", "Flatten$Value"] {
            let c = cfg(&[("transforms", "t"), ("transforms.t.type", alias)]);
            assert_eq!(
                check("s", &c).unwrap_err().key,
                "transforms.t.type",
                "{alias}"
            );
        }
        assert!(!names_class(
            "Record",
            "io.debezium.transforms.ExtractNewRecordState"
        ));
    }

    #[test]
    fn converters_other_than_json_are_refused() {
        assert_eq!(
            check(
                "s",
                &cfg(&[
                    ("value.converter", JSON_CONVERTER),
                    ("key.converter", JSON_CONVERTER)
                ])
            ),
            Ok(())
        );
        for (key, class) in [
            ("value.converter", "io.confluent.connect.avro.AvroConverter"),
            (
                "key.converter",
                "org.apache.kafka.connect.storage.StringConverter",
            ),
            (
                "value.converter",
                "io.debezium.converters.CloudEventsConverter",
            ),
        ] {
            let r = check("s", &cfg(&[(key, class)])).unwrap_err();
            assert_eq!(r.key, key);
            assert!(
                r.message.contains(class) && r.message.contains(JSON_CONVERTER),
                "{r:?}"
            );
        }
    }

    #[test]
    fn topic_names_must_stay_the_default_shape() {
        assert_eq!(check("s", &cfg(&[("topic.delimiter", ".")])), Ok(()));
        let r = check("s", &cfg(&[("topic.delimiter", "_")])).unwrap_err();
        assert_eq!(r.key, "topic.delimiter");
        let ok = "io.debezium.schema.DefaultTopicNamingStrategy";
        assert_eq!(check("s", &cfg(&[("topic.naming.strategy", ok)])), Ok(()));
        let r = check(
            "s",
            &cfg(&[(
                "topic.naming.strategy",
                "io.debezium.schema.SchemaTopicNamingStrategy",
            )]),
        )
        .unwrap_err();
        assert_eq!(r.key, "topic.naming.strategy");
    }
}
