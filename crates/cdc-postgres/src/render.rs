//! What a source would run, as text, without connecting (`cdc render`).

use crate::config::{PostgresSource, SnapshotMode};
use crate::provider::setup::MIN_SERVER_VERSION;
use crate::snapshot::marker;
use crate::sql::statements;

/// The SQL and replication commands of `src`, with comments saying when each runs.
pub fn render(src: &PostgresSource) -> String {
    let mut out = String::new();
    out.push_str(&format!(
        "-- source {:?}: {} (sslmode {})\n",
        src.source_id,
        src.conn.display(),
        src.tls.mode.as_str()
    ));
    out.push_str(&format!(
        "-- publication {:?}: created when missing{}\n{};\n",
        src.publication,
        if src.owns_publication() {
            " (tables added when missing)"
        } else {
            "; an existing one must publish every table"
        },
        statements::create_publication(&src.publication, &src.tables)
    ));
    let snapshot = src.options.snapshot == SnapshotMode::Initial;
    if snapshot && !src.options.temporary_slot {
        out.push_str(&format!(
            "-- marker of a snapshot in progress (holds no WAL; dropped when the snapshot is done)\nSELECT pg_create_physical_replication_slot('{}', false, false);\n",
            marker::name(&src.slot)
        ));
    }
    out.push_str(&format!(
        "-- replication slot {:?}: created when missing, on the replication connection{}\n{};\n",
        src.slot,
        if snapshot {
            "; then the tables are read in its exported snapshot (COPY ... TO STDOUT)"
        } else {
            ""
        },
        statements::create_slot(
            &src.slot,
            src.options.temporary_slot,
            snapshot,
            MIN_SERVER_VERSION.max(150000)
        )
    ));
    out.push_str(&format!(
        "-- streaming, from the slot's confirmed position\n{};\n",
        statements::start_replication(&src.slot, &src.publication)
    ));
    if src.options.capture_ddl {
        // Without connecting the names are the configured ones; connect installs the
        // function for the tables they resolve to.
        let republish = (src.owns_publication() && !src.tables.is_empty()).then(|| {
            crate::sql::republish::Republish {
                publication: src.publication.clone(),
                tables: src.tables.clone(),
            }
        });
        out.push_str(&format!(
            "-- DDL capture (capture_ddl; needs a superuser), installed when missing\n{}\n",
            crate::sql::ddl_capture::install_sql(&src.slot, republish.as_ref())
        ));
    }
    if src.options.drop_slot_on_stop {
        out.push_str(&format!(
            "-- on disconnect (drop_slot_on_stop)\n{};\n",
            statements::drop_slot(&src.slot)
        ));
    }
    out
}
