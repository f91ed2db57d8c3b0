//! MongoDB's row images: the connector writes each document as JSON text (extended JSON,
//! `{"_id": {"$oid": "…"}}`) inside a JSON string, for `after`, for `before` (pre-images)
//! and for the fields an update set. The document is the row: its text is read out of the
//! string once here and kept as the row's JSON.

use cdc_core::Row;
use cdc_core::event::json_span::JsonSpan;
use serde_json::Value;

use super::read::clip;

/// The row a JSON string holding a document's JSON text stands for. `Err` says what the
/// text is instead (never the whole of it).
pub(super) fn row_from_text(json_string: &str) -> Result<Row, String> {
    let text: String =
        serde_json::from_str(json_string).map_err(|e| format!("not a JSON string: {e}"))?;
    if !text.trim_start().starts_with('{') {
        return Err(format!(
            "a row written as JSON text must hold a JSON object (a document), got {:?}",
            clip(&text)
        ));
    }
    Row::from_json(&text).map_err(|e| format!("the document's JSON text is not JSON: {e}"))
}

/// MongoDB's `updateDescription`, with `updatedFields` (JSON text in the record) as the
/// object it holds; `None` for JSON `null`.
pub(super) fn update_description(raw: JsonSpan<'_>) -> Result<Option<Value>, String> {
    let mut v: Value = serde_json::from_str(raw.get()).map_err(|e| e.to_string())?;
    match &mut v {
        Value::Null => return Ok(None),
        Value::Object(m) => {
            if let Some(Value::String(text)) = m.get("updatedFields")
                && let Ok(fields @ Value::Object(_)) = serde_json::from_str::<Value>(text)
            {
                m.insert("updatedFields".into(), fields);
            }
        }
        _ => return Err("must be an object".into()),
    }
    Ok(Some(v))
}
