//! Throughput of the native PostgreSQL provider against the server's own tools, in the same
//! run on the same throwaway cluster (a server is needed, so this is not criterion):
//!
//! 1. streaming: 1 000 000 single-row insert transactions read from a slot, decoded into
//!    `ChangeEvent`s and handed to a no-op handler, next to `pg_recvlogical` reading an equal
//!    pgoutput slot to /dev/null (target ≥ 0.9×);
//! 2. initial snapshot: a 1 000 000-row table, next to `COPY ... TO STDOUT` through `psql` to
//!    /dev/null (target ≥ 0.8×);
//! 3. memory: peak RSS while the handler is 10× slower than the stream, next to a fast
//!    handler (target: within 2×).
//!
//! `cargo bench -p cdc-postgres --bench pg_bench` (`-- --rows N` for a smaller run,
//! `--snapshot-only` to skip the streaming parts, `--parallel` for the snapshot of one table
//! by 1, 2 and 4 workers at N and 10·N rows, with the process's peak RSS of each: the same
//! at both sizes when memory is bounded whatever the table size).

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use cdc_core::{CdcProvider, EventHandler, HandlerError, SharedEvent, SourceConfig};
use cdc_postgres::PostgresProvider;
use cdc_testkit::PgCluster;
use serde_json::json;

/// Counts events; optionally sleeps per batch; samples RSS.
struct Sink {
    events: AtomicU64,
    peak_rss: AtomicU64,
    delay_per_event: Duration,
    sample_rss: bool,
}

#[async_trait]
impl EventHandler for Sink {
    async fn handle(&self, events: &[SharedEvent]) -> Result<(), HandlerError> {
        self.events
            .fetch_add(events.len() as u64, Ordering::Relaxed);
        if self.sample_rss {
            self.peak_rss.fetch_max(rss(), Ordering::Relaxed);
        }
        if !self.delay_per_event.is_zero() {
            tokio::time::sleep(self.delay_per_event * events.len() as u32).await;
        }
        Ok(())
    }
}

fn rss() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        })
        .unwrap_or(0)
        * 1024
}

/// CPU seconds (user + system) this process used so far.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name (which is in parentheses): utime is the 12th, stime 13th.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    (ticks(11) + ticks(12)) / 100.0
}

fn source(pg: &PgCluster, id: &str, slot: &str, snapshot: &str) -> SourceConfig {
    source_with(pg, id, slot, snapshot, 2)
}

fn source_with(pg: &PgCluster, id: &str, slot: &str, snapshot: &str, workers: u32) -> SourceConfig {
    SourceConfig {
        provider: "postgres".into(),
        source_id: id.into(),
        source_type: "postgres".into(),
        connection: pg.url().into(),
        tables: vec!["public.bench".into()],
        options: json!({"slot": slot, "publication": "bench_pub", "snapshot": snapshot,
                        "snapshot_workers": workers, "drop_slot_on_stop": snapshot == "initial"})
        .as_object()
        .unwrap()
        .clone(),
    }
}

/// Our initial snapshot of the bench table with `workers` workers: seconds, and the
/// process's peak RSS while it ran (sampled every 5 ms on a task of its own, so the handler
/// pays nothing for it).
async fn our_snapshot(pg: &PgCluster, id: &str, workers: u32, rows: u64) -> (f64, u64) {
    let s = sink(Duration::ZERO, false);
    let p = PostgresProvider::new();
    let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let sampler = tokio::spawn({
        let done = Arc::clone(&done);
        async move {
            let mut peak = 0u64;
            while !done.load(Ordering::Relaxed) {
                peak = peak.max(rss());
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            peak
        }
    });
    let started = Instant::now();
    p.connect(&source_with(pg, id, id, "initial", workers))
        .await
        .unwrap();
    let _sub = p.subscribe(id, s.clone() as Arc<dyn EventHandler>).unwrap();
    while s.events.load(Ordering::Relaxed) < rows {
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let secs = started.elapsed().as_secs_f64();
    done.store(true, Ordering::Relaxed);
    let peak = sampler.await.unwrap();
    p.disconnect(id).await.unwrap();
    (secs, peak)
}

/// `psql -c "COPY bench TO STDOUT [(FORMAT binary)]"` into /dev/null: seconds.
fn psql_copy_format(pg: &PgCluster, binary: bool) -> f64 {
    let bin = pg.binaries().bin("psql");
    let sql = if binary {
        "COPY bench TO STDOUT (FORMAT binary)"
    } else {
        "COPY bench TO STDOUT"
    };
    let started = Instant::now();
    let status = Command::new(bin)
        .args(["-X", "-q", "-d", &pg.connection_string(), "-c", sql])
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success(), "psql failed: {status}");
    started.elapsed().as_secs_f64()
}

async fn lsn(db: &tokio_postgres::Client) -> String {
    db.query_one("select pg_current_wal_lsn()::text", &[])
        .await
        .unwrap()
        .get(0)
}

/// Our provider reading `rows` events from an existing slot into `sink`: seconds.
async fn ours(pg: &PgCluster, slot: &str, rows: u64, sink: Arc<Sink>) -> f64 {
    let p = PostgresProvider::new();
    let started = Instant::now();
    p.connect(&source(pg, slot, slot, "never")).await.unwrap();
    let _sub = p
        .subscribe(slot, sink.clone() as Arc<dyn EventHandler>)
        .unwrap();
    while sink.events.load(Ordering::Relaxed) < rows {
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let secs = started.elapsed().as_secs_f64();
    p.disconnect(slot).await.unwrap();
    secs
}

/// `pg_recvlogical` reading the slot up to `end` into /dev/null: seconds.
fn recvlogical(pg: &PgCluster, slot: &str, end: &str) -> f64 {
    let bin = pg.binaries().bin("pg_recvlogical");
    let started = Instant::now();
    let status = Command::new(bin)
        .args([
            "-h",
            pg.host(),
            "-p",
            &pg.port().to_string(),
            "-U",
            pg.user(),
            "-d",
            pg.database(),
            "--slot",
            slot,
            "--start",
            "--no-loop",
            "-o",
            "proto_version=1",
            "-o",
            "publication_names=bench_pub",
            "-E",
            end,
            "-f",
            "/dev/null",
        ])
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success(), "pg_recvlogical failed: {status}");
    started.elapsed().as_secs_f64()
}

/// `psql -c "COPY bench TO STDOUT"` into /dev/null: seconds.
fn psql_copy(pg: &PgCluster) -> f64 {
    let bin = pg.binaries().bin("psql");
    let started = Instant::now();
    let status = Command::new(bin)
        .args([
            "-X",
            "-q",
            "-d",
            &pg.connection_string(),
            "-c",
            "COPY bench TO STDOUT",
        ])
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success(), "psql failed: {status}");
    started.elapsed().as_secs_f64()
}

