//! `step.cdc_monitor`: evaluate lag, raise alerts, throttle on critical lag.

use cdc_core::{BackpressureMonitor, Health, SourceState};
use serde::Deserialize;
use serde_json::{Value, json};

use super::common::{failed, impl_step, lookup};
use crate::config::{ThresholdFields, ThresholdMap, check_source_id, parse, thresholds_json};
use crate::context::StepContext;
use crate::error::StepErrorKind;
use crate::schema::{FieldType, StepSchema};

/// The tracing target alerts are logged under.
pub const ALERT_TARGET: &str = "cdc_steps::alert";

/// `step.cdc_monitor`: evaluates the source's lag (as `step.cdc_backpressure` `check`),
/// raises one alert on `warning` or `critical` (a `tracing` event on target
/// `cdc_steps::alert`, WARN or ERROR), and on `critical` pauses the source when
/// `auto_throttle` is on (the default, as Go) and its provider can pause.
///
/// Output: `source_id`, `status`, `healthy` (status is `healthy`), `lag_bytes`, `lag_seconds`
/// (null when unknown), `alerts_sent` (0 or 1), `alerts` (their messages), `auto_throttled`
/// (this run paused the source), `throttled` (the source is paused after the run),
/// `metrics` (`{state, provider, last_event, lag_bytes, lag_seconds, thresholds, details}`),
/// and `auto_throttle_error` only when throttling was wanted but could not be done.
#[derive(Clone, Copy, Debug, Default)]
pub struct MonitorStep;

#[derive(Deserialize)]
struct Config {
    #[serde(default)]
    source_id: String,
    #[serde(default)]
    thresholds: Option<ThresholdMap>,
    // Any whole JSON number (`1000000.0`, `1e6`): YAML and JSON writers differ.
    #[serde(default, deserialize_with = "cdc_core::number::option_i64")]
    threshold_lag_bytes: Option<i64>,
    #[serde(default, deserialize_with = "cdc_core::number::option_i64")]
    threshold_lag_seconds: Option<i64>,
    #[serde(default)]
    warning_multiplier: Option<f64>,
    #[serde(default)]
    auto_throttle: Option<bool>,
}

impl MonitorStep {
    fn describe() -> StepSchema {
        let schema = StepSchema::new(
            "Monitor CDC lag: alert on warning or critical, auto-throttle on critical.",
        )
        .field("source_id", FieldType::String, true, "The source, by id.")
        .field(
            "auto_throttle",
            FieldType::Boolean,
            false,
            "Pause the source on critical lag when its provider can pause.",
        )
        .default_value("auto_throttle", json!(true));
        ThresholdFields::describe(schema)
            .output("source_id", FieldType::String, "The source id.")
            .output("status", FieldType::String, "healthy, warning or critical.")
            .output("healthy", FieldType::Boolean, "Whether status is healthy.")
            .output(
                "lag_bytes",
                FieldType::Integer,
                "Lag in bytes, or null when the provider cannot measure it.",
            )
            .output(
                "lag_seconds",
                FieldType::Integer,
                "Lag in seconds, or null when the provider cannot measure it.",
            )
            .output(
                "alerts_sent",
                FieldType::Integer,
                "Alerts raised by this run (0 or 1).",
            )
            .output("alerts", FieldType::Array, "The messages of those alerts.")
            .output(
                "auto_throttled",
                FieldType::Boolean,
                "Whether this run paused the source.",
            )
            .output(
                "throttled",
                FieldType::Boolean,
                "Whether the source is paused after the run.",
            )
            .output(
                "metrics",
                FieldType::Object,
                "{state, provider, last_event, lag_bytes, lag_seconds, thresholds, details}.",
            )
            .output(
                "auto_throttle_error",
                FieldType::String,
                "Why the source could not be throttled (only when that happened).",
            )
    }

    fn prepare(
        config: &Value,
        per_event: &dyn Fn(&str) -> bool,
    ) -> Result<(String, BackpressureMonitor, bool), StepErrorKind> {
        let cfg: Config = parse(&Self::describe(), config)?;
        check_source_id(&cfg.source_id, per_event)?;
        let monitor = ThresholdFields {
            thresholds: cfg.thresholds,
            threshold_lag_bytes: cfg.threshold_lag_bytes,
            threshold_lag_seconds: cfg.threshold_lag_seconds,
            warning_multiplier: cfg.warning_multiplier,
        }
        .monitor()?;
        Ok((cfg.source_id, monitor, cfg.auto_throttle.unwrap_or(true)))
    }

    async fn run(&self, ctx: &StepContext, config: &Value) -> Result<Value, StepErrorKind> {
        let (source_id, monitor, auto_throttle) = Self::prepare(config, &|_| false)?;
        let source_id = source_id.as_str();

        let provider = lookup(ctx, source_id)?;
        let status = provider
            .status(source_id)
            .await
            .map_err(failed(source_id, "status"))?;
        let verdict = monitor.evaluate_status(&status);

        let mut alerts = Vec::new();
        if verdict.status != Health::Healthy {
            let message = format!(
                "source {source_id:?} lag is {}: {} bytes (threshold {}), {} s (threshold {})",
                verdict.status.as_str(),
                lag_text(status.lag_bytes),
                monitor.threshold_lag_bytes,
                lag_text(status.lag_seconds),
                monitor.threshold_lag_seconds,
            );
            if verdict.status == Health::Critical {
                tracing::error!(target: ALERT_TARGET, source_id, status = "critical", "{message}");
            } else {
                tracing::warn!(target: ALERT_TARGET, source_id, status = "warning", "{message}");
            }
            alerts.push(message);
        }

        let mut paused = status.state == SourceState::Paused;
        let mut auto_throttled = false;
        let mut throttle_error = None;
        if verdict.status == Health::Critical && auto_throttle && !paused {
            match provider.pausable() {
                None => {
                    throttle_error = Some(format!(
                        "provider {} cannot pause source {source_id:?}",
                        provider.name()
                    ));
                }
                Some(p) => match p.pause(source_id).await {
                    Ok(()) => {
                        auto_throttled = true;
                        paused = true;
                        tracing::warn!(target: ALERT_TARGET, source_id, "source auto-throttled on critical lag");
                    }
                    Err(e) => throttle_error = Some(format!("pause failed: {e}")),
                },
            }
        }

        let state = if auto_throttled {
            SourceState::Paused
        } else {
            status.state
        };
        let mut out = json!({
            "source_id": source_id,
            "status": verdict.status.as_str(),
            "healthy": verdict.status == Health::Healthy,
            "lag_bytes": status.lag_bytes,
            "lag_seconds": status.lag_seconds,
            "alerts_sent": alerts.len(),
            "alerts": alerts,
            "auto_throttled": auto_throttled,
            "throttled": paused,
            "metrics": {
                "state": state,
                "provider": status.provider,
                "last_event": status.last_event.map(|t| t.to_string()),
                "lag_bytes": status.lag_bytes,
                "lag_seconds": status.lag_seconds,
                "thresholds": thresholds_json(&monitor),
                "details": status.details,
            },
        });
        if let Some(e) = throttle_error {
            out["auto_throttle_error"] = Value::String(e);
        }
        Ok(out)
    }
}

fn lag_text(lag: Option<i64>) -> String {
    lag.map_or_else(|| "unknown".to_owned(), |v| v.to_string())
}

impl_step!(MonitorStep, "step.cdc_monitor");
