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

/// Where a captured table stands against the publication, for the periodic check.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Membership {
    /// Schema.
    pub schema: String,
    /// Name.
    pub name: String,
    /// The table of that name now (`None`: there is none).
    pub oid: Option<u32>,
    /// Whether the publication publishes it.
    pub published: bool,
}

/// Whether the publication is `FOR ALL TABLES` (`None`: it does not exist), and for each
/// of `tables` (`(schema, name)`) the table of that name and whether the publication
/// publishes it. One round trip each, bounded by the tables configured.
pub async fn membership(
    client: &Client,
    publication: &str,
    tables: &[(String, String)],
) -> Result<Option<(bool, Vec<Membership>)>> {
    let Some(row) = client
        .query_opt(
            "select puballtables from pg_publication where pubname = $1",
            &[&publication],
        )
        .await
        .map_err(q("reading the publication"))?
    else {
        return Ok(None);
    };
    let (schemas, names): (Vec<&str>, Vec<&str>) =
        tables.iter().map(|(s, n)| (s.as_str(), n.as_str())).unzip();
    let rows = client
        .query(
            "select t.s, t.n, c.oid, exists(select 1 from pg_publication_tables p \
               where p.pubname = $1 and p.schemaname = t.s and p.tablename = t.n) \
             from unnest($2::text[], $3::text[]) with ordinality as t(s, n, i) \
             left join pg_namespace ns on ns.nspname = t.s \
             left join pg_class c on c.relnamespace = ns.oid and c.relname = t.n \
               and c.relkind in ('r', 'p') \
             order by t.i",
            &[&publication, &schemas, &names],
        )
        .await
        .map_err(q("checking the captured tables against the publication"))?;
    let tables = rows
        .iter()
        .map(|r| Membership {
            schema: r.get(0),
            name: r.get(1),
            oid: r.get(2),
            published: r.get(3),
        })
        .collect();
    Ok(Some((row.get(0), tables)))
}
