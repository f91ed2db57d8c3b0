//! Table mappings: the selection rules of a task, built from the source's `tables`.
//!
//! DMS matches `schema-name` and `table-name` as patterns: `%` is any run of characters, `_`
//! any one character, `[ab]` a set. A configured name is a name: `_` is written `[_]` (the
//! documented literal underscore), and `%`, `[` and `]`, which have no documented escape,
//! are refused ([`check_table_name`]). A table without schema is the one place a wildcard is
//! meant: `%` for its schema, "that table in any schema", as documented for `tables`.

use cdc_core::TableRef;
use serde::Serialize;

/// DMS's wildcard.
const WILDCARD: &str = "%";

#[derive(Serialize)]
struct TableMappings {
    rules: Vec<SelectionRule>,
}

#[derive(Serialize)]
#[serde(rename_all = "kebab-case")]
struct SelectionRule {
    rule_type: &'static str,
    rule_id: String,
    rule_name: String,
    object_locator: ObjectLocator,
    rule_action: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "kebab-case")]
struct ObjectLocator {
    schema_name: String,
    table_name: String,
}

/// Refuses a name DMS would read as a pattern that no escape keeps a name; says why.
pub fn check_table_name(t: &TableRef) -> Result<(), String> {
    let full = t.to_string();
    match full.chars().find(|c| matches!(c, '%' | '[' | ']')) {
        Some(c) => Err(format!(
            "table name {full:?} holds {c:?}, a DMS wildcard character: a table name is a \
             name, never a pattern (write the table names one by one)"
        )),
        None => Ok(()),
    }
}

/// A name as a DMS pattern matching only itself.
fn literal(name: &str) -> String {
    name.replace('_', "[_]")
}

/// The table mappings JSON: one `include` selection rule per table (`schema.table`, each
/// written to match only itself; a table without a schema matches it in every schema through
/// `%`), or one rule for `%.%` when no table is given. The names must have passed
/// [`check_table_name`].
pub fn table_mappings(tables: &[TableRef]) -> String {
    let locators: Vec<(String, String)> = if tables.is_empty() {
        vec![(WILDCARD.to_owned(), WILDCARD.to_owned())]
    } else {
        tables
            .iter()
            .map(|t| {
                let schema = t.schema.as_deref().map_or(WILDCARD.to_owned(), literal);
                (schema, literal(&t.name))
            })
            .collect()
    };
    let rules = locators
        .into_iter()
        .enumerate()
        .map(|(i, (schema_name, table_name))| SelectionRule {
            rule_type: "selection",
            rule_id: (i + 1).to_string(),
            rule_name: (i + 1).to_string(),
            object_locator: ObjectLocator {
                schema_name,
                table_name,
            },
            rule_action: "include",
        })
        .collect();
    serde_json::to_string(&TableMappings { rules })
        .expect("table mappings are plain strings and always serialize")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    #[test]
    fn one_rule_per_table_and_a_wildcard_without_tables() {
        let all: Value = serde_json::from_str(&table_mappings(&[])).unwrap();
        assert_eq!(
            all,
            json!({"rules": [{"rule-type": "selection", "rule-id": "1", "rule-name": "1",
                "object-locator": {"schema-name": "%", "table-name": "%"}, "rule-action": "include"}]})
        );
        let tables = [
            TableRef::parse("public.orders").unwrap(),
            TableRef::parse("users").unwrap(),
        ];
        let v: Value = serde_json::from_str(&table_mappings(&tables)).unwrap();
        let rules = v["rules"].as_array().unwrap();
        assert_eq!(rules.len(), 2);
        assert_eq!(
            rules[0]["object-locator"],
            json!({"schema-name": "public", "table-name": "orders"})
        );
        assert_eq!(
            rules[1]["object-locator"],
            json!({"schema-name": "%", "table-name": "users"})
        );
        assert_eq!(rules[1]["rule-id"], "2");
    }

    #[test]
    fn names_match_only_themselves() {
        let tables = [TableRef::parse("my_schema.order_items").unwrap()];
        let v: Value = serde_json::from_str(&table_mappings(&tables)).unwrap();
        assert_eq!(
            v["rules"][0]["object-locator"],
            json!({"schema-name": "my[_]schema", "table-name": "order[_]items"})
        );
        for bad in ["public.%", "%", "s.a[bc]", "x]"] {
            let t = TableRef::parse(bad).unwrap();
            let err = check_table_name(&t).unwrap_err();
            assert!(err.contains("wildcard"), "{bad}: {err}");
        }
        assert!(check_table_name(&TableRef::parse("public.orders").unwrap()).is_ok());
    }
}
