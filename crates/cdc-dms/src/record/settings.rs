//! Configuring the decoder from the task settings that shape its records.

use serde_json::Value;

use super::DmsRecordDecoder;

impl DmsRecordDecoder {
    /// Reads what the decoder needs from the task's `ReplicationTaskSettings` (JSON text):
    /// the before image's field, `BeforeImageSettings.FieldName`, when `EnableBeforeImage`
    /// is `true`.
    ///
    /// DMS writes the before image under whatever name `FieldName` gives, `before-image`
    /// being only the name AWS's examples use; a decoder left at the default would find no
    /// before image in a task that names it otherwise. Settings that are not JSON, or say
    /// nothing about it, leave the decoder as it is.
    pub fn task_settings(self, settings: &str) -> Self {
        let Ok(settings) = serde_json::from_str::<Value>(settings) else {
            return self;
        };
        let image = &settings["BeforeImageSettings"];
        match (&image["EnableBeforeImage"], &image["FieldName"]) {
            (Value::Bool(true), Value::String(name)) if !name.is_empty() => {
                self.before_image_field(name.as_str())
            }
            _ => self,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn field(settings: Value) -> String {
        DmsRecordDecoder::new("s")
            .task_settings(&settings.to_string())
            .before_image_field
    }

    #[test]
    fn the_field_name_of_an_enabled_before_image() {
        let on = |name: &str| {
            json!({"BeforeImageSettings": {"EnableBeforeImage": true, "FieldName": name,
                "ColumnFilter": "all"}})
        };
        assert_eq!(field(on("BI")), "BI");
        assert_eq!(field(on("")), "before-image");
        assert_eq!(
            field(json!({"BeforeImageSettings": {"EnableBeforeImage": false, "FieldName": "BI"}})),
            "before-image"
        );
        assert_eq!(field(json!({"Logging": {}})), "before-image");
        assert_eq!(
            DmsRecordDecoder::new("s")
                .task_settings("not json")
                .before_image_field,
            "before-image"
        );
    }
}
