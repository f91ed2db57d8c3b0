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
/// a transport's coordinates of the record), taken at the first insert: growing one at a
/// time cost a copy and an allocation more. (Inline in the shared allocation, with
/// `smallvec`, measured the same: one allocation less, a few hundred bytes more to move.)
const FIRST_CAPACITY: usize = 8;

/// The entries, sorted by key.
type Entries = Vec<(Key, Slot)>;

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
            let mut first = Entries::with_capacity(FIRST_CAPACITY);
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
mod tests;
