//! [`Ascii`]: digits and signs assembled on the stack, appended to a row's JSON at once.

/// ASCII text built on the stack and appended to a `String` at once, without the formatting
/// machinery (this runs for every value). Bytes past `N` are dropped (callers size `N` for
/// the longest text they write).
pub struct Ascii<const N: usize> {
    buf: [u8; N],
    len: usize,
}

impl<const N: usize> Ascii<N> {
    /// Nothing yet.
    pub fn new() -> Self {
        Self {
            buf: [0; N],
            len: 0,
        }
    }

    /// One ASCII byte.
    pub fn push(&mut self, b: u8) {
        if let Some(slot) = self.buf.get_mut(self.len) {
            *slot = b;
            self.len += 1;
        }
    }

    /// `v` in decimal.
    pub fn uint(&mut self, v: u64) {
        self.padded(v, 1);
    }

    /// `v` with at least `width` digits (zeros in front), as `pg_ultostr_zeropad`.
    pub fn padded(&mut self, v: u64, width: usize) {
        let mut digits = [b'0'; 20];
        let mut i = digits.len();
        let mut v = v;
        while v > 0 {
            i -= 1;
            digits[i] = b'0' + (v % 10) as u8;
            v /= 10;
        }
        i = i.min(digits.len().saturating_sub(width));
        for &d in &digits[i..] {
            self.push(d);
        }
    }

    /// Two digits of `v` (< 100).
    pub fn two(&mut self, v: u64) {
        self.push(b'0' + (v / 10 % 10) as u8);
        self.push(b'0' + (v % 10) as u8);
    }

    /// Appends the text to `out`.
    pub fn flush(&self, out: &mut String) {
        // Only ASCII was pushed: this cannot fail.
        if let Ok(text) = std::str::from_utf8(&self.buf[..self.len]) {
            out.push_str(text);
        }
    }
}

impl<const N: usize> Default for Ascii<N> {
    fn default() -> Self {
        Self::new()
    }
}
