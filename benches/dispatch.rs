//! Events/s from the memory provider through a trigger (table and action filter) to a no-op
//! async callback, with 1 and 4 triggers on the source, next to a baseline in the same run:
//! the same events through a bare tokio mpsc channel (one `send`, one `recv` per event, the
//! same no-op callback per event).
//!
//! Run: `cargo bench --bench dispatch` (or `cargo xtask bench -- --bench dispatch`).
//! Report the ratio `bare_mpsc time / memory_trigger time` (≥ 0.8 is the target).
//!
//! `cli_path/metrics_off` and `cli_path/metrics_on` are what `cdc run` does per event: a
//! counting subscription on the source (events received by operation, batch sizes) and a
//! trigger whose callback counts what it delivered, by operation. `off` records through the
//! `metrics` facade's no-op handles (a run without `--listen`), `on` through handles of a
//! Prometheus recorder (a run with its endpoint). Report `metrics_off time / metrics_on time`
//! (the bar: "not more than a few percent"), next to `metrics_off / metrics_off_again`
//! (the same code twice: the run's noise).

use std::hint::black_box;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;
use cdc_core::error::BoxError;
use cdc_core::{
    CdcProvider, ChangeEvent, EventHandler, HandlerError, Operation, SharedEvent, SourceConfig,
    SourceRegistry, Subscription,
};
use cdc_memory::MemoryProvider;
use cdc_trigger::{CdcTrigger, TriggerCallback, TriggerConfig};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use metrics_exporter_prometheus::PrometheusBuilder;
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

struct Pipeline<C: TriggerCallback = NoopCallback> {
    provider: Arc<MemoryProvider>,
    _triggers: Vec<CdcTrigger<C>>,
    _counting: Option<Subscription>,
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
    pipeline_with(rt, triggers, None, || NoopCallback(Arc::clone(counter)))
}

fn pipeline_with<C: TriggerCallback>(
    rt: &Runtime,
    triggers: usize,
    counting: Option<Arc<dyn EventHandler>>,
    callback: impl Fn() -> C,
) -> Pipeline<C> {
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
            let t = CdcTrigger::new(cfg, Arc::clone(&registry), callback()).unwrap();
            t.start().unwrap();
            list.push(t);
        }
        let counting = counting.map(|h| provider.subscribe("bench", h).unwrap());
        Pipeline {
            provider,
            _triggers: list,
            _counting: counting,
        }
    })
}

/// `cdc run`'s own recording handles (the CLI is a binary crate, so its file is compiled in
/// here: the bench measures that code, not a copy). The bench uses no step handles.
#[allow(dead_code)]
#[path = "../crates/cdc-cli/src/serve/metrics/record.rs"]
mod record;

use record::{SourceMetrics, TriggerMetrics};

/// One source's and one trigger's handles, from whatever recorder is current when made.
#[derive(Clone)]
struct Recording {
    source: Arc<SourceMetrics>,
    trigger: Arc<TriggerMetrics>,
}

impl Recording {
    /// Handles from whatever recorder is current (none: the facade's no-ops).
    fn register() -> Self {
        Self {
            source: Arc::new(SourceMetrics::new("bench")),
            trigger: Arc::new(TriggerMetrics::new("bench", "bench", [])),
        }
    }
}

/// The counting subscription of `cdc run`, recording per batch.
struct Counting(Recording, Arc<AtomicU64>);

#[async_trait]
impl EventHandler for Counting {
    async fn handle(&self, events: &[SharedEvent]) -> Result<(), HandlerError> {
        self.0.source.batch(events);
        self.1.fetch_add(events.len() as u64, Ordering::Relaxed);
        Ok(())
    }
}

/// The trigger callback of `cdc run`, counting what it delivered.
struct RecordingCallback(Recording, Arc<AtomicU64>);

impl TriggerCallback for RecordingCallback {
    async fn fire(&self, _action: &str, event: &SharedEvent) -> Result<(), BoxError> {
        noop(&self.1, event).await;
        self.0.trigger.delivered(event.operation);
        Ok(())
    }
}

fn cli_path(
    rt: &Runtime,
    rec: &Recording,
    counter: &Arc<AtomicU64>,
) -> Pipeline<RecordingCallback> {
    let counting: Arc<dyn EventHandler> = Arc::new(Counting(rec.clone(), Arc::clone(counter)));
    pipeline_with(rt, 1, Some(counting), || {
        RecordingCallback(rec.clone(), Arc::clone(counter))
    })
}

fn through_pipeline<C: TriggerCallback>(rt: &Runtime, p: &Pipeline<C>, template: &SharedEvent) {
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
    // Metrics off (no recorder: no-op handles) and on (a Prometheus recorder's handles),
    // one after the other in this run.
    let off = Recording::register();
    let recorder = PrometheusBuilder::new().build_recorder();
    let on = metrics::with_local_recorder(&recorder, Recording::register);
    // The run folds histogram samples into buckets every few seconds (serve/mod.rs); so does
    // this thread, or the samples would pile up for the whole benchmark.
    let handle = recorder.handle();
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let upkeep = {
        let stop = Arc::clone(&stop);
        let handle = handle.clone();
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                std::thread::sleep(std::time::Duration::from_millis(500));
                handle.run_upkeep();
            }
        })
    };
    // Off, on, off again, on again: the spread between the two of a kind is the noise of
    // the run (and of their order), the figure to read the off/on ratio against.
    for (name, rec) in [
        ("metrics_off", &off),
        ("metrics_on", &on),
        ("metrics_off_again", &off),
        ("metrics_on_again", &on),
    ] {
        let p = cli_path(&rt, rec, &counter);
        group.bench_function(format!("cli_path/{name}"), |b| {
            b.iter(|| through_pipeline(&rt, &p, &template))
        });
    }
    group.finish();
    stop.store(true, Ordering::Relaxed);
    upkeep.join().unwrap();
    // The "on" handles did count: every event, received and delivered.
    let text = handle.render();
    assert!(
        text.contains("cdc_events_received_total{source=\"bench\",op=\"insert\"}"),
        "{text}"
    );
    black_box(counter.load(Ordering::Relaxed));
}

criterion_group!(benches, dispatch);
criterion_main!(benches);
