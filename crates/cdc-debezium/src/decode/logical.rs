//! Kafka Connect and Debezium logical types: decimals to exact decimal strings, temporal
//! integers to ISO-8601.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use cdc_core::event::json_type_name;
use serde_json::Value;

use super::clip;

/// The scales a decimal may have: PostgreSQL's widest (16 383 digits after the point),
/// which covers every other database's (Oracle -84..=127, SQL Server and MySQL 0..=38), and
/// the same the other way. A scale from a schema or a record outside this is an error: it
/// would otherwise be a string of that many zeros, a few gigabytes for an `i32`.
pub const SCALES: std::ops::RangeInclusive<i64> = -16_383..=16_383;

/// The most bytes a decimal's unscaled value may have: PostgreSQL's widest numeric
/// (131 072 digits before the point and 16 383 after) takes about 61 000. Larger is an
/// error, not a conversion whose cost grows with the square of the size.
pub const MAX_DECIMAL_BYTES: usize = 64 * 1024;

/// How one column's value is converted, from the schema's `name` (and `parameters`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Logical {
    /// `org.apache.kafka.connect.data.Decimal`: base64 big-endian two's-complement unscaled
    /// integer; the scale is in the schema.
    Decimal {
        /// `parameters.scale`.
        scale: i32,
    },
    /// `io.debezium.data.VariableScaleDecimal`: `{"scale": n, "value": "<base64>"}`.
    VariableScaleDecimal,
    /// Days since the epoch (`io.debezium.time.Date`, `org.apache.kafka.connect.data.Date`).
    Date,
    /// Time of day in the given unit per second (1e3 ms, 1e6 µs, 1e9 ns).
    TimeOfDay {
        /// Units per second.
        per_second: i64,
    },
    /// Timestamp without zone since the epoch, in the given unit per second.
    Timestamp {
        /// Units per second.
        per_second: i64,
    },
    /// An array whose items have a logical type.
    Array(Box<Logical>),
}

impl Logical {
    /// The conversion for a schema `name` (with its `parameters`), if it has one. `Err`
    /// says what is wrong with a parameter the conversion needs (a `Decimal`'s `scale`:
    /// missing, not an integer, or outside [`SCALES`]).
    pub fn from_schema(
        name: &str,
        parameters: Option<&std::collections::HashMap<String, Value>>,
    ) -> Result<Option<Self>, String> {
        Ok(Some(match name {
            "org.apache.kafka.connect.data.Decimal" => Self::Decimal {
                scale: decimal_scale(parameters.and_then(|p| p.get("scale")))?,
            },
            "io.debezium.data.VariableScaleDecimal" => Self::VariableScaleDecimal,
            "io.debezium.time.Date" | "org.apache.kafka.connect.data.Date" => Self::Date,
            "io.debezium.time.Time" | "org.apache.kafka.connect.data.Time" => {
                Self::TimeOfDay { per_second: 1_000 }
            }
            "io.debezium.time.MicroTime" => Self::TimeOfDay {
                per_second: 1_000_000,
            },
            "io.debezium.time.NanoTime" => Self::TimeOfDay {
                per_second: 1_000_000_000,
            },
            "io.debezium.time.Timestamp" | "org.apache.kafka.connect.data.Timestamp" => {
                Self::Timestamp { per_second: 1_000 }
            }
            "io.debezium.time.MicroTimestamp" => Self::Timestamp {
                per_second: 1_000_000,
            },
            "io.debezium.time.NanoTimestamp" => Self::Timestamp {
                per_second: 1_000_000_000,
            },
            _ => return Ok(None),
        }))
    }

    /// Converts a value in place; `null` stays `null`. Errors say what was expected.
    pub fn apply(&self, v: &mut Value) -> Result<(), String> {
        if v.is_null() {
            return Ok(());
        }
        let new = match self {
            Self::Decimal { scale } => {
                let s = v
                    .as_str()
                    .ok_or_else(|| format!("a Decimal must be a base64 string, got {v}"))?;
                Value::String(decimal_from_base64(s, *scale)?)
            }
            Self::VariableScaleDecimal => {
                let scale = v
                    .get("scale")
                    .and_then(Value::as_i64)
                    .ok_or("a VariableScaleDecimal needs an integer `scale`")?;
                let value = v
                    .get("value")
                    .and_then(Value::as_str)
                    .ok_or("a VariableScaleDecimal needs a base64 `value`")?;
                Value::String(decimal_from_base64(value, scale_in_range(scale)?)?)
            }
            Self::Date => {
                let days = int(v, "Date (days since epoch)")?;
                Value::String(format_date(days)?)
            }
            Self::TimeOfDay { per_second } => {
                let n = int(v, "time of day")?;
                Value::String(format_time_of_day(n, *per_second)?)
            }
            Self::Timestamp { per_second } => {
                let n = int(v, "timestamp")?;
                Value::String(format_timestamp(n, *per_second)?)
            }
            Self::Array(inner) => {
                let what = json_type_name(v);
                let items = v
                    .as_array_mut()
                    .ok_or_else(|| format!("expected an array, got {what}"))?;
                for item in items {
                    inner.apply(item)?;
                }
                return Ok(());
            }
        };
        *v = new;
        Ok(())
    }
}

