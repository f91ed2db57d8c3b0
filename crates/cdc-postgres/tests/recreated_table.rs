//! A captured table dropped and created again under its name (or a table renamed onto it):
//! PostgreSQL takes the dropped one out of the publication and the new one is in none.
//! With `capture_ddl` the event trigger adds it back in the DDL's transaction (every row
//! arrives); without, the periodic publication check adds it back to cdc-rs's publication
//! and says so, or names the table and the fix for the operator's publication. Never
//! silent, and no reconnect needed.

mod common;

use std::collections::BTreeSet;

use cdc_core::{CdcProvider, CdcStatus, SharedEvent};
use cdc_postgres::PostgresProvider;
use common::{Recorder, cluster, id_of, source, sql, wait_for};
use serde_json::json;

/// The ids of the row events of table `t`.
fn ids_of_t(events: &[SharedEvent]) -> BTreeSet<i64> {
    events
        .iter()
        .filter(|e| e.operation.is_row_change() && e.table == "t")
        .filter_map(id_of)
        .collect()
}

/// The texts of `details.publication_check[key]`.
fn check_texts(st: &CdcStatus, key: &str) -> Vec<String> {
    st.details["publication_check"][key]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

fn reconnects(st: &CdcStatus) -> u64 {
    st.details["reconnects"].as_u64().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_capture_ddl_every_row_of_a_recreated_table_arrives() {
    let pg = cluster().await;
    let db = pg.connect().await.unwrap();
    sql(&db, "create table t (id int primary key, v text)").await;
    let p = PostgresProvider::new();
    // The check would find the table only after an hour: what arrives is the trigger's doing.
    let cfg = source(
        &pg,
        "recreate_ddl",
        &["public.t"],
        json!({"capture_ddl": true, "snapshot": "never", "publication_check_interval_ms": 3_600_000}),
    );
    p.connect(&cfg).await.unwrap();
    let rec = Recorder::new();
    let _sub = rec.subscribe(&p, "recreate_ddl");
    sql(&db, "insert into t values (1, 'a'), (2, 'a')").await;
    // Each statement its own transaction: the rows right after the CREATE.
    sql(&db, "drop table t").await;
    sql(&db, "create table t (id int primary key, v text)").await;
    sql(&db, "insert into t values (3, 'b')").await;
    sql(&db, "insert into t values (4, 'b'), (5, 'b')").await;
    // All in one transaction: dropped, created and written before anything commits.
    sql(
        &db,
        "begin; drop table t; create table t (id int primary key, v text);
         insert into t values (6, 'c'), (7, 'c'); commit;",
    )
    .await;
    // Another table renamed onto the captured name (the old one out of the way first).
    sql(
        &db,
        "create table t_next (id int primary key, v text);
         alter table t rename to t_previous; alter table t_next rename to t;",
    )
    .await;
    sql(&db, "insert into t values (8, 'd'), (9, 'd')").await;
    let want: BTreeSet<i64> = (1..=9).collect();
    rec.wait_until(60, "rows 1 to 9 of t", |evs| ids_of_t(evs) == want)
        .await;
    let st = p.status("recreate_ddl").await.unwrap();
    assert_eq!(reconnects(&st), 0, "{st:?}");
    assert!(check_texts(&st, "readded").is_empty(), "{st:?}");
    p.disconnect("recreate_ddl").await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_capture_ddl_the_check_adds_it_back_and_says_so() {
    let pg = cluster().await;
    let db = pg.connect().await.unwrap();
    sql(&db, "create table t (id int primary key, v text)").await;
    let p = PostgresProvider::new();
    let cfg = source(
        &pg,
        "recreate_check",
        &["public.t"],
        json!({"snapshot": "never", "publication_check_interval_ms": 200}),
    );
    p.connect(&cfg).await.unwrap();
    let rec = Recorder::new();
    let _sub = rec.subscribe(&p, "recreate_check");
    sql(&db, "insert into t values (1, 'a')").await;
    rec.wait_until(60, "row 1", |evs| ids_of_t(evs).contains(&1))
        .await;
    sql(&db, "drop table t").await;
    wait_for(&p, "recreate_check", "the dropped table reported", |st| {
        check_texts(st, "problems")
            .iter()
            .any(|t| t.contains("public.t") && t.contains("does not exist"))
    })
    .await;
    sql(&db, "create table t (id int primary key, v text)").await;
    wait_for(&p, "recreate_check", "the table added back, said", |st| {
        check_texts(st, "readded")
            .iter()
            .any(|t| t.contains("public.t") && t.contains("may be missing"))
    })
    .await;
    sql(&db, "insert into t values (100, 'b'), (101, 'b')").await;
    rec.wait_until(60, "rows 100 and 101", |evs| {
        ids_of_t(evs).is_superset(&BTreeSet::from([100, 101]))
    })
    .await;
    let st = p.status("recreate_check").await.unwrap();
    assert_eq!(reconnects(&st), 0, "{st:?}");
    assert!(check_texts(&st, "problems").is_empty(), "{st:?}");
    assert_eq!(st.error, None, "{st:?}");
    p.disconnect("recreate_check").await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_the_operators_publication_status_names_the_table_and_the_fix() {
    let pg = cluster().await;
    let db = pg.connect().await.unwrap();
    sql(
        &db,
        "create table t (id int primary key, v text); create publication mine for table t;",
    )
    .await;
    let p = PostgresProvider::new();
    let cfg = source(
        &pg,
        "recreate_theirs",
        &["public.t"],
        json!({"snapshot": "never", "publication": "mine", "publication_check_interval_ms": 200}),
    );
    p.connect(&cfg).await.unwrap();
    let rec = Recorder::new();
    let _sub = rec.subscribe(&p, "recreate_theirs");
    sql(
        &db,
        "drop table t; create table t (id int primary key, v text);",
    )
    .await;
    let fix = "ALTER PUBLICATION \"mine\" ADD TABLE \"public\".\"t\"";
    wait_for(
        &p,
        "recreate_theirs",
        "an error naming the table and the fix",
        |st| {
            st.error
                .as_deref()
                .is_some_and(|e| e.contains("public.t") && e.contains(fix))
        },
    )
    .await;
    let st = p.status("recreate_theirs").await.unwrap();
    assert_eq!(st.state, cdc_core::SourceState::Error, "{st:?}");
    // cdc-rs does not change the operator's publication.
    let published: i64 = db
        .query_one(
            "select count(*) from pg_publication_tables where pubname = 'mine'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(published, 0);
    sql(&db, &format!("{fix};")).await;
    wait_for(
        &p,
        "recreate_theirs",
        "the error gone once published",
        |st| st.error.is_none() && check_texts(st, "problems").is_empty(),
    )
    .await;
    sql(&db, "insert into t values (1, 'a')").await;
    rec.wait_until(60, "row 1", |evs| ids_of_t(evs).contains(&1))
        .await;
    p.disconnect("recreate_theirs").await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_capture_ddl_a_role_owning_only_its_table_recreates_it() {
    let pg = cluster().await;
    let db = pg.connect().await.unwrap();
    // The application's role owns its table, not cdc-rs's publication: the trigger adds the
    // new table with the rights of the role that installed it.
    sql(
        &db,
        "create role app login; grant create on schema public to app;
         create table t (id int primary key, v text); alter table t owner to app;",
    )
    .await;
    let p = PostgresProvider::new();
    let cfg = source(
        &pg,
        "recreate_app",
        &["public.t"],
        json!({"capture_ddl": true, "snapshot": "never", "publication_check_interval_ms": 3_600_000}),
    );
    p.connect(&cfg).await.unwrap();
    let rec = Recorder::new();
    let _sub = rec.subscribe(&p, "recreate_app");
    let (app, conn) = tokio_postgres::connect(
        &format!(
            "host=127.0.0.1 port={} user=app dbname={}",
            pg.port(),
            pg.database()
        ),
        tokio_postgres::NoTls,
    )
    .await
    .unwrap();
    tokio::spawn(conn);
    sql(
        &app,
        "insert into t values (1, 'a'); drop table t; create table t (id int primary key, v text);
         insert into t values (2, 'b');",
    )
    .await;
    rec.wait_until(60, "rows 1 and 2 of t", |evs| {
        ids_of_t(evs) == BTreeSet::from([1, 2])
    })
    .await;
    p.disconnect("recreate_app").await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_installed_trigger_is_brought_up_to_date_for_the_captured_tables() {
    let pg = cluster().await;
    let db = pg.connect().await.unwrap();
    sql(
        &db,
        "create table t (id int primary key, v text); create table other (id int primary key);",
    )
    .await;
    let options = json!({"capture_ddl": true, "snapshot": "never", "publication_check_interval_ms": 3_600_000});
    // Installed while the source captured another table.
    let p = PostgresProvider::new();
    p.connect(&source(
        &pg,
        "recreate_upd",
        &["public.other"],
        options.clone(),
    ))
    .await
    .unwrap();
    p.disconnect("recreate_upd").await.unwrap();
    let p = PostgresProvider::new();
    p.connect(&source(&pg, "recreate_upd", &["public.t"], options))
        .await
        .unwrap();
    let rec = Recorder::new();
    let _sub = rec.subscribe(&p, "recreate_upd");
    sql(&db, "drop table t").await;
    sql(&db, "create table t (id int primary key, v text)").await;
    sql(&db, "insert into t values (1, 'a')").await;
    rec.wait_until(60, "row 1 of t", |evs| ids_of_t(evs).contains(&1))
        .await;
    p.disconnect("recreate_upd").await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recreated_table_with_another_key_has_its_events_keyed_by_the_new_one() {
    let pg = cluster().await;
    let db = pg.connect().await.unwrap();
    sql(
        &db,
        "create table t (id int primary key, code text, v text)",
    )
    .await;
    let p = PostgresProvider::new();
    let cfg = source(
        &pg,
        "recreate_key",
        &["public.t"],
        json!({"capture_ddl": true, "snapshot": "never", "publication_check_interval_ms": 3_600_000}),
    );
    p.connect(&cfg).await.unwrap();
    let rec = Recorder::new();
    let _sub = rec.subscribe(&p, "recreate_key");
    sql(&db, "insert into t values (1, 'a', 'x')").await;
    // The same name, the old key column still there, the primary key on another one.
    sql(&db, "drop table t").await;
    sql(
        &db,
        "create table t (id int, code text primary key, v text)",
    )
    .await;
    sql(&db, "insert into t values (2, 'b', 'x')").await;
    sql(&db, "update t set v = 'y' where code = 'b'").await;
    sql(&db, "delete from t where code = 'b'").await;
    rec.wait_until(60, "the delete of code b", |evs| {
        evs.iter()
            .any(|e| e.operation == cdc_core::Operation::Delete && e.table == "t")
    })
    .await;
    let events = rec.events.lock().unwrap().clone();
    let keys: Vec<(String, serde_json::Value)> = events
        .iter()
        .filter(|e| e.operation.is_row_change() && e.table == "t")
        .map(|e| {
            let k = e.key.as_ref().expect("every row event has a key");
            (format!("{:?}", e.operation), k.value().clone())
        })
        .collect();
    assert_eq!(
        keys,
        vec![
            ("Insert".to_owned(), json!({"id": 1})),
            ("Insert".to_owned(), json!({"code": "b"})),
            ("Update".to_owned(), json!({"code": "b"})),
            ("Delete".to_owned(), json!({"code": "b"})),
        ],
        "{events:#?}"
    );
    p.disconnect("recreate_key").await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_primary_key_changed_while_streaming_keys_the_events_after_it() {
    let pg = cluster().await;
    let db = pg.connect().await.unwrap();
    sql(
        &db,
        "create table t (id int primary key, code text not null, v text)",
    )
    .await;
    let p = PostgresProvider::new();
    let cfg = source(
        &pg,
        "alter_key",
        &["public.t"],
        json!({"snapshot": "never"}),
    );
    p.connect(&cfg).await.unwrap();
    let rec = Recorder::new();
    let _sub = rec.subscribe(&p, "alter_key");
    sql(&db, "insert into t values (1, 'a', 'x')").await;
    sql(
        &db,
        "alter table t drop constraint t_pkey, add primary key (code)",
    )
    .await;
    sql(&db, "insert into t values (2, 'b', 'x')").await;
    sql(&db, "delete from t where code = 'b'").await;
    rec.wait_until(60, "the delete", |evs| {
        evs.iter()
            .any(|e| e.operation == cdc_core::Operation::Delete && e.table == "t")
    })
    .await;
    let keys: Vec<serde_json::Value> = rec
        .events
        .lock()
        .unwrap()
        .iter()
        .filter(|e| e.operation.is_row_change() && e.table == "t")
        .map(|e| e.key.as_ref().expect("a key").value().clone())
        .collect();
    assert_eq!(
        keys,
        vec![json!({"id": 1}), json!({"code": "b"}), json!({"code": "b"})]
    );
    p.disconnect("alter_key").await.unwrap();
}
