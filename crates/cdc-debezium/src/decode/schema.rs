//! Kafka Connect JSON schemas: which row columns need a logical-type conversion.
//!
//! A Debezium value schema is several kilobytes and the same for every record of a table, so
//! the decoder keeps the conversions per topic and re-reads the schema only when its text
//! changes (a schema change of the table).

use std::collections::HashMap;
use std::sync::Arc;

use cdc_core::event::json_span::JsonSpan;
use serde::Deserialize;

use super::logical::Logical;
use super::read::clip;

/// A Connect schema, as far as the decoder needs it.
#[derive(Debug, Deserialize)]
struct ConnectSchema {
    #[serde(default)]
    fields: Vec<ConnectSchema>,
    #[serde(default)]
    field: Option<String>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    parameters: Option<HashMap<String, serde_json::Value>>,
    #[serde(default)]
    items: Option<Box<ConnectSchema>>,
    /// A map's key schema.
    #[serde(default)]
    keys: Option<Box<ConnectSchema>>,
    /// A map's value schema.
    #[serde(default)]
    values: Option<Box<ConnectSchema>>,
}

impl ConnectSchema {
    /// The column's conversion; `Err` names what is wrong with its schema. A struct (a
    /// MySQL `Point`, a nested record) converts the fields that have a logical type, an
    /// array its items, a map its keys and values; one with nothing to convert is `None`,
    /// so its value stays unparsed text like any other.
    fn logical(&self) -> Result<Option<Logical>, String> {
        if let Some(name) = &self.name
            && let Some(l) = Logical::from_schema(name, self.parameters.as_ref())?
        {
            return Ok(Some(l));
        }
        if let Some(items) = &self.items {
            return Ok(items.logical()?.map(|l| Logical::Array(Box::new(l))));
        }
        if self.keys.is_some() || self.values.is_some() {
            let part = |s: &Option<Box<ConnectSchema>>, what: &str| match s {
                Some(s) => s.logical().map_err(|m| format!("map {what}: {m}")),
                None => Ok(None),
            };
            let keys = part(&self.keys, "keys")?.map(Box::new);
            let values = part(&self.values, "values")?.map(Box::new);
            return Ok(
                (keys.is_some() || values.is_some()).then_some(Logical::Map { keys, values })
            );
        }
        let fields = self.conversions()?;
        Ok((!fields.is_empty()).then_some(Logical::Struct(fields)))
    }

    fn field(&self, name: &str) -> Option<&ConnectSchema> {
        self.fields
            .iter()
            .find(|f| f.field.as_deref() == Some(name))
    }

    /// The conversions of a struct's fields; `Err` names the field whose schema is wrong,
    /// or that occurs twice (Kafka Connect refuses such a schema; taken as it is, the
    /// column would be converted twice: a decimal's text read again as base64, a number
    /// that is not the column's).
    fn conversions(&self) -> Result<Vec<(String, Logical)>, String> {
        let mut conversions = Vec::new();
        let mut seen = std::collections::HashSet::with_capacity(self.fields.len());
        for f in &self.fields {
            let Some(column) = &f.field else { continue };
            if !seen.insert(column.as_str()) {
                return Err(format!(
                    "field `{}` occurs twice in one struct",
                    clip(column)
                ));
            }
            let logical = f
                .logical()
                .map_err(|m| format!("field `{}`: {m}", clip(column)))?;
            if let Some(l) = logical {
                conversions.push((column.clone(), l));
            }
        }
        Ok(conversions)
    }

    /// The conversions of a row (a struct's fields).
    fn row_schema(&self) -> Result<RowSchema, String> {
        Ok(RowSchema {
            conversions: self.conversions()?,
        })
    }
}

/// The columns of a row that need converting.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RowSchema {
    /// `(column, conversion)` for each column with a logical type.
    pub conversions: Vec<(String, Logical)>,
}

/// What the value schema of a change event says about its rows.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EnvelopeSchema {
    /// Conversions of `before` / `after` (they share the table's `Value` schema).
    pub row: RowSchema,
}

/// Parses a value schema (`{"type":"struct","fields":[before, after, source, ...]}`).
pub fn envelope_schema(raw: JsonSpan<'_>) -> Result<EnvelopeSchema, String> {
    let s: ConnectSchema = serde_json::from_str(raw.get())
        .map_err(|e| format!("schema is not a Connect schema: {e}"))?;
    let row = match s.field("after").or_else(|| s.field("before")) {
        Some(row) => row.row_schema()?,
        None => RowSchema::default(),
    };
    Ok(EnvelopeSchema { row })
}

/// Parses a key schema (a struct of the key columns).
pub fn key_schema(raw: JsonSpan<'_>) -> Result<RowSchema, String> {
    let s: ConnectSchema = serde_json::from_str(raw.get())
        .map_err(|e| format!("key schema is not a Connect schema: {e}"))?;
    s.row_schema()
}

/// Per-topic cache of parsed schemas, keyed by the schema's exact text.
#[derive(Debug, Default)]
pub struct SchemaCache {
    values: HashMap<String, (Box<str>, Arc<EnvelopeSchema>)>,
    keys: HashMap<String, (Box<str>, Arc<RowSchema>)>,
}

impl SchemaCache {
    /// The envelope schema of a topic for this schema text, parsing it only when it changed.
    pub fn value(&mut self, topic: &str, raw: JsonSpan<'_>) -> Result<Arc<EnvelopeSchema>, String> {
        if let Some((text, parsed)) = self.values.get(topic)
            && **text == *raw.get()
        {
            return Ok(Arc::clone(parsed));
        }
        let parsed = Arc::new(envelope_schema(raw)?);
        self.values
            .insert(topic.to_owned(), (raw.get().into(), Arc::clone(&parsed)));
        Ok(parsed)
    }

    /// The key schema of a topic, likewise.
    pub fn key(&mut self, topic: &str, raw: JsonSpan<'_>) -> Result<Arc<RowSchema>, String> {
        if let Some((text, parsed)) = self.keys.get(topic)
            && **text == *raw.get()
        {
            return Ok(Arc::clone(parsed));
        }
        let parsed = Arc::new(key_schema(raw)?);
        self.keys
            .insert(topic.to_owned(), (raw.get().into(), Arc::clone(&parsed)));
        Ok(parsed)
    }
}
