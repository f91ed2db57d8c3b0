//! The backfill's position, kept across restarts in the comment of the publication cdc-rs
//! owns (`COMMENT ON PUBLICATION`): no table of ours in the user's database.

use serde::{Deserialize, Serialize};
use tokio_postgres::Client;

use super::Request;
use crate::error::{PostgresError, Result};
use crate::sql::quote::{ident, literal};

/// What is kept: the requests still to do, the first one resuming after its key.
#[derive(Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
struct Saved {
    #[serde(rename = "cdc-rs-backfill")]
    backfill: Vec<Request>,
}

/// Saves `requests` (or clears the comment when there are none).
pub async fn save(client: &Client, publication: &str, requests: &[Request]) -> Result<()> {
    let value = if requests.is_empty() {
        "NULL".to_owned()
    } else {
        let text = serde_json::to_string(&Saved {
            backfill: requests.to_vec(),
        })
        .map_err(|e| PostgresError::preflight(format!("backfill position: {e}")))?;
        literal(&text)
    };
    client
        .batch_execute(&format!(
            "COMMENT ON PUBLICATION {} IS {value}",
            ident(publication)
        ))
        .await
        .map_err(|e| PostgresError::sql("saving the backfill position", &e))
}

/// The requests a previous process left, if its comment holds any.
pub async fn load(client: &Client, publication: &str) -> Result<Vec<Request>> {
    let row = client
        .query_opt(
            "select obj_description(oid, 'pg_publication') from pg_publication where pubname = $1",
            &[&publication],
        )
        .await
        .map_err(|e| PostgresError::sql("reading the backfill position", &e))?;
    let text: Option<String> = row.and_then(|r| r.get(0));
    let Some(text) = text else {
        return Ok(Vec::new());
    };
    // The comment is the publication owner's to change: one that is not ours (or damaged)
    // leaves no backfill to resume, and says so instead of passing in silence.
    match serde_json::from_str::<Saved>(&text) {
        Ok(saved) => Ok(saved.backfill),
        Err(e) => {
            tracing::warn!(publication, error = %e, "postgres: the publication's comment holds no backfill position of ours; none is resumed");
            Ok(Vec::new())
        }
    }
}
