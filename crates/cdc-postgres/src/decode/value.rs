//! One value's text (pgoutput `t` or COPY text, with the session pinned to `DateStyle=ISO`,
//! `IntervalStyle=postgres`, `extra_float_digits=3`, `TimeZone=UTC`, `bytea_output=hex`)
//! written as JSON, by its [`Kind`]. Nothing here fails: a text that does not look as its type
//! should is written as a JSON string.

use base64::Engine;

use super::array;
use super::types::Kind;

/// Bytes a JSON string must escape: `"`, `\`, control characters, DEL.
const fn escape_table() -> [bool; 256] {
    let mut t = [false; 256];
    let mut i = 0;
    while i < 0x20 {
        t[i] = true;
        i += 1;
    }
    t[b'"' as usize] = true;
    t[b'\\' as usize] = true;
    t[0x7f] = true;
    t
}

static ESCAPE: [bool; 256] = escape_table();

/// Appends `text` as a JSON string literal.
pub fn push_json_str(out: &mut String, text: &str) {
    if !text.bytes().any(|b| ESCAPE[usize::from(b)]) {
        out.reserve(text.len() + 2);
        out.push('"');
        out.push_str(text);
        out.push('"');
        return;
    }
    out.push('"');
    let bytes = text.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let escape: Option<&str> = match b {
            b'"' => Some("\\\""),
            b'\\' => Some("\\\\"),
            b'\n' => Some("\\n"),
            b'\r' => Some("\\r"),
            b'\t' => Some("\\t"),
            0..=0x1f | 0x7f => None,
            _ => continue,
        };
        out.push_str(&text[start..i]);
        match escape {
            Some(e) => out.push_str(e),
            None => out.push_str(&format!("\\u{b:04x}")),
        }
        start = i + 1;
    }
    out.push_str(&text[start..]);
    out.push('"');
}

/// Appends `text` as a JSON string literal to the bytes of a row: the same bytes as
/// [`push_json_str`] (escapes are ASCII, so UTF-8 passes through as it is); the caller checks
/// the whole row as UTF-8.
pub fn push_json_bytes(out: &mut Vec<u8>, text: &[u8]) {
    out.reserve(text.len() + 2);
    out.push(b'"');
    let mut start = 0;
    for (i, &b) in text.iter().enumerate() {
        if !ESCAPE[usize::from(b)] {
            continue;
        }
        out.extend_from_slice(&text[start..i]);
        match b {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            _ => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                out.extend_from_slice(b"\\u00");
                out.push(HEX[usize::from(b >> 4)]);
                out.push(HEX[usize::from(b & 0xf)]);
            }
        }
        start = i + 1;
    }
    out.extend_from_slice(&text[start..]);
    out.push(b'"');
}

/// Appends the JSON form of a value of `kind` whose text is `text`.
pub fn push_value(out: &mut String, kind: Kind, text: &str) {
    match kind {
        Kind::Integer if is_integer(text) => out.push_str(text),
        Kind::Float if is_json_number(text) => out.push_str(text),
        Kind::Bool if text == "t" => out.push_str("true"),
        Kind::Bool if text == "f" => out.push_str("false"),
        // The row is checked as a whole afterwards: a JSON value serde cannot hold (nesting
        // beyond its limit) makes the caller write the column as a string instead.
        Kind::Json => out.push_str(text),
        Kind::Bytea => push_bytea(out, text),
        Kind::Timestamp => push_timestamp(out, text, false),
        Kind::TimestampTz => push_timestamp(out, text, true),
        Kind::TimeTz => push_timetz(out, text),
        Kind::Array(elem) => {
            if !array::push_array(out, elem, text) {
                push_json_str(out, text);
            }
        }
        Kind::Integer | Kind::Float | Kind::Bool | Kind::Numeric | Kind::Text => {
            push_json_str(out, text);
        }
    }
}

/// A JSON integer literal: `-?(0|[1-9][0-9]*)`.
fn is_integer(text: &str) -> bool {
    let digits = text.strip_prefix('-').unwrap_or(text);
    !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit())
        && (digits.len() == 1 || !digits.starts_with('0'))
}

