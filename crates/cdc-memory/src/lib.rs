//! # cdc-memory
//!
//! An in-process [`CdcProvider`](cdc_core::CdcProvider): events are injected by code (or read
//! from a JSON Lines file or stdin) and delivered to subscribers exactly as a real provider
//! delivers them. For tests, demos and the `cdc` command's embedded default.
//!
//! Each source has a bounded buffer (option `capacity`, default 256). [`MemoryProvider::inject`]
//! waits for room; [`MemoryProvider::try_inject`] fails with a buffer-full error instead. One
//! task per source takes batches from the buffer and hands them to every subscriber, in order.
//! Pausing holds delivery (nothing is dropped). A handler error is recorded in the status
//! (`error`) and delivery goes on: there is no source position to hold back.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> cdc_core::Result<()> {
//! use cdc_core::{CdcProvider, ChangeEvent, Operation, SourceConfig, handler_fn, SharedEvent};
//! let provider = cdc_memory::MemoryProvider::new();
//! let config = SourceConfig { provider: "memory".into(), source_id: "demo".into(), ..Default::default() };
//! provider.connect(&config).await?;
//! let sub = provider.subscribe("demo", handler_fn(|e: SharedEvent| async move {
//!     println!("{} on {}", e.action(), e.qualified_table());
//!     Ok(())
//! }))?;
//! provider.inject("demo", ChangeEvent::new("demo", Operation::Insert, "public.orders")).await?;
//! provider.wait_idle("demo").await?;
//! drop(sub);
//! provider.disconnect("demo").await?;
//! # Ok(()) }
//! ```

mod input;
mod options;
mod provider;
mod source;

pub use options::{
    DEFAULT_CAPACITY, DEFAULT_MAX_LINE_BYTES, MAX_CAPACITY, MAX_MAX_LINE_BYTES, MIN_MAX_LINE_BYTES,
    MemoryOptions,
};
pub use provider::{MemoryProvider, MemorySender, PROVIDER_NAME};
