//! The callback of one trigger: print the event, then run the trigger's steps in order,
//! each seeing the event and the earlier steps' outputs.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Instant;

use cdc::SharedEvent;
use cdc::core::error::BoxError;
use cdc::steps::{StepContext, StepRegistry};
use cdc::trigger::TriggerCallback;
use serde_json::Map;
use tokio::sync::Notify;

use crate::config::TriggerSpec;
use crate::output::Printer;
use crate::serve::metrics::record::TriggerMetrics;

/// Counts callbacks running, so shutdown can wait for them.
#[derive(Debug, Default)]
pub struct InFlight {
    running: AtomicUsize,
    done: Notify,
}

struct InFlightGuard<'a>(&'a InFlight);

impl Drop for InFlightGuard<'_> {
    fn drop(&mut self) {
        if self.0.running.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.0.done.notify_waiters();
        }
    }
}

impl InFlight {
    fn enter(&self) -> InFlightGuard<'_> {
        self.running.fetch_add(1, Ordering::SeqCst);
        InFlightGuard(self)
    }

    /// Whether no callback is running now.
    pub fn is_idle(&self) -> bool {
        self.running.load(Ordering::SeqCst) == 0
    }

    /// Resolves when no callback is running.
    pub async fn wait(&self) {
        loop {
            let notified = self.done.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.running.load(Ordering::SeqCst) == 0 {
                return;
            }
            notified.await;
        }
    }
}

/// What every trigger's callback shares.
#[derive(Debug)]
pub struct Shared {
    /// Where records go.
    pub printer: Printer,
    /// The step types.
    pub steps: StepRegistry,
    /// What steps run against.
    pub context: StepContext,
    /// Callbacks running.
    pub in_flight: InFlight,
    /// Steps that failed.
    pub step_errors: AtomicU64,
}

/// The callback of one trigger.
pub struct Pipeline {
    /// The trigger.
    pub spec: TriggerSpec,
    /// Shared state.
    pub shared: Arc<Shared>,
    metrics: TriggerMetrics,
}

impl Pipeline {
    /// The callback of `spec`, with its metric handles registered.
    pub fn new(spec: TriggerSpec, shared: Arc<Shared>) -> Self {
        let metrics = TriggerMetrics::new(
            &spec.config.source_id,
            &spec.name,
            spec.steps
                .iter()
                .map(|s| (s.name.as_str(), s.step_type.as_str())),
        );
        Self {
            spec,
            shared,
            metrics,
        }
    }
}

impl TriggerCallback for Pipeline {
    async fn fire(&self, _action: &str, event: &SharedEvent) -> Result<(), BoxError> {
        let shared = &*self.shared;
        let _guard = shared.in_flight.enter();
        let trigger = self.spec.name.as_str();
        let event_json = event.to_go_json();
        let mut records = vec![shared.printer.event(trigger, event, &event_json)];
        let mut outputs = Map::new();
        for (step, step_metrics) in self.spec.steps.iter().zip(&self.metrics.steps) {
            let began = Instant::now();
            let result = match step.config.resolve(&event_json, &outputs) {
                Ok(config) => shared
                    .steps
                    .execute(&step.step_type, &shared.context, &step.name, &config)
                    .await
                    .map_err(|e| e.to_string()),
                Err(e) => Err(format!("{} {:?}: {e}", step.step_type, step.name)),
            };
            step_metrics.ran(began.elapsed(), result.is_err());
            match result {
                Ok(output) => {
                    records.push(shared.printer.step(
                        trigger,
                        &step.name,
                        &step.step_type,
                        &output,
                    ));
                    outputs.insert(step.name.clone(), output);
                }
                Err(e) => {
                    // A failed step ends this event's steps; the run goes on with the next
                    // event (the failure is printed and counted in the final report).
                    shared.step_errors.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(trigger, step = %step.name, error = %e, "step failed");
                    records.push(shared.printer.step_error(
                        trigger,
                        &step.name,
                        &step.step_type,
                        &e,
                    ));
                    break;
                }
            }
        }
        shared.printer.emit(records).await;
        self.metrics.delivered(event.operation);
        Ok(())
    }
}
