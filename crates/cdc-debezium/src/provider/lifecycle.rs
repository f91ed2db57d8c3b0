//! Connecting and disconnecting a source: the connector's config applied (idempotently) and
//! its consumer started; on disconnect the consumer stopped first (it commits), then
//! `options.on_stop` done to the connector.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use cdc_core::{CdcError, SourceConfig};
use tracing::info;

use super::{
    DebeziumProvider, Entry, LastDelivery, connector_state, decode_batch, lock, read, write,
};
use crate::config::{DebeziumSource, OnStop};
use crate::connect::{ClientOptions, KafkaConnectClient};
#[cfg(not(feature = "kafka"))]
use crate::error::PROVIDER;

impl DebeziumProvider {
    /// `connect`: the signaling table, the connector config applied, the consumer started.
    pub(super) async fn connect_source(&self, config: &SourceConfig) -> Result<(), CdcError> {
        let sid = config.source_id.as_str();
        let source = DebeziumSource::from_config(config).map_err(|e| e.into_cdc(sid))?;
        let opts = &source.options;
        let client = KafkaConnectClient::new(ClientOptions {
            base_url: source.connect_url.clone(),
            auth: opts.auth.clone(),
            tls: opts.tls.clone(),
            timeout: opts
                .request_timeout_ms
                .map(Duration::from_millis)
                .unwrap_or(crate::connect::DEFAULT_TIMEOUT),
            retry: opts.retry.clone(),
        })
        .map_err(|e| e.into_cdc(sid))?;
        #[cfg(not(feature = "kafka"))]
        if source.options.kafka.is_some() {
            return Err(CdcError::Unsupported {
                source_id: sid.to_owned(),
                provider: PROVIDER.to_owned(),
                operation: "options.kafka (consume the connector's topics)".into(),
                reason: "this build of cdc-debezium has no `kafka` feature".into(),
            });
        }
        // The signaling table must exist before the connector builds its publication.
        if let Some(signal) = &opts.signal {
            crate::signal::prepare_table(sid, source.kind, signal, opts.database.as_ref())
                .await
                .map_err(|e| e.into_cdc(sid))?;
        }
        let spec = &source.connector;
        let applied = client
            .put_config(&spec.name, &spec.config)
            .await
            .map_err(|e| e.into_cdc(sid))?;
        info!(
            source_id = sid,
            connector = spec.name,
            created = applied.created,
            "debezium: connector config applied"
        );
        let placeholder = opts
            .unavailable_value_placeholder
            .clone()
            .unwrap_or_else(|| crate::decode::DEFAULT_UNAVAILABLE_PLACEHOLDER.to_owned());
        let entry = Arc::new(Entry {
            client,
            stream: tokio::sync::Mutex::new(decode_batch::Decoders::new(sid, &placeholder)),
            #[cfg(feature = "kafka")]
            ahead: [(); 2]
                .map(|()| Mutex::new(crate::decode::Decoder::with_placeholder(sid, &placeholder))),
            last: Mutex::new(LastDelivery::default()),
            history: Mutex::new(BTreeMap::new()),
            mode_restore: Mutex::new(None),
            #[cfg(feature = "kafka")]
            transport: Mutex::new(None),
            source,
        });
        // A reconnect replaces the entry but keeps the schema history seen so far; its
        // consumer commits and stops first (one consumer per source).
        let old = read(&self.inner.sources).get(sid).cloned();
        if let Some(old) = old {
            *lock(&entry.history) = lock(&old.history).clone();
            #[cfg(feature = "kafka")]
            {
                let running = lock(&old.transport).take();
                if let Some(t) = running {
                    t.stop().await;
                }
            }
        }
        write(&self.inner.sources).insert(sid.to_owned(), Arc::clone(&entry));
        #[cfg(feature = "kafka")]
        if entry.source.options.kafka.is_some() {
            let started = self.start_transport(&entry).await;
            match started {
                Ok(t) => *lock(&entry.transport) = Some(Arc::new(t)),
                Err(e) => {
                    write(&self.inner.sources).remove(sid);
                    return Err(e.into_cdc(sid));
                }
            }
        }
        Ok(())
    }

    /// `disconnect`: the consumer stopped (committing), then `options.on_stop` done.
    pub(super) async fn disconnect_source(&self, source_id: &str) -> Result<(), CdcError> {
        let e = self.entry(source_id)?;
        // The consumer first: it commits what every handler took, then leaves its group.
        #[cfg(feature = "kafka")]
        {
            let running = lock(&e.transport).take();
            if let Some(t) = running {
                t.stop().await;
            }
        }
        let name = &e.source.connector.name;
        let on_stop = e.source.options.on_stop();
        let done = match on_stop {
            OnStop::Keep => {
                info!(
                    source_id,
                    connector = name,
                    "debezium: connector left running (options.on_stop: keep)"
                );
                Ok(())
            }
            OnStop::Pause => e.client.pause(name).await,
            OnStop::Stop => e.client.stop(name).await,
            OnStop::Delete => match e.client.delete(name).await {
                Ok(()) => {
                    info!(source_id, connector = name, "debezium: connector deleted");
                    connector_state::after_delete(source_id, &e.source).await
                }
                // Only Connect's own "Connector x not found" means it is gone.
                Err(err) if err.is_not_found() => {
                    info!(
                        source_id,
                        connector = name,
                        "debezium: connector was already gone"
                    );
                    connector_state::after_delete(source_id, &e.source).await
                }
                Err(err) => Err(err),
            },
        };
        // The connector may still exist (a 404 that names no connector comes from a worker
        // that is starting): keep the source so disconnect can be retried.
        done.map_err(|err| err.into_cdc(source_id))?;
        write(&self.inner.sources).remove(source_id);
        Ok(())
    }
}
