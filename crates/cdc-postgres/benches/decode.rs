//! The per-row cost of decoding, without a server: COPY text rows (the snapshot) and
//! pgoutput Insert messages (the stream) into `ChangeEvent`s, next to parsing the same row
//! as JSON with `serde_json::from_str::<Value>` in the same run.
//!
//! `cargo bench -p cdc-postgres --bench decode`

use std::collections::HashMap;
use std::hint::black_box;

use cdc_postgres::decode::relation::Column;
use cdc_postgres::decode::{
    PgPosition, Relation, StreamDecoder, Txn, TypeRegistry, snapshot_event,
};
use cdc_postgres::snapshot::copy::RowParser;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use pgwire_replication::Lsn;

const ROWS: usize = 1000;

fn relation() -> Relation {
    let types = TypeRegistry::default();
    let cols = [
        ("id", 20),
        ("qty", 23),
        ("price", 1700),
        ("note", 25),
        ("at", 1184),
    ]
    .iter()
    .map(|(n, oid)| {
        let t = types.get(*oid);
        Column {
            name: (*n).into(),
            type_oid: *oid,
            type_modifier: -1,
            type_name: t.name,
            kind: t.kind,
            identity: *n == "id",
        }
    })
    .collect();
    Relation::new(
        16384,
        "public",
        "bench",
        b'd',
        cols,
        Some(&["id".to_owned()]),
    )
}

fn copy_lines() -> Vec<String> {
    (1..=ROWS)
        .map(|i| {
            format!(
                "{i}\t{}\t{}.{:02}\tnote {i}\t2026-12-01 11:16:46.739123+00",
                i % 100,
                i / 100,
                i % 100
            )
        })
        .collect()
}

fn insert_message(line: &str) -> Vec<u8> {
    let mut b = vec![b'I'];
    b.extend(16384u32.to_be_bytes());
    b.push(b'N');
    let fields: Vec<&str> = line.split('\t').collect();
    b.extend((fields.len() as i16).to_be_bytes());
    for f in fields {
        b.push(b't');
        b.extend((f.len() as i32).to_be_bytes());
        b.extend(f.as_bytes());
    }
    b
}

fn relation_message() -> Vec<u8> {
    let mut b = vec![b'R'];
    b.extend(16384u32.to_be_bytes());
    b.extend(b"public\0bench\0");
    b.push(b'd');
    let cols = [
        ("id", 20u32),
        ("qty", 23),
        ("price", 1700),
        ("note", 25),
        ("at", 1184),
    ];
    b.extend((cols.len() as i16).to_be_bytes());
    for (n, oid) in cols {
        b.push(u8::from(n == "id"));
        b.extend(n.as_bytes());
        b.push(0);
        b.extend(oid.to_be_bytes());
        b.extend((-1i32).to_be_bytes());
    }
    b
}

fn bench(c: &mut Criterion) {
    let rel = relation();
    let lines = copy_lines();
    let json_rows: Vec<String> = (1..=ROWS)
        .map(|i| {
            format!(
                r#"{{"id":{i},"qty":{},"price":"{}.{:02}","note":"note {i}","at":"2026-12-01T11:16:46.739123Z"}}"#,
                i % 100,
                i / 100,
                i % 100
            )
        })
        .collect();
    let mut g = c.benchmark_group("postgres_decode");
    g.throughput(Throughput::Elements(ROWS as u64));
    g.bench_function("baseline_serde_json_value", |b| {
        b.iter(|| {
            for r in &json_rows {
                black_box(serde_json::from_str::<serde_json::Value>(r).unwrap());
            }
        })
    });
    g.bench_function("snapshot_copy_row_to_event", |b| {
        let mut parser = RowParser::default();
        let mut buf = String::new();
        let src = cdc_core::Name::from("src");
        b.iter(|| {
            for (i, line) in lines.iter().enumerate() {
                let pos = PgPosition {
                    commit_lsn: Lsn::from_u64(1),
                    ordinal: i as u64,
                };
                let e = parser
                    .parse(line.as_bytes(), |v| {
                        snapshot_event(&src, &rel, v, pos, &mut buf)
                    })
                    .unwrap()
                    .unwrap();
                black_box(std::sync::Arc::new(e));
            }
        })
    });
    let inserts: Vec<Vec<u8>> = lines.iter().map(|l| insert_message(l)).collect();
    g.bench_function("stream_insert_to_event", |b| {
        let mut d = StreamDecoder::new("src", HashMap::new());
        let mut txn = Txn::begin(1, 1, 0);
        let mut events = Vec::with_capacity(ROWS);
        let mut notes = Vec::new();
        d.decode(
            &relation_message(),
            1,
            Some(&mut txn),
            &mut events,
            &mut notes,
        )
        .unwrap();
        b.iter(|| {
            events.clear();
            for m in &inserts {
                d.decode(m, 2, Some(&mut txn), &mut events, &mut notes)
                    .unwrap();
            }
            black_box(&events);
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
