//! [`StepRegistry`]: steps by type name.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::{Map, Value};

use crate::context::StepContext;
use crate::error::{StepError, StepErrorKind};
use crate::step::Step;
use crate::steps;

/// Steps by type name. [`StepRegistry::standard`] holds the seven CDC steps.
#[derive(Clone, Default)]
pub struct StepRegistry {
    steps: BTreeMap<&'static str, Arc<dyn Step>>,
}

impl std::fmt::Debug for StepRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StepRegistry")
            .field("steps", &self.type_names())
            .finish()
    }
}

impl StepRegistry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// The seven CDC steps: `step.cdc_start`, `step.cdc_stop`, `step.cdc_status`,
    /// `step.cdc_snapshot`, `step.cdc_schema_history`, `step.cdc_backpressure`,
    /// `step.cdc_monitor`.
    pub fn standard() -> Self {
        let mut r = Self::new();
        r.register(Arc::new(steps::StartStep));
        r.register(Arc::new(steps::StopStep));
        r.register(Arc::new(steps::StatusStep));
        r.register(Arc::new(steps::SnapshotStep));
        r.register(Arc::new(steps::SchemaHistoryStep));
        r.register(Arc::new(steps::BackpressureStep));
        r.register(Arc::new(steps::MonitorStep));
        r
    }

    /// Adds a step under its type name, returning the one it replaces.
    pub fn register(&mut self, step: Arc<dyn Step>) -> Option<Arc<dyn Step>> {
        self.steps.insert(step.type_name(), step)
    }

    /// The step of type `type_name`.
    pub fn get(&self, type_name: &str) -> Option<Arc<dyn Step>> {
        self.steps.get(type_name).cloned()
    }

    /// The type names, sorted.
    pub fn type_names(&self) -> Vec<&'static str> {
        self.steps.keys().copied().collect()
    }

    /// Runs the step of type `type_name`, named `name`, with `config`. An unknown type is an
    /// error listing the known ones.
    pub async fn execute(
        &self,
        type_name: &str,
        ctx: &StepContext,
        name: &str,
        config: &Value,
    ) -> Result<Value, StepError> {
        self.step(type_name, name)?.execute(ctx, name, config).await
    }

    /// Checks the config of a step of type `type_name`, named `name`, before any event: see
    /// [`Step::check`]. An unknown type is an error listing the known ones.
    pub fn check(
        &self,
        type_name: &str,
        name: &str,
        config: &Value,
        per_event: &dyn Fn(&str) -> bool,
    ) -> Result<(), StepError> {
        self.step(type_name, name)?.check(name, config, per_event)
    }

    /// The step of type `type_name`; an unknown type is an error (for the step `name`)
    /// listing the known ones.
    fn step(&self, type_name: &str, name: &str) -> Result<&Arc<dyn Step>, StepError> {
        self.steps.get(type_name).ok_or_else(|| {
            StepError::new(
                type_name,
                name,
                StepErrorKind::UnknownStepType {
                    known: self.type_names().into_iter().map(str::to_owned).collect(),
                },
            )
        })
    }

    /// Every step's schema, as the Go plugin manifest's `stepSchemas`:
    /// `{"step.cdc_status": {"description", "config": {...}, "outputs": {...}}, ...}`.
    pub fn schemas(&self) -> Value {
        let map: Map<String, Value> = self
            .steps
            .iter()
            .map(|(name, step)| ((*name).to_owned(), step.schema().to_json()))
            .collect();
        Value::Object(map)
    }
}
