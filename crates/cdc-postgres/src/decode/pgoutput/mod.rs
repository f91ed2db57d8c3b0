//! The pgoutput wire format, protocol version 1: every message the plugin sends, parsed from
//! bytes without copying. Malformed input is a [`DecodeError`] naming the message type and
//! the byte offset, never a panic.
//!
//! Reference: PostgreSQL's `src/backend/replication/logical/proto.c` ("Logical Replication
//! Message Formats" in the docs). Integers are big-endian; strings are NUL-terminated.

mod message;
mod reader;

pub use message::{Message, OldKind, RelationColumn, Tuple, TupleValue};
use reader::Reader;

/// The most columns a table has (`MaxHeapAttributeNumber`).
pub const MAX_COLUMNS: usize = 1600;

/// A pgoutput message that could not be decoded.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("cannot decode pgoutput {} message at byte {offset}: {reason}", kind_name(*.tag))]
pub struct DecodeError {
    /// The message's type byte (`b'I'` for Insert, ...); 0 for an empty message.
    pub tag: u8,
    /// Where in the message the problem is.
    pub offset: usize,
    /// What is wrong.
    pub reason: String,
}

/// The name of a message type byte.
pub fn kind_name(tag: u8) -> String {
    match tag {
        b'B' => "Begin".into(),
        b'C' => "Commit".into(),
        b'O' => "Origin".into(),
        b'R' => "Relation".into(),
        b'Y' => "Type".into(),
        b'I' => "Insert".into(),
        b'U' => "Update".into(),
        b'D' => "Delete".into(),
        b'T' => "Truncate".into(),
        b'M' => "Message".into(),
        0 => "(empty)".into(),
        other if other.is_ascii_graphic() => format!("unknown ('{}')", other as char),
        other => format!("unknown (0x{other:02x})"),
    }
}

