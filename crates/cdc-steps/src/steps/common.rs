//! Helpers shared by the steps.

use std::sync::Arc;

use cdc_core::{CdcError, CdcProvider};
use serde::Serialize;
use serde_json::Value;

use crate::context::StepContext;
use crate::error::StepErrorKind;

/// The provider running `source_id`; a miss lists the registered sources.
pub(crate) fn lookup(
    ctx: &StepContext,
    source_id: &str,
) -> Result<Arc<dyn CdcProvider>, StepErrorKind> {
    ctx.registry
        .lookup(source_id)
        .map_err(|_| StepErrorKind::NotRegistered {
            source_id: source_id.to_owned(),
            registered: ctx.registry.source_ids(),
        })
}

/// Wraps a provider error of `operation` on `source_id`.
pub(crate) fn failed(
    source_id: &str,
    operation: &'static str,
) -> impl FnOnce(CdcError) -> StepErrorKind {
    let source_id = source_id.to_owned();
    move |source| StepErrorKind::Source {
        source_id,
        operation,
        source: Box::new(source),
    }
}

/// A value as JSON.
pub(crate) fn to_json<T: Serialize>(value: &T) -> Result<Value, StepErrorKind> {
    serde_json::to_value(value).map_err(|e| StepErrorKind::Output {
        message: e.to_string(),
    })
}

/// Lists deserialize from `null` as empty (YAML `tables:` with nothing after it).
pub(crate) fn null_as_empty<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Vec<String>, D::Error> {
    use serde::Deserialize;
    Ok(Option::<Vec<String>>::deserialize(d)?.unwrap_or_default())
}

/// Implements [`crate::Step`] for a unit struct with an inherent
/// `async fn run(&self, ctx, config) -> Result<Value, StepErrorKind>`, `fn describe() -> StepSchema`
/// and `fn prepare(config, per_event) -> Result<_, StepErrorKind>` (the checks that need no
/// source, which `run` starts with).
macro_rules! impl_step {
    ($ty:ty, $name:literal) => {
        #[async_trait::async_trait]
        impl $crate::step::Step for $ty {
            fn type_name(&self) -> &'static str {
                $name
            }

            fn schema(&self) -> $crate::schema::StepSchema {
                Self::describe()
            }

            fn check(
                &self,
                name: &str,
                config: &serde_json::Value,
                per_event: &dyn Fn(&str) -> bool,
            ) -> Result<(), $crate::error::StepError> {
                Self::prepare(config, per_event)
                    .map(|_| ())
                    .map_err(|kind| $crate::error::StepError::new($name, name, kind))
            }

            async fn execute(
                &self,
                ctx: &$crate::context::StepContext,
                name: &str,
                config: &serde_json::Value,
            ) -> Result<serde_json::Value, $crate::error::StepError> {
                self.run(ctx, config)
                    .await
                    .map_err(|kind| $crate::error::StepError::new($name, name, kind))
            }
        }
    };
}
pub(crate) use impl_step;
