//! Logical decoding messages (`pg_logical_emit_message`) as the stream meets them: the
//! user's, delivered as `Message` events, and the DDL messages of our event trigger.

use cdc_core::{ChangeEvent, Operation, Position};
use pgwire_replication::Lsn;
use serde_json::{Value, json};
use tracing::warn;

use crate::decode::ddl::DdlMessage;
use crate::decode::{PgPosition, Txn};

/// A user's message as a `Message` event: positioned in its transaction when
/// transactional, at its own LSN otherwise.
pub fn message_event(
    source_id: &str,
    txn: Option<&mut Txn>,
    transactional: bool,
    lsn: Lsn,
    prefix: &str,
    content: &[u8],
) -> ChangeEvent {
    let (text, encoding) = match std::str::from_utf8(content) {
        Ok(t) => (t.to_owned(), "utf8"),
        Err(_) => {
            use base64::Engine;
            (
                base64::engine::general_purpose::STANDARD.encode(content),
                "base64",
            )
        }
    };
    let mut e = ChangeEvent::new(source_id, Operation::Message, "");
    e.after = Some(json!({"prefix": prefix, "content": text}).into());
    e.metadata
        .insert("prefix".into(), Value::String(prefix.to_owned()));
    e.metadata
        .insert("transactional".into(), Value::Bool(transactional));
    e.metadata
        .insert("content_encoding".into(), Value::String(encoding.into()));
    e.metadata
        .insert("lsn".into(), Value::String(lsn.to_string()));
    match txn.filter(|_| transactional) {
        Some(txn) => {
            e.commit_time = txn.commit_time;
            e.transaction_id = Some(txn.xid.to_string());
            let pos = PgPosition {
                commit_lsn: Lsn::from_u64(txn.commit_lsn),
                ordinal: txn.next_ordinal,
            };
            txn.next_ordinal += 1;
            e.position = Some(Position::new(pos.to_string()));
        }
        None => {
            let pos = PgPosition {
                commit_lsn: lsn,
                ordinal: 0,
            };
            e.position = Some(Position::new(pos.to_string()));
        }
    }
    e
}

/// A message with the DDL prefix, when it is one of `slot`'s event trigger: well-formed,
/// naming the slot, written inside a transaction (the trigger writes them transactionally,
/// in the transaction of the DDL). Any role may write messages with the prefix; the others
/// are ignored, with a warning when they cannot come from any trigger of ours. Ignoring is
/// the safe side: an error would let any role stop the source, and a DDL message is
/// information about a change the stream's Relation messages also describe.
///
/// A well-formed transactional message naming the slot cannot be told from the trigger's
/// (the slot is visible to every role in `pg_replication_slots`); its `SchemaChange`
/// reports what the message says.
pub fn ddl_message(
    slot: &str,
    transactional: bool,
    in_transaction: bool,
    content: &[u8],
    lsn: Lsn,
) -> Option<DdlMessage> {
    let invalid = |why: &str| {
        warn!(%lsn, slot, "postgres: ignored a message with the DDL prefix that our event trigger did not write: {why}");
        None
    };
    let Some(msg) = DdlMessage::parse(content) else {
        return invalid("not a DDL message of ours (malformed)");
    };
    if msg.slot != slot {
        // Another source's trigger: normal with several sources on one database.
        return None;
    }
    if !transactional || !in_transaction {
        return invalid("written non-transactionally");
    }
    if msg.table().is_none() && matches!(msg.object_type.as_str(), "table" | "table column") {
        return invalid(&format!("unreadable object identity {:?}", msg.identity));
    }
    Some(msg)
}
