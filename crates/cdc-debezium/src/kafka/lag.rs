//! The consumer lag while a hand-over takes long (a handler that blocks, or retries inside
//! itself). The lag comes from librdkafka's statistics, which only the consumer's poll
//! serves, and the consumer thread does not poll while it hands a batch over: without this,
//! `status` showed the lag of before the batch however many records came meanwhile.

use std::future::Future;
use std::time::Duration;

use rdkafka::consumer::Consumer;
use rdkafka::{Offset, TopicPartitionList};
use tracing::debug;

use super::worker::{Worker, lock};

/// How long a hand-over runs before the lag is asked of the brokers, and how often after:
/// the statistics' interval (`statistics.interval.ms`), which it stands in for.
const REFRESH: Duration = Duration::from_secs(2);
/// Timeout of that request (one per broker). Short: the consumer thread waits for it, and
/// that thread also drives the hand-over's future, so brokers slow to answer would hold up
/// the handlers; a lag not refreshed in time stays as it was.
const REQUEST_TIMEOUT: Duration = Duration::from_millis(500);

impl Worker {
    /// Runs `delivery` (a hand-over), refreshing the lag every [`REFRESH`] it takes.
    pub(super) async fn refreshing_lag<F: Future>(&self, delivery: F) -> F::Output {
        let mut delivery = std::pin::pin!(delivery);
        loop {
            match tokio::time::timeout(REFRESH, &mut delivery).await {
                Ok(out) => return out,
                Err(_) => self.refresh_lag(),
            }
        }
    }

    /// The lag of the assigned partitions from their latest offsets (one request per broker:
    /// the latest offset is the offset "for" timestamp -1) and where each is counted from
    /// ([`super::progress::Progress::lag_base`]).
    fn refresh_lag(&self) {
        let mut tpl = TopicPartitionList::new();
        for (topic, partition) in lock(&self.progress).assigned() {
            // Partitions of the assignment: adding cannot fail.
            let _ = tpl.add_partition_offset(topic, *partition, Offset::End);
        }
        if tpl.count() == 0 {
            return;
        }
        let latest = match self.consumer.offsets_for_times(tpl, REQUEST_TIMEOUT) {
            Ok(latest) => latest,
            Err(e) => {
                debug!(source_id = self.source_id, error = %e, "debezium kafka: latest offsets not known; the lag stays as it was");
                return;
            }
        };
        let progress = lock(&self.progress);
        let mut lag = 0i64;
        for e in latest.elements() {
            let Offset::Offset(high) = e.offset() else {
                continue;
            };
            let base = progress.lag_base(&(e.topic().to_owned(), e.partition()));
            lag = lag.saturating_add(high.saturating_sub(base).max(0));
        }
        drop(progress);
        self.shared.update(|v| v.lag_records = Some(lag));
    }
}
