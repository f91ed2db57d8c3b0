//! The snapshot's binary COPY against the text COPY of the same rows on a real server: every
//! binary decoder prints what the server's output function prints (edge values: negative
//! numerics, NaN, infinities, BC dates, leap days, years past 9999, microsecond trimming),
//! and a whole row's JSON and key are byte for byte the text path's.

mod common;

use cdc_postgres::decode::native::Native;
use cdc_postgres::decode::relation::Column;
use cdc_postgres::decode::row::{Columns, image};
use cdc_postgres::decode::{Relation, TupleValue, TypeRegistry};
use cdc_postgres::snapshot::binary::RowSplitter;
use cdc_postgres::snapshot::copy::{LineSplitter, RowParser};
use cdc_postgres::snapshot::writer::{Read, RowWriter, select_list};
use cdc_postgres::sql::connect::SESSION_SETTINGS;
use common::{cluster, sql};
use futures::StreamExt;

/// Edge values per type (SQL literals).
const VALUES: &[(&str, &[&str])] = &[
    ("int2", &["-32768", "32767", "0"]),
    ("int4", &["-2147483648", "2147483647", "-1"]),
    (
        "int8",
        &["-9223372036854775808", "9223372036854775807", "42"],
    ),
    ("oid", &["0", "4294967295"]),
    ("bool", &["true", "false"]),
    (
        "numeric",
        &[
            "0",
            "-0",
            "0.000",
            "12.50",
            "-12.50",
            "0.5",
            "-0.0005",
            "0.00000001",
            "1e-20",
            "10000",
            "100000000",
            "99999999.99990000",
            "1e100",
            "-1234567.1234567",
            "123456789012345678901234567890.123456789",
            "'NaN'",
            "'Infinity'",
            "'-Infinity'",
        ],
    ),
    ("numeric(12,2)", &["1234567890.12", "-0.01", "0", "5"]),
    (
        "date",
        &[
            "'2026-03-01'",
            "'2000-02-29'",
            "'1900-02-28'",
            "'2100-03-01'",
            "'0001-01-01'",
            "'0044-03-15 BC'",
            "'4713-01-01 BC'",
            "'5874897-12-31'",
            "'10000-01-01'",
            "'infinity'",
            "'-infinity'",
            "'1999-12-31'",
            "'1582-10-10'",
        ],
    ),
    (
        "timestamp",
        &[
            "'2026-03-01 12:00:00'",
            "'2026-03-01 12:00:00.5'",
            "'2026-03-01 00:00:00.000001'",
            "'2000-02-29 23:59:59.999999'",
            "'1969-12-31 23:59:59.9'",
            "'1999-12-31 23:59:59.12'",
            "'0044-03-15 12:00:00 BC'",
            "'4713-11-24 00:00:00 BC'",
            "'0001-12-31 23:59:59.5 BC'",
            "'294276-12-31 23:59:59.999999'",
            "'10000-01-01 00:00:00'",
            "'0001-01-01 00:00:00'",
            "'infinity'",
            "'-infinity'",
        ],
    ),
    (
        "timestamptz",
        &[
            "'2026-03-01 12:00:00.123456+03'",
            "'2026-03-01 12:00:00-05:30'",
            "'2024-02-29 12:00:00.0105+00'",
            "'0044-03-15 12:00:00+00 BC'",
            "'12026-03-01 12:00:00+00'",
            "'1900-01-01 00:00:00+00'",
            "'infinity'",
            "'-infinity'",
        ],
    ),
    (
        "uuid",
        &[
            "'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'",
            "'00000000-0000-0000-0000-000000000000'",
        ],
    ),
    (
        "text",
        &[
            "'tab\there \"q\" back\\slash é'",
            "''",
            "E'x\\ny\\rz\\\\'",
            "'😀 \u{7f}'",
        ],
    ),
    ("varchar(10)", &["'short'", "''"]),
    ("char(5)", &["'ab'", "'abcde'"]),
    ("name", &["'nm'"]),
];

/// A session pinned as the provider pins its own.
async fn session(pg: &cdc_testkit::PgCluster) -> tokio_postgres::Client {
    let db = pg.connect().await.unwrap();
    for (k, v) in SESSION_SETTINGS {
        sql(&db, &format!("set {k} = '{v}'")).await;
    }
    db
}

