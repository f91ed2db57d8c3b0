//! Figures read from each source's status when Prometheus scrapes: lag, state, snapshot
//! progress, and the provider's own figures found in `details`.

use std::collections::BTreeMap;

use cdc::{CdcStatus, SourceState};
use metrics::{counter, gauge};
use serde_json::Value;

/// Every state a source can report, so that the one that ended gets its 0.
const STATES: [SourceState; 16] = [
    SourceState::Running,
    SourceState::Paused,
    SourceState::Stopped,
    SourceState::Configured,
    SourceState::Snapshot,
    SourceState::Error,
    SourceState::NotFound,
    SourceState::Unknown,
    SourceState::Creating,
    SourceState::Ready,
    SourceState::Starting,
    SourceState::Stopping,
    SourceState::Restarting,
    SourceState::Unassigned,
    SourceState::Deleting,
    SourceState::Modifying,
];

/// Values of a provider's string figure that get a 0 when another one is current.
const PG_WAL_STATUSES: [&str; 4] = ["reserved", "extended", "unreserved", "lost"];
const DMS_STATUSES: [&str; 11] = [
    "creating",
    "ready",
    "starting",
    "running",
    "stopping",
    "stopped",
    "failed",
    "deleting",
    "modifying",
    "moving",
    "testing",
];
const CONNECT_STATES: [&str; 6] = [
    "RUNNING",
    "PAUSED",
    "FAILED",
    "UNASSIGNED",
    "RESTARTING",
    "STOPPED",
];

/// Sets the gauges of one source from its status and the run's snapshot row counts.
pub fn source(status: &CdcStatus, snapshot_rows: &BTreeMap<String, u64>) {
    let id = status.source_id.clone();
    for s in STATES {
        let v = if s == status.state { 1.0 } else { 0.0 };
        gauge!("cdc_source_state", "source" => id.clone(), "state" => s.as_str()).set(v);
    }
    let paused = if status.state == SourceState::Paused {
        1.0
    } else {
        0.0
    };
    gauge!("cdc_source_paused", "source" => id.clone()).set(paused);
    // Unknown lag stays absent: a made-up zero would read as "caught up".
    if let Some(b) = status.lag_bytes {
        gauge!("cdc_lag_bytes", "source" => id.clone()).set(b as f64);
    }
    if let Some(s) = status.lag_seconds {
        gauge!("cdc_lag_seconds", "source" => id.clone()).set(s as f64);
    }
    for (table, rows) in snapshot_rows {
        counter!("cdc_snapshot_rows_total", "source" => id.clone(), "table" => table.clone())
            .absolute(*rows);
    }
    snapshot_estimates(&id, &status.details);
    provider_figures(&id, &status.details);
}

/// `details.snapshot` / `details.backfill`: `tables.<table>.estimated_rows`.
fn snapshot_estimates(id: &str, details: &BTreeMap<String, Value>) {
    for key in ["snapshot", "backfill"] {
        let Some(tables) = details
            .get(key)
            .and_then(|s| s.get("tables"))
            .and_then(Value::as_object)
        else {
            continue;
        };
        for (table, t) in tables {
            if let Some(n) = t.get("estimated_rows").and_then(Value::as_f64) {
                gauge!("cdc_snapshot_rows_estimated", "source" => id.to_owned(), "table" => table.clone())
                    .set(n);
            }
        }
    }
}

fn provider_figures(id: &str, d: &BTreeMap<String, Value>) {
    let num = |k: &str| d.get(k).and_then(Value::as_f64);
    // memory: handler_errors; postgres: handler_failures.
    if let Some(n) = d
        .get("handler_errors")
        .or_else(|| d.get("handler_failures"))
        .and_then(Value::as_u64)
    {
        counter!("cdc_handler_errors_total", "source" => id.to_owned()).absolute(n);
    }
    if let Some(n) = d.get("skipped_lines").and_then(Value::as_u64) {
        counter!("cdc_skipped_lines_total", "source" => id.to_owned()).absolute(n);
    }
    if let Some(b) = num("retained_wal_bytes") {
        gauge!("cdc_pg_retained_wal_bytes", "source" => id.to_owned()).set(b);
    }
    if let Some(active) = d.get("slot_active").and_then(Value::as_bool) {
        gauge!("cdc_pg_slot_active", "source" => id.to_owned()).set(f64::from(u8::from(active)));
    }
    one_of(
        id,
        "cdc_pg_slot_wal_status",
        "wal_status",
        d.get("wal_status"),
        &PG_WAL_STATUSES,
    );
    one_of(
        id,
        "cdc_dms_task_status",
        "status",
        d.get("dms_status"),
        &DMS_STATUSES,
    );
    one_of(
        id,
        "cdc_debezium_connector_state",
        "state",
        d.get("connector_state"),
        &CONNECT_STATES,
    );
    // Debezium's Kafka transport: details.kafka.consumer_lag_records (or a flat consumer_lag).
    let kafka_lag = d
        .get("kafka")
        .and_then(|k| k.get("consumer_lag_records"))
        .and_then(Value::as_f64)
        .or_else(|| num("consumer_lag"));
    if let Some(lag) = kafka_lag {
        gauge!("cdc_kafka_consumer_lag", "source" => id.to_owned()).set(lag);
    }
}

