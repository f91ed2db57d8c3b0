//! `step.cdc_backpressure`: check lag against thresholds, throttle, resume.

use cdc_core::{BackpressureMonitor, CdcStatus, SourceState};
use serde::Deserialize;
use serde_json::{Value, json};

use super::common::{failed, impl_step, lookup};
use crate::config::{
    ThresholdFields, ThresholdMap, check_source_id, invalid, parse, shown, thresholds_json,
};
use crate::context::StepContext;
use crate::error::StepErrorKind;
use crate::schema::{FieldType, StepSchema};

const ACTIONS: &[&str] = &["check", "throttle", "resume"];

/// `step.cdc_backpressure`, with `action`:
/// - `check` (default): evaluates the source's lag against the thresholds;
/// - `throttle`: pauses the source (an error if its provider cannot pause);
/// - `resume`: resumes it (same).
///
/// Output (every action): `source_id`, `action` (`checked`, `throttled`, `resumed`),
/// `status` (`healthy`, `warning`, `critical`: the lag read before the action), `lag_bytes`
/// and `lag_seconds` (null when the provider cannot measure them; they then count as 0 for
/// `status`), `thresholds` (`{lag_bytes, lag_seconds, warning_multiplier}` in force),
/// `state` (after the action) and `throttled` (whether the source is paused after it).
/// `throttle` and `resume` add `previous_state`.
#[derive(Clone, Copy, Debug, Default)]
pub struct BackpressureStep;

#[derive(Deserialize)]
struct Config {
    #[serde(default)]
    source_id: String,
    #[serde(default)]
    action: Option<String>,
    #[serde(default)]
    thresholds: Option<ThresholdMap>,
    // Any whole JSON number (`1000000.0`, `1e6`): YAML and JSON writers differ.
    #[serde(default, deserialize_with = "cdc_core::number::option_i64")]
    threshold_lag_bytes: Option<i64>,
    #[serde(default, deserialize_with = "cdc_core::number::option_i64")]
    threshold_lag_seconds: Option<i64>,
    #[serde(default)]
    warning_multiplier: Option<f64>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Action {
    Check,
    Throttle,
    Resume,
}

impl BackpressureStep {
    fn describe() -> StepSchema {
        let schema = StepSchema::new(
            "Check CDC lag against thresholds; throttle (pause) or resume a source.",
        )
        .field("source_id", FieldType::String, true, "The source, by id.")
        .field_with_options("action", "What to do.", ACTIONS, "check");
        ThresholdFields::describe(schema)
            .output("source_id", FieldType::String, "The source id.")
            .output(
                "action",
                FieldType::String,
                "`checked`, `throttled` or `resumed`.",
            )
            .output(
                "status",
                FieldType::String,
                "healthy, warning or critical (lag before the action).",
            )
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
                "thresholds",
                FieldType::Object,
                "Thresholds in force: {lag_bytes, lag_seconds, warning_multiplier}.",
            )
            .output(
                "state",
                FieldType::String,
                "The source's state after the action.",
            )
            .output(
                "throttled",
                FieldType::Boolean,
                "Whether the source is paused after the action.",
            )
            .output(
                "previous_state",
                FieldType::String,
                "The state before throttle / resume (only for those actions).",
            )
    }

    fn prepare(
        config: &Value,
        per_event: &dyn Fn(&str) -> bool,
    ) -> Result<(String, Action, BackpressureMonitor), StepErrorKind> {
        let cfg: Config = parse(&Self::describe(), config)?;
        check_source_id(&cfg.source_id, per_event)?;
        let action = match cfg.action.as_deref().map(|a| a.trim().to_ascii_lowercase()) {
            None => Action::Check,
            Some(a) if a == "check" => Action::Check,
            Some(a) if a == "throttle" => Action::Throttle,
            Some(a) if a == "resume" => Action::Resume,
            Some(_) => {
                return Err(invalid(
                    "action",
                    format!(
                        "must be one of {}; got {}",
                        ACTIONS.join(", "),
                        shown(&cfg.action.unwrap_or_default())
                    ),
                ));
            }
        };
        let monitor = ThresholdFields {
            thresholds: cfg.thresholds,
            threshold_lag_bytes: cfg.threshold_lag_bytes,
            threshold_lag_seconds: cfg.threshold_lag_seconds,
            warning_multiplier: cfg.warning_multiplier,
        }
        .monitor()?;
        Ok((cfg.source_id, action, monitor))
    }

    async fn run(&self, ctx: &StepContext, config: &Value) -> Result<Value, StepErrorKind> {
        let (source_id, action, monitor) = Self::prepare(config, &|_| false)?;
        let source_id = source_id.as_str();
        let provider = lookup(ctx, source_id)?;
        let before = provider
            .status(source_id)
            .await
            .map_err(failed(source_id, "status"))?;
        let verdict = monitor.evaluate_status(&before);

        let (done, after) = match action {
            Action::Check => ("checked", before.clone()),
            Action::Throttle | Action::Resume => {
                let (done, operation) = if action == Action::Throttle {
                    ("throttled", "throttle")
                } else {
                    ("resumed", "resume")
                };
                let pausable = provider
                    .pausable()
                    .ok_or_else(|| StepErrorKind::NotPausable {
                        source_id: source_id.to_owned(),
                        provider: provider.name().to_owned(),
                        operation: done,
                    })?;
                if action == Action::Throttle {
                    pausable.pause(source_id).await
                } else {
                    pausable.resume(source_id).await
                }
                .map_err(failed(source_id, operation))?;
                tracing::info!(
                    source_id,
                    provider = provider.name(),
                    "step.cdc_backpressure: source {done}"
                );
                let after = provider
                    .status(source_id)
                    .await
                    .map_err(failed(source_id, "status"))?;
                (done, after)
            }
        };

        let mut out = json!({
            "source_id": source_id,
            "action": done,
            "status": verdict.status.as_str(),
            "lag_bytes": before.lag_bytes,
            "lag_seconds": before.lag_seconds,
            "thresholds": thresholds_json(&monitor),
            "state": after.state,
            "throttled": is_paused(&after),
        });
        if action != Action::Check {
            out["previous_state"] = json!(before.state);
        }
        Ok(out)
    }
}

fn is_paused(status: &CdcStatus) -> bool {
    status.state == SourceState::Paused
}

impl_step!(BackpressureStep, "step.cdc_backpressure");
