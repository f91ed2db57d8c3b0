//! `capture_ddl`: the event trigger's DDL in the stream, in order with the data changes
//! around it (also DDL that sends no Relation message), with its real text in schema
//! history; clear errors without a superuser; removed on request.

mod common;

use cdc_core::{CdcProvider, Operation};
use cdc_postgres::PostgresProvider;
use common::{Recorder, cluster, source, sql};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ddl_arrives_in_order_with_the_data_and_its_real_text() {
    let pg = cluster().await;
    let db = pg.connect().await.unwrap();
    sql(
        &db,
        "create table t (id int primary key, a int); create table other (id int primary key);",
    )
    .await;
    let p = PostgresProvider::new();
    let cfg = source(
        &pg,
        "ddl",
        &["public.t"],
        json!({"capture_ddl": true, "snapshot": "never"}),
    );
    p.connect(&cfg).await.unwrap();
    let rec = Recorder::new();
    let _sub = rec.subscribe(&p, "ddl");
    let steps = [
        "insert into t values (1, 1)",
        "alter table t add column note text",
        "insert into t values (2, 2, 'x')",
        "alter table t rename column a to amount",
        "insert into t values (3, 3, 'y')",
        "alter table t alter column amount type bigint",
        "insert into t values (4, 4, 'z')",
        "alter table t alter column note set default 'd'",
        "alter table other add column ignored int",
        "insert into t values (5, 5)",
        "alter table t drop column note",
        "insert into t values (6, 6)",
        "drop table t",
        "create table t (id int primary key)",
    ];
    for s in steps {
        sql(&db, s).await;
    }
    rec.wait_until(30, "13 events", |evs| evs.len() >= 13).await;
    let evs = rec.snapshot();
    let seq: Vec<String> = evs
        .iter()
        .map(|e| match e.operation {
            Operation::SchemaChange => format!("DDL {}", e.metadata["ddl"].as_str().unwrap()),
            op => format!("{op} {}", e.after.as_ref().unwrap()["id"]),
        })
        .collect();
    assert_eq!(
        seq,
        vec![
            "INSERT 1",
            "DDL alter table t add column note text",
            "INSERT 2",
            "DDL alter table t rename column a to amount",
            "INSERT 3",
            "DDL alter table t alter column amount type bigint",
            "INSERT 4",
            "DDL alter table t alter column note set default 'd'",
            "INSERT 5",
            "DDL alter table t drop column note",
            "INSERT 6",
            "DDL drop table t",
            "DDL create table t (id int primary key)",
        ]
    );
    let ddl = evs
        .iter()
        .find(|e| e.operation == Operation::SchemaChange)
        .unwrap();
    assert_eq!(ddl.table, "t");
    assert_eq!(ddl.metadata["command_tag"], "ALTER TABLE");
    assert_eq!(ddl.metadata["ddl_source"], "event_trigger");
    assert!(ddl.position.is_some() && ddl.transaction_id.is_some());
    // Schema history: the first description, then every captured command once (the
    // Relation messages that follow describe the same changes).
    let history = p.schema_history("ddl", "public.t").await.unwrap();
    let texts: Vec<&str> = history.iter().map(|v| v.ddl.as_str()).collect();
    assert_eq!(texts[0], "CREATE TABLE public.t (id integer, a integer)");
    assert_eq!(
        &texts[1..],
        &seq.iter()
            .filter_map(|s| s.strip_prefix("DDL "))
            .collect::<Vec<_>>()[..]
    );
    let versions: Vec<i64> = history.iter().map(|v| v.version).collect();
    assert_eq!(versions, (1..=history.len() as i64).collect::<Vec<_>>());
    assert!(history.iter().all(|v| v.position.is_some()));
    p.disconnect("ddl").await.unwrap();

    // Asked no more: the next connect removes the trigger.
    let mut off = cfg.clone();
    off.options.insert("capture_ddl".into(), json!(false));
    off.tables = vec!["public.other".into()];
    let p = PostgresProvider::new();
    p.connect(&off).await.unwrap();
    let n: i64 = db
        .query_one(
            "select count(*) from pg_event_trigger where evtname like 'cdc_rs_%'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(n, 0);
    p.disconnect("ddl").await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn capture_ddl_without_a_superuser_says_what_is_needed() {
    let pg = cluster().await;
    let db = pg.connect().await.unwrap();
    sql(
        &db,
        "create role app login replication; create table t (id int primary key);
         alter table t owner to app; grant create on database cdc_test to app;",
    )
    .await;
    let mut cfg = source(&pg, "nosu", &["t"], json!({"capture_ddl": true}));
    cfg.connection = format!("postgres://app@127.0.0.1:{}/{}", pg.port(), pg.database()).into();
    let p = PostgresProvider::new();
    let e = p.connect(&cfg).await.unwrap_err().to_string();
    assert!(e.contains("superuser") && e.contains("capture_ddl"), "{e}");
}
