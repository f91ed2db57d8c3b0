//! Table mappings: the selection rules of a task, built from the source's `tables`.

use cdc_core::TableRef;
use serde::Serialize;

/// DMS's wildcard.
const WILDCARD: &str = "%";

#[derive(Serialize)]
struct TableMappings<'a> {
    rules: Vec<SelectionRule<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "kebab-case")]
struct SelectionRule<'a> {
    rule_type: &'static str,
    rule_id: String,
    rule_name: String,
    object_locator: ObjectLocator<'a>,
    rule_action: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "kebab-case")]
struct ObjectLocator<'a> {
    schema_name: &'a str,
    table_name: &'a str,
}

/// The table mappings JSON: one `include` selection rule per table (`schema.table`; a table
/// without a schema matches it in every schema through `%`), or one rule for `%.%` when no
/// table is given.
pub fn table_mappings(tables: &[TableRef]) -> String {
    let locators: Vec<(&str, &str)> = if tables.is_empty() {
        vec![(WILDCARD, WILDCARD)]
    } else {
        tables
            .iter()
            .map(|t| (t.schema.as_deref().unwrap_or(WILDCARD), t.name.as_str()))
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
}
