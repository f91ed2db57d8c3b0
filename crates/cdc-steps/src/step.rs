//! The [`Step`] trait.

use async_trait::async_trait;
use serde_json::Value;

use crate::context::StepContext;
use crate::error::StepError;
use crate::schema::StepSchema;

/// A workflow step: a JSON config in, a JSON object out.
///
/// A step holds no per-run state: one value serves every run, and [`Step::execute`] gets the
/// step's name (for error messages: `step.cdc_status "my-step": ...`) and its config each
/// time, as the Go steps did. Each step reads its config into a typed struct: unknown keys,
/// values of the wrong type and missing required fields are errors naming the field.
#[async_trait]
pub trait Step: Send + Sync {
    /// The step type (`step.cdc_status`, ...).
    fn type_name(&self) -> &'static str;

    /// The config fields and outputs.
    fn schema(&self) -> StepSchema;

    /// Runs the step against the sources of `ctx`. The output is always a JSON object.
    async fn execute(
        &self,
        ctx: &StepContext,
        name: &str,
        config: &Value,
    ) -> Result<Value, StepError>;

    /// Checks `config` before any event, as far as it can be known then: types, fixed sets,
    /// ranges, table names, required fields. `per_event(field)` says that a top-level field's
    /// value (or part of it) is only known per event (a template reference): what is only
    /// known per event is left out of `config`, and a field `per_event` names is not required.
    /// A config that passes may still fail per event; one that fails here fails every time.
    /// The default checks nothing.
    fn check(
        &self,
        name: &str,
        config: &Value,
        per_event: &dyn Fn(&str) -> bool,
    ) -> Result<(), StepError> {
        let _ = (name, config, per_event);
        Ok(())
    }
}
