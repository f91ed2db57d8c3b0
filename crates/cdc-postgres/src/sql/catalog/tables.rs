//! The captured tables in the catalog: resolving configured names (or a publication's
//! tables) into [`TableInfo`] with replica identity, keys and size estimate, and the errors
//! that name a missing or non-table relation.

use std::collections::BTreeSet;

use cdc_core::TableRef;
use tokio_postgres::Client;

use super::q;
use crate::error::{PostgresError, Result};

/// A configured table, resolved in the catalog.
#[derive(Clone, Debug, PartialEq)]
pub struct TableInfo {
    /// `pg_class.oid`.
    pub oid: u32,
    /// Schema.
    pub schema: String,
    /// Name.
    pub name: String,
    /// `relkind`: `r` table, `p` partitioned table.
    pub kind: char,
    /// `relreplident`: `d`, `n`, `f`, `i`.
    pub replica_identity: char,
    /// Whether a replica identity index exists (for `i`).
    pub has_identity_index: bool,
    /// Primary key columns, in key order (empty: none).
    pub primary_key: Vec<String>,
    /// Columns of the replica identity index (REPLICA IDENTITY USING INDEX), in order.
    pub identity_index: Vec<String>,
    /// `reltuples` (`None` when never analyzed).
    pub estimated_rows: Option<i64>,
}

impl TableInfo {
    /// The columns that identify a row (the event key): the primary key, else the replica
    /// identity index's columns. Under `REPLICA IDENTITY USING INDEX` on an index that does
    /// not hold the whole primary key, the index's columns: the server identifies the old
    /// row of an UPDATE or DELETE by them alone (a DELETE carries nothing else, and a
    /// primary key changed with the index's columns unchanged sends no old row), so only
    /// they give every event a key, the same one throughout.
    pub fn key_columns(&self) -> &[String] {
        let index_lacks_pk = self.replica_identity == 'i'
            && !self.identity_index.is_empty()
            && !self
                .primary_key
                .iter()
                .all(|c| self.identity_index.contains(c));
        if self.primary_key.is_empty() || index_lacks_pk {
            &self.identity_index
        } else {
            &self.primary_key
        }
    }

    /// `schema.name`.
    pub fn qualified(&self) -> String {
        format!("{}.{}", self.schema, self.name)
    }

    /// Why UPDATE and DELETE of this table cannot be identified, if they cannot.
    pub fn identity_problem(&self) -> Option<&'static str> {
        match self.replica_identity {
            'n' => Some("has REPLICA IDENTITY NOTHING"),
            'd' if self.primary_key.is_empty() => {
                Some("has no primary key (REPLICA IDENTITY DEFAULT needs one)")
            }
            'i' if !self.has_identity_index => {
                Some("has REPLICA IDENTITY USING INDEX but the index is gone")
            }
            _ => None,
        }
    }
}

const TABLE_COLUMNS: &str = "c.oid, n.nspname::text, c.relname::text, c.relkind::text, \
     c.relreplident::text, exists(select 1 from pg_index i where i.indrelid = c.oid and i.indisreplident), \
     case when c.reltuples < 0 then null else c.reltuples::int8 end";

/// Resolves the configured tables. A name without a schema is looked up in `schemas`, in
/// order: the role's own search path ([`crate::sql::connect::user_schemas`]), since our
/// sessions pin theirs to the catalog. A missing table is an error naming it (and the
/// schemas where a table of that name does exist).
pub async fn resolve_tables(
    client: &Client,
    tables: &[TableRef],
    schemas: &[String],
) -> Result<Vec<TableInfo>> {
    let mut out = Vec::with_capacity(tables.len());
    for (i, t) in tables.iter().enumerate() {
        let rows = match &t.schema {
            Some(schema) => client
                .query(
                    &format!(
                        "select {TABLE_COLUMNS} from pg_class c join pg_namespace n on n.oid = c.relnamespace \
                         where n.nspname = $1 and c.relname = $2"
                    ),
                    &[schema, &t.name],
                )
                .await,
            None => client
                .query(
                    &format!(
                        "select {TABLE_COLUMNS} from pg_class c join pg_namespace n on n.oid = c.relnamespace \
                         where c.relname = $1 and n.nspname::text = any($2::text[]) \
                         order by array_position($2::text[], n.nspname::text) limit 1"
                    ),
                    &[&t.name, &schemas],
                )
                .await,
        }
        .map_err(q("looking up the configured tables"))?;
        let Some(row) = rows.first() else {
            return Err(missing_table(client, i, t).await);
        };
        let kind = row.get::<_, String>(3).chars().next().unwrap_or('?');
        if kind != 'r' && kind != 'p' {
            let what = match kind {
                'v' => "a view",
                'm' => "a materialized view",
                'f' => "a foreign table",
                'S' => "a sequence",
                _ => "not a table",
            };
            return Err(PostgresError::config(
                format!("tables[{i}]"),
                format!("{t} is {what}; only tables can be captured"),
            ));
        }
        out.push(table_info(client, row).await?);
    }
    Ok(out)
}

