//! Reading the parts of a record: `Ctx`, which parses a field and names its place in errors
//! (`value.payload.op`), and the byte-level helpers every record kind shares (a key's or
//! value's JSON text, `null` tests, times, clipped error text). Apart so that every kind of
//! record reads its fields one way, and so that the fast paths (plain strings, integers, the
//! wrapped-form test) sit next to the test that holds them equal to serde.

use std::borrow::Cow;

use cdc_core::event::json_span::JsonSpan;
use serde::Deserialize;
use time::OffsetDateTime;

use super::envelope::{Part, Source};
use crate::error::{DebeziumError, Result};

/// Where in the record we are, for errors.
pub(super) struct Ctx<'t> {
    pub(super) topic: &'t str,
    pub(super) loc: &'static str,
}

impl Ctx<'_> {
    /// The source block, parsed now if it is still text; JSON `null` is `None`.
    pub(super) fn source<'a, const EAGER: bool>(
        &self,
        part: Option<Part<'a, Box<Source<'a>>, EAGER>>,
    ) -> Result<Option<Box<Source<'a>>>> {
        match part {
            None => Ok(None),
            Some(Part::Parsed(s)) => Ok(Some(s)),
            Some(Part::Raw(raw)) if raw.get() == "null" => Ok(None),
            Some(Part::Raw(raw)) => serde_json::from_str(raw.get())
                .map(Some)
                .map_err(|e| self.err("source", format!("not a Debezium source block: {e}"))),
        }
    }

    pub(super) fn err(&self, field: &str, message: impl Into<String>) -> DebeziumError {
        DebeziumError::decode(self.topic, format!("{}.{field}", self.loc), message)
    }

    /// Parses an optional scalar field; JSON `null` is `None`.
    pub(super) fn field<'a, T: Deserialize<'a>>(
        &self,
        raw: Option<JsonSpan<'a>>,
        name: &str,
    ) -> Result<Option<T>> {
        match raw {
            None => Ok(None),
            Some(r) if r.get() == "null" => Ok(None),
            Some(r) => serde_json::from_str(r.get())
                .map(Some)
                .map_err(|e| self.err(name, format!("{e} (got {})", clip(r.get())))),
        }
    }

    /// [`Ctx::field`] for an integer. A plain JSON integer is read directly (a RawValue is
    /// valid JSON, so `str::parse` accepts exactly the integers serde would); anything
    /// else goes through serde for the same value or the same error.
    pub(super) fn int(&self, raw: Option<JsonSpan<'_>>, name: &str) -> Result<Option<i64>> {
        // `-0` is the one JSON integer text serde reads as a float (an error for i64).
        match raw.map(|r| (r.get(), r.get().parse::<i64>())) {
            Some((text, Ok(n))) if !text.starts_with("-0") => Ok(Some(n)),
            _ => self.field(raw, name),
        }
    }

    /// [`Ctx::field`] for a string: a JSON string without escapes is borrowed as is.
    pub(super) fn text<'a>(
        &self,
        raw: Option<JsonSpan<'a>>,
        name: &str,
    ) -> Result<Option<Cow<'a, str>>> {
        match raw.and_then(|r| plain_string(r.get())) {
            Some(text) => Ok(Some(Cow::Borrowed(text))),
            None => self.field(raw, name),
        }
    }
}

/// The text of a JSON string literal without escapes (`"abc"` → `abc`); `None` for any other
/// JSON, which is then left to serde.
pub(super) fn plain_string(json: &str) -> Option<&str> {
    let inner = json.strip_prefix('"')?.strip_suffix('"')?;
    (!inner.contains('\\')).then_some(inner)
}

