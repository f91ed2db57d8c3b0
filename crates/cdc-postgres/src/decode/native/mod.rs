//! Values in PostgreSQL's binary format (binary COPY) written as JSON: byte for byte what
//! [`push_value`] writes for the same value's text output under the pinned session settings
//! (`DateStyle=ISO`, `TimeZone=UTC`). Only types whose text output is fully determined by
//! their binary form are here; the snapshot reads every other column as the text of its
//! type's output function.
//!
//! [`Native::push_text`] writes the text output itself (as `int8out`, `numeric_out`,
//! `timestamptz_out`, ... print it); [`Native::push_json`] writes the JSON, directly for the
//! common shapes and through [`push_value`] of the text for the rare ones (BC dates, years
//! past 9999, infinities), so the two never disagree.

mod calendar;

use super::ascii::{Ascii, Sink};
use super::types::Kind;
use super::value::{push_json_bytes, push_value};
use calendar::{POSTGRES_EPOCH_JDATE, Stamp, j2date, push_date};

/// A type read in binary.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Native {
    /// bool.
    Bool,
    /// int2.
    Int2,
    /// int4.
    Int4,
    /// int8.
    Int8,
    /// oid.
    Oid,
    /// text, varchar, bpchar, name: the binary form is the text (in the client encoding).
    Text,
    /// uuid.
    Uuid,
    /// numeric.
    Numeric,
    /// date.
    Date,
    /// timestamp.
    Timestamp,
    /// timestamptz.
    TimestampTz,
}

impl Native {
    /// The binary reading of a built-in type, by OID (`None`: read its output text).
    pub fn of(type_oid: u32) -> Option<Self> {
        Some(match type_oid {
            16 => Self::Bool,
            21 => Self::Int2,
            23 => Self::Int4,
            20 => Self::Int8,
            26 => Self::Oid,
            25 | 1043 | 1042 | 19 => Self::Text,
            2950 => Self::Uuid,
            1700 => Self::Numeric,
            1082 => Self::Date,
            1114 => Self::Timestamp,
            1184 => Self::TimestampTz,
            _ => return None,
        })
    }

    /// The [`Kind`] the text path gives the type.
    pub fn kind(self) -> Kind {
        match self {
            Self::Bool => Kind::Bool,
            Self::Int2 | Self::Int4 | Self::Int8 | Self::Oid => Kind::Integer,
            Self::Text | Self::Uuid | Self::Date => Kind::Text,
            Self::Numeric => Kind::Numeric,
            Self::Timestamp => Kind::Timestamp,
            Self::TimestampTz => Kind::TimestampTz,
        }
    }

    /// Appends the JSON of the value whose binary form is `b` to the bytes of a row. Text is
    /// not checked here: the caller checks the whole row as UTF-8. `Err` says what is
    /// malformed.
    pub fn push_json(self, out: &mut Vec<u8>, b: &[u8]) -> Result<(), String> {
        match self {
            Self::Bool => out.put(if bool_of(b)? { b"true" } else { b"false" }),
            Self::Int2 | Self::Int4 | Self::Int8 | Self::Oid => self.push_text(out, b)?,
            Self::Numeric | Self::Uuid | Self::Date => {
                // Digits, signs, dashes and letters only: no escapes.
                out.push(b'"');
                self.push_text(out, b)?;
                out.push(b'"');
            }
            Self::Text => push_json_bytes(out, b),
            Self::Timestamp | Self::TimestampTz => {
                let zone = self == Self::TimestampTz;
                let t = Stamp::of(i64_of(b, "timestamp")?);
                match t {
                    Some(t) if (1..=9999).contains(&t.year) => {
                        // What push_timestamp makes of ISO output: `T`, `Z` for `+00`.
                        let mut a = Ascii::<32>::new();
                        a.push(b'"');
                        t.push_iso(&mut a, b'T');
                        if zone {
                            a.push(b'Z');
                        }
                        a.push(b'"');
                        a.flush(out);
                    }
                    _ => {
                        let mut text = String::with_capacity(32);
                        self.push_text(&mut text, b)?;
                        let mut json = String::with_capacity(40);
                        push_value(&mut json, self.kind(), &text);
                        out.put_str(&json);
                    }
                }
            }
        }
        Ok(())
    }

