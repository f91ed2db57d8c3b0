//! The messages of the pgoutput protocol, as [`decode`](super::decode) returns them: the
//! data model alone, apart from the byte-level parsing, so what a message holds reads
//! without the parser around it.

use std::fmt;

use super::kind_name;

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
