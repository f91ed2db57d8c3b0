//! [`ChangeEvent`]: one typed event for every provider.
//!
//! Providers decode their wire format once into a `ChangeEvent`; everything downstream
//! (triggers, steps, user handlers) reads typed fields. Triggers filter on [`Operation`] and
//! the table without touching row data.

mod go_json;
pub mod json_span;
mod jsonl;
mod metadata;
mod name;
mod raw_check;
mod row;

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;

pub use go_json::{EventParseError, json_type_name};
pub use jsonl::{DEFAULT_MAX_LINE_BYTES, JsonLinesReader, parse_event_json};
pub use metadata::Metadata;
pub use name::Name;
pub use row::Row;

/// What happened.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Operation {
    /// A row was inserted (Debezium `c`).
    Insert,
    /// A row was updated (`u`).
    Update,
    /// A row was deleted (`d`).
    Delete,
    /// A row read by a snapshot (`r`).
    SnapshotRead,
    /// A table was truncated (`t`).
    Truncate,
    /// A table's schema changed (DDL).
    SchemaChange,
    /// A logical decoding message (`m`).
    Message,
    /// A control event (snapshot started, heartbeat, transaction boundary); see
    /// [`ChangeEvent::control`].
    Control,
}

impl Operation {
    /// The action name triggers and Go callbacks use: `INSERT`, `UPDATE`, `DELETE`,
    /// `SNAPSHOT`, `TRUNCATE`, `SCHEMA_CHANGE`, `MESSAGE`, `CONTROL`.
    pub fn action(self) -> &'static str {
        match self {
            Self::Insert => "INSERT",
            Self::Update => "UPDATE",
            Self::Delete => "DELETE",
            Self::SnapshotRead => "SNAPSHOT",
            Self::Truncate => "TRUNCATE",
            Self::SchemaChange => "SCHEMA_CHANGE",
            Self::Message => "MESSAGE",
            Self::Control => "CONTROL",
        }
    }

    /// Parses an action or op name, case-insensitively: the action names above, `READ`, and
    /// Debezium's one-letter codes `c`, `u`, `d`, `r`, `t`, `m`.
    pub fn parse(name: &str) -> Option<Self> {
        let op = match name.trim().to_ascii_uppercase().as_str() {
            "INSERT" | "C" | "CREATE" => Self::Insert,
            "UPDATE" | "U" => Self::Update,
            "DELETE" | "D" => Self::Delete,
            "SNAPSHOT" | "SNAPSHOT_READ" | "READ" | "R" | "LOAD" => Self::SnapshotRead,
            "TRUNCATE" | "T" => Self::Truncate,
            "SCHEMA_CHANGE" | "DDL" => Self::SchemaChange,
            "MESSAGE" | "M" => Self::Message,
            "CONTROL" => Self::Control,
            _ => return None,
        };
        Some(op)
    }

    /// Whether the event is a data change of a row (insert, update, delete, snapshot read).
    pub fn is_row_change(self) -> bool {
        matches!(
            self,
            Self::Insert | Self::Update | Self::Delete | Self::SnapshotRead
        )
    }
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.action())
    }
}

/// A provider's position of an event (PostgreSQL LSN, MySQL binlog file:pos or GTID, Kafka
/// topic/partition/offset, Kinesis sequence number): an opaque resume token.
///
/// Only the provider that made it interprets it.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Position(pub String);

impl Position {
    /// Wraps a token.
    pub fn new(token: impl Into<String>) -> Self {
        Self(token.into())
    }

    /// The token.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One change (or control event) from a source.
///
/// Row images (`key`, `before`, `after`) are JSON objects of column → value, already decoded
/// by the provider (decimals as exact strings, times as ISO-8601). A [`Row`] reads like a
/// [`Value`] (`event.after.as_ref().map(|r| &r["id"])`); a provider may keep it as checked
/// JSON text that is parsed on first read, so events nobody reads the rows of cost no parse.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ChangeEvent {
    /// The source that produced the event.
    pub source_id: Name,
    /// What happened.
    pub operation: Operation,
    /// The schema (PostgreSQL schema, MySQL database), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<Name>,
    /// The table name, without schema; empty for events not about one table.
    #[serde(default)]
    pub table: Name,
    /// The row's key columns, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<Row>,
    /// The row before the change (updates and deletes, when the source sends it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<Row>,
    /// The row after the change (inserts, updates, snapshot reads).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<Row>,
    /// When the change was committed in the source database.
    #[serde(
        default,
        with = "time::serde::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub commit_time: Option<OffsetDateTime>,
    /// The provider's position of the event, a resume token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub position: Option<Position>,
    /// The source transaction id, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transaction_id: Option<String>,
    /// For [`Operation::Control`]: what kind (`snapshot_started`, `heartbeat`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub control: Option<String>,
    /// Anything else the provider knows (snapshot flags, DDL text, columns left unchanged),
    /// read like a map (`metadata["xid"]`); events may share one ([`Metadata`]).
    #[serde(default, skip_serializing_if = "Metadata::is_empty")]
    pub metadata: Metadata,
}

impl ChangeEvent {
    /// A new event with only source, operation and table set.
    ///
    /// `table` may be `schema.table`; it is split on the first dot.
    pub fn new(source_id: impl Into<Name>, operation: Operation, table: &str) -> Self {
        let (schema, table) = split_table(table);
        Self::of_table(source_id, operation, schema, table)
    }

