//! The consumer's callbacks: rebalances (revoked partitions commit what is committable,
//! synchronously, before they go; assigned ones stay paused while delivery is held), commit
//! confirmations, client errors and offset resets for `status`.

use std::sync::{Arc, Mutex};

use rdkafka::TopicPartitionList;
use rdkafka::client::ClientContext;
use rdkafka::config::RDKafkaLogLevel;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer, ConsumerContext, Rebalance};
use rdkafka::error::{KafkaError, KafkaResult, RDKafkaErrorCode};
use rdkafka::statistics::Statistics;
use tracing::{debug, error, info, warn};

use super::progress::{Progress, partitions};
use super::state::Shared;

/// Callbacks of one source's consumer.
pub(crate) struct SourceContext {
    pub source_id: String,
    pub progress: Arc<Mutex<Progress>>,
    pub shared: Arc<Shared>,
}

impl SourceContext {
    pub(crate) fn progress(&self) -> std::sync::MutexGuard<'_, Progress> {
        self.progress.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl ClientContext for SourceContext {
    /// librdkafka's statistics (every `statistics.interval.ms`): the consumer lag in records
    /// from what the client already knows (high watermarks from fetch responses, committed
    /// offsets), without a request that would hold up delivery.
    fn stats(&self, statistics: Statistics) {
        let mut progress = self.progress();
        let mut lag = 0i64;
        let mut any = false;
        for (topic, t) in &statistics.topics {
            for (partition, p) in &t.partitions {
                let tp = (topic.clone(), *partition);
                if *partition < 0 || !progress.is_assigned(&tp) || p.hi_offset < 0 {
                    continue;
                }
                any = true;
                let committed = progress
                    .committable(&tp)
                    .max(Some(p.committed_offset).filter(|o| *o >= 0));
                let base = committed.unwrap_or(p.lo_offset.max(0));
                progress.note_lag_base(&tp, base);
                // Saturating: the figures are the broker's, and a wrong one must not
                // overflow (a panic here would be inside librdkafka's callback).
                lag = lag.saturating_add(p.hi_offset.saturating_sub(base).max(0));
            }
        }
        drop(progress);
        self.shared.update(|v| {
            v.lag_records = if any || v.assigned.is_empty() {
                Some(lag)
            } else {
                None
            }
        });
    }

    /// librdkafka's log, to `tracing` (target `librdkafka`, as rdkafka's default does);
    /// an offset reset is also kept for `status`: librdkafka resets a partition whose
    /// committed offset the brokers no longer have to `auto.offset.reset` and says so only
    /// here.
    fn log(&self, level: RDKafkaLogLevel, fac: &str, message: &str) {
        use RDKafkaLogLevel as L;
        // librdkafka names a broker by the bootstrap entry it came from, userinfo and all
        // (`u:pw@host:9092/bootstrap: Failed to resolve ...`).
        let message = cdc_core::secret::redact_text(message);
        match level {
            L::Emerg | L::Alert | L::Critical | L::Error => {
                error!(target: "librdkafka", source_id = self.source_id, "librdkafka: {fac} {message}")
            }
            L::Warning => {
                warn!(target: "librdkafka", source_id = self.source_id, "librdkafka: {fac} {message}")
            }
            L::Notice | L::Info => {
                info!(target: "librdkafka", source_id = self.source_id, "librdkafka: {fac} {message}")
            }
            L::Debug => {
                debug!(target: "librdkafka", source_id = self.source_id, "librdkafka: {fac} {message}")
            }
        }
        if fac == "OFFSET"
            && (level as i32) <= (L::Warning as i32)
            && message.contains("offset reset")
        {
            let text = message;
            error!(
                source_id = self.source_id,
                reset = text,
                "debezium kafka: a partition's offset was reset: records between may have been lost, or are read again"
            );
            self.shared.update(|v| v.record_offset_reset(text));
        }
    }

    fn error(&self, error: KafkaError, reason: &str) {
        // A subscribed topic or pattern with no topic yet (the heartbeat topic before the
        // first heartbeat, a table not yet snapshotted): not a broker problem; the topics
        // the tables need are checked against the metadata and shown as `missing_topics`.
        if error.rdkafka_error_code() == Some(RDKafkaErrorCode::UnknownTopicOrPartition) {
            debug!(source_id = self.source_id, %error, reason, "debezium kafka: subscribed topic not there yet");
            return;
        }
        // Redacted for the log too: the reason names the broker as bootstrap gave it.
        let text = cdc_core::secret::redact_text(&format!("{error}: {reason}"));
        warn!(
            source_id = self.source_id,
            error = text,
            "debezium kafka: client error"
        );
        self.shared.update(|v| v.broker_error = Some(text));
    }
}

impl ConsumerContext for SourceContext {
    fn pre_rebalance(&self, consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        if let Rebalance::Revoke(tpl) = rebalance {
            let revoked = partitions(tpl);
            let commit = self.progress().to_commit(Some(&revoked));
            if commit.count() > 0 {
                match consumer.commit(&commit, CommitMode::Sync) {
                    Ok(()) => {
                        self.progress().confirmed(&commit);
                        info!(
                            source_id = self.source_id,
                            partitions = commit.count(),
                            "debezium kafka: committed revoked partitions"
                        );
                    }
                    // The next owner redelivers from the last commit: duplicates, not loss.
                    Err(e) => {
                        warn!(source_id = self.source_id, error = %e, "debezium kafka: commit of revoked partitions failed")
                    }
                }
            }
            self.progress().forget(&revoked);
            // Their next owner holds back what they held, and says so in its status.
            self.shared.update(|v| {
                for tp in &revoked {
                    v.held.remove(tp);
                }
            });
        }
    }

    fn post_rebalance(&self, consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        match rebalance {
            Rebalance::Assign(tpl) => {
                self.progress().assign(&partitions(tpl));
                if self.shared.is_paused()
                    && let Err(e) = consumer.pause(tpl)
                {
                    warn!(source_id = self.source_id, error = %e, "debezium kafka: cannot pause assigned partitions");
                }
                debug!(
                    source_id = self.source_id,
                    partitions = tpl.count(),
                    "debezium kafka: assigned"
                );
                self.shared
                    .update(|v| v.assigned = names(&consumer.assignment().unwrap_or_default()));
            }
            Rebalance::Revoke(_) => {
                self.shared
                    .update(|v| v.assigned = names(&consumer.assignment().unwrap_or_default()));
            }
            Rebalance::Error(e) => {
                let text = format!("rebalance error: {e}");
                self.shared.update(|v| v.broker_error = Some(text));
            }
        }
    }

    fn commit_callback(&self, result: KafkaResult<()>, offsets: &TopicPartitionList) {
        match result {
            Ok(()) => self.progress().confirmed(offsets),
            Err(e) => {
                debug!(source_id = self.source_id, error = %e, "debezium kafka: commit failed; the next commit carries it")
            }
        }
    }
}

/// `topic[partition]` of every partition of a list.
pub(crate) fn names(tpl: &TopicPartitionList) -> Vec<String> {
    let mut v: Vec<String> = tpl
        .elements()
        .iter()
        .map(|e| format!("{}[{}]", e.topic(), e.partition()))
        .collect();
    v.sort();
    v
}
