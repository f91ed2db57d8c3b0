//! `cdc steps [--schema]`: the step types, or their JSON schemas.

use cdc::steps::StepRegistry;

use crate::error::CliError;

/// Lists the step types with their descriptions, or prints every schema as JSON.
pub fn run(schema: bool) -> Result<(), CliError> {
    let registry = StepRegistry::standard();
    let schemas = registry.schemas();
    if schema {
        let text =
            serde_json::to_string_pretty(&schemas).map_err(|e| CliError::Runtime(e.to_string()))?;
        println!("{text}");
        return Ok(());
    }
    for name in registry.type_names() {
        let description = schemas[name]["description"].as_str().unwrap_or_default();
        println!("{name:<26} {description}");
    }
    Ok(())
}