/// A `Decimal` schema's `scale` parameter: Connect writes it as a string (`"2"`); an integer
/// is taken too. Without it the value cannot be read, so its absence is an error, not 0.
fn decimal_scale(param: Option<&Value>) -> Result<i32, String> {
    let scale = match param {
        None => return Err("a Decimal schema needs its `scale` parameter".into()),
        Some(Value::String(s)) => s
            .trim()
            .parse::<i64>()
            .map_err(|_| format!("a Decimal schema's `scale` must be an integer, got {s:?}"))?,
        Some(v) => v.as_i64().ok_or_else(|| {
            format!(
                "a Decimal schema's `scale` must be an integer, got {}",
                json_type_name(v)
            )
        })?,
    };
    scale_in_range(scale)
}

fn scale_in_range(scale: i64) -> Result<i32, String> {
    if !SCALES.contains(&scale) {
        return Err(format!(
            "decimal scale {scale} is out of range {}..={}",
            SCALES.start(),
            SCALES.end()
        ));
    }
    // In range, so it fits.
    Ok(scale as i32)
}

fn int(v: &Value, what: &str) -> Result<i64, String> {
    v.as_i64()
        .ok_or_else(|| format!("a {what} must be an integer, got {}", json_type_name(v)))
}

/// `"JxA="` with scale 2 → `"100.00"`: exact, up to [`MAX_DECIMAL_BYTES`] and a scale in
/// [`SCALES`].
pub fn decimal_from_base64(b64: &str, scale: i32) -> Result<String, String> {
    // Four base64 characters hold three bytes: a text too long is refused before it is
    // decoded; the decoded size and the scale are checked by the conversion.
    let at_least = (b64.len() / 4).saturating_sub(1) * 3;
    if at_least > MAX_DECIMAL_BYTES {
        return Err(too_large(at_least));
    }
    let bytes = B64
        .decode(b64)
        .map_err(|e| format!("decimal {:?} is not base64: {e}", clip(b64)))?;
    decimal_from_twos_complement(&bytes, scale)
}

fn too_large(bytes: usize) -> String {
    format!("decimal of {bytes} bytes is larger than the {MAX_DECIMAL_BYTES} allowed")
}

/// Big-endian two's-complement unscaled integer and a scale → decimal string; `Err` beyond
/// [`MAX_DECIMAL_BYTES`] or [`SCALES`].
pub fn decimal_from_twos_complement(bytes: &[u8], scale: i32) -> Result<String, String> {
    if bytes.len() > MAX_DECIMAL_BYTES {
        return Err(too_large(bytes.len()));
    }
    scale_in_range(i64::from(scale))?;
    let negative = bytes.first().is_some_and(|b| b & 0x80 != 0);
    let digits = if bytes.len() <= 16 {
        let mut v: i128 = if negative { -1 } else { 0 };
        for b in bytes {
            v = (v << 8) | i128::from(*b);
        }
        v.unsigned_abs().to_string()
    } else {
        // Magnitude: negate two's complement (invert, add one).
        let mut mag: Vec<u8> = bytes.to_vec();
        if negative {
            for b in mag.iter_mut() {
                *b = !*b;
            }
            for b in mag.iter_mut().rev() {
                let (n, carry) = b.overflowing_add(1);
                *b = n;
                if !carry {
                    break;
                }
            }
        }
        big_to_decimal(&mag)
    };
    Ok(place_point(negative && digits != "0", &digits, scale))
}

