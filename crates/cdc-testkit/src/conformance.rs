//! The provider contract, one check per clause, run against every provider.
//!
//! A provider crate adds the suite with a few lines: a [`Harness`] (a fresh provider and a
//! config it can connect, with whatever double its backend needs kept alive inside) and
//!
//! ```ignore
//! async fn harness() -> MyHarness { /* start the backend double */ }
//! cdc_testkit::provider_conformance!(harness);
//! ```
//!
//! which expands to one `#[tokio::test]` per clause in a `conformance` module. The clauses
//! (documented on [`cdc_core::CdcProvider`]):
//! - `subscribe` for a source the provider does not know is an error;
//! - `status` of an unknown source is state `not_found`, not an error;
//! - `schema_history` with an empty table means every table;
//! - a second [`SourceModule::start`] of a running source is a no-op that leaves it running;
//! - `disconnect`, `snapshot` and `schema_history` of an unknown source are errors.

use std::sync::Arc;

use cdc_core::{
    CdcError, CdcProvider, SharedEvent, SourceConfig, SourceModule, SourceRegistry, SourceState,
    handler_fn,
};

/// A provider under test.
pub trait Harness {
    /// The provider (the same one each call, or a fresh one: each check calls it once).
    fn provider(&self) -> Arc<dyn CdcProvider>;
    /// A config of a source `provider()` can connect, with at least one table.
    fn config(&self, source_id: &str) -> SourceConfig;
}

const UNKNOWN: &str = "no-such-source";

fn counting() -> Arc<dyn cdc_core::EventHandler> {
    handler_fn(|_e: SharedEvent| async { Ok(()) })
}

/// `subscribe` for a source the provider does not know is an error.
pub async fn subscribe_to_an_unknown_source_is_an_error(h: &impl Harness) {
    let p = h.provider();
    let got = p.subscribe(UNKNOWN, counting());
    assert!(
        got.is_err(),
        "{}: subscribe({UNKNOWN:?}) succeeded",
        p.name()
    );
}

/// `status` of an unknown source is state `not_found`, not an error.
pub async fn status_of_an_unknown_source_is_not_found(h: &impl Harness) {
    let p = h.provider();
    let st = p
        .status(UNKNOWN)
        .await
        .unwrap_or_else(|e| panic!("{}: status of an unknown source is an error: {e}", p.name()));
    assert_eq!(st.state, SourceState::NotFound, "{}", p.name());
    assert_eq!(st.source_id, UNKNOWN);
}

/// `schema_history` with an empty table means every table: it succeeds (a provider without
/// any history answers empty or `Unsupported`, never a table-name error) and holds at least
/// what the configured table's history holds.
pub async fn schema_history_of_an_empty_table_is_every_table(h: &impl Harness) {
    let p = h.provider();
    let cfg = h.config("conf-history");
    p.connect(&cfg).await.unwrap();
    let all = p.schema_history(&cfg.source_id, "").await;
    let one = p.schema_history(&cfg.source_id, &cfg.tables[0]).await;
    match (all, one) {
        (Ok(all), Ok(one)) => assert!(
            one.iter().all(|v| all.contains(v)),
            "{}: the history of every table misses versions of {}",
            p.name(),
            cfg.tables[0]
        ),
        (Err(CdcError::Unsupported { .. }), Err(CdcError::Unsupported { .. })) => {}
        (all, one) => panic!(
            "{}: schema_history(\"\") = {all:?} but schema_history({:?}) = {one:?}",
            p.name(),
            cfg.tables[0]
        ),
    }
    p.disconnect(&cfg.source_id).await.unwrap();
}

/// A second [`SourceModule::start`] of a running source is a no-op that leaves it running.
pub async fn a_second_start_of_a_running_source_is_a_no_op(h: &impl Harness) {
    let p = h.provider();
    let registry = Arc::new(SourceRegistry::new());
    let module = SourceModule::with_provider(
        h.config("conf-twice"),
        Arc::clone(&p),
        Arc::clone(&registry),
    )
    .unwrap();
    module.start().await.unwrap();
    let before = p.status("conf-twice").await.unwrap().state;
    module
        .start()
        .await
        .unwrap_or_else(|e| panic!("{}: second start failed: {e}", p.name()));
    let after = p.status("conf-twice").await.unwrap().state;
    assert!(
        registry.contains("conf-twice"),
        "{}: unregistered",
        p.name()
    );
    assert_eq!(
        after,
        before,
        "{}: the second start changed the source",
        p.name()
    );
    assert!(
        !matches!(after, SourceState::NotFound | SourceState::Stopped),
        "{}: the second start stopped the source ({after})",
        p.name()
    );
    // Still the provider's source: it can be subscribed to and stopped normally.
    drop(p.subscribe("conf-twice", counting()).unwrap());
    module.stop().await.unwrap();
    assert_eq!(
        p.status("conf-twice").await.unwrap().state,
        SourceState::NotFound
    );
}

/// `disconnect`, `snapshot` and `schema_history` of an unknown source are errors.
pub async fn operations_on_an_unknown_source_are_errors(h: &impl Harness) {
    let p = h.provider();
    assert!(
        p.disconnect(UNKNOWN).await.is_err(),
        "{}: disconnect",
        p.name()
    );
    assert!(
        p.snapshot(UNKNOWN, &[]).await.is_err(),
        "{}: snapshot",
        p.name()
    );
    assert!(
        p.schema_history(UNKNOWN, "").await.is_err(),
        "{}: schema_history",
        p.name()
    );
}

/// One `#[tokio::test]` per clause of the provider contract, in a `conformance` module.
/// `$make` names an async fn (no arguments, in the calling module) returning a [`Harness`].
#[macro_export]
macro_rules! provider_conformance {
    ($make:ident) => {
        mod conformance {
            use $crate::conformance as c;

            #[tokio::test]
            async fn subscribe_to_an_unknown_source_is_an_error() {
                c::subscribe_to_an_unknown_source_is_an_error(&super::$make().await).await;
            }

            #[tokio::test]
            async fn status_of_an_unknown_source_is_not_found() {
                c::status_of_an_unknown_source_is_not_found(&super::$make().await).await;
            }

            #[tokio::test]
            async fn schema_history_of_an_empty_table_is_every_table() {
                c::schema_history_of_an_empty_table_is_every_table(&super::$make().await).await;
            }

            #[tokio::test]
            async fn a_second_start_of_a_running_source_is_a_no_op() {
                c::a_second_start_of_a_running_source_is_a_no_op(&super::$make().await).await;
            }

            #[tokio::test]
            async fn operations_on_an_unknown_source_are_errors() {
                c::operations_on_an_unknown_source_are_errors(&super::$make().await).await;
            }
        }
    };
}
