//! Commit tracking: per partition, the offset after the committable prefix (every record
//! before it was handled by every subscriber, or carried nothing), and what the group
//! coordinator has confirmed.

use std::collections::{HashMap, HashSet};

use rdkafka::{Offset, TopicPartitionList};

/// A topic and partition.
pub(crate) type Tp = (String, i32);

/// Offsets per partition.
#[derive(Debug, Default)]
pub(crate) struct Progress {
    /// Next offset to read after the committable prefix: what a commit sends.
    committable: HashMap<Tp, i64>,
    /// Offsets the coordinator confirmed (commit callback).
    committed: HashMap<Tp, i64>,
    /// The partitions assigned to this member now (rebalance callbacks).
    assigned: HashSet<Tp>,
    /// Where the lag of a partition is counted from when nothing of it was handled here:
    /// the group's committed offset (else the low watermark) as the last statistics said.
    lag_base: HashMap<Tp, i64>,
}

impl Progress {
    /// The first `next` offsets of a partition may be committed. Never moves backwards
    /// (a redelivery after a seek reports offsets already counted).
    pub fn advance(&mut self, tp: &Tp, next: i64) {
        let slot = self.committable.entry(tp.clone()).or_insert(next);
        if next > *slot {
            *slot = next;
        }
    }

    /// [`Progress::advance`] for a partition still assigned; a revoked one is left to its
    /// next owner (it starts from the group's committed offset).
    pub fn advance_assigned(&mut self, tp: &Tp, next: i64) {
        if self.assigned.contains(tp) {
            self.advance(tp, next);
        }
    }

    /// Whether a partition is assigned to this member.
    pub fn is_assigned(&self, tp: &Tp) -> bool {
        self.assigned.contains(tp)
    }

    /// Partitions assigned by a rebalance.
    pub fn assign(&mut self, tps: &[Tp]) {
        self.assigned.extend(tps.iter().cloned());
    }

    /// The commit request for some partitions (all when `only` is `None`); empty when
    /// nothing new is committable.
    pub fn to_commit(&self, only: Option<&[Tp]>) -> TopicPartitionList {
        let mut tpl = TopicPartitionList::new();
        for (tp, next) in &self.committable {
            if only.is_some_and(|o| !o.contains(tp)) {
                continue;
            }
            if self.committed.get(tp) == Some(next) {
                continue;
            }
            // Offsets come from messages of an assigned partition: adding cannot fail.
            let _ = tpl.add_partition_offset(&tp.0, tp.1, Offset::Offset(*next));
        }
        tpl
    }

    /// Offsets the coordinator accepted.
    pub fn confirmed(&mut self, tpl: &TopicPartitionList) {
        for e in tpl.elements() {
            if let Offset::Offset(o) = e.offset() {
                let tp = (e.topic().to_owned(), e.partition());
                let slot = self.committed.entry(tp).or_insert(o);
                if o > *slot {
                    *slot = o;
                }
            }
        }
    }

    /// Forgets revoked partitions: their next owner starts from the group's offsets.
    pub fn forget(&mut self, tps: &[Tp]) {
        for tp in tps {
            self.assigned.remove(tp);
            self.committable.remove(tp);
            self.committed.remove(tp);
            self.lag_base.remove(tp);
        }
    }

    /// The assigned partitions.
    pub fn assigned(&self) -> impl Iterator<Item = &Tp> {
        self.assigned.iter()
    }

    /// Where the statistics count a partition's lag from (its committed offset, else its
    /// low watermark).
    pub fn note_lag_base(&mut self, tp: &Tp, base: i64) {
        self.lag_base.insert(tp.clone(), base);
    }

    /// The offset a partition's lag is counted from: its committable offset, else what the
    /// statistics said, else the partition's start.
    pub fn lag_base(&self, tp: &Tp) -> i64 {
        self.committable(tp)
            .or_else(|| self.lag_base.get(tp).copied())
            .unwrap_or(0)
    }

    /// The committable offset of a partition, when one is known.
    pub fn committable(&self, tp: &Tp) -> Option<i64> {
        self.committable.get(tp).copied()
    }
}

/// The partitions of a list.
pub(crate) fn partitions(tpl: &TopicPartitionList) -> Vec<Tp> {
    tpl.elements()
        .iter()
        .map(|e| (e.topic().to_owned(), e.partition()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commits_only_what_moved_and_never_backwards() {
        let mut p = Progress::default();
        let a: Tp = ("t".into(), 0);
        let b: Tp = ("t".into(), 1);
        p.advance_assigned(&a, 9);
        assert_eq!(p.committable(&a), None, "not assigned");
        p.assign(&[a.clone(), b.clone()]);
        p.advance(&a, 5);
        p.advance(&a, 3);
        assert_eq!(p.committable(&a), Some(5));
        p.advance(&b, 2);
        assert_eq!(p.to_commit(None).count(), 2);
        let tpl = p.to_commit(Some(std::slice::from_ref(&a)));
        assert_eq!(tpl.count(), 1);
        p.confirmed(&tpl);
        assert_eq!(p.to_commit(None).count(), 1, "a is confirmed at 5");
        p.forget(std::slice::from_ref(&b));
        assert!(p.to_commit(None).count() == 0);
        assert_eq!(partitions(&tpl), vec![a]);
    }
}
