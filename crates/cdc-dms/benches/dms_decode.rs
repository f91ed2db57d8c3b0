//! Decoding DMS target records, measured against the baseline of parsing the same bytes into a
//! `serde_json::Value` (the least any decoder must do). Compare the two in the same run.

use std::hint::black_box;

use cdc_dms::DmsRecordDecoder;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use serde_json::{Value, json};

fn records(n: usize) -> Vec<Vec<u8>> {
    let ops = ["load", "insert", "update", "delete"];
    (0..n)
        .map(|i| {
            let op = ops[i % ops.len()];
            let mut record = json!({
                "data": {"id": i, "customer_id": i * 7, "total": format!("{}.{:02}", i, i % 100),
                         "status": "shipped", "note": "gift wrap, leave at the door",
                         "updated_at": "2026-03-01T12:00:00.123456Z"},
                "metadata": {"timestamp": "2026-03-01T12:00:00.123456Z", "record-type": "data",
                             "operation": op, "partition-key-type": "primary-key",
                             "schema-name": "public", "table-name": "orders",
                             "transaction-id": 8_589_934_593u64 + i as u64}
            });
            if op == "update" {
                record["before-image"] = json!({"id": i, "status": "paid"});
            }
            serde_json::to_vec(&record).unwrap()
        })
        .collect()
}

fn decode(c: &mut Criterion) {
    let records = records(1_000);
    let decoder = DmsRecordDecoder::new("orders");
    let mut group = c.benchmark_group("dms_decode_1000_records");
    group.throughput(Throughput::Elements(records.len() as u64));
    group.bench_function("baseline_serde_json_value", |b| {
        b.iter(|| {
            for r in &records {
                black_box(serde_json::from_slice::<Value>(black_box(r)).unwrap());
            }
        })
    });
    group.bench_function("dms_record_decoder", |b| {
        b.iter(|| {
            for r in &records {
                black_box(decoder.decode(black_box(r)).unwrap());
            }
        })
    });
    group.finish();
}

criterion_group!(benches, decode);
criterion_main!(benches);
