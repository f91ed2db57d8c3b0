//! Quoting of identifiers and literals for the SQL we generate.

/// `"name"` with embedded quotes doubled: safe for any name.
pub fn ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// `"schema"."table"`.
pub fn qualified(schema: &str, table: &str) -> String {
    format!("{}.{}", ident(schema), ident(table))
}

/// `'text'` with embedded quotes doubled; text holding a backslash as `E'...'` with the
/// backslashes doubled too. A plain `'...'` would read `\'` as an escaped quote on a session
/// with `standard_conforming_strings = off` (a role or database may set it): a value from
/// the user's table (a backfill's resume key) could then end the literal and inject SQL.
/// `E'...'` means the same whatever that setting is.
pub fn literal(text: &str) -> String {
    if text.contains('\\') {
        format!("E'{}'", text.replace('\\', "\\\\").replace('\'', "''"))
    } else {
        format!("'{}'", text.replace('\'', "''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes() {
        assert_eq!(ident("a\"b"), "\"a\"\"b\"");
        assert_eq!(qualified("public", "Orders"), "\"public\".\"Orders\"");
        assert_eq!(literal("it's"), "'it''s'");
        // Safe with standard_conforming_strings on and off alike.
        assert_eq!(literal(r"a\'b"), r"E'a\\''b'");
        assert_eq!(literal(r"\"), r"E'\\'");
    }
}
