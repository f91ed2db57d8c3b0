//! What the consumer thread shares with the provider: the pause gate and the consumer's
//! state for `status`.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use serde_json::{Value, json};

tokio::task_local! {
    /// The transport (its [`Shared`]'s address) whose batch this task is handing over: a
    /// handler calling `pause` or `disconnect` on its own source is inside that hand-over,
    /// and waiting for it to end would wait for itself.
    static DELIVERING: usize;
}

/// Shared between the provider (async) and the consumer thread.
#[derive(Debug, Default)]
pub(crate) struct Shared {
    /// Delivery is held: nothing is handed to the handlers while set.
    pub paused: AtomicBool,
    /// Held by the consumer thread while it delivers a batch: `pause` takes it once to know
    /// no delivery is under way when it returns.
    pub gate: tokio::sync::Mutex<()>,
    /// The consumer's state for `status`.
    pub view: Mutex<View>,
}

/// The consumer's state as `status` shows it.
#[derive(Clone, Debug, Default)]
pub(crate) struct View {
    /// Consumer group.
    pub group_id: String,
    /// Topics and patterns subscribed.
    pub subscription: Vec<String>,
    /// Assigned partitions (`topic[partition]`).
    pub assigned: Vec<String>,
    /// High watermark − committed offset, summed over the assigned partitions.
    pub lag_records: Option<i64>,
    /// The latest broker or client error, cleared once the brokers answer again.
    pub broker_error: Option<String>,
    /// A delivery failing: a handler failure (retried) or an undecodable record (held there
    /// unless `on_undecodable: skip`); nothing is skipped without being told to.
    pub delivery_error: Option<String>,
    /// Captured tables' topics the brokers do not have.
    pub missing_topics: Vec<String>,
    /// Per partition held back by a failing handler: the commit time of the change it holds.
    pub held: std::collections::BTreeMap<super::progress::Tp, time::OffsetDateTime>,
    /// Records handed to the handlers and committable.
    pub delivered: u64,
    /// Undecodable records skipped (`options.kafka.on_undecodable: skip`).
    pub skipped: u64,
    /// The last of them: `topic[partition] offset N: why`.
    pub last_skipped: Option<String>,
    /// librdkafka's offset resets of partitions whose committed offset the brokers lacked,
    /// newest last (at most [`OFFSET_RESETS_KEPT`]).
    pub offset_resets: Vec<String>,
    /// Whether the consumer thread is running.
    pub running: bool,
}

impl Shared {
    /// Whether delivery is held.
    pub fn is_paused(&self) -> bool {
        self.paused.load(Ordering::SeqCst)
    }

    /// `f` (a hand-over) marked as this transport's delivery.
    pub fn delivering<F: std::future::Future>(
        &self,
        f: F,
    ) -> impl std::future::Future<Output = F::Output> {
        DELIVERING.scope(self as *const Self as usize, f)
    }

    /// Whether the current task is inside this transport's hand-over (a handler of it).
    pub fn in_delivery(&self) -> bool {
        DELIVERING
            .try_with(|d| *d == self as *const Self as usize)
            .unwrap_or(false)
    }

    /// Updates the view.
    pub fn update(&self, f: impl FnOnce(&mut View)) {
        let mut v = self.view.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut v);
    }

    /// A copy of the view.
    pub fn view(&self) -> View {
        self.view.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

/// Offset resets kept for `status`.
pub(crate) const OFFSET_RESETS_KEPT: usize = 8;

impl View {
    /// Keeps an offset reset (librdkafka's words) for `status`.
    pub fn record_offset_reset(&mut self, text: String) {
        if self.offset_resets.len() == OFFSET_RESETS_KEPT {
            self.offset_resets.remove(0);
        }
        self.offset_resets.push(text);
    }

    /// The `kafka` entry of a status's details.
    pub fn to_json(&self, paused: bool) -> Value {
        json!({
            "group_id": self.group_id,
            "subscription": self.subscription,
            "assigned_partitions": self.assigned,
            "consumer_lag_records": self.lag_records,
            "paused": paused,
            "running": self.running,
            "delivered_records": self.delivered,
            "skipped_records": self.skipped,
            "last_skipped": self.last_skipped,
            "last_error": self.delivery_error.clone().or_else(|| self.broker_error.clone()),
            "missing_topics": self.missing_topics,
            "offset_resets": self.offset_resets,
        })
    }
}
