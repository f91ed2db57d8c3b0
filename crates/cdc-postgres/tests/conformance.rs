//! The provider contract (cdc_testkit::conformance) for the PostgreSQL provider, against a
//! real server.

use std::sync::Arc;

use cdc_core::{CdcProvider, SourceConfig};
use cdc_postgres::PostgresProvider;
use cdc_testkit::PgCluster;

struct Postgres {
    pg: PgCluster,
}

impl cdc_testkit::conformance::Harness for Postgres {
    fn provider(&self) -> Arc<dyn CdcProvider> {
        Arc::new(PostgresProvider::new())
    }

    fn config(&self, source_id: &str) -> SourceConfig {
        SourceConfig::from_value(serde_json::json!({
            "provider": "postgres",
            "source_id": source_id,
            "connection": self.pg.url(),
            "tables": ["public.orders"],
            "options": {"snapshot": "never"},
        }))
        .unwrap()
    }
}

async fn harness() -> Postgres {
    let pg = PgCluster::start().await.unwrap();
    pg.connect()
        .await
        .unwrap()
        .batch_execute("create table public.orders (id int primary key)")
        .await
        .unwrap();
    Postgres { pg }
}

cdc_testkit::provider_conformance!(harness);
