//! A server configured unusually must not change what a source delivers: output settings
//! in postgresql.conf, on the database and on the role (dates, intervals, time zone, bytea,
//! floats, string literals), a `search_path` whose schema shadows the catalog, a role with
//! only REPLICATION and SELECT behind a password, and databases in LATIN1 and SQL_ASCII.
//! Snapshot and stream give the same, exact values. One cluster, a database per case.

mod common;

use std::time::Duration;

use cdc_core::{CdcProvider, CdcStatus, Operation, SharedEvent, SourceConfig};
use cdc_postgres::PostgresProvider;
use cdc_testkit::PgCluster;
use common::{Recorder, sql};
use serde_json::{Value, json};

const PASSWORD: &str = "s3cret";

/// Every type whose text depends on a session setting, and arrays of them.
const TABLE: &str = "create table t (
  id int primary key, m money, ts timestamp, tstz timestamptz, d date, tm time, ttz timetz,
  iv interval, f4 float4, f8 float8, f_nan float8, f_inf float8, f_zero float8, by bytea,
  n_nan numeric, n_inf numeric, n_ninf numeric, a_ts timestamptz[], a_f float8[],
  a_by bytea[], a_iv interval[], a_m money[], a_d date[], tx text)";

/// Input that reads the same whatever DateStyle and standard_conforming_strings say (ISO
/// dates, explicit offsets, no backslashes).
const ROW: &str = "insert into t values (1, 1234.56, '2026-03-01 12:00:00.5',
  '2026-03-01 12:00:00.123456+03', '2026-03-01', '12:34:56.789', '12:34:56+02',
  '1 year 2 mons 3 days 04:05:06.5', 1.1, 0.1, 'NaN', 'Infinity', '-0',
  decode('00ff5c27', 'hex'), 'NaN', 'Infinity', '-Infinity', '{\"2026-03-01 00:00:00+00\"}',
  '{0.1,-0,NaN}', array[decode('00ff', 'hex')], '{\"-1 day -02:00\"}', '{1.5}',
  '{2026-03-01}', 'é')";

/// The row as the pinned settings print it, whatever the server's.
fn expected() -> Value {
    json!({
        "m": "$1,234.56", "ts": "2026-03-01T12:00:00.5", "tstz": "2026-03-01T09:00:00.123456Z",
        "d": "2026-03-01", "tm": "12:34:56.789", "ttz": "12:34:56+02:00",
        "iv": "1 year 2 mons 3 days 04:05:06.5", "f4": 1.1, "f8": 0.1, "f_nan": "NaN",
        "f_inf": "Infinity", "by": "AP9cJw==", "n_nan": "NaN", "n_inf": "Infinity",
        "n_ninf": "-Infinity", "a_ts": ["2026-03-01T00:00:00Z"], "a_by": ["AP8="],
        "a_iv": ["-1 days -02:00:00"], "a_m": ["$1.50"], "a_d": ["2026-03-01"], "tx": "é"
    })
}

fn check(e: &SharedEvent, what: &str) {
    let after = e.after.as_ref().unwrap().value();
    for (k, v) in expected().as_object().unwrap() {
        assert_eq!(&after[k.as_str()], v, "{what}: column {k}: {after}");
    }
    // -0 keeps its sign (compared as text: a JSON number's literal).
    assert_eq!(after["f_zero"].to_string(), "-0", "{what}: {after}");
    assert_eq!(
        after["a_f"].to_string(),
        r#"[0.1,-0,"NaN"]"#,
        "{what}: {after}"
    );
}

/// Output settings unlike the pinned ones in postgresql.conf (the command line, here).
async fn cluster() -> PgCluster {
    PgCluster::builder()
        .setting("wal_sender_timeout", "10s")
        .setting("DateStyle", "German, DMY")
        .setting("IntervalStyle", "sql_standard")
        .setting("TimeZone", "Asia/Kathmandu")
        .setting("bytea_output", "escape")
        .setting("extra_float_digits", "-15")
        .setting("standard_conforming_strings", "off")
        .setting("lc_monetary", "C")
        .start()
        .await
        .expect("start a PostgreSQL cluster")
}

fn source(pg: &PgCluster, id: &str, url: String, tables: &[&str], options: Value) -> SourceConfig {
    let mut cfg = common::source(pg, id, tables, options);
    cfg.connection = url.into();
    cfg
}

