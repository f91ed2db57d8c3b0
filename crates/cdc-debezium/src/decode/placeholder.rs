//! The unavailable-value placeholder in every form Debezium writes it. An unchanged TOASTed
//! column of PostgreSQL is not sent by the server; Debezium puts a placeholder in its place,
//! converted to the column's type (its `UnchangedToastedPlaceholder`):
//!
//! | column | what the record holds |
//! |---|---|
//! | text, json, xml, ... | the placeholder string |
//! | `bytea` | its bytes: base64 of the string (or the string, `binary.handling.mode=hex`) |
//! | `text[]`, `bytea[]` | a one-item array of the above |
//! | `int[]`, `bigint[]` | the string's bytes as integers, `[95,95,100,...]` |
//! | `hstore` | `{"<p>": "<p>"}`, as a map or (`hstore.handling.mode=json`) as its JSON text |
//! | `uuid[]` | a one-item array: `UUID.nameUUIDFromBytes` of the bytes |
//! | PostGIS `geometry` / `geography` | a struct whose `wkb` is a fixed point (SRID 4326) |
//! | `point` | a struct with `x` and `y` both -99999999 |
//!
//! Without the flag, such a value overwrites the real one downstream: every form is
//! recognised. The text of a row is first searched for them (`memmem`, a few nanoseconds
//! per pattern on a row); only a row that may hold one is parsed and its values compared.
//! The forms of the type-specific columns (`uuid[]`, spatial, `point`) are looked for in
//! updates only: an unchanged TOASTed value exists only there, and inserts and snapshot
//! reads, most of a stream, pay for the three common forms alone.

use base64::Engine as _;
use md5::{Digest, Md5};
use memchr::memmem::Finder;
use serde_json::Value;

/// WKB (hex) of the geometry Debezium writes for an unchanged TOASTed PostGIS geometry:
/// `SRID=4326;POINT(-99999999 -99999999)`.
const GEOMETRY_WKB_HEX: &str = "0101000020E6100000000000FC83D797C1000000FC83D797C1";
/// WKB (hex) of its geography: `SRID=4326;POINT(179.999999 89.999999)`.
const GEOGRAPHY_WKB_HEX: &str = "0101000020E61000000C21E7FDFF7F66401842CEFBFF7F5640";
/// `x` and `y` of the placeholder `point`.
const POINT_XY: f64 = -99_999_999.0;

/// Every form of one connector's placeholder.
#[derive(Debug)]
pub(super) struct Placeholder {
    /// The placeholder (`unavailable.value.placeholder`).
    text: String,
    /// Base64 of its bytes (a `bytea` column, `binary.handling.mode=bytes`).
    b64: String,
    /// Its bytes as Java's signed `(int) b`: an `int[]` / `bigint[]` column.
    ints: Box<[i64]>,
    /// `UUID.nameUUIDFromBytes` of its bytes: a `uuid[]` column's one item.
    uuid: String,
    /// `{"<p>":"<p>"}`: an `hstore` column as JSON text.
    hstore_json: String,
    /// Base64 of the geometry and geography WKB placeholders.
    wkb: [String; 2],
    /// Finders of the common forms' text (the placeholder, its base64, its integers) and of
    /// the update-only ones (the UUID, the WKB's common prefix, the point's nines); `None`
    /// when the placeholder has a character JSON must escape, so that it cannot be searched
    /// as is.
    finders: Option<Finders>,
}

