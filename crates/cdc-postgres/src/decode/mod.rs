//! Decoding: pgoutput messages ([`pgoutput`]) into [`ChangeEvent`]s, once, at the provider.
//!
//! - [`pgoutput`]: the wire format (protocol 1), without copying;
//! - [`types`], [`value`], [`array`](mod@array): a value's text as JSON by its type; [`native`]: the
//!   binary form of some built-in types (the snapshot's binary COPY) as the same JSON;
//! - [`relation`], [`row`]: relations as the stream describes them, and row images;
//! - [`StreamDecoder`]: the state of one stream (relations, types, keys) and the events of
//!   each message.

pub mod array;
mod ascii;
pub mod ddl;
pub mod native;
mod numeric;
pub mod pgoutput;
pub mod position;
pub mod relation;
pub mod row;
mod stream;
mod txn_metadata;
pub mod types;
pub mod value;

use std::sync::Arc;

use cdc_core::{ChangeEvent, Metadata, Name, Operation, Position};
use pgwire_replication::Lsn;
use serde_json::Value;
use time::OffsetDateTime;

pub use pgoutput::{DecodeError, Message, OldKind, TupleValue};
pub use position::{PgPosition, Tokens};
pub use relation::{Relation, RelationCache};
pub use stream::StreamDecoder;
pub use types::TypeRegistry;

use row::{Columns, image};
use txn_metadata::RelationMetadata;

/// The metadata key naming columns left out of a row image (unchanged TOAST values): the
/// same key the Debezium decoder uses.
pub const UNAVAILABLE_COLUMNS: &str = "unavailable_columns";

/// Microseconds between 1970-01-01 and PostgreSQL's epoch 2000-01-01.
const PG_EPOCH_OFFSET_MICROS: i64 = 946_684_800_000_000;

/// A PostgreSQL timestamp (µs since 2000-01-01) as a time.
pub fn pg_time(micros: i64) -> Option<OffsetDateTime> {
    let unix = i128::from(micros) + i128::from(PG_EPOCH_OFFSET_MICROS);
    OffsetDateTime::from_unix_timestamp_nanos(unix * 1000).ok()
}

/// The transaction being decoded.
#[derive(Clone, Debug)]
pub struct Txn {
    /// Transaction id.
    pub xid: u32,
    /// LSN of its commit record (from Begin).
    pub commit_lsn: u64,
    /// Commit time.
    pub commit_time: Option<OffsetDateTime>,
    /// The next event's ordinal.
    pub next_ordinal: u64,
    /// Replication origin, when the transaction came from another node.
    pub origin: Option<String>,
    /// `xid` as text, for every event's `transaction_id`.
    xid_text: String,
    /// The metadata of the transaction's events of each relation (`xid`, `commit_lsn`,
    /// `origin`, the relation's `column_types`), built at its first event and shared by the
    /// others. Most transactions touch few relations, and a list beats a map for them (no
    /// allocation for a one-relation transaction); see [`RelationMetadata`].
    by_relation: RelationMetadata,
}

impl Txn {
    /// A transaction from its Begin message.
    pub fn begin(xid: u32, final_lsn: u64, commit_time_micros: i64) -> Self {
        Self {
            xid,
            commit_lsn: final_lsn,
            commit_time: pg_time(commit_time_micros),
            next_ordinal: 0,
            origin: None,
            xid_text: xid.to_string(),
            by_relation: RelationMetadata::default(),
        }
    }

    /// The metadata of an event of `rel` in this transaction (shared, not copied).
    fn metadata_for(&mut self, rel: &Relation) -> Metadata {
        if let Some(m) = self.by_relation.get(rel.rel_id) {
            return m.clone();
        }
        let mut m = Metadata::new();
        m.insert_shared("column_types", Arc::clone(&rel.column_types));
        m.insert_static("xid", Value::from(self.xid));
        m.insert_static(
            "commit_lsn",
            Value::String(Lsn::from_u64(self.commit_lsn).to_string()),
        );
        if let Some(origin) = &self.origin {
            m.insert_static("origin", Value::String(origin.clone()));
        }
        self.by_relation.push(rel.rel_id, m.clone());
        m
    }

    /// Forgets the metadata built for `rel_id` (its columns changed).
    fn forget(&mut self, rel_id: u32) {
        self.by_relation.retain_except(rel_id);
    }

    fn position(&mut self) -> Position {
        let p = PgPosition {
            commit_lsn: Lsn::from_u64(self.commit_lsn),
            ordinal: self.next_ordinal,
        };
        self.next_ordinal += 1;
        Position::new(p.token())
    }
}

/// A change of a relation's published columns, seen in a Relation message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SchemaNote {
    /// `schema.table`.
    pub table: String,
    /// The reconstructed DDL (`CREATE TABLE ...` for the first description seen).
    pub ddl: String,
    /// LSN of the message (the change it precedes).
    pub lsn: u64,
    /// Commit time of the transaction it came in.
    pub at: Option<OffsetDateTime>,
    /// Whether this is the first description of the table (not a change).
    pub initial: bool,
}

/// A row read by the snapshot, as a `SnapshotRead` event. `buf` is scratch space reused
/// from row to row.
pub fn snapshot_event(
    source_id: &Name,
    rel: &Relation,
    values: &[TupleValue<'_>],
    position: PgPosition,
    buf: &mut String,
) -> Result<ChangeEvent, String> {
    let after = image(rel, values, None, Columns::All, buf)?;
    let key = if rel.key.is_empty() {
        None
    } else {
        Some(image(rel, values, None, Columns::Only(&rel.key), buf)?.row)
    };
    let position = Position::new(position.token());
    Ok(snapshot_event_of(source_id, rel, after.row, key, position))
}

/// A `SnapshotRead` event of `rel` from its row images.
pub fn snapshot_event_of(
    source_id: &Name,
    rel: &Relation,
    after: cdc_core::Row,
    key: Option<cdc_core::Row>,
    position: Position,
) -> ChangeEvent {
    ChangeEvent {
        source_id: source_id.clone(),
        operation: Operation::SnapshotRead,
        schema: Some(rel.schema.clone()),
        table: rel.table.clone(),
        key,
        before: None,
        after: Some(after),
        commit_time: None,
        position: Some(position),
        transaction_id: None,
        control: None,
        metadata: rel.snapshot_metadata.clone(),
    }
}
