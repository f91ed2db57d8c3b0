//! The part of the DDL capture's event trigger (`capture_ddl`) that puts a table created
//! under a configured name back into the publication cdc-rs owns, inside the DDL's own
//! transaction.
//!
//! PostgreSQL takes a dropped table out of every publication, and a new table of the same
//! name (`DROP TABLE t; CREATE TABLE t (...)`, or `ALTER TABLE x RENAME TO t`) is a new
//! relation that no publication lists: without this, nothing of it would be captured. The
//! trigger runs at `ddl_command_end`, before any row of the new table can be written by a
//! later command, so adding it there loses none of them (the rows a `CREATE TABLE ... AS`
//! writes itself come before the end of that command: a backfill reads them).

use cdc_core::TableRef;

use super::quote::literal;

/// The transaction-local setting that marks the trigger's own `ALTER PUBLICATION`, so the
/// event triggers it fires again write no DDL message about it: it is not the user's DDL.
pub const GUARD_SETTING: &str = "cdc_rs.republishing";

/// What the trigger puts back: tables named like these, into this publication.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Republish {
    /// The publication cdc-rs owns.
    pub publication: String,
    /// The captured tables; a name without a schema matches in any schema (`cdc render`,
    /// which does not connect, has only the configured names).
    pub tables: Vec<TableRef>,
}

impl Republish {
    /// The PL/pgSQL statements, run for each row `r` of `pg_event_trigger_ddl_commands()`:
    /// when `r` made a permanent table whose name is a captured one and the publication (not
    /// `FOR ALL TABLES`, which needs nothing) does not publish it, `ALTER PUBLICATION ... ADD
    /// TABLE` it. A failure (an unlogged table, ...) must not fail the user's DDL: it is a
    /// warning, and the periodic publication check reports the table.
    pub fn plpgsql(&self) -> String {
        if self.tables.is_empty() {
            return String::new();
        }
        let names: Vec<String> = self
            .tables
            .iter()
            .map(|t| {
                let schema = t.schema.as_deref().map_or_else(
                    || "NULL::text".to_owned(),
                    |s| format!("{}::text", literal(s)),
                );
                format!("({schema}, {}::text)", literal(&t.name))
            })
            .collect();
        let publication = literal(&self.publication);
        let guard = literal(GUARD_SETTING);
        format!(
            "
      IF r.object_type = 'table' AND EXISTS (
          SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
          JOIN (VALUES {values}) AS v(s, t) ON (v.s IS NULL OR v.s = n.nspname::text) AND v.t = c.relname::text
          WHERE c.oid = r.objid AND c.relkind IN ('r', 'p') AND c.relpersistence = 'p'
            AND EXISTS (SELECT 1 FROM pg_publication WHERE pubname = {publication} AND NOT puballtables)
            AND NOT EXISTS (SELECT 1 FROM pg_publication_tables p
              WHERE p.pubname = {publication} AND p.schemaname = n.nspname AND p.tablename = c.relname)) THEN
        BEGIN
          PERFORM set_config({guard}, 'on', true);
          EXECUTE format('ALTER PUBLICATION %I ADD TABLE %s', {publication}, r.objid::regclass);
          PERFORM set_config({guard}, '', true);
        EXCEPTION WHEN OTHERS THEN
          RAISE WARNING 'cdc-rs: could not add table % to publication %: %', r.objid::regclass, {publication}, SQLERRM;
        END;
      END IF;",
            values = names.join(", "),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_literals_and_a_bare_name_matches_any_schema() {
        let r = Republish {
            publication: "p'q".into(),
            tables: vec![
                TableRef::parse("public.Orders").unwrap(),
                TableRef::parse("x").unwrap(),
            ],
        };
        let sql = r.plpgsql();
        assert!(sql.contains("('public'::text, 'Orders'::text), (NULL::text, 'x'::text)"));
        assert!(sql.contains("pubname = 'p''q'"));
        assert!(sql.contains("ALTER PUBLICATION %I ADD TABLE %s"));
        let none = Republish {
            publication: "p".into(),
            tables: Vec::new(),
        };
        assert_eq!(none.plpgsql(), "");
    }
}
