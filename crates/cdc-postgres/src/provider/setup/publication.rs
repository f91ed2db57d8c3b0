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
    let mut configured = catalog::resolve_tables(client, &src.tables, &schemas).await?;
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
            let (covered, missing) = covered_tables(client, name, &p.tables, configured).await?;
            configured = covered.tables;
            notes.extend(covered.notes);
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

/// The configured tables as an existing publication publishes them, and those it does not.
struct Covered {
    /// What is captured: each configured table, or the leaves of a partitioned one that the
    /// publication publishes by its partitions.
    tables: Vec<TableInfo>,
    /// Notes for the operator.
    notes: Vec<String>,
}

/// Splits the configured tables into those `published` (the publication's tables) covers
/// and the missing ones. A partitioned table is covered when the publication lists it, or
/// (without `publish_via_partition_root`) every one of its leaf partitions: it lists no
/// partitioned table then, and the stream names changes by the leaf, so the leaves are what
/// is captured (snapshot included) and the keys and names of the events are theirs.
async fn covered_tables(
    client: &Client,
    publication: &str,
    published: &std::collections::BTreeSet<String>,
    configured: Vec<TableInfo>,
) -> Result<(Covered, Vec<cdc_core::TableRef>)> {
    let mut covered = Covered {
        tables: Vec::with_capacity(configured.len()),
        notes: Vec::new(),
    };
    let mut missing = Vec::new();
    for t in configured {
        if covered.tables.iter().any(|c| c.oid == t.oid) {
            continue;
        }
        if published.contains(&t.qualified()) {
            covered.tables.push(t);
            continue;
        }
        if t.kind == 'p'
            && let Some(leaves) = catalog::published_leaves(client, &t, published).await?
        {
            let names: Vec<String> = leaves.iter().map(TableInfo::qualified).collect();
            covered.notes.push(format!(
                "publication {publication:?} publishes partitioned table {} by its partitions (publish_via_partition_root is off): its rows are read and named by partition ({})",
                t.qualified(),
                names.join(", ")
            ));
            // A partition configured too is read once.
            for leaf in leaves {
                if !covered.tables.iter().any(|c| c.oid == leaf.oid) {
                    covered.tables.push(leaf);
                }
            }
            continue;
        }
        missing.push(cdc_core::TableRef {
            schema: Some(t.schema.clone()),
            name: t.name.clone(),
        });
        covered.tables.push(t);
    }
    Ok((covered, missing))
}
