//! Unpaired UTF-16 surrogates in JSON text. A database column can hold broken UTF-16 (SQL
//! Server `nvarchar`, Oracle `NVARCHAR2`); Java reads it into a `String` as is, and Jackson,
//! which Kafka Connect's JSON converter writes with, escapes each surrogate on its own
//! (`"\uD800"`). serde_json refuses such an escape, so a row holding one would make its
//! record undecodable, and that record would hold its partition for good.
//!
//! Such a row is decoded with U+FFFD in place of each unpaired surrogate, what every UTF-8
//! decoder does with broken text, and its columns are named in the event's metadata
//! ([`REPLACED_SURROGATES`](super::REPLACED_SURROGATES)), so that the replacement is not
//! silent. Only on the error path: valid rows are never scanned for this.

use std::collections::BTreeMap;

use serde_json::value::RawValue;

/// JSON text with its unpaired surrogate escapes replaced by `\uFFFD`, and where they were.
pub(super) struct Repaired {
    /// The text; the same length as the original (each escape is six bytes either way), so
    /// an offset means the same in both.
    pub(super) text: String,
    /// Byte offsets of the escapes replaced.
    at: Vec<usize>,
}

/// The JSON text with each unpaired `\uD800`..`\uDFFF` escape replaced by `\uFFFD`; `None`
/// when it has none (then its error, if any, is another one). Escapes are only looked for
/// after a backslash that is not itself escaped, so `"\\uD800"` (a backslash and `uD800`)
/// is left alone.
pub(super) fn repair(text: &str) -> Option<Repaired> {
    let bytes = text.as_bytes();
    let mut at: Vec<usize> = Vec::new();
    let mut i = 0;
    // `get`: an escape cut by the end of the text (`"\`) steps `i` past it.
    while let Some(off) = bytes.get(i..).and_then(|rest| memchr::memchr(b'\\', rest)) {
        let start = i + off;
        if bytes.get(start + 1) != Some(&b'u') {
            // Any other escape is two bytes; skipping both keeps `\\` from being read as
            // the start of another.
            i = start + 2;
            continue;
        }
        let Some(unit) = hex_unit(bytes, start) else {
            i = start + 2;
            continue;
        };
        match unit {
            0xD800..=0xDBFF => {
                let low = hex_unit(bytes, start + 6).filter(|u| (0xDC00..=0xDFFF).contains(u));
                if low.is_some() {
                    i = start + 12;
                    continue;
                }
                at.push(start);
            }
            0xDC00..=0xDFFF => at.push(start),
            _ => {}
        }
        i = start + 6;
    }
    if at.is_empty() {
        return None;
    }
    let mut fixed = bytes.to_vec();
    for &s in &at {
        fixed[s + 2..s + 6].copy_from_slice(b"FFFD");
    }
    // ASCII hex digits replaced ASCII hex digits: still UTF-8.
    let text = String::from_utf8(fixed).ok()?;
    Some(Repaired { text, at })
}

/// The UTF-16 unit of the `\uXXXX` escape at `start`, if there is one.
fn hex_unit(bytes: &[u8], start: usize) -> Option<u16> {
    if bytes.get(start..start + 2)? != b"\\u" {
        return None;
    }
    let hex = bytes.get(start + 2..start + 6)?;
    // Four hex digits: `from_str_radix` alone would also take a sign (`\u+DC0`).
    if !hex.iter().all(u8::is_ascii_hexdigit) {
        return None;
    }
    u16::from_str_radix(std::str::from_utf8(hex).ok()?, 16).ok()
}

impl Repaired {
    /// `prefix.column` for each column of the repaired JSON object whose entry (its name or
    /// its value) held a replaced escape, in the order of the text. Empty when the text is
    /// not an object (a key that is a bare string): then `prefix` alone is named.
    pub(super) fn columns(&self, prefix: &str) -> Vec<String> {
        let Ok(entries) = serde_json::from_str::<BTreeMap<String, &RawValue>>(&self.text) else {
            return vec![prefix.to_owned()];
        };
        let base = self.text.as_ptr() as usize;
        let mut spans: Vec<(usize, &str)> = entries
            .iter()
            .map(|(col, raw)| {
                (
                    raw.get().as_ptr() as usize - base + raw.get().len(),
                    col.as_str(),
                )
            })
            .collect();
        spans.sort_unstable();
        // An entry runs from the end of the one before it to the end of its value, so its
        // name is part of it.
        let mut out = Vec::new();
        let mut from = 0;
        for (end, col) in spans {
            if self.at.iter().any(|&a| a >= from && a < end) {
                out.push(format!("{prefix}.{col}"));
            }
            from = end;
        }
        if out.is_empty() {
            out.push(prefix.to_owned());
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixed(text: &str) -> Option<String> {
        repair(text).map(|r| r.text)
    }

    #[test]
    fn only_unpaired_surrogate_escapes_are_replaced() {
        assert_eq!(
            fixed(r#"{"a":"x\uD800y"}"#).as_deref(),
            Some(r#"{"a":"x\uFFFDy"}"#)
        );
        assert_eq!(
            fixed(r#"{"a":"\udc00"}"#).as_deref(),
            Some(r#"{"a":"\uFFFD"}"#)
        );
        // A high surrogate followed by another high one: the first is unpaired.
        assert_eq!(
            fixed(r#"["\uD800\uD83D\uDE00"]"#).as_deref(),
            Some(r#"["\uFFFD\uD83D\uDE00"]"#)
        );
        assert_eq!(fixed(r#"["\uD800\n"]"#).as_deref(), Some(r#"["\uFFFD\n"]"#));
        assert_eq!(fixed(r#"["\uD83D\uDE00", "\u00e9", "\\uD800"]"#), None);
        assert_eq!(fixed(r#"["\"]"#), None);
        assert_eq!(
            fixed("\"\\uD8"),
            None,
            "a truncated escape is another error"
        );
        // A backslash as the last byte: the escape it starts is cut off, which is another
        // error too (a record key `x\` once sliced past the end of the text here).
        for cut in ["\\", "x\\", "\"\\", "\"\\u", "{\"a\":\"\\\\\\"] {
            assert_eq!(fixed(cut), None, "{cut}");
        }
        assert_eq!(fixed("[\"\\uD800\\").as_deref(), Some("[\"\\uFFFD\\"));
        // A sign is not a hex digit: `\u+DC0` is not an escape of 0x0DC0.
        assert_eq!(hex_unit(b"\\u+DC0", 0), None);
        assert_eq!(hex_unit(b"\\uDC00", 0), Some(0xDC00));
    }

    #[test]
    fn the_columns_named_are_those_holding_a_replacement() {
        let r = repair(r#"{"id":1,"name":"a\uD800","note":"ok","b\uDFFF":2}"#).unwrap();
        assert_eq!(r.columns("after"), ["after.name", "after.b\u{FFFD}"]);
        let r = repair(r#""\uD800""#).unwrap();
        assert_eq!(r.columns("key"), ["key"]);
    }
}
