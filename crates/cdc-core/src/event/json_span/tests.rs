//! The scanner against serde_json: what it accepts, where it gives up, and the spans it takes.

use super::*;

/// The span the scanner takes for `text` as a whole value, `None` when it gives up.
fn whole_span(text: &str) -> Option<JsonSpan<'_>> {
    let mut s = Scanner::new(text);
    let v = s.value()?;
    s.finish()?;
    Some(v)
}

fn whole(text: &str) -> Option<&str> {
    whole_span(text).map(JsonSpan::get)
}

#[test]
fn a_span_without_escapes_parses_as_a_value_and_one_with_them_is_looked_at() {
    let deep = format!("{}1{}", "[".repeat(64), "]".repeat(64));
    for (text, plain) in [
        (r#"{"a":[1,{"b":"c d"}],"e":null}"#, true),
        (deep.as_str(), true),
        (r#"["\uD800"]"#, false),
        (r#"{"a":"x\ny"}"#, false),
    ] {
        let span = whole_span(text).unwrap();
        assert_eq!(span.parses_as_value(), plain, "{text}");
        if plain {
            serde_json::from_str::<serde_json::Value>(text).unwrap();
        }
    }
    let raw: &RawValue = serde_json::from_str("[1]").unwrap();
    assert!(
        !JsonSpan::from(raw).parses_as_value(),
        "serde's spans are looked at"
    );
}

#[test]
fn accepts_what_serde_json_accepts_as_its_own_span() {
    for text in [
        "null",
        "true",
        " false ",
        "0",
        "-0",
        "12.5e-3",
        "1E+9",
        r#""a\"b\\c\/\b\f\n\r\t\u00e9""#,
        r#"{"a":[1,{"b":null},[],{}],"c":"d"}"#,
        " [ 1 , 2 ] ",
        "\"é ✓\"",
    ] {
        let raw: &RawValue = serde_json::from_str(text).unwrap();
        assert_eq!(whole(text), Some(raw.get()), "{text:?}");
    }
}

#[test]
fn gives_up_on_what_serde_json_refuses() {
    for text in [
        "",
        "nul",
        "tru",
        "01",
        "1.",
        "1e",
        "-",
        "+1",
        ".5",
        "[1,]",
        "{\"a\":1,}",
        "{,}",
        "[1 2]",
        "{\"a\" 1}",
        "{\"a\":}",
        "{1:2}",
        "\"a",
        "\"\\x\"",
        "\"\\u12g4\"",
        "\"tab\there\"",
        "[",
        "]",
        "{\"a\":1]",
        "[1}",
        "1 2",
        "truex",
        "nullnull",
    ] {
        assert!(
            serde_json::from_str::<&RawValue>(text).is_err(),
            "{text:?} is valid"
        );
        assert_eq!(whole(text), None, "{text:?}");
    }
}

#[test]
fn finds_the_first_byte_that_ends_a_plain_run() {
    // Lengths across the 16- and 8-byte steps and the byte-wise tail, from several starts.
    for start in 0..3 {
        for len in 0..40 {
            for stop in [b'"', b'\\', 0x00, 0x1f, b'\n'] {
                for fill in [b'a', b' ', 0x7f, 0x21, 0xc3, 0x80, 0xff] {
                    let mut v = vec![b'"'; start];
                    v.extend(std::iter::repeat_n(fill, len));
                    v.push(stop);
                    v.extend_from_slice(b"\"\\x");
                    assert_eq!(
                        stop_byte(&v, start),
                        Some(start + len),
                        "start {start} len {len} stop {stop} fill {fill}"
                    );
                }
            }
            assert_eq!(stop_byte(&vec![b'a'; start + len], start), None);
        }
    }
}

/// Random texts over JSON's alphabet (multibyte characters included): the scanner never
/// panics, and whatever it accepts serde_json accepts, with the same span.
#[test]
fn random_texts_are_accepted_only_as_serde_json_accepts_them() {
    const PARTS: &[&str] = &[
        "{",
        "}",
        "[",
        "]",
        ",",
        ":",
        "\"",
        "\\",
        "\\u",
        "0",
        "1",
        "-",
        ".",
        "e",
        "+",
        " ",
        "\n",
        "true",
        "null",
        "f",
        "a",
        "\"k\":",
        "é",
        "✓",
        "\u{1F600}",
        "\u{1}",
        "7",
    ];
    let mut state = 0x2545_F491_4F6C_DD1D_u64;
    let (mut taken, mut total) = (0, 0);
    for _ in 0..200_000 {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let mut text = String::new();
        let mut r = state;
        for _ in 0..(r % 12 + 1) {
            text.push_str(PARTS[(r % PARTS.len() as u64) as usize]);
            r = r.rotate_right(7) ^ 0x9E37_79B9;
            r = r.wrapping_mul(0x5851_F42D_4C95_7F2D);
        }
        total += 1;
        if let Some(span) = whole_span(&text) {
            taken += 1;
            let raw: &RawValue = serde_json::from_str(&text)
                .unwrap_or_else(|e| panic!("took {text:?}, which serde_json refuses: {e}"));
            assert_eq!(span.get(), raw.get(), "{text:?}");
            if span.parses_as_value() {
                serde_json::from_str::<serde_json::Value>(&text).unwrap_or_else(|e| {
                    panic!("{text:?} said to parse as a Value, which refuses it: {e}")
                });
            }
        }
    }
    assert!(taken > 1_000, "{taken} of {total} taken");
}

#[test]
fn nesting_beyond_the_limit_is_left_to_serde_json() {
    let deep = format!("{}{}", "[".repeat(64), "]".repeat(64));
    assert!(whole(&deep).is_some());
    let deeper = format!("{}1{}", "[".repeat(65), "]".repeat(65));
    assert_eq!(whole(&deeper), None);
}

#[test]
fn reads_an_object_key_by_key() {
    let text = r#" {"op": "c", "n": -12, "raw": {"x": [1]}, "esc": "a\nb"} "#;
    let mut s = Scanner::new(text);
    let mut obj = s.object().unwrap();
    assert_eq!(s.key(&mut obj), Some(Some("op")));
    assert_eq!(s.string(), Some(("c", false)));
    assert_eq!(s.key(&mut obj), Some(Some("n")));
    assert_eq!(s.value().map(JsonSpan::get), Some("-12"));
    assert_eq!(s.key(&mut obj), Some(Some("raw")));
    assert_eq!(s.value().map(JsonSpan::get), Some(r#"{"x": [1]}"#));
    assert_eq!(s.key(&mut obj), Some(Some("esc")));
    assert_eq!(s.string(), Some((r"a\nb", true)));
    assert_eq!(s.key(&mut obj), Some(None));
    assert_eq!(s.finish(), Some(()));
    // A key written with escapes is left to the full parser.
    let mut s = Scanner::new(r#"{"\u006fp": 1}"#);
    let mut obj = s.object().unwrap();
    assert_eq!(s.key(&mut obj), None);
}

/// A number's value, read while it is checked, is serde_json's `i64` of its text; only
/// integers past 18 digits and `-0` (serde_json's float) are left without one.
#[test]
fn a_numbers_value_is_serde_jsons() {
    const PARTS: &[&str] = &["-", "0", "1", "9", "5", ".", "e", "E", "+", "-", "7"];
    let mut state = 0x9E37_79B9_7F4A_7C15_u64;
    let mut cases: Vec<String> = [
        "0",
        "-0",
        "-0.0",
        "9223372036854775807",
        "-9223372036854775808",
        "999999999999999999",
        "-999999999999999999",
        "1000000000000000000",
        "12e3",
        "1.5",
        "01",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    for _ in 0..100_000 {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let mut r = state;
        let mut text = String::new();
        for _ in 0..(r % 22 + 1) {
            text.push_str(PARTS[(r % PARTS.len() as u64) as usize]);
            r = r.rotate_right(5).wrapping_mul(0x5851_F42D_4C95_7F2D);
        }
        cases.push(text);
    }
    let mut valued = 0;
    for text in cases {
        let mut sc = Scanner::new(&text);
        let Some((span, value)) = sc.number_value() else {
            continue;
        };
        // The span is the number's text as serde_json reads it.
        let raw: &RawValue = match serde_json::from_str(span.get()) {
            Ok(raw) => raw,
            Err(e) => panic!(
                "{text:?}: took {:?}, which serde_json refuses: {e}",
                span.get()
            ),
        };
        assert_eq!(raw.get(), span.get());
        let serde: Option<i64> = serde_json::from_str(span.get()).ok();
        match value {
            Some(n) => {
                valued += 1;
                assert_eq!(Some(n), serde, "{text:?}");
            }
            None => {
                let digits = span.get().trim_start_matches('-');
                let integer = !span.get().contains(['.', 'e', 'E']);
                assert!(
                    !integer || digits.len() > 18 || span.get().starts_with("-0"),
                    "{text:?}: no value for {:?}",
                    span.get()
                );
            }
        }
    }
    assert!(valued > 1_000, "{valued} numbers had a value");
}

/// Eight digits at once: the value of every eight-digit text, and `None` for any with a
/// byte that is not a digit, whatever the byte and its place.
#[test]
fn eight_digits_read_as_a_number_or_not_at_all() {
    let mut state = 0x2545_F491_4F6C_DD1D_u64;
    for _ in 0..200_000 {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let text = format!("{:08}", state % 100_000_000);
        assert_eq!(eight_digits(text.as_bytes()), text.parse().ok(), "{text}");
        let mut bytes = text.into_bytes();
        let at = (state >> 40) as usize % 8;
        bytes[at] = (state >> 48) as u8;
        let want = std::str::from_utf8(&bytes)
            .ok()
            .filter(|t| t.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|t| t.parse().ok());
        assert_eq!(eight_digits(&bytes), want, "{bytes:?}");
    }
    for byte in 0..=255u8 {
        for at in 0..8 {
            let mut bytes = *b"12345678";
            bytes[at] = byte;
            let want = byte
                .is_ascii_digit()
                .then(|| std::str::from_utf8(&bytes).unwrap().parse::<i64>().unwrap());
            assert_eq!(eight_digits(&bytes), want, "{bytes:?}");
        }
    }
}
