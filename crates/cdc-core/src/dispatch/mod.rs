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

mod handler;
mod subscribers;
mod subscription;

pub use handler::{EventHandler, HandlerError, SharedEvent, handler_fn};
pub use subscribers::{DeliveryFailure, Subscribers};
pub use subscription::Subscription;

#[cfg(test)]
mod tests;
