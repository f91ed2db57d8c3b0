//! # cdc-debezium
//!
//! Debezium on Kafka Connect for cdc-rs.
//!
//! - [`connect`]: a typed Kafka Connect REST client that retries transient failures.
//! - [`config`]: the Debezium 3.x connector config for a [`cdc_core::SourceConfig`].
//! - [`decode`]: Debezium change records (JSON converter, with or without schemas) into
//!   [`cdc_core::ChangeEvent`]s.
//! - [`DebeziumProvider`]: a [`cdc_core::CdcProvider`] that manages connectors and delivers
//!   records handed to it by a transport: with the `kafka` feature and `options.kafka`, its
//!   own consumer of the connector's topics (at-least-once: committed only after every
//!   handler succeeded).

pub mod config;
pub mod connect;
pub mod decode;
pub mod error;
#[cfg(feature = "kafka")]
mod kafka;
pub mod provider;
pub mod signal;
pub mod slot;

pub use error::{DebeziumError, PROVIDER, Result};
pub use provider::{BatchOutcome, DebeziumProvider, DeliveryOutcome, RawRecord};
