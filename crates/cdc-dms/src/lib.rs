//! # cdc-dms
//!
//! AWS Database Migration Service (DMS) as a cdc-rs provider.
//!
//! - [`DmsProvider`]: replication tasks as sources ([`cdc_core::CdcProvider`] and
//!   [`cdc_core::Pausable`]): create, wait until ready, start, status with all twelve DMS task
//!   statuses, pause/resume, snapshot (reload-target or `ReloadTables`), DDL counts, delete.
//! - [`DmsApi`]: the DMS calls the provider makes, with [`SdkDmsApi`] over
//!   `aws-sdk-databasemigration` and `MockDmsApi` (feature `mock`), a `mockall` double.
//! - [`DmsOptions`] / [`DmsSource`]: the typed config read from a source's `options`.
//! - [`record::DmsRecordDecoder`]: DMS's Kinesis/Kafka target records → `ChangeEvent`s.
//! - feature `kinesis`: reading the task's Kinesis target stream and delivering its records to
//!   subscribers, in order per shard, checkpointing only what every handler handled.
//!
//! - feature `cloudwatch` with option `cloudwatch_lag: true`: `lag_seconds` from the CloudWatch
//!   metric `CDCLatencySource`. Without it lag is unknown and `lag_seconds` stays `None` (DMS has
//!   no API for it besides CloudWatch), never a made-up zero.
//!
//! ```no_run
//! # async fn demo() -> cdc_core::Result<()> {
//! use cdc_core::{CdcProvider, SourceConfig};
//! let provider = cdc_dms::DmsProvider::new(); // credentials from the aws-config default chain
//! let config = SourceConfig::from_yaml(r#"
//! provider: dms
//! source_id: orders
//! tables: [public.orders]
//! options:
//!   source_endpoint_arn: arn:aws:dms:eu-west-1:123456789012:endpoint:SRC
//!   target_endpoint_arn: arn:aws:dms:eu-west-1:123456789012:endpoint:TGT
//!   replication_instance_arn: arn:aws:dms:eu-west-1:123456789012:rep:INST
//!   region: eu-west-1
//! "#)?;
//! provider.connect(&config).await?;
//! println!("{:?}", provider.status("orders").await?.state);
//! # Ok(()) }
//! ```

pub mod api;
pub mod aws;
pub mod config;
mod delivery;
pub mod error;
#[cfg(feature = "kinesis")]
mod kinesis;
#[cfg(feature = "cloudwatch")]
pub mod lag;
pub mod provider;
pub mod record;
pub mod status;

#[cfg(any(test, feature = "mock"))]
pub use api::MockDmsApi;
pub use api::{ApiError, ApiErrorKind, DmsApi, SdkDmsApi};
pub use config::{DmsOptions, DmsSource};
pub use error::{DmsError, PROVIDER};
pub use provider::DmsProvider;
pub use record::{DmsRecordDecoder, RecordError};
