//! The seven CDC steps, one file each.

mod backpressure;
mod common;
mod monitor;
mod schema_history;
mod snapshot;
mod start;
mod status;
mod stop;

pub use backpressure::BackpressureStep;
pub use monitor::{ALERT_TARGET, MonitorStep};
pub use schema_history::SchemaHistoryStep;
pub use snapshot::SnapshotStep;
pub use start::StartStep;
pub use status::StatusStep;
pub use stop::StopStep;
