//! The publication: whether it exists, what it publishes, and which tables it holds, for
//! set-up to create or extend it.

use std::collections::BTreeSet;

use tokio_postgres::Client;

use super::q;
use crate::error::Result;

/// A publication.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublicationInfo {
    /// `FOR ALL TABLES`.
    pub all_tables: bool,
    /// The published tables, `schema.name`.
    pub tables: BTreeSet<String>,
    /// Whether it publishes insert, update, delete and truncate.
    pub publishes_everything: bool,
}

/// The publication, if it exists.
pub async fn publication(client: &Client, name: &str) -> Result<Option<PublicationInfo>> {
    let Some(row) = client
        .query_opt(
            "select puballtables, pubinsert and pubupdate and pubdelete and pubtruncate \
             from pg_publication where pubname = $1",
            &[&name],
        )
        .await
        .map_err(q("reading the publication"))?
    else {
        return Ok(None);
    };
    let tables = client
        .query(
            "select schemaname::text || '.' || tablename::text from pg_publication_tables where pubname = $1",
            &[&name],
        )
        .await
        .map_err(q("reading the publication's tables"))?
        .iter()
        .map(|r| r.get(0))
        .collect();
    Ok(Some(PublicationInfo {
        all_tables: row.get(0),
        publishes_everything: row.get(1),
        tables,
    }))
}
