//! The row events of [`StreamDecoder`]: the event of a row message with its transaction's
//! metadata and position, its key and old-key images, and the images set on it. Separate
//! from the message dispatch in the parent module: this is how one event is built, not
//! which events a message makes.

use std::sync::Arc;

use cdc_core::{ChangeEvent, Operation};
use serde_json::Value;

use super::StreamDecoder;
use crate::decode::row::{self, Columns, image};
use crate::decode::{DecodeError, Relation, TupleValue, Txn, UNAVAILABLE_COLUMNS};

impl StreamDecoder {
    pub(super) fn delete_by_key(
        &mut self,
        rel: Arc<Relation>,
        txn: &mut Txn,
        tuple: &[TupleValue<'_>],
        events: &mut Vec<ChangeEvent>,
    ) -> Result<(), DecodeError> {
        let before = self.old_key_image(&rel, tuple)?;
        let mut e = self.event(Operation::Delete, &rel, txn);
        e.key = self.key_image(&rel, tuple, b'D')?;
        finish(&mut e, Some(before), None);
        events.push(e);
        Ok(())
    }

    pub(super) fn relation(&self, rel_id: u32, tag: u8) -> Result<Arc<Relation>, DecodeError> {
        self.relations
            .get(rel_id)
            .cloned()
            .ok_or_else(|| DecodeError {
                tag,
                offset: 1,
                reason: format!("no Relation message came before relation id {rel_id}"),
            })
    }

    pub(super) fn row_context<'t>(
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
    /// carries all of it. `tag` is the message's, for an error.
    pub(super) fn key_image(
        &mut self,
        rel: &Relation,
        tuple: &[TupleValue<'_>],
        tag: u8,
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
                tag,
                offset: 1,
                reason: r,
            }
        })?;
        Ok(Some(img.row))
    }

    /// The image of a `K` old tuple: the replica identity columns only (the others are
    /// NULL in it, not because they are NULL in the row).
    pub(super) fn old_key_image(
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

    pub(super) fn event(&self, op: Operation, rel: &Relation, txn: &mut Txn) -> ChangeEvent {
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

/// Sets the images, naming the columns left out of `after` (or `before`).
pub(super) fn finish(e: &mut ChangeEvent, before: Option<row::Image>, after: Option<row::Image>) {
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