    /// Appends the value's text output, as the server prints it under the pinned settings.
    pub fn push_text(self, out: &mut impl Sink, b: &[u8]) -> Result<(), String> {
        match self {
            Self::Bool => out.put(if bool_of(b)? { b"t" } else { b"f" }),
            Self::Int2 => {
                let v = i16::from_be_bytes(fixed(b, "int2")?);
                push_int(out, i64::from(v));
            }
            Self::Int4 => push_int(out, i64::from(i32::from_be_bytes(fixed(b, "int4")?))),
            Self::Int8 => push_int(out, i64_of(b, "int8")?),
            Self::Oid => push_uint(out, u64::from(u32::from_be_bytes(fixed(b, "oid")?))),
            Self::Text => out.put_str(utf8(b)?),
            Self::Uuid => push_uuid(out, &fixed::<16>(b, "uuid")?),
            Self::Numeric => super::numeric::push_numeric(out, b)?,
            Self::Date => {
                let days = i32::from_be_bytes(fixed(b, "date")?);
                match days {
                    i32::MIN => out.put(b"-infinity"),
                    i32::MAX => out.put(b"infinity"),
                    d => {
                        // As for timestamps: a Julian day PostgreSQL can hold (its
                        // `date_recv` refuses others). Before day 0 `j2date` would overflow.
                        let jd = i64::from(d) + POSTGRES_EPOCH_JDATE;
                        if !(0..=i64::from(i32::MAX)).contains(&jd) {
                            return Err(format!(
                                "a date {d} days from 2000-01-01 is outside PostgreSQL's range"
                            ));
                        }
                        let (y, m, d) = j2date(jd);
                        let mut a = Ascii::<24>::new();
                        push_date(&mut a, y, m, d);
                        a.flush(out);
                        if y <= 0 {
                            out.put(b" BC");
                        }
                    }
                }
            }
            Self::Timestamp | Self::TimestampTz => {
                let micros = i64_of(b, "timestamp")?;
                match Stamp::of(micros) {
                    None if micros == i64::MIN => out.put(b"-infinity"),
                    None if micros == i64::MAX => out.put(b"infinity"),
                    None => return Err(format!("timestamp {micros} out of range")),
                    Some(t) => {
                        let mut a = Ascii::<40>::new();
                        t.push_iso(&mut a, b' ');
                        a.flush(out);
                        if self == Self::TimestampTz {
                            out.put(b"+00");
                        }
                        if t.year <= 0 {
                            out.put(b" BC");
                        }
                    }
                }
            }
        }
        Ok(())
    }
}

fn fixed<const N: usize>(b: &[u8], what: &str) -> Result<[u8; N], String> {
    b.try_into()
        .map_err(|_| format!("a binary {what} of {} bytes (expected {N})", b.len()))
}

fn i64_of(b: &[u8], what: &str) -> Result<i64, String> {
    Ok(i64::from_be_bytes(fixed(b, what)?))
}

fn bool_of(b: &[u8]) -> Result<bool, String> {
    match b {
        [0] => Ok(false),
        [_] => Ok(true),
        _ => Err(format!("a binary bool of {} bytes", b.len())),
    }
}

fn utf8(b: &[u8]) -> Result<&str, String> {
    std::str::from_utf8(b).map_err(|e| format!("a text value that is not UTF-8: {e}"))
}

/// Appends `v` in decimal.
fn push_int(out: &mut impl Sink, v: i64) {
    let mut a = Ascii::<24>::new();
    if v < 0 {
        a.push(b'-');
    }
    a.uint(v.unsigned_abs());
    a.flush(out);
}

/// Appends `v` in decimal.
fn push_uint(out: &mut impl Sink, v: u64) {
    let mut a = Ascii::<24>::new();
    a.uint(v);
    a.flush(out);
}

