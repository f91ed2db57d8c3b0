//! Helpers shared by the cases: waiting on a source's status, reading its backfill
//! progress, and picking a table's snapshot reads and key values out of what a handler got.

use cdc_core::{CdcStatus, Operation, SharedEvent};
use serde_json::Value;

pub use crate::common::wait_for;

/// The backfill progress of `table` (`schema.table`).
pub fn progress(st: &CdcStatus, table: &str) -> Value {
    st.details
        .get("backfill")
        .map(|b| b["tables"][table].clone())
        .unwrap_or(Value::Null)
}

pub fn idle_and(st: &CdcStatus, table: &str, key: &str) -> bool {
    st.details
        .get("backfill")
        .is_some_and(|b| b["state"] == "idle")
        && !progress(st, table)[key].is_null()
        && progress(st, table)[key] != false
}

pub fn reads<'a>(
    events: &'a [SharedEvent],
    table: &'a str,
) -> impl Iterator<Item = &'a SharedEvent> {
    events
        .iter()
        .filter(move |e| e.operation == Operation::SnapshotRead && e.table == table)
}

/// The key columns of a row image as one comparable text, in key order.
pub fn key_text(row: &cdc_core::Row, cols: &[&str]) -> String {
    let values: Vec<Value> = cols.iter().map(|c| row.get(c).cloned().unwrap()).collect();
    serde_json::to_string(&values).unwrap()
}
