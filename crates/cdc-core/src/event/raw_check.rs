//! What parsing a [`RawValue`](serde_json::value::RawValue) into a [`serde_json::Value`]
//! checks beyond what reading it as a `RawValue` already did.
//!
//! serde_json reads a `RawValue` by skipping it (`ignore_value`): the syntax is checked,
//! numbers included, but neither the nesting depth (a `Value` parse stops at 128 levels) nor
//! the code points of `\u` escapes (a `Value` string refuses an unpaired UTF-16 surrogate).
//! A row kept as a `RawValue`'s text must pass both, or a later read of it would fail. This
//! scan checks exactly those two, which costs a fraction of a second full parse.

/// serde_json's recursion limit: a `Value` parse refuses the 128th nested array or object.
const MAX_DEPTH: u32 = 128;

/// Checks text that serde_json accepted as a `RawValue`; `Err` says what a `Value` parse
/// would refuse.
pub(super) fn check(text: &str) -> Result<(), &'static str> {
    let b = text.as_bytes();
    // Most rows settle it in one vectorised pass: fewer opening brackets than the limit
    // cannot nest that deep, and without a `\u` there is no escape to look at.
    let mut openings = 0usize;
    let mut has_u_escape = false;
    for at in memchr::memchr3_iter(b'{', b'[', b'\\', b) {
        if b[at] == b'\\' {
            // `\\u` (an escaped backslash, then `u`) lands here too: the full scan sorts it out.
            if b.get(at + 1) == Some(&b'u') {
                has_u_escape = true;
                break;
            }
        } else {
            openings += 1;
        }
    }
    if !has_u_escape && openings < MAX_DEPTH as usize {
        return Ok(());
    }
    let mut depth = 0u32;
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'"' => {
                i = skip_string(b, i + 1)?;
                continue;
            }
            b'{' | b'[' => {
                depth += 1;
                if depth >= MAX_DEPTH {
                    return Err("recursion limit exceeded");
                }
            }
            b'}' | b']' => depth = depth.saturating_sub(1),
            _ => {}
        }
        i += 1;
    }
    Ok(())
}

/// From just after an opening quote to just after its closing quote, checking `\u` escapes
/// as a `Value` string does: a trailing surrogate alone, or a leading one not followed by a
/// `\u` trailing one, is refused.
fn skip_string(b: &[u8], mut i: usize) -> Result<usize, &'static str> {
    loop {
        let Some(p) = memchr::memchr2(b'"', b'\\', &b[i..]) else {
            return Err("unterminated string");
        };
        i += p;
        if b[i] == b'"' {
            return Ok(i + 1);
        }
        if b.get(i + 1) != Some(&b'u') {
            i += 2;
            continue;
        }
        let n = hex4(b, i + 2)?;
        i += 6;
        if (0xDC00..=0xDFFF).contains(&n) {
            return Err("lone trailing surrogate in hex escape");
        }
        if (0xD800..=0xDBFF).contains(&n) {
            if b.get(i) != Some(&b'\\') || b.get(i + 1) != Some(&b'u') {
                return Err("unexpected end of hex escape");
            }
            let n2 = hex4(b, i + 2)?;
            if !(0xDC00..=0xDFFF).contains(&n2) {
                return Err("lone leading surrogate in hex escape");
            }
            i += 6;
        }
    }
}

fn hex4(b: &[u8], at: usize) -> Result<u32, &'static str> {
    let digits = b.get(at..at + 4).ok_or("unexpected end of hex escape")?;
    digits.iter().try_fold(0u32, |n, d| {
        let v = (*d as char).to_digit(16).ok_or("invalid hex escape")?;
        Ok(n * 16 + v)
    })
}

#[cfg(test)]
mod tests {
    use serde_json::Value;
    use serde_json::value::RawValue;

    use super::check;

    /// Accepted by the scan exactly when a `Value` parse accepts it (given serde_json read it
    /// as a `RawValue`).
    fn agrees(text: &str) {
        let Ok(raw) = serde_json::from_str::<&RawValue>(text) else {
            return;
        };
        let full = serde_json::from_str::<Value>(raw.get()).is_ok();
        assert_eq!(check(raw.get()).is_ok(), full, "{text}");
    }

    #[test]
    fn depth_limit_matches_serde_json() {
        for depth in [1usize, 2, 100, 126, 127, 128, 129, 300] {
            for (open, close) in [("[", "]"), ("{\"a\":", "}")] {
                let text = format!("{}1{}", open.repeat(depth), close.repeat(depth));
                agrees(&text);
            }
            // Brackets inside strings do not nest.
            let text = format!("[\"{}\"]", "[".repeat(depth));
            agrees(&text);
            assert!(check(&text).is_ok());
        }
        let deep = format!("{}{}", "[".repeat(127), "]".repeat(127));
        assert!(check(&deep).is_ok() == serde_json::from_str::<Value>(&deep).is_ok());
    }

    /// Random texts from JSON's structural pieces and escapes (a fixed-seed generator, so a
    /// failure repeats): the scan and a full parse agree on every one serde_json reads as a
    /// RawValue.
    #[test]
    fn random_texts_match_serde_json() {
        const PIECES: [&str; 20] = [
            "[", "]", "{", "}", "\"", "\"a\":", ",", "1", "-2.5e3", "null", "\\u", "d800", "dc00",
            "DBFF", "dfff", "0041", "\\n", "\\", "x", " ",
        ];
        let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let mut parsed = 0;
        for _ in 0..200_000 {
            let len = 1 + (next() % 12) as usize;
            let text: String = (0..len)
                .map(|_| PIECES[(next() % PIECES.len() as u64) as usize])
                .collect();
            if serde_json::from_str::<&RawValue>(&text).is_ok() {
                parsed += 1;
            }
            agrees(&text);
        }
        assert!(
            parsed > 1_000,
            "the generator makes enough valid texts ({parsed})"
        );
    }

    #[test]
    fn escapes_match_serde_json() {
        for s in [
            r#""\ud800""#,
            r#""\udc00""#,
            r#""\ud800\udc00""#,
            r#""\ud83d\ude00 ok""#,
            r#""\ud800\u0041""#,
            r#""\ud800\ud800\udc00""#,
            r#""\ud800\n""#,
            r#""\ud800x""#,
            r#""\u0041\"\\\/\b\f\n\r\t""#,
            r#"{"\udc00":1}"#,
            r#"{"k":"\\ud800"}"#,
            r#"["a\\", "\u00e9", "\uDBFF\uDFFF"]"#,
            r#""\uD800\uDC00""#,
            r#""\uDbFf\udFfF""#,
            r#"{"a":[1,2,{"b":"x\"]"}],"c":null}"#,
            r#"1e400"#,
            r#"-0.0e-5"#,
        ] {
            agrees(s);
        }
    }
}