#[derive(Debug)]
struct Finders {
    /// The common forms, and all of them, each in one pass: on a row of a few hundred
    /// bytes, three or six `memmem` searches cost several times that (each pays its start).
    /// `None` where the CPU has no vector search for them.
    packed: Option<[aho_corasick::packed::Searcher; 2]>,
    common: [Finder<'static>; 3],
    update_only: [Finder<'static>; 3],
}

impl Placeholder {
    /// The forms of `text`.
    pub(super) fn new(text: &str) -> Self {
        let engine = &base64::engine::general_purpose::STANDARD;
        let b64 = engine.encode(text);
        let ints: Box<[i64]> = text.bytes().map(|b| i64::from(b as i8)).collect();
        let ints_text = ints
            .iter()
            .map(i64::to_string)
            .collect::<Vec<_>>()
            .join(",");
        let uuid = name_uuid(text.as_bytes());
        let hstore_json = serde_json::json!({ text: text }).to_string();
        let wkb = [GEOMETRY_WKB_HEX, GEOGRAPHY_WKB_HEX].map(|h| engine.encode(hex_bytes(h)));
        let searchable =
            !text.is_empty() && !text.contains(|c: char| c == '"' || c == '\\' || c.is_control());
        let owned = |p: &str| Finder::new(p.as_bytes()).into_owned();
        // Both WKB placeholders' base64 starts so (a little-endian point, SRID 4326); the
        // point's -99999999 holds seven nines as Jackson (`-9.9999999E7`) and other writers
        // (`-99999999.0`) print it.
        let update_only = [uuid.as_str(), "AQEAACDmEAAA", "9999999"];
        let finders = searchable.then(|| Finders {
            packed: {
                let common = [text, b64.as_str(), ints_text.as_str()];
                let all = common.into_iter().chain(update_only);
                aho_corasick::packed::Searcher::new(common)
                    .zip(aho_corasick::packed::Searcher::new(all))
                    .map(|(c, a)| [c, a])
            },
            common: [owned(text), owned(&b64), owned(&ints_text)],
            update_only: update_only.map(owned),
        });
        Self {
            text: text.to_owned(),
            b64,
            ints,
            uuid,
            hstore_json,
            wkb,
            finders,
        }
    }

    /// Whether a row's JSON text may hold the placeholder in one of its forms. `false` only
    /// when it certainly does not: none of the forms occurs literally, and no `\u` or `\/`
    /// escape could spell one another way (all their other characters are written as is in
    /// JSON). An integer array written with spaces is not looked for (the JSON converter
    /// writes none). The update-only forms are looked for when `update`. `unescaped`: the
    /// text is known to hold no backslash (the scanner said so), which spares looking.
    pub(super) fn may_occur(&self, text: &str, unescaped: bool, update: bool) -> bool {
        let Some(finders) = &self.finders else {
            return true;
        };
        let bytes = text.as_bytes();
        let found = |f: &[Finder<'static>]| f.iter().any(|f| f.find(bytes).is_some());
        let literal = match &finders.packed {
            Some([common, all]) => (if update { all } else { common }).find(bytes).is_some(),
            None => found(&finders.common) || (update && found(&finders.update_only)),
        };
        literal
            || (!unescaped
                && memchr::memchr_iter(b'\\', bytes)
                    .any(|i| matches!(bytes.get(i + 1), Some(b'u' | b'/'))))
    }

    /// Whether a column's value is the placeholder in one of its forms.
    pub(super) fn is(&self, v: &Value) -> bool {
        match v {
            Value::String(s) => *s == self.text || *s == self.b64 || *s == self.hstore_json,
            Value::Array(a) => match a.as_slice() {
                [Value::String(s)] => *s == self.text || *s == self.b64 || *s == self.uuid,
                items => {
                    !items.is_empty()
                        && items.len() == self.ints.len()
                        && items
                            .iter()
                            .zip(self.ints.iter())
                            .all(|(v, n)| v.as_i64() == Some(*n))
                }
            },
            Value::Object(m) => {
                let hstore = m.len() == 1
                    && m.get(&self.text).and_then(Value::as_str) == Some(self.text.as_str());
                let spatial = m
                    .get("wkb")
                    .and_then(Value::as_str)
                    .is_some_and(|w| self.wkb.iter().any(|p| p == w));
                let point = ["x", "y"]
                    .iter()
                    .all(|k| m.get(*k).and_then(Value::as_f64) == Some(POINT_XY));
                hstore || spatial || point
            }
            _ => false,
        }
    }
}

/// Java's `UUID.nameUUIDFromBytes`: a version 3 UUID of the MD5 of `bytes`, no namespace.
fn name_uuid(bytes: &[u8]) -> String {
    let mut d: [u8; 16] = Md5::digest(bytes).into();
    d[6] = (d[6] & 0x0f) | 0x30;
    d[8] = (d[8] & 0x3f) | 0x80;
    let hex: String = d.iter().map(|b| format!("{b:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}

/// The bytes of a constant hex string.
fn hex_bytes(hex: &str) -> Vec<u8> {
    (0..hex.len())
        .step_by(2)
        .filter_map(|i| u8::from_str_radix(&hex[i..i + 2], 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_forms_of_the_default_placeholder() {
        let p = Placeholder::new(super::super::DEFAULT_UNAVAILABLE_PLACEHOLDER);
        // Java: UUID.nameUUIDFromBytes("__debezium_unavailable_value".getBytes()).
        assert_eq!(p.uuid, "b68a35a7-17ad-35b3-af2a-ae46edb4545a");
        assert_eq!(p.wkb[0], "AQEAACDmEAAAAAAA/IPXl8EAAAD8g9eXwQ==");
        assert_eq!(p.wkb[1], "AQEAACDmEAAADCHn/f9/ZkAYQs77/39WQA==");
        for v in [
            json!("__debezium_unavailable_value"),
            json!("X19kZWJleml1bV91bmF2YWlsYWJsZV92YWx1ZQ=="),
            json!(["__debezium_unavailable_value"]),
            json!(["X19kZWJleml1bV91bmF2YWlsYWJsZV92YWx1ZQ=="]),
            json!(["b68a35a7-17ad-35b3-af2a-ae46edb4545a"]),
            json!({"__debezium_unavailable_value": "__debezium_unavailable_value"}),
            json!(r#"{"__debezium_unavailable_value":"__debezium_unavailable_value"}"#),
            json!({"wkb": "AQEAACDmEAAAAAAA/IPXl8EAAAD8g9eXwQ==", "srid": 4326}),
            json!({"wkb": "AQEAACDmEAAADCHn/f9/ZkAYQs77/39WQA==", "srid": 4326}),
            json!({"x": -99_999_999.0, "y": -99_999_999.0, "wkb": null, "srid": null}),
        ] {
            assert!(p.is(&v), "{v}");
            assert!(
                p.may_occur(&json!({ "c": v }).to_string(), false, true),
                "{v}"
            );
        }
        for v in [
            json!("x"),
            json!(["x"]),
            json!([95, 95]),
            json!({"a": "b"}),
            json!({"wkb": "AQ==", "srid": 4326}),
            json!({"x": 1.0, "y": -99_999_999.0}),
        ] {
            assert!(!p.is(&v), "{v}");
        }
        let plain = r#"{"id":1,"name":"plain","tags":[1,2,3]}"#;
        assert!(!p.may_occur(plain, true, true) && !p.may_occur(plain, false, false));
        // The type-specific forms are only looked for in updates.
        let uuid = r#"{"u":["b68a35a7-17ad-35b3-af2a-ae46edb4545a"]}"#;
        assert!(p.may_occur(uuid, false, true) && !p.may_occur(uuid, false, false));
    }
}

#[cfg(test)]
mod search_tests {
    use super::*;

    /// The one-pass search finds a form exactly where a search for each would: texts built
    /// of the forms' pieces, whole forms, and look-alikes, at every position.
    #[test]
    fn the_one_pass_search_finds_what_a_search_per_form_finds() {
        for placeholder in [super::super::DEFAULT_UNAVAILABLE_PLACEHOLDER, "n/a", "9x9"] {
            let p = Placeholder::new(placeholder);
            let f = p.finders.as_ref().expect("searchable");
            assert!(f.packed.is_some(), "x86_64 has the vector search");
            let forms: Vec<String> = [
                p.text.clone(),
                p.b64.clone(),
                p.ints
                    .iter()
                    .map(i64::to_string)
                    .collect::<Vec<_>>()
                    .join(","),
                p.uuid.clone(),
                "AQEAACDmEAAA".into(),
                "9999999".into(),
            ]
            .into();
            let mut pieces: Vec<String> = forms.clone();
            for form in &forms {
                let mid = form.len() / 2;
                pieces.push(form[..mid].to_owned());
                pieces.push(form[mid..].to_owned());
            }
            pieces.extend(["\"", ",", "{", "}", "x", "9", "_", "[", "]"].map(String::from));
            let mut state = 0x2545_F491_4F6C_DD1D_u64;
            for _ in 0..20_000 {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                let mut r = state;
                let mut text = String::new();
                for _ in 0..(r % 9 + 1) {
                    text.push_str(&pieces[(r % pieces.len() as u64) as usize]);
                    r = r.rotate_right(11).wrapping_mul(0x5851_F42D_4C95_7F2D);
                }
                for update in [false, true] {
                    let searched = if update { &forms[..] } else { &forms[..3] };
                    let want = searched.iter().any(|form| text.contains(form.as_str()));
                    assert_eq!(
                        p.may_occur(&text, true, update),
                        want,
                        "{placeholder:?} in {text:?} (update {update})"
                    );
                }
            }
        }
    }
}