/// Decodes one pgoutput message (protocol version 1).
pub fn decode(buf: &[u8]) -> Result<Message<'_>, DecodeError> {
    let Some(&tag) = buf.first() else {
        return Err(DecodeError {
            tag: 0,
            offset: 0,
            reason: "empty message".into(),
        });
    };
    let mut r = Reader { tag, buf, pos: 1 };
    let msg = match tag {
        b'B' => Message::Begin {
            final_lsn: r.u64("final LSN")?,
            commit_time: r.i64("commit time")?,
            xid: r.u32("xid")?,
        },
        b'C' => Message::Commit {
            flags: r.u8("flags")?,
            commit_lsn: r.u64("commit LSN")?,
            end_lsn: r.u64("end LSN")?,
            commit_time: r.i64("commit time")?,
        },
        b'O' => Message::Origin {
            lsn: r.u64("origin LSN")?,
            name: r.string("origin name")?,
        },
        b'R' => {
            let rel_id = r.u32("relation id")?;
            let namespace = r.string("namespace")?;
            let name = r.string("relation name")?;
            let replica_identity = r.u8("replica identity")?;
            let n = r.count("column count")?;
            if n > buf.len() - r.pos {
                return Err(r.fail(format!("column count {n} exceeds the message")));
            }
            // A table has at most 1 600 columns (MaxHeapAttributeNumber): more is not a
            // table, and the schema comparison of two such relations would take quadratic
            // time in the count.
            if n > MAX_COLUMNS {
                return Err(r.fail(format!(
                    "column count {n} exceeds PostgreSQL's {MAX_COLUMNS}"
                )));
            }
            let mut columns = Vec::with_capacity(n);
            for _ in 0..n {
                columns.push(RelationColumn {
                    flags: r.u8("column flags")?,
                    name: r.string("column name")?,
                    type_oid: r.u32("column type")?,
                    type_modifier: r.i32("column type modifier")?,
                });
            }
            Message::Relation {
                rel_id,
                namespace,
                name,
                replica_identity,
                columns,
            }
        }
        b'Y' => Message::Type {
            oid: r.u32("type id")?,
            namespace: r.string("namespace")?,
            name: r.string("type name")?,
        },
        b'I' => {
            let rel_id = r.u32("relation id")?;
            let n = r.u8("tuple marker")?;
            Message::Insert {
                rel_id,
                new: r.expect_new(n)?,
            }
        }
        b'U' => {
            let rel_id = r.u32("relation id")?;
            let marker = r.u8("tuple marker")?;
            let (old, marker) = if marker == b'K' || marker == b'O' {
                let old = r.old_tuple(marker)?;
                (Some(old), r.u8("tuple marker")?)
            } else {
                (None, marker)
            };
            Message::Update {
                rel_id,
                old,
                new: r.expect_new(marker)?,
            }
        }
        b'D' => {
            let rel_id = r.u32("relation id")?;
            let marker = r.u8("tuple marker")?;
            Message::Delete {
                rel_id,
                old: r.old_tuple(marker)?,
            }
        }
        b'T' => {
            let n = r.u32("relation count")? as usize;
            let options = r.u8("options")?;
            if n > (buf.len() - r.pos) / 4 {
                return Err(r.fail(format!("relation count {n} exceeds the message")));
            }
            let mut rel_ids = Vec::with_capacity(n);
            for _ in 0..n {
                rel_ids.push(r.u32("relation id")?);
            }
            Message::Truncate { options, rel_ids }
        }
        b'M' => {
            let flags = r.u8("flags")?;
            let lsn = r.u64("LSN")?;
            let prefix = r.string("prefix")?;
            let len = r.i32("content length")?;
            let len = usize::try_from(len)
                .map_err(|_| r.fail(format!("negative content length {len}")))?;
            Message::Message {
                transactional: flags & 1 == 1,
                lsn,
                prefix,
                content: r.take(len, "content")?,
            }
        }
        _ => {
            return Err(DecodeError {
                tag,
                offset: 0,
                reason: "not a pgoutput protocol 1 message type".into(),
            });
        }
    };
    r.done()?;
    Ok(msg)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn insert(values: &[Option<&str>]) -> Vec<u8> {
        let mut b = vec![b'I'];
        b.extend(16385u32.to_be_bytes());
        b.push(b'N');
        b.extend((values.len() as i16).to_be_bytes());
        for v in values {
            match v {
                None => b.push(b'n'),
                Some(t) => {
                    b.push(b't');
                    b.extend((t.len() as i32).to_be_bytes());
                    b.extend(t.as_bytes());
                }
            }
        }
        b
    }

    #[test]
    fn decodes_an_insert() {
        let bytes = insert(&[Some("1"), None, Some("héllo")]);
        let Message::Insert { rel_id, new } = decode(&bytes).unwrap() else {
            panic!()
        };
        assert_eq!(rel_id, 16385);
        assert_eq!(
            new,
            vec![
                TupleValue::Text("1"),
                TupleValue::Null,
                TupleValue::Text("héllo")
            ]
        );
    }

    #[test]
    fn every_truncation_is_an_error_naming_type_and_offset() {
        let bytes = insert(&[Some("12345"), None]);
        for cut in 0..bytes.len() {
            let e = decode(&bytes[..cut]).unwrap_err();
            let text = e.to_string();
            if cut > 0 {
                assert!(text.contains("Insert"), "{cut}: {text}");
            }
            assert!(e.offset <= cut, "{cut}: {e:?}");
        }
        let mut long = bytes.clone();
        long.push(0);
        assert!(decode(&long).unwrap_err().reason.contains("trailing"));
    }

    /// A Relation message of `n` columns named `c0`, `c1`, ...
    fn relation(n: usize) -> Vec<u8> {
        let mut b = vec![b'R'];
        b.extend(16385u32.to_be_bytes());
        b.extend(b"public\0t\0");
        b.push(b'd');
        b.extend((n as i16).to_be_bytes());
        for i in 0..n {
            b.push(0);
            b.extend(format!("c{i}\0").as_bytes());
            b.extend(23u32.to_be_bytes());
            b.extend((-1i32).to_be_bytes());
        }
        b
    }

    #[test]
    fn a_relation_of_more_columns_than_a_table_has_is_an_error() {
        let bytes = relation(MAX_COLUMNS);
        let Message::Relation { columns, .. } = decode(&bytes).unwrap() else {
            panic!()
        };
        assert_eq!(columns.len(), MAX_COLUMNS);
        let e = decode(&relation(MAX_COLUMNS + 1)).unwrap_err();
        assert!(
            e.reason
                .contains("column count 1601 exceeds PostgreSQL's 1600"),
            "{e}"
        );
    }

    #[test]
    fn hostile_counts_and_kinds() {
        let mut b = vec![b'I'];
        b.extend(1u32.to_be_bytes());
        b.push(b'N');
        b.extend(i16::MAX.to_be_bytes());
        assert!(decode(&b).unwrap_err().reason.contains("exceeds"));
        let mut b = vec![b'I'];
        b.extend(1u32.to_be_bytes());
        b.push(b'N');
        b.extend(1i16.to_be_bytes());
        b.push(b'x');
        let e = decode(&b).unwrap_err();
        assert_eq!(e.offset, 8);
        assert!(e.reason.contains("unknown value kind 'x'"), "{e}");
        let e = decode(b"Z").unwrap_err();
        assert!(e.to_string().contains("unknown ('Z')"), "{e}");
        let mut t = vec![b'T'];
        t.extend(u32::MAX.to_be_bytes());
        t.push(0);
        assert!(decode(&t).unwrap_err().reason.contains("exceeds"));
    }
}
