//! Quoting of identifiers and literals for the SQL we generate.

/// `"name"` with embedded quotes doubled: safe for any name.
pub fn ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// `"schema"."table"`.
pub fn qualified(schema: &str, table: &str) -> String {
    format!("{}.{}", ident(schema), ident(table))
}

/// `'text'` with embedded quotes doubled (standard_conforming_strings is on since 9.1).
pub fn literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes() {
        assert_eq!(ident("a\"b"), "\"a\"\"b\"");
        assert_eq!(qualified("public", "Orders"), "\"public\".\"Orders\"");
        assert_eq!(literal("it's"), "'it''s'");
    }
}
