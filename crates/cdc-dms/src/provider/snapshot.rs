//! Snapshots: without tables the task is stopped and restarted with `reload-target` (every
//! table loaded again); with tables, `ReloadTables` for exactly those (the task keeps
//! running).

use std::sync::atomic::Ordering;

use cdc_core::{SnapshotReport, TableRef};

use super::DmsProvider;
use super::task_control::{current, stop_and_wait};
use crate::api::{StartType, TableToReload};
use crate::config::DmsSource;
use crate::error::DmsError;

impl DmsProvider {
    pub(super) async fn snapshot_source(
        &self,
        source_id: &str,
        tables: &[String],
    ) -> Result<SnapshotReport, DmsError> {
        let source = self.source(source_id)?;
        let api = source.api.as_ref();
        let arn = source.task_arn.as_str();
        if tables.is_empty() {
            // Restart the whole task with reload-target: every table is loaded again.
            let task = current(&source).await?;
            match task.status.as_str() {
                "running" | "starting" => stop_and_wait(&source, &task).await?,
                "stopped" | "failed" => {}
                other => {
                    return Err(DmsError::InvalidState {
                        source_id: source_id.to_owned(),
                        message: format!(
                            "cannot reload a task in status {other:?}; it must be running or stopped"
                        ),
                    });
                }
            }
            api.start_replication_task(arn, StartType::ReloadTarget)
                .await
                .map_err(|e| DmsError::api(source_id, "StartReplicationTask", e))?;
            source.paused.store(false, Ordering::SeqCst);
            source.delivery.hold(false);
            return Ok(SnapshotReport::new(source_id, tables, "reload_target")
                .with_detail("task restarted with reload-target: every table is loaded again"));
        }

        let reload = tables_to_reload(&source.settings, tables)?;
        api.reload_tables(arn, reload)
            .await
            .map_err(|e| DmsError::api(source_id, "ReloadTables", e))?;
        Ok(SnapshotReport::new(source_id, tables, "reload_tables"))
    }
}

/// The tables of a snapshot request as `ReloadTables` wants them: each with its schema (a
/// bare name takes the schema of the configured table of that name), each captured by the
/// source.
fn tables_to_reload(
    settings: &DmsSource,
    tables: &[String],
) -> Result<Vec<TableToReload>, DmsError> {
    let sid = settings.source_id.as_str();
    let mut out = Vec::with_capacity(tables.len());
    for (i, raw) in tables.iter().enumerate() {
        let field = format!("tables[{i}]");
        let t = TableRef::parse(raw).map_err(|m| DmsError::config(sid, &field, m))?;
        crate::config::check_table_name(&t).map_err(|m| DmsError::config(sid, &field, m))?;
        let schema = match &t.schema {
            Some(s) => s.clone(),
            None => {
                let mut schemas = settings
                    .tables
                    .iter()
                    .filter(|c| c.name == t.name)
                    .filter_map(|c| c.schema.clone());
                match (schemas.next(), schemas.next()) {
                    (Some(s), None) => s,
                    _ => {
                        return Err(DmsError::config(
                            sid,
                            &field,
                            format!(
                                "{raw:?} has no schema; ReloadTables needs schema.table (e.g. public.{raw})"
                            ),
                        ));
                    }
                }
            }
        };
        let captured = settings.tables.is_empty()
            || settings
                .tables
                .iter()
                .any(|c| c.matches(Some(&schema), &t.name));
        if !captured {
            return Err(DmsError::config(
                sid,
                &field,
                format!("{schema}.{} is not among the source's tables", t.name),
            ));
        }
        out.push(TableToReload {
            schema_name: schema,
            table_name: t.name.clone(),
        });
    }
    Ok(out)
}
