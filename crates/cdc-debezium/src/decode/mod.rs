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
//! other databases), an unscaled value of at most 64 KiB; a `Decimal` schema without its
//! `scale` is an error naming the field, not a scale of 0. Every temporal integer converts
//! (see `logical::format_timestamp`): real rows hold years past 9999, MySQL times past a
//! day and PostgreSQL's infinity, and an undecodable record holds its partition.
//! Without schemas those values arrive as Debezium wrote them (the scale is unknown); set
//! `decimal.handling.mode=string` on the connector for schemaless decimals.
//!
//! Unchanged TOASTed columns arrive as the placeholder `__debezium_unavailable_value`, in
//! the form of the column's type (its base64 in `bytea`, its bytes as integers in `int[]`,
//! a map in `hstore`, a fixed point in PostGIS columns: see `placeholder`): the value is
//! kept as is (it is not data) and the column is listed in `metadata.unavailable_columns`.
//! A text column holding broken UTF-16 (unpaired surrogates) decodes with U+FFFD in their
//! place, the column listed in `metadata.replaced_surrogates`.
//!
//! MongoDB writes its documents as JSON text inside a JSON string (`"after": "{\"_id\": …}"`):
//! the document is the row. Its `updateDescription` is kept as metadata, `updatedFields`
//! parsed. Positions and transaction ids per connector: see `source`.
//!
//! Metadata of change events: `ts_ms` (when Debezium processed the event, for lag),
//! `snapshot` (when not `false`), `unavailable_columns`, `transaction`, `message`,
//! `update_description`.

mod change;
mod control;
mod document;
mod envelope;
mod key;
pub mod logical;
mod placeholder;
mod read;
mod row;
mod scan;
mod schema;
mod schema_change;
mod source;
mod surrogates;

// What each file decodes: `change` (change events), `row` (their row images), `key` (record
// keys), `schema_change`, `control` (transactions, heartbeats); `read` holds the field readers
// and byte-level fast paths all of them use; `scan` reads the envelope and its source block
// without serde when it can (serde reads what it gives up on). The envelope dispatch stays
// here.

use std::sync::Arc;

use cdc_core::event::Metadata;
use cdc_core::event::json_span::JsonSpan;
use cdc_core::{ChangeEvent, Name};

use crate::error::{DebeziumError, Result};
use envelope::Envelope;
use read::{Ctx, is_null_bytes, json_text};
pub use schema::{EnvelopeSchema, RowSchema, SchemaCache};

/// Debezium's default placeholder for unavailable values.
pub const DEFAULT_UNAVAILABLE_PLACEHOLDER: &str = "__debezium_unavailable_value";

/// Debezium's default heartbeat topic prefix.
pub const HEARTBEAT_TOPIC_PREFIX: &str = "__debezium-heartbeat";

/// Metadata key listing columns that carried the unavailable-value placeholder.
pub const UNAVAILABLE_COLUMNS: &str = "unavailable_columns";

/// Metadata key listing the fields (`after.name`, `key.id`) whose text held unpaired UTF-16
/// surrogates (broken UTF-16 in the database, which Kafka Connect writes as `"\uD800"`
/// escapes and JSON parsers refuse), decoded with U+FFFD in their place.
pub const REPLACED_SURROGATES: &str = "replaced_surrogates";

