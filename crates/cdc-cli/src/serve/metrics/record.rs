//! Handles the event path records through, registered once at start.

use std::time::Duration;

use cdc::{Operation, SharedEvent};
use metrics::{Counter, Histogram, counter, histogram};

/// The `op` label values, in [`op_index`] order.
pub const OPS: [&str; 8] = [
    "insert",
    "update",
    "delete",
    "snapshot",
    "truncate",
    "schema_change",
    "message",
    "control",
];

/// The position of `op` in [`OPS`].
pub fn op_index(op: Operation) -> usize {
    match op {
        Operation::Insert => 0,
        Operation::Update => 1,
        Operation::Delete => 2,
        Operation::SnapshotRead => 3,
        Operation::Truncate => 4,
        Operation::SchemaChange => 5,
        Operation::Message => 6,
        // Control, and any operation a later cdc-core adds.
        _ => 7,
    }
}

fn per_op(name: &'static str, labels: &[(&'static str, String)]) -> [Counter; 8] {
    OPS.map(|op| {
        let mut all: Vec<(&'static str, String)> = labels.to_vec();
        all.push(("op", op.to_owned()));
        counter!(name, &all)
    })
}

/// What one source's events record.
#[derive(Debug)]
pub struct SourceMetrics {
    received: [Counter; 8],
    batch_size: Histogram,
}

impl SourceMetrics {
    /// Registers the handles of `source_id`.
    pub fn new(source_id: &str) -> Self {
        Self {
            received: per_op(
                "cdc_events_received_total",
                &[("source", source_id.to_owned())],
            ),
            batch_size: histogram!("cdc_batch_size", "source" => source_id.to_owned()),
        }
    }

    /// A batch the source handed over: counted per operation in the batch first, so a
    /// shared counter is touched at most once per operation per batch.
    pub fn batch(&self, events: &[SharedEvent]) {
        self.batch_size.record(events.len() as f64);
        let mut by_op = [0u64; 8];
        for e in events {
            by_op[op_index(e.operation)] += 1;
        }
        for (counter, n) in self.received.iter().zip(by_op) {
            if n > 0 {
                counter.increment(n);
            }
        }
    }
}

/// What one trigger records.
#[derive(Debug)]
pub struct TriggerMetrics {
    delivered: [Counter; 8],
    /// One per step of the trigger, in order.
    pub steps: Vec<StepMetrics>,
}

impl TriggerMetrics {
    /// Registers the handles of `trigger` (on `source_id`) and of its `steps` (name, type).
    pub fn new<'a>(
        source_id: &str,
        trigger: &str,
        steps: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Self {
        let labels = [
            ("source", source_id.to_owned()),
            ("trigger", trigger.to_owned()),
        ];
        Self {
            delivered: per_op("cdc_events_delivered_total", &labels),
            steps: steps
                .into_iter()
                .map(|(name, step_type)| StepMetrics::new(&labels, name, step_type))
                .collect(),
        }
    }

    /// An event the trigger handled.
    pub fn delivered(&self, op: Operation) {
        self.delivered[op_index(op)].increment(1);
    }
}

/// What one step of a trigger records.
#[derive(Debug)]
pub struct StepMetrics {
    runs: Counter,
    errors: Counter,
    duration: Histogram,
}

impl StepMetrics {
    fn new(trigger_labels: &[(&'static str, String)], name: &str, step_type: &str) -> Self {
        let mut labels = trigger_labels.to_vec();
        labels.push(("step", name.to_owned()));
        labels.push(("type", step_type.to_owned()));
        Self {
            runs: counter!("cdc_step_runs_total", &labels),
            errors: counter!("cdc_step_errors_total", &labels),
            duration: histogram!("cdc_step_duration_seconds", &labels),
        }
    }

    /// A run that took `took`, failed or not.
    pub fn ran(&self, took: Duration, failed: bool) {
        self.runs.increment(1);
        self.duration.record(took.as_secs_f64());
        if failed {
            self.errors.increment(1);
        }
    }
}