/// A JSON number literal: `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`.
pub fn is_json_number(text: &str) -> bool {
    let b = text.as_bytes();
    let mut i = 0;
    if b.first() == Some(&b'-') {
        i += 1;
    }
    let int_start = i;
    while i < b.len() && b[i].is_ascii_digit() {
        i += 1;
    }
    let int_len = i - int_start;
    if int_len == 0 || (int_len > 1 && b[int_start] == b'0') {
        return false;
    }
    if i < b.len() && b[i] == b'.' {
        i += 1;
        let s = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == s {
            return false;
        }
    }
    if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
        i += 1;
        if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
            i += 1;
        }
        let s = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == s {
            return false;
        }
    }
    i == b.len()
}

/// bytea's `\x0a1b` (hex output) or escape output (`a\\b\001`) → base64 of the bytes.
fn push_bytea(out: &mut String, text: &str) {
    let bytes = match text.strip_prefix("\\x") {
        Some(hex) => decode_hex(hex),
        None => decode_escape(text),
    };
    match bytes {
        Some(bytes) => {
            out.push('"');
            base64::engine::general_purpose::STANDARD.encode_string(bytes, out);
            out.push('"');
        }
        None => push_json_str(out, text),
    }
}

fn decode_hex(hex: &str) -> Option<Vec<u8>> {
    let b = hex.as_bytes();
    if !b.len().is_multiple_of(2) {
        return None;
    }
    let nibble = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    };
    b.chunks_exact(2)
        .map(|p| Some(nibble(p[0])? << 4 | nibble(p[1])?))
        .collect()
}

fn decode_escape(text: &str) -> Option<Vec<u8>> {
    let b = text.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'\\' {
            out.push(b[i]);
            i += 1;
        } else if b.get(i + 1) == Some(&b'\\') {
            out.push(b'\\');
            i += 2;
        } else {
            let oct = b.get(i + 1..i + 4)?;
            if !oct.iter().all(|c| (b'0'..=b'7').contains(c)) {
                return None;
            }
            let v = u32::from(oct[0] - b'0') * 64
                + u32::from(oct[1] - b'0') * 8
                + u32::from(oct[2] - b'0');
            out.push(u8::try_from(v).ok()?);
            i += 4;
        }
    }
    Some(out)
}

/// `2026-03-01 12:00:00.5[+00]` → `2026-03-01T12:00:00.5[Z]`. `infinity`, `-infinity` and
/// BC dates stay as PostgreSQL writes them.
fn push_timestamp(out: &mut String, text: &str, with_zone: bool) {
    let b = text.as_bytes();
    let date_ok = b.len() >= 19
        && b[..10].iter().enumerate().all(|(i, c)| {
            if i == 4 || i == 7 {
                *c == b'-'
            } else {
                c.is_ascii_digit()
            }
        })
        && b[10] == b' ';
    let rest = text.get(11..).unwrap_or("");
    let (clock, zone) = if with_zone {
        split_zone(rest)
    } else {
        (rest, "")
    };
    if !date_ok || !is_clock(clock) || !is_zone(zone) || (with_zone && zone.is_empty()) {
        push_json_str(out, text);
        return;
    }
    out.push('"');
    out.push_str(&text[..10]);
    out.push('T');
    out.push_str(clock);
    push_zone(out, zone);
    out.push('"');
}

/// `12:00:00+02` → `12:00:00+02:00`.
fn push_timetz(out: &mut String, text: &str) {
    let (clock, zone) = split_zone(text);
    if zone.is_empty() || !is_clock(clock) || !is_zone(zone) {
        push_json_str(out, text);
        return;
    }
    out.push('"');
    out.push_str(clock);
    push_zone(out, zone);
    out.push('"');
}

/// `12:00:00.5`: digits, `:` and `.` only (what ISO output prints).
fn is_clock(s: &str) -> bool {
    s.len() >= 5
        && s.as_bytes()[0].is_ascii_digit()
        && s.bytes()
            .all(|b| b.is_ascii_digit() || b == b':' || b == b'.')
}

/// `+05`, `-05:30`, `+05:53:28`, or nothing.
fn is_zone(z: &str) -> bool {
    z.is_empty()
        || (z.len() >= 3
            && matches!(z.as_bytes()[0], b'+' | b'-')
            && z[1..].bytes().all(|b| b.is_ascii_digit() || b == b':'))
}

