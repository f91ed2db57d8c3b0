//! Injecting events into a memory source: waiting for room ([`MemoryProvider::inject`]),
//! failing on a full buffer ([`MemoryProvider::try_inject`]), from Go-style JSON maps, and
//! through a [`MemorySender`] that skips the look-up per event. Apart because this is the
//! producer side of the provider, the side tests and the `cdc` command drive.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use cdc_core::{CdcError, ChangeEvent, Result, SharedEvent};
use serde_json::Value;
use tokio::sync::mpsc;

use super::{MemoryProvider, PROVIDER_NAME};

impl MemoryProvider {
    /// Injects an event, waiting while the buffer is full. The event's `source_id` is set to
    /// `source_id`.
    pub async fn inject(&self, source_id: &str, mut event: ChangeEvent) -> Result<()> {
        let source = self.source(source_id)?;
        if event.source_id != source_id {
            event.source_id = source_id.into();
        }
        source.counters.injected.fetch_add(1, Ordering::SeqCst);
        if source.tx.send(Arc::new(event)).await.is_err() {
            source.counters.injected.fetch_sub(1, Ordering::SeqCst);
            return Err(CdcError::not_found(source_id, PROVIDER_NAME));
        }
        Ok(())
    }

    /// Injects an already shared event, waiting while the buffer is full. An event whose
    /// `source_id` differs is copied once to correct it.
    pub async fn inject_shared(&self, source_id: &str, event: SharedEvent) -> Result<()> {
        self.sender(source_id)?.send(event).await
    }

    /// A handle that injects into one source without looking it up per event: the fast path
    /// for producers of many events. It fails once the source is disconnected.
    pub fn sender(&self, source_id: &str) -> Result<MemorySender> {
        let source = self.source(source_id)?;
        Ok(MemorySender {
            source_id: source.config.source_id.as_str().into(),
            tx: source.tx.clone(),
            counters: Arc::clone(&source.counters),
        })
    }

    /// Injects an event without waiting: a full buffer is a [`CdcError::BufferFull`].
    pub fn try_inject(&self, source_id: &str, mut event: ChangeEvent) -> Result<()> {
        let source = self.source(source_id)?;
        if event.source_id != source_id {
            event.source_id = source_id.into();
        }
        match source.tx.try_send(Arc::new(event)) {
            Ok(()) => {
                source.counters.injected.fetch_add(1, Ordering::SeqCst);
                Ok(())
            }
            Err(mpsc::error::TrySendError::Full(_)) => Err(CdcError::BufferFull {
                source_id: source_id.to_owned(),
                provider: PROVIDER_NAME.into(),
                capacity: source.capacity,
            }),
            Err(mpsc::error::TrySendError::Closed(_)) => {
                Err(CdcError::not_found(source_id, PROVIDER_NAME))
            }
        }
    }

    /// Injects a Go-style event map (`{"op": "INSERT", "table": "public.orders", "after":
    /// {...}}`; `action` for `op`, `source` for `table`), as the Go tests did. A map that
    /// cannot be converted is an error saying why.
    pub async fn inject_json(&self, source_id: &str, event: &Value) -> Result<()> {
        let event = ChangeEvent::from_go_json(source_id, event)?;
        self.inject(source_id, event).await
    }

    /// Alias of [`MemoryProvider::inject_json`] with the Go name.
    pub async fn inject_event(&self, source_id: &str, event: &Value) -> Result<()> {
        self.inject_json(source_id, event).await
    }
}

/// Injects events into one memory source; see [`MemoryProvider::sender`]. Cheap to clone.
#[derive(Clone)]
pub struct MemorySender {
    source_id: cdc_core::Name,
    tx: mpsc::Sender<SharedEvent>,
    counters: Arc<crate::source::Counters>,
}

impl std::fmt::Debug for MemorySender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemorySender")
            .field("source_id", &self.source_id)
            .finish()
    }
}

impl MemorySender {
    /// The source this handle injects into.
    pub fn source_id(&self) -> &str {
        &self.source_id
    }

    /// Injects an event, waiting while the buffer is full.
    pub async fn send(&self, mut event: SharedEvent) -> Result<()> {
        if event.source_id != self.source_id {
            Arc::make_mut(&mut event).source_id = self.source_id.clone();
        }
        self.counters.injected.fetch_add(1, Ordering::SeqCst);
        if self.tx.send(event).await.is_err() {
            self.counters.injected.fetch_sub(1, Ordering::SeqCst);
            return Err(CdcError::not_found(&self.source_id, PROVIDER_NAME));
        }
        Ok(())
    }
}
