//! Keys of odd types: resume keys written as literals on a database with
//! `standard_conforming_strings = off`, and the keys the stream carries compared with the
//! chunks'.

use cdc_core::{CdcProvider, Operation, SharedEvent};
use cdc_postgres::PostgresProvider;
use serde_json::json;

use crate::common::{Recorder, cluster, source, sql};
use crate::support::{idle_and, key_text, progress, reads, wait_for};

/// Keys of many types, composite, in another order than the columns, holding quotes and
/// backslashes, on a database whose roles default to `standard_conforming_strings = off`:
/// with one row a chunk every key becomes a resume key (a literal in the next chunk's
/// query) and every row is read exactly once. Then the keys the stream carries (new rows'
/// keys, old keys of a key change, full old rows under REPLICA IDENTITY FULL) are exactly
/// the chunks' keys, as the window compares them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resume_and_stream_keys_of_odd_types_match_the_chunks() {
    let pg = cluster().await;
    let db = pg.connect().await.unwrap();
    let dbname: String = db
        .query_one("select current_database()", &[])
        .await
        .unwrap()
        .get(0);
    sql(
        &db,
        &format!(
            r#"alter database "{dbname}" set standard_conforming_strings = off;
            create table "OddKeys" (v int not null, b bytea, f float8, ts timestamptz, n numeric,
                t text, u uuid, primary key (t, n, ts, u, b, f));"#
        ),
    )
    .await;
    // Each row distinct by `t`; the other key columns repeat awkward values.
    let texts = [
        r"a\'b",
        r"\",
        r"x\",
        "'",
        "''",
        "\"",
        r#"\" OR true) --"#,
        "ü ñ 😀",
        "Z",
        "a",
        "B",
        "",
        "line\nbreak",
        "tab\there",
    ];
    let numerics = [
        "1.0",
        "1.00",
        "0.000",
        "-12345678901234567890.123456789",
        "1e-20",
    ];
    let floats = ["-0", "0.1", "NaN", "1e-300", "Infinity"];
    let times = [
        "2024-01-01 00:00:00.000001+00",
        "1999-12-31 23:59:59+05:30",
        "infinity",
    ];
    let uuids = [
        "A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11",
        "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a12",
    ];
    let bytes = [r"\x00ff27", r"\x5c27", r"\x"];
    for (i, t) in texts.iter().enumerate() {
        db.execute(
            r#"insert into "OddKeys" values ($1, decode($2::text, 'hex'), $3::text::float8,
                $4::text::timestamptz, $5::text::numeric, $6::text, $7::text::uuid)"#,
            &[
                &(i as i32),
                &bytes[i % bytes.len()].trim_start_matches(r"\x"),
                &floats[i % floats.len()],
                &times[i % times.len()],
                &numerics[i % numerics.len()],
                t,
                &uuids[i % uuids.len()],
            ],
        )
        .await
        .unwrap();
    }
    let p = PostgresProvider::new();
    p.connect(&source(
        &pg,
        "odd",
        &["OddKeys"],
        json!({"snapshot": "never", "chunk_size": 1}),
    ))
    .await
    .unwrap();
    let rec = Recorder::new();
    let _sub = rec.subscribe(&p, "odd");
    p.snapshot("odd", &[]).await.unwrap();
    wait_for(&p, "odd", "the backfill done or failed", |st| {
        idle_and(st, "public.OddKeys", "done") || idle_and(st, "public.OddKeys", "error")
    })
    .await;
    let st = p.status("odd").await.unwrap();
    assert!(
        progress(&st, "public.OddKeys")["error"].is_null(),
        "{:?}",
        progress(&st, "public.OddKeys")
    );
    let cols = ["t", "n", "ts", "u", "b", "f"];
    let events = rec.snapshot();
    let mut chunk_keys: Vec<String> = reads(&events, "OddKeys")
        .map(|e| key_text(e.key.as_ref().unwrap(), &cols))
        .collect();
    chunk_keys.sort();
    let n = chunk_keys.len();
    chunk_keys.dedup();
    assert_eq!(n, texts.len(), "every row read once: {chunk_keys:?}");
    assert_eq!(chunk_keys.len(), texts.len());

    // The keys the stream carries for the same rows.
    sql(
        &db,
        r#"update "OddKeys" set v = v + 100;
           update "OddKeys" set t = t || '!';
           alter table "OddKeys" replica identity full;
           delete from "OddKeys";"#,
    )
    .await;
    let total = 3 * texts.len();
    rec.wait_until(60, "the stream's changes", |evs| {
        evs.iter()
            .filter(|e| e.operation.is_row_change() && e.operation != Operation::SnapshotRead)
            .count()
            >= total
    })
    .await;
    let events = rec.snapshot();
    let changes: Vec<&SharedEvent> = events
        .iter()
        .filter(|e| matches!(e.operation, Operation::Update | Operation::Delete))
        .collect();
    let mut of_v: Vec<String> = changes[..texts.len()]
        .iter()
        .map(|e| key_text(e.key.as_ref().unwrap(), &cols))
        .collect();
    of_v.sort();
    assert_eq!(of_v, chunk_keys, "update keys differ from the chunks'");
    let mut old_keys: Vec<String> = changes[texts.len()..2 * texts.len()]
        .iter()
        .map(|e| key_text(e.before.as_ref().expect("old key"), &cols))
        .collect();
    old_keys.sort();
    assert_eq!(old_keys, chunk_keys, "old keys of a key change differ");
    let new_keys: Vec<String> = changes[texts.len()..2 * texts.len()]
        .iter()
        .map(|e| key_text(e.after.as_ref().unwrap(), &cols))
        .collect();
    let mut full_old: Vec<String> = changes[2 * texts.len()..]
        .iter()
        .map(|e| key_text(e.before.as_ref().expect("full old row"), &cols))
        .collect();
    full_old.sort();
    let mut new_keys = new_keys;
    new_keys.sort();
    assert_eq!(full_old, new_keys, "REPLICA IDENTITY FULL old rows' keys");
    p.disconnect("odd").await.unwrap();
}
