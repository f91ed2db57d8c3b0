//! The Bloblang mappings to our normalized event JSON, and its decoder.
//!
//! Every stream ends with a mapping that writes one JSON object per change:
//!
//! ```json
//! {"source_id":"shop","op":"insert","schema":"public","table":"orders",
//!  "key":null,"before":null,"after":{"id":1},"lsn":"0/16B3748","xid":"742",
//!  "commit_time":"2026-03-01 12:00:00.123+00"}
//! ```
//!
//! `op` is `insert`, `update`, `delete`, `truncate` or `snapshot`; `commit_time` is an
//! RFC 3339 or PostgreSQL timestamp string, or epoch milliseconds. Anything that is not a row
//! change (transaction markers, tombstones) is dropped in the mapping.

use cdc_core::{ChangeEvent, Operation, Row};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// A string as a Bloblang string literal. JSON string syntax is a subset of what Bloblang
/// (Go `strconv.Unquote`) reads.
pub(crate) fn bloblang_string(s: &str) -> String {
    serde_json::to_string(s).expect("a string always serializes")
}

/// After `sql_raw` + `unarchive`: one `{lsn, xid, data}` row of the wal2json slot.
pub(crate) fn wal2json_mapping(source_id: &str) -> String {
    format!(
        r#"let change = this.data.parse_json()
let op = match $change.action {{
  "I" => "insert"
  "U" => "update"
  "D" => "delete"
  "T" => "truncate"
  _ => "skip"
}}
root = if $op == "skip" {{ deleted() }} else {{ {{
  "source_id": {sid},
  "op": $op,
  "schema": $change.schema,
  "table": $change.table,
  "key": null,
  "before": if $change.exists("identity") {{ $change.identity.fold({{}}, item -> item.tally.merge({{(item.value.name): item.value.value}})) }} else {{ null }},
  "after": if $change.exists("columns") {{ $change.columns.fold({{}}, item -> item.tally.merge({{(item.value.name): item.value.value}})) }} else {{ null }},
  "lsn": this.lsn,
  "xid": this.xid,
  "commit_time": $change.timestamp
}} }}
"#,
        sid = bloblang_string(source_id)
    )
}

/// A DynamoDB change record read from the table's Kinesis data stream.
pub(crate) fn dynamodb_mapping(source_id: &str) -> String {
    format!(
        r#"let op = match this.eventName.or("") {{
  "INSERT" => "insert"
  "MODIFY" => "update"
  "REMOVE" => "delete"
  _ => "skip"
}}
let created = this.dynamodb.ApproximateCreationDateTime
root = if $op == "skip" {{ deleted() }} else {{ {{
  "source_id": {sid},
  "op": $op,
  "schema": null,
  "table": this.tableName,
  "key": this.dynamodb.Keys,
  "before": this.dynamodb.OldImage,
  "after": this.dynamodb.NewImage,
  "lsn": @kinesis_sequence_number,
  "xid": null,
  "commit_time": if this.dynamodb.ApproximateCreationDateTimePrecision.or("") == "MICROSECOND" {{ $created / 1000 }} else {{ $created }}
}} }}
"#,
        sid = bloblang_string(source_id)
    )
}

/// A Debezium envelope (with or without the JsonConverter `schema`/`payload` wrapper).
pub(crate) fn debezium_mapping(source_id: &str) -> String {
    format!(
        r#"let p = if content().length() == 0 {{ null }} else {{ if this.exists("payload") && this.exists("schema") {{ this.payload }} else {{ this }} }}
let op = if $p == null {{ "skip" }} else {{ match $p.op.or("") {{
  "c" => "insert"
  "u" => "update"
  "d" => "delete"
  "r" => "snapshot"
  "t" => "truncate"
  _ => "skip"
}} }}
root = if $op == "skip" {{ deleted() }} else {{ {{
  "source_id": {sid},
  "op": $op,
  "schema": $p.source.schema.or($p.source.db),
  "table": $p.source.table,
  "key": null,
  "before": $p.before,
  "after": $p.after,
  "lsn": $p.source.lsn.or($p.source.pos),
  "xid": $p.source.txId.or($p.source.gtid),
  "commit_time": $p.source.ts_ms
}} }}
"#,
        sid = bloblang_string(source_id)
    )
}

/// A row of Redpanda Connect's `postgres_cdc` / `mysql_cdc` (metadata `operation`, `table`).
pub(crate) fn redpanda_mapping(
    source_id: &str,
    schema: Option<&str>,
    position_meta: &str,
) -> String {
    let schema = schema.map(bloblang_string).unwrap_or_else(|| "null".into());
    format!(
        r#"let op = match @operation.or("") {{
  "insert" => "insert"
  "update" => "update"
  "delete" => "delete"
  "read" => "snapshot"
  _ => "skip"
}}
root = if $op == "skip" {{ deleted() }} else {{ {{
  "source_id": {sid},
  "op": $op,
  "schema": {schema},
  "table": @table,
  "key": null,
  "before": if $op == "delete" {{ this }} else {{ null }},
  "after": if $op == "delete" {{ null }} else {{ this }},
  "lsn": @{position_meta},
  "xid": null,
  "commit_time": null
}} }}
"#,
        sid = bloblang_string(source_id)
    )
}

