//! The scanner's byte-level searches: where a string's plain run ends, and eight digits'
//! value, several bytes at a time.

/// The first byte from `i` on that ends a string's plain run: a quote, a backslash or a
/// control character. Sixteen bytes at a time with SSE2 (x86_64's baseline), then eight at
/// a time: most strings of a record are short (keys, names), where a library search costs
/// more to start than it saves.
#[inline]
pub(super) fn stop_byte(b: &[u8], mut i: usize) -> Option<usize> {
    #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
    while let Some(chunk) = b.get(i..i + 16) {
        if let Some(at) = sse2::stop_byte(chunk.try_into().ok()?) {
            return Some(i + at);
        }
        i += 16;
    }
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    // The high bit of each byte that is zero (of each byte below `n`); exact for the lowest
    // such byte, which is the only one used.
    let zero = |x: u64| x.wrapping_sub(ONES) & !x & HIGH;
    while let Some(chunk) = b.get(i..i + 8) {
        let x = u64::from_le_bytes(chunk.try_into().ok()?);
        let hit = zero(x ^ (ONES * u64::from(b'"')))
            | zero(x ^ (ONES * u64::from(b'\\')))
            | (x.wrapping_sub(ONES * 0x20) & !x & HIGH);
        if hit != 0 {
            return Some(i + (hit.trailing_zeros() / 8) as usize);
        }
        i += 8;
    }
    b[i..]
        .iter()
        .position(|&c| c == b'"' || c == b'\\' || c < 0x20)
        .map(|at| i + at)
}

/// The value of eight ASCII digits, or `None` unless all eight are digits. The digits are
/// checked lane by lane (a byte below `0` borrows into its high bit, one above `9` carries
/// into it, or, from `0xBA` on, borrows below `0`), then combined in three multiplications
/// (Lemire's SWAR conversion).
#[inline]
pub(super) fn eight_digits(chunk: &[u8]) -> Option<i64> {
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let x = u64::from_le_bytes(chunk.try_into().ok()?);
    let digits = x.wrapping_sub(0x3030_3030_3030_3030);
    if (digits | x.wrapping_add(0x4646_4646_4646_4646)) & HIGH != 0 {
        return None;
    }
    let v = (digits.wrapping_mul(10) + (digits >> 8)) & 0x00FF_00FF_00FF_00FF;
    let v = (v.wrapping_mul(100) + (v >> 16)) & 0x0000_FFFF_0000_FFFF;
    let v = v.wrapping_mul(10_000) + (v >> 32);
    i64::try_from(v & 0xFFFF_FFFF).ok()
}

/// [`stop_byte`] on sixteen bytes at once.
#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
mod sse2 {
    use safe_arch::{
        bitor_m128i, cmp_eq_mask_i8_m128i, load_unaligned_m128i, max_u8_m128i, move_mask_i8_m128i,
        set_splat_i8_m128i,
    };

    /// Where in `chunk` the first quote, backslash or control character is.
    #[inline]
    pub(super) fn stop_byte(chunk: &[u8; 16]) -> Option<usize> {
        let v = load_unaligned_m128i(chunk);
        let splat = |c: u8| set_splat_i8_m128i(i8::from_ne_bytes([c]));
        // A control character is one whose unsigned maximum with 0x1F is 0x1F.
        let ctrl = splat(0x1F);
        let control = cmp_eq_mask_i8_m128i(max_u8_m128i(v, ctrl), ctrl);
        let quote = cmp_eq_mask_i8_m128i(v, splat(b'"'));
        let backslash = cmp_eq_mask_i8_m128i(v, splat(b'\\'));
        let hits = move_mask_i8_m128i(bitor_m128i(bitor_m128i(quote, backslash), control));
        (hits != 0).then(|| hits.trailing_zeros() as usize)
    }
}
