//! Debezium change records (Kafka Connect JSON converter, with or without schemas) into
//! [`ChangeEvent`]s.
//!
//! | record | result |
//! |---|---|
//! | change (`op` c/u/d/r/t/m) | `Insert` / `Update` / `Delete` / `SnapshotRead` / `Truncate` / `Message` |
//! | tombstone (value `null`) | `None`: compaction marker after a delete, which was already delivered |
//! | heartbeat (`__debezium-heartbeat.*`) | `Control` `heartbeat` |
//! | transaction metadata (`<prefix>.transaction`) | `Control` `transaction_begin` / `transaction_end` |
//! | schema change (`ddl`, `tableChanges`) | `SchemaChange`, DDL in `metadata.ddl` |
//!
//! With schemas, Connect decimals become exact decimal strings (`"JxA="`, scale 2 →
//! `"100.00"`), `VariableScaleDecimal` too, and Debezium temporal integers become ISO-8601.
//! Every number has a range: a scale within ±16 383 (PostgreSQL's widest, which covers the
//! other databases), an unscaled value of at most 64 KiB, a date the calendar holds; a
//! `Decimal` schema without its `scale` is an error naming the field, not a scale of 0.
//! Without schemas those values arrive as Debezium wrote them (the scale is unknown); set
//! `decimal.handling.mode=string` on the connector for schemaless decimals.
//!
//! Unchanged TOASTed columns arrive as the placeholder `__debezium_unavailable_value`: the
//! value is kept as is (it is not data) and the column is listed in
//! `metadata.unavailable_columns`.
//!
//! MongoDB writes its documents as JSON text inside a JSON string (`"after": "{\"_id\": …}"`):
//! the document is the row. Its `updateDescription` is kept as metadata, `updatedFields`
//! parsed. Positions and transaction ids per connector: see `source`.
//!
//! Metadata of change events: `ts_ms` (when Debezium processed the event, for lag),
//! `snapshot` (when not `false`), `unavailable_columns`, `transaction`, `message`,
//! `update_description`.

mod document;
mod envelope;
pub mod logical;
mod schema;
mod source;

use std::borrow::Cow;
use std::sync::Arc;

use base64::Engine as _;
use cdc_core::{ChangeEvent, Name, Operation, Row};
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Map, Value};
use time::OffsetDateTime;

use crate::error::{DebeziumError, Result};
use envelope::{Envelope, Part, Scalar, Source};
use memchr::memmem;
pub use schema::{EnvelopeSchema, RowSchema, SchemaCache};
use source::{fill_source, table_of};

/// Debezium's default placeholder for unavailable values.
pub const DEFAULT_UNAVAILABLE_PLACEHOLDER: &str = "__debezium_unavailable_value";

/// Debezium's default heartbeat topic prefix.
pub const HEARTBEAT_TOPIC_PREFIX: &str = "__debezium-heartbeat";

/// Metadata key listing columns that carried the unavailable-value placeholder.
pub const UNAVAILABLE_COLUMNS: &str = "unavailable_columns";

/// Decodes the records of one source. Keeps the parsed schema per topic.
#[derive(Debug)]
pub struct Decoder {
    source_id: String,
    placeholder: String,
    placeholder_b64: String,
    /// Finders of the placeholder and its base64 form in a row's JSON text; `None` when the
    /// placeholder has a character JSON must escape, so that it cannot be searched as is.
    placeholder_finders: Option<[memmem::Finder<'static>; 2]>,
    cache: SchemaCache,
    /// The source id as the events carry it: one allocation per decoder, a refcount per event.
    source_name: Name,
    /// The last (schema, table) names: a partition's records are mostly of one table, so its
    /// events share the names instead of allocating them each.
    last_table: Option<(Option<Name>, Name)>,
}

impl Decoder {
    /// A decoder for a source, with the default placeholder.
    pub fn new(source_id: impl Into<String>) -> Self {
        Self::with_placeholder(source_id, DEFAULT_UNAVAILABLE_PLACEHOLDER)
    }