/// What reading an envelope found beside it: the value schema (wrapped form) and where the
/// envelope is in the record (`value` or `value.payload`), for errors.
type Found = (Option<Arc<EnvelopeSchema>>, &'static str);

/// Decodes the records of one source. Keeps the parsed schema per topic.
#[derive(Debug)]
pub struct Decoder {
    source_id: String,
    /// The unavailable-value placeholder in each form Debezium writes it.
    placeholder: placeholder::Placeholder,
    cache: SchemaCache,
    /// The source id as the events carry it: one allocation per decoder, a refcount per event.
    source_name: Name,
    /// The last (schema, table) names: a partition's records are mostly of one table, so its
    /// events share the names instead of allocating them each.
    last_table: Option<(Option<Name>, Name)>,
    /// The metadata the record being decoded starts with ([`Decoder::decode_with`]).
    base: Metadata,
}

impl Decoder {
    /// A decoder for a source, with the default placeholder.
    pub fn new(source_id: impl Into<String>) -> Self {
        Self::with_placeholder(source_id, DEFAULT_UNAVAILABLE_PLACEHOLDER)
    }

    /// A decoder with the connector's `unavailable.value.placeholder`.
    pub fn with_placeholder(source_id: impl Into<String>, placeholder: &str) -> Self {
        let source_id: String = source_id.into();
        Self {
            source_name: Name::from(source_id.as_str()),
            source_id,
            placeholder: placeholder::Placeholder::new(placeholder),
            cache: SchemaCache::default(),
            last_table: None,
            base: Metadata::new(),
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
        self.decode_with(topic, key, value, Metadata::new())
    }

    /// [`decode`](Self::decode), the event's metadata starting as `metadata` (a transport's
    /// coordinates of the record); the decoder's own entries are set after it (replacing
    /// any of the same key). A change event's entries then mostly come in key order, each set
    /// at the end; set before them, each of `metadata`'s moved them all.
    pub fn decode_with(
        &mut self,
        topic: &str,
        key: Option<&[u8]>,
        value: Option<&[u8]>,
        metadata: Metadata,
    ) -> Result<Option<ChangeEvent>> {
        // Set on every call: a decode that ended by a panic leaves no stale coordinates.
        self.base = metadata;
        let mut decoded = self.decode_value(topic, key, value);
        let mut base = std::mem::take(&mut self.base);
        // Events other than changes take it here (a change took it when made), their own
        // entries set after it, as a change's are. In place: an event is a few hundred
        // bytes, and a move is a copy.
        if !base.is_empty()
            && let Ok(Some(e)) = &mut decoded
        {
            base.merge(std::mem::take(&mut e.metadata));
            e.metadata = base;
        }
        decoded
    }

    fn decode_value(
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
        // The envelope is read in place: it is a few hundred bytes, and moving it out of
        // each reader cost a copy a time.
        let mut env = Envelope::<true>::default();
        match self.envelope(topic, text, &mut env) {
            Ok(Some((schema, loc))) => self.dispatch(topic, &mut env, schema, loc, key),
            Ok(None) => Ok(None),
            Err(_) => {
                let mut env = Envelope::<false>::default();
                match self.envelope(topic, text, &mut env)? {
                    Some((schema, loc)) => self.dispatch(topic, &mut env, schema, loc, key),
                    None => Ok(None),
                }
            }
        }
    }

    /// The change envelope of a value (the payload of the wrapped form), read into `env`
    /// (which starts as the default), and its schema; `None` for a `null` payload.
    fn envelope<'v, const EAGER: bool>(
        &mut self,
        topic: &str,
        value: &'v str,
        env: &mut Envelope<'v, EAGER>,
    ) -> Result<Option<Found>> {
        if !read_fast(value, env) {
            *env = serde_json::from_str(value).map_err(|e| {
                DebeziumError::decode(topic, "value", format!("not a JSON object: {e}"))
            })?;
        }
        if !env.is_wrapped() {
            return Ok(Some((None, "value")));
        }
        let payload = env.payload.map(JsonSpan::get).unwrap_or("null");
        if payload == "null" {
            return Ok(None);
        }
        let schema_span = env.schema;
        *env = Envelope::default();
        if !read_fast(payload, env) {
            *env = serde_json::from_str(payload).map_err(|e| {
                DebeziumError::decode(topic, "value.payload", format!("not a JSON object: {e}"))
            })?;
        }
        let schema = match schema_span {
            Some(s) if s.get() != "null" => Some(
                self.cache
                    .value(topic, s)
                    .map_err(|m| DebeziumError::decode(topic, "value.schema", m))?,
            ),
            _ => None,
        };
        Ok(Some((schema, "value.payload")))
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
}

/// Reads the envelope by the fast path (`scan`) into `env`, for the one-pass (`EAGER`)
/// read only (the part-by-part read is there to name what serde refuses); `false` when
/// serde is to read it.
fn read_fast<'v, const EAGER: bool>(text: &'v str, env: &mut Envelope<'v, EAGER>) -> bool {
    EAGER && env.scan_into(text).is_some()
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
