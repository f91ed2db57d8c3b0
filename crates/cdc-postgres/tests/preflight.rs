//! Every pre-flight error is clear, says how to fix it, and never shows the password.

mod common;

use std::time::{Duration, Instant};

use cdc_core::{CdcProvider, SourceConfig};
use cdc_postgres::PostgresProvider;
use cdc_testkit::PgCluster;
use common::{cluster, source, sql};
use serde_json::json;

/// A password with every character that breaks naive DSN masking.
const PASSWORD: &str = "Pw:/?#@&=%x";

fn encoded() -> String {
    PASSWORD
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn as_role(pg: &PgCluster, id: &str, role: &str, password: &str, tables: &[&str]) -> SourceConfig {
    let mut cfg = source(pg, id, tables, json!({"slot_busy_timeout_secs": 2}));
    cfg.connection = format!(
        "postgres://{role}:{password}@127.0.0.1:{}/{}",
        pg.port(),
        pg.database()
    )
    .into();
    cfg
}

async fn connect_err(cfg: &SourceConfig) -> String {
    let p = PostgresProvider::new();
    let err = p
        .connect(cfg)
        .await
        .expect_err("connect must fail")
        .to_string();
    assert!(!err.contains(PASSWORD), "password in error: {err}");
    assert!(
        !err.contains(&encoded()),
        "encoded password in error: {err}"
    );
    err
}

/// Requires passwords over TCP for every role but the test superuser.
async fn require_passwords(pg: &PgCluster) {
    pg.write_data_file(
        "pg_hba.conf",
        b"local all all trust\nhost all postgres 127.0.0.1/32 trust\nhost all all 127.0.0.1/32 scram-sha-256\nhost replication postgres 127.0.0.1/32 trust\nhost replication all 127.0.0.1/32 scram-sha-256\n",
        0o600,
    )
    .unwrap();
    let db = pg.connect().await.unwrap();
    sql(&db, "select pg_reload_conf()").await;
    tokio::time::sleep(Duration::from_millis(300)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wal_level_not_logical_says_how_to_fix_it() {
    let pg = PgCluster::builder()
        .setting("wal_level", "replica")
        .start()
        .await
        .unwrap();
    let db = pg.connect().await.unwrap();
    sql(&db, "create table t (id int primary key)").await;
    let err = connect_err(&source(&pg, "wal", &["t"], json!({}))).await;
    assert!(
        err.contains("wal_level") && err.contains("ALTER SYSTEM SET wal_level = logical"),
        "{err}"
    );
    assert!(err.contains("restart"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credentials_roles_tables_and_identity() {
    let pg = cluster().await;
    let db = pg.connect().await.unwrap();
    sql(
        &db,
        &format!(
            "create table t (id int primary key);
             create table nopk (a int);
             create table nothing (id int primary key);
             alter table nothing replica identity nothing;
             create view v as select 1 as id;
             create schema other; create table other.elsewhere (id int primary key);
             create role norep login password '{PASSWORD}';
             create role app login replication password '{PASSWORD}';
             grant select on all tables in schema public to app;"
        ),
    )
    .await;
    require_passwords(&pg).await;
    let pw = encoded();

    let err = connect_err(&as_role(&pg, "creds", "app", "wrong-password", &["t"])).await;
    assert!(err.contains("password authentication failed"), "{err}");

    let err = connect_err(&as_role(&pg, "norep", "norep", &pw, &["t"])).await;
    assert!(
        err.contains("REPLICATION") && err.contains("ALTER ROLE \"norep\" REPLICATION"),
        "{err}"
    );

    let err = connect_err(&as_role(
        &pg,
        "missing",
        "app",
        &pw,
        &["public.t", "nosuch"],
    ))
    .await;
    assert!(
        err.contains("tables[1]") && err.contains("nosuch") && err.contains("does not exist"),
        "{err}"
    );

    let err = connect_err(&as_role(&pg, "hint", "app", &pw, &["elsewhere"])).await;
    assert!(err.contains("schema(s) other"), "{err}");

    let err = connect_err(&as_role(&pg, "view", "app", &pw, &["v"])).await;
    assert!(err.contains("is a view"), "{err}");

    // Replica identity: as the table owner (the superuser), so only identity is wrong.
    let err = connect_err(&source(&pg, "ident", &["t", "nopk", "nothing"], json!({}))).await;
    assert!(err.contains("public.nopk has no primary key"), "{err}");
    assert!(
        err.contains("public.nothing has REPLICA IDENTITY NOTHING"),
        "{err}"
    );
    assert!(err.contains("allow_tables_without_identity"), "{err}");
    let p = PostgresProvider::new();
    p.connect(&source(
        &pg,
        "ident",
        &["t", "nopk", "nothing"],
        json!({"allow_tables_without_identity": true}),
    ))
    .await
    .unwrap();
    p.disconnect("ident").await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_free_slot_or_walsender() {
    let pg = PgCluster::builder()
        .setting("max_replication_slots", "2")
        .setting("max_wal_senders", "1")
        .start()
        .await
        .unwrap();
    let db = pg.connect().await.unwrap();
    sql(&db, "create table t (id int primary key)").await;
    sql(
        &db,
        "select pg_create_logical_replication_slot('taken1', 'pgoutput')",
    )
    .await;
    // One slot left: the snapshot needs two (the slot and its marker).
    let err = connect_err(&source(&pg, "slots", &["t"], json!({}))).await;
    assert!(err.contains("max_replication_slots"), "{err}");
    // Without a snapshot one slot is enough, and it takes the only walsender.
    let p = PostgresProvider::new();
    p.connect(&source(&pg, "one", &["t"], json!({"snapshot": "never"})))
        .await
        .unwrap();
    sql(&db, "select pg_drop_replication_slot('taken1')").await;
    let err = connect_err(&source(&pg, "two", &["t"], json!({"snapshot": "never"}))).await;
    assert!(err.contains("max_wal_senders"), "{err}");
    p.disconnect("one").await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slot_held_by_another_session_is_waited_for_then_named() {
    let pg = cluster().await;
    let db = pg.connect().await.unwrap();
    sql(&db, "create table t (id int primary key)").await;
    let first = PostgresProvider::new();
    first
        .connect(&source(
            &pg,
            "holder",
            &["t"],
            json!({"slot": "shared_slot", "snapshot": "never"}),
        ))
        .await
        .unwrap();
    let pid: i32 = db
        .query_one(
            "select active_pid from pg_replication_slots where slot_name = 'shared_slot'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    let started = Instant::now();
    let err = connect_err(&source(
        &pg,
        "second",
        &["t"],
        json!({"slot": "shared_slot", "slot_busy_timeout_secs": 2}),
    ))
    .await;
    let waited = started.elapsed();
    assert!(err.contains(&format!("active for PID {pid}")), "{err}");
    assert!(err.contains("pg_terminate_backend"), "{err}");
    assert!(
        waited >= Duration::from_secs(2) && waited < Duration::from_secs(20),
        "{waited:?}"
    );
    // Once the holder goes, the same config connects (within the wait).
    first.disconnect("holder").await.unwrap();
    let p = PostgresProvider::new();
    p.connect(&source(
        &pg,
        "second",
        &["t"],
        json!({"slot": "shared_slot", "slot_busy_timeout_secs": 10}),
    ))
    .await
    .unwrap();
    p.disconnect("second").await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalidated_slot_is_a_clear_error() {
    let pg = PgCluster::builder()
        .setting("max_slot_wal_keep_size", "1MB")
        .setting("min_wal_size", "32MB")
        .setting("max_wal_size", "64MB")
        .start()
        .await
        .unwrap();
    let db = pg.connect().await.unwrap();
    sql(&db, "create table t (id int primary key, pad text)").await;
    let p = PostgresProvider::new();
    let cfg = source(&pg, "lost", &["t"], json!({"snapshot": "never"}));
    p.connect(&cfg).await.unwrap();
    p.disconnect("lost").await.unwrap();
    // The slot falls behind by far more than max_slot_wal_keep_size.
    common::invalidate_slot(&db, "cdc_lost").await;
    let err = connect_err(&cfg).await;
    assert!(
        err.contains("invalidated") && err.contains("wal_status = lost"),
        "{err}"
    );
    assert!(err.contains("pg_drop_replication_slot"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn existing_publication_must_cover_the_tables() {
    let pg = cluster().await;
    let db = pg.connect().await.unwrap();
    sql(
        &db,
        "create table t (id int primary key); create table u (id int primary key);
         create publication mine for table t;",
    )
    .await;
    let err = connect_err(&source(
        &pg,
        "pubs",
        &["t", "u"],
        json!({"publication": "mine"}),
    ))
    .await;
    assert!(err.contains("does not publish public.u"), "{err}");
    assert!(
        err.contains("ALTER PUBLICATION \"mine\" ADD TABLE \"public\".\"u\""),
        "{err}"
    );
    // A publication cdc-rs created is extended.
    let p = PostgresProvider::new();
    p.connect(&source(&pg, "own", &["t"], json!({})))
        .await
        .unwrap();
    p.disconnect("own").await.unwrap();
    p.connect(&source(&pg, "own", &["t", "u"], json!({})))
        .await
        .unwrap();
    let n: i64 = db
        .query_one(
            "select count(*) from pg_publication_tables where pubname = 'cdc_own'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(n, 2);
    p.disconnect("own").await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_configs_are_refused_before_connecting() {
    let pg = cluster().await;
    let p = PostgresProvider::new();
    let mut cfg = source(&pg, "cfg", &["t"], json!({"batch_size": 0}));
    let err = p.connect(&cfg).await.unwrap_err().to_string();
    assert!(err.contains("options.batch_size"), "{err}");
    cfg = source(&pg, "cfg", &["t"], json!({"slot": "Has-Caps"}));
    let err = p.connect(&cfg).await.unwrap_err().to_string();
    assert!(err.contains("options.slot"), "{err}");
    cfg = source(&pg, "cfg", &["t"], json!({}));
    cfg.connection = format!("postgres://u:{PASSWORD}@host:notaport/db").into();
    let err = p.connect(&cfg).await.unwrap_err().to_string();
    assert!(
        err.contains("connection") && !err.contains(PASSWORD),
        "{err}"
    );
    // A second connect of a running source changes nothing.
    let db = pg.connect().await.unwrap();
    sql(&db, "create table t (id int primary key)").await;
    let good = source(&pg, "twice", &["t"], json!({}));
    p.connect(&good).await.unwrap();
    p.connect(&good).await.unwrap();
    assert_eq!(p.status("twice").await.unwrap().source_id, "twice");
    p.disconnect("twice").await.unwrap();
    assert_eq!(
        p.status("twice").await.unwrap().state,
        cdc_core::SourceState::NotFound
    );
    assert!(p.subscribe("nope", common::Recorder::new()).is_err());
    assert!(p.snapshot("nope", &[]).await.is_err());
}
