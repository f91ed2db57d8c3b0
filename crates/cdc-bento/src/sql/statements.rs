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

/// How the stream reads the slot, which decides who moves it on.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SlotRead {
    /// `pg_logical_slot_get_changes`: the query itself advances the slot, before Bento's
    /// output has the changes (at-most-once: a crash in between loses them). For a stream
    /// somebody else runs (delegated mode), where nothing could acknowledge them later.
    #[default]
    Consume,
    /// `pg_logical_slot_peek_changes`: the slot stays where it is, every poll returns the
    /// same changes again, and the provider advances the slot
    /// (`pg_replication_slot_advance`) past a transaction once every handler succeeded on
    /// it (at-least-once). Each row carries its transaction's commit position and its
    /// place in it, so the provider drops what a poll returns again; transaction commits
    /// come through as `commit` rows, so that a stream of transactions on other tables
    /// moves the slot on too.
    Peek,
}

/// The read of a wal2json slot.
///
/// PostgreSQL returns the changes of committed transactions, in commit order, whole
/// transactions at a time. wal2json format 2 emits one JSON object per row change, with
/// `xid`, commit `timestamp` and `lsn` on each, and `add-tables` keeps only the configured
/// tables. With [`SlotRead::Consume`] transaction begin/commit records are turned off; with
/// [`SlotRead::Peek`] the commit records are kept (see there).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChangesQuery {
    /// The slot read.
    pub slot: SlotName,
    /// The tables kept (empty: every table).
    pub tables: Vec<PgTable>,
    /// At most this many changes per call (whole transactions: PostgreSQL stops after the
    /// transaction that reaches the limit).
    pub max_changes: u32,
    /// Consuming or not.
    pub read: SlotRead,
}

impl ChangesQuery {
    /// The SQL text. Columns: `lsn` (text), `xid` (text), `data` (wal2json JSON text), in
    /// the order PostgreSQL returned them; with [`SlotRead::Peek`] also `commit_lsn` (text:
    /// the end of the transaction's commit record, which the slot is advanced to) and `seq`
    /// (the row's place in its transaction).
    pub fn sql(&self) -> String {
        let peek = self.read == SlotRead::Peek;
        let mut options = vec![
            ("format-version", "2".to_owned()),
            ("include-xids", "1".to_owned()),
            ("include-timestamp", "1".to_owned()),
            ("include-lsn", "1".to_owned()),
            (
                "include-transaction",
                if peek { "1" } else { "0" }.to_owned(),
            ),
        ];
        if !self.tables.is_empty() {
            options.push(("add-tables", wal2json_add_tables(&self.tables)));
        }
        let options = options
            .iter()
            .map(|(k, v)| format!("{}, {}", quote_literal(k), quote_literal(v)))
            .collect::<Vec<_>>()
            .join(", ");
        let slot = quote_literal(self.slot.as_str());
        let max = self.max_changes;
        if !peek {
            return format!(
                "SELECT c.lsn::text AS lsn, c.xid::text AS xid, c.data AS data \
                 FROM pg_logical_slot_get_changes({slot}, NULL, {max}, {options}) \
                 WITH ORDINALITY AS c(lsn, xid, data, n) ORDER BY c.n"
            );
        }
        // The `lsn` of a wal2json commit row is the end of the commit record: advancing the
        // slot there skips the transaction, and not one more. wal2json writes every object
        // starting `{"action":"X"` (no white space), which `left` reads without parsing the
        // row. Begin rows say nothing the commit row does not, and are left out.
        format!(
            "SELECT t.lsn::text AS lsn, t.xid::text AS xid, t.data AS data, \
             t.commit_lsn::text AS commit_lsn, t.seq AS seq FROM (\
             SELECT c.lsn, c.xid, c.data, c.n, \
             max(c.lsn) FILTER (WHERE left(c.data, 13) = '{{\"action\":\"C\"') \
             OVER (PARTITION BY c.xid::text) AS commit_lsn, \
             row_number() OVER (PARTITION BY c.xid::text ORDER BY c.n) AS seq \
             FROM pg_logical_slot_peek_changes({slot}, NULL, {max}, {options}) \
             WITH ORDINALITY AS c(lsn, xid, data, n)) AS t \
             WHERE left(t.data, 13) <> '{{\"action\":\"B\"' ORDER BY t.n"
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
            read: SlotRead::Consume,
        };
        let sql = q.sql();
        assert!(sql.contains("pg_logical_slot_get_changes(E'cdc_shop', NULL, 500,"));
        assert!(!sql.contains("peek"));
        assert!(sql.contains(r"E'add-tables', E'public.o''k'"), "{sql}");
        assert!(!sql.contains('\n'));
    }

    #[test]
    fn the_peeking_query_keeps_commits_and_positions() {
        let q = ChangesQuery {
            slot: SlotName::parse("cdc_shop").unwrap(),
            tables: vec![PgTable::parse("public.orders").unwrap()],
            max_changes: 500,
            read: SlotRead::Peek,
        };
        let sql = q.sql();
        assert!(
            sql.contains("pg_logical_slot_peek_changes(E'cdc_shop', NULL, 500,"),
            "{sql}"
        );
        assert!(!sql.contains("get_changes"), "{sql}");
        assert!(sql.contains("E'include-transaction', E'1'"), "{sql}");
        for column in ["AS lsn", "AS xid", "AS data", "AS commit_lsn", "AS seq"] {
            assert!(sql.contains(column), "{column}: {sql}");
        }
        assert!(!sql.contains('\n'));
    }

    #[test]
    fn create_slot_is_idempotent_sql() {
        let sql = create_slot_sql(&SlotName::parse("cdc_shop").unwrap());
        assert!(sql.contains("pg_create_logical_replication_slot(E'cdc_shop', 'wal2json')"));
        assert!(sql.contains("WHERE NOT EXISTS"));
    }
}
