//! `cargo xtask demo-postgres`: real CDC with nothing but the PostgreSQL server binaries.
//!
//! Starts a throwaway cluster with logical replication (as the test suites do), creates
//! `public.orders` with a few rows, runs `cdc run examples/postgres.yaml` against it (the
//! native provider: snapshot, then stream), writes changes while it runs, and removes the
//! cluster when it ends (after `--seconds`, or at Ctrl-C).

use std::process::{Command, ExitCode, Stdio};
use std::time::Duration;

use crate::Result;
use crate::workspace::Workspace;

const DEFAULT_SECONDS: u64 = 20;

/// Runs the demo.
pub(crate) fn demo_postgres(ws: &Workspace, args: &[String]) -> Result<ExitCode> {
    let mut seconds = DEFAULT_SECONDS;
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--seconds" => {
                seconds = it
                    .next()
                    .ok_or("--seconds needs a number")?
                    .parse()
                    .ok()
                    .filter(|s| (1..=3600).contains(s))
                    .ok_or("--seconds: a number of seconds from 1 to 3600")?;
            }
            other => return Err(format!("unknown option `{other}` for `demo-postgres`").into()),
        }
    }
    println!("demo: building the cdc command");
    let built = Command::new(&ws.cargo)
        .args(["build", "-q", "-p", "cdc-cli"])
        .current_dir(&ws.root)
        .status()?;
    if !built.success() {
        return Err("building cdc-cli failed".into());
    }
    let cdc = ws.target_dir().join("debug").join("cdc");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(run(ws, &cdc, Duration::from_secs(seconds)))
}

async fn run(ws: &Workspace, cdc: &std::path::Path, length: Duration) -> Result<ExitCode> {
    println!("demo: starting a throwaway PostgreSQL cluster (wal_level=logical)");
    let pg = cdc_testkit::PgCluster::builder()
        .database("shop")
        .start()
        .await
        .map_err(|e| format!("{e}"))?;
    let db = pg.connect().await.map_err(|e| format!("{e}"))?;
    db.batch_execute(
        "create table public.orders (
           id serial primary key, item text not null, qty int not null,
           price numeric(10,2) not null, updated_at timestamptz not null default now());
         insert into orders (item, qty, price) values
           ('coffee', 2, 3.50), ('tea', 1, 2.90), ('cake', 3, 4.20);",
    )
    .await?;
    println!(
        "demo: cluster on port {} ({}); running: cdc run examples/postgres.yaml",
        pg.port(),
        pg.url()
    );
    let mut child = Command::new(cdc)
        .args(["run", "examples/postgres.yaml", "--output", "text"])
        .env("PG_DSN", pg.url())
        .current_dir(&ws.root)
        .stdin(Stdio::null())
        .spawn()
        .map_err(|e| format!("could not start {}: {e}", cdc.display()))?;
    let pid = nix::unistd::Pid::from_raw(child.id() as i32);

    let changes = [
        "insert into orders (item, qty, price) values ('bagel', 1, 2.10)",
        "update orders set qty = qty + 1, updated_at = now() where id = (select min(id) from orders)",
        "insert into orders (item, qty, price) values ('juice', 2, 3.30)",
        "delete from orders where id = (select max(id) from orders)",
    ];
    let started = tokio::time::Instant::now();
    let mut tick = tokio::time::interval(Duration::from_millis(1500));
    tick.tick().await;
    let mut n = 0;
    let reason = loop {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => break "Ctrl-C",
            _ = tick.tick() => {
                if started.elapsed() >= length {
                    break "time is up";
                }
                if let Ok(Some(status)) = child.try_wait() {
                    return Err(format!("cdc run ended early: {status}").into());
                }
                let sql = changes[n % changes.len()];
                n += 1;
                match db.batch_execute(sql).await {
                    Ok(()) => eprintln!("demo: {sql}"),
                    Err(e) => eprintln!("demo: {sql}: {e}"),
                }
            }
        }
    };
    println!("demo: stopping ({reason}): SIGTERM to cdc run, then removing the cluster");
    let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
    let status = tokio::task::spawn_blocking(move || child.wait()).await??;
    drop(db);
    pg.stop().map_err(|e| format!("{e}"))?;
    println!("demo: done (cdc run exited with {status})");
    Ok(if status.success() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
