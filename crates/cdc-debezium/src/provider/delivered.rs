//! What delivered events leave behind on their source: the time of the last one, the commit
//! time lag is measured from, and the schema history their schema changes make.

use cdc_core::{ChangeEvent, Operation, SchemaVersion, SharedEvent};
use serde_json::Value;
use time::OffsetDateTime;

use super::{Entry, lock};

/// Updates last-event time, the commit time lag is measured from, and schema history with
/// events every handler took.
pub(super) fn record_delivered(entry: &Entry, events: &[SharedEvent]) {
    {
        let mut l = lock(&entry.last);
        if events.iter().any(|e| e.operation != Operation::Control) {
            l.at = Some(OffsetDateTime::now_utc());
        }
        // Lag is "now − commit time of the last delivered change": a change sets it even when
        // a heartbeat before it said later (it was delivered that late). A heartbeat (or
        // transaction marker) carries the time Debezium was caught up to: it only moves it
        // forward, keeping the lag fresh while the tables are idle. In event order, so that
        // a batch gives what its events would one by one (a heartbeat after a change in the
        // same batch moves the lag as it would in a batch of its own).
        for e in events {
            let Some(t) = e.commit_time else { continue };
            if e.operation != Operation::Control || l.committed_at.is_none_or(|c| t > c) {
                l.committed_at = Some(t);
            }
        }
    }
    let mut history = lock(&entry.history);
    for e in events
        .iter()
        .filter(|e| e.operation == Operation::SchemaChange)
    {
        add_schema_versions(&mut history, e);
    }
}

/// Seconds from a commit time to now (never negative: clocks differ).
pub(crate) fn lag_since(committed_at: OffsetDateTime) -> i64 {
    (OffsetDateTime::now_utc() - committed_at)
        .whole_seconds()
        .max(0)
}

/// One version per table named by a schema-change event (its `table_changes`, or its table).
fn add_schema_versions(
    history: &mut std::collections::BTreeMap<String, Vec<SchemaVersion>>,
    e: &ChangeEvent,
) {
    let ddl = e
        .metadata
        .get("ddl")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let applied_at = e.commit_time.unwrap_or_else(OffsetDateTime::now_utc);
    let mut tables: Vec<String> = e
        .metadata
        .get("table_changes")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|c| c.get("id").and_then(Value::as_str))
                .map(|id| {
                    let parts: Vec<&str> = id.split('.').map(|p| p.trim_matches('"')).collect();
                    match parts.as_slice() {
                        [.., s, t] => format!("{s}.{t}"),
                        [t] => (*t).to_owned(),
                        [] => String::new(),
                    }
                })
                .collect()
        })
        .unwrap_or_default();
    if tables.is_empty() && !e.table.is_empty() {
        tables.push(e.qualified_table());
    }
    for t in tables {
        let versions = history.entry(t.clone()).or_default();
        let version = versions.last().map(|v| v.version + 1).unwrap_or(1);
        versions.push(SchemaVersion {
            table: t,
            version,
            ddl: ddl.clone(),
            applied_at,
            position: e.position.clone(),
        });
    }
}
