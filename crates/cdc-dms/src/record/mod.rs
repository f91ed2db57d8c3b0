//! Decoding the records DMS writes to a Kinesis or Kafka target into [`ChangeEvent`]s.
//!
//! DMS writes one JSON document per change (`MessageFormat` `json` or `json-unformatted`):
//!
//! ```json
//! {"data": {"id": 1, "total": "9.99"},
//!  "metadata": {"timestamp": "2026-03-01T12:00:00.123456Z", "record-type": "data",
//!               "operation": "insert", "partition-key-type": "primary-key",
//!               "schema-name": "public", "table-name": "orders", "transaction-id": 8589934593}}
//! ```
//!
//! | `record-type` / `operation` | event |
//! |---|---|
//! | `data` / `load` | [`Operation::SnapshotRead`], `after` = `data` |
//! | `data` / `insert` | [`Operation::Insert`], `after` = `data` |
//! | `data` / `update` | [`Operation::Update`], `after` = `data`, `before` = the before image when enabled |
//! | `data` / `delete` | [`Operation::Delete`], `before` = the before image, else `data` (DMS writes the deleted row there) |
//! | `control` / `create-table`, `drop-table`, `rename-table`, `change-columns`, `add-column`, `drop-column`, `rename-column`, `column-type-change` | [`Operation::SchemaChange`], `metadata.ddl_operation` = the operation |
//! | `control` / `truncate-table` | [`Operation::Truncate`] |
//! | `control` / anything else | [`Operation::Control`], `control` = the operation |
//!
//! `commit_time` is `metadata.commit-timestamp` (written with `IncludeTransactionDetails`), else
//! `metadata.timestamp`, which is when DMS produced the record. `transaction_id` is
//! `metadata.transaction-id`. The before image (task setting `BeforeImageSettings`) is read from
//! the top-level field `before-image` unless [`DmsRecordDecoder::before_image_field`] says
//! otherwise. Every other metadata field, and the top-level `control` object of
//! `IncludeControlDetails`, is kept in [`ChangeEvent::metadata`] under its DMS name.

use cdc_core::{ChangeEvent, Operation, Row};
use serde_json::{Map, Value};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;

/// Control operations that change a table's definition.
const DDL_OPERATIONS: &[&str] = &[
    "create-table",
    "drop-table",
    "rename-table",
    "change-columns",
    "add-column",
    "drop-column",
    "rename-column",
    "column-type-change",
];

/// Metadata fields mapped to typed event fields (not copied to `metadata`).
const MAPPED_METADATA: &[&str] = &[
    "record-type",
    "operation",
    "schema-name",
    "table-name",
    "transaction-id",
];

/// A DMS record that cannot be decoded; the message names the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid DMS record: {message}")]
pub struct RecordError {
    /// What is wrong, naming the field (`metadata.operation`, `data`, ...).
    pub message: String,
}

impl RecordError {
    fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
        }
    }
}

/// Decodes DMS target records of one source.
#[derive(Clone, Debug)]
pub struct DmsRecordDecoder {
    source_id: String,
    before_image_field: String,
}

impl DmsRecordDecoder {
    /// A decoder for `source_id`, reading before images from `before-image`.
    pub fn new(source_id: impl Into<String>) -> Self {
        Self {
            source_id: source_id.into(),
            before_image_field: "before-image".into(),
        }
    }

    /// Reads before images from `field` (the `FieldName` of `BeforeImageSettings`).
    pub fn before_image_field(mut self, field: impl Into<String>) -> Self {
        self.before_image_field = field.into();
        self
    }

    /// Decodes one record from its bytes (UTF-8 JSON).
    pub fn decode(&self, bytes: &[u8]) -> Result<ChangeEvent, RecordError> {
        let value: Value = serde_json::from_slice(bytes)
            .map_err(|e| RecordError::new(format!("not JSON: {e}")))?;
        self.decode_value(value)
    }

