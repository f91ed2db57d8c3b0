//! A binary COPY row as JSON. The server sends every column either in a binary form that
//! [`Native`] reads, or as the text of the type's output function (a `cstring`, whose binary
//! form is its text): the row's JSON is the same as the text format's, while the server is
//! spared most of the text formatting.

use cdc_core::Row;
use tokio_postgres::Client;

use super::binary::{read_i16, read_i32};
use crate::decode::native::Native;
use crate::decode::relation::Relation;
use crate::decode::types::Kind;
use crate::decode::value::{push_json_str, push_value};
use crate::sql::catalog;
use crate::sql::quote::ident;

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
///
/// In a `SQL_ASCII` database every text is sent as the bytes it holds
/// (`raw_text`): the server cannot convert bytes of no known encoding to our UTF-8, and its
/// error would name neither the table nor the column; ours names both.
pub async fn select_list(
    client: &Client,
    rel: &Relation,
) -> crate::error::Result<Option<(Vec<Read>, String)>> {
    let raw = server_encoding(client).await? == "SQL_ASCII";
    let reads: Vec<Read> = rel
        .columns
        .iter()
        .map(|c| match Read::of(c.type_oid, c.kind) {
            // Text's binary form is converted to the client encoding: read its output instead.
            Read::Native(Native::Text) if raw => Read::Output(c.kind),
            r => r,
        })
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
                Some(f) if raw => raw_text(&format!("{f}({col})")),
                Some(f) => format!("{f}({col})"),
                None => return Ok(None),
            },
        });
    }
    Ok(Some((reads, list.join(", "))))
}

/// The database's encoding (`server_encoding`): `UTF8`, `LATIN1`, `SQL_ASCII`, ...
async fn server_encoding(client: &Client) -> crate::error::Result<String> {
    let row = client
        .query_one("select pg_catalog.current_setting('server_encoding')", &[])
        .await
        .map_err(|e| crate::error::PostgresError::sql("reading the database's encoding", &e))?;
    Ok(row.get(0))
}

/// `output` (a `cstring`) as a `bytea` of its bytes, unconverted: in a `SQL_ASCII` database
/// `convert_to` to the database's own encoding changes nothing, and a `bytea` is sent as it
/// is. The row writer then checks the text as UTF-8, naming the column when it is not.
fn raw_text(output: &str) -> String {
    format!("pg_catalog.convert_to(pg_catalog.textin({output}), 'SQL_ASCII')")
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
    /// The JSON of a value read as text.
    scratch: String,
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
            scratch: String::with_capacity(64),
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
    /// value is. Written as bytes and checked as UTF-8 once, at the end: one check per row
    /// rather than one per value.
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
        let mut out: Vec<u8> = Vec::with_capacity(self.names_len + 2 * row.len() + 8);
        let mut at = 2;
        for (i, (prefix, read)) in self.columns.iter().enumerate() {
            out.extend_from_slice(prefix.as_bytes());
            let start = out.len();
            let ends_early = || format!("column {}: the row ends early", column_name(prefix));
            let len = read_i32(row, at).ok_or_else(ends_early)?;
            at += 4;
            if len < 0 {
                out.extend_from_slice(b"null");
            } else {
                let end = at + len as usize;
                let value = row.get(at..end).ok_or_else(ends_early)?;
                at = end;
                let written = match read {
                    Read::Native(n) => n.push_json(&mut out, value),
                    Read::Output(kind) => std::str::from_utf8(value)
                        .map(|t| {
                            self.scratch.clear();
                            if json_as_text && kind.holds_json() {
                                push_json_str(&mut self.scratch, t);
                            } else {
                                push_value(&mut self.scratch, *kind, t);
                            }
                            out.extend_from_slice(self.scratch.as_bytes());
                        })
                        .map_err(|e| format!("not UTF-8: {e}")),
                };
                written.map_err(|e| format!("column {}: {e}", column_name(prefix)))?;
            }
            self.spans[i] = (start, out.len());
        }
        out.push(b'}');
        String::from_utf8(out).map_err(|e| {
            let bad = e.utf8_error().valid_up_to();
            let column = self
                .spans
                .iter()
                .position(|(s, e)| (*s..*e).contains(&bad))
                .map_or("?", |i| column_name(&self.columns[i].0));
            format!("column {column}: a text value that is not UTF-8")
        })
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
    use super::super::binary::{RowSplitter, tests::copy};
    use super::*;

    #[test]
    fn a_text_that_is_not_utf8_is_an_error_naming_its_column() {
        use crate::decode::relation::Column;
        let t = crate::decode::TypeRegistry::default();
        let cols = [("id", 23), ("body", 25)]
            .iter()
            .map(|(n, oid)| Column {
                name: (*n).into(),
                type_oid: *oid,
                type_modifier: -1,
                type_name: t.get(*oid).name,
                kind: t.get(*oid).kind,
                identity: *n == "id",
            })
            .collect();
        let rel = Relation::new(7, "public", "t", b'd', cols, Some(&["id".to_owned()]));
        let reads: Vec<Read> = rel
            .columns
            .iter()
            .map(|c| Read::of(c.type_oid, c.kind))
            .collect();
        let mut w = RowWriter::new(&rel, &reads);
        let one = 1i32.to_be_bytes();
        let data = copy(&[
            &[Some(&one[..]), Some(b"ok \"q\"")],
            &[Some(&one[..]), Some(b"\xff")],
        ]);
        let mut got = Vec::new();
        let mut s = RowSplitter::default();
        s.feed(&data, |r| {
            got.push(
                w.write(r)
                    .map(|(a, k)| (a.to_json_string(), k.unwrap().to_json_string())),
            );
            Ok(())
        })
        .unwrap();
        assert_eq!(
            got[0],
            Ok((r#"{"id":1,"body":"ok \"q\""}"#.into(), r#"{"id":1}"#.into()))
        );
        assert!(got[1].as_ref().unwrap_err().contains("body"), "{got:?}");
    }
}
