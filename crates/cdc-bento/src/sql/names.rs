//! Validated PostgreSQL names: replication slots and tables.

use std::fmt;

/// PostgreSQL truncates identifiers longer than this (NAMEDATALEN - 1) bytes.
pub const MAX_IDENT_BYTES: usize = 63;

/// A replication slot name: 1–63 of `[a-z0-9_]`, which is what PostgreSQL itself accepts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SlotName(String);

impl SlotName {
    /// Validates a slot name; the error says what is wrong.
    pub fn parse(raw: &str) -> Result<Self, String> {
        if raw.is_empty() {
            return Err("slot name is empty".into());
        }
        if raw.len() > MAX_IDENT_BYTES {
            return Err(format!(
                "slot name {raw:?} is longer than {MAX_IDENT_BYTES} bytes"
            ));
        }
        if let Some(c) = raw
            .chars()
            .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_'))
        {
            return Err(format!(
                "slot name {raw:?} contains {c:?}; PostgreSQL slot names use only lower-case letters, digits and '_'"
            ));
        }
        Ok(Self(raw.to_owned()))
    }

    /// The default slot of a source: `cdc_` + the source id, lower-cased, other characters
    /// replaced by `_`, cut to 63 bytes.
    pub fn for_source(source_id: &str) -> Self {
        let mut name: String = std::iter::once("cdc_".to_owned())
            .chain(source_id.chars().map(|c| {
                if c.is_ascii_alphanumeric() {
                    c.to_ascii_lowercase().to_string()
                } else {
                    "_".to_owned()
                }
            }))
            .collect();
        name.truncate(MAX_IDENT_BYTES);
        Self(name)
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for SlotName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A configured table: `name` (any schema) or `schema.name`, split on the first `.`.
///
/// Names may contain quotes, `;`, `--`, spaces and dots after the first: they are escaped
/// wherever they are written. Rejected: empty parts, more than 63 bytes, control characters
/// (newlines, NUL, ...) and `${`, which Bento would expand as an environment variable.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PgTable {
    /// The schema; `None` matches the table in every schema.
    pub schema: Option<String>,
    /// The table name.
    pub name: String,
}

impl PgTable {
    /// Parses and validates a configured table name.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let (schema, name) = match raw.split_once('.') {
            Some((s, n)) => (Some(s), n),
            None => (None, raw),
        };
        if let Some(s) = schema {
            check_part(raw, "schema", s)?;
        }
        check_part(raw, "table", name)?;
        Ok(Self {
            schema: schema.map(str::to_owned),
            name: name.to_owned(),
        })
    }
}

fn check_part(raw: &str, what: &str, part: &str) -> Result<(), String> {
    if part.is_empty() {
        return Err(format!("table {raw:?}: the {what} name is empty"));
    }
    if part.len() > MAX_IDENT_BYTES {
        return Err(format!(
            "table {raw:?}: the {what} name is longer than {MAX_IDENT_BYTES} bytes"
        ));
    }
    if let Some(c) = part.chars().find(|c| c.is_control()) {
        return Err(format!(
            "table {raw:?}: the {what} name contains the control character {c:?}"
        ));
    }
    if part.contains("${") {
        return Err(format!(
            "table {raw:?}: the {what} name contains \"${{\", which Bento would expand as an environment variable"
        ));
    }
    Ok(())
}

impl fmt::Display for PgTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.schema {
            Some(s) => write!(f, "{s}.{}", self.name),
            None => f.write_str(&self.name),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slot_names_are_strict() {
        assert!(SlotName::parse("cdc_orders_1").is_ok());
        for bad in [
            "",
            "Orders",
            "a-b",
            "x'; DROP TABLE t; --",
            "a\nb",
            "a b",
            &"a".repeat(64),
        ] {
            assert!(SlotName::parse(bad).is_err(), "{bad:?} accepted");
        }
        assert_eq!(
            SlotName::for_source("Orders-DB.eu").as_str(),
            "cdc_orders_db_eu"
        );
        assert!(SlotName::parse(SlotName::for_source(&"X".repeat(200)).as_str()).is_ok());
    }

    #[test]
    fn tables_split_on_the_first_dot_and_reject_control_characters() {
        let t = PgTable::parse("public.orders").unwrap();
        assert_eq!(
            (t.schema.as_deref(), t.name.as_str()),
            (Some("public"), "orders")
        );
        let t = PgTable::parse("orders").unwrap();
        assert_eq!((t.schema, t.name.as_str()), (None, "orders"));
        let t = PgTable::parse("public.we'ird; --x").unwrap();
        assert_eq!(t.name, "we'ird; --x");
        for bad in [
            "",
            ".orders",
            "public.",
            "public.a\nb",
            "a\rb",
            "a\0b",
            "public.${HOME}",
        ] {
            let err = PgTable::parse(bad).unwrap_err();
            assert!(err.contains("table"), "{err}");
        }
    }
}