    /// Decodes one record already parsed as JSON.
    pub fn decode_value(&self, value: Value) -> Result<ChangeEvent, RecordError> {
        let Value::Object(mut record) = value else {
            return Err(RecordError::new("a record must be a JSON object"));
        };
        let metadata = match record.remove("metadata") {
            Some(Value::Object(m)) => m,
            Some(_) => return Err(RecordError::new("metadata must be an object")),
            None => return Err(RecordError::new("metadata is missing")),
        };
        let record_type = str_field(&metadata, "record-type")?;
        let operation = str_field(&metadata, "operation")?;
        let schema = opt_str_field(&metadata, "schema-name")?.filter(|s| !s.is_empty());
        let table = opt_str_field(&metadata, "table-name")?.unwrap_or_default();

        let mut event = match (record_type, operation) {
            ("data", op) => {
                let op = match op {
                    "load" => Operation::SnapshotRead,
                    "insert" => Operation::Insert,
                    "update" => Operation::Update,
                    "delete" => Operation::Delete,
                    other => {
                        return Err(RecordError::new(format!(
                            "metadata.operation {other:?} is not a data operation (load, insert, update, delete)"
                        )));
                    }
                };
                if table.is_empty() {
                    return Err(RecordError::new(
                        "metadata.table-name is missing on a data record",
                    ));
                }
                let data = match record.remove("data") {
                    Some(Value::Object(d)) => Value::Object(d),
                    Some(_) => return Err(RecordError::new("data must be an object")),
                    None => return Err(RecordError::new("data is missing on a data record")),
                };
                let before = match record.remove(&self.before_image_field) {
                    None | Some(Value::Null) => None,
                    Some(Value::Object(b)) => Some(Value::Object(b)),
                    Some(_) => {
                        return Err(RecordError::new(format!(
                            "{} must be an object",
                            self.before_image_field
                        )));
                    }
                };
                let mut e = ChangeEvent::new(&self.source_id, op, "");
                match op {
                    Operation::Delete => e.before = Some(before.unwrap_or(data).into()),
                    _ => {
                        e.after = Some(data.into());
                        e.before = before.map(Row::from);
                    }
                }
                e
            }
            ("control", op) if DDL_OPERATIONS.contains(&op) => {
                ChangeEvent::new(&self.source_id, Operation::SchemaChange, "")
                    .with_metadata("ddl_operation", Value::String(op.to_owned()))
            }
            ("control", "truncate-table") => {
                ChangeEvent::new(&self.source_id, Operation::Truncate, "")
            }
            ("control", op) => ChangeEvent::control(&self.source_id, op),
            (other, _) => {
                return Err(RecordError::new(format!(
                    "metadata.record-type {other:?} is neither \"data\" nor \"control\""
                )));
            }
        };
        event.schema = schema.map(Into::into);
        event.table = table.into();

        if let Some(tx) = metadata.get("transaction-id") {
            match tx {
                Value::String(s) if !s.is_empty() => event.transaction_id = Some(s.clone()),
                Value::Number(n) => event.transaction_id = Some(n.to_string()),
                Value::Null | Value::String(_) => {}
                _ => {
                    return Err(RecordError::new(
                        "metadata.transaction-id must be a string or a number",
                    ));
                }
            }
        }
        event.commit_time = ["commit-timestamp", "timestamp"].iter().find_map(|k| {
            metadata
                .get(*k)
                .and_then(Value::as_str)
                .and_then(parse_time)
        });

        for (k, v) in metadata {
            if !MAPPED_METADATA.contains(&k.as_str()) {
                event.metadata.insert(k, v);
            }
        }
        if let Some(control) = record.remove("control") {
            event.metadata.insert("control".into(), control);
        }
        Ok(event)
    }
}

fn str_field<'a>(m: &'a Map<String, Value>, name: &str) -> Result<&'a str, RecordError> {
    opt_str_field(m, name)?.ok_or_else(|| RecordError::new(format!("metadata.{name} is missing")))
}

fn opt_str_field<'a>(
    m: &'a Map<String, Value>,
    name: &str,
) -> Result<Option<&'a str>, RecordError> {
    match m.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(RecordError::new(format!(
            "metadata.{name} must be a string"
        ))),
    }
}

