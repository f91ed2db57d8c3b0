//! Decimals: Connect's `Decimal` and Debezium's `VariableScaleDecimal` carry a base64
//! big-endian two's-complement unscaled integer; this turns it and a scale into an exact
//! decimal string, within the ranges of scale and size a database can write. Apart from the
//! temporal types because it is arbitrary-precision arithmetic with limits of its own.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;

use crate::decode::read::clip;

/// The scales a decimal may have: PostgreSQL's widest (16 383 digits after the point),
/// which covers every other database's (Oracle -84..=127, SQL Server and MySQL 0..=38), and
/// the same the other way. A scale from a schema or a record outside this is an error: it
/// would otherwise be a string of that many zeros, a few gigabytes for an `i32`.
pub const SCALES: std::ops::RangeInclusive<i64> = -16_383..=16_383;

/// The most bytes a decimal's unscaled value may have: PostgreSQL's widest numeric
/// (131 072 digits before the point and 16 383 after) takes about 61 000. Larger is an
/// error, not a conversion whose cost grows with the square of the size.
pub const MAX_DECIMAL_BYTES: usize = 64 * 1024;

pub(super) fn scale_in_range(scale: i64) -> Result<i32, String> {
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

/// A `Decimal` the JSON converter wrote as a JSON number (`decimal.format=NUMERIC`: Java's
/// `BigDecimal.toString`, so `100.00`, `-1.5E-7` or `5E+2`) → the same exact decimal string
/// the base64 form gives: every digit kept, the point placed by the number's own scale (the
/// schema's, which Connect requires it to have), no exponent.
pub fn decimal_from_number(text: &str) -> Result<String, String> {
    let bad = || format!("decimal {:?} is not a JSON number", clip(text));
    let (negative, unsigned) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (mantissa, exponent) = match unsigned.find(['e', 'E']) {
        Some(i) => (&unsigned[..i], Some(&unsigned[i + 1..])),
        None => (unsigned, None),
    };
    let (int, frac) = match mantissa.split_once('.') {
        Some((_, "")) => return Err(bad()),
        Some(parts) => parts,
        None => (mantissa, ""),
    };
    let digit_run = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if int.is_empty() || !digit_run(int) || !digit_run(frac) {
        return Err(bad());
    }
    // The exponent moves the point: scale = fraction digits - exponent. An exponent too
    // long for an i64 is out of range either way.
    let exponent: i64 = match exponent {
        None => 0,
        Some(e) => {
            let digits = e.strip_prefix(['+', '-']).unwrap_or(e);
            if digits.is_empty() || !digit_run(digits) {
                return Err(bad());
            }
            e.trim_start_matches('+')
                .parse()
                .map_err(|_| format!("decimal {:?} has an exponent out of range", clip(text)))?
        }
    };
    let scale = scale_in_range((frac.len() as i64).saturating_sub(exponent))?;
    let mut digits = String::with_capacity(int.len() + frac.len());
    digits.push_str(int);
    digits.push_str(frac);
    let significant = digits.trim_start_matches('0');
    let digits = if significant.is_empty() {
        "0"
    } else {
        significant
    };
    if digits.len() > MAX_DECIMAL_BYTES * 3 {
        return Err(format!(
            "decimal of {} digits is larger than the {MAX_DECIMAL_BYTES} bytes allowed",
            digits.len()
        ));
    }
    Ok(place_point(negative && digits != "0", digits, scale))
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

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn decimals_written_as_numbers_read_as_the_base64_form_does() {
        for (number, b64, scale) in [
            ("100.00", "JxA=", 2),
            ("-12.34", "+y4=", 2),
            ("0.01", "AQ==", 2),
            ("0.00", "AA==", 2),
            ("-0.00", "AA==", 2),
            ("9.995", "Jws=", 3),
            ("5E+2", "BQ==", -2),
            ("1E-7", "AQ==", 7),
            ("1.0E-7", "Cg==", 8),
            ("-1.5e3", "8Q==", -2),
            ("18446744073709551615", "AP//////////", 0),
        ] {
            assert_eq!(
                decimal_from_number(number).unwrap(),
                decimal_from_base64(b64, scale).unwrap(),
                "{number}"
            );
        }
        assert_eq!(decimal_from_number("1E+2").unwrap(), "100");
        for bad in [
            "",
            "-",
            "1.",
            ".5",
            "1e",
            "1e+",
            "0x10",
            "1e99999999999999999999",
        ] {
            assert!(decimal_from_number(bad).is_err(), "{bad}");
        }
        assert!(
            decimal_from_number("1e-20000")
                .unwrap_err()
                .contains("out of range")
        );
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
}
