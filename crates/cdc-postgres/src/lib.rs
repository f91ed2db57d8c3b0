//! # cdc-postgres
//!
//! Native PostgreSQL CDC for cdc-rs: logical replication with the built-in `pgoutput` plugin,
//! no JVM, no Kafka, no extra binary.
//!
//! - [`config`]: the source's connection string, TLS and typed options;
//! - [`decode`]: our pgoutput decoder and the text → JSON conversion of every type;
//! - [`sql`]: catalogs, pre-flight checks, publication and slot set-up (tokio-postgres);
//! - [`replication`]: the replication session (pgwire-replication) and the streaming loop;
//! - [`snapshot`]: the initial snapshot, consistent with the stream (exported snapshot + COPY);
//! - [`backfill`]: re-snapshots of running tables, chunk by chunk between watermarks;
//! - [`PostgresProvider`]: the [`cdc_core::CdcProvider`].

pub mod backfill;
pub mod config;
pub mod decode;
pub mod error;
pub mod provider;
pub mod render;
pub mod replication;
pub mod snapshot;
pub mod sql;

pub use config::{PostgresOptions, PostgresSource};
pub use decode::PgPosition;
pub use error::{PROVIDER, PostgresError, Result};
pub use provider::PostgresProvider;
