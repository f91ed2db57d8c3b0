//! The watermark messages: what the backfill writes, and how the stream tells its own from
//! anything else with the prefix.
//!
//! Any role may call `pg_logical_emit_message(..., 'cdc-rs.wm', ...)`, so content with our
//! prefix is untrusted. A message is ours only when it parses, names our slot and this
//! process's run (a random value never written anywhere else than into these messages) and
//! was written transactionally, as we write ours. Anything else is ignored: the backfill
//! only waits for its own watermarks, which always arrive, so ignoring a foreign one never
//! loses or reorders a row, while an error would let any role stop the source.

use serde::{Deserialize, Serialize};

/// A watermark message.
#[derive(Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mark {
    /// The slot of the source that wrote it.
    pub slot: String,
    /// The process that wrote it (see [`new_run`]).
    pub run: String,
    /// The chunk's sequence number in that process (from 1).
    pub seq: u64,
    /// `low` or `high`.
    pub mark: String,
}

/// Which watermark of a chunk.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Before the chunk is read: opens its window.
    Low,
    /// After it was read: closes the window, the rows are emitted there.
    High,
}

/// How a message with our prefix relates to this process.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    /// One of ours.
    Ours(Kind, u64),
    /// Well-formed, but another source's or an earlier process's (normal: every slot of
    /// the database sees every watermark, and a restart reads an earlier run's again).
    Foreign,
    /// Not a watermark we could have written (the reason), e.g. forged by a role.
    Invalid(String),
}

impl Mark {
    /// The message for chunk `seq`.
    pub fn encode(slot: &str, run: &str, seq: u64, kind: Kind) -> String {
        let mark = Mark {
            slot: slot.to_owned(),
            run: run.to_owned(),
            seq,
            mark: match kind {
                Kind::Low => "low",
                Kind::High => "high",
            }
            .to_owned(),
        };
        // Strings and a number: serializing cannot fail.
        serde_json::to_string(&mark).unwrap_or_default()
    }
}

/// Judges `content` of a message with our prefix, read by `slot`'s stream in process `run`.
pub fn judge(slot: &str, run: &str, transactional: bool, content: &[u8]) -> Verdict {
    let mark: Mark = match serde_json::from_slice(content) {
        Ok(m) => m,
        Err(e) => return Verdict::Invalid(format!("not a watermark ({e})")),
    };
    let kind = match mark.mark.as_str() {
        "low" => Kind::Low,
        "high" => Kind::High,
        other => return Verdict::Invalid(format!("unknown watermark kind {other:?}")),
    };
    if mark.slot != slot || mark.run != run {
        return Verdict::Foreign;
    }
    if !transactional {
        // Ours are written in a transaction; one outside of any is decoded at once, even
        // when its transaction rolls back.
        return Verdict::Invalid("written non-transactionally".into());
    }
    if mark.seq == 0 {
        return Verdict::Invalid("sequence number 0".into());
    }
    Verdict::Ours(kind, mark.seq)
}

/// A run id for this process: random (from the OS, through std's hasher keys), so another
/// role cannot guess it and forge a watermark of ours.
pub fn new_run() -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(time::OffsetDateTime::now_utc().unix_timestamp_nanos() as u128);
    h.write_u32(std::process::id());
    let a = h.finish();
    let b = std::collections::hash_map::RandomState::new().hash_one(a);
    format!("{a:016x}{b:016x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_well_formed_transactional_marks_of_ours_count() {
        let ours = Mark::encode("s", "r", 3, Kind::High);
        assert_eq!(
            judge("s", "r", true, ours.as_bytes()),
            Verdict::Ours(Kind::High, 3)
        );
        assert!(matches!(
            judge("s", "r", false, ours.as_bytes()),
            Verdict::Invalid(m) if m.contains("non-transactionally")
        ));
        assert_eq!(judge("other", "r", true, ours.as_bytes()), Verdict::Foreign);
        assert_eq!(judge("s", "old", true, ours.as_bytes()), Verdict::Foreign);
        for bad in [
            &b"not json"[..],
            b"",
            b"\xff\xfe",
            br#"{"slot":"s","run":"r","seq":-1,"mark":"low"}"#,
            br#"{"slot":"s","run":"r","seq":1e99,"mark":"low"}"#,
            br#"{"slot":"s","run":"r","seq":1,"mark":"middle"}"#,
            br#"{"slot":"s","run":"r","seq":1,"mark":"low","x":1}"#,
            br#"{"slot":"s","run":"r","seq":0,"mark":"low"}"#,
            br#"[1,2]"#,
            br#"{"slot":"s"}"#,
        ] {
            assert!(
                matches!(judge("s", "r", true, bad), Verdict::Invalid(_)),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
        let (a, b) = (new_run(), new_run());
        assert_ne!(a, b);
        assert_eq!(a.len(), 32);
    }
}
