//! Set-up step: the configured tables resolved in the catalog, and the publication that
//! publishes them (created, or extended when cdc-rs owns it), with the errors that say how
//! to fix a publication the role may not change.

use tokio_postgres::Client;
use tracing::info;

use crate::config::PostgresSource;
use crate::error::{PostgresError, Result};
use crate::sql::catalog::{self, TableInfo};
use crate::sql::statements;

pub(super) async fn tables_and_publication(
    src: &PostgresSource,
    client: &Client,
    notes: &mut Vec<String>,
) -> Result<Vec<TableInfo>> {
    // Names without a schema mean what they mean to the role, not to our pinned sessions.
    let schemas = if src.tables.iter().any(|t| t.schema.is_none()) {
        crate::sql::connect::user_schemas(src).await?
    } else {
        Vec::new()
    };
    let configured = catalog::resolve_tables(client, &src.tables, &schemas).await?;
    let resolved: Vec<cdc_core::TableRef> = configured
        .iter()
        .map(|t| cdc_core::TableRef {
            schema: Some(t.schema.clone()),
            name: t.name.clone(),
        })
        .collect();
    let name = &src.publication;
    let create_failed = |e: tokio_postgres::Error| {
        let mut err = PostgresError::sql(format!("creating publication {name:?}"), &e);
        if err.sqlstate() == Some("42501")
            && let PostgresError::Database { message, .. } = &mut err
        {
            message.push_str(if src.tables.is_empty() {
                "; FOR ALL TABLES needs a superuser: list the tables, or create the publication as a superuser and name it in options.publication"
            } else {
                "; the role must own the tables (or create the publication as their owner and name it in options.publication)"
            });
        }
        err
    };
    match catalog::publication(client, name).await? {
        None => {
            let sql = statements::create_publication(name, &resolved);
            client.batch_execute(&sql).await.map_err(create_failed)?;
            info!(source_id = %src.source_id, publication = %name, "postgres: publication created");
            notes.push(format!("created publication {name:?}"));
        }
        Some(p) if !src.tables.is_empty() && !p.all_tables => {
            let missing: Vec<cdc_core::TableRef> = resolved
                .iter()
                .filter(|t| {
                    !p.tables
                        .contains(&format!("{}.{}", t.schema.as_deref().unwrap_or(""), t.name))
                })
                .cloned()
                .collect();
            if !missing.is_empty() {
                let sql = statements::add_tables(name, &missing);
                if !src.owns_publication() {
                    let list: Vec<String> = missing.iter().map(ToString::to_string).collect();
                    return Err(PostgresError::preflight(format!(
                        "publication {name:?} (options.publication) does not publish {}: run {sql};",
                        list.join(", ")
                    )));
                }
                client.batch_execute(&sql).await.map_err(create_failed)?;
                notes.push(format!(
                    "added {} table(s) to publication {name:?}",
                    missing.len()
                ));
            }
            if !p.publishes_everything {
                notes.push(format!(
                    "publication {name:?} does not publish every operation (insert, update, delete, truncate): the others are not captured"
                ));
            }
        }
        Some(_) => {}
    }
    if src.tables.is_empty() {
        return catalog::publication_tables(client, name).await;
    }
    Ok(configured)
}
