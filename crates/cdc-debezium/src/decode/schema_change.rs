//! Schema change records (`ddl`, `tableChanges`) into `SchemaChange` events, the DDL in
//! `metadata.ddl`. Apart from change events: they have no operation or rows, and take their
//! table from `tableChanges` rather than the source block.

use std::borrow::Cow;

use cdc_core::{ChangeEvent, Name, Operation};
use serde_json::Value;

use super::Decoder;
use super::envelope::{Envelope, Source};
use super::read::Ctx;
use super::row::insert_replaced;
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
        let mut replaced = Vec::new();
        e.key = self.key(ctx.topic, key, &mut replaced)?;
        insert_replaced(&mut e, replaced);
        e.metadata.insert(
            "ddl".into(),
            Value::String(ddl.map(Cow::into_owned).unwrap_or_default()),
        );
        if let Some(ts) = ctx.int(env.ts_ms, "ts_ms")? {
            e.metadata.insert_int("ts_ms", ts);
        }
        if !changes.is_null() {
            e.metadata.insert_static("table_changes", changes);
        }
        Ok(e)
    }
}

/// `"db"."table"` or `"db"."schema"."table"` (quotes optional) → (schema, table). A quoted
/// part may hold dots, and `""` for a quote, as Debezium writes table ids.
fn split_table_id(id: &str) -> (Option<Name>, Name) {
    let parts = table_id_parts(id);
    match parts.as_slice() {
        [t] => (None, t.as_str().into()),
        [.., s, t] => (
            (!s.is_empty()).then(|| s.as_str().into()),
            t.as_str().into(),
        ),
        [] => (None, Name::default()),
    }
}

/// The dot-separated parts of a table id, unquoted.
fn table_id_parts(id: &str) -> Vec<String> {
    let mut parts = Vec::new();
    let mut part = String::new();
    let mut chars = id.chars().peekable();
    let mut quoted = false;
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                chars.next();
                part.push('"');
            }
            '"' => quoted = !quoted,
            '.' if !quoted => parts.push(std::mem::take(&mut part)),
            c => part.push(c),
        }
    }
    parts.push(part);
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_ids_split_on_the_dots_outside_quotes() {
        let split = |id: &str| {
            let (s, t) = split_table_id(id);
            (s.map(|s| s.to_string()), t.to_string())
        };
        assert_eq!(split("t"), (None, "t".into()));
        assert_eq!(split("db.t"), (Some("db".into()), "t".into()));
        assert_eq!(split(r#""db"."s"."t""#), (Some("s".into()), "t".into()));
        assert_eq!(split(r#""my.db"."t""#), (Some("my.db".into()), "t".into()));
        assert_eq!(
            split(r#""a""b"."x.y.z""#),
            (Some(r#"a"b"#.into()), "x.y.z".into())
        );
        assert_eq!(split(""), (None, "".into()));
    }
}
