//! The watermark window of one chunk (DBLog): between the low and the high watermark the
//! stream notes the key of every change of the chunk's table; at the high watermark the
//! chunk's rows whose keys it noted are dropped (the stream carried newer news of them) and
//! the rest are emitted there, in stream order.

use std::collections::HashSet;

use cdc_core::{ChangeEvent, Operation, Row};
use serde_json::Value;

/// A chunk read between its watermarks, waiting for the high one.
#[derive(Debug)]
pub struct ChunkRows {
    /// `SnapshotRead` events (positions set when emitted).
    pub events: Vec<ChangeEvent>,
    /// The canonical key of each event.
    pub keys: Vec<String>,
}

/// The chunk the backfill works on, as the stream sees it.
#[derive(Debug)]
pub struct Pending {
    /// Sequence number (in this process) of the chunk; the watermarks carry it.
    pub seq: u64,
    /// `schema` and `table` of the chunk.
    pub schema: String,
    /// See `schema`.
    pub table: String,
    /// Key columns, in key order.
    pub key_cols: Vec<String>,
    /// The rows, once read (always before the high watermark is written).
    pub rows: Option<ChunkRows>,
    /// Whether the stream passed the low watermark.
    open: bool,
    /// Keys of changes seen since the low watermark.
    seen: HashSet<String>,
    /// The table was truncated inside the window: every row read may be older.
    truncated: bool,
}

impl Pending {
    /// A chunk about to be read.
    pub fn new(seq: u64, schema: &str, table: &str, key_cols: Vec<String>) -> Self {
        Self {
            seq,
            schema: schema.to_owned(),
            table: table.to_owned(),
            key_cols,
            rows: None,
            open: false,
            seen: HashSet::new(),
            truncated: false,
        }
    }

    /// The stream passed the low watermark (again, after a replay: what was noted stays).
    pub fn open(&mut self) {
        self.open = true;
    }

    /// Whether the window is open.
    pub fn is_open(&self) -> bool {
        self.open
    }

    /// Notes a change the stream delivers while the window is open.
    pub fn note(&mut self, e: &ChangeEvent) {
        if !self.open || e.table != self.table || e.schema.as_deref() != Some(self.schema.as_str())
        {
            return;
        }
        match e.operation {
            Operation::Truncate => self.truncated = true,
            Operation::Insert | Operation::Update | Operation::Delete => {
                for row in [&e.key, &e.before, &e.after].into_iter().flatten() {
                    if let Some(k) = canonical_key(row, &self.key_cols) {
                        self.seen.insert(k);
                    }
                }
            }
            _ => {}
        }
    }

    /// At the high watermark: the rows to emit (those whose keys no change touched).
    pub fn close(mut self) -> Vec<ChangeEvent> {
        let Some(rows) = self.rows.take() else {
            return Vec::new();
        };
        if self.truncated {
            return Vec::new();
        }
        rows.events
            .into_iter()
            .zip(rows.keys)
            .filter(|(_, k)| !self.seen.contains(k))
            .map(|(e, _)| e)
            .collect()
    }
}

/// The key of a row as comparable text: the JSON array of its key columns' values, or
/// `None` when the row lacks one of them (a key-only image of other columns).
pub fn canonical_key(row: &Row, key_cols: &[String]) -> Option<String> {
    let values: Option<Vec<&Value>> = key_cols.iter().map(|c| row.get(c)).collect();
    serde_json::to_string(&values?).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ev(op: Operation, id: i64) -> ChangeEvent {
        ChangeEvent::new("s", op, "public.t").with_key(json!({"id": id}))
    }

    #[test]
    fn rows_touched_inside_the_window_are_dropped() {
        let mut p = Pending::new(1, "public", "t", vec!["id".into()]);
        p.note(&ev(Operation::Update, 1)); // before the low watermark: not noted
        p.open();
        p.note(&ev(Operation::Update, 2));
        p.note(&ev(Operation::Delete, 3));
        p.note(
            &ChangeEvent::new("s", Operation::Delete, "public.other").with_key(json!({"id": 4})),
        );
        p.rows = Some(ChunkRows {
            events: (1..=4).map(|i| ev(Operation::SnapshotRead, i)).collect(),
            keys: (1..=4).map(|i| format!("[{i}]")).collect(),
        });
        let kept: Vec<i64> = p
            .close()
            .iter()
            .map(|e| e.key.as_ref().unwrap()["id"].as_i64().unwrap())
            .collect();
        assert_eq!(kept, vec![1, 4]);
        let mut t = Pending::new(2, "public", "t", vec!["id".into()]);
        t.open();
        t.note(&ChangeEvent::new("s", Operation::Truncate, "public.t"));
        t.rows = Some(ChunkRows {
            events: vec![ev(Operation::SnapshotRead, 9)],
            keys: vec!["[9]".into()],
        });
        assert!(t.close().is_empty());
        assert_eq!(
            canonical_key(
                &Row::from(json!({"b": "x", "a": 1, "c": 0})),
                &["a".into(), "b".into()]
            ),
            Some(r#"[1,"x"]"#.into())
        );
    }
}
