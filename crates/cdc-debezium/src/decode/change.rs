//! Change events (`op` c/u/d/r/t/m): the operation, the table names, the row images, the
//! key and the event's metadata (`ts_ms`, `transaction`, `update_description`, `message`,
//! `unavailable_columns`). Apart from the envelope dispatch in `mod.rs` because it is most of
//! the decoder's work per record; the row images and the key have files of their own.

use std::borrow::Cow;

use cdc_core::{ChangeEvent, Name, Operation};
use serde_json::Value;

use super::envelope::{Envelope, Source};
use super::read::Ctx;
use super::row::{RowFlags, insert_replaced};
use super::source::{fill_source, table_of};
use super::{Decoder, EnvelopeSchema, UNAVAILABLE_COLUMNS, document};
use crate::error::Result;

impl Decoder {
    /// [`table_of`], through the last names: the same table again is a refcount bump.
    pub(super) fn table_names(&mut self, source: &Source<'_>, topic: &str) -> (Option<Name>, Name) {
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

    pub(super) fn change<const EAGER: bool>(
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

        let (schema_name, table) = self.table_names(&source, ctx.topic);
        let mut e = ChangeEvent::of_table(self.source_name.clone(), operation, schema_name, table);
        e.metadata = std::mem::take(&mut self.base);

        let mut flags = RowFlags::default();
        let row_schema = schema.map(|s| &s.row);
        // Only an update's rows can hold an unchanged TOASTed value's placeholder in its
        // type-specific forms.
        let update = operation == Operation::Update;
        e.before = self.row(
            ctx,
            env.before.take(),
            "before",
            row_schema,
            update,
            &mut flags,
        )?;
        e.after = self.row(
            ctx,
            env.after.take(),
            "after",
            row_schema,
            update,
            &mut flags,
        )?;
        e.key = self.key(ctx.topic, key, &mut flags.replaced)?;

        fill_source(&mut e, &source);
        if let Some(ts) = ctx.int(env.ts_ms, "ts_ms")? {
            e.metadata.insert_int("ts_ms", ts);
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
        let RowFlags {
            mut unavailable,
            replaced,
        } = flags;
        if !unavailable.is_empty() {
            unavailable.dedup();
            e.metadata
                .insert(UNAVAILABLE_COLUMNS.into(), Value::Array(unavailable));
        }
        insert_replaced(&mut e, replaced);
        Ok(e)
    }
}
