//! Control events: transaction metadata (`BEGIN` / `END` on `<prefix>.transaction`) and
//! heartbeats. Apart from change events: they carry no row, only a kind, a time and a few
//! metadata fields.

use std::borrow::Cow;

use cdc_core::ChangeEvent;
use serde_json::Value;

use super::Decoder;
use super::envelope::{Envelope, Scalar};
use super::read::{Ctx, millis};
use crate::error::Result;

impl Decoder {
    pub(super) fn transaction<const EAGER: bool>(
        &self,
        ctx: &Ctx<'_>,
        env: &Envelope<'_, EAGER>,
    ) -> Result<ChangeEvent> {
        let status: Cow<'_, str> = ctx.field(env.status, "status")?.unwrap_or_default();
        let kind = match status.as_ref() {
            "BEGIN" => "transaction_begin",
            "END" => "transaction_end",
            other => {
                return Err(ctx.err(
                    "status",
                    format!("unknown transaction status {other:?}; expected BEGIN or END"),
                ));
            }
        };
        let mut e = ChangeEvent::control(self.source_name.clone(), kind);
        // A string for every connector we know; a number is taken as its digits.
        let id: Option<Scalar<'_>> = ctx.field(env.id, "id")?;
        e.transaction_id = id.and_then(|s| s.text().map(Cow::into_owned));
        if let Some(ts) = ctx.int(env.ts_ms, "ts_ms")? {
            e.commit_time = millis(ts);
        }
        if let Some(n) = ctx.int(env.event_count, "event_count")? {
            e.metadata.insert_static("event_count", Value::from(n));
        }
        if let Some(raw) = env.data_collections {
            let v: Value = serde_json::from_str(raw.get())
                .map_err(|e| ctx.err("data_collections", e.to_string()))?;
            e.metadata.insert_static("data_collections", v);
        }
        Ok(e)
    }

    pub(super) fn heartbeat<const EAGER: bool>(
        &mut self,
        ctx: &Ctx<'_>,
        env: &Envelope<'_, EAGER>,
        key: Option<&[u8]>,
    ) -> Result<ChangeEvent> {
        let mut e = ChangeEvent::control(self.source_name.clone(), "heartbeat");
        if let Some(ts) = ctx.int(env.ts_ms, "ts_ms")? {
            e.commit_time = millis(ts);
            e.metadata.insert_int("ts_ms", ts);
        }
        if let Some(k) = self.key(ctx.topic, key, &mut Vec::new())?
            && let Some(server) = k.get("serverName")
        {
            e.metadata.insert_static("server_name", server.clone());
        }
        Ok(e)
    }
}
