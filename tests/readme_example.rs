//! The README's example, kept compiling and passing: a memory source, a trigger and a step.

use std::sync::{Arc, Mutex};

use cdc::memory::MemoryProvider;
use cdc::steps::{StepContext, StepRegistry};
use cdc::trigger::{CdcTrigger, TriggerConfig, callback_fn};
use cdc::{ChangeEvent, Operation, SharedEvent, SourceConfig, SourceModule, SourceRegistry};
use serde_json::json;

#[tokio::test]
async fn readme_example() -> Result<(), Box<dyn std::error::Error>> {
    // README example starts here
    let registry = Arc::new(SourceRegistry::new()); // injected; SourceRegistry::global() exists too

    // 1. A source on the in-process memory provider (any provider works the same way;
    //    `SourceModule::new(config, &cdc::provider_factory(), registry)` builds one by name).
    let config =
        SourceConfig::from_yaml("provider: memory\nsource_id: shop\ntables: [public.orders]\n")?;
    let memory = Arc::new(MemoryProvider::new());
    let source = SourceModule::with_provider(config, memory.clone(), registry.clone())?;
    source.start().await?; // connect, then register

    // 2. A trigger: inserts and updates on public.orders fire the callback.
    let fired = Arc::new(Mutex::new(Vec::new()));
    let log = fired.clone();
    let trigger = CdcTrigger::new(
        TriggerConfig::new("shop")
            .with_tables(["public.orders"])
            .with_actions(["insert", "update"]),
        registry.clone(),
        callback_fn(move |action: &'static str, event: SharedEvent| {
            let log = log.clone();
            async move {
                log.lock().unwrap().push(format!(
                    "{action}: {} {}",
                    event.action(),
                    event.qualified_table()
                ));
                Ok(())
            }
        }),
    )?;
    trigger.start()?;

    // 3. Changes arrive (injected here; real providers decode them from their backend).
    memory
        .inject(
            "shop",
            ChangeEvent::new("shop", Operation::Insert, "public.orders")
                .with_after(json!({"id": 1})),
        )
        .await?;
    memory
        .inject(
            "shop",
            ChangeEvent::new("shop", Operation::Delete, "public.orders")
                .with_before(json!({"id": 1})),
        )
        .await?;
    memory
        .inject(
            "shop",
            ChangeEvent::new("shop", Operation::Insert, "public.users")
                .with_after(json!({"id": 7})),
        )
        .await?;
    memory.wait_idle("shop").await?;
    assert_eq!(*fired.lock().unwrap(), ["cdc.change: INSERT public.orders"]);

    // 4. A workflow step, as an engine would run it.
    let steps = StepRegistry::standard();
    let ctx = StepContext::new(registry.clone(), Arc::new(cdc::provider_factory()));
    let status = steps
        .execute(
            "step.cdc_status",
            &ctx,
            "check",
            &json!({"source_id": "shop"}),
        )
        .await?;
    assert_eq!(status["state"], "running");

    trigger.stop();
    source.stop().await?; // unregister, then disconnect
    // README example ends here
    Ok(())
}
