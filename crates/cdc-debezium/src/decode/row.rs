//! Row images (`before`, `after`): kept as checked JSON text, parsed only when the schema
//! names columns to convert or the unavailable-value placeholder may occur, then converted
//! and the placeholder columns flagged. Apart from the change events because it is the hot
//! path of the decoder with rules of its own; [`convert_row`] serves the key too.

use cdc_core::event::json_span::JsonSpan;
use cdc_core::{ChangeEvent, Row};
use serde_json::{Map, Value};

use super::read::Ctx;
use super::{Decoder, REPLACED_SURROGATES, RowSchema, document, surrogates};
use crate::error::{DebeziumError, Result};

impl Decoder {
    /// A row image. Kept as checked JSON text (parsed when read) unless the schema names
    /// columns to convert or the text may hold the unavailable-value placeholder; then it is
    /// parsed now, converted, and its placeholder columns flagged.
    pub(super) fn row(
        &self,
        ctx: &Ctx<'_>,
        raw: Option<JsonSpan<'_>>,
        name: &str,
        schema: Option<&RowSchema>,
        update: bool,
        flags: &mut RowFlags,
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
        if !converts
            && !self
                .placeholder
                .may_occur(text, raw.parses_as_value(), update)
        {
            // Read as a RawValue with the envelope: only what that left unchecked is checked.
            // What fails that check is read the long way below, which says why.
            if let Ok(row) = Row::from_span(raw) {
                return Ok(Some(row));
            }
        }
        let mut v = parse_repairing(text, name, &mut flags.replaced)
            .map_err(|e| ctx.err(name, format!("not JSON: {e}")))?;
        let Value::Object(obj) = &mut v else {
            return Err(not_an_object(ctx, name, text));
        };
        let mut flagged: Vec<&str> = Vec::new();
        for (col, val) in obj.iter() {
            if self.placeholder.is(val) {
                flagged.push(col);
            }
        }
        let flagged: Vec<String> = flagged.into_iter().map(str::to_owned).collect();
        if let Some(schema) = schema {
            convert_row(obj, schema, &flagged)
                .map_err(|(col, m)| ctx.err(&format!("{name}.{col}"), m))?;
        }
        flags
            .unavailable
            .extend(flagged.into_iter().map(Value::String));
        Ok(Some(Row::from(v)))
    }
}

/// What the rows (and the key) of one event say about themselves, for its metadata.
#[derive(Default)]
pub(super) struct RowFlags {
    /// Columns holding the unavailable-value placeholder.
    pub(super) unavailable: Vec<Value>,
    /// `image.column` of the columns whose unpaired surrogates became U+FFFD.
    pub(super) replaced: Vec<Value>,
}

/// Parses JSON text; text serde_json refuses only for its unpaired surrogate escapes (broken
/// UTF-16 from the database, see `surrogates`) is parsed with U+FFFD in their place, and the
/// columns that held them are added to `replaced` as `prefix.column`. Any other error is
/// the original one.
pub(super) fn parse_repairing(
    text: &str,
    prefix: &str,
    replaced: &mut Vec<Value>,
) -> std::result::Result<Value, serde_json::Error> {
    let e = match serde_json::from_str(text) {
        Ok(v) => return Ok(v),
        Err(e) => e,
    };
    let Some(fixed) = surrogates::repair(text) else {
        return Err(e);
    };
    let v = serde_json::from_str(&fixed.text)?;
    replaced.extend(fixed.columns(prefix).into_iter().map(Value::String));
    Ok(v)
}

/// Names the fields whose unpaired surrogates became U+FFFD in the event's metadata
/// ([`REPLACED_SURROGATES`]), when there are any.
pub(super) fn insert_replaced(e: &mut ChangeEvent, replaced: Vec<Value>) {
    if !replaced.is_empty() {
        e.metadata
            .insert(REPLACED_SURROGATES.into(), Value::Array(replaced));
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
