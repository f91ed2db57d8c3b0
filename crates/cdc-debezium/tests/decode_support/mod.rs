//! What the decoder suites share: a record decoded with a fresh decoder, an event's position
//! and row, and records with schemas (a column's schema, the `{"schema", "payload"}` form).
#![allow(dead_code)] // Each suite uses some of these.

use cdc_core::ChangeEvent;
use cdc_debezium::decode::Decoder;
use serde_json::{Value, json};

/// The event a record decodes to; panics (naming the topic) on an error or no event.
pub fn decode(topic: &str, key: Option<Value>, value: Value) -> ChangeEvent {
    let (key, value) = (key.map(|k| k.to_string()), value.to_string());
    Decoder::new("s")
        .decode(
            topic,
            key.as_deref().map(str::as_bytes),
            Some(value.as_bytes()),
        )
        .unwrap_or_else(|e| panic!("{topic}: {e}"))
        .expect("an event")
}

/// An event's position, as text.
pub fn position(e: &ChangeEvent) -> Option<&str> {
    e.position.as_ref().map(|p| p.as_str())
}

/// A row image's value; panics when there is none.
pub fn row(r: &Option<cdc_core::Row>) -> Value {
    r.as_ref().expect("a row image").value().clone()
}

/// A column's schema: Connect `type`, Debezium / Connect logical `name`, `parameters`.
pub fn col(field: &str, ty: &str, name: Option<&str>, params: Value) -> Value {
    let mut c = json!({"type": ty, "optional": true, "field": field});
    if let Some(n) = name {
        c["name"] = json!(n);
    }
    if !params.is_null() {
        c["parameters"] = params;
    }
    c
}

/// A `{"schema", "payload"}` change record whose `before` / `after` have the `columns`.
pub fn wrapped(columns: Vec<Value>, payload: Value) -> Value {
    let image = |f: &str| {
        json!({"type": "struct", "optional": true, "name": "t.Value",
                                  "field": f, "fields": columns})
    };
    json!({"schema": {"type": "struct", "optional": false, "name": "t.Envelope", "version": 2,
                      "fields": [image("before"), image("after"),
                                 {"type": "struct", "optional": false, "field": "source",
                                  "name": "io.debezium.connector.x.Source", "fields": []},
                                 {"type": "string", "optional": false, "field": "op"},
                                 {"type": "int64", "optional": true, "field": "ts_ms"},
                                 {"type": "struct", "optional": true, "field": "transaction",
                                  "name": "event.block", "fields": []}]},
           "payload": payload})
}
