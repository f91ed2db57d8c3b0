//! A validating JSON scanner for providers' hot paths: a record is read key by key, the few
//! fields a provider needs are taken, and every other value is checked and kept as its text
//! (a [`JsonSpan`]), which is what serde_json's `RawValue` gives at several times the cost.
//!
//! The scanner checks what serde_json checks when it skips a value (the grammar: strings and
//! their escapes, numbers, literals, brackets), and gives up (`None`) on anything it does not
//! handle itself: a syntax error, a key written with escapes, nesting deeper than
//! [`MAX_DEPTH`]. A caller then reads the same text with serde_json, which accepts or refuses
//! it with a proper error: so the scanner only ever has to be right about the text it
//! accepts, and it accepts no text serde_json would refuse.

use serde::{Deserialize, Deserializer};
use serde_json::value::RawValue;

use bytes::{eight_digits, stop_byte};

/// Nesting the scanner follows; deeper text is left to serde_json.
pub const MAX_DEPTH: u32 = 64;

/// The text of one JSON value whose syntax was checked (by [`Scanner`], or by serde_json
/// reading it as a `RawValue`). Leading and trailing whitespace are not part of it. Two spans
/// are equal when their texts are, and show as their text.
#[derive(Clone, Copy)]
pub struct JsonSpan<'a> {
    text: &'a str,
    /// Read by the [`Scanner`] (nesting within [`MAX_DEPTH`]) and free of `\` escapes: what a
    /// `Value` parse checks beyond a `RawValue`'s (depth, surrogate escapes) is settled.
    plain: bool,
}

impl<'a> JsonSpan<'a> {
    /// The value's JSON text.
    #[inline]
    pub fn get(self) -> &'a str {
        self.text
    }

    /// Whether the value is JSON `null`.
    #[inline]
    pub fn is_null(self) -> bool {
        self.text == "null"
    }

    /// Whether the text parses as a `serde_json::Value` without another look: the scanner
    /// read it (nesting within [`MAX_DEPTH`], below serde_json's 128) and it holds no escape
    /// (so no `\u` surrogate a `Value` refuses). `false` says only that a look is needed.
    #[inline]
    pub fn parses_as_value(self) -> bool {
        self.plain
    }
}

impl std::fmt::Debug for JsonSpan<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("JsonSpan").field(&self.text).finish()
    }
}

impl PartialEq for JsonSpan<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.text == other.text
    }
}

impl Eq for JsonSpan<'_> {}

impl<'a> From<&'a RawValue> for JsonSpan<'a> {
    fn from(raw: &'a RawValue) -> Self {
        Self {
            text: raw.get(),
            plain: false,
        }
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for JsonSpan<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        <&'a RawValue>::deserialize(d).map(Self::from)
    }
}

/// An object being read (see [`Scanner::key`]): whether a member was read yet.
#[derive(Debug)]
pub struct Object {
    first: bool,
}

/// Reads JSON text front to back. Every method returns `None` where the text is not what it
/// expects (or not JSON): the caller falls back to a full parser.
#[derive(Debug)]
pub struct Scanner<'a> {
    text: &'a str,
    pos: usize,
}

impl<'a> Scanner<'a> {
    /// A scanner at the start of `text`.
    pub fn new(text: &'a str) -> Self {
        Self { text, pos: 0 }
    }

    #[inline]
    fn ws(&mut self) {
        let b = self.text.as_bytes();
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = b.get(self.pos) {
            self.pos += 1;
        }
    }

    /// The next byte that is not whitespace, not consumed.
    #[inline]
    pub fn peek(&mut self) -> Option<u8> {
        // Records are mostly written without whitespace: one look, then the loop.
        let c = *self.text.as_bytes().get(self.pos)?;
        if c > b' ' {
            return Some(c);
        }
        self.ws();
        self.text.as_bytes().get(self.pos).copied()
    }

    /// Enters an object (`{`).
    #[inline]
    pub fn object(&mut self) -> Option<Object> {
        (self.peek()? == b'{').then(|| {
            self.pos += 1;
            Object { first: true }
        })
    }

