//! COPY's binary format: a header, then per row a field count and per field its length (`-1`
//! for NULL) and bytes, then a trailer (`-1` as the field count). The server sends every
//! column either in a binary form that [`Native`] reads, or as the text of the type's output
//! function (a `cstring`, whose binary form is its text): the row's JSON is the same as the
//! text format's, while the server is spared most of the text formatting.

use cdc_core::Row;
use tokio_postgres::Client;

use crate::decode::native::Native;
use crate::decode::relation::Relation;
use crate::decode::types::Kind;
use crate::decode::value::{push_json_str, push_value};
use crate::sql::catalog;
use crate::sql::quote::ident;

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

fn read_i16(b: &[u8], at: usize) -> Option<i16> {
    Some(i16::from_be_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

fn read_i32(b: &[u8], at: usize) -> Option<i32> {
    Some(i32::from_be_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

/// How a column arrives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Read {
    /// In its binary form.
    Native(Native),
    /// As its output function's text, made JSON by its kind.
    Output(Kind),
}

impl Read {
    /// How a column of `type_oid` (of `kind`) is read.
    pub fn of(type_oid: u32, kind: Kind) -> Self {
        match Native::of(type_oid) {
            Some(n) if n.kind() == kind => Self::Native(n),
            _ => Self::Output(kind),
        }
    }
}

/// How each column of `rel` arrives in a binary COPY, and the COPY's select list that sends
/// it so (a column [`Native`] cannot read as its type's output function's text). `None` when
/// a type's output function is not found: the table is read in text.
pub async fn select_list(
    client: &Client,
    rel: &Relation,
) -> crate::error::Result<Option<(Vec<Read>, String)>> {
    let reads: Vec<Read> = rel
        .columns
        .iter()
        .map(|c| Read::of(c.type_oid, c.kind))
        .collect();
    let mut other: Vec<u32> = rel
        .columns
        .iter()
        .zip(&reads)
        .filter(|(_, r)| matches!(r, Read::Output(_)))
        .map(|(c, _)| c.type_oid)
        .collect();
    other.sort_unstable();
    other.dedup();
    let functions = catalog::output_functions(client, &other).await?;
    let mut list = Vec::with_capacity(rel.columns.len());
    for (c, r) in rel.columns.iter().zip(&reads) {
        let col = ident(&c.name);
        list.push(match r {
            Read::Native(_) => col,
            Read::Output(_) => match functions.get(&c.type_oid) {
                Some(f) => format!("{f}({col})"),
                None => return Ok(None),
            },
        });
    }
    Ok(Some((reads, list.join(", "))))
}

/// Writes the rows of one relation as JSON: the same text as the text format's image of
/// every column, and of the key columns, with the column names written once, up front.
#[derive(Debug)]
pub struct RowWriter {
    /// Per column: `{"name":` or `,"name":`, and how it is read.
    columns: Vec<(String, Read)>,
    /// Per key column: its index, and `{"name":` or `,"name":`.
    key: Vec<(usize, String)>,
    names_len: usize,
    /// Whether a column holds JSON text: rows are checked, as the text path checks them.
    has_json: bool,
    /// Where each column's value is in the row being written.
    spans: Vec<(usize, usize)>,
}

impl RowWriter {
    /// A writer for `rel`, whose columns arrive as `reads` say.
    pub fn new(rel: &Relation, reads: &[Read]) -> Self {
        let prefix = |first: bool, name: &str| {
            let mut p = String::from(if first { "{" } else { "," });
            push_json_str(&mut p, name);
            p.push(':');
            p
        };
        let columns: Vec<(String, Read)> = rel
            .columns
            .iter()
            .zip(reads)
            .enumerate()
            .map(|(i, (c, r))| (prefix(i == 0, &c.name), *r))
            .collect();
        let key = rel
            .key
            .iter()
            .enumerate()
            .map(|(j, &i)| (i, prefix(j == 0, &rel.columns[i].name)))
            .collect();
        let names_len = columns.iter().map(|(p, _)| p.len()).sum();
        Self {
            spans: vec![(0, 0); columns.len()],
            columns,
            key,
            names_len,
            has_json: rel.has_json,
        }
    }

    /// The row (`row` from its field count on) and its key, as JSON. `Err` says what is
    /// malformed, naming the column.
    pub fn write(&mut self, row: &[u8]) -> Result<(Row, Option<Row>), String> {
        let after = self.json(row, false)?;
        let key = (!self.key.is_empty()).then(|| self.key_json(&after));
        if !self.has_json {
            // Escaped strings, checked numbers, flat nesting: valid JSON without a second
            // look.
            return Ok((
                Row::from_trusted_json(after),
                key.map(Row::from_trusted_json),
            ));
        }
        // As the text path: a json value serde_json cannot hold (nesting deeper than its
        // limit) makes the row keep its JSON columns as their text.
        let bad = |e: serde_json::Error| format!("row: {e}");
        let after_row = match Row::from_json(&after) {
            Ok(r) => r,
            Err(_) => Row::from_json(&self.json(row, true)?).map_err(bad)?,
        };
        let key_row = match key {
            None => None,
            Some(k) => Some(match Row::from_json(&k) {
                Ok(r) => r,
                Err(_) => {
                    let text = self.json(row, true)?;
                    Row::from_json(&self.key_json(&text)).map_err(bad)?
                }
            }),
        };
        Ok((after_row, key_row))
    }

    /// The row's JSON (JSON columns as strings with `json_as_text`), noting where each
    /// value is.
    fn json(&mut self, row: &[u8], json_as_text: bool) -> Result<String, String> {
        let count = read_i16(row, 0).unwrap_or(-1);
        if usize::try_from(count).ok() != Some(self.columns.len()) {
            return Err(format!(
                "a row of {count} fields, the table has {} columns",
                self.columns.len()
            ));
        }
        // Room for most rows without holding much more than they need: names, and values at
        // most twice their binary size with its length words (a timestamp's 12 bytes print
        // as 29, text stays its size).
        let mut out = String::with_capacity(self.names_len + 2 * row.len() + 8);
        let mut at = 2;
        for (i, (prefix, read)) in self.columns.iter().enumerate() {
            out.push_str(prefix);
            let start = out.len();
            let ends_early = || format!("column {}: the row ends early", column_name(prefix));
            let len = read_i32(row, at).ok_or_else(ends_early)?;
            at += 4;
            if len < 0 {
                out.push_str("null");
            } else {
                let end = at + len as usize;
                let value = row.get(at..end).ok_or_else(ends_early)?;
                at = end;
                let written = match read {
                    Read::Native(n) => n.push_json(&mut out, value),
                    Read::Output(kind) => std::str::from_utf8(value)
                        .map(|t| {
                            if json_as_text && kind.holds_json() {
                                push_json_str(&mut out, t);
                            } else {
                                push_value(&mut out, *kind, t);
                            }
                        })
                        .map_err(|e| format!("not UTF-8: {e}")),
                };
                written.map_err(|e| format!("column {}: {e}", column_name(prefix)))?;
            }
            self.spans[i] = (start, out.len());
        }
        out.push('}');
        Ok(out)
    }

    /// The key's JSON, from the values of the row `after` just written.
    fn key_json(&self, after: &str) -> String {
        let len: usize = self
            .key
            .iter()
            .map(|(i, p)| p.len() + self.spans[*i].1 - self.spans[*i].0)
            .sum();
        let mut key = String::with_capacity(len + 1);
        for (i, prefix) in &self.key {
            let (s, e) = self.spans[*i];
            key.push_str(prefix);
            key.push_str(after.get(s..e).unwrap_or("null"));
        }
        key.push('}');
        key
    }
}

/// The column's name from its prefix (for errors only).
fn column_name(prefix: &str) -> &str {
    prefix
        .get(1..prefix.len().saturating_sub(1))
        .unwrap_or(prefix)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn copy(rows: &[&[Option<&[u8]>]]) -> Vec<u8> {
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
