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

/// After `sql_raw` + `unarchive`: one `{lsn, xid, data}` row of the wal2json slot. With
/// `acknowledged` (the provider advances the slot, [`crate::sql::SlotRead::Peek`]) the rows
/// also carry `commit_lsn` and `seq`, passed on, and a transaction's commit row becomes a
/// `commit` line: the provider's position marker, never an event.
pub(crate) fn wal2json_mapping(source_id: &str, acknowledged: bool) -> String {
    let (commit_arm, position) = if acknowledged {
        (
            "\n  \"C\" => \"commit\"",
            ",\n  \"commit_lsn\": this.commit_lsn,\n  \"seq\": this.seq",
        )
    } else {
        ("", "")
    };
    format!(
        r#"let change = this.data.parse_json()
let op = match $change.action {{
  "I" => "insert"
  "U" => "update"
  "D" => "delete"
  "T" => "truncate"{commit_arm}
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
  "commit_time": $change.timestamp{position}
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
    /// PostgreSQL stream read by the provider: the end of the row's transaction's commit
    /// record (where the slot is advanced to once the transaction is handled).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit_lsn: Option<Value>,
    /// PostgreSQL stream read by the provider: the row's place in its transaction.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seq: Option<Value>,
}

impl NormalizedEvent {
    /// Parses one JSON line.
    pub fn from_json_line(line: &str) -> Result<Self, String> {
        serde_json::from_str(line).map_err(|e| format!("not a normalized event: {e}"))
    }

    /// Whether this is a transaction's commit marker (`op` `commit`), not a change.
    pub fn is_commit(&self) -> bool {
        self.op == "commit"
    }

    /// Where the row stands in the slot: its transaction's commit position and its place in
    /// the transaction, when the stream carries them (`None` otherwise). An unreadable one is
    /// an error: dropping or ordering rows on a guess could lose changes.
    pub fn slot_position(&self) -> Result<Option<(u64, u64)>, String> {
        let lsn = match &self.commit_lsn {
            None | Some(Value::Null) => return Ok(None),
            Some(Value::String(s)) => {
                parse_lsn(s).ok_or_else(|| format!("commit_lsn {s:?} is not a PostgreSQL LSN"))?
            }
            Some(other) => return Err(format!("commit_lsn {other} is not a PostgreSQL LSN")),
        };
        let seq = match &self.seq {
            Some(Value::Number(n)) => n.as_u64(),
            Some(Value::String(s)) => s.parse().ok(),
            _ => None,
        }
        .ok_or_else(|| "a row with commit_lsn needs its seq (a whole number)".to_owned())?;
        Ok(Some((lsn, seq)))
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

/// A PostgreSQL LSN (`16/B374D848`: two hexadecimal halves of at most 8 digits) as a number.
pub(crate) fn parse_lsn(text: &str) -> Option<u64> {
    let (hi, lo) = text.split_once('/')?;
    let half = |h: &str| {
        (!h.is_empty() && h.len() <= 8 && h.bytes().all(|b| b.is_ascii_hexdigit()))
            .then(|| u32::from_str_radix(h, 16).ok())
            .flatten()
    };
    Some((u64::from(half(hi)?) << 32) | u64::from(half(lo)?))
}

/// A number as PostgreSQL writes an LSN.
pub(crate) fn format_lsn(lsn: u64) -> String {
    format!("{:X}/{:X}", lsn >> 32, lsn & 0xFFFF_FFFF)
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
    fn lsns_parse_and_format_within_their_range() {
        assert_eq!(parse_lsn("0/154A3D8"), Some(0x154_A3D8));
        assert_eq!(parse_lsn("16/B374D848"), Some((0x16 << 32) | 0xB374_D848));
        assert_eq!(parse_lsn("FFFFFFFF/FFFFFFFF"), Some(u64::MAX));
        for bad in [
            "",
            "/",
            "0/",
            "/1",
            "1/2/3",
            "G/0",
            "100000000/0",
            "0/-1",
            " 0/1",
            "0x1/2",
        ] {
            assert_eq!(parse_lsn(bad), None, "{bad:?}");
        }
        assert_eq!(format_lsn(0x16_B374_D848), "16/B374D848");
        assert_eq!(
            parse_lsn(&format_lsn(123_456_789_012)),
            Some(123_456_789_012)
        );
    }

    #[test]
    fn slot_positions_are_read_or_refused() {
        let pos = |v: serde_json::Value| {
            NormalizedEvent::from_json_line(&v.to_string())
                .unwrap()
                .slot_position()
        };
        assert_eq!(
            pos(json!({"source_id":"s","op":"insert","commit_lsn":"0/10","seq":3})),
            Ok(Some((16, 3)))
        );
        assert_eq!(pos(json!({"source_id":"s","op":"insert"})), Ok(None));
        assert!(pos(json!({"source_id":"s","op":"insert","commit_lsn":"x","seq":3})).is_err());
        assert!(pos(json!({"source_id":"s","op":"insert","commit_lsn":"0/10"})).is_err());
        assert!(pos(json!({"source_id":"s","op":"insert","commit_lsn":"0/10","seq":-1})).is_err());
    }

    #[test]
    fn the_acknowledged_mapping_passes_commits_and_positions() {
        let m = wal2json_mapping("s", true);
        assert!(m.contains(r#""C" => "commit""#), "{m}");
        assert!(m.contains(r#""commit_lsn": this.commit_lsn"#), "{m}");
        assert!(m.contains(r#""seq": this.seq"#), "{m}");
        let plain = wal2json_mapping("s", false);
        assert!(
            !plain.contains(r#""commit""#) && !plain.contains("commit_lsn"),
            "{plain}"
        );
        assert!(
            plain.contains("\"commit_time\": $change.timestamp\n} }"),
            "{plain}"
        );
    }

    #[test]
    fn bloblang_strings_are_quoted_and_escaped() {
        assert_eq!(bloblang_string(r#"a"b\c"#), r#""a\"b\\c""#);
    }
}
