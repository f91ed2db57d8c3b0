//! Readiness: every source connected and not in error.

use cdc::{CdcStatus, SourceState};
use serde_json::{Value, json};

/// States of a source that is up: streaming, taking its snapshot, or held by a step (still
/// connected, nothing lost).
const UP: &[SourceState] = &[
    SourceState::Running,
    SourceState::Snapshot,
    SourceState::Paused,
];

/// `(ready, body)` for the statuses of every source of the run.
pub fn readiness(statuses: &[CdcStatus]) -> (bool, Value) {
    let not_ready: Vec<Value> = statuses
        .iter()
        .filter(|s| !UP.contains(&s.state))
        .map(|s| {
            json!({"source_id": s.source_id, "provider": s.provider, "state": s.state,
                   "error": s.error})
        })
        .collect();
    if not_ready.is_empty() {
        let ids: Vec<&str> = statuses.iter().map(|s| s.source_id.as_str()).collect();
        (true, json!({"ready": true, "sources": ids}))
    } else {
        (false, json!({"ready": false, "not_ready": not_ready}))
    }
}

/// The body while the run is not (or no more) serving its sources.
pub fn not_serving(reason: &str) -> Value {
    json!({"ready": false, "reason": reason})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_source_in_error_or_not_connected_is_named() {
        let up = CdcStatus::new("a", "memory", SourceState::Running);
        let paused = CdcStatus::new("p", "memory", SourceState::Paused);
        let (ok, body) = readiness(&[up.clone(), paused]);
        assert!(ok);
        assert_eq!(body["sources"], json!(["a", "p"]));
        let mut bad = CdcStatus::new("b", "postgres", SourceState::Error);
        bad.error = Some("connection refused".into());
        let starting = CdcStatus::new("c", "dms", SourceState::Starting);
        let (ok, body) = readiness(&[up, bad, starting]);
        assert!(!ok);
        assert_eq!(body["not_ready"][0]["source_id"], "b");
        assert_eq!(body["not_ready"][0]["state"], "error");
        assert_eq!(body["not_ready"][0]["error"], "connection refused");
        assert_eq!(body["not_ready"][1]["state"], "starting");
    }
}
