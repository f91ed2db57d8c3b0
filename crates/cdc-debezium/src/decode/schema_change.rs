//! Schema change records (`ddl`, `tableChanges`) into `SchemaChange` events, the DDL in
//! `metadata.ddl`. Apart from change events: they have no operation or rows, and take their
//! table from `tableChanges` rather than the source block.

use std::borrow::Cow;

use cdc_core::{ChangeEvent, Name, Operation};
use serde_json::Value;

use super::Decoder;
use super::envelope::{Envelope, Source};
use super::read::Ctx;
use super::source::fill_source;
use crate::error::Result;

impl Decoder {
    pub(super) fn schema_change<const EAGER: bool>(
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
