//! [`Ascii`]: digits and signs assembled on the stack, appended to a row's JSON at once;
//! [`Sink`]: what they are appended to.

/// `00`, `01`, ..., `99`.
const PAIRS: &[u8; 200] = b"00010203040506070809101112131415161718192021222324252627282930313233343536373839404142434445464748495051525354555657585960616263646566676869707172737475767778798081828384858687888990919293949596979899";

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

    /// `v` with at least `width` digits (zeros in front), as `pg_ultostr_zeropad`: two
    /// digits per division, from a table.
    pub fn padded(&mut self, v: u64, width: usize) {
        let mut digits = [b'0'; 20];
        let mut i = digits.len();
        let mut v = v;
        while v >= 100 {
            let pair = (v % 100) as usize * 2;
            v /= 100;
            i -= 2;
            digits[i..i + 2].copy_from_slice(&PAIRS[pair..pair + 2]);
        }
        if v >= 10 {
            let pair = v as usize * 2;
            i -= 2;
            digits[i..i + 2].copy_from_slice(&PAIRS[pair..pair + 2]);
        } else if v > 0 {
            i -= 1;
            digits[i] = b'0' + v as u8;
        }
        let start = i.min(digits.len().saturating_sub(width));
        self.extend(&digits[start..]);
    }

    /// ASCII bytes.
    pub fn extend(&mut self, bytes: &[u8]) {
        if let Some(slot) = self.buf.get_mut(self.len..self.len + bytes.len()) {
            slot.copy_from_slice(bytes);
            self.len += bytes.len();
        }
    }

    /// Two digits of `v` (< 100).
    pub fn two(&mut self, v: u64) {
        let pair = (v % 100) as usize * 2;
        self.extend(&PAIRS[pair..pair + 2]);
    }

    /// Appends the text to `out`.
    pub fn flush(&self, out: &mut impl Sink) {
        out.put(&self.buf[..self.len]);
    }
}

/// Where text goes: a `String`, or the bytes of a row checked as UTF-8 once, at its end.
pub trait Sink {
    /// ASCII bytes.
    fn put(&mut self, ascii: &[u8]);
    /// Text.
    fn put_str(&mut self, text: &str);
}

impl Sink for String {
    fn put(&mut self, ascii: &[u8]) {
        // Only ASCII is put: this cannot fail.
        if let Ok(text) = std::str::from_utf8(ascii) {
            self.push_str(text);
        }
    }

    fn put_str(&mut self, text: &str) {
        self.push_str(text);
    }
}

impl Sink for Vec<u8> {
    fn put(&mut self, ascii: &[u8]) {
        self.extend_from_slice(ascii);
    }

    fn put_str(&mut self, text: &str) {
        self.extend_from_slice(text.as_bytes());
    }
}

impl<const N: usize> Sink for Ascii<N> {
    fn put(&mut self, ascii: &[u8]) {
        self.extend(ascii);
    }

    fn put_str(&mut self, text: &str) {
        self.extend(text.as_bytes());
    }
}

impl<const N: usize> Default for Ascii<N> {
    fn default() -> Self {
        Self::new()
    }
}