/// A string figure as a gauge per value: 1 for the current one, 0 for the known others
/// (an unknown current value still gets its 1).
fn one_of(
    id: &str,
    name: &'static str,
    label: &'static str,
    v: Option<&Value>,
    known: &[&'static str],
) {
    let Some(current) = v.and_then(Value::as_str) else {
        return;
    };
    for k in known.iter().copied().filter(|k| *k != current) {
        gauge!(name, "source" => id.to_owned(), label => k).set(0.0);
    }
    gauge!(name, "source" => id.to_owned(), label => current.to_owned()).set(1.0);
}

#[cfg(test)]
mod tests {
    use super::*;
    use metrics_exporter_prometheus::PrometheusBuilder;
    use serde_json::json;

    /// The Prometheus text of what `source` records for `status`.
    fn scraped(status: &CdcStatus, rows: &BTreeMap<String, u64>) -> String {
        let recorder = PrometheusBuilder::new().build_recorder();
        metrics::with_local_recorder(&recorder, || source(status, rows));
        recorder.handle().render()
    }

    #[test]
    fn provider_figures_become_gauges_with_the_source_label() {
        let mut pg = CdcStatus::new("shop", "postgres", SourceState::Snapshot);
        pg.lag_bytes = Some(4096);
        pg.lag_seconds = Some(2);
        pg.details.insert("retained_wal_bytes".into(), json!(8192));
        pg.details.insert("slot_active".into(), json!(true));
        pg.details.insert("wal_status".into(), json!("reserved"));
        pg.details.insert("handler_failures".into(), json!(3));
        pg.details.insert(
            "snapshot".into(),
            json!({"tables": {"public.orders": {"estimated_rows": 30000}}}),
        );
        let rows = BTreeMap::from([("public.orders".to_owned(), 1200)]);
        let text = scraped(&pg, &rows);
        for line in [
            "cdc_lag_bytes{source=\"shop\"} 4096",
            "cdc_lag_seconds{source=\"shop\"} 2",
            "cdc_pg_retained_wal_bytes{source=\"shop\"} 8192",
            "cdc_pg_slot_active{source=\"shop\"} 1",
            "cdc_pg_slot_wal_status{source=\"shop\",wal_status=\"reserved\"} 1",
            "cdc_pg_slot_wal_status{source=\"shop\",wal_status=\"lost\"} 0",
            "cdc_handler_errors_total{source=\"shop\"} 3",
            "cdc_snapshot_rows_total{source=\"shop\",table=\"public.orders\"} 1200",
            "cdc_snapshot_rows_estimated{source=\"shop\",table=\"public.orders\"} 30000",
            "cdc_source_state{source=\"shop\",state=\"snapshot\"} 1",
            "cdc_source_state{source=\"shop\",state=\"running\"} 0",
            "cdc_source_paused{source=\"shop\"} 0",
        ] {
            assert!(text.lines().any(|l| l == line), "{line} not in:\n{text}");
        }

        let mut dms = CdcStatus::new("mig", "dms", SourceState::Error);
        dms.details.insert("dms_status".into(), json!("failed"));
        let text = scraped(&dms, &BTreeMap::new());
        assert!(
            text.contains("cdc_dms_task_status{source=\"mig\",status=\"failed\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("cdc_dms_task_status{source=\"mig\",status=\"running\"} 0"),
            "{text}"
        );
        assert!(
            !text.contains("cdc_lag_bytes"),
            "unknown lag stays absent: {text}"
        );

        let mut dbz = CdcStatus::new("inv", "debezium", SourceState::Running);
        dbz.details
            .insert("connector_state".into(), json!("RUNNING"));
        dbz.details
            .insert("kafka".into(), json!({"consumer_lag_records": 17}));
        let text = scraped(&dbz, &BTreeMap::new());
        assert!(
            text.contains("cdc_debezium_connector_state{source=\"inv\",state=\"RUNNING\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("cdc_kafka_consumer_lag{source=\"inv\"} 17"),
            "{text}"
        );
    }
}