    /// A decoder with the connector's `unavailable.value.placeholder`.
    pub fn with_placeholder(source_id: impl Into<String>, placeholder: &str) -> Self {
        // Binary columns (binary.handling.mode=bytes) carry the placeholder's bytes.
        let placeholder_b64 = base64::engine::general_purpose::STANDARD.encode(placeholder);
        let searchable = !placeholder.is_empty()
            && !placeholder.contains(|c: char| c == '"' || c == '\\' || c.is_control());
        let placeholder_finders = searchable.then(|| {
            [
                memmem::Finder::new(placeholder.as_bytes()).into_owned(),
                memmem::Finder::new(placeholder_b64.as_bytes()).into_owned(),
            ]
        });
        let source_id: String = source_id.into();
        Self {
            source_name: Name::from(source_id.as_str()),
            source_id,
            placeholder: placeholder.to_owned(),
            placeholder_b64,
            placeholder_finders,
            cache: SchemaCache::default(),
            last_table: None,
        }
    }

    /// The source id events get.
    pub fn source_id(&self) -> &str {
        &self.source_id
    }

    /// Decodes one record. `Ok(None)` for a tombstone. Errors say what was wrong and where
    /// (`value.payload.op`, `key`, ...), never panic.
    pub fn decode(
        &mut self,
        topic: &str,
        key: Option<&[u8]>,
        value: Option<&[u8]>,
    ) -> Result<Option<ChangeEvent>> {
        let Some(value) = value.filter(|v| !is_null_bytes(v)) else {
            return Ok(None);
        };
        let text = json_text(topic, "value", value)?;
        // One pass over the bytes: rows and source block parsed with the envelope. A record
        // that does not parse that way is read again part by part, which gives the same result
        // for every record the one pass accepts, and names the part at fault for the others.
        match self.envelope::<true>(topic, text) {
            Ok(Some((mut env, schema, loc))) => self.dispatch(topic, &mut env, schema, loc, key),
            Ok(None) => Ok(None),
            Err(_) => match self.envelope::<false>(topic, text)? {
                Some((mut env, schema, loc)) => self.dispatch(topic, &mut env, schema, loc, key),
                None => Ok(None),
            },
        }
    }

