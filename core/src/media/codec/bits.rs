//! Bit-level reading and writing, most significant bit first (the `f(n)`
//! descriptor of the VP9 and AV1 specifications).

/// Reads bits from borrowed bytes; every read past the end fails.
#[derive(Debug, Clone)]
pub(crate) struct BitReader<'a> {
    bytes: &'a [u8],
    /// The next bit's position, counted from the first byte's top bit.
    pos: usize,
}

impl<'a> BitReader<'a> {
    pub(crate) fn new(bytes: &'a [u8]) -> Self {
        Self { bytes, pos: 0 }
    }

    /// The bits read so far.
    pub(crate) fn position(&self) -> usize {
        self.pos
    }

    /// The bits left.
    pub(crate) fn remaining(&self) -> usize {
        (self.bytes.len() * 8).saturating_sub(self.pos)
    }

    pub(crate) fn bit(&mut self) -> Option<bool> {
        let byte = self.bytes.get(self.pos / 8)?;
        let bit = byte >> (7 - self.pos % 8) & 1;
        self.pos += 1;
        Some(bit == 1)
    }

    /// `f(n)`: an unsigned `n`-bit number, `n` at most 32.
    pub(crate) fn bits(&mut self, n: u32) -> Option<u32> {
        if n > 32 || self.remaining() < n as usize {
            return None;
        }
        let mut v = 0u32;
        for _ in 0..n {
            v = v << 1 | u32::from(self.bit()?);
        }
        Some(v)
    }

    /// `ns(n)`: a non-symmetric unsigned number in `0..n` (AV1 §4.10.7; the
    /// Dependency Descriptor uses the same).
    pub(crate) fn ns(&mut self, n: u32) -> Option<u32> {
        if n == 0 {
            return Some(0);
        }
        let w = 32 - n.leading_zeros();
        let m = (1u32 << w) - n;
        let v = self.bits(w - 1)?;
        if v < m {
            return Some(v);
        }
        let extra = u32::from(self.bit()?);
        Some((v << 1) - m + extra)
    }
}

/// Writes bits into a growing buffer.
#[derive(Debug, Default)]
pub(crate) struct BitWriter {
    bytes: Vec<u8>,
    bits: usize,
}

impl BitWriter {
    pub(crate) fn bit(&mut self, b: bool) {
        if self.bits.is_multiple_of(8) {
            self.bytes.push(0);
        }
        if b {
            if let Some(last) = self.bytes.last_mut() {
                *last |= 0x80 >> (self.bits % 8);
            }
        }
        self.bits += 1;
    }

    /// The low `n` bits of `v`, most significant first.
    pub(crate) fn bits(&mut self, v: u32, n: u32) {
        for i in (0..n).rev() {
            self.bit(v >> i & 1 == 1);
        }
    }

    /// `ns(n)` of `v` (`v < n`).
    pub(crate) fn ns(&mut self, v: u32, n: u32) {
        if n <= 1 {
            return;
        }
        let w = 32 - n.leading_zeros();
        let m = (1u32 << w) - n;
        if v < m {
            self.bits(v, w - 1);
        } else {
            let x = v + m;
            self.bits(x >> 1, w - 1);
            self.bit(x & 1 == 1);
        }
    }

    pub(crate) fn bit_len(&self) -> usize {
        self.bits
    }

    pub(crate) fn into_bytes(self) -> Vec<u8> {
        self.bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ns_round_trip() {
        for n in 1..40u32 {
            for v in 0..n {
                let mut w = BitWriter::default();
                w.ns(v, n);
                let len = w.bit_len();
                let bytes = w.into_bytes();
                let mut r = BitReader::new(&bytes);
                assert_eq!(r.ns(n), Some(v), "n={n} v={v}");
                assert_eq!(r.position(), len);
            }
        }
    }
}
