//! A record's bytes to a JSON value.
//!
//! Two things valid under RFC 8259 that `serde_json` refuses are taken on the slow path only,
//! after the plain parse failed, so a well-formed record costs nothing more:
//!
//! - a leading UTF-8 byte order mark, which RFC 8259 §8.1 lets a parser ignore;
//! - a `\u` escape of a lone UTF-16 surrogate (`"\ud800"`): the JSON grammar allows it
//!   (RFC 8259 §8.2), and a source column can hold one (SQL Server `NVARCHAR` and Oracle
//!   `NVARCHAR2` store UTF-16 without checking pairs). Refused, such a record would stop its
//!   shard for good, with no way past it but skipping data. It is read as U+FFFD, the
//!   replacement character, as a lossy UTF-16 decoder does; a surrogate pair is kept as the
//!   character it encodes.

use serde_json::Value;

use super::RecordError;

/// The UTF-8 byte order mark.
const BOM: &[u8] = b"\xEF\xBB\xBF";

/// Parses `bytes` as one JSON document.
pub(super) fn parse(bytes: &[u8]) -> Result<Value, RecordError> {
    let first = match serde_json::from_slice(bytes) {
        Ok(value) => return Ok(value),
        Err(e) => e,
    };
    let body = bytes.strip_prefix(BOM).unwrap_or(bytes);
    let retry = match replace_lone_surrogates(body) {
        Some(fixed) => serde_json::from_slice(&fixed),
        None if body.len() < bytes.len() => serde_json::from_slice(body),
        None => Err(first),
    };
    retry.map_err(|e| describe(bytes, &e))
}

/// The error for bytes that are not a JSON document, saying whether they are UTF-8 at all
/// (serde_json's message for bytes that are not, "invalid unicode code point" or "expected
/// value", hides it).
fn describe(bytes: &[u8], e: &serde_json::Error) -> RecordError {
    match std::str::from_utf8(bytes) {
        Err(u) => RecordError::new(format!(
            "not UTF-8: invalid byte at offset {}",
            u.valid_up_to()
        )),
        Ok(_) => RecordError::new(format!("not JSON: {e}")),
    }
}

/// `bytes` with every `\u` escape of an unpaired surrogate replaced by `\uFFFD`, or `None`
/// when there is none.
///
/// Outside strings valid JSON has no backslash, and inside one a backslash always starts an
/// escape, so escapes are found without tracking strings: skipping each escape whole keeps
/// `\\ud800` (an escaped backslash, then text) from being taken for one.
fn replace_lone_surrogates(bytes: &[u8]) -> Option<Vec<u8>> {
    let mut out: Option<Vec<u8>> = None;
    let mut copied = 0;
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'\\' {
            i += 1;
            continue;
        }
        let Some(unit) = hex_escape(bytes, i) else {
            i += 2;
            continue;
        };
        if (0xD800..=0xDBFF).contains(&unit)
            && hex_escape(bytes, i + 6).is_some_and(|low| (0xDC00..=0xDFFF).contains(&low))
        {
            i += 12;
            continue;
        }
        if (0xD800..=0xDFFF).contains(&unit) {
            let buf = out.get_or_insert_with(|| Vec::with_capacity(bytes.len()));
            buf.extend_from_slice(&bytes[copied..i]);
            buf.extend_from_slice(b"\\uFFFD");
            copied = i + 6;
        }
        i += 6;
    }
    let mut buf = out?;
    buf.extend_from_slice(&bytes[copied..]);
    Some(buf)
}

/// The code unit of the `\uXXXX` escape at `at`, if there is one there.
fn hex_escape(bytes: &[u8], at: usize) -> Option<u16> {
    let escape = bytes.get(at..at + 6)?;
    if escape[0] != b'\\' || escape[1] != b'u' {
        return None;
    }
    // Checked first: `from_str_radix` would also take a sign (`\u+d80`).
    if !escape[2..].iter().all(u8::is_ascii_hexdigit) {
        return None;
    }
    let hex = std::str::from_utf8(&escape[2..]).ok()?;
    u16::from_str_radix(hex, 16).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixed(s: &str) -> Option<String> {
        replace_lone_surrogates(s.as_bytes()).map(|b| String::from_utf8(b).unwrap())
    }

    #[test]
    fn only_unpaired_surrogates_are_replaced() {
        assert_eq!(fixed(r#""a\ud800b""#).as_deref(), Some(r#""a\uFFFDb""#));
        assert_eq!(fixed(r#""\udc00""#).as_deref(), Some(r#""\uFFFD""#));
        assert_eq!(
            fixed(r#""\ud800\ud800\udc00""#).as_deref(),
            Some(r#""\uFFFD\ud800\udc00""#)
        );
        assert_eq!(fixed(r#""\ud83d\ude00 \u00e9 \n""#), None);
        assert_eq!(
            fixed(r#""\\ud800""#),
            None,
            "an escaped backslash, then text"
        );
        assert_eq!(
            fixed(r#""\ud8"#),
            None,
            "a truncated escape is left to the parser"
        );
    }

    #[test]
    fn a_lone_surrogate_reads_as_the_replacement_character() {
        let v = parse(br#"{"a": "x\ud800y", "b": "\ud83d\ude00"}"#).unwrap();
        assert_eq!(v["a"], "x\u{FFFD}y");
        assert_eq!(v["b"], "\u{1F600}");
    }

    #[test]
    fn a_byte_order_mark_is_ignored() {
        let v = parse(b"\xEF\xBB\xBF{\"a\": 1}\n").unwrap();
        assert_eq!(v["a"], 1);
        let err = parse(b"\xEF\xBB\xBF{\"a\": ").unwrap_err().to_string();
        assert!(err.contains("not JSON"), "{err}");
    }
}
