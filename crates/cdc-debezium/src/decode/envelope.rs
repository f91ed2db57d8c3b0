//! Borrowed views of a Debezium record: every part is kept as raw JSON text until it is
//! needed, so the schema (most of the bytes with `schemas.enable=true`) is only skipped.
//!
//! The source block is a [`Part`]: with `EAGER` it is parsed in the same pass as the envelope
//! (one scan of the bytes); without, it stays raw text and is parsed on its own, so that an
//! error names it. Row images always stay text here: most of them become a
//! [`cdc_core::Row`] that is only parsed when somebody reads it.

use std::borrow::Cow;

use serde::{Deserialize, Deserializer};
use serde_json::value::RawValue;

/// A part of the envelope: raw JSON text, or already parsed (`EAGER`).
#[derive(Debug)]
pub enum Part<'a, T, const EAGER: bool> {
    /// Kept as text, parsed when needed.
    Raw(&'a RawValue),
    /// Parsed with the envelope.
    Parsed(T),
}

impl<'de: 'a, 'a, T: Deserialize<'de>, const EAGER: bool> Deserialize<'de> for Part<'a, T, EAGER> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        if EAGER {
            T::deserialize(d).map(Self::Parsed)
        } else {
            <&'a RawValue>::deserialize(d).map(Self::Raw)
        }
    }
}

/// The top level of a value (or a payload): the change envelope fields, heartbeat,
/// transaction and schema-change fields, and `schema` / `payload` of the wrapped form.
#[derive(Debug, Default, Deserialize)]
pub struct Envelope<'a, const EAGER: bool> {
    /// `schema` of the `{"schema", "payload"}` form.
    #[serde(borrow, default)]
    pub schema: Option<&'a RawValue>,
    /// `payload` of the `{"schema", "payload"}` form.
    #[serde(borrow, default)]
    pub payload: Option<&'a RawValue>,
    /// Row before: kept as text, checked and kept as a lazily parsed row, or parsed when
    /// the schema names columns to convert.
    #[serde(borrow, default)]
    pub before: Option<&'a RawValue>,
    /// Row after, likewise.
    #[serde(borrow, default)]
    pub after: Option<&'a RawValue>,
    /// Source block. Boxed: [`Source`] is ~300 bytes, and the envelope is moved several
    /// times on its way to the event; a pointer moves cheaper than the block.
    #[serde(borrow, default)]
    pub source: Option<Part<'a, Box<Source<'a>>, EAGER>>,
    /// Operation code.
    #[serde(borrow, default)]
    pub op: Option<&'a RawValue>,
    /// When Debezium processed the event.
    #[serde(borrow, default)]
    pub ts_ms: Option<&'a RawValue>,
    /// Transaction block (`provide.transaction.metadata=true`).
    #[serde(borrow, default)]
    pub transaction: Option<&'a RawValue>,
    /// Logical decoding message (`op: m`).
    #[serde(borrow, default)]
    pub message: Option<&'a RawValue>,
    /// Schema change: DDL text.
    #[serde(borrow, default)]
    pub ddl: Option<&'a RawValue>,
    /// Schema change: table structures.
    #[serde(rename = "tableChanges", borrow, default)]
    pub table_changes: Option<&'a RawValue>,
    /// Schema change: database.
    #[serde(rename = "databaseName", borrow, default)]
    pub database_name: Option<&'a RawValue>,
    /// Schema change: schema.
    #[serde(rename = "schemaName", borrow, default)]
    pub schema_name: Option<&'a RawValue>,
    /// Transaction metadata: BEGIN / END.
    #[serde(borrow, default)]
    pub status: Option<&'a RawValue>,
    /// Transaction metadata: transaction id.
    #[serde(borrow, default)]
    pub id: Option<&'a RawValue>,
    /// Transaction metadata: events in the transaction (END).
    #[serde(borrow, default)]
    pub event_count: Option<&'a RawValue>,
    /// Transaction metadata: events per table (END).
    #[serde(borrow, default)]
    pub data_collections: Option<&'a RawValue>,
}

impl<const EAGER: bool> Envelope<'_, EAGER> {
    /// Whether this is the `{"schema", "payload"}` form (and not a bare payload).
    pub fn is_wrapped(&self) -> bool {
        self.payload.is_some()
            && self.op.is_none()
            && self.source.is_none()
            && self.after.is_none()
            && self.before.is_none()
    }
}

/// The `source` block, for every connector (fields a connector lacks stay `None`).
#[derive(Debug, Default, Deserialize)]
pub struct Source<'a> {
    /// Change time in the database, ms.
    #[serde(default)]
    pub ts_ms: Option<i64>,
    /// Change time in the database, µs.
    #[serde(default)]
    pub ts_us: Option<i64>,
    /// Snapshot marker: a string in Debezium 2+ (`true`, `first`, `last`, `false`, ...),
    /// a boolean in old versions.
    #[serde(borrow, default)]
    pub snapshot: Option<&'a RawValue>,
    /// Database.
    #[serde(borrow, default)]
    pub db: Option<Cow<'a, str>>,
    /// Schema (PostgreSQL, SQL Server).
    #[serde(borrow, default)]
    pub schema: Option<Cow<'a, str>>,
    /// Table.
    #[serde(borrow, default)]
    pub table: Option<Cow<'a, str>>,
    /// Collection (MongoDB).
    #[serde(borrow, default)]
    pub collection: Option<Cow<'a, str>>,
    /// PostgreSQL transaction id.
    #[serde(rename = "txId", default)]
    pub tx_id: Option<i64>,
    /// PostgreSQL LSN.
    #[serde(default)]
    pub lsn: Option<i64>,
    /// MySQL binlog file.
    #[serde(borrow, default)]
    pub file: Option<Cow<'a, str>>,
    /// MySQL binlog position.
    #[serde(default)]
    pub pos: Option<i64>,
    /// MySQL: the row within the binlog event (a multi-row event holds several).
    #[serde(default)]
    pub row: Option<i64>,
    /// MySQL GTID.
    #[serde(borrow, default)]
    pub gtid: Option<Cow<'a, str>>,
    /// SQL Server change LSN.
    #[serde(borrow, default)]
    pub change_lsn: Option<Cow<'a, str>>,
    /// SQL Server commit LSN.
    #[serde(borrow, default)]
    pub commit_lsn: Option<Cow<'a, str>>,
}
