//! The metadata of a transaction's events, one per relation it touches.

use std::collections::HashMap;

use cdc_core::Metadata;

/// Metadata per relation of a transaction: a list, searched from its last entry (a
/// transaction's events mostly come table by table), with an index once the list is long,
/// so that a transaction over thousands of relations (the partitions of a table published
/// without `publish_via_partition_root`) is not a scan of them per event.
#[derive(Clone, Debug, Default)]
pub(super) struct RelationMetadata {
    list: Vec<(u32, Metadata)>,
    index: Option<HashMap<u32, usize>>,
}

impl RelationMetadata {
    /// Above this many relations the list gets an index.
    const INDEX_FROM: usize = 16;

    pub(super) fn get(&self, rel_id: u32) -> Option<&Metadata> {
        if let Some((id, m)) = self.list.last()
            && *id == rel_id
        {
            return Some(m);
        }
        match &self.index {
            Some(index) => index.get(&rel_id).map(|&i| &self.list[i].1),
            None => self
                .list
                .iter()
                .find(|(id, _)| *id == rel_id)
                .map(|(_, m)| m),
        }
    }

    pub(super) fn push(&mut self, rel_id: u32, m: Metadata) {
        self.list.push((rel_id, m));
        if let Some(index) = &mut self.index {
            index.insert(rel_id, self.list.len() - 1);
        } else if self.list.len() > Self::INDEX_FROM {
            self.reindex();
        }
    }

    pub(super) fn retain_except(&mut self, rel_id: u32) {
        self.list.retain(|(id, _)| *id != rel_id);
        if self.index.is_some() {
            self.reindex();
        }
    }

    pub(super) fn clear(&mut self) {
        self.list.clear();
        self.index = None;
    }

    fn reindex(&mut self) {
        self.index = Some(
            self.list
                .iter()
                .enumerate()
                .map(|(i, (id, _))| (*id, i))
                .collect(),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn meta(n: u32) -> Metadata {
        let mut m = Metadata::new();
        m.insert_static("rel", Value::from(n));
        m
    }

    #[test]
    fn finds_each_relation_before_and_after_the_index() {
        let mut r = RelationMetadata::default();
        for id in 0..100u32 {
            assert!(r.get(id).is_none());
            r.push(id, meta(id));
            for seen in (0..=id).step_by(7) {
                assert_eq!(r.get(seen).unwrap().get("rel"), Some(&Value::from(seen)));
            }
        }
        assert!(r.index.is_some());
        r.retain_except(42);
        assert!(r.get(42).is_none());
        assert_eq!(r.get(43).unwrap().get("rel"), Some(&Value::from(43)));
        assert_eq!(r.get(99).unwrap().get("rel"), Some(&Value::from(99)));
        r.clear();
        assert!(r.get(1).is_none() && r.index.is_none());
        r.push(7, meta(7));
        assert_eq!(r.get(7).unwrap().get("rel"), Some(&Value::from(7)));
    }
}
