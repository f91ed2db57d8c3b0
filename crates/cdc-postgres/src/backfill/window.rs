//! The watermark window of one chunk (DBLog): between the low and the high watermark the
//! stream notes the key of every change of the chunk's table; at the high watermark the
//! chunk's rows whose keys it noted are dropped (the stream carried newer news of them) and
//! the rest are emitted there, in stream order.
//!
//! PostgreSQL makes a transaction visible after it writes its commit record, not atomically
//! with it: a transaction whose commit comes before the low watermark in the WAL may still be
//! invisible to the chunk's snapshot, taken after the watermark committed. The stream delivers
//! it before the window opens, and the chunk's older image of its rows would follow it. So
//! the keys of changes delivered before the window opened are kept with their transaction id
//! (from the previous chunk's high watermark on), and at the high watermark those of
//! transactions the chunk's snapshot did not see are dropped too.

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

/// The transactions a chunk's snapshot did not see (`txid_current_snapshot()` when the
/// chunk was read): every xid from `xmax` on, and those in progress (`xip`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Unseen {
    /// 32-bit xids compare modulo 2^32 (as PostgreSQL's `TransactionIdPrecedes`).
    pub xmax: u32,
    /// Transactions in progress when the snapshot was taken.
    pub xip: HashSet<u32>,
}

impl Unseen {
    /// Whether the snapshot did not see transaction `xid`'s changes.
    pub fn contains(&self, xid: u32) -> bool {
        // `xid` at or after `xmax`, modulo 2^32.
        (xid.wrapping_sub(self.xmax) as i32) >= 0 || self.xip.contains(&xid)
    }
}

/// Keys noted before the window opened are kept at most this many (oldest dropped first): a
/// transaction invisible to the chunk's snapshot committed just before the low watermark.
const BEFORE_OPEN_MAX: usize = 200_000;

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
    /// Keys of changes delivered before the low watermark, with their transaction id.
    before_open: std::collections::VecDeque<(u32, String)>,
    /// What the chunk's snapshot did not see, set with the rows.
    pub unseen: Option<Unseen>,
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
            before_open: std::collections::VecDeque::new(),
            unseen: None,
            truncated: false,
        }
    }

    /// A window waiting for its chunk (between two chunks of a table): it only keeps what
    /// the stream delivers, for the next chunk (see [`Pending::inherit`]). Sequence 0 matches
    /// no watermark.
    pub fn between_chunks(schema: &str, table: &str, key_cols: Vec<String>) -> Self {
        Self::new(0, schema, table, key_cols)
    }

    /// Takes over what a window waiting for this chunk kept from before the low watermark
    /// (the same table's).
    pub fn inherit(&mut self, earlier: Pending) {
        if earlier.schema == self.schema
            && earlier.table == self.table
            && earlier.key_cols == self.key_cols
        {
            self.before_open = earlier.before_open;
            // A truncate before the low watermark that the snapshot may not see.
            self.truncated |= earlier.truncated && !earlier.open;
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
        if e.table != self.table || e.schema.as_deref() != Some(self.schema.as_str()) {
            return;
        }
        if !self.open {
            self.note_before_open(e);
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

    /// A change delivered before the low watermark: kept with its xid, in case the chunk's
    /// snapshot does not see its transaction.
    fn note_before_open(&mut self, e: &ChangeEvent) {
        let Some(xid) = e.metadata.get("xid").and_then(Value::as_u64) else {
            return;
        };
        let xid = xid as u32;
        match e.operation {
            // Known only by the xid: a truncate the snapshot may not see drops the chunk.
            Operation::Truncate => self.before_open.push_back((xid, String::new())),
            Operation::Insert | Operation::Update | Operation::Delete => {
                for row in [&e.key, &e.before, &e.after].into_iter().flatten() {
                    if let Some(k) = canonical_key(row, &self.key_cols) {
                        self.before_open.push_back((xid, k));
                    }
                }
            }
            _ => {}
        }
        while self.before_open.len() > BEFORE_OPEN_MAX {
            self.before_open.pop_front();
        }
    }

    /// At the high watermark: the rows to emit (those whose keys no change touched).
    pub fn close(mut self) -> Vec<ChangeEvent> {
        let Some(rows) = self.rows.take() else {
            return Vec::new();
        };
        // Changes delivered before the window whose transactions the snapshot did not see.
        // Without the snapshot's figures, every one of them counts.
        for (xid, k) in std::mem::take(&mut self.before_open) {
            if self.unseen.as_ref().is_none_or(|u| u.contains(xid)) {
                if k.is_empty() {
                    self.truncated = true;
                } else {
                    self.seen.insert(k);
                }
            }
        }
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

    fn ev_in(op: Operation, id: i64, xid: u32) -> ChangeEvent {
        let mut e = ev(op, id);
        e.metadata.insert_static("xid", xid.into());
        e
    }

    /// A transaction whose commit came before the low watermark but that the chunk's
    /// snapshot did not see (still in progress for it, or from its xmax on): its rows are
    /// dropped from the chunk; those of transactions the snapshot saw are kept.
    #[test]
    fn changes_before_the_window_the_snapshot_did_not_see_drop_their_rows() {
        // Kept between two chunks, then taken over by the next chunk's window.
        let mut between = Pending::between_chunks("public", "t", vec!["id".into()]);
        between.note(&ev_in(Operation::Update, 1, 100)); // seen by the snapshot
        between.note(&ev_in(Operation::Update, 2, 105)); // in progress for it
        let mut p = Pending::new(7, "public", "t", vec!["id".into()]);
        p.inherit(between);
        p.note(&ev_in(Operation::Delete, 3, 120)); // at/after its xmax
        p.note(&ev_in(Operation::Update, 4, 101)); // seen
        p.note(&ev_in(Operation::Update, 6, 105));
        p.open();
        p.note(&ev_in(Operation::Update, 5, 90)); // inside the window: always noted
        p.rows = Some(ChunkRows {
            events: (1..=7).map(|i| ev(Operation::SnapshotRead, i)).collect(),
            keys: (1..=7).map(|i| format!("[{i}]")).collect(),
        });
        p.unseen = Some(Unseen {
            xmax: 110,
            xip: [105].into_iter().collect(),
        });
        let kept: Vec<i64> = p
            .close()
            .iter()
            .map(|e| e.key.as_ref().unwrap()["id"].as_i64().unwrap())
            .collect();
        assert_eq!(kept, vec![1, 4, 7]);

        // A truncate before the window that the snapshot did not see drops the chunk.
        let mut t = Pending::new(8, "public", "t", vec!["id".into()]);
        t.note(&{
            let mut e = ChangeEvent::new("s", Operation::Truncate, "public.t");
            e.metadata.insert_static("xid", 200u32.into());
            e
        });
        t.open();
        t.rows = Some(ChunkRows {
            events: vec![ev(Operation::SnapshotRead, 1)],
            keys: vec!["[1]".into()],
        });
        t.unseen = Some(Unseen {
            xmax: 150,
            xip: Default::default(),
        });
        assert!(t.close().is_empty());
    }

    #[test]
    fn unseen_compares_xids_modulo_2_32() {
        let u = Unseen {
            xmax: u32::MAX - 1,
            xip: [u32::MAX - 10].into_iter().collect(),
        };
        assert!(u.contains(u32::MAX - 1));
        assert!(u.contains(u32::MAX));
        assert!(u.contains(3)); // wrapped past 2^32: after xmax
        assert!(u.contains(u32::MAX - 10));
        assert!(!u.contains(u32::MAX - 11));
        assert!(!u.contains(u32::MAX - 1_000_000));
    }
}
