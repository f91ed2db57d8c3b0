//! Catalog queries: the server, the role, the tables (replica identity, primary key,
//! columns, size estimate), the publication and the slot.

use std::collections::BTreeSet;

use cdc_core::TableRef;
use pgwire_replication::Lsn;
use tokio_postgres::Client;

use crate::error::{PostgresError, Result};

fn q(context: &str) -> impl FnOnce(tokio_postgres::Error) -> PostgresError + '_ {
    move |e| PostgresError::sql(context, &e)
}

/// The connected role.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RoleInfo {
    /// Its name.
    pub name: String,
    /// `rolsuper`.
    pub superuser: bool,
    /// `rolreplication`.
    pub replication: bool,
}

/// The server's version number (`150004`), `wal_level`, and the role.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerInfo {
    /// `server_version_num`.
    pub version_num: i32,
    /// `wal_level`.
    pub wal_level: String,
    /// The role.
    pub role: RoleInfo,
}

/// Reads [`ServerInfo`].
pub async fn server_info(client: &Client) -> Result<ServerInfo> {
    let row = client
        .query_one(
            "select current_setting('server_version_num')::int4, current_setting('wal_level'), \
             r.rolname::text, r.rolsuper, r.rolreplication \
             from pg_roles r where r.rolname = current_user",
            &[],
        )
        .await
        .map_err(q("reading the server settings"))?;
    Ok(ServerInfo {
        version_num: row.get(0),
        wal_level: row.get(1),
        role: RoleInfo {
            name: row.get(2),
            superuser: row.get(3),
            replication: row.get(4),
        },
    })
}

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
    /// identity index's columns.
    pub fn key_columns(&self) -> &[String] {
        if self.primary_key.is_empty() {
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

/// The SQL type of each named column (`integer`, `character varying(20)`), for casts of
/// key values in generated queries.
pub async fn column_sql_types(client: &Client, oid: u32, names: &[String]) -> Result<Vec<String>> {
    let rows = client
        .query(
            "select attname::text, format_type(atttypid, atttypmod) from pg_attribute \
             where attrelid = $1 and attname = any($2) and not attisdropped",
            &[&oid, &names],
        )
        .await
        .map_err(q("reading the key's column types"))?;
    names
        .iter()
        .map(|n| {
            rows.iter()
                .find(|r| r.get::<_, String>(0) == *n)
                .map(|r| r.get::<_, String>(1))
                .ok_or_else(|| PostgresError::preflight(format!("key column {n:?} is gone")))
        })
        .collect()
}

/// Names of non-builtin types as pgoutput announces them: (OID, schema, name), a domain
/// by its base type.
pub async fn type_names(client: &Client, oids: &[u32]) -> Result<Vec<(u32, String, String)>> {
    if oids.is_empty() {
        return Ok(Vec::new());
    }
    // As pgoutput's Type message does: a domain is named by its base type.
    let rows = client
        .query(
            "with recursive b(oid, base) as ( \
               select t.oid, t.oid from pg_type t where t.oid = any($1) \
               union all select b.oid, t.typbasetype from b join pg_type t on t.oid = b.base \
               where t.typtype = 'd') \
             select b.oid, n.nspname::text, t.typname::text from b \
             join pg_type t on t.oid = b.base join pg_namespace n on n.oid = t.typnamespace \
             where t.typtype <> 'd'",
            &[&oids],
        )
        .await
        .map_err(q("reading type names"))?;
    Ok(rows
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect())
}

/// The output function of each type, `"schema"."function"`, when the role may call it: the
/// binary snapshot reads a column of a type it cannot decode as that function's text (what
/// text COPY and pgoutput print), not through a cast to text (casts may print otherwise:
/// `bool::text` is `true`). A type missing here makes its table read in text.
pub async fn output_functions(
    client: &Client,
    oids: &[u32],
) -> Result<std::collections::HashMap<u32, String>> {
    if oids.is_empty() {
        return Ok(std::collections::HashMap::new());
    }
    let rows = client
        .query(
            "select t.oid, n.nspname::text, p.proname::text from pg_type t \
             join pg_proc p on p.oid = t.typoutput join pg_namespace n on n.oid = p.pronamespace \
             where t.oid = any($1) and has_function_privilege(p.oid, 'execute')",
            &[&oids],
        )
        .await
        .map_err(q("reading the output functions of column types"))?;
    Ok(rows
        .iter()
        .map(|r| {
            let (oid, ns, name): (u32, String, String) = (r.get(0), r.get(1), r.get(2));
            (oid, crate::sql::quote::qualified(&ns, &name))
        })
        .collect())
}

/// A column as the snapshot reads it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ColumnInfo {
    /// Name.
    pub name: String,
    /// Type OID.
    pub type_oid: u32,
    /// Type modifier.
    pub type_modifier: i32,
}

/// The columns pgoutput publishes (not dropped, not generated), in order.
pub async fn columns(client: &Client, oid: u32) -> Result<Vec<ColumnInfo>> {
    let rows = client
        .query(
            "select attname::text, atttypid, atttypmod from pg_attribute \
             where attrelid = $1 and attnum > 0 and not attisdropped and attgenerated = '' \
             order by attnum",
            &[&oid],
        )
        .await
        .map_err(q("reading the columns of a table"))?;
    Ok(rows
        .iter()
        .map(|r| ColumnInfo {
            name: r.get(0),
            type_oid: r.get(1),
            type_modifier: r.get(2),
        })
        .collect())
}

/// A publication.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublicationInfo {
    /// `FOR ALL TABLES`.
    pub all_tables: bool,
    /// The published tables, `schema.name`.
    pub tables: BTreeSet<String>,
    /// Whether it publishes insert, update, delete and truncate.
    pub publishes_everything: bool,
}

