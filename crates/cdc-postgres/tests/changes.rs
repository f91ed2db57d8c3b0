//! Row changes through a real server: insert, update (including a key change), delete,
//! truncate; replica identity DEFAULT and FULL; unchanged TOAST values under both.

mod common;

use cdc_core::{CdcProvider, Operation, SourceState};
use cdc_postgres::PostgresProvider;
use common::{Recorder, cluster, id_of, source, sql};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inserts_updates_deletes_and_truncates_arrive_in_order() {
    let pg = cluster().await;
    let db = pg.connect().await.unwrap();
    sql(
        &db,
        "create table public.orders (id int primary key, total numeric(10,2), note text);
         create table public.other (id int primary key);",
    )
    .await;
    let p = PostgresProvider::new();
    // No snapshot: the TRUNCATE below would otherwise race with it (a table rewritten
    // while the snapshot starts makes it start over; the snapshot suite covers that).
    p.connect(&source(
        &pg,
        "shop",
        &["public.orders"],
        json!({"snapshot": "never"}),
    ))
    .await
    .unwrap();
    let rec = Recorder::new();
    let _sub = rec.subscribe(&p, "shop");
    sql(
        &db,
        "insert into orders values (1, 9.99, 'a'), (2, 10.00, null);
         update orders set total = 12.50 where id = 1;
         update orders set id = 3 where id = 2;
         delete from orders where id = 1;
         insert into other values (1);
         truncate orders;",
    )
    .await;
    let rows = rec.wait_rows(6, 30).await;
    let ops: Vec<Operation> = rows.iter().map(|e| e.operation).collect();
    assert_eq!(
        ops,
        vec![
            Operation::Insert,
            Operation::Insert,
            Operation::Update,
            Operation::Update,
            Operation::Delete,
            Operation::Truncate
        ]
    );
    let ins = &rows[0];
    assert_eq!(ins.schema.as_deref(), Some("public"));
    assert_eq!(ins.table, "orders");
    assert_eq!(
        *ins.after.as_ref().unwrap().value(),
        json!({"id": 1, "total": "9.99", "note": "a"})
    );
    assert_eq!(*ins.key.as_ref().unwrap().value(), json!({"id": 1}));
    assert_eq!(ins.metadata["column_types"]["total"], "numeric");
    assert_eq!(ins.metadata["column_types"]["id"], "int4");
    assert!(ins.transaction_id.is_some() && ins.commit_time.is_some());
    assert!(ins.metadata.contains_key("xid") && ins.metadata.contains_key("commit_lsn"));
    // Two rows of one transaction: same commit LSN, ordinals 0 and 1.
    let (p0, p1) = (
        ins.position.clone().unwrap(),
        rows[1].position.clone().unwrap(),
    );
    assert_eq!(p0.as_str().split(':').next(), p1.as_str().split(':').next());
    assert!(p0 < p1);
    // Update under DEFAULT identity: no old row.
    assert!(rows[2].before.is_none());
    assert_eq!(rows[2].after.as_ref().unwrap()["total"], "12.50");
    // A primary-key change: the old key comes as `before` (key columns only).
    let moved = &rows[3];
    assert_eq!(*moved.before.as_ref().unwrap().value(), json!({"id": 2}));
    assert_eq!(moved.after.as_ref().unwrap()["id"], 3);
    assert_eq!(*moved.key.as_ref().unwrap().value(), json!({"id": 3}));
    assert_eq!(moved.metadata["key_changed"], true);
    // Delete under DEFAULT identity: the key, not a row of NULLs.
    assert_eq!(*rows[4].before.as_ref().unwrap().value(), json!({"id": 1}));
    assert_eq!(id_of(&rows[4]), Some(1));
    assert_eq!(rows[5].table, "orders");
    assert!(
        rows.iter().all(|e| e.table == "orders"),
        "unpublished table leaked"
    );
    let st = p.status("shop").await.unwrap();
    assert_eq!(st.state, SourceState::Running, "{st:?}");
    p.disconnect("shop").await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replica_identity_full_gives_whole_old_rows() {
    let pg = cluster().await;
    let db = pg.connect().await.unwrap();
    sql(
        &db,
        "create table t (id int primary key, a text, b int);
         alter table t replica identity full;
         insert into t values (1, 'x', 1);",
    )
    .await;
    let p = PostgresProvider::new();
    p.connect(&source(&pg, "full", &["t"], json!({"snapshot": "never"})))
        .await
        .unwrap();
    let rec = Recorder::new();
    let _sub = rec.subscribe(&p, "full");
    sql(
        &db,
        "update t set b = 2 where id = 1; delete from t where id = 1;",
    )
    .await;
    let rows = rec.wait_rows(2, 30).await;
    assert_eq!(
        *rows[0].before.as_ref().unwrap().value(),
        json!({"id": 1, "a": "x", "b": 1})
    );
    assert_eq!(
        *rows[0].after.as_ref().unwrap().value(),
        json!({"id": 1, "a": "x", "b": 2})
    );
    assert_eq!(
        *rows[1].before.as_ref().unwrap().value(),
        json!({"id": 1, "a": "x", "b": 2})
    );
    assert_eq!(*rows[1].key.as_ref().unwrap().value(), json!({"id": 1}));
    p.disconnect("full").await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unchanged_toast_is_never_null() {
    let pg = cluster().await;
    let db = pg.connect().await.unwrap();
    // Random text does not compress, so 100 kB is stored out of line (TOAST).
    sql(
        &db,
        "create table d (id int primary key, big text, n int);
         create table f (id int primary key, big text, n int);
         alter table f replica identity full;
         insert into d select 1, string_agg(md5(i::text), '') from generate_series(1, 3200) i;
         insert into f select 1, string_agg(md5(i::text), '') from generate_series(1, 3200) i;",
    )
    .await;
    let big: String = db
        .query_one("select big from d where id = 1", &[])
        .await
        .unwrap()
        .get(0);
    let p = PostgresProvider::new();
    p.connect(&source(
        &pg,
        "toast",
        &["d", "f"],
        json!({"snapshot": "never"}),
    ))
    .await
    .unwrap();
    let rec = Recorder::new();
    let _sub = rec.subscribe(&p, "toast");
    sql(
        &db,
        "update d set n = 1 where id = 1; update f set n = 1 where id = 1;",
    )
    .await;
    let rows = rec.wait_rows(2, 30).await;
    // DEFAULT: the value was not sent; it is left out and named, never null.
    let d = &rows[0];
    assert_eq!(d.table, "d");
    let after = d.after.as_ref().unwrap();
    assert!(after.get("big").is_none(), "{after:?}");
    assert_eq!(after["n"], 1);
    assert_eq!(d.metadata["unavailable_columns"], json!(["big"]));
    // FULL: taken from the old row.
    let f = &rows[1];
    assert_eq!(f.after.as_ref().unwrap()["big"], big.as_str());
    assert!(!f.metadata.contains_key("unavailable_columns"));
    p.disconnect("toast").await.unwrap();
}
