//! COPY's binary format: a header, then per row a field count and per field its length (`-1`
//! for NULL) and bytes, then a trailer (`-1` as the field count). [`RowSplitter`] finds the
//! rows; [`super::writer`] makes them JSON.

const SIGNATURE: &[u8; 11] = b"PGCOPY\n\xff\r\n\0";

/// Splits a binary COPY stream into rows, across chunk boundaries.
#[derive(Debug, Default)]
pub struct RowSplitter {
    carry: Vec<u8>,
    header_read: bool,
    ended: bool,
}

impl RowSplitter {
    /// Calls `f` with every complete row (from its field count on) of `chunk` and of what
    /// was carried over. `Err` says what is malformed, or is `f`'s.
    pub fn feed(
        &mut self,
        chunk: &[u8],
        mut f: impl FnMut(&[u8]) -> Result<(), String>,
    ) -> Result<(), String> {
        if self.carry.is_empty() {
            let used = self.rows(chunk, &mut f)?;
            self.carry.extend_from_slice(&chunk[used..]);
        } else {
            // A row split between messages (the server sends one per message, so rare).
            let mut carry = std::mem::take(&mut self.carry);
            carry.extend_from_slice(chunk);
            let used = self.rows(&carry, &mut f)?;
            carry.drain(..used);
            self.carry = carry;
        }
        Ok(())
    }

    /// Reads the rows complete in `data`: how many bytes they took.
    fn rows(
        &mut self,
        data: &[u8],
        f: &mut impl FnMut(&[u8]) -> Result<(), String>,
    ) -> Result<usize, String> {
        let mut at = 0;
        if !self.header_read {
            let Some(len) = header_len(data)? else {
                return Ok(0);
            };
            self.header_read = true;
            at = len;
        }
        while at < data.len() {
            if self.ended {
                return Err("COPY sent data after its trailer".into());
            }
            let Some(count) = read_i16(data, at) else {
                break;
            };
            if count == -1 {
                self.ended = true;
                at += 2;
                continue;
            }
            let Some(len) = row_len(&data[at..], count)? else {
                break;
            };
            f(&data[at..at + len])?;
            at += len;
        }
        Ok(at)
    }

    /// `Err` when the stream ended mid-row or without its trailer.
    pub fn finish(&self) -> Result<(), String> {
        if !self.carry.is_empty() || (self.header_read && !self.ended) {
            return Err("COPY ended in the middle of a row".into());
        }
        Ok(())
    }
}

/// The header's length, `None` while incomplete.
fn header_len(data: &[u8]) -> Result<Option<usize>, String> {
    if data.len() < 19 {
        return Ok(None);
    }
    if &data[..11] != SIGNATURE {
        return Err("COPY did not start with the binary signature".into());
    }
    let flags = read_i32(data, 11).unwrap_or(0);
    if flags & (1 << 16) != 0 {
        return Err("binary COPY with OIDs is not expected".into());
    }
    let ext = read_i32(data, 15).unwrap_or(0);
    let ext = usize::try_from(ext).map_err(|_| "binary COPY header extension length < 0")?;
    Ok((data.len() >= 19 + ext).then_some(19 + ext))
}

/// The length of the row at the start of `data` (field count included), `None` while
/// incomplete.
fn row_len(data: &[u8], count: i16) -> Result<Option<usize>, String> {
    let count = usize::try_from(count).map_err(|_| format!("a row of {count} fields"))?;
    let mut at = 2;
    for _ in 0..count {
        let Some(len) = read_i32(data, at) else {
            return Ok(None);
        };
        at += 4;
        if len >= 0 {
            at += len as usize;
        } else if len != -1 {
            return Err(format!("a field of length {len}"));
        }
    }
    Ok((at <= data.len()).then_some(at))
}

pub(super) fn read_i16(b: &[u8], at: usize) -> Option<i16> {
    Some(i16::from_be_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

pub(super) fn read_i32(b: &[u8], at: usize) -> Option<i32> {
    Some(i32::from_be_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A binary COPY stream of `rows`.
    pub(crate) fn copy(rows: &[&[Option<&[u8]>]]) -> Vec<u8> {
        let mut b = SIGNATURE.to_vec();
        b.extend_from_slice(&[0; 8]);
        for row in rows {
            b.extend_from_slice(&(row.len() as i16).to_be_bytes());
            for f in *row {
                match f {
                    None => b.extend_from_slice(&(-1i32).to_be_bytes()),
                    Some(v) => {
                        b.extend_from_slice(&(v.len() as i32).to_be_bytes());
                        b.extend_from_slice(v);
                    }
                }
            }
        }
        b.extend_from_slice(&(-1i16).to_be_bytes());
        b
    }

    #[test]
    fn rows_across_any_chunking() {
        let one = 7i64.to_be_bytes();
        let data = copy(&[&[Some(&one), None], &[Some(b"x"), Some(b"")]]);
        for cut in 1..data.len() {
            let mut s = RowSplitter::default();
            let mut rows = Vec::new();
            for chunk in [&data[..cut], &data[cut..]] {
                s.feed(chunk, |r| {
                    rows.push(r.to_vec());
                    Ok(())
                })
                .unwrap();
            }
            s.finish().unwrap();
            assert_eq!(rows.len(), 2, "cut at {cut}");
            assert_eq!(rows[1], [0, 2, 0, 0, 0, 1, b'x', 0, 0, 0, 0]);
        }
        // An empty result: header and trailer in one message.
        let mut s = RowSplitter::default();
        s.feed(&copy(&[]), |_| Err("no row expected".into()))
            .unwrap();
        s.finish().unwrap();
        let mut s = RowSplitter::default();
        s.feed(&data[..data.len() - 3], |_| Ok(())).unwrap();
        assert!(s.finish().is_err());
        assert!(
            RowSplitter::default()
                .feed(b"PGCOPY\nxxxxxxxxxxxxxxx", |_| Ok(()))
                .is_err()
        );
    }
}
