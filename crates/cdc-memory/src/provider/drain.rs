//! Waiting for a memory source's delivery to catch up, and ending its input: the graceful
//! stop ([`MemoryProvider::drain`]) and its parts. Apart because these are the calls that
//! watch the source's progress counters, the only ones that wait on the delivery task.

use std::sync::atomic::Ordering;

use cdc_core::{CdcError, Result};

use super::{MemoryProvider, PROVIDER_NAME};
use crate::source::Counters;

impl MemoryProvider {
    /// Waits until every event injected so far (and the whole `events_file`, if any) has
    /// been handed to the subscribers. Fails if the source goes away.
    pub async fn wait_idle(&self, source_id: &str) -> Result<()> {
        self.wait_for(source_id, |c| {
            !c.input_running.load(Ordering::SeqCst)
                && c.processed.load(Ordering::SeqCst) >= c.injected.load(Ordering::SeqCst)
        })
        .await
    }

    /// Resolves once `done` holds for the source's counters (looked at after every batch and
    /// when the input ends); fails if the source goes away first.
    async fn wait_for(&self, source_id: &str, done: impl Fn(&Counters) -> bool) -> Result<()> {
        let source = self.source(source_id)?;
        let counters: &Counters = &source.counters;
        loop {
            let notified = counters.progress.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if done(counters) {
                return Ok(());
            }
            if *source.shutdown.borrow() {
                return Err(CdcError::not_found(source_id, PROVIDER_NAME));
            }
            notified.await;
        }
    }

    /// Stops reading the source's `events_file` (or stdin) after the line being read; the
    /// events already read are still delivered. For a graceful stop: close the input, then
    /// [`MemoryProvider::wait_idle`], then disconnect, and no event read is lost.
    pub fn close_input(&self, source_id: &str) -> Result<()> {
        self.source(source_id)?.input_stop.send_replace(true);
        Ok(())
    }

    /// Resolves when the source's `events_file` (or stdin) has been read to its end (or
    /// could not be read further); at once for a source without one. Events read may still
    /// be buffered: see [`MemoryProvider::drain`].
    pub async fn wait_input_end(&self, source_id: &str) -> Result<()> {
        self.wait_for(source_id, |c| !c.input_running.load(Ordering::SeqCst))
            .await
    }

    /// The graceful stop of a source: stops reading its input after the line being read,
    /// then delivers everything already read, even while the source is paused (it is
    /// stopping: a pause no longer holds what it has read), and resolves once all of it has
    /// been handed to the subscribers. Then disconnect, and no event read is lost.
    pub async fn drain(&self, source_id: &str) -> Result<()> {
        let source = self.source(source_id)?;
        source.input_stop.send_replace(true);
        source.draining.send_replace(true);
        self.wait_idle(source_id).await
    }
}
