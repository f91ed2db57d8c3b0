//! Typed config of a DMS source: [`DmsOptions`] (what a user writes under `options`) and
//! [`DmsSource`] (the checked result that `connect` runs on).
//!
//! ```yaml
//! provider: dms
//! source_id: orders
//! tables: [public.orders, public.customers]
//! options:
//!   source_endpoint_arn: arn:aws:dms:eu-west-1:123456789012:endpoint:SRC
//!   target_endpoint_arn: arn:aws:dms:eu-west-1:123456789012:endpoint:TGT
//!   replication_instance_arn: arn:aws:dms:eu-west-1:123456789012:rep:INST
//!   migration_type: full-load-and-cdc
//!   region: eu-west-1
//! ```

mod build;
mod identifier;
mod mappings;

use std::collections::BTreeMap;
use std::time::Duration;

use cdc_core::TableRef;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;

pub use build::{
    MAX_ATTEMPTS, MAX_INTERVAL_MS, MAX_REQUEST_TIMEOUT_MS, MAX_TIMEOUT_SECS, MIN_REQUEST_TIMEOUT_MS,
};
pub use identifier::{MAX_TASK_IDENTIFIER_LEN, is_valid_identifier, task_identifier};
pub use mappings::{check_table_name, table_mappings};

use crate::api::{CreateTaskRequest, MigrationType};

/// Default of `ready_timeout_secs`: DMS takes about a minute to make a task `ready`.
pub const DEFAULT_READY_TIMEOUT_SECS: u64 = 600;
/// Default of `stop_timeout_secs`.
pub const DEFAULT_STOP_TIMEOUT_SECS: u64 = 600;
/// Default of `request_timeout_ms`: DMS, Kinesis and CloudWatch answer in well under a second,
/// so 30 s only ends calls to an endpoint that stopped answering.
pub const DEFAULT_REQUEST_TIMEOUT_MS: u64 = 30_000;
/// Default of `poll_interval_ms` (the SDK's own waiters poll every 15 s).
pub const DEFAULT_POLL_INTERVAL_MS: u64 = 5_000;
/// Default of `kinesis_poll_interval_ms`: Kinesis allows 5 `GetRecords` a second per shard.
pub const DEFAULT_KINESIS_POLL_INTERVAL_MS: u64 = 1_000;
/// Default of `kinesis_retry_backoff_ms`: pause before delivering again after a handler failed.
pub const DEFAULT_KINESIS_RETRY_BACKOFF_MS: u64 = 1_000;
/// Default of `kinesis_max_records` (the Kinesis maximum is 10 000).
pub const DEFAULT_KINESIS_MAX_RECORDS: i32 = 1_000;

/// The `options` of a DMS source, as written in YAML or JSON. Unknown keys are rejected.
/// `Debug` masks secrets by [`cdc_core::secret::mask_json`] (URL userinfo, secret keys).
#[derive(Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DmsOptions {
    /// ARN of the DMS source endpoint (required).
    #[serde(default)]
    pub source_endpoint_arn: Option<String>,
    /// ARN of the DMS target endpoint (required).
    #[serde(default)]
    pub target_endpoint_arn: Option<String>,
    /// ARN of the replication instance (required).
    #[serde(default)]
    pub replication_instance_arn: Option<String>,
    /// `cdc` (default), `full-load` or `full-load-and-cdc`.
    #[serde(default)]
    pub migration_type: Option<MigrationType>,
    /// AWS region; the `aws-config` default chain's when absent.
    #[serde(default)]
    pub region: Option<String>,
    /// Endpoint URL for DMS (and Kinesis): an emulator, a VPC endpoint. No userinfo.
    #[serde(default, serialize_with = "cdc_core::secret::masked::option_url")]
    pub endpoint_url: Option<String>,
    /// Most attempts per AWS call, the first included (SDK standard retries); the SDK default
    /// (3) when absent; 1 turns retries off.
    #[serde(default)]
    pub max_attempts: Option<u32>,
    /// How long one attempt of an AWS call (DMS, Kinesis, CloudWatch) may take before it fails
    /// as a transport error and is retried (`max_attempts`); 100–600000 (default 30000).
    #[serde(default)]
    pub request_timeout_ms: Option<u64>,
    /// `ReplicationTaskSettings`: a JSON object, or a string holding one.
    #[serde(default, serialize_with = "cdc_core::secret::masked::option_json")]
    pub task_settings: Option<Value>,
    /// `CdcStartPosition` (a checkpoint such as a task's `recovery_checkpoint`, an LSN, ...).
    #[serde(default)]
    pub cdc_start_position: Option<String>,
    /// `CdcStartTime`, RFC 3339.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub cdc_start_time: Option<OffsetDateTime>,
    /// How long `connect` waits for a new task to become `ready` (default 600).
    #[serde(default)]
    pub ready_timeout_secs: Option<u64>,
    /// How long stopping a task may take (disconnect, pause, snapshot; default 600).
    #[serde(default)]
    pub stop_timeout_secs: Option<u64>,
    /// How often task status is polled while waiting (default 5000).
    #[serde(default)]
    pub poll_interval_ms: Option<u64>,
    /// ARN of the task's Kinesis target stream, to deliver its records as events (needs the
    /// `kinesis` feature).
    #[serde(default)]
    pub kinesis_stream_arn: Option<String>,
    /// Where to start reading shards without a checkpoint: `TRIM_HORIZON` (default) or `LATEST`.
    #[serde(default)]
    pub kinesis_start_position: Option<StartingPosition>,
    /// Checkpoints to resume from, shard id → sequence number of the last handled record.
    #[serde(default)]
    pub kinesis_checkpoints: Option<BTreeMap<String, String>>,
    /// Pause between `GetRecords` calls on a shard with nothing new (default 1000).
    #[serde(default)]
    pub kinesis_poll_interval_ms: Option<u64>,
    /// Pause before delivering again after a handler failed (default 1000).
    #[serde(default)]
    pub kinesis_retry_backoff_ms: Option<u64>,
    /// Records per `GetRecords` call, 1–10000 (default 1000).
    #[serde(default)]
    pub kinesis_max_records: Option<i32>,
    /// Report `lag_seconds` from the CloudWatch metric `CDCLatencySource` (needs the
    /// `cloudwatch` feature and `cloudwatch:ListMetrics` / `cloudwatch:GetMetricStatistics`).
    #[serde(default)]
    pub cloudwatch_lag: Option<bool>,
}

