//! The pgoutput wire format, protocol version 1: every message the plugin sends, parsed from
//! bytes without copying. Malformed input is a [`DecodeError`] naming the message type and
//! the byte offset, never a panic.
//!
//! Reference: PostgreSQL's `src/backend/replication/logical/proto.c` ("Logical Replication
//! Message Formats" in the docs). Integers are big-endian; strings are NUL-terminated.

use std::fmt;

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

/// One column value of a tuple.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TupleValue<'a> {
    /// SQL NULL (`n`).
    Null,
    /// An unchanged TOASTed value that was not sent (`u`).
    Unchanged,
    /// The value in text format (`t`).
    Text(&'a str),
    /// The value in binary format (`b`; only with the `binary` option).
    Binary(&'a [u8]),
}

/// A tuple: one value per column of the relation.
pub type Tuple<'a> = Vec<TupleValue<'a>>;

/// Which old tuple an Update or Delete carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OldKind {
    /// `K`: the replica identity (key) columns; the others are NULL.
    Key,
    /// `O`: the whole old row (replica identity FULL).
    Full,
}

/// A column of a Relation message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RelationColumn<'a> {
    /// Flags; bit 1 marks a replica identity (key) column.
    pub flags: u8,
    /// The column name.
    pub name: &'a str,
    /// The type OID.
    pub type_oid: u32,
    /// The type modifier (`atttypmod`).
    pub type_modifier: i32,
}

/// A decoded pgoutput message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Message<'a> {
    /// `B`: a transaction starts.
    Begin {
        /// LSN of the commit record.
        final_lsn: u64,
        /// Commit time, microseconds since 2000-01-01.
        commit_time: i64,
        /// Transaction id.
        xid: u32,
    },
    /// `C`: the transaction committed.
    Commit {
        /// Flags (unused, 0).
        flags: u8,
        /// LSN of the commit record.
        commit_lsn: u64,
        /// LSN just past the commit record: the position to acknowledge.
        end_lsn: u64,
        /// Commit time, microseconds since 2000-01-01.
        commit_time: i64,
    },
    /// `O`: the transaction came from another node (replication origin).
    Origin {
        /// The origin's commit LSN.
        lsn: u64,
        /// The origin's name.
        name: &'a str,
    },
    /// `R`: a relation's columns, sent before its first change in a session and after each
    /// schema change.
    Relation {
        /// The relation's OID.
        rel_id: u32,
        /// Its schema.
        namespace: &'a str,
        /// Its name.
        name: &'a str,
        /// `relreplident`: `d` default, `n` nothing, `f` full, `i` index.
        replica_identity: u8,
        /// The published columns.
        columns: Vec<RelationColumn<'a>>,
    },
    /// `Y`: a non-builtin type used by a following Relation.
    Type {
        /// The type OID.
        oid: u32,
        /// Its schema.
        namespace: &'a str,
        /// Its name.
        name: &'a str,
    },
    /// `I`: a row was inserted.
    Insert {
        /// The relation.
        rel_id: u32,
        /// The new row.
        new: Tuple<'a>,
    },
    /// `U`: a row was updated.
    Update {
        /// The relation.
        rel_id: u32,
        /// The old key (`K`) or row (`O`), when the server sends one.
        old: Option<(OldKind, Tuple<'a>)>,
        /// The new row.
        new: Tuple<'a>,
    },
    /// `D`: a row was deleted.
    Delete {
        /// The relation.
        rel_id: u32,
        /// The old key (`K`) or row (`O`).
        old: (OldKind, Tuple<'a>),
    },
    /// `T`: tables were truncated.
    Truncate {
        /// Bit 1: CASCADE; bit 2: RESTART IDENTITY.
        options: u8,
        /// The relations.
        rel_ids: Vec<u32>,
    },
    /// `M`: a logical decoding message (`pg_logical_emit_message`).
    Message {
        /// Whether it was emitted inside a transaction.
        transactional: bool,
        /// Its LSN.
        lsn: u64,
        /// The prefix.
        prefix: &'a str,
        /// The content.
        content: &'a [u8],
    },
}

impl fmt::Display for Message<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let tag = match self {
            Self::Begin { .. } => b'B',
            Self::Commit { .. } => b'C',
            Self::Origin { .. } => b'O',
            Self::Relation { .. } => b'R',
            Self::Type { .. } => b'Y',
            Self::Insert { .. } => b'I',
            Self::Update { .. } => b'U',
            Self::Delete { .. } => b'D',
            Self::Truncate { .. } => b'T',
            Self::Message { .. } => b'M',
        };
        f.write_str(&kind_name(tag))
    }
}

