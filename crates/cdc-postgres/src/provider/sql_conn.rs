//! The SQL connection a running source keeps for its own queries (status, the publication
//! check): opened on first use, opened again after it broke.

use std::sync::Arc;

use tokio::sync::{MappedMutexGuard, Mutex, MutexGuard};
use tokio_postgres::Client;

use crate::config::PostgresSource;
use crate::error::Result;
use crate::sql::connect::connect;

/// One lazily opened connection, shared by the source's status and its checks.
pub struct SqlConn {
    src: Arc<PostgresSource>,
    client: Mutex<Option<Client>>,
}

impl SqlConn {
    /// No connection yet for `src`.
    pub fn new(src: Arc<PostgresSource>) -> Self {
        Self {
            src,
            client: Mutex::new(None),
        }
    }

    /// The connection, opened when there is none or it closed. Held until dropped: queries
    /// of the status and of the check take turns.
    pub async fn client(&self) -> Result<MappedMutexGuard<'_, Client>> {
        let mut guard = self.client.lock().await;
        if guard.as_ref().is_none_or(Client::is_closed) {
            *guard = Some(connect(&self.src).await?);
        }
        Ok(MutexGuard::map(guard, |c| c.as_mut().expect("just set")))
    }

    /// Closes the connection (after a failed query, or at disconnect): the next use opens a
    /// new one rather than reuse one in an unknown state.
    pub async fn reset(&self) {
        *self.client.lock().await = None;
    }
}