    /// The next key of `obj` (its `:` consumed, the scanner at its value), or `Some(None)` at
    /// the end of the object (its `}` consumed). `None` for a key written with escapes.
    #[inline]
    pub fn key(&mut self, obj: &mut Object) -> Option<Option<&'a str>> {
        let mut c = self.peek()?;
        if c == b'}' {
            self.pos += 1;
            return Some(None);
        }
        if !std::mem::replace(&mut obj.first, false) {
            if c != b',' {
                return None;
            }
            self.pos += 1;
            c = self.peek()?;
        }
        if c != b'"' {
            return None;
        }
        self.key_at_quote().map(Some)
    }

    /// A key and its `:`; `None` unless it is a string without escapes.
    #[inline]
    fn plain_key(&mut self) -> Option<&'a str> {
        if self.peek()? != b'"' {
            return None;
        }
        self.key_at_quote()
    }

    /// [`Scanner::plain_key`] from its opening quote (the caller looked).
    #[inline(always)]
    fn key_at_quote(&mut self) -> Option<&'a str> {
        let start = self.pos + 1;
        self.pos = start;
        if self.string_end()? {
            return None;
        }
        let key = &self.text[start..self.pos - 1];
        // The JSON converter writes no whitespace: look at the next byte before skipping any.
        if self.text.as_bytes().get(self.pos) != Some(&b':') && self.peek()? != b':' {
            return None;
        }
        self.pos += 1;
        Some(key)
    }

    /// A string value: its text between the quotes and whether it holds escapes (then the
    /// text is still escaped).
    #[inline]
    pub fn string(&mut self) -> Option<(&'a str, bool)> {
        if self.peek()? != b'"' {
            return None;
        }
        let start = self.pos + 1;
        self.pos = start;
        let escaped = self.string_end()?;
        Some((&self.text[start..self.pos - 1], escaped))
    }

    /// One value, checked, as its text.
    #[inline]
    pub fn value(&mut self) -> Option<JsonSpan<'a>> {
        self.ws();
        let start = self.pos;
        let escaped = self.skip_value()?;
        Some(JsonSpan {
            text: &self.text[start..self.pos],
            plain: !escaped,
        })
    }

    /// A number, checked, as its text and, when it is an integer of at most 18 digits
    /// (which cannot overflow), its value, read in the same pass. `-0` has no value here:
    /// serde_json reads it as a float. `None` unless a number is next.
    #[inline]
    pub fn number_value(&mut self) -> Option<(JsonSpan<'a>, Option<i64>)> {
        self.ws();
        let b = self.text.as_bytes();
        let start = self.pos;
        let negative = b.get(start) == Some(&b'-');
        let first = start + usize::from(negative);
        let mut n: i64 = 0;
        let mut i = first;
        match b.get(i)? {
            b'0' => i += 1,
            b'1'..=b'9' => {
                // Eight digits at a time (times and positions have 13 to 19), then one.
                while let Some(v) = b.get(i..i + 8).and_then(eight_digits) {
                    n = n.wrapping_mul(100_000_000).wrapping_add(v);
                    i += 8;
                }
                while let Some(d) = b.get(i).map(|c| c.wrapping_sub(b'0')).filter(|d| *d <= 9) {
                    n = n.wrapping_mul(10).wrapping_add(i64::from(d));
                    i += 1;
                }
            }
            _ => return None,
        }
        let digits = i - first;
        self.pos = i;
        let integer = !matches!(b.get(i), Some(b'.' | b'e' | b'E'));
        if !integer {
            // The fraction and exponent, checked by the grammar's reader from the start.
            self.pos = start;
            self.number()?;
        }
        // Only at most 18 digits have a value: `n` of more may have wrapped.
        let value = (integer && digits <= 18 && !(negative && b[first] == b'0'))
            .then(|| if negative { -n } else { n });
        let span = JsonSpan {
            text: &self.text[start..self.pos],
            plain: true,
        };
        Some((span, value))
    }

    /// Whether only whitespace is left.
    #[inline]
    pub fn finish(&mut self) -> Option<()> {
        self.ws();
        (self.pos == self.text.len()).then_some(())
    }

    /// From just after an opening quote to just after the closing one; `Some(true)` when the
    /// string holds escapes. Refuses what serde_json refuses in a string it skips: a control
    /// character, an unknown escape, a `\u` without four hex digits. Inlined: most strings of
    /// a record are short and plain, and a call cost more than their search.
    #[inline(always)]
    fn string_end(&mut self) -> Option<bool> {
        let b = self.text.as_bytes();
        let i = stop_byte(b, self.pos)?;
        if b[i] == b'"' {
            self.pos = i + 1;
            return Some(false);
        }
        self.string_end_escaped(i)
    }

    /// [`Scanner::string_end`] from the first byte at `i` that is a backslash or a control
    /// character.
    #[inline(never)]
    fn string_end_escaped(&mut self, mut i: usize) -> Option<bool> {
        let b = self.text.as_bytes();
        loop {
            if b[i] < 0x20 {
                return None;
            }
            if b[i] == b'"' {
                self.pos = i + 1;
                return Some(true);
            }
            match b.get(i + 1)? {
                b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => i += 2,
                b'u' => {
                    let hex = b.get(i + 2..i + 6)?;
                    if !hex.iter().all(u8::is_ascii_hexdigit) {
                        return None;
                    }
                    i += 6;
                }
                _ => return None,
            }
            i = stop_byte(b, i)?;
        }
    }

    #[inline]
    fn literal(&mut self, word: &[u8]) -> Option<()> {
        let b = self.text.as_bytes();
        (b.get(self.pos..self.pos + word.len())? == word).then(|| self.pos += word.len())
    }

    #[inline]
    fn digits(&mut self) -> usize {
        let b = self.text.as_bytes();
        let start = self.pos;
        while b.get(self.pos).is_some_and(u8::is_ascii_digit) {
            self.pos += 1;
        }
        self.pos - start
    }

    /// A number by JSON's grammar: `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`.
    #[inline]
    fn number(&mut self) -> Option<()> {
        let b = self.text.as_bytes();
        if b.get(self.pos) == Some(&b'-') {
            self.pos += 1;
        }
        match b.get(self.pos)? {
            b'0' => self.pos += 1,
            b'1'..=b'9' => {
                self.digits();
            }
            _ => return None,
        }
        if b.get(self.pos) == Some(&b'.') {
            self.pos += 1;
            if self.digits() == 0 {
                return None;
            }
        }
        if let Some(b'e' | b'E') = b.get(self.pos) {
            self.pos += 1;
            if let Some(b'+' | b'-') = b.get(self.pos) {
                self.pos += 1;
            }
            if self.digits() == 0 {
                return None;
            }
        }
        Some(())
    }

    /// Skips one value, without recursion: `stack` holds a bit per open container (1 for
    /// an object), the innermost lowest. `Some(true)` when a string in it holds an escape
    /// (keys never do: the scanner gives up on those).
    fn skip_value(&mut self) -> Option<bool> {
        let mut stack: u64 = 0;
        let mut depth: u32 = 0;
        let mut escaped = false;
        loop {
            // A value is expected here (whitespace before it skipped by whoever came here).
            let b = self.text.as_bytes();
            match *b.get(self.pos)? {
                b'"' => {
                    self.pos += 1;
                    escaped |= self.string_end()?;
                }
                open @ (b'{' | b'[') => {
                    self.pos += 1;
                    let close = if open == b'{' { b'}' } else { b']' };
                    let first = self.peek()?;
                    if first == close {
                        self.pos += 1;
                    } else {
                        if depth == MAX_DEPTH {
                            return None;
                        }
                        depth += 1;
                        stack = (stack << 1) | u64::from(open == b'{');
                        if open == b'{' {
                            if first != b'"' {
                                return None;
                            }
                            self.key_at_quote()?;
                            self.ws();
                        }
                        continue;
                    }
                }
                b't' => self.literal(b"true")?,
                b'f' => self.literal(b"false")?,
                b'n' => self.literal(b"null")?,
                b'-' | b'0'..=b'9' => self.number()?,
                _ => return None,
            }
            // After a value: close what ends here, or go on to the next member.
            loop {
                if depth == 0 {
                    return Some(escaped);
                }
                let in_object = stack & 1 == 1;
                match self.peek()? {
                    b',' => {
                        self.pos += 1;
                        if in_object {
                            self.plain_key()?;
                        }
                        self.ws();
                        break;
                    }
                    b'}' if in_object => {}
                    b']' if !in_object => {}
                    _ => return None,
                }
                self.pos += 1;
                stack >>= 1;
                depth -= 1;
            }
        }
    }
}

mod bytes;

#[cfg(test)]
mod tests;