/// A [`TableInfo`] from a row of `TABLE_COLUMNS`, with its keys.
async fn table_info(client: &Client, row: &tokio_postgres::Row) -> Result<TableInfo> {
    let oid: u32 = row.get(0);
    Ok(TableInfo {
        oid,
        schema: row.get(1),
        name: row.get(2),
        kind: row.get::<_, String>(3).chars().next().unwrap_or('r'),
        replica_identity: row.get::<_, String>(4).chars().next().unwrap_or('d'),
        has_identity_index: row.get(5),
        primary_key: index_columns(client, oid, "indisprimary").await?,
        identity_index: index_columns(client, oid, "indisreplident").await?,
        estimated_rows: row.get(6),
    })
}

async fn missing_table(client: &Client, i: usize, t: &TableRef) -> PostgresError {
    let elsewhere: Vec<String> = client
        .query(
            "select n.nspname::text from pg_class c join pg_namespace n on n.oid = c.relnamespace \
             where c.relname = $1 and c.relkind in ('r','p') order by 1",
            &[&t.name],
        )
        .await
        .map(|rows| rows.iter().map(|r| r.get(0)).collect())
        .unwrap_or_default();
    let hint = if elsewhere.is_empty() {
        String::new()
    } else {
        format!(
            "; a table {:?} exists in schema(s) {}: write schema.table",
            t.name,
            elsewhere.join(", ")
        )
    };
    let scope = if t.schema.is_some() {
        ""
    } else {
        " on the search_path"
    };
    PostgresError::config(
        format!("tables[{i}]"),
        format!("table {t} does not exist{scope} (names are case-sensitive){hint}"),
    )
}

/// The tables a publication publishes (for `FOR ALL TABLES`, every table it covers).
pub async fn publication_tables(client: &Client, publication: &str) -> Result<Vec<TableInfo>> {
    let rows = client
        .query(
            &format!(
                "select {TABLE_COLUMNS} from pg_publication_tables p \
                 join pg_namespace n on n.nspname = p.schemaname \
                 join pg_class c on c.relnamespace = n.oid and c.relname = p.tablename \
                 where p.pubname = $1 order by 2, 3"
            ),
            &[&publication],
        )
        .await
        .map_err(q("reading the tables of the publication"))?;
    let mut out = Vec::with_capacity(rows.len());
    for row in &rows {
        out.push(table_info(client, row).await?);
    }
    Ok(out)
}

/// The leaf partitions of the partitioned table `table`, when the publication publishes
/// every one of them (`published`: its tables, `schema.name`). A publication without
/// `publish_via_partition_root` lists a partitioned table that way, by its leaves, and the
/// stream names each change by its leaf: capturing the table means capturing those.
/// `None` when a leaf is not published, or the table has none.
pub async fn published_leaves(
    client: &Client,
    table: &TableInfo,
    published: &BTreeSet<String>,
) -> Result<Option<Vec<TableInfo>>> {
    // Foreign tables can be partitions too; no publication publishes them.
    let rows = client
        .query(
            &format!(
                "select {TABLE_COLUMNS} from pg_partition_tree($1::oid::regclass) t \
                 join pg_class c on c.oid = t.relid join pg_namespace n on n.oid = c.relnamespace \
                 where t.isleaf and c.relkind = 'r' order by 2, 3"
            ),
            &[&table.oid],
        )
        .await
        .map_err(q("reading the partitions of a table"))?;
    let mut leaves = Vec::with_capacity(rows.len());
    for row in &rows {
        let leaf = table_info(client, row).await?;
        if !published.contains(&leaf.qualified()) {
            return Ok(None);
        }
        leaves.push(leaf);
    }
    Ok((!leaves.is_empty()).then_some(leaves))
}

/// The columns of the table's primary key (`flag` = `indisprimary`) or replica identity
/// index (`indisreplident`), in index order.
async fn index_columns(client: &Client, oid: u32, flag: &str) -> Result<Vec<String>> {
    let rows = client
        .query(
            &format!(
                "select a.attname::text from pg_index i \
                 join pg_attribute a on a.attrelid = i.indrelid and a.attnum = any(i.indkey) \
                 where i.indrelid = $1 and i.{flag} \
                 order by array_position(i.indkey::int2[], a.attnum)"
            ),
            &[&oid],
        )
        .await
        .map_err(q("reading the key of a table"))?;
    Ok(rows.iter().map(|r| r.get(0)).collect())
}
