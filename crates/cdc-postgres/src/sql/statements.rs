//! The statements that set a source up, as text: run by the provider, printed by
//! `cdc render` without connecting.

use cdc_core::TableRef;

use super::quote::{ident, literal};

/// `"schema"."table"`, or `"table"` (found along the search_path) without a schema.
pub fn table_name(t: &TableRef) -> String {
    match &t.schema {
        Some(s) => format!("{}.{}", ident(s), ident(&t.name)),
        None => ident(&t.name),
    }
}

/// `CREATE PUBLICATION` for the tables (every table when empty). Partitioned tables publish
/// their changes under the partitioned table's name.
pub fn create_publication(name: &str, tables: &[TableRef]) -> String {
    if tables.is_empty() {
        return format!("CREATE PUBLICATION {} FOR ALL TABLES", ident(name));
    }
    let list: Vec<String> = tables.iter().map(table_name).collect();
    format!(
        "CREATE PUBLICATION {} FOR TABLE {} WITH (publish_via_partition_root = true)",
        ident(name),
        list.join(", ")
    )
}

/// `ALTER PUBLICATION ... ADD TABLE` for tables missing from a publication cdc-rs made.
pub fn add_tables(name: &str, tables: &[TableRef]) -> String {
    let list: Vec<String> = tables.iter().map(table_name).collect();
    format!(
        "ALTER PUBLICATION {} ADD TABLE {}",
        ident(name),
        list.join(", ")
    )
}

/// `CREATE_REPLICATION_SLOT` (a replication-protocol command). With `export`, the session
/// exports a snapshot that other sessions can read the tables through.
pub fn create_slot(slot: &str, temporary: bool, export: bool, version_num: i32) -> String {
    let temp = if temporary { " TEMPORARY" } else { "" };
    if version_num >= 150000 {
        let snap = if export { "export" } else { "nothing" };
        format!("CREATE_REPLICATION_SLOT {slot}{temp} LOGICAL pgoutput (SNAPSHOT '{snap}')")
    } else {
        let snap = if export {
            "EXPORT_SNAPSHOT"
        } else {
            "NOEXPORT_SNAPSHOT"
        };
        format!("CREATE_REPLICATION_SLOT {slot}{temp} LOGICAL pgoutput {snap}")
    }
}

/// `START_REPLICATION`, as pgwire-replication sends it.
pub fn start_replication(slot: &str, publication: &str) -> String {
    format!(
        "START_REPLICATION SLOT {slot} LOGICAL 0/0 (proto_version '1', publication_names {}, messages 'true')",
        literal(&ident(publication))
    )
}

/// `pg_drop_replication_slot`.
pub fn drop_slot(slot: &str) -> String {
    format!("SELECT pg_drop_replication_slot({})", literal(slot))
}

/// `DROP PUBLICATION`.
pub fn drop_publication(name: &str) -> String {
    format!("DROP PUBLICATION IF EXISTS {}", ident(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_quote_every_name() {
        let t = vec![
            TableRef::parse("public.Orders").unwrap(),
            TableRef::parse("x").unwrap(),
        ];
        assert_eq!(
            create_publication("p\"q", &t),
            "CREATE PUBLICATION \"p\"\"q\" FOR TABLE \"public\".\"Orders\", \"x\" WITH (publish_via_partition_root = true)"
        );
        assert_eq!(
            create_publication("p", &[]),
            "CREATE PUBLICATION \"p\" FOR ALL TABLES"
        );
        assert_eq!(
            create_slot("s", false, true, 150000),
            "CREATE_REPLICATION_SLOT s LOGICAL pgoutput (SNAPSHOT 'export')"
        );
        assert_eq!(
            create_slot("s", true, false, 140000),
            "CREATE_REPLICATION_SLOT s TEMPORARY LOGICAL pgoutput NOEXPORT_SNAPSHOT"
        );
        assert!(start_replication("s", "it's").contains("publication_names '\"it''s\"'"));
    }
}
