//! Row images (`before`, `after`): kept as checked JSON text, parsed only when the schema
//! names columns to convert or the unavailable-value placeholder may occur, then converted
//! and the placeholder columns flagged. Apart from the change events because it is the hot
//! path of the decoder with rules of its own; [`convert_row`] serves the key too.

use cdc_core::Row;
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use super::read::Ctx;
use super::{Decoder, RowSchema, document};
use crate::error::{DebeziumError, Result};

impl Decoder {
    /// A row image. Kept as checked JSON text (parsed when read) unless the schema names
    /// columns to convert or the text may hold the unavailable-value placeholder; then it is
    /// parsed now, converted, and its placeholder columns flagged.
    pub(super) fn row(
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

/// Applies the conversions of a row schema; the error names the column.
pub(super) fn convert_row(
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