    /// The change envelope of a value (the payload of the wrapped form) and its schema;
    /// `None` for a `null` payload.
    #[allow(clippy::type_complexity)]
    fn envelope<'v, const EAGER: bool>(
        &mut self,
        topic: &str,
        value: &'v str,
    ) -> Result<
        Option<(
            Envelope<'v, EAGER>,
            Option<Arc<EnvelopeSchema>>,
            &'static str,
        )>,
    > {
        let top: Envelope<'_, EAGER> = serde_json::from_str(value).map_err(|e| {
            DebeziumError::decode(topic, "value", format!("not a JSON object: {e}"))
        })?;
        if !top.is_wrapped() {
            return Ok(Some((top, None, "value")));
        }
        let payload = top.payload.map(RawValue::get).unwrap_or("null");
        if payload == "null" {
            return Ok(None);
        }
        let env: Envelope<'_, EAGER> = serde_json::from_str(payload).map_err(|e| {
            DebeziumError::decode(topic, "value.payload", format!("not a JSON object: {e}"))
        })?;
        let schema = match top.schema {
            Some(s) if s.get() != "null" => Some(
                self.cache
                    .value(topic, s)
                    .map_err(|m| DebeziumError::decode(topic, "value.schema", m))?,
            ),
            _ => None,
        };
        Ok(Some((env, schema, "value.payload")))
    }

    /// Parts are taken out of `env` (by reference: the envelope is a few hundred bytes).
    fn dispatch<const EAGER: bool>(
        &mut self,
        topic: &str,
        env: &mut Envelope<'_, EAGER>,
        schema: Option<Arc<EnvelopeSchema>>,
        loc: &'static str,
        key: Option<&[u8]>,
    ) -> Result<Option<ChangeEvent>> {
        let ctx = Ctx { topic, loc };

        if env.op.is_some() {
            return self.change(&ctx, env, schema.as_deref(), key).map(Some);
        }
        if env.ddl.is_some() || env.table_changes.is_some() {
            return self.schema_change(&ctx, env, key).map(Some);
        }
        if env.status.is_some() && env.id.is_some() {
            return self.transaction(&ctx, env).map(Some);
        }
        if topic.starts_with(HEARTBEAT_TOPIC_PREFIX)
            || (env.ts_ms.is_some() && env.source.is_none())
        {
            return self.heartbeat(&ctx, env, key).map(Some);
        }
        Err(DebeziumError::decode(
            topic,
            loc,
            "no `op`, `ddl`, transaction `status` or heartbeat `ts_ms`: not a Debezium record",
        ))
    }

    /// [`table_of`], through the last names: the same table again is a refcount bump.
    fn table_names(&mut self, source: &Source<'_>, topic: &str) -> (Option<Name>, Name) {
        let table = source.table_name();
        let schema = source.schema_name();
        if let (Some(t), Some((s, n))) = (table, &self.last_table)
            && **n == *t
            && s.as_deref() == schema
        {
            return (s.clone(), n.clone());
        }
        let names = table_of(source, topic);
        if table.is_some() {
            self.last_table = Some(names.clone());
        }
        names
    }

    fn change<const EAGER: bool>(
        &mut self,
        ctx: &Ctx<'_>,
        env: &mut Envelope<'_, EAGER>,
        schema: Option<&EnvelopeSchema>,
        key: Option<&[u8]>,
    ) -> Result<ChangeEvent> {
        let op: Cow<'_, str> = ctx.text(env.op, "op")?.unwrap_or_default();
        let operation = match op.as_ref() {
            "c" => Operation::Insert,
            "u" => Operation::Update,
            "d" => Operation::Delete,
            "r" => Operation::SnapshotRead,
            "t" => Operation::Truncate,
            "m" => Operation::Message,
            other => {
                return Err(ctx.err(
                    "op",
                    format!("unknown operation {other:?}; expected c, u, d, r, t or m"),
                ));
            }
        };
        let source: Box<Source<'_>> = match ctx.source(env.source.take())? {
            Some(s) => s,
            None if operation == Operation::Message => Box::default(),
            None => return Err(ctx.err("source", "missing: every change event has one")),
        };

        let mut e = ChangeEvent::new(self.source_name.clone(), operation, "");
        let (schema_name, table) = self.table_names(&source, ctx.topic);
        e.schema = schema_name;
        e.table = table;

        let mut unavailable: Vec<Value> = Vec::new();
        let row_schema = schema.map(|s| &s.row);
        e.before = self.row(
            ctx,
            env.before.take(),
            "before",
            row_schema,
            &mut unavailable,
        )?;
        e.after = self.row(ctx, env.after.take(), "after", row_schema, &mut unavailable)?;
        e.key = self.key(ctx.topic, key)?;

        fill_source(&mut e, &source);
        if let Some(ts) = ctx.int(env.ts_ms, "ts_ms")? {
            e.metadata.insert_static("ts_ms", Value::from(ts));
        }
        if let Some(raw) = env.transaction
            && raw.get() != "null"
        {
            let tx: Value = serde_json::from_str(raw.get())
                .map_err(|e| ctx.err("transaction", e.to_string()))?;
            // A string for every connector we know; a number is taken as its digits.
            match tx.get("id") {
                Some(Value::String(id)) => e.transaction_id = Some(id.clone()),
                Some(Value::Number(n)) => e.transaction_id = Some(n.to_string()),
                _ => {}
            }
            e.metadata.insert_static("transaction", tx);
        }
        if let Some(raw) = env.update_description
            && let Some(d) =
                document::update_description(raw).map_err(|m| ctx.err("updateDescription", m))?
        {
            e.metadata.insert_static("update_description", d);
        }
        if operation == Operation::Message
            && let Some(raw) = env.message
        {
            let m: Value =
                serde_json::from_str(raw.get()).map_err(|e| ctx.err("message", e.to_string()))?;
            e.metadata.insert_static("message", m);
        }
        if !unavailable.is_empty() {
            unavailable.dedup();
            e.metadata
                .insert(UNAVAILABLE_COLUMNS.into(), Value::Array(unavailable));
        }
        Ok(e)
    }

    /// A row image. Kept as checked JSON text (parsed when read) unless the schema names
    /// columns to convert or the text may hold the unavailable-value placeholder; then it is
    /// parsed now, converted, and its placeholder columns flagged.
    fn row(
        &self,
        ctx: &Ctx<'_>,
        raw: Option<&RawValue>,
        name: &str,
        schema: Option<&RowSchema>,
        unavailable: &mut Vec<Value>,
    ) -> Result<Option<Row>> {
        let Some(raw) = raw else { return Ok(None) };
        let text = raw.get();
        match text.as_bytes().first() {
            Some(b'{') => {}
            Some(b'n') if text == "null" => return Ok(None),
            // MongoDB: the document as JSON text (its schema, if any, says a JSON string).
            Some(b'"') => {
                return document::row_from_text(text)
                    .map(Some)
                    .map_err(|m| ctx.err(name, m));
            }
            _ => return Err(not_an_object(ctx, name, text)),
        }
        let converts = schema.is_some_and(|s| !s.conversions.is_empty());
        if !converts && !self.may_hold_placeholder(text) {
            // Read as a RawValue with the envelope: only what that left unchecked is checked.
            return Row::from_raw_json(raw)
                .map(Some)
                .map_err(|e| ctx.err(name, format!("not JSON: {e}")));
        }
        let mut v: Value =
            serde_json::from_str(text).map_err(|e| ctx.err(name, format!("not JSON: {e}")))?;
        let Value::Object(obj) = &mut v else {
            return Err(not_an_object(ctx, name, text));
        };
        let mut flagged: Vec<&str> = Vec::new();
        for (col, val) in obj.iter() {
            if self.is_placeholder(val) {
                flagged.push(col);
            }
        }
        let flagged: Vec<String> = flagged.into_iter().map(str::to_owned).collect();
        if let Some(schema) = schema {
            convert_row(obj, schema, &flagged)
                .map_err(|(col, m)| ctx.err(&format!("{name}.{col}"), m))?;
        }
        unavailable.extend(flagged.into_iter().map(Value::String));
        Ok(Some(Row::from(v)))
    }

    /// Whether a row's JSON text may hold the placeholder as a value. `false` only when it
    /// certainly does not: neither the placeholder nor its base64 form occurs literally, and
    /// no `\u` or `\/` escape could spell either of them another way (all their other
    /// characters are written as is in JSON).
    fn may_hold_placeholder(&self, text: &str) -> bool {
        let Some(finders) = &self.placeholder_finders else {
            return true;
        };
        let bytes = text.as_bytes();
        finders.iter().any(|f| f.find(bytes).is_some())
            || memchr::memchr_iter(b'\\', bytes)
                .any(|i| matches!(bytes.get(i + 1), Some(b'u' | b'/')))
    }

    fn is_placeholder(&self, v: &Value) -> bool {
        match v {
            Value::String(s) => *s == self.placeholder || *s == self.placeholder_b64,
            Value::Array(a) => a.len() == 1 && a[0].as_str().is_some_and(|s| s == self.placeholder),
            _ => false,
        }
    }

    /// The key's columns (the payload of a wrapped key), converted by the key schema; kept
    /// as checked JSON text when there is nothing to convert.
    fn key(&mut self, topic: &str, key: Option<&[u8]>) -> Result<Option<Row>> {
        let Some(bytes) = key.filter(|k| !is_null_bytes(k)) else {
            return Ok(None);
        };
        let text = json_text(topic, "key", bytes)?;
        #[derive(Deserialize)]
        struct Wrapped<'a> {
            #[serde(borrow)]
            schema: &'a RawValue,
            #[serde(borrow)]
            payload: &'a RawValue,
        }
        let looks_wrapped = text.trim_start().starts_with('{') && has_payload_key(text.as_bytes());
        if looks_wrapped && let Ok(w) = serde_json::from_str::<Wrapped<'_>>(text) {
            let payload = w.payload.get();
            if payload == "null" {
                return Ok(None);
            }
            let ks = match w.schema.get() {
                "null" => None,
                _ => Some(
                    self.cache
                        .key(topic, w.schema)
                        .map_err(|m| DebeziumError::decode(topic, "key.schema", m))?,
                ),
            };
            let Some(ks) = ks.filter(|ks| !ks.conversions.is_empty()) else {
                return Row::from_raw_json(w.payload)
                    .map(Some)
                    .map_err(|e| DebeziumError::decode(topic, "key.payload", e.to_string()));
            };
            let mut v: Value = serde_json::from_str(payload)
                .map_err(|e| DebeziumError::decode(topic, "key.payload", e.to_string()))?;
            if let Value::Object(m) = &mut v {
                convert_row(m, &ks, &[]).map_err(|(col, m)| {
                    DebeziumError::decode(topic, format!("key.payload.{col}"), m)
                })?;
            }
            return Ok(Some(Row::from(v)));
        }
        if text.trim() == "null" {
            return Ok(None);
        }
        Row::from_json(text)
            .map(Some)
            .map_err(|e| DebeziumError::decode(topic, "key", format!("not JSON: {e}")))
    }

    fn schema_change<const EAGER: bool>(
        &mut self,
        ctx: &Ctx<'_>,
        env: &mut Envelope<'_, EAGER>,
        key: Option<&[u8]>,
    ) -> Result<ChangeEvent> {
        let source: Box<Source<'_>> = ctx.source(env.source.take())?.unwrap_or_default();
        let ddl: Option<Cow<'_, str>> = ctx.field(env.ddl, "ddl")?;
        let changes: Value = match env.table_changes {
            Some(raw) => serde_json::from_str(raw.get())
                .map_err(|e| ctx.err("tableChanges", e.to_string()))?,
            None => Value::Null,
        };
        if !(changes.is_null() || changes.is_array()) {
            return Err(ctx.err("tableChanges", "must be an array"));
        }
        let mut e = ChangeEvent::new(self.source_name.clone(), Operation::SchemaChange, "");
        let first_id = changes
            .get(0)
            .and_then(|c| c.get("id"))
            .and_then(Value::as_str);
        if let Some(id) = first_id {
            let (s, t) = split_table_id(id);
            e.schema = s;
            e.table = t;
        } else {
            let db: Option<Cow<'_, str>> = ctx.field(env.database_name, "databaseName")?;
            let sc: Option<Cow<'_, str>> = ctx.field(env.schema_name, "schemaName")?;
            e.schema = sc
                .or(db)
                .filter(|s| !s.is_empty())
                .map(|s| Name::from(s.as_ref()));
            e.table = source.table.as_deref().map(Name::from).unwrap_or_default();
        }
        fill_source(&mut e, &source);
        // The record key (`{"databaseName": ...}`) says which database the change is about.
        e.key = self.key(ctx.topic, key)?;
        e.metadata.insert(
            "ddl".into(),
            Value::String(ddl.map(Cow::into_owned).unwrap_or_default()),
        );
        if let Some(ts) = ctx.int(env.ts_ms, "ts_ms")? {
            e.metadata.insert_static("ts_ms", Value::from(ts));
        }
        if !changes.is_null() {
            e.metadata.insert_static("table_changes", changes);
        }
        Ok(e)
    }

    fn transaction<const EAGER: bool>(
        &self,
        ctx: &Ctx<'_>,
        env: &Envelope<'_, EAGER>,
    ) -> Result<ChangeEvent> {
        let status: Cow<'_, str> = ctx.field(env.status, "status")?.unwrap_or_default();
        let kind = match status.as_ref() {
            "BEGIN" => "transaction_begin",
            "END" => "transaction_end",
            other => {
                return Err(ctx.err(
                    "status",
                    format!("unknown transaction status {other:?}; expected BEGIN or END"),
                ));
            }
        };
        let mut e = ChangeEvent::control(self.source_name.clone(), kind);
        // A string for every connector we know; a number is taken as its digits.
        let id: Option<Scalar<'_>> = ctx.field(env.id, "id")?;
        e.transaction_id = id.and_then(|s| s.text().map(Cow::into_owned));
        if let Some(ts) = ctx.int(env.ts_ms, "ts_ms")? {
            e.commit_time = millis(ts);
        }
        if let Some(n) = ctx.int(env.event_count, "event_count")? {
            e.metadata.insert_static("event_count", Value::from(n));
        }
        if let Some(raw) = env.data_collections {
            let v: Value = serde_json::from_str(raw.get())
                .map_err(|e| ctx.err("data_collections", e.to_string()))?;
            e.metadata.insert_static("data_collections", v);
        }
        Ok(e)
    }

    fn heartbeat<const EAGER: bool>(
        &mut self,
        ctx: &Ctx<'_>,
        env: &Envelope<'_, EAGER>,
        key: Option<&[u8]>,
    ) -> Result<ChangeEvent> {
        let mut e = ChangeEvent::control(self.source_name.clone(), "heartbeat");
        if let Some(ts) = ctx.int(env.ts_ms, "ts_ms")? {
            e.commit_time = millis(ts);
            e.metadata.insert_static("ts_ms", Value::from(ts));
        }
        if let Some(k) = self.key(ctx.topic, key)?
            && let Some(server) = k.get("serverName")
        {
            e.metadata.insert_static("server_name", server.clone());
        }
        Ok(e)
    }
}

