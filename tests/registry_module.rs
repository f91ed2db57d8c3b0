//! Go's registry and module tests, and the provider factory, across cdc-core and providers.

use std::sync::Arc;

use async_trait::async_trait;
use cdc::memory::MemoryProvider;
use cdc::{
    CdcError, CdcProvider, CdcStatus, EventHandler, ProviderFactory, Result, SchemaVersion,
    SnapshotReport, SourceConfig, SourceModule, SourceRegistry, SourceState, Subscription,
};

fn config(id: &str) -> SourceConfig {
    SourceConfig {
        provider: "memory".into(),
        source_id: id.into(),
        connection: "postgres://app:hunter2@db:5432/shop".into(),
        tables: vec!["public.orders".into()],
        ..Default::default()
    }
}

#[test]
fn registry_register_lookup_unregister() {
    let reg = SourceRegistry::new();
    let p: Arc<dyn CdcProvider> = Arc::new(MemoryProvider::new());
    reg.register("a", Arc::clone(&p)).unwrap();
    assert!(reg.contains("a"));
    assert_eq!(reg.lookup("a").unwrap().name(), "memory");

    let err = reg.register("a", Arc::clone(&p)).unwrap_err();
    assert!(matches!(err, CdcError::AlreadyExists { .. }));
    assert!(err.to_string().contains("\"a\""), "{err}");

    let err = match reg.lookup("b") {
        Err(e) => e,
        Ok(_) => panic!("found a source never registered"),
    };
    assert!(matches!(err, CdcError::NotFound { .. }));
    assert!(err.to_string().contains("\"b\""), "{err}");

    assert!(reg.unregister("a").is_some());
    assert!(
        reg.unregister("a").is_none(),
        "second unregister is a no-op"
    );
    assert!(reg.lookup("a").is_err());
    assert!(reg.source_ids().is_empty());
}

#[test]
fn global_registry_functions() {
    let p: Arc<dyn CdcProvider> = Arc::new(MemoryProvider::new());
    let id = "global-registry-test-source";
    cdc::registry::register_source(id, p).unwrap();
    assert!(cdc::registry::lookup_source(id).is_ok());
    assert!(SourceRegistry::global().contains(id));
    assert!(cdc::registry::unregister_source(id).is_some());
    assert!(cdc::registry::lookup_source(id).is_err());
}

#[test]
fn module_new_validates_and_names_the_field() {
    let reg = Arc::new(SourceRegistry::new());
    let factory = cdc::provider_factory();
    let cases: Vec<(SourceConfig, &str)> = vec![
        (
            SourceConfig {
                source_id: String::new(),
                ..config("x")
            },
            "source_id",
        ),
        (
            SourceConfig {
                source_id: "bad id!".into(),
                ..config("x")
            },
            "source_id",
        ),
        (
            SourceConfig {
                source_id: "x".repeat(129),
                ..config("x")
            },
            "source_id",
        ),
        (
            SourceConfig {
                provider: String::new(),
                ..config("x")
            },
            "provider",
        ),
        (
            SourceConfig {
                tables: vec!["ok".into(), "a.b.c".into()],
                ..config("x")
            },
            "tables[1]",
        ),
        (
            SourceConfig {
                tables: vec!["users; drop".into()],
                ..config("x")
            },
            "tables[0]",
        ),
        (
            SourceConfig {
                provider: "kafkaa".into(),
                ..config("x")
            },
            "valid providers",
        ),
    ];
    for (cfg, field) in cases {
        let err = SourceModule::new(cfg.clone(), &factory, Arc::clone(&reg)).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains(field), "{cfg:?}: {msg}");
        assert!(!msg.contains("hunter2"), "password leaked: {msg}");
    }
    // every problem at once, for `cdc validate`
    let errs = SourceConfig {
        source_id: String::new(),
        provider: String::new(),
        tables: vec!["".into()],
        ..config("x")
    }
    .validation_errors();
    let fields: Vec<&str> = errs.iter().map(|e| e.field.as_str()).collect();
    assert_eq!(fields, ["source_id", "provider", "tables[0]"]);
}

#[test]
fn secrets_never_show_in_debug_or_serialized_config() {
    let cfg = config("s");
    let debug = format!("{cfg:?}");
    assert!(
        !debug.contains("hunter2") && debug.contains("app:***@db"),
        "{debug}"
    );
    let json = serde_json::to_string(&cfg).unwrap();
    assert!(!json.contains("hunter2"), "{json}");
    let module = SourceModule::with_provider(
        cfg,
        Arc::new(MemoryProvider::new()),
        Arc::new(SourceRegistry::new()),
    )
    .unwrap();
    assert!(!format!("{module:?}").contains("hunter2"));
}

