//! [`TriggerCallback`]: what a trigger calls for each matching event.

use std::future::Future;
use std::sync::Arc;

use cdc_core::SharedEvent;
use cdc_core::error::BoxError;

/// The action name every trigger callback receives, as Go's `trigger.cdc` passed it.
pub const CDC_CHANGE_ACTION: &str = "cdc.change";

/// Receives the matching events of a [`crate::CdcTrigger`], one at a time, in source order.
///
/// Implement it with `async fn`:
///
/// ```
/// use cdc_core::{SharedEvent, error::BoxError};
/// use cdc_trigger::TriggerCallback;
///
/// struct Print;
/// impl TriggerCallback for Print {
///     async fn fire(&self, action: &str, event: &SharedEvent) -> Result<(), BoxError> {
///         println!("{action} {} {}", event.action(), event.qualified_table());
///         Ok(())
///     }
/// }
/// ```
///
/// The method returns `impl Future` (not a boxed future, as `#[async_trait]` would): the trigger
/// is generic over its callback, so calling it per event allocates nothing. An error stops the
/// batch: the trigger reports how many events it handled, so providers with positions do not
/// acknowledge past the failed event.
pub trait TriggerCallback: Send + Sync + 'static {
    /// Called with [`CDC_CHANGE_ACTION`] and a matching event.
    fn fire(
        &self,
        action: &str,
        event: &SharedEvent,
    ) -> impl Future<Output = Result<(), BoxError>> + Send;
}

impl<C: TriggerCallback> TriggerCallback for Arc<C> {
    fn fire(
        &self,
        action: &str,
        event: &SharedEvent,
    ) -> impl Future<Output = Result<(), BoxError>> + Send {
        (**self).fire(action, event)
    }
}

/// A [`TriggerCallback`] from a closure; see [`callback_fn`].
pub struct FnCallback<F>(F);

impl<F> std::fmt::Debug for FnCallback<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FnCallback")
    }
}

/// A callback from an async closure taking the action name and the event.
///
/// The closure gets the event as a [`SharedEvent`] (an `Arc`: one reference-count increment per
/// matching event, no copy) so that its future may own it. Its future is not boxed.
///
/// ```
/// use cdc_core::SharedEvent;
/// let cb = cdc_trigger::callback_fn(|action: &'static str, event: SharedEvent| async move {
///     assert_eq!(action, "cdc.change");
///     let _ = event.after.as_ref();
///     Ok(())
/// });
/// # drop(cb);
/// ```
pub fn callback_fn<F, Fut>(f: F) -> FnCallback<F>
where
    F: Fn(&'static str, SharedEvent) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), BoxError>> + Send,
{
    FnCallback(f)
}

impl<F, Fut> TriggerCallback for FnCallback<F>
where
    F: Fn(&'static str, SharedEvent) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), BoxError>> + Send,
{
    fn fire(
        &self,
        _action: &str,
        event: &SharedEvent,
    ) -> impl Future<Output = Result<(), BoxError>> + Send {
        // The trigger only ever passes CDC_CHANGE_ACTION; handing the closure the `'static`
        // constant lets its future outlive this call without copying the string.
        (self.0)(CDC_CHANGE_ACTION, Arc::clone(event))
    }
}
