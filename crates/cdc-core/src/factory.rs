//! [`ProviderFactory`]: building a provider from its name.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::config::SourceConfig;
use crate::error::{CdcError, Result};
use crate::provider::CdcProvider;

/// Every provider cdc-rs has, with the `cdc` feature that compiles it in.
pub const KNOWN_PROVIDERS: &[(&str, &str)] = &[
    ("memory", "memory"),
    ("debezium", "debezium"),
    ("dms", "dms"),
    ("bento", "bento"),
    ("postgres", "postgres"),
];

/// Builds a provider for a source config.
pub type BuildProvider = dyn Fn(&SourceConfig) -> Result<Arc<dyn CdcProvider>> + Send + Sync;

/// Providers by name. The facade crate `cdc` fills one with every compiled-in provider
/// (`cdc::provider_factory()`); tests can build their own.
#[derive(Clone, Default)]
pub struct ProviderFactory {
    builders: BTreeMap<String, Arc<BuildProvider>>,
}

impl std::fmt::Debug for ProviderFactory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProviderFactory")
            .field("providers", &self.names())
            .finish()
    }
}

impl ProviderFactory {
    /// A factory with no provider.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds (or replaces) the builder for `name`.
    pub fn register<F>(&mut self, name: impl Into<String>, build: F) -> &mut Self
    where
        F: Fn(&SourceConfig) -> Result<Arc<dyn CdcProvider>> + Send + Sync + 'static,
    {
        self.builders.insert(name.into(), Arc::new(build));
        self
    }

    /// Builder-style [`ProviderFactory::register`].
    pub fn with<F>(mut self, name: impl Into<String>, build: F) -> Self
    where
        F: Fn(&SourceConfig) -> Result<Arc<dyn CdcProvider>> + Send + Sync + 'static,
    {
        self.register(name, build);
        self
    }

    /// The names this factory can build, sorted.
    pub fn names(&self) -> Vec<String> {
        self.builders.keys().cloned().collect()
    }

    /// Whether `name` can be built.
    pub fn contains(&self, name: &str) -> bool {
        self.builders.contains_key(name)
    }

    /// Builds the provider `config.provider` names.
    ///
    /// A known provider that is not compiled in says which `cdc` feature to enable; an unknown
    /// name lists the valid ones.
    pub fn build(&self, config: &SourceConfig) -> Result<Arc<dyn CdcProvider>> {
        let name = config.provider.as_str();
        if let Some(build) = self.builders.get(name) {
            return build(config);
        }
        if let Some((_, feature)) = KNOWN_PROVIDERS.iter().find(|(n, _)| *n == name) {
            return Err(CdcError::ProviderNotCompiled {
                name: name.to_owned(),
                feature: (*feature).to_owned(),
            });
        }
        let mut valid: Vec<String> = KNOWN_PROVIDERS
            .iter()
            .map(|(n, _)| (*n).to_owned())
            .chain(self.builders.keys().cloned())
            .collect();
        valid.sort();
        valid.dedup();
        Err(CdcError::UnknownProvider {
            name: name.to_owned(),
            valid,
        })
    }
}
