//! The decoder's fast path: the envelope and its source block read with cdc-core's
//! validating [`Scanner`] instead of serde's derive, which is most of a record's cost
//! (benches/debezium_decode.rs).
//!
//! For every text it accepts it gives the [`Envelope`] serde gives (JSON `null` as `None`,
//! unknown keys checked and skipped, escaped strings unescaped), and it gives up (`None`)
//! on everything else: a duplicate field, a value of another type than its field's, an
//! escaped key, a number serde would refuse, a syntax error. The decoder then reads the
//! same text with serde, which accepts it the same way or says what is wrong: so what the
//! decoder accepts, and every error it gives, is serde's.

use std::borrow::Cow;

use cdc_core::event::json_span::{JsonSpan, Scanner};

use super::envelope::{Envelope, Part, Scalar, Source};

impl<'a, const EAGER: bool> Envelope<'a, EAGER> {
    /// The envelope of `text` (a whole value or payload), or `None`: then serde decides.
    #[cfg(test)]
    pub(super) fn scan(text: &'a str) -> Option<Self> {
        let mut env = Self::default();
        env.scan_into(text)?;
        Some(env)
    }

    /// [`Envelope::scan`] into `self`, which is the default: read in place, the envelope is
    /// not copied out. After `None` it holds part of the text's fields (serde's read
    /// replaces it).
    pub(super) fn scan_into(&mut self, text: &'a str) -> Option<()> {
        let mut sc = Scanner::new(text);
        envelope(&mut sc, self)?;
        sc.finish()
    }
}

/// Marks field `bit` as read; `None` when it was already (serde refuses a duplicate field).
fn once(seen: &mut u32, bit: u32) -> Option<()> {
    let mask = 1 << bit;
    (*seen & mask == 0).then(|| *seen |= mask)
}

/// A raw field: JSON `null` is `None`, as serde reads an `Option`.
fn raw<'a>(sc: &mut Scanner<'a>) -> Option<Option<JsonSpan<'a>>> {
    let v = sc.value()?;
    Some((!v.is_null()).then_some(v))
}

fn envelope<'a, const EAGER: bool>(
    sc: &mut Scanner<'a>,
    env: &mut Envelope<'a, EAGER>,
) -> Option<()> {
    let mut obj = sc.object()?;
    let mut seen = 0u32;
    while let Some(key) = sc.key(&mut obj)? {
        let (bit, slot) = match key {
            "schema" => (0, &mut env.schema),
            "payload" => {
                // Kept when `null`: a wrapped value without one is no event.
                once(&mut seen, 1)?;
                env.payload = Some(sc.value()?);
                continue;
            }
            "before" => (2, &mut env.before),
            "after" => (3, &mut env.after),
            "op" => (4, &mut env.op),
            "ts_ms" => (5, &mut env.ts_ms),
            "transaction" => (6, &mut env.transaction),
            "updateDescription" => (7, &mut env.update_description),
            "message" => (8, &mut env.message),
            "ddl" => (9, &mut env.ddl),
            "tableChanges" => (10, &mut env.table_changes),
            "databaseName" => (11, &mut env.database_name),
            "schemaName" => (12, &mut env.schema_name),
            "status" => (13, &mut env.status),
            "id" => (14, &mut env.id),
            "event_count" => (15, &mut env.event_count),
            "data_collections" => (16, &mut env.data_collections),
            "source" => {
                once(&mut seen, 17)?;
                env.source = if sc.peek()? == b'{' {
                    Some(Part::Parsed(Box::new(source(sc)?)))
                } else if raw(sc)?.is_none() {
                    None
                } else {
                    // Not an object: serde's error.
                    return None;
                };
                continue;
            }
            _ => {
                sc.value()?;
                continue;
            }
        };
        once(&mut seen, bit)?;
        *slot = raw(sc)?;
    }
    Some(())
}

