//! What an event takes from the `source` block, for every connector: the table and its
//! schema, the position, the transaction id, the commit time and the snapshot flag.
//!
//! | connector | position | transaction |
//! |---|---|---|
//! | PostgreSQL | `lsn` in PostgreSQL's `X/X` form | `txId` |
//! | MySQL, MariaDB | `file:pos:row` (the GTID alone without a binlog file) | GTID |
//! | SQL Server | `commit_lsn:change_lsn:event_serial_no` (`commit_lsn` for snapshot reads) | `txId` when present |
//! | Db2, Informix | `change_lsn` (`commit_lsn` for snapshot reads) | `txId` when present |
//! | Oracle | XStream's `lcr_position`; LogMiner's `scn:txId:txSeq` (Debezium 3.2+), else `scn` | `txId` |
//! | Vitess | `vgtid` | |
//! | MongoDB | `{ts_ms / 1000}:{ord}`, the oplog time and ordinal | |
//!
//! A position says where a change is; it does not tell every event apart, because the
//! connectors' source blocks do not: all snapshot reads of a table share one, the delete and
//! the create of a primary key update share one, and so do the rows of a PostgreSQL COPY
//! (one LSN), of a Vitess transaction (one VGTID), of a MongoDB transaction (one cluster
//! time), of an Oracle statement before Debezium 3.2. A record of the Kafka transport is
//! named by its `kafka_topic`, `kafka_partition` and `kafka_offset` metadata.
//!
//! Schema: `schema`, else a non-empty `db`, else the Vitess `keyspace`; table: `table`, else
//! the MongoDB `collection`.

use std::borrow::Cow;

use cdc_core::{ChangeEvent, Name, Position};
use serde_json::Value;

use super::envelope::{Scalar, Source};
use super::read::{millis, plain_string, since_epoch};

impl Source<'_> {
    /// The table (or MongoDB collection) the change is about.
    pub fn table_name(&self) -> Option<&str> {
        non_empty(&self.table).or_else(|| non_empty(&self.collection))
    }

    /// The schema (or database, or Vitess keyspace) of that table.
    pub fn schema_name(&self) -> Option<&str> {
        non_empty(&self.schema)
            .or_else(|| non_empty(&self.db))
            .or_else(|| non_empty(&self.keyspace))
    }

    /// Where the change is in its database's log, as the connector tells it.
    fn position(&self) -> Option<String> {
        let text = |s: &Option<Scalar<'_>>| s.as_ref().and_then(|v| v.text()).map(Cow::into_owned);
        // PostgreSQL: a number, in PostgreSQL's `X/X` form. Anything else that is text (a
        // negative number, a string) is kept as written rather than made into another LSN;
        // an LSN that is neither says nothing, and the other fields are asked.
        let lsn = self.lsn.as_ref().and_then(|lsn| match lsn {
            Scalar::Int(n) => Some(u64::try_from(*n).map_or_else(|_| n.to_string(), pg_lsn)),
            Scalar::Text(t) => Some(t.parse::<u64>().map_or_else(|_| t.to_string(), pg_lsn)),
            Scalar::Other => None,
        });
        if lsn.is_some() {
            return lsn;
        }
        // MySQL: `file:pos:row`, never the GTID alone: every row of one multi-row binlog
        // event shares the file, the position and the GTID; only `row` tells them apart. A
        // position or row that is text is kept as written; a missing row is row 0 (the
        // first row of its binlog event).
        if let (Some(file), Some(pos)) = (&self.file, text(&self.pos)) {
            let row = text(&self.row).unwrap_or_else(|| "0".into());
            return Some(format!("{file}:{pos}:{row}"));
        }
        if self.file.is_none()
            && let Some(gtid) = text(&self.gtid).filter(|g| !g.is_empty())
        {
            return Some(gtid);
        }
        // SQL Server: Debezium's own order, `commit_lsn:change_lsn:event_serial_no` (the
        // change LSN orders changes within a transaction only, and the delete and the create
        // of a primary key update share it, numbered 1 and 2). Db2 and Informix have no
        // serial number: their change LSN.
        if let Some(change) = text(&self.change_lsn) {
            return Some(
                match (text(&self.commit_lsn), text(&self.event_serial_no)) {
                    (Some(commit), Some(n)) => format!("{commit}:{change}:{n}"),
                    (None, Some(n)) => format!("{change}:{n}"),
                    _ => change,
                },
            );
        }
        // Oracle: XStream's LCR position is one per change; LogMiner's SCN is shared by the
        // rows of a statement (and of concurrent transactions), which Debezium 3.2+ numbers
        // within their transaction (`txSeq`).
        if let Some(lcr) = text(&self.lcr_position).filter(|l| !l.is_empty()) {
            return Some(lcr);
        }
        if let (Some(scn), Some(tx), Some(seq)) =
            (text(&self.scn), text(&self.tx_id), text(&self.tx_seq))
        {
            return Some(format!("{scn}:{tx}:{seq}"));
        }
        text(&self.commit_lsn)
            .or_else(|| text(&self.scn))
            .or_else(|| text(&self.vgtid))
            .or_else(|| {
                let ord = self.ord.as_ref().and_then(Scalar::int)?;
                Some(format!("{}:{ord}", self.ts_ms? / 1000))
            })
    }

    fn transaction_id(&self) -> Option<String> {
        let text = |s: &Option<Scalar<'_>>| s.as_ref().and_then(|v| v.text()).map(Cow::into_owned);
        text(&self.tx_id).or_else(|| text(&self.gtid).filter(|g| !g.is_empty()))
    }
}

