//! The statements of the wal2json polling stream.

use super::literal::quote_literal;
use super::names::{PgTable, SlotName};

/// The slot creation statement: creates a logical slot with the wal2json plugin unless a slot
/// of that name exists. Returns one row (`slot_name`, `lsn`) when it created the slot.
pub fn create_slot_sql(slot: &SlotName) -> String {
    let name = quote_literal(slot.as_str());
    format!(
        "SELECT slot_name::text AS slot_name, lsn::text AS lsn \
         FROM pg_create_logical_replication_slot({name}, 'wal2json') \
         WHERE NOT EXISTS (SELECT 1 FROM pg_replication_slots WHERE slot_name = {name})"
    )
}

/// Drops the slot when it exists (for tests and clean-up; the provider never drops a slot it
/// did not create, because the slot holds the source's unread changes).
pub fn drop_slot_sql(slot: &SlotName) -> String {
    let name = quote_literal(slot.as_str());
    format!(
        "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = {name}"
    )
}

/// The wal2json `add-tables` value: `schema.table` entries separated by `,`, every special
/// character of a name (`\`, `,`, `.`, `*`, white space) escaped with `\`. A table without
/// schema is written `*.table` (any schema).
pub fn wal2json_add_tables(tables: &[PgTable]) -> String {
    tables
        .iter()
        .map(|t| {
            let schema = t
                .schema
                .as_deref()
                .map(escape_wal2json)
                .unwrap_or_else(|| "*".to_owned());
            format!("{schema}.{}", escape_wal2json(&t.name))
        })
        .collect::<Vec<_>>()
        .join(",")
}

fn escape_wal2json(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.chars() {
        if matches!(c, '\\' | ',' | '.' | '*') || c.is_ascii_whitespace() {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// The consuming read of a wal2json slot.
///
/// `pg_logical_slot_get_changes` returns the changes of committed transactions, in commit
/// order, and advances the slot past them: each change is returned once.
/// (`pg_logical_slot_peek_changes` would return the same changes forever.)
///
/// wal2json format 2 emits one JSON object per row change, with `xid`, commit `timestamp` and
/// `lsn` on each; transaction begin/commit records are turned off, and `add-tables` keeps only
/// the configured tables.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChangesQuery {
    /// The slot read.
    pub slot: SlotName,
    /// The tables kept (empty: every table).
    pub tables: Vec<PgTable>,
    /// At most this many changes per call (whole transactions: PostgreSQL stops after the
    /// transaction that reaches the limit).
    pub max_changes: u32,
}

impl ChangesQuery {
    /// The SQL text. Columns: `lsn` (text), `xid` (text), `data` (wal2json JSON text), in
    /// the order PostgreSQL returned them.
    pub fn sql(&self) -> String {
        let mut options = vec![
            ("format-version", "2".to_owned()),
            ("include-xids", "1".to_owned()),
            ("include-timestamp", "1".to_owned()),
            ("include-lsn", "1".to_owned()),
            ("include-transaction", "0".to_owned()),
        ];
        if !self.tables.is_empty() {
            options.push(("add-tables", wal2json_add_tables(&self.tables)));
        }
        let options = options
            .iter()
            .map(|(k, v)| format!("{}, {}", quote_literal(k), quote_literal(v)))
            .collect::<Vec<_>>()
            .join(", ");
        format!(
            "SELECT c.lsn::text AS lsn, c.xid::text AS xid, c.data AS data \
             FROM pg_logical_slot_get_changes({slot}, NULL, {max}, {options}) \
             WITH ORDINALITY AS c(lsn, xid, data, n) ORDER BY c.n",
            slot = quote_literal(self.slot.as_str()),
            max = self.max_changes,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn add_tables_escapes_specials_and_uses_any_schema_for_bare_names() {
        let tables = vec![
            PgTable::parse("public.orders").unwrap(),
            PgTable::parse("customers").unwrap(),
            PgTable::parse("s.we'ird; --x,y.z*").unwrap(),
        ];
        assert_eq!(
            wal2json_add_tables(&tables),
            r"public.orders,*.customers,s.we'ird;\ --x\,y\.z\*"
        );
    }

    #[test]
    fn query_consumes_with_escaped_literals() {
        let q = ChangesQuery {
            slot: SlotName::parse("cdc_shop").unwrap(),
            tables: vec![PgTable::parse("public.o'k").unwrap()],
            max_changes: 500,
        };
        let sql = q.sql();
        assert!(sql.contains("pg_logical_slot_get_changes(E'cdc_shop', NULL, 500,"));
        assert!(!sql.contains("peek"));
        assert!(sql.contains(r"E'add-tables', E'public.o''k'"), "{sql}");
        assert!(!sql.contains('\n'));
    }

    #[test]
    fn create_slot_is_idempotent_sql() {
        let sql = create_slot_sql(&SlotName::parse("cdc_shop").unwrap());
        assert!(sql.contains("pg_create_logical_replication_slot(E'cdc_shop', 'wal2json')"));
        assert!(sql.contains("WHERE NOT EXISTS"));
    }
}