async fn copy_bytes(db: &tokio_postgres::Client, sql: &str) -> Vec<Vec<u8>> {
    let stream = db
        .copy_out(sql)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    let mut stream = std::pin::pin!(stream);
    let mut chunks = Vec::new();
    while let Some(chunk) = stream.next().await {
        chunks.push(chunk.unwrap().to_vec());
    }
    chunks
}

fn binary_rows(chunks: &[Vec<u8>]) -> Vec<Vec<u8>> {
    let mut s = RowSplitter::default();
    let mut rows = Vec::new();
    for c in chunks {
        s.feed(c, |r| {
            rows.push(r.to_vec());
            Ok(())
        })
        .unwrap();
    }
    s.finish().unwrap();
    rows
}

fn text_rows(chunks: &[Vec<u8>]) -> Vec<Vec<Option<String>>> {
    let (mut s, mut p) = (LineSplitter::default(), RowParser::default());
    let mut rows = Vec::new();
    for c in chunks {
        s.feed::<String>(c, |line| {
            let row = p.parse(line, |vals| {
                vals.iter()
                    .map(|v| match v {
                        TupleValue::Text(t) => Some((*t).to_owned()),
                        _ => None,
                    })
                    .collect()
            })?;
            rows.push(row);
            Ok(())
        })
        .unwrap();
    }
    rows
}

