//! The run's Prometheus metrics, through the `metrics` facade.
//!
//! The recorder is installed only when the HTTP endpoint is on ([`install`]); without it
//! every handle is the facade's no-op, so a run without `--listen` pays nothing. Counters on
//! the event path ([`record`]) are handles registered once per source, trigger and step at
//! start: an event costs an array index and an atomic add, never a label lookup. Figures the
//! providers know (lag, state, retained WAL, ...) are read from their status when Prometheus
//! scrapes ([`scrape`]), not on the event path.

pub mod record;
pub mod scrape;

use metrics::{Unit, describe_counter, describe_gauge, describe_histogram};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

/// Buckets of the step duration histograms, in seconds: 100 µs to 30 s.
const SECONDS_BUCKETS: &[f64] = &[
    0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 30.0,
];
/// Buckets of the batch size histogram, in events.
const BATCH_BUCKETS: &[f64] = &[1.0, 2.0, 5.0, 10.0, 50.0, 100.0, 500.0, 1000.0, 5000.0];

/// Installs the Prometheus recorder for this process and describes every metric; the handle
/// renders the text format. Call before the sources start (their handles register then).
pub fn install() -> Result<PrometheusHandle, String> {
    let handle = PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), SECONDS_BUCKETS)
        .and_then(|b| {
            b.set_buckets_for_metric(Matcher::Full("cdc_batch_size".into()), BATCH_BUCKETS)
        })
        .map_err(|e| format!("cannot set up the metrics: {e}"))?
        .install_recorder()
        .map_err(|e| format!("cannot install the metrics recorder: {e}"))?;
    describe();
    Ok(handle)
}

/// The HELP line of every metric (the README's metric table says the same).
fn describe() {
    describe_counter!(
        "cdc_events_received_total",
        "Events a source delivered to the run, by operation."
    );
    describe_counter!(
        "cdc_events_delivered_total",
        "Events a trigger handled (printed and its steps run), by operation."
    );
    describe_counter!("cdc_step_runs_total", "Step runs, failed ones included.");
    describe_counter!("cdc_step_errors_total", "Step runs that failed.");
    describe_histogram!(
        "cdc_step_duration_seconds",
        Unit::Seconds,
        "How long a step run took."
    );
    describe_histogram!(
        "cdc_batch_size",
        Unit::Count,
        "Events per batch a source handed to the run."
    );
    describe_counter!(
        "cdc_handler_errors_total",
        "Handler failures the provider reported (it went on after them)."
    );
    describe_counter!(
        "cdc_skipped_lines_total",
        "Bad input lines a memory source skipped."
    );
    describe_gauge!(
        "cdc_lag_bytes",
        Unit::Bytes,
        "Replication lag in bytes (absent when the provider cannot tell)."
    );
    describe_gauge!(
        "cdc_lag_seconds",
        Unit::Seconds,
        "Replication lag in seconds (absent when the provider cannot tell)."
    );
    describe_gauge!(
        "cdc_source_state",
        "1 for the source's current state, 0 for the others."
    );
    describe_gauge!("cdc_source_paused", "1 while the source is paused.");
    describe_counter!(
        "cdc_snapshot_rows_total",
        "Snapshot rows delivered, per table."
    );
    describe_gauge!(
        "cdc_snapshot_rows_estimated",
        "The provider's estimate of a snapshot table's rows."
    );
    describe_gauge!(
        "cdc_pg_retained_wal_bytes",
        Unit::Bytes,
        "WAL the PostgreSQL replication slot keeps on the server."
    );
    describe_gauge!(
        "cdc_pg_slot_active",
        "1 while the PostgreSQL replication slot has a consumer."
    );
    describe_gauge!(
        "cdc_pg_slot_wal_status",
        "1 for the slot's wal_status (reserved, extended, unreserved, lost)."
    );
    describe_gauge!("cdc_dms_task_status", "1 for the DMS task's status.");
    describe_gauge!(
        "cdc_debezium_connector_state",
        "1 for the Kafka Connect connector's state."
    );
    describe_gauge!(
        "cdc_kafka_consumer_lag",
        "Messages the Kafka consumer is behind, when the provider reports it."
    );
}
