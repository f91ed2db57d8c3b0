//! Partitioned tables through a real server: published under the partitioned table's name
//! (the publication cdc-rs creates, `publish_via_partition_root = true`) or by partition (a
//! publication of the operator's without it); the snapshot reads each row once either way;
//! a row moved by an UPDATE of the partition key, and partitions attached and detached while
//! streaming.

mod common;

use std::collections::BTreeMap;

use cdc_core::{CdcProvider, Operation, SharedEvent};
use cdc_postgres::PostgresProvider;
use common::{Recorder, cluster, id_of, source, sql};
use serde_json::json;

const TABLES: &str = "
create table m (id int, k int, v text, primary key (id, k)) partition by range (k);
create table m1 partition of m for values from (0) to (10);
create table m2 partition of m for values from (10) to (20);
insert into m values (1, 1, 'a'), (2, 15, 'b'), (3, 5, 'c');";

/// (operation, `schema.table`) of every row event, by id, in order.
fn by_id(events: &[SharedEvent]) -> BTreeMap<i64, Vec<(Operation, String)>> {
    let mut out: BTreeMap<i64, Vec<(Operation, String)>> = BTreeMap::new();
    for e in events {
        let id = id_of(e).unwrap_or_else(|| panic!("no id: {e:?}"));
        let table = format!("{}.{}", e.schema.as_deref().unwrap_or(""), e.table);
        out.entry(id).or_default().push((e.operation, table));
    }
    out
}

fn ops(list: &[(Operation, &str)]) -> Vec<(Operation, String)> {
    list.iter().map(|(o, t)| (*o, (*t).to_owned())).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn own_publication_names_changes_by_the_partitioned_table() {
    let pg = cluster().await;
    let db = pg.connect().await.unwrap();
    sql(&db, TABLES).await;
    let p = PostgresProvider::new();
    p.connect(&source(&pg, "root", &["public.m"], json!({})))
        .await
        .unwrap();
    let rec = Recorder::new();
    let _sub = rec.subscribe(&p, "root");
    rec.wait_rows(3, 30).await;
    sql(
        &db,
        "update m set k = 12 where id = 1;
         create table m3 (id int not null, k int not null, v text, primary key (id, k));
         alter table m attach partition m3 for values from (20) to (30);
         insert into m values (4, 25, 'd');
         alter table m detach partition m2;
         insert into m2 values (5, 15, 'not captured');
         insert into m values (6, 3, 'f');",
    )
    .await;
    // The last insert is in the stream after everything before it.
    rec.wait_until(30, "row 6", |evs| {
        evs.iter().any(|e| e.after.is_some() && id_of(e) == Some(6))
    })
    .await;
    let got = by_id(&rec.rows());
    use Operation::{Delete, Insert, SnapshotRead};
    let mut want = BTreeMap::new();
    // A row moved to another partition: a delete and an insert, both under the root.
    want.insert(
        1,
        ops(&[
            (SnapshotRead, "public.m"),
            (Delete, "public.m"),
            (Insert, "public.m"),
        ]),
    );
    want.insert(2, ops(&[(SnapshotRead, "public.m")]));
    want.insert(3, ops(&[(SnapshotRead, "public.m")]));
    want.insert(4, ops(&[(Insert, "public.m")]));
    want.insert(6, ops(&[(Insert, "public.m")]));
    assert_eq!(got, want);
    p.disconnect("root").await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_publication_by_partition_is_captured_by_partition() {
    let pg = cluster().await;
    let db = pg.connect().await.unwrap();
    sql(&db, TABLES).await;
    // The operator's publication, without publish_via_partition_root: the server lists
    // (and streams) the partitions, never the partitioned table.
    sql(&db, "create publication leaves for table m").await;
    let p = PostgresProvider::new();
    p.connect(&source(
        &pg,
        "leaves",
        &["public.m"],
        json!({"publication": "leaves"}),
    ))
    .await
    .expect("a publication of every partition covers the partitioned table");
    let rec = Recorder::new();
    let _sub = rec.subscribe(&p, "leaves");
    rec.wait_rows(3, 30).await;
    sql(
        &db,
        "update m set k = 12 where id = 1;
         insert into m values (4, 2, 'd');
         update m set v = 'e' where id = 2;",
    )
    .await;
    rec.wait_rows(7, 30).await;
    let got = by_id(&rec.rows());
    use Operation::{Delete, Insert, SnapshotRead, Update};
    let mut want = BTreeMap::new();
    // The snapshot names rows as the stream does, each row once.
    want.insert(
        1,
        ops(&[
            (SnapshotRead, "public.m1"),
            (Delete, "public.m1"),
            (Insert, "public.m2"),
        ]),
    );
    want.insert(
        2,
        ops(&[(SnapshotRead, "public.m2"), (Update, "public.m2")]),
    );
    want.insert(3, ops(&[(SnapshotRead, "public.m1")]));
    want.insert(4, ops(&[(Insert, "public.m1")]));
    assert_eq!(got, want);
    // Keys are the partitions' primary keys.
    let moved = rec
        .rows()
        .into_iter()
        .find(|e| e.operation == Delete)
        .unwrap();
    assert_eq!(
        *moved.key.as_ref().unwrap().value(),
        json!({"id": 1, "k": 1})
    );
    p.disconnect("leaves").await.unwrap();
    // A reconnect finds the same coverage (nothing to add to the publication).
    p.connect(&source(
        &pg,
        "leaves",
        &["public.m"],
        json!({"publication": "leaves"}),
    ))
    .await
    .unwrap();
    p.disconnect("leaves").await.unwrap();
}
