//! COPY's text format: rows of tab-separated fields, `\N` for NULL, backslash escapes.
//! The field texts are the types' output, exactly what pgoutput sends, so the same value
//! conversion applies to both.

use crate::decode::TupleValue;

/// A field of a row: where its text is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Field {
    Null,
    /// `line[start..end]`, no escapes.
    Plain(usize, usize),
    /// `scratch[start..end]`, unescaped.
    Unescaped(usize, usize),
}

/// Splits COPY text rows into fields, reusing its buffers from row to row.
#[derive(Debug, Default)]
pub struct RowParser {
    fields: Vec<Field>,
    scratch: String,
}

impl RowParser {
    /// Parses one row (without its newline) and calls `f` with its values. `Err` says what
    /// is malformed (never expected from a real server).
    pub fn parse<R>(
        &mut self,
        line: &[u8],
        f: impl FnOnce(&[TupleValue<'_>]) -> R,
    ) -> Result<R, String> {
        let line = std::str::from_utf8(line).map_err(|e| format!("COPY row is not UTF-8: {e}"))?;
        self.fields.clear();
        self.scratch.clear();
        let b = line.as_bytes();
        let mut start = 0;
        loop {
            let end = memchr_tab(b, start);
            let raw = &line[start..end];
            let field = if raw == "\\N" {
                Field::Null
            } else if memchr::memchr(b'\\', raw.as_bytes()).is_none() {
                Field::Plain(start, end)
            } else {
                let s = self.scratch.len();
                unescape(raw, &mut self.scratch)?;
                Field::Unescaped(s, self.scratch.len())
            };
            self.fields.push(field);
            if end == b.len() {
                break;
            }
            start = end + 1;
        }
        let value = |f: &Field| match *f {
            Field::Null => TupleValue::Null,
            Field::Plain(s, e) => TupleValue::Text(&line[s..e]),
            Field::Unescaped(s, e) => TupleValue::Text(&self.scratch[s..e]),
        };
        // Most tables have few columns: their values stay on the stack (one allocation less
        // per row).
        const ON_STACK: usize = 32;
        if self.fields.len() <= ON_STACK {
            let mut values = [TupleValue::Null; ON_STACK];
            for (slot, field) in values.iter_mut().zip(&self.fields) {
                *slot = value(field);
            }
            return Ok(f(&values[..self.fields.len()]));
        }
        let values: Vec<TupleValue<'_>> = self.fields.iter().map(value).collect();
        Ok(f(&values))
    }
}

fn memchr_tab(b: &[u8], from: usize) -> usize {
    memchr::memchr(b'\t', &b[from..]).map_or(b.len(), |p| from + p)
}

/// COPY text escapes: `\b \f \n \r \t \v \\`, `\ooo` (octal), `\xhh` (hex), and `\c` = `c`.
fn unescape(raw: &str, out: &mut String) -> Result<(), String> {
    let mut bytes: Vec<u8> = Vec::with_capacity(raw.len());
    let b = raw.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'\\' {
            bytes.push(b[i]);
            i += 1;
            continue;
        }
        let Some(&c) = b.get(i + 1) else {
            return Err("COPY field ends with a lone backslash".into());
        };
        i += 2;
        match c {
            b'b' => bytes.push(8),
            b'f' => bytes.push(12),
            b'n' => bytes.push(b'\n'),
            b'r' => bytes.push(b'\r'),
            b't' => bytes.push(b'\t'),
            b'v' => bytes.push(11),
            b'0'..=b'7' => {
                let mut v = u32::from(c - b'0');
                for _ in 0..2 {
                    match b.get(i) {
                        Some(d @ b'0'..=b'7') => {
                            v = v * 8 + u32::from(d - b'0');
                            i += 1;
                        }
                        _ => break,
                    }
                }
                bytes.push((v & 0xff) as u8);
            }
            b'x' => {
                let mut v = 0u32;
                let mut n = 0;
                while n < 2 {
                    match b.get(i).and_then(|d| (*d as char).to_digit(16)) {
                        Some(d) => {
                            v = v * 16 + d;
                            i += 1;
                            n += 1;
                        }
                        None => break,
                    }
                }
                if n == 0 {
                    bytes.push(b'x');
                } else {
                    bytes.push(v as u8);
                }
            }
            other => bytes.push(other),
        }
    }
    let text = String::from_utf8(bytes).map_err(|_| "COPY field is not UTF-8 once unescaped")?;
    out.push_str(&text);
    Ok(())
}

/// Splits a COPY data stream into rows (at `\n`), across chunk boundaries.
#[derive(Debug, Default)]
pub struct LineSplitter {
    carry: Vec<u8>,
}

impl LineSplitter {
    /// Calls `f` with every complete row of `chunk` (and of what was carried over).
    pub fn feed<E>(
        &mut self,
        chunk: &[u8],
        mut f: impl FnMut(&[u8]) -> Result<(), E>,
    ) -> Result<(), E> {
        let mut rest = chunk;
        if !self.carry.is_empty() {
            match memchr::memchr(b'\n', rest) {
                None => {
                    self.carry.extend_from_slice(rest);
                    return Ok(());
                }
                Some(nl) => {
                    self.carry.extend_from_slice(&rest[..nl]);
                    let line = std::mem::take(&mut self.carry);
                    f(&line)?;
                    rest = &rest[nl + 1..];
                }
            }
        }
        while let Some(nl) = memchr::memchr(b'\n', rest) {
            f(&rest[..nl])?;
            rest = &rest[nl + 1..];
        }
        self.carry.extend_from_slice(rest);
        Ok(())
    }

    /// Whether a partial row is left (the stream ended mid-row).
    pub fn has_partial(&self) -> bool {
        !self.carry.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_nulls_and_escapes() {
        let mut p = RowParser::default();
        let got = p
            .parse(b"1\t\\N\ta\\tb\\\\c\\nd\t\\101\\x42\t", |v| {
                v.iter()
                    .map(|x| match x {
                        TupleValue::Null => "NULL".to_owned(),
                        TupleValue::Text(t) => (*t).to_owned(),
                        _ => "?".into(),
                    })
                    .collect::<Vec<_>>()
            })
            .unwrap();
        assert_eq!(got, vec!["1", "NULL", "a\tb\\c\nd", "AB", ""]);
        assert!(p.parse(b"a\\", |_| ()).is_err());
    }

    #[test]
    fn rows_across_chunks() {
        let mut s = LineSplitter::default();
        let mut rows: Vec<String> = Vec::new();
        for chunk in [&b"a\tb\nc"[..], b"d\te", b"\n", b"x\n"] {
            s.feed::<()>(chunk, |l| {
                rows.push(String::from_utf8(l.to_vec()).unwrap());
                Ok(())
            })
            .unwrap();
        }
        assert_eq!(rows, vec!["a\tb", "cd\te", "x"]);
        assert!(!s.has_partial());
    }
}
