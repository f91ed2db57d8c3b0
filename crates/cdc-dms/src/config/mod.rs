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

mod identifier;
mod mappings;

use std::collections::BTreeMap;
use std::time::Duration;

use cdc_core::{SourceConfig, TableRef};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;

pub use identifier::{MAX_TASK_IDENTIFIER_LEN, is_valid_identifier, task_identifier};
pub use mappings::table_mappings;

use crate::api::{CreateTaskRequest, MigrationType};
use crate::error::DmsError;

/// Default of `ready_timeout_secs`: DMS takes about a minute to make a task `ready`.
pub const DEFAULT_READY_TIMEOUT_SECS: u64 = 600;
/// Default of `stop_timeout_secs`.
pub const DEFAULT_STOP_TIMEOUT_SECS: u64 = 600;
/// Default of `poll_interval_ms` (the SDK's own waiters poll every 15 s).
pub const DEFAULT_POLL_INTERVAL_MS: u64 = 5_000;
/// Default of `kinesis_poll_interval_ms`: Kinesis allows 5 `GetRecords` a second per shard.
pub const DEFAULT_KINESIS_POLL_INTERVAL_MS: u64 = 1_000;
/// Default of `kinesis_retry_backoff_ms`: pause before delivering again after a handler failed.
pub const DEFAULT_KINESIS_RETRY_BACKOFF_MS: u64 = 1_000;
/// Default of `kinesis_max_records` (the Kinesis maximum is 10 000).
pub const DEFAULT_KINESIS_MAX_RECORDS: i32 = 1_000;

/// The `options` of a DMS source, as written in YAML or JSON. Unknown keys are rejected.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
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
    /// Endpoint URL for DMS (and Kinesis): an emulator, a VPC endpoint.
    #[serde(default)]
    pub endpoint_url: Option<String>,
    /// Most attempts per AWS call, the first included (SDK standard retries); the SDK default
    /// (3) when absent; 1 turns retries off.
    #[serde(default)]
    pub max_attempts: Option<u32>,
    /// `ReplicationTaskSettings`: a JSON object, or a string holding one.
    #[serde(default)]
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

/// AWS client settings of a source.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AwsSettings {
    /// Region override.
    pub region: Option<String>,
    /// Endpoint URL override.
    pub endpoint_url: Option<String>,
    /// Most attempts per call.
    pub max_attempts: Option<u32>,
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

impl DmsOptions {
    /// Reads the options of `config`; an error names the offending option.
    pub fn from_source(config: &SourceConfig) -> Result<Self, DmsError> {
        let value = Value::Object(config.options.clone());
        serde_path_to_error::deserialize(value).map_err(|e| {
            let path = e.path().to_string();
            let field = if path == "." || path.is_empty() {
                "options".to_owned()
            } else {
                format!("options.{path}")
            };
            DmsError::config(&config.source_id, field, e.into_inner().to_string())
        })
    }
}