/// The single field of a one-column binary row.
fn field(row: &[u8]) -> Option<&[u8]> {
    let len = i32::from_be_bytes(row[2..6].try_into().unwrap());
    (len >= 0).then(|| &row[6..6 + len as usize])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn binary_decoders_print_what_the_server_prints() {
    let pg = cluster().await;
    let db = session(&pg).await;
    let types = TypeRegistry::default();
    for (i, (ty, values)) in VALUES.iter().enumerate() {
        let table = format!("v{i}");
        sql(&db, &format!("create table {table} (n serial, x {ty})")).await;
        for v in *values {
            sql(&db, &format!("insert into {table} (x) values ({v})")).await;
        }
        sql(&db, &format!("insert into {table} (x) values (null)")).await;
        let q = format!("(select x from {table} order by n)");
        let bin =
            binary_rows(&copy_bytes(&db, &format!("copy {q} to stdout (format binary)")).await);
        let text = text_rows(&copy_bytes(&db, &format!("copy {q} to stdout")).await);
        let oid: u32 = db
            .query_one(&format!("select atttypid from pg_attribute where attrelid = '{table}'::regclass and attname = 'x'"), &[])
            .await
            .unwrap()
            .get(0);
        let native = Native::of(oid).unwrap_or_else(|| panic!("{ty} is read in binary"));
        assert_eq!(native.kind(), types.get(oid).kind, "{ty}");
        assert_eq!(bin.len(), values.len() + 1);
        for (b, t) in bin.iter().zip(&text) {
            let (b, t) = (field(b), t[0].as_deref());
            let Some(b) = b else {
                assert_eq!(t, None, "{ty}: NULL");
                continue;
            };
            let mut printed = String::new();
            native.push_text(&mut printed, b).unwrap();
            assert_eq!(Some(printed.as_str()), t, "{ty}: text of {b:?}");
            let (mut json, mut via_text) = (Vec::new(), String::new());
            native.push_json(&mut json, b).unwrap();
            cdc_postgres::decode::value::push_value(&mut via_text, native.kind(), &printed);
            assert_eq!(
                String::from_utf8(json).unwrap(),
                via_text,
                "{ty}: JSON of {printed}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_binary_row_is_the_text_rows_json_byte_for_byte() {
    let pg = cluster().await;
    let db = session(&pg).await;
    sql(
        &db,
        &"create type mood as enum ('sad', 'happy');
         create domain posint as int check (value > 0);
         create type pair as (a int, b text);
         create table t (
           k text, id int8, b bool, f8 float8, f4 float4, n numeric, tx text, ch char(3),
           \"we\"\"ird \\ name\" int, tm time, ttz timetz, iv interval, by bytea, inet inet,
           c \"char\", a_int int4[], a_ts timestamptz[], e mood, dom posint, comp pair,
           r int4range, bits bit(4), money money, d date, ts timestamp, tstz timestamptz,
           u uuid, nul text, js json, jb jsonb, primary key (id, k));
         insert into t values
           ('k1', 1, true, 0.1, 1.5, -12.50, 'a\"b\\c é', 'ab', 7, '12:34:56.789', '12:34:56+02',
            '1 year 2 mons 3 days 04:05:06', '\\x00ff10', '1.2.3.4', 'x', '{1,NULL,3}',
            '{\"2026-03-01 00:00:00+00\"}', 'happy', 7, '(1,\"x y\")', '[1,5)', '1010', 12.34,
            '2026-03-01', '2026-03-01 12:00:00.5', '2026-03-01 12:00:00.123456+03',
            'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', null, '{\"big\": 1e400}', '{\"x\": [1, 2.50]}'),
           ('k2', -2, false, 'NaN', '-Infinity', 'NaN', E'tab\\there\\nline', 'abc', null,
            null, null, '-1 days', '', '::1', 'y', '{}', null, 'sad', 1, '(,)', 'empty', '0000',
            -1, '0044-03-15 BC', '10000-01-01 00:00:00', 'infinity', null, 'x', $DEEP, null);"
            .replace(
                "$DEEP",
                &format!("'{}1{}'", "[".repeat(300), "]".repeat(300)),
            ),
    )
    .await;
    let types = TypeRegistry::default();
    let cols: Vec<Column> = db
        .query(
            "select attname::text, atttypid, atttypmod from pg_attribute \
             where attrelid = 't'::regclass and attnum > 0 order by attnum",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| {
            let (name, oid, typmod): (String, u32, i32) = (r.get(0), r.get(1), r.get(2));
            let info = types.get(oid);
            Column {
                identity: name == "id" || name == "k",
                name,
                type_oid: oid,
                type_modifier: typmod,
                type_name: info.name,
                kind: info.kind,
            }
        })
        .collect();
    let pk = ["id".to_owned(), "k".to_owned()];
    let rel = Relation::new(1, "public", "t", b'd', cols, Some(&pk));
    assert!(rel.has_json);
    let (reads, list) = select_list(&db, &rel).await.unwrap().unwrap();
    assert!(reads.iter().any(|r| matches!(r, Read::Output(_))));
    assert!(reads.iter().any(|r| matches!(r, Read::Native(_))));
    let names: Vec<String> = rel
        .columns
        .iter()
        .map(|c| format!("\"{}\"", c.name.replace('"', "\"\"")))
        .collect();
    let bin = binary_rows(
        &copy_bytes(
            &db,
            &format!("copy (select {list} from t order by id desc) to stdout (format binary)"),
        )
        .await,
    );
    let text_chunks = copy_bytes(
        &db,
        &format!(
            "copy (select {} from t order by id desc) to stdout",
            names.join(", ")
        ),
    )
    .await;
    let mut writer = RowWriter::new(&rel, &reads);
    let (mut s, mut p, mut buf) = (LineSplitter::default(), RowParser::default(), String::new());
    let mut want = Vec::new();
    for c in &text_chunks {
        s.feed::<String>(c, |line| {
            let imgs = p.parse(line, |vals| {
                let after = image(&rel, vals, None, Columns::All, &mut buf).unwrap();
                let key = image(&rel, vals, None, Columns::Only(&rel.key), &mut buf).unwrap();
                (after.row.to_json_string(), key.row.to_json_string())
            })?;
            want.push(imgs);
            Ok(())
        })
        .unwrap();
    }
    assert_eq!(bin.len(), 2);
    for (row, (after, key)) in bin.iter().zip(&want) {
        let (a, k) = writer.write(row).unwrap();
        assert_eq!(&a.to_json_string(), after);
        assert_eq!(&k.unwrap().to_json_string(), key);
    }
    // A role that may not call an output function reads the table in text instead.
    sql(
        &db,
        "create role reader; revoke execute on function pg_catalog.enum_out(anyenum) from public;
         set role reader",
    )
    .await;
    assert!(select_list(&db, &rel).await.unwrap().is_none());
    sql(&db, "reset role").await;
    // A malformed row is an error naming the problem, not a panic.
    assert!(writer.write(&bin[0][..bin[0].len() - 3]).is_err());
    assert!(writer.write(&[0, 1, 0, 0, 0, 0]).is_err());
}