/// A cursor over one message's bytes.
struct Reader<'a> {
    tag: u8,
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn fail(&self, reason: impl Into<String>) -> DecodeError {
        DecodeError {
            tag: self.tag,
            offset: self.pos,
            reason: reason.into(),
        }
    }

    fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8], DecodeError> {
        let left = self.buf.len() - self.pos;
        if left < n {
            return Err(self.fail(format!("truncated {what}: needs {n} byte(s), {left} left")));
        }
        let s = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    fn u8(&mut self, what: &str) -> Result<u8, DecodeError> {
        Ok(self.take(1, what)?[0])
    }

    fn i16(&mut self, what: &str) -> Result<i16, DecodeError> {
        let b = self.take(2, what)?;
        Ok(i16::from_be_bytes([b[0], b[1]]))
    }

    fn i32(&mut self, what: &str) -> Result<i32, DecodeError> {
        let b = self.take(4, what)?;
        Ok(i32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn u32(&mut self, what: &str) -> Result<u32, DecodeError> {
        Ok(self.i32(what)? as u32)
    }

    fn i64(&mut self, what: &str) -> Result<i64, DecodeError> {
        let b = self.take(8, what)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(i64::from_be_bytes(a))
    }

    fn u64(&mut self, what: &str) -> Result<u64, DecodeError> {
        Ok(self.i64(what)? as u64)
    }

    fn string(&mut self, what: &str) -> Result<&'a str, DecodeError> {
        let rest = &self.buf[self.pos..];
        let Some(nul) = rest.iter().position(|&b| b == 0) else {
            return Err(self.fail(format!("{what}: string without its NUL terminator")));
        };
        let s = std::str::from_utf8(&rest[..nul])
            .map_err(|e| self.fail(format!("{what}: not UTF-8 ({e})")))?;
        self.pos += nul + 1;
        Ok(s)
    }

    fn count(&mut self, what: &str) -> Result<usize, DecodeError> {
        let n = self.i16(what)?;
        usize::try_from(n).map_err(|_| self.fail(format!("negative {what} {n}")))
    }

    fn tuple(&mut self) -> Result<Tuple<'a>, DecodeError> {
        let n = self.count("column count")?;
        // Each column needs at least one byte: a count beyond the rest is malformed, and
        // checking first keeps a hostile count from allocating.
        if n > self.buf.len() - self.pos {
            return Err(self.fail(format!(
                "column count {n} exceeds the {} byte(s) left",
                self.buf.len() - self.pos
            )));
        }
        let mut values = Vec::with_capacity(n);
        for i in 0..n {
            let kind = self.u8("column kind")?;
            let v = match kind {
                b'n' => TupleValue::Null,
                b'u' => TupleValue::Unchanged,
                b't' | b'b' => {
                    let len = self.i32("value length")?;
                    let len = usize::try_from(len)
                        .map_err(|_| self.fail(format!("column {i}: negative length {len}")))?;
                    let at = self.pos;
                    let bytes = self.take(len, "value")?;
                    if kind == b'b' {
                        TupleValue::Binary(bytes)
                    } else {
                        TupleValue::Text(std::str::from_utf8(bytes).map_err(|e| DecodeError {
                            tag: self.tag,
                            offset: at + e.valid_up_to(),
                            reason: format!("column {i}: text value is not UTF-8"),
                        })?)
                    }
                }
                other => {
                    self.pos -= 1;
                    return Err(self.fail(format!(
                        "column {i}: unknown value kind {}",
                        printable(other)
                    )));
                }
            };
            values.push(v);
        }
        Ok(values)
    }

    fn old_tuple(&mut self, kind: u8) -> Result<(OldKind, Tuple<'a>), DecodeError> {
        let k = match kind {
            b'K' => OldKind::Key,
            b'O' => OldKind::Full,
            other => {
                return Err(self.fail(format!(
                    "expected 'K' or 'O' before the old tuple, got {}",
                    printable(other)
                )));
            }
        };
        Ok((k, self.tuple()?))
    }

    fn expect_new(&mut self, got: u8) -> Result<Tuple<'a>, DecodeError> {
        if got != b'N' {
            self.pos -= 1;
            return Err(self.fail(format!(
                "expected 'N' before the new tuple, got {}",
                printable(got)
            )));
        }
        self.tuple()
    }

    fn done(&self) -> Result<(), DecodeError> {
        if self.pos != self.buf.len() {
            return Err(self.fail(format!(
                "{} unexpected trailing byte(s)",
                self.buf.len() - self.pos
            )));
        }
        Ok(())
    }
}

fn printable(b: u8) -> String {
    if b.is_ascii_graphic() {
        format!("'{}'", b as char)
    } else {
        format!("0x{b:02x}")
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
