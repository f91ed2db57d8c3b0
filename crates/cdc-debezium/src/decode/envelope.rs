//! Borrowed views of a Debezium record: every part is kept as raw JSON text until it is
//! needed, so the schema (most of the bytes with `schemas.enable=true`) is only skipped.
//!
//! The source block is a [`Part`]: with `EAGER` it is parsed in the same pass as the envelope
//! (one scan of the bytes); without, it stays raw text and is parsed on its own, so that an
//! error names it. Row images always stay text here: most of them become a
//! [`cdc_core::Row`] that is only parsed when somebody reads it.

use std::borrow::Cow;

use cdc_core::event::json_span::JsonSpan;
use serde::{Deserialize, Deserializer};

/// A part of the envelope: raw JSON text, or already parsed (`EAGER`).
#[derive(Debug)]
pub enum Part<'a, T, const EAGER: bool> {
    /// Kept as text, parsed when needed.
    Raw(JsonSpan<'a>),
    /// Parsed with the envelope.
    Parsed(T),
}

impl<'de: 'a, 'a, T: Deserialize<'de>, const EAGER: bool> Deserialize<'de> for Part<'a, T, EAGER> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        if EAGER {
            T::deserialize(d).map(Self::Parsed)
        } else {
            JsonSpan::deserialize(d).map(Self::Raw)
        }
    }
}

/// A field that is there, whatever its JSON (`null` included): serde's `Option` would take
/// `null` for absent.
fn present<'de: 'a, 'a, D: Deserializer<'de>>(d: D) -> Result<Option<JsonSpan<'a>>, D::Error> {
    JsonSpan::deserialize(d).map(Some)
}

/// The top level of a value (or a payload): the change envelope fields, heartbeat,
/// transaction and schema-change fields, and `schema` / `payload` of the wrapped form.
#[derive(Debug, Default, Deserialize)]
pub struct Envelope<'a, const EAGER: bool> {
    /// `schema` of the `{"schema", "payload"}` form.
    #[serde(borrow, default)]
    pub schema: Option<JsonSpan<'a>>,
    /// `payload` of the `{"schema", "payload"}` form; JSON `null` is kept (as its text), so
    /// that a wrapped value whose payload is `null` is known for one (and is no event).
    #[serde(borrow, default, deserialize_with = "present")]
    pub payload: Option<JsonSpan<'a>>,
    /// Row before: kept as text, checked and kept as a lazily parsed row, or parsed when
    /// the schema names columns to convert.
    #[serde(borrow, default)]
    pub before: Option<JsonSpan<'a>>,
    /// Row after, likewise.
    #[serde(borrow, default)]
    pub after: Option<JsonSpan<'a>>,
    /// Source block. Boxed: [`Source`] is ~300 bytes, and the envelope is moved several
    /// times on its way to the event; a pointer moves cheaper than the block.
    #[serde(borrow, default)]
    pub source: Option<Part<'a, Box<Source<'a>>, EAGER>>,
    /// Operation code.
    #[serde(borrow, default)]
    pub op: Option<JsonSpan<'a>>,
    /// When Debezium processed the event.
    #[serde(borrow, default)]
    pub ts_ms: Option<JsonSpan<'a>>,
    /// Transaction block (`provide.transaction.metadata=true`).
    #[serde(borrow, default)]
    pub transaction: Option<JsonSpan<'a>>,
    /// MongoDB: the fields an update set and removed (`updatedFields` is JSON text).
    #[serde(rename = "updateDescription", borrow, default)]
    pub update_description: Option<JsonSpan<'a>>,
    /// Logical decoding message (`op: m`).
    #[serde(borrow, default)]
    pub message: Option<JsonSpan<'a>>,
    /// Schema change: DDL text.
    #[serde(borrow, default)]
    pub ddl: Option<JsonSpan<'a>>,
    /// Schema change: table structures.
    #[serde(rename = "tableChanges", borrow, default)]
    pub table_changes: Option<JsonSpan<'a>>,
    /// Schema change: database.
    #[serde(rename = "databaseName", borrow, default)]
    pub database_name: Option<JsonSpan<'a>>,
    /// Schema change: schema.
    #[serde(rename = "schemaName", borrow, default)]
    pub schema_name: Option<JsonSpan<'a>>,
    /// Transaction metadata: BEGIN / END.
    #[serde(borrow, default)]
    pub status: Option<JsonSpan<'a>>,
    /// Transaction metadata: transaction id.
    #[serde(borrow, default)]
    pub id: Option<JsonSpan<'a>>,
    /// Transaction metadata: events in the transaction (END).
    #[serde(borrow, default)]
    pub event_count: Option<JsonSpan<'a>>,
    /// Transaction metadata: events per table (END).
    #[serde(borrow, default)]
    pub data_collections: Option<JsonSpan<'a>>,
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
    pub snapshot: Option<JsonSpan<'a>>,
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
    /// Vitess keyspace (its `db` is empty).
    #[serde(borrow, default)]
    pub keyspace: Option<Cow<'a, str>>,
    /// Transaction id: a number (PostgreSQL, Db2), a string (Oracle).
    #[serde(rename = "txId", borrow, default)]
    pub tx_id: Option<Scalar<'a>>,
    /// PostgreSQL LSN.
    #[serde(borrow, default)]
    pub lsn: Option<Scalar<'a>>,
    /// MySQL binlog file.
    #[serde(borrow, default)]
    pub file: Option<Cow<'a, str>>,
    /// MySQL binlog position.
    #[serde(borrow, default)]
    pub pos: Option<Scalar<'a>>,
    /// MySQL: the row within the binlog event (a multi-row event holds several).
    #[serde(borrow, default)]
    pub row: Option<Scalar<'a>>,
    /// MySQL GTID.
    #[serde(borrow, default)]
    pub gtid: Option<Scalar<'a>>,
    /// SQL Server, Db2, Informix change LSN (a string; a number is read too).
    #[serde(borrow, default)]
    pub change_lsn: Option<Scalar<'a>>,
    /// SQL Server, Db2, Informix commit LSN.
    #[serde(borrow, default)]
    pub commit_lsn: Option<Scalar<'a>>,
    /// SQL Server: the event's number within its change LSN (a primary key update is a
    /// delete and a create at one change LSN, numbered 1 and 2).
    #[serde(borrow, default)]
    pub event_serial_no: Option<Scalar<'a>>,
    /// Oracle system change number.
    #[serde(borrow, default)]
    pub scn: Option<Scalar<'a>>,
    /// Oracle (LogMiner, Debezium 3.2+): the event's number within its transaction.
    #[serde(rename = "txSeq", borrow, default)]
    pub tx_seq: Option<Scalar<'a>>,
    /// Oracle XStream: the logical change record's position (hex), one per change.
    #[serde(borrow, default)]
    pub lcr_position: Option<Scalar<'a>>,
    /// Vitess VGTID (JSON text of the shards' GTIDs).
    #[serde(borrow, default)]
    pub vgtid: Option<Scalar<'a>>,
    /// MongoDB: the event's ordinal within its oplog second (`ts_ms`).
    #[serde(borrow, default)]
    pub ord: Option<Scalar<'a>>,
}

