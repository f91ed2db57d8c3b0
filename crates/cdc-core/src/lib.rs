//! # cdc-core
//!
//! The core of cdc-rs: the provider traits and every type that crosses a crate boundary.
//! It knows no backend. Provider crates (`cdc-memory`, `cdc-debezium`, `cdc-dms`, `cdc-bento`)
//! implement [`CdcProvider`]; `cdc-trigger` and `cdc-steps` consume it; the facade crate `cdc`
//! re-exports everything behind features.
//!
//! The main pieces:
//! - [`SourceConfig`]: what a source is (Go's `SourceConfig`), read from YAML or JSON and validated.
//! - [`ChangeEvent`]: one typed row change (or control event) for every provider.
//! - [`CdcProvider`] and [`Pausable`]: the async provider traits, used as `Arc<dyn CdcProvider>`.
//! - [`Subscribers`] / [`Subscription`] / [`EventHandler`]: fan-out of event batches to several
//!   handlers per source, in order, with a documented failure policy.
//! - [`SourceRegistry`], [`SourceModule`], [`ProviderFactory`]: wiring sources by id.
//! - [`BackpressureMonitor`]: lag thresholds (healthy / warning / critical).

pub mod backpressure;
pub mod config;
pub mod dispatch;
pub mod error;
pub mod event;
pub mod factory;
pub mod module;
pub mod number;
pub mod provider;
pub mod registry;
pub mod secret;
pub mod status;
pub mod yaml;

pub use backpressure::{BackpressureMonitor, BackpressureStatus, Health};
pub use config::{ConfigError, SourceConfig, TableRef};
pub use dispatch::{
    DeliveryFailure, EventHandler, HandlerError, SharedEvent, Subscribers, Subscription, handler_fn,
};
pub use error::{CdcError, Result};
pub use event::{ChangeEvent, EventParseError, Metadata, Name, Operation, Position, Row};
pub use factory::{KNOWN_PROVIDERS, ProviderFactory};
pub use module::SourceModule;
pub use provider::{CdcProvider, Pausable, SnapshotReport};
pub use registry::SourceRegistry;
pub use secret::{Secret, SecretString};
pub use status::{CdcStatus, SchemaVersion, SourceState};
