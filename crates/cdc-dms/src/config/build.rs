//! [`DmsSource::from_config`]: checking a source config and building what `connect` runs on.

use std::time::Duration;

use cdc_core::SourceConfig;
use serde_json::Value;

use super::{
    AwsSettings, DEFAULT_KINESIS_MAX_RECORDS, DEFAULT_KINESIS_POLL_INTERVAL_MS,
    DEFAULT_KINESIS_RETRY_BACKOFF_MS, DEFAULT_POLL_INTERVAL_MS, DEFAULT_READY_TIMEOUT_SECS,
    DEFAULT_REQUEST_TIMEOUT_MS, DEFAULT_STOP_TIMEOUT_SECS, DmsOptions, DmsSource, KinesisSettings,
    WaitSettings, check_table_name, table_mappings, task_identifier,
};
use crate::api::{CreateTaskRequest, MigrationType};
use crate::error::DmsError;

/// Largest `ready_timeout_secs` / `stop_timeout_secs`: a day.
pub const MAX_TIMEOUT_SECS: u64 = 86_400;
/// Largest `poll_interval_ms`, `kinesis_poll_interval_ms`, `kinesis_retry_backoff_ms`: an hour.
pub const MAX_INTERVAL_MS: u64 = 3_600_000;
/// Largest `max_attempts`.
pub const MAX_ATTEMPTS: u32 = 100;
/// Smallest `request_timeout_ms`: below this, ordinary network latency alone would fail calls.
pub const MIN_REQUEST_TIMEOUT_MS: u64 = 100;
/// Largest `request_timeout_ms`: ten minutes; no DMS, Kinesis or CloudWatch call we make takes
/// longer, and a stuck call is reported within that.
pub const MAX_REQUEST_TIMEOUT_MS: u64 = 600_000;

/// Whether an `http(s)://` URL has userinfo (an `@` before the path).
fn has_userinfo(url: &str) -> bool {
    // Any `@` counts: a password may hold `/`, so the authority cannot be trusted to end at
    // the first one, and an endpoint URL has no use for an `@` elsewhere.
    url.split_once("://").map_or(url, |(_, r)| r).contains('@')
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
            // Never the value given: it may be a secret typed into the wrong field.
            let message = cdc_core::secret::scrub_serde_message(&e.into_inner().to_string());
            DmsError::config(&config.source_id, field, message)
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
                    format!("{:?} is not an http(s) URL", cdc_core::secret::redact(url)),
                ));
            }
            // AWS signs requests with the credential chain and never uses URL userinfo; a URL
            // holding one would only carry a password into the SDK's logs.
            Some(url) if has_userinfo(url) => {
                return Err(err(
                    "options.endpoint_url",
                    "must not hold user:password@: AWS requests are signed with the credential \
                     chain (environment, profile, SSO, IMDS), never with URL userinfo"
                        .into(),
                ));
            }
            other => other.map(str::to_owned),
        };
        if let Some(n) = opts.max_attempts
            && !(1..=MAX_ATTEMPTS).contains(&n)
        {
            return Err(err(
                "options.max_attempts",
                format!("{n} is outside 1..={MAX_ATTEMPTS} (1 turns retries off)"),
            ));
        }

        let request_timeout_ms = opts
            .request_timeout_ms
            .unwrap_or(DEFAULT_REQUEST_TIMEOUT_MS);
        if !(MIN_REQUEST_TIMEOUT_MS..=MAX_REQUEST_TIMEOUT_MS).contains(&request_timeout_ms) {
            return Err(err(
                "options.request_timeout_ms",
                format!(
                    "{request_timeout_ms} is outside \
                     {MIN_REQUEST_TIMEOUT_MS}..={MAX_REQUEST_TIMEOUT_MS}"
                ),
            ));
        }

        // Every duration has a range: a huge one would overflow a deadline.
        let positive = |v: Option<u64>, default: u64, field: &str| {
            let max = if field.ends_with("_secs") {
                MAX_TIMEOUT_SECS
            } else {
                MAX_INTERVAL_MS
            };
            match v {
                Some(v) if !(1..=max).contains(&v) => Err(err(
                    &format!("options.{field}"),
                    format!("{v} is outside 1..={max}"),
                )),
                Some(v) => Ok(v),
                None => Ok(default),
            }
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
        for (i, t) in tables.iter().enumerate() {
            check_table_name(t).map_err(|m| err(&format!("tables[{i}]"), m))?;
        }
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
                request_timeout: Duration::from_millis(request_timeout_ms),
            },
            waits,
            kinesis,
            cloudwatch_lag,
        })
    }
}
