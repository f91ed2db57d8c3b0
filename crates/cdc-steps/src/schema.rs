//! Step schemas: config fields (type, required, options) and outputs, exported as JSON like the
//! Go plugin manifest's `stepSchemas`.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

/// The JSON type of a field.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FieldType {
    /// A string.
    String,
    /// An integer.
    Integer,
    /// A number (integer or fraction).
    Number,
    /// `true` or `false`.
    Boolean,
    /// A list.
    Array,
    /// A map.
    Object,
}

/// One config field.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ConfigField {
    /// The JSON type.
    #[serde(rename = "type")]
    pub kind: FieldType,
    /// Whether the step fails without it.
    pub required: bool,
    /// What it is.
    pub description: &'static str,
    /// The accepted values, for a field with a fixed set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub options: Option<&'static [&'static str]>,
    /// The value used when the field is absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default: Option<Value>,
}

/// One output key.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct OutputField {
    /// The JSON type (`null` may stand in where the description says so).
    #[serde(rename = "type")]
    pub kind: FieldType,
    /// What it is.
    pub description: &'static str,
}

/// The schema of one step type.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct StepSchema {
    /// What the step does.
    pub description: &'static str,
    /// Config fields by name.
    pub config: BTreeMap<&'static str, ConfigField>,
    /// Output keys by name.
    pub outputs: BTreeMap<&'static str, OutputField>,
}

impl StepSchema {
    /// An empty schema with a description.
    pub fn new(description: &'static str) -> Self {
        Self {
            description,
            ..Self::default()
        }
    }

    /// Adds a config field.
    pub fn field(
        mut self,
        name: &'static str,
        kind: FieldType,
        required: bool,
        description: &'static str,
    ) -> Self {
        self.config.insert(
            name,
            ConfigField {
                kind,
                required,
                description,
                options: None,
                default: None,
            },
        );
        self
    }

    /// Adds a config field with a fixed set of values and a default.
    pub fn field_with_options(
        mut self,
        name: &'static str,
        description: &'static str,
        options: &'static [&'static str],
        default: &'static str,
    ) -> Self {
        self.config.insert(
            name,
            ConfigField {
                kind: FieldType::String,
                required: false,
                description,
                options: Some(options),
                default: Some(Value::from(default)),
            },
        );
        self
    }

    /// Sets the default of a field added before.
    pub fn default_value(mut self, name: &'static str, default: Value) -> Self {
        if let Some(f) = self.config.get_mut(name) {
            f.default = Some(default);
        }
        self
    }

    /// Adds an output key.
    pub fn output(
        mut self,
        name: &'static str,
        kind: FieldType,
        description: &'static str,
    ) -> Self {
        self.outputs.insert(name, OutputField { kind, description });
        self
    }

    /// The config field names, sorted.
    pub fn field_names(&self) -> Vec<&'static str> {
        self.config.keys().copied().collect()
    }

    /// The schema as JSON: `{"description", "config": {field: {type, required, description,
    /// options?, default?}}, "outputs": {key: {type, description}}}`.
    pub fn to_json(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }
}
