//! Snapshot progress of each source while its snapshot runs: tables, rows done of the
//! provider's estimate, rows/s. A progress bar per source (indicatif) when stderr is a
//! terminal; plain `cdc: <source>: snapshot: ...` lines at each summary interval otherwise.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use cdc::{CdcStatus, SourceState};
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::{Running, report};

/// How often the bars are redrawn from the sources' status.
pub const TICK: Duration = Duration::from_secs(1);

/// The provider's estimate of `table`'s rows (details.snapshot or details.backfill:
/// `tables.<table>.estimated_rows`), when it reports one.
pub fn estimate(status: Option<&CdcStatus>, table: &str) -> Option<u64> {
    let details = &status?.details;
    ["snapshot", "backfill"].iter().find_map(|k| {
        details
            .get(*k)?
            .get("tables")?
            .get(table)?
            .get("estimated_rows")?
            .as_u64()
    })
}

/// Whether a snapshot is under way: the provider says so, or snapshot rows arrived since
/// the last look.
pub fn snapshotting(status: Option<&CdcStatus>, new_rows: u64) -> bool {
    new_rows > 0 || matches!(status, Some(st) if st.state == SourceState::Snapshot)
}

/// `2 table(s), 1200 of ~30000 rows, 540.0 rows/s: public.orders 1200 of ~30000 rows, ...`
pub fn line(rows: &BTreeMap<String, u64>, status: Option<&CdcStatus>, rate: f64) -> String {
    let done: u64 = rows.values().sum();
    let estimates: Vec<Option<u64>> = rows.keys().map(|t| estimate(status, t)).collect();
    let total = if estimates.iter().all(Option::is_some) && !estimates.is_empty() {
        format!(
            "{done} of ~{} rows",
            estimates.iter().flatten().sum::<u64>()
        )
    } else {
        format!("{done} rows")
    };
    let tables: Vec<String> = rows
        .iter()
        .zip(&estimates)
        .map(|((t, n), e)| match e {
            Some(total) => format!("{t} {n} of ~{total} rows"),
            None => format!("{t} {n} rows"),
        })
        .collect();
    format!(
        "{} table(s), {total}, {rate:.1} rows/s: {}",
        rows.len(),
        tables.join(", ")
    )
}

/// The bars of a terminal.
pub struct Bars {
    multi: MultiProgress,
    bars: Vec<Option<(ProgressBar, Instant)>>,
    last_rows: Vec<u64>,
}

impl Bars {
    /// One slot per source, drawn on stderr.
    pub fn new(sources: usize) -> Self {
        Self {
            multi: MultiProgress::with_draw_target(ProgressDrawTarget::stderr()),
            bars: (0..sources).map(|_| None).collect(),
            last_rows: vec![0; sources],
        }
    }

    /// Redraws from each source's status: a bar appears when its snapshot starts and is
    /// finished (left on screen with its last figures) when it ends.
    pub async fn tick(&mut self, sources: &[Running]) {
        for (i, s) in sources.iter().enumerate() {
            let rows = s.stats().snapshot_rows();
            let done: u64 = rows.values().sum();
            let new_rows = done.saturating_sub(self.last_rows[i]);
            self.last_rows[i] = done;
            if rows.is_empty() && self.bars[i].is_none() {
                // No snapshot row yet: a status query per second is only worth it once
                // there is something to show.
                continue;
            }
            let status = report::source_status(s, TICK).await;
            let on = snapshotting(Some(&status), new_rows);
            match (&self.bars[i], on) {
                (None, true) => {
                    let bar = self.multi.add(ProgressBar::new(0));
                    bar.set_style(
                        ProgressStyle::with_template("{prefix} [{bar:30}] {msg}")
                            .unwrap_or_else(|_| ProgressStyle::default_bar())
                            .progress_chars("=> "),
                    );
                    bar.set_prefix(format!("cdc: {}: snapshot", s.module.source_id()));
                    self.bars[i] = Some((bar, Instant::now()));
                }
                (Some((bar, _)), false) => {
                    bar.finish();
                    self.bars[i] = None;
                    continue;
                }
                _ => {}
            }
            if let Some((bar, started)) = &self.bars[i] {
                let total: u64 = rows.keys().filter_map(|t| estimate(Some(&status), t)).sum();
                bar.set_length(total.max(done));
                bar.set_position(done);
                let rate = done as f64 / started.elapsed().as_secs_f64().max(0.001);
                bar.set_message(line(&rows, Some(&status), rate));
            }
        }
    }
}

/// Whether stderr is a terminal (bars) or not (plain lines).
pub fn on_terminal() -> bool {
    std::io::IsTerminal::is_terminal(&std::io::stderr())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_line_has_tables_rows_of_the_estimate_and_the_rate() {
        let mut st = CdcStatus::new("shop", "postgres", SourceState::Snapshot);
        st.details.insert(
            "snapshot".into(),
            json!({"tables": {"public.orders": {"estimated_rows": 30000}, "public.users": {"estimated_rows": 10}}}),
        );
        let rows = BTreeMap::from([
            ("public.orders".to_owned(), 1200),
            ("public.users".to_owned(), 10),
        ]);
        assert_eq!(
            line(&rows, Some(&st), 540.0),
            "2 table(s), 1210 of ~30010 rows, 540.0 rows/s: public.orders 1200 of ~30000 rows, public.users 10 of ~10 rows"
        );
        let rows = BTreeMap::from([("public.x".to_owned(), 5)]);
        assert_eq!(
            line(&rows, Some(&st), 0.0),
            "1 table(s), 5 rows, 0.0 rows/s: public.x 5 rows"
        );
        assert!(snapshotting(Some(&st), 0));
        let running = CdcStatus::new("shop", "postgres", SourceState::Running);
        assert!(!snapshotting(Some(&running), 0));
        assert!(snapshotting(Some(&running), 3));
    }
}
