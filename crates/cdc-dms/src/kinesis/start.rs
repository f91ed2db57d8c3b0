//! Where a shard's next iterator starts: after its checkpoint, or where the configured
//! starting position says for a shard without one.

use std::time::{Duration, SystemTime};

use crate::config::StartingPosition;

/// Where a shard's iterator starts.
#[derive(Clone, Debug, PartialEq)]
pub(super) enum Start {
    /// After the checkpoint.
    After(String),
    /// The oldest record kept.
    TrimHorizon,
    /// Records written from now on.
    Latest,
    /// Records that arrived from this time on: where a `LATEST` shard without a checkpoint
    /// starts again when its first iterator is lost (expired, or a GetRecords failure).
    /// Taking `LATEST` a second time would skip what was written in between.
    Since(SystemTime),
}

/// Slack before the time of the first `LATEST` iterator, for the clocks of this host and of
/// Kinesis (which stamps the arrival times): a few records written just before it may come
/// too when the iterator is taken again; none written after it are skipped.
const LATEST_SLACK: Duration = Duration::from_secs(5);

/// The start of a shard's next iterator. `latest_since` is when this loop first took a
/// `LATEST` iterator of the shard, set here.
pub(super) fn next_start(
    checkpoint: Option<String>,
    configured: StartingPosition,
    latest_since: &mut Option<SystemTime>,
    now: SystemTime,
) -> Start {
    match (checkpoint, configured) {
        (Some(seq), _) => Start::After(seq),
        (None, StartingPosition::TrimHorizon) => Start::TrimHorizon,
        (None, StartingPosition::Latest) => match *latest_since {
            Some(t) => Start::Since(t),
            None => {
                *latest_since = Some(now.checked_sub(LATEST_SLACK).unwrap_or(now));
                Start::Latest
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_checkpoint_wins_whatever_is_configured() {
        let now = SystemTime::now();
        for configured in [StartingPosition::TrimHorizon, StartingPosition::Latest] {
            let mut since = None;
            assert_eq!(
                next_start(Some("49".into()), configured, &mut since, now),
                Start::After("49".into())
            );
            assert_eq!(since, None);
        }
    }

    #[test]
    fn a_latest_shard_taken_again_starts_at_its_first_iterator_less_the_slack() {
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let mut since = None;
        let first = next_start(None, StartingPosition::Latest, &mut since, t0);
        assert_eq!(first, Start::Latest);
        // Lost before its first checkpoint: a second LATEST would skip what came meanwhile.
        let later = t0 + Duration::from_secs(300);
        let again = next_start(None, StartingPosition::Latest, &mut since, later);
        assert_eq!(again, Start::Since(t0 - LATEST_SLACK));
        assert_eq!(
            next_start(None, StartingPosition::Latest, &mut since, later),
            again,
            "the same start every time until a checkpoint exists"
        );
        // Once records were delivered, the checkpoint is where it goes on.
        assert_eq!(
            next_start(
                Some("7".into()),
                StartingPosition::Latest,
                &mut since,
                later
            ),
            Start::After("7".into())
        );
    }

    #[test]
    fn trim_horizon_needs_no_time() {
        let mut since = None;
        let s = next_start(
            None,
            StartingPosition::TrimHorizon,
            &mut since,
            SystemTime::now(),
        );
        assert_eq!(s, Start::TrimHorizon);
        assert_eq!(since, None);
    }
}
