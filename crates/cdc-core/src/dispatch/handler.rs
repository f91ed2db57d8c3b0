//! The handler side of dispatch: [`EventHandler`], the error it returns part-way through a
//! batch ([`HandlerError`]), and [`handler_fn`] for a closure per event. Apart from the
//! subscriber set because this is what users implement; the set is what providers drive.

use std::future::Future;
use std::sync::Arc;

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
