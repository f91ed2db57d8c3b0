//! [`Reader`]: the cursor over one message's bytes that every field is read with. The
//! primitives (integers, strings, tuples) and their error reporting live here, so the
//! per-message decoding in the parent module reads as the layout of each message.

use super::{DecodeError, OldKind, Tuple, TupleValue};

/// A cursor over one message's bytes.
pub(super) struct Reader<'a> {
    pub(super) tag: u8,
    pub(super) buf: &'a [u8],
    pub(super) pos: usize,
}

impl<'a> Reader<'a> {
    pub(super) fn fail(&self, reason: impl Into<String>) -> DecodeError {
        DecodeError {
            tag: self.tag,
            offset: self.pos,
            reason: reason.into(),
        }
    }

    pub(super) fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8], DecodeError> {
        let left = self.buf.len() - self.pos;
        if left < n {
            return Err(self.fail(format!("truncated {what}: needs {n} byte(s), {left} left")));
        }
        let s = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    pub(super) fn u8(&mut self, what: &str) -> Result<u8, DecodeError> {
        Ok(self.take(1, what)?[0])
    }

    fn i16(&mut self, what: &str) -> Result<i16, DecodeError> {
        let b = self.take(2, what)?;
        Ok(i16::from_be_bytes([b[0], b[1]]))
    }

    pub(super) fn i32(&mut self, what: &str) -> Result<i32, DecodeError> {
        let b = self.take(4, what)?;
        Ok(i32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    pub(super) fn u32(&mut self, what: &str) -> Result<u32, DecodeError> {
        Ok(self.i32(what)? as u32)
    }

    pub(super) fn i64(&mut self, what: &str) -> Result<i64, DecodeError> {
        let b = self.take(8, what)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(i64::from_be_bytes(a))
    }

    pub(super) fn u64(&mut self, what: &str) -> Result<u64, DecodeError> {
        Ok(self.i64(what)? as u64)
    }

    pub(super) fn string(&mut self, what: &str) -> Result<&'a str, DecodeError> {
        let rest = &self.buf[self.pos..];
        let Some(nul) = rest.iter().position(|&b| b == 0) else {
            return Err(self.fail(format!("{what}: string without its NUL terminator")));
        };
        let s = std::str::from_utf8(&rest[..nul])
            .map_err(|e| self.fail(format!("{what}: not UTF-8 ({e})")))?;
        self.pos += nul + 1;
        Ok(s)
    }

    pub(super) fn count(&mut self, what: &str) -> Result<usize, DecodeError> {
        let n = self.i16(what)?;
        usize::try_from(n).map_err(|_| self.fail(format!("negative {what} {n}")))
    }

    fn tuple(&mut self) -> Result<Tuple<'a>, DecodeError> {
        let n = self.count("column count")?;
        // Each column needs at least one byte: a count beyond the rest is malformed, and
        // checking first keeps a hostile count from allocating.
        if n > self.buf.len() - self.pos {
            return Err(self.fail(format!(
                "column count {n} exceeds the {} byte(s) left",
                self.buf.len() - self.pos
            )));
        }
        let mut values = Vec::with_capacity(n);
        for i in 0..n {
            let kind = self.u8("column kind")?;
            let v = match kind {
                b'n' => TupleValue::Null,
                b'u' => TupleValue::Unchanged,
                b't' | b'b' => {
                    let len = self.i32("value length")?;
                    let len = usize::try_from(len)
                        .map_err(|_| self.fail(format!("column {i}: negative length {len}")))?;
                    let at = self.pos;
                    let bytes = self.take(len, "value")?;
                    if kind == b'b' {
                        TupleValue::Binary(bytes)
                    } else {
                        TupleValue::Text(std::str::from_utf8(bytes).map_err(|e| DecodeError {
                            tag: self.tag,
                            offset: at + e.valid_up_to(),
                            reason: format!("column {i}: text value is not UTF-8"),
                        })?)
                    }
                }
                other => {
                    self.pos -= 1;
                    return Err(self.fail(format!(
                        "column {i}: unknown value kind {}",
                        printable(other)
                    )));
                }
            };
            values.push(v);
        }
        Ok(values)
    }

    pub(super) fn old_tuple(&mut self, kind: u8) -> Result<(OldKind, Tuple<'a>), DecodeError> {
        let k = match kind {
            b'K' => OldKind::Key,
            b'O' => OldKind::Full,
            other => {
                return Err(self.fail(format!(
                    "expected 'K' or 'O' before the old tuple, got {}",
                    printable(other)
                )));
            }
        };
        Ok((k, self.tuple()?))
    }

    pub(super) fn expect_new(&mut self, got: u8) -> Result<Tuple<'a>, DecodeError> {
        if got != b'N' {
            self.pos -= 1;
            return Err(self.fail(format!(
                "expected 'N' before the new tuple, got {}",
                printable(got)
            )));
        }
        self.tuple()
    }

    pub(super) fn done(&self) -> Result<(), DecodeError> {
        if self.pos != self.buf.len() {
            return Err(self.fail(format!(
                "{} unexpected trailing byte(s)",
                self.buf.len() - self.pos
            )));
        }
        Ok(())
    }
}

fn printable(b: u8) -> String {
    if b.is_ascii_graphic() {
        format!("'{}'", b as char)
    } else {
        format!("0x{b:02x}")
    }
}
