//! [`Pausable`] for the provider: with a transport, delivery is held first (at once), then
//! the connector is paused unless `options.kafka.pause_connector: false`.

use async_trait::async_trait;
use cdc_core::{CdcError, Pausable};

use super::DebeziumProvider;

#[async_trait]
impl Pausable for DebeziumProvider {
    /// Holds delivery at once (the consumer's partitions paused; no batch is being
    /// delivered when this returns, except, when a handler of the source calls it, the one
    /// that handler is in), then pauses the connector unless
    /// `options.kafka.pause_connector: false`. Without a transport: the connector.
    async fn pause(&self, source_id: &str) -> Result<(), CdcError> {
        let e = self.entry(source_id)?;
        #[cfg(feature = "kafka")]
        if let Some(t) = e.transport() {
            t.pause().await;
            if !t.pauses_connector() {
                return Ok(());
            }
        }
        e.client
            .pause(&e.source.connector.name)
            .await
            .map_err(|err| err.into_cdc(source_id))
    }

    /// Resumes the connector (when `pause` paused it), then delivery, from the first record
    /// not yet committed.
    async fn resume(&self, source_id: &str) -> Result<(), CdcError> {
        let e = self.entry(source_id)?;
        #[cfg(feature = "kafka")]
        if let Some(t) = e.transport() {
            if t.resumes_connector() {
                e.client
                    .resume(&e.source.connector.name)
                    .await
                    .map_err(|err| err.into_cdc(source_id))?;
            }
            t.resume();
            return Ok(());
        }
        e.client
            .resume(&e.source.connector.name)
            .await
            .map_err(|err| err.into_cdc(source_id))
    }
}