/// Decodes one record with a throwaway [`Decoder`] (no schema cache between calls). For a
/// stream, keep a [`Decoder`] per source.
pub fn decode(
    source_id: &str,
    topic: &str,
    key: Option<&[u8]>,
    value: Option<&[u8]>,
) -> Result<Option<ChangeEvent>> {
    Decoder::new(source_id).decode(topic, key, value)
}

/// Where in the record we are, for errors.
struct Ctx<'t> {
    topic: &'t str,
    loc: &'static str,
}

impl Ctx<'_> {
    /// The source block, parsed now if it is still text; JSON `null` is `None`.
    fn source<'a, const EAGER: bool>(
        &self,
        part: Option<Part<'a, Box<Source<'a>>, EAGER>>,
    ) -> Result<Option<Box<Source<'a>>>> {
        match part {
            None => Ok(None),
            Some(Part::Parsed(s)) => Ok(Some(s)),
            Some(Part::Raw(raw)) if raw.get() == "null" => Ok(None),
            Some(Part::Raw(raw)) => serde_json::from_str(raw.get())
                .map(Some)
                .map_err(|e| self.err("source", format!("not a Debezium source block: {e}"))),
        }
    }

    fn err(&self, field: &str, message: impl Into<String>) -> DebeziumError {
        DebeziumError::decode(self.topic, format!("{}.{field}", self.loc), message)
    }

    /// Parses an optional scalar field; JSON `null` is `None`.
    fn field<'a, T: Deserialize<'a>>(
        &self,
        raw: Option<&'a RawValue>,
        name: &str,
    ) -> Result<Option<T>> {
        match raw {
            None => Ok(None),
            Some(r) if r.get() == "null" => Ok(None),
            Some(r) => serde_json::from_str(r.get())
                .map(Some)
                .map_err(|e| self.err(name, format!("{e} (got {})", clip(r.get())))),
        }
    }

    /// [`Ctx::field`] for an integer. A plain JSON integer is read directly (a RawValue is
    /// valid JSON, so `str::parse` accepts exactly the integers serde would); anything
    /// else goes through serde for the same value or the same error.
    fn int(&self, raw: Option<&RawValue>, name: &str) -> Result<Option<i64>> {
        // `-0` is the one JSON integer text serde reads as a float (an error for i64).
        match raw.map(|r| (r.get(), r.get().parse::<i64>())) {
            Some((text, Ok(n))) if !text.starts_with("-0") => Ok(Some(n)),
            _ => self.field(raw, name),
        }
    }

    /// [`Ctx::field`] for a string: a JSON string without escapes is borrowed as is.
    fn text<'a>(&self, raw: Option<&'a RawValue>, name: &str) -> Result<Option<Cow<'a, str>>> {
        match raw.and_then(|r| plain_string(r.get())) {
            Some(text) => Ok(Some(Cow::Borrowed(text))),
            None => self.field(raw, name),
        }
    }
}