impl DmsSource {
    /// Checks `config` and builds the source: required ARNs, migration type, start position,
    /// task settings, table names, task identifier, waits and the Kinesis consumer.
    pub fn from_config(config: &SourceConfig) -> Result<Self, DmsError> {
        let source_id = config.source_id.as_str();
        config.validate().map_err(|e| match e {
            cdc_core::CdcError::InvalidConfig { field, message } => {
                DmsError::config(source_id, field, message)
            }
            other => DmsError::config(source_id, "source", other.to_string()),
        })?;
        let opts = DmsOptions::from_source(config)?;
        let err = |field: &str, message: String| DmsError::config(source_id, field, message);

        let required =
            |value: &Option<String>, field: &str, what: &str| match value.as_deref().map(str::trim)
            {
                None | Some("") => Err(err(
                    &format!("options.{field}"),
                    format!("is required: the ARN of {what}"),
                )),
                Some(arn) if !arn.starts_with("arn:") => Err(err(
                    &format!("options.{field}"),
                    format!("{arn:?} is not an ARN (arn:partition:dms:region:account:...)"),
                )),
                Some(arn) => Ok(arn.to_owned()),
            };
        let source_endpoint_arn = required(
            &opts.source_endpoint_arn,
            "source_endpoint_arn",
            "the DMS source endpoint",
        )?;
        let target_endpoint_arn = required(
            &opts.target_endpoint_arn,
            "target_endpoint_arn",
            "the DMS target endpoint",
        )?;
        let replication_instance_arn = required(
            &opts.replication_instance_arn,
            "replication_instance_arn",
            "the DMS replication instance",
        )?;

        if opts.cdc_start_position.is_some() && opts.cdc_start_time.is_some() {
            return Err(err(
                "options.cdc_start_position",
                "cdc_start_position and cdc_start_time are exclusive; give one".into(),
            ));
        }
        if let Some("") = opts.cdc_start_position.as_deref().map(str::trim) {
            return Err(err("options.cdc_start_position", "is empty".into()));
        }
        let migration_type = opts.migration_type.unwrap_or_default();
        if migration_type == MigrationType::FullLoad
            && (opts.cdc_start_position.is_some() || opts.cdc_start_time.is_some())
        {
            return Err(err(
                "options.migration_type",
                "full-load has no CDC phase: cdc_start_position / cdc_start_time need cdc or full-load-and-cdc".into(),
            ));
        }

        let task_settings = match &opts.task_settings {
            None => None,
            Some(Value::Object(map)) => Some(Value::Object(map.clone()).to_string()),
            Some(Value::String(text)) => match serde_json::from_str::<Value>(text) {
                Ok(Value::Object(_)) => Some(text.clone()),
                Ok(_) => {
                    return Err(err("options.task_settings", "must be a JSON object".into()));
                }
                Err(e) => {
                    return Err(err(
                        "options.task_settings",
                        format!("is not valid JSON: {e}"),
                    ));
                }
            },
            Some(_) => {
                return Err(err(
                    "options.task_settings",
                    "must be a JSON object (or a string holding one)".into(),
                ));
            }
        };

        let region = match opts.region.as_deref().map(str::trim) {
            Some("") => return Err(err("options.region", "is empty".into())),
            other => other.map(str::to_owned),
        };
        let endpoint_url = match opts.endpoint_url.as_deref().map(str::trim) {
            Some(url) if !(url.starts_with("http://") || url.starts_with("https://")) => {
                return Err(err(
                    "options.endpoint_url",
                    format!("{url:?} is not an http(s) URL"),
                ));
            }
            other => other.map(str::to_owned),
        };
        if opts.max_attempts == Some(0) {
            return Err(err(
                "options.max_attempts",
                "must be at least 1 (1 turns retries off)".into(),
            ));
        }

        let positive = |v: Option<u64>, default: u64, field: &str| match v {
            Some(0) => Err(err(&format!("options.{field}"), "must be positive".into())),
            Some(v) => Ok(v),
            None => Ok(default),
        };
        let waits = WaitSettings {
            ready_timeout: Duration::from_secs(positive(
                opts.ready_timeout_secs,
                DEFAULT_READY_TIMEOUT_SECS,
                "ready_timeout_secs",
            )?),
            stop_timeout: Duration::from_secs(positive(
                opts.stop_timeout_secs,
                DEFAULT_STOP_TIMEOUT_SECS,
                "stop_timeout_secs",
            )?),
            poll_interval: Duration::from_millis(positive(
                opts.poll_interval_ms,
                DEFAULT_POLL_INTERVAL_MS,
                "poll_interval_ms",
            )?),
        };

        let kinesis = match opts.kinesis_stream_arn.as_deref().map(str::trim) {
            None => {
                let stray = [
                    (
                        "kinesis_start_position",
                        opts.kinesis_start_position.is_some(),
                    ),
                    ("kinesis_checkpoints", opts.kinesis_checkpoints.is_some()),
                    (
                        "kinesis_poll_interval_ms",
                        opts.kinesis_poll_interval_ms.is_some(),
                    ),
                    (
                        "kinesis_retry_backoff_ms",
                        opts.kinesis_retry_backoff_ms.is_some(),
                    ),
                    ("kinesis_max_records", opts.kinesis_max_records.is_some()),
                ];
                if let Some((name, _)) = stray.iter().find(|(_, set)| *set) {
                    return Err(err(
                        &format!("options.{name}"),
                        "is set but kinesis_stream_arn is not".into(),
                    ));
                }
                None
            }
            Some(arn) if !arn.starts_with("arn:") => {
                return Err(err(
                    "options.kinesis_stream_arn",
                    format!("{arn:?} is not an ARN (arn:aws:kinesis:region:account:stream/name)"),
                ));
            }
            Some(arn) => {
                if !cfg!(feature = "kinesis") {
                    return Err(err(
                        "options.kinesis_stream_arn",
                        "needs the `kinesis` feature of cdc-dms (the `dms-kinesis` feature of cdc)"
                            .into(),
                    ));
                }
                let max_records = opts
                    .kinesis_max_records
                    .unwrap_or(DEFAULT_KINESIS_MAX_RECORDS);
                if !(1..=10_000).contains(&max_records) {
                    return Err(err(
                        "options.kinesis_max_records",
                        format!("{max_records} is outside 1..=10000"),
                    ));
                }
                Some(KinesisSettings {
                    stream_arn: arn.to_owned(),
                    start: opts.kinesis_start_position.unwrap_or_default(),
                    checkpoints: opts.kinesis_checkpoints.clone().unwrap_or_default(),
                    poll_interval: Duration::from_millis(positive(
                        opts.kinesis_poll_interval_ms,
                        DEFAULT_KINESIS_POLL_INTERVAL_MS,
                        "kinesis_poll_interval_ms",
                    )?),
                    retry_backoff: Duration::from_millis(positive(
                        opts.kinesis_retry_backoff_ms,
                        DEFAULT_KINESIS_RETRY_BACKOFF_MS,
                        "kinesis_retry_backoff_ms",
                    )?),
                    max_records,
                })
            }
        };

        let cloudwatch_lag = opts.cloudwatch_lag.unwrap_or(false);
        if cloudwatch_lag && !cfg!(feature = "cloudwatch") {
            return Err(err(
                "options.cloudwatch_lag",
                "needs the `cloudwatch` feature of cdc-dms (the `dms-cloudwatch` feature of cdc)"
                    .into(),
            ));
        }

        let tables = config.table_refs().map_err(|e| match e {
            cdc_core::CdcError::InvalidConfig { field, message } => {
                DmsError::config(source_id, field, message)
            }
            other => DmsError::config(source_id, "tables", other.to_string()),
        })?;
        let identifier = task_identifier(source_id).map_err(|m| err("source_id", m))?;

        Ok(Self {
            source_id: source_id.to_owned(),
            create: CreateTaskRequest {
                identifier,
                source_endpoint_arn,
                target_endpoint_arn,
                replication_instance_arn,
                migration_type,
                table_mappings: table_mappings(&tables),
                task_settings,
                cdc_start_position: opts.cdc_start_position.clone(),
                cdc_start_time: opts.cdc_start_time,
            },
            tables,
            aws: AwsSettings {
                region,
                endpoint_url,
                max_attempts: opts.max_attempts,
            },
            waits,
            kinesis,
            cloudwatch_lag,
        })
    }
}
