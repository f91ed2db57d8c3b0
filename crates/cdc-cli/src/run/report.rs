//! What a run tells about itself: the periodic summary on stderr, the status file, and the
//! final per-source lines.

use std::time::Duration;

use cdc::CdcProvider;
use serde_json::Value;
use time::format_description::well_known::Rfc3339;

use super::Running;
use super::status_file::{SourceReport, StatusFile};
use crate::config::ConfigFile;

/// One line per source on stderr: events/s and lag; snapshot progress while rows arrive.
pub async fn summarize(sources: &[Running], elapsed_secs: f64) {
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
        let rows = s.stats.snapshot_rows();
        let snapshotting = matches!(&status, Ok(st) if st.state == cdc::SourceState::Snapshot);
        if snapshotting || (delta > 0 && !rows.is_empty()) {
            // The provider's estimate of each table's size, when it reports one
            // (details.snapshot or details.backfill: tables.<table>.estimated_rows).
            let estimate = |t: &str| {
                let details = &status.as_ref().ok()?.details;
                ["snapshot", "backfill"].iter().find_map(|k| {
                    details
                        .get(*k)?
                        .get("tables")?
                        .get(t)?
                        .get("estimated_rows")?
                        .as_i64()
                })
            };
            let tables: Vec<String> = rows
                .iter()
                .map(|(t, n)| match estimate(t) {
                    Some(total) => format!("{t} {n} of ~{total} rows"),
                    None => format!("{t} {n} rows"),
                })
                .collect();
            eprintln!(
                "cdc: {id}: snapshot: {} table(s): {}",
                rows.len(),
                tables.join(", ")
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
) {
    let mut reports = Vec::new();
    for s in sources {
        let id = s.module.source_id();
        // A provider that does not answer must not hold the run (or its shutdown) up.
        let status = match tokio::time::timeout(STATUS_TIMEOUT, s.module.provider().status(id))
            .await
        {
            Ok(Ok(st)) => st,
            Ok(Err(e)) => error_status(s, e.to_string()),
            Err(_) => error_status(s, format!("no status within {}s", STATUS_TIMEOUT.as_secs())),
        };
        reports.push(SourceReport {
            status,
            events: s.stats.events(),
        });
    }
    let file = StatusFile {
        config: cfg.path.display().to_string(),
        pid: std::process::id(),
        running,
        updated_at: time::OffsetDateTime::now_utc()
            .format(&Rfc3339)
            .unwrap_or_default(),
        sources: reports,
    };
    if let Err(e) = file.write(path) {
        tracing::warn!(path = %path.display(), error = %e, "cannot write the status file");
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
