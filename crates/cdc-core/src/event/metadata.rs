//! [`Metadata`]: an event's provider-specific facts, a small map of key → JSON value that
//! events can share.
//!
//! Many events carry the same metadata (the column types of a table, the transaction id of
//! a transaction): a provider builds it once and every event holds a cheap clone (a
//! reference count), copied only when one event changes its own. Reads work as on a
//! `BTreeMap<String, Value>`: `metadata["xid"]`, `get`, `contains_key`, iteration in key
//! order; a missing key indexes as `null`.

use std::borrow::Cow;
use std::fmt;
use std::sync::{Arc, OnceLock};

use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::Value;

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

/// Room for the entries a provider sets on most events (a position, times, a flag or two),
/// taken at the first insert: growing one at a time cost a copy and an allocation more.
const FIRST_CAPACITY: usize = 8;

/// Key → value, sorted by key, shared between clones until one of them changes.
#[derive(Clone, Default)]
pub struct Metadata {
    entries: Arc<Vec<(Key, Slot)>>,
}

static NULL: Value = Value::Null;

impl Metadata {
    /// An empty map.
    pub fn new() -> Self {
        Self::default()
    }

    fn find(&self, key: &str) -> Result<usize, usize> {
        self.entries.binary_search_by(|(k, _)| k.as_ref().cmp(key))
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
        let entries = Arc::make_mut(&mut self.entries);
        // Providers mostly set keys in order: one comparison finds the place (the end, where
        // nothing moves), without a search.
        let at = match entries.last() {
            Some((last, _)) if last.as_ref() >= key.as_ref() => {
                entries.binary_search_by(|(k, _)| k.as_ref().cmp(key.as_ref()))
            }
            _ => Err(entries.len()),
        };
        match at {
            Ok(i) => Some(std::mem::replace(&mut entries[i].1, value)),
            Err(i) => {
                if entries.capacity() == 0 {
                    entries.reserve_exact(FIRST_CAPACITY);
                }
                entries.insert(i, (key, value));
                None
            }
        }
    }

    /// Removes `key`; returns its value.
    pub fn remove(&mut self, key: &str) -> Option<Value> {
        let i = self.find(key).ok()?;
        let (_, v) = Arc::make_mut(&mut self.entries).remove(i);
        Some(v.into_value())
    }

    /// The value of `key`.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.find(key).ok().map(|i| self.entries[i].1.get())
    }

    /// Whether `key` is set.
    pub fn contains_key(&self, key: &str) -> bool {
        self.find(key).is_ok()
    }

    /// How many keys are set.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no key is set.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The entries, in key order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Value)> {
        self.entries.iter().map(|(k, v)| (k.as_ref(), v.get()))
    }

    /// The keys, in order.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.entries.iter().map(|(k, _)| k.as_ref())
    }

    /// Whether `self` and `other` are clones that share their entries (no copy was made).
    pub fn shares_with(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.entries, &other.entries)
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
}