fn source<'a>(sc: &mut Scanner<'a>) -> Option<Source<'a>> {
    let mut s = Source::default();
    let mut obj = sc.object()?;
    let mut seen = 0u32;
    while let Some(key) = sc.key(&mut obj)? {
        let bit = match key {
            "ts_ms" => {
                s.ts_ms = int(sc)?;
                0
            }
            "ts_us" => {
                s.ts_us = int(sc)?;
                1
            }
            "snapshot" => {
                s.snapshot = raw(sc)?;
                2
            }
            "db" => {
                s.db = text(sc)?;
                3
            }
            "schema" => {
                s.schema = text(sc)?;
                4
            }
            "table" => {
                s.table = text(sc)?;
                5
            }
            "collection" => {
                s.collection = text(sc)?;
                6
            }
            "keyspace" => {
                s.keyspace = text(sc)?;
                7
            }
            "txId" => {
                s.tx_id = scalar(sc)?;
                8
            }
            "lsn" => {
                s.lsn = scalar(sc)?;
                9
            }
            "file" => {
                s.file = text(sc)?;
                10
            }
            "pos" => {
                s.pos = scalar(sc)?;
                11
            }
            "row" => {
                s.row = scalar(sc)?;
                12
            }
            "gtid" => {
                s.gtid = scalar(sc)?;
                13
            }
            "change_lsn" => {
                s.change_lsn = scalar(sc)?;
                14
            }
            "commit_lsn" => {
                s.commit_lsn = scalar(sc)?;
                15
            }
            "scn" => {
                s.scn = scalar(sc)?;
                16
            }
            "vgtid" => {
                s.vgtid = scalar(sc)?;
                17
            }
            "ord" => {
                s.ord = scalar(sc)?;
                18
            }
            "event_serial_no" => {
                s.event_serial_no = scalar(sc)?;
                19
            }
            "txSeq" => {
                s.tx_seq = scalar(sc)?;
                20
            }
            "lcr_position" => {
                s.lcr_position = scalar(sc)?;
                21
            }
            _ => {
                sc.value()?;
                continue;
            }
        };
        once(&mut seen, bit)?;
    }
    Some(s)
}

/// An `Option<i64>` field: `null`, or an integer serde reads as one (`-0` it reads as a
/// float, an error for an integer field; so is anything past `i64`).
fn int(sc: &mut Scanner<'_>) -> Option<Option<i64>> {
    if let b'-' | b'0'..=b'9' = sc.peek()? {
        let (span, value) = sc.number_value()?;
        if value.is_some() {
            return Some(value);
        }
        let text = span.get();
        if text.starts_with("-0") {
            return None;
        }
        // Past 18 digits (within i64 or not), or a float: serde's integer or its error.
        return parse_i64(text).map(Some);
    }
    // Anything else but `null` is not an integer: serde's error.
    sc.value()?.is_null().then_some(None)
}

/// `str::parse::<i64>`, with the common case (at most 18 digits, which cannot overflow)
/// done here: it is most of the integers of a record (times, positions).
fn parse_i64(text: &str) -> Option<i64> {
    let (negative, digits) = match text.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, text),
    };
    if digits.is_empty() || digits.len() > 18 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return text.parse().ok();
    }
    let n = digits
        .bytes()
        .fold(0i64, |n, b| n * 10 + i64::from(b - b'0'));
    Some(if negative { -n } else { n })
}

/// A string's text: borrowed without escapes, unescaped by serde with them (`None`, and so
/// serde's error, for an escape serde refuses in a string it reads, such as a lone surrogate).
fn unescaped<'a>(sc: &mut Scanner<'a>) -> Option<Cow<'a, str>> {
    let (inner, escaped) = sc.string()?;
    if !escaped {
        return Some(Cow::Borrowed(inner));
    }
    serde_json::from_str::<String>(&format!("\"{inner}\""))
        .ok()
        .map(Cow::Owned)
}

/// An `Option<Cow<str>>` field: `null` or a string (anything else is serde's error).
fn text<'a>(sc: &mut Scanner<'a>) -> Option<Option<Cow<'a, str>>> {
    match sc.peek()? {
        b'"' => unescaped(sc).map(Some),
        _ => raw(sc)?.is_none().then_some(None),
    }
}

/// An `Option<Scalar>` field, as [`Scalar`]'s serde visitor reads it.
fn scalar<'a>(sc: &mut Scanner<'a>) -> Option<Option<Scalar<'a>>> {
    match sc.peek()? {
        b'"' => return unescaped(sc).map(|t| Some(Scalar::Text(t))),
        b'-' | b'0'..=b'9' => {
            let (span, value) = sc.number_value()?;
            return Some(Some(match value {
                Some(n) => Scalar::Int(n),
                None => number(span.get())?,
            }));
        }
        _ => {}
    }
    let v = sc.value()?;
    Some(match v.get().as_bytes()[0] {
        b'n' => None,
        // true, false, an array, an object.
        _ => Some(Scalar::Other),
    })
}

/// A JSON number as serde_json reads it without `arbitrary_precision`: an integer within
/// `i64` (`Int`) or `u64` (`Text`, its digits); anything else is a float (`Other`), and one
/// too large for an `f64` is serde's error.
fn number(text: &str) -> Option<Scalar<'_>> {
    let float = text.starts_with("-0") || text.bytes().any(|b| matches!(b, b'.' | b'e' | b'E'));
    if !float {
        if let Some(n) = parse_i64(text) {
            return Some(Scalar::Int(n));
        }
        if let Ok(n) = text.parse::<u64>() {
            return Some(Scalar::Text(Cow::Owned(n.to_string())));
        }
    }
    text.parse::<f64>()
        .ok()
        .filter(|f| f.is_finite())
        .map(|_| Scalar::Other)
}

#[cfg(test)]
#[path = "scan_tests.rs"]
mod tests;
