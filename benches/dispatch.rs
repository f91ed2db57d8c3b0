//! Events/s from the memory provider through a trigger (table and action filter) to a no-op
//! async callback, with 1 and 4 triggers on the source, next to a baseline in the same run:
//! the same events through a bare tokio mpsc channel (one `send`, one `recv` per event, the
//! same no-op callback per event).
//!
//! Run: `cargo bench --bench dispatch` (or `cargo xtask bench -- --bench dispatch`).
//! Report the ratio `bare_mpsc time / memory_trigger time` (≥ 0.8 is the target).

use std::hint::black_box;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use cdc_core::error::BoxError;
use cdc_core::{CdcProvider, ChangeEvent, Operation, SharedEvent, SourceConfig, SourceRegistry};
use cdc_memory::MemoryProvider;
use cdc_trigger::{CdcTrigger, TriggerCallback, TriggerConfig};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use serde_json::json;
use tokio::runtime::Runtime;
use tokio::sync::mpsc;

const EVENTS: u64 = 20_000;
const CAPACITY: usize = 256;

fn event() -> SharedEvent {
    Arc::new(
        ChangeEvent::new("bench", Operation::Insert, "public.orders")
            .with_key(json!({"id": 1}))
            .with_after(json!({"id": 1, "status": "new", "amount_cents": 4999})),
    )
}

/// The no-op callback both paths run per event.
async fn noop(counter: &AtomicU64, event: &SharedEvent) {
    black_box(event);
    counter.fetch_add(1, Ordering::Relaxed);
}

fn bare_mpsc(rt: &Runtime, template: &SharedEvent, counter: &Arc<AtomicU64>) {
    rt.block_on(async {
        let (tx, mut rx) = mpsc::channel::<SharedEvent>(CAPACITY);
        let c = Arc::clone(counter);
        let consumer = tokio::spawn(async move {
            while let Some(e) = rx.recv().await {
                noop(&c, &e).await;
            }
        });
        for _ in 0..EVENTS {
            tx.send(Arc::clone(template)).await.unwrap();
        }
        drop(tx);
        consumer.await.unwrap();
    });
}

struct Pipeline {
    provider: Arc<MemoryProvider>,
    _triggers: Vec<CdcTrigger<NoopCallback>>,
}

/// The no-op callback as a user's own callback type would be (no boxing per event).
struct NoopCallback(Arc<AtomicU64>);

impl TriggerCallback for NoopCallback {
    async fn fire(&self, _action: &str, event: &SharedEvent) -> Result<(), BoxError> {
        noop(&self.0, event).await;
        Ok(())
    }
}

fn pipeline(rt: &Runtime, triggers: usize, counter: &Arc<AtomicU64>) -> Pipeline {
    rt.block_on(async {
        let registry = Arc::new(SourceRegistry::new());
        let provider = Arc::new(MemoryProvider::new());
        let config = SourceConfig {
            provider: "memory".into(),
            source_id: "bench".into(),
            options: json!({"capacity": CAPACITY}).as_object().unwrap().clone(),
            ..Default::default()
        };
        provider.connect(&config).await.unwrap();
        registry
            .register("bench", Arc::clone(&provider) as Arc<dyn CdcProvider>)
            .unwrap();
        let mut list = Vec::new();
        for _ in 0..triggers {
            let cfg = TriggerConfig::new("bench")
                .with_tables(["public.orders"])
                .with_actions(["insert", "update"]);
            let t = CdcTrigger::new(
                cfg,
                Arc::clone(&registry),
                NoopCallback(Arc::clone(counter)),
            )
            .unwrap();
            t.start().unwrap();
            list.push(t);
        }
        Pipeline {
            provider,
            _triggers: list,
        }
    })
}

fn through_pipeline(rt: &Runtime, p: &Pipeline, template: &SharedEvent) {
    rt.block_on(async {
        let tx = p.provider.sender("bench").unwrap();
        for _ in 0..EVENTS {
            tx.send(Arc::clone(template)).await.unwrap();
        }
        p.provider.wait_idle("bench").await.unwrap();
    });
}

fn dispatch(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let template = event();
    let counter = Arc::new(AtomicU64::new(0));
    let mut group = c.benchmark_group("dispatch");
    group.throughput(Throughput::Elements(EVENTS));
    group.bench_function("bare_mpsc", |b| {
        b.iter(|| bare_mpsc(&rt, &template, &counter))
    });
    for n in [1usize, 4] {
        let p = pipeline(&rt, n, &counter);
        group.bench_function(format!("memory_trigger/{n}_subscribers"), |b| {
            b.iter(|| through_pipeline(&rt, &p, &template))
        });
    }
    group.finish();
    black_box(counter.load(Ordering::Relaxed));
}

criterion_group!(benches, dispatch);
criterion_main!(benches);
