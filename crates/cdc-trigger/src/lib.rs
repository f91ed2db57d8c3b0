//! # cdc-trigger
//!
//! `trigger.cdc` of the Go package, for Rust: a [`CdcTrigger`] subscribes to a source
//! registered in a [`cdc_core::SourceRegistry`] and calls a [`TriggerCallback`] with the action
//! name [`CDC_CHANGE_ACTION`] (`cdc.change`) and each change event that passes its filter.
//!
//! ```no_run
//! use std::sync::Arc;
//! use cdc_core::{SharedEvent, SourceRegistry};
//! use cdc_trigger::{CdcTrigger, TriggerConfig, callback_fn};
//!
//! # fn demo(registry: Arc<SourceRegistry>) -> Result<(), cdc_trigger::TriggerError> {
//! let config = TriggerConfig::from_yaml(
//!     "source_id: orders-db\ntables: [public.orders]\nactions: [insert, u]\n",
//! )?;
//! let trigger = CdcTrigger::new(
//!     config,
//!     registry,
//!     callback_fn(|action: &'static str, event: SharedEvent| async move {
//!         println!("{action}: {} {}", event.action(), event.qualified_table());
//!         Ok(())
//!     }),
//! )?;
//! trigger.start()?;
//! // ... later
//! trigger.stop();
//! # Ok(()) }
//! ```
//!
//! Filtering reads only typed metadata (`operation`, `schema`, `table`) against tables and
//! actions parsed once at construction: no row data is touched and nothing is allocated per
//! event. Several triggers on one source each receive every event (each has its own
//! subscription).

mod callback;
mod config;
mod error;
mod filter;
mod trigger;

pub use callback::{CDC_CHANGE_ACTION, FnCallback, TriggerCallback, callback_fn};
pub use config::TriggerConfig;
pub use error::TriggerError;
pub use filter::{ActionSet, EventFilter, VALID_ACTIONS};
pub use trigger::CdcTrigger;
