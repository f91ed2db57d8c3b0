//! [`Metadata`]: an event's provider-specific facts, a small map of key → JSON value that
//! events can share.
//!
//! Many events carry the same metadata (the column types of a table, the transaction id of
//! a transaction): a provider builds it once and every event holds a cheap clone (a
//! reference count), copied only when one event changes its own. Reads work as on a
//! `BTreeMap<String, Value>`: `metadata["xid"]`, `get`, `contains_key`, iteration in key
//! order; a missing key indexes as `null`.

use std::borrow::Cow;
use std::cmp::Ordering;
use std::fmt;
use std::sync::{Arc, OnceLock};

use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::Value;
use smallvec::SmallVec;

/// A key: most are literals, which cost no allocation.
type Key = Cow<'static, str>;

/// A value: most are small and the event's own (a number, a flag), kept in the entry; a
/// value many events share (a table's description) is a reference count. Boxing every value
/// cost an allocation and a free per entry of every event.
#[derive(Clone)]
enum Slot {
    Own(Value),
    Shared(Arc<Value>),
    /// An integer (a time, an offset), made a `Value` when first read: with serde_json's
    /// `arbitrary_precision` a number `Value` is its text, an allocation and a formatting
    /// per entry, and most events' integers are never read.
    Int(i64, OnceLock<Value>),
}

impl Slot {
    fn get(&self) -> &Value {
        match self {
            Self::Own(v) => v,
            Self::Shared(v) => v,
            Self::Int(n, v) => v.get_or_init(|| Value::from(*n)),
        }
    }

    fn into_value(self) -> Value {
        match self {
            Self::Own(v) => v,
            Self::Shared(v) => Arc::unwrap_or_clone(v),
            Self::Int(n, v) => v.into_inner().unwrap_or_else(|| Value::from(n)),
        }
    }
}

/// Room for the entries a provider sets on most events (a position, times, a flag or two,
/// a transport's coordinates of the record), inline in the map's one allocation: a vector's
/// buffer beside its shared header cost a second allocation and free per event.
const INLINE: usize = 8;

/// The entries, sorted by key.
type Entries = SmallVec<[(Key, Slot); INLINE]>;

/// Key → value, sorted by key, shared between clones until one of them changes.
#[derive(Clone, Default)]
pub struct Metadata {
    /// `None` while empty: an empty map allocates nothing.
    entries: Option<Arc<Entries>>,
}

static NULL: Value = Value::Null;

/// The order of keys, `str`'s (byte order), compared here: keys are a few bytes long and
/// mostly differ in their first, and a call to `memcmp` per comparison was most of the cost
/// of setting a key.
#[inline]
fn key_order(a: &str, b: &str) -> Ordering {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    for (x, y) in a.iter().zip(b) {
        if x != y {
            return x.cmp(y);
        }
    }
    a.len().cmp(&b.len())
}

impl Metadata {
    /// An empty map.
    pub fn new() -> Self {
        Self::default()
    }

    fn entries(&self) -> &[(Key, Slot)] {
        self.entries.as_deref().map_or(&[], |e| e.as_slice())
    }

    fn find(&self, key: &str) -> Result<usize, usize> {
        self.entries().binary_search_by(|(k, _)| key_order(k, key))
    }

    /// Sets `key`; returns the value it replaces.
    pub fn insert(&mut self, key: String, value: Value) -> Option<Value> {
        self.set(Cow::Owned(key), Slot::Own(value))
            .map(Slot::into_value)
    }

    /// Sets a literal key (no allocation for the key).
    pub fn insert_static(&mut self, key: &'static str, value: Value) {
        self.set(Cow::Borrowed(key), Slot::Own(value));
    }

    /// Sets a literal key to an integer, made a `Value` only when read (no allocation).
    pub fn insert_int(&mut self, key: &'static str, value: i64) {
        self.set(Cow::Borrowed(key), Slot::Int(value, OnceLock::new()));
    }

    /// Sets a literal key to a value shared with other maps (no copy of the value): a
    /// provider's description of a table, handed to all of its events.
    pub fn insert_shared(&mut self, key: &'static str, value: Arc<Value>) {
        self.set(Cow::Borrowed(key), Slot::Shared(value));
    }

