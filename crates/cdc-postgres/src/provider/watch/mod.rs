//! The publication check: every `publication_check_interval_ms`, the captured tables
//! against the publication, on the source's SQL connection (two catalog queries).
//!
//! PostgreSQL takes a dropped table out of every publication, and a table created again
//! under its name (`DROP TABLE t; CREATE TABLE t (...)`, or a rename onto it) is a new
//! relation that no publication lists: its changes would be lost without a word until a
//! reconnect added it back. The check finds such a table and
//! - with the publication cdc-rs owns, adds it back at once, with a warning (log and
//!   `details.publication_check.readded`) that its changes between its creation and then
//!   may be missing (with `capture_ddl` the event trigger adds it in the DDL's transaction
//!   and nothing is missing: the check then finds nothing to do);
//! - with the operator's publication (`options.publication`), reports it as the source's
//!   error, naming the table and the `ALTER PUBLICATION` to run, until it is published.
//!
//! A captured table that no longer exists is reported too (nothing of it is captured).

mod report;

use std::sync::Arc;
use std::time::Duration;

use cdc_core::TableRef;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use tokio::task::JoinHandle;
use tracing::warn;

pub use report::{Problem, Report};

use super::sql_conn::SqlConn;
use super::state::Shared;
use crate::config::PostgresSource;
use crate::error::Result;
use crate::sql::catalog::{self, Membership, TableInfo};
use crate::sql::statements;

/// What the check of one source works with.
pub struct Watch {
    /// The source.
    pub src: Arc<PostgresSource>,
    /// Its shared state (for the stop signal).
    pub shared: Arc<Shared>,
    /// The connection it queries on, shared with `status`.
    pub sql: Arc<SqlConn>,
    /// Where it reports.
    pub report: Arc<Report>,
    /// The captured tables, `(schema, name)`.
    pub tables: Vec<(String, String)>,
}

/// Starts the check of a source that lists its tables (`tables`: the captured ones); none
/// for `FOR ALL TABLES`, which publishes every new table by itself. It ends when the
/// source stops.
pub fn start(
    src: &Arc<PostgresSource>,
    shared: &Arc<Shared>,
    sql: &Arc<SqlConn>,
    report: &Arc<Report>,
    tables: &[TableInfo],
) -> Option<JoinHandle<()>> {
    if src.tables.is_empty() {
        return None;
    }
    let watch = Watch {
        src: Arc::clone(src),
        shared: Arc::clone(shared),
        sql: Arc::clone(sql),
        report: Arc::clone(report),
        tables: tables
            .iter()
            .map(|t| (t.schema.clone(), t.name.clone()))
            .collect(),
    };
    Some(tokio::spawn(watch.run()))
}

impl Watch {
    /// Checks every interval until the source stops.
    pub async fn run(self) {
        let interval = Duration::from_millis(self.src.options.publication_check_interval_ms);
        // Bounded like a connect: a server that stops answering must not hold the
        // connection, which `status` shares, for ever.
        let bound = self.src.conn.connect_timeout;
        while self.shared.sleep(interval).await {
            let error = match tokio::time::timeout(bound, self.check()).await {
                Ok(Ok(())) => None,
                outcome => {
                    // The next check opens a new connection rather than trust this one.
                    self.sql.reset().await;
                    Some(match outcome {
                        Ok(Err(e)) => e.to_string(),
                        _ => format!("the check took more than {bound:?} (connect_timeout)"),
                    })
                }
            };
            self.report.checked(error);
        }
    }

    /// One check.
    async fn check(&self) -> Result<()> {
        let client = self.sql.client().await?;
        let publication = &self.src.publication;
        let Some((all_tables, tables)) =
            catalog::membership(&client, publication, &self.tables).await?
        else {
            // The stream itself fails on a missing publication, and its reconnect says why.
            return Err(crate::PostgresError::preflight(format!(
                "publication {publication:?} does not exist"
            )));
        };
        if all_tables {
            self.report.clear_problems();
            return Ok(());
        }
        for m in tables {
            let table = format!("{}.{}", m.schema, m.name);
            let problem = match m {
                Membership { oid: None, .. } => Some(Problem::Dropped),
                Membership {
                    published: true, ..
                } => None,
                _ => {
                    let fix = statements::add_tables(
                        publication,
                        &[TableRef {
                            schema: Some(m.schema.clone()),
                            name: m.name.clone(),
                        }],
                    );
                    if !self.src.owns_publication() {
                        Some(Problem::NotPublished {
                            why: "options.publication: cdc-rs does not change it".into(),
                            fix,
                        })
                    } else {
                        match client.batch_execute(&fix).await {
                            Ok(()) => {
                                self.readded(&table);
                                None
                            }
                            Err(e) => Some(Problem::NotPublished {
                                why: crate::PostgresError::sql("adding it back failed", &e)
                                    .to_string(),
                                fix,
                            }),
                        }
                    }
                }
            };
            if let Some(p) = &problem
                && self.report.set_problem(&table, Some(p.clone()))
            {
                warn!(source_id = %self.src.source_id, table = %table, "postgres: {}", p.text(&table, publication));
            } else if problem.is_none() {
                self.report.set_problem(&table, None);
            }
        }
        Ok(())
    }

    /// Reports that `table` was added back.
    fn readded(&self, table: &str) {
        let at = OffsetDateTime::now_utc()
            .format(&Rfc3339)
            .unwrap_or_default();
        let text = format!(
            "table {table} was not in publication {:?} (dropped and created again, renamed onto, or taken out of it) and was added back at {at}: its changes between its creation and then may be missing (snapshot [{table:?}] reads its rows again)",
            self.src.publication
        );
        warn!(source_id = %self.src.source_id, table, "postgres: {text}");
        self.report.readded(table, text);
    }
}
