//! Reading one chunk of a table in key order (keyset pagination): the rows after the last
//! key read, `chunk_size` of them, as `SnapshotRead` events.

use cdc_core::ChangeEvent;
use futures::StreamExt;
use tokio_postgres::Client;

use super::window::{ChunkRows, canonical_key};
use crate::decode::{PgPosition, Relation, TupleValue, snapshot_event};
use crate::error::{PostgresError, Result};
use crate::snapshot::copy::{LineSplitter, RowParser};
use crate::sql::quote::{ident, literal, qualified};

/// What reading a chunk gave.
#[derive(Debug)]
pub struct Read {
    /// The rows.
    pub rows: ChunkRows,
    /// The key values (text) of the last row, where the next chunk starts; `None` when the
    /// chunk was empty.
    pub last_key: Option<Vec<String>>,
}

/// The query of a chunk: `COPY (SELECT ... WHERE (key) > (last) ORDER BY key LIMIT n)`.
pub fn query(
    schema: &str,
    table: &str,
    rel: &Relation,
    key_types: &[String],
    after: Option<&[String]>,
    limit: u32,
) -> String {
    let cols: Vec<String> = rel.columns.iter().map(|c| ident(&c.name)).collect();
    let key: Vec<String> = rel
        .key
        .iter()
        .map(|&i| ident(&rel.columns[i].name))
        .collect();
    let filter = match after {
        Some(values) => {
            let lits: Vec<String> = values
                .iter()
                .zip(key_types)
                .map(|(v, t)| format!("{}::{t}", literal(v)))
                .collect();
            format!(" WHERE ({}) > ({})", key.join(", "), lits.join(", "))
        }
        None => String::new(),
    };
    format!(
        "COPY (SELECT {} FROM {}{filter} ORDER BY {} LIMIT {limit}) TO STDOUT",
        cols.join(", "),
        qualified(schema, table),
        key.join(", ")
    )
}

/// Reads the chunk; events get their positions when the high watermark emits them.
pub async fn read(
    client: &Client,
    source_id: &cdc_core::Name,
    rel: &Relation,
    sql: &str,
) -> Result<Read> {
    let stream = client
        .copy_out(sql)
        .await
        .map_err(|e| PostgresError::sql(format!("reading a chunk of {}", rel.qualified()), &e))?;
    let mut stream = std::pin::pin!(stream);
    let key_cols: Vec<String> = rel
        .key
        .iter()
        .map(|&i| rel.columns[i].name.clone())
        .collect();
    let mut splitter = LineSplitter::default();
    let mut parser = RowParser::default();
    let mut buf = String::new();
    let mut events: Vec<ChangeEvent> = Vec::new();
    let mut keys = Vec::new();
    let mut last_key = None;
    let placeholder = PgPosition {
        commit_lsn: pgwire_replication::Lsn::ZERO,
        ordinal: 0,
    };
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| {
            PostgresError::sql(format!("reading a chunk of {}", rel.qualified()), &e)
        })?;
        splitter
            .feed(&chunk, |line| {
                let (event, texts) = parser.parse(line, |values| {
                    // The next chunk starts after this text: a key column without one
                    // (NULL cannot be in a key; a changed table could) is an error, not ''.
                    let texts = rel
                        .key
                        .iter()
                        .map(|&i| match values.get(i) {
                            Some(TupleValue::Text(t)) => Ok((*t).to_owned()),
                            _ => Err(format!(
                                "key column {:?} of a row has no value",
                                rel.columns[i].name
                            )),
                        })
                        .collect::<Result<Vec<String>, String>>()?;
                    snapshot_event(source_id, rel, values, placeholder, &mut buf)
                        .map(|e| (e, texts))
                })??;
                let key = event
                    .key
                    .as_ref()
                    .and_then(|k| canonical_key(k, &key_cols))
                    .ok_or("a chunk row without its key")?;
                keys.push(key);
                events.push(event);
                last_key = Some(texts);
                Ok::<(), String>(())
            })
            .map_err(|m| {
                PostgresError::preflight(format!("backfill of {}: {m}", rel.qualified()))
            })?;
    }
    Ok(Read {
        rows: ChunkRows { events, keys },
        last_key,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::TypeRegistry;
    use crate::decode::relation::Column;

    #[test]
    fn keyset_queries_quote_names_and_values() {
        let t = TypeRegistry::default();
        let cols = [("b", 25), ("a", 23), ("v", 25)]
            .iter()
            .map(|(n, oid)| Column {
                name: (*n).into(),
                type_oid: *oid,
                type_modifier: -1,
                type_name: t.get(*oid).name,
                kind: t.get(*oid).kind,
                identity: *n != "v",
            })
            .collect();
        let rel = Relation::new(
            1,
            "public",
            "T",
            b'd',
            cols,
            Some(&["a".into(), "b".into()]),
        );
        let types = vec!["integer".to_owned(), "text".to_owned()];
        assert_eq!(
            query("public", "T", &rel, &types, None, 10),
            r#"COPY (SELECT "b", "a", "v" FROM "public"."T" ORDER BY "a", "b" LIMIT 10) TO STDOUT"#
        );
        let after = vec!["7".to_owned(), "it's".to_owned()];
        assert_eq!(
            query("public", "T", &rel, &types, Some(&after), 10),
            r#"COPY (SELECT "b", "a", "v" FROM "public"."T" WHERE ("a", "b") > ('7'::integer, 'it''s'::text) ORDER BY "a", "b" LIMIT 10) TO STDOUT"#
        );
    }
}
