//! Reading the fields of a DMS record's `metadata`.
//!
//! Anyone who can write to the stream can send a record, so every field the decoder reads is
//! checked for the type DMS writes: a wrong type, a malformed timestamp or an out-of-range
//! id is an error naming the field, never a value silently dropped, defaulted or
//! reinterpreted. Fields only copied to the event's metadata are copied as they are, whatever
//! their type: nothing reads them, and refusing one would stop the shard over a field a DMS
//! version writes differently.

use serde_json::{Map, Value};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;

use super::RecordError;

/// Longest piece of a record's text quoted in an error (in characters): enough to recognise
/// the value, while a megabyte-long one does not end up whole in the status and the logs.
const CLIP_CHARS: usize = 60;

/// At most the first [`CLIP_CHARS`] characters of `s`.
pub(super) fn clip(s: &str) -> &str {
    match s.char_indices().nth(CLIP_CHARS) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

/// A string field that must be there.
pub(super) fn str_field<'a>(m: &'a Map<String, Value>, name: &str) -> Result<&'a str, RecordError> {
    match opt_str_field(m, name)? {
        // An empty operation or record type says nothing: refused like a missing one.
        Some("") => Err(RecordError::new(format!("metadata.{name} is empty"))),
        Some(s) => Ok(s),
        None => Err(RecordError::new(format!("metadata.{name} is missing"))),
    }
}

/// A string field, `None` when absent or `null`.
pub(super) fn opt_str_field<'a>(
    m: &'a Map<String, Value>,
    name: &str,
) -> Result<Option<&'a str>, RecordError> {
    match m.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(other) => Err(RecordError::new(format!(
            "metadata.{name} must be a string, not {}",
            cdc_core::event::json_type_name(other)
        ))),
    }
}

/// A transaction or record id: DMS writes a number (`"transaction-id": 8589934593`), some
/// sources a string; `None` when absent, `null` or `""`.
///
/// A number must be an integer in `0..=u64::MAX`: with serde_json's `arbitrary_precision`
/// any JSON number text (`1.5`, `-1`, `1e400`) would otherwise pass through as an "id".
pub(super) fn opt_id(m: &Map<String, Value>, name: &str) -> Result<Option<String>, RecordError> {
    match m.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.is_empty() => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(Value::Number(n)) => match n.as_u64() {
            Some(id) => Ok(Some(id.to_string())),
            None => Err(RecordError::new(format!(
                "metadata.{name} {} is not an integer in 0..={}",
                clip(&n.to_string()),
                u64::MAX
            ))),
        },
        Some(other) => Err(RecordError::new(format!(
            "metadata.{name} must be a string or a number, not {}",
            cdc_core::event::json_type_name(other)
        ))),
    }
}

/// A timestamp field, `None` when absent or `null`; a malformed one is an error (dropping it
/// would silently move the event's commit time to another field, or to nothing).
pub(super) fn opt_time(
    m: &Map<String, Value>,
    name: &str,
) -> Result<Option<OffsetDateTime>, RecordError> {
    let Some(s) = opt_str_field(m, name)? else {
        return Ok(None);
    };
    parse_time(s).map(Some).ok_or_else(|| {
        RecordError::new(format!(
            "metadata.{name} {:?} is not a timestamp (RFC 3339 such as \
             2026-03-01T12:00:00.123456Z, or the same without a zone, read as UTC)",
            clip(s)
        ))
    })
}

/// RFC 3339, or DMS's zone-less `2026-03-01T12:00:00.123456` (UTC).
pub(super) fn parse_time(s: &str) -> Option<OffsetDateTime> {
    if let Ok(t) = OffsetDateTime::parse(s, &Rfc3339) {
        return Some(t);
    }
    // A year without a sign, as RFC 3339 has it: `[year]` alone would also take `-2026`.
    if !s.starts_with(|c: char| c.is_ascii_digit()) {
        return None;
    }
    let naive = format_description!(
        "[year]-[month]-[day][first [T][ ]][hour]:[minute]:[second][optional [.[subsecond]]]"
    );
    time::PrimitiveDateTime::parse(s, naive)
        .ok()
        .map(|t| t.assume_utc())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn zone_less_timestamps_are_utc() {
        assert_eq!(
            parse_time("2026-11-24T03:56:40.254118"),
            Some(time::macros::datetime!(2026-11-24 03:56:40.254118 UTC))
        );
        assert_eq!(parse_time("yesterday"), None);
    }

    #[test]
    fn clip_counts_characters_not_bytes() {
        let long = "é".repeat(100);
        assert_eq!(clip(&long).chars().count(), CLIP_CHARS);
        assert_eq!(clip("short"), "short");
    }

    #[test]
    fn ids_are_strings_or_u64() {
        let m = |v: Value| json!({"x": v}).as_object().unwrap().clone();
        assert_eq!(
            opt_id(&m(json!(8589934593u64)), "x").unwrap().as_deref(),
            Some("8589934593")
        );
        assert_eq!(
            opt_id(&m(json!("0a00")), "x").unwrap().as_deref(),
            Some("0a00")
        );
        assert_eq!(opt_id(&m(json!("")), "x").unwrap(), None);
        assert_eq!(
            opt_id(&m(json!(u64::MAX)), "x").unwrap().as_deref(),
            Some("18446744073709551615")
        );
    }
}
