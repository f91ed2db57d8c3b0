//! The DDL messages of the event trigger (`capture_ddl`): which table a command is about,
//! and the `SchemaChange` event it becomes.

use serde::Deserialize;

/// A DDL message as the event trigger writes it.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct DdlMessage {
    /// The slot whose trigger wrote it.
    pub slot: String,
    /// The command tag (`ALTER TABLE`, `CREATE TABLE`, `DROP TABLE`).
    pub tag: String,
    /// What it is about (`table`, `index`, ...).
    pub object_type: String,
    /// The object, quoted as needed (`public."Orders"`).
    pub identity: String,
    /// The statement as the client sent it.
    pub ddl: String,
}

impl DdlMessage {
    /// Parses a message; `None` for content that is not one.
    pub fn parse(content: &[u8]) -> Option<Self> {
        serde_json::from_slice(content).ok()
    }

    /// `(schema, table)` of a command about a table or one of its columns (RENAME COLUMN
    /// is reported as about the column: `public.t.amount`).
    pub fn table(&self) -> Option<(String, String)> {
        let parts = split_identity(&self.identity)?;
        match (self.object_type.as_str(), parts.as_slice()) {
            ("table", [schema, table]) | ("table column", [schema, table, _]) => {
                Some((schema.clone(), table.clone()))
            }
            _ => None,
        }
    }
}

/// Splits a qualified name as `quote_ident` writes it (`"a.b"."c""d"` → `a.b`, `c"d`).
pub fn split_identity(identity: &str) -> Option<Vec<String>> {
    let mut parts = Vec::new();
    let mut cur = String::new();
    let mut chars = identity.chars().peekable();
    let mut quoted = false;
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', false) => quoted = true,
            ('"', true) if chars.peek() == Some(&'"') => {
                cur.push('"');
                chars.next();
            }
            ('"', true) => quoted = false,
            ('.', false) => parts.push(std::mem::take(&mut cur)),
            (c, _) => cur.push(c),
        }
    }
    parts.push(cur);
    (!quoted && parts.iter().all(|p| !p.is_empty())).then_some(parts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identities_split_as_quoted() {
        assert_eq!(
            split_identity("public.orders"),
            Some(vec!["public".into(), "orders".into()])
        );
        assert_eq!(
            split_identity("\"my.schema\".\"Or\"\"ders\""),
            Some(vec!["my.schema".into(), "Or\"ders".into()])
        );
        assert_eq!(split_identity("a..b"), None);
        let col = DdlMessage {
            slot: "s".into(),
            tag: "ALTER TABLE".into(),
            object_type: "table column".into(),
            identity: "public.t.amount".into(),
            ddl: String::new(),
        };
        assert_eq!(col.table(), Some(("public".into(), "t".into())));
        let m = DdlMessage::parse(
            br#"{"slot":"s","tag":"ALTER TABLE","object_type":"table","identity":"public.t","ddl":"alter table t add c int"}"#,
        )
        .unwrap();
        assert_eq!(m.table(), Some(("public".into(), "t".into())));
        assert!(DdlMessage::parse(b"not json").is_none());
    }
}
