//! The provider's side of the Kafka transport: starting a source's consumer and what its
//! state adds to the source's status.

use cdc_core::CdcStatus;
use tracing::info;

use super::{DebeziumProvider, Entry};
use crate::error::DebeziumError;

#[cfg(feature = "kafka")]
impl DebeziumProvider {
    /// Starts the consumer of a connected source: its topics are `options.kafka.topics`, or
    /// the tables' (regex on `topic.prefix`) plus those Kafka Connect lists for the
    /// connector (best effort: an old cluster has no `/topics`).
    pub(super) async fn start_transport(
        &self,
        entry: &Entry,
    ) -> Result<crate::kafka::Transport, DebeziumError> {
        let src = &entry.source;
        let known = if src
            .options
            .kafka
            .as_ref()
            .is_some_and(|k| k.topics.is_none())
        {
            entry
                .client
                .topics(&src.connector.name)
                .await
                .unwrap_or_default()
        } else {
            Vec::new()
        };
        let sub = crate::kafka::subscription(src, &known);
        info!(source_id = src.source_id, topics = ?sub.patterns, "debezium: starting the kafka consumer");
        crate::kafka::Transport::start(self.downgrade(), src, sub, src.options.start_paused)
    }
}

/// What the consumer adds to a status: `details.kafka`, and an error when delivery fails
/// (state `error`), the brokers cannot be reached, or the tables' topics do not exist.
#[cfg(feature = "kafka")]
pub(super) fn transport_status(st: &mut CdcStatus, t: &crate::kafka::TransportStatus) {
    st.details.insert("kafka".into(), t.details.clone());
    if let Some(err) = &t.delivery_error {
        st.state = cdc_core::SourceState::Error;
        st.error = Some(format!(
            "delivery failing, retried with backoff, nothing skipped or committed past it: {err}"
        ));
    } else {
        let mut parts: Vec<String> = st.error.take().into_iter().collect();
        if let Some(err) = &t.broker_error {
            parts.push(format!("kafka consumer: {err}"));
        } else if !t.missing_topics.is_empty() {
            parts.push(format!(
                "topics {:?} do not exist on the brokers (yet): nothing is written to them; without broker auto-creation the connector needs topic.creation.default.* (rendered by default)",
                t.missing_topics
            ));
        }
        // Kept until the consumer starts again: the records between the committed offset and
        // where the reset put the partition were never delivered (retention deleted them) or
        // are delivered again (the topic was created anew), and nothing else would say so.
        if let Some(r) = &t.last_offset_reset {
            parts.push(format!(
                "kafka consumer: offset reset ({r}): the group's committed offset was not on the brokers; records before the new offset may have been lost (deleted by retention before they were read) or are read again (topic created anew)"
            ));
        }
        st.error = (!parts.is_empty()).then(|| parts.join("; "));
    }
}
