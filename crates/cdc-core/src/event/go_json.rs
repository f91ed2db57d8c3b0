//! The Go-compatible JSON view of events, both ways.
//!
//! The Go package passed `map[string]any` events around: `{"op": "INSERT", "table":
//! "public.orders", "before": {...}, "after": {...}}`, some producers writing `action` for `op`
//! and `source` for `table`. Tests and JSON Lines files still use that shape.

use serde_json::{Map, Value};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::{ChangeEvent, Operation, Position, split_table};

/// Why a JSON value could not become a [`ChangeEvent`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}{}", line.map(|l| format!(" (line {l})")).unwrap_or_default())]
pub struct EventParseError {
    /// What was wrong, naming the field.
    pub message: String,
    /// The line of a JSON Lines input, when the event came from one.
    pub line: Option<usize>,
}

impl EventParseError {
    pub(crate) fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            line: None,
        }
    }

    /// The same error, located at a line.
    pub fn at_line(mut self, line: usize) -> Self {
        self.line = Some(line);
        self
    }
}

pub(super) fn to_go_json(e: &ChangeEvent) -> Value {
    let mut m = Map::new();
    m.insert("source_id".into(), Value::String(e.source_id.to_string()));
    m.insert("table".into(), Value::String(e.qualified_table()));
    m.insert("op".into(), Value::String(e.action().into()));
    m.insert("action".into(), Value::String(e.action().into()));
    let row = |r: &Option<super::Row>| r.as_ref().map_or(Value::Null, |r| r.value().clone());
    m.insert("before".into(), row(&e.before));
    m.insert("after".into(), row(&e.after));
    if let Some(k) = &e.key {
        m.insert("key".into(), k.value().clone());
    }
    if let Some(s) = &e.schema {
        m.insert("schema".into(), Value::String(s.to_string()));
    }
    if let Some(t) = e.commit_time
        && let Ok(s) = t.format(&Rfc3339)
    {
        m.insert("ts".into(), Value::String(s));
    }
    if let Some(p) = &e.position {
        m.insert("position".into(), Value::String(p.0.clone()));
    }
    if let Some(x) = &e.transaction_id {
        m.insert("transaction_id".into(), Value::String(x.clone()));
    }
    if let Some(c) = &e.control {
        m.insert("type".into(), Value::String(c.clone()));
    }
    for (k, v) in &e.metadata {
        m.entry(k.to_owned()).or_insert_with(|| v.clone());
    }
    Value::Object(m)
}

/// Keys the Go view reads; everything else goes to `metadata`.
const KNOWN_KEYS: &[&str] = &[
    "op",
    "action",
    "table",
    "source",
    "schema",
    "before",
    "after",
    "key",
    "ts",
    "ts_ms",
    "commit_time",
    "position",
    "lsn",
    "transaction_id",
    "xid",
    "type",
    "source_id",
];

pub(super) fn from_go_json(source_id: &str, value: &Value) -> Result<ChangeEvent, EventParseError> {
    let Value::Object(m) = value else {
        return Err(EventParseError::new(format!(
            "an event must be a JSON object, got {}",
            json_type_name(value)
        )));
    };

    // Control events: Go's memory provider emitted {"type": "snapshot_started", ...}.
    let op_field = m.get("op").or_else(|| m.get("action"));
    if op_field.is_none()
        && let Some(kind_value) = m.get("type")
    {
        let kind_name = str_field(kind_value, "type")?;
        let mut e = ChangeEvent::control(source_id, kind_name);
        fill_common(&mut e, m)?;
        return Ok(e);
    }

    let op_value = op_field.ok_or_else(|| {
        EventParseError::new("missing field `op` (or `action`): INSERT, UPDATE, DELETE, ...")
    })?;
    let op_name = str_field(op_value, "op")?;
    let operation = Operation::parse(op_name).ok_or_else(|| {
        EventParseError::new(format!(
            "field `op`: unknown operation {op_name:?}; expected INSERT, UPDATE, DELETE, SNAPSHOT, TRUNCATE (or c/u/d/r/t)"
        ))
    })?;

    let table_value = m.get("table").or_else(|| m.get("source"));
    let qualified = match table_value {
        Some(v) => str_field(v, "table")?,
        None if operation == Operation::Control => "",
        None => {
            return Err(EventParseError::new(
                "missing field `table` (or `source`): the table the change is about",
            ));
        }
    };
    let (mut schema, table) = split_table(qualified);
    if let Some(s) = m.get("schema") {
        schema = Some(str_field(s, "schema")?.into());
    }
    let mut e = ChangeEvent::new(source_id, operation, "");
    e.schema = schema;
    e.table = table;
    for (field, slot) in [("before", &mut e.before), ("after", &mut e.after)] {
        match m.get(field) {
            None | Some(Value::Null) => {}
            Some(v @ Value::Object(_)) => *slot = Some(v.clone().into()),
            Some(other) => {
                return Err(EventParseError::new(format!(
                    "field `{field}` must be an object or null, got {}",
                    json_type_name(other)
                )));
            }
        }
    }
    if let Some(k) = m.get("key")
        && !k.is_null()
    {
        e.key = Some(k.clone().into());
    }
    fill_common(&mut e, m)?;
    Ok(e)
}

