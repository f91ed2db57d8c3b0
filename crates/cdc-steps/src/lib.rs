//! # cdc-steps
//!
//! The CDC steps of the Go package, for Rust: [`Step`] (JSON config in, JSON object out), a
//! [`StepRegistry`] by type name, and the seven steps, with Go's config and output keys:
//!
//! | type | does |
//! |---|---|
//! | `step.cdc_start` | reports a registered source, or builds, connects and registers one from the step config |
//! | `step.cdc_stop` | unregisters and disconnects a source |
//! | `step.cdc_status` | the source's status (`CdcStatus` JSON) |
//! | `step.cdc_snapshot` | starts a snapshot (`SnapshotReport`) |
//! | `step.cdc_schema_history` | `history` and `count` of a table's schema versions |
//! | `step.cdc_backpressure` | `check` lag against thresholds, `throttle`, `resume` |
//! | `step.cdc_monitor` | check + alert + auto-throttle on critical lag |
//!
//! Steps run against a [`StepContext`]: the [`cdc_core::SourceRegistry`] of running sources
//! and the [`cdc_core::ProviderFactory`] for `step.cdc_start`. Errors read like Go's:
//! `step.cdc_status "check-db": source_id is required`.
//! [`StepRegistry::schemas`] exports every step's config fields and outputs as JSON, like the
//! Go plugin manifest's `stepSchemas`. [`StepRegistry::check`] checks a config before any
//! event (types, ranges, fixed sets, table names), leaving out what is only known per event.
//! Config errors name the field and never quote a value given to a field of another type (it
//! may be a secret in the wrong place); a value they do quote is cut after 60 characters.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! use std::sync::Arc;
//! use cdc_core::SourceRegistry;
//! use cdc_steps::{StepContext, StepRegistry};
//! use serde_json::json;
//!
//! let steps = StepRegistry::standard();
//! let ctx = StepContext::with_registry(Arc::new(SourceRegistry::new()));
//! let err = steps
//!     .execute("step.cdc_status", &ctx, "check-db", &json!({}))
//!     .await
//!     .unwrap_err();
//! assert_eq!(err.to_string(), r#"step.cdc_status "check-db": source_id is required"#);
//! assert!(steps.schemas()["step.cdc_backpressure"]["config"]["action"]["options"].is_array());
//! # }
//! ```

mod config;
mod context;
mod error;
mod registry;
mod schema;
mod step;
pub mod steps;

pub use context::StepContext;
pub use error::{StepError, StepErrorKind};
pub use registry::StepRegistry;
pub use schema::{ConfigField, FieldType, OutputField, StepSchema};
pub use step::Step;
