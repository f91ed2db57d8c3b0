//! Whole numbers from JSON and YAML, whatever their spelling: `1000000`, `1000000.0` and
//! `1e6` are one value. A number with a fractional part, or out of range, is not.
//!
//! The literal itself is read (serde_json keeps it, `arbitrary_precision` is on), never an
//! `f64` conversion, so `9007199254740993.0` is exactly that and not its nearest double.

use serde::de::{Deserialize, Deserializer, Error as _};
use serde_json::{Number, Value};

/// The whole value of a number literal, if it has one and it fits an `i128`.
pub fn whole(n: &Number) -> Option<i128> {
    parse_whole(&n.to_string())
}

/// A JSON value that is a whole number fitting `i64`.
pub fn whole_i64(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => whole(n).and_then(|w| i64::try_from(w).ok()),
        _ => None,
    }
}

/// A JSON value that is a whole number fitting `u64`.
pub fn whole_u64(v: &Value) -> Option<u64> {
    match v {
        Value::Number(n) => whole(n).and_then(|w| u64::try_from(w).ok()),
        _ => None,
    }
}

/// An `i64` read from any whole JSON number (`#[serde(deserialize_with = ...)]`, or as a
/// field type).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WholeI64(pub i64);

impl<'de> Deserialize<'de> for WholeI64 {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let n = Number::deserialize(d)?;
        match whole(&n) {
            Some(w) => i64::try_from(w)
                .map(WholeI64)
                .map_err(|_| D::Error::custom(format!("{n} is outside the range of i64"))),
            None => Err(D::Error::custom(format!("{n} is not a whole number"))),
        }
    }
}

/// For `#[serde(default, deserialize_with = "cdc_core::number::option_i64")]`: an optional
/// `i64` from any whole JSON number (null is none).
pub fn option_i64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    Ok(Option::<WholeI64>::deserialize(d)?.map(|w| w.0))
}

/// `-?D+(.D+)?([eE][+-]?D+)?` → its value when whole. Exponents are bounded, so a literal
/// such as `1e999999999` costs nothing.
fn parse_whole(text: &str) -> Option<i128> {
    let (negative, rest) = match text.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, text),
    };
    let (mantissa, exponent) = match rest.find(['e', 'E']) {
        Some(i) => (&rest[..i], rest[i + 1..].parse::<i64>().ok()?),
        None => (rest, 0),
    };
    let (int_part, frac_part) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    if int_part.is_empty()
        || !int_part
            .bytes()
            .chain(frac_part.bytes())
            .all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let mut digits: String = format!("{int_part}{frac_part}");
    // value = digits × 10^(exponent − frac_len)
    // In i128: `exponent - frac_len` and its negation leave i64 at its ends
    // (`1e-9223372036854775808`, `0.0e-9223372036854775807`).
    let shift = i128::from(exponent) - frac_part.len() as i128;
    if shift >= 0 {
        if shift > 40 {
            return digits.bytes().all(|b| b == b'0').then_some(0);
        }
        digits.extend(std::iter::repeat_n('0', shift as usize));
    } else {
        // Past `usize`, the cut is longer than any text.
        let cut = usize::try_from(-shift).unwrap_or(usize::MAX);
        if cut >= digits.len() {
            return digits.bytes().all(|b| b == b'0').then_some(0);
        }
        let (keep, dropped) = digits.split_at(digits.len() - cut);
        if !dropped.bytes().all(|b| b == b'0') {
            return None;
        }
        digits = keep.to_owned();
    }
    let value: i128 = digits
        .trim_start_matches('0')
        .parse()
        .or_else(|e| {
            if digits.bytes().all(|b| b == b'0') {
                Ok(0)
            } else {
                Err(e)
            }
        })
        .ok()?;
    Some(if negative { -value } else { value })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn whole_values_in_every_spelling() {
        for (text, want) in [
            ("1000000", Some(1_000_000)),
            ("1000000.0", Some(1_000_000)),
            ("1e6", Some(1_000_000)),
            ("1.5e3", Some(1500)),
            ("-2.000", Some(-2)),
            ("0.0", Some(0)),
            ("0e999999", Some(0)),
            ("9007199254740993.0", Some(9_007_199_254_740_993)),
            ("1.5", None),
            ("1e-3", None),
            ("1e400", None),
            ("12.5e1", Some(125)),
            ("1e999999999999", None),
            ("1e-9223372036854775808", None),
            ("0e-9223372036854775808", Some(0)),
            ("-0.0e-9223372036854775807", Some(0)),
            ("1.5e-9223372036854775808", None),
            ("0.0e-9223372036854775808", Some(0)),
            ("1e9223372036854775807", None),
        ] {
            assert_eq!(parse_whole(text), want, "{text}");
        }
        assert_eq!(whole_i64(&json!(1e6)), Some(1_000_000));
        assert_eq!(whole_u64(&json!(-1)), None);
        assert_eq!(whole_i64(&json!("1")), None);
    }

    #[test]
    fn deserializes_from_a_json_value() {
        #[derive(serde::Deserialize)]
        struct T {
            #[serde(default, deserialize_with = "option_i64")]
            n: Option<i64>,
        }
        let v: serde_json::Value = serde_json::from_str(r#"{"n": 1000000.0}"#).unwrap();
        let t: T = serde_json::from_value(v).unwrap();
        assert_eq!(t.n, Some(1_000_000));
        let bad: serde_json::Value = serde_json::from_str(r#"{"n": 1.5}"#).unwrap();
        let err = serde_json::from_value::<T>(bad).err().unwrap().to_string();
        assert!(err.contains("not a whole number"), "{err}");
    }

    /// Exponents from all of `i64` (its ends above all, where `exponent - fraction digits`
    /// or its negation leaves the type), on any mantissa: every literal is read without a
    /// panic, zero is zero whatever its exponent, a whole value is the literal's, and a
    /// literal read through a JSON [`Number`] gives the same.
    mod any_exponent {
        use super::*;
        use proptest::prelude::*;

        fn exponent() -> impl Strategy<Value = i64> {
            prop_oneof![
                Just(i64::MIN),
                Just(i64::MAX),
                (0i64..64).prop_map(|d| i64::MIN + d),
                (0i64..64).prop_map(|d| i64::MAX - d),
                -60i64..60,
                any::<i64>(),
            ]
        }

        proptest! {
            #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

            #[test]
            fn any_exponent_is_read_without_a_panic(
                negative in any::<bool>(),
                int in "0|[1-9][0-9]{0,29}",
                frac in prop::option::of("[0-9]{0,30}"),
                upper in any::<bool>(),
                exp in exponent(),
            ) {
                let sign = if negative { "-" } else { "" };
                let frac = frac.map(|f| format!(".{f}0")).unwrap_or_default();
                let e = if upper { 'E' } else { 'e' };
                let text = format!("{sign}{int}{frac}{e}{exp}");
                let got = parse_whole(&text);
                let zero = !format!("{int}{frac}").bytes().any(|b| (b'1'..=b'9').contains(&b));
                if zero {
                    prop_assert_eq!(got, Some(0), "{}", text);
                }
                // A whole value is the literal's value (to a double's precision).
                if let Some(v) = got {
                    let f: f64 = text.parse().unwrap();
                    prop_assert!((v as f64 - f).abs() <= f.abs() * 1e-12, "{} -> {}", text, v);
                }
                let n: Number = serde_json::from_str(&text).unwrap();
                prop_assert_eq!(whole(&n), got, "{}", text);
            }
        }
    }
}