fn push_uuid(out: &mut impl Sink, b: &[u8; 16]) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut a = Ascii::<36>::new();
    for (i, byte) in b.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            a.push(b'-');
        }
        a.push(HEX[usize::from(byte >> 4)]);
        a.push(HEX[usize::from(byte & 0xf)]);
    }
    a.flush(out);
}

#[cfg(test)]
mod tests {
    use super::calendar::USECS_PER_DAY;
    use super::*;

    fn both(n: Native, b: &[u8]) -> (String, String) {
        let (mut text, mut json) = (String::new(), Vec::new());
        n.push_text(&mut text, b).unwrap();
        n.push_json(&mut json, b).unwrap();
        let json = String::from_utf8(json).unwrap();
        let mut via_text = String::new();
        push_value(&mut via_text, n.kind(), &text);
        assert_eq!(
            json, via_text,
            "{n:?} {b:?}: JSON differs from the text path's"
        );
        (text, json)
    }

    #[test]
    fn integers_and_bools() {
        assert_eq!(
            both(Native::Int8, &i64::MIN.to_be_bytes()).0,
            i64::MIN.to_string()
        );
        assert_eq!(both(Native::Int8, &0i64.to_be_bytes()).1, "0");
        assert_eq!(both(Native::Int2, &(-5i16).to_be_bytes()).1, "-5");
        assert_eq!(both(Native::Int4, &i32::MAX.to_be_bytes()).1, "2147483647");
        assert_eq!(both(Native::Oid, &u32::MAX.to_be_bytes()).1, "4294967295");
        assert_eq!(both(Native::Bool, &[1]).1, "true");
        assert_eq!(both(Native::Bool, &[0]).0, "f");
        assert!(Native::Int4.push_json(&mut Vec::new(), &[0, 1]).is_err());
        assert!(Native::Bool.push_json(&mut Vec::new(), &[]).is_err());
        assert!(Native::Text.push_text(&mut String::new(), &[0xff]).is_err());
    }

    #[test]
    fn dates_and_timestamps() {
        let day = USECS_PER_DAY;
        assert_eq!(both(Native::Date, &0i32.to_be_bytes()).0, "2000-01-01");
        assert_eq!(both(Native::Date, &(-1i32).to_be_bytes()).0, "1999-12-31");
        assert_eq!(
            both(Native::Date, &i32::MAX.to_be_bytes()).1,
            "\"infinity\""
        );
        let ts = 5 * day + 3_723_000_500;
        assert_eq!(
            both(Native::TimestampTz, &ts.to_be_bytes()),
            (
                "2000-01-06 01:02:03.0005+00".into(),
                "\"2000-01-06T01:02:03.0005Z\"".into()
            )
        );
        assert_eq!(
            both(Native::Timestamp, &(-1i64).to_be_bytes()).0,
            "1999-12-31 23:59:59.999999"
        );
        assert_eq!(
            both(Native::TimestampTz, &i64::MIN.to_be_bytes()).1,
            "\"-infinity\""
        );
        // 2000-02-29 and 2001-03-01: leap years.
        assert_eq!(
            both(Native::Timestamp, &(59 * day).to_be_bytes()).0,
            "2000-02-29 00:00:00"
        );
        assert_eq!(
            both(Native::Date, &366i32.to_be_bytes() /* 2001-01-01 */).0,
            "2001-01-01"
        );
        // Julian day 0 (4714-11-24 BC) is the first date PostgreSQL holds; a day before it
        // (which its date_recv refuses) is an error, not an overflow.
        assert_eq!(
            both(Native::Date, &(-2_451_545i32).to_be_bytes()).0,
            "4714-11-24 BC"
        );
        for days in [-2_451_546i32, i32::MIN + 1] {
            let err = Native::Date
                .push_json(&mut Vec::new(), &days.to_be_bytes())
                .unwrap_err();
            assert!(err.contains("outside PostgreSQL's range"), "{days}: {err}");
        }
    }

    #[test]
    fn uuid() {
        let b: [u8; 16] = core::array::from_fn(|i| (i * 17) as u8);
        assert_eq!(
            both(Native::Uuid, &b).0,
            "00112233-4455-6677-8899-aabbccddeeff"
        );
    }
}