    fn set(&mut self, key: Key, value: Slot) -> Option<Slot> {
        let Some(shared) = &mut self.entries else {
            let mut first = Entries::new();
            first.push((key, value));
            self.entries = Some(Arc::new(first));
            return None;
        };
        let entries = Arc::make_mut(shared);
        // Providers mostly set keys in order: one comparison finds the place (the end, where
        // nothing moves), without a search.
        match entries.last() {
            Some((last, _)) if key_order(last, &key) != Ordering::Less => {}
            _ => {
                entries.push((key, value));
                return None;
            }
        }
        match entries.binary_search_by(|(k, _)| key_order(k, &key)) {
            Ok(i) => Some(std::mem::replace(&mut entries[i].1, value)),
            Err(i) => {
                entries.insert(i, (key, value));
                None
            }
        }
    }

    /// Sets every key of `other` to its value there (the keys `self` has too are replaced).
    pub fn merge(&mut self, other: Metadata) {
        let Some(theirs) = other.entries else {
            return;
        };
        if self.is_empty() {
            self.entries = Some(theirs);
            return;
        }
        for (k, v) in Arc::unwrap_or_clone(theirs) {
            self.set(k, v);
        }
    }

    /// Removes `key`; returns its value.
    pub fn remove(&mut self, key: &str) -> Option<Value> {
        let i = self.find(key).ok()?;
        let (_, v) = Arc::make_mut(self.entries.as_mut()?).remove(i);
        Some(v.into_value())
    }

    /// The value of `key`.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.find(key).ok().map(|i| self.entries()[i].1.get())
    }

    /// Whether `key` is set.
    pub fn contains_key(&self, key: &str) -> bool {
        self.find(key).is_ok()
    }

    /// How many keys are set.
    pub fn len(&self) -> usize {
        self.entries().len()
    }

    /// Whether no key is set.
    pub fn is_empty(&self) -> bool {
        self.entries().is_empty()
    }

    /// The entries, in key order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Value)> {
        self.entries().iter().map(|(k, v)| (k.as_ref(), v.get()))
    }

    /// The keys, in order.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.entries().iter().map(|(k, _)| k.as_ref())
    }

    /// Whether `self` and `other` are clones that share their entries (no copy was made).
    pub fn shares_with(&self, other: &Self) -> bool {
        match (&self.entries, &other.entries) {
            (Some(a), Some(b)) => Arc::ptr_eq(a, b),
            (None, None) => true,
            _ => false,
        }
    }
}

impl std::ops::Index<&str> for Metadata {
    type Output = Value;

    fn index(&self, key: &str) -> &Value {
        self.get(key).unwrap_or(&NULL)
    }
}

impl<'a> IntoIterator for &'a Metadata {
    type Item = (&'a str, &'a Value);
    type IntoIter = Box<dyn Iterator<Item = (&'a str, &'a Value)> + 'a>;

    fn into_iter(self) -> Self::IntoIter {
        Box::new(self.iter())
    }
}

impl FromIterator<(String, Value)> for Metadata {
    fn from_iter<I: IntoIterator<Item = (String, Value)>>(iter: I) -> Self {
        let mut m = Self::new();
        m.extend(iter);
        m
    }
}

impl Extend<(String, Value)> for Metadata {
    fn extend<I: IntoIterator<Item = (String, Value)>>(&mut self, iter: I) {
        for (k, v) in iter {
            self.insert(k, v);
        }
    }
}

impl PartialEq for Metadata {
    fn eq(&self, other: &Self) -> bool {
        self.shares_with(other)
            || (self.len() == other.len() && self.iter().zip(other.iter()).all(|(a, b)| a == b))
    }
}