/// At most 60 characters of a text, for an error message.
pub(super) fn clip(s: &str) -> &str {
    match s.char_indices().nth(60) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

/// Whether `"payload"` occurs in the text. A naive scan: keys are short, and
/// `str::contains` spends more on building its searcher than on searching them.
pub(super) fn has_payload_key(text: &[u8]) -> bool {
    text.windows(9).any(|w| w == b"\"payload\"")
}

/// A record's key or value as text, or an error saying why it is not JSON text. Records of
/// the Schema Registry converters (Avro, Protobuf, JSON Schema) are framed by a zero byte
/// and a four-byte schema id, which no JSON text starts with: they get an error that says
/// so and names the converter to use, where "not UTF-8" or "not JSON" would leave the user
/// guessing.
pub(super) fn json_text<'b>(topic: &str, part: &str, bytes: &'b [u8]) -> Result<&'b str> {
    if let [0, a, b, c, d, ..] = *bytes {
        let id = u32::from_be_bytes([a, b, c, d]);
        return Err(DebeziumError::decode(
            topic,
            part,
            format!(
                "in the Schema Registry wire format (magic byte 0, schema id {id}), as the \
                 Avro, Protobuf and JSON Schema converters write it; only JSON records are \
                 read: set the connector's {part}.converter to \
                 org.apache.kafka.connect.json.JsonConverter"
            ),
        ));
    }
    // The vectorised check first (most of a record is its row text, checked here whole);
    // the standard one only to say where a record that is not UTF-8 goes wrong.
    match simdutf8::basic::from_utf8(bytes) {
        Ok(text) => Ok(text),
        Err(_) => std::str::from_utf8(bytes)
            .map_err(|e| DebeziumError::decode(topic, part, format!("not UTF-8: {e}"))),
    }
}

pub(super) fn is_null_bytes(b: &[u8]) -> bool {
    b.is_empty() || b.trim_ascii() == b"null"
}

pub(super) fn millis(ms: i64) -> Option<OffsetDateTime> {
    since_epoch(ms, 1_000)
}

/// The time `units` after the epoch, `per_second` units to a second (1 000 or 1 000 000);
/// `None` beyond the calendar. What `OffsetDateTime::from_unix_timestamp_nanos` gives for
/// `units` scaled to nanoseconds, without its `i128` division (a visible share of a small
/// record's decoding).
pub(super) fn since_epoch(units: i64, per_second: i64) -> Option<OffsetDateTime> {
    let nanos = units.rem_euclid(per_second) * (1_000_000_000 / per_second);
    OffsetDateTime::from_unix_timestamp(units.div_euclid(per_second))
        .ok()?
        .replace_nanosecond(u32::try_from(nanos).ok()?)
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_since_the_epoch_are_the_time_crates() {
        let mut n = 0x9E37_79B9_7F4A_7C15_u64;
        let mut cases: Vec<i64> = vec![0, 1, -1, 999, -999, 1_000, -1_001, i64::MAX, i64::MIN];
        for _ in 0..20_000 {
            n ^= n << 13;
            n ^= n >> 7;
            n ^= n << 17;
            // Every magnitude, from a few units to all of i64.
            cases.push((n as i64) >> (n % 64));
        }
        for units in cases {
            for per_second in [1_000i64, 1_000_000] {
                let scale = i128::from(1_000_000_000 / per_second);
                let want =
                    OffsetDateTime::from_unix_timestamp_nanos(i128::from(units) * scale).ok();
                assert_eq!(
                    since_epoch(units, per_second),
                    want,
                    "{units} / {per_second}"
                );
            }
        }
    }

    #[test]
    fn fast_paths_agree_with_serde() {
        assert_eq!(plain_string(r#""first""#), Some("first"));
        assert_eq!(plain_string(r#""a\"b""#), None);
        assert_eq!(plain_string("true"), None);
        assert!(has_payload_key(br#"{"schema":null,"payload":{}}"#));
        assert!(!has_payload_key(br#"{"id":1}"#));
        let ctx = Ctx {
            topic: "t",
            loc: "value",
        };
        let raw = |s: &str| serde_json::value::RawValue::from_string(s.to_owned()).unwrap();
        for text in ["0", "-42", "1795492600769", "null"] {
            let r = raw(text);
            let want: Option<i64> = ctx.field(Some((&*r).into()), "n").unwrap();
            assert_eq!(ctx.int(Some((&*r).into()), "n").unwrap(), want, "{text}");
        }
        for bad in ["-0", "1.5", "\"7\"", "99999999999999999999"] {
            let r = raw(bad);
            let want = ctx
                .field::<i64>(Some((&*r).into()), "n")
                .unwrap_err()
                .to_string();
            assert_eq!(
                ctx.int(Some((&*r).into()), "n").unwrap_err().to_string(),
                want
            );
        }
    }
}