/// Splits `12:00:00.5+05:30` into the clock and the offset (empty when none).
fn split_zone(text: &str) -> (&str, &str) {
    match text.rfind(['+', '-']) {
        Some(i) if i >= 8 => (&text[..i], &text[i..]),
        _ => (text, ""),
    }
}

/// `+00` → `Z`; `+02` → `+02:00`; `+05:30` and `+05:53:28` as they are.
fn push_zone(out: &mut String, zone: &str) {
    match zone {
        "" => {}
        "+00" | "+00:00" | "-00" => out.push('Z'),
        z if z.len() == 3 => {
            out.push_str(z);
            out.push_str(":00");
        }
        z => out.push_str(z),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json(kind: Kind, text: &str) -> String {
        let mut s = String::new();
        push_value(&mut s, kind, text);
        s
    }

    #[test]
    fn scalars() {
        assert_eq!(json(Kind::Integer, "-42"), "-42");
        assert_eq!(json(Kind::Integer, "007"), "\"007\"");
        assert_eq!(json(Kind::Integer, "0"), "0");
        assert_eq!(
            json(Kind::Integer, "9223372036854775807"),
            "9223372036854775807"
        );
        assert_eq!(json(Kind::Numeric, "12.50"), "\"12.50\"");
        assert_eq!(json(Kind::Numeric, "NaN"), "\"NaN\"");
        assert_eq!(json(Kind::Float, "0.1"), "0.1");
        assert_eq!(json(Kind::Float, "1e+30"), "1e+30");
        assert_eq!(json(Kind::Float, "-Infinity"), "\"-Infinity\"");
        assert_eq!(json(Kind::Float, "NaN"), "\"NaN\"");
        assert_eq!(json(Kind::Bool, "t"), "true");
        assert_eq!(json(Kind::Text, "a\"b\\c\n\u{1}"), r#""a\"b\\c\n\u0001""#);
        assert_eq!(json(Kind::Bytea, "\\x00ff10"), "\"AP8Q\"");
        assert_eq!(json(Kind::Bytea, "a\\\\b\\001"), "\"YVxiAQ==\"");
        assert_eq!(
            json(Kind::TimestampTz, "2026-03-01 12:00:00.123456+00"),
            "\"2026-03-01T12:00:00.123456Z\""
        );
        assert_eq!(
            json(Kind::Timestamp, "2026-03-01 12:00:00"),
            "\"2026-03-01T12:00:00\""
        );
        assert_eq!(json(Kind::TimestampTz, "infinity"), "\"infinity\"");
        assert_eq!(
            json(Kind::Timestamp, "0044-03-15 12:00:00 BC"),
            "\"0044-03-15 12:00:00 BC\""
        );
        assert_eq!(json(Kind::TimeTz, "12:00:00+02"), "\"12:00:00+02:00\"");
        assert_eq!(json(Kind::TimeTz, "12:00:00-05:30"), "\"12:00:00-05:30\"");
        // Anything not shaped as ISO output stays text (and valid JSON).
        assert_eq!(json(Kind::TimeTz, "\"xa0+"), r#""\"xa0+""#);
        assert_eq!(
            json(Kind::TimestampTz, "2026-03-01 1\"2:00:00+00"),
            r#""2026-03-01 1\"2:00:00+00""#
        );
        assert_eq!(
            json(Kind::Timestamp, "12026-03-01 12:00:00"),
            "\"12026-03-01 12:00:00\""
        );
    }

    #[test]
    fn bytes_are_escaped_as_strings_are() {
        for text in [
            "",
            "plain é 😀",
            "a\"b\\c\n\r\t\u{1}\u{1f}\u{7f}x",
            "\"",
            "\u{0}end",
        ] {
            let (mut s, mut b) = (String::new(), Vec::new());
            push_json_str(&mut s, text);
            push_json_bytes(&mut b, text.as_bytes());
            assert_eq!(String::from_utf8(b).unwrap(), s, "{text:?}");
        }
    }

    #[test]
    fn json_numbers() {
        for ok in [
            "0",
            "-0",
            "1.5",
            "1e5",
            "1E-5",
            "123456789012345678901234567890",
        ] {
            assert!(is_json_number(ok), "{ok}");
        }
        for bad in [
            "", "-", "01", "1.", ".5", "1e", "NaN", "Infinity", "1e+", "+1",
        ] {
            assert!(!is_json_number(bad), "{bad}");
        }
    }
}