fn sink(delay: Duration, sample_rss: bool) -> Arc<Sink> {
    Arc::new(Sink {
        events: AtomicU64::new(0),
        peak_rss: AtomicU64::new(0),
        delay_per_event: delay,
        sample_rss,
    })
}

fn line(what: &str, ours: f64, base: f64, rows: u64, target: f64) {
    let ratio = base / ours;
    println!(
        "{what:<34} ours {:>9.0} rows/s ({ours:.2} s)  baseline {:>9.0} rows/s ({base:.2} s)  ratio {ratio:.2}x  target >= {target}x: {}",
        rows as f64 / ours,
        rows as f64 / base,
        if ratio >= target { "met" } else { "NOT met" }
    );
}

fn main() {
    let mut rows: u64 = 1_000_000;
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--rows") {
        rows = args[i + 1].parse().expect("--rows N");
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        let pg = PgCluster::builder()
            .setting("shared_buffers", "256MB")
            .setting("logical_decoding_work_mem", "256MB")
            .setting("max_wal_size", "4GB")
            .setting("checkpoint_timeout", "30min")
            .setting("max_replication_slots", "64")
            .setting("max_wal_senders", "64")
            .start()
            .await
            .unwrap();
        let db = pg.connect().await.unwrap();
        db.batch_execute(
            "create table bench (id bigint primary key, qty int, price numeric(12,2), note text, at timestamptz);
             create publication bench_pub for table bench;
             create procedure gen(n bigint) language plpgsql as $$
             begin
               for i in 1..n loop
                 insert into bench values (i, i % 100, i * 0.01, 'note ' || i, now());
                 commit;
               end loop;
             end $$;",
        )
        .await
        .unwrap();

        let snapshot_only = std::env::args().any(|a| a == "--snapshot-only");
        if !snapshot_only {
        // 1. Streaming: two slots at the same position, then `rows` transactions.
        for slot in ["bench_ours", "bench_recv", "bench_ours2", "bench_recv2"] {
            db.execute(
                "select pg_create_logical_replication_slot($1, 'pgoutput')",
                &[&slot],
            )
            .await
            .unwrap();
        }
        println!("generating {rows} single-row transactions ...");
        let t = Instant::now();
        db.batch_execute("set synchronous_commit = off").await.unwrap();
        db.batch_execute(&format!("call gen({rows})")).await.unwrap();
        println!("  generated in {:.1} s", t.elapsed().as_secs_f64());
        let end = lsn(&db).await;
        let mut best_ours = f64::MAX;
        let mut best_recv = f64::MAX;
        for (a, b) in [("bench_ours", "bench_recv"), ("bench_ours2", "bench_recv2")] {
            best_recv = best_recv.min(recvlogical(&pg, b, &end));
            best_ours = best_ours.min(ours(&pg, a, rows, sink(Duration::ZERO, false)).await);
        }
        line("streaming (1 row per transaction)", best_ours, best_recv, rows, 0.9);

        // 3. Memory: a handler 10x slower than the fast one, on a fresh slot, vs a fast one.
        let mem_rows = rows.min(200_000);
        let per_event = Duration::from_secs_f64(best_ours / rows as f64 * 10.0);
        for slot in ["bench_fast", "bench_slow"] {
            db.execute(
                "select pg_create_logical_replication_slot($1, 'pgoutput')",
                &[&slot],
            )
            .await
            .unwrap();
        }
        db.batch_execute("truncate bench").await.unwrap();
        db.batch_execute(&format!("call gen({mem_rows})")).await.unwrap();
        // The truncate is an event too.
        let fast = sink(Duration::ZERO, true);
        ours(&pg, "bench_fast", mem_rows + 1, fast.clone()).await;
        let slow = sink(per_event, true);
        let slow_secs = ours(&pg, "bench_slow", mem_rows + 1, slow.clone()).await;
        let (f, s) = (
            fast.peak_rss.load(Ordering::Relaxed),
            slow.peak_rss.load(Ordering::Relaxed),
        );
        println!(
            "memory, handler 10x slower ({:.1} s)  peak RSS {} MB vs {} MB with a fast handler: {:.2}x  target <= 2x: {}",
            slow_secs,
            s >> 20,
            f >> 20,
            s as f64 / f as f64,
            if s <= 2 * f { "met" } else { "NOT met" }
        );

        }
        // 2. Snapshot of a `rows`-row table vs one COPY through psql.
        db.batch_execute(&format!(
            "truncate bench; insert into bench select i, i % 100, i * 0.01, 'note ' || i, now() from generate_series(1, {rows}) i"
        ))
        .await
        .unwrap();
        db.batch_execute("vacuum analyze bench").await.unwrap();
        let mut best_copy = f64::MAX;
        let mut best_snap = f64::MAX;
        for round in 0..2 {
            best_copy = best_copy.min(psql_copy(&pg));
            let s = sink(Duration::ZERO, false);
            let p = PostgresProvider::new();
            let id = format!("snap{round}");
            let started = Instant::now();
            let cpu = cpu_seconds();
            p.connect(&source(&pg, &id, &format!("bench_snap{round}"), "initial"))
                .await
                .unwrap();
            let _sub = p.subscribe(&id, s.clone() as Arc<dyn EventHandler>).unwrap();
            while s.events.load(Ordering::Relaxed) < rows {
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
            let wall = started.elapsed().as_secs_f64();
            println!(
                "  snapshot round {round}: {wall:.2} s, this process used {:.2} CPU s",
                cpu_seconds() - cpu
            );
            best_snap = best_snap.min(wall);
            p.disconnect(&id).await.unwrap();
        }
        line("initial snapshot (one table)", best_snap, best_copy, rows, 0.8);
        // For the record: tokio-postgres's COPY stream alone, rows counted, nothing decoded.
        let t = Instant::now();
        let stream = db.copy_out("COPY bench TO STDOUT").await.unwrap();
        let mut stream = std::pin::pin!(stream);
        let mut n = 0u64;
        use futures::StreamExt;
        while let Some(chunk) = stream.next().await {
            n += chunk.unwrap().iter().filter(|b| **b == b'\n').count() as u64;
        }
        assert_eq!(n, rows);
        line("  (tokio-postgres COPY, no decode)", t.elapsed().as_secs_f64(), best_copy, rows, 0.8);
        // Parallel snapshots (page ranges of one table), 1, 2 and 4 workers, at `rows` and
        // at ten times that, next to one COPY; and the server's own cost of text vs binary.
        if std::env::args().any(|a| a == "--parallel") {
            // What a snapshot costs whatever the table's size (the slot and its exported
            // snapshot, the workers' connections and ranges): a one-row table's.
            db.batch_execute("truncate bench; insert into bench values (1, 1, 0.01, 'note', now())")
                .await
                .unwrap();
            let fixed: f64 = [
                our_snapshot(&pg, "fixed1", 2, 1).await.0,
                our_snapshot(&pg, "fixed2", 2, 1).await.0,
            ]
            .into_iter()
            .fold(f64::MAX, f64::min);
            println!("snapshot of a one-row table (2 workers): {:.1} ms", fixed * 1000.0);
            for size in [rows, rows * 10] {
                db.batch_execute(&format!(
                    "truncate bench; insert into bench select i, i % 100, i * 0.01, 'note ' || i, now() from generate_series(1, {size}) i"
                ))
                .await
                .unwrap();
                db.batch_execute("vacuum analyze bench").await.unwrap();
                let copy = psql_copy_format(&pg, false).min(psql_copy_format(&pg, false));
                let binary = psql_copy_format(&pg, true).min(psql_copy_format(&pg, true));
                println!(
                    "{size} rows: COPY text {copy:.2} s, binary {binary:.2} s (the server's cost of text: {:.2}x binary)",
                    copy / binary
                );
                for workers in [1u32, 2, 4] {
                    // The better of two, as the COPY's figure is.
                    let (mut secs, mut peak) = (f64::MAX, 0u64);
                    for round in 0..2 {
                        let id = format!("par{size}w{workers}r{round}");
                        let (s, p) = our_snapshot(&pg, &id, workers, size).await;
                        secs = secs.min(s);
                        peak = peak.max(p);
                    }
                    line(&format!("  snapshot, {workers} worker(s)"), secs, copy, size, 1.0);
                    // Memory bounded whatever the table size: compare this across sizes.
                    println!("    peak RSS of the process while it ran: {} MB", peak >> 20);
                }
            }
        }
        pg.stop().unwrap();
    });
}