    /// A new event with only source, operation, schema and table set, from names a
    /// provider already holds (no text is split or copied).
    pub fn of_table(
        source_id: impl Into<Name>,
        operation: Operation,
        schema: Option<Name>,
        table: Name,
    ) -> Self {
        Self {
            source_id: source_id.into(),
            operation,
            schema,
            table,
            key: None,
            before: None,
            after: None,
            commit_time: None,
            position: None,
            transaction_id: None,
            control: None,
            metadata: Metadata::new(),
        }
    }

    /// A control event (`snapshot_started`, `heartbeat`, ...).
    pub fn control(source_id: impl Into<Name>, kind: impl Into<String>) -> Self {
        let mut e = Self::new(source_id, Operation::Control, "");
        e.control = Some(kind.into());
        e
    }

    /// Sets `key`.
    pub fn with_key(mut self, key: impl Into<Row>) -> Self {
        self.key = Some(key.into());
        self
    }

    /// Sets `before`.
    pub fn with_before(mut self, before: impl Into<Row>) -> Self {
        self.before = Some(before.into());
        self
    }

    /// Sets `after`.
    pub fn with_after(mut self, after: impl Into<Row>) -> Self {
        self.after = Some(after.into());
        self
    }

    /// Sets `position`.
    pub fn with_position(mut self, position: impl Into<String>) -> Self {
        self.position = Some(Position::new(position));
        self
    }

    /// Sets `commit_time`.
    pub fn with_commit_time(mut self, t: OffsetDateTime) -> Self {
        self.commit_time = Some(t);
        self
    }

    /// Sets `transaction_id`.
    pub fn with_transaction_id(mut self, id: impl Into<String>) -> Self {
        self.transaction_id = Some(id.into());
        self
    }

    /// Adds one metadata entry.
    pub fn with_metadata(mut self, key: impl Into<String>, value: Value) -> Self {
        self.metadata.insert(key.into(), value);
        self
    }

    /// `schema.table`, or just `table` without a schema; empty for an event about no table
    /// (a `DROP DATABASE`, a transaction marker), even when it names a schema (never `db.`).
    pub fn qualified_table(&self) -> String {
        match &self.schema {
            Some(s) if !s.is_empty() && !self.table.is_empty() => format!("{s}.{}", self.table),
            _ => self.table.to_string(),
        }
    }

    /// The action name of the operation (`INSERT`, ...), as triggers and Go callbacks use it.
    pub fn action(&self) -> &'static str {
        self.operation.action()
    }

    /// The Go-compatible JSON view handed to workflow callbacks:
    /// `{"source_id", "table": "schema.table", "op", "action", "before", "after", "key",
    /// "schema", "ts", "position", "transaction_id", "control", "metadata"}`, with `op` and
    /// `action` both the upper-case action name (`INSERT`, ...).
    pub fn to_go_json(&self) -> Value {
        go_json::to_go_json(self)
    }

    /// Converts a Go-style event map (`{"op": "INSERT", "table": "public.orders", "before",
    /// "after"}`, with `action` accepted for `op` and `source` for `table`) into an event.
    pub fn from_go_json(source_id: &str, value: &Value) -> Result<Self, EventParseError> {
        go_json::from_go_json(source_id, value)
    }
}

/// Splits `schema.table` on the first dot.
fn split_table(qualified: &str) -> (Option<Name>, Name) {
    match qualified.split_once('.') {
        Some((s, t)) if !s.is_empty() => (Some(s.into()), t.into()),
        _ => (None, qualified.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn operations_parse_case_insensitively_with_debezium_codes() {
        assert_eq!(Operation::parse("insert"), Some(Operation::Insert));
        assert_eq!(Operation::parse("c"), Some(Operation::Insert));
        assert_eq!(Operation::parse("U"), Some(Operation::Update));
        assert_eq!(Operation::parse("d"), Some(Operation::Delete));
        assert_eq!(Operation::parse("r"), Some(Operation::SnapshotRead));
        assert_eq!(Operation::parse("Snapshot"), Some(Operation::SnapshotRead));
        assert_eq!(Operation::parse("t"), Some(Operation::Truncate));
        assert_eq!(Operation::parse("upsert"), None);
    }

    #[test]
    fn typed_json_round_trips() {
        let e = ChangeEvent::new("s", Operation::Update, "public.orders")
            .with_key(json!({"id": 1}))
            .with_before(json!({"id": 1, "total": "9.99"}))
            .with_after(json!({"id": 1, "total": "10.00"}))
            .with_position("0/16B3748")
            .with_transaction_id("771")
            .with_commit_time(time::macros::datetime!(2026-03-01 12:00:00 UTC));
        let text = serde_json::to_string(&e).unwrap();
        let back: ChangeEvent = serde_json::from_str(&text).unwrap();
        assert_eq!(back, e);
        assert_eq!(e.qualified_table(), "public.orders");
        let mut no_table = ChangeEvent::new("s", Operation::SchemaChange, "");
        no_table.schema = Some("inventory".into());
        assert_eq!(no_table.qualified_table(), "", "never `inventory.`");
        let v: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["operation"], "update");
        assert_eq!(v["commit_time"], "2026-03-01T12:00:00Z");
    }
}
