//! Table names: `name` or `schema.name`.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A table named in a config: `users` (any schema) or `public.users` (that schema only).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct TableRef {
    /// The schema, when the name had one.
    pub schema: Option<String>,
    /// The table name.
    pub name: String,
}

impl TableRef {
    /// Parses `name` or `schema.name`. Empty parts, whitespace, quotes, `;` and more than one
    /// dot are rejected with a message saying which.
    pub fn parse(raw: &str) -> Result<Self, String> {
        if raw.is_empty() {
            return Err("table name is empty".into());
        }
        if let Some(c) = raw
            .chars()
            .find(|c| c.is_whitespace() || matches!(c, '"' | '\'' | '`' | ';'))
        {
            return Err(format!(
                "table name {raw:?} contains {c:?}; use name or schema.name without quotes, spaces or ';'"
            ));
        }
        let parts: Vec<&str> = raw.split('.').collect();
        match parts.as_slice() {
            [name] => Ok(Self {
                schema: None,
                name: (*name).to_owned(),
            }),
            [schema, name] if !schema.is_empty() && !name.is_empty() => Ok(Self {
                schema: Some((*schema).to_owned()),
                name: (*name).to_owned(),
            }),
            [_, _] => Err(format!("table name {raw:?} has an empty part")),
            _ => Err(format!(
                "table name {raw:?} has more than one '.'; use name or schema.name"
            )),
        }
    }

    /// Whether an event on `schema.table` matches: a schema-less name matches any schema.
    pub fn matches(&self, schema: Option<&str>, table: &str) -> bool {
        if self.name != table {
            return false;
        }
        match (&self.schema, schema) {
            (None, _) => true,
            (Some(want), Some(got)) => want == got,
            (Some(_), None) => false,
        }
    }
}

impl fmt::Display for TableRef {
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
    fn parses_and_matches() {
        let any = TableRef::parse("users").unwrap();
        let public = TableRef::parse("public.users").unwrap();
        assert!(any.matches(Some("public"), "users"));
        assert!(any.matches(Some("audit"), "users"));
        assert!(any.matches(None, "users"));
        assert!(public.matches(Some("public"), "users"));
        assert!(!public.matches(Some("audit"), "users"));
        assert!(!public.matches(None, "users"));
        assert!(!any.matches(Some("public"), "orders"));
        assert_eq!(public.to_string(), "public.users");
    }

    #[test]
    fn rejects_bad_names() {
        for bad in [
            "",
            ".users",
            "public.",
            "a.b.c",
            "my table",
            "\"users\"",
            "users;drop",
            "o'brien",
        ] {
            assert!(TableRef::parse(bad).is_err(), "{bad:?} accepted");
        }
    }
}
