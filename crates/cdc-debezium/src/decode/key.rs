//! Record keys: the key's columns, taken out of the `{schema, payload}` form and converted by
//! the key schema, or kept as checked JSON text. Apart because change events, schema changes
//! and heartbeats all read their key this one way.

use cdc_core::Row;
use cdc_core::event::json_span::Scanner;
use serde::Deserialize;
use serde_json::Value;
use serde_json::value::RawValue;

use super::Decoder;
use super::read::{has_payload_key, is_null_bytes, json_text};
use super::row::{convert_row, parse_repairing};
use crate::error::{DebeziumError, Result};

impl Decoder {
    /// The key's columns (the payload of a wrapped key), converted by the key schema; kept
    /// as checked JSON text when there is nothing to convert. A key with unpaired surrogate
    /// escapes is read with U+FFFD in their place, its columns added to `replaced`.
    pub(super) fn key(
        &mut self,
        topic: &str,
        key: Option<&[u8]>,
        replaced: &mut Vec<Value>,
    ) -> Result<Option<Row>> {
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
                        .key(topic, w.schema.into())
                        .map_err(|m| DebeziumError::decode(topic, "key.schema", m))?,
                ),
            };
            let ks = ks.filter(|ks| !ks.conversions.is_empty());
            if ks.is_none()
                && let Ok(row) = Row::from_raw_json(w.payload)
            {
                return Ok(Some(row));
            }
            let mut v = parse_repairing(payload, "key", replaced)
                .map_err(|e| DebeziumError::decode(topic, "key.payload", e.to_string()))?;
            let Some(ks) = ks else {
                return Ok(Some(Row::from(v)));
            };
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
        // Checked by the scanner (serde_json reads what it gives up on, below).
        let mut sc = Scanner::new(text);
        if let Some(span) = sc.value()
            && sc.finish().is_some()
            && let Ok(row) = Row::from_span(span)
        {
            return Ok(Some(row));
        }
        parse_repairing(text, "key", replaced)
            .map(|v| Some(Row::from(v)))
            .map_err(|e| DebeziumError::decode(topic, "key", format!("not JSON: {e}")))
    }
}
