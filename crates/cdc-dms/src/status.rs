//! DMS task status → [`CdcStatus`].
//!
//! All twelve statuses DMS reports are mapped (the Go provider knew four):
//!
//! | DMS | state |
//! |---|---|
//! | `creating` | `creating` |
//! | `ready` | `ready` |
//! | `starting` | `starting` |
//! | `running` | `running`, or `snapshot` while tables are being loaded or queued |
//! | `stopping` | `stopping` |
//! | `stopped` | `paused` when this provider paused it, `error` when the stop reason is an error, else `stopped` |
//! | `failed`, `failed-move` | `error` |
//! | `deleting` | `deleting` |
//! | `modifying`, `moving`, `testing` | `modifying` |
//! | anything else | `unknown` (the raw status is in `details.dms_status`) |

use cdc_core::{CdcStatus, SourceState};
use serde_json::{Value, json};

use crate::api::ReplicationTask;
use crate::error::PROVIDER;

/// The state for a DMS status. `paused` says whether this provider stopped the task on a
/// pause request.
pub fn map_state(dms_status: &str, stop_reason: Option<&str>, paused: bool) -> SourceState {
    match dms_status {
        "creating" => SourceState::Creating,
        "ready" => SourceState::Ready,
        "starting" => SourceState::Starting,
        "running" => SourceState::Running,
        "stopping" => SourceState::Stopping,
        "stopped" if stop_reason.is_some_and(is_error_stop_reason) => SourceState::Error,
        "stopped" if paused => SourceState::Paused,
        "stopped" => SourceState::Stopped,
        "failed" | "failed-move" => SourceState::Error,
        "deleting" => SourceState::Deleting,
        "modifying" | "moving" | "testing" => SourceState::Modifying,
        _ => SourceState::Unknown,
    }
}

/// Whether a `StopReason` says the task stopped on an error (`RECOVERABLE_ERROR`,
/// `FATAL_ERROR`, ...) rather than on request or after a full load.
pub fn is_error_stop_reason(reason: &str) -> bool {
    reason.to_ascii_uppercase().contains("ERROR")
}

/// The status of a source from its task.
///
/// `error` holds `LastFailureMessage` when DMS reports one, and the stop reason when the task
/// stopped on an error. `details` holds the raw DMS status, the task ARN and identifier, the
/// stop reason, the recovery checkpoint and the task statistics. Lag is left unknown here: DMS
/// reports it only through CloudWatch (`CDCLatencySource`), read by the provider when asked to.
pub fn task_status(source_id: &str, task: &ReplicationTask, paused: bool) -> CdcStatus {
    let mut state = map_state(&task.status, task.stop_reason.as_deref(), paused);
    if state == SourceState::Running
        && task
            .stats
            .as_ref()
            .is_some_and(|s| s.tables_loading > 0 || s.tables_queued > 0)
    {
        state = SourceState::Snapshot;
    }
    let mut status = CdcStatus::new(source_id, PROVIDER, state);

    let mut errors = Vec::new();
    if let Some(msg) = task
        .last_failure_message
        .as_deref()
        .filter(|m| !m.is_empty())
    {
        errors.push(msg.to_owned());
    }
    if state == SourceState::Error
        && let Some(reason) = task.stop_reason.as_deref().filter(|r| !r.is_empty())
    {
        errors.push(reason.to_owned());
    }
    if state == SourceState::Error && errors.is_empty() {
        errors.push(format!("DMS task status {:?}", task.status));
    }
    if !errors.is_empty() {
        // DMS failure messages come from the endpoints' drivers and may quote a connection
        // string: shown redacted, like everything that reaches a status.
        status.error = Some(cdc_core::secret::redact_text(&errors.join("; ")));
    }

    let d = &mut status.details;
    d.insert("dms_status".into(), json!(task.status));
    d.insert("task_arn".into(), json!(task.arn));
    d.insert("task_identifier".into(), json!(task.identifier));
    if let Some(m) = &task.migration_type {
        d.insert("migration_type".into(), json!(m));
    }
    if let Some(r) = &task.stop_reason {
        d.insert("stop_reason".into(), json!(r));
    }
    if let Some(c) = &task.recovery_checkpoint {
        d.insert("recovery_checkpoint".into(), json!(c));
    }
    if let Some(stats) = &task.stats {
        d.insert(
            "task_stats".into(),
            serde_json::to_value(stats).unwrap_or(Value::Null),
        );
    }
    status
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_dms_status_has_a_state() {
        let cases = [
            ("creating", SourceState::Creating),
            ("ready", SourceState::Ready),
            ("starting", SourceState::Starting),
            ("running", SourceState::Running),
            ("stopping", SourceState::Stopping),
            ("stopped", SourceState::Stopped),
            ("failed", SourceState::Error),
            ("deleting", SourceState::Deleting),
            ("modifying", SourceState::Modifying),
            ("moving", SourceState::Modifying),
            ("failed-move", SourceState::Error),
            ("testing", SourceState::Modifying),
        ];
        assert_eq!(cases.len(), 12);
        for (dms, state) in cases {
            assert_eq!(map_state(dms, None, false), state, "{dms}");
        }
        assert_eq!(map_state("stopped", None, true), SourceState::Paused);
        assert_eq!(
            map_state("stopped", Some("Stop Reason FATAL_ERROR"), true),
            SourceState::Error
        );
        assert_eq!(
            map_state(
                "stopped",
                Some("Stop Reason FULL_LOAD_ONLY_FINISHED"),
                false
            ),
            SourceState::Stopped
        );
        assert_eq!(map_state("exploded", None, false), SourceState::Unknown);
    }
}