/// RFC 3339, or DMS's zone-less `2026-03-01T12:00:00.123456` (UTC).
fn parse_time(s: &str) -> Option<OffsetDateTime> {
    if let Ok(t) = OffsetDateTime::parse(s, &Rfc3339) {
        return Some(t);
    }
    let naive = format_description!(
        "[year]-[month]-[day][first [T][ ]][hour]:[minute]:[second][optional [.[subsecond]]]"
    );
    time::PrimitiveDateTime::parse(s, naive)
        .ok()
        .map(|t| t.assume_utc())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn decode(v: Value) -> Result<ChangeEvent, RecordError> {
        DmsRecordDecoder::new("src").decode_value(v)
    }

    fn record(op: &str, data: Value) -> Value {
        json!({"data": data, "metadata": {
            "timestamp": "2026-03-01T12:00:00.123456Z", "record-type": "data", "operation": op,
            "partition-key-type": "primary-key", "schema-name": "public", "table-name": "orders",
            "transaction-id": 8589934593u64}})
    }

    #[test]
    fn data_records() {
        let e = decode(record("insert", json!({"id": 1}))).unwrap();
        assert_eq!(e.operation, Operation::Insert);
        assert_eq!(e.qualified_table(), "public.orders");
        assert_eq!(e.after, Some(json!({"id": 1}).into()));
        assert_eq!(e.before, None);
        assert_eq!(e.transaction_id.as_deref(), Some("8589934593"));
        assert_eq!(
            e.commit_time,
            Some(time::macros::datetime!(2026-03-01 12:00:00.123456 UTC))
        );
        assert_eq!(e.metadata["partition-key-type"], "primary-key");
        assert_eq!(e.source_id, "src");

        let e = decode(record("load", json!({"id": 2}))).unwrap();
        assert_eq!(e.operation, Operation::SnapshotRead);

        let mut upd = record("update", json!({"id": 1, "n": 2}));
        upd["before-image"] = json!({"id": 1, "n": 1});
        let e = decode(upd).unwrap();
        assert_eq!(e.operation, Operation::Update);
        assert_eq!(e.before, Some(json!({"id": 1, "n": 1}).into()));
        assert_eq!(e.after, Some(json!({"id": 1, "n": 2}).into()));

        let e = decode(record("delete", json!({"id": 1}))).unwrap();
        assert_eq!(e.operation, Operation::Delete);
        assert_eq!(e.before, Some(json!({"id": 1}).into()));
        assert_eq!(e.after, None);
    }

    #[test]
    fn control_records() {
        let ddl = json!({"control": {"table-def": {"columns": {}}}, "metadata": {
            "timestamp": "2026-03-01T12:00:00Z", "record-type": "control",
            "operation": "add-column", "partition-key-type": "task-id",
            "schema-name": "public", "table-name": "orders"}});
        let e = decode(ddl).unwrap();
        assert_eq!(e.operation, Operation::SchemaChange);
        assert_eq!(e.metadata["ddl_operation"], "add-column");
        assert!(e.metadata.contains_key("control"));
        assert_eq!(e.table, "orders");

        let t = json!({"metadata": {"record-type": "control", "operation": "truncate-table",
            "schema-name": "public", "table-name": "orders"}});
        assert_eq!(decode(t).unwrap().operation, Operation::Truncate);

        let other =
            json!({"metadata": {"record-type": "control", "operation": "awsdms-heartbeat"}});
        let e = decode(other).unwrap();
        assert_eq!(e.operation, Operation::Control);
        assert_eq!(e.control.as_deref(), Some("awsdms-heartbeat"));
    }

    #[test]
    fn bad_records_name_the_field() {
        let cases = [
            (json!([1]), "JSON object"),
            (json!({"data": {}}), "metadata is missing"),
            (record("upsert", json!({})), "metadata.operation"),
            (
                json!({"metadata": {"operation": "insert"}}),
                "metadata.record-type",
            ),
            (record("insert", json!(5)), "data must be an object"),
            (
                json!({"metadata": {"record-type": "data", "operation": "insert",
                "table-name": "t"}}),
                "data is missing",
            ),
            (
                json!({"metadata": {"record-type": "row", "operation": "insert"}}),
                "record-type",
            ),
        ];
        for (v, want) in cases {
            let err = decode(v.clone()).unwrap_err().to_string();
            assert!(err.contains(want), "{v}: {err}");
        }
        assert!(DmsRecordDecoder::new("s").decode(b"not json").is_err());
    }

    #[test]
    fn zone_less_timestamps_are_utc() {
        assert_eq!(
            parse_time("2026-11-24T03:56:40.254118"),
            Some(time::macros::datetime!(2026-11-24 03:56:40.254118 UTC))
        );
        assert_eq!(parse_time("yesterday"), None);
    }
}
