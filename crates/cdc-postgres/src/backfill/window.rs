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
//!
//! After a reconnect the stream reads again from the slot's confirmed position, which may
//! be before the low watermark of an open window: changes are placed by the commit LSN of
//! their transaction against the low watermark's, not by when the stream happens to read
//! them. A change whose key no row image carries (an UPDATE of a row whose key column is
//! stored out of line and unchanged: pgoutput sends it as "unchanged TOAST") matches no
//! row; the chunk is then read again instead of emitted, since any of its rows may be the
//! one changed.

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

/// Stands for a change whose key no image carries (no canonical key, a JSON array, is this).
const UNIDENTIFIED: &str = "?";

/// What closing a window gives.
#[derive(Debug, PartialEq)]
pub enum Closed {
    /// The rows to emit (those no change touched).
    Rows(Vec<ChangeEvent>),
    /// A change the window could not match to a key may concern any row: read the chunk
    /// again.
    Reread,
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
    /// Commit LSN of the low watermark's transaction (set when `open`).
    opened_at: u64,
    /// A change inside the window whose key no image carries.
    unidentified: bool,
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
            opened_at: 0,
            unidentified: false,
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

    /// The stream passed the low watermark, in the transaction committed at `commit_lsn`
    /// (again, after a replay: what was noted stays, and the first position counts).
    pub fn open(&mut self, commit_lsn: u64) {
        if !self.open {
            self.open = true;
            self.opened_at = commit_lsn;
        }
    }

    /// Whether the window is open.
    pub fn is_open(&self) -> bool {
        self.open
    }

    /// Notes a change the stream delivers, of a transaction committed at `commit_lsn`.
    pub fn note(&mut self, e: &ChangeEvent, commit_lsn: u64) {
        if e.table != self.table || e.schema.as_deref() != Some(self.schema.as_str()) {
            return;
        }
        // Read again after a reconnect, a change committed before the low watermark is
        // still one from before the window (the snapshot may well have seen it).
        if !self.open || commit_lsn < self.opened_at {
            self.note_before_open(e);
            return;
        }
        match e.operation {
            Operation::Truncate => self.truncated = true,
            Operation::Insert | Operation::Update | Operation::Delete => {
                let keys = self.keys_of(e);
                self.unidentified |= keys.is_empty();
                self.seen.extend(keys);
            }
            _ => {}
        }
    }

    /// The canonical keys a change's images carry (none: it cannot be matched to a row).
    fn keys_of(&self, e: &ChangeEvent) -> Vec<String> {
        [&e.key, &e.before, &e.after]
            .into_iter()
            .flatten()
            .filter_map(|row| canonical_key(row, &self.key_cols))
            .collect()
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
                let keys = self.keys_of(e);
                if keys.is_empty() {
                    self.before_open.push_back((xid, UNIDENTIFIED.to_owned()));
                }
                self.before_open.extend(keys.into_iter().map(|k| (xid, k)));
            }
            _ => {}
        }
        while self.before_open.len() > BEFORE_OPEN_MAX {
            self.before_open.pop_front();
        }
    }

    /// At the high watermark: the rows to emit (those whose keys no change touched), or
    /// [`Closed::Reread`]. Only called once the rows are set.
    pub fn close(mut self) -> Closed {
        let Some(rows) = self.rows.take() else {
            return Closed::Rows(Vec::new());
        };
        // Changes delivered before the window whose transactions the snapshot did not see.
        // Without the snapshot's figures, every one of them counts.
        for (xid, k) in std::mem::take(&mut self.before_open) {
            if self.unseen.as_ref().is_none_or(|u| u.contains(xid)) {
                if k.is_empty() {
                    self.truncated = true;
                } else if k == UNIDENTIFIED {
                    self.unidentified = true;
                } else {
                    self.seen.insert(k);
                }
            }
        }
        if self.truncated {
            return Closed::Rows(Vec::new());
        }
        if self.unidentified {
            return Closed::Reread;
        }
        Closed::Rows(
            rows.events
                .into_iter()
                .zip(rows.keys)
                .filter(|(_, k)| !self.seen.contains(k))
                .map(|(e, _)| e)
                .collect(),
        )
    }

    /// Whether the rows were read (a high watermark before that is not the chunk's).
    pub fn has_rows(&self) -> bool {
        self.rows.is_some()
    }
}

/// The key of a row as comparable text: the JSON array of its key columns' values, or
/// `None` when the row lacks one of them (a key-only image of other columns).
pub fn canonical_key(row: &Row, key_cols: &[String]) -> Option<String> {
    let values: Option<Vec<&Value>> = key_cols.iter().map(|c| row.get(c)).collect();
    serde_json::to_string(&values?).ok()
}

#[cfg(test)]
#[path = "window_tests.rs"]
mod tests;
