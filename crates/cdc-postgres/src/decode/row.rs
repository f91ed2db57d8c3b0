//! Row images: a tuple of a relation written once as JSON text and kept as a
//! [`cdc_core::Row`], parsed only if a handler reads it.

use base64::Engine;
use cdc_core::Row;

use super::pgoutput::TupleValue;
use super::relation::Relation;
use super::value::{push_json_str, push_value};

/// Which columns of the tuple go into the image.
#[derive(Clone, Copy, Debug)]
pub enum Columns<'a> {
    /// Every column.
    All,
    /// These (indexes into the relation's columns).
    Only(&'a [usize]),
}

/// A row image and the columns left out because their TOASTed value was not sent.
#[derive(Debug)]
pub struct Image {
    /// The row.
    pub row: Row,
    /// Names of unchanged TOAST columns that are not in the row.
    pub unavailable: Vec<String>,
}

/// Writes the image of `tuple`. An unchanged TOAST value (`u`) is taken from `old` when the
/// old tuple has it (replica identity FULL); otherwise the column is left out and named in
/// [`Image::unavailable`] — never written as null.
///
/// `Err` names the mismatch when the tuple does not fit the relation.
pub fn image(
    rel: &Relation,
    tuple: &[TupleValue<'_>],
    old: Option<&[TupleValue<'_>]>,
    columns: Columns<'_>,
    buf: &mut String,
) -> Result<Image, String> {
    if tuple.len() != rel.columns.len() {
        return Err(format!(
            "the tuple has {} column(s) but relation {} has {}",
            tuple.len(),
            rel.qualified(),
            rel.columns.len()
        ));
    }
    let old = old.filter(|o| o.len() == tuple.len());
    let mut unavailable = Vec::new();
    let mut write = |out: &mut String, json_as_text: bool| {
        out.push('{');
        let mut first = true;
        let mut each = |i: usize| {
            let col = &rel.columns[i];
            let mut value = tuple[i];
            if value == TupleValue::Unchanged {
                match old.map(|o| o[i]) {
                    Some(v @ (TupleValue::Text(_) | TupleValue::Binary(_) | TupleValue::Null)) => {
                        value = v
                    }
                    _ => {
                        if !json_as_text {
                            unavailable.push(col.name.clone());
                        }
                        return;
                    }
                }
            }
            if !first {
                out.push(',');
            }
            first = false;
            push_json_str(out, &col.name);
            out.push(':');
            match value {
                TupleValue::Null | TupleValue::Unchanged => out.push_str("null"),
                TupleValue::Text(t) if json_as_text && col.kind.holds_json() => {
                    push_json_str(out, t)
                }
                TupleValue::Text(t) => push_value(out, col.kind, t),
                TupleValue::Binary(b) => {
                    out.push('"');
                    base64::engine::general_purpose::STANDARD.encode_string(b, out);
                    out.push('"');
                }
            }
        };
        match columns {
            Columns::All => (0..tuple.len()).for_each(&mut each),
            Columns::Only(idx) => idx.iter().copied().for_each(&mut each),
        }
        out.push('}');
    };
    if !rel.has_json {
        // Everything was written by us from typed values (escaped strings, checked number
        // literals, flat nesting): valid JSON without a second look.
        let mut out = String::with_capacity(size_hint(rel, tuple));
        write(&mut out, false);
        return Ok(Image {
            row: Row::from_trusted_json(out),
            unavailable,
        });
    }
    buf.clear();
    write(buf, false);
    let row = match Row::from_json(buf) {
        Ok(row) => row,
        Err(_) => {
            // A json/jsonb value serde_json cannot hold (nesting deeper than its limit):
            // keep those columns as their text.
            buf.clear();
            write(buf, true);
            Row::from_json(buf).map_err(|e| format!("row of {}: {e}", rel.qualified()))?
        }
    };
    Ok(Image { row, unavailable })
}

/// Enough room for the JSON of a tuple in most cases (names, values, quotes, separators).
fn size_hint(rel: &Relation, tuple: &[TupleValue<'_>]) -> usize {
    let values: usize = tuple
        .iter()
        .map(|v| match v {
            TupleValue::Text(t) => t.len(),
            TupleValue::Binary(b) => b.len() * 4 / 3 + 4,
            _ => 4,
        })
        .sum();
    values + rel.names_len + 6 * tuple.len() + 2
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::relation::Column;
    use crate::decode::types::TypeRegistry;

    fn rel() -> Relation {
        let t = TypeRegistry::default();
        let cols = [("id", 23), ("body", 25), ("doc", 3802)]
            .iter()
            .map(|(n, oid)| {
                let info = t.get(*oid);
                Column {
                    name: (*n).into(),
                    type_oid: *oid,
                    type_modifier: -1,
                    type_name: info.name,
                    kind: info.kind,
                    identity: *n == "id",
                }
            })
            .collect();
        Relation::new(7, "public", "t", b'd', cols, Some(&["id".to_owned()]))
    }

    #[test]
    fn unchanged_toast_is_left_out_or_taken_from_the_old_row() {
        let r = rel();
        let mut buf = String::new();
        let new = [
            TupleValue::Text("1"),
            TupleValue::Unchanged,
            TupleValue::Text(r#"{"n": 123456789012345678901234567890}"#),
        ];
        let img = image(&r, &new, None, Columns::All, &mut buf).unwrap();
        assert_eq!(img.unavailable, vec!["body"]);
        assert!(img.row.get("body").is_none());
        assert_eq!(
            img.row["doc"]["n"].to_string(),
            "123456789012345678901234567890"
        );
        let old = [
            TupleValue::Text("1"),
            TupleValue::Text("big"),
            TupleValue::Null,
        ];
        let img = image(&r, &new, Some(&old), Columns::All, &mut buf).unwrap();
        assert!(img.unavailable.is_empty());
        assert_eq!(img.row["body"], "big");
        let key = image(&r, &new, None, Columns::Only(&r.key), &mut buf).unwrap();
        assert_eq!(key.row.to_json_string(), r#"{"id":1}"#);
    }

    #[test]
    fn json_too_deep_for_serde_is_kept_as_text() {
        let r = rel();
        let deep = format!("{}1{}", "[".repeat(300), "]".repeat(300));
        let mut buf = String::new();
        let new = [
            TupleValue::Text("1"),
            TupleValue::Null,
            TupleValue::Text(&deep),
        ];
        let img = image(&r, &new, None, Columns::All, &mut buf).unwrap();
        assert_eq!(img.row["doc"], deep.as_str());
        assert!(img.row["body"].is_null());
        assert!(image(&r, &new[..2], None, Columns::All, &mut buf).is_err());
    }
}
