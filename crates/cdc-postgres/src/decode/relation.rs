//! Relations as the stream describes them (Relation messages), and what changed between two
//! descriptions of the same relation: the source of schema history.

use std::collections::HashMap;
use std::sync::Arc;

use cdc_core::{Metadata, Name};
use serde_json::{Map, Value};

use super::pgoutput::RelationColumn;
use super::types::{Kind, TypeRegistry};

/// A published column.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Column {
    /// Its name.
    pub name: String,
    /// Its type OID.
    pub type_oid: u32,
    /// Its type modifier.
    pub type_modifier: i32,
    /// The type's name (`int4`, `public.mood`).
    pub type_name: String,
    /// How its values become JSON.
    pub kind: Kind,
    /// Part of the replica identity (pgoutput's key flag).
    pub identity: bool,
}

/// A relation: its name and published columns.
#[derive(Clone, Debug, PartialEq)]
pub struct Relation {
    /// Its OID.
    pub rel_id: u32,
    /// Schema.
    pub schema: Name,
    /// Name.
    pub table: Name,
    /// `relreplident`: `d`, `n`, `f` or `i`.
    pub replica_identity: u8,
    /// Columns in order.
    pub columns: Vec<Column>,
    /// Indexes into `columns` of the event key: the primary key when the catalog named one
    /// that is published, else the replica identity columns (none under FULL).
    pub key: Vec<usize>,
    /// `{"column": "type", ...}`, shared by every event's metadata.
    pub column_types: Arc<Value>,
    /// The metadata of the relation's snapshot rows (`column_types`, `snapshot: true`),
    /// shared by all of them.
    pub snapshot_metadata: Metadata,
    /// Whether a column holds JSON text (json, jsonb, arrays of them): its rows are checked.
    pub has_json: bool,
    /// Total length of the column names (to size row buffers).
    pub names_len: usize,
}

impl Relation {
    /// Builds a relation; `primary_key` is the catalog's primary key of the table, if any.
    pub fn new(
        rel_id: u32,
        schema: &str,
        table: &str,
        replica_identity: u8,
        columns: Vec<Column>,
        primary_key: Option<&[String]>,
    ) -> Self {
        let by_pk: Option<Vec<usize>> = primary_key.filter(|pk| !pk.is_empty()).and_then(|pk| {
            pk.iter()
                .map(|name| columns.iter().position(|c| &c.name == name))
                .collect()
        });
        let key = by_pk.unwrap_or_else(|| {
            if replica_identity == b'f' {
                Vec::new()
            } else {
                (0..columns.len())
                    .filter(|&i| columns[i].identity)
                    .collect()
            }
        });
        let column_types = Arc::new(Value::Object(
            columns
                .iter()
                .map(|c| (c.name.clone(), Value::String(c.type_name.clone())))
                .collect::<Map<String, Value>>(),
        ));
        let mut snapshot_metadata = Metadata::new();
        snapshot_metadata.insert_shared("column_types", Arc::clone(&column_types));
        snapshot_metadata.insert_static("snapshot", Value::Bool(true));
        let has_json = columns.iter().any(|c| c.kind.holds_json());
        let names_len = columns.iter().map(|c| c.name.len()).sum();
        Self {
            rel_id,
            schema: schema.into(),
            table: table.into(),
            replica_identity,
            columns,
            key,
            column_types,
            snapshot_metadata,
            has_json,
            names_len,
        }
    }

    /// `schema.table`.
    pub fn qualified(&self) -> String {
        format!("{}.{}", self.schema, self.table)
    }

    /// `CREATE TABLE schema.table (col type, ...)`: the first description seen.
    pub fn create_ddl(&self, types: &TypeRegistry) -> String {
        let cols: Vec<String> = self
            .columns
            .iter()
            .map(|c| format!("{} {}", c.name, types.sql_name(c.type_oid, c.type_modifier)))
            .collect();
        format!("CREATE TABLE {} ({})", self.qualified(), cols.join(", "))
    }
}