/// Waits until the source's status (its error and details, as text) satisfies `pred`.
async fn wait_status(p: &PostgresProvider, id: &str, pred: impl Fn(&str) -> bool) -> String {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let s: CdcStatus = p.status(id).await.unwrap();
        let text = format!("{:?} {:?}", s.error, s.details);
        if pred(&text) {
            return text;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{id}: status never matched: {text}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Snapshot, streamed insert and streamed update of the row: exact values, and the three
/// images identical.
async fn same_values_everywhere(db: &tokio_postgres::Client, p: &PostgresProvider, id: &str) {
    let rec = Recorder::new();
    let _sub = rec.subscribe(p, id);
    let snap = rec.wait_rows(1, 30).await;
    assert_eq!(snap[0].operation, Operation::SnapshotRead);
    check(&snap[0], &format!("{id} snapshot"));
    sql(db, "insert into t select 2, m, ts, tstz, d, tm, ttz, iv, f4, f8, f_nan, f_inf, f_zero, by, n_nan, n_inf, n_ninf, a_ts, a_f, a_by, a_iv, a_m, a_d, tx from t where id = 1;
             update t set tx = tx where id = 1").await;
    let rows = rec.wait_rows(3, 30).await;
    assert_eq!(rows[1].operation, Operation::Insert);
    assert_eq!(rows[2].operation, Operation::Update);
    check(&rows[1], &format!("{id} insert"));
    let image = |e: &SharedEvent| {
        let mut v = e.after.as_ref().unwrap().value().clone();
        v.as_object_mut().unwrap().remove("id");
        v.to_string()
    };
    assert_eq!(image(&rows[0]), image(&rows[1]), "{id}: snapshot vs insert");
    assert_eq!(image(&rows[0]), image(&rows[2]), "{id}: snapshot vs update");
}

/// Database-level and role-level settings on top of postgresql.conf's; the role has only
/// REPLICATION and SELECT, signs in with a password, and its `search_path` puts a schema
/// whose objects shadow the catalog's before `pg_catalog`.
async fn settings_roles_and_search_path(pg: &PgCluster) {
    let admin = pg.connect().await.unwrap();
    sql(&admin, TABLE).await;
    sql(&admin, ROW).await;
    sql(
        &admin,
        &format!(
            "alter database cdc_test set datestyle = 'SQL, MDY';
             alter database cdc_test set intervalstyle = 'iso_8601';
             alter database cdc_test set timezone = 'America/St_Johns';
             alter database cdc_test set extra_float_digits = 0;
             create role cdc login replication password '{PASSWORD}';
             grant select on t to cdc;
             create publication pub_cdc for table t;
             alter role cdc set datestyle = 'Postgres, DMY';
             alter role cdc set intervalstyle = 'sql_standard';
             alter role cdc set timezone = 'Asia/Kathmandu';
             alter role cdc set bytea_output = 'escape';
             alter role cdc set standard_conforming_strings = off;
             create schema hostile;
             grant usage on schema hostile to cdc;
             create table hostile.pg_class (oid oid, relname name, relnamespace oid);
             grant select on hostile.pg_class to cdc;
             create function hostile.current_setting(text) returns text
               language sql as $$ select 'shadowed'::text $$;
             create function hostile.pg_current_wal_lsn() returns pg_lsn
               language sql as $$ select '0/1'::pg_lsn $$;
             create function hostile.format_type(oid, int4) returns text
               language sql as $$ select 'shadowed'::text $$;
             alter role cdc set search_path = hostile, pg_catalog, public;"
        ),
    )
    .await;
    require_passwords(pg).await;
    let p = PostgresProvider::new();
    // The superuser gets the database's settings; `cdc` its own, and `t` without a schema
    // is found along its path (in public, after the hostile schema).
    let url = format!(
        "postgres://cdc:{PASSWORD}@{}:{}/cdc_test",
        pg.host(),
        pg.port()
    );
    for (id, url, table, options) in [
        ("db_level", pg.url(), "public.t", json!({})),
        ("role_level", url, "t", json!({"publication": "pub_cdc"})),
    ] {
        let cfg = source(pg, id, url, &[table], options);
        p.connect(&cfg)
            .await
            .unwrap_or_else(|e| panic!("{id}: {e}"));
        same_values_everywhere(&admin, &p, id).await;
        // Status reads lag through pg_current_wal_lsn: the catalog's, not the shadow's.
        let status = p.status(id).await.unwrap();
        assert!(status.error.is_none(), "{id}: {status:?}");
        assert!(status.lag_bytes.is_some_and(|b| b >= 0), "{id}: {status:?}");
        p.disconnect(id).await.unwrap();
        sql(&admin, "delete from t where id = 2").await;
    }
}

/// Passwords over TCP for every role but the test superuser.
async fn require_passwords(pg: &PgCluster) {
    pg.write_data_file(
        "pg_hba.conf",
        b"local all all trust\nhost all postgres 127.0.0.1/32 trust\nhost replication postgres 127.0.0.1/32 trust\nhost all all 127.0.0.1/32 scram-sha-256\nhost replication all 127.0.0.1/32 scram-sha-256\n",
        0o600,
    )
    .unwrap();
    sql(&pg.connect().await.unwrap(), "select pg_reload_conf()").await;
    // The reload is asynchronous: wait until a password is asked for.
    let mut cfg = pg.config_for("cdc_test");
    cfg.user("cdc");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while cfg.connect(tokio_postgres::NoTls).await.is_ok() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "pg_hba.conf not reloaded"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// LATIN1 text arrives as UTF-8, in the snapshot and in the stream.
async fn latin1(pg: &PgCluster) {
    let admin = pg.connect().await.unwrap();
    sql(
        &admin,
        "create database l1 encoding 'LATIN1' lc_collate 'C' lc_ctype 'C' template template0",
    )
    .await;
    let db = pg.connect_to("l1").await.unwrap();
    sql(
        &db,
        "create table t (id int primary key, v text, c char(3), a text[]);
              insert into t values (1, 'é ÿ', 'ÿ', '{é,ÿ}')",
    )
    .await;
    let p = PostgresProvider::new();
    p.connect(&source(
        pg,
        "latin1",
        pg.url_for("l1"),
        &["public.t"],
        json!({}),
    ))
    .await
    .unwrap();
    let rec = Recorder::new();
    let _sub = rec.subscribe(&p, "latin1");
    rec.wait_rows(1, 30).await;
    sql(&db, "insert into t select 2, v, c, a from t").await;
    let rows = rec.wait_rows(2, 30).await;
    for e in &rows {
        let after = e.after.as_ref().unwrap();
        assert_eq!(after["v"], "é ÿ", "{:?}", e.operation);
        assert_eq!(after["c"], "ÿ  ", "{:?}", e.operation);
        assert_eq!(after["a"], json!(["é", "ÿ"]), "{:?}", e.operation);
    }
    p.disconnect("latin1").await.unwrap();
}

/// A SQL_ASCII database holding bytes that are not UTF-8: the snapshot's error names the
/// table and the column; the stream's says why the server cannot send the change.
async fn sql_ascii(pg: &PgCluster) {
    let admin = pg.connect().await.unwrap();
    sql(
        &admin,
        "create database raw encoding 'SQL_ASCII' lc_collate 'C' lc_ctype 'C' template template0",
    )
    .await;
    let db = pg.connect_to("raw").await.unwrap();
    // convert_from(..., 'SQL_ASCII') stores the bytes as they are.
    sql(&db, "create table bad (id int primary key, ok text, body text);
              insert into bad values (1, 'fine', convert_from(decode('61ff62', 'hex'), 'SQL_ASCII'));
              create table t (id int primary key, body varchar(10));
              insert into t values (1, 'plain é')").await;
    let p = PostgresProvider::new();
    let url = pg.url_for("raw");
    p.connect(&source(
        pg,
        "raw_snapshot",
        url.clone(),
        &["public.bad"],
        json!({}),
    ))
    .await
    .unwrap();
    let status = wait_status(&p, "raw_snapshot", |s| s.contains("last_failure\": String")).await;
    assert!(
        status.contains("snapshot of public.bad: column \\\"body\\\": not UTF-8"),
        "{status}"
    );
    p.disconnect("raw_snapshot").await.unwrap();

    p.connect(&source(pg, "raw_stream", url, &["public.t"], json!({})))
        .await
        .unwrap();
    let rec = Recorder::new();
    let _sub = rec.subscribe(&p, "raw_stream");
    // Valid UTF-8 in a SQL_ASCII database is delivered as it is.
    let snap = rec.wait_rows(1, 30).await;
    assert_eq!(snap[0].after.as_ref().unwrap()["body"], "plain é");
    sql(
        &db,
        "insert into t values (2, convert_from(decode('ff', 'hex'), 'SQL_ASCII'))",
    )
    .await;
    let status = wait_status(&p, "raw_stream", |s| s.contains("22021")).await;
    assert!(
        status.contains("SQL_ASCII") && status.contains("pg_replication_slot_advance"),
        "{status}"
    );
    assert_eq!(rec.rows().len(), 1, "nothing mangled is delivered");
    p.disconnect("raw_stream").await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unusual_server_configuration_changes_nothing_delivered() {
    let pg = cluster().await;
    settings_roles_and_search_path(&pg).await;
    latin1(&pg).await;
    sql_ascii(&pg).await;
}
