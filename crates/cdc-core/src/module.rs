//! [`SourceModule`]: one configured source and its lifecycle (Go's `cdc.source` module).

use std::sync::Arc;

use crate::config::SourceConfig;
use crate::error::{CdcError, Result};
use crate::factory::ProviderFactory;
use crate::provider::CdcProvider;
use crate::registry::SourceRegistry;

/// A validated source config with the provider built for it.
///
/// `start` connects then registers the source (and disconnects again if registering fails;
/// a second `start` of a running source does nothing); `stop` unregisters then disconnects.
pub struct SourceModule {
    config: SourceConfig,
    provider: Arc<dyn CdcProvider>,
    registry: Arc<SourceRegistry>,
}

impl std::fmt::Debug for SourceModule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SourceModule")
            .field("config", &self.config)
            .field("provider", &self.provider.name())
            .finish()
    }
}

impl SourceModule {
    /// Validates `config` and builds its provider through `factory`.
    pub fn new(
        config: SourceConfig,
        factory: &ProviderFactory,
        registry: Arc<SourceRegistry>,
    ) -> Result<Self> {
        config.validate()?;
        let provider = factory.build(&config)?;
        Ok(Self {
            config,
            provider,
            registry,
        })
    }

    /// A module over a provider built elsewhere (the config is still validated).
    pub fn with_provider(
        config: SourceConfig,
        provider: Arc<dyn CdcProvider>,
        registry: Arc<SourceRegistry>,
    ) -> Result<Self> {
        config.validate()?;
        Ok(Self {
            config,
            provider,
            registry,
        })
    }

    /// The source config.
    pub fn config(&self) -> &SourceConfig {
        &self.config
    }

    /// The source id.
    pub fn source_id(&self) -> &str {
        &self.config.source_id
    }

    /// The provider (steps and triggers use it).
    pub fn provider(&self) -> Arc<dyn CdcProvider> {
        Arc::clone(&self.provider)
    }

    /// The registry the module registers in.
    pub fn registry(&self) -> &Arc<SourceRegistry> {
        &self.registry
    }

    /// Connects the source, then registers it. If registering fails (the id is taken), the
    /// connection just made is undone and the registration error returned.
    ///
    /// Starting a source that this module already started (it is registered with this
    /// module's provider) is a no-op that leaves it running: it neither connects again nor,
    /// above all, undoes anything. A source id registered by another provider is an
    /// [`CdcError::AlreadyExists`] error, found before anything is connected.
    pub async fn start(&self) -> Result<()> {
        let id = self.source_id();
        if let Ok(registered) = self.registry.lookup(id) {
            if Arc::ptr_eq(&registered, &self.provider) {
                tracing::debug!(source_id = id, "source already started: nothing to do");
                return Ok(());
            }
            return Err(CdcError::already_exists(id, self.provider.name()));
        }
        self.provider.connect(&self.config).await?;
        if let Err(e) = self.registry.register(id, Arc::clone(&self.provider)) {
            // Another start registered the id between the lookup and now.
            if let Err(undo) = self.provider.disconnect(id).await {
                tracing::warn!(source_id = id, error = %undo, "disconnect after failed registration failed");
            }
            return Err(e);
        }
        tracing::info!(
            source_id = id,
            provider = self.provider.name(),
            "source started"
        );
        Ok(())
    }

    /// Unregisters the source, then disconnects it.
    pub async fn stop(&self) -> Result<()> {
        let id = self.source_id();
        self.registry.unregister(id);
        self.provider.disconnect(id).await?;
        tracing::info!(
            source_id = id,
            provider = self.provider.name(),
            "source stopped"
        );
        Ok(())
    }
}
