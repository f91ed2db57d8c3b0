//! The pgoutput decoder and the value conversion under generated and hostile input: never a
//! panic; malformed bytes are errors naming the message type and an offset inside the
//! message; well-formed messages decode to what was encoded; every value's JSON parses.

use std::collections::HashMap;

use cdc_postgres::decode::pgoutput::{self, Message, OldKind, RelationColumn, TupleValue};
use cdc_postgres::decode::types::{ElementKind, Kind};
use cdc_postgres::decode::value::push_value;
use cdc_postgres::decode::{StreamDecoder, Txn};
use proptest::prelude::*;

fn put_str(b: &mut Vec<u8>, s: &str) {
    b.extend(s.as_bytes());
    b.push(0);
}

fn put_tuple(b: &mut Vec<u8>, t: &[TupleValue<'_>]) {
    b.extend((t.len() as i16).to_be_bytes());
    for v in t {
        match v {
            TupleValue::Null => b.push(b'n'),
            TupleValue::Unchanged => b.push(b'u'),
            TupleValue::Text(s) => {
                b.push(b't');
                b.extend((s.len() as i32).to_be_bytes());
                b.extend(s.as_bytes());
            }
            TupleValue::Binary(x) => {
                b.push(b'b');
                b.extend((x.len() as i32).to_be_bytes());
                b.extend(*x);
            }
        }
    }
}

/// The wire bytes of a message (the inverse of `pgoutput::decode`).
fn encode(m: &Message<'_>) -> Vec<u8> {
    let mut b = Vec::new();
    match m {
        Message::Begin {
            final_lsn,
            commit_time,
            xid,
        } => {
            b.push(b'B');
            b.extend(final_lsn.to_be_bytes());
            b.extend(commit_time.to_be_bytes());
            b.extend(xid.to_be_bytes());
        }
        Message::Commit {
            flags,
            commit_lsn,
            end_lsn,
            commit_time,
        } => {
            b.push(b'C');
            b.push(*flags);
            b.extend(commit_lsn.to_be_bytes());
            b.extend(end_lsn.to_be_bytes());
            b.extend(commit_time.to_be_bytes());
        }
        Message::Origin { lsn, name } => {
            b.push(b'O');
            b.extend(lsn.to_be_bytes());
            put_str(&mut b, name);
        }
        Message::Relation {
            rel_id,
            namespace,
            name,
            replica_identity,
            columns,
        } => {
            b.push(b'R');
            b.extend(rel_id.to_be_bytes());
            put_str(&mut b, namespace);
            put_str(&mut b, name);
            b.push(*replica_identity);
            b.extend((columns.len() as i16).to_be_bytes());
            for c in columns {
                b.push(c.flags);
                put_str(&mut b, c.name);
                b.extend(c.type_oid.to_be_bytes());
                b.extend(c.type_modifier.to_be_bytes());
            }
        }
        Message::Type {
            oid,
            namespace,
            name,
        } => {
            b.push(b'Y');
            b.extend(oid.to_be_bytes());
            put_str(&mut b, namespace);
            put_str(&mut b, name);
        }
        Message::Insert { rel_id, new } => {
            b.push(b'I');
            b.extend(rel_id.to_be_bytes());
            b.push(b'N');
            put_tuple(&mut b, new);
        }
        Message::Update { rel_id, old, new } => {
            b.push(b'U');
            b.extend(rel_id.to_be_bytes());
            if let Some((k, t)) = old {
                b.push(if *k == OldKind::Key { b'K' } else { b'O' });
                put_tuple(&mut b, t);
            }
            b.push(b'N');
            put_tuple(&mut b, new);
        }
        Message::Delete {
            rel_id,
            old: (k, t),
        } => {
            b.push(b'D');
            b.extend(rel_id.to_be_bytes());
            b.push(if *k == OldKind::Key { b'K' } else { b'O' });
            put_tuple(&mut b, t);
        }
        Message::Truncate { options, rel_ids } => {
            b.push(b'T');
            b.extend((rel_ids.len() as u32).to_be_bytes());
            b.push(*options);
            for r in rel_ids {
                b.extend(r.to_be_bytes());
            }
        }
        Message::Message {
            transactional,
            lsn,
            prefix,
            content,
        } => {
            b.push(b'M');
            b.push(u8::from(*transactional));
            b.extend(lsn.to_be_bytes());
            put_str(&mut b, prefix);
            b.extend((content.len() as i32).to_be_bytes());
            b.extend(*content);
        }
    }
    b
}

fn text() -> impl Strategy<Value = String> {
    // Anything but NUL (strings on the wire are NUL-terminated).
    "[^\u{0}]{0,12}"
}

fn as_tuple(v: &[(u8, String)]) -> Vec<TupleValue<'_>> {
    v.iter()
        .map(|(k, s)| match k {
            0 => TupleValue::Null,
            1 => TupleValue::Unchanged,
            2 => TupleValue::Text(s.as_str()),
            _ => TupleValue::Binary(s.as_bytes()),
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        match pgoutput::decode(&bytes) {
            Ok(_) => {}
            Err(e) => {
                prop_assert!(e.offset <= bytes.len());
                prop_assert!(e.to_string().contains("pgoutput"));
            }
        }
    }

    #[test]
    fn well_formed_row_messages_round_trip_and_every_damage_is_an_error(
        rel_id in any::<u32>(),
        raw in proptest::collection::vec((0u8..4, text()), 0..6),
        cut in any::<usize>(),
        flip in any::<(usize, u8)>(),
    ) {
        let texts: Vec<String> = raw.iter().map(|(_, t)| t.clone()).collect();
        let tuple = as_tuple(&raw);
        for m in [
            Message::Insert { rel_id, new: tuple.clone() },
            Message::Update { rel_id, old: Some((OldKind::Full, tuple.clone())), new: tuple.clone() },
            Message::Update { rel_id, old: None, new: tuple.clone() },
            Message::Delete { rel_id, old: (OldKind::Key, tuple.clone()) },
            Message::Relation {
                rel_id,
                namespace: "public",
                name: "t",
                replica_identity: b'd',
                columns: texts.iter().map(|t| RelationColumn { flags: 1, name: t, type_oid: 25, type_modifier: -1 }).collect(),
            },
        ] {
            let bytes = encode(&m);
            prop_assert_eq!(pgoutput::decode(&bytes).unwrap(), m.clone());
            let at = cut % bytes.len();
            let e = pgoutput::decode(&bytes[..at]).unwrap_err();
            prop_assert!(e.offset <= at, "{:?}", e);
            let mut damaged = bytes.clone();
            let i = flip.0 % damaged.len();
            damaged[i] ^= flip.1 | 1;
            let _ = pgoutput::decode(&damaged);
        }
    }

    #[test]
    fn every_value_text_becomes_valid_json(s in "\\PC{0,40}", k in 0usize..10) {
        let kinds = [
            Kind::Integer, Kind::Numeric, Kind::Float, Kind::Bool, Kind::Bytea,
            Kind::Timestamp, Kind::TimestampTz, Kind::TimeTz, Kind::Text,
            Kind::Array(ElementKind::Integer),
        ];
        let mut out = String::new();
        push_value(&mut out, kinds[k], &s);
        prop_assert!(serde_json::from_str::<serde_json::Value>(&out).is_ok(), "{:?} {:?} -> {}", kinds[k], s, out);
    }

    #[test]
    fn arrays_of_any_text_are_valid_json(s in "[{}\",\\\\a-z0-9 NUL]{0,30}", k in 0usize..4) {
        let elems = [ElementKind::Text, ElementKind::Integer, ElementKind::Numeric, ElementKind::Bool];
        let mut out = String::new();
        push_value(&mut out, Kind::Array(elems[k]), &s);
        prop_assert!(serde_json::from_str::<serde_json::Value>(&out).is_ok(), "{:?} -> {}", s, out);
    }

    #[test]
    fn stream_decoder_survives_hostile_sequences(
        messages in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..60), 0..20),
        columns in proptest::collection::vec(text(), 1..4),
    ) {
        let mut d = StreamDecoder::new("s", HashMap::new());
        let mut txn = Txn::begin(1, 100, 0);
        let mut events = Vec::new();
        let mut notes = Vec::new();
        // A valid relation first, so row messages reach the row-building code.
        let rel = Message::Relation {
            rel_id: 7,
            namespace: "public",
            name: "t",
            replica_identity: b'd',
            columns: columns.iter().map(|t| RelationColumn { flags: 1, name: t, type_oid: 3802, type_modifier: -1 }).collect(),
        };
        d.decode(&encode(&rel), 1, Some(&mut txn), &mut events, &mut notes).unwrap();
        for mut m in messages {
            if m.len() > 5 && m[0] % 2 == 0 {
                // Aim at the relation and at row messages.
                m[0] = [b'I', b'U', b'D', b'T'][usize::from(m[1]) % 4];
                m[1..5].copy_from_slice(&7u32.to_be_bytes());
            }
            let _ = d.decode(&m, 2, Some(&mut txn), &mut events, &mut notes);
        }
        for e in &events {
            for row in [&e.after, &e.before, &e.key].into_iter().flatten() {
                let _ = row.value();
            }
        }
    }
}
