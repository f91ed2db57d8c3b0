//! [`CdcTrigger`]: a callback subscribed to one registered source, behind a filter.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use async_trait::async_trait;
use cdc_core::{EventHandler, HandlerError, SharedEvent, SourceRegistry, Subscription};

use crate::callback::{CDC_CHANGE_ACTION, TriggerCallback};
use crate::config::TriggerConfig;
use crate::error::TriggerError;
use crate::filter::EventFilter;

/// `trigger.cdc`: calls a [`TriggerCallback`] for every event of a source that passes the
/// configured table and action filter.
///
/// - [`CdcTrigger::start`] subscribes to the source registered under `source_id` in the
///   registry given at construction; a second `start` while running is an error.
/// - [`CdcTrigger::stop`] cancels the subscription; it is idempotent, and once it returns no
///   callback is started any more (a batch being delivered at that moment is cut short
///   before its next callback). A callback already running when `stop` is called may finish.
/// - A stopped trigger may be started again.
/// - Several triggers on one source each get every event: each holds its own subscription.
///
/// The trigger is generic over its callback so that calling it costs no allocation per event.
pub struct CdcTrigger<C: TriggerCallback> {
    config: TriggerConfig,
    filter: EventFilter,
    callback: Arc<C>,
    registry: Arc<SourceRegistry>,
    running: Mutex<Option<Running<C>>>,
}

struct Running<C: TriggerCallback> {
    subscription: Subscription,
    handler: Arc<TriggerHandler<C>>,
}

impl<C: TriggerCallback> std::fmt::Debug for CdcTrigger<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CdcTrigger")
            .field("source_id", &self.config.source_id)
            .field("filter", &self.filter.to_string())
            .field("running", &self.is_running())
            .finish()
    }
}

impl<C: TriggerCallback> CdcTrigger<C> {
    /// Validates `config` and builds a trigger over the sources of `registry`. Nothing is
    /// subscribed until [`CdcTrigger::start`].
    pub fn new(
        config: TriggerConfig,
        registry: Arc<SourceRegistry>,
        callback: C,
    ) -> Result<Self, TriggerError> {
        let filter = config.validate()?;
        Ok(Self {
            config,
            filter,
            callback: Arc::new(callback),
            registry,
            running: Mutex::new(None),
        })
    }

    /// The config.
    pub fn config(&self) -> &TriggerConfig {
        &self.config
    }

    /// The source listened to.
    pub fn source_id(&self) -> &str {
        &self.config.source_id
    }

    /// The compiled filter.
    pub fn filter(&self) -> &EventFilter {
        &self.filter
    }

    /// The callback.
    pub fn callback(&self) -> &Arc<C> {
        &self.callback
    }

    /// Whether the trigger is started.
    pub fn is_running(&self) -> bool {
        self.lock().is_some()
    }

    fn lock(&self) -> MutexGuard<'_, Option<Running<C>>> {
        self.running.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Subscribes to the source. Errors: the source is not registered, the provider refuses
    /// the subscription (the source is not connected), or the trigger is already started.
    pub fn start(&self) -> Result<(), TriggerError> {
        let source_id = self.source_id();
        let mut running = self.lock();
        if running.is_some() {
            return Err(TriggerError::AlreadyStarted {
                source_id: source_id.to_owned(),
            });
        }
        let provider =
            self.registry
                .lookup(source_id)
                .map_err(|_| TriggerError::SourceNotRegistered {
                    source_id: source_id.to_owned(),
                })?;
        // A fresh handler (and "active" flag) per start: a batch still in flight from an
        // earlier start stays cut off even after a restart.
        let handler = Arc::new(TriggerHandler {
            source_id: source_id.to_owned(),
            filter: self.filter.clone(),
            callback: Arc::clone(&self.callback),
            active: AtomicBool::new(true),
        });
        let subscription = provider
            .subscribe(source_id, Arc::clone(&handler) as Arc<dyn EventHandler>)
            .map_err(|source| TriggerError::Subscribe {
                source_id: source_id.to_owned(),
                provider: provider.name().to_owned(),
                source: Box::new(source),
            })?;
        *running = Some(Running {
            subscription,
            handler,
        });
        tracing::info!(source_id, filter = %self.filter, "trigger.cdc started");
        Ok(())
    }

    /// Unsubscribes. Returns whether the trigger was running; stopping a stopped trigger does
    /// nothing. After it returns, no callback starts.
    pub fn stop(&self) -> bool {
        let Some(running) = self.lock().take() else {
            return false;
        };
        // The flag first: a batch being delivered checks it before each callback.
        running.handler.active.store(false, Ordering::Release);
        running.subscription.cancel();
        tracing::info!(source_id = self.source_id(), "trigger.cdc stopped");
        true
    }
}

impl<C: TriggerCallback> Drop for CdcTrigger<C> {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The handler subscribed to the source for one start of a trigger.
struct TriggerHandler<C> {
    source_id: String,
    filter: EventFilter,
    callback: Arc<C>,
    active: AtomicBool,
}

#[async_trait]
impl<C: TriggerCallback> EventHandler for TriggerHandler<C> {
    async fn handle(&self, events: &[SharedEvent]) -> Result<(), HandlerError> {
        for (i, event) in events.iter().enumerate() {
            if !self.filter.matches(event) {
                continue;
            }
            if !self.active.load(Ordering::Acquire) {
                // Stopped while this batch was in flight: the trigger no longer wants events.
                return Ok(());
            }
            if let Err(e) = self.callback.fire(CDC_CHANGE_ACTION, event).await {
                let message = format!(
                    "trigger.cdc {:?}: callback failed on {} {}: {e}",
                    self.source_id,
                    event.action(),
                    event.qualified_table()
                );
                return Err(HandlerError {
                    handled: i,
                    message,
                    source: Some(e),
                });
            }
        }
        Ok(())
    }
}
