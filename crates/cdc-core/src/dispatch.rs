//! Fan-out of event batches to the handlers subscribed to one source.
//!
//! Every provider keeps one [`Subscribers`] per source and calls [`Subscribers::deliver`] with
//! batches of decoded events. Each handler receives every event, in order. Handing over a
//! batch (not one event at a time) keeps the per-event cost of the path low: one lock-free
//! snapshot of the handler list and one boxed future per handler per batch.
//!
//! ## Failure policy
//! A handler returns [`HandlerError`] with the number of events of the batch it handled
//! before it failed. [`Subscribers::deliver`] reports the smallest such number over all
//! handlers in [`DeliveryFailure::handled`]: the events before it were handled by everyone.
//! What a provider does with that is its documented policy:
//! - providers with positions (Debezium, DMS/Kinesis) acknowledge only up to the last event
//!   every handler succeeded on, and deliver the rest again;
//! - the memory provider has nothing to acknowledge: it records the error in its status and
//!   goes on with the next batch.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock, Weak};

use async_trait::async_trait;

use crate::error::BoxError;
use crate::event::ChangeEvent;

/// An event shared by every handler of a batch without copying it.
pub type SharedEvent = Arc<ChangeEvent>;

/// A handler failed part-way through a batch.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct HandlerError {
    /// How many events at the start of the batch were handled before the failure.
    pub handled: usize,
    /// What went wrong.
    pub message: String,
    /// The underlying error.
    #[source]
    pub source: Option<BoxError>,
}

impl HandlerError {
    /// A failure after `handled` events of the batch, with a message.
    pub fn new(handled: usize, message: impl Into<String>) -> Self {
        Self {
            handled,
            message: message.into(),
            source: None,
        }
    }

    /// A failure after `handled` events of the batch, from an error.
    pub fn from_error(handled: usize, error: BoxError) -> Self {
        Self {
            handled,
            message: error.to_string(),
            source: Some(error),
        }
    }
}

/// Receives the events of a source, in batches, in order.
///
/// A handler may be subscribed to several sources; [`ChangeEvent::source_id`] tells them apart.
#[async_trait]
pub trait EventHandler: Send + Sync {
    /// Handles `events` in order. On failure, say how many of them were handled.
    async fn handle(&self, events: &[SharedEvent]) -> Result<(), HandlerError>;
}

/// A handler from an async closure called once per event.
///
/// ```
/// use cdc_core::{handler_fn, SharedEvent};
/// let h = handler_fn(|event: SharedEvent| async move {
///     println!("{} {}", event.action(), event.qualified_table());
///     Ok(())
/// });
/// # drop(h);
/// ```
pub fn handler_fn<F, Fut>(f: F) -> Arc<dyn EventHandler>
where
    F: Fn(SharedEvent) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), BoxError>> + Send,
{
    Arc::new(FnHandler(f))
}

struct FnHandler<F>(F);

#[async_trait]
impl<F, Fut> EventHandler for FnHandler<F>
where
    F: Fn(SharedEvent) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), BoxError>> + Send,
{
    async fn handle(&self, events: &[SharedEvent]) -> Result<(), HandlerError> {
        for (i, e) in events.iter().enumerate() {
            (self.0)(Arc::clone(e))
                .await
                .map_err(|err| HandlerError::from_error(i, err))?;
        }
        Ok(())
    }
}

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
struct Entry {
    id: u64,
    handler: Arc<dyn EventHandler>,
}

struct Inner {
    source_id: String,
    next_id: AtomicU64,
    // Copy-on-write: delivery takes a cheap snapshot (`Arc` clone) per batch; (un)subscribing,
    // which is rare, rebuilds the slice.
    entries: RwLock<Arc<[Entry]>>,
    // Wakes `wait_for_subscriber` when a handler is added.
    subscribed: tokio::sync::Notify,
}

