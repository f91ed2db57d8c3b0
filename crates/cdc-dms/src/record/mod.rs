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
//! | `data` / `load` (`read`) | [`Operation::SnapshotRead`], `after` = `data` |
//! | `data` / `insert` (`create`) | [`Operation::Insert`], `after` = `data` |
//! | `data` / `update` | [`Operation::Update`], `after` = `data`, `before` = the before image when enabled |
//! | `data` / `delete` | [`Operation::Delete`], `before` = `data` (DMS writes the deleted row there), with any column only a before image has |
//! | `control` / `create-table`, `drop-table` (`DropTable`), `rename-table`, `change-columns`, `add-column`, `drop-column`, `rename-column`, `column-type-change` | [`Operation::SchemaChange`], `metadata.ddl_operation` = the operation (kebab-case) |
//! | `control` / `truncate-table` (`TruncateTable`) | [`Operation::Truncate`] |
//! | `control` / anything else | [`Operation::Control`], `control` = the operation |
//!
//! The names in parentheses are those of the "Message format" section of AWS's Kinesis and
//! Kafka target guides; DMS itself writes the others.
//!
//! `commit_time` is `metadata.commit-timestamp` (written with `IncludeTransactionDetails`), else
//! `metadata.timestamp`, which is when DMS produced the record. `transaction_id` is
//! `metadata.transaction-id`. A field the decoder reads of the wrong type, a malformed
//! timestamp or a numeric id outside `0..=u64::MAX` is an error naming the field. The before image (task setting `BeforeImageSettings`) is read from
//! the top-level field `before-image` unless [`DmsRecordDecoder::before_image_field`] says
//! otherwise; an empty one (`{}`, which DMS writes when it captured no column) counts as none.
//! Every other metadata field, the top-level `control` object of `IncludeControlDetails`, and
//! any other top-level field (a before image under a `FieldName` the decoder was not told of,
//! see [`DmsRecordDecoder::task_settings`]) is kept in [`ChangeEvent::metadata`] under its
//! DMS name; a metadata field wins over a top-level one of the same name.
//!
//! The bytes may be pretty-printed (`MessageFormat` `json`) or one line ending in a newline
//! (`json-unformatted`); a leading byte order mark is ignored and an escaped lone UTF-16
//! surrogate reads as U+FFFD (see `text.rs`).

mod fields;
mod operation;
mod settings;
mod text;

use cdc_core::event::json_type_name;
use cdc_core::{ChangeEvent, Operation, Row};
use serde_json::Value;

