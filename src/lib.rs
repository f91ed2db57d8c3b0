//! # cdc
//!
//! The facade of cdc-rs. It re-exports [`cdc_core`] (traits and types) and, behind Cargo
//! features, the providers, the trigger and the workflow steps:
//!
//! | feature | crate | what |
//! |---|---|---|
//! | `memory` (default) | [`cdc_memory`] | in-process provider for tests, demos and JSON Lines input |
//! | `trigger` | `cdc_trigger` | filter events by table and action, fire a callback |
//! | `steps` | `cdc_steps` | the workflow steps `step.cdc_start` … `step.cdc_monitor` |
//! | `debezium` | `cdc_debezium` | Debezium connectors on Kafka Connect; Debezium record decoding |
//! | `debezium-kafka` | `cdc_debezium` (its `kafka` feature) | Debezium sources consume their connector's Kafka topics and deliver events (rdkafka, bundled librdkafka) |
//! | `dms` (+ `dms-kinesis`, `dms-cloudwatch`) | `cdc_dms` | AWS DMS replication tasks |
//! | `bento` (+ `bento-postgres`) | `cdc_bento` | Bento stream configs and a supervised Bento process |
//! | `postgres` | `cdc_postgres` | native PostgreSQL CDC over logical replication (pgoutput) |
//! | `full` | all of the above | |
//!
//! [`provider_factory`] builds any compiled-in provider by name; a provider whose feature is
//! off gives an error naming the feature to enable.

pub use cdc_core as core;
pub use cdc_core::*;

#[cfg(feature = "bento")]
pub use cdc_bento as bento;
#[cfg(feature = "debezium")]
pub use cdc_debezium as debezium;
#[cfg(feature = "dms")]
pub use cdc_dms as dms;
#[cfg(feature = "memory")]
pub use cdc_memory as memory;
#[cfg(feature = "postgres")]
pub use cdc_postgres as postgres;
#[cfg(feature = "steps")]
pub use cdc_steps as steps;
#[cfg(feature = "trigger")]
pub use cdc_trigger as trigger;

/// A [`ProviderFactory`] with every provider compiled into this build.
///
/// Each source gets its own provider value. Asking for a provider whose feature is off fails
/// with [`CdcError::ProviderNotCompiled`], naming the feature.
pub fn provider_factory() -> ProviderFactory {
    #[allow(unused_mut)]
    let mut factory = ProviderFactory::new();
    #[cfg(feature = "memory")]
    factory.register("memory", |_| {
        Ok(std::sync::Arc::new(cdc_memory::MemoryProvider::new())
            as std::sync::Arc<dyn CdcProvider>)
    });
    #[cfg(feature = "debezium")]
    factory.register("debezium", |_| {
        Ok(std::sync::Arc::new(cdc_debezium::DebeziumProvider::new())
            as std::sync::Arc<dyn CdcProvider>)
    });
    #[cfg(feature = "dms")]
    factory.register("dms", |_| {
        Ok(std::sync::Arc::new(cdc_dms::DmsProvider::new()) as std::sync::Arc<dyn CdcProvider>)
    });
    #[cfg(feature = "bento")]
    factory.register("bento", |_| {
        Ok(std::sync::Arc::new(cdc_bento::BentoProvider::new()) as std::sync::Arc<dyn CdcProvider>)
    });
    #[cfg(feature = "postgres")]
    factory.register("postgres", |_| {
        Ok(std::sync::Arc::new(cdc_postgres::PostgresProvider::new())
            as std::sync::Arc<dyn CdcProvider>)
    });
    factory
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(provider: &str) -> SourceConfig {
        SourceConfig {
            provider: provider.into(),
            source_id: "s1".into(),
            ..Default::default()
        }
    }

    #[test]
    fn unknown_provider_lists_the_valid_ones() {
        let err = match provider_factory().build(&config("kafkaa")) {
            Err(e) => e,
            Ok(_) => panic!("built an unknown provider"),
        };
        let msg = err.to_string();
        assert!(msg.contains("kafkaa"), "{msg}");
        for name in ["memory", "debezium", "dms", "bento", "postgres"] {
            assert!(msg.contains(name), "{msg}");
        }
    }

    #[test]
    fn compiled_in_providers_build_and_others_name_their_feature() {
        let factory = provider_factory();
        for (name, feature) in KNOWN_PROVIDERS {
            match factory.build(&config(name)) {
                Ok(p) => {
                    assert!(factory.contains(name));
                    assert_eq!(p.name(), *name);
                }
                Err(CdcError::ProviderNotCompiled { feature: f, .. }) => {
                    assert!(!factory.contains(name));
                    assert_eq!(&f, feature);
                }
                Err(other) => panic!("{name}: {other}"),
            }
        }
    }
}
