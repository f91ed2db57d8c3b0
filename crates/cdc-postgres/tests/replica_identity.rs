//! `REPLICA IDENTITY USING INDEX` on a unique index other than the primary key, through a
//! real server: the server identifies old rows by the index's columns alone, so they are
//! every event's key (snapshot and stream alike), and a DELETE's key is the deleted row's,
//! never a key of NULLs.

mod common;

use cdc_core::{CdcProvider, Operation};
use cdc_postgres::PostgresProvider;
use common::{Recorder, cluster, source, sql};
use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn using_index_keys_every_event_by_the_index() {
    let pg = cluster().await;
    let db = pg.connect().await.unwrap();
    sql(
        &db,
        "create table ui (id int primary key, u int not null, v text);
         create unique index ui_u on ui (u);
         alter table ui replica identity using index ui_u;
         insert into ui values (1, 10, 'a');",
    )
    .await;
    let p = PostgresProvider::new();
    p.connect(&source(&pg, "ui", &["public.ui"], json!({})))
        .await
        .unwrap();
    let rec = Recorder::new();
    let _sub = rec.subscribe(&p, "ui");
    rec.wait_rows(1, 30).await;
    sql(
        &db,
        "insert into ui values (2, 20, 'b');
         update ui set u = 11 where id = 1;
         update ui set id = 3 where id = 1;
         delete from ui where id = 3;
         delete from ui where id = 2;",
    )
    .await;
    let rows = rec.wait_rows(6, 30).await;
    let key = |i: usize| rows[i].key.as_ref().map(|k| k.value().clone());
    let before = |i: usize| rows[i].before.as_ref().map(|k| k.value().clone());
    let ops: Vec<Operation> = rows.iter().map(|e| e.operation).collect();
    use Operation::{Delete, Insert, SnapshotRead, Update};
    assert_eq!(ops, [SnapshotRead, Insert, Update, Update, Delete, Delete]);
    for (i, e) in rows.iter().enumerate() {
        let k = e.key.as_ref().unwrap().value().clone();
        assert!(
            k.as_object().unwrap().values().all(|v| *v != Value::Null),
            "event {i} has a key of NULLs: {k}"
        );
    }
    // The snapshot and the stream key rows alike.
    assert_eq!(key(0), Some(json!({"u": 10})));
    assert_eq!(key(1), Some(json!({"u": 20})));
    // A change of the identity: the old one is `before`.
    assert_eq!(before(2), Some(json!({"u": 10})));
    assert_eq!(key(2), Some(json!({"u": 11})));
    assert_eq!(rows[2].metadata["key_changed"], true);
    // The primary key changed, the identity did not: the server sends no old row.
    assert_eq!(key(3), Some(json!({"u": 11})));
    assert_eq!(rows[3].after.as_ref().unwrap()["id"], 3);
    // Deletes name the deleted rows.
    assert_eq!(key(4), Some(json!({"u": 11})));
    assert_eq!(before(4), Some(json!({"u": 11})));
    assert_eq!(key(5), Some(json!({"u": 20})));
    p.disconnect("ui").await.unwrap();
}
