//! The provider contract (cdc_testkit::conformance) for Bento, in delegated mode (the config
//! is generated and kept; the managed process is covered by managed_mode.rs).

use std::sync::Arc;

use cdc_bento::BentoProvider;
use cdc_core::{CdcProvider, SourceConfig};

struct Bento;

impl cdc_testkit::conformance::Harness for Bento {
    fn provider(&self) -> Arc<dyn CdcProvider> {
        Arc::new(BentoProvider::new())
    }

    fn config(&self, source_id: &str) -> SourceConfig {
        SourceConfig::from_value(serde_json::json!({
            "provider": "bento", "source_id": source_id, "source_type": "postgres",
            "connection": "postgres://cdc:pw@db:5432/shop", "tables": ["public.orders"],
            "options": {"mode": "delegated"}
        }))
        .unwrap()
    }
}

async fn harness() -> Bento {
    Bento
}

cdc_testkit::provider_conformance!(harness);