fn fill_common(e: &mut ChangeEvent, m: &Map<String, Value>) -> Result<(), EventParseError> {
    if let Some(v) = m.get("ts").or_else(|| m.get("commit_time")) {
        e.commit_time = Some(parse_time(v, "ts")?);
    } else if let Some(v) = m.get("ts_ms") {
        let ms = v
            .as_i64()
            .ok_or_else(|| EventParseError::new("field `ts_ms` must be an integer"))?;
        e.commit_time = Some(from_millis(ms, "ts_ms")?);
    }
    if let Some(v) = m.get("position").or_else(|| m.get("lsn")) {
        e.position = Some(Position::new(scalar_string(v, "position")?));
    }
    if let Some(v) = m.get("transaction_id").or_else(|| m.get("xid")) {
        e.transaction_id = Some(scalar_string(v, "transaction_id")?);
    }
    for (k, v) in m {
        if !KNOWN_KEYS.contains(&k.as_str()) {
            e.metadata.insert(k.clone(), v.clone());
        }
    }
    Ok(())
}

fn str_field<'a>(v: &'a Value, field: &str) -> Result<&'a str, EventParseError> {
    v.as_str().ok_or_else(|| {
        EventParseError::new(format!(
            "field `{field}` must be a string, got {}",
            json_type_name(v)
        ))
    })
}

fn scalar_string(v: &Value, field: &str) -> Result<String, EventParseError> {
    match v {
        Value::String(s) => Ok(s.clone()),
        Value::Number(n) => Ok(n.to_string()),
        other => Err(EventParseError::new(format!(
            "field `{field}` must be a string or number, got {}",
            json_type_name(other)
        ))),
    }
}

fn parse_time(v: &Value, field: &str) -> Result<OffsetDateTime, EventParseError> {
    match v {
        Value::String(s) => OffsetDateTime::parse(s, &Rfc3339).map_err(|e| {
            EventParseError::new(format!("field `{field}`: {s:?} is not RFC 3339: {e}"))
        }),
        Value::Number(n) => {
            let ms = n.as_i64().ok_or_else(|| {
                EventParseError::new(format!("field `{field}` must be integer milliseconds"))
            })?;
            from_millis(ms, field)
        }
        other => Err(EventParseError::new(format!(
            "field `{field}` must be an RFC 3339 string or epoch milliseconds, got {}",
            json_type_name(other)
        ))),
    }
}

fn from_millis(ms: i64, field: &str) -> Result<OffsetDateTime, EventParseError> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .map_err(|e| EventParseError::new(format!("field `{field}`: {ms} is out of range: {e}")))
}

/// The JSON type of a value for error messages: `null`, `a boolean`, `a number`, `a string`,
/// `an array`, `an object`. Shared by every crate that reports a wrongly typed value.
pub fn json_type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn converts_go_maps() {
        let e = ChangeEvent::from_go_json(
            "s1",
            &json!({"op": "INSERT", "table": "public.orders", "after": {"id": 1}}),
        )
        .unwrap();
        assert_eq!(e.operation, Operation::Insert);
        assert_eq!(e.schema.as_deref(), Some("public"));
        assert_eq!(e.table, "orders");
        assert_eq!(e.after, Some(json!({"id": 1}).into()));

        let e = ChangeEvent::from_go_json(
            "s1",
            &json!({"action": "delete", "source": "users", "before": {"id": 2}, "lsn": 42, "extra": true}),
        )
        .unwrap();
        assert_eq!(e.operation, Operation::Delete);
        assert_eq!(e.schema, None);
        assert_eq!(e.table, "users");
        assert_eq!(e.position.as_ref().unwrap().as_str(), "42");
        assert_eq!(e.metadata["extra"], json!(true));
    }

    #[test]
    fn go_view_has_op_action_table() {
        let e = ChangeEvent::new("s1", Operation::Update, "public.t").with_after(json!({"a": 1}));
        let v = e.to_go_json();
        assert_eq!(v["op"], "UPDATE");
        assert_eq!(v["action"], "UPDATE");
        assert_eq!(v["table"], "public.t");
        assert_eq!(v["after"], json!({"a": 1}));
        assert_eq!(v["before"], Value::Null);
        let back = ChangeEvent::from_go_json("s1", &v).unwrap();
        assert_eq!(back.operation, Operation::Update);
        assert_eq!(back.qualified_table(), "public.t");
    }

    #[test]
    fn bad_maps_name_the_problem() {
        let cases = [
            (json!([1]), "must be a JSON object"),
            (json!({"table": "t"}), "missing field `op`"),
            (json!({"op": "UPSERT", "table": "t"}), "unknown operation"),
            (json!({"op": "INSERT"}), "missing field `table`"),
            (json!({"op": 5, "table": "t"}), "`op` must be a string"),
            (
                json!({"op": "INSERT", "table": "t", "after": [1]}),
                "`after` must be an object",
            ),
            (
                json!({"op": "INSERT", "table": "t", "ts": "yesterday"}),
                "not RFC 3339",
            ),
        ];
        for (input, want) in cases {
            let err = ChangeEvent::from_go_json("s", &input).unwrap_err();
            assert!(err.message.contains(want), "{input}: {err}");
        }
    }
}
