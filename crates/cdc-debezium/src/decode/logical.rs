//! Kafka Connect and Debezium logical types: decimals to exact decimal strings, temporal
//! integers to ISO-8601.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use cdc_core::event::json_type_name;
use serde_json::Value;

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
    /// The conversion for a schema `name`, if it has one.
    pub fn from_schema_name(name: &str, scale: Option<&str>) -> Option<Self> {
        Some(match name {
            "org.apache.kafka.connect.data.Decimal" => Self::Decimal {
                scale: scale.and_then(|s| s.parse().ok()).unwrap_or(0),
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
            _ => return None,
        })
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
                let scale =
                    i32::try_from(scale).map_err(|_| format!("scale {scale} out of range"))?;
                Value::String(decimal_from_base64(value, scale)?)
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

fn int(v: &Value, what: &str) -> Result<i64, String> {
    v.as_i64()
        .ok_or_else(|| format!("a {what} must be an integer, got {}", json_type_name(v)))
}

/// `"JxA="` with scale 2 → `"100.00"`: exact, any size.
pub fn decimal_from_base64(b64: &str, scale: i32) -> Result<String, String> {
    let bytes = B64
        .decode(b64)
        .map_err(|e| format!("decimal {b64:?} is not base64: {e}"))?;
    Ok(decimal_from_twos_complement(&bytes, scale))
}

/// Big-endian two's-complement unscaled integer and a scale → decimal string.
pub fn decimal_from_twos_complement(bytes: &[u8], scale: i32) -> String {
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
    place_point(negative && digits != "0", &digits, scale)
}

/// Base-256 big-endian magnitude → base-10 digits, by repeated division by 1e9.
fn big_to_decimal(mag: &[u8]) -> String {
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
    let jd = i32::try_from(days + 2_440_588)
        .map_err(|_| format!("date {days} days from epoch is out of range"))?;
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
        assert_eq!(decimal_from_twos_complement(&[0xff], 0), "-1");
        assert_eq!(decimal_from_twos_complement(&[0x05], -2), "500");
        assert!(decimal_from_base64("not base64!", 2).is_err());
    }

    #[test]
    fn big_decimals_are_exact() {
        // 2^136 = 87112285931760246646623899502532662132736, 17 bytes.
        let mut b = [0u8; 18];
        b[0] = 0x01;
        assert_eq!(
            decimal_from_twos_complement(&b[..18], 0),
            "87112285931760246646623899502532662132736"
        );
        // -(2^143): 0x80 followed by 17 zero bytes.
        let mut n = [0u8; 18];
        n[0] = 0x80;
        assert_eq!(
            decimal_from_twos_complement(&n, 3),
            "-11150372599265311570767859136324180752990.208"
        );
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
