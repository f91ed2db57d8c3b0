//! [`StepContext`]: what steps run against.

use std::sync::Arc;

use cdc_core::{ProviderFactory, SourceRegistry};

/// The registry of running sources the steps look sources up in, and the factory
/// `step.cdc_start` builds new sources with. Cheap to clone.
#[derive(Clone, Debug)]
pub struct StepContext {
    /// Running sources by id.
    pub registry: Arc<SourceRegistry>,
    /// Providers by name, for `step.cdc_start` with a source config.
    pub factory: Arc<ProviderFactory>,
}

impl StepContext {
    /// A context over `registry` and `factory`.
    pub fn new(registry: Arc<SourceRegistry>, factory: Arc<ProviderFactory>) -> Self {
        Self { registry, factory }
    }

    /// A context over `registry` with an empty factory: `step.cdc_start` can then only report
    /// sources that are already registered.
    pub fn with_registry(registry: Arc<SourceRegistry>) -> Self {
        Self::new(registry, Arc::new(ProviderFactory::new()))
    }
}
