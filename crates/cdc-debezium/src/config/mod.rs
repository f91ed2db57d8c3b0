//! The connector config of a Debezium source: typed options, DSN parsing, and the build step
//! [`DebeziumSource::from_config`] that renders the Kafka Connect config without contacting
//! anything (so it can be printed by a `cdc render`).

mod builder;
mod consumable;
mod dsn;
mod kafka;
mod kind;
mod options;
mod source;
mod ssl_mode;
mod tables;

pub use builder::{
    ConnectorSpec, MASKED, derived_server_id, is_secret_key, render, sanitize_identifier,
};
pub use dsn::{DatabaseDsn, is_config_provider_ref};
pub use kafka::{
    KafkaOptions, OffsetReset, OnStop, OnUndecodable, RESERVED_PROPERTIES, SECRET_PROPERTIES,
};
pub use kind::DatabaseKind;
pub use options::{DebeziumOptions, SchemaHistoryOptions, SignalOptions};
pub use source::{DebeziumSource, OPTION_RANGES};
pub use tables::{check_table_name, include_entry, regex_escape};
