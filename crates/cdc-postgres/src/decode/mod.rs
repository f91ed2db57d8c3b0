//! Decoding: pgoutput messages ([`pgoutput`]) into [`ChangeEvent`]s, once, at the provider.
//!
//! - [`pgoutput`]: the wire format (protocol 1), without copying;
//! - [`types`], [`value`], [`array`]: a value's text as JSON by its type; [`native`]: the
//!   binary form of some built-in types (the snapshot's binary COPY) as the same JSON;
//! - [`relation`], [`row`]: relations as the stream describes them, and row images;
//! - [`StreamDecoder`]: the state of one stream (relations, types, keys) and the events of
//!   each message.

pub mod array;
mod ascii;
pub mod ddl;
pub mod native;
mod numeric;
pub mod pgoutput;
pub mod position;
pub mod relation;
pub mod row;
mod txn_metadata;
pub mod types;
pub mod value;

use std::collections::HashMap;
use std::sync::Arc;

use cdc_core::{ChangeEvent, Metadata, Name, Operation, Position};
use pgwire_replication::Lsn;
use serde_json::Value;
use time::OffsetDateTime;

pub use pgoutput::{DecodeError, Message, OldKind, TupleValue};
pub use position::{PgPosition, Tokens};
pub use relation::{Relation, RelationCache};
pub use types::TypeRegistry;

use row::{Columns, image};
use txn_metadata::RelationMetadata;

/// The metadata key naming columns left out of a row image (unchanged TOAST values): the
/// same key the Debezium decoder uses.
pub const UNAVAILABLE_COLUMNS: &str = "unavailable_columns";

/// Microseconds between 1970-01-01 and PostgreSQL's epoch 2000-01-01.
const PG_EPOCH_OFFSET_MICROS: i64 = 946_684_800_000_000;

/// A PostgreSQL timestamp (µs since 2000-01-01) as a time.
pub fn pg_time(micros: i64) -> Option<OffsetDateTime> {
    let unix = i128::from(micros) + i128::from(PG_EPOCH_OFFSET_MICROS);
    OffsetDateTime::from_unix_timestamp_nanos(unix * 1000).ok()
}

/// The transaction being decoded.
#[derive(Clone, Debug)]
pub struct Txn {
    /// Transaction id.
    pub xid: u32,
    /// LSN of its commit record (from Begin).
    pub commit_lsn: u64,
    /// Commit time.
    pub commit_time: Option<OffsetDateTime>,
    /// The next event's ordinal.
    pub next_ordinal: u64,
    /// Replication origin, when the transaction came from another node.
    pub origin: Option<String>,
    /// `xid` as text, for every event's `transaction_id`.
    xid_text: String,
    /// The metadata of the transaction's events of each relation (`xid`, `commit_lsn`,
    /// `origin`, the relation's `column_types`), built at its first event and shared by the
    /// others. Most transactions touch few relations, and a list beats a map for them (no
    /// allocation for a one-relation transaction); see [`RelationMetadata`].
    by_relation: RelationMetadata,
}

impl Txn {
    /// A transaction from its Begin message.
    pub fn begin(xid: u32, final_lsn: u64, commit_time_micros: i64) -> Self {
        Self {
            xid,
            commit_lsn: final_lsn,
            commit_time: pg_time(commit_time_micros),
            next_ordinal: 0,
            origin: None,
            xid_text: xid.to_string(),
            by_relation: RelationMetadata::default(),
        }
    }

    /// The metadata of an event of `rel` in this transaction (shared, not copied).
    fn metadata_for(&mut self, rel: &Relation) -> Metadata {
        if let Some(m) = self.by_relation.get(rel.rel_id) {
            return m.clone();
        }
        let mut m = Metadata::new();
        m.insert_shared("column_types", Arc::clone(&rel.column_types));
        m.insert_static("xid", Value::from(self.xid));
        m.insert_static(
            "commit_lsn",
            Value::String(Lsn::from_u64(self.commit_lsn).to_string()),
        );
        if let Some(origin) = &self.origin {
            m.insert_static("origin", Value::String(origin.clone()));
        }
        self.by_relation.push(rel.rel_id, m.clone());
        m
    }

    /// Forgets the metadata built for `rel_id` (its columns changed).
    fn forget(&mut self, rel_id: u32) {
        self.by_relation.retain_except(rel_id);
    }

    fn position(&mut self) -> Position {
        let p = PgPosition {
            commit_lsn: Lsn::from_u64(self.commit_lsn),
            ordinal: self.next_ordinal,
        };
        self.next_ordinal += 1;
        Position::new(p.token())
    }
}

/// A change of a relation's published columns, seen in a Relation message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SchemaNote {
    /// `schema.table`.
    pub table: String,
    /// The reconstructed DDL (`CREATE TABLE ...` for the first description seen).
    pub ddl: String,
    /// LSN of the message (the change it precedes).
    pub lsn: u64,
    /// Commit time of the transaction it came in.
    pub at: Option<OffsetDateTime>,
    /// Whether this is the first description of the table (not a change).
    pub initial: bool,
}

/// The decoding state of one source's stream: relations, types, primary keys.
#[derive(Debug)]
pub struct StreamDecoder {
    source_id: Name,
    types: TypeRegistry,
    relations: RelationCache,
    primary_keys: HashMap<String, Vec<String>>,
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
                let pk = self.primary_keys.get(&qualified).map(Vec::as_slice);
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
                let key = self.key_image(&rel, &new)?;
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
                let key = self.key_image(&rel, &new)?;
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
                let key = self.key_image(&rel, &tuple)?;
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

