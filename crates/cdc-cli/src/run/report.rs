//! What a run tells about itself: the periodic summary on stderr, the status file, and the
//! final per-source lines.

use std::time::Duration;

use cdc::CdcProvider;
use serde_json::Value;
use time::format_description::well_known::Rfc3339;

use super::status_file::{SourceReport, StatusFile};
use super::{Running, progress};
use crate::config::ConfigFile;

/// One line per source on stderr: events/s and lag; snapshot progress while rows arrive.
pub async fn summarize(sources: &[Running], elapsed_secs: f64, bars: bool) {
    for s in sources {
        let id = s.module.source_id();
        let delta = s.stats.take_delta();
        let status = s.module.provider().status(id).await;
        let (state, lag) = match &status {
            Ok(st) => (
                st.state.to_string(),
                match (st.lag_bytes, st.lag_seconds) {
                    (None, None) => "unknown".to_owned(),
                    (b, sec) => format!(
                        "{} bytes / {} s",
                        b.map_or("?".into(), |v| v.to_string()),
                        sec.map_or("?".into(), |v| v.to_string())
                    ),
                },
            ),
            Err(e) => ("error".to_owned(), format!("status failed: {e}")),
        };
        let skipped = match s.skipped_lines() {
            0 => String::new(),
            n => format!(", {n} bad line(s) skipped"),
        };
        eprintln!(
            "cdc: {id}: {state}, {} events total, {:.1} events/s, lag {lag}{skipped}",
            s.stats.events(),
            delta as f64 / elapsed_secs
        );
        // Snapshot progress: bars on a terminal (see `progress`), this line otherwise.
        let (new_rows, rows) = s.stats.take_snapshot_delta();
        if !bars && !rows.is_empty() && progress::snapshotting(status.as_ref().ok(), new_rows) {
            eprintln!(
                "cdc: {id}: snapshot: {}",
                progress::line(&rows, status.as_ref().ok(), new_rows as f64 / elapsed_secs)
            );
        }
    }
}

/// The final line of each source: events read (memory sources), delivered, lines skipped.
/// Returns how many events read were not delivered.
pub async fn final_lines(sources: &[Running]) -> u64 {
    let mut undelivered = 0;
    for s in sources {
        let id = s.module.source_id();
        let skipped = match s.skipped_lines() {
            0 => String::new(),
            n => format!(", {n} bad line(s) skipped (each reported above with its line)"),
        };
        let read = match &s.memory {
            Some(m) => m
                .status(id)
                .await
                .ok()
                .and_then(|st| st.details.get("injected").and_then(Value::as_u64)),
            None => None,
        };
        let delivered = s.stats.events();
        match read {
            Some(n) => {
                undelivered += n.saturating_sub(delivered);
                eprintln!("cdc: source {id}: {n} event(s) read, {delivered} delivered{skipped}");
            }
            None => eprintln!("cdc: source {id}: {delivered} event(s) delivered{skipped}"),
        }
    }
    undelivered
}

/// Writes the status file `cdc status` reads. A failure is logged, never fatal.
pub async fn write_status(
    cfg: &ConfigFile,
    path: &std::path::Path,
    sources: &[Running],
    running: bool,
    http: Option<&str>,
) {
    let file = collect(cfg, sources, running, http, STATUS_TIMEOUT).await;
    if let Err(e) = file.write(path) {
        tracing::warn!(path = %path.display(), error = %e, "cannot write the status file");
    }
}

/// The run's status now: each source's status (an error status for one that does not answer
/// within `timeout`) with the events the run counted.
pub async fn collect(
    cfg: &ConfigFile,
    sources: &[Running],
    running: bool,
    http: Option<&str>,
    timeout: Duration,
) -> StatusFile {
    let mut reports = Vec::new();
    for s in sources {
        reports.push(SourceReport {
            status: source_status(s, timeout).await,
            events: s.stats.events(),
        });
    }
    StatusFile {
        config: cfg.path.display().to_string(),
        pid: std::process::id(),
        running,
        updated_at: time::OffsetDateTime::now_utc()
            .format(&Rfc3339)
            .unwrap_or_default(),
        http: http.map(str::to_owned),
        sources: reports,
    }
}

/// One source's status; a provider that does not answer must not hold the run (or its
/// shutdown, or a scrape) up.
pub async fn source_status(s: &Running, timeout: Duration) -> cdc::CdcStatus {
    let id = s.module.source_id();
    match tokio::time::timeout(timeout, s.module.provider().status(id)).await {
        Ok(Ok(st)) => st,
        Ok(Err(e)) => error_status(s, e.to_string()),
        Err(_) => error_status(s, format!("no status within {}s", timeout.as_secs())),
    }
}

/// How long one source's status may take when writing the status file.
const STATUS_TIMEOUT: Duration = Duration::from_secs(10);

fn error_status(s: &Running, message: String) -> cdc::CdcStatus {
    let id = s.module.source_id();
    let mut st = cdc::CdcStatus::new(id, s.module.provider().name(), cdc::SourceState::Error);
    st.error = Some(message);
    st
}
