//! numeric's binary form (`numeric_send`) as its text output (`numeric_out`): the same base
//! 10000 digits, weight and display scale, printed as `get_str_from_var` prints them.

use super::ascii::{Ascii, Sink};

/// Sign words of the binary form.
const NEG: u16 = 0x4000;
const NAN: u16 = 0xC000;
const PINF: u16 = 0xD000;
const NINF: u16 = 0xF000;
/// `NUMERIC_DSCALE_MASK`: the largest display scale.
const DSCALE_MAX: u16 = 0x3FFF;

/// Appends the text of the numeric whose binary form is `b`. `Err` says what is malformed.
pub fn push_numeric(out: &mut impl Sink, b: &[u8]) -> Result<(), String> {
    let word = |i: usize| {
        b.get(2 * i..2 * i + 2)
            .map(|w| u16::from_be_bytes([w[0], w[1]]))
    };
    let bad = || format!("a binary numeric of {} bytes is malformed", b.len());
    let (Some(ndigits), Some(weight), Some(sign), Some(dscale)) =
        (word(0), word(1), word(2), word(3))
    else {
        return Err(bad());
    };
    let ndigits = usize::from(ndigits);
    let weight = i64::from(weight as i16);
    if b.len() != 8 + 2 * ndigits {
        return Err(bad());
    }
    match sign {
        NAN => {
            out.put(b"NaN");
            return Ok(());
        }
        PINF => {
            out.put(b"Infinity");
            return Ok(());
        }
        NINF => {
            out.put(b"-Infinity");
            return Ok(());
        }
        NEG => out.put(b"-"),
        0 => {}
        other => return Err(format!("a binary numeric with sign word {other:#06x}")),
    }
    if (0..ndigits).any(|i| word(4 + i).is_none_or(|d| d > 9999)) {
        return Err(bad());
    }
    let digit = |d: i64| -> u16 {
        usize::try_from(d)
            .ok()
            .filter(|d| *d < ndigits)
            .and_then(|d| word(4 + d))
            .unwrap_or(0)
    };
    // PostgreSQL's numeric_recv refuses a display scale beyond its mask (16 383): a server
    // never sends one, and printing it would be that many digits made up.
    if dscale > DSCALE_MAX {
        return Err(format!(
            "a binary numeric with display scale {dscale}, above PostgreSQL's {DSCALE_MAX}"
        ));
    }
    let dscale = usize::from(dscale);
    // Most values fit a stack buffer, appended at once.
    let longest = 4 * (weight.max(0) as usize + 1) + dscale + 4;
    if longest <= 64 {
        let mut a = Ascii::<64>::new();
        push_digits(&mut a, weight, dscale, digit);
        a.flush(out);
    } else {
        push_digits(out, weight, dscale, digit);
    }
    Ok(())
}

/// The digits of `get_str_from_var`: the integer part (digit groups 0..=weight, the first
/// without its leading zeros, `0` when there are none), then `.` and exactly `dscale`
/// digits of fraction.
fn push_digits(out: &mut impl Sink, weight: i64, dscale: usize, digit: impl Fn(i64) -> u16) {
    let mut d: i64;
    if weight < 0 {
        d = weight + 1;
        out.put(b"0");
    } else {
        d = 0;
        while d <= weight {
            let text = four(digit(d));
            if d == 0 {
                let lead = text.iter().take(3).take_while(|c| **c == b'0').count();
                out.put(&text[lead..]);
            } else {
                out.put(&text);
            }
            d += 1;
        }
    }
    if dscale > 0 {
        out.put(b".");
        let mut left = dscale;
        while left > 0 {
            let text = four(digit(d));
            let take = left.min(4);
            out.put(&text[..take]);
            left -= take;
            d += 1;
        }
    }
}

fn four(group: u16) -> [u8; 4] {
    [
        b'0' + (group / 1000) as u8,
        b'0' + (group / 100 % 10) as u8,
        b'0' + (group / 10 % 10) as u8,
        b'0' + (group % 10) as u8,
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bin(ndigits: &[u16], weight: i16, sign: u16, dscale: u16) -> Vec<u8> {
        let mut b = Vec::new();
        for w in [ndigits.len() as u16, weight as u16, sign, dscale] {
            b.extend_from_slice(&w.to_be_bytes());
        }
        for d in ndigits {
            b.extend_from_slice(&d.to_be_bytes());
        }
        b
    }

    fn text(b: &[u8]) -> String {
        let mut s = String::new();
        push_numeric(&mut s, b).unwrap();
        s
    }

    #[test]
    fn shapes() {
        assert_eq!(text(&bin(&[12, 5000], 0, 0, 2)), "12.50");
        assert_eq!(text(&bin(&[1234, 5678], 1, NEG, 0)), "-12345678");
        assert_eq!(text(&bin(&[5], -1, 0, 4)), "0.0005");
        assert_eq!(text(&bin(&[5], -2, 0, 8)), "0.00000005");
        assert_eq!(text(&bin(&[], 0, 0, 0)), "0");
        assert_eq!(text(&bin(&[], 0, 0, 3)), "0.000");
        assert_eq!(text(&bin(&[1], 2, 0, 0)), "100000000");
        assert_eq!(text(&bin(&[1], 0, 0, 6)), "1.000000");
        assert_eq!(text(&bin(&[], 0, NAN, 0)), "NaN");
        assert_eq!(text(&bin(&[], 0, NINF, 0)), "-Infinity");
        assert!(push_numeric(&mut String::new(), &[0, 1]).is_err());
        assert!(push_numeric(&mut String::new(), &bin(&[10000], 0, 0, 0)).is_err());
        assert_eq!(text(&bin(&[1], -1, 0, 0x3FFF)).len(), 2 + 0x3FFF);
        let err = push_numeric(&mut String::new(), &bin(&[], 0x7FFF, 0, 0xFFFF)).unwrap_err();
        assert!(err.contains("display scale 65535"), "{err}");
    }
}