/// A source field whose JSON type depends on the connector (a transaction id is a number
/// for PostgreSQL and a string for Oracle): a number or a string. Any other JSON there (an
/// object, an array, a boolean) says nothing we use and is kept as [`Scalar::Other`], so a
/// connector's unusual field never makes its records undecodable.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Scalar<'a> {
    /// A JSON integer that fits an `i64`.
    Int(i64),
    /// A JSON string, or an integer beyond `i64` as its digits.
    Text(Cow<'a, str>),
    /// Anything else.
    Other,
}

impl Scalar<'_> {
    /// The value as text (an integer in decimal); `None` for [`Scalar::Other`].
    pub fn text(&self) -> Option<Cow<'_, str>> {
        match self {
            Self::Int(n) => Some(Cow::Owned(itoa::Buffer::new().format(*n).to_owned())),
            Self::Text(t) => Some(Cow::Borrowed(t.as_ref())),
            Self::Other => None,
        }
    }

    /// The value as an integer: a JSON integer, or a string of one.
    pub fn int(&self) -> Option<i64> {
        match self {
            Self::Int(n) => Some(*n),
            Self::Text(t) => t.parse().ok(),
            Self::Other => None,
        }
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Scalar<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Scalar<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a number or a string")
            }
            fn visit_i64<E>(self, n: i64) -> Result<Self::Value, E> {
                Ok(Scalar::Int(n))
            }
            fn visit_u64<E>(self, n: u64) -> Result<Self::Value, E> {
                Ok(i64::try_from(n)
                    .map_or_else(|_| Scalar::Text(Cow::Owned(n.to_string())), Scalar::Int))
            }
            fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
                Ok(Scalar::Other)
            }
            fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
                Ok(Scalar::Other)
            }
            fn visit_unit<E>(self) -> Result<Self::Value, E> {
                Ok(Scalar::Other)
            }
            fn visit_borrowed_str<E>(self, s: &'de str) -> Result<Self::Value, E> {
                Ok(Scalar::Text(Cow::Borrowed(s)))
            }
            fn visit_str<E>(self, s: &str) -> Result<Self::Value, E> {
                Ok(Scalar::Text(Cow::Owned(s.to_owned())))
            }
            fn visit_string<E>(self, s: String) -> Result<Self::Value, E> {
                Ok(Scalar::Text(Cow::Owned(s)))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut a: A,
            ) -> Result<Self::Value, A::Error> {
                while a.next_element::<serde::de::IgnoredAny>()?.is_some() {}
                Ok(Scalar::Other)
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut a: A,
            ) -> Result<Self::Value, A::Error> {
                while a
                    .next_entry::<serde::de::IgnoredAny, serde::de::IgnoredAny>()?
                    .is_some()
                {}
                Ok(Scalar::Other)
            }
        }
        d.deserialize_any(V)
    }
}
