//! Columns and types of a table: the published columns the snapshot reads, the SQL types
//! of key columns for generated queries, and the names and output functions of types.
//! The snapshot and the backfill read them, set-up does not.

use tokio_postgres::Client;

use super::q;
use crate::error::{PostgresError, Result};

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