/// Base-256 big-endian magnitude → base-10 digits: the magnitude in 32-bit limbs, divided
/// by 10⁹ in place until nothing is left, each remainder nine digits.
fn big_to_decimal(mag: &[u8]) -> String {
    // Big-endian limbs; the first takes what is left over from whole limbs.
    let head = mag.len() % 4;
    let mut limbs: Vec<u32> = Vec::with_capacity(mag.len() / 4 + 1);
    if head > 0 {
        limbs.push(mag[..head].iter().fold(0, |v, b| (v << 8) | u32::from(*b)));
    }
    limbs.extend(
        mag[head..]
            .chunks_exact(4)
            .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]])),
    );
    let mut first = limbs.iter().position(|l| *l != 0).unwrap_or(limbs.len());
    let mut chunks: Vec<u32> = Vec::new();
    while first < limbs.len() {
        let mut rem: u64 = 0;
        for limb in &mut limbs[first..] {
            // rem < 10⁹ < 2³⁰: the shifted value fits 62 bits.
            let cur = (rem << 32) | u64::from(*limb);
            *limb = (cur / 1_000_000_000) as u32;
            rem = cur % 1_000_000_000;
        }
        chunks.push(rem as u32);
        while first < limbs.len() && limbs[first] == 0 {
            first += 1;
        }
    }
    let Some(top) = chunks.last() else {
        return "0".into();
    };
    let mut out = String::with_capacity(chunks.len() * 9);
    out.push_str(&top.to_string());
    for c in chunks.iter().rev().skip(1) {
        let text = c.to_string();
        out.extend(std::iter::repeat_n('0', 9 - text.len()));
        out.push_str(&text);
    }
    out
}

fn place_point(negative: bool, digits: &str, scale: i32) -> String {
    let mut out = String::with_capacity(digits.len() + 3);
    if negative {
        out.push('-');
    }
    if scale <= 0 {
        out.push_str(digits);
        if digits != "0" {
            for _ in 0..(-scale) {
                out.push('0');
            }
        }
        return out;
    }
    let scale = scale as usize;
    if digits.len() > scale {
        let (int, frac) = digits.split_at(digits.len() - scale);
        out.push_str(int);
        out.push('.');
        out.push_str(frac);
    } else {
        out.push_str("0.");
        for _ in 0..(scale - digits.len()) {
            out.push('0');
        }
        out.push_str(digits);
    }
    out
}

/// Days since 1970-01-01 → `YYYY-MM-DD`.
pub fn format_date(days: i64) -> Result<String, String> {
    let d = date_of(days)?;
    Ok(format!(
        "{:04}-{:02}-{:02}",
        d.year(),
        u8::from(d.month()),
        d.day()
    ))
}

fn date_of(days: i64) -> Result<time::Date, String> {
    let jd = days
        .checked_add(2_440_588)
        .and_then(|jd| i32::try_from(jd).ok())
        .ok_or_else(|| format!("date {days} days from epoch is out of range"))?;
    time::Date::from_julian_day(jd)
        .map_err(|_| format!("date {days} days from epoch is out of range"))
}

fn frac_digits(per_second: i64) -> usize {
    match per_second {
        1_000 => 3,
        1_000_000 => 6,
        _ => 9,
    }
}

/// Units since midnight → `HH:MM:SS.fff` (3, 6 or 9 fraction digits by unit).
pub fn format_time_of_day(n: i64, per_second: i64) -> Result<String, String> {
    if n < 0 || n >= 86_400 * per_second + per_second {
        return Err(format!("time of day {n} is out of range"));
    }
    let secs = n / per_second;
    let frac = n % per_second;
    Ok(format!(
        "{:02}:{:02}:{:02}.{:0w$}",
        secs / 3600,
        (secs / 60) % 60,
        secs % 60,
        frac,
        w = frac_digits(per_second)
    ))
}