/// Where a shard without a checkpoint is read from.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum StartingPosition {
    /// The oldest record kept by the stream.
    #[default]
    #[serde(rename = "TRIM_HORIZON", alias = "trim_horizon")]
    TrimHorizon,
    /// Only records written after the consumer started.
    #[serde(rename = "LATEST", alias = "latest")]
    Latest,
}

/// AWS client settings of a source. `Debug` redacts the endpoint URL.
#[derive(Clone, PartialEq, Eq)]
pub struct AwsSettings {
    /// Region override.
    pub region: Option<String>,
    /// Endpoint URL override.
    pub endpoint_url: Option<String>,
    /// Most attempts per call.
    pub max_attempts: Option<u32>,
    /// Longest time one attempt of a call may take (`options.request_timeout_ms`); also caps
    /// the connect timeout. See [`crate::aws`].
    pub request_timeout: Duration,
}

impl Default for AwsSettings {
    /// No overrides, and the default request timeout: never a zero timeout, which would fail
    /// every call at once.
    fn default() -> Self {
        Self {
            region: None,
            endpoint_url: None,
            max_attempts: None,
            request_timeout: Duration::from_millis(DEFAULT_REQUEST_TIMEOUT_MS),
        }
    }
}

cdc_core::impl_masked_debug!(DmsOptions);

impl std::fmt::Debug for AwsSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AwsSettings")
            .field("region", &self.region)
            .field(
                "endpoint_url",
                &self.endpoint_url.as_deref().map(cdc_core::secret::redact),
            )
            .field("max_attempts", &self.max_attempts)
            .field("request_timeout", &self.request_timeout)
            .finish()
    }
}

/// How long to wait for task states, and how often to look.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WaitSettings {
    /// Until a created task is `ready`.
    pub ready_timeout: Duration,
    /// Until a stopping task is `stopped`.
    pub stop_timeout: Duration,
    /// Between two describes.
    pub poll_interval: Duration,
}

/// The Kinesis target consumer of a source.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KinesisSettings {
    /// The stream ARN.
    pub stream_arn: String,
    /// Where shards without a checkpoint start.
    pub start: StartingPosition,
    /// Checkpoints to resume from (shard id → sequence number).
    pub checkpoints: BTreeMap<String, String>,
    /// Pause between polls of an idle shard.
    pub poll_interval: Duration,
    /// Pause before delivering again after a handler failure.
    pub retry_backoff: Duration,
    /// Records per `GetRecords`.
    pub max_records: i32,
}

/// A checked DMS source: everything `connect` needs.
#[derive(Clone, Debug, PartialEq)]
pub struct DmsSource {
    /// The source id.
    pub source_id: String,
    /// The configured tables.
    pub tables: Vec<TableRef>,
    /// The `CreateReplicationTask` request (identifier derived from `source_id`).
    pub create: CreateTaskRequest,
    /// AWS client settings.
    pub aws: AwsSettings,
    /// Waiting.
    pub waits: WaitSettings,
    /// The Kinesis consumer, when `kinesis_stream_arn` is set.
    pub kinesis: Option<KinesisSettings>,
    /// Whether lag is read from CloudWatch.
    pub cloudwatch_lag: bool,
}