fn non_empty<'s>(v: &'s Option<Cow<'_, str>>) -> Option<&'s str> {
    v.as_deref().filter(|s| !s.is_empty())
}

/// Position, commit time, transaction id and snapshot flag from the source block.
pub(super) fn fill_source(e: &mut ChangeEvent, s: &Source<'_>) {
    e.position = s.position().map(Position::new);
    // Microseconds when the connector gives them; milliseconds when it does not, or when
    // they are beyond the calendar.
    e.commit_time = s
        .ts_us
        .and_then(|us| since_epoch(us, 1_000_000))
        .or_else(|| s.ts_ms.and_then(millis));
    e.transaction_id = s.transaction_id();
    if let Some(snap) = s.snapshot {
        let v = match snap.get() {
            "true" => Some(Value::String("true".into())),
            "false" | "null" | "\"false\"" => None,
            other => match plain_string(other) {
                Some(text) => Some(Value::String(text.to_owned())),
                None => serde_json::from_str::<Value>(other).ok(),
            },
        };
        if let Some(v) = v {
            e.metadata.insert_static("snapshot", v);
        }
    }
    // After `snapshot`: metadata set in key order is appended.
    if let Some(ms) = s.ts_ms {
        e.metadata.insert_int("source_ts_ms", ms);
    }
}

/// Schema and table of a change (see the module); the topic (`prefix.schema.table`) when
/// the source block lacks them.
pub(super) fn table_of(source: &Source<'_>, topic: &str) -> (Option<Name>, Name) {
    match source.table_name() {
        Some(t) => (source.schema_name().map(Name::from), Name::from(t)),
        None => {
            let mut parts = topic.rsplitn(3, '.');
            let t = parts.next().unwrap_or("");
            match parts.next() {
                Some(s) => (Some(s.into()), t.into()),
                None => (None, Name::default()),
            }
        }
    }
}

/// PostgreSQL's own text form of an LSN, `{:X}/{:X}` of the high and low 32 bits. Written
/// by hand into a buffer: `format!`, and pushing a character at a time, were a visible share
/// of decoding a small record.
fn pg_lsn(lsn: u64) -> String {
    const DIGITS: &[u8; 16] = b"0123456789ABCDEF";
    let mut buf = [0u8; 17];
    let mut n = 0;
    for (i, half) in [(lsn >> 32) as u32, lsn as u32].into_iter().enumerate() {
        if i == 1 {
            buf[n] = b'/';
            n += 1;
        }
        // At least one digit, no leading zeros.
        let digits = (8 - half.leading_zeros() / 4).max(1);
        for k in (0..digits).rev() {
            buf[n] = DIGITS[((half >> (4 * k)) & 0xF) as usize];
            n += 1;
        }
    }
    // Only ASCII was written.
    std::str::from_utf8(&buf[..n])
        .map(str::to_owned)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pg_lsn_is_postgres_text_form() {
        for lsn in [
            0u64,
            1,
            0xF,
            0x10,
            40_334_528,
            0x1_0000_0000,
            0xDEAD_BEEF_0000_0001,
            u64::MAX,
        ] {
            let want = format!("{:X}/{:X}", lsn >> 32, lsn & 0xFFFF_FFFF);
            assert_eq!(pg_lsn(lsn), want);
        }
        assert_eq!(pg_lsn(40_334_528), "0/26774C0");
        let mut n = 0x9E37_79B9_7F4A_7C15_u64;
        for _ in 0..10_000 {
            n ^= n << 13;
            n ^= n >> 7;
            n ^= n << 17;
            // Every width of either half.
            let lsn = n >> (n % 64);
            assert_eq!(
                pg_lsn(lsn),
                format!("{:X}/{:X}", lsn >> 32, lsn & 0xFFFF_FFFF)
            );
        }
    }
}
