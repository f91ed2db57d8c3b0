//! Kafka Connect connector and task states → [`CdcStatus`].

use cdc_core::{CdcStatus, SourceState};
use serde_json::{Value, json};

use crate::connect::{ConnectorState, ConnectorStatus};
use crate::error::PROVIDER;

/// Maps a connector status. In order of precedence:
/// a FAILED task or connector → `error` (with [`trace_summary`] of its trace); STOPPED →
/// `stopped`; PAUSED → `paused`; RESTARTING anywhere → `restarting`; UNASSIGNED anywhere →
/// `unassigned`; RUNNING with no tasks yet (the first seconds after a create) → `starting`;
/// RUNNING → `running`; anything else → `unknown`.
pub fn map_status(source_id: &str, st: &ConnectorStatus) -> CdcStatus {
    let c = &st.connector.state;
    let any_task = |s: &ConnectorState| st.tasks.iter().any(|t| t.state == *s);
    let failed_task = st.tasks.iter().find(|t| t.state == ConnectorState::Failed);
    let (state, error) = if let Some(t) = failed_task {
        (
            SourceState::Error,
            Some(format!(
                "task {} failed: {}",
                t.id,
                trace_summary(t.trace.as_deref())
            )),
        )
    } else if *c == ConnectorState::Failed {
        (
            SourceState::Error,
            Some(format!(
                "connector failed: {}",
                trace_summary(st.connector.trace.as_deref())
            )),
        )
    } else if *c == ConnectorState::Stopped {
        (SourceState::Stopped, None)
    } else if *c == ConnectorState::Paused {
        (SourceState::Paused, None)
    } else if *c == ConnectorState::Restarting || any_task(&ConnectorState::Restarting) {
        (SourceState::Restarting, None)
    } else if *c == ConnectorState::Unassigned || any_task(&ConnectorState::Unassigned) {
        (SourceState::Unassigned, None)
    } else if *c == ConnectorState::Running && st.tasks.is_empty() {
        (SourceState::Starting, None)
    } else if *c == ConnectorState::Running && any_task(&ConnectorState::Paused) {
        // Pause is applied to tasks a moment after the connector.
        (SourceState::Paused, None)
    } else if *c == ConnectorState::Running
        && st.tasks.iter().all(|t| t.state == ConnectorState::Running)
    {
        (SourceState::Running, None)
    } else {
        (SourceState::Unknown, None)
    };
    let mut out = CdcStatus::new(source_id, PROVIDER, state);
    out.error = error;
    out.details
        .insert("connector".into(), Value::String(st.name.clone()));
    out.details.insert(
        "connector_state".into(),
        Value::String(c.as_str().to_owned()),
    );
    if let Some(w) = &st.connector.worker_id {
        out.details
            .insert("worker_id".into(), Value::String(w.clone()));
    }
    out.details.insert(
        "tasks".into(),
        Value::Array(
            st.tasks
                .iter()
                .map(|t| json!({"id": t.id, "state": t.state.as_str(), "worker_id": t.worker_id}))
                .collect(),
        ),
    );
    out
}

/// What a failed task's Java stack trace says: its first line, plus the innermost
/// `Caused by:` (the last one) when there is one. The first line is often generic
/// (`Creation of replication slot failed`); the cause says why (`number of requested standby
/// connections exceeds max_wal_senders`). Connection strings are redacted.
pub fn trace_summary(trace: Option<&str>) -> String {
    let first = first_line(trace);
    let cause = trace.and_then(|t| {
        t.lines()
            .map(str::trim)
            .filter_map(|l| l.strip_prefix("Caused by:"))
            .map(str::trim)
            .rfind(|l| !l.is_empty())
    });
    match cause {
        Some(c) if !first.contains(c) => {
            format!("{first} (caused by: {})", cdc_core::secret::redact_text(c))
        }
        _ => first,
    }
}

/// The first non-empty line of a Java stack trace: the exception and its message, with any
/// connection string it quotes redacted (a JDBC driver's message may hold one; it reaches
/// the status and the status file).
pub fn first_line(trace: Option<&str>) -> String {
    let line = trace
        .and_then(|t| t.lines().map(str::trim).find(|l| !l.is_empty()))
        .unwrap_or("no trace reported");
    cdc_core::secret::redact_text(line)
}
