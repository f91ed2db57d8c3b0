//! The batch decoded while the consumer polls the next: its records cut into chunks that
//! the decode-ahead thread, and then the consumer thread once it has polled, take in turn
//! until none are left. Neither waits for the other while there is work, so both cores
//! decode whatever the polling and the brokers' threads leave of them.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};

use cdc_core::SharedEvent;

use rdkafka::message::{BorrowedMessage, Message};

use super::hand_over::Group;
use super::worker::lock;
use crate::provider::{AheadScope, Decoded, RawRecord};

/// What the decode-ahead thread is given.
pub(super) enum Work<'c> {
    /// A batch to decode beside the consumer thread.
    Decode(Arc<Job<'c>>),
    /// Events the handlers are done with, to drop there: that thread decoded most of them,
    /// and a free on the thread that allocated costs less than one from another (which
    /// both threads pay for); the consumer thread is the one that bounds throughput.
    Drop(Vec<SharedEvent>),
}

/// Records a thread takes at a time: small enough to share the work evenly, large enough
/// that taking them costs nothing next to decoding them.
const CHUNK: usize = 32;

/// One batch's decoding.
pub(super) struct Job<'c> {
    /// The batch, per partition.
    pub groups: Vec<Group<'c>>,
    /// (group, first, end) of each chunk, in record order.
    chunks: Vec<(usize, usize, usize)>,
    /// The next chunk to take.
    next: AtomicUsize,
    scope: Result<AheadScope, String>,
    done: Mutex<Done>,
    all_done: Condvar,
}

struct Done {
    results: Vec<Option<Vec<Decoded>>>,
    left: usize,
    /// A decoder panicked (a bug): the batch is not handed over, but retried.
    panicked: Option<String>,
}

/// A message of a group as the decoder reads it; its topic is the group's (a message's own
/// is a C string measured and checked as UTF-8 at every call).
fn raw_record<'m>(topic: &'m str, m: &'m BorrowedMessage<'_>) -> RawRecord<'m> {
    RawRecord {
        topic,
        key: m.key(),
        value: m.payload(),
        kafka_offset: Some((m.partition(), m.offset())),
    }
}

impl<'c> Job<'c> {
    /// The decoding of `groups` by `scope` (or the reason there is none).
    pub fn new(scope: Result<AheadScope, String>, groups: Vec<Group<'c>>) -> Self {
        let chunks: Vec<(usize, usize, usize)> = groups
            .iter()
            .enumerate()
            .flat_map(|(g, (_, msgs))| {
                (0..msgs.len())
                    .step_by(CHUNK)
                    .map(move |a| (g, a, (a + CHUNK).min(msgs.len())))
            })
            .collect();
        let n = chunks.len();
        Self {
            groups,
            chunks,
            next: AtomicUsize::new(0),
            scope,
            done: Mutex::new(Done {
                results: (0..n).map(|_| None).collect(),
                left: n,
                panicked: None,
            }),
            all_done: Condvar::new(),
        }
    }

    /// Decodes chunks with decoder `which` (one per thread) until none are left to take.
    pub fn work(&self, which: usize) {
        loop {
            let i = self.next.fetch_add(1, Ordering::Relaxed);
            let Some(&(g, a, b)) = self.chunks.get(i) else {
                return;
            };
            let decoded = match &self.scope {
                Ok(scope) => catch_unwind(AssertUnwindSafe(|| {
                    let records: Vec<RawRecord<'_>> = self.groups[g].1[a..b]
                        .iter()
                        .map(|m| raw_record(&self.groups[g].0.0, m))
                        .collect();
                    let refs: Vec<&RawRecord<'_>> = records.iter().collect();
                    scope.decode(which, &refs)
                }))
                .map_err(|p| panic_text(p.as_ref())),
                Err(_) => Ok(Vec::new()),
            };
            let mut done = lock(&self.done);
            match decoded {
                Ok(d) => done.results[i] = Some(d),
                Err(text) => done.panicked = Some(text),
            }
            done.left -= 1;
            if done.left == 0 {
                self.all_done.notify_all();
            }
        }
    }

    /// Every record decoded (this thread takes what is left), per partition in order.
    pub fn finish(&self) -> Result<Vec<Vec<Decoded>>, String> {
        self.work(1);
        let mut done = lock(&self.done);
        while done.left > 0 {
            done = self.all_done.wait(done).unwrap_or_else(|p| p.into_inner());
        }
        if let Err(e) = &self.scope {
            return Err(e.clone());
        }
        if let Some(text) = &done.panicked {
            return Err(format!("decoding panicked (a bug): {text}"));
        }
        let mut out: Vec<Vec<Decoded>> = self
            .groups
            .iter()
            .map(|(_, g)| Vec::with_capacity(g.len()))
            .collect();
        for (&(g, _, _), r) in self.chunks.iter().zip(done.results.iter_mut()) {
            out[g].extend(r.take().unwrap_or_default());
        }
        Ok(out)
    }
}

fn panic_text(p: &(dyn std::any::Any + Send)) -> String {
    p.downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "(no message)".into())
}
