//! A finite run that can never end by itself: every source paused by a step.
//!
//! Steps run only on events, and a paused source delivers none; so once every source of a
//! finite run is paused and nothing is running, nothing can resume them and the input is
//! never read to its end. That is reported and ends the run instead of a silent hang.

use std::time::Duration;

use cdc::{CdcProvider, SourceState};
use serde_json::Value;

use super::Running;
use super::pipeline::InFlight;

/// How often the sources are looked at.
const LOOK_EVERY: Duration = Duration::from_millis(250);

/// Resolves when every source is a paused memory source, no callback runs, and nothing was
/// delivered between two looks in a row.
pub async fn every_source_paused(sources: &[Running], in_flight: &InFlight) {
    let mut last: Option<Vec<u64>> = None;
    loop {
        tokio::time::sleep(LOOK_EVERY).await;
        let now = delivered_while_paused(sources).await;
        if now.is_some() && in_flight.is_idle() && now == last {
            return;
        }
        last = now;
    }
}

/// Each source's delivered count, when every source is a paused memory source.
async fn delivered_while_paused(sources: &[Running]) -> Option<Vec<u64>> {
    let mut counts = Vec::with_capacity(sources.len());
    for s in sources {
        let status = s.memory.as_ref()?.status(s.module.source_id()).await.ok()?;
        if status.state != SourceState::Paused {
            return None;
        }
        counts.push(status.details.get("delivered").and_then(Value::as_u64)?);
    }
    Some(counts)
}
