//! [`StreamDecoder`]: the decoding state of one stream (relations, types, primary keys)
//! and the dispatch of each pgoutput message to what it changes or the events it makes.
//! The building of one row event (its key and images) is in [`row_events`], apart from the
//! per-message logic that decides which events to make.

mod row_events;

use std::collections::HashMap;

use cdc_core::{ChangeEvent, Name, Operation};
use serde_json::Value;

use super::row::{Columns, image};
use super::{
    DecodeError, Message, OldKind, Relation, RelationCache, SchemaNote, Txn, TypeRegistry, ddl,
    pgoutput, relation,
};
use row_events::finish;

/// The decoding state of one source's stream: relations, types, primary keys.
#[derive(Debug)]
pub struct StreamDecoder {
    source_id: Name,
    types: TypeRegistry,
    relations: RelationCache,
    primary_keys: HashMap<String, Vec<String>>,
    /// The relation (OID) each primary key was read for.
    key_relations: HashMap<String, u32>,
    buf: String,
    /// The tables whose captured DDL (`capture_ddl`) is delivered; empty: every table.
    ddl_tables: Vec<cdc_core::TableRef>,
    /// Tables with a captured DDL version since their last Relation change: the Relation
    /// message that follows describes the same change, already recorded with its real text.
    ddl_recorded: std::collections::HashSet<String>,
}

impl StreamDecoder {
    /// A decoder for `source_id`; `primary_keys` maps `schema.table` to its primary key
    /// columns (the event key), read from the catalog at connect.
    pub fn new(source_id: &str, primary_keys: HashMap<String, Vec<String>>) -> Self {
        Self {
            source_id: source_id.into(),
            types: TypeRegistry::default(),
            relations: RelationCache::default(),
            primary_keys,
            key_relations: HashMap::new(),
            buf: String::with_capacity(256),
            ddl_tables: Vec::new(),
            ddl_recorded: std::collections::HashSet::new(),
        }
    }

    /// Captured DDL of these tables is delivered (empty: every table).
    pub fn with_ddl_tables(mut self, tables: Vec<cdc_core::TableRef>) -> Self {
        self.ddl_tables = tables;
        self
    }

    /// A DDL message of the event trigger (`capture_ddl`): a `SchemaChange` event with the
    /// real text and a schema-history version, when it is about a captured table.
    pub fn ddl(
        &mut self,
        msg: &ddl::DdlMessage,
        txn: &mut Txn,
        lsn: u64,
        events: &mut Vec<ChangeEvent>,
        notes: &mut Vec<SchemaNote>,
    ) {
        let Some((schema, table)) = msg.table() else {
            return;
        };
        if !self.ddl_tables.is_empty()
            && !self
                .ddl_tables
                .iter()
                .any(|t| t.matches(Some(&schema), &table))
        {
            return;
        }
        let qualified = format!("{schema}.{table}");
        let mut e = ChangeEvent::new(&self.source_id, Operation::SchemaChange, &qualified);
        // `ChangeEvent::new` splits at the first dot; a schema may hold one.
        e.schema = Some(schema.into());
        e.table = table.into();
        e.commit_time = txn.commit_time;
        e.position = Some(txn.position());
        e.transaction_id = Some(txn.xid_text.clone());
        e.metadata
            .insert_static("ddl", Value::String(msg.ddl.clone()));
        e.metadata
            .insert_static("command_tag", Value::String(msg.tag.clone()));
        e.metadata
            .insert_static("object_identity", Value::String(msg.identity.clone()));
        e.metadata
            .insert_static("ddl_source", Value::String("event_trigger".into()));
        events.push(e);
        notes.push(SchemaNote {
            table: qualified.clone(),
            ddl: msg.ddl.clone(),
            lsn,
            at: txn.commit_time,
            initial: false,
        });
        self.ddl_recorded.insert(qualified);
    }

    /// The types known so far.
    pub fn types(&self) -> &TypeRegistry {
        &self.types
    }

    /// Replaces the primary keys (after a reconnect re-read the catalog).
    pub fn set_primary_keys(&mut self, keys: HashMap<String, Vec<String>>) {
        self.primary_keys = keys;
    }

    /// The relation (`pg_class` OID) each key of [`Self::set_primary_keys`] was read for. A
    /// table of that name with another OID — dropped and created again, or another table
    /// renamed onto the name, while the stream runs — may have another key: under REPLICA
    /// IDENTITY USING INDEX its events take the key from the Relation message's key columns
    /// instead of the stale one (under DEFAULT the message's columns win whenever they differ,
    /// whatever the OID; under FULL the catalog's key stays until a reconnect reads it again).
    pub fn set_key_relations(&mut self, oids: HashMap<String, u32>) {
        self.key_relations = oids;
    }

    /// The primary key of `schema.table`, when the catalog has one.
    pub fn primary_key(&self, qualified: &str) -> Option<&[String]> {
        self.primary_keys.get(qualified).map(Vec::as_slice)
    }

