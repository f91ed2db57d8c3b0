//! Set-up step: the DDL capture (`capture_ddl`), an event trigger installed or removed to
//! match the option.

use tokio_postgres::Client;
use tracing::warn;

use crate::config::PostgresSource;
use crate::error::Result;

/// Installs the DDL capture when asked for; removes it when it is there but no longer asked
/// for.
pub(super) async fn ddl_capture(
    src: &PostgresSource,
    client: &Client,
    notes: &mut Vec<String>,
) -> Result<()> {
    let installed = crate::sql::ddl_capture::installed(client, &src.slot).await?;
    match (src.options.capture_ddl, installed) {
        (true, false) => {
            crate::sql::ddl_capture::install(client, &src.slot).await?;
            notes.push("installed the DDL capture (event trigger)".into());
        }
        (false, true) => match crate::sql::ddl_capture::remove(client, &src.slot).await {
            Ok(()) => notes.push("removed the DDL capture (capture_ddl: false)".into()),
            Err(e) => {
                warn!(source_id = %src.source_id, error = %e, "postgres: could not remove the DDL capture")
            }
        },
        _ => {}
    }
    Ok(())
}