impl Inner {
    fn remove(&self, id: u64) -> bool {
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
    /// added during a delivery starts with the next batch.
    pub async fn deliver(&self, events: &[SharedEvent]) -> Result<(), DeliveryFailure> {
        if events.is_empty() {
            return Ok(());
        }
        let entries = self.snapshot();
        let errors: Vec<(u64, HandlerError)> = match &*entries {
            [] => Vec::new(),
            [only] => match only.handler.handle(events).await {
                Ok(()) => Vec::new(),
                Err(e) => vec![(only.id, e)],
            },
            many => {
                let results = futures::future::join_all(
                    many.iter().map(|entry| entry.handler.handle(events)),
                )
                .await;
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

/// A handler's place in a source's [`Subscribers`]. Dropping or cancelling it removes exactly
/// that handler; other handlers of the source keep receiving events.
///
/// A batch already being handled when the subscription is cancelled may still finish.
#[must_use = "dropping a Subscription unsubscribes its handler at once; keep it, or call detach()"]
pub struct Subscription {
    id: u64,
    source_id: String,
    inner: Option<Weak<Inner>>,
}

impl std::fmt::Debug for Subscription {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Subscription")
            .field("id", &self.id)
            .field("source_id", &self.source_id)
            .field("active", &self.is_active())
            .finish()
    }
}

impl Subscription {
    /// The subscription id (unique per source).
    pub fn id(&self) -> u64 {
        self.id
    }

    /// The source subscribed to.
    pub fn source_id(&self) -> &str {
        &self.source_id
    }

    /// Whether the handler is still subscribed (false after cancel, or once the source is gone).
    pub fn is_active(&self) -> bool {
        self.inner
            .as_ref()
            .and_then(Weak::upgrade)
            .is_some_and(|inner| {
                inner
                    .entries
                    .read()
                    .unwrap_or_else(|p| p.into_inner())
                    .iter()
                    .any(|e| e.id == self.id)
            })
    }

    /// Removes the handler. Returns whether it was still subscribed.
    pub fn cancel(mut self) -> bool {
        self.remove()
    }

    /// Leaves the handler subscribed for as long as the source lives, and forgets the handle.
    pub fn detach(mut self) {
        self.inner = None;
    }

    fn remove(&mut self) -> bool {
        match self.inner.take().and_then(|w| w.upgrade()) {
            Some(inner) => inner.remove(self.id),
            None => false,
        }
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        self.remove();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Operation;
    use std::sync::Mutex;

    fn events(n: usize) -> Vec<SharedEvent> {
        (0..n)
            .map(|i| {
                Arc::new(
                    ChangeEvent::new("s", Operation::Insert, "public.t")
                        .with_key(serde_json::json!({"id": i})),
                )
            })
            .collect()
    }

    fn recorder() -> (Arc<dyn EventHandler>, Arc<Mutex<Vec<i64>>>) {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let s = Arc::clone(&seen);
        let h = handler_fn(move |e: SharedEvent| {
            let s = Arc::clone(&s);
            async move {
                s.lock()
                    .unwrap()
                    .push(e.key.as_ref().unwrap()["id"].as_i64().unwrap());
                Ok(())
            }
        });
        (h, seen)
    }

    #[tokio::test]
    async fn every_handler_gets_every_event_in_order_and_cancel_removes_one() {
        let subs = Subscribers::new("s");
        let (h1, seen1) = recorder();
        let (h2, seen2) = recorder();
        let s1 = subs.subscribe(h1);
        let s2 = subs.subscribe(h2);
        assert_eq!(subs.len(), 2);
        subs.deliver(&events(5)).await.unwrap();
        assert_eq!(*seen1.lock().unwrap(), vec![0, 1, 2, 3, 4]);
        assert_eq!(*seen2.lock().unwrap(), vec![0, 1, 2, 3, 4]);
        assert!(s1.cancel());
        assert!(s2.is_active());
        subs.deliver(&events(2)).await.unwrap();
        assert_eq!(seen1.lock().unwrap().len(), 5);
        assert_eq!(seen2.lock().unwrap().len(), 7);
        drop(s2);
        assert!(subs.is_empty());
    }

    #[tokio::test]
    async fn failure_reports_events_handled_by_all() {
        let subs = Subscribers::new("s");
        let (ok, _) = recorder();
        let failing = handler_fn(|e: SharedEvent| async move {
            if e.key.as_ref().unwrap()["id"] == 3 {
                Err("boom".into())
            } else {
                Ok(())
            }
        });
        let _a = subs.subscribe(ok);
        let b = subs.subscribe(failing);
        let err = subs.deliver(&events(6)).await.unwrap_err();
        assert_eq!(err.handled, 3);
        assert_eq!(err.errors.len(), 1);
        assert_eq!(err.errors[0].0, b.id());
        assert!(err.to_string().contains("boom"));
    }

    #[tokio::test]
    async fn wait_for_subscriber_wakes_on_subscribe() {
        let subs = Subscribers::new("s");
        let waiter = {
            let subs = subs.clone();
            tokio::spawn(async move { subs.wait_for_subscriber().await })
        };
        tokio::task::yield_now().await;
        assert!(!waiter.is_finished());
        let (h, _) = recorder();
        let _sub = subs.subscribe(h);
        tokio::time::timeout(std::time::Duration::from_secs(5), waiter)
            .await
            .expect("woken")
            .unwrap();
        // returns at once when someone already listens
        subs.wait_for_subscriber().await;
    }

    #[tokio::test]
    async fn detached_subscription_stays() {
        let subs = Subscribers::new("s");
        let (h, seen) = recorder();
        subs.subscribe(h).detach();
        subs.deliver(&events(1)).await.unwrap();
        assert_eq!(seen.lock().unwrap().len(), 1);
        subs.clear();
        assert!(subs.is_empty());
    }
}