/// One normalized event, as the mappings write it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NormalizedEvent {
    /// The source.
    pub source_id: String,
    /// `insert`, `update`, `delete`, `truncate`, `snapshot`.
    pub op: String,
    /// Schema, when known.
    #[serde(default)]
    pub schema: Option<String>,
    /// Table.
    #[serde(default)]
    pub table: Option<String>,
    /// Key columns, when the source sends them apart.
    #[serde(default)]
    pub key: Option<Value>,
    /// Row before (for PostgreSQL: the replica identity columns).
    #[serde(default)]
    pub before: Option<Value>,
    /// Row after.
    #[serde(default)]
    pub after: Option<Value>,
    /// Source position (LSN, sequence number, binlog position).
    #[serde(default)]
    pub lsn: Option<Value>,
    /// Transaction id.
    #[serde(default)]
    pub xid: Option<Value>,
    /// Commit time: RFC 3339 / PostgreSQL text, or epoch milliseconds.
    #[serde(default)]
    pub commit_time: Option<Value>,
}

impl NormalizedEvent {
    /// Parses one JSON line.
    pub fn from_json_line(line: &str) -> Result<Self, String> {
        serde_json::from_str(line).map_err(|e| format!("not a normalized event: {e}"))
    }

    /// Converts to a `ChangeEvent`. `expected_source` replaces a missing or empty source id;
    /// an unknown `op` or unreadable `commit_time` is an error.
    pub fn into_change_event(self, expected_source: &str) -> Result<ChangeEvent, String> {
        let operation = match self.op.as_str() {
            "snapshot" => Operation::SnapshotRead,
            other => Operation::parse(other).ok_or_else(|| format!("unknown op {other:?}"))?,
        };
        let source_id = if self.source_id.is_empty() {
            expected_source.to_owned()
        } else {
            self.source_id
        };
        let mut event = ChangeEvent::new(source_id, operation, "");
        event.schema = self.schema.filter(|s| !s.is_empty()).map(Into::into);
        event.table = self.table.unwrap_or_default().into();
        event.key = self.key.filter(|v| !v.is_null()).map(Row::from);
        event.before = self.before.filter(|v| !v.is_null()).map(Row::from);
        event.after = self.after.filter(|v| !v.is_null()).map(Row::from);
        event.position = scalar_text(self.lsn).map(cdc_core::Position::new);
        event.transaction_id = scalar_text(self.xid);
        event.commit_time = match self.commit_time {
            None | Some(Value::Null) => None,
            Some(v) => Some(parse_commit_time(&v)?),
        };
        Ok(event)
    }
}

fn scalar_text(v: Option<Value>) -> Option<String> {
    match v? {
        Value::Null => None,
        Value::String(s) if s.is_empty() => None,
        Value::String(s) => Some(s),
        other => Some(other.to_string()),
    }
}

/// RFC 3339, PostgreSQL's `2026-03-01 12:00:00.123456+00`, or epoch milliseconds.
fn parse_commit_time(v: &Value) -> Result<OffsetDateTime, String> {
    match v {
        Value::Number(n) => {
            let ms = n
                .as_f64()
                .ok_or_else(|| format!("commit_time {n} is not a number of milliseconds"))?;
            let nanos = (ms * 1_000_000.0).round() as i128;
            OffsetDateTime::from_unix_timestamp_nanos(nanos)
                .map_err(|e| format!("commit_time {n}: {e}"))
        }
        Value::String(s) => {
            if let Ok(t) = OffsetDateTime::parse(s, &Rfc3339) {
                return Ok(t);
            }
            // PostgreSQL text: a space for `T`, and an offset that may be `+00` or `+05:30`.
            let mut text = s.replacen(' ', "T", 1);
            if let Some(pos) = text.rfind(['+', '-'])
                && pos > 10
                && text.len() - pos == 3
            {
                text.push_str(":00");
            }
            OffsetDateTime::parse(&text, &Rfc3339)
                .map_err(|e| format!("commit_time {s:?} is not a timestamp: {e}"))
        }
        other => Err(format!("commit_time {other} is not a timestamp")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn decodes_a_wal2json_shaped_event() {
        let line = json!({"source_id":"shop","op":"update","schema":"public","table":"orders",
            "key":null,"before":{"id":1},"after":{"id":1,"v":"c"},"lsn":"0/154ACC0","xid":"743",
            "commit_time":"2026-11-24 05:13:16.839983+00"})
        .to_string();
        let e = NormalizedEvent::from_json_line(&line)
            .unwrap()
            .into_change_event("shop")
            .unwrap();
        assert_eq!(e.operation, Operation::Update);
        assert_eq!(e.qualified_table(), "public.orders");
        assert_eq!(e.before, Some(json!({"id":1}).into()));
        assert_eq!(e.position.unwrap().as_str(), "0/154ACC0");
        assert_eq!(e.transaction_id.as_deref(), Some("743"));
        let t = e.commit_time.unwrap();
        assert_eq!(
            (t.year(), t.microsecond(), t.offset().whole_hours()),
            (2026, 839_983, 0)
        );
    }

    #[test]
    fn decodes_epoch_millis_and_offsets() {
        let t = parse_commit_time(&json!(1_700_000_000_123i64)).unwrap();
        assert_eq!(t.unix_timestamp(), 1_700_000_000);
        assert_eq!(t.millisecond(), 123);
        let t = parse_commit_time(&json!("2026-01-02 03:04:05+05:30")).unwrap();
        assert_eq!(t.offset().whole_minutes(), 330);
        assert!(parse_commit_time(&json!("yesterday")).is_err());
    }

    #[test]
    fn rejects_unknown_ops() {
        let e = NormalizedEvent::from_json_line(r#"{"source_id":"s","op":"merge"}"#).unwrap();
        assert!(e.into_change_event("s").unwrap_err().contains("merge"));
        assert!(NormalizedEvent::from_json_line("level=info msg=started").is_err());
    }

    #[test]
    fn bloblang_strings_are_quoted_and_escaped() {
        assert_eq!(bloblang_string(r#"a"b\c"#), r#""a\"b\\c""#);
    }
}