use fields::{clip, opt_id, opt_str_field, opt_time, str_field};
use operation::{ControlKind, control_kind, data_operation};

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
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Err(RecordError::new(format!(
                "the record is empty ({} bytes, no JSON document)",
                bytes.len()
            )));
        }
        let value = text::parse(bytes)?;
        self.decode_value(value)
    }

    /// Decodes one record already parsed as JSON.
    pub fn decode_value(&self, value: Value) -> Result<ChangeEvent, RecordError> {
        let mut record = match value {
            Value::Object(record) => record,
            other => {
                return Err(RecordError::new(format!(
                    "a record must be a JSON object, not {}",
                    json_type_name(&other)
                )));
            }
        };
        let metadata = match record.remove("metadata") {
            Some(Value::Object(m)) => m,
            Some(other) => {
                return Err(RecordError::new(format!(
                    "metadata must be an object, not {}",
                    json_type_name(&other)
                )));
            }
            None => return Err(RecordError::new("metadata is missing")),
        };
        let record_type = str_field(&metadata, "record-type")?;
        let operation = str_field(&metadata, "operation")?;
        let schema = opt_str_field(&metadata, "schema-name")?.filter(|s| !s.is_empty());
        let table = opt_str_field(&metadata, "table-name")?.unwrap_or_default();
        let transaction_id = opt_id(&metadata, "transaction-id")?;
        // Both are read (and so checked) even when the first is there: a malformed
        // `timestamp` is refused whether or not `commit-timestamp` hides it.
        let commit_time = opt_time(&metadata, "commit-timestamp")?;
        let written_time = opt_time(&metadata, "timestamp")?;

        let mut ddl_operation = None;
        let mut event = match record_type {
            "data" => {
                let Some(op) = data_operation(operation) else {
                    return Err(RecordError::new(format!(
                        "metadata.operation {:?} is not a data operation (load, insert, update, delete)",
                        clip(operation)
                    )));
                };
                if table.is_empty() {
                    return Err(RecordError::new(
                        "metadata.table-name is missing or empty on a data record",
                    ));
                }
                self.data_event(op, &mut record)?
            }
            "control" => match control_kind(operation) {
                ControlKind::Ddl(ddl) => {
                    ddl_operation = Some(ddl);
                    ChangeEvent::new(&self.source_id, Operation::SchemaChange, "")
                }
                ControlKind::Truncate => ChangeEvent::new(&self.source_id, Operation::Truncate, ""),
                ControlKind::Other => ChangeEvent::control(&self.source_id, operation),
            },
            other => {
                return Err(RecordError::new(format!(
                    "metadata.record-type {:?} is neither \"data\" nor \"control\"",
                    clip(other)
                )));
            }
        };
        event.schema = schema.map(Into::into);
        event.table = table.into();
        event.transaction_id = transaction_id;
        event.commit_time = commit_time.or(written_time);

        let control = record.remove("control");
        // Sorted first: `Metadata` keeps its keys sorted in a vector, so inserting them in the
        // record's order costs a shift per key, quadratic in a hostile record of many keys
        // in descending order; in key order every insert is an append. The record's other
        // top-level fields come along (none in most records), so that nothing it holds is
        // dropped unseen; of two fields of one name, metadata's is kept.
        let mut copied: Vec<(String, Value)> = record
            .into_iter()
            .filter(|(k, _)| !metadata.contains_key(k))
            .collect();
        copied.extend(
            metadata
                .into_iter()
                .filter(|(k, _)| !MAPPED_METADATA.contains(&k.as_str())),
        );
        copied.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        event.metadata.extend(copied);
        // What the decoder sets itself goes in last, so that a record's own metadata field
        // of the same name cannot stand in for it.
        if let Some(op) = ddl_operation {
            event
                .metadata
                .insert_static("ddl_operation", Value::String(op.to_owned()));
        }
        if let Some(control) = control {
            event.metadata.insert_static("control", control);
        }
        Ok(event)
    }

    /// The event of a data record of operation `op`, taking its row and before image out of
    /// `record`.
    fn data_event(
        &self,
        op: Operation,
        record: &mut serde_json::Map<String, Value>,
    ) -> Result<ChangeEvent, RecordError> {
        let data = match record.remove("data") {
            Some(Value::Object(d)) => d,
            Some(other) => {
                return Err(RecordError::new(format!(
                    "data must be an object, not {}",
                    json_type_name(&other)
                )));
            }
            None => return Err(RecordError::new("data is missing on a data record")),
        };
        let before = match record.remove(&self.before_image_field) {
            None | Some(Value::Null) => None,
            // `{}` is DMS saying it captured no column, not an image of a row with none.
            Some(Value::Object(b)) if b.is_empty() => None,
            Some(Value::Object(b)) => Some(b),
            Some(other) => {
                return Err(RecordError::new(format!(
                    "{} must be an object, not {}",
                    clip(&self.before_image_field),
                    json_type_name(&other)
                )));
            }
        };
        let mut e = ChangeEvent::new(&self.source_id, op, "");
        match op {
            // `data` is the deleted row as the source gave it; a before image holds at most
            // the columns its `ColumnFilter` keeps (by default `pk-only`, the key alone), so
            // it adds only columns `data` lacks and never replaces the row.
            Operation::Delete => {
                let mut row = data;
                for (k, v) in before.into_iter().flatten() {
                    row.entry(k).or_insert(v);
                }
                e.before = Some(Value::Object(row).into());
            }
            _ => {
                e.after = Some(Value::Object(data).into());
                e.before = before.map(|b| Row::from(Value::Object(b)));
            }
        }
        Ok(e)
    }
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
}
