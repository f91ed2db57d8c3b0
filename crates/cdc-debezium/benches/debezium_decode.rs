//! Decoding the real fixture records into `ChangeEvent`s, next to
//! `serde_json::from_slice::<serde_json::Value>` on the same bytes in the same run.
//! Throughput is reported per record and per byte; compare the lines of each group:
//! `change_event_decode` (rows kept as checked text, as a trigger that filters on table and
//! operation sees them) and `change_event_decode_read_rows` (every row image read as well)
//! against `value_parse_baseline`.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use serde_json::Value;

use cdc_debezium::decode::Decoder;

/// Topic, key bytes, value bytes.
type Record = (String, Option<Vec<u8>>, Option<Vec<u8>>);

/// Every line of a fixture file.
fn records(file: &str) -> Vec<Record> {
    file.lines()
        .map(|line| {
            let v: Value = serde_json::from_str(line).unwrap();
            let bytes = |x: &Value| (!x.is_null()).then(|| serde_json::to_vec(x).unwrap());
            (
                v["destination"].as_str().unwrap().to_owned(),
                bytes(&v["key"]),
                bytes(&v["value"]),
            )
        })
        .collect()
}

fn bench_file(c: &mut Criterion, name: &str, file: &str) {
    let recs = records(file);
    let bytes: u64 = recs
        .iter()
        .map(|(_, k, v)| (k.as_ref().map_or(0, Vec::len) + v.as_ref().map_or(0, Vec::len)) as u64)
        .sum();
    let mut g = c.benchmark_group(format!("decode/{name}"));
    for (label, tp) in [
        ("records", Throughput::Elements(recs.len() as u64)),
        ("bytes", Throughput::Bytes(bytes)),
    ] {
        g.throughput(tp);
        g.bench_function(format!("value_parse_baseline/{label}"), |b| {
            b.iter(|| {
                for (_, k, v) in &recs {
                    if let Some(k) = k {
                        std::hint::black_box(serde_json::from_slice::<Value>(k).unwrap());
                    }
                    if let Some(v) = v {
                        std::hint::black_box(serde_json::from_slice::<Value>(v).unwrap());
                    }
                }
            })
        });
        let mut decoder = Decoder::new("bench");
        g.bench_function(format!("change_event_decode/{label}"), |b| {
            b.iter(|| {
                for (t, k, v) in &recs {
                    std::hint::black_box(decoder.decode(t, k.as_deref(), v.as_deref()).unwrap());
                }
            })
        });
        // Rows are parsed when first read; this is the cost for a handler that reads every
        // row image of every event.
        g.bench_function(format!("change_event_decode_read_rows/{label}"), |b| {
            b.iter(|| {
                for (t, k, v) in &recs {
                    let e = decoder.decode(t, k.as_deref(), v.as_deref()).unwrap();
                    if let Some(e) = &e {
                        for row in [&e.key, &e.before, &e.after].into_iter().flatten() {
                            std::hint::black_box(row.value());
                        }
                    }
                    std::hint::black_box(e);
                }
            })
        });
    }
    g.finish();
}

fn benches(c: &mut Criterion) {
    bench_file(
        c,
        "schemas",
        include_str!("../tests/fixtures/debezium/debezium-postgres-schemas.jsonl"),
    );
    bench_file(
        c,
        "plain",
        include_str!("../tests/fixtures/debezium/debezium-postgres-plain.jsonl"),
    );
}

criterion_group!(decode, benches);
criterion_main!(decode);