    fn delete_by_key(
        &mut self,
        rel: Arc<Relation>,
        txn: &mut Txn,
        tuple: &[TupleValue<'_>],
        events: &mut Vec<ChangeEvent>,
    ) -> Result<(), DecodeError> {
        let before = self.old_key_image(&rel, tuple)?;
        let mut e = self.event(Operation::Delete, &rel, txn);
        e.key = self.key_image(&rel, tuple)?;
        finish(&mut e, Some(before), None);
        events.push(e);
        Ok(())
    }

    fn relation(&self, rel_id: u32, tag: u8) -> Result<Arc<Relation>, DecodeError> {
        self.relations
            .get(rel_id)
            .cloned()
            .ok_or_else(|| DecodeError {
                tag,
                offset: 1,
                reason: format!("no Relation message came before relation id {rel_id}"),
            })
    }

    fn row_context<'t>(
        &self,
        rel_id: u32,
        txn: Option<&'t mut Txn>,
        tag: u8,
    ) -> Result<(Arc<Relation>, &'t mut Txn), DecodeError> {
        let rel = self.relation(rel_id, tag)?;
        let txn = txn.ok_or_else(|| DecodeError {
            tag,
            offset: 0,
            reason: "row change outside a transaction (no Begin)".into(),
        })?;
        Ok((rel, txn))
    }

    /// The event key: the key columns of `tuple`, when the relation has a key and the tuple
    /// carries all of it.
    fn key_image(
        &mut self,
        rel: &Relation,
        tuple: &[TupleValue<'_>],
    ) -> Result<Option<cdc_core::Row>, DecodeError> {
        if rel.key.is_empty() || tuple.len() != rel.columns.len() {
            return Ok(None);
        }
        if rel
            .key
            .iter()
            .any(|&i| matches!(tuple[i], TupleValue::Unchanged))
        {
            return Ok(None);
        }
        let img = image(rel, tuple, None, Columns::Only(&rel.key), &mut self.buf).map_err(|r| {
            DecodeError {
                tag: b'I',
                offset: 1,
                reason: r,
            }
        })?;
        Ok(Some(img.row))
    }

    /// The image of a `K` old tuple: the replica identity columns only (the others are
    /// NULL in it, not because they are NULL in the row).
    fn old_key_image(
        &mut self,
        rel: &Relation,
        tuple: &[TupleValue<'_>],
    ) -> Result<row::Image, DecodeError> {
        let idx: Vec<usize> = (0..rel.columns.len())
            .filter(|&i| rel.columns[i].identity)
            .collect();
        image(rel, tuple, None, Columns::Only(&idx), &mut self.buf).map_err(|r| DecodeError {
            tag: b'K',
            offset: 1,
            reason: r,
        })
    }

    fn event(&self, op: Operation, rel: &Relation, txn: &mut Txn) -> ChangeEvent {
        let metadata = txn.metadata_for(rel);
        ChangeEvent {
            source_id: self.source_id.clone(),
            operation: op,
            schema: Some(rel.schema.clone()),
            table: rel.table.clone(),
            key: None,
            before: None,
            after: None,
            commit_time: txn.commit_time,
            position: Some(txn.position()),
            transaction_id: Some(txn.xid_text.clone()),
            control: None,
            metadata,
        }
    }
}

/// A row read by the snapshot, as a `SnapshotRead` event. `buf` is scratch space reused
/// from row to row.
pub fn snapshot_event(
    source_id: &Name,
    rel: &Relation,
    values: &[TupleValue<'_>],
    position: PgPosition,
    buf: &mut String,
) -> Result<ChangeEvent, String> {
    let after = image(rel, values, None, Columns::All, buf)?;
    let key = if rel.key.is_empty() {
        None
    } else {
        Some(image(rel, values, None, Columns::Only(&rel.key), buf)?.row)
    };
    let position = Position::new(position.token());
    Ok(snapshot_event_of(source_id, rel, after.row, key, position))
}

/// A `SnapshotRead` event of `rel` from its row images.
pub fn snapshot_event_of(
    source_id: &Name,
    rel: &Relation,
    after: cdc_core::Row,
    key: Option<cdc_core::Row>,
    position: Position,
) -> ChangeEvent {
    ChangeEvent {
        source_id: source_id.clone(),
        operation: Operation::SnapshotRead,
        schema: Some(rel.schema.clone()),
        table: rel.table.clone(),
        key,
        before: None,
        after: Some(after),
        commit_time: None,
        position: Some(position),
        transaction_id: None,
        control: None,
        metadata: rel.snapshot_metadata.clone(),
    }
}

/// Sets the images, naming the columns left out of `after` (or `before`).
fn finish(e: &mut ChangeEvent, before: Option<row::Image>, after: Option<row::Image>) {
    let mut unavailable = Vec::new();
    if let Some(b) = before {
        e.before = Some(b.row);
    }
    if let Some(a) = after {
        unavailable.extend(a.unavailable);
        e.after = Some(a.row);
    }
    if !unavailable.is_empty() {
        e.metadata.insert(
            UNAVAILABLE_COLUMNS.into(),
            Value::Array(unavailable.into_iter().map(Value::String).collect()),
        );
    }
}