/// Builds the columns of a Relation message.
pub fn columns_of(msg: &[RelationColumn<'_>], types: &TypeRegistry) -> Vec<Column> {
    msg.iter()
        .map(|c| {
            let info = types.get(c.type_oid);
            Column {
                name: c.name.to_owned(),
                type_oid: c.type_oid,
                type_modifier: c.type_modifier,
                type_name: info.name,
                kind: info.kind,
                identity: c.flags & 1 == 1,
            }
        })
        .collect()
}

/// The DDL that turns `old` into `new`, reconstructed from the two descriptions
/// (`ALTER TABLE public.orders ADD COLUMN note text`), or `None` when the published column
/// set (names, types, key flags), the name and the replica identity are unchanged.
pub fn diff_ddl(old: &Relation, new: &Relation, types: &TypeRegistry) -> Option<String> {
    let mut statements = Vec::new();
    if old.schema != new.schema {
        statements.push(format!(
            "ALTER TABLE {}.{} SET SCHEMA {}",
            old.schema, old.table, new.schema
        ));
    }
    if old.table != new.table {
        statements.push(format!(
            "ALTER TABLE {}.{} RENAME TO {}",
            new.schema, old.table, new.table
        ));
    }
    let name = new.qualified();
    let sql_type = |c: &Column| types.sql_name(c.type_oid, c.type_modifier);
    let mut actions = Vec::new();
    let mut renamed: Vec<(&str, &str)> = Vec::new();
    // Same position, same type, another name, and the old name gone: a rename.
    if old.columns.len() == new.columns.len() {
        for (o, n) in old.columns.iter().zip(&new.columns) {
            if o.name != n.name
                && o.type_oid == n.type_oid
                && !new.columns.iter().any(|c| c.name == o.name)
                && !old.columns.iter().any(|c| c.name == n.name)
            {
                renamed.push((&o.name, &n.name));
            }
        }
    }
    for (from, to) in &renamed {
        statements.push(format!("ALTER TABLE {name} RENAME COLUMN {from} TO {to}"));
    }
    let was_renamed_from = |n: &str| renamed.iter().find(|(_, to)| *to == n).map(|(f, _)| *f);
    for o in &old.columns {
        let gone = !new.columns.iter().any(|c| c.name == o.name);
        if gone && !renamed.iter().any(|(from, _)| *from == o.name) {
            actions.push(format!("DROP COLUMN {}", o.name));
        }
    }
    for n in &new.columns {
        let before_name = was_renamed_from(&n.name).unwrap_or(&n.name);
        match old.columns.iter().find(|c| c.name == before_name) {
            None => actions.push(format!("ADD COLUMN {} {}", n.name, sql_type(n))),
            Some(o) if o.type_oid != n.type_oid || o.type_modifier != n.type_modifier => {
                actions.push(format!("ALTER COLUMN {} TYPE {}", n.name, sql_type(n)));
            }
            Some(_) => {}
        }
    }
    if !actions.is_empty() {
        statements.push(format!("ALTER TABLE {name} {}", actions.join(", ")));
    }
    if old.replica_identity != new.replica_identity {
        let identity = match new.replica_identity {
            b'f' => "FULL",
            b'n' => "NOTHING",
            b'i' => "USING INDEX",
            _ => "DEFAULT",
        };
        statements.push(format!("ALTER TABLE {name} REPLICA IDENTITY {identity}"));
    } else {
        let keys = |r: &Relation| -> Vec<String> {
            r.columns
                .iter()
                .filter(|c| c.identity)
                .map(|c| c.name.clone())
                .collect()
        };
        let (ok, nk) = (keys(old), keys(new));
        let renamed_keys: Vec<String> = ok
            .iter()
            .map(|k| {
                renamed
                    .iter()
                    .find(|(f, _)| f == k)
                    .map_or(k.clone(), |(_, t)| (*t).to_owned())
            })
            .collect();
        if renamed_keys != nk {
            statements.push(format!(
                "-- {name}: replica identity columns now ({})",
                nk.join(", ")
            ));
        }
    }
    (!statements.is_empty()).then(|| statements.join("; "))
}

/// The relations of a session, by OID. Kept across reconnects, so a new session's first
/// Relation message is compared with what the last session saw.
#[derive(Debug, Default)]
pub struct RelationCache {
    by_id: HashMap<u32, Arc<Relation>>,
}

impl RelationCache {
    /// The relation, when a Relation message described it.
    pub fn get(&self, rel_id: u32) -> Option<&Arc<Relation>> {
        self.by_id.get(&rel_id)
    }

    /// Stores `rel`; returns the one it replaces.
    pub fn insert(&mut self, rel: Relation) -> Option<Arc<Relation>> {
        self.by_id.insert(rel.rel_id, Arc::new(rel))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn col(name: &str, oid: u32, key: bool) -> Column {
        let t = TypeRegistry::default().get(oid);
        Column {
            name: name.into(),
            type_oid: oid,
            type_modifier: -1,
            type_name: t.name,
            kind: t.kind,
            identity: key,
        }
    }

    fn rel(cols: Vec<Column>) -> Relation {
        Relation::new(1, "public", "orders", b'd', cols, Some(&["id".to_owned()]))
    }

    #[test]
    fn ddl_is_reconstructed() {
        let t = TypeRegistry::default();
        let base = rel(vec![col("id", 23, true), col("total", 1700, false)]);
        assert_eq!(diff_ddl(&base, &base.clone(), &t), None);
        let added = rel(vec![
            col("id", 23, true),
            col("total", 1700, false),
            col("note", 25, false),
        ]);
        assert_eq!(
            diff_ddl(&base, &added, &t).unwrap(),
            "ALTER TABLE public.orders ADD COLUMN note text"
        );
        assert_eq!(
            diff_ddl(&added, &base, &t).unwrap(),
            "ALTER TABLE public.orders DROP COLUMN note"
        );
        let renamed = rel(vec![col("id", 23, true), col("amount", 1700, false)]);
        assert_eq!(
            diff_ddl(&base, &renamed, &t).unwrap(),
            "ALTER TABLE public.orders RENAME COLUMN total TO amount"
        );
        let retyped = rel(vec![col("id", 20, true), col("total", 1700, false)]);
        assert_eq!(
            diff_ddl(&base, &retyped, &t).unwrap(),
            "ALTER TABLE public.orders ALTER COLUMN id TYPE bigint"
        );
        let mut full = base.clone();
        full.replica_identity = b'f';
        assert!(
            diff_ddl(&base, &full, &t)
                .unwrap()
                .contains("REPLICA IDENTITY FULL")
        );
        assert_eq!(
            base.create_ddl(&t),
            "CREATE TABLE public.orders (id integer, total numeric)"
        );
        assert_eq!(base.key, vec![0]);
        assert_eq!(base.column_types["total"], "numeric");
    }
}