#[test]
fn config_reads_yaml_and_json_with_go_field_names() {
    let yaml = "provider: memory\nsource_id: s\nsource_type: postgres\nconnection: postgres://u:p@h/db\ntables: [public.a, b]\noptions: {capacity: 8, flag: no}\n";
    let from_yaml = SourceConfig::from_yaml(yaml).unwrap();
    assert_eq!(
        from_yaml.options["flag"], "no",
        "strict booleans keep `no` a string"
    );
    let json = r#"{"provider":"memory","source_id":"s","source_type":"postgres","connection":"postgres://u:p@h/db","tables":["public.a","b"],"options":{"capacity":8,"flag":"no"}}"#;
    assert_eq!(SourceConfig::from_json(json).unwrap(), from_yaml);
    let err = SourceConfig::from_yaml("provider: memory\nsource_idd: s\n").unwrap_err();
    assert!(err.to_string().contains("source_idd"), "{err}");
    let err = SourceConfig::from_yaml("provider: [\n").unwrap_err();
    assert!(err.to_string().contains("line"), "{err}");
}

#[tokio::test]
async fn module_start_stop_and_duplicate_start() {
    let reg = Arc::new(SourceRegistry::new());
    let factory = cdc::provider_factory();
    let module = SourceModule::new(config("s"), &factory, Arc::clone(&reg)).unwrap();
    module.start().await.unwrap();
    assert_eq!(
        reg.lookup("s").unwrap().status("s").await.unwrap().state,
        SourceState::Running
    );

    // starting again is a no-op that leaves the source running (never undoes the first start)
    module.start().await.unwrap();
    assert!(reg.contains("s"));
    assert_eq!(
        module.provider().status("s").await.unwrap().state,
        SourceState::Running
    );

    module.stop().await.unwrap();
    assert!(!reg.contains("s"));
    assert_eq!(
        module.provider().status("s").await.unwrap().state,
        SourceState::NotFound
    );
}

#[tokio::test]
async fn module_start_undoes_the_connect_when_registering_fails() {
    let reg = Arc::new(SourceRegistry::new());
    // another source already holds the id in the registry
    reg.register("s", Arc::new(MemoryProvider::new())).unwrap();
    let provider = Arc::new(MemoryProvider::new());
    let module =
        SourceModule::with_provider(config("s"), provider.clone(), Arc::clone(&reg)).unwrap();
    let err = module.start().await.unwrap_err();
    assert!(matches!(err, CdcError::AlreadyExists { .. }), "{err}");
    assert_eq!(
        provider.status("s").await.unwrap().state,
        SourceState::NotFound,
        "nothing is left connected"
    );
    assert_eq!(provider.running_tasks(), 0);
}

/// A provider without pause, to show the capability is discovered, not downcast.
struct NoPause;

#[async_trait]
impl CdcProvider for NoPause {
    fn name(&self) -> &str {
        "nopause"
    }
    async fn connect(&self, _: &SourceConfig) -> Result<()> {
        Ok(())
    }
    async fn disconnect(&self, _: &str) -> Result<()> {
        Ok(())
    }
    async fn status(&self, id: &str) -> Result<CdcStatus> {
        Ok(CdcStatus::new(id, "nopause", SourceState::Running))
    }
    async fn snapshot(&self, id: &str, tables: &[String]) -> Result<SnapshotReport> {
        Ok(SnapshotReport::new(id, tables, "none"))
    }
    async fn schema_history(&self, _: &str, _: &str) -> Result<Vec<SchemaVersion>> {
        Ok(Vec::new())
    }
    fn subscribe(&self, id: &str, _: Arc<dyn EventHandler>) -> Result<Subscription> {
        Err(CdcError::not_found(id, "nopause"))
    }
}

#[test]
fn pause_capability_is_discoverable_from_dyn_provider() {
    let with: Arc<dyn CdcProvider> = Arc::new(MemoryProvider::new());
    let without: Arc<dyn CdcProvider> = Arc::new(NoPause);
    assert!(with.pausable().is_some());
    assert!(without.pausable().is_none());
}

#[test]
fn factory_names_the_missing_feature_and_lists_valid_providers() {
    let empty = ProviderFactory::new();
    for (name, feature) in cdc::KNOWN_PROVIDERS {
        let cfg = SourceConfig {
            provider: (*name).into(),
            ..config("s")
        };
        match empty.build(&cfg) {
            Err(CdcError::ProviderNotCompiled { feature: f, .. }) => assert_eq!(&f, feature),
            Err(other) => panic!("{name}: {other}"),
            Ok(_) => panic!("{name} built from an empty factory"),
        }
    }
    let cfg = SourceConfig {
        provider: "nopause".into(),
        ..config("s")
    };
    let custom =
        ProviderFactory::new().with("nopause", |_| Ok(Arc::new(NoPause) as Arc<dyn CdcProvider>));
    assert_eq!(custom.build(&cfg).unwrap().name(), "nopause");
    let err = match custom.build(&SourceConfig {
        provider: "nope".into(),
        ..config("s")
    }) {
        Err(e) => e.to_string(),
        Ok(_) => panic!("built nope"),
    };
    assert!(
        err.contains("nope") && err.contains("memory") && err.contains("nopause"),
        "{err}"
    );
}
