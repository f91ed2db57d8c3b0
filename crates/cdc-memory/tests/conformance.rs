//! The provider contract (cdc_testkit::conformance) for the memory provider.

use std::sync::Arc;

use cdc_core::{CdcProvider, SourceConfig};
use cdc_memory::MemoryProvider;

struct Memory;

impl cdc_testkit::conformance::Harness for Memory {
    fn provider(&self) -> Arc<dyn CdcProvider> {
        Arc::new(MemoryProvider::new())
    }

    fn config(&self, source_id: &str) -> SourceConfig {
        SourceConfig::from_value(serde_json::json!({
            "provider": "memory", "source_id": source_id, "tables": ["public.orders"]
        }))
        .unwrap()
    }
}

async fn harness() -> Memory {
    Memory
}

cdc_testkit::provider_conformance!(harness);