/// The publication, if it exists.
pub async fn publication(client: &Client, name: &str) -> Result<Option<PublicationInfo>> {
    let Some(row) = client
        .query_opt(
            "select puballtables, pubinsert and pubupdate and pubdelete and pubtruncate \
             from pg_publication where pubname = $1",
            &[&name],
        )
        .await
        .map_err(q("reading the publication"))?
    else {
        return Ok(None);
    };
    let tables = client
        .query(
            "select schemaname::text || '.' || tablename::text from pg_publication_tables where pubname = $1",
            &[&name],
        )
        .await
        .map_err(q("reading the publication's tables"))?
        .iter()
        .map(|r| r.get(0))
        .collect();
    Ok(Some(PublicationInfo {
        all_tables: row.get(0),
        publishes_everything: row.get(1),
        tables,
    }))
}

/// A replication slot.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SlotInfo {
    /// Output plugin (`None` for a physical slot).
    pub plugin: Option<String>,
    /// The database of a logical slot.
    pub database: Option<String>,
    /// Whether a session holds it.
    pub active: bool,
    /// That session's PID.
    pub active_pid: Option<i32>,
    /// `TEMPORARY`.
    pub temporary: bool,
    /// What the consumer confirmed.
    pub confirmed_flush_lsn: Option<Lsn>,
    /// The oldest WAL the slot keeps.
    pub restart_lsn: Option<Lsn>,
    /// `reserved`, `extended`, `unreserved`, `lost`.
    pub wal_status: Option<String>,
    /// Bytes of WAL that can still be written before the slot is at risk.
    pub safe_wal_size: Option<i64>,
}

/// The slot, if it exists.
pub async fn slot(client: &Client, name: &str) -> Result<Option<SlotInfo>> {
    let row = client
        .query_opt(
            "select plugin::text, database::text, active, active_pid, temporary, \
             confirmed_flush_lsn::text, restart_lsn::text, wal_status, safe_wal_size \
             from pg_replication_slots where slot_name = $1",
            &[&name],
        )
        .await
        .map_err(q("reading the replication slot"))?;
    Ok(row.map(|r| SlotInfo {
        plugin: r.get(0),
        database: r.get(1),
        active: r.get(2),
        active_pid: r.get(3),
        temporary: r.get(4),
        confirmed_flush_lsn: r
            .get::<_, Option<String>>(5)
            .and_then(|s| Lsn::parse(&s).ok()),
        restart_lsn: r
            .get::<_, Option<String>>(6)
            .and_then(|s| Lsn::parse(&s).ok()),
        wal_status: r.get(7),
        safe_wal_size: r.get(8),
    }))
}

/// What status shows of the slot.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SlotLag {
    /// Current WAL position − confirmed flush, bytes.
    pub lag_bytes: Option<i64>,
    /// Current WAL position − restart LSN: WAL the slot retains, bytes.
    pub retained_bytes: Option<i64>,
    /// The slot as a whole.
    pub slot: Option<SlotInfo>,
    /// `pg_stat_replication_slots` counters (PostgreSQL 14+), by name.
    pub stats: Vec<(&'static str, i64)>,
}

/// Lag, retention and spill counters of the slot.
pub async fn slot_lag(client: &Client, name: &str, version_num: i32) -> Result<SlotLag> {
    let current =
        "case when pg_is_in_recovery() then pg_last_wal_replay_lsn() else pg_current_wal_lsn() end";
    let row = client
        .query_opt(
            &format!(
                "select pg_wal_lsn_diff({current}, confirmed_flush_lsn)::int8, \
                 pg_wal_lsn_diff({current}, restart_lsn)::int8 \
                 from pg_replication_slots where slot_name = $1"
            ),
            &[&name],
        )
        .await
        .map_err(q("reading the slot's lag"))?;
    let mut lag = SlotLag {
        lag_bytes: row.as_ref().and_then(|r| r.get(0)),
        retained_bytes: row.as_ref().and_then(|r| r.get(1)),
        slot: slot(client, name).await?,
        stats: Vec::new(),
    };
    if version_num >= 140000
        && let Some(r) = client
            .query_opt(
                "select spill_txns, spill_count, spill_bytes, stream_txns, total_txns, total_bytes \
                 from pg_stat_replication_slots where slot_name = $1",
                &[&name],
            )
            .await
            .map_err(q("reading the slot's statistics"))?
    {
        for (i, key) in [
            "spill_txns",
            "spill_count",
            "spill_bytes",
            "stream_txns",
            "total_txns",
            "total_bytes",
        ]
        .into_iter()
        .enumerate()
        {
            lag.stats.push((key, r.get(i)));
        }
    }
    Ok(lag)
}
