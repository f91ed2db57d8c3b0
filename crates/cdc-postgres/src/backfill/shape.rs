//! What a backfill reads a table by: its columns as the stream describes them and its key,
//! read again for every chunk (inside the chunk's transaction, under its lock) so that DDL
//! between two chunks changes what the next one reads instead of leaving it stale.

use tokio_postgres::Client;

use crate::decode::Relation;
use crate::error::{PostgresError, Result};
use crate::sql::catalog::{self, TableInfo};
use crate::sql::quote::qualified;

/// A table as a chunk reads it.
#[derive(Debug)]
pub struct Shape {
    /// The catalog's view of the table.
    pub info: TableInfo,
    /// Its published columns and key, as the stream describes them.
    pub rel: Relation,
    /// The key columns, in key order.
    pub key_cols: Vec<String>,
    /// Their SQL types (`format_type`), to cast the resume key's text back.
    pub key_types: Vec<String>,
}

impl Shape {
    /// Reads the shape of table `name` (`schema.table`); errors say why it cannot be
    /// backfilled.
    pub async fn read(client: &Client, name: &str) -> Result<Self> {
        let t = cdc_core::TableRef::parse(name).map_err(|m| PostgresError::config("tables", m))?;
        // `name` is qualified (a captured table's `schema.table`): no search path to read.
        let info = catalog::resolve_tables(client, &[t], &[]).await?.remove(0);
        if let Some(why) = why_not(&info) {
            return Err(PostgresError::preflight(format!("{name} {why}")));
        }
        let rel = crate::snapshot::relation(client, &info).await?;
        let key_cols: Vec<String> = rel
            .key
            .iter()
            .map(|&i| rel.columns[i].name.clone())
            .collect();
        if key_cols != info.key_columns() {
            // A generated key column: pgoutput does not publish it, so neither the stream
            // nor the chunk would carry the whole key.
            return Err(PostgresError::preflight(format!(
                "{name}: key columns {:?} are not all published (generated columns are not): it cannot be read in key order while streaming",
                info.key_columns()
            )));
        }
        let key_types = catalog::column_sql_types(client, info.oid, &key_cols).await?;
        Ok(Self {
            info,
            rel,
            key_cols,
            key_types,
        })
    }

    /// Whether a resume key read by `self` still means the same in `now` (same key columns
    /// of the same types in the same table).
    pub fn same_key(&self, now: &Shape) -> bool {
        self.info.oid == now.info.oid
            && self.key_cols == now.key_cols
            && self.key_types == now.key_types
    }

    /// `LOCK TABLE ... IN ACCESS SHARE MODE`: taken before the chunk's snapshot, held until
    /// its high watermark commits, so that no DDL (rename, drop, ALTER, TRUNCATE) lands
    /// between the chunk's read and its high watermark.
    pub fn lock_sql(&self) -> String {
        format!(
            "LOCK TABLE {} IN ACCESS SHARE MODE",
            qualified(&self.info.schema, &self.info.name)
        )
    }
}

/// Why the stream cannot tell which rows of `t` a change touches, if it cannot: then a
/// chunk's older image of a row could follow a change of it.
pub fn why_not(t: &TableInfo) -> Option<String> {
    if t.key_columns().is_empty() {
        return Some(
            "has neither a primary key nor a replica identity index: it cannot be read in key order while streaming"
                .into(),
        );
    }
    match t.replica_identity {
        // A DELETE sends no old row at all: a deleted row would come back.
        'n' => Some(
            "has REPLICA IDENTITY NOTHING: its DELETEs carry no key, so a backfill could bring deleted rows back; set REPLICA IDENTITY DEFAULT or FULL first"
                .into(),
        ),
        // The old key sent is the index's: a change of the primary key would not show the
        // old primary key, and the chunk's row under it would come back.
        'i' if !t.primary_key.is_empty() && t.identity_index != t.primary_key => Some(format!(
            "has REPLICA IDENTITY USING INDEX on {:?}, not its primary key {:?}: a change of the primary key would not be seen by a backfill; set REPLICA IDENTITY DEFAULT or FULL first",
            t.identity_index, t.primary_key
        )),
        'i' if !t.has_identity_index => {
            Some("has REPLICA IDENTITY USING INDEX but the index is gone".into())
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(ident: char, pk: &[&str], index: &[&str]) -> TableInfo {
        TableInfo {
            oid: 1,
            schema: "public".into(),
            name: "t".into(),
            kind: 'r',
            replica_identity: ident,
            has_identity_index: !index.is_empty(),
            primary_key: pk.iter().map(|s| (*s).to_owned()).collect(),
            identity_index: index.iter().map(|s| (*s).to_owned()).collect(),
            estimated_rows: None,
        }
    }

    #[test]
    fn tables_whose_changes_cannot_be_matched_are_refused() {
        assert_eq!(why_not(&table('d', &["id"], &[])), None);
        assert_eq!(why_not(&table('f', &["id"], &[])), None);
        assert_eq!(why_not(&table('i', &["id"], &["id"])), None);
        assert_eq!(why_not(&table('i', &[], &["a", "b"])), None);
        assert!(why_not(&table('d', &[], &[])).unwrap().contains("neither"));
        assert!(
            why_not(&table('n', &["id"], &[]))
                .unwrap()
                .contains("NOTHING")
        );
        assert!(
            why_not(&table('i', &["id"], &["email"]))
                .unwrap()
                .contains("USING INDEX")
        );
    }
}
