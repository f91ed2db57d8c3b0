//! [`Subscribers`]: the copy-on-write set of handlers of one source, and its delivery of a
//! batch to all of them ([`DeliveryFailure`] when some fail). Apart from [`Subscription`], the
//! handle that removes one handler again.

use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use futures::FutureExt as _;

use super::{EventHandler, HandlerError, SharedEvent, Subscription};

/// Some handlers failed on a batch.
#[derive(Debug, thiserror::Error)]
#[error("{} handler(s) failed on source {source_id:?}; {handled} event(s) of the batch handled by all: {}",
    errors.len(), errors.first().map(|(_, e)| e.message.as_str()).unwrap_or(""))]
pub struct DeliveryFailure {
    /// The source.
    pub source_id: String,
    /// How many events at the start of the batch every handler handled.
    pub handled: usize,
    /// Each failed handler's subscription id and error.
    pub errors: Vec<(u64, HandlerError)>,
}

#[derive(Clone)]
pub(super) struct Entry {
    pub(super) id: u64,
    handler: Arc<dyn EventHandler>,
}

impl Entry {
    /// The handler's outcome on `events`; a panic is a failure on the whole batch.
    async fn handle(&self, events: &[SharedEvent]) -> Result<(), HandlerError> {
        // Unwind safety: what the handler left half-done is its own state; the batch is
        // delivered again whole, as after an error.
        match AssertUnwindSafe(self.handler.handle(events))
            .catch_unwind()
            .await
        {
            Ok(result) => result,
            Err(panic) => Err(HandlerError::new(
                0,
                format!("the handler panicked: {}", panic_message(panic.as_ref())),
            )),
        }
    }
}

/// A panic's message (a `&str` or `String` payload), clipped to 200 characters.
fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    let text = payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(no message)");
    match text.char_indices().nth(200) {
        Some((at, _)) => format!("{}...", &text[..at]),
        None => text.to_owned(),
    }
}

pub(super) struct Inner {
    source_id: String,
    next_id: AtomicU64,
    // Copy-on-write: delivery takes a cheap snapshot (`Arc` clone) per batch; (un)subscribing,
    // which is rare, rebuilds the slice.
    pub(super) entries: RwLock<Arc<[Entry]>>,
    // Wakes `wait_for_subscriber` when a handler is added.
    subscribed: tokio::sync::Notify,
}

impl Inner {
    pub(super) fn remove(&self, id: u64) -> bool {
        let mut guard = self.entries.write().unwrap_or_else(|p| p.into_inner());
        if !guard.iter().any(|e| e.id == id) {
            return false;
        }
        let kept: Vec<Entry> = guard.iter().filter(|e| e.id != id).cloned().collect();
        *guard = kept.into();
        true
    }
}

/// The handlers subscribed to one source. Cloning shares the same set.
#[derive(Clone)]
pub struct Subscribers {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Subscribers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Subscribers")
            .field("source_id", &self.inner.source_id)
            .field("handlers", &self.len())
            .finish()
    }
}

impl Subscribers {
    /// An empty set for `source_id`.
    pub fn new(source_id: impl Into<String>) -> Self {
        Self {
            inner: Arc::new(Inner {
                source_id: source_id.into(),
                next_id: AtomicU64::new(1),
                entries: RwLock::new(Arc::from(Vec::new())),
                subscribed: tokio::sync::Notify::new(),
            }),
        }
    }

    /// The source these handlers listen to.
    pub fn source_id(&self) -> &str {
        &self.inner.source_id
    }

    /// Adds a handler. It stays until the returned [`Subscription`] is cancelled or dropped.
    pub fn subscribe(&self, handler: Arc<dyn EventHandler>) -> Subscription {
        let id = self.inner.next_id.fetch_add(1, Ordering::Relaxed);
        {
            let mut guard = self
                .inner
                .entries
                .write()
                .unwrap_or_else(|p| p.into_inner());
            let mut v: Vec<Entry> = guard.iter().cloned().collect();
            v.push(Entry { id, handler });
            *guard = v.into();
        }
        self.inner.subscribed.notify_waiters();
        Subscription {
            id,
            source_id: self.inner.source_id.clone(),
            inner: Some(Arc::downgrade(&self.inner)),
        }
    }

    /// How many handlers are subscribed.
    pub fn len(&self) -> usize {
        self.snapshot().len()
    }

    /// Whether no handler is subscribed.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Waits until at least one handler is subscribed.
    ///
    /// A provider whose backend cannot take an event back (a process's stdout, a file) holds
    /// what it has read here instead of handing it to nobody, where it would be lost.
    pub async fn wait_for_subscriber(&self) {
        loop {
            let mut notified = std::pin::pin!(self.inner.subscribed.notified());
            notified.as_mut().enable();
            if !self.is_empty() {
                return;
            }
            notified.await;
        }
    }

    /// Removes every handler (when the source goes away). Their subscriptions become inactive.
    pub fn clear(&self) {
        let mut guard = self
            .inner
            .entries
            .write()
            .unwrap_or_else(|p| p.into_inner());
        *guard = Arc::from(Vec::new());
    }

    fn snapshot(&self) -> Arc<[Entry]> {
        Arc::clone(&self.inner.entries.read().unwrap_or_else(|p| p.into_inner()))
    }

    /// Hands `events` to every handler, in order, and waits for all of them.
    ///
    /// Handlers run concurrently with each other; each sees the batch in order. A handler
    /// added during a delivery starts with the next batch. A handler that panics has failed
    /// on the whole batch (`handled` 0, the panic's message in its error): the provider
    /// delivers the batch again as after any failure, instead of its delivery task dying
    /// with the panic, which would stop the source with nothing in its status.
    pub async fn deliver(&self, events: &[SharedEvent]) -> Result<(), DeliveryFailure> {
        if events.is_empty() {
            return Ok(());
        }
        let entries = self.snapshot();
        let errors: Vec<(u64, HandlerError)> = match &*entries {
            [] => Vec::new(),
            [only] => match only.handle(events).await {
                Ok(()) => Vec::new(),
                Err(e) => vec![(only.id, e)],
            },
            many => {
                let results =
                    futures::future::join_all(many.iter().map(|entry| entry.handle(events))).await;
                many.iter()
                    .zip(results)
                    .filter_map(|(entry, r)| r.err().map(|e| (entry.id, e)))
                    .collect()
            }
        };
        if errors.is_empty() {
            return Ok(());
        }
        let handled = errors
            .iter()
            .map(|(_, e)| e.handled.min(events.len()))
            .min()
            .unwrap_or(0);
        Err(DeliveryFailure {
            source_id: self.inner.source_id.clone(),
            handled,
            errors,
        })
    }
}
