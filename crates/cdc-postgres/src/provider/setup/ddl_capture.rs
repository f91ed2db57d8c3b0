//! Set-up step: the DDL capture (`capture_ddl`), an event trigger installed, brought up to
//! date or removed to match the option.

use cdc_core::TableRef;
use tokio_postgres::Client;
use tracing::warn;

use crate::config::PostgresSource;
use crate::error::Result;
use crate::sql::catalog::TableInfo;
use crate::sql::ddl_capture::{function_body, install, installed, installed_function, remove};
use crate::sql::republish::Republish;

/// Installs the DDL capture when asked for (or replaces an installed function that differs
/// from this version's, for these `tables`); removes it when it is there but no longer
/// asked for.
pub(super) async fn ddl_capture(
    src: &PostgresSource,
    client: &Client,
    tables: &[TableInfo],
    notes: &mut Vec<String>,
) -> Result<()> {
    let is_installed = installed(client, &src.slot).await?;
    match (src.options.capture_ddl, is_installed) {
        (true, false) => {
            install(client, &src.slot, republish(src, tables).as_ref()).await?;
            notes.push("installed the DDL capture (event trigger)".into());
        }
        (true, true) => update(src, client, tables, notes).await?,
        (false, true) => match remove(client, &src.slot).await {
            Ok(()) => notes.push("removed the DDL capture (capture_ddl: false)".into()),
            Err(e) => {
                warn!(source_id = %src.source_id, error = %e, "postgres: could not remove the DDL capture")
            }
        },
        _ => {}
    }
    Ok(())
}

/// What the trigger puts back into the publication: the captured tables, when cdc-rs owns a
/// publication that lists them (`FOR ALL TABLES` needs nothing; the operator's publication
/// is the operator's to change, and the periodic check reports what it misses).
fn republish(src: &PostgresSource, tables: &[TableInfo]) -> Option<Republish> {
    (src.owns_publication() && !src.tables.is_empty()).then(|| Republish {
        publication: src.publication.clone(),
        tables: tables
            .iter()
            .map(|t| TableRef {
                schema: Some(t.schema.clone()),
                name: t.name.clone(),
            })
            .collect(),
    })
}

/// Replaces an installed function that is not the one this version would install (one
/// from before the trigger re-added tables, or for other tables). The capture may have been
/// installed by a superuser for a role that is none: then it stays as it is, with a warning,
/// rather than failing the connect; the periodic publication check covers recreated tables.
async fn update(
    src: &PostgresSource,
    client: &Client,
    tables: &[TableInfo],
    notes: &mut Vec<String>,
) -> Result<()> {
    let wanted = republish(src, tables);
    let body = function_body(&src.slot, wanted.as_ref());
    if installed_function(client, &src.slot).await? == Some((body, true)) {
        return Ok(());
    }
    match install(client, &src.slot, wanted.as_ref()).await {
        Ok(()) => {
            notes.push("updated the DDL capture (event trigger) for the captured tables".into())
        }
        Err(e) => {
            warn!(source_id = %src.source_id, error = %e, "postgres: the DDL capture's function is out of date and could not be replaced (a superuser can run the SQL cdc render prints); a table created again under a captured name is found by the periodic publication check instead");
        }
    }
    Ok(())
}
