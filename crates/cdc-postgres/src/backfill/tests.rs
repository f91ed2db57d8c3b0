//! Tests of the backfill state: requests and watermarks.

use super::*;

fn req(t: &str) -> Request {
    Request {
        tables: vec![t.to_owned()],
        after: None,
    }
}

fn chunk(ids: &[i64]) -> window::ChunkRows {
    window::ChunkRows {
        events: ids
            .iter()
            .map(|i| {
                ChangeEvent::new("s", cdc_core::Operation::SnapshotRead, "public.t")
                    .with_key(json!({ "id": i }))
            })
            .collect(),
        keys: ids.iter().map(|i| format!("[{i}]")).collect(),
    }
}

/// Forged or malformed watermarks change nothing; a high watermark read again after a
/// reconnect (its rows lost with the session before the handlers took them) emits the
/// rows again.
#[test]
fn watermarks_are_judged_and_a_high_one_read_again_emits_again() {
    let bf = Backfill::default();
    let wm = |seq, kind| bf.mark("slot", seq, kind);
    let seq = bf.next_seq();
    bf.open_window(Pending::new(seq, "public", "t", vec!["id".into()]));
    let at = Lsn::from_u64;
    for forged in [
        b"garbage".to_vec(),
        br#"{"slot":"slot","run":"guess","seq":1,"mark":"low"}"#.to_vec(),
        br#"{"slot":"slot","run":"guess","seq":1,"mark":"high"}"#.to_vec(),
    ] {
        assert_eq!(bf.on_watermark("slot", true, &forged, at(5), 6), None);
    }
    // Ours, but non-transactional: not how we write them.
    assert_eq!(
        bf.on_watermark("slot", false, wm(seq, Kind::Low).as_bytes(), at(9), 9),
        None
    );
    assert!(!lock(&bf.window).as_ref().unwrap().is_open());
    assert_eq!(
        bf.on_watermark("slot", true, wm(seq, Kind::Low).as_bytes(), at(10), 11),
        None
    );
    // A high one before the rows were read is not ours: closing there would skip them.
    let high = wm(seq, Kind::High);
    assert_eq!(
        bf.on_watermark("slot", true, high.as_bytes(), at(15), 16),
        None
    );
    bf.set_rows(seq, chunk(&[1, 2]), window::Unseen::default());
    let rows = bf
        .on_watermark("slot", true, high.as_bytes(), at(20), 21)
        .expect("emitted");
    assert_eq!(rows.len(), 2);
    assert_eq!(*lock(&bf.emitted).as_ref().map(|e| &e.seq).unwrap(), seq);
    // Read again at the same position after a reconnect: the same rows again.
    let again = bf.on_watermark("slot", true, high.as_bytes(), at(20), 21);
    assert_eq!(again.as_deref(), Some(&rows[..]));
    // A copy elsewhere in the WAL is not it.
    assert_eq!(
        bf.on_watermark("slot", true, high.as_bytes(), at(30), 31),
        None
    );
    // Once the next chunk's window opens, the rows are gone.
    let next = bf.next_seq();
    bf.open_window(Pending::new(next, "public", "t", vec!["id".into()]));
    assert_eq!(
        bf.on_watermark("slot", true, high.as_bytes(), at(20), 21),
        None
    );
}

#[test]
fn a_request_counts_the_one_being_worked_on_between_chunks() {
    let bf = Backfill::default();
    assert_eq!(bf.request(req("public.a")), 0);
    let taken = bf.next_request().expect("queued");
    assert_eq!(taken.tables, ["public.a"]);
    // No chunk window is open (between chunks), yet the taken request is ahead.
    assert!(!bf.is_active());
    assert_eq!(bf.request(req("public.b")), 1);
    assert_eq!(bf.request(req("public.c")), 2);
    bf.finish_request();
    assert_eq!(bf.request(req("public.d")), 2);
    assert_eq!(bf.next_request().unwrap().tables, ["public.b"]);
    assert_eq!(bf.queued().len(), 2);
}
