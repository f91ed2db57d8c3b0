//! Every type's value as JSON, the same through the snapshot (COPY) and the stream
//! (pgoutput): numbers exact, JSON digits kept, times ISO-8601, arrays nested with NULLs,
//! everything else as its text. Column types are in the metadata.

mod common;

use cdc_core::{CdcProvider, Operation};
use cdc_postgres::PostgresProvider;
use common::{Recorder, cluster, source, sql};
use serde_json::{Value, json};

const TABLE: &str = "
create type mood as enum ('sad', 'happy');
create domain posint as int check (value > 0);
create type pair as (a int, b text);
create extension hstore;
create table t (
  id int primary key,
  i2 int2, i8 int8, o oid,
  n numeric, n_nan numeric, n_inf numeric,
  f4 float4, f8 float8, f_nan float8, f_inf float8, f_ninf float8,
  b bool, tx text, vc varchar(10), ch char(3), nm name,
  js json, jb jsonb, u uuid,
  d date, tm time, ttz timetz, ts timestamp, tstz timestamptz, iv interval,
  by bytea,
  a_int int4[], a_text text[], a_num numeric[], a_2d int4[][], a_jb jsonb[], a_bool bool[],
  a_ts timestamptz[], a_empty int4[],
  e mood, dom posint, comp pair, r int4range, h hstore, a_mood mood[],
  nul text
)";

const ROW: &str = "(
  $ID, 32767, 9223372036854775807, 4294967295,
  123456789012345678901234567890.123456789, 'NaN', 'Infinity',
  1.5, 0.1, 'NaN', 'Infinity', '-Infinity',
  true, 'tab\there \"quoted\" back\\slash é', 'short', 'ab', 'nm',
  '{\"big\": 123456789012345678901234567890, \"huge\": 1e400}',
  '{\"big\": 123456789012345678901234567890, \"x\": [1, 2.50]}',
  'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
  '2026-03-01', '12:34:56.789', '12:34:56+02', '2026-03-01 12:00:00.5', '2026-03-01 12:00:00.123456+03',
  '1 year 2 mons 3 days 04:05:06',
  '\\x00ff10',
  '{1,NULL,3}', '{\"a b\",\"c,d\",NULL,\"q\\\"uote\",\"NULL\"}', '{1.50,NaN}', '{{1,2},{3,4}}',
  ARRAY['{\"k\": 1}'::jsonb, NULL], '{t,f}',
  '{\"2026-03-01 00:00:00+00\"}', '{}',
  'happy', 7, '(1,\"x y\")', '[1,5)', 'a=>1, b=>NULL', '{sad,happy}',
  NULL
)";

fn expected(id: i64) -> Value {
    json!({
        "id": id,
        "i2": 32767, "i8": 9223372036854775807i64, "o": 4294967295u64,
        "n": "123456789012345678901234567890.123456789", "n_nan": "NaN", "n_inf": "Infinity",
        "f4": 1.5, "f8": 0.1, "f_nan": "NaN", "f_inf": "Infinity", "f_ninf": "-Infinity",
        "b": true, "tx": "tab\there \"quoted\" back\\slash é", "vc": "short", "ch": "ab ", "nm": "nm",
        "u": "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
        "d": "2026-03-01", "tm": "12:34:56.789", "ttz": "12:34:56+02:00",
        "ts": "2026-03-01T12:00:00.5", "tstz": "2026-03-01T09:00:00.123456Z",
        "iv": "1 year 2 mons 3 days 04:05:06",
        "by": "AP8Q",
        "a_int": [1, null, 3], "a_text": ["a b", "c,d", null, "q\"uote", "NULL"],
        "a_num": ["1.50", "NaN"], "a_2d": [[1, 2], [3, 4]], "a_jb": [{"k": 1}, null],
        "a_bool": [true, false], "a_ts": ["2026-03-01T00:00:00Z"], "a_empty": [],
        "e": "happy", "dom": "7", "comp": "(1,\"x y\")", "r": "[1,5)",
        "h": "\"a\"=>\"1\", \"b\"=>NULL", "a_mood": ["sad", "happy"],
        "nul": null
    })
}

fn check(e: &cdc_core::ChangeEvent, id: i64) {
    let after = e.after.as_ref().unwrap();
    let mut want = expected(id);
    // JSON columns: compared by their number literals, digit for digit.
    let js = after["js"].to_string();
    assert!(
        js.contains("123456789012345678901234567890") && js.contains("1e+400"),
        "json column lost digits: {js}"
    );
    // Key order depends on serde_json's `preserve_order` (which another crate of the build
    // may turn on); the values and their literals may not.
    let jb = &after["jb"];
    assert_eq!(
        *jb,
        serde_json::from_str::<Value>(r#"{"big":123456789012345678901234567890,"x":[1,2.50]}"#)
            .unwrap()
    );
    assert_eq!(jb["big"].to_string(), "123456789012345678901234567890");
    assert_eq!(jb["x"][1].to_string(), "2.50");
    let obj = want.as_object_mut().unwrap();
    for (k, v) in obj.iter() {
        assert_eq!(&after[k.as_str()], v, "column {k} of row {id}: {after}");
    }
    let types = &e.metadata["column_types"];
    for (col, ty) in [
        ("n", "numeric"),
        ("tx", "text"),
        ("a_int", "_int4"),
        ("jb", "jsonb"),
        ("e", "public.mood"),
        ("dom", "domain:int4"),
        ("h", "public.hstore"),
    ] {
        assert_eq!(types[col], ty, "type of {col}: {types}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_type_through_snapshot_and_stream() {
    let pg = cluster().await;
    pg.require_extension("hstore").await.unwrap();
    let db = pg.connect().await.unwrap();
    sql(&db, TABLE).await;
    sql(
        &db,
        &format!("insert into t values {}", ROW.replace("$ID", "1")),
    )
    .await;
    let p = PostgresProvider::new();
    p.connect(&source(&pg, "types", &["public.t"], json!({})))
        .await
        .unwrap();
    let rec = Recorder::new();
    let _sub = rec.subscribe(&p, "types");
    let snap = rec.wait_rows(1, 30).await;
    assert_eq!(snap[0].operation, Operation::SnapshotRead);
    check(&snap[0], 1);
    sql(
        &db,
        &format!("insert into t values {}", ROW.replace("$ID", "2")),
    )
    .await;
    let rows = rec.wait_rows(2, 30).await;
    assert_eq!(rows[1].operation, Operation::Insert);
    check(&rows[1], 2);
    // The two paths agree column for column.
    let (a, b) = (
        rows[0].after.as_ref().unwrap().value().clone(),
        rows[1].after.as_ref().unwrap().value().clone(),
    );
    for (k, v) in a.as_object().unwrap() {
        if k != "id" {
            assert_eq!(&b[k.as_str()], v, "snapshot and stream differ on {k}");
        }
    }
    p.disconnect("types").await.unwrap();
}
