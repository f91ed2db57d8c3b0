//! Dividing the snapshot into parts: a table, or — for a large table, on PostgreSQL 14+ —
//! a range of its pages (`ctid`), so several workers read one table at once, all in the same
//! exported snapshot.

use std::sync::Arc;

use tokio_postgres::Client;

use crate::error::{PostgresError, Result};
use crate::sql::catalog::TableInfo;

/// How many parts each worker gets of a large table (so that a slow part does not leave the
/// other workers idle at the end).
const PARTS_PER_WORKER: u64 = 4;

/// One piece of the snapshot.
#[derive(Clone, Debug)]
pub struct Part {
    /// The table.
    pub table: Arc<TableInfo>,
    /// Pages `[from, to)` (`to` open-ended for the last part); `None`: the whole table.
    pub pages: Option<(u64, Option<u64>)>,
    /// How many parts the table has.
    pub of: usize,
}

impl Part {
    /// The `WHERE` of the part's query (empty for a whole table).
    pub fn filter(&self) -> String {
        match self.pages {
            None => String::new(),
            Some((from, None)) => format!(" WHERE ctid >= '({from},0)'::tid"),
            Some((from, Some(to))) => {
                format!(" WHERE ctid >= '({from},0)'::tid AND ctid < '({to},0)'::tid")
            }
        }
    }
}

/// The parts of `tables` for `workers` workers. Page counts come from the table's current
/// size; pages added later hold only rows the snapshot cannot see, and the last range is
/// open-ended anyway.
pub async fn plan(
    client: &Client,
    tables: &[TableInfo],
    workers: usize,
    part_pages: u64,
    version_num: i32,
) -> Result<Vec<Part>> {
    let mut parts = Vec::new();
    for t in tables {
        let table = Arc::new(t.clone());
        let pages = if workers > 1 && part_pages > 0 && version_num >= 140000 && t.kind == 'r' {
            pages_of(client, t.oid).await?
        } else {
            0
        };
        let n = split_count(pages, workers, part_pages);
        if n <= 1 {
            parts.push(Part {
                table,
                pages: None,
                of: 1,
            });
            continue;
        }
        let step = pages.div_ceil(n);
        for i in 0..n {
            let from = i * step;
            let to = (i + 1 < n).then(|| (i + 1) * step);
            parts.push(Part {
                table: Arc::clone(&table),
                pages: Some((from, to)),
                of: n as usize,
            });
        }
    }
    Ok(parts)
}

/// How many parts a table of `pages` pages gets, with parts of at least `part_pages`.
pub fn split_count(pages: u64, workers: usize, part_pages: u64) -> u64 {
    if workers <= 1 || part_pages == 0 {
        return 1;
    }
    (pages / part_pages).clamp(1, workers as u64 * PARTS_PER_WORKER)
}

async fn pages_of(client: &Client, oid: u32) -> Result<u64> {
    let row = client
        .query_one(
            "select (pg_relation_size($1::oid) / current_setting('block_size')::int8)::int8",
            &[&oid],
        )
        .await
        .map_err(|e| PostgresError::sql("reading a table's size", &e))?;
    Ok(u64::try_from(row.get::<_, i64>(0)).unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn large_tables_split_small_ones_do_not() {
        assert_eq!(split_count(100, 4, 2048), 1);
        assert_eq!(split_count(2048 * 3, 2, 2048), 3);
        assert_eq!(split_count(2048 * 100, 2, 2048), 8);
        assert_eq!(split_count(2048 * 100, 1, 2048), 1);
        assert_eq!(split_count(2048 * 100, 4, 0), 1);
        let t = Arc::new(TableInfo {
            oid: 1,
            schema: "s".into(),
            name: "t".into(),
            kind: 'r',
            replica_identity: 'd',
            has_identity_index: false,
            primary_key: vec![],
            identity_index: vec![],
            estimated_rows: None,
        });
        let p = Part {
            table: Arc::clone(&t),
            pages: Some((10, Some(20))),
            of: 2,
        };
        assert_eq!(
            p.filter(),
            " WHERE ctid >= '(10,0)'::tid AND ctid < '(20,0)'::tid"
        );
        let last = Part {
            table: t,
            pages: Some((20, None)),
            of: 2,
        };
        assert_eq!(last.filter(), " WHERE ctid >= '(20,0)'::tid");
    }
}