/// Units since the epoch (no zone) → `YYYY-MM-DDTHH:MM:SS.fff`.
pub fn format_timestamp(n: i64, per_second: i64) -> Result<String, String> {
    let secs = n.div_euclid(per_second);
    let frac = n.rem_euclid(per_second);
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400);
    let d = date_of(days)?;
    Ok(format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:0w$}",
        d.year(),
        u8::from(d.month()),
        d.day(),
        sod / 3600,
        (sod / 60) % 60,
        sod % 60,
        frac,
        w = frac_digits(per_second)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn decimals_from_the_fixture_readme() {
        assert_eq!(decimal_from_base64("JxA=", 2).unwrap(), "100.00");
        assert_eq!(decimal_from_base64("+y4=", 2).unwrap(), "-12.34");
        assert_eq!(decimal_from_base64("AQ==", 2).unwrap(), "0.01");
        assert_eq!(decimal_from_base64("Tms=", 2).unwrap(), "200.75");
        assert_eq!(decimal_from_base64("DrY=", 2).unwrap(), "37.66");
        assert_eq!(decimal_from_base64("Jws=", 3).unwrap(), "9.995");
        assert_eq!(decimal_from_base64("AA==", 2).unwrap(), "0.00");
        assert_eq!(decimal_from_base64("", 0).unwrap(), "0");
        assert_eq!(decimal_from_twos_complement(&[0xff], 0).unwrap(), "-1");
        assert_eq!(decimal_from_twos_complement(&[0x05], -2).unwrap(), "500");
        assert!(decimal_from_base64("not base64!", 2).is_err());
    }

    #[test]
    fn big_decimals_are_exact() {
        // 2^136 = 87112285931760246646623899502532662132736, 17 bytes.
        let mut b = [0u8; 18];
        b[0] = 0x01;
        assert_eq!(
            decimal_from_twos_complement(&b[..18], 0).unwrap(),
            "87112285931760246646623899502532662132736"
        );
        // -(2^143): 0x80 followed by 17 zero bytes.
        let mut n = [0u8; 18];
        n[0] = 0x80;
        assert_eq!(
            decimal_from_twos_complement(&n, 3).unwrap(),
            "-11150372599265311570767859136324180752990.208"
        );
    }

    /// The byte-at-a-time conversion this module used before 32-bit limbs: the reference.
    fn reference_decimal(mag: &[u8]) -> String {
        let mut num: Vec<u32> = mag.iter().map(|b| u32::from(*b)).collect();
        let mut chunks: Vec<u32> = Vec::new();
        while num.iter().any(|d| *d != 0) {
            let mut rem: u64 = 0;
            let mut next = Vec::with_capacity(num.len());
            for d in &num {
                let cur = (rem << 8) | u64::from(*d);
                let q = cur / 1_000_000_000;
                rem = cur % 1_000_000_000;
                if !(next.is_empty() && q == 0) {
                    next.push(q as u32);
                }
            }
            chunks.push(rem as u32);
            num = next;
        }
        if chunks.is_empty() {
            return "0".into();
        }
        let mut out = chunks.last().map(|c| c.to_string()).unwrap_or_default();
        for c in chunks.iter().rev().skip(1) {
            out.push_str(&format!("{c:09}"));
        }
        out
    }

    proptest::proptest! {
        #[test]
        fn limbs_agree_with_the_bytewise_conversion(
            mag in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..80),
        ) {
            proptest::prop_assert_eq!(big_to_decimal(&mag), reference_decimal(&mag));
        }

        #[test]
        fn small_magnitudes_agree_with_u128(v in proptest::prelude::any::<u128>()) {
            proptest::prop_assert_eq!(big_to_decimal(&v.to_be_bytes()), v.to_string());
        }
    }

    #[test]
    fn scales_and_sizes_have_a_range() {
        assert!(decimal_from_twos_complement(&[1], 16_383).is_ok());
        assert!(decimal_from_twos_complement(&[1], -16_383).is_ok());
        assert!(decimal_from_twos_complement(&[1], 16_384).is_err());
        assert!(decimal_from_twos_complement(&[1], i32::MIN).is_err());
        assert!(decimal_from_twos_complement(&vec![1; MAX_DECIMAL_BYTES + 1], 0).is_err());
        assert!(format_date(i64::MAX).is_err());
        assert!(format_date(i64::MIN).is_err());
        let mut v = json!({"scale": 2_000_000_000i64, "value": "AQ=="});
        assert!(Logical::VariableScaleDecimal.apply(&mut v).is_err());
    }

    #[test]
    fn temporal_types() {
        assert_eq!(format_date(19732).unwrap(), "2024-01-10");
        assert_eq!(format_date(-1).unwrap(), "1969-12-31");
        assert_eq!(
            format_timestamp(1_704_456_000_000_000, 1_000_000).unwrap(),
            "2024-01-05T12:00:00.000000"
        );
        assert_eq!(
            format_timestamp(-1, 1_000).unwrap(),
            "1969-12-31T23:59:59.999"
        );
        assert_eq!(
            format_time_of_day(45_296_789, 1_000).unwrap(),
            "12:34:56.789"
        );
        let mut v = json!({"scale": 3, "value": "Jws="});
        Logical::VariableScaleDecimal.apply(&mut v).unwrap();
        assert_eq!(v, json!("9.995"));
        let mut v = json!(["JxA=", null]);
        Logical::Array(Box::new(Logical::Decimal { scale: 2 }))
            .apply(&mut v)
            .unwrap();
        assert_eq!(v, json!(["100.00", null]));
        assert!(Logical::Date.apply(&mut json!("x")).is_err());
    }
}
