//! [`SourceRegistry`]: running sources by id.
//!
//! Inject a registry where you can (tests never share global state); the process-wide
//! [`SourceRegistry::global`] and the free functions [`register_source`], [`lookup_source`],
//! [`unregister_source`] mirror the Go package for code that wants one.

use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock, RwLock};

use crate::error::{CdcError, Result};
use crate::provider::CdcProvider;

/// Running sources by id, each with the provider that runs it.
#[derive(Default)]
pub struct SourceRegistry {
    sources: RwLock<BTreeMap<String, Arc<dyn CdcProvider>>>,
}

impl std::fmt::Debug for SourceRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SourceRegistry")
            .field("sources", &self.source_ids())
            .finish()
    }
}

impl SourceRegistry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// The process-wide registry.
    pub fn global() -> Arc<SourceRegistry> {
        static GLOBAL: OnceLock<Arc<SourceRegistry>> = OnceLock::new();
        Arc::clone(GLOBAL.get_or_init(|| Arc::new(SourceRegistry::new())))
    }

    /// Registers `provider` under `source_id`; an id already taken is an error naming it.
    pub fn register(&self, source_id: &str, provider: Arc<dyn CdcProvider>) -> Result<()> {
        let mut map = self.sources.write().unwrap_or_else(|p| p.into_inner());
        if let Some(existing) = map.get(source_id) {
            return Err(CdcError::AlreadyExists {
                source_id: source_id.to_owned(),
                provider: Some(existing.name().to_owned()),
            });
        }
        map.insert(source_id.to_owned(), provider);
        Ok(())
    }

    /// The provider running `source_id`; a miss is an error naming it.
    pub fn lookup(&self, source_id: &str) -> Result<Arc<dyn CdcProvider>> {
        self.sources
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(source_id)
            .cloned()
            .ok_or_else(|| CdcError::NotFound {
                source_id: source_id.to_owned(),
                provider: None,
            })
    }

    /// Removes `source_id`, returning its provider if it was registered.
    pub fn unregister(&self, source_id: &str) -> Option<Arc<dyn CdcProvider>> {
        self.sources
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .remove(source_id)
    }

    /// Whether `source_id` is registered.
    pub fn contains(&self, source_id: &str) -> bool {
        self.sources
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .contains_key(source_id)
    }

    /// The registered ids, sorted.
    pub fn source_ids(&self) -> Vec<String> {
        self.sources
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .keys()
            .cloned()
            .collect()
    }
}

/// Registers a source in the process-wide registry (Go's `RegisterSource`).
pub fn register_source(source_id: &str, provider: Arc<dyn CdcProvider>) -> Result<()> {
    SourceRegistry::global().register(source_id, provider)
}

/// Looks a source up in the process-wide registry (Go's `LookupSource`).
pub fn lookup_source(source_id: &str) -> Result<Arc<dyn CdcProvider>> {
    SourceRegistry::global().lookup(source_id)
}

/// Removes a source from the process-wide registry (Go's `UnregisterSource`).
pub fn unregister_source(source_id: &str) -> Option<Arc<dyn CdcProvider>> {
    SourceRegistry::global().unregister(source_id)
}