    /// Decodes one XLogData payload of a transaction: Relation and Type messages update the
    /// state (a changed relation adds a [`SchemaNote`] and, inside a transaction, a
    /// `SchemaChange` event); row messages add their events. Begin, Commit and Message are
    /// handled by the stream (pgwire-replication parses them) and are an error here.
    pub fn decode(
        &mut self,
        data: &[u8],
        change_lsn: u64,
        txn: Option<&mut Txn>,
        events: &mut Vec<ChangeEvent>,
        notes: &mut Vec<SchemaNote>,
    ) -> Result<(), DecodeError> {
        let msg = pgoutput::decode(data)?;
        let tag = data[0];
        let fail = |reason: String| DecodeError {
            tag,
            offset: 1,
            reason,
        };
        match msg {
            Message::Type {
                oid,
                namespace,
                name,
            } => self.types.learn(oid, namespace, name),
            Message::Relation {
                rel_id,
                namespace,
                name,
                replica_identity,
                columns,
            } => {
                let cols = relation::columns_of(&columns, &self.types);
                let qualified = format!("{namespace}.{name}");
                // The key read from the catalog at connect, while it is still this table's:
                // under REPLICA IDENTITY DEFAULT the message's key columns are the primary
                // key as it is now, so a changed one (ALTER TABLE ... ADD PRIMARY KEY, the
                // table dropped and created again) wins, and the catalog's column order is
                // kept while it is the same key; under FULL the message marks every column
                // and says nothing better; otherwise (USING INDEX) it holds for the
                // relation it was read for, not for another table given the name.
                let pk = self
                    .primary_keys
                    .get(&qualified)
                    .filter(|pk| match replica_identity {
                        b'd' => {
                            pk.len() == cols.iter().filter(|c| c.identity).count()
                                && pk
                                    .iter()
                                    .all(|k| cols.iter().any(|c| c.identity && &c.name == k))
                        }
                        b'f' => true,
                        _ => self
                            .key_relations
                            .get(&qualified)
                            .is_none_or(|&oid| oid == rel_id),
                    })
                    .map(Vec::as_slice);
                let rel = Relation::new(rel_id, namespace, name, replica_identity, cols, pk);
                let mut txn = txn;
                if let Some(txn) = txn.as_deref_mut() {
                    // Events from here on carry the new column types.
                    txn.forget(rel_id);
                }
                let at = txn.as_ref().and_then(|t| t.commit_time);
                let note = match self.relations.get(rel_id) {
                    None => Some((rel.create_ddl(&self.types), true)),
                    Some(old) => relation::diff_ddl(old, &rel, &self.types).map(|d| (d, false)),
                };
                // Recorded already, with its real text, by the captured DDL.
                let captured = note.as_ref().is_some_and(|(_, initial)| !initial)
                    && self.ddl_recorded.remove(&qualified);
                if let Some((ddl, initial)) = note.filter(|_| !captured) {
                    if !initial && let Some(txn) = txn {
                        let mut e = self.event(Operation::SchemaChange, &rel, txn);
                        e.metadata.insert("ddl".into(), Value::String(ddl.clone()));
                        e.metadata
                            .insert_static("ddl_source", Value::String("relation".into()));
                        events.push(e);
                    }
                    notes.push(SchemaNote {
                        table: qualified,
                        ddl,
                        lsn: change_lsn,
                        at,
                        initial,
                    });
                }
                self.relations.insert(rel);
            }
            Message::Origin { name, .. } => {
                if let Some(txn) = txn {
                    txn.origin = Some(name.to_owned());
                    txn.by_relation.clear();
                }
            }
            Message::Insert { rel_id, new } => {
                let (rel, txn) = self.row_context(rel_id, txn, tag)?;
                let after = image(&rel, &new, None, Columns::All, &mut self.buf).map_err(fail)?;
                let key = self.key_image(&rel, &new, tag)?;
                let mut e = self.event(Operation::Insert, &rel, txn);
                e.key = key;
                finish(&mut e, None, Some(after));
                events.push(e);
            }
            Message::Update { rel_id, old, new } => {
                let (rel, txn) = self.row_context(rel_id, txn, tag)?;
                let old_full = match &old {
                    Some((OldKind::Full, t)) => Some(t.as_slice()),
                    _ => None,
                };
                let after =
                    image(&rel, &new, old_full, Columns::All, &mut self.buf).map_err(fail)?;
                let before = match &old {
                    Some((OldKind::Full, t)) => {
                        Some(image(&rel, t, None, Columns::All, &mut self.buf).map_err(fail)?)
                    }
                    Some((OldKind::Key, t)) => Some(self.old_key_image(&rel, t)?),
                    None => None,
                };
                let key = self.key_image(&rel, &new, tag)?;
                let mut e = self.event(Operation::Update, &rel, txn);
                e.key = key;
                if matches!(old, Some((OldKind::Key, _))) {
                    e.metadata.insert("key_changed".into(), Value::Bool(true));
                }
                finish(&mut e, before, Some(after));
                events.push(e);
            }
            Message::Delete { rel_id, old } => {
                let (rel, txn) = self.row_context(rel_id, txn, tag)?;
                let (kind, tuple) = old;
                let before = match kind {
                    OldKind::Full => image(&rel, &tuple, None, Columns::All, &mut self.buf),
                    OldKind::Key => {
                        return self.delete_by_key(rel, txn, &tuple, events);
                    }
                }
                .map_err(fail)?;
                let key = self.key_image(&rel, &tuple, tag)?;
                let mut e = self.event(Operation::Delete, &rel, txn);
                e.key = key;
                finish(&mut e, Some(before), None);
                events.push(e);
            }
            Message::Truncate { options, rel_ids } => {
                let Some(txn) = txn else {
                    return Err(fail("Truncate outside a transaction".into()));
                };
                for rel_id in rel_ids {
                    let rel = self.relation(rel_id, tag)?;
                    let mut e = self.event(Operation::Truncate, &rel, txn);
                    e.metadata
                        .insert("cascade".into(), Value::Bool(options & 1 == 1));
                    e.metadata
                        .insert("restart_identity".into(), Value::Bool(options & 2 == 2));
                    events.push(e);
                }
            }
            Message::Begin { .. } | Message::Commit { .. } | Message::Message { .. } => {
                return Err(fail(
                    "transaction boundaries and logical messages are handled by the stream".into(),
                ));
            }
        }
        Ok(())
    }
}
