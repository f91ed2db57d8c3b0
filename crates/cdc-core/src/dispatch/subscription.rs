//! [`Subscription`]: a handler's place in a source's [`Subscribers`]; cancelling or dropping
//! it removes that handler alone. Apart from the set: it holds only a weak reference to it,
//! so that a subscription never keeps a source alive.
//!
//! [`Subscribers`]: super::Subscribers

use std::sync::Weak;

use super::subscribers::Inner;

/// A handler's place in a source's [`Subscribers`]. Dropping or cancelling it removes exactly
/// that handler; other handlers of the source keep receiving events.
///
/// A batch already being handled when the subscription is cancelled may still finish.
///
/// [`Subscribers`]: super::Subscribers
#[must_use = "dropping a Subscription unsubscribes its handler at once; keep it, or call detach()"]
pub struct Subscription {
    pub(super) id: u64,
    pub(super) source_id: String,
    pub(super) inner: Option<Weak<Inner>>,
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
