//! Status of a source: [`SourceState`], [`CdcStatus`], and [`SchemaVersion`].

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;

/// The state of a source, serialized in lower case as the Go package did.
///
/// The first eight are Go's; the rest are states that real backends report and that a user
/// should see as they are rather than folded into `unknown`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum SourceState {
    /// Streaming changes.
    Running,
    /// Paused on request: nothing is lost, delivery is held.
    Paused,
    /// Stopped (but still defined at the backend).
    Stopped,
    /// Defined but not running (a generated config waiting for its runner).
    Configured,
    /// Taking a snapshot.
    Snapshot,
    /// Failed; the status `error` says why.
    Error,
    /// No such source at the provider.
    NotFound,
    /// The provider reported a state we do not know.
    Unknown,
    /// Being created at the backend (DMS `creating`).
    Creating,
    /// Created and ready to start (DMS `ready`).
    Ready,
    /// Starting up.
    Starting,
    /// Shutting down.
    Stopping,
    /// Restarting (Kafka Connect `RESTARTING`, a supervised process coming back).
    Restarting,
    /// Not yet assigned to a worker (Kafka Connect `UNASSIGNED`).
    Unassigned,
    /// Being deleted.
    Deleting,
    /// Its definition is being changed (DMS `modifying`, `moving`, `testing`).
    Modifying,
}

impl SourceState {
    /// The serialized name (`running`, `not_found`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Running => "running",
            Self::Paused => "paused",
            Self::Stopped => "stopped",
            Self::Configured => "configured",
            Self::Snapshot => "snapshot",
            Self::Error => "error",
            Self::NotFound => "not_found",
            Self::Unknown => "unknown",
            Self::Creating => "creating",
            Self::Ready => "ready",
            Self::Starting => "starting",
            Self::Stopping => "stopping",
            Self::Restarting => "restarting",
            Self::Unassigned => "unassigned",
            Self::Deleting => "deleting",
            Self::Modifying => "modifying",
        }
    }
}

impl fmt::Display for SourceState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The status of one source, with the Go JSON names.
///
/// Lag is `None` when the provider cannot measure it (it is omitted from JSON then), never a
/// made-up zero.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CdcStatus {
    /// The source id.
    pub source_id: String,
    /// The state.
    pub state: SourceState,
    /// The provider name.
    pub provider: String,
    /// When the last event was delivered to the handlers (RFC 3339), if any.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub last_event: Option<OffsetDateTime>,
    /// What went wrong, for `error` (and for a handler failure the provider went on after).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Replication lag in bytes, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lag_bytes: Option<i64>,
    /// Replication lag in seconds, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lag_seconds: Option<i64>,
    /// Provider-specific details (task statistics, worker ids, ...).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub details: BTreeMap<String, Value>,
}

impl CdcStatus {
    /// A status with the given state and nothing else known.
    pub fn new(
        source_id: impl Into<String>,
        provider: impl Into<String>,
        state: SourceState,
    ) -> Self {
        Self {
            source_id: source_id.into(),
            state,
            provider: provider.into(),
            last_event: None,
            error: None,
            lag_bytes: None,
            lag_seconds: None,
            details: BTreeMap::new(),
        }
    }

    /// The status of a source the provider does not know.
    pub fn not_found(source_id: impl Into<String>, provider: impl Into<String>) -> Self {
        Self::new(source_id, provider, SourceState::NotFound)
    }
}

/// One schema change of a table (Go's `SchemaVersion`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SchemaVersion {
    /// The table, as `schema.name` when the schema is known.
    pub table: String,
    /// Version number, increasing per table from 1.
    pub version: i64,
    /// The DDL text (or what the provider knows of the change).
    pub ddl: String,
    /// When the change was applied (RFC 3339).
    #[serde(with = "time::serde::rfc3339")]
    pub applied_at: OffsetDateTime,
    /// Where in the source's stream the change took effect (a PostgreSQL LSN, a binlog
    /// position), when the provider knows it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub position: Option<crate::event::Position>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn states_serialize_lower_case_like_go() {
        for (state, name) in [
            (SourceState::Running, "running"),
            (SourceState::Paused, "paused"),
            (SourceState::Stopped, "stopped"),
            (SourceState::Configured, "configured"),
            (SourceState::Snapshot, "snapshot"),
            (SourceState::Error, "error"),
            (SourceState::NotFound, "not_found"),
            (SourceState::Unknown, "unknown"),
            (SourceState::Restarting, "restarting"),
            (SourceState::Unassigned, "unassigned"),
        ] {
            assert_eq!(serde_json::to_value(state).unwrap(), json!(name));
            assert_eq!(state.as_str(), name);
        }
    }

    #[test]
    fn status_uses_go_json_names_and_serializes_lag() {
        let mut st = CdcStatus::new("s1", "memory", SourceState::Running);
        st.lag_bytes = Some(2048);
        st.lag_seconds = Some(7);
        st.last_event = Some(time::macros::datetime!(2026-01-02 03:04:05 UTC));
        let v = serde_json::to_value(&st).unwrap();
        assert_eq!(
            v,
            json!({"source_id": "s1", "state": "running", "provider": "memory",
                   "last_event": "2026-01-02T03:04:05Z", "lag_bytes": 2048, "lag_seconds": 7})
        );
        let back: CdcStatus = serde_json::from_value(v).unwrap();
        assert_eq!(back, st);
        // unknown lag is omitted, not a made-up zero
        let v = serde_json::to_value(CdcStatus::not_found("x", "memory")).unwrap();
        assert!(v.get("lag_bytes").is_none() && v.get("error").is_none());
        assert_eq!(v["state"], "not_found");
    }
}