/// The text of a JSON string literal without escapes (`"abc"` → `abc`); `None` for any other
/// JSON, which is then left to serde.
fn plain_string(json: &str) -> Option<&str> {
    let inner = json.strip_prefix('"')?.strip_suffix('"')?;
    (!inner.contains('\\')).then_some(inner)
}

/// The error for a row that is not a JSON object (or `null`), naming its JSON type.
fn not_an_object(ctx: &Ctx<'_>, name: &str, text: &str) -> DebeziumError {
    match serde_json::from_str::<Value>(text) {
        Ok(v) => ctx.err(
            name,
            format!(
                "a row must be an object, got {}",
                cdc_core::event::json_type_name(&v)
            ),
        ),
        Err(e) => ctx.err(name, format!("not JSON: {e}")),
    }
}

/// At most 60 characters of a text, for an error message.
pub(super) fn clip(s: &str) -> &str {
    match s.char_indices().nth(60) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

/// Whether `"payload"` occurs in the text. A naive scan: keys are short, and
/// `str::contains` spends more on building its searcher than on searching them.
fn has_payload_key(text: &[u8]) -> bool {
    text.windows(9).any(|w| w == b"\"payload\"")
}

/// A record's key or value as text, or an error saying why it is not JSON text. Records of
/// the Schema Registry converters (Avro, Protobuf, JSON Schema) are framed by a zero byte
/// and a four-byte schema id, which no JSON text starts with: they get an error that says
/// so and names the converter to use, where "not UTF-8" or "not JSON" would leave the user
/// guessing.
fn json_text<'b>(topic: &str, part: &str, bytes: &'b [u8]) -> Result<&'b str> {
    if let [0, a, b, c, d, ..] = *bytes {
        let id = u32::from_be_bytes([a, b, c, d]);
        return Err(DebeziumError::decode(
            topic,
            part,
            format!(
                "in the Schema Registry wire format (magic byte 0, schema id {id}), as the \
                 Avro, Protobuf and JSON Schema converters write it; only JSON records are \
                 read: set the connector's {part}.converter to \
                 org.apache.kafka.connect.json.JsonConverter"
            ),
        ));
    }
    std::str::from_utf8(bytes)
        .map_err(|e| DebeziumError::decode(topic, part, format!("not UTF-8: {e}")))
}

