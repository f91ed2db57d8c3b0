//! Tests of the watermark window.

use super::*;
use serde_json::json;

fn rows(c: Closed) -> Vec<ChangeEvent> {
    match c {
        Closed::Rows(r) => r,
        Closed::Reread => panic!("read again"),
    }
}

fn ev(op: Operation, id: i64) -> ChangeEvent {
    ChangeEvent::new("s", op, "public.t").with_key(json!({"id": id}))
}

#[test]
fn rows_touched_inside_the_window_are_dropped() {
    let mut p = Pending::new(1, "public", "t", vec!["id".into()]);
    p.note(&ev(Operation::Update, 1), 100); // before the low watermark: not noted
    p.open(100);
    p.note(&ev(Operation::Update, 2), 100);
    p.note(&ev(Operation::Delete, 3), 100);
    p.note(
        &ChangeEvent::new("s", Operation::Delete, "public.other").with_key(json!({"id": 4})),
        100,
    );
    p.rows = Some(ChunkRows {
        events: (1..=4).map(|i| ev(Operation::SnapshotRead, i)).collect(),
        keys: (1..=4).map(|i| format!("[{i}]")).collect(),
    });
    let kept: Vec<i64> = rows(p.close())
        .iter()
        .map(|e| e.key.as_ref().unwrap()["id"].as_i64().unwrap())
        .collect();
    assert_eq!(kept, vec![1, 4]);
    let mut t = Pending::new(2, "public", "t", vec!["id".into()]);
    t.open(100);
    t.note(&ChangeEvent::new("s", Operation::Truncate, "public.t"), 100);
    t.rows = Some(ChunkRows {
        events: vec![ev(Operation::SnapshotRead, 9)],
        keys: vec!["[9]".into()],
    });
    assert_eq!(t.close(), Closed::Rows(Vec::new()));
    assert_eq!(
        canonical_key(
            &Row::from(json!({"b": "x", "a": 1, "c": 0})),
            &["a".into(), "b".into()]
        ),
        Some(r#"[1,"x"]"#.into())
    );
}

fn ev_in(op: Operation, id: i64, xid: u32) -> ChangeEvent {
    let mut e = ev(op, id);
    e.metadata.insert_static("xid", xid.into());
    e
}

/// A transaction whose commit came before the low watermark but that the chunk's
/// snapshot did not see (still in progress for it, or from its xmax on): its rows are
/// dropped from the chunk; those of transactions the snapshot saw are kept.
#[test]
fn changes_before_the_window_the_snapshot_did_not_see_drop_their_rows() {
    // Kept between two chunks, then taken over by the next chunk's window.
    let mut between = Pending::between_chunks("public", "t", vec!["id".into()]);
    between.note(&ev_in(Operation::Update, 1, 100), 100); // seen by the snapshot
    between.note(&ev_in(Operation::Update, 2, 105), 100); // in progress for it
    let mut p = Pending::new(7, "public", "t", vec!["id".into()]);
    p.inherit(between);
    p.note(&ev_in(Operation::Delete, 3, 120), 100); // at/after its xmax
    p.note(&ev_in(Operation::Update, 4, 101), 100); // seen
    p.note(&ev_in(Operation::Update, 6, 105), 100);
    p.open(100);
    p.note(&ev_in(Operation::Update, 5, 90), 100); // inside the window: always noted
    p.rows = Some(ChunkRows {
        events: (1..=7).map(|i| ev(Operation::SnapshotRead, i)).collect(),
        keys: (1..=7).map(|i| format!("[{i}]")).collect(),
    });
    p.unseen = Some(Unseen {
        xmax: 110,
        xip: [105].into_iter().collect(),
    });
    let kept: Vec<i64> = rows(p.close())
        .iter()
        .map(|e| e.key.as_ref().unwrap()["id"].as_i64().unwrap())
        .collect();
    assert_eq!(kept, vec![1, 4, 7]);

    // A truncate before the window that the snapshot did not see drops the chunk.
    let mut t = Pending::new(8, "public", "t", vec!["id".into()]);
    t.note(
        &{
            let mut e = ChangeEvent::new("s", Operation::Truncate, "public.t");
            e.metadata.insert_static("xid", 200u32.into());
            e
        },
        100,
    );
    t.open(100);
    t.rows = Some(ChunkRows {
        events: vec![ev(Operation::SnapshotRead, 1)],
        keys: vec!["[1]".into()],
    });
    t.unseen = Some(Unseen {
        xmax: 150,
        xip: Default::default(),
    });
    assert_eq!(t.close(), Closed::Rows(Vec::new()));
}

/// An UPDATE whose image lacks the key (key column unchanged TOAST, left out of
/// `after`; no old key with REPLICA IDENTITY DEFAULT) may be of any row: the chunk is
/// read again, never emitted with a possibly older image.
#[test]
fn a_change_without_its_key_makes_the_chunk_read_again() {
    let keyless = || {
        let mut e =
            ChangeEvent::new("s", Operation::Update, "public.t").with_after(json!({"v": 2}));
        e.metadata.insert_static("xid", 300u32.into());
        e
    };
    let chunk = || ChunkRows {
        events: vec![ev(Operation::SnapshotRead, 1)],
        keys: vec!["[1]".into()],
    };
    let mut p = Pending::new(1, "public", "t", vec!["id".into()]);
    p.open(100);
    p.note(&keyless(), 200);
    p.rows = Some(chunk());
    assert_eq!(p.close(), Closed::Reread);
    // Before the window, of a transaction the snapshot did not see: the same.
    let mut b = Pending::new(2, "public", "t", vec!["id".into()]);
    b.note(&keyless(), 50);
    b.open(100);
    b.rows = Some(chunk());
    b.unseen = Some(Unseen {
        xmax: 250,
        xip: Default::default(),
    });
    assert_eq!(b.close(), Closed::Reread);
    // One it saw is harmless.
    let mut c = Pending::new(3, "public", "t", vec!["id".into()]);
    c.note(&keyless(), 50);
    c.open(100);
    c.rows = Some(chunk());
    c.unseen = Some(Unseen {
        xmax: 400,
        xip: Default::default(),
    });
    assert_eq!(rows(c.close()).len(), 1);
}

/// After a reconnect the stream reads changes committed before the low watermark again,
/// with the window already open: they still count as from before it, so a row the
/// snapshot saw after them is not dropped.
#[test]
fn changes_read_again_after_a_reconnect_keep_their_place_before_the_window() {
    let mut p = Pending::new(1, "public", "t", vec!["id".into()]);
    p.open(1000);
    p.note(&ev_in(Operation::Update, 1, 100), 900); // replayed, committed before low
    p.note(&ev_in(Operation::Update, 2, 101), 1100); // inside the window
    p.open(1000); // the low watermark read again
    p.rows = Some(ChunkRows {
        events: (1..=3).map(|i| ev(Operation::SnapshotRead, i)).collect(),
        keys: (1..=3).map(|i| format!("[{i}]")).collect(),
    });
    p.unseen = Some(Unseen {
        xmax: 150,
        xip: Default::default(),
    });
    let kept: Vec<i64> = rows(p.close())
        .iter()
        .map(|e| e.key.as_ref().unwrap()["id"].as_i64().unwrap())
        .collect();
    assert_eq!(kept, vec![1, 3]);
}

#[test]
fn unseen_compares_xids_modulo_2_32() {
    let u = Unseen {
        xmax: u32::MAX - 1,
        xip: [u32::MAX - 10].into_iter().collect(),
    };
    assert!(u.contains(u32::MAX - 1));
    assert!(u.contains(u32::MAX));
    assert!(u.contains(3)); // wrapped past 2^32: after xmax
    assert!(u.contains(u32::MAX - 10));
    assert!(!u.contains(u32::MAX - 11));
    assert!(!u.contains(u32::MAX - 1_000_000));
}
