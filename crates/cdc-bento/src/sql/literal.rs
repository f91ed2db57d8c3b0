//! Escaping of SQL literals and identifiers.

/// Quotes `value` as an escape-string literal: `E'...'` with `\` and `'` doubled.
///
/// The `E''` form reads the same whatever `standard_conforming_strings` is set to, which plain
/// `'...'` does not (a backslash, as wal2json escapes use, would change meaning).
/// NUL cannot be in a PostgreSQL text value; callers validate it away first.
pub fn quote_literal(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 3);
    out.push_str("E'");
    for c in value.chars() {
        match c {
            '\'' => out.push_str("''"),
            '\\' => out.push_str("\\\\"),
            c => out.push(c),
        }
    }
    out.push('\'');
    out
}

/// Quotes `name` as an identifier: `"..."` with `"` doubled.
pub fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_double_quotes_and_backslashes() {
        assert_eq!(quote_literal("plain"), "E'plain'");
        assert_eq!(quote_literal("o'brien"), "E'o''brien'");
        assert_eq!(quote_literal(r"a\b"), r"E'a\\b'");
        assert_eq!(
            quote_literal("x'); DROP TABLE t; --"),
            "E'x''); DROP TABLE t; --'"
        );
    }

    #[test]
    fn identifiers_double_quotes() {
        assert_eq!(quote_ident("t"), "\"t\"");
        assert_eq!(quote_ident("a\"b"), "\"a\"\"b\"");
    }
}
