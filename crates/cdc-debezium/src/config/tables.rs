//! Table names in a connector config and in signals: always names, never patterns.
//!
//! Debezium reads `table.include.list`, `collection.include.list` and the `data-collections`
//! of an `execute-snapshot` signal as comma-separated lists of Java regular expressions
//! matched against the whole `schema.table` id. A configured name is therefore written with
//! every regex metacharacter escaped (`x|.*` matches the table named `x|.*`, nothing else),
//! and a name that no escape can keep a name is refused: a `,` would split the list, and
//! `${` is a Kafka Connect config-provider reference (`${file:/etc/secrets:pw}`) that the
//! worker resolves anywhere in a connector config. A user who wants patterns sets
//! `connector_config: { table.include.list: ... }` themselves: that value is passed as is.

use cdc_core::TableRef;

use super::dsn::DatabaseDsn;
use super::kind::DatabaseKind;

/// Refuses a name Debezium cannot take as a plain name; the message says why.
pub fn check_table_name(t: &TableRef) -> Result<(), String> {
    let full = t.to_string();
    if full.contains(',') {
        return Err(format!(
            "table name {full:?} holds ',', which separates Debezium's table lists; \
             it cannot be a table name here"
        ));
    }
    if full.contains("${") {
        return Err(format!(
            "table name {full:?} holds \"${{\", which Kafka Connect reads as a config-provider \
             reference; it cannot be a table name"
        ));
    }
    Ok(())
}

/// `s` as a Java regex matching exactly `s`.
pub fn regex_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 4);
    for c in s.chars() {
        if matches!(
            c,
            '\\' | '.' | '[' | ']' | '{' | '}' | '(' | ')' | '*' | '+' | '?' | '^' | '$' | '|'
        ) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// A `table.include.list` / `data-collections` entry matching exactly this table: its
/// `schema.table` id escaped; a name without schema matches that table in any schema.
pub fn include_entry(t: &TableRef) -> String {
    match &t.schema {
        Some(s) => format!("{}\\.{}", regex_escape(s), regex_escape(&t.name)),
        None => format!("[^.]+\\.{}", regex_escape(&t.name)),
    }
}

/// `signal.data.collection`: `schema.table` (PostgreSQL), `db.table` (MySQL),
/// `db.schema.table` (SQL Server, fully qualified). A plain id, not a pattern.
pub fn signal_collection(kind: DatabaseKind, t: &TableRef, dsn: Option<&DatabaseDsn>) -> String {
    let schema = t.schema.clone().unwrap_or_else(|| match kind {
        DatabaseKind::Postgres => "public".into(),
        DatabaseKind::SqlServer => "dbo".into(),
        _ => dsn.and_then(|d| d.dbname.clone()).unwrap_or_default(),
    });
    match (kind, dsn.and_then(|d| d.dbname.as_deref())) {
        (DatabaseKind::SqlServer, Some(db)) => format!("{db}.{schema}.{}", t.name),
        _ => format!("{schema}.{}", t.name),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(raw: &str) -> TableRef {
        TableRef::parse(raw).unwrap()
    }

    #[test]
    fn names_are_escaped_so_they_match_only_themselves() {
        assert_eq!(include_entry(&t("public.orders")), "public\\.orders");
        assert_eq!(include_entry(&t("orders")), "[^.]+\\.orders");
        assert_eq!(
            include_entry(&t("x|.*")),
            "x\\|\\.\\*",
            "a name, not a pattern"
        );
        assert_eq!(include_entry(&t("a$b")), "[^.]+\\.a\\$b");
        assert_eq!(include_entry(&t("s.(a)+[b]")), "s\\.\\(a\\)\\+\\[b\\]");
    }

    #[test]
    fn names_no_escape_can_keep_are_refused() {
        for bad in ["a,.*", "public.a,b", "${file:/etc/passwd:x}", "s.t${x}"] {
            let err = check_table_name(&t(bad)).unwrap_err();
            assert!(err.contains("cannot be a table name"), "{bad}: {err}");
        }
        assert!(check_table_name(&t("x|.*")).is_ok());
    }
}