impl fmt::Debug for Metadata {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl Serialize for Metadata {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.len()))?;
        for (k, v) in self.iter() {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for Metadata {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct MapVisitor;
        impl<'de> Visitor<'de> for MapVisitor {
            type Value = Metadata;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a map of metadata")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Metadata, A::Error> {
                let mut m = Metadata::new();
                while let Some((k, v)) = access.next_entry::<String, Value>()? {
                    m.insert(k, v);
                }
                Ok(m)
            }
        }
        d.deserialize_map(MapVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_like_a_sorted_map_and_clones_share() {
        let mut m = Metadata::new();
        assert!(m.insert("b".into(), json!(2)).is_none());
        m.insert("a".into(), json!({"x": 1}));
        assert_eq!(m.insert("b".into(), json!(3)), Some(json!(2)));
        assert_eq!(m["a"]["x"], 1);
        assert_eq!(m["missing"], Value::Null);
        assert!(m.contains_key("b") && !m.contains_key("c"));
        let keys: Vec<&str> = m.keys().collect();
        assert_eq!(keys, ["a", "b"]);
        let shared = m.clone();
        assert!(shared.shares_with(&m));
        let table = Arc::new(json!({"id": "int4"}));
        let mut a = Metadata::new();
        a.insert_shared("column_types", Arc::clone(&table));
        a.insert_static("snapshot", json!(true));
        assert_eq!(a["column_types"]["id"], "int4");
        assert_eq!(Arc::strong_count(&table), 2);
        let mut own = m.clone();
        own.insert("c".into(), json!(true));
        assert!(!own.shares_with(&m) && m.len() == 2 && own.len() == 3);
        assert_eq!(own.remove("c"), Some(json!(true)));
        assert_eq!(own, m);
        let text = serde_json::to_string(&m).unwrap();
        assert_eq!(text, r#"{"a":{"x":1},"b":3}"#);
        let back: Metadata = serde_json::from_str(&text).unwrap();
        // An integer set as one reads, compares, serializes and comes out as its Value.
        let mut ints = Metadata::new();
        ints.insert_int("b", 3);
        ints.insert("a".into(), json!({"x": 1}));
        assert_eq!(ints["b"], 3);
        assert_eq!(ints, m);
        assert_eq!(serde_json::to_string(&ints).unwrap(), text);
        let mut unread = Metadata::new();
        unread.insert_int("n", i64::MIN);
        assert_eq!(
            serde_json::to_string(&unread.clone()).unwrap(),
            r#"{"n":-9223372036854775808}"#
        );
        assert_eq!(unread.remove("n"), Some(json!(i64::MIN)));
        assert_eq!(back, m);
        assert_eq!(
            format!("{m:?}"),
            r#"{"a": Object {"x": Number(1)}, "b": Number(3)}"#
        );
    }

    /// Keys set in any order, more than fit inline, some twice, some removed, and maps
    /// merged: the map reads like a `BTreeMap` given the same calls, and clones keep what
    /// they had.
    #[test]
    fn behaves_like_a_btreemap_in_any_order() {
        use std::collections::BTreeMap;
        let keys = [
            "ts_ms",
            "kafka_offset",
            "a",
            "kafka_partition",
            "",
            "kafka_topic",
            "snapshot",
            "kafka",
            "kafka_",
            "source_ts_ms",
            "z",
            "ts_ms",
            "é",
            "kafka_offset",
            "b",
            "aa",
        ];
        let mut seed = 0x2545_F491_4F6C_DD1D_u64;
        for round in 0..300 {
            let mut m = Metadata::new();
            let mut want: BTreeMap<String, Value> = BTreeMap::new();
            let mut before = None;
            for step in 0..(round % 24) {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                let key = keys[(seed % keys.len() as u64) as usize];
                let n = (seed >> 8) as i64;
                match seed % 5 {
                    0 => assert_eq!(m.remove(key), want.remove(key)),
                    1 => {
                        m.insert_int(key, n);
                        want.insert(key.to_owned(), json!(n));
                    }
                    _ => assert_eq!(
                        m.insert(key.to_owned(), json!(n)),
                        want.insert(key.to_owned(), json!(n))
                    ),
                }
                if step == 3 {
                    before = Some((m.clone(), want.clone()));
                }
                let got: Vec<(&str, &Value)> = m.iter().collect();
                let model: Vec<(&str, &Value)> =
                    want.iter().map(|(k, v)| (k.as_str(), v)).collect();
                assert_eq!(got, model, "round {round} step {step}");
                for k in keys {
                    assert_eq!(m.get(k), want.get(k), "{k:?}");
                }
            }
            if let Some((then, model)) = before {
                let got: Vec<(&str, &Value)> = then.iter().collect();
                let want_then: Vec<(&str, &Value)> =
                    model.iter().map(|(k, v)| (k.as_str(), v)).collect();
                assert_eq!(got, want_then, "a clone keeps what it had");
                // Merged: the other's keys win.
                let mut merged = then.clone();
                merged.merge(m.clone());
                let mut union = model;
                union.extend(want.clone());
                let got: Vec<(&str, &Value)> = merged.iter().collect();
                let want_merged: Vec<(&str, &Value)> =
                    union.iter().map(|(k, v)| (k.as_str(), v)).collect();
                assert_eq!(got, want_merged, "round {round}: merge");
            }
        }
        let mut empty = Metadata::new();
        assert!(empty.shares_with(&Metadata::default()));
        empty.merge(Metadata::new());
        assert!(empty.is_empty());
        let mut one = Metadata::new();
        one.insert_int("x", 1);
        empty.merge(one.clone());
        assert!(
            empty.shares_with(&one),
            "merged into an empty map: shared, not copied"
        );
    }
}