fn is_null_bytes(b: &[u8]) -> bool {
    b.is_empty() || b.trim_ascii() == b"null"
}

fn millis(ms: i64) -> Option<OffsetDateTime> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000).ok()
}

/// Applies the conversions of a row schema; the error names the column.
fn convert_row(
    obj: &mut Map<String, Value>,
    schema: &RowSchema,
    skip: &[String],
) -> std::result::Result<(), (String, String)> {
    // A set: a record may flag thousands of columns, and each conversion asks.
    let skip: std::collections::HashSet<&str> = skip.iter().map(String::as_str).collect();
    for (col, conv) in &schema.conversions {
        if skip.contains(col.as_str()) {
            continue;
        }
        if let Some(v) = obj.get_mut(col) {
            conv.apply(v).map_err(|m| (col.clone(), m))?;
        }
    }
    Ok(())
}

/// `"db"."table"` or `"db"."schema"."table"` (quotes optional) → (schema, table).
fn split_table_id(id: &str) -> (Option<Name>, Name) {
    let parts: Vec<&str> = id.split('.').map(|p| p.trim_matches('"')).collect();
    match parts.as_slice() {
        [t] => (None, (*t).into()),
        [.., s, t] => ((!s.is_empty()).then(|| (*s).into()), (*t).into()),
        [] => (None, Name::default()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fast_paths_agree_with_serde() {
        assert_eq!(plain_string(r#""first""#), Some("first"));
        assert_eq!(plain_string(r#""a\"b""#), None);
        assert_eq!(plain_string("true"), None);
        assert!(has_payload_key(br#"{"schema":null,"payload":{}}"#));
        assert!(!has_payload_key(br#"{"id":1}"#));
        let ctx = Ctx {
            topic: "t",
            loc: "value",
        };
        let raw = |s: &str| RawValue::from_string(s.to_owned()).unwrap();
        for text in ["0", "-42", "1795492600769", "null"] {
            let r = raw(text);
            let want: Option<i64> = ctx.field(Some(&*r), "n").unwrap();
            assert_eq!(ctx.int(Some(&*r), "n").unwrap(), want, "{text}");
        }
        for bad in ["-0", "1.5", "\"7\"", "99999999999999999999"] {
            let r = raw(bad);
            let want = ctx.field::<i64>(Some(&*r), "n").unwrap_err().to_string();
            assert_eq!(ctx.int(Some(&*r), "n").unwrap_err().to_string(), want);
        }
    }
}
