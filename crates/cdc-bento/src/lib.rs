//! # cdc-bento
//!
//! The Bento provider of cdc-rs: it turns a [`cdc_core::SourceConfig`] into a complete Bento
//! stream config that really streams, and either hands that config to whatever runs Bento
//! (delegated mode, Go's behaviour) or runs and supervises the `bento` process itself
//! (managed mode), delivering each event it prints to the source's subscribers, again after
//! a handler failure, and (PostgreSQL, feature `postgres`) advancing the slot only past what
//! every handler took.
//!
//! - [`stream`]: typed Bento config structs, serialized to YAML.
//! - [`generate`]: source config → stream config, per `source_type` and flavor.
//! - [`sql`]: the wal2json slot SQL, with validated and escaped names.
//! - [`provider`]: [`BentoProvider`], the `CdcProvider`.
//! - [`supervisor`]: the managed Bento process.
//!
//! ```
//! use cdc_bento::generate::{generate, SourceSpec};
//! use cdc_bento::options::BentoOptions;
//! use cdc_bento::sql::SlotRead;
//! use cdc_bento::stream::Reveal;
//!
//! let spec = SourceSpec {
//!     source_id: "shop".into(),
//!     source_type: "postgres".into(),
//!     connection: "postgres://cdc:secret@db:5432/shop".into(),
//!     tables: vec!["public.orders".into()],
//!     // A stream somebody else runs consumes the slot; the provider's own peeks.
//!     slot_read: SlotRead::Consume,
//! };
//! let stream = generate(&spec, &BentoOptions::default()).unwrap();
//! let yaml = stream.config.to_yaml(Reveal::Masked).unwrap();
//! assert!(yaml.contains("pg_logical_slot_get_changes"));
//! assert!(!yaml.contains("secret"));
//! ```

pub mod error;
pub mod generate;
pub mod options;
pub mod provider;
pub mod sql;
pub mod stream;
pub mod supervisor;

pub use error::{BentoError, PROVIDER};
pub use options::BentoOptions;
pub use provider::BentoProvider;
